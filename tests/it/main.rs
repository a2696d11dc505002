//! The one integration test binary (each file under tests/ would be another slow link).
//! Each module tests one part of the toolset from the outside.

mod agent;
mod nfc_cli;
mod nfc_protocol;
mod support;
