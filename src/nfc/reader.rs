//! The reader as the command line and the agent see it, whether or not this build has PC/SC:
//! without the `pcsc` feature every call says how to get it instead of failing obscurely.
//!
//! Blocking (see `pcsc.rs`): async code calls these from `spawn_blocking`. Waiting for a
//! card uses pcscd's card events, not polling; only [`wait_for`] (for callers without a
//! reader, such as a simulated one) looks again and again.

use std::time::{Duration, Instant};

use super::card::Card;
use super::error::NfcError;

/// How often [`wait_for`] looks again.
const POLL: Duration = Duration::from_millis(250);

/// Where a card was found: its reader and pcscd's count of card insertions and removals on
/// that reader at the time. A card is "new" against a tap when it is on another reader or
/// the count has moved (it was put on after that one): the token just burned, left lying on
/// the reader, is never taken for the next one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tap {
    pub reader: String,
    pub events: u32,
}

/// Adds `tap` to the cards seen, keeping one per reader (the latest: counts only grow), so
/// a token left on one reader is not taken for new after a burn on another.
pub fn remember(seen: &mut Vec<Tap>, tap: Tap) {
    seen.retain(|t| t.reader != tap.reader);
    seen.push(tap);
}

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
    with_new_card(reader, wait, &[], |card| work(card)).and_then(|(_, done)| done)
}

/// Waits up to `wait` for a card on `reader` (or any reader) that is none of the cards of
/// `seen` (see [`Tap`] and [`remember`]; empty: any card), connects and runs `work` on it. The outer error is "no
/// card came" (or no reader); otherwise the tap comes back with whatever `work` returned,
/// so the caller can wait for the card after this one even when `work` failed.
pub fn with_new_card<T>(
    reader: Option<&str>,
    wait: Duration,
    seen: &[Tap],
    mut work: impl FnMut(&mut dyn Card) -> Result<T, NfcError>,
) -> Result<(Tap, Result<T, NfcError>), NfcError> {
    #[cfg(feature = "pcsc")]
    {
        let deadline = Instant::now() + wait;
        let mut seen = seen.to_vec();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let tap = super::pcsc::wait_for_card(reader, left, &seen)?;
            match super::pcsc::connect(Some(&tap.reader)) {
                Ok(mut card) => {
                    let done = work(&mut card);
                    return Ok((tap, done));
                }
                // Gone between the event and the connect: wait for the next card, which
                // the moved event count will show.
                Err(NfcError::NoCard) if !left.is_zero() => remember(&mut seen, tap),
                Err(e) => return Err(e),
            }
        }
    }
    #[cfg(not(feature = "pcsc"))]
    {
        let _ = (reader, wait, seen, &mut work);
        Err(NfcError::PcscUnavailable)
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remember_keeps_the_latest_card_of_each_reader() {
        let tap = |reader: &str, events| Tap {
            reader: reader.into(),
            events,
        };
        let mut seen = Vec::new();
        remember(&mut seen, tap("A", 1));
        remember(&mut seen, tap("B", 4));
        remember(&mut seen, tap("A", 3));
        assert_eq!(seen, [tap("B", 4), tap("A", 3)]);
    }
}
