//! Codes from a seed at a given time: the current code, the window of past and future codes,
//! the HMAC behind a code, and the drift finder. Time is always an argument (Unix seconds).

use std::fmt;

use subtle::ConstantTimeEq;

use super::{Params, Secret};

/// A code generator for one seed and its parameters. Built once, then asked many times
/// (the drift finder computes thousands of codes).
pub struct Generator {
    totp: totp_rs::Totp,
    params: Params,
}

impl fmt::Debug for Generator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Generator")
            .field("secret", &"[redacted]")
            .field("params", &self.params)
            .finish()
    }
}

/// One row of a [`CodeWindow`].
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct WindowRow {
    /// Steps from the current one: negative is the past.
    pub offset: i64,
    /// Offset in seconds (`offset * period`).
    pub offset_seconds: i64,
    /// The RFC 6238 counter, T = floor(unix / period).
    pub counter: u64,
    /// Unix time at which this step starts.
    pub starts_at: u64,
    pub code: String,
}

/// Codes from `-skew` to `+skew` steps around a time.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CodeWindow {
    pub rows: Vec<WindowRow>,
}

impl CodeWindow {
    /// The row for the step containing the requested time.
    pub fn current(&self) -> Option<&WindowRow> {
        self.rows.iter().find(|r| r.offset == 0)
    }
}

/// What a code is made of, for the curious: the counter, the HMAC and the four bytes that
/// dynamic truncation (RFC 4226 section 5.3) picked from it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CodeAnatomy {
    pub counter: u64,
    /// The counter as the 8 big-endian bytes that are hashed, in hex.
    pub counter_hex: String,
    pub hmac_hex: String,
    /// Index of the first of the four truncated bytes (low nibble of the last HMAC byte).
    pub truncation_offset: usize,
    /// The 31-bit number read from those four bytes.
    pub truncated_value: u32,
    pub code: String,
}

/// A signed distance between the token's clock and ours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Offset {
    /// Positive: the token's clock is ahead of ours.
    pub steps: i64,
    pub seconds: i64,
}

impl Offset {
    fn new(steps: i64, period: u32) -> Self {
        Offset {
            steps,
            seconds: steps * i64::from(period),
        }
    }

    /// Plain words for the direction of the drift.
    pub fn verdict(&self) -> &'static str {
        match self.steps {
            0 => "token clock is in step",
            s if s > 0 => "token clock is ahead",
            _ => "token clock is behind",
        }
    }
}

impl fmt::Display for Offset {
    /// `+7 steps (+210 s)`, `-1 step (-30 s)`, `0 steps (0 s)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let unit = if self.steps.abs() == 1 {
            "step"
        } else {
            "steps"
        };
        if self.steps == 0 {
            write!(f, "0 steps (0 s)")
        } else {
            write!(f, "{:+} {unit} ({:+} s)", self.steps, self.seconds)
        }
    }
}

/// The answer of the drift finder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Drift {
    /// Exactly one offset within the bound produced the code(s).
    Found(Offset),
    /// A single 6- or 8-digit code repeats by chance within a wide bound: every offset that
    /// matches, nearest first. A second, consecutive code settles it.
    Ambiguous(Vec<Offset>),
    /// Nothing within `±max_steps` steps.
    NotFound { max_steps: u64, max_seconds: u64 },
}

/// Problems with the code a user typed into the drift finder.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodeInputError {
    #[error("{field} must be {digits} digits (0-9), got '{got}'")]
    Shape {
        field: &'static str,
        digits: u8,
        got: String,
    },
}

/// Normalizes a typed code: spaces dropped (tokens show `123 456`), then exactly `digits`
/// ASCII digits.
pub fn normalize_code(
    field: &'static str,
    input: &str,
    digits: u8,
) -> Result<String, CodeInputError> {
    let clean: String = input.chars().filter(|c| !c.is_whitespace()).collect();
    if clean.len() == usize::from(digits) && clean.bytes().all(|b| b.is_ascii_digit()) {
        Ok(clean)
    } else {
        Err(CodeInputError::Shape {
            field,
            digits,
            got: input.trim().chars().take(20).collect(),
        })
    }
}

/// The default bound of the drift finder: one day of steps.
pub fn default_drift_steps(period: u32) -> u64 {
    86_400 / u64::from(period).max(1)
}

fn ct_eq(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

impl Generator {
    pub fn new(secret: &Secret, params: Params) -> Self {
        // build_noncompliant: totp-rs refuses seeds under 128 bits, yet 80-bit seeds are
        // common on real tokens. Secret and Params already validated everything else.
        let totp = totp_rs::Builder::new()
            .with_algorithm(params.algorithm().to_totp_rs())
            .with_digits(params.digits())
            .with_step_duration(u64::from(params.period()))
            .with_skew(0)
            .with_secret(secret.as_bytes().to_vec())
            .build_noncompliant();
        Generator { totp, params }
    }

    pub fn params(&self) -> Params {
        self.params
    }

    fn period(&self) -> u64 {
        u64::from(self.params.period())
    }

    /// The RFC 6238 counter at a time.
    pub fn counter_at(&self, unix: u64) -> u64 {
        unix / self.period()
    }

    /// Seconds left before the code at `unix` changes (1..=period).
    pub fn seconds_remaining(&self, unix: u64) -> u64 {
        self.period() - unix % self.period()
    }

    /// The code for a counter value.
    pub fn code_for_counter(&self, counter: u64) -> String {
        self.totp
            .generate(counter.saturating_mul(self.period()))
            .to_string()
    }

    /// The code at a Unix time.
    pub fn code_at(&self, unix: u64) -> String {
        self.code_for_counter(self.counter_at(unix))
    }

    /// Codes from `-skew` to `+skew` steps around `unix`. Steps before the epoch are left out.
    pub fn window(&self, unix: u64, skew: u32) -> CodeWindow {
        let now = self.counter_at(unix) as i128;
        let rows = (-(skew as i64)..=skew as i64)
            .filter_map(|offset| {
                let counter = now + offset as i128;
                let counter = u64::try_from(counter).ok()?;
                Some(WindowRow {
                    offset,
                    offset_seconds: offset * i64::from(self.params.period()),
                    counter,
                    starts_at: counter.saturating_mul(self.period()),
                    code: self.code_for_counter(counter),
                })
            })
            .collect();
        CodeWindow { rows }
    }

    /// The counter, HMAC and truncation behind the code at `unix`.
    pub fn anatomy(&self, unix: u64) -> CodeAnatomy {
        let counter = self.counter_at(unix);
        let hmac = self.totp.sign(counter.saturating_mul(self.period()));
        let hmac = hmac.as_ref();
        let offset = usize::from(hmac[hmac.len() - 1] & 0x0f);
        let value = u32::from_be_bytes([
            hmac[offset],
            hmac[offset + 1],
            hmac[offset + 2],
            hmac[offset + 3],
        ]) & 0x7fff_ffff;
        CodeAnatomy {
            counter,
            counter_hex: data_encoding::HEXLOWER.encode(&counter.to_be_bytes()),
            hmac_hex: data_encoding::HEXLOWER.encode(hmac),
            truncation_offset: offset,
            truncated_value: value,
            code: self.code_for_counter(counter),
        }
    }

    /// Finds how far a token's clock is from `unix`, given the code it shows (and optionally
    /// the one it shows next, which removes almost all ambiguity). Searches outward from
    /// the current step, up to `max_steps` either way. Codes must already be normalized
    /// (see [`normalize_code`]).
    pub fn find_drift(&self, unix: u64, code: &str, next: Option<&str>, max_steps: u64) -> Drift {
        let now = self.counter_at(unix);
        let mut hits = Vec::new();
        let matches_at = |counter: u64| -> bool {
            ct_eq(&self.code_for_counter(counter), code)
                && next.is_none_or(|n| ct_eq(&self.code_for_counter(counter + 1), n))
        };
        for distance in 0..=max_steps {
            if let Some(c) = now.checked_add(distance)
                && matches_at(c)
            {
                hits.push(distance as i64);
            }
            if distance > 0
                && let Some(c) = now.checked_sub(distance)
                && matches_at(c)
            {
                hits.push(-(distance as i64));
            }
        }
        let period = self.params.period();
        match hits.len() {
            0 => Drift::NotFound {
                max_steps,
                max_seconds: max_steps * u64::from(period),
            },
            1 => Drift::Found(Offset::new(hits[0], period)),
            _ => Drift::Ambiguous(hits.into_iter().map(|s| Offset::new(s, period)).collect()),
        }
    }
}
