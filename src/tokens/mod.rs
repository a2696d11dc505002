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
pub use formats::entra_csv::ENTRA_CSV_HEADER;
pub use formats::{Export, ExportFormat, FileError, Format, Import, Keys, LeftOut, ReadOptions};
pub use user_list::{Shape, UserLine, UserList, UserListError, parse_user_list};
/// Entra's 30-or-60-second rule, for forms outside this module that offer the same choice.
pub(crate) use validate::check_interval;
pub use validate::{
    Field, FieldError, MAX_ENTRA_BASE32_CHARS, RowInput, TokenSource, check_text, check_upn,
    validate_record,
};
