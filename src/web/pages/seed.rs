//! The seed page: the current token (base32, hex, size, QR code of its otpauth URI), its
//! label, a new random seed, and importing an existing one.
//!
//! Seeds arrive only in POST bodies and leave only in this page's body; a seed that was
//! never added to the batch is not replaced without the user's confirmation.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use zeroize::Zeroizing;

use crate::otp::SecretText;
use crate::otp::{
    Algorithm, GENERATE_SIZES, Params, SeedFormat, check_label_part, parse_digits, parse_period,
    parse_seed_input,
};
use crate::web::AppError;
use crate::web::extract::CurrentSession;
use crate::web::form::{Errors, Form, choice};
use crate::web::session::CurrentToken;
use crate::web::views::burn_panel::{self, BurnPanel};
use crate::web::views::seed::{GenView, ImportView, LabelView, ParamsView, SeedPage, seed_page};

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

pub async fn view_seed_get(session: CurrentSession) -> Result<Response, AppError> {
    // The agent is asked outside the session's lock: it may take a moment to answer.
    let params = session.with(|s| s.current().params());
    let live = burn_panel::panel(&session.state, params).await;
    let mut page = session.with(|s| seed_page(&session.state, s, session.ctx))?;
    page.burn = BurnPanel {
        outcome: page.burn.outcome.take(),
        ..live
    };
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

const REPLACE_WARNING: &str = "The current seed is not in the batch: replacing it loses it for good (a token already burned with it could no longer be registered). Tick the box to replace it anyway, or add it to the batch first.";

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

/// What a refused generate or import form shows again: the form as typed.
enum Typed {
    Generate(GenView),
    Import(ImportView),
}

impl Typed {
    fn confirmed(&self) -> bool {
        match self {
            Typed::Generate(v) => v.confirm,
            Typed::Import(v) => v.confirm,
        }
    }

    /// The new token under the label the user set, unless it brings its own (an imported
    /// otpauth URI does; a generated seed never does).
    fn prepare(&self, token: CurrentToken, current: &CurrentToken) -> CurrentToken {
        match self {
            Typed::Import(_) if !token.is_unlabelled() => token,
            _ => token.labelled_like(current),
        }
    }

    fn flash(&self, bits: usize) -> String {
        match self {
            Typed::Generate(_) => {
                format!("New {bits}-bit seed generated from the operating system's random source.")
            }
            Typed::Import(_) => format!("Imported a {bits}-bit seed as the current token."),
        }
    }

    fn show(self, p: &mut SeedPage, errors: Errors) {
        match self {
            Typed::Generate(v) => (p.generate, p.gen_errors) = (v, errors),
            Typed::Import(v) => (p.import, p.import_errors) = (v, errors),
        }
    }
}

/// The end of the generate and import forms: with nothing wrong (and the replacement
/// confirmed, unless the current seed is safe in the list) `token` replaces the current
/// one and the browser goes back to the seed page; otherwise the page is shown again with
/// the form as typed and its errors, at 409 or 422.
fn replace_or_refuse(
    session: &CurrentSession,
    token: Option<CurrentToken>,
    mut errors: Errors,
    typed: Typed,
) -> Result<Response, AppError> {
    let refused = session.with(|s| {
        if !typed.confirmed() && !s.current_in_list() {
            errors.push("confirm_replace", REPLACE_WARNING);
        }
        if let (true, Some(token)) = (errors.is_empty(), token) {
            let token = typed.prepare(token, s.current());
            let bits = token.secret().bits();
            s.replace_current(token);
            s.set_flash(typed.flash(bits));
            return Ok(None);
        }
        let mut p = seed_page(&session.state, s, session.ctx)?;
        let status = error_status(&errors);
        typed.show(&mut p, errors);
        Ok::<_, AppError>(Some((status, p)))
    })?;
    Ok(match refused {
        Some(page) => page.into_response(),
        None => Redirect::to("/").into_response(),
    })
}

pub async fn view_seed_post(
    session: CurrentSession,
    Form(form): Form<GenerateForm>,
) -> Result<Response, AppError> {
    let mut errors = Errors::default();
    let size = choice(&form.size, &GENERATE_SIZES);
    if size.is_none() {
        errors.push("size", "Size: choose 10, 20, 32 or 64 bytes");
    }
    let params = parse_params(&form.algorithm, &form.digits, &form.period, &mut errors);
    let token = match (size, params) {
        (Some(size), Some(params)) => Some(CurrentToken::generate(size, params)?),
        _ => None,
    };

    let typed = Typed::Generate(GenView {
        size: form.size.clone(),
        params: ParamsView::typed(&form.algorithm, &form.digits, &form.period),
        confirm: form.confirm_replace == "yes",
    });
    replace_or_refuse(&session, token, errors, typed)
}

pub async fn view_seed_import_post(
    session: CurrentSession,
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
            Some(uri) => Some(CurrentToken::from_otpauth(uri)),
            None => parse_params(&form.algorithm, &form.digits, &form.period, &mut errors)
                .map(|params| CurrentToken::unlabelled(p.secret, params)),
        },
        None => None,
    };
    let typed = Typed::Import(ImportView {
        seed: Zeroizing::new(form.seed.as_str().to_string()),
        format: form.format.clone(),
        params: ParamsView::typed(&form.algorithm, &form.digits, &form.period),
        confirm: form.confirm_replace == "yes",
    });
    replace_or_refuse(&session, token, errors, typed)
}

pub async fn view_seed_label_post(
    session: CurrentSession,
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
    let refused = session.with(|s| {
        if errors.is_empty() {
            match s.current().relabelled(&form.issuer, &form.account) {
                Ok(token) => {
                    s.replace_current(token);
                    s.set_flash("Label saved; the QR code now carries it.".into());
                    return Ok(None);
                }
                Err(e) => errors.push("issuer", format!("Label: {e}")),
            }
        }
        let mut p = seed_page(&session.state, s, session.ctx)?;
        p.label = LabelView {
            issuer: form.issuer.clone(),
            account: form.account.clone(),
        };
        p.label_errors = errors;
        Ok::<_, AppError>(Some(p))
    })?;
    Ok(match refused {
        Some(page) => (StatusCode::UNPROCESSABLE_ENTITY, page).into_response(),
        None => Redirect::to("/").into_response(),
    })
}
