//! The one thing the burner needs from a reader: send a command APDU, get the reply bytes
//! (data and status word). PC/SC, the virtual token and test doubles all implement it.

/// A failure of the transport, as opposed to a status word from the card.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CardError {
    /// The card stopped answering: lifted off the reader, or reset.
    #[error("the card left the reader")]
    Removed,
    /// The reader or its driver failed; the text comes from the driver.
    #[error("the reader failed: {0}")]
    Reader(String),
}

/// A card we can talk to.
pub trait Card {
    /// Sends one command APDU and returns the whole reply, status word included.
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, CardError>;
}

impl<C: Card + ?Sized> Card for &mut C {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, CardError> {
        (**self).transmit(apdu)
    }
}

impl<C: Card + ?Sized> Card for Box<C> {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, CardError> {
        (**self).transmit(apdu)
    }
}
