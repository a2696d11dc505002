//! The parameters that, with the seed, decide a token's codes: hash, digits and period.

use std::fmt;
use std::str::FromStr;

/// The HMAC hash of RFC 6238.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
pub enum Algorithm {
    #[default]
    #[serde(rename = "SHA1")]
    Sha1,
    #[serde(rename = "SHA256")]
    Sha256,
    #[serde(rename = "SHA512")]
    Sha512,
}

impl Algorithm {
    pub const ALL: [Algorithm; 3] = [Algorithm::Sha1, Algorithm::Sha256, Algorithm::Sha512];

    /// The name used in otpauth URIs (`SHA1`, `SHA256`, `SHA512`).
    pub fn uri_name(self) -> &'static str {
        match self {
            Algorithm::Sha1 => "SHA1",
            Algorithm::Sha256 => "SHA256",
            Algorithm::Sha512 => "SHA512",
        }
    }

    /// The name people read (`SHA-1`, ...).
    pub fn display_name(self) -> &'static str {
        match self {
            Algorithm::Sha1 => "SHA-1",
            Algorithm::Sha256 => "SHA-256",
            Algorithm::Sha512 => "SHA-512",
        }
    }

    /// The lowercase name used on our command line and in forms (`sha1`, ...).
    pub fn cli_name(self) -> &'static str {
        match self {
            Algorithm::Sha1 => "sha1",
            Algorithm::Sha256 => "sha256",
            Algorithm::Sha512 => "sha512",
        }
    }

    pub(crate) fn to_totp_rs(self) -> totp_rs::Algorithm {
        match self {
            Algorithm::Sha1 => totp_rs::Algorithm::SHA1,
            Algorithm::Sha256 => totp_rs::Algorithm::SHA256,
            Algorithm::Sha512 => totp_rs::Algorithm::SHA512,
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.display_name())
    }
}

impl FromStr for Algorithm {
    type Err = ParamError;

    /// Accepts `sha1`, `SHA1`, `SHA-1`, `hmacsha1` and the same for 256 and 512.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let norm: String = s
            .trim()
            .to_ascii_lowercase()
            .chars()
            .filter(|c| *c != '-' && *c != '_')
            .collect();
        match norm.strip_prefix("hmac").unwrap_or(&norm) {
            "sha1" => Ok(Algorithm::Sha1),
            "sha256" => Ok(Algorithm::Sha256),
            "sha512" => Ok(Algorithm::Sha512),
            _ => Err(ParamError::Algorithm(super::clip(s.trim()))),
        }
    }
}

/// Problems with code parameters; messages name the parameter and what is allowed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParamError {
    #[error("algorithm '{0}' is not supported; use SHA1, SHA256 or SHA512")]
    Algorithm(String),
    #[error("digits must be 6 or 8, not {0}")]
    Digits(String),
    #[error("period must be a whole number of seconds from 1 to 3600, not {0}")]
    Period(String),
}

pub const MIN_PERIOD: u32 = 1;
pub const MAX_PERIOD: u32 = 3600;

/// Hash, digits and period of a TOTP token. Construct through [`Params::new`] so the values
/// are always ones we can compute.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
pub struct Params {
    algorithm: Algorithm,
    digits: u8,
    period: u32,
}

impl Default for Params {
    /// SHA-1, 6 digits, 30 seconds: what Entra and nearly every token use.
    fn default() -> Self {
        Params {
            algorithm: Algorithm::Sha1,
            digits: 6,
            period: 30,
        }
    }
}

impl Params {
    pub fn new(algorithm: Algorithm, digits: u8, period: u32) -> Result<Self, ParamError> {
        if digits != 6 && digits != 8 {
            return Err(ParamError::Digits(digits.to_string()));
        }
        if !(MIN_PERIOD..=MAX_PERIOD).contains(&period) {
            return Err(ParamError::Period(period.to_string()));
        }
        Ok(Params {
            algorithm,
            digits,
            period,
        })
    }

    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    pub fn digits(&self) -> u8 {
        self.digits
    }

    pub fn period(&self) -> u32 {
        self.period
    }

    /// True when these are the defaults every authenticator assumes (SHA-1, 6, 30).
    pub fn is_default(&self) -> bool {
        *self == Params::default()
    }
}

/// Parses a digits value as typed (`"6"`, `"8"`).
pub fn parse_digits(s: &str) -> Result<u8, ParamError> {
    match s.trim() {
        "6" => Ok(6),
        "8" => Ok(8),
        _ => Err(ParamError::Digits(format!("'{}'", super::clip(s.trim())))),
    }
}

/// Parses a period as typed, in seconds.
pub fn parse_period(s: &str) -> Result<u32, ParamError> {
    match s.trim().parse::<u32>() {
        Ok(p) if (MIN_PERIOD..=MAX_PERIOD).contains(&p) => Ok(p),
        _ => Err(ParamError::Period(format!("'{}'", super::clip(s.trim())))),
    }
}
