//! PC/SC readers through the system's pcsclite (feature `pcsc`): list readers, connect to
//! the card on one, and carry APDUs for the burner.
//!
//! Every call here blocks (pcscd round trips, card I/O): async callers must run it on a
//! blocking thread (`tokio::task::spawn_blocking`), never on the runtime's workers.

use std::ffi::CString;
use std::time::{Duration, Instant};

use pcsc::{Context, Error, Protocols, ReaderState, Scope, ShareMode, State};

use super::card::{Card, CardError};
use super::error::NfcError;
use super::reader::Tap;

/// A connected card; disconnects (and resets the card) when dropped.
pub struct PcscCard {
    card: pcsc::Card,
    reader: String,
}

impl PcscCard {
    pub fn reader(&self) -> &str {
        &self.reader
    }
}

impl Card for PcscCard {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, CardError> {
        let mut buf = [0u8; pcsc::MAX_BUFFER_SIZE];
        match self.card.transmit(apdu, &mut buf) {
            // Nothing at all, not even a status word: the card left as it was answering
            // (vpcd passes a card that vanished mid-command on this way).
            Ok([]) => Err(CardError::Removed),
            Ok(reply) => Ok(reply.to_vec()),
            Err(
                Error::RemovedCard
                | Error::ResetCard
                | Error::NoSmartcard
                | Error::UnpoweredCard
                | Error::UnresponsiveCard
                | Error::CommError
                | Error::NotTransacted
                | Error::ReaderUnavailable,
            ) => Err(CardError::Removed),
            Err(e) => Err(CardError::Reader(e.to_string())),
        }
    }
}

fn service_error(e: Error) -> NfcError {
    match e {
        Error::NoReadersAvailable => NfcError::NoReader,
        Error::NoService | Error::ServiceStopped => NfcError::ServiceUnavailable(e.to_string()),
        other => NfcError::Reader(other.to_string()),
    }
}

fn context() -> Result<Context, NfcError> {
    Context::establish(Scope::User).map_err(service_error)
}

fn reader_names(ctx: &Context) -> Result<Vec<CString>, NfcError> {
    match ctx.list_readers_owned() {
        Ok(names) => Ok(names),
        // pcsclite reports "no readers" as an error; for a listing it is just empty.
        Err(Error::NoReadersAvailable) => Ok(Vec::new()),
        Err(e) => Err(service_error(e)),
    }
}

/// Names of the readers pcscd knows, in its order.
pub fn list_readers() -> Result<Vec<String>, NfcError> {
    let ctx = context()?;
    Ok(reader_names(&ctx)?
        .iter()
        .map(|n| n.to_string_lossy().into_owned())
        .collect())
}

/// Each reader with whether a card is on it, without connecting to any card.
pub fn reader_states() -> Result<Vec<(String, bool)>, NfcError> {
    let ctx = context()?;
    let names = reader_names(&ctx)?;
    if names.is_empty() {
        return Ok(Vec::new());
    }
    let mut states: Vec<ReaderState> = names
        .iter()
        .map(|n| ReaderState::new(n.clone(), State::UNAWARE))
        .collect();
    // A zero timeout returns the current state at once.
    match ctx.get_status_change(std::time::Duration::ZERO, &mut states) {
        Ok(()) | Err(Error::Timeout) => {}
        Err(e) => return Err(service_error(e)),
    }
    Ok(states
        .iter()
        .map(|s| {
            (
                s.name().to_string_lossy().into_owned(),
                s.event_state().contains(State::PRESENT),
            )
        })
        .collect())
}

/// The readers to watch: `wanted`, or all of them.
fn watched(ctx: &Context, wanted: Option<&str>) -> Result<Vec<CString>, NfcError> {
    let names = reader_names(ctx)?;
    if names.is_empty() {
        return Err(NfcError::NoReader);
    }
    let Some(wanted) = wanted else {
        return Ok(names);
    };
    match names.iter().find(|n| n.to_string_lossy() == wanted) {
        Some(name) => Ok(vec![name.clone()]),
        None => Err(NfcError::ReaderNotFound {
            name: wanted.to_string(),
            available: names
                .iter()
                .map(|n| n.to_string_lossy().into_owned())
                .collect(),
        }),
    }
}

/// Waits for a card on `reader` (or any reader) that is none of the cards of `seen`: one
/// put on a reader after the card seen there (pcscd counts insertions and removals, and we
/// also note any moment the reader is seen empty). Uses pcscd's card events
/// (`SCardGetStatusChange`), so it wakes when a card comes, without polling. `wait` zero
/// looks once.
pub fn wait_for_card(reader: Option<&str>, wait: Duration, seen: &[Tap]) -> Result<Tap, NfcError> {
    let ctx = context()?;
    let names = watched(&ctx, reader)?;
    let deadline = Instant::now() + wait;
    let mut states: Vec<ReaderState> = names
        .iter()
        .map(|n| ReaderState::new(n.clone(), State::UNAWARE))
        .collect();
    let mut emptied = vec![false; states.len()];
    let timed_out = || {
        if wait.is_zero() {
            NfcError::NoCard
        } else {
            NfcError::NoCardInTime(wait.as_secs())
        }
    };
    // The first call, from UNAWARE, reports the current state at once.
    let mut timeout = Duration::ZERO;
    loop {
        match ctx.get_status_change(timeout, &mut states) {
            Ok(()) => {}
            Err(Error::Timeout) => return Err(timed_out()),
            Err(Error::UnknownReader | Error::ReaderUnavailable) => return Err(NfcError::NoReader),
            Err(e) => return Err(service_error(e)),
        }
        for (state, emptied) in states.iter().zip(emptied.iter_mut()) {
            let event = state.event_state();
            if !event.contains(State::PRESENT) {
                *emptied = true;
                continue;
            }
            // A card that does not answer its reset is not one we can talk to.
            if event.contains(State::MUTE) {
                continue;
            }
            let tap = Tap {
                reader: state.name().to_string_lossy().into_owned(),
                events: state.event_count(),
            };
            if *emptied || !seen.contains(&tap) {
                return Ok(tap);
            }
        }
        for state in &mut states {
            state.sync_current_state();
        }
        let now = Instant::now();
        if now >= deadline {
            return Err(timed_out());
        }
        timeout = deadline - now;
    }
}

fn connect_one(ctx: &Context, name: &CString) -> Result<PcscCard, NfcError> {
    // Exclusive: nothing else may slip commands between our challenge and our writes.
    match ctx.connect(name, ShareMode::Exclusive, Protocols::ANY) {
        Ok(card) => Ok(PcscCard {
            card,
            reader: name.to_string_lossy().into_owned(),
        }),
        Err(
            Error::NoSmartcard
            | Error::RemovedCard
            | Error::UnpoweredCard
            | Error::UnresponsiveCard
            | Error::ResetCard,
        ) => Err(NfcError::NoCard),
        Err(Error::SharingViolation) => Err(NfcError::Reader(
            "another program is using the reader; close it and try again".into(),
        )),
        Err(e) => Err(service_error(e)),
    }
}

/// Connects to the card on `reader`, or on the first reader that has one.
pub fn connect(reader: Option<&str>) -> Result<PcscCard, NfcError> {
    let ctx = context()?;
    let names = reader_names(&ctx)?;
    if names.is_empty() {
        return Err(NfcError::NoReader);
    }
    if let Some(wanted) = reader {
        let Some(name) = names.iter().find(|n| n.to_string_lossy() == wanted) else {
            return Err(NfcError::ReaderNotFound {
                name: wanted.to_string(),
                available: names
                    .iter()
                    .map(|n| n.to_string_lossy().into_owned())
                    .collect(),
            });
        };
        return connect_one(&ctx, name);
    }
    let mut last = NfcError::NoCard;
    for name in &names {
        match connect_one(&ctx, name) {
            Ok(card) => return Ok(card),
            Err(e) => last = e,
        }
    }
    Err(last)
}
