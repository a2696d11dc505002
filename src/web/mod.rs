//! The toolset server: the router, its layers, sessions, pages and errors. `app(state)`
//! builds the whole HTTP service so tests can drive it without a socket; `serve` in
//! `cli/serve.rs` only binds and runs it.
//!
//! It must never put a seed in a URL, a log line, a cache or a file on disk: seeds travel
//! only in POST bodies and in the pages and downloads of the session that owns them.

pub mod bulk_run;
pub mod conns;
mod csrf;
mod error;
mod extract;
mod form;
pub mod host;
mod pages;
mod qr;
mod security;
pub mod session;
pub mod tls;
mod views;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use tower_http::CompressionLevel;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::CompressionLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::trace::TraceLayer;

pub use error::AppError;
pub use session::{SessionConfig, SessionStore};

use crate::clock::Clock;

/// Everything the server can be told at start-up.
#[derive(Clone, Debug)]
pub struct WebConfig {
    pub sessions: SessionConfig,
    /// Largest request body accepted, in bytes (forms are small; this stops memory abuse).
    pub max_body_bytes: usize,
    /// Largest body of the import route only (a 10,000-token PSKC file is several MB).
    pub max_import_bytes: usize,
    /// A request taking longer than this is answered with 408.
    pub request_timeout: Duration,
    /// Origins allowed to POST besides the request's own host (a reverse proxy that
    /// rewrites `Host`), written exactly as browsers send them: `https://totp.example.com`.
    pub trusted_origins: Vec<String>,
    /// The `Host`s the server answers to; any other gets a 421 page (DNS rebinding).
    pub allowed_hosts: host::AllowedHosts,
    /// The NFC agent that burns tokens (`--agent-url`); without one the burn panel says
    /// how to start it.
    pub agent: Option<crate::agent::client::AgentClient>,
    /// How long a burn waits for a token on the reader, in seconds.
    pub burn_wait_seconds: u64,
}

impl Default for WebConfig {
    fn default() -> Self {
        WebConfig {
            sessions: SessionConfig::default(),
            max_body_bytes: 16 * 1024,
            max_import_bytes: DEFAULT_MAX_IMPORT_BYTES,
            request_timeout: Duration::from_secs(10),
            trusted_origins: Vec::new(),
            allowed_hosts: host::AllowedHosts::default(),
            agent: None,
            burn_wait_seconds: pages::burn::BURN_WAIT_SECONDS,
        }
    }
}

/// The import route's body limit by default: 8 MiB.
pub const DEFAULT_MAX_IMPORT_BYTES: usize = 8 * 1024 * 1024;

/// Shared by every request.
#[derive(Clone)]
pub struct AppState {
    pub config: Arc<WebConfig>,
    pub sessions: Arc<SessionStore>,
    /// "Now" in Unix seconds, held here so tests can fix or advance time.
    pub clock: Clock,
}

impl AppState {
    pub fn new(config: WebConfig, clock: Clock) -> Self {
        AppState {
            sessions: Arc::new(SessionStore::new(config.sessions.clone())),
            config: Arc::new(config),
            clock,
        }
    }

    pub fn now(&self) -> u64 {
        (self.clock)()
    }
}

const APP_CSS: &str = include_str!("../../static/app.css");
const APP_JS: &str = include_str!("../../static/app.js");
const FAVICON_SVG: &str = include_str!("../../static/favicon.svg");

async fn static_css() -> impl IntoResponse {
    static_asset("text/css; charset=utf-8", APP_CSS)
}

async fn static_js() -> impl IntoResponse {
    static_asset("text/javascript; charset=utf-8", APP_JS)
}

fn static_asset(content_type: &'static str, body: &'static str) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            // Compiled into the binary, so they change only with a new version; a short
            // lifetime keeps an upgrade from serving a stale script for long.
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=300"),
            ),
        ],
        body,
    )
}

/// Declared by every page; also answers browsers that ask for /favicon.ico on their own, so
/// no page load ends in a 404 in the console.
async fn favicon() -> impl IntoResponse {
    static_asset("image/svg+xml", FAVICON_SVG)
}

async fn healthz() -> impl IntoResponse {
    (StatusCode::OK, "ok\n")
}

/// Why the service could not be built from its configuration.
#[derive(Debug, thiserror::Error)]
pub enum AppSetupError {
    #[error("--trusted-origin: {0}")]
    TrustedOrigin(String),
}

/// Brotli at quality 11 (its default) costs ~10 ms for the seed page; 5 gives nearly the
/// same size in a fraction of that. Gzip takes the same number as its level.
const COMPRESSION_LEVEL: CompressionLevel = CompressionLevel::Precise(5);

/// Compression over TLS leaks how alike the parts of a response are (BREACH): an attacker
/// who can watch the sizes and put their own text beside a secret in one response can
/// guess the secret a byte at a time. GET pages and downloads render the session's stored
/// state only, and the SameSite=Strict cookie keeps other sites from requesting them as
/// the user. Responses that echo what the request carried (a form POST re-rendered with
/// its fields beside the seed, a query string shown back in an error) are sent
/// uncompressed all the same: they are few, and then no such guess is ever possible.
async fn compress_only_stored_state(mut request: axum::extract::Request) -> axum::extract::Request {
    let echoes_input =
        !matches!(*request.method(), Method::GET | Method::HEAD) || request.uri().query().is_some();
    if echoes_input {
        request.headers_mut().remove(header::ACCEPT_ENCODING);
    }
    request
}

/// A request whose handler panicked (a bug) gets the server-error page instead of a dropped
/// connection. The panic's message may quote a seed, so it is dropped unread; the panic hook
/// (`cli/panic.rs`) has already logged where it happened.
fn panic_page(_payload: Box<dyn std::any::Any + Send + 'static>) -> axum::response::Response {
    AppError::Internal("a request handler panicked".into()).into_response()
}

/// The whole service. Fails only when a configured trusted origin is malformed.
pub fn app(state: AppState) -> Result<Router, AppSetupError> {
    let resolve = || middleware::from_fn_with_state(state.clone(), session::resolve);
    let pages = Router::new()
        .route("/", get(pages::seed::view_seed_get))
        .route("/seed", post(pages::seed::view_seed_post))
        .route("/seed/import", post(pages::seed::view_seed_import_post))
        .route("/seed/label", post(pages::seed::view_seed_label_post))
        .route(BURN_PATH, post(pages::burn::view_burn_post))
        .route("/otp", get(pages::otp::view_otp_get))
        .route("/otp/drift", post(pages::otp::view_otp_drift_post))
        .route("/csv", get(pages::csv::view_csv_get))
        .route("/csv/rows", post(pages::csv::view_csv_rows_post))
        .route(
            "/csv/rows/{index}/delete",
            post(pages::csv::view_csv_row_delete_post),
        )
        .route("/csv/clear", post(pages::csv::view_csv_clear_post))
        .route(
            "/csv/import/add",
            post(pages::csv::view_csv_import_add_post),
        )
        .route(
            "/csv/import/entry",
            post(pages::csv::view_csv_import_entry_post),
        )
        .route(
            "/csv/import/discard",
            post(pages::csv::view_csv_import_discard_post),
        )
        .route(
            "/csv/users/apply",
            post(pages::csv::view_csv_users_apply_post),
        )
        .route(
            "/csv/users/discard",
            post(pages::csv::view_csv_users_discard_post),
        )
        .route("/csv/upn", post(pages::csv::view_csv_upn_post))
        .route("/csv/move", post(pages::csv::view_csv_move_post))
        .route("/csv/download", get(pages::csv::view_csv_download_get))
        .route("/csv/graph.json", get(pages::csv::view_csv_graph_get))
        .route(
            "/csv/export/pskc",
            post(pages::csv::view_csv_pskc_post).get(pages::csv::view_csv_export_get_pskc),
        )
        .route("/csv/export/{kind}", get(pages::csv::view_csv_export_get))
        .route(
            "/csv/bulk/start",
            post(pages::bulk::view_csv_bulk_start_post),
        )
        .route("/csv/bulk/step", post(pages::bulk::view_csv_bulk_step_post))
        .route("/csv/bulk/same", post(pages::bulk::view_csv_bulk_same_post))
        .route("/csv/bulk/run", post(pages::bulk::view_csv_bulk_run_post))
        .route("/csv/clock", post(pages::bulk::view_csv_clock_post))
        // Only pages get a session: static files and health checks must not create one.
        .route_layer(resolve())
        // The page script's poll resumes the session the page was shown in and never starts
        // one: a seed the user never saw has no codes worth showing.
        .route("/api/otp", get(pages::otp::api_otp_get))
        .layer(RequestBodyLimitLayer::new(state.config.max_body_bytes));

    // The routes that take large bodies: a vendor's file, a list of its users, and a key to
    // encrypt a download to. Their limit is applied by
    // axum's own limit, which the multipart reader checks as it reads (a 413 naming the
    // import setting), instead of the 16 KB every other route keeps.
    let import = Router::new()
        .route("/csv/import", post(pages::csv::view_csv_import_post))
        .route(
            "/csv/export/encrypted",
            post(pages::batch_crypto::view_batch_crypto_post),
        )
        // A user list, pasted or uploaded: 10,000 UPNs are far more than 16 KB.
        .route("/csv/users", post(pages::csv::view_csv_users_post))
        .route_layer(resolve())
        .layer(DefaultBodyLimit::max(state.config.max_import_bytes));

    let csrf = csrf::CsrfGuard::new(&state.config.trusted_origins, state.config.sessions.tls)
        .map_err(AppSetupError::TrustedOrigin)?;

    // Layers run outside-in in the reverse order of the `.layer` calls: tracing sees
    // everything; every error answer is logged once, inside the request's span; the
    // security headers are added to every response, including refusals, timeouts and 413s;
    // plain-text errors of the layers below become our HTML page; the time limit bounds the
    // whole request (compressing included; a burn gets its wait on top); only then is
    // Accept-Encoding dropped where it must be, and the compression layer wraps every
    // response that passes it (pages, static files, our own refusals); a foreign Host is refused before anything else (DNS
    // rebinding); CSRF refuses cross-site writes before any body is read. The body limits
    // are per route (above): 16 KB for pages, the import limit for the import route alone.
    Ok(Router::new()
        .merge(pages)
        .merge(import)
        .route("/static/app.css", get(static_css))
        .route("/static/app.js", get(static_js))
        .route("/static/favicon.svg", get(favicon))
        .route("/favicon.ico", get(favicon))
        .route("/healthz", get(healthz))
        .fallback(|| async { AppError::NotFound })
        .layer(middleware::from_fn_with_state(csrf, csrf::check))
        .layer(middleware::from_fn_with_state(state.clone(), host::check))
        .layer(CompressionLayer::new().quality(COMPRESSION_LEVEL))
        .layer(middleware::map_request(compress_only_stored_state))
        .layer(middleware::from_fn_with_state(state.clone(), time_limit))
        .layer(CatchPanicLayer::custom(panic_page))
        .layer(middleware::from_fn(error::html_errors))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            security::headers,
        ))
        .layer(middleware::from_fn(error::log_errors))
        .layer(TraceLayer::new_for_http())
        .with_state(state))
}

/// Answers 408 when a request takes longer than `--request-timeout-seconds`, except a
/// burn: it also waits up to `--burn-wait-seconds` for the token to be held on the reader,
/// and cutting it at the common limit would show a timeout while the agent may still be
/// writing the seed. (The bulk panel's steps wait less than the common limit instead.)
async fn time_limit(
    axum::extract::State(state): axum::extract::State<AppState>,
    request: axum::extract::Request,
    next: middleware::Next,
) -> axum::response::Response {
    let mut limit = state.config.request_timeout;
    if request.uri().path() == BURN_PATH {
        limit += Duration::from_secs(state.config.burn_wait_seconds);
    }
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => StatusCode::REQUEST_TIMEOUT.into_response(),
    }
}

/// The single-token burn: the one route allowed to outlast the request timeout.
const BURN_PATH: &str = "/burn";

/// Removes expired sessions (wiping their seeds) once a minute, for as long as the
/// runtime lives.
pub fn spawn_sweeper(state: AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(60));
        loop {
            tick.tick().await;
            let removed = state.sessions.sweep(state.now());
            if removed > 0 {
                tracing::debug!(removed, "expired sessions removed");
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::Request;
    use tower::ServiceExt;

    use super::*;

    #[tokio::test]
    async fn a_panicking_handler_answers_500_without_its_message() {
        let app = Router::new()
            .route(
                "/",
                get(|| async {
                    let pasted = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ".to_string();
                    panic!("end byte index 10 is not a char boundary of `{pasted}`");
                    #[allow(unreachable_code)]
                    ""
                }),
            )
            .layer(CatchPanicLayer::custom(panic_page));
        let response = app
            .oneshot(Request::get("/").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body = http_body_util::BodyExt::collect(response.into_body())
            .await
            .unwrap()
            .to_bytes();
        let text = String::from_utf8_lossy(&body);
        assert!(text.contains("Server error"), "{text}");
        assert!(!text.contains("GEZDGNBV"), "{text}");
    }
}
