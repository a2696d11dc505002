//! totp-toolset: provisioning OATH TOTP hardware tokens. Seeds, codes, the Entra upload
//! files, and burning seeds onto Token2 programmable tokens.
//!
//! The inner modules (`otp`, and later `tokens` and `nfc`'s protocol) are pure; the outer
//! ones (`cli`, `web`, `agent`) do the I/O and use the inner ones, never the reverse.
#![forbid(unsafe_code)]

pub mod agent;
pub mod cli;
pub mod clock;
pub mod nfc;
pub mod otp;
pub mod tokens;
pub mod web;
