//! Token records and the files they travel in: the batch (records from any source, each
//! with an optional user), Entra's rules, and one module per file format.
//!
//! Pure: no I/O, no clock, no logging. Records hold seeds, so they are never printed by
//! Debug and the files built from them come back in buffers that are wiped when dropped.

pub mod batch;
pub mod containers;
mod entra;
pub mod formats;
mod user_list;
mod validate;

pub use batch::{
    AssignPlan, AssignReport, Batch, BatchLimit, Candidate, Conflict, MAX_OATH_METHODS_PER_USER,
    Refusal, Source, TokenRecord,
};
pub use entra::{DriftVerdict, TokensError, entra_drift_verdict};
pub use formats::entra_csv::{ENTRA_CSV_HEADER, EntraCsv};
pub use formats::graph_json::GraphJson;
pub use formats::{Export, ExportFormat, FileError, Format, Import, Keys, LeftOut, ReadOptions};
pub use user_list::{Shape, UserLine, UserList, UserListError, parse_user_list};
pub use validate::{
    Field, FieldError, MAX_ENTRA_BASE32_CHARS, RowInput, TokenSource, check_text, check_upn,
    validate_record, validate_row,
};

use crate::otp::{Algorithm, Secret};

/// One hardware token as Entra sees it: who gets it, which token, its seed and how it counts.
/// Debug is safe: `Secret` prints `[redacted]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenRow {
    pub upn: String,
    pub serial: String,
    /// Zeroized on drop by `Secret` itself.
    pub secret: Secret,
    /// Seconds per code: 30 or 60.
    pub interval: u32,
    pub manufacturer: String,
    pub model: String,
    /// SHA-1 for the CSV; SHA-256 only for rows marked `graph_only`.
    pub algorithm: Algorithm,
    /// Rows Entra's CSV cannot carry (SHA-256 tokens): only the Graph JSON export has them.
    pub graph_only: bool,
}

impl TokenRow {
    /// True when this row belongs in Entra's CSV file.
    pub fn in_csv(&self) -> bool {
        !self.graph_only
    }
}
