//! otpauth:// URIs, the text inside the QR codes that phones and NFC burner apps scan:
//! building a complete one, and reading one back (seed, issuer, account and parameters).

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use zeroize::Zeroizing;

use super::params::{Algorithm, ParamError, Params, parse_digits, parse_period};
use super::secret::{Secret, SeedError};

/// Everything but RFC 3986 unreserved characters is escaped, so labels with spaces, colons,
/// `@`, `&`, `#`, `?` or non-ASCII survive every scanner.
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// What an otpauth URI says about a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OtpAuth {
    pub secret: Secret,
    pub params: Params,
    /// The service name (`Contoso`); empty when the URI gives none.
    pub issuer: String,
    /// The account (`alice@contoso.com`); may be empty.
    pub account: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UriError {
    #[error("not an otpauth URI: it must start with otpauth://totp/")]
    Scheme,
    #[error("otpauth://hotp/ (counter-based) is not supported; only otpauth://totp/")]
    Hotp,
    #[error("otpauth URI has no secret= parameter")]
    NoSecret,
    #[error("secret in otpauth URI: {0}")]
    Secret(#[from] SeedError),
    #[error("{0}")]
    Param(#[from] ParamError),
    #[error("{field} may not contain ':' (it separates issuer and account in the label)")]
    Colon { field: &'static str },
    #[error("{field} is {chars} characters; at most {MAX_LABEL_CHARS} are allowed")]
    LabelTooLong { field: &'static str, chars: usize },
    #[error("{field} may not contain line breaks, tabs or other control characters")]
    LabelControl { field: &'static str },
    #[error("otpauth URI is not valid UTF-8 after percent-decoding")]
    Utf8,
    #[error(
        "issuer parameter '{param}' differs from the label's issuer '{label}'; they must match"
    )]
    IssuerMismatch { param: String, label: String },
}

/// The longest issuer or account the label takes. Longer labels make QR codes too dense for
/// phone cameras (and past a point, too long for a QR code at all), and no real one needs it.
pub const MAX_LABEL_CHARS: usize = 64;

/// The rules for one part of the label (`field` is "issuer" or "account"), the same for a
/// typed label and an imported URI: no colon, no control characters, at most
/// [`MAX_LABEL_CHARS`] characters once trimmed.
pub fn check_label_part(field: &'static str, value: &str) -> Result<(), UriError> {
    if value.contains(':') {
        return Err(UriError::Colon { field });
    }
    if value.chars().any(char::is_control) {
        return Err(UriError::LabelControl { field });
    }
    let chars = value.trim().chars().count();
    if chars > MAX_LABEL_CHARS {
        return Err(UriError::LabelTooLong { field, chars });
    }
    Ok(())
}

fn decode(s: &str, plus_is_space: bool) -> Result<String, UriError> {
    let s = if plus_is_space {
        s.replace('+', " ")
    } else {
        s.to_string()
    };
    percent_decode_str(&s)
        .decode_utf8()
        .map(|c| c.into_owned())
        .map_err(|_| UriError::Utf8)
}

impl OtpAuth {
    /// Checks issuer and account against [`check_label_part`].
    pub fn new(
        secret: Secret,
        params: Params,
        issuer: &str,
        account: &str,
    ) -> Result<Self, UriError> {
        check_label_part("issuer", issuer)?;
        check_label_part("account", account)?;
        Ok(OtpAuth {
            secret,
            params,
            issuer: issuer.trim().to_string(),
            account: account.trim().to_string(),
        })
    }

    /// The complete URI. Algorithm, digits and period are always stated, so no scanner has to
    /// guess; `secret` is unpadded uppercase base32. The result holds the seed, so it is
    /// wrapped to be wiped when dropped.
    pub fn to_uri(&self) -> Zeroizing<String> {
        let account = utf8_percent_encode(&self.account, COMPONENT).to_string();
        let label = if self.issuer.is_empty() {
            account
        } else {
            format!(
                "{}:{}",
                utf8_percent_encode(&self.issuer, COMPONENT),
                account
            )
        };
        let mut uri = Zeroizing::new(format!(
            "otpauth://totp/{label}?secret={}",
            self.secret.to_base32().as_str()
        ));
        if !self.issuer.is_empty() {
            uri.push_str("&issuer=");
            uri.push_str(&utf8_percent_encode(&self.issuer, COMPONENT).to_string());
        }
        uri.push_str(&format!(
            "&algorithm={}&digits={}&period={}",
            self.params.algorithm().uri_name(),
            self.params.digits(),
            self.params.period()
        ));
        uri
    }

    /// Reads an `otpauth://totp/LABEL?secret=...` URI. Unknown parameters are ignored;
    /// missing algorithm, digits and period take the usual defaults (SHA1, 6, 30).
    pub fn parse(uri: &str) -> Result<Self, UriError> {
        let uri = uri.trim();
        let lower = uri.get(..15).map(|p| p.to_ascii_lowercase());
        let rest = match lower.as_deref() {
            Some("otpauth://totp/") => &uri[15..],
            Some("otpauth://hotp/") => return Err(UriError::Hotp),
            _ => return Err(UriError::Scheme),
        };
        let (label, query) = rest.split_once('?').unwrap_or((rest, ""));
        // A fragment is never part of an otpauth URI's meaning.
        let query = query.split('#').next().unwrap_or("");
        let label = decode(label, false)?;
        let (label_issuer, account) = match label.split_once(':') {
            Some((i, a)) => (Some(i.trim().to_string()), a.trim().to_string()),
            None => (None, label.trim().to_string()),
        };
        check_label_part("account", &account)?;
        if let Some(l) = &label_issuer {
            check_label_part("issuer", l)?;
        }

        let mut secret = None;
        let mut issuer_param = None;
        let mut algorithm = Algorithm::Sha1;
        let mut digits = 6;
        let mut period = 30;
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            match key.to_ascii_lowercase().as_str() {
                "secret" => {
                    let value = Zeroizing::new(decode(value, false)?);
                    secret = Some(Secret::parse_base32(&value)?);
                }
                "issuer" => issuer_param = Some(decode(value, true)?.trim().to_string()),
                "algorithm" => algorithm = decode(value, false)?.parse()?,
                "digits" => digits = parse_digits(&decode(value, false)?)?,
                "period" => period = parse_period(&decode(value, false)?)?,
                _ => {}
            }
        }
        let secret = secret.ok_or(UriError::NoSecret)?;
        if let Some(p) = &issuer_param {
            check_label_part("issuer", p)?;
        }
        let issuer = match (label_issuer, issuer_param) {
            (Some(l), Some(p)) if !l.is_empty() && l != p => {
                return Err(UriError::IssuerMismatch { param: p, label: l });
            }
            (_, Some(p)) => p,
            (Some(l), None) => l,
            (None, None) => String::new(),
        };
        Ok(OtpAuth {
            secret,
            params: Params::new(algorithm, digits, period)?,
            issuer,
            account,
        })
    }
}
