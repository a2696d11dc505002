//! Every way talking to a token can fail, each with a message that tells the person at the
//! reader what happened and what to do, and [`ErrorKind`]: the one list of names a burn
//! failure keeps from the card to the page.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::protocol::{self, ConfigError, SeedLengthError};

/// What went wrong with a reader, a card or a token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NfcError {
    #[error(
        "this build has no PC/SC support: rebuild with `cargo build --release --features pcsc` (install libpcsclite-dev first)"
    )]
    PcscUnavailable,
    #[error("the PC/SC service is not available ({0}): is pcscd installed and running?")]
    ServiceUnavailable(String),
    #[error("no NFC reader found: plug in a PC/SC reader (and check that pcscd is running)")]
    NoReader,
    #[error("no reader named '{name}'; readers present: {}", if available.is_empty() { "none".to_string() } else { available.join(", ") })]
    ReaderNotFound {
        name: String,
        available: Vec<String>,
    },
    #[error("no token on the reader: press the token's button, then hold it on the reader")]
    NoCard,
    #[error(
        "no token appeared on the reader within {0} s: press the token's button, then hold it on the reader"
    )]
    NoCardInTime(u64),
    #[error(
        "the token left the reader before anything was written: hold it on the reader and try again"
    )]
    CardRemoved,
    #[error(
        "the token left the reader during the write: the token may be half-written: burn it again"
    )]
    HalfWritten,
    #[error("the reader failed: {0}")]
    Reader(String),
    #[error(
        "this is a FIDO security key, not a Token2 programmable token: tap the TOTP token instead"
    )]
    FidoKey,
    #[error(
        "this is a key with an OATH applet (YubiKey-style), not a Token2 programmable token: tap the TOTP token instead"
    )]
    OathApplet,
    #[error("{}", protocol::status_message(*sw))]
    NotToken2 { sw: u16 },
    #[error(
        "the token refused our key or MAC (status 6983): is it a Token2 programmable token in programming mode (button pressed)?"
    )]
    WrongKey,
    #[error("{step}: {}", protocol::status_message(*sw))]
    Status { step: &'static str, sw: u16 },
    #[error("the token's reply makes no sense: {0}")]
    BadReply(String),
    #[error(
        "serial {serial} is not a Token2 model this burner knows; writing to it is refused unless forced (--force)"
    )]
    UnknownModel { serial: String },
    #[error("{0}")]
    Seed(#[from] SeedLengthError),
    #[error("{0}")]
    Config(#[from] ConfigError),
    #[error(
        "{model} (serial {serial}) erases its seed on every time sync: confirm the seed loss, sync, then burn the seed again"
    )]
    SeedLossUnconfirmed { serial: String, model: String },
}

impl NfcError {
    /// Its name for programs; documented in docs/agent-api.md.
    pub fn kind(&self) -> ErrorKind {
        match self {
            NfcError::PcscUnavailable => ErrorKind::PcscUnavailable,
            NfcError::ServiceUnavailable(_) => ErrorKind::PcscServiceUnavailable,
            NfcError::NoReader => ErrorKind::NoReader,
            NfcError::ReaderNotFound { .. } => ErrorKind::ReaderNotFound,
            NfcError::NoCard => ErrorKind::NoCard,
            NfcError::NoCardInTime(_) => ErrorKind::NoCardInTime,
            NfcError::CardRemoved => ErrorKind::CardRemoved,
            NfcError::HalfWritten => ErrorKind::CardLiftedMidWrite,
            NfcError::Reader(_) => ErrorKind::ReaderError,
            NfcError::FidoKey => ErrorKind::FidoKey,
            NfcError::OathApplet => ErrorKind::OathApplet,
            NfcError::NotToken2 { .. } => ErrorKind::NotToken2,
            NfcError::WrongKey => ErrorKind::WrongKey,
            NfcError::Status { .. } => ErrorKind::TokenStatus,
            NfcError::BadReply(_) => ErrorKind::BadReply,
            NfcError::UnknownModel { .. } => ErrorKind::UnknownModel,
            NfcError::Seed(_) => ErrorKind::BadSeed,
            NfcError::Config(_) => ErrorKind::BadConfig,
            NfcError::SeedLossUnconfirmed { .. } => ErrorKind::SeedLossUnconfirmed,
        }
    }

    /// True when the request itself was wrong (the command line exits 2 on these).
    pub fn is_input_error(&self) -> bool {
        matches!(
            self,
            NfcError::Seed(_) | NfcError::Config(_) | NfcError::ReaderNotFound { .. }
        )
    }
}

/// The name of every way a burn (or an identify, or a time sync) can fail, the one
/// vocabulary from the card to the page: [`NfcError::kind`] gives it, the agent sends it
/// as `kind` in its JSON with the HTTP status `agent` gives each one, the agent's client
/// carries it unchanged, and the burn page picks its status and advice by it.
///
/// The first group are requests the agent refuses before any card work; they are listed
/// here too so that the list is whole. docs/agent-api.md documents every kind, and a test
/// keeps it in step with [`ErrorKind::ALL`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    // The request.
    BadRequest,
    BadSeed,
    BadConfig,
    ConfirmationRequired,
    Unauthorized,
    OriginRefused,
    HostRefused,
    NotFound,
    BodyTooLarge,
    Internal,
    // The reader.
    PcscUnavailable,
    PcscServiceUnavailable,
    NoReader,
    ReaderNotFound,
    ReaderError,
    NoCard,
    NoCardInTime,
    // The token.
    CardRemoved,
    CardLiftedMidWrite,
    FidoKey,
    OathApplet,
    NotToken2,
    WrongKey,
    TokenStatus,
    BadReply,
    UnknownModel,
    SeedLossUnconfirmed,
}

impl ErrorKind {
    /// Every kind, in the order above.
    pub const ALL: [ErrorKind; 27] = [
        ErrorKind::BadRequest,
        ErrorKind::BadSeed,
        ErrorKind::BadConfig,
        ErrorKind::ConfirmationRequired,
        ErrorKind::Unauthorized,
        ErrorKind::OriginRefused,
        ErrorKind::HostRefused,
        ErrorKind::NotFound,
        ErrorKind::BodyTooLarge,
        ErrorKind::Internal,
        ErrorKind::PcscUnavailable,
        ErrorKind::PcscServiceUnavailable,
        ErrorKind::NoReader,
        ErrorKind::ReaderNotFound,
        ErrorKind::ReaderError,
        ErrorKind::NoCard,
        ErrorKind::NoCardInTime,
        ErrorKind::CardRemoved,
        ErrorKind::CardLiftedMidWrite,
        ErrorKind::FidoKey,
        ErrorKind::OathApplet,
        ErrorKind::NotToken2,
        ErrorKind::WrongKey,
        ErrorKind::TokenStatus,
        ErrorKind::BadReply,
        ErrorKind::UnknownModel,
        ErrorKind::SeedLossUnconfirmed,
    ];

    /// The name programs see (snake_case), the only place each is written.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::BadRequest => "bad_request",
            ErrorKind::BadSeed => "bad_seed",
            ErrorKind::BadConfig => "bad_config",
            ErrorKind::ConfirmationRequired => "confirmation_required",
            ErrorKind::Unauthorized => "unauthorized",
            ErrorKind::OriginRefused => "origin_refused",
            ErrorKind::HostRefused => "host_refused",
            ErrorKind::NotFound => "not_found",
            ErrorKind::BodyTooLarge => "body_too_large",
            ErrorKind::Internal => "internal",
            ErrorKind::PcscUnavailable => "pcsc_unavailable",
            ErrorKind::PcscServiceUnavailable => "pcsc_service_unavailable",
            ErrorKind::NoReader => "no_reader",
            ErrorKind::ReaderNotFound => "reader_not_found",
            ErrorKind::ReaderError => "reader_error",
            ErrorKind::NoCard => "no_card",
            ErrorKind::NoCardInTime => "no_card_in_time",
            ErrorKind::CardRemoved => "card_removed",
            ErrorKind::CardLiftedMidWrite => "card_lifted_mid_write",
            ErrorKind::FidoKey => "fido_key",
            ErrorKind::OathApplet => "oath_applet",
            ErrorKind::NotToken2 => "not_token2",
            ErrorKind::WrongKey => "wrong_key",
            ErrorKind::TokenStatus => "token_status",
            ErrorKind::BadReply => "bad_reply",
            ErrorKind::UnknownModel => "unknown_model",
            ErrorKind::SeedLossUnconfirmed => "seed_loss_unconfirmed",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is not an [`ErrorKind`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{0}' is not an error kind this build knows")]
pub struct UnknownKind(String);

impl FromStr for ErrorKind {
    type Err = UnknownKind;

    fn from_str(s: &str) -> Result<Self, UnknownKind> {
        ErrorKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| UnknownKind(s.chars().take(64).collect()))
    }
}

impl Serialize for ErrorKind {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ErrorKind {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = std::borrow::Cow::<str>::deserialize(d)?;
        name.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_its_own_name_and_reads_back() {
        let mut names: Vec<&str> = ErrorKind::ALL.iter().map(|k| k.as_str()).collect();
        for kind in ErrorKind::ALL {
            assert_eq!(kind.as_str().parse(), Ok(kind));
            let json = serde_json::to_string(&kind).unwrap();
            assert_eq!(json, format!("\"{kind}\""));
            assert_eq!(serde_json::from_str::<ErrorKind>(&json).unwrap(), kind);
        }
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), ErrorKind::ALL.len());
        assert!("card_lifted".parse::<ErrorKind>().is_err());
    }
}
