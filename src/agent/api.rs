//! The agent's JSON API: the request and response bodies, shared by the server and the
//! client so the two cannot drift apart. Documented for people in docs/agent-api.md.
//!
//! The only secret here is [`BurnRequest::secret`]: a [`SecretText`], zeroizing and
//! `[redacted]` in Debug, so a request can be logged or printed by mistake without leaking
//! it. Failures are named by [`ErrorKind`], the vocabulary the NFC layer gives them.

use serde::{Deserialize, Serialize};

pub use crate::nfc::ErrorKind;
use crate::nfc::reader::ReaderStatus;
use crate::nfc::{Identified, NfcError};
use crate::otp::{Algorithm, Generator, Params, Secret, SecretText};

/// How long a request may wait for a token when it does not say.
pub const DEFAULT_WAIT_SECONDS: u64 = 15;
/// The longest wait a request may ask for (longer asks are cut to this).
pub const MAX_WAIT_SECONDS: u64 = 60;

/// `POST /v1/burn`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BurnRequest {
    /// The seed in base32 (spaces, dashes, lowercase and `=` tolerated).
    pub secret: SecretText,
    /// `SHA1` (default) or `SHA256`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub algorithm: Option<String>,
    /// 30 (default) or 60.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period: Option<u32>,
    /// 15, 30 (default), 60 or 120 seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_timeout: Option<u32>,
    /// Write even to a serial prefix the agent does not know.
    #[serde(default)]
    pub force: bool,
    /// Seconds to wait for a token on the reader (default 15, at most 60).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wait_seconds: Option<u64>,
    /// Bulk burning: wait for a card put on the reader after the one this agent last worked
    /// on (the token just burned, left on the reader, is not burned again).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub wait_for_new_card: bool,
    /// Bulk burning: refuse (`409 same_token`) a token with this serial, the one just
    /// burned, tapped again; the caller decides whether to burn it again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_serial: Option<String>,
    /// Bulk burning: like `not_serial`, for every token burned earlier in the run (a token
    /// tapped again later, not just right after its burn).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_serials: Vec<String>,
}

impl BurnRequest {
    /// A request for `secret` with every setting at its default.
    pub fn new(secret: &Secret) -> Self {
        BurnRequest {
            secret: SecretText::new(secret.to_base32()),
            algorithm: None,
            period: None,
            display_timeout: None,
            force: false,
            wait_seconds: None,
            wait_for_new_card: false,
            not_serial: None,
            not_serials: Vec::new(),
        }
    }
}

/// `POST /v1/identify` (an empty body means the defaults).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct IdentifyRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wait_seconds: Option<u64>,
}

/// `POST /v1/time-sync`. A time sync is a config write: the algorithm and period must be the
/// ones the token's seed was burned with, or its codes change.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct TimeSyncRequest {
    /// Must be true: the request writes to the token.
    #[serde(default)]
    pub confirm: bool,
    /// Must also be true when the token is a restricted model (its seed is erased).
    #[serde(default)]
    pub confirm_seed_loss: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub algorithm: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_timeout: Option<u32>,
    #[serde(default)]
    pub force: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wait_seconds: Option<u64>,
}

/// `GET /v1/status`: always 200 when authorized; problems are in `problem`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusResponse {
    pub agent: String,
    pub version: String,
    /// `pcsc`, `simulated`, or `unavailable` (built without the `pcsc` feature).
    pub mode: String,
    /// The reader the agent was told to use, if any.
    pub reader: Option<String>,
    pub readers: Vec<ReaderStatus>,
    pub card_present: bool,
    /// The token on the reader, when there is one and it answered.
    pub token: Option<TokenView>,
    /// Why there is no token info (no reader, a FIDO key on the reader, ...).
    pub problem: Option<ApiError>,
}

/// `POST /v1/identify`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdentifyResponse {
    pub token: TokenView,
}

/// `POST /v1/burn`: what was written and the codes the token must now show.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BurnResponse {
    /// The token as read before writing (its clock is the one it had then).
    pub token: TokenView,
    pub algorithm: String,
    pub digits: u8,
    pub period: u32,
    pub display_timeout: u32,
    pub seed_bytes: usize,
    /// The clock written to the token, Unix seconds UTC.
    pub clock_set: u64,
    /// Codes at `clock_set`, to compare with the token after a power cycle.
    pub codes: CompareCodes,
}

/// `POST /v1/time-sync`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimeSyncResponse {
    /// The token as read before the sync (its old clock and offset).
    pub token: TokenView,
    pub clock_set: u64,
    /// True on restricted models: the seed is gone and must be burned again.
    pub seed_erased: bool,
    pub warning: Option<String>,
}

/// `GET /v1/simulated-token` (only with `--simulate`): what the simulated token would show.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimulatedTokenResponse {
    pub serial: String,
    pub seed_present: bool,
    pub algorithm: String,
    pub period: u32,
    pub clock_offset: i64,
    pub at: u64,
    /// Codes from two steps before to two steps after `at`, by counter.
    pub codes: Vec<ShownCode>,
}

/// One code a token shows and its counter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShownCode {
    pub counter: u64,
    pub code: String,
}

/// The body of every error: `{"error": {"kind": ..., "message": ...}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiError {
    /// For programs (see docs/agent-api.md).
    pub kind: ErrorKind,
    /// One sentence for people.
    pub message: String,
}

impl From<&NfcError> for ApiError {
    fn from(e: &NfcError) -> Self {
        ApiError {
            kind: e.kind(),
            message: e.to_string(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ErrorBody {
    pub error: ApiError,
}

/// A token as shown to people and programs: serial, model, and its clock against ours.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenView {
    pub serial: String,
    /// `None` when the serial prefix is not a model we know.
    pub model: Option<String>,
    /// True when a config write (a time sync) erases the seed on this token.
    pub restricted: bool,
    /// The token's clock, Unix seconds UTC.
    pub clock: u64,
    pub clock_utc: String,
    /// Token clock minus ours, seconds (positive: the token is ahead).
    pub offset_seconds: i64,
}

impl TokenView {
    /// The view of an identified token, its clock compared with `now`.
    pub fn new(token: &Identified, now: u64) -> Self {
        let clock = u64::from(token.info.clock);
        TokenView {
            serial: token.info.serial.clone(),
            model: token.model.map(|m| m.name.to_string()),
            restricted: token.restricted(),
            clock,
            clock_utc: crate::otp::utc_rfc3339(clock),
            offset_seconds: token.clock_offset(now),
        }
    }
}

/// The codes a freshly burned token should show around `at`: the proof of a good burn,
/// since nothing can be read back from the token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompareCodes {
    /// The RFC 6238 counter of `current`.
    pub counter: u64,
    pub previous: String,
    pub current: String,
    pub next: String,
    /// Seconds until `next` takes over.
    pub seconds_remaining: u64,
}

impl CompareCodes {
    /// `period` is one the token took (30 or 60), so the parameters are always valid.
    pub fn new(secret: &Secret, algorithm: Algorithm, period: u32, at: u64) -> Self {
        let params = Params::new(algorithm, crate::nfc::protocol::DIGITS, period)
            .expect("token periods are valid params");
        let g = Generator::new(secret, params);
        let counter = g.counter_at(at);
        CompareCodes {
            counter,
            previous: g.code_for_counter(counter.saturating_sub(1)),
            current: g.code_for_counter(counter),
            next: g.code_for_counter(counter + 1),
            seconds_remaining: g.seconds_remaining(at),
        }
    }
}
