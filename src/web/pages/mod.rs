//! The three pages (seed, codes, CSV) and what they share: the layout data every page
//! shows (navigation and the current token's summary).
//!
//! Handlers are named `view_<page>_get` / `_post`. A seed is only ever read from a POST
//! body or the session, and written only into the response body of its own session.

pub mod burn;
pub mod csv;
pub mod otp;
pub mod seed;

use super::session::{Session, SessionCtx};

/// The current token in a few words, for the header of every page. No seed in it.
pub struct Summary {
    pub label: String,
    pub bits: usize,
    pub algorithm: &'static str,
    pub digits: u8,
    pub period: u32,
    pub in_list: bool,
    pub rows: usize,
    /// Rows that would be lost with the session because they were not downloaded since
    /// they last changed (the page script warns before leaving while this is not zero).
    pub unsaved_rows: usize,
}

/// What the base layout needs.
pub struct Layout {
    pub page: &'static str,
    pub summary: Summary,
    pub flash: Option<String>,
    pub restarted: bool,
}

/// The layout for a page; takes the session's one-time message.
pub fn layout(page: &'static str, session: &mut Session, ctx: SessionCtx) -> Layout {
    let current = &session.current;
    let label = match (current.issuer.is_empty(), current.account.is_empty()) {
        (true, true) => "(no label)".to_string(),
        (false, true) => current.issuer.clone(),
        (true, false) => current.account.clone(),
        (false, false) => format!("{}: {}", current.issuer, current.account),
    };
    Layout {
        page,
        summary: Summary {
            label,
            bits: current.secret.bits(),
            algorithm: current.params.algorithm().display_name(),
            digits: current.params.digits(),
            period: current.params.period(),
            in_list: session.current_in_list(),
            rows: session.rows.len(),
            unsaved_rows: if session.rows_downloaded {
                0
            } else {
                session.rows.len()
            },
        },
        flash: session.flash.take(),
        restarted: ctx.restarted,
    }
}
