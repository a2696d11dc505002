//! The seed page's "Burn to token" panel: the NFC agent's status, the burn form, and the
//! outcome (model, serial, the codes to compare after a power cycle) or the one message
//! that explains what went wrong.
//!
//! The server never touches a reader itself: it asks the agent (`--agent-url`) over HTTP on
//! loopback, sending the current token's seed in the request body only. Nothing here may
//! log the seed or put it in a URL.

use std::time::Duration;

use axum::Extension;
use axum::Form;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use crate::agent::api::{BurnRequest, ErrorKind, StatusResponse};
use crate::agent::client::AgentClientError;
use crate::nfc::{ConfigError, DisplayTimeout, TokenConfig};
use crate::otp::Params;
use crate::web::session::{Session, SessionCtx};
use crate::web::{AppError, AppState};

/// How long the panel waits for the agent's status before rendering without it.
const STATUS_TIMEOUT: Duration = Duration::from_secs(3);
/// How long a burn waits for a token to be held on the reader, unless configured.
pub const BURN_WAIT_SECONDS: u64 = 30;

/// What a successful burn left behind, shown on the seed page and used to fill the CSV form.
#[derive(Clone, Debug)]
pub struct BurnOutcome {
    pub serial: String,
    pub model: Option<String>,
    pub algorithm: String,
    pub period: u32,
    pub previous: String,
    pub current: String,
    pub next: String,
    pub clock_utc: String,
    /// Seconds the token's clock was off before the burn set it.
    pub old_offset_seconds: i64,
}

/// The panel's data.
#[derive(Clone, Debug, Default)]
pub struct BurnPanel {
    /// False when the server was started without `--agent-url`.
    pub configured: bool,
    pub agent_url: String,
    /// One line on the agent and its reader, when it answered.
    pub status: Option<String>,
    /// The agent's own word for why it cannot burn now (no reader, a FIDO key on it...).
    pub problem: Option<String>,
    /// Why the current token cannot be burned at all (SHA-512, 8 digits, odd period).
    pub unburnable: Option<String>,
    pub error: Option<String>,
    pub error_kind: String,
    pub outcome: Option<BurnOutcome>,
    pub display_timeout: String,
    pub force: bool,
    pub wait_seconds: u64,
}

/// Why these parameters cannot go on a Token2 programmable token, if they cannot: every
/// refusal of nfc's rule, in a person's words.
pub fn unburnable_reason(params: Params) -> Option<String> {
    let why: Vec<String> =
        TokenConfig::refusals(params.algorithm(), params.digits(), params.period())
            .iter()
            .map(|refusal| match refusal {
                ConfigError::Sha512 => "SHA-512".to_string(),
                ConfigError::Digits(d) => format!("{d} digits"),
                ConfigError::Period(_) => "a period other than 30 or 60 seconds".to_string(),
                ConfigError::DisplayTimeout(_) | ConfigError::Clock(_) => refusal.to_string(),
            })
            .collect();
    (!why.is_empty()).then(|| {
        format!(
            "This token uses {}: Token2 programmable tokens can only do SHA-1 or SHA-256, 6 digits, 30 or 60 seconds. Generate or import a seed with those settings to burn it.",
            why.join(" and ")
        )
    })
}

fn describe_status(s: &StatusResponse) -> (String, Option<String>) {
    let reader = match (&s.reader, s.readers.len()) {
        (Some(r), _) => format!("reader \"{r}\""),
        (None, 0) => "no reader".to_string(),
        (None, 1) => format!("reader \"{}\"", s.readers[0].name),
        (None, n) => format!("{n} readers"),
    };
    let card = match &s.token {
        Some(t) => format!(
            "token {} ({}) on the reader",
            t.serial,
            t.model.as_deref().unwrap_or("unknown model")
        ),
        None if s.card_present => "a card is on the reader".to_string(),
        None => "no token on the reader yet".to_string(),
    };
    let mode = if s.mode == "simulated" {
        " (simulated token)"
    } else {
        ""
    };
    (
        format!("Agent ready{mode}: {reader}, {card}."),
        s.problem.as_ref().map(|p| p.message.clone()),
    )
}

/// The panel for a page render: asks the agent for its status (briefly) when one is set.
pub async fn panel(state: &AppState, params: Params) -> BurnPanel {
    let mut panel = BurnPanel {
        unburnable: unburnable_reason(params),
        display_timeout: "30".into(),
        wait_seconds: state.config.burn_wait_seconds,
        ..BurnPanel::default()
    };
    let Some(agent) = &state.config.agent else {
        return panel;
    };
    panel.configured = true;
    panel.agent_url = agent.url().to_string();
    match tokio::time::timeout(STATUS_TIMEOUT, agent.status()).await {
        Ok(Ok(status)) => {
            let (line, problem) = describe_status(&status);
            panel.status = Some(line);
            panel.problem = problem;
        }
        Ok(Err(e)) => panel.problem = Some(e.to_string()),
        Err(_) => {
            panel.problem = Some("the NFC agent did not answer its status in time".into());
        }
    }
    panel
}

/// The panel without asking the agent (for re-rendering a form error quickly).
pub fn panel_offline(state: &AppState, params: Params) -> BurnPanel {
    BurnPanel {
        configured: state.config.agent.is_some(),
        agent_url: state
            .config
            .agent
            .as_ref()
            .map(|a| a.url().to_string())
            .unwrap_or_default(),
        unburnable: unburnable_reason(params),
        display_timeout: "30".into(),
        wait_seconds: state.config.burn_wait_seconds,
        ..BurnPanel::default()
    }
}

/// The burn form.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct BurnForm {
    display_timeout: String,
    force: String,
}

/// The status code for a failed burn: whose fault, in HTTP's words.
fn error_status(e: &AgentClientError) -> StatusCode {
    let kind = match e {
        AgentClientError::NotRunning { .. } => return StatusCode::SERVICE_UNAVAILABLE,
        AgentClientError::Timeout => return StatusCode::GATEWAY_TIMEOUT,
        AgentClientError::BadUrl(_)
        | AgentClientError::Unauthorized
        | AgentClientError::Protocol(_) => return StatusCode::BAD_GATEWAY,
        AgentClientError::Agent { kind, .. } => *kind,
    };
    match kind {
        ErrorKind::NoReader
        | ErrorKind::ReaderNotFound
        | ErrorKind::PcscUnavailable
        | ErrorKind::PcscServiceUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorKind::NoCard | ErrorKind::NoCardInTime => StatusCode::GATEWAY_TIMEOUT,
        ErrorKind::FidoKey
        | ErrorKind::OathApplet
        | ErrorKind::NotToken2
        | ErrorKind::UnknownModel
        | ErrorKind::SeedLossUnconfirmed => StatusCode::CONFLICT,
        ErrorKind::BadRequest
        | ErrorKind::BadSeed
        | ErrorKind::BadConfig
        | ErrorKind::ConfirmationRequired => StatusCode::UNPROCESSABLE_ENTITY,
        ErrorKind::Unauthorized
        | ErrorKind::OriginRefused
        | ErrorKind::HostRefused
        | ErrorKind::NotFound
        | ErrorKind::BodyTooLarge
        | ErrorKind::Internal
        | ErrorKind::ReaderError
        | ErrorKind::CardRemoved
        | ErrorKind::CardLiftedMidWrite
        | ErrorKind::WrongKey
        | ErrorKind::TokenStatus
        | ErrorKind::BadReply => StatusCode::BAD_GATEWAY,
    }
}

/// What the user should do about a failure, after the agent's own sentence.
fn advice(e: &AgentClientError) -> &'static str {
    if let AgentClientError::NotRunning { .. } = e {
        return " Start it on this machine with `totp-toolset agent --token-file FILE` and the same token file as the server.";
    }
    match e.agent_kind() {
        Some(
            ErrorKind::NoReader
            | ErrorKind::ReaderNotFound
            | ErrorKind::PcscUnavailable
            | ErrorKind::PcscServiceUnavailable,
        ) => " Plug in a USB NFC reader (and check that pcscd is running), then try again.",
        Some(ErrorKind::NoCard | ErrorKind::NoCardInTime) => {
            " Press the token's button so it shows a code, hold it flat on the reader, then burn again."
        }
        Some(ErrorKind::FidoKey | ErrorKind::OathApplet) => {
            " Take it away and hold the Token2 programmable token on the reader instead."
        }
        Some(ErrorKind::CardLiftedMidWrite | ErrorKind::CardRemoved) => {
            " Keep the token still on the reader until the result appears, and burn it again."
        }
        Some(ErrorKind::UnknownModel) => {
            " If you are sure it is a Token2 programmable token, tick \"write to an unknown model\" and burn again."
        }
        Some(ErrorKind::WrongKey) => {
            " The token refused our key: it may not be a Token2 programmable token of this generation."
        }
        _ => "",
    }
}

pub async fn view_burn_post(
    State(state): State<AppState>,
    Extension(ctx): Extension<SessionCtx>,
    Form(form): Form<BurnForm>,
) -> Result<Response, AppError> {
    let display_timeout = form.display_timeout.parse::<DisplayTimeout>().ok();
    let force = form.force == "yes";
    // Copy what the burn needs and let go of the session before waiting on the agent.
    let (secret, params) = state
        .sessions
        .with(ctx.id, |s| (s.current.secret.clone(), s.current.params))?;

    let failure =
        |panel_error: String, kind: &str, status: StatusCode| -> Result<Response, AppError> {
            state.sessions.with(ctx.id, |session| {
                let mut panel = panel_offline(&state, params);
                panel.error = Some(panel_error);
                panel.error_kind = kind.to_string();
                panel.force = force;
                panel.display_timeout = form.display_timeout.clone();
                render(&state, session, ctx, panel, status)
            })?
        };

    let Some(display_timeout) = display_timeout else {
        return failure(
            format!("Display timeout: choose {}.", DisplayTimeout::CHOICES),
            "bad_display_timeout",
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    };
    if let Some(why) = unburnable_reason(params) {
        return failure(why, "unburnable", StatusCode::CONFLICT);
    }
    let Some(agent) = state.config.agent.clone() else {
        return failure(
            "No NFC agent is configured: start `totp-toolset agent --token-file FILE` on this machine, then start the server with `--agent-url http://127.0.0.1:PORT --agent-token-file FILE`.".into(),
            "agent_not_configured",
            StatusCode::SERVICE_UNAVAILABLE,
        );
    };

    let mut request = BurnRequest::new(&secret);
    drop(secret);
    request.algorithm = Some(params.algorithm().uri_name().to_string());
    request.period = Some(params.period());
    request.display_timeout = Some(display_timeout.seconds());
    request.force = force;
    request.wait_seconds = Some(state.config.burn_wait_seconds);
    let result = agent.burn(&request).await;
    drop(request);

    match result {
        Ok(done) => {
            let outcome = BurnOutcome {
                serial: done.token.serial.clone(),
                model: done.token.model.clone(),
                algorithm: done.algorithm.clone(),
                period: done.period,
                previous: done.codes.previous.clone(),
                current: done.codes.current.clone(),
                next: done.codes.next.clone(),
                clock_utc: crate::otp::utc_datetime(done.clock_set),
                old_offset_seconds: done.token.offset_seconds,
            };
            tracing::info!(serial = %outcome.serial, "token burned");
            state.sessions.with(ctx.id, |session| {
                session.pending_serial = Some(outcome.serial.clone());
                session.flash = Some(format!(
                    "Burned token {}. Power-cycle it and compare its code with the ones below.",
                    outcome.serial
                ));
                session.last_burn = Some(outcome);
            })?;
            Ok(Redirect::to("/#burn").into_response())
        }
        Err(e) => {
            tracing::info!(kind = e.kind(), "burn failed");
            let said = e.to_string();
            let stop = if said.ends_with(['.', '?', '!']) {
                ""
            } else {
                "."
            };
            let message = format!("{said}{stop}{}", advice(&e));
            failure(message, e.kind(), error_status(&e))
        }
    }
}

/// The seed page with this panel, at `status`.
fn render(
    state: &AppState,
    session: &mut Session,
    ctx: SessionCtx,
    mut panel: BurnPanel,
    status: StatusCode,
) -> Result<Response, AppError> {
    panel.outcome = session.last_burn.clone();
    let mut page = super::seed::page(state, session, ctx)?;
    page.burn = panel;
    Ok((status, page).into_response())
}
