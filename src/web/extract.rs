//! The one way a handler reaches its session: the [`CurrentSession`] extractor, which
//! carries the server state, the session's context and the session behind its own lock.
//!
//! It never starts a session on a route the session middleware does not cover (the page
//! script's `/api/otp`): there an unknown or expired cookie is refused, so no one is ever
//! shown codes of a seed they never saw.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum_extra::extract::cookie::CookieJar;

use super::session::{Resolved, Session, SessionCtx, SharedSession};
use super::{AppError, AppState};

/// The request's session, with the server's state.
pub struct CurrentSession {
    pub state: AppState,
    pub ctx: SessionCtx,
    session: SharedSession,
}

impl CurrentSession {
    /// Runs `f` on the session under its own lock (never the store's). Keep `f` short and
    /// free of waiting: copy out what a slow step needs and come back afterwards.
    pub fn with<R>(&self, f: impl FnOnce(&mut Session) -> R) -> R {
        self.session.with(f)
    }

    /// "Now" at the server's clock.
    pub fn now(&self) -> u64 {
        self.state.now()
    }
}

impl FromRequestParts<AppState> for CurrentSession {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        if let Some(Resolved { ctx, session }) = parts.extensions.get::<Resolved>().cloned() {
            return Ok(CurrentSession {
                state: state.clone(),
                ctx,
                session,
            });
        }
        let jar = CookieJar::from_headers(&parts.headers);
        let id = state
            .sessions
            .config()
            .session_id(&jar)
            .ok_or(AppError::SessionGone)?;
        let session = state
            .sessions
            .resume(id, state.now())?
            .ok_or(AppError::SessionGone)?;
        Ok(CurrentSession {
            state: state.clone(),
            ctx: SessionCtx {
                id,
                restarted: false,
                transport: super::host::Transport::of(
                    &state.config,
                    super::host::host_of(&parts.headers, &parts.uri),
                ),
            },
            session,
        })
    }
}
