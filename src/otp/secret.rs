//! The seed itself: parsing what admins paste (base32, hex, otpauth URIs), drawing new ones
//! from the OS CSPRNG, and keeping the bytes out of logs and memory dumps.
//!
//! Never print, log or serialize a `Secret` by accident: Debug is `[redacted]` and the bytes
//! are zeroized on drop. Encodings are only produced on explicit request.

use std::fmt;

use data_encoding::{Encoding, HEXUPPER_PERMISSIVE, Specification};
use zeroize::Zeroizing;

/// The most seed bytes anything here accepts: Entra's 128 base32 characters are 80 bytes.
pub const MAX_SEED_BYTES: usize = 80;
/// The fewest seed bytes accepted: 80 bits, the shortest seed real tokens ship (16 base32
/// characters) and the floor RFC 4226 sets for a shared secret. Anything shorter is a typo
/// or a truncated paste, and guessable.
pub const MIN_SEED_BYTES: usize = 10;
/// Below this, the seed still works but is weaker than RFC 4226 asks for (128 bits).
pub const RECOMMENDED_MIN_BYTES: usize = 16;
/// Sizes offered for new seeds, in bytes.
pub const GENERATE_SIZES: [usize; 4] = [10, 20, 32, 64];
/// Size of a new seed when nobody says otherwise (160 bits, what RFC 4226 recommends).
pub const DEFAULT_GENERATE_BYTES: usize = 20;

/// The seed bytes of a token.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret {
    bytes: Zeroizing<Vec<u8>>,
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// How a seed was written, when the user says so (the explicit choice always wins).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum SeedFormat {
    /// Decide by the documented rule in [`Secret::parse`].
    #[default]
    Auto,
    Base32,
    Hex,
}

/// Everything that can be wrong with a typed or pasted seed. Messages are shown to users
/// as they are, so they say exactly what is wrong and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SeedError {
    #[error("seed is empty")]
    Empty,
    #[error("invalid base32 character '{ch}' at position {position}{hint}")]
    Base32Char {
        ch: char,
        /// 1-based, counted in the input as typed (spaces and dashes included).
        position: usize,
        hint: &'static str,
    },
    #[error(
        "base32 seed has {chars} characters; no whole number of bytes has that length (check for a missing or extra character)"
    )]
    Base32Length { chars: usize },
    #[error("invalid hex digit '{ch}' at position {position}")]
    HexChar { ch: char, position: usize },
    #[error("odd number of hex digits ({digits}); each byte is two hex digits")]
    HexOdd { digits: usize },
    #[error(
        "seed is {bytes} bytes; at most {MAX_SEED_BYTES} bytes (128 base32 characters) are allowed"
    )]
    TooLong { bytes: usize },
    #[error(
        "seed is only {} bits; at least 80 bits (10 bytes: 16 base32 characters or 20 hex digits) are needed (check for a truncated paste)", .bytes * 8
    )]
    TooShort { bytes: usize },
    #[error("seed size must be one of 10, 20, 32 or 64 bytes, not {0}")]
    BadGenerateSize(usize),
    #[error("the operating system's random number generator failed: {0}")]
    Random(String),
}

/// Base32 as people write it: RFC 4648 alphabet, either case, no padding required. Trailing
/// bits are not checked because many issuers emit lengths like 26 characters for 16 bytes.
fn base32_lenient() -> Encoding {
    let mut spec = Specification::new();
    spec.symbols.push_str("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567");
    spec.translate.from.push_str("abcdefghijklmnopqrstuvwxyz");
    spec.translate.to.push_str("ABCDEFGHIJKLMNOPQRSTUVWXYZ");
    spec.check_trailing_bits = false;
    spec.encoding()
        .expect("static base32 specification is valid")
}

/// Characters people put in seeds to make them readable; they carry no data.
fn is_separator(c: char) -> bool {
    c.is_whitespace() || c == '-'
}

impl SeedFormat {
    /// What [`Secret::parse`] would read `input` as under [`SeedFormat::Auto`]: the one rule,
    /// exposed so that a whole column of seeds can be judged by it.
    pub fn detect(input: &str) -> SeedFormat {
        if looks_like_hex(input.trim()) {
            SeedFormat::Hex
        } else {
            SeedFormat::Base32
        }
    }
}

impl Secret {
    /// Wraps raw seed bytes, checking the size (10 to 80 bytes).
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Self, SeedError> {
        let bytes = Zeroizing::new(bytes);
        if bytes.is_empty() {
            return Err(SeedError::Empty);
        }
        if bytes.len() < MIN_SEED_BYTES {
            return Err(SeedError::TooShort { bytes: bytes.len() });
        }
        if bytes.len() > MAX_SEED_BYTES {
            return Err(SeedError::TooLong { bytes: bytes.len() });
        }
        Ok(Secret { bytes })
    }

    /// A new seed of `len` bytes (10, 20, 32 or 64) straight from the operating system's CSPRNG.
    pub fn generate(len: usize) -> Result<Self, SeedError> {
        if !GENERATE_SIZES.contains(&len) {
            return Err(SeedError::BadGenerateSize(len));
        }
        let mut bytes = Zeroizing::new(vec![0u8; len]);
        getrandom::fill(&mut bytes).map_err(|e| SeedError::Random(e.to_string()))?;
        Ok(Secret { bytes })
    }

    /// Parses a seed written as base32 or hex.
    ///
    /// The rule for [`SeedFormat::Auto`], the one rule used everywhere:
    /// a `0x` prefix means hex; otherwise, ignoring spaces and dashes, a string made only of
    /// hex digits that contains at least one of `0`, `1`, `8`, `9` (which base32 never uses)
    /// is hex; everything else is base32. So `ABCDEF23` is base32, `0A1B` is hex, and an
    /// explicit format always overrides the guess.
    pub fn parse(input: &str, format: SeedFormat) -> Result<Self, SeedError> {
        let trimmed = input.trim();
        if trimmed.chars().all(is_separator) {
            return Err(SeedError::Empty);
        }
        match format {
            SeedFormat::Base32 => Self::parse_base32(input),
            SeedFormat::Hex => Self::parse_hex(input),
            SeedFormat::Auto => {
                if looks_like_hex(trimmed) {
                    Self::parse_hex(input)
                } else {
                    Self::parse_base32(input)
                }
            }
        }
    }

    /// Base32 with any case, spaces, dashes and `=` padding tolerated.
    pub fn parse_base32(input: &str) -> Result<Self, SeedError> {
        let mut clean = Zeroizing::new(String::with_capacity(input.len()));
        let mut padding_started = false;
        for (i, c) in input.chars().enumerate() {
            if is_separator(c) {
                continue;
            }
            if c == '=' {
                padding_started = true;
                continue;
            }
            let valid = c.is_ascii_alphabetic() || ('2'..='7').contains(&c);
            if !valid || padding_started {
                let hint = if matches!(c, '0' | '1' | '8' | '9') {
                    " (base32 uses only A-Z and 2-7; is this a hex seed?)"
                } else if padding_started && valid {
                    " ('=' padding may only come at the end)"
                } else {
                    " (base32 uses only A-Z and 2-7)"
                };
                return Err(SeedError::Base32Char {
                    ch: c,
                    position: i + 1,
                    hint,
                });
            }
            clean.push(c);
        }
        if clean.is_empty() {
            return Err(SeedError::Empty);
        }
        let chars = clean.len();
        let bytes = base32_lenient()
            .decode(clean.as_bytes())
            .map_err(|_| SeedError::Base32Length { chars })?;
        Self::from_bytes(bytes)
    }

    /// Hex with any case, an optional `0x` prefix, spaces, dashes and colons tolerated.
    pub fn parse_hex(input: &str) -> Result<Self, SeedError> {
        let trimmed_start = input.len() - input.trim_start().len();
        let body = input.trim_start();
        let (skip, body) = match body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
            Some(rest) => (trimmed_start + 2, rest),
            None => (trimmed_start, body),
        };
        let mut clean = Zeroizing::new(String::with_capacity(body.len()));
        let skip_chars = input[..skip].chars().count();
        for (i, c) in body.chars().enumerate() {
            if is_separator(c) || c == ':' {
                continue;
            }
            if !c.is_ascii_hexdigit() {
                return Err(SeedError::HexChar {
                    ch: c,
                    position: skip_chars + i + 1,
                });
            }
            clean.push(c);
        }
        if clean.is_empty() {
            return Err(SeedError::Empty);
        }
        if clean.len() % 2 == 1 {
            return Err(SeedError::HexOdd {
                digits: clean.len(),
            });
        }
        let bytes =
            HEXUPPER_PERMISSIVE
                .decode(clean.as_bytes())
                .map_err(|_| SeedError::HexOdd {
                    digits: clean.len(),
                })?;
        Self::from_bytes(bytes)
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// Size in bits, as shown to users.
    pub fn bits(&self) -> usize {
        self.bytes.len() * 8
    }

    /// True when the seed is shorter than the 128 bits RFC 4226 asks for. A warning only:
    /// real tokens ship 80-bit seeds.
    pub fn is_weak(&self) -> bool {
        self.bytes.len() < RECOMMENDED_MIN_BYTES
    }

    /// Uppercase base32 without padding: the form Entra and otpauth URIs want.
    pub fn to_base32(&self) -> Zeroizing<String> {
        Zeroizing::new(data_encoding::BASE32_NOPAD.encode(&self.bytes))
    }

    /// Base32 in groups of four, for reading aloud or typing from paper.
    pub fn to_base32_grouped(&self) -> Zeroizing<String> {
        Zeroizing::new(super::group_by_four(&self.to_base32()))
    }

    /// Lowercase hex, the form oathtool, privacyIDEA and Duo take.
    pub fn to_hex(&self) -> Zeroizing<String> {
        Zeroizing::new(data_encoding::HEXLOWER.encode(&self.bytes))
    }
}

/// The auto-detection rule documented on [`Secret::parse`].
fn looks_like_hex(s: &str) -> bool {
    if s.starts_with("0x") || s.starts_with("0X") {
        return true;
    }
    let mut any_digit_outside_base32 = false;
    for c in s.chars() {
        if is_separator(c) {
            continue;
        }
        if !c.is_ascii_hexdigit() {
            return false;
        }
        if matches!(c, '0' | '1' | '8' | '9') {
            any_digit_outside_base32 = true;
        }
    }
    any_digit_outside_base32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_is_redacted() {
        let s = Secret::parse("JBSWY3DPEHPK3PXP", SeedFormat::Auto).unwrap();
        assert_eq!(format!("{s:?}"), "[redacted]");
        assert_eq!(format!("{:?}", Some(s)), "Some([redacted])");
    }

    #[test]
    fn auto_rule() {
        assert!(looks_like_hex("0a1b"));
        assert!(looks_like_hex("0xABCDEF"));
        assert!(!looks_like_hex("ABCDEF23"));
        assert!(!looks_like_hex("JBSWY3DP"));
    }
}
