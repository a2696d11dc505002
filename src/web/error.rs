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
use axum::http::StatusCode;
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

    fn describe(&self) -> (StatusCode, &'static str, String) {
        match self {
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
            AppError::Internal(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "Server error",
                "Something went wrong on the server. Nothing you entered was stored by this request.".to_string(),
            ),
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "error.html")]
struct ErrorPage {
    title: &'static str,
    message: String,
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let (status, title, message) = self.describe();
        let mut response = (status, ErrorPage { title, message }).into_response();
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
