//! What the token subcommands (readers, identify, burn) share: the reader flags and
//! turning NFC errors into exit codes.

use std::time::Duration;

use clap::Args;

use super::common::CliError;
use crate::nfc::{Card, NfcError, reader};

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

impl ReaderArgs {
    /// Runs `work` on the card on the chosen reader, waiting up to `--wait` for one.
    pub fn on_card<T>(
        &self,
        work: impl FnMut(&mut dyn Card) -> Result<T, NfcError>,
    ) -> Result<T, NfcError> {
        reader::with_card(self.reader.as_deref(), Duration::from_secs(self.wait), work)
    }
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
