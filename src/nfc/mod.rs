//! Talking to Token2 programmable tokens: the protocol as bytes (pure), the burner's
//! conversations over a [`Card`], the PC/SC transport (feature `pcsc`) and a virtual token
//! that plays the card for tests and for `pcscd` through vpcd.
//!
//! Never holds a seed longer than a call, never logs one, never writes one to disk.

mod burner;
mod card;
mod error;
pub mod protocol;
pub mod reader;
pub mod virtual_token;

#[cfg(feature = "pcsc")]
pub mod pcsc;

pub use burner::{
    BurnOutcome, CompareCodes, Identified, SyncOutcome, TokenSettings, TokenView, burn, identify,
    sync_time,
};
pub use card::{Card, CardError};
pub use error::NfcError;
pub use protocol::{DisplayTimeout, Model, TokenConfig, TokenInfo, model_for_serial};
