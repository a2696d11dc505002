//! Reading the seed CSV a vendor ships (Token2, Feitian, Deepnet...) or one written for
//! Entra: columns found by header name in any order, `,` or `;`, quoted or not, with or
//! without a BOM, and secrets in base32 or hex decided for the whole column.
//!
//! Never reads a serial as a number (leading zeros are part of it), and never repeats a
//! seed in a refusal.

use crate::otp::{Params, Secret, SeedFormat};
use crate::tokens::batch::{Candidate, Source, TokenRecord, clip, field};
use crate::tokens::validate::{check_text, check_upn};

use super::{FileError, Format, Import, ReadOptions, utf8};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Column {
    Upn,
    Serial,
    Secret,
    Interval,
    Manufacturer,
    Model,
}

/// Header names, compared without case, spaces, `_` or `-`.
fn column_of(header: &str) -> Option<Column> {
    let norm: String = header
        .chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, '_' | '-'))
        .flat_map(char::to_lowercase)
        .collect();
    Some(match norm.as_str() {
        "upn" | "userprincipalname" | "user" => Column::Upn,
        "serialnumber" | "serial" | "serialno" => Column::Serial,
        "secretkey" | "secret" | "seed" | "key" => Column::Secret,
        "timeinterval" | "interval" | "period" | "timestep" => Column::Interval,
        "manufacturer" => Column::Manufacturer,
        "model" => Column::Model,
        _ => return None,
    })
}

fn delimiter_of(header: &str) -> u8 {
    if header.matches(';').count() > header.matches(',').count() {
        b';'
    } else {
        b','
    }
}

/// True when `first_line` is a header with a serial and a secret column.
pub(crate) fn looks_like(first_line: &str) -> bool {
    let cells: Vec<Option<Column>> = first_line
        .split(char::from(delimiter_of(first_line)))
        .map(|c| column_of(c.trim().trim_matches('"')))
        .collect();
    cells.contains(&Some(Column::Serial)) && cells.contains(&Some(Column::Secret))
}

/// Where each known column is.
#[derive(Default)]
struct Layout {
    upn: Option<usize>,
    serial: usize,
    secret: usize,
    interval: Option<usize>,
    manufacturer: Option<usize>,
    model: Option<usize>,
    width: usize,
}

/// Fields are trimmed where they are used: the csv crate's own trimming copies every record.
fn reader(text: &str, delimiter: u8) -> csv::Reader<&[u8]> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(text.as_bytes())
}

fn layout(header: &csv::StringRecord, import: &mut Import) -> Result<Layout, FileError> {
    let mut found: Vec<(Column, usize)> = Vec::new();
    for (i, name) in header.iter().enumerate() {
        let name = name.trim();
        if name.is_empty() {
            // Excel's trailing comma makes an unnamed last column.
            continue;
        }
        match column_of(name) {
            Some(c) => {
                if found.iter().any(|(k, _)| *k == c) {
                    return Err(FileError(format!(
                        "the header names the column '{}' twice",
                        clip(name)
                    )));
                }
                found.push((c, i));
            }
            None => import.notes.push(format!(
                "column '{}' is not one we read; ignored",
                clip(name)
            )),
        }
    }
    let at = |c: Column| found.iter().find(|(k, _)| *k == c).map(|(_, i)| *i);
    let (Some(serial), Some(secret)) = (at(Column::Serial), at(Column::Secret)) else {
        // The cells are not echoed: a file without a header has a seed in its first line.
        let missing = match (at(Column::Serial), at(Column::Secret)) {
            (None, None) => "neither a serial number column nor a secret column",
            (None, Some(_)) => "no serial number column",
            _ => "no secret column",
        };
        return Err(FileError(format!(
            "the first line must be a header naming at least a serial number column (serial number, serial) and a secret column (secret key, secret, seed, key); it has {missing}"
        )));
    };
    let layout = Layout {
        upn: at(Column::Upn),
        serial,
        secret,
        interval: at(Column::Interval),
        manufacturer: at(Column::Manufacturer),
        model: at(Column::Model),
        width: header.len(),
    };
    if layout.interval.is_none() {
        import
            .notes
            .push("no time interval column: 30 seconds assumed".into());
    }
    Ok(layout)
}

/// Only hex digits once a `0x` prefix and separators are set aside.
fn hex_only(value: &str) -> bool {
    let body = value
        .strip_prefix("0x")
        .or_else(|| value.strip_prefix("0X"))
        .unwrap_or(value);
    body.chars()
        .filter(|c| !(c.is_whitespace() || matches!(c, '-' | ':')))
        .all(|c| c.is_ascii_hexdigit())
}

/// The one rule (`SeedFormat::detect`) lifted to the whole column: count the values that
/// are hex by the rule (a `0x` prefix, or only hex digits with one base32 never uses: 0, 1,
/// 8, 9) against the values that cannot be hex (any other character). The column is hex
/// when the first outnumber the second. Values made only of hex digits that base32 also
/// uses count for neither. So one mistyped cell does not flip a hex column to base32, one
/// hex seed pasted among base32 ones does not flip a base32 column, and a hex seed that
/// happens to avoid 0, 1, 8 and 9 is still read as hex when its neighbours are.
fn column_encoding(text: &str, delimiter: u8, secret: usize) -> SeedFormat {
    let (mut hex, mut not_hex) = (0usize, 0usize);
    let mut rdr = reader(text, delimiter);
    let mut row = csv::ByteRecord::new();
    let mut header_seen = false;
    while let Ok(more) = rdr.read_byte_record(&mut row) {
        if !more {
            break;
        }
        if !header_seen {
            header_seen = !row.iter().all(|f| f.trim_ascii().is_empty());
            continue;
        }
        // Fields split at ASCII delimiters of valid UTF-8 text are valid UTF-8.
        let Some(value) = row
            .get(secret)
            .and_then(|v| std::str::from_utf8(v).ok())
            .map(str::trim)
            .filter(|v| !v.is_empty())
        else {
            continue;
        };
        if !hex_only(value) {
            not_hex += 1;
        } else if SeedFormat::detect(value) == SeedFormat::Hex {
            hex += 1;
        }
    }
    if hex > not_hex {
        SeedFormat::Hex
    } else {
        SeedFormat::Base32
    }
}

/// Line numbers from byte offsets. The csv crate's own line count starts a record's line
/// before the `\n` of a CRLF or a blank line, so it runs behind; this counts from the first
/// byte of the record's text. Offsets only grow, so the whole file is counted once.
struct Lines<'a> {
    text: &'a [u8],
    pos: usize,
    line: usize,
}

impl Lines<'_> {
    fn at(&mut self, byte: u64) -> usize {
        let mut b = usize::try_from(byte)
            .unwrap_or(usize::MAX)
            .min(self.text.len());
        while b < self.text.len() && matches!(self.text[b], b'\r' | b'\n') {
            b += 1;
        }
        if b > self.pos {
            self.line += self.text[self.pos..b]
                .iter()
                .filter(|&&c| c == b'\n')
                .count();
            self.pos = b;
        }
        self.line
    }
}

/// Reads a vendor's or Entra's CSV.
pub fn read(bytes: &[u8], options: &ReadOptions) -> Result<Import, FileError> {
    let text = utf8(bytes)?;
    let mut import = Import::new(Format::VendorCsv);
    let header_line = text
        .lines()
        .find(|l| !l.trim().is_empty())
        .ok_or_else(|| FileError("the file holds no tokens (it is empty)".into()))?;
    let delimiter = delimiter_of(header_line);
    let mut rdr = reader(text, delimiter);
    // One record buffer for the whole file: no allocation per row.
    let mut row = csv::StringRecord::new();
    let header = loop {
        match rdr.read_record(&mut row) {
            Ok(false) => return Err(FileError("the file holds no tokens (it is empty)".into())),
            Err(e) => return Err(FileError(format!("the header cannot be read: {e}"))),
            Ok(true) if row.iter().all(|f| f.trim().is_empty()) => continue,
            Ok(true) => break row.clone(),
        }
    };
    let layout = layout(&header, &mut import)?;
    let encoding = match options.secret_encoding {
        SeedFormat::Auto => column_encoding(text, delimiter, layout.secret),
        explicit => explicit,
    };
    import.secret_encoding = Some(encoding);
    // Sized once from the line count: regrowing a vector of 100,000 records copies it and
    // touches twice the memory.
    import
        .candidates
        .reserve(text.as_bytes().iter().filter(|&&b| b == b'\n').count());

    let mut lines = Lines {
        text: text.as_bytes(),
        pos: 0,
        line: 1,
    };
    loop {
        match rdr.read_record(&mut row) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => {
                let line = e.position().map_or(0, |p| lines.at(p.byte()));
                import.refuse(
                    line,
                    field::LINE,
                    "cannot be read as CSV (a quote left open?)",
                );
                if e.position().is_none() {
                    break;
                }
                continue;
            }
        }
        let line = row.position().map_or(0, |p| lines.at(p.byte()));
        if row.iter().all(|f| f.trim().is_empty()) {
            continue;
        }
        if row.len() > layout.width && row.iter().skip(layout.width).any(|v| !v.trim().is_empty()) {
            import.refuse(
                line,
                field::LINE,
                format!(
                    "has {} fields but the header has {}",
                    row.len(),
                    layout.width
                ),
            );
            continue;
        }
        if let Some(record) = read_row(&row, &layout, encoding, line, options, &mut import) {
            import.candidates.push(Candidate { line, record });
        }
    }
    if import.candidates.is_empty() && import.refused.is_empty() {
        return Err(FileError("the file has a header but no token rows".into()));
    }
    Ok(import)
}

fn read_row(
    row: &csv::StringRecord,
    layout: &Layout,
    encoding: SeedFormat,
    line: usize,
    options: &ReadOptions,
    import: &mut Import,
) -> Option<TokenRecord> {
    let get = |i: Option<usize>| i.and_then(|i| row.get(i)).map_or("", str::trim);
    let before = import.refused.len();

    let serial = get(Some(layout.serial));
    if let Err(m) = check_text(serial) {
        import.refuse(line, field::SERIAL, m);
    }
    let secret_text = get(Some(layout.secret));
    let secret = if secret_text.is_empty() {
        import.refuse(line, field::SECRET, "is empty");
        None
    } else {
        match Secret::parse(secret_text, encoding) {
            Ok(s) => Some(s),
            Err(e) => {
                let read_as = if encoding == SeedFormat::Hex {
                    "hex"
                } else {
                    "base32"
                };
                import.refuse(line, field::SECRET, format!("read as {read_as}: {e}"));
                None
            }
        }
    };
    let period = match layout.interval {
        None => 30,
        Some(i) => match row.get(i).map_or("", str::trim) {
            "30" => 30,
            "60" => 60,
            other => {
                import.refuse(
                    line,
                    field::INTERVAL,
                    format!(
                        "must be 30 or 60 seconds, not '{}'",
                        other.chars().take(10).collect::<String>()
                    ),
                );
                30
            }
        },
    };
    let upn = get(layout.upn);
    if !upn.is_empty()
        && let Err(m) = check_upn(upn)
    {
        import.refuse(line, field::UPN, m);
    }
    let manufacturer = get(layout.manufacturer);
    if !manufacturer.is_empty()
        && let Err(m) = check_text(manufacturer)
    {
        import.refuse(line, field::MANUFACTURER, m);
    }
    let model = get(layout.model);
    if !model.is_empty()
        && let Err(m) = check_text(model)
    {
        import.refuse(line, field::MODEL, m);
    }
    if import.refused.len() != before {
        return None;
    }
    let params = Params::new(crate::otp::Algorithm::Sha1, 6, period).ok()?;
    Some(TokenRecord {
        serial: serial.to_string(),
        secret: secret?,
        params,
        manufacturer: manufacturer.to_string(),
        model: model.to_string(),
        upn: (!upn.is_empty()).then(|| upn.to_string()),
        source: Source::Imported(Format::VendorCsv),
        added_at: options.added_at,
    })
}
