//! The toolset server's client for the agent: typed calls over HTTP/1.1 on loopback
//! (hyper-util's client), the bearer token on every request, and the agent's failures
//! carried with their [`ErrorKind`] unchanged, so the page explains each one by its name.
//!
//! The seed travels in a zeroizing request body; the client never logs anything.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Buf, Bytes};
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HOST};
use hyper::{Method, Request, StatusCode, Uri};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde::Serialize;
use serde::de::DeserializeOwned;
use zeroize::Zeroizing;

use super::api::{
    ApiError, BurnRequest, BurnResponse, ErrorBody, ErrorKind, IdentifyRequest, IdentifyResponse,
    MAX_WAIT_SECONDS, SimulatedTokenResponse, StatusResponse, TimeSyncRequest, TimeSyncResponse,
};

/// Replies are small; a bigger one is not from our agent.
const MAX_REPLY_BYTES: usize = 256 * 1024;
/// Added to the longest card wait: the agent's own timeout is shorter than this in total.
const SLACK: Duration = Duration::from_secs(40);

/// Why a call to the agent failed: the agent's own failure, its [`ErrorKind`] and
/// sentence carried unchanged, or one of the few things that go wrong before it answers.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AgentClientError {
    #[error("the agent URL is not usable: {0}")]
    BadUrl(String),
    #[error("the NFC agent is not running at {url} (start it with `totp-toolset agent`)")]
    NotRunning { url: String },
    /// The agent answered `unauthorized` (or a bare 401): the tokens differ.
    #[error(
        "the NFC agent refused our token: check that the server and the agent share the same token"
    )]
    Unauthorized,
    #[error("the NFC agent did not answer in time")]
    Timeout,
    #[error("the NFC agent's reply makes no sense: {0}")]
    Protocol(String),
    /// The agent answered with a failure.
    #[error("{}", agent_sentence(*.kind, .message))]
    Agent { kind: ErrorKind, message: String },
}

/// The agent's sentence, which stands alone except when it refused the request itself.
fn agent_sentence(kind: ErrorKind, message: &str) -> String {
    match kind {
        ErrorKind::OriginRefused | ErrorKind::HostRefused => {
            format!("the NFC agent refused the request: {message}")
        }
        _ => message.to_string(),
    }
}

impl AgentClientError {
    /// A stable identifier: the agent's kind when it answered, else what went wrong first.
    pub fn kind(&self) -> &'static str {
        match self {
            AgentClientError::BadUrl(_) => "bad_url",
            AgentClientError::NotRunning { .. } => "agent_not_running",
            AgentClientError::Unauthorized => ErrorKind::Unauthorized.as_str(),
            AgentClientError::Timeout => "timeout",
            AgentClientError::Protocol(_) => "protocol",
            AgentClientError::Agent { kind, .. } => kind.as_str(),
        }
    }

    /// The agent's kind, when the agent answered with a failure.
    pub fn agent_kind(&self) -> Option<ErrorKind> {
        match self {
            AgentClientError::Agent { kind, .. } => Some(*kind),
            AgentClientError::Unauthorized => Some(ErrorKind::Unauthorized),
            _ => None,
        }
    }
}

/// A request body that wipes itself when dropped: the burn body carries the seed.
pub struct ZeroizingBody {
    data: Zeroizing<Vec<u8>>,
    pos: usize,
}

impl Buf for ZeroizingBody {
    fn remaining(&self) -> usize {
        self.data.len() - self.pos
    }

    fn chunk(&self) -> &[u8] {
        &self.data[self.pos..]
    }

    fn advance(&mut self, cnt: usize) {
        self.pos = (self.pos + cnt).min(self.data.len());
    }
}

/// `Full<ZeroizingBody>` with the error type hyper's client wants.
pub struct RequestBody(Full<ZeroizingBody>);

impl hyper::body::Body for RequestBody {
    type Data = ZeroizingBody;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<hyper::body::Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.0).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.0.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.0.size_hint()
    }
}

/// A client for one agent.
#[derive(Clone)]
pub struct AgentClient {
    base: String,
    host: String,
    token: Zeroizing<String>,
    http: Client<HttpConnector, RequestBody>,
}

impl std::fmt::Debug for AgentClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgentClient")
            .field("base", &self.base)
            .field("token", &"[redacted]")
            .finish()
    }
}

impl AgentClient {
    /// A client for the agent at `url` (`http://127.0.0.1:PORT`), sending `token`.
    pub fn new(url: &str, token: Zeroizing<String>) -> Result<Self, AgentClientError> {
        let uri: Uri = url
            .trim_end_matches('/')
            .parse()
            .map_err(|e| AgentClientError::BadUrl(format!("{url}: {e}")))?;
        if uri.scheme_str() != Some("http") {
            return Err(AgentClientError::BadUrl(format!(
                "{url}: the agent speaks plain http on loopback (http://127.0.0.1:PORT)"
            )));
        }
        let Some(authority) = uri.authority() else {
            return Err(AgentClientError::BadUrl(format!("{url}: no host")));
        };
        if uri.path() != "/" && !uri.path().is_empty() {
            return Err(AgentClientError::BadUrl(format!(
                "{url}: give only scheme, host and port"
            )));
        }
        let host = match authority.port() {
            Some(_) => authority.to_string(),
            None => format!("{authority}:80"),
        };
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(Duration::from_secs(5)));
        connector.set_nodelay(true);
        let http = Client::builder(TokioExecutor::new()).build(connector);
        Ok(AgentClient {
            base: format!("http://{host}"),
            host,
            token,
            http,
        })
    }

    pub fn url(&self) -> &str {
        &self.base
    }

    pub async fn status(&self) -> Result<StatusResponse, AgentClientError> {
        self.call(Method::GET, "/v1/status", None, Duration::from_secs(20))
            .await
    }

    pub async fn identify(&self, wait_seconds: u64) -> Result<IdentifyResponse, AgentClientError> {
        let req = IdentifyRequest {
            wait_seconds: Some(wait_seconds),
        };
        self.card_request("/v1/identify", &req, req.wait_seconds)
            .await
    }

    pub async fn burn(&self, req: &BurnRequest) -> Result<BurnResponse, AgentClientError> {
        self.card_request("/v1/burn", req, req.wait_seconds).await
    }

    pub async fn time_sync(
        &self,
        req: &TimeSyncRequest,
    ) -> Result<TimeSyncResponse, AgentClientError> {
        self.card_request("/v1/time-sync", req, req.wait_seconds)
            .await
    }

    /// A POST that works on the card: its deadline covers the wait for a card it asks for.
    async fn card_request<T: DeserializeOwned>(
        &self,
        path: &str,
        req: &impl Serialize,
        wait_seconds: Option<u64>,
    ) -> Result<T, AgentClientError> {
        self.call(
            Method::POST,
            path,
            Some(json_body(req)?),
            deadline(wait_seconds),
        )
        .await
    }

    /// What the simulated token shows: the one of a `--simulate` agent, or (with `serial`)
    /// the token with that serial of a simulated stack.
    pub async fn simulated_token(
        &self,
        serial: Option<&str>,
    ) -> Result<SimulatedTokenResponse, AgentClientError> {
        let path = match serial {
            None => "/v1/simulated-token".to_string(),
            Some(serial) => format!(
                "/v1/simulated-token?serial={}",
                percent_encoding::utf8_percent_encode(serial, percent_encoding::NON_ALPHANUMERIC)
            ),
        };
        self.call(Method::GET, &path, None, Duration::from_secs(10))
            .await
    }

    async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<Zeroizing<Vec<u8>>>,
        timeout: Duration,
    ) -> Result<T, AgentClientError> {
        let uri: Uri = format!("{}{path}", self.base)
            .parse()
            .map_err(|e| AgentClientError::BadUrl(format!("{e}")))?;
        let mut bearer = Zeroizing::new(String::with_capacity(self.token.len() + 7));
        bearer.push_str("Bearer ");
        bearer.push_str(&self.token);
        let mut builder = Request::builder()
            .method(method)
            .uri(uri)
            .header(HOST, &self.host)
            .header(AUTHORIZATION, bearer.as_str());
        if body.is_some() {
            builder = builder.header(CONTENT_TYPE, "application/json");
        }
        let data = body.unwrap_or_default();
        let request = builder
            .body(RequestBody(Full::new(ZeroizingBody { data, pos: 0 })))
            .map_err(|e| AgentClientError::BadUrl(e.to_string()))?;

        let response = match tokio::time::timeout(timeout, self.http.request(request)).await {
            Err(_) => return Err(AgentClientError::Timeout),
            Ok(Err(e)) if e.is_connect() => {
                return Err(AgentClientError::NotRunning {
                    url: self.base.clone(),
                });
            }
            Ok(Err(e)) => return Err(AgentClientError::Protocol(e.to_string())),
            Ok(Ok(r)) => r,
        };
        let status = response.status();
        let collected = tokio::time::timeout(
            timeout,
            Limited::new(response.into_body(), MAX_REPLY_BYTES).collect(),
        )
        .await
        .map_err(|_| AgentClientError::Timeout)?
        .map_err(|e| AgentClientError::Protocol(format!("reading the reply: {e}")))?;
        let bytes: Bytes = collected.to_bytes();
        if status.is_success() {
            return serde_json::from_slice(&bytes)
                .map_err(|e| AgentClientError::Protocol(format!("{status}: {e}")));
        }
        match serde_json::from_slice::<ErrorBody>(&bytes) {
            Ok(ErrorBody {
                error:
                    ApiError {
                        kind: ErrorKind::Unauthorized,
                        ..
                    },
            }) => Err(AgentClientError::Unauthorized),
            Ok(ErrorBody {
                error: ApiError { kind, message },
            }) => Err(AgentClientError::Agent { kind, message }),
            Err(_) if status == StatusCode::UNAUTHORIZED => Err(AgentClientError::Unauthorized),
            Err(_) if status == StatusCode::REQUEST_TIMEOUT => Err(AgentClientError::Timeout),
            Err(_) => Err(AgentClientError::Protocol(format!(
                "status {status} without an error body this server knows (is the agent the same version?)"
            ))),
        }
    }
}

/// Serializes into a buffer big enough up front, so no reallocation leaves a copy behind.
fn json_body<T: Serialize>(value: &T) -> Result<Zeroizing<Vec<u8>>, AgentClientError> {
    let mut buf = Zeroizing::new(Vec::with_capacity(4096));
    serde_json::to_writer(&mut *buf, value)
        .map_err(|e| AgentClientError::Protocol(format!("encoding the request: {e}")))?;
    Ok(buf)
}

fn deadline(wait_seconds: Option<u64>) -> Duration {
    Duration::from_secs(
        wait_seconds
            .unwrap_or(super::api::DEFAULT_WAIT_SECONDS)
            .min(MAX_WAIT_SECONDS),
    ) + SLACK
}
