//! The one error type of the server: each failure maps to a status code and a message a
//! user can act on. Handlers return `Result<_, AppError>` and use `?` on the inner errors
//! (the `From` impls below); [`log_errors`] writes what went wrong to the log.
//!
//! It never shows internals (or a seed) to the browser: internal details go to the log,
//! which must itself never receive a seed.

use std::sync::Arc;

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::Request;
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

type Source = Box<dyn std::error::Error + Send + Sync>;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("no page at this address")]
    NotFound,
    /// The session store is full; no live session is evicted to make room.
    #[error("the session store is full")]
    SessionsFull,
    /// The browser's session ended (it expired, or the server restarted).
    #[error("the session ended")]
    SessionGone,
    /// A POST from another site (refused by the CSRF layer).
    #[error("cross-site request refused")]
    CrossSite,
    /// The request is fine but the session's state does not allow it now.
    #[error("conflict: {0}")]
    Conflict(String),
    /// Something on our side failed; the detail is logged, never shown.
    #[error("internal error: {0}")]
    Internal(#[source] Source),
    /// The `Host` is not one this server answers to (DNS rebinding, or a name the admin has
    /// not listed yet); carries the host as sent, cut to 64 characters.
    #[error("host not allowed")]
    MisdirectedHost(String),
    /// The body is larger than `--max-body-bytes`.
    #[error("body too large")]
    PayloadTooLarge,
    /// An imported file larger than `--max-import-bytes` (carried, in bytes).
    #[error("import too large")]
    ImportTooLarge(usize),
    /// A form arrived with another `Content-Type` than a form's.
    #[error("not a form")]
    UnsupportedMediaType,
    /// The form's body could not be read into its fields (a field given twice, say); the
    /// message names the field and never repeats more than 64 characters of the input.
    #[error("form not understood: {0}")]
    UnreadableForm(String),
    /// A request this server cannot read at all (a malformed query string, say).
    #[error("bad request: {0}")]
    BadRequest(String),
    /// The path exists but not for this method (a GET of a form's target).
    #[error("method not allowed")]
    MethodNotAllowed,
    /// The request took longer than `--request-timeout-seconds`.
    #[error("request timed out")]
    Timeout,
}

impl From<crate::otp::SeedError> for AppError {
    fn from(e: crate::otp::SeedError) -> Self {
        AppError::Internal(e.into())
    }
}

impl From<crate::tokens::TokensError> for AppError {
    fn from(e: crate::tokens::TokensError) -> Self {
        AppError::Internal(e.into())
    }
}

impl From<super::qr::QrError> for AppError {
    fn from(e: super::qr::QrError) -> Self {
        AppError::Internal(format!("QR code: {e}").into())
    }
}

impl From<getrandom::Error> for AppError {
    fn from(e: getrandom::Error) -> Self {
        AppError::Internal(format!("random source failed: {e}").into())
    }
}

impl AppError {
    /// The status code, and the title and message the user sees.
    pub fn status(&self) -> StatusCode {
        self.describe().0
    }

    /// What the user is told, in one sentence or two.
    pub fn message(&self) -> String {
        self.describe().2
    }

    /// Status, title, message and, when there is something to do about it, a hint.
    fn describe(&self) -> (StatusCode, &'static str, String, Option<String>) {
        let mut hint = None;
        let (status, title, message) = match self {
            AppError::NotFound => (
                StatusCode::NOT_FOUND,
                "Not found",
                "There is no page at this address.".to_string(),
            ),
            AppError::SessionsFull => (
                StatusCode::SERVICE_UNAVAILABLE,
                "Too many sessions",
                "The server is holding as many sessions as it is allowed to. Sessions end after a while without use; please try again later, or ask the administrator to raise --max-sessions.".to_string(),
            ),
            AppError::SessionGone => (
                StatusCode::GONE,
                "Session ended",
                "Your session ended (it expired, or the server restarted), and its seeds and rows were wiped. Reload the page to start a new one.".to_string(),
            ),
            AppError::CrossSite => (
                StatusCode::FORBIDDEN,
                "Request refused",
                "This form was sent from another site, or by a browser that does not say where it came from. Changes are accepted only from this server's own pages.".to_string(),
            ),
            AppError::Conflict(message) => {
                (StatusCode::CONFLICT, "Cannot do that now", message.clone())
            }
            AppError::MisdirectedHost(host) => {
                let host = host.as_str();
                let named = if host.is_empty() {
                    "This request names no host".to_string()
                } else {
                    format!("This server does not answer to the name \"{host}\"")
                };
                let example = if host.is_empty() { "NAME" } else { host };
                hint = Some(format!(
                    "If this is the address you use for the toolset, the administrator can allow it: start the server with --allowed-host {example} (or set TOTP_TOOLSET_ALLOWED_HOSTS={example}; separate several names with commas)."
                ));
                (
                    StatusCode::MISDIRECTED_REQUEST,
                    "Unknown host name",
                    format!("{named}. Pages are refused under names the server was not told it has, so that another site cannot reach it through a look-alike address (DNS rebinding)."),
                )
            }
            AppError::PayloadTooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "Request too large",
                "The form sent more data than the server accepts in one request. Nothing was stored; go back and send less (the administrator can raise --max-body-bytes).".to_string(),
            ),
            AppError::ImportTooLarge(max) => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "File too large",
                format!(
                    "The imported file is larger than the {} MiB the server accepts (setting --max-import-bytes / TOTP_TOOLSET_MAX_IMPORT_BYTES). Nothing was stored; split the file and import the parts one after the other.",
                    max / (1024 * 1024)
                ),
            ),
            AppError::UnsupportedMediaType => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "Not a form",
                "This address takes an HTML form (Content-Type: application/x-www-form-urlencoded), and the request was something else. Nothing was stored.".to_string(),
            ),
            AppError::UnreadableForm(message) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "Form not understood",
                message.clone(),
            ),
            AppError::BadRequest(message) => {
                (StatusCode::BAD_REQUEST, "Bad request", message.clone())
            }
            AppError::MethodNotAllowed => (
                StatusCode::METHOD_NOT_ALLOWED,
                "Not here",
                "This address does not take that kind of request (HTTP method). Nothing was changed.".to_string(),
            ),
            AppError::Timeout => (
                StatusCode::REQUEST_TIMEOUT,
                "Request took too long",
                "The server gave up on this request because it took too long. Nothing it was about was stored; please try again.".to_string(),
            ),
            AppError::Internal(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "Server error",
                "Something went wrong on the server. Nothing you entered was stored by this request.".to_string(),
            ),
        };
        (status, title, message, hint)
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "error.html")]
struct ErrorPage {
    title: &'static str,
    message: String,
    /// What to do about it, when there is something to do.
    hint: Option<String>,
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let (status, title, message, hint) = self.describe();
        let page = ErrorPage {
            title,
            message,
            hint,
        };
        let mut response = (status, page).into_response();
        // Handed to `log_errors`, which logs it once, outside the handler.
        response.extensions_mut().insert(Arc::new(self));
        response
    }
}

/// Middleware: logs the error a response was made from (internal ones with their source
/// chain), then forgets it.
pub async fn log_errors(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    if let Some(error) = response.extensions_mut().remove::<Arc<AppError>>() {
        if let AppError::Internal(source) = &*error {
            let mut detail = source.to_string();
            let mut cause = source.source();
            while let Some(c) = cause {
                detail.push_str(": ");
                detail.push_str(&c.to_string());
                cause = c.source();
            }
            tracing::error!(%detail, "internal error");
        } else {
            tracing::debug!(status = %response.status(), %error, "request refused");
        }
    }
    response
}

/// Turns the plain-text or empty error answers of axum and tower-http (a 413 from the body
/// limit, a 408 from the timeout, a 405, a malformed query string) into our error page with
/// the same status. Our own pages, JSON answers and successes pass untouched.
pub async fn html_errors(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let plain = content_type.is_empty() || content_type.starts_with("text/plain");
    if !plain || !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let page = match status {
        StatusCode::BAD_REQUEST => AppError::BadRequest(
            "The server could not read this request (a malformed address or form). Nothing was stored.".into(),
        ),
        StatusCode::METHOD_NOT_ALLOWED => AppError::MethodNotAllowed,
        StatusCode::REQUEST_TIMEOUT => AppError::Timeout,
        StatusCode::PAYLOAD_TOO_LARGE => AppError::PayloadTooLarge,
        StatusCode::UNSUPPORTED_MEDIA_TYPE => AppError::UnsupportedMediaType,
        StatusCode::UNPROCESSABLE_ENTITY => AppError::UnreadableForm(
            "The form's fields could not be read. Nothing was stored; send the form again from its page.".into(),
        ),
        _ => return response,
    };
    let allow = response.headers().get(header::ALLOW).cloned();
    let mut html = page.into_response();
    if let Some(allow) = allow {
        html.headers_mut().insert(header::ALLOW, allow);
    }
    html
}
