//! PC/SC readers through the system's pcsclite (feature `pcsc`): list readers, connect to
//! the card on one, and carry APDUs for the burner.
//!
//! Every call here blocks (pcscd round trips, card I/O): async callers must run it on a
//! blocking thread (`tokio::task::spawn_blocking`), never on the runtime's workers.

use std::ffi::CString;

use pcsc::{Context, Error, Protocols, ReaderState, Scope, ShareMode, State};

use super::card::{Card, CardError};
use super::error::NfcError;

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
            Ok(reply) => Ok(reply.to_vec()),
            Err(
                Error::RemovedCard
                | Error::ResetCard
                | Error::NoSmartcard
                | Error::UnpoweredCard
                | Error::UnresponsiveCard
                | Error::CommError
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
