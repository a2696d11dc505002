//! The Graph JSON batch for Entra's hardware OATH token inventory, and reading it back.
//!
//! The `#$delta` batch is sent with **PATCH** (not POST, which takes one device) to
//! `https://graph.microsoft.com/beta/directory/authenticationMethodDevices/hardwareOathDevices`,
//! with the permission `Policy.ReadWrite.AuthenticationMethod`:
//! `Invoke-MgGraphRequest -Method PATCH -Uri "https://graph.microsoft.com/beta/directory/authenticationMethodDevices/hardwareOathDevices" -Body (Get-Content tokens.json -Raw) -ContentType "application/json"`.
//! The file holds seeds: it comes back in a buffer wiped on drop.

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::{Export, FileError, Format, Import, ReadOptions, entra_split, utf8};
use crate::otp::clip;
use crate::otp::{Algorithm, Params, Secret};
use crate::tokens::TokensError;
use crate::tokens::batch::{Source, TokenRecord, field};
use crate::tokens::validate::check_upn;

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

fn hash_name(a: Algorithm) -> &'static str {
    match a {
        Algorithm::Sha256 => "hmacsha256",
        // Callers admit only SHA-1 and SHA-256.
        _ => "hmacsha1",
    }
}

/// The display name: model, serial and, when assigned, the user in brackets (read back as
/// the UPN, since Graph's own assignment wants an object id, which a UPN is not).
fn display_name(model: &str, serial: &str, upn: Option<&str>) -> String {
    match upn {
        Some(u) if !u.is_empty() => format!("{model} {serial} ({u})"),
        _ => format!("{model} {serial}"),
    }
}

fn to_json(value: Vec<GraphDevice<'_>>) -> Result<Zeroizing<String>, TokensError> {
    let batch = GraphBatch {
        context: "#$delta",
        value,
    };
    serde_json::to_string_pretty(&batch)
        .map(Zeroizing::new)
        .map_err(|e| TokensError::Write(e.to_string()))
}

/// The batch as a Graph JSON batch: assigned or not, SHA-1 or SHA-256, 30 or 60 s.
pub fn write(records: &[TokenRecord]) -> Result<Export, TokensError> {
    let (kept, left_out) = entra_split(records, false);
    let secrets: Vec<Zeroizing<String>> = kept.iter().map(|r| r.secret.to_base32()).collect();
    let value = kept
        .iter()
        .zip(&secrets)
        .enumerate()
        .map(|(i, (r, secret))| GraphDevice {
            content_id: (i + 1).to_string(),
            serial_number: &r.serial,
            manufacturer: &r.manufacturer,
            model: &r.model,
            secret_key: secret.as_str(),
            time_interval_in_seconds: r.period(),
            hash_function: hash_name(r.algorithm()),
            display_name: display_name(&r.model, &r.serial, r.upn.as_deref()),
        })
        .collect();
    Ok(Export::from_text(to_json(value)?, kept.len(), left_out))
}

#[derive(Deserialize)]
struct InBatch {
    value: Vec<InDevice>,
}

/// A seed as text, wiped when dropped.
struct SecretText(Zeroizing<String>);

impl<'de> Deserialize<'de> for SecretText {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(|s| SecretText(Zeroizing::new(s)))
    }
}

/// Fields are optional so that a missing one refuses its device, not the file. Deserialized
/// straight from the text (no `serde_json::Value` tree), so the seed lives only in a
/// buffer that is wiped.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct InDevice {
    serial_number: Option<String>,
    #[serde(default)]
    manufacturer: String,
    #[serde(default)]
    model: String,
    secret_key: Option<SecretText>,
    time_interval_in_seconds: Option<u32>,
    hash_function: Option<String>,
    display_name: Option<String>,
}

/// Reads a Graph batch back (ours, or one written by hand). "Lines" are the devices'
/// positions in `value`, counted from 1.
pub fn read(bytes: &[u8], options: &ReadOptions) -> Result<Import, FileError> {
    let text = utf8(bytes)?;
    let batch: InBatch = serde_json::from_str(text).map_err(|e| {
        FileError(format!(
            "not a Graph JSON batch ({{\"value\": [devices]}} with strings and numbers where Graph has them): line {}, column {}",
            e.line(),
            e.column()
        ))
    })?;
    let mut import = Import::new(Format::GraphJson);
    import
        .notes
        .push("Graph JSON: a refusal's line is the device's position in \"value\"".into());
    for (i, device) in batch.value.into_iter().enumerate() {
        let line = i + 1;
        let (Some(serial), Some(secret_key)) = (device.serial_number, device.secret_key) else {
            import.refuse(line, field::LINE, "needs serialNumber and secretKey");
            continue;
        };
        let algorithm = match device.hash_function.as_deref() {
            None | Some("hmacsha1") => Algorithm::Sha1,
            Some("hmacsha256") => Algorithm::Sha256,
            Some(other) => {
                import.refuse(
                    line,
                    field::ALGORITHM,
                    format!(
                        "hashFunction '{}' is not hmacsha1 or hmacsha256",
                        clip(other)
                    ),
                );
                continue;
            }
        };
        let secret = match Secret::parse_base32(&secret_key.0) {
            Ok(s) => s,
            Err(e) => {
                import.refuse(line, field::SECRET, e.to_string());
                continue;
            }
        };
        let params = match Params::new(algorithm, 6, device.time_interval_in_seconds.unwrap_or(30))
        {
            Ok(p) => p,
            Err(e) => {
                import.refuse(line, field::INTERVAL, e.to_string());
                continue;
            }
        };
        let upn = device.display_name.as_deref().and_then(|d| {
            let inner = d.strip_suffix(')')?.rsplit_once(" (")?.1;
            check_upn(inner).ok().map(|()| inner.to_string())
        });
        let record = TokenRecord {
            serial,
            secret,
            params,
            manufacturer: device.manufacturer,
            model: device.model,
            upn,
            source: Source::Imported(Format::GraphJson),
            added_at: options.added_at,
        };
        import.offer(line, record);
    }
    Ok(import)
}
