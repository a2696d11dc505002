//! The admin's record of the batch without a single seed: serial, user, model,
//! manufacturer, period, hash, where each token came from and when it was added. Write only.

use zeroize::Zeroizing;

use super::Export;
use crate::otp::utc_rfc3339;
use crate::tokens::TokensError;
use crate::tokens::batch::TokenRecord;

pub const INVENTORY_HEADER: &str = "serial,upn,model,manufacturer,period,algorithm,source,added at";

/// The inventory CSV: UTF-8, CRLF, one row per token, every token included.
pub fn write(records: &[TokenRecord]) -> Result<Export, TokensError> {
    let mut out = Zeroizing::new(Vec::new());
    {
        let mut w = csv::WriterBuilder::new()
            .terminator(csv::Terminator::CRLF)
            .quote_style(csv::QuoteStyle::Necessary)
            .from_writer(&mut *out);
        let err = |e: csv::Error| TokensError::Write(e.to_string());
        w.write_record(INVENTORY_HEADER.split(',')).map_err(err)?;
        for r in records {
            let period = r.period().to_string();
            let added = utc_rfc3339(r.added_at);
            w.write_record([
                r.serial.as_str(),
                r.upn.as_deref().unwrap_or(""),
                r.model.as_str(),
                r.manufacturer.as_str(),
                period.as_str(),
                r.algorithm().uri_name(),
                r.source.label(),
                added.as_str(),
            ])
            .map_err(err)?;
        }
        w.flush().map_err(|e| TokensError::Write(e.to_string()))?;
    }
    Ok(Export {
        bytes: out,
        included: records.len(),
        left_out: Vec::new(),
    })
}
