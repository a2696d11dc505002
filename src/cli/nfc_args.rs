//! What the token subcommands (readers, identify, burn) share: the reader flags and
//! turning NFC errors into exit codes.

use clap::Args;

use super::common::CliError;
use crate::nfc::NfcError;

/// Choosing a reader and how long to wait for a token on it.
#[derive(Args, Debug, Clone)]
pub struct ReaderArgs {
    /// The PC/SC reader to use (see `totp-toolset readers`) [default: the first with a card]
    #[arg(long, value_name = "NAME")]
    pub reader: Option<String>,
    /// Seconds to wait for a token on the reader
    #[arg(long, value_name = "SECONDS", default_value_t = 15, value_parser = clap::value_parser!(u64).range(0..=300))]
    pub wait: u64,
}

impl From<NfcError> for CliError {
    fn from(e: NfcError) -> Self {
        if e.is_input_error() {
            CliError::bad_input(e)
        } else {
            CliError::failure(e.to_string())
        }
    }
}
