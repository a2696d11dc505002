//! The loopback HTTP agent in front of a reader: the toolset server (never a browser) asks
//! it to identify and burn tokens, and [`client`] is how the server asks.
//!
//! Shaped like the web server: `server.rs` (state, routes, layers), `guard.rs` (the checks
//! before any handler), `handlers.rs`, `error.rs` (one error type, its HTTP statuses),
//! `api.rs` (the JSON shapes), `device.rs` (where cards come from).
//!
//! Binds loopback unless told otherwise, refuses requests with an `Origin` or a foreign
//! `Host`, requires the shared bearer token, and never logs a seed. The API is documented
//! in docs/agent-api.md.

pub mod api;
pub mod client;
mod device;
mod error;
mod guard;
mod handlers;
mod server;

use std::net::SocketAddr;
use std::sync::Arc;

pub use device::{Device, SIMULATED_READER, SimulatedFault};
pub use error::AgentError;
pub use server::{AgentState, MAX_BODY_BYTES, app, hosts_for, loopback_hosts};

/// Runs the agent on an already bound listener until `shutdown` completes.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: Arc<AgentState>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, app(state))
        .with_graceful_shutdown(shutdown)
        .await
}

/// True when binding `addr` needs `--allow-remote`.
pub fn is_remote(addr: SocketAddr) -> bool {
    !addr.ip().is_loopback()
}
