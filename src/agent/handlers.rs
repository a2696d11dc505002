//! The agent's handlers, one per endpoint: parse the body, check what can be checked
//! without a card, then run the card work on the blocking pool, one operation at a time.
//!
//! A request body is wiped once parsed (the burn body carries the seed); no message
//! repeats it.

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use zeroize::Zeroize;

use super::api::{
    BurnRequest, BurnResponse, CompareCodes, DEFAULT_WAIT_SECONDS, ErrorKind, IdentifyRequest,
    IdentifyResponse, MAX_WAIT_SECONDS, TimeSyncRequest, TimeSyncResponse, TokenView,
};
use super::error::AgentError;
use super::server::{AgentState, MAX_BODY_BYTES};
use crate::nfc::{self, DisplayTimeout, NfcError, TokenSettings, protocol, reader};
use crate::otp::{Algorithm, Secret};

/// The most characters of a field a message repeats.
pub async fn not_found() -> AgentError {
    AgentError::new(ErrorKind::NotFound, "no such endpoint")
}

/// Parses a JSON body (empty means `empty()`, when that gives one), then wipes the raw
/// bytes if nothing else holds them, since a burn body carries the seed.
fn parse_body<T: DeserializeOwned>(
    body: Bytes,
    empty: impl FnOnce() -> Option<T>,
) -> Result<T, AgentError> {
    let parsed = if body.iter().all(u8::is_ascii_whitespace) {
        empty().ok_or_else(|| AgentError::bad_request("the request needs a JSON body"))
    } else {
        serde_json::from_slice(&body).map_err(|e| {
            AgentError::bad_request(format!("the JSON body is not valid: {}", redact_serde(&e)))
        })
    };
    if let Ok(mut owned) = body.try_into_mut() {
        owned.as_mut().zeroize();
    }
    parsed
}

/// serde_json's messages can quote input; keep only the category and position.
fn redact_serde(e: &serde_json::Error) -> String {
    use serde_json::error::Category;
    let what = match e.classify() {
        Category::Syntax => "syntax error",
        Category::Data => "a field is missing or has the wrong type",
        Category::Eof => "it ends too early",
        Category::Io => "it could not be read",
    };
    format!("{what} at line {} column {}", e.line(), e.column())
}

fn body_or_error(body: Result<Bytes, BytesRejection>) -> Result<Bytes, AgentError> {
    body.map_err(|r| {
        if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
            AgentError::new(
                ErrorKind::BodyTooLarge,
                format!("request bodies are limited to {MAX_BODY_BYTES} bytes"),
            )
        } else {
            AgentError::bad_request("the request body could not be read")
        }
    })
}

fn wait(seconds: Option<u64>) -> Duration {
    Duration::from_secs(
        seconds
            .unwrap_or(DEFAULT_WAIT_SECONDS)
            .min(MAX_WAIT_SECONDS),
    )
}

/// The settings a request asks for, each missing one at its default. The token's own
/// rules (period, display timeout) are `nfc`'s, so their failures are `bad_config`.
fn settings(
    algorithm: Option<&str>,
    period: Option<u32>,
    display_timeout: Option<u32>,
) -> Result<TokenSettings, AgentError> {
    // The parser's refusal repeats at most 64 characters of what was sent (`otp::clip`).
    let algorithm = match algorithm {
        None => Algorithm::Sha1,
        Some(a) => a
            .parse::<Algorithm>()
            .map_err(|e| AgentError::bad_request(e.to_string()))?,
    };
    let defaults = TokenSettings::default();
    Ok(TokenSettings {
        algorithm,
        period: period.unwrap_or(defaults.period),
        display_timeout: match display_timeout {
            None => defaults.display_timeout,
            Some(s) => DisplayTimeout::try_from(s)?,
        },
    })
}

/// Runs blocking card work on the blocking pool, one operation at a time.
async fn card_work<T: Send + 'static>(
    state: &Arc<AgentState>,
    work: impl FnOnce(&AgentState) -> Result<T, NfcError> + Send + 'static,
) -> Result<T, AgentError> {
    let _turn = state.card_lock.lock().await;
    let st = state.clone();
    tokio::task::spawn_blocking(move || work(&st))
        .await
        .map_err(|_| {
            AgentError::new(
                ErrorKind::Internal,
                "the card operation failed unexpectedly",
            )
        })?
        .map_err(AgentError::from)
}

pub async fn status(State(state): State<Arc<AgentState>>) -> Result<Response, AgentError> {
    let now = state.now();
    let status = card_work(&state, move |st| Ok(st.device.status(now))).await?;
    Ok(Json(status).into_response())
}

pub async fn identify(
    State(state): State<Arc<AgentState>>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<IdentifyResponse>, AgentError> {
    let req: IdentifyRequest =
        parse_body(body_or_error(body)?, || Some(IdentifyRequest::default()))?;
    let wait = wait(req.wait_seconds);
    let id = card_work(&state, move |st| st.device.with_card(wait, nfc::identify)).await?;
    Ok(Json(IdentifyResponse {
        token: TokenView::new(&id, state.now()),
    }))
}

pub async fn burn(
    State(state): State<Arc<AgentState>>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<BurnResponse>, AgentError> {
    let req: BurnRequest = parse_body(body_or_error(body)?, || None)?;
    let secret = Secret::parse_base32(req.secret.as_str())
        .map_err(|e| AgentError::new(ErrorKind::BadSeed, format!("secret: {e}")))?;
    drop(req.secret);
    let settings = settings(req.algorithm.as_deref(), req.period, req.display_timeout)?;
    let (wait, force) = (wait(req.wait_seconds), req.force);
    let mut not_serials = req.not_serials;
    not_serials.extend(req.not_serial);
    let new_card_only = req.wait_for_new_card;
    let secret = Arc::new(secret);
    let for_card = secret.clone();
    let report = card_work(&state, move |st| {
        let seen = if new_card_only {
            st.seen_taps
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone()
        } else {
            Vec::new()
        };
        let (tap, done) = st.device.with_new_card(wait, &seen, |card| {
            // What this burn cost on the card, from the card connected to the result: the
            // log line the e2e script reports (APDUs per burn, ms per token).
            let started = std::time::Instant::now();
            let mut counted = Counted { card, apdus: 0 };
            let done = burn_card(
                &mut counted,
                &not_serials,
                &for_card,
                settings,
                st.now(),
                force,
            );
            tracing::info!(
                apdus = counted.apdus,
                ms = started.elapsed().as_secs_f64() * 1000.0,
                ok = done.is_ok(),
                "card work of a burn"
            );
            done
        })?;
        if let Some(tap) = tap {
            reader::remember(
                &mut st.seen_taps.lock().unwrap_or_else(|p| p.into_inner()),
                tap,
            );
        }
        done
    })
    .await?;
    let clock_set = u64::from(report.config.clock);
    tracing::info!(serial = %report.token.info.serial, "burned a token");
    Ok(Json(BurnResponse {
        token: TokenView::new(&report.token, state.now()),
        algorithm: settings.algorithm.uri_name().to_string(),
        digits: protocol::DIGITS,
        period: settings.period,
        display_timeout: settings.display_timeout.seconds(),
        seed_bytes: report.seed_bytes,
        clock_set,
        codes: CompareCodes::new(&secret, settings.algorithm, settings.period, clock_set),
    }))
}

/// A card that counts the APDUs sent through it.
struct Counted<'a> {
    card: &'a mut dyn nfc::Card,
    apdus: usize,
}

impl nfc::Card for Counted<'_> {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, nfc::CardError> {
        self.apdus += 1;
        self.card.transmit(apdu)
    }
}

/// One burn on the card: identify, refuse a serial of `not_serials`, write.
fn burn_card(
    card: &mut dyn nfc::Card,
    not_serials: &[String],
    secret: &Secret,
    settings: TokenSettings,
    now: u64,
    force: bool,
) -> Result<nfc::BurnReport, NfcError> {
    let token = nfc::identify(card)?;
    if not_serials.contains(&token.info.serial) {
        return Err(NfcError::SameToken {
            serial: token.info.serial,
        });
    }
    nfc::burn_identified(card, token, secret, settings, now, force)
}

pub async fn time_sync(
    State(state): State<Arc<AgentState>>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<TimeSyncResponse>, AgentError> {
    let req: TimeSyncRequest = parse_body(body_or_error(body)?, || None)?;
    if !req.confirm {
        return Err(AgentError::new(
            ErrorKind::ConfirmationRequired,
            "a time sync writes the token's config (and erases the seed on restricted models): send \"confirm\": true",
        ));
    }
    let settings = settings(req.algorithm.as_deref(), req.period, req.display_timeout)?;
    let (wait, force, confirm_seed_loss) =
        (wait(req.wait_seconds), req.force, req.confirm_seed_loss);
    let report = card_work(&state, move |st| {
        st.device.with_card(wait, |card| {
            nfc::sync_time(card, settings, st.now(), confirm_seed_loss, force)
        })
    })
    .await?;
    Ok(Json(TimeSyncResponse {
        token: TokenView::new(&report.token, state.now()),
        clock_set: u64::from(report.config.clock),
        seed_erased: report.seed_erased,
        warning: report.seed_erased.then(|| {
            "this model erased its seed on the time sync: burn the seed again".to_string()
        }),
    }))
}

/// `?serial=...`: which token of a simulated stack to show.
#[derive(serde::Deserialize, Default)]
pub struct SimulatedQuery {
    serial: Option<String>,
}

pub async fn simulated_token(
    State(state): State<Arc<AgentState>>,
    query: Result<axum::extract::Query<SimulatedQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, AgentError> {
    let serial = query
        .map_err(|_| AgentError::bad_request("the query string could not be read"))?
        .0
        .serial;
    match state.device.simulated_token(state.now(), serial.as_deref()) {
        Some(view) => Ok(Json(view).into_response()),
        None if serial.is_some() && state.device.is_simulated() => Err(AgentError::new(
            ErrorKind::NotFound,
            "no simulated token has this serial",
        )),
        None => Err(AgentError::new(
            ErrorKind::NotFound,
            "only an agent started with --simulate has a simulated token",
        )),
    }
}
