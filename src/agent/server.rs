//! The agent's HTTP server: routes, the guard every request passes (no `Origin`, our own
//! `Host`, the bearer token), limits, and the handlers that run card work off the runtime.
//!
//! Never logs a request body (the burn body carries the seed) nor the Authorization header.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::de::DeserializeOwned;
use subtle::ConstantTimeEq;
use tower_http::timeout::TimeoutLayer;
use zeroize::{Zeroize, Zeroizing};

use super::api::{
    ApiError, BurnRequest, BurnResponse, DEFAULT_WAIT_SECONDS, ErrorBody, IdentifyRequest,
    IdentifyResponse, MAX_WAIT_SECONDS, TimeSyncRequest, TimeSyncResponse,
};
use super::device::{Device, api_error};
use crate::nfc::virtual_token::Clock;
use crate::nfc::{self, CompareCodes, DisplayTimeout, NfcError, TokenSettings};
use crate::otp::{Algorithm, Secret};

/// Request bodies are a few hundred bytes; anything larger is not ours.
pub const MAX_BODY_BYTES: usize = 16 * 1024;
/// Longer than the longest card wait, so a waiting burn is never cut off mid-write.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(MAX_WAIT_SECONDS + 30);

/// Everything the handlers share.
pub struct AgentState {
    pub device: Device,
    /// The bearer token, compared in constant time.
    token: Zeroizing<String>,
    /// `Host` values we answer to (lowercase `host:port`).
    allowed_hosts: Vec<String>,
    clock: Clock,
    /// One card operation at a time: two burns must never interleave on a reader.
    card_lock: tokio::sync::Mutex<()>,
}

impl AgentState {
    /// `allowed_hosts` are `host:port` values; see [`loopback_hosts`].
    pub fn new(
        device: Device,
        token: Zeroizing<String>,
        allowed_hosts: Vec<String>,
        clock: Clock,
    ) -> Self {
        AgentState {
            device,
            token,
            allowed_hosts: allowed_hosts
                .into_iter()
                .map(|h| h.to_ascii_lowercase())
                .collect(),
            clock,
            card_lock: tokio::sync::Mutex::new(()),
        }
    }
}

/// The names a loopback listener on `port` is reached by.
pub fn loopback_hosts(port: u16) -> Vec<String> {
    vec![
        format!("127.0.0.1:{port}"),
        format!("localhost:{port}"),
        format!("[::1]:{port}"),
    ]
}

/// The `Host` values to accept for a listener on `addr`.
pub fn hosts_for(addr: SocketAddr, extra: &[String]) -> Vec<String> {
    let mut hosts = if addr.ip().is_loopback() {
        loopback_hosts(addr.port())
    } else {
        vec![addr.to_string()]
    };
    hosts.extend(extra.iter().map(|h| {
        if h.contains(':') && !h.ends_with(']') {
            h.clone()
        } else {
            format!("{h}:{}", addr.port())
        }
    }));
    hosts
}

/// An error response: status plus `{"error": {"kind", "message"}}`.
#[derive(Debug)]
pub struct AgentError {
    status: StatusCode,
    error: ApiError,
}

impl AgentError {
    fn new(status: StatusCode, kind: &str, message: impl Into<String>) -> Self {
        AgentError {
            status,
            error: ApiError {
                kind: kind.into(),
                message: message.into(),
            },
        }
    }

    fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }
}

impl From<NfcError> for AgentError {
    fn from(e: NfcError) -> Self {
        let status = match &e {
            NfcError::Seed(_) | NfcError::Config(_) => StatusCode::BAD_REQUEST,
            NfcError::UnknownModel { .. } | NfcError::SeedLossUnconfirmed { .. } => {
                StatusCode::CONFLICT
            }
            NfcError::PcscUnavailable
            | NfcError::ServiceUnavailable(_)
            | NfcError::NoReader
            | NfcError::ReaderNotFound { .. }
            | NfcError::Reader(_) => StatusCode::SERVICE_UNAVAILABLE,
            NfcError::NoCard | NfcError::NoCardInTime(_) => StatusCode::GATEWAY_TIMEOUT,
            NfcError::CardRemoved
            | NfcError::HalfWritten
            | NfcError::FidoKey
            | NfcError::OathApplet
            | NfcError::NotToken2 { .. }
            | NfcError::WrongKey
            | NfcError::Status { .. }
            | NfcError::BadReply(_) => StatusCode::UNPROCESSABLE_ENTITY,
        };
        AgentError {
            status,
            error: api_error(&e),
        }
    }
}

impl IntoResponse for AgentError {
    fn into_response(self) -> Response {
        let mut response = (self.status, Json(ErrorBody { error: self.error })).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

/// The routes with the guard and limits. Layers run outside-in: the timeout wraps
/// everything, then the trace span, then the guard (so refused requests do no work), then
/// the body limit that the handlers' body extraction enforces.
pub fn app(state: Arc<AgentState>) -> Router {
    Router::new()
        .route("/v1/status", get(status))
        .route("/v1/identify", post(identify))
        .route("/v1/burn", post(burn))
        .route("/v1/time-sync", post(time_sync))
        .route("/v1/simulated-token", get(simulated_token))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(middleware::from_fn_with_state(state.clone(), guard))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            REQUEST_TIMEOUT,
        ))
        .with_state(state)
}

/// Refuses browsers (any `Origin`), DNS rebinding (a `Host` that is not ours) and anyone
/// without the bearer token, before any handler runs.
async fn guard(State(state): State<Arc<AgentState>>, req: Request, next: Next) -> Response {
    if let Err(e) = check(&state, req.headers(), req.uri()) {
        return e.into_response();
    }
    next.run(req).await
}

fn check(state: &AgentState, headers: &HeaderMap, uri: &axum::http::Uri) -> Result<(), AgentError> {
    if headers.contains_key(header::ORIGIN) {
        return Err(AgentError::new(
            StatusCode::FORBIDDEN,
            "origin_refused",
            "requests from web pages are refused: the agent only talks to the toolset server",
        ));
    }
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_string)
        .or_else(|| uri.authority().map(|a| a.to_string()))
        .unwrap_or_default()
        .to_ascii_lowercase();
    if !state.allowed_hosts.contains(&host) {
        return Err(AgentError::new(
            StatusCode::FORBIDDEN,
            "host_refused",
            "the Host header does not name this agent",
        ));
    }
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.strip_prefix("Bearer "))
        .unwrap_or("");
    // ct_eq answers "not equal" at once on a length mismatch; only the length can leak.
    let ok: bool = presented.as_bytes().ct_eq(state.token.as_bytes()).into();
    if presented.is_empty() || !ok {
        return Err(AgentError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "missing or wrong bearer token",
        ));
    }
    Ok(())
}

async fn not_found() -> AgentError {
    AgentError::new(StatusCode::NOT_FOUND, "not_found", "no such endpoint")
}

/// Parses a JSON body (empty means `T::default()` when `allow_empty`), then wipes the raw
/// bytes if nothing else holds them, since a burn body carries the seed.
fn parse_body<T: DeserializeOwned>(
    body: Bytes,
    empty: impl FnOnce() -> Option<T>,
) -> Result<T, AgentError> {
    let parsed = if body.iter().all(u8::is_ascii_whitespace) {
        empty().ok_or_else(|| AgentError::bad_request("the request needs a JSON body"))
    } else {
        serde_json::from_slice(&body).map_err(|e| {
            AgentError::bad_request(format!("the JSON body is not valid: {}", redact_serde(&e)))
        })
    };
    if let Ok(mut owned) = body.try_into_mut() {
        owned.as_mut().zeroize();
    }
    parsed
}

/// serde_json's messages can quote input; keep only the category and position.
fn redact_serde(e: &serde_json::Error) -> String {
    use serde_json::error::Category;
    let what = match e.classify() {
        Category::Syntax => "syntax error",
        Category::Data => "a field is missing or has the wrong type",
        Category::Eof => "it ends too early",
        Category::Io => "it could not be read",
    };
    format!("{what} at line {} column {}", e.line(), e.column())
}

fn body_or_error(
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Bytes, AgentError> {
    body.map_err(|r| {
        let status = r.status();
        if status == StatusCode::PAYLOAD_TOO_LARGE {
            AgentError::new(
                status,
                "body_too_large",
                format!("request bodies are limited to {MAX_BODY_BYTES} bytes"),
            )
        } else {
            AgentError::new(status, "bad_request", "the request body could not be read")
        }
    })
}

fn wait(seconds: Option<u64>) -> Duration {
    Duration::from_secs(
        seconds
            .unwrap_or(DEFAULT_WAIT_SECONDS)
            .min(MAX_WAIT_SECONDS),
    )
}

fn settings(
    algorithm: Option<&str>,
    period: Option<u32>,
    display_timeout: Option<u32>,
) -> Result<TokenSettings, AgentError> {
    let algorithm = match algorithm {
        None => Algorithm::Sha1,
        Some(a) => a
            .parse::<Algorithm>()
            .map_err(|e| AgentError::bad_request(e.to_string()))?,
    };
    let display_timeout = match display_timeout {
        None => DisplayTimeout::S30,
        Some(s) => DisplayTimeout::from_seconds(s).ok_or_else(|| {
            AgentError::bad_request(format!(
                "display_timeout must be 15, 30, 60 or 120 seconds, not {s}"
            ))
        })?,
    };
    Ok(TokenSettings {
        algorithm,
        period: period.unwrap_or(30),
        display_timeout,
    })
}

/// Runs blocking card work on the blocking pool, one operation at a time.
async fn card_work<T: Send + 'static>(
    state: &Arc<AgentState>,
    work: impl FnOnce(&AgentState) -> Result<T, NfcError> + Send + 'static,
) -> Result<T, AgentError> {
    let _turn = state.card_lock.lock().await;
    let st = state.clone();
    tokio::task::spawn_blocking(move || work(&st))
        .await
        .map_err(|_| {
            AgentError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "the card operation failed unexpectedly",
            )
        })?
        .map_err(AgentError::from)
}

async fn status(State(state): State<Arc<AgentState>>) -> Result<Response, AgentError> {
    let now = (state.clock)();
    let _turn = state.card_lock.lock().await;
    let st = state.clone();
    let status = tokio::task::spawn_blocking(move || st.device.status(now))
        .await
        .map_err(|_| {
            AgentError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "the status check failed unexpectedly",
            )
        })?;
    Ok(Json(status).into_response())
}

async fn identify(
    State(state): State<Arc<AgentState>>,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Json<IdentifyResponse>, AgentError> {
    let req: IdentifyRequest =
        parse_body(body_or_error(body)?, || Some(IdentifyRequest::default()))?;
    let wait = wait(req.wait_seconds);
    let id = card_work(&state, move |st| st.device.with_card(wait, nfc::identify)).await?;
    Ok(Json(IdentifyResponse {
        token: id.view((state.clock)()),
    }))
}

async fn burn(
    State(state): State<Arc<AgentState>>,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Json<BurnResponse>, AgentError> {
    let req: BurnRequest = parse_body(body_or_error(body)?, || None)?;
    let secret = Secret::parse_base32(req.secret.expose()).map_err(|e| {
        AgentError::new(StatusCode::BAD_REQUEST, "bad_seed", format!("secret: {e}"))
    })?;
    drop(req.secret);
    let settings = settings(req.algorithm.as_deref(), req.period, req.display_timeout)?;
    let (wait, force) = (wait(req.wait_seconds), req.force);
    let secret = Arc::new(secret);
    let for_card = secret.clone();
    let outcome = card_work(&state, move |st| {
        st.device.with_card(wait, |card| {
            nfc::burn(card, &for_card, settings, (st.clock)(), force)
        })
    })
    .await?;
    let clock_set = u64::from(outcome.config.clock);
    tracing::info!(serial = %outcome.token.info.serial, "burned a token");
    Ok(Json(BurnResponse {
        token: outcome.token.view((state.clock)()),
        algorithm: settings.algorithm.uri_name().to_string(),
        digits: 6,
        period: settings.period,
        display_timeout: settings.display_timeout.seconds(),
        seed_bytes: outcome.seed_bytes,
        clock_set,
        codes: CompareCodes::new(&secret, settings.algorithm, settings.period, clock_set),
    }))
}

async fn time_sync(
    State(state): State<Arc<AgentState>>,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Json<TimeSyncResponse>, AgentError> {
    let req: TimeSyncRequest = parse_body(body_or_error(body)?, || None)?;
    if !req.confirm {
        return Err(AgentError::new(
            StatusCode::BAD_REQUEST,
            "confirmation_required",
            "a time sync writes the token's config (and erases the seed on restricted models): send \"confirm\": true",
        ));
    }
    let settings = settings(req.algorithm.as_deref(), req.period, req.display_timeout)?;
    let (wait, force, confirm_seed_loss) =
        (wait(req.wait_seconds), req.force, req.confirm_seed_loss);
    let outcome = card_work(&state, move |st| {
        st.device.with_card(wait, |card| {
            nfc::sync_time(card, settings, (st.clock)(), confirm_seed_loss, force)
        })
    })
    .await?;
    Ok(Json(TimeSyncResponse {
        token: outcome.token.view((state.clock)()),
        clock_set: u64::from(outcome.config.clock),
        seed_erased: outcome.seed_erased,
        warning: outcome.seed_erased.then(|| {
            "this model erased its seed on the time sync: burn the seed again".to_string()
        }),
    }))
}

async fn simulated_token(State(state): State<Arc<AgentState>>) -> Result<Response, AgentError> {
    match state.device.simulated_token((state.clock)()) {
        Some(view) => Ok(Json(view).into_response()),
        None => Err(AgentError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "only an agent started with --simulate has a simulated token",
        )),
    }
}
