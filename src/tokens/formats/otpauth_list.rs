//! One `otpauth://totp/` URI per line, as authenticator apps export them; the same written
//! from the batch, with the serial and model as extra parameters so the list reads back.

use percent_encoding::{NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use zeroize::Zeroizing;

use super::{Export, FileError, Format, Import, LeftOut, ReadOptions, utf8};
use crate::otp::{OtpAuth, UriError};
use crate::tokens::TokensError;
use crate::tokens::batch::{Source, TokenRecord, field};
use crate::tokens::validate::{check_text, check_upn};

/// Our own parameters (`serial`, `model`), which `OtpAuth` ignores as unknown.
fn extra_param(uri: &str, name: &str) -> Option<String> {
    let query = uri.split_once('?')?.1.split('#').next()?;
    query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        if !k.eq_ignore_ascii_case(name) {
            return None;
        }
        let v = v.replace('+', " ");
        percent_decode_str(&v)
            .decode_utf8()
            .ok()
            .map(|s| s.trim().to_string())
    })
}

/// Reads one URI per line; blank lines and `#` comments are skipped.
pub fn read(bytes: &[u8], options: &ReadOptions) -> Result<Import, FileError> {
    let text = utf8(bytes)?;
    let mut import = Import::new(Format::OtpauthList);
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let l = raw.trim();
        if l.is_empty() || l.starts_with('#') {
            continue;
        }
        let uri = match OtpAuth::parse(l) {
            Ok(u) => u,
            Err(UriError::Hotp) => {
                import.refuse(
                    line,
                    field::TYPE,
                    "otpauth://hotp/ is counter-based, Entra takes TOTP only",
                );
                continue;
            }
            Err(e @ UriError::Secret(_)) => {
                import.refuse(line, field::SECRET, e.to_string());
                continue;
            }
            Err(e) => {
                import.refuse(line, field::LINE, e.to_string());
                continue;
            }
        };
        let serial_param = extra_param(l, "serial").filter(|s| !s.is_empty());
        let (serial, upn) = match serial_param {
            Some(s) => {
                let upn = (!uri.account.is_empty() && check_upn(&uri.account).is_ok())
                    .then(|| uri.account.clone());
                (s, upn)
            }
            None => (uri.account.clone(), None),
        };
        if serial.is_empty() {
            import.refuse(
                line,
                field::SERIAL,
                "the URI names no serial (no serial= parameter and no account in the label)",
            );
            continue;
        }
        if let Err(m) = check_text(&serial) {
            import.refuse(line, field::SERIAL, m);
            continue;
        }
        let model = extra_param(l, "model").unwrap_or_default();
        let record = TokenRecord {
            serial,
            secret: uri.secret,
            params: uri.params,
            manufacturer: uri.issuer,
            model,
            upn,
            source: Source::Imported(Format::OtpauthList),
            added_at: options.added_at,
        };
        import.offer(line, record);
    }
    Ok(import)
}

/// One URI per token: the manufacturer as issuer, the user (or else the serial) as account,
/// algorithm, digits and period always stated, then `serial=` and `model=`.
pub fn write(records: &[TokenRecord]) -> Result<Export, TokensError> {
    let mut out = Zeroizing::new(String::with_capacity(records.len() * 160));
    let mut left_out = Vec::new();
    let mut included = 0;
    for r in records {
        let account = r.upn.as_deref().unwrap_or(&r.serial);
        let uri = match OtpAuth::new(r.secret.clone(), r.params, &r.manufacturer, account) {
            Ok(u) => u,
            Err(e) => {
                left_out.push(LeftOut::new(r, e.to_string()));
                continue;
            }
        };
        out.push_str(&uri.to_uri());
        out.push_str("&serial=");
        out.extend(utf8_percent_encode(&r.serial, NON_ALPHANUMERIC));
        if !r.model.is_empty() {
            out.push_str("&model=");
            out.extend(utf8_percent_encode(&r.model, NON_ALPHANUMERIC));
        }
        out.push('\n');
        included += 1;
    }
    Ok(Export::from_text(out, included, left_out))
}
