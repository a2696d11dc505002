//! A small browser for the router tests: one cookie jar per `Browser`, requests sent with
//! `tower::ServiceExt::oneshot`, and a clock the test can move.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use http_body_util::BodyExt;
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use tower::ServiceExt;

use totp_toolset::web::{self, AppState, WebConfig};

/// RFC 6238's SHA-1 seed, ASCII `12345678901234567890`.
pub const RFC_SEED: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
pub const RFC_SEED_HEX: &str = "3132333435363738393031323334353637383930";
/// A time in the middle of a step, so window rows are easy to reason about.
pub const T0: u64 = 1_111_111_111;

/// The server under test: router, state and a clock fixed until the test moves it.
#[derive(Clone)]
pub struct TestApp {
    pub router: Router,
    pub state: AppState,
    pub time: Arc<AtomicU64>,
}

impl TestApp {
    pub fn new() -> Self {
        Self::with_config(WebConfig::default())
    }

    pub fn with_config(config: WebConfig) -> Self {
        let time = Arc::new(AtomicU64::new(T0));
        let clock_time = time.clone();
        let state = AppState::new(config, Arc::new(move || clock_time.load(Ordering::SeqCst)));
        let router = web::app(state.clone()).expect("router");
        TestApp {
            router,
            state,
            time,
        }
    }

    pub fn set_time(&self, unix: u64) {
        self.time.store(unix, Ordering::SeqCst);
    }

    pub fn advance(&self, secs: u64) {
        self.time.fetch_add(secs, Ordering::SeqCst);
    }

    pub fn browser(&self) -> Browser {
        Browser {
            server: self.clone(),
            cookie: None,
        }
    }
}

/// One browser: keeps the session cookie it is given.
pub struct Browser {
    pub server: TestApp,
    pub cookie: Option<String>,
}

#[derive(Debug)]
pub struct Resp {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub bytes: Vec<u8>,
}

impl Resp {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap_or("").to_string())
    }

    pub fn location(&self) -> Option<String> {
        self.header("location")
    }
}

pub fn form_body(fields: &[(&str, &str)]) -> String {
    fields
        .iter()
        .map(|(k, v)| {
            format!(
                "{}={}",
                utf8_percent_encode(k, NON_ALPHANUMERIC),
                utf8_percent_encode(v, NON_ALPHANUMERIC)
            )
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// A multipart body as a browser sends a form with files: (name, file name, value). Returns
/// the content type (with its boundary) and the body.
pub fn multipart(parts: &[(&str, Option<&str>, &[u8])]) -> (String, Vec<u8>) {
    let boundary = "----batchtest7MA4YWxkTrZu0gW";
    let mut body = Vec::new();
    for (name, file, value) in parts {
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        match file {
            Some(f) => body.extend_from_slice(
                format!(
                    "Content-Disposition: form-data; name=\"{name}\"; filename=\"{f}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
                )
                .as_bytes(),
            ),
            None => body.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes(),
            ),
        }
        body.extend_from_slice(value);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

impl Browser {
    /// A `multipart/form-data` POST as a browser sends it from one of our own pages.
    pub async fn post_multipart(
        &mut self,
        path: &str,
        parts: &[(&str, Option<&str>, &[u8])],
    ) -> Resp {
        let (content_type, body) = multipart(parts);
        let req = Request::post(path)
            .header(header::HOST, "localhost")
            .header("sec-fetch-site", "same-origin")
            .header("origin", "http://localhost")
            .header(header::CONTENT_TYPE, content_type)
            .body(Body::from(body))
            .unwrap();
        self.send(req).await
    }

    pub async fn send(&mut self, mut request: Request<Body>) -> Resp {
        if let Some(c) = &self.cookie {
            request
                .headers_mut()
                .insert(header::COOKIE, c.parse().unwrap());
        }
        let response = self
            .server
            .router
            .clone()
            .oneshot(request)
            .await
            .expect("router is infallible");
        if let Some(set) = response.headers().get(header::SET_COOKIE) {
            let pair = set.to_str().unwrap().split(';').next().unwrap().to_string();
            self.cookie = Some(pair);
        }
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes()
            .to_vec();
        Resp {
            status,
            headers,
            bytes,
        }
    }

    pub async fn get(&mut self, path: &str) -> Resp {
        let req = Request::get(path)
            .header(header::HOST, "localhost")
            .body(Body::empty())
            .unwrap();
        self.send(req).await
    }

    /// A form POST as a browser sends it from one of our own pages.
    pub async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Resp {
        let req = Request::post(path)
            .header(header::HOST, "localhost")
            .header("sec-fetch-site", "same-origin")
            .header("origin", "http://localhost")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(form_body(fields)))
            .unwrap();
        self.send(req).await
    }

    /// Posts the generate form (confirming the replacement) and returns the answer.
    pub async fn generate(
        &mut self,
        size: &str,
        algorithm: &str,
        digits: &str,
        period: &str,
    ) -> Resp {
        self.post(
            "/seed",
            &[
                ("size", size),
                ("algorithm", algorithm),
                ("digits", digits),
                ("period", period),
                ("confirm_replace", "yes"),
            ],
        )
        .await
    }

    /// Posts the import form for `seed` (base32, hex or URI) as SHA-1/6/30, confirming the
    /// replacement, and returns the answer whatever it is.
    pub async fn try_import(&mut self, seed: &str) -> Resp {
        self.post(
            "/seed/import",
            &[
                ("seed", seed),
                ("format", "auto"),
                ("algorithm", "sha1"),
                ("digits", "6"),
                ("period", "30"),
                ("confirm_replace", "yes"),
            ],
        )
        .await
    }

    /// Makes `seed` (base32, hex or URI) the current token, confirming the replacement.
    pub async fn import(&mut self, seed: &str) -> Resp {
        let r = self.try_import(seed).await;
        assert_eq!(
            r.status,
            StatusCode::SEE_OTHER,
            "import failed: {}",
            r.text()
        );
        r
    }

    /// Appends a row for the current token (secret left empty) with fixed maker and model.
    pub async fn add_current_token_row(&mut self, upn: &str, serial: &str) -> Resp {
        self.post(
            "/csv/rows",
            &[
                ("upn", upn),
                ("serial", serial),
                ("interval", "30"),
                ("manufacturer", "Token2"),
                ("model", "C202"),
            ],
        )
        .await
    }

    /// The session id behind this browser's cookie.
    pub fn session_id(&self) -> totp_toolset::web::session::SessionId {
        let cookie = self.cookie.as_ref().expect("a session cookie");
        let value = cookie.split_once('=').unwrap().1;
        totp_toolset::web::session::SessionId::from_cookie_value(value).expect("valid id")
    }
}
