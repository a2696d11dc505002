//! Seeds and codes: parsing and generating seeds, TOTP codes at a given time, the code
//! window, the drift finder and otpauth URIs.
//!
//! Pure: no I/O and no clock. Every function that needs "now" takes Unix seconds, so the
//! same code serves the CLI, the web pages, the virtual token and the tests.

mod civil;
mod code;
mod params;
mod secret;
mod secret_text;
mod uri;

pub use civil::{utc_datetime, utc_rfc3339, utc_time};
pub use code::{
    CodeAnatomy, CodeInputError, CodeWindow, Drift, Generator, Offset, WindowRow,
    default_drift_steps, normalize_code,
};
pub use params::{
    Algorithm, MAX_PERIOD, MIN_PERIOD, ParamError, Params, parse_digits, parse_period,
};
pub use secret::{
    DEFAULT_GENERATE_BYTES, GENERATE_SIZES, MAX_SEED_BYTES, MIN_SEED_BYTES, RECOMMENDED_MIN_BYTES,
    Secret, SeedError, SeedFormat,
};
pub use secret_text::SecretText;
pub use uri::{MAX_LABEL_CHARS, OtpAuth, UriError, check_label_part};

/// A seed as a user typed it, with any parameters an otpauth URI carried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedSeed {
    pub secret: Secret,
    /// Present when the input was an otpauth URI (which states its own parameters).
    pub uri: Option<OtpAuth>,
}

/// Errors from [`parse_seed_input`]: a bad seed or a bad URI.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SeedInputError {
    #[error("{0}")]
    Seed(#[from] SeedError),
    #[error("{0}")]
    Uri(#[from] UriError),
}

/// Reads anything an admin may paste as a seed: an `otpauth://` URI, base32 or hex (see
/// [`Secret::parse`] for how the two are told apart, and how `format` overrides that).
pub fn parse_seed_input(input: &str, format: SeedFormat) -> Result<ParsedSeed, SeedInputError> {
    let trimmed = input.trim();
    // `get` rather than slicing: the 10th byte of pasted text may fall inside a character.
    if format == SeedFormat::Auto
        && trimmed
            .get(..10)
            .is_some_and(|p| p.eq_ignore_ascii_case("otpauth://"))
    {
        let uri = OtpAuth::parse(trimmed)?;
        return Ok(ParsedSeed {
            secret: uri.secret.clone(),
            uri: Some(uri),
        });
    }
    Ok(ParsedSeed {
        secret: Secret::parse(input, format)?,
        uri: None,
    })
}

/// Text in groups of four characters separated by spaces, for reading aloud or comparing by
/// eye: seeds on the seed page, key fingerprints before an encrypted download.
pub fn group_by_four(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 4);
    for (i, c) in text.chars().enumerate() {
        if i > 0 && i % 4 == 0 {
            out.push(' ');
        }
        out.push(c);
    }
    out
}

/// How many characters of an input a message repeats at most.
pub const ECHO_CHARS: usize = 64;

/// `excerpt` at the usual length, [`ECHO_CHARS`]: what a message quotes of a name or a line.
pub fn clip(text: &str) -> String {
    excerpt(text, ECHO_CHARS)
}

/// At most `max_chars` characters of outside text for an error message (with `…` when cut),
/// control characters shown as `?`: no message repeats a long input or breaks a log line.
/// Never give it a seed: a message must not contain one at all.
pub fn excerpt(text: &str, max_chars: usize) -> String {
    let mut out: String = text
        .chars()
        .take(max_chars)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    if text.chars().nth(max_chars).is_some() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clip_keeps_64_characters_and_marks_the_cut() {
        assert_eq!(clip("short"), "short");
        let long = "é".repeat(100);
        assert_eq!(clip(&long).chars().count(), ECHO_CHARS + 1);
        assert!(clip(&long).ends_with('…'));
        assert_eq!(clip("a\nb"), "a?b");
    }
}
