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

use totp_toolset::web::session::SessionConfig;
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

    /// The default configuration but for the session limits.
    pub fn with_sessions(sessions: SessionConfig) -> Self {
        Self::with_config(WebConfig {
            sessions,
            ..WebConfig::default()
        })
    }

    pub fn set_time(&self, unix: u64) {
        self.time.store(unix, Ordering::SeqCst);
    }

    pub fn advance(&self, secs: u64) {
        self.time.fetch_add(secs, Ordering::SeqCst);
    }

    /// A browser whose session's current token is `seed` (imported as SHA-1/6/30).
    pub async fn session_with(&self, seed: &str) -> Browser {
        let mut b = self.session().await;
        b.import(seed).await;
        b
    }

    /// True while the session behind `b`'s cookie is still kept.
    pub fn holds_session_of(&self, b: &Browser) -> bool {
        self.state.sessions.with(b.session_id(), |_| ()).is_ok()
    }

    pub fn browser(&self) -> Browser {
        Browser {
            server: self.clone(),
            cookie: None,
            host: "localhost".into(),
        }
    }

    /// A browser that has loaded the home page, so it holds a session.
    pub async fn session(&self) -> Browser {
        let mut b = self.browser();
        b.get("/").await;
        b
    }
}

/// One browser: keeps the session cookie it is given.
pub struct Browser {
    pub server: TestApp,
    pub cookie: Option<String>,
    /// The `Host` it sends (the name or address it reached the server by).
    pub host: String,
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

    /// Asserts each `(name, value)` header is there with exactly that value.
    pub fn assert_headers(&self, expected: &[(&str, &str)], what: &str) {
        for (name, value) in expected {
            assert_eq!(self.header(name).as_deref(), Some(*value), "{what}: {name}");
        }
    }

    /// The body as JSON, after checking the response says it is JSON.
    pub fn json(&self) -> serde_json::Value {
        let content_type = self.header("content-type").unwrap_or_default();
        assert!(
            content_type.starts_with("application/json"),
            "content-type {content_type:?}"
        );
        serde_json::from_slice(&self.bytes).expect("a JSON body")
    }

    /// Asserts a form was refused (422) with a message beside `field_id` that contains
    /// `says` and that the field points to (`aria-describedby`); returns the message.
    pub fn assert_field_error(&self, field_id: &str, says: &str) -> String {
        self.assert_refused_field(StatusCode::UNPROCESSABLE_ENTITY, field_id, says, field_id)
    }

    /// [`Resp::assert_field_error`] with another status, and `what` to say on failure.
    pub fn assert_refused_field(
        &self,
        status: StatusCode,
        field_id: &str,
        says: &str,
        what: &str,
    ) -> String {
        let html = self.text();
        assert_eq!(self.status, status, "{what}: {html}");
        let message = crate::support::html::field_error(&html, field_id)
            .unwrap_or_else(|| panic!("{what}: no message beside {field_id}: {html}"));
        assert!(message.contains(says), "{what}: {message}");
        assert!(
            html.contains(&format!("aria-describedby=\"{field_id}-error\"")),
            "{what}: {field_id} does not point to its message"
        );
        message
    }
}

/// A form [`Browser::post_each_bad_field`] saw refused: the field, its bad value, the whole
/// form as sent and the answer.
pub struct Refused<'a> {
    pub field: &'a str,
    pub value: &'a str,
    pub form: Vec<(&'a str, &'a str)>,
    pub answer: Resp,
}

/// The form `fields` with `field`'s value replaced by `value`.
pub fn with_field<'a>(
    fields: &[(&'a str, &'a str)],
    field: &str,
    value: &'a str,
) -> Vec<(&'a str, &'a str)> {
    fields
        .iter()
        .map(|&(k, v)| if k == field { (k, value) } else { (k, v) })
        .collect()
}

/// The import form for `seed` (base32, hex or URI) as SHA-1/6/30, confirming the
/// replacement of the current token.
pub fn import_fields(seed: &str) -> [(&str, &str); 6] {
    [
        ("seed", seed),
        ("format", "auto"),
        ("algorithm", "sha1"),
        ("digits", "6"),
        ("period", "30"),
        ("confirm_replace", "yes"),
    ]
}

/// The generate form for a seed of `size` bytes, confirming the replacement of the current
/// token.
pub fn generate_fields<'a>(
    size: &'a str,
    algorithm: &'a str,
    digits: &'a str,
    period: &'a str,
) -> [(&'static str, &'a str); 5] {
    [
        ("size", size),
        ("algorithm", algorithm),
        ("digits", digits),
        ("period", period),
        ("confirm_replace", "yes"),
    ]
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

/// A `multipart/form-data` body as a browser sends a form with files: (name, file name,
/// value) per part. Returns the content type (with its boundary) and the body.
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
            .header(header::HOST, self.host.as_str())
            .body(Body::empty())
            .unwrap();
        self.send(req).await
    }

    /// A form POST as a browser sends it from one of our own pages.
    pub async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Resp {
        let req = Request::post(path)
            .header(header::HOST, self.host.as_str())
            .header("sec-fetch-site", "same-origin")
            .header("origin", self.origin())
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(form_body(fields)))
            .unwrap();
        self.send(req).await
    }

    /// The origin of the pages this browser was shown.
    pub fn origin(&self) -> String {
        let scheme = if self.server.state.config.sessions.tls {
            "https"
        } else {
            "http"
        };
        format!("{scheme}://{}", self.host)
    }

    /// A multipart form POST (files and fields) as a browser sends it from one of our pages.
    pub async fn post_multipart(
        &mut self,
        path: &str,
        parts: &[(&str, Option<&str>, &[u8])],
    ) -> Resp {
        let (content_type, body) = multipart(parts);
        let req = Request::post(path)
            .header(header::HOST, self.host.as_str())
            .header("sec-fetch-site", "same-origin")
            .header("origin", self.origin())
            .header(header::CONTENT_TYPE, content_type)
            .body(Body::from(body))
            .unwrap();
        self.send(req).await
    }

    /// Posts the form `good` to `path` once for each `(field, bad value, words)`, with that
    /// field's value replaced: each is refused (422) with a message containing `words` beside
    /// the field `{form}-{field}`. Returns them case by case, for the checks a page adds.
    pub async fn post_each_bad_field<'a>(
        &mut self,
        path: &str,
        good: &[(&'a str, &'a str)],
        form: &str,
        cases: &[(&'a str, &'a str, &str)],
    ) -> Vec<Refused<'a>> {
        let mut answers = Vec::new();
        for &(field, value, words) in cases {
            let fields = with_field(good, field, value);
            let r = self.post(path, &fields).await;
            let what = format!("{field}={value:?}");
            let id = format!("{form}-{field}");
            r.assert_refused_field(StatusCode::UNPROCESSABLE_ENTITY, &id, words, &what);
            answers.push(Refused {
                field,
                value,
                form: fields,
                answer: r,
            });
        }
        answers
    }

    /// Posts the generate form (confirming the replacement) and returns the answer.
    pub async fn generate(
        &mut self,
        size: &str,
        algorithm: &str,
        digits: &str,
        period: &str,
    ) -> Resp {
        self.post("/seed", &generate_fields(size, algorithm, digits, period))
            .await
    }

    /// Posts the import form for `seed` (base32, hex or URI) as SHA-1/6/30, confirming the
    /// replacement, and returns the answer whatever it is.
    pub async fn try_import(&mut self, seed: &str) -> Resp {
        self.post("/seed/import", &import_fields(seed)).await
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

    /// Posts the label form (issuer and account of the current token).
    pub async fn label(&mut self, issuer: &str, account: &str) -> Resp {
        self.post("/seed/label", &[("issuer", issuer), ("account", account)])
            .await
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

    /// `f` of each token in this browser's batch, in order.
    pub fn batch_records<T>(&self, f: impl Fn(&totp_toolset::tokens::TokenRecord) -> T) -> Vec<T> {
        let id = self.session_id();
        let records = self
            .server
            .state
            .sessions
            .with(id, |s| s.batch().records().iter().map(&f).collect());
        records.expect("the browser's session")
    }

    /// The session id behind this browser's cookie.
    pub fn session_id(&self) -> totp_toolset::web::session::SessionId {
        let cookie = self.cookie.as_ref().expect("a session cookie");
        let value = cookie.split_once('=').unwrap().1;
        totp_toolset::web::session::SessionId::from_cookie_value(value).expect("valid id")
    }
}
