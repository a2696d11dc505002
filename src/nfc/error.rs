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
    #[error(
        "this is the token just burned (serial {serial}): lift it and tap the next one, or burn it again on purpose"
    )]
    SameToken { serial: String },
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
            NfcError::SameToken { .. } => ErrorKind::SameToken,
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

/// Declares [`ErrorKind`], its [`ErrorKind::ALL`] and its names from one list, so no kind
/// can be missing from either.
macro_rules! error_kinds {
    ($($variant:ident => $name:literal,)+) => {
        /// The name of every way a burn (or an identify, or a time sync) can fail, the one
        /// vocabulary from the card to the page: [`NfcError::kind`] gives it, the agent sends
        /// it as `kind` in its JSON with the HTTP status `agent` gives each one, the agent's
        /// client carries it unchanged, and the burn page picks its status and advice by it.
        ///
        /// The first group are requests the agent refuses before any card work; they are
        /// here too so that the list is whole. docs/agent-api.md documents every kind, and a
        /// test keeps it in step with [`ErrorKind::ALL`].
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ErrorKind {
            $($variant,)+
        }

        impl ErrorKind {
            /// Every kind, in the order declared.
            pub const ALL: &[ErrorKind] = &[$(ErrorKind::$variant,)+];

            /// The name programs see (snake_case), the only place each is written.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(ErrorKind::$variant => $name,)+
                }
            }
        }
    };
}

error_kinds! {
    // The request, refused before any card work.
    BadRequest => "bad_request",
    BadSeed => "bad_seed",
    BadConfig => "bad_config",
    ConfirmationRequired => "confirmation_required",
    Unauthorized => "unauthorized",
    OriginRefused => "origin_refused",
    HostRefused => "host_refused",
    NotFound => "not_found",
    BodyTooLarge => "body_too_large",
    Internal => "internal",
    // The reader.
    PcscUnavailable => "pcsc_unavailable",
    PcscServiceUnavailable => "pcsc_service_unavailable",
    NoReader => "no_reader",
    ReaderNotFound => "reader_not_found",
    ReaderError => "reader_error",
    NoCard => "no_card",
    NoCardInTime => "no_card_in_time",
    // The token.
    CardRemoved => "card_removed",
    CardLiftedMidWrite => "card_lifted_mid_write",
    FidoKey => "fido_key",
    OathApplet => "oath_applet",
    NotToken2 => "not_token2",
    WrongKey => "wrong_key",
    TokenStatus => "token_status",
    BadReply => "bad_reply",
    UnknownModel => "unknown_model",
    SeedLossUnconfirmed => "seed_loss_unconfirmed",
    SameToken => "same_token",
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
            .iter()
            .copied()
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
        for &kind in ErrorKind::ALL {
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
