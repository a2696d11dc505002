//! The burn form's handler: burns the current token through the NFC agent and answers
//! with the seed page showing the outcome (model, serial, the codes to compare after a
//! power cycle) or the one message that explains what went wrong. The panel itself is
//! built in `views::burn_panel`.
//!
//! The server never touches a reader itself: it asks the agent (`--agent-url`) over HTTP on
//! loopback, sending the current token's seed in the request body only. Nothing here may
//! log the seed or put it in a URL.

use crate::web::form::Form;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use crate::agent::api::{BurnRequest, ErrorKind};
use crate::agent::client::AgentClientError;
use crate::nfc::DisplayTimeout;
use crate::web::AppError;
use crate::web::extract::CurrentSession;
use crate::web::session::BurnResult;
use crate::web::views::burn_panel::{BurnPanel, panel_offline, unburnable_reason};
use crate::web::views::seed::seed_page;

/// How long a burn waits for a token to be held on the reader, unless configured.
pub const BURN_WAIT_SECONDS: u64 = 30;

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
        // Not a token we burn: the admin puts another one on the reader.
        ErrorKind::FidoKey | ErrorKind::OathApplet | ErrorKind::NotToken2 => StatusCode::CONFLICT,
        // The reader failed us, which waiting will not mend.
        ErrorKind::ReaderError => StatusCode::BAD_GATEWAY,
        _ => match kind.status() {
            // What the agent found wrong with the request is what the form had wrong.
            StatusCode::BAD_REQUEST => StatusCode::UNPROCESSABLE_ENTITY,
            s @ (StatusCode::CONFLICT
            | StatusCode::SERVICE_UNAVAILABLE
            | StatusCode::GATEWAY_TIMEOUT) => s,
            // The rest is the agent's failure (or the card's), seen from here as a gateway's.
            _ => StatusCode::BAD_GATEWAY,
        },
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
    session: CurrentSession,
    Form(form): Form<BurnForm>,
) -> Result<Response, AppError> {
    let state = &session.state;
    let display_timeout = form.display_timeout.parse::<DisplayTimeout>().ok();
    let force = form.force == "yes";
    // Copy what the burn needs and let go of the session before waiting on the agent.
    let (secret, params) = session.with(|s| (s.current().secret().clone(), s.current().params()));

    let failure =
        |panel_error: String, kind: &str, status: StatusCode| -> Result<Response, AppError> {
            let mut panel = panel_offline(state, params);
            panel.error = Some(panel_error);
            panel.error_kind = kind.to_string();
            panel.force = force;
            panel.display_timeout = form.display_timeout.clone();
            render(&session, panel, status)
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
            let burned = BurnResult {
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
            tracing::info!(serial = %burned.serial, "token burned");
            session.with(|s| {
                s.set_flash(format!(
                    "Burned token {}. Power-cycle it and compare its code with the ones below.",
                    crate::otp::clip(&burned.serial)
                ));
                s.record_burn(burned);
            });
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
    session: &CurrentSession,
    mut panel: BurnPanel,
    status: StatusCode,
) -> Result<Response, AppError> {
    let page = session.with(|s| {
        panel.outcome = s.last_burn().cloned();
        seed_page(&session.state, s, session.ctx)
    });
    let mut page = page?;
    page.burn = panel;
    Ok((status, page).into_response())
}
