//! The seed page: the current token (base32, hex, size, QR code of its otpauth URI), its
//! label, a new random seed, and importing an existing one.
//!
//! Seeds arrive only in POST bodies and leave only in this page's body; a seed that was
//! never added to the CSV list is not replaced without the user's confirmation.

use askama::Template;
use askama_web::WebTemplate;
use axum::Extension;
use axum::Form;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use qrcode::render::svg;
use qrcode::{EcLevel, QrCode};
use serde::Deserialize;
use zeroize::Zeroizing;

use super::burn::{self, BurnPanel};
use super::{Layout, layout};
use crate::otp::SecretText;
use crate::otp::{
    Algorithm, GENERATE_SIZES, OtpAuth, Params, SeedFormat, check_label_part, parse_digits,
    parse_period, parse_seed_input,
};
use crate::web::form::Errors;
use crate::web::session::{CurrentToken, Session, SessionCtx};
use crate::web::{AppError, AppState};

/// The generate form as typed (strings, so a bad value can be shown back as it was).
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct GenerateForm {
    size: String,
    algorithm: String,
    digits: String,
    period: String,
    confirm_replace: String,
}

/// The import form. The pasted seed is wiped when the form is dropped.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ImportForm {
    seed: SecretText,
    format: String,
    algorithm: String,
    digits: String,
    period: String,
    confirm_replace: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct LabelForm {
    issuer: String,
    account: String,
}

pub struct GenView {
    size: String,
    algorithm: String,
    digits: String,
    period: String,
    confirm: bool,
}

pub struct ImportView {
    seed: Zeroizing<String>,
    format: String,
    algorithm: String,
    digits: String,
    period: String,
    confirm: bool,
}

pub struct LabelView {
    issuer: String,
    account: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "seed.html")]
pub struct SeedPage {
    layout: Layout,
    base32: Zeroizing<String>,
    base32_grouped: Zeroizing<String>,
    hex: Zeroizing<String>,
    bits: usize,
    weak: bool,
    uri: Zeroizing<String>,
    qr_svg: Zeroizing<String>,
    algorithm: &'static str,
    digits: u8,
    period: u32,
    params_default: bool,
    in_list: bool,
    generate: GenView,
    gen_errors: Errors,
    import: ImportView,
    import_errors: Errors,
    label: LabelView,
    label_errors: Errors,
    pub(crate) burn: BurnPanel,
}

/// The QR code of a URI as an inline `<svg>` element (no XML declaration, no style
/// attributes: the CSP forbids inline styles). It encodes the seed, so it is wiped on drop.
pub fn qr_svg(uri: &str) -> Result<Zeroizing<String>, AppError> {
    let code = QrCode::with_error_correction_level(uri.as_bytes(), EcLevel::M)
        .map_err(|e| AppError::Internal(format!("QR code: {e}")))?;
    let image = Zeroizing::new(
        code.render::<svg::Color<'_>>()
            .quiet_zone(true)
            .module_dimensions(4, 4)
            .build(),
    );
    let start = image.find("<svg").unwrap_or(0);
    let body = image[start..].replacen(
        "<svg ",
        "<svg role=\"img\" aria-label=\"QR code of the otpauth URI\" ",
        1,
    );
    Ok(Zeroizing::new(body))
}

pub(crate) fn page(
    state: &AppState,
    session: &mut Session,
    ctx: SessionCtx,
) -> Result<SeedPage, AppError> {
    let current = &session.current;
    let uri = current.otpauth().to_uri();
    let qr = qr_svg(&uri)?;
    let params = current.params;
    let period = params.period().to_string();
    Ok(SeedPage {
        base32: current.secret.to_base32(),
        base32_grouped: current.secret.to_base32_grouped(),
        hex: current.secret.to_hex(),
        bits: current.secret.bits(),
        weak: current.secret.is_weak(),
        uri,
        qr_svg: qr,
        algorithm: params.algorithm().display_name(),
        digits: params.digits(),
        period: params.period(),
        params_default: params.is_default(),
        in_list: session.current_in_list(),
        generate: GenView {
            size: crate::otp::DEFAULT_GENERATE_BYTES.to_string(),
            algorithm: params.algorithm().cli_name().to_string(),
            digits: params.digits().to_string(),
            period: period.clone(),
            confirm: false,
        },
        gen_errors: Errors::default(),
        import: ImportView {
            seed: Zeroizing::new(String::new()),
            format: "auto".into(),
            algorithm: "sha1".into(),
            digits: "6".into(),
            period: "30".into(),
            confirm: false,
        },
        import_errors: Errors::default(),
        label: LabelView {
            issuer: current.issuer.clone(),
            account: current.account.clone(),
        },
        label_errors: Errors::default(),
        burn: BurnPanel {
            outcome: session.last_burn.clone(),
            ..burn::panel_offline(state, params)
        },
        layout: layout("seed", session, ctx),
    })
}

pub async fn view_seed_get(
    State(state): State<AppState>,
    Extension(ctx): Extension<SessionCtx>,
) -> Result<Response, AppError> {
    // The agent is asked outside the session lock: it may take a moment to answer.
    let params = state.sessions.with(ctx.id, |s| s.current.params)?;
    let live = burn::panel(&state, params).await;
    let page = state.sessions.with(ctx.id, |s| {
        page(&state, s, ctx).map(|mut p| {
            p.burn = BurnPanel {
                outcome: p.burn.outcome.take(),
                ..live
            };
            p
        })
    })??;
    Ok(page.into_response())
}

/// Algorithm, digits and period as typed, each error against its own field.
fn parse_params(
    algorithm: &str,
    digits: &str,
    period: &str,
    errors: &mut Errors,
) -> Option<Params> {
    let algorithm = algorithm
        .parse::<Algorithm>()
        .map_err(|e| errors.push("algorithm", e.to_string()))
        .ok();
    let digits = parse_digits(digits)
        .map_err(|e| errors.push("digits", e.to_string()))
        .ok();
    let period = parse_period(period)
        .map_err(|e| errors.push("period", e.to_string()))
        .ok();
    Params::new(algorithm?, digits?, period?)
        .map_err(|e| errors.push("period", e.to_string()))
        .ok()
}

const REPLACE_WARNING: &str = "The current seed is not in the CSV list: replacing it loses it for good (a token already burned with it could no longer be registered). Tick the box to replace it anyway, or add it to the CSV first.";

/// 409 when only the replace confirmation is missing, 422 for bad input.
fn error_status(errors: &Errors) -> StatusCode {
    if errors.get("confirm_replace").is_some()
        && ["size", "algorithm", "digits", "period", "seed", "format"]
            .iter()
            .all(|f| !errors.has(f))
    {
        StatusCode::CONFLICT
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    }
}

pub async fn view_seed_post(
    State(state): State<AppState>,
    Extension(ctx): Extension<SessionCtx>,
    Form(form): Form<GenerateForm>,
) -> Result<Response, AppError> {
    let mut errors = Errors::default();
    let size = form
        .size
        .trim()
        .parse::<usize>()
        .ok()
        .filter(|n| GENERATE_SIZES.contains(n));
    if size.is_none() {
        errors.push("size", "Size: choose 10, 20, 32 or 64 bytes");
    }
    let params = parse_params(&form.algorithm, &form.digits, &form.period, &mut errors);
    let confirmed = form.confirm_replace == "yes";

    state.sessions.with(ctx.id, |session| {
        if !confirmed && !session.current_in_list() {
            errors.push("confirm_replace", REPLACE_WARNING);
        }
        if let (true, Some(size), Some(params)) = (errors.is_empty(), size, params) {
            let mut token = CurrentToken::generate(size, params)
                .map_err(|e| AppError::Internal(e.to_string()))?;
            token.issuer = std::mem::take(&mut session.current.issuer);
            token.account = std::mem::take(&mut session.current.account);
            session.current = token;
            session.flash = Some(format!(
                "New {}-bit seed generated from the operating system's random source.",
                size * 8
            ));
            return Ok(Redirect::to("/").into_response());
        }
        let status = error_status(&errors);
        let mut p = page(&state, session, ctx)?;
        p.generate = GenView {
            size: form.size.clone(),
            algorithm: form.algorithm.clone(),
            digits: form.digits.clone(),
            period: form.period.clone(),
            confirm: confirmed,
        };
        p.gen_errors = errors;
        Ok((status, p).into_response())
    })?
}

pub async fn view_seed_import_post(
    State(state): State<AppState>,
    Extension(ctx): Extension<SessionCtx>,
    Form(form): Form<ImportForm>,
) -> Result<Response, AppError> {
    let mut errors = Errors::default();
    let format = match form.format.trim() {
        "" | "auto" => Some(SeedFormat::Auto),
        "base32" => Some(SeedFormat::Base32),
        "hex" => Some(SeedFormat::Hex),
        _ => {
            errors.push("format", "Read it as: choose detect, base32 or hex");
            None
        }
    };
    let parsed = format.and_then(|format| {
        parse_seed_input(form.seed.as_str(), format)
            .map_err(|e| errors.push("seed", format!("Seed: {e}")))
            .ok()
    });
    // A URI states its own parameters and label; the fields are for bare seeds.
    let token = match parsed {
        Some(p) => match p.uri {
            Some(uri) => Some(CurrentToken {
                secret: uri.secret,
                params: uri.params,
                issuer: uri.issuer,
                account: uri.account,
            }),
            None => parse_params(&form.algorithm, &form.digits, &form.period, &mut errors).map(
                |params| CurrentToken {
                    secret: p.secret,
                    params,
                    issuer: String::new(),
                    account: String::new(),
                },
            ),
        },
        None => None,
    };
    let confirmed = form.confirm_replace == "yes";

    state.sessions.with(ctx.id, |session| {
        if !confirmed && !session.current_in_list() {
            errors.push("confirm_replace", REPLACE_WARNING);
        }
        if let (true, Some(mut token)) = (errors.is_empty(), token) {
            if token.issuer.is_empty() && token.account.is_empty() {
                token.issuer = std::mem::take(&mut session.current.issuer);
                token.account = std::mem::take(&mut session.current.account);
            }
            let bits = token.secret.bits();
            session.current = token;
            session.flash = Some(format!("Imported a {bits}-bit seed as the current token."));
            return Ok(Redirect::to("/").into_response());
        }
        let status = error_status(&errors);
        let mut p = page(&state, session, ctx)?;
        p.import = ImportView {
            seed: Zeroizing::new(form.seed.as_str().to_string()),
            format: form.format.clone(),
            algorithm: form.algorithm.clone(),
            digits: form.digits.clone(),
            period: form.period.clone(),
            confirm: confirmed,
        };
        p.import_errors = errors;
        Ok((status, p).into_response())
    })?
}

pub async fn view_seed_label_post(
    State(state): State<AppState>,
    Extension(ctx): Extension<SessionCtx>,
    Form(form): Form<LabelForm>,
) -> Result<Response, AppError> {
    let mut errors = Errors::default();
    // The same rule as an imported otpauth URI's label, written once in `otp`.
    for (field, name, value) in [
        ("issuer", "Issuer", &form.issuer),
        ("account", "Account", &form.account),
    ] {
        if let Err(e) = check_label_part(field, value) {
            let said = e.to_string();
            let said = said.strip_prefix(field).unwrap_or(&said).trim_start();
            errors.push(field, format!("{name}: {said}"));
        }
    }
    state.sessions.with(ctx.id, |session| {
        if errors.is_empty() {
            let checked = OtpAuth::new(
                session.current.secret.clone(),
                session.current.params,
                &form.issuer,
                &form.account,
            );
            match checked {
                Ok(label) => {
                    session.current.issuer = label.issuer;
                    session.current.account = label.account;
                    session.flash = Some("Label saved; the QR code now carries it.".into());
                    return Ok(Redirect::to("/").into_response());
                }
                Err(e) => errors.push("issuer", format!("Label: {e}")),
            }
        }
        let mut p = page(&state, session, ctx)?;
        p.label = LabelView {
            issuer: form.issuer.clone(),
            account: form.account.clone(),
        };
        p.label_errors = errors;
        Ok((StatusCode::UNPROCESSABLE_ENTITY, p).into_response())
    })?
}
