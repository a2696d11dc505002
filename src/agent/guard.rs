//! The checks every request passes before any handler runs: no `Origin` (browsers are
//! never callers), a `Host` naming this agent (DNS rebinding), and the bearer token.
//!
//! Never logs or echoes the Authorization header.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, Uri, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::api::ErrorKind;
use super::error::AgentError;
use super::server::AgentState;

/// Refuses browsers (any `Origin`), DNS rebinding (a `Host` that is not ours) and anyone
/// without the bearer token, before any handler runs.
pub async fn guard(State(state): State<Arc<AgentState>>, req: Request, next: Next) -> Response {
    if let Err(e) = check(&state, req.headers(), req.uri()) {
        return e.into_response();
    }
    next.run(req).await
}

fn check(state: &AgentState, headers: &HeaderMap, uri: &Uri) -> Result<(), AgentError> {
    if headers.contains_key(header::ORIGIN) {
        return Err(AgentError::new(
            ErrorKind::OriginRefused,
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
    if !state.allows_host(&host) {
        return Err(AgentError::new(
            ErrorKind::HostRefused,
            "the Host header does not name this agent",
        ));
    }
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.strip_prefix("Bearer "))
        .unwrap_or("");
    if presented.is_empty() || !state.token_matches(presented) {
        return Err(AgentError::new(
            ErrorKind::Unauthorized,
            "missing or wrong bearer token",
        ));
    }
    Ok(())
}
