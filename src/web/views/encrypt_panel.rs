//! The batch's "encrypted download" form as data: which export, how it is wrapped (to an
//! OpenPGP public key, an OpenPGP passphrase, or an AES-256 ZIP), the pasted public key, and
//! the errors beside each field. The batch page shows it empty; the encrypted-download page
//! shows it again after a refusal.
//!
//! It never holds a passphrase or a private key: a refused form comes back without them.

use crate::tokens::ExportFormat;
use crate::tokens::containers::MIN_PASSPHRASE_CHARS;
use crate::web::form::Errors;
use crate::web::host::Transport;

/// The wraps the form offers, by the value it sends.
pub const WRAPS: [(&str, &str); 3] = [
    (
        "pgp-key",
        "OpenPGP, to a public key (gpg -d with the private key)",
    ),
    ("pgp-passphrase", "OpenPGP with a passphrase (gpg -d)"),
    ("zip", "ZIP with AES-256 and a passphrase (7-Zip, WinZip)"),
];

pub struct EncryptPanel {
    pub format: String,
    pub wrap: String,
    /// The recipient's armored public key as pasted (public, so kept on a refusal).
    pub public_key: String,
    pub generate: bool,
    pub errors: Errors,
    /// Names the shortest passphrase accepted.
    pub passphrase_label: String,
    pub formats: Vec<(&'static str, &'static str)>,
    pub wraps: [(&'static str, &'static str); 3],
    /// How the page was reached: a passphrase typed here travels to the server.
    pub transport: Transport,
}

impl EncryptPanel {
    /// The empty form, for a page reached over `transport`.
    pub fn new(transport: Transport) -> Self {
        EncryptPanel {
            format: ExportFormat::EntraCsv.name().into(),
            wrap: "pgp-key".into(),
            public_key: String::new(),
            generate: false,
            errors: Errors::default(),
            passphrase_label: format!(
                "Passphrase (OpenPGP or ZIP; at least {MIN_PASSPHRASE_CHARS} characters)"
            ),
            formats: ExportFormat::ALL
                .iter()
                .map(|f| (f.name(), f.label()))
                .collect(),
            wraps: WRAPS,
            transport,
        }
    }
}
