//! privacyIDEA's OATH CSV: `serial, hexkey, type, digits, timestep` per line, `#` comments.
//! privacyIDEA guesses the hash from the key's length (64 hex digits SHA-256, 128 SHA-512,
//! anything else SHA-1), so that is how it is read, and a token whose hash the length would
//! misstate is left out of what is written.

use std::fmt::Write as _;

use zeroize::Zeroizing;

use super::{Export, FileError, Format, Import, LeftOut, ReadOptions, utf8};
use crate::otp::{Algorithm, Params, Secret, parse_digits, parse_period};
use crate::tokens::TokensError;
use crate::tokens::batch::{Candidate, Source, TokenRecord, field};
use crate::tokens::validate::check_text;

/// The hash privacyIDEA infers from a seed of `len` bytes.
fn implied_hash(len: usize) -> Algorithm {
    match len {
        32 => Algorithm::Sha256,
        64 => Algorithm::Sha512,
        _ => Algorithm::Sha1,
    }
}

fn is_hex_key(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_hexdigit())
}

/// True when `first_line` reads as a privacyIDEA row: a hex key then `totp` or `hotp`.
pub(crate) fn looks_like(first_line: &str) -> bool {
    let fields: Vec<&str> = first_line.split(',').map(str::trim).collect();
    fields.len() >= 3
        && is_hex_key(fields[1])
        && matches!(fields[2].to_ascii_lowercase().as_str(), "totp" | "hotp")
}

/// Reads privacyIDEA's OATH CSV.
pub fn read(bytes: &[u8], options: &ReadOptions) -> Result<Import, FileError> {
    let text = utf8(bytes)?;
    let mut import = Import::new(Format::PrivacyIdea);
    let mut extra_noted = false;
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let l = raw.trim();
        if l.is_empty() || l.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = l.split(',').map(str::trim).collect();
        if fields.len() < 3 {
            import.refuse(
                line,
                field::LINE,
                "needs at least serial, hexkey and type (totp), separated by commas",
            );
            continue;
        }
        if fields.len() > 5 && !extra_noted {
            import
                .notes
                .push("fields after the fifth (timestep) are ignored".into());
            extra_noted = true;
        }
        let serial = fields[0];
        if let Err(m) = check_text(serial) {
            import.refuse(line, field::SERIAL, m);
            continue;
        }
        match fields[2].to_ascii_lowercase().as_str() {
            "totp" => {}
            "hotp" => {
                import.refuse(
                    line,
                    field::TYPE,
                    "hotp is counter-based, Entra takes TOTP only",
                );
                continue;
            }
            // The value itself is never quoted: in a line whose columns slipped it may be
            // the seed.
            _ => {
                import.refuse(
                    line,
                    field::TYPE,
                    "the third column must be totp (the token type)",
                );
                continue;
            }
        }
        let secret = match Secret::parse_hex(fields[1]) {
            Ok(s) => s,
            Err(e) => {
                import.refuse(line, field::SECRET, format!("read as hex: {e}"));
                continue;
            }
        };
        let digits = match fields.get(3).filter(|d| !d.is_empty()) {
            None => 6,
            Some(d) => match parse_digits(d) {
                Ok(d) => d,
                Err(_) => {
                    import.refuse(line, field::DIGITS, "digits must be 6 or 8");
                    continue;
                }
            },
        };
        let period = match fields.get(4).filter(|p| !p.is_empty()) {
            None => 30,
            Some(p) => match parse_period(p.trim_end_matches(['s', 'S'])) {
                Ok(p) => p,
                Err(_) => {
                    import.refuse(
                        line,
                        field::INTERVAL,
                        "timestep must be a whole number of seconds from 1 to 3600",
                    );
                    continue;
                }
            },
        };
        let Ok(params) = Params::new(implied_hash(secret.len()), digits, period) else {
            continue;
        };
        import.candidates.push(Candidate {
            line,
            record: TokenRecord {
                serial: serial.to_string(),
                secret,
                params,
                manufacturer: String::new(),
                model: String::new(),
                upn: None,
                source: Source::Imported(Format::PrivacyIdea),
                added_at: options.added_at,
            },
        });
    }
    Ok(import)
}

/// The batch as privacyIDEA's OATH CSV (no users, manufacturers or models: the format has
/// no place for them).
pub fn write(records: &[TokenRecord]) -> Result<Export, TokensError> {
    let mut out = Zeroizing::new(String::with_capacity(records.len() * 64 + 64));
    out.push_str("# privacyIDEA OATH CSV: serial, hexkey, type, digits, timestep\n");
    let mut left_out = Vec::new();
    let mut included = 0;
    for r in records {
        if implied_hash(r.secret.len()) != r.algorithm() {
            left_out.push(LeftOut::new(
                r,
                format!(
                    "uses {} with a {}-byte seed; privacyIDEA would take it for {} (it guesses the hash from the seed's length)",
                    r.algorithm(),
                    r.secret.len(),
                    implied_hash(r.secret.len())
                ),
            ));
            continue;
        }
        let hex = r.secret.to_hex();
        writeln!(
            out,
            "{}, {}, totp, {}, {}",
            r.serial,
            hex.as_str(),
            r.digits(),
            r.period()
        )
        .map_err(|e| TokensError::Write(e.to_string()))?;
        included += 1;
    }
    Ok(Export::from_text(out, included, left_out))
}
