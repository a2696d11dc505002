//! Reading the seed CSV a vendor ships (Token2, Feitian, Deepnet...) or one written for
//! Entra: columns found by header name in any order, `,` or `;`, quoted or not, with or
//! without a BOM, and secrets in base32 or hex decided for the whole column.
//!
//! Never reads a serial as a number (leading zeros are part of it), and never repeats a
//! seed in a refusal.

use crate::otp::clip;
use crate::otp::{Params, Secret, SeedFormat};
use crate::tokens::batch::{Candidate, Source, TokenRecord, field};
use crate::tokens::validate::{Field, check_interval, check_text, check_upn};
use zeroize::Zeroizing;

use super::{FileError, Format, Import, ReadOptions, utf8};

/// Header names, compared without case, spaces, `_` or `-`.
fn column_of(header: &str) -> Option<Field> {
    let norm: String = header
        .chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, '_' | '-'))
        .flat_map(char::to_lowercase)
        .collect();
    Some(match norm.as_str() {
        "upn" | "userprincipalname" | "user" => Field::Upn,
        "serialnumber" | "serial" | "serialno" => Field::Serial,
        "secretkey" | "secret" | "seed" | "key" => Field::Secret,
        "timeinterval" | "interval" | "period" | "timestep" => Field::Interval,
        "manufacturer" => Field::Manufacturer,
        "model" => Field::Model,
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
    let cells: Vec<Option<Field>> = first_line
        .split(char::from(delimiter_of(first_line)))
        .map(|c| column_of(c.trim().trim_matches('"')))
        .collect();
    cells.contains(&Some(Field::Serial)) && cells.contains(&Some(Field::Secret))
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

fn layout(header: &[&str], import: &mut Import) -> Result<Layout, FileError> {
    let mut found: Vec<(Field, usize)> = Vec::new();
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
    let at = |c: Field| found.iter().find(|(k, _)| *k == c).map(|(_, i)| *i);
    let (Some(serial), Some(secret)) = (at(Field::Serial), at(Field::Secret)) else {
        // The cells are not echoed: a file without a header has a seed in its first line.
        let missing = match (at(Field::Serial), at(Field::Secret)) {
            (None, None) => "neither a serial number column nor a secret column",
            (None, Some(_)) => "no serial number column",
            _ => "no secret column",
        };
        return Err(FileError(format!(
            "the first line must be a header naming at least a serial number column (serial number, serial) and a secret column (secret key, secret, seed, key); it has {missing}"
        )));
    };
    let layout = Layout {
        upn: at(Field::Upn),
        serial,
        secret,
        interval: at(Field::Interval),
        manufacturer: at(Field::Manufacturer),
        model: at(Field::Model),
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

/// How the column rule counts one value: `Some(true)` hex by the one rule, `Some(false)`
/// cannot be hex, `None` either (only hex digits that base32 also uses).
fn value_vote(value: &str) -> Option<bool> {
    // Plain hex digits, the usual case, judged in one pass over the bytes; anything else
    // (a prefix, separators, other characters) by the rule's own code.
    let bytes = value.as_bytes();
    if bytes.iter().all(|&b| HEX_DIGITS[usize::from(b)] < 16) {
        return bytes
            .iter()
            .any(|b| matches!(b, b'0' | b'1' | b'8' | b'9'))
            .then_some(true);
    }
    if !hex_only(value) {
        Some(false)
    } else if SeedFormat::detect(value) == SeedFormat::Hex {
        Some(true)
    } else {
        None
    }
}

/// The one rule (`SeedFormat::detect`) lifted to the whole column: count the values that
/// are hex by the rule (a `0x` prefix, or only hex digits with one base32 never uses: 0, 1,
/// 8, 9) against the values that cannot be hex (any other character). The column is hex
/// when the first outnumber the second. Values made only of hex digits that base32 also
/// uses count for neither. So one mistyped cell does not flip a hex column to base32, one
/// hex seed pasted among base32 ones does not flip a base32 column, and a hex seed that
/// happens to avoid 0, 1, 8 and 9 is still read as hex when its neighbours are.
struct ColumnVote {
    hex: usize,
    not_hex: usize,
}

impl ColumnVote {
    fn count(&mut self, value: Option<&str>) {
        let Some(value) = value.map(trim).filter(|v| !v.is_empty()) else {
            return;
        };
        match value_vote(value) {
            Some(true) => self.hex += 1,
            Some(false) => self.not_hex += 1,
            None => {}
        }
    }

    fn result(&self) -> SeedFormat {
        if self.hex > self.not_hex {
            SeedFormat::Hex
        } else {
            SeedFormat::Base32
        }
    }
}

/// The column rule over a file read by the csv crate (one with quotes).
fn column_encoding(text: &str, delimiter: u8, secret: usize) -> SeedFormat {
    let mut vote = ColumnVote { hex: 0, not_hex: 0 };
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
        vote.count(row.get(secret).and_then(|v| std::str::from_utf8(v).ok()));
    }
    vote.result()
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

/// The records of a file without a single `"`, split where the csv crate would split them:
/// with no quotes, a record is a run of bytes other than CR and LF (blank lines are no
/// records) and its fields are what lies between delimiters. One pass over the bytes; the
/// fields borrow the text, no copy of any of them is made.
struct PlainRecords<'a> {
    text: &'a str,
    delimiter: u8,
    pos: usize,
    line: usize,
}

impl<'a> PlainRecords<'a> {
    fn new(text: &'a str, delimiter: u8) -> Self {
        PlainRecords {
            text,
            delimiter,
            pos: 0,
            line: 1,
        }
    }

    /// The next record's fields into `fields`, and the line it starts on.
    fn next_into(&mut self, fields: &mut Vec<&'a str>) -> Option<usize> {
        let bytes = self.text.as_bytes();
        let mut i = self.pos;
        loop {
            match bytes.get(i) {
                None => {
                    self.pos = i;
                    return None;
                }
                Some(b'\n') => self.line += 1,
                Some(b'\r') => {}
                Some(_) => break,
            }
            i += 1;
        }
        fields.clear();
        loop {
            let end = next_special(bytes, i, self.delimiter);
            // Delimiters, CR and LF are ASCII: every cut is at a character boundary.
            fields.push(self.text.get(i..end).unwrap_or_default());
            i = end;
            if bytes.get(end) != Some(&self.delimiter) {
                break;
            }
            i += 1;
        }
        self.pos = i;
        Some(self.line)
    }
}

/// Where the next delimiter, CR or LF is at or after `from` (the end if none is). Eight
/// bytes at a time: a field of 40 hex digits takes five steps, not forty.
fn next_special(bytes: &[u8], from: usize, delimiter: u8) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // The high bit of each byte of `w` equal to `b`; bytes above the first such byte may
    // be flagged wrongly, which the lowest flag is never affected by.
    let equal = |w: u64, b: u8| {
        let x = w ^ (ONES * u64::from(b));
        x.wrapping_sub(ONES) & !x & HIGH
    };
    let mut i = from;
    while let Some(chunk) = bytes.get(i..).and_then(<[u8]>::first_chunk::<8>) {
        let w = u64::from_le_bytes(*chunk);
        let found = equal(w, delimiter) | equal(w, b'\r') | equal(w, b'\n');
        if found != 0 {
            return i + (found.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while let Some(&b) = bytes.get(i) {
        if b == delimiter || b == b'\r' || b == b'\n' {
            break;
        }
        i += 1;
    }
    i
}

/// `str::trim`, without looking up Unicode's white space when both ends are plainly not.
fn trim(field: &str) -> &str {
    match (field.as_bytes().first(), field.as_bytes().last()) {
        (Some(a), Some(z)) if a.is_ascii_graphic() && z.is_ascii_graphic() => field,
        _ => field.trim(),
    }
}

/// One record of the file as the row checks see it: its line and its fields.
enum Row<'a> {
    Fields(usize, &'a [&'a str]),
    /// The csv crate could not read a record.
    Broken(usize),
}

/// Reads a vendor's or Entra's CSV.
pub fn read(bytes: &[u8], options: &ReadOptions) -> Result<Import, FileError> {
    let text = utf8(bytes)?;
    let header_line = text
        .lines()
        .find(|l| !l.trim().is_empty())
        .ok_or_else(|| FileError("the file holds no tokens (it is empty)".into()))?;
    let delimiter = delimiter_of(header_line);
    // Most files have no quotes at all; those are split in place, far faster than the csv
    // crate copies them out, to exactly the records the crate would find.
    if text.as_bytes().contains(&b'"') {
        read_quoted(text, delimiter, options)
    } else {
        read_plain(text, delimiter, options)
    }
}

/// A file with quotes, read by the csv crate.
fn read_quoted(text: &str, delimiter: u8, options: &ReadOptions) -> Result<Import, FileError> {
    let mut import = Import::new(Format::VendorCsv);
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
    let header: Vec<&str> = header.iter().collect();
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

    let mut rows = Rows::new(&layout, encoding, options);
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
                rows.take(Row::Broken(line), &mut import);
                if e.position().is_none() {
                    break;
                }
                continue;
            }
        }
        let line = row.position().map_or(0, |p| lines.at(p.byte()));
        let fields: Vec<&str> = row.iter().collect();
        rows.take(Row::Fields(line, &fields), &mut import);
    }
    finish(import)
}

/// A file without quotes, split in place.
fn read_plain(text: &str, delimiter: u8, options: &ReadOptions) -> Result<Import, FileError> {
    let mut import = Import::new(Format::VendorCsv);
    let mut fields: Vec<&str> = Vec::new();
    let mut records = PlainRecords::new(text, delimiter);
    let header = loop {
        if records.next_into(&mut fields).is_none() {
            return Err(FileError("the file holds no tokens (it is empty)".into()));
        }
        if !fields.iter().all(|f| f.trim().is_empty()) {
            break fields.clone();
        }
    };
    let layout = layout(&header, &mut import)?;
    // The column rule's pass also counts the records, so the candidates are sized once:
    // regrowing a vector of 100,000 records copies it and touches twice the memory.
    let mut vote = ColumnVote { hex: 0, not_hex: 0 };
    let mut count = 0;
    let mut header_seen = false;
    let mut again = PlainRecords::new(text, delimiter);
    while again.next_into(&mut fields).is_some() {
        if !header_seen {
            // As the csv crate's pass does it: the first record not blank by ASCII.
            header_seen = !fields.iter().all(|f| f.trim_ascii().is_empty());
            continue;
        }
        count += 1;
        if options.secret_encoding == SeedFormat::Auto {
            vote.count(fields.get(layout.secret).copied());
        }
    }
    let encoding = match options.secret_encoding {
        SeedFormat::Auto => vote.result(),
        explicit => explicit,
    };
    import.secret_encoding = Some(encoding);
    import.candidates.reserve(count);

    let mut rows = Rows::new(&layout, encoding, options);
    while let Some(line) = records.next_into(&mut fields) {
        rows.take(Row::Fields(line, &fields), &mut import);
    }
    finish(import)
}

fn finish(import: Import) -> Result<Import, FileError> {
    if import.candidates.is_empty() && import.refused.is_empty() {
        return Err(FileError("the file has a header but no token rows".into()));
    }
    Ok(import)
}

/// The checks every record after the header goes through, whichever way it was split.
struct Rows<'a> {
    layout: &'a Layout,
    encoding: SeedFormat,
    options: &'a ReadOptions,
}

impl<'a> Rows<'a> {
    fn new(layout: &'a Layout, encoding: SeedFormat, options: &'a ReadOptions) -> Self {
        Rows {
            layout,
            encoding,
            options,
        }
    }

    fn take(&mut self, row: Row<'_>, import: &mut Import) {
        let (line, fields) = match row {
            Row::Fields(line, fields) => (line, fields),
            Row::Broken(line) => {
                import.refuse(
                    line,
                    field::LINE,
                    "cannot be read as CSV (a quote left open?)",
                );
                return;
            }
        };
        if fields.iter().all(|f| trim(f).is_empty()) {
            return;
        }
        let width = self.layout.width;
        if fields.len() > width && fields.iter().skip(width).any(|v| !trim(v).is_empty()) {
            import.refuse(
                line,
                field::LINE,
                format!("has {} fields but the header has {}", fields.len(), width),
            );
            return;
        }
        if let Some(record) = read_row(
            fields,
            self.layout,
            self.encoding,
            line,
            self.options,
            import,
        ) {
            import.candidates.push(Candidate { line, record });
        }
    }
}

/// Each byte's value as a hex digit, or 255 when it is not one.
const HEX_DIGITS: [u8; 256] = {
    let mut table = [255u8; 256];
    let mut i = 0;
    while i < 10 {
        table[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        table[b'a' as usize + i] = 10 + i as u8;
        table[b'A' as usize + i] = 10 + i as u8;
        i += 1;
    }
    table
};

/// A seed as `Secret::parse` reads it. A plain run of hex digits in a hex column, the usual
/// case, is decoded straight into the seed's own buffer: no cleaned copy of the seed is made,
/// and the size rules and their messages are `Secret::from_bytes`'s, as they would be.
fn parse_secret(text: &str, encoding: SeedFormat) -> Result<Secret, crate::otp::SeedError> {
    let bytes = text.as_bytes();
    if encoding == SeedFormat::Hex && !bytes.is_empty() && bytes.len().is_multiple_of(2) {
        let mut seed = Zeroizing::new(Vec::with_capacity(bytes.len() / 2));
        let mut plain = true;
        for pair in bytes.chunks_exact(2) {
            let (high, low) = (
                HEX_DIGITS[usize::from(pair[0])],
                HEX_DIGITS[usize::from(pair[1])],
            );
            plain &= (high | low) < 16;
            seed.push((high << 4) | (low & 15));
        }
        if plain {
            let bytes = std::mem::take(&mut *seed);
            // Emptied, it has nothing left to wipe; dropping it would still call memset
            // (for no bytes) once per row, a twentieth of a 100,000-token conversion.
            std::mem::forget(seed);
            return Secret::from_bytes(bytes);
        }
    }
    Secret::parse(text, encoding)
}

fn read_row(
    row: &[&str],
    layout: &Layout,
    encoding: SeedFormat,
    line: usize,
    options: &ReadOptions,
    import: &mut Import,
) -> Option<TokenRecord> {
    let get = |i: Option<usize>| i.and_then(|i| row.get(i)).map_or("", |f| trim(f));
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
        match parse_secret(secret_text, encoding) {
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
        Some(i) => match check_interval(row.get(i).map_or("", |f| trim(f))) {
            Ok(period) => period,
            Err(m) => {
                import.refuse(line, field::INTERVAL, m);
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

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// Everything a read produces, seeds as bytes, for comparing two reads.
    type Outcome = Result<
        (
            Option<SeedFormat>,
            Vec<(usize, TokenRecord)>,
            Vec<(usize, &'static str, String)>,
            Vec<String>,
        ),
        String,
    >;

    fn outcome(result: Result<Import, FileError>) -> Outcome {
        result
            .map(|i| {
                (
                    i.secret_encoding,
                    i.candidates
                        .into_iter()
                        .map(|c| (c.line, c.record))
                        .collect(),
                    i.refused
                        .into_iter()
                        .map(|r| (r.line, r.field, r.reason))
                        .collect(),
                    i.notes,
                )
            })
            .map_err(|e| e.0)
    }

    /// The text through both splitters: the in-place one and the csv crate's.
    fn both(text: &str, encoding: SeedFormat) -> (Outcome, Outcome) {
        let options = ReadOptions {
            secret_encoding: encoding,
            added_at: 7,
            ..ReadOptions::default()
        };
        let text = utf8(text.as_bytes()).expect("UTF-8");
        let header_line = text.lines().find(|l| !l.trim().is_empty());
        let Some(header_line) = header_line else {
            return (Err(String::new()), Err(String::new()));
        };
        let delimiter = delimiter_of(header_line);
        (
            outcome(read_plain(text, delimiter, &options)),
            outcome(read_quoted(text, delimiter, &options)),
        )
    }

    const HEADERS: [&str; 9] = [
        "serial",
        "Serial Number",
        "secret key",
        "seed",
        "time interval",
        "upn",
        "manufacturer",
        "model",
        "extra",
    ];

    const CELLS: [&str; 22] = [
        "",
        " ",
        "\u{a0}",
        "00123",
        "A1b",
        "3132333435363738393031323334353637383930",
        "48656c6c6f21deadbeef48656c6c6f21deadbeef",
        "ABCDEFABCDEFABCDEFAB",
        "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ",
        "0x3132333435363738393031323334353637383930",
        "31 32 33 34 35 36 37 38 39 30 31 32 33 34 35 36",
        "3132",
        "30",
        "60",
        "45",
        "alice@contoso.com",
        "bob@contoso.com,",
        "Token2",
        "=1+1",
        "C202",
        "é",
        "x\u{feff}",
    ];

    fn file() -> impl Strategy<Value = String> {
        let header = prop::collection::vec(prop::sample::select(&HEADERS[..]), 1..6);
        let row = prop::collection::vec(prop::sample::select(&CELLS[..]), 0..8);
        let end = prop::sample::select(&["\n", "\r\n", "\r", "\n\n", "\r\n\r\n", " \n"][..]);
        (
            header,
            prop::sample::select(&[",", ";", "\t"][..]),
            prop::collection::vec((row, end.clone()), 0..12),
            end,
            any::<bool>(),
        )
            .prop_map(|(header, delim, rows, header_end, bom)| {
                let mut text = String::new();
                if bom {
                    text.push('\u{feff}');
                }
                text.push_str(&header.join(delim));
                text.push_str(header_end);
                for (cells, end) in rows {
                    text.push_str(&cells.join(delim));
                    text.push_str(end);
                }
                text
            })
    }

    fn encoding() -> impl Strategy<Value = SeedFormat> {
        prop::sample::select(&[SeedFormat::Auto, SeedFormat::Hex, SeedFormat::Base32][..])
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// Files without quotes: split in place, they read exactly as the csv crate reads
        /// them (the same records, lines, refusals, notes and seeds).
        #[test]
        fn the_plain_splitter_reads_as_the_csv_crate(text in file(), encoding in encoding()) {
            let (plain, quoted) = both(&text, encoding);
            prop_assert_eq!(plain, quoted);
        }

        #[test]
        fn any_text_without_quotes_too(
            text in "[a-z0-9 ,;\t\r\n\u{a0}@.=-]{0,120}",
            encoding in encoding(),
        ) {
            let text = format!("serial,secret,upn\n{text}");
            let (plain, quoted) = both(&text, encoding);
            prop_assert_eq!(plain, quoted);
        }
    }

    #[test]
    fn a_hex_seed_reads_the_same_by_either_parser() {
        for text in [
            "3132333435363738393031323334353637383930",
            "ABCDEFabcdef0123456789ABCDEFabcdef012345",
            "31",
            "313",
            &"ab".repeat(81),
            &"ab".repeat(80),
        ] {
            let fast = parse_secret(text, SeedFormat::Hex).map(|s| s.as_bytes().to_vec());
            let slow = Secret::parse(text, SeedFormat::Hex).map(|s| s.as_bytes().to_vec());
            assert_eq!(fast, slow, "{text}");
        }
    }
}
