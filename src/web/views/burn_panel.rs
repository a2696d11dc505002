//! The seed page's "Burn to token" panel as data: the NFC agent's status, whether the
//! current token can be burned at all, and the last burn or the last failure.
//!
//! It only asks the agent for its status; burning is the burn page's. Nothing here may
//! log the seed or put it in a URL.

use std::time::Duration;

use crate::agent::api::StatusResponse;
use crate::nfc::{ConfigError, TokenConfig};
use crate::otp::{Params, clip};
use crate::web::AppState;
use crate::web::session::BurnResult;

/// How long the panel waits for the agent's status before rendering without it.
const STATUS_TIMEOUT: Duration = Duration::from_secs(3);

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
    pub outcome: Option<BurnResult>,
    pub display_timeout: String,
    pub force: bool,
    pub wait_seconds: u64,
}

/// Why these parameters cannot go on a Token2 programmable token, if they cannot.
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
        (Some(r), _) => format!("reader \"{}\"", clip(r)),
        (None, 0) => "no reader".to_string(),
        (None, 1) => format!("reader \"{}\"", clip(&s.readers[0].name)),
        (None, n) => format!("{n} readers"),
    };
    let card = match &s.token {
        Some(t) => format!(
            "token {} ({}) on the reader",
            clip(&t.serial),
            clip(t.model.as_deref().unwrap_or("unknown model"))
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
    let mut panel = panel_offline(state, params);
    let Some(agent) = &state.config.agent else {
        return panel;
    };
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
