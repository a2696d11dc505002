//! The toolset web server.
pub mod tls;
