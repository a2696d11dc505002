//! The two ways token rows reach Microsoft Entra: the admin center's CSV upload and a Graph
//! JSON batch, plus what Entra's drift tolerances mean for a measured clock offset.
//!
//! The outputs hold seeds: they are returned in buffers wiped on drop and must never be
//! logged or written anywhere but to the user who asked for them.

use serde::Serialize;
use zeroize::Zeroizing;

use super::TokenRow;
use crate::otp::Algorithm;

/// Exactly Microsoft's header: lowercase, two names with a space, no trailing comma.
pub const ENTRA_CSV_HEADER: &str = "upn,serial number,secret key,time interval,manufacturer,model";

#[derive(Debug, thiserror::Error)]
pub enum TokensError {
    #[error("writing the file failed: {0}")]
    Write(String),
}

/// Entra's OATH hardware token CSV.
pub struct EntraCsv;

impl EntraCsv {
    /// The file for the rows the CSV can carry (SHA-1; `graph_only` rows are skipped):
    /// UTF-8 without BOM, CRLF line ends, secret as uppercase unpadded base32, quoting only
    /// where a field needs it (validation keeps every field from needing it).
    pub fn write(rows: &[TokenRow]) -> Result<Zeroizing<Vec<u8>>, TokensError> {
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
            for row in rows.iter().filter(|r| r.in_csv()) {
                let secret = row.secret.to_base32();
                let interval = row.interval.to_string();
                writer
                    .write_record([
                        row.upn.as_str(),
                        row.serial.as_str(),
                        secret.as_str(),
                        interval.as_str(),
                        row.manufacturer.as_str(),
                        row.model.as_str(),
                    ])
                    .map_err(|e| TokensError::Write(e.to_string()))?;
            }
            writer
                .flush()
                .map_err(|e| TokensError::Write(e.to_string()))?;
        }
        Ok(out)
    }
}

/// One device in a Graph `hardwareOathDevices` batch.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct GraphDevice<'a> {
    #[serde(rename = "@contentId")]
    content_id: String,
    serial_number: &'a str,
    manufacturer: &'a str,
    model: &'a str,
    secret_key: &'a str,
    time_interval_in_seconds: u32,
    hash_function: &'static str,
    display_name: String,
}

#[derive(Serialize)]
struct GraphBatch<'a> {
    #[serde(rename = "@context")]
    context: &'static str,
    value: Vec<GraphDevice<'a>>,
}

/// The rows as one Graph JSON batch for
/// `POST /beta/directory/authenticationMethodDevices/hardwareOathDevices`.
pub struct GraphJson;

impl GraphJson {
    /// Every row (SHA-1 and SHA-256), integers as numbers, enum values lowercase. Users are
    /// not assigned here: Graph wants their object ids, which a UPN is not.
    pub fn write(rows: &[TokenRow]) -> Result<Zeroizing<String>, TokensError> {
        let secrets: Vec<Zeroizing<String>> = rows.iter().map(|r| r.secret.to_base32()).collect();
        let value = rows
            .iter()
            .zip(&secrets)
            .enumerate()
            .map(|(i, (row, secret))| GraphDevice {
                content_id: (i + 1).to_string(),
                serial_number: &row.serial,
                manufacturer: &row.manufacturer,
                model: &row.model,
                secret_key: secret.as_str(),
                time_interval_in_seconds: row.interval,
                hash_function: match row.algorithm {
                    Algorithm::Sha256 => "hmacsha256",
                    // Validation admits only SHA-1 and SHA-256 rows.
                    _ => "hmacsha1",
                },
                display_name: format!("{} {} ({})", row.model, row.serial, row.upn),
            })
            .collect();
        let batch = GraphBatch {
            context: "#$delta",
            value,
        };
        serde_json::to_string_pretty(&batch)
            .map(Zeroizing::new)
            .map_err(|e| TokensError::Write(e.to_string()))
    }
}

/// What a measured clock offset means for a token registered in Entra.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DriftVerdict {
    /// Within the sign-in tolerance of Microsoft's newer engine (±1 min for 30 s tokens,
    /// ±2 min for 60 s): nothing to do.
    Fine,
    /// Within the ~450 s Azure MFA tolerates (Token2's guidance), but past what the newer
    /// engine accepts at sign-in; set the clock if it is over 420 s.
    Tolerated,
    /// Past 420 s: Token2's advice is to set the token's clock.
    ResetClock,
    /// Too far for sign-in, but the newer engine can absorb it once at activation
    /// (±1 day for 30 s tokens, ±2 days for 60 s).
    ActivationOnly,
    /// Beyond every tolerance: Entra will reject the codes.
    Rejected,
}

impl DriftVerdict {
    /// The verdict in plain words, for the page.
    pub fn explain(self) -> &'static str {
        match self {
            DriftVerdict::Fine => "Fine: within Entra's sign-in tolerance. Nothing to do.",
            DriftVerdict::Tolerated => {
                "Works: inside the roughly 450 seconds Azure MFA tolerates, though past the newer engine's sign-in window. Watch it; set the token's clock if it keeps drifting."
            }
            DriftVerdict::ResetClock => {
                "Set the token's clock: it is more than 420 seconds off, close to the 450 seconds Azure MFA tolerates."
            }
            DriftVerdict::ActivationOnly => {
                "Too far off for sign-in. Entra's newer engine can absorb this once at activation (within a day for 30-second tokens, two days for 60-second ones), but setting the token's clock is the safe fix."
            }
            DriftVerdict::Rejected => {
                "Too far off: Entra will reject these codes. Set the token's clock (Token2's burner apps can sync it) or replace the token."
            }
        }
    }
}

/// Places an offset (in seconds, token minus server) against Entra's tolerances as
/// formats.md records them.
pub fn entra_drift_verdict(offset_seconds: i64, period: u32) -> DriftVerdict {
    let off = offset_seconds.unsigned_abs();
    let long = period >= 60;
    let sign_in = if long { 120 } else { 60 };
    let activation = if long { 2 * 86_400 } else { 86_400 };
    if off <= sign_in {
        DriftVerdict::Fine
    } else if off <= 420 {
        DriftVerdict::Tolerated
    } else if off <= 450 {
        DriftVerdict::ResetClock
    } else if off <= activation {
        DriftVerdict::ActivationOnly
    } else {
        DriftVerdict::Rejected
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdict_thresholds() {
        assert_eq!(entra_drift_verdict(0, 30), DriftVerdict::Fine);
        assert_eq!(entra_drift_verdict(-60, 30), DriftVerdict::Fine);
        assert_eq!(entra_drift_verdict(90, 30), DriftVerdict::Tolerated);
        assert_eq!(entra_drift_verdict(120, 60), DriftVerdict::Fine);
        assert_eq!(entra_drift_verdict(-450, 30), DriftVerdict::ResetClock);
        assert_eq!(entra_drift_verdict(480, 30), DriftVerdict::ActivationOnly);
        assert_eq!(entra_drift_verdict(90_000, 30), DriftVerdict::Rejected);
        assert_eq!(
            entra_drift_verdict(90_000, 60),
            DriftVerdict::ActivationOnly
        );
    }
}
