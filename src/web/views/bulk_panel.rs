//! The batch page's "Bulk burn" panel as data: the start form (settings and the queue of
//! users), the run (what it waits for, the running list of results), and "Set the token's
//! clock". Built from the session's bulk state; shown inside the batch page and, alone, as
//! the answer to the panel script's steps.
//!
//! It shows codes to compare, never a seed, and never changes the session.

use crate::web::AppState;
use crate::web::bulk_run::{BulkRun, ClockReading, Outcome, Phase};
use crate::web::form::Errors;
use crate::web::session::Session;

/// Users of the queue listed by name; the rest are counted.
const QUEUE_SHOWN: usize = 5;
/// The agent wait a step leaves below the request timeout: the burn itself, the agent's
/// answer and the page drawn after it.
const STEP_MARGIN_SECONDS: u64 = 4;

/// The start form as typed (kept when refused).
#[derive(Clone, Debug)]
pub struct StartFormView {
    pub algorithm: String,
    pub period: String,
    pub display_timeout: String,
    pub seed_bytes: String,
    pub manufacturer: String,
    pub model: String,
    pub count: String,
    pub users_from: String,
    pub users: String,
}

impl Default for StartFormView {
    fn default() -> Self {
        StartFormView {
            algorithm: "SHA1".into(),
            period: "30".into(),
            display_timeout: "30".into(),
            seed_bytes: "20".into(),
            manufacturer: "Token2".into(),
            model: String::new(),
            count: String::new(),
            users_from: "none".into(),
            users: String::new(),
        }
    }
}

/// One line of the running list.
#[derive(Clone, Debug)]
pub struct ResultView {
    pub serial: String,
    pub model: String,
    pub upn: String,
    /// `added`, `reburned`, `skipped` or `failed` (a CSS class and a test hook).
    pub outcome: &'static str,
    pub row: usize,
    pub message: String,
    pub codes: Option<[String; 3]>,
}

/// The run as shown.
#[derive(Clone, Debug)]
pub struct RunView {
    /// `running`, `stopped`, `same_token` or `done`: what the page script reads.
    pub state: &'static str,
    pub heading: String,
    pub same_serial: String,
    pub note: Option<String>,
    pub busy: bool,
    pub added: usize,
    pub settings: String,
    pub queue_next: Vec<String>,
    pub queue_left: usize,
    /// Newest first.
    pub results: Vec<ResultView>,
}

/// The clock of a token as read.
#[derive(Clone, Debug)]
pub struct ClockView {
    pub serial: String,
    pub model: String,
    pub restricted: bool,
    pub offset: String,
    pub clock_utc: String,
    /// "row 3 (SHA-1, 30 s)" when the token is in the batch.
    pub row: Option<String>,
    pub done: Option<String>,
}

/// The panel's data.
#[derive(Clone, Debug, Default)]
pub struct BulkPanel {
    /// False when the server was started without `--agent-url`.
    pub configured: bool,
    /// Seconds one step waits for a token before the page asks again.
    pub step_wait: u64,
    pub form: StartFormView,
    pub errors: Errors,
    /// UPNs of the assign form's pending list that no token has yet.
    pub assign_users: usize,
    pub run: Option<RunView>,
    pub clock: Option<ClockView>,
    pub clock_error: Option<String>,
    /// Rows in the batch (for "download what we have so far").
    pub rows: usize,
    /// Rows not downloaded since they changed (the page script's warning before leaving).
    pub unsaved_rows: usize,
}

/// How long one step may wait for a token: the configured burn wait, cut so the step
/// answers within the request timeout that bounds every route.
pub fn step_wait(state: &AppState) -> u64 {
    let limit = state
        .config
        .request_timeout
        .as_secs()
        .saturating_sub(STEP_MARGIN_SECONDS);
    state.config.burn_wait_seconds.min(limit).max(1)
}

/// The UPNs of the assign form's pending list that hold no token yet: the queue a run may
/// take. A list of `serial,upn` pairs gives none (those name their tokens already).
pub fn unassigned_users(session: &Session) -> Vec<String> {
    let Some(text) = session.pending_users() else {
        return Vec::new();
    };
    let Ok(users) = crate::tokens::parse_user_list(text) else {
        return Vec::new();
    };
    // One set of the batch's users (ASCII case aside), not a scan of the batch per user:
    // every batch page draws this, and both may hold thousands.
    let holding: std::collections::HashSet<String> = session
        .batch()
        .records()
        .iter()
        .filter_map(|r| r.upn.as_deref().map(str::to_ascii_lowercase))
        .collect();
    users
        .into_iter()
        .filter(|u| !holding.contains(&u.to_ascii_lowercase()))
        .collect()
}

fn offset_text(offset: i64) -> String {
    match offset {
        0 => "in step with this server".into(),
        o if o > 0 => format!("{o} s ahead of this server"),
        o => format!("{} s behind this server", o.unsigned_abs()),
    }
}

fn run_view(run: &BulkRun) -> RunView {
    let of = run.target.map_or(String::new(), |t| format!(" of {t}"));
    let n = run.next_number();
    let (state, heading) = match run.phase() {
        Phase::Running => (
            "running",
            format!("Waiting for token {n}{of} — press its button and hold it on the reader"),
        ),
        Phase::Stopped => (
            "stopped",
            format!("Stopped before token {n}{of}. Resume when you are ready."),
        ),
        Phase::SameToken(serial) => (
            "same_token",
            format!(
                "Token {} was tapped twice: burn it again (its row then gets the new seed) or skip it?",
                crate::otp::clip(serial)
            ),
        ),
        Phase::Done => (
            "done",
            format!(
                "Done: {} token{} burned, each with its row.",
                run.added(),
                if run.added() == 1 { "" } else { "s" }
            ),
        ),
    };
    let s = &run.settings;
    let settings = format!(
        "{}, {} s, display {} s, {}-bit seeds, {} {}",
        s.algorithm.display_name(),
        s.period,
        s.display_timeout.seconds(),
        s.seed_bytes * 8,
        s.manufacturer,
        if s.model.is_empty() {
            "(model as the token reports)"
        } else {
            s.model.as_str()
        }
    );
    let results = run
        .results()
        .iter()
        .rev()
        .map(|r| {
            let (outcome, row) = match &r.outcome {
                Outcome::Added(row) => ("added", *row),
                Outcome::Reburned(row) => ("reburned", *row),
                Outcome::Skipped => ("skipped", 0),
                Outcome::Failed(_) => ("failed", 0),
            };
            ResultView {
                serial: r.serial.clone().unwrap_or_default(),
                model: r.model.clone().unwrap_or_default(),
                upn: r.upn.clone().unwrap_or_default(),
                outcome,
                row,
                message: r.message.clone(),
                codes: r.codes.clone(),
            }
        })
        .collect();
    RunView {
        state,
        heading,
        same_serial: match run.phase() {
            Phase::SameToken(s) => s.clone(),
            _ => String::new(),
        },
        note: run.note.clone(),
        busy: run.is_busy(),
        added: run.added(),
        settings,
        queue_next: run.queue().take(QUEUE_SHOWN).cloned().collect(),
        queue_left: run.queue_len(),
        results,
    }
}

fn clock_view(c: &ClockReading) -> ClockView {
    ClockView {
        serial: c.serial.clone(),
        model: c.model.clone().unwrap_or_else(|| "unknown model".into()),
        restricted: c.restricted,
        offset: offset_text(c.offset_seconds),
        clock_utc: c.clock_utc.clone(),
        row: c
            .row
            .map(|(n, alg, period)| format!("row {n} ({}, {period} s)", alg.display_name())),
        done: c.done.clone(),
    }
}

/// The panel for a page render.
pub fn panel(session: &Session, state: &AppState) -> BulkPanel {
    let bulk = session.bulk();
    BulkPanel {
        configured: state.config.agent.is_some(),
        step_wait: step_wait(state),
        form: StartFormView::default(),
        errors: Errors::default(),
        assign_users: unassigned_users(session).len(),
        run: bulk.run.as_ref().map(run_view),
        clock: bulk.clock.as_ref().map(clock_view),
        clock_error: bulk.clock_error.clone(),
        rows: session.batch().len(),
        unsaved_rows: session.unsaved_rows(),
    }
}
