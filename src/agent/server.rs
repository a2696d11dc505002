//! The agent's HTTP server: its shared state, the routes, and the layers around them (the
//! guard in `guard.rs`, limits, the timeout). The handlers are in `handlers.rs`, the error
//! type in `error.rs`.
//!
//! Never logs a request body (the burn body carries the seed) nor the Authorization header.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::middleware;
use axum::routing::{get, post};
use subtle::ConstantTimeEq;
use tower_http::timeout::TimeoutLayer;
use zeroize::Zeroizing;

use super::api::MAX_WAIT_SECONDS;
use super::device::Device;
use super::guard::guard;
use super::handlers::{burn, identify, not_found, simulated_token, status, time_sync};
use crate::clock::Clock;
use crate::nfc::reader::Tap;

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
    pub(super) card_lock: tokio::sync::Mutex<()>,
    /// Where burns found their cards (the latest per reader), so a bulk run can wait for
    /// the next one.
    pub(super) seen_taps: std::sync::Mutex<Vec<Tap>>,
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
            seen_taps: std::sync::Mutex::new(Vec::new()),
        }
    }

    /// "Now", Unix seconds.
    pub fn now(&self) -> u64 {
        (self.clock)()
    }

    /// True when `host` (lowercase `host:port`) names this agent.
    pub(super) fn allows_host(&self, host: &str) -> bool {
        self.allowed_hosts.iter().any(|h| h == host)
    }

    /// Compares in constant time; a length mismatch answers at once, so only the length
    /// can leak.
    pub(super) fn token_matches(&self, presented: &str) -> bool {
        presented.as_bytes().ct_eq(self.token.as_bytes()).into()
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
