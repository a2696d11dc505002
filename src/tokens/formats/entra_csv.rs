//! Entra's OATH hardware token CSV (admin center › MFA › OATH tokens › Upload): written
//! byte for byte as Microsoft's template wants it; read back by the vendor CSV reader.
//!
//! The file holds seeds: it comes back in a buffer wiped on drop and must never be logged.

use zeroize::Zeroizing;

use super::{Export, entra_split, split_by, token_fit};
use crate::tokens::TokensError;
use crate::tokens::batch::TokenRecord;

/// Exactly Microsoft's header: lowercase, two names with a space, no trailing comma.
pub const ENTRA_CSV_HEADER: &str = "upn,serial number,secret key,time interval,manufacturer,model";

/// A record's cells but the secret: upn, serial, interval, manufacturer, model.
fn cells_of(r: &TokenRecord) -> [&str; 5] {
    [
        r.upn.as_deref().unwrap_or(""),
        r.serial.as_str(),
        if r.period() == 60 { "60" } else { "30" },
        r.manufacturer.as_str(),
        r.model.as_str(),
    ]
}

/// What the csv crate quotes a cell for (`QuoteStyle::Necessary`, `,` between cells, CRLF
/// at the end): the delimiter, a quote, CR or LF. Validation keeps every cell of a batch
/// free of them; a record built some other way is still written as the crate would.
fn needs_quotes(cell: &str) -> bool {
    cell.bytes()
        .any(|b| matches!(b, b',' | b'"' | b'\r' | b'\n'))
}

fn cell_len(cell: &str) -> usize {
    if needs_quotes(cell) {
        cell.len() + 2 + cell.bytes().filter(|&b| b == b'"').count()
    } else {
        cell.len()
    }
}

/// A cell as the csv crate writes it: as it is, or in quotes with each quote doubled.
fn push_cell(out: &mut Vec<u8>, cell: &str) {
    if !needs_quotes(cell) {
        out.extend_from_slice(cell.as_bytes());
        return;
    }
    out.push(b'"');
    for b in cell.bytes() {
        if b == b'"' {
            out.push(b'"');
        }
        out.push(b);
    }
    out.push(b'"');
}

/// The batch as Entra's CSV: tokens with a user, SHA-1, 6 digits, 30 or 60 s, with a
/// manufacturer and a model. The others are listed with why they are left out.
pub fn write(records: &[TokenRecord]) -> Result<Export, TokensError> {
    let (kept, left_out) = entra_split(records, true);
    Ok(write_kept(kept, left_out))
}

/// As [`write`], but a token without a user is written too, with an empty UPN (Entra
/// refuses that row until one is filled in): the file a bulk burn keeps as it goes, which
/// must hold every seed burned, the users given later.
pub fn write_unassigned_too(records: &[TokenRecord]) -> Result<Export, TokensError> {
    let (kept, left_out) = split_by(records, |r| token_fit(r, true));
    Ok(write_kept(kept, left_out))
}

fn write_kept(kept: Vec<&TokenRecord>, left_out: Vec<super::LeftOut>) -> Export {
    // The file is written straight into one buffer of exactly its size, seeds encoded in
    // place: a buffer that regrew would leave copies of seeds behind in freed memory, and a
    // separate buffer per seed would be one more copy to wipe.
    let mut size = ENTRA_CSV_HEADER.len() + 2;
    let mut quotes = false;
    for r in &kept {
        let cells = cells_of(r);
        for cell in cells {
            let len = cell_len(cell);
            quotes |= len != cell.len();
            size += len;
        }
        size += data_encoding::BASE32_NOPAD.encode_len(r.secret.len()) + cells.len() + 2;
    }
    let mut out = Zeroizing::new(Vec::with_capacity(size));
    out.extend_from_slice(ENTRA_CSV_HEADER.as_bytes());
    out.extend_from_slice(b"\r\n");
    // Validation keeps quotes out of every batch; without them a cell goes in as it is.
    let push = |out: &mut Vec<u8>, cell: &str| {
        if quotes {
            push_cell(out, cell);
        } else {
            out.extend_from_slice(cell.as_bytes());
        }
    };
    for r in &kept {
        let [upn, serial, interval, manufacturer, model] = cells_of(r);
        push(&mut out, upn);
        out.push(b',');
        push(&mut out, serial);
        out.push(b',');
        let start = out.len();
        out.resize(
            start + data_encoding::BASE32_NOPAD.encode_len(r.secret.len()),
            0,
        );
        data_encoding::BASE32_NOPAD.encode_mut(r.secret.as_bytes(), &mut out[start..]);
        out.push(b',');
        push(&mut out, interval);
        out.push(b',');
        push(&mut out, manufacturer);
        out.push(b',');
        push(&mut out, model);
        out.extend_from_slice(b"\r\n");
    }
    debug_assert_eq!(out.len(), size);
    Export {
        bytes: out,
        included: kept.len(),
        left_out,
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::otp::{Algorithm, Params, Secret};
    use crate::tokens::Source;

    /// What the csv crate writes for the same rows: the writer this one must match.
    fn by_the_csv_crate(records: &[TokenRecord]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut writer = csv::WriterBuilder::new()
            .terminator(csv::Terminator::CRLF)
            .quote_style(csv::QuoteStyle::Necessary)
            .from_writer(&mut out);
        writer.write_record(ENTRA_CSV_HEADER.split(',')).unwrap();
        for r in entra_split(records, true).0 {
            let secret = r.secret.to_base32();
            let [upn, serial, interval, manufacturer, model] = cells_of(r);
            writer
                .write_record([upn, serial, secret.as_str(), interval, manufacturer, model])
                .unwrap();
        }
        writer.flush().unwrap();
        drop(writer);
        out
    }

    fn record() -> impl Strategy<Value = TokenRecord> {
        let text = "[a-z\",\r\n é0-9\t]{0,12}";
        (
            text,
            text,
            text,
            proptest::option::weighted(0.9, text),
            prop::collection::vec(any::<u8>(), 10..=80),
            prop::sample::select(&[30u32, 60, 90][..]),
        )
            .prop_map(
                |(serial, manufacturer, model, upn, seed, period)| TokenRecord {
                    serial,
                    secret: Secret::from_bytes(seed).unwrap(),
                    params: Params::new(Algorithm::Sha1, 6, period).unwrap(),
                    manufacturer,
                    model,
                    upn,
                    source: Source::Typed,
                    added_at: 0,
                },
            )
    }

    proptest! {
        /// Byte for byte what the csv crate writes, quotes and all, whatever the cells hold.
        #[test]
        fn cells_are_written_as_the_csv_crate_writes_them(
            records in prop::collection::vec(record(), 0..8),
        ) {
            let export = write(&records).unwrap();
            let expected = by_the_csv_crate(&records);
            prop_assert_eq!(export.bytes.as_slice(), expected.as_slice());
            prop_assert_eq!(export.bytes.capacity(), export.bytes.len());
        }
    }
}
