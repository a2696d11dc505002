//! The bulk burn panel's state as a session keeps it (see `session.rs`, which holds it and
//! hands it out): a run's settings, its queue of users, what every tap came to, and whether
//! it waits for a token, for a decision (the same token tapped twice) or for nothing (stopped,
//! done); and the last reading of a token's clock for "Set the token's clock".
//!
//! It holds no seed: a seed lives in the request that burns it and then in its row only. A
//! run's methods are its only way to change; rows themselves are the session's
//! ([`super::session::Session::record_burned_token`]).

use std::collections::VecDeque;

use crate::nfc::DisplayTimeout;
use crate::otp::Algorithm;

/// Results kept in a run's running list (a box of 200 tokens fits with room for failures).
pub const MAX_RESULTS: usize = 2_000;
/// Serials of the run sent to the agent as "not these" (the request body stays small).
pub const MAX_NOT_SERIALS: usize = 400;

/// What every token of a run is burned with.
#[derive(Clone, Debug)]
pub struct BulkSettings {
    pub algorithm: Algorithm,
    pub period: u32,
    pub display_timeout: DisplayTimeout,
    pub seed_bytes: usize,
    pub manufacturer: String,
    /// Empty: the model the token reports.
    pub model: String,
}

/// Where a run is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Waiting for the next token.
    Running,
    /// Stopped by the user or by a failure no tap can fix (no agent, no reader).
    Stopped,
    /// The token just tapped was burned earlier in this run: re-burn it or skip it?
    SameToken(String),
    /// Every token of the run has its row.
    Done,
}

/// What one tap came to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Burned; a new row (its number from 1).
    Added(usize),
    /// Burned again; its existing row (number) now carries the new seed.
    Reburned(usize),
    /// The same token tapped twice, left as it was.
    Skipped,
    /// Nothing written that a row could hold; the agent's kind.
    Failed(String),
}

/// One line of the running list. Codes, never a seed.
#[derive(Clone, Debug)]
pub struct TapResult {
    pub serial: Option<String>,
    pub model: Option<String>,
    pub upn: Option<String>,
    pub outcome: Outcome,
    pub message: String,
    /// Previous, current and next code, to compare after a power cycle.
    pub codes: Option<[String; 3]>,
}

impl TapResult {
    /// A tap that ended without a token read: what failed (`outcome`'s kind) and why.
    pub fn failed(kind: impl Into<String>, message: String) -> Self {
        TapResult {
            serial: None,
            model: None,
            upn: None,
            outcome: Outcome::Failed(kind.into()),
            message,
            codes: None,
        }
    }
}

/// What the agent request of a step must say.
#[derive(Clone, Debug)]
pub struct StepPlan {
    pub settings: BulkSettings,
    /// Wait for a card put on after the last one (false: the token on the reader now, for
    /// a re-burn).
    pub new_card: bool,
    pub not_serial: Option<String>,
    pub not_serials: Vec<String>,
}

/// A bulk burn run.
#[derive(Debug)]
pub struct BulkRun {
    pub settings: BulkSettings,
    queue: VecDeque<String>,
    /// Users the run started with.
    pub users_total: usize,
    /// Tokens the run is for, when known (a count, or one per user).
    pub target: Option<usize>,
    /// Rows this run added.
    added: usize,
    /// Serials burned in this run, oldest first.
    burned: Vec<String>,
    /// The token tapped last that stays as it is (burned or skipped): the next tap must be
    /// another one.
    last_serial: Option<String>,
    results: Vec<TapResult>,
    phase: Phase,
    /// A step is at the agent: a second one must not start.
    busy: bool,
    /// The last word on waiting (no token came in time), until the next step.
    pub note: Option<String>,
}

impl BulkRun {
    pub fn new(settings: BulkSettings, users: Vec<String>, count: Option<usize>) -> Self {
        let target = count.or((!users.is_empty()).then_some(users.len()));
        BulkRun {
            settings,
            users_total: users.len(),
            queue: users.into(),
            target,
            added: 0,
            burned: Vec::new(),
            last_serial: None,
            results: Vec::new(),
            phase: Phase::Running,
            busy: false,
            note: None,
        }
    }

    pub fn phase(&self) -> &Phase {
        &self.phase
    }

    pub fn results(&self) -> &[TapResult] {
        &self.results
    }

    pub fn added(&self) -> usize {
        self.added
    }

    pub fn is_busy(&self) -> bool {
        self.busy
    }

    /// The users still waiting for a token, in order.
    pub fn queue(&self) -> impl Iterator<Item = &String> {
        self.queue.iter()
    }

    pub fn queue_len(&self) -> usize {
        self.queue.len()
    }

    /// The user the next new row gets.
    pub fn next_upn(&self) -> Option<&str> {
        self.queue.front().map(String::as_str)
    }

    /// The number of the token the run waits for (from 1).
    pub fn next_number(&self) -> usize {
        self.added + 1
    }

    /// Starts a step that waits for the next token; refused while another step is at the
    /// agent or the run does not wait for a token.
    pub fn begin_step(&mut self) -> Result<StepPlan, String> {
        match &self.phase {
            Phase::Running if self.busy => Err("a token is being burned right now".into()),
            Phase::Running => {
                self.busy = true;
                self.note = None;
                let skip = self.burned.len().saturating_sub(MAX_NOT_SERIALS);
                Ok(StepPlan {
                    settings: self.settings.clone(),
                    new_card: true,
                    not_serial: self.last_serial.clone(),
                    not_serials: self.burned.iter().skip(skip).cloned().collect(),
                })
            }
            Phase::Stopped => Err("the run is stopped: resume it first".into()),
            Phase::SameToken(serial) => Err(format!(
                "token {serial} was tapped twice: choose to burn it again or to skip it first"
            )),
            Phase::Done => Err("every token of this run has its row".into()),
        }
    }

    /// Starts the re-burn of the token tapped twice (the one on the reader now).
    pub fn begin_reburn(&mut self) -> Result<StepPlan, String> {
        match &self.phase {
            Phase::SameToken(_) if !self.busy => {
                self.busy = true;
                self.note = None;
                Ok(StepPlan {
                    settings: self.settings.clone(),
                    new_card: false,
                    not_serial: None,
                    not_serials: Vec::new(),
                })
            }
            _ => Err("no token is waiting to be burned again".into()),
        }
    }

    /// Leaves the token tapped twice as it is and waits for the next one.
    pub fn skip(&mut self) -> Result<String, String> {
        let Phase::SameToken(serial) = &self.phase else {
            return Err("no token is waiting to be skipped".into());
        };
        let serial = serial.clone();
        self.push(TapResult {
            serial: Some(serial.clone()),
            model: None,
            upn: None,
            outcome: Outcome::Skipped,
            message: "tapped twice: skipped, its row keeps its seed".into(),
            codes: None,
        });
        self.last_serial = Some(serial.clone());
        self.phase = Phase::Running;
        Ok(serial)
    }

    /// A step's token was burned and its row written (`replaced`: an existing row's seed).
    pub fn burned(&mut self, result: TapResult, replaced: bool) {
        self.busy = false;
        let serial = result.serial.clone().unwrap_or_default();
        if !replaced {
            self.added += 1;
            self.queue.pop_front();
        }
        self.burned.retain(|s| s != &serial);
        self.burned.push(serial.clone());
        self.last_serial = Some(serial);
        self.push(result);
        if self.target.is_some_and(|t| self.added >= t) {
            self.phase = Phase::Done;
        } else if matches!(self.phase, Phase::SameToken(_)) {
            self.phase = Phase::Running;
        }
        // A run stopped while this token was at the agent stays stopped.
    }

    /// The token tapped was burned earlier in this run: ask before touching it.
    pub fn same_token(&mut self, serial: String) {
        self.busy = false;
        self.phase = Phase::SameToken(serial);
    }

    /// A tap that wrote nothing a row could hold; `stop` when no further tap can help.
    pub fn failed(&mut self, result: TapResult, stop: bool) {
        self.busy = false;
        if matches!(self.phase, Phase::SameToken(_)) {
            // A failed re-burn: the token keeps no seed we know; tapped again, it is new.
            self.phase = Phase::Running;
        }
        self.push(result);
        if stop {
            self.phase = Phase::Stopped;
        }
    }

    /// No token came in time: nothing happened, the run still waits.
    pub fn no_token(&mut self, note: String) {
        self.busy = false;
        self.note = Some(note);
    }

    pub fn stop(&mut self) {
        if self.phase == Phase::Running {
            self.phase = Phase::Stopped;
        }
    }

    pub fn resume(&mut self) {
        if self.phase == Phase::Stopped {
            self.phase = Phase::Running;
            self.note = None;
        }
    }

    fn push(&mut self, result: TapResult) {
        if self.results.len() == MAX_RESULTS {
            self.results.remove(0);
        }
        self.results.push(result);
    }
}

/// A token's clock as read for "Set the token's clock", and what came of setting it.
#[derive(Clone, Debug)]
pub struct ClockReading {
    pub serial: String,
    pub model: Option<String>,
    /// A config write erases this model's seed: the clock is set by a re-burn instead.
    pub restricted: bool,
    pub offset_seconds: i64,
    pub clock_utc: String,
    /// The algorithm and period its row in the batch says it was burned with.
    pub row: Option<(usize, Algorithm, u32)>,
    /// What the last action on it came to.
    pub done: Option<String>,
}

/// Everything of the bulk panel a session keeps.
#[derive(Debug, Default)]
pub struct BulkState {
    pub run: Option<BulkRun>,
    pub clock: Option<ClockReading>,
    /// Why the last clock action failed.
    pub clock_error: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> BulkSettings {
        BulkSettings {
            algorithm: Algorithm::Sha1,
            period: 30,
            display_timeout: DisplayTimeout::S30,
            seed_bytes: 20,
            manufacturer: "Token2".into(),
            model: String::new(),
        }
    }

    fn burned(serial: &str) -> TapResult {
        TapResult {
            serial: Some(serial.into()),
            model: None,
            upn: None,
            outcome: Outcome::Added(1),
            message: String::new(),
            codes: None,
        }
    }

    #[test]
    fn a_run_walks_its_queue_and_asks_about_a_token_tapped_twice() {
        let mut run = BulkRun::new(
            settings(),
            vec!["a@x.example".into(), "b@x.example".into()],
            None,
        );
        assert_eq!(run.target, Some(2));
        let plan = run.begin_step().unwrap();
        assert!(plan.new_card && plan.not_serial.is_none());
        assert!(run.begin_step().is_err(), "one step at a time");
        run.burned(burned("A"), false);
        assert_eq!(run.next_upn(), Some("b@x.example"));
        let plan = run.begin_step().unwrap();
        assert_eq!(plan.not_serial.as_deref(), Some("A"));
        assert_eq!(plan.not_serials, ["A"]);
        run.same_token("A".into());
        assert!(run.begin_step().is_err());
        let plan = run.begin_reburn().unwrap();
        assert!(!plan.new_card && plan.not_serial.is_none());
        run.burned(burned("A"), true);
        assert_eq!(run.added(), 1, "a re-burn adds no row");
        assert_eq!(run.next_upn(), Some("b@x.example"));
        run.begin_step().unwrap();
        run.same_token("A".into());
        assert_eq!(run.skip().unwrap(), "A");
        run.begin_step().unwrap();
        run.burned(burned("B"), false);
        assert_eq!(run.phase(), &Phase::Done);
        assert!(run.begin_step().is_err());
    }
}
