//! The one error type of the server: each failure maps to a status code and a message a
//! user can act on.
//!
//! It never shows internals (or a seed) to the browser: internal details go to the log,
//! which must itself never receive a seed.

use askama::Template;
use askama_web::WebTemplate;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

#[derive(Debug)]
pub enum AppError {
    NotFound,
    /// The session store is full; no live session is evicted to make room.
    SessionsFull,
    /// The session expired while the request was running.
    SessionGone,
    /// A POST from another site (refused by the CSRF layer).
    CrossSite,
    /// The request is fine but the session's state does not allow it now.
    Conflict(String),
    /// Something on our side failed; the detail is logged, never shown.
    Internal(String),
}

#[derive(Template, WebTemplate)]
#[template(path = "error.html")]
struct ErrorPage {
    title: &'static str,
    message: String,
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
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
                "Session expired",
                "Your session expired while this request ran, and its seeds and rows were wiped. Reload the page to start a new one.".to_string(),
            ),
            AppError::CrossSite => (
                StatusCode::FORBIDDEN,
                "Request refused",
                "This form was sent from another site, or by a browser that does not say where it came from. Changes are accepted only from this server's own pages.".to_string(),
            ),
            AppError::Conflict(message) => (StatusCode::CONFLICT, "Cannot do that now", message),
            AppError::Internal(detail) => {
                tracing::error!(%detail, "internal error");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Server error",
                    "Something went wrong on the server. Nothing you entered was stored by this request.".to_string(),
                )
            }
        };
        (status, ErrorPage { title, message }).into_response()
    }
}
