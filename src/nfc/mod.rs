//! Talking to Token2 programmable tokens: the protocol as bytes (pure), the burner's
//! conversations over a [`Card`], the model table, the PC/SC transport (feature `pcsc`), a
//! virtual token (and stacks of them) that plays the card for tests, and the vpcd transport that shows it to
//! `pcscd`. [`ErrorKind`] is the one vocabulary of burn failures, from here to the page.
//!
//! Never holds a seed longer than a call, never logs one, never writes one to disk.

mod burner;
mod card;
mod error;
pub mod models;
pub mod protocol;
pub mod reader;
pub mod token_stack;
pub mod virtual_token;
pub mod vpcd;

#[cfg(feature = "pcsc")]
pub mod pcsc;

pub use burner::{
    BurnReport, Identified, SyncReport, TokenSettings, burn, burn_identified, identify, sync_time,
};
pub use card::{Card, CardError};
pub use error::{ErrorKind, NfcError, UnknownKind};
pub use models::{Model, model_for_serial};
pub use protocol::{ConfigError, DisplayTimeout, TokenConfig, TokenInfo};
