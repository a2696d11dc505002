//! Every way talking to a token can fail, each with a message that tells the person at the
//! reader what happened and what to do, and a stable `kind` for programs (the agent's JSON).

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
    /// A stable identifier for programs; documented in docs/agent-api.md.
    pub fn kind(&self) -> &'static str {
        match self {
            NfcError::PcscUnavailable => "pcsc_unavailable",
            NfcError::ServiceUnavailable(_) => "pcsc_service_unavailable",
            NfcError::NoReader => "no_reader",
            NfcError::ReaderNotFound { .. } => "reader_not_found",
            NfcError::NoCard => "no_card",
            NfcError::NoCardInTime(_) => "no_card_in_time",
            NfcError::CardRemoved => "card_removed",
            NfcError::HalfWritten => "card_lifted_mid_write",
            NfcError::Reader(_) => "reader_error",
            NfcError::FidoKey => "fido_key",
            NfcError::OathApplet => "oath_applet",
            NfcError::NotToken2 { .. } => "not_token2",
            NfcError::WrongKey => "wrong_key",
            NfcError::Status { .. } => "token_status",
            NfcError::BadReply(_) => "bad_reply",
            NfcError::UnknownModel { .. } => "unknown_model",
            NfcError::Seed(_) => "bad_seed",
            NfcError::Config(_) => "bad_config",
            NfcError::SeedLossUnconfirmed { .. } => "seed_loss_unconfirmed",
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
