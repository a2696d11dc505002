//! The reader as the command line and the agent see it, whether or not this build has PC/SC:
//! without the `pcsc` feature every call says how to get it instead of failing obscurely.
//!
//! Blocking (see `pcsc.rs`): async code calls these from `spawn_blocking`.

use std::time::{Duration, Instant};

use super::card::Card;
use super::error::NfcError;

/// How often we look for a card while waiting for one.
const POLL: Duration = Duration::from_millis(250);

/// True when this build can talk to PC/SC readers.
pub const PCSC_BUILT_IN: bool = cfg!(feature = "pcsc");

/// A reader and whether a card is on it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ReaderStatus {
    pub name: String,
    pub card_present: bool,
}

/// The readers PC/SC knows.
pub fn list_readers() -> Result<Vec<ReaderStatus>, NfcError> {
    #[cfg(feature = "pcsc")]
    {
        Ok(super::pcsc::reader_states()?
            .into_iter()
            .map(|(name, card_present)| ReaderStatus { name, card_present })
            .collect())
    }
    #[cfg(not(feature = "pcsc"))]
    {
        Err(NfcError::PcscUnavailable)
    }
}

/// Connects to the card on `reader` (or the first reader with one) right now.
pub fn connect(reader: Option<&str>) -> Result<Box<dyn Card + Send>, NfcError> {
    #[cfg(feature = "pcsc")]
    {
        Ok(Box::new(super::pcsc::connect(reader)?))
    }
    #[cfg(not(feature = "pcsc"))]
    {
        let _ = reader;
        Err(NfcError::PcscUnavailable)
    }
}

/// Runs `work` on the card on `reader` (or the first reader with one), looking for a card
/// for up to `wait` (the user may still be pressing the token's button). Every other
/// failure returns at once.
pub fn with_card<T>(
    reader: Option<&str>,
    wait: Duration,
    mut work: impl FnMut(&mut dyn Card) -> Result<T, NfcError>,
) -> Result<T, NfcError> {
    wait_for(wait, || work(&mut connect(reader)?))
}

/// Calls `attempt` until it stops saying "no card" or `wait` is over.
pub fn wait_for<T>(
    wait: Duration,
    mut attempt: impl FnMut() -> Result<T, NfcError>,
) -> Result<T, NfcError> {
    let deadline = Instant::now() + wait;
    loop {
        match attempt() {
            Err(NfcError::NoCard) if !wait.is_zero() => {
                let now = Instant::now();
                if now >= deadline {
                    return Err(NfcError::NoCardInTime(wait.as_secs()));
                }
                std::thread::sleep(POLL.min(deadline - now));
            }
            other => return other,
        }
    }
}
