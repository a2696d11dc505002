//! What pages show that is not one page's own: the layout every page shares, the seed
//! page's view (the burn form re-renders it) and the burn panel inside it.
//!
//! Views read the session and build the data templates render; they never change the
//! session except to take its one-time message, and never import a page.

pub mod bulk_panel;
pub mod burn_panel;
pub mod encrypt_panel;
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
    let current = session.current();
    let label = match (current.issuer().is_empty(), current.account().is_empty()) {
        (true, true) => "(no label)".to_string(),
        (false, true) => current.issuer().to_string(),
        (true, false) => current.account().to_string(),
        (false, false) => format!("{}: {}", current.issuer(), current.account()),
    };
    let params = current.params();
    Layout {
        page,
        summary: Summary {
            label,
            bits: current.secret().bits(),
            algorithm: params.algorithm().display_name(),
            digits: params.digits(),
            period: params.period(),
            in_list: session.current_in_list(),
            rows: session.batch().len(),
            unsaved_rows: session.unsaved_rows(),
        },
        flash: session.take_flash(),
        restarted: ctx.restarted,
    }
}
