//! The codes page: the current code with its countdown, the window of past and future
//! codes, the drift finder with Entra's verdict, and the HMAC behind the code; plus
//! `/api/otp`, the same live data as JSON for the page's script.
//!
//! Codes are computed at the server's clock from the session's seed; the seed itself never
//! appears here, and typed codes are compared in constant time by the engine.

use askama::Template;
use askama_web::WebTemplate;
use axum::Json;
use axum::extract::Query;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use crate::otp::{Drift, Generator, default_drift_steps, normalize_code, utc_datetime, utc_time};
use crate::tokens::entra_drift_verdict;
use crate::web::AppError;
use crate::web::extract::CurrentSession;
use crate::web::form::{Errors, Form};
use crate::web::session::{Session, SessionCtx};
use crate::web::views::{Layout, layout};

pub const DEFAULT_SKEW: u32 = 4;
pub const MAX_SKEW: u32 = 20;

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct OtpQuery {
    skew: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct DriftForm {
    code: String,
    next_code: String,
    skew: String,
}

pub struct WindowView {
    offset: String,
    offset_seconds: String,
    starts_at: String,
    code: String,
    current: bool,
}

/// The HMAC split around the four bytes dynamic truncation picked.
pub struct AnatomyView {
    counter: u64,
    counter_hex: String,
    hmac_before: String,
    hmac_marked: String,
    hmac_after: String,
    offset: usize,
    value: u32,
    modulus: String,
    code: String,
}

pub struct DriftView {
    found: bool,
    headline: String,
    verdict: String,
    offsets: Vec<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "otp.html")]
pub struct OtpPage {
    layout: Layout,
    code: String,
    next_code: String,
    seconds_remaining: u64,
    /// How much of the countdown ring is used up (0 to 100 along the circle), so the ring
    /// is right at page load even without JavaScript.
    ring_used: u64,
    period: u32,
    digits: u8,
    now_utc: String,
    skew: u32,
    skew_input: String,
    skew_errors: Errors,
    window: Vec<WindowView>,
    anatomy: AnatomyView,
    drift_code: String,
    drift_next_code: String,
    drift_errors: Errors,
    drift: Option<DriftView>,
}

fn signed(n: i64) -> String {
    if n == 0 { "0".into() } else { format!("{n:+}") }
}

fn group_bytes(hex: &str) -> String {
    hex.as_bytes()
        .chunks(2)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

fn page(session: &mut Session, ctx: SessionCtx, now: u64, skew: u32) -> OtpPage {
    let params = session.current().params();
    let generator = Generator::new(session.current().secret(), params);
    let window = generator
        .window(now, skew)
        .rows
        .into_iter()
        .map(|r| WindowView {
            offset: signed(r.offset),
            offset_seconds: signed(r.offset_seconds),
            starts_at: utc_datetime(r.starts_at),
            code: r.code,
            current: r.offset == 0,
        })
        .collect();
    let a = generator.anatomy(now);
    let start = a.truncation_offset * 2;
    let anatomy = AnatomyView {
        counter: a.counter,
        counter_hex: group_bytes(&a.counter_hex),
        hmac_before: group_bytes(&a.hmac_hex[..start]),
        hmac_marked: group_bytes(&a.hmac_hex[start..start + 8]),
        hmac_after: group_bytes(&a.hmac_hex[start + 8..]),
        offset: a.truncation_offset,
        value: a.truncated_value,
        modulus: format!("10^{}", params.digits()),
        code: a.code,
    };
    OtpPage {
        code: generator.code_at(now),
        next_code: generator.code_at(now + u64::from(params.period())),
        seconds_remaining: generator.seconds_remaining(now),
        ring_used: 100
            - (generator.seconds_remaining(now) * 100 / u64::from(params.period().max(1))).min(100),
        period: params.period(),
        digits: params.digits(),
        now_utc: utc_time(now),
        skew,
        skew_input: skew.to_string(),
        skew_errors: Errors::default(),
        window,
        anatomy,
        drift_code: String::new(),
        drift_next_code: String::new(),
        drift_errors: Errors::default(),
        drift: None,
        layout: layout("otp", session, ctx),
    }
}

/// The skew as typed; `Err` carries the message for the field.
fn parse_skew(input: Option<&str>) -> Result<u32, String> {
    match input.map(str::trim) {
        None | Some("") => Ok(DEFAULT_SKEW),
        Some(s) => match s.parse::<u32>() {
            Ok(n) if n <= MAX_SKEW => Ok(n),
            _ => Err(format!(
                "Steps either way: a whole number from 0 to {MAX_SKEW}, not '{}'",
                s.chars().take(10).collect::<String>()
            )),
        },
    }
}

pub async fn view_otp_get(session: CurrentSession, Query(query): Query<OtpQuery>) -> Response {
    let now = session.now();
    let parsed = parse_skew(query.skew.as_deref());
    let ctx = session.ctx;
    match parsed {
        Ok(skew) => session.with(|s| page(s, ctx, now, skew)).into_response(),
        Err(message) => {
            let mut p = session.with(|s| page(s, ctx, now, DEFAULT_SKEW));
            p.skew_input = query.skew.clone().unwrap_or_default();
            p.skew_errors.push("skew", message);
            (StatusCode::UNPROCESSABLE_ENTITY, p).into_response()
        }
    }
}

pub async fn view_otp_drift_post(session: CurrentSession, Form(form): Form<DriftForm>) -> Response {
    let now = session.now();
    let skew = parse_skew(Some(&form.skew)).unwrap_or(DEFAULT_SKEW);
    let ctx = session.ctx;
    let (mut p, secret, params) = session.with(|s| {
        (
            page(s, ctx, now, skew),
            s.current().secret().clone(),
            s.current().params(),
        )
    });
    let mut errors = Errors::default();
    let code = normalize_code("Code", &form.code, params.digits())
        .map_err(|e| errors.push("code", e.to_string()))
        .ok();
    let next = if form.next_code.trim().is_empty() {
        None
    } else {
        normalize_code("Next code", &form.next_code, params.digits())
            .map_err(|e| errors.push("next_code", e.to_string()))
            .ok()
    };
    p.drift_code = form.code.clone();
    p.drift_next_code = form.next_code.clone();
    let Some(code) = code.filter(|_| errors.is_empty()) else {
        p.drift_errors = errors;
        return (StatusCode::UNPROCESSABLE_ENTITY, p).into_response();
    };
    // Two days of steps either way: Entra's activation tolerance for 60 s tokens.
    let max_steps = 2 * default_drift_steps(params.period());
    let generator = Generator::new(&secret, params);
    p.drift = Some(
        match generator.find_drift(now, &code, next.as_deref(), max_steps) {
            Drift::Found(offset) => DriftView {
                found: true,
                headline: format!("{offset}: {}", offset.verdict()),
                verdict: entra_drift_verdict(offset.seconds, params.period())
                    .explain()
                    .to_string(),
                offsets: Vec::new(),
            },
            Drift::Ambiguous(offsets) => DriftView {
                found: false,
                headline: format!(
                    "Ambiguous: this code appears at {} offsets within ±{max_steps} steps. Type the code the token shows next as well to settle it.",
                    offsets.len()
                ),
                verdict: String::new(),
                offsets: offsets.iter().map(|o| o.to_string()).collect(),
            },
            Drift::NotFound {
                max_steps,
                max_seconds,
            } => DriftView {
                found: false,
                headline: format!(
                    "Not found within ±{max_steps} steps (±{max_seconds} s). Check that the token really holds this seed, with these parameters, and that the code was typed right."
                ),
                verdict: String::new(),
                offsets: Vec::new(),
            },
        },
    );
    p.into_response()
}

/// The live data for the page's script. Codes are strings: leading zeros matter.
#[derive(Serialize)]
pub struct OtpApi {
    now: u64,
    now_utc: String,
    period: u32,
    digits: u8,
    counter: u64,
    seconds_remaining: u64,
    code: String,
    next_code: String,
}

/// The live codes, for the session the page was shown in. A cookie that names no live
/// session is refused (410, or 503 when the store is full) with a JSON body the page's
/// script turns into "your session ended": never codes of a seed the user never saw.
pub async fn api_otp_get(session: Result<CurrentSession, AppError>) -> Response {
    let session = match session {
        Ok(session) => session,
        Err(e) => {
            let kind = match e {
                AppError::SessionGone => "session_ended",
                AppError::SessionsFull => "sessions_full",
                _ => "error",
            };
            let body = serde_json::json!({ "error": kind, "message": e.message() });
            return (e.status(), Json(body)).into_response();
        }
    };
    let now = session.now();
    let (secret, params) = session.with(|s| (s.current().secret().clone(), s.current().params()));
    let generator = Generator::new(&secret, params);
    Json(OtpApi {
        now,
        now_utc: utc_time(now),
        period: params.period(),
        digits: params.digits(),
        counter: generator.counter_at(now),
        seconds_remaining: generator.seconds_remaining(now),
        code: generator.code_at(now),
        next_code: generator.code_at(now + u64::from(params.period())),
    })
    .into_response()
}
