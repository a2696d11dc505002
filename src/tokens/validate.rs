//! Checking one token row against Entra's upload rules before it joins a list, so that the
//! file an admin uploads never fails for a reason we could have caught.
//!
//! Every problem is reported against the field it concerns, all at once, and never echoes a
//! seed in a message.

use super::batch::{Source, TokenRecord};
use crate::otp::{Algorithm, Params, Secret, SeedError};

/// Entra's limit on the `secret key` column (80 bytes of seed).
pub const MAX_ENTRA_BASE32_CHARS: usize = 128;
/// Long enough for any real UPN (Entra allows 113), short enough to keep pages sane.
const MAX_UPN_CHARS: usize = 113;
const MAX_TEXT_CHARS: usize = 64;

/// One of Entra's six columns: a field of the row form (`name()` is its HTML form field
/// name) and a column of a seed file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    Upn,
    Serial,
    Secret,
    Interval,
    Manufacturer,
    Model,
}

impl Field {
    pub fn name(self) -> &'static str {
        match self {
            Field::Upn => "upn",
            Field::Serial => "serial",
            Field::Secret => "secret",
            Field::Interval => "interval",
            Field::Manufacturer => "manufacturer",
            Field::Model => "model",
        }
    }

    /// The column name as Entra's CSV header spells it, used to start messages.
    pub fn label(self) -> &'static str {
        match self {
            Field::Upn => "UPN",
            Field::Serial => "Serial number",
            Field::Secret => "Secret key",
            Field::Interval => "Time interval",
            Field::Manufacturer => "Manufacturer",
            Field::Model => "Model",
        }
    }
}

/// One problem with one field. The message names the field and says what to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    pub field: Field,
    pub message: String,
}

impl FieldError {
    fn new(field: Field, message: impl std::fmt::Display) -> Self {
        FieldError {
            field,
            message: format!("{}: {message}", field.label()),
        }
    }
}

/// The row as typed into a form. An empty `secret` means "the current token".
#[derive(Clone, Copy, Debug, Default)]
pub struct RowInput<'a> {
    pub upn: &'a str,
    pub serial: &'a str,
    pub secret: &'a str,
    pub interval: &'a str,
    pub manufacturer: &'a str,
    pub model: &'a str,
    /// The user asked for a row that only the Graph JSON export carries (SHA-256 tokens).
    pub graph_only: bool,
}

/// The token that an empty secret field stands for, with the parameters it was made with.
#[derive(Clone, Copy, Debug)]
pub struct TokenSource<'a> {
    pub secret: &'a Secret,
    pub params: Params,
}

/// Checks a typed row for the batch against Entra's rules, where the UPN is optional
/// (unassigned tokens are first-class). Returns the record, stamped `added_at`, or every
/// problem found. Duplicates are the batch's to find ([`super::Batch::conflict`]).
pub fn validate_record(
    input: &RowInput<'_>,
    current: Option<TokenSource<'_>>,
    added_at: u64,
) -> Result<TokenRecord, Vec<FieldError>> {
    let mut errors = Vec::new();

    let upn = input.upn.trim();
    if !upn.is_empty()
        && let Err(m) = check_upn(upn)
    {
        errors.push(FieldError::new(Field::Upn, m));
    }

    let serial = input.serial.trim();
    if let Err(m) = check_text(serial) {
        errors.push(FieldError::new(Field::Serial, m));
    }

    let interval = match check_interval(input.interval.trim()) {
        Ok(i) => Some(i),
        Err(m) => {
            errors.push(FieldError::new(Field::Interval, m));
            None
        }
    };

    let secret = match resolve_secret(input, current, interval) {
        Ok(pair) => Some(pair),
        Err(e) => {
            errors.push(e);
            None
        }
    };

    let manufacturer = input.manufacturer.trim();
    if let Err(m) = check_text(manufacturer) {
        errors.push(FieldError::new(Field::Manufacturer, m));
    }
    let model = input.model.trim();
    if let Err(m) = check_text(model) {
        errors.push(FieldError::new(Field::Model, m));
    }

    let (Some((secret, algorithm)), Some(interval), true) = (secret, interval, errors.is_empty())
    else {
        return Err(errors);
    };
    let params = Params::new(algorithm, 6, interval)
        .map_err(|e| vec![FieldError::new(Field::Interval, e)])?;
    Ok(TokenRecord {
        upn: (!upn.is_empty()).then(|| upn.to_string()),
        serial: serial.to_string(),
        secret,
        params,
        manufacturer: manufacturer.to_string(),
        model: model.to_string(),
        source: if input.secret.trim().is_empty() {
            Source::Generated
        } else {
            Source::Typed
        },
        added_at,
    })
}

/// The seed for the row: typed (base32 only, as Entra wants it) or the current token's.
fn resolve_secret(
    input: &RowInput<'_>,
    current: Option<TokenSource<'_>>,
    interval: Option<u32>,
) -> Result<(Secret, Algorithm), FieldError> {
    let typed = input.secret.trim();
    if typed.is_empty() {
        let Some(current) = current else {
            return Err(FieldError::new(
                Field::Secret,
                "there is no current token; type a base32 seed or make one on the seed page",
            ));
        };
        let params = current.params;
        if params.digits() != 6 {
            return Err(FieldError::new(
                Field::Secret,
                format!(
                    "the current token makes {}-digit codes; Entra accepts only 6-digit OATH tokens (make a 6-digit seed on the seed page)",
                    params.digits()
                ),
            ));
        }
        match params.algorithm() {
            Algorithm::Sha1 => {}
            Algorithm::Sha256 if input.graph_only => {}
            Algorithm::Sha256 => {
                return Err(FieldError::new(
                    Field::Secret,
                    "the current token uses SHA-256; Entra's CSV upload takes SHA-1 tokens only. Graph's hardware OATH API accepts SHA-256: tick \"Graph JSON only\" and use the Graph JSON export",
                ));
            }
            Algorithm::Sha512 => {
                return Err(FieldError::new(
                    Field::Secret,
                    "the current token uses SHA-512, which Entra does not support (SHA-1 in the CSV, SHA-1 or SHA-256 in the Graph JSON export)",
                ));
            }
        }
        if let Some(interval) = interval
            && interval != params.period()
        {
            return Err(FieldError::new(
                Field::Secret,
                format!(
                    "the current token changes its code every {} seconds but the time interval says {interval}; they must match",
                    params.period()
                ),
            ));
        }
        return Ok((current.secret.clone(), params.algorithm()));
    }

    let compact: usize = typed
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '=')
        .count();
    if compact > MAX_ENTRA_BASE32_CHARS {
        return Err(FieldError::new(
            Field::Secret,
            format!(
                "is {compact} base32 characters; Entra accepts at most {MAX_ENTRA_BASE32_CHARS}"
            ),
        ));
    }
    if looks_like_hex(typed) {
        return Err(FieldError::new(
            Field::Secret,
            "looks like a hex seed; Entra needs base32 (letters A-Z and digits 2-7). Import it on the seed page to convert it, then leave this field empty to use it",
        ));
    }
    if input.graph_only {
        return Err(FieldError::new(
            Field::Secret,
            "\"Graph JSON only\" is for SHA-256 tokens, and a typed seed is taken as SHA-1: import the token on the seed page with its algorithm, then leave this field empty",
        ));
    }
    // A typed seed is a classic token's seed: SHA-1, which is what the CSV means.
    match Secret::parse_base32(typed) {
        Ok(secret) => Ok((secret, Algorithm::Sha1)),
        Err(SeedError::Base32Char { ch, position, .. }) if matches!(ch, '0' | '1' | '8' | '9') => {
            Err(FieldError::new(
                Field::Secret,
                format!(
                    "invalid base32 character '{ch}' at position {position}: base32 has no digits 0, 1, 8 or 9 (Entra fails with \"illegal character\"); is this a hex seed?"
                ),
            ))
        }
        Err(e) => Err(FieldError::new(Field::Secret, e)),
    }
}

/// A hex seed pasted where base32 belongs: only hex digits, and at least one digit base32
/// never uses, or a `0x` prefix.
fn looks_like_hex(s: &str) -> bool {
    if s.starts_with("0x") || s.starts_with("0X") {
        return true;
    }
    let body: Vec<char> = s.chars().filter(|c| !c.is_whitespace()).collect();
    body.len() >= 8
        && body.iter().all(|c| c.is_ascii_hexdigit())
        && body.iter().any(|c| matches!(c, '0' | '1' | '8' | '9'))
}

/// `local@domain.tld`, the characters Entra allows in a UPN, and the Excel trailing comma
/// called out by name because admins hit it. The message does not name the field: callers
/// put it in front.
pub fn check_upn(upn: &str) -> Result<(), String> {
    if plain_upn(upn.as_bytes()) {
        return Ok(());
    }
    upn_rules(upn)
}

/// The rules behind [`check_upn`], one by one, each with its message.
fn upn_rules(upn: &str) -> Result<(), String> {
    if upn.is_empty() {
        return Err("is required (the user's sign-in name, like alice@contoso.com)".into());
    }
    if upn.ends_with(',') {
        return Err(
            "ends with a comma (a spreadsheet added it); Entra then reports \"user not found\""
                .into(),
        );
    }
    // Characters, not bytes: the same count for ASCII, found without a second pass.
    let chars = if upn.is_ascii() {
        upn.len()
    } else {
        upn.chars().count()
    };
    if chars > MAX_UPN_CHARS {
        return Err(format!("is longer than {MAX_UPN_CHARS} characters"));
    }
    check_formula_start(upn)?;
    let Some((local, domain)) = upn.split_once('@') else {
        return Err("must look like name@domain, e.g. alice@contoso.com".into());
    };
    if local.is_empty() || domain.is_empty() || domain.contains('@') {
        return Err("must look like name@domain, e.g. alice@contoso.com".into());
    }
    if let Some(c) = local.chars().find(|&c| {
        !(c.is_ascii_alphanumeric() || matches!(c, '\'' | '.' | '-' | '_' | '!' | '#' | '^' | '~'))
    }) {
        return Err(format!(
            "the part before @ may use letters, digits and ' . - _ ! # ^ ~ only, not '{c}'"
        ));
    }
    if local.starts_with('.')
        || local.ends_with('.')
        || local.as_bytes().windows(2).any(|w| w == b"..")
    {
        return Err(
            "the part before @ may not start or end with a dot, or have two in a row".into(),
        );
    }
    let bad_label = |l: &str| {
        l.is_empty()
            || l.starts_with('-')
            || l.ends_with('-')
            || !l.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-')
    };
    if !domain.contains('.') || domain.split('.').any(bad_label) {
        return Err(
            "the domain after @ must be a domain name like contoso.com or contoso.onmicrosoft.com"
                .into(),
        );
    }
    Ok(())
}

/// The usual UPN (ASCII `name@domain.tld`, nothing unusual) judged in one pass over its
/// bytes, for lists of 100,000 users. True only for a UPN that every rule of [`check_upn`]
/// passes; anything else goes through the rules one by one, for their messages.
fn plain_upn(upn: &[u8]) -> bool {
    if upn.len() > MAX_UPN_CHARS || matches!(upn.first(), Some(b'=' | b'+' | b'-' | b'@') | None) {
        return false;
    }
    let mut parts = upn.splitn(2, |&b| b == b'@');
    let (Some(local), Some(domain)) = (parts.next(), parts.next()) else {
        return false;
    };
    if matches!(local.first(), Some(b'.') | None) || matches!(local.last(), Some(b'.') | None) {
        return false;
    }
    let mut dot = false;
    for &b in local {
        let allowed = b.is_ascii_alphanumeric()
            || matches!(b, b'\'' | b'.' | b'-' | b'_' | b'!' | b'#' | b'^' | b'~');
        if !allowed || (dot && b == b'.') {
            return false;
        }
        dot = b == b'.';
    }
    let mut labels = 0;
    for label in domain.split(|&b| b == b'.') {
        labels += 1;
        if matches!(label.first(), Some(b'-') | None)
            || matches!(label.last(), Some(b'-') | None)
            || !label
                .iter()
                .all(|&b| b.is_ascii_alphanumeric() || b == b'-')
        {
            return false;
        }
    }
    labels >= 2
}

/// Entra's `time interval` column: 30 or 60 seconds. The message does not name the field:
/// callers put it in front.
pub(crate) fn check_interval(value: &str) -> Result<u32, String> {
    match value {
        "30" => Ok(30),
        "60" => Ok(60),
        other => Err(format!(
            "must be 30 or 60 seconds, not '{}'",
            other.chars().take(10).collect::<String>()
        )),
    }
}

/// Serial, manufacturer and model: present, and safe in a CSV cell and in a spreadsheet.
/// The message does not name the field: callers put it in front.
pub fn check_text(value: &str) -> Result<(), String> {
    // The usual serial or model: short printable ASCII without a comma or a quote, which
    // passes every rule but the first character's.
    if !value.is_empty()
        && value.len() <= MAX_TEXT_CHARS
        && value
            .bytes()
            .all(|b| matches!(b, b' '..=b'~') && !matches!(b, b',' | b'"' | b'\''))
    {
        return check_formula_start(value);
    }
    check_text_rules(value)
}

/// The rules behind [`check_text`], one by one, each with its message.
fn check_text_rules(value: &str) -> Result<(), String> {
    if value.is_empty() {
        return Err("is required".into());
    }
    if value.chars().count() > MAX_TEXT_CHARS {
        return Err(format!("is longer than {MAX_TEXT_CHARS} characters"));
    }
    if value.contains(',') {
        return Err("may not contain a comma (it would split the CSV row)".into());
    }
    if value.contains('"') || value.contains('\'') {
        return Err("may not contain quotes".into());
    }
    if value.chars().any(|c| c.is_control()) {
        return Err("may not contain line breaks, tabs or other control characters".into());
    }
    check_formula_start(value)
}

/// A spreadsheet opening the file would run a cell starting with these as a formula, so no
/// field we write to a CSV may start with one (the UPN included: it is the first cell).
fn check_formula_start(value: &str) -> Result<(), String> {
    match value.chars().next() {
        Some(c) if matches!(c, '=' | '+' | '-' | '@') => Err(format!(
            "may not start with '{c}' (a spreadsheet would read it as a formula)"
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upn_shapes() {
        assert!(check_upn("alice@contoso.com").is_ok());
        assert!(check_upn("a.b-c_d@sub.contoso.onmicrosoft.com").is_ok());
        for bad in [
            "",
            "alice",
            "alice@",
            "@contoso.com",
            "alice@contoso",
            "alice@contoso.com,",
            "al ice@contoso.com",
            "a@b@contoso.com",
            ".alice@contoso.com",
            "alice@-contoso.com",
            "-A1@contoso.com",
            "+1@contoso.com",
            "=cmd@contoso.com",
        ] {
            assert!(check_upn(bad).is_err(), "{bad}");
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(4000))]

        /// The one-pass check takes exactly the UPNs the rules take: it never lets through
        /// one they refuse, and ordinary ones take it.
        #[test]
        fn the_plain_upn_check_agrees_with_the_rules(
            upn in "[-a-zA-Z0-9.@_'!#^~=+, é\t]{0,24}(@[-a-z0-9.]{0,12})?",
            ordinary in "[a-z0-9.'_!#^~-]{0,10}@[a-z0-9.-]{0,12}",
            any in "\\PC{0,30}",
        ) {
            for upn in [upn, ordinary, any] {
                proptest::prop_assert_eq!(plain_upn(upn.as_bytes()), upn_rules(&upn).is_ok(), "{}", upn);
            }
        }

        /// The short cut for plain text gives the rules' own answer.
        #[test]
        fn the_plain_text_check_agrees_with_the_rules(
            text in "[ -~é\t]{0,70}",
            any in "\\PC{0,70}",
        ) {
            for text in [text, any] {
                proptest::prop_assert_eq!(check_text(&text), check_text_rules(&text), "{}", text);
            }
        }
    }

    #[test]
    fn text_rules() {
        assert!(check_text("Token2").is_ok());
        for bad in ["", "a,b", "a\"b", "a\nb", "=1+1", "+1", "-1", "@SUM(A1)"] {
            assert!(check_text(bad).is_err(), "{bad:?}");
        }
    }
}
