//! `totp-toolset serve`: runs the web toolset. Reads the configuration (flags or
//! `TOTP_TOOLSET_*` environment variables), binds, optionally speaks TLS, prints the URL and
//! serves until Ctrl-C or SIGTERM, then finishes the requests under way and wipes every
//! session.
//!
//! It never logs a seed or a session id, and writes nothing to disk (a self-signed
//! certificate lives in memory only).

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use super::common::{CliError, CliResult, out, read_agent_token};
use crate::agent::client::AgentClient;
use crate::web::conns::{self, ConnLimits};
use crate::web::host::{AllowedHosts, HostPattern};
use crate::web::tls::{self, TlsSetup};
use crate::web::{self, AppState, SessionConfig, WebConfig};

/// How long requests under way may take to finish after a shutdown signal.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Where the server listens and the TLS it speaks itself: `serve` takes them, and
/// `healthcheck` reads the same flags and variables (hidden there) to probe the right
/// address and scheme.
#[derive(Args, Debug)]
pub struct ListenArgs {
    /// Address and port the server listens on (port 0 picks a free one; healthcheck probes a
    /// wildcard address on loopback)
    #[arg(
        long,
        env = "TOTP_TOOLSET_BIND",
        default_value = "127.0.0.1:8080",
        value_name = "ADDR:PORT"
    )]
    pub bind: String,
    /// Serve HTTPS with this PEM certificate chain (leaf first); needs --tls-key
    #[arg(
        long,
        env = "TOTP_TOOLSET_TLS_CERT",
        value_name = "FILE",
        requires = "tls_key",
        conflicts_with = "tls_self_signed"
    )]
    pub tls_cert: Option<PathBuf>,
    /// The PEM private key for --tls-cert
    #[arg(
        long,
        env = "TOTP_TOOLSET_TLS_KEY",
        value_name = "FILE",
        requires = "tls_cert"
    )]
    pub tls_key: Option<PathBuf>,
    /// Serve HTTPS with a certificate made at start-up, kept in memory only; its SHA-256
    /// fingerprint is printed so users can check the one their browser shows
    #[arg(long, env = "TOTP_TOOLSET_TLS_SELF_SIGNED")]
    pub tls_self_signed: bool,
    /// Extra host names or addresses for the self-signed certificate (the bind address and
    /// localhost are always in it); repeat or separate with commas
    #[arg(
        long,
        env = "TOTP_TOOLSET_TLS_NAMES",
        value_name = "NAME",
        value_delimiter = ','
    )]
    pub tls_name: Vec<String>,
}

impl ListenArgs {
    /// True when the server itself speaks TLS.
    pub fn serves_tls(&self) -> bool {
        self.tls_cert.is_some() || self.tls_self_signed
    }

    fn tls_setup(&self, addr: &SocketAddr) -> Result<Option<TlsSetup>, CliError> {
        if let (Some(cert), Some(key)) = (&self.tls_cert, &self.tls_key) {
            return tls::from_files(cert, key)
                .map(Some)
                .map_err(CliError::bad_input);
        }
        if self.tls_self_signed {
            return tls::self_signed(tls::names_for_bind(addr, &self.tls_name))
                .map(Some)
                .map_err(|e| CliError::failure(e.to_string()));
        }
        Ok(None)
    }
}

#[derive(Args, Debug)]
pub struct ServeArgs {
    #[command(flatten)]
    pub listen: ListenArgs,
    /// Browsers reach the server over HTTPS through a TLS-terminating proxy: send HSTS and
    /// mark the session cookie Secure (implied by --tls-cert and --tls-self-signed)
    #[arg(long, env = "TOTP_TOOLSET_TLS")]
    pub tls: bool,
    /// The NFC agent that burns tokens, on this machine (see `totp-toolset agent`):
    /// http://127.0.0.1:PORT
    #[arg(long, env = "TOTP_TOOLSET_AGENT_URL", value_name = "URL")]
    pub agent_url: Option<String>,
    /// File holding the bearer token shared with the agent (else the variable
    /// TOTP_TOOLSET_AGENT_TOKEN)
    #[arg(
        long,
        env = "TOTP_TOOLSET_AGENT_TOKEN_FILE",
        value_name = "FILE",
        requires = "agent_url"
    )]
    pub agent_token_file: Option<PathBuf>,
    /// Seconds a burn waits for a token to be held on the reader
    #[arg(long, env = "TOTP_TOOLSET_BURN_WAIT_SECONDS", default_value_t = 30,
          value_parser = clap::value_parser!(u64).range(5..=60))]
    pub burn_wait_seconds: u64,
    /// Most sessions held at once; new visitors get a "too many sessions" page beyond it
    #[arg(long, env = "TOTP_TOOLSET_MAX_SESSIONS", default_value_t = 1000,
          value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub max_sessions: u32,
    /// Most tokens in one session's batch [default: 10000]
    #[arg(long, env = "TOTP_TOOLSET_MAX_BATCH",
          value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub max_batch: Option<u32>,
    /// Older name of --max-batch, still honoured when --max-batch is not given
    #[arg(long, env = "TOTP_TOOLSET_MAX_ROWS", hide = true,
          value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub max_rows: Option<u32>,
    /// Most tokens in all sessions' batches together (about 435 bytes of memory each)
    #[arg(long, env = "TOTP_TOOLSET_MAX_BATCH_TOTAL", default_value_t = 100_000,
          value_parser = clap::value_parser!(u32).range(1..=10_000_000))]
    pub max_batch_total: u32,
    /// Largest file the batch page imports, in bytes (every other request keeps
    /// --max-body-bytes)
    #[arg(long, env = "TOTP_TOOLSET_MAX_IMPORT_BYTES", default_value_t = 8_388_608,
          value_parser = clap::value_parser!(u32).range(16_384..=268_435_456))]
    pub max_import_bytes: u32,
    /// Most bytes that files waiting in all sessions together may hold: previews not yet
    /// added, archives waiting for a pick, user lists waiting to be applied
    #[arg(long, env = "TOTP_TOOLSET_MAX_PENDING_BYTES", default_value_t = 67_108_864,
          value_parser = clap::value_parser!(u32).range(16_384..))]
    pub max_pending_bytes: u32,
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
    /// Seconds a client has to send a request's headers (and finish the TLS handshake),
    /// counted from when it connected or got its previous response; then it is disconnected
    #[arg(long, env = "TOTP_TOOLSET_HEADER_TIMEOUT_SECONDS", default_value_t = 10,
          value_parser = clap::value_parser!(u32).range(1..=600))]
    pub header_timeout_seconds: u32,
    /// Seconds a kept-alive connection may sit idle (no request under way, nothing sent)
    /// before it is closed; idle connections are closed after the shorter of this and the
    /// header timeout
    #[arg(long, env = "TOTP_TOOLSET_KEEP_ALIVE_SECONDS", default_value_t = 5,
          value_parser = clap::value_parser!(u32).range(1..=600))]
    pub keep_alive_seconds: u32,
    /// Most connections open at once; further ones wait until one closes
    #[arg(long, env = "TOTP_TOOLSET_MAX_CONNECTIONS", default_value_t = 512,
          value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub max_connections: u32,
    /// Another origin allowed to post forms, as browsers send it (https://totp.example.com),
    /// for a reverse proxy that rewrites Host; repeat or separate with commas
    #[arg(long, env = "TOTP_TOOLSET_TRUSTED_ORIGIN", value_delimiter = ',')]
    pub trusted_origin: Vec<String>,
    /// Another name browsers use for this server (totp.intranet.example, or name:port for
    /// that port only); without it only the bind address, loopback names and certificate
    /// names are answered, so no look-alike domain can reach the server (DNS rebinding).
    /// Repeat or separate with commas
    #[arg(
        long,
        env = "TOTP_TOOLSET_ALLOWED_HOSTS",
        value_name = "HOST",
        value_delimiter = ','
    )]
    pub allowed_host: Vec<String>,
}

impl ServeArgs {
    /// The agent client, when `--agent-url` is given (it then needs the shared token).
    fn agent(&self) -> Result<Option<AgentClient>, CliError> {
        let Some(url) = &self.agent_url else {
            return Ok(None);
        };
        let token = read_agent_token(self.agent_token_file.as_deref(), "--agent-token-file", 16)?;
        AgentClient::new(url, token)
            .map(Some)
            .map_err(|e| CliError::usage("--agent-url", e))
    }

    /// `--allowed-host` entries, checked before anything is bound.
    fn allowed_host_patterns(&self) -> Result<Vec<HostPattern>, CliError> {
        self.allowed_host
            .iter()
            .filter(|h| !h.trim().is_empty())
            .map(|h| {
                HostPattern::parse(h).map_err(|e| {
                    CliError::usage("--allowed-host", format!("'{}' {e}", crate::otp::clip(h)))
                })
            })
            .collect()
    }

    /// Every host the server answers to, once the real address is known: the bind address,
    /// loopback names, the certificate's names and `--allowed-host`.
    fn allowed_hosts(
        &self,
        addr: SocketAddr,
        tls: Option<&TlsSetup>,
    ) -> Result<AllowedHosts, CliError> {
        let mut extra = self.allowed_host_patterns()?;
        for name in tls.map(|t| t.names.as_slice()).unwrap_or_default() {
            if let Ok(p) = HostPattern::parse(name) {
                extra.push(p);
            }
        }
        Ok(AllowedHosts::for_bind(addr, extra))
    }

    /// How long clients may hold the server's sockets.
    pub fn conn_limits(&self) -> ConnLimits {
        ConnLimits {
            header_timeout: Duration::from_secs(u64::from(self.header_timeout_seconds)),
            idle_timeout: Duration::from_secs(u64::from(self.keep_alive_seconds)),
            max_connections: self.max_connections,
        }
    }

    pub fn config(&self) -> Result<WebConfig, CliError> {
        self.allowed_host_patterns()?;
        Ok(WebConfig {
            sessions: SessionConfig {
                idle_secs: u64::from(self.session_idle_minutes) * 60,
                absolute_secs: u64::from(self.session_max_hours) * 3600,
                max_sessions: self.max_sessions as usize,
                // As many again for first visits whose cookie has not come back yet.
                max_provisional: self.max_sessions as usize,
                max_batch: self
                    .max_batch
                    .or(self.max_rows)
                    .map_or(crate::tokens::BatchLimit::DEFAULT_MAX, |n| n as usize),
                max_batch_total: self.max_batch_total as usize,
                max_pending_bytes: self.max_pending_bytes as usize,
                tls: self.tls || self.listen.serves_tls(),
            },
            max_body_bytes: self.max_body_bytes as usize,
            max_import_bytes: self.max_import_bytes as usize,
            request_timeout: Duration::from_secs(u64::from(self.request_timeout_seconds)),
            trusted_origins: self.trusted_origin.clone(),
            // Replaced by `allowed_hosts` once the bound address is known.
            allowed_hosts: AllowedHosts::default(),
            agent: self.agent()?,
            burn_wait_seconds: self.burn_wait_seconds,
        })
    }
}

/// Resolves on Ctrl-C or SIGTERM (what `docker stop` sends).
async fn shutdown_signal() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate => {}
    }
    tracing::info!("shutdown requested: finishing requests under way");
}

/// The warning for a server that anyone on the network can reach over plain HTTP.
fn cleartext_warning(addr: &SocketAddr) -> Option<String> {
    if addr.ip().is_loopback() {
        return None;
    }
    Some(format!(
        "WARNING: serving on {addr} over plain HTTP. Seeds and session cookies will cross the \
         network in clear text.\nWARNING: use --tls-self-signed or --tls-cert/--tls-key, or put \
         an HTTPS proxy in front and pass --tls. (In a container published on 127.0.0.1 only, \
         this is expected.)"
    ))
}

/// Bound to every interface with no name given: which hosts are answered, and how to add
/// the name people will type.
fn wildcard_note(addr: &SocketAddr, hosts: &AllowedHosts) -> Option<String> {
    if !addr.ip().is_unspecified() || !hosts.defaults_only() {
        return None;
    }
    Some(format!(
        "note: answering only to {}.\nnote: to reach the server by a name (an intranet host name), \
         add it with --allowed-host NAME or TOTP_TOOLSET_ALLOWED_HOSTS=NAME (comma-separated); \
         other names get a 421 page (protection against DNS rebinding).",
        hosts.describe()
    ))
}

pub fn run(args: &ServeArgs, stdout: &mut dyn Write) -> CliResult {
    // Logs go to stderr; RUST_LOG chooses the detail. Nothing logged may hold a seed.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::failure(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(async {
        let mut config = args.config()?;
        // Checked before binding, so a bad origin never leaves a port half-opened.
        let _ = web::app(AppState::new(config.clone(), crate::clock::system_clock()))
            .map_err(CliError::bad_input)?;
        let bind = &args.listen.bind;
        let listener = std::net::TcpListener::bind(bind)
            .map_err(|e| CliError::usage("--bind", format!("cannot listen on {bind}: {e}")))?;
        let addr = listener
            .local_addr()
            .map_err(|e| CliError::failure(format!("cannot read the bound address: {e}")))?;
        let tls = args.listen.tls_setup(&addr)?;
        config.allowed_hosts = args.allowed_hosts(addr, tls.as_ref())?;
        let state = AppState::new(config, crate::clock::system_clock());
        let app = web::app(state.clone()).map_err(CliError::bad_input)?;
        let scheme = if tls.is_some() { "https" } else { "http" };
        // The first line of stdout is the URL, so scripts and tests can read the real port.
        let mut banner = format!("totp-toolset listening on {scheme}://{addr}/\n");
        if let Some(t) = &tls {
            let kind = if t.self_signed {
                "self-signed certificate (in memory only)"
            } else {
                "certificate"
            };
            banner.push_str(&format!(
                "TLS {kind}, SHA-256 fingerprint {}\n",
                t.fingerprint
            ));
        }
        out(stdout, &banner)?;
        let _ = stdout.flush();
        if tls.is_none()
            && !args.tls
            && let Some(w) = cleartext_warning(&addr)
        {
            eprintln!("{w}");
        }
        if let Some(note) = wildcard_note(&addr, &state.config.allowed_hosts) {
            eprintln!("{note}");
        }
        tracing::info!(%addr, scheme, accepted_hosts = %state.config.allowed_hosts.describe(), "serving");
        let sweeper = web::spawn_sweeper(state.clone());

        listener
            .set_nonblocking(true)
            .map_err(|e| CliError::failure(format!("cannot configure the listener: {e}")))?;
        let listener = tokio::net::TcpListener::from_std(listener)
            .map_err(|e| CliError::failure(format!("cannot configure the listener: {e}")))?;
        conns::serve(
            listener,
            tls.map(|t| t.config),
            app,
            args.conn_limits(),
            shutdown_signal(),
            SHUTDOWN_GRACE,
        )
        .await;
        sweeper.abort();
        let wiped = state.sessions.wipe_all();
        tracing::info!(wiped, "stopped; every session and its seeds wiped");
        Ok(())
    })
}
