//! Entra's OATH hardware token CSV (admin center › MFA › OATH tokens › Upload): written
//! byte for byte as Microsoft's template wants it; read back by the vendor CSV reader.
//!
//! The file holds seeds: it comes back in a buffer wiped on drop and must never be logged.

use zeroize::Zeroizing;

use super::{Export, LeftOut, entra_fit};
use crate::tokens::batch::TokenRecord;
use crate::tokens::{MAX_ENTRA_BASE32_CHARS, TokenRow, TokensError};

/// Exactly Microsoft's header: lowercase, two names with a space, no trailing comma.
pub const ENTRA_CSV_HEADER: &str = "upn,serial number,secret key,time interval,manufacturer,model";

/// Entra's OATH hardware token CSV.
pub struct EntraCsv;

/// One row as Entra's columns: upn, serial, base32 secret, interval, manufacturer, model.
type Cells<'a> = [&'a str; 6];

/// UTF-8 without BOM, CRLF line ends, quoting only where a field needs it (validation keeps
/// every field from needing it), no trailing comma.
fn write_cells<'a>(
    rows: impl Iterator<Item = Cells<'a>>,
) -> Result<Zeroizing<Vec<u8>>, TokensError> {
    let mut out = Zeroizing::new(Vec::new());
    {
        let mut writer = csv::WriterBuilder::new()
            .terminator(csv::Terminator::CRLF)
            .quote_style(csv::QuoteStyle::Necessary)
            .from_writer(&mut *out);
        let header: Vec<&str> = ENTRA_CSV_HEADER.split(',').collect();
        writer
            .write_record(&header)
            .map_err(|e| TokensError::Write(e.to_string()))?;
        for cells in rows {
            writer
                .write_record(cells)
                .map_err(|e| TokensError::Write(e.to_string()))?;
        }
        writer
            .flush()
            .map_err(|e| TokensError::Write(e.to_string()))?;
    }
    Ok(out)
}

impl EntraCsv {
    /// The file for the rows the CSV can carry (SHA-1; `graph_only` rows are skipped),
    /// secrets as uppercase unpadded base32.
    pub fn write(rows: &[TokenRow]) -> Result<Zeroizing<Vec<u8>>, TokensError> {
        let kept: Vec<&TokenRow> = rows.iter().filter(|r| r.in_csv()).collect();
        let secrets: Vec<Zeroizing<String>> = kept.iter().map(|r| r.secret.to_base32()).collect();
        let intervals: Vec<String> = kept.iter().map(|r| r.interval.to_string()).collect();
        write_cells(
            kept.iter()
                .zip(&secrets)
                .zip(&intervals)
                .map(|((r, s), i)| {
                    [
                        r.upn.as_str(),
                        r.serial.as_str(),
                        s.as_str(),
                        i.as_str(),
                        r.manufacturer.as_str(),
                        r.model.as_str(),
                    ]
                }),
        )
    }
}

/// The batch as Entra's CSV: tokens with a user, SHA-1, 6 digits, 30 or 60 s, with a
/// manufacturer and a model. The others are listed with why they are left out.
pub fn write(records: &[TokenRecord]) -> Result<Export, TokensError> {
    let mut left_out = Vec::new();
    let mut kept = Vec::with_capacity(records.len());
    for r in records {
        match entra_fit(r, true) {
            Ok(()) => kept.push(r),
            Err(reason) => left_out.push(LeftOut::new(r, reason)),
        }
    }
    // One base32 buffer for every row (wiped on drop), and the output sized up front, so
    // the file is written without a copy of every seed or a trail of regrown buffers.
    let mut secret = Zeroizing::new(String::with_capacity(MAX_ENTRA_BASE32_CHARS));
    let mut out = Zeroizing::new(Vec::with_capacity(
        ENTRA_CSV_HEADER.len() + 2 + kept.len() * 112,
    ));
    {
        let err = |e: csv::Error| TokensError::Write(e.to_string());
        let mut writer = csv::WriterBuilder::new()
            .terminator(csv::Terminator::CRLF)
            .quote_style(csv::QuoteStyle::Necessary)
            .from_writer(&mut *out);
        writer
            .write_record(ENTRA_CSV_HEADER.split(','))
            .map_err(err)?;
        for r in &kept {
            secret.clear();
            data_encoding::BASE32_NOPAD.encode_append(r.secret.as_bytes(), &mut secret);
            writer
                .write_record([
                    r.upn.as_deref().unwrap_or(""),
                    r.serial.as_str(),
                    secret.as_str(),
                    if r.period() == 60 { "60" } else { "30" },
                    r.manufacturer.as_str(),
                    r.model.as_str(),
                ])
                .map_err(err)?;
        }
        writer
            .flush()
            .map_err(|e| TokensError::Write(e.to_string()))?;
    }
    Ok(Export {
        bytes: out,
        included: kept.len(),
        left_out,
    })
}
