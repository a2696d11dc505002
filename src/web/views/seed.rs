//! The seed page's view: the current token (base32, hex, size, the QR code kept with the
//! token), the generate, import and label forms as they were typed, and the burn panel.
//! Both the seed page and the burn form render it.
//!
//! The page it builds holds the seed, so every field that does is wiped on drop.

use std::sync::Arc;

use askama::Template;
use axum::response::{Html, IntoResponse, Response};
use zeroize::Zeroizing;

use super::burn_panel::{self, BurnPanel};
use super::{Layout, layout};
use crate::web::form::Errors;
use crate::web::session::{Session, SessionCtx};
use crate::web::{AppError, AppState};

/// Algorithm, digits and period as typed: the generate and import forms share them (and
/// their template macro, `params_fields` in macros.html).
pub struct ParamsView {
    pub algorithm: String,
    pub digits: String,
    pub period: String,
}

impl ParamsView {
    pub fn typed(algorithm: &str, digits: &str, period: &str) -> Self {
        ParamsView {
            algorithm: algorithm.to_string(),
            digits: digits.to_string(),
            period: period.to_string(),
        }
    }
}

pub struct GenView {
    pub size: String,
    pub params: ParamsView,
    pub confirm: bool,
}

pub struct ImportView {
    pub seed: Zeroizing<String>,
    pub format: String,
    pub params: ParamsView,
    pub confirm: bool,
}

pub struct LabelView {
    pub issuer: String,
    pub account: String,
}

#[derive(Template)]
#[template(path = "seed.html")]
pub struct SeedPage {
    layout: Layout,
    base32: Zeroizing<String>,
    base32_grouped: Zeroizing<String>,
    hex: Zeroizing<String>,
    bits: usize,
    weak: bool,
    uri: Zeroizing<String>,
    qr_svg: Arc<Zeroizing<String>>,
    algorithm: &'static str,
    digits: u8,
    period: u32,
    params_default: bool,
    in_list: bool,
    pub generate: GenView,
    pub gen_errors: Errors,
    pub import: ImportView,
    pub import_errors: Errors,
    pub label: LabelView,
    pub label_errors: Errors,
    pub burn: BurnPanel,
}

impl IntoResponse for SeedPage {
    fn into_response(self) -> Response {
        // Most of the page is its QR code: size the buffer once rather than grow it while
        // rendering (the seed page is the one every visit starts with).
        let mut html = String::with_capacity(self.qr_svg.len() + 16 * 1024);
        match self.render_into(&mut html) {
            Ok(()) => Html(html).into_response(),
            Err(e) => AppError::Internal(e.into()).into_response(),
        }
    }
}

/// The page for the session as it stands, with an empty form of each kind and the burn
/// panel as far as it is known without asking the agent.
pub fn seed_page(
    state: &AppState,
    session: &mut Session,
    ctx: SessionCtx,
) -> Result<SeedPage, AppError> {
    let current = session.current();
    let params = current.params();
    let qr_svg = current.qr_svg()?;
    Ok(SeedPage {
        base32: current.secret().to_base32(),
        base32_grouped: current.secret().to_base32_grouped(),
        hex: current.secret().to_hex(),
        bits: current.secret().bits(),
        weak: current.secret().is_weak(),
        uri: current.otpauth().to_uri(),
        qr_svg,
        algorithm: params.algorithm().display_name(),
        digits: params.digits(),
        period: params.period(),
        params_default: params.is_default(),
        in_list: session.current_in_list(),
        generate: GenView {
            size: crate::otp::DEFAULT_GENERATE_BYTES.to_string(),
            params: ParamsView::typed(
                params.algorithm().cli_name(),
                &params.digits().to_string(),
                &params.period().to_string(),
            ),
            confirm: false,
        },
        gen_errors: Errors::default(),
        import: ImportView {
            seed: Zeroizing::new(String::new()),
            format: "auto".into(),
            params: ParamsView::typed("sha1", "6", "30"),
            confirm: false,
        },
        import_errors: Errors::default(),
        label: LabelView {
            issuer: current.issuer().to_string(),
            account: current.account().to_string(),
        },
        label_errors: Errors::default(),
        burn: BurnPanel {
            outcome: session.last_burn().cloned(),
            ..burn_panel::panel_offline(state, params)
        },
        layout: layout("seed", session, ctx),
    })
}
