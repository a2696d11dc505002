//! The files token batches travel in, one module per format: bytes in, records and a report
//! of refused lines out; records in, bytes and a list of the tokens left out (with why) out.
//!
//! Pure: no I/O, no clock. Readers never panic on any input, and no refusal or error message
//! ever contains a seed (or more than 64 characters of the input).

pub mod entra_csv;
pub mod graph_json;
pub mod inventory;
pub mod otpauth_list;
pub mod privacyidea;
pub mod pskc;
pub mod vendor_csv;

use zeroize::Zeroizing;

use super::batch::{Candidate, Refusal, TokenRecord};
use crate::otp::SeedFormat;

/// A file format the batch can be read from (and, except the vendor CSV, written to).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Format {
    /// CSV from a vendor or Entra: columns found by header name.
    VendorCsv,
    /// RFC 6030 XML.
    Pskc,
    /// privacyIDEA's OATH CSV: `serial, hexkey, totp, digits, timestep`.
    PrivacyIdea,
    /// One `otpauth://totp/` URI per line.
    OtpauthList,
    /// Our Graph `hardwareOathDevices` batch, read back.
    GraphJson,
}

impl Format {
    /// The name used by `convert --from` and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Format::VendorCsv => "csv",
            Format::Pskc => "pskc",
            Format::PrivacyIdea => "privacyidea",
            Format::OtpauthList => "otpauth",
            Format::GraphJson => "graph-json",
        }
    }

    pub(crate) fn source_label(self) -> &'static str {
        match self {
            Format::VendorCsv => "imported from CSV",
            Format::Pskc => "imported from PSKC",
            Format::PrivacyIdea => "imported from privacyIDEA CSV",
            Format::OtpauthList => "imported from otpauth list",
            Format::GraphJson => "imported from Graph JSON",
        }
    }
}

/// A file the batch can be written to, as the batch page and `convert --to` name them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ExportFormat {
    EntraCsv,
    GraphJson,
    /// PSKC with the seeds in plain text (to be wrapped, or kept safe).
    Pskc,
    PrivacyIdea,
    OtpauthList,
    /// Serial, UPN, model... and no seed.
    Inventory,
}

impl ExportFormat {
    pub const ALL: [ExportFormat; 6] = [
        ExportFormat::EntraCsv,
        ExportFormat::GraphJson,
        ExportFormat::Pskc,
        ExportFormat::PrivacyIdea,
        ExportFormat::OtpauthList,
        ExportFormat::Inventory,
    ];

    /// The name `convert --to` and the page's forms use.
    pub fn name(self) -> &'static str {
        match self {
            ExportFormat::EntraCsv => "entra-csv",
            ExportFormat::GraphJson => "graph-json",
            ExportFormat::Pskc => "pskc",
            ExportFormat::PrivacyIdea => "privacyidea",
            ExportFormat::OtpauthList => "otpauth",
            ExportFormat::Inventory => "inventory",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.name() == name)
    }

    /// In words, for a page.
    pub fn label(self) -> &'static str {
        match self {
            ExportFormat::EntraCsv => "Entra CSV (assigned SHA-1 tokens)",
            ExportFormat::GraphJson => "Graph JSON (hardware OATH inventory)",
            ExportFormat::Pskc => "PSKC (RFC 6030)",
            ExportFormat::PrivacyIdea => "privacyIDEA OATH CSV",
            ExportFormat::OtpauthList => "otpauth list",
            ExportFormat::Inventory => "Inventory CSV (no seeds)",
        }
    }

    /// The name the file gets when downloaded (or put in an archive).
    pub fn file_name(self) -> &'static str {
        match self {
            ExportFormat::EntraCsv => "entra-oath-tokens.csv",
            ExportFormat::GraphJson => "hardware-oath-devices.json",
            ExportFormat::Pskc => "tokens.pskc.xml",
            ExportFormat::PrivacyIdea => "privacyidea-tokens.csv",
            ExportFormat::OtpauthList => "otpauth-uris.txt",
            ExportFormat::Inventory => "token-inventory.csv",
        }
    }

    /// False only for the inventory: every other file holds the seeds.
    pub fn has_seeds(self) -> bool {
        self != ExportFormat::Inventory
    }

    /// Writes the batch in this format (PSKC without a password).
    pub fn write(self, records: &[TokenRecord]) -> Result<Export, super::TokensError> {
        match self {
            ExportFormat::EntraCsv => entra_csv::write(records),
            ExportFormat::GraphJson => graph_json::write(records),
            ExportFormat::Pskc => pskc::write(records, None),
            ExportFormat::PrivacyIdea => privacyidea::write(records),
            ExportFormat::OtpauthList => otpauth_list::write(records),
            ExportFormat::Inventory => inventory::write(records),
        }
    }
}

/// Keys for encrypted inputs. Debug never shows them.
#[derive(Clone, Default)]
pub struct Keys {
    /// A PSKC pre-shared key (16, 24 or 32 bytes for AES-128/192/256).
    pub psk: Option<Zeroizing<Vec<u8>>>,
    /// A PSKC password (PBKDF2).
    pub password: Option<Zeroizing<String>>,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keys([redacted])")
    }
}

/// How to read an input.
#[derive(Clone, Debug, Default)]
pub struct ReadOptions {
    /// How CSV secret columns are written; `Auto` decides per column by the one rule.
    pub secret_encoding: SeedFormat,
    pub keys: Keys,
    /// Unix seconds, stamped on every record read.
    pub added_at: u64,
}

/// What a reader found: good records (with their lines) and refused lines.
#[derive(Debug)]
pub struct Import {
    pub format: Format,
    /// For CSV inputs: how the secret column was read.
    pub secret_encoding: Option<SeedFormat>,
    pub candidates: Vec<Candidate>,
    pub refused: Vec<Refusal>,
    /// Things the admin should know that refuse nothing (a column assumed, one ignored).
    pub notes: Vec<String>,
}

impl Import {
    pub(crate) fn new(format: Format) -> Self {
        Import {
            format,
            secret_encoding: None,
            candidates: Vec::new(),
            refused: Vec::new(),
            notes: Vec::new(),
        }
    }

    pub(crate) fn refuse(&mut self, line: usize, field: &'static str, reason: impl Into<String>) {
        self.refused.push(Refusal::new(line, field, reason));
    }

    /// Takes `record`, read from `line`, as a candidate, or refuses the line with what the
    /// record's own check finds wrong.
    pub(crate) fn offer(&mut self, line: usize, record: TokenRecord) {
        match record.check() {
            Ok(()) => self.candidates.push(Candidate { line, record }),
            Err((field, reason)) => self.refuse(line, field, reason),
        }
    }
}

/// The whole input cannot be read (not a format we know, wrong key or password, ...).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct FileError(pub String);

/// A written file and the tokens that could not go in it.
pub struct Export {
    /// Holds seeds for every format but the inventory: wiped on drop.
    pub bytes: Zeroizing<Vec<u8>>,
    pub included: usize,
    pub left_out: Vec<LeftOut>,
}

impl Export {
    /// An export of `text`, moved (not copied) into the bytes wiped on drop.
    pub(crate) fn from_text(
        mut text: Zeroizing<String>,
        included: usize,
        left_out: Vec<LeftOut>,
    ) -> Self {
        Export {
            bytes: Zeroizing::new(std::mem::take(&mut *text).into_bytes()),
            included,
            left_out,
        }
    }
}

/// A token a format cannot carry, and why.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct LeftOut {
    pub serial: String,
    pub reason: String,
}

impl LeftOut {
    pub(crate) fn new(record: &TokenRecord, reason: impl Into<String>) -> Self {
        LeftOut {
            serial: record.serial.clone(),
            reason: reason.into(),
        }
    }
}

/// The input as text: UTF-8, with a byte-order mark dropped.
pub(crate) fn utf8(bytes: &[u8]) -> Result<&str, FileError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    std::str::from_utf8(bytes).map_err(|e| {
        let line = bytes[..e.valid_up_to()]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1;
        FileError(format!(
            "the file is not UTF-8 text (line {line}); save it as \"CSV UTF-8\" or UTF-8 text"
        ))
    })
}

/// Which format the bytes are in, for `--from auto`.
pub fn detect(bytes: &[u8]) -> Result<Format, FileError> {
    if bytes.starts_with(b"PK\x03\x04") {
        return Err(FileError(
            "the file is a ZIP archive; unpack it first and convert the file inside".into(),
        ));
    }
    if bytes.starts_with(b"-----BEGIN PGP") {
        return Err(FileError(
            "the file is OpenPGP-encrypted; decrypt it first".into(),
        ));
    }
    let text = match utf8(bytes) {
        Ok(text) => text,
        Err(_) if bytes.first().is_some_and(|b| b & 0x80 != 0) => {
            return Err(FileError(
                "the file is binary (perhaps OpenPGP-encrypted), not a token file".into(),
            ));
        }
        Err(e) => return Err(e),
    };
    let start = text.trim_start();
    if start.starts_with('<') {
        return Ok(Format::Pskc);
    }
    if start.starts_with('{') {
        return Ok(Format::GraphJson);
    }
    let first = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'));
    let Some(first) = first else {
        return Err(FileError("the file holds no tokens (it is empty)".into()));
    };
    if first
        .get(..10)
        .is_some_and(|p| p.eq_ignore_ascii_case("otpauth://"))
    {
        return Ok(Format::OtpauthList);
    }
    if privacyidea::looks_like(first) {
        return Ok(Format::PrivacyIdea);
    }
    if vendor_csv::looks_like(first) {
        return Ok(Format::VendorCsv);
    }
    Err(FileError(
        "cannot tell the file's format: not PSKC XML, not an otpauth list, not privacyIDEA's OATH CSV, and no CSV header with serial and secret columns; name it with --from".into(),
    ))
}

/// Reads `bytes` as `format` (or the detected one).
pub fn read(
    bytes: &[u8],
    format: Option<Format>,
    options: &ReadOptions,
) -> Result<Import, FileError> {
    let format = match format {
        Some(f) => f,
        None => detect(bytes)?,
    };
    match format {
        Format::VendorCsv => vendor_csv::read(bytes, options),
        Format::Pskc => pskc::read(bytes, options),
        Format::PrivacyIdea => privacyidea::read(bytes, options),
        Format::OtpauthList => otpauth_list::read(bytes, options),
        Format::GraphJson => graph_json::read(bytes, options),
    }
}

/// The records Entra can take by [`entra_fit`], and the others with why they are left out.
pub(crate) fn entra_split(records: &[TokenRecord], csv: bool) -> (Vec<&TokenRecord>, Vec<LeftOut>) {
    split_by(records, |r| entra_fit(r, csv))
}

/// The records `fit` takes, and the others with the reason it gives.
pub(crate) fn split_by(
    records: &[TokenRecord],
    fit: impl Fn(&TokenRecord) -> Result<(), String>,
) -> (Vec<&TokenRecord>, Vec<LeftOut>) {
    let mut left_out = Vec::new();
    let mut kept = Vec::with_capacity(records.len());
    for r in records {
        match fit(r) {
            Ok(()) => kept.push(r),
            Err(reason) => left_out.push(LeftOut::new(r, reason)),
        }
    }
    (kept, left_out)
}

/// Entra's rules for a token it can take, shared by the two Entra exports: [`token_fit`],
/// and for the CSV a user assigned.
pub(crate) fn entra_fit(record: &TokenRecord, csv: bool) -> Result<(), String> {
    token_fit(record, csv)?;
    if csv && record.upn.is_none() {
        return Err("has no user; Entra's CSV needs a UPN on every row (assign one, or use the Graph JSON for unassigned tokens)".into());
    }
    Ok(())
}

/// Entra's rules for the token itself (digits, hash, period, make). `csv` adds the CSV's
/// stricter hash rule (SHA-1 only).
pub(crate) fn token_fit(record: &TokenRecord, csv: bool) -> Result<(), String> {
    use crate::otp::Algorithm;
    if record.digits() != 6 {
        return Err(format!(
            "makes {}-digit codes; Entra takes 6-digit tokens only",
            record.digits()
        ));
    }
    match record.algorithm() {
        Algorithm::Sha1 => {}
        Algorithm::Sha256 if !csv => {}
        Algorithm::Sha256 => {
            return Err("uses SHA-256; Entra's CSV takes SHA-1 only (use the Graph JSON)".into());
        }
        Algorithm::Sha512 => return Err("uses SHA-512, which Entra does not support".into()),
    }
    if !matches!(record.period(), 30 | 60) {
        return Err(format!(
            "changes its code every {} seconds; Entra takes 30 or 60",
            record.period()
        ));
    }
    if record.manufacturer.is_empty() || record.model.is_empty() {
        return Err("has no manufacturer or model; Entra requires both".into());
    }
    Ok(())
}
