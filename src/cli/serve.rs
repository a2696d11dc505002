//! `totp-toolset serve`: runs the web toolset. Reads the configuration (flags or
//! `TOTP_TOOLSET_*` environment variables), binds, prints the URL and serves until Ctrl-C.
//!
//! It never logs a seed or a session id, and writes nothing to disk.

use std::io::Write;
use std::time::Duration;

use clap::Args;

use super::common::{CliError, CliResult, out};
use crate::web::{self, AppState, SessionConfig, WebConfig};

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Address and port to listen on (port 0 picks a free one)
    #[arg(long, env = "TOTP_TOOLSET_BIND", default_value = "127.0.0.1:8080")]
    pub bind: String,
    /// Browsers reach the server over HTTPS (through a TLS-terminating proxy): mark the
    /// session cookie Secure
    #[arg(long, env = "TOTP_TOOLSET_TLS")]
    pub tls: bool,
    /// Most sessions held at once; new visitors get a "too many sessions" page beyond it
    #[arg(long, env = "TOTP_TOOLSET_MAX_SESSIONS", default_value_t = 1000,
          value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub max_sessions: u32,
    /// Most CSV rows in one session
    #[arg(long, env = "TOTP_TOOLSET_MAX_ROWS", default_value_t = 500,
          value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub max_rows: u32,
    /// A session unused for this many minutes ends, and its seeds are wiped
    #[arg(long, env = "TOTP_TOOLSET_SESSION_IDLE_MINUTES", default_value_t = 30,
          value_parser = clap::value_parser!(u32).range(1..=1440))]
    pub session_idle_minutes: u32,
    /// A session ends this many hours after it began, however busy
    #[arg(long, env = "TOTP_TOOLSET_SESSION_MAX_HOURS", default_value_t = 12,
          value_parser = clap::value_parser!(u32).range(1..=168))]
    pub session_max_hours: u32,
    /// Largest request body accepted, in bytes
    #[arg(long, env = "TOTP_TOOLSET_MAX_BODY_BYTES", default_value_t = 16384,
          value_parser = clap::value_parser!(u32).range(1024..=10_485_760))]
    pub max_body_bytes: u32,
    /// Seconds a request may take before it is answered with 408
    #[arg(long, env = "TOTP_TOOLSET_REQUEST_TIMEOUT_SECONDS", default_value_t = 10,
          value_parser = clap::value_parser!(u32).range(1..=600))]
    pub request_timeout_seconds: u32,
    /// Another origin allowed to post forms, as browsers send it (https://totp.example.com),
    /// for a reverse proxy that rewrites Host; repeat or separate with commas
    #[arg(long, env = "TOTP_TOOLSET_TRUSTED_ORIGIN", value_delimiter = ',')]
    pub trusted_origin: Vec<String>,
}

impl ServeArgs {
    pub fn config(&self) -> WebConfig {
        WebConfig {
            sessions: SessionConfig {
                idle_secs: u64::from(self.session_idle_minutes) * 60,
                absolute_secs: u64::from(self.session_max_hours) * 3600,
                max_sessions: self.max_sessions as usize,
                max_rows: self.max_rows as usize,
                tls: self.tls,
            },
            max_body_bytes: self.max_body_bytes as usize,
            request_timeout: Duration::from_secs(u64::from(self.request_timeout_seconds)),
            trusted_origins: self.trusted_origin.clone(),
        }
    }
}

pub fn run(args: &ServeArgs, stdout: &mut dyn Write) -> CliResult {
    // Logs go to stderr; RUST_LOG chooses the detail. Nothing logged may hold a seed.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .try_init();

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::failure(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(async {
        let state = AppState::new(args.config(), web::system_clock());
        let app = web::app(state.clone()).map_err(CliError::bad_input)?;
        let listener = tokio::net::TcpListener::bind(&args.bind)
            .await
            .map_err(|e| {
                CliError::usage("--bind", format!("cannot listen on {}: {e}", args.bind))
            })?;
        let addr = listener
            .local_addr()
            .map_err(|e| CliError::failure(format!("cannot read the bound address: {e}")))?;
        // The first line of stdout is the URL, so scripts and tests can read the real port.
        out(
            stdout,
            &format!("totp-toolset listening on http://{addr}/\n"),
        )?;
        let _ = stdout.flush();
        tracing::info!(%addr, "serving");
        web::spawn_sweeper(state);
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await
            .map_err(|e| CliError::failure(format!("server failed: {e}")))
    })
}
