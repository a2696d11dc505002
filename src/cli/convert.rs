//! `totp-toolset convert`: a token file in (vendor or Entra CSV, PSKC, privacyIDEA,
//! otpauth list), users assigned from a list, any upload format out.
//!
//! The input is read to bytes first; an OpenPGP message or a password ZIP is opened in memory
//! (`convert_containers`), and the format detected from the bytes inside. Keys and passwords
//! come from files only (a flag would show in `ps`). Output goes to stdout, or to a new file
//! created with mode 0600 that never replaces an existing one. Exit codes: 0 everything
//! converted, 1 some lines refused or tokens left out (the rest written only with
//! `--partial`), 2 usage or unreadable input (a wrong passphrase or key, a damaged or
//! truncated container: then nothing is written).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};
use zeroize::Zeroizing;

use super::bulk::OutFormat;
use super::common::{CliError, CliResult};
use super::convert_containers::{self as containers, ContainerArgs};
use crate::otp::SeedFormat;
use crate::tokens::formats::{self, Format, Keys, ReadOptions, pskc};
use crate::tokens::{Batch, BatchLimit, LeftOut, Refusal, check_text};

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum From {
    /// Detect the format from the file's contents
    Auto,
    /// Vendor or Entra CSV (columns by header name)
    Csv,
    Pskc,
    Privacyidea,
    Otpauth,
    /// A Graph JSON batch
    GraphJson,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Encoding {
    /// Decide per column by the one rule (hex if it looks like hex)
    Auto,
    Base32,
    Hex,
}

#[derive(Args, Debug)]
pub struct ConvertArgs {
    /// The token file, or - for standard input
    pub input: String,
    /// Output format
    #[arg(long, value_enum)]
    pub to: OutFormat,
    /// Input format
    #[arg(long, value_enum, default_value_t = From::Auto)]
    pub from: From,
    /// Users to assign: one UPN per line (to unassigned tokens in serial order) or serial,upn pairs; - for standard input
    #[arg(long, value_name = "USERS")]
    pub assign: Option<String>,
    /// How CSV secret columns are written
    #[arg(long, value_enum, default_value_t = Encoding::Auto)]
    pub secret_encoding: Encoding,
    /// File holding the PSKC pre-shared key (hex, or 16/24/32 raw bytes)
    #[arg(long, value_name = "FILE")]
    pub psk_file: Option<PathBuf>,
    /// File holding the password of a PBKDF2-encrypted PSKC input
    #[arg(long, value_name = "FILE")]
    pub password_file: Option<PathBuf>,
    /// Encrypt the PSKC output with the password in FILE (PBKDF2 + AES-256-CBC + HMAC)
    #[arg(long, value_name = "FILE")]
    pub pskc_password_file: Option<PathBuf>,
    /// PBKDF2 rounds for --pskc-password-file (at least 1000)
    #[arg(long, value_name = "N", default_value_t = pskc::DEFAULT_PBKDF2_ITERATIONS, value_parser = clap::value_parser!(u32).range(1000..=pskc::MAX_PBKDF2_ITERATIONS as i64))]
    pub pskc_iterations: u32,
    /// Manufacturer for tokens whose file names none
    #[arg(long)]
    pub manufacturer: Option<String>,
    /// Model for tokens whose file names none
    #[arg(long)]
    pub model: Option<String>,
    /// Write to this new file (mode 0600; an existing file is never replaced) instead of stdout
    #[arg(short = 'o', long, value_name = "OUTPUT")]
    pub output: Option<PathBuf>,
    /// Write the good tokens even when some lines are refused (exit code stays 1)
    #[arg(long)]
    pub partial: bool,
    /// The report as one JSON object on stderr
    #[arg(long)]
    pub json: bool,
    /// The most tokens one run takes
    #[arg(long, value_name = "N", default_value_t = 1_000_000)]
    pub max_tokens: usize,
    #[command(flatten)]
    pub containers: ContainerArgs,
}

/// One refused line, with which input it is in.
#[derive(serde::Serialize)]
struct Refused<'a> {
    input: &'static str,
    line: usize,
    field: &'a str,
    reason: &'a str,
}

#[derive(serde::Serialize)]
struct Report<'a> {
    container: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    signature: Option<&'a str>,
    container_notes: &'a [String],
    from: &'static str,
    secret_encoding: Option<&'static str>,
    to: &'static str,
    read: usize,
    converted: usize,
    written: bool,
    refused: Vec<Refused<'a>>,
    left_out: &'a [LeftOut],
    assigned: usize,
    warnings: &'a [String],
    notes: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    wrapped: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    encrypted_to: Option<String>,
    /// Shown once, here, when `--json` and `--generate-passphrase` go together.
    #[serde(skip_serializing_if = "Option::is_none")]
    generated_passphrase: Option<&'a str>,
}

fn read_bytes(arg: &str, what: &str, stdin: &mut dyn Read) -> Result<Zeroizing<Vec<u8>>, CliError> {
    let mut buf = Zeroizing::new(Vec::new());
    if arg == "-" {
        stdin
            .read_to_end(&mut buf)
            .map_err(|e| CliError::usage(what, format!("cannot read standard input: {e}")))?;
    } else {
        // `fs::read` sizes the buffer from the file's length: one allocation, no regrowth.
        buf = Zeroizing::new(
            std::fs::read(arg)
                .map_err(|e| CliError::usage(what, format!("cannot read {arg}: {e}")))?,
        );
    }
    Ok(buf)
}

/// A pre-shared key: hex text (32, 48 or 64 digits; spaces and a `0x` prefix allowed), or
/// the raw 16, 24 or 32 bytes.
fn read_psk(path: &Path) -> Result<Zeroizing<Vec<u8>>, CliError> {
    let raw = Zeroizing::new(std::fs::read(path).map_err(|e| {
        CliError::usage("--psk-file", format!("cannot read {}: {e}", path.display()))
    })?);
    if let Ok(text) = std::str::from_utf8(&raw) {
        let t = text.trim();
        let t = t.strip_prefix("0x").unwrap_or(t);
        let hex: Zeroizing<String> =
            Zeroizing::new(t.chars().filter(|c| !c.is_whitespace()).collect());
        if !hex.is_empty() && hex.chars().all(|c| c.is_ascii_hexdigit()) {
            let key = data_encoding::HEXLOWER_PERMISSIVE
                .decode(hex.as_bytes())
                .map(Zeroizing::new)
                .map_err(|_| {
                    CliError::usage("--psk-file", "the hex key has an odd number of digits")
                })?;
            if matches!(key.len(), 16 | 24 | 32) {
                return Ok(key);
            }
            return Err(CliError::usage(
                "--psk-file",
                format!(
                    "the key is {} bytes; AES keys are 16, 24 or 32 bytes (32, 48 or 64 hex digits)",
                    key.len()
                ),
            ));
        }
    }
    if matches!(raw.len(), 16 | 24 | 32) {
        return Ok(raw);
    }
    Err(CliError::usage(
        "--psk-file",
        "must hold the key as hex (32, 48 or 64 digits) or as 16, 24 or 32 raw bytes",
    ))
}

/// A password file's contents, without the one line end an editor adds.
fn read_password(path: &Path, flag: &str) -> Result<Zeroizing<String>, CliError> {
    let text = Zeroizing::new(std::fs::read_to_string(path).map_err(|e| {
        CliError::usage(
            flag,
            format!("cannot read {} as UTF-8 text: {e}", path.display()),
        )
    })?);
    let body = crate::tokens::containers::without_line_end(&text);
    if body.is_empty() {
        return Err(CliError::usage(flag, "the password file is empty"));
    }
    Ok(Zeroizing::new(body.to_string()))
}

fn check_default(flag: &str, value: &Option<String>) -> Result<(), CliError> {
    if let Some(v) = value {
        check_text(v.trim()).map_err(|m| CliError::usage(flag, m))?;
    }
    Ok(())
}

/// `--output` names a file (or link) that is there: checked before any input is read, and
/// again by the exclusive create, which a file made in between also meets.
fn already_exists(path: &Path) -> CliError {
    CliError::usage(
        "--output",
        format!(
            "{} already exists; remove it or choose another name",
            path.display()
        ),
    )
}

/// Creates `path` for writing: new only, readable by the owner only.
fn create_output(path: &Path) -> Result<std::fs::File, CliError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            already_exists(path)
        } else {
            CliError::usage("--output", format!("cannot create {}: {e}", path.display()))
        }
    })
}

pub fn run(
    args: &ConvertArgs,
    stdin: &mut dyn Read,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> CliResult {
    if args.input == "-" && args.assign.as_deref() == Some("-") {
        return Err(CliError::usage(
            "--assign",
            "INPUT and USERS cannot both be standard input",
        ));
    }
    if let Some(out) = &args.output
        && out.symlink_metadata().is_ok()
    {
        return Err(already_exists(out));
    }
    if args.pskc_password_file.is_some() && args.to != OutFormat::Pskc {
        return Err(CliError::usage(
            "--pskc-password-file",
            "encrypts PSKC output only; add --to pskc",
        ));
    }
    check_default("--manufacturer", &args.manufacturer)?;
    check_default("--model", &args.model)?;
    if args.max_tokens == 0 {
        return Err(CliError::usage("--max-tokens", "must be at least 1"));
    }

    let keys = Keys {
        psk: args.psk_file.as_deref().map(read_psk).transpose()?,
        password: args
            .password_file
            .as_deref()
            .map(|p| read_password(p, "--password-file"))
            .transpose()?,
    };
    let out_password = args
        .pskc_password_file
        .as_deref()
        .map(|p| read_password(p, "--pskc-password-file"))
        .transpose()?;

    let wrap = containers::prepare_wrap(&args.containers)?;
    let secrets = containers::read_open_secrets(&args.containers)?;

    let input = read_bytes(&args.input, "INPUT", stdin)?;
    let opened = containers::open_input(input, &args.containers, &secrets)?;
    drop(secrets);
    let container_notes = opened.notes;
    let input = opened.plaintext;
    let options = ReadOptions {
        secret_encoding: match args.secret_encoding {
            Encoding::Auto => SeedFormat::Auto,
            Encoding::Base32 => SeedFormat::Base32,
            Encoding::Hex => SeedFormat::Hex,
        },
        keys,
        added_at: crate::clock::now(),
    };
    let from = match args.from {
        From::Auto => None,
        From::Csv => Some(Format::VendorCsv),
        From::Pskc => Some(Format::Pskc),
        From::Privacyidea => Some(Format::PrivacyIdea),
        From::Otpauth => Some(Format::OtpauthList),
        From::GraphJson => Some(Format::GraphJson),
    };
    let mut import =
        formats::read(&input, from, &options).map_err(|e| CliError::usage("INPUT", e))?;
    drop(input);

    let manufacturer = args.manufacturer.as_deref().map(str::trim);
    let model = args.model.as_deref().map(str::trim);
    for c in &mut import.candidates {
        if let Some(m) = manufacturer.filter(|_| c.record.manufacturer.is_empty()) {
            c.record.manufacturer = m.to_string();
        }
        if let Some(m) = model.filter(|_| c.record.model.is_empty()) {
            c.record.model = m.to_string();
        }
    }

    let read = import.candidates.len() + import.refused.len();
    let mut batch = Batch::new(BatchLimit::new(args.max_tokens, "--max-tokens"));
    let mut refused_input: Vec<Refusal> = std::mem::take(&mut import.refused);
    refused_input.extend(batch.add_candidates(std::mem::take(&mut import.candidates)));
    refused_input.sort_by_key(|r| r.line);

    let mut assign_report = None;
    if let Some(users) = &args.assign {
        let bytes = read_bytes(users, "--assign", stdin)?;
        let text = std::str::from_utf8(&bytes)
            .map_err(|_| CliError::usage("--assign", "the user list is not UTF-8 text"))?;
        assign_report = Some(batch.assign(text));
    }

    let mut export = match args.to {
        OutFormat::Pskc => {
            let pw = out_password.as_ref().map(|p| pskc::PskcPassword {
                password: p.as_str(),
                iterations: args.pskc_iterations,
            });
            pskc::write(batch.records(), pw.as_ref())
        }
        to => to.export_format().write(batch.records()),
    }
    .map_err(|e| CliError::failure(e.to_string()))?;

    let empty = Vec::new();
    let (refused_users, warnings, assigned) = match &assign_report {
        Some(r) => (&r.refused, &r.warnings[..], r.assigned.len()),
        None => (&empty, &[][..], 0),
    };
    let clean = refused_input.is_empty() && refused_users.is_empty() && export.left_out.is_empty();
    let write_it = clean || args.partial;

    if write_it {
        let bytes = containers::wrap_output(
            &wrap,
            std::mem::take(&mut export.bytes),
            args.to.export_format(),
            stderr,
            args.json,
        )?;
        match &args.output {
            Some(path) => {
                let mut f = create_output(path)?;
                f.write_all(&bytes).and_then(|()| f.flush()).map_err(|e| {
                    CliError::failure(format!("cannot write {}: {e}", path.display()))
                })?;
            }
            None => stdout
                .write_all(&bytes)
                .and_then(|()| stdout.flush())
                .map_err(|e| CliError::failure(format!("cannot write output: {e}")))?,
        }
    }

    let input_name = "INPUT";
    let mut refused: Vec<Refused<'_>> = refused_input
        .iter()
        .map(|r| Refused {
            input: input_name,
            line: r.line,
            field: r.field,
            reason: &r.reason,
        })
        .collect();
    refused.extend(refused_users.iter().map(|r| Refused {
        input: "USERS",
        line: r.line,
        field: r.field,
        reason: &r.reason,
    }));
    let report = Report {
        container: opened.container.label(),
        signature: opened.signature.as_deref(),
        container_notes: &container_notes,
        from: import.format.name(),
        secret_encoding: import.secret_encoding.map(|e| match e {
            SeedFormat::Hex => "hex",
            _ => "base32",
        }),
        to: args.to.export_format().name(),
        read,
        converted: export.included,
        written: write_it,
        refused,
        left_out: &export.left_out,
        assigned,
        warnings,
        notes: &import.notes,
        wrapped: wrap.label().filter(|_| write_it),
        encrypted_to: wrap.fingerprint().filter(|_| write_it),
        generated_passphrase: wrap.generated().filter(|_| write_it && args.json),
    };
    if args.json {
        let json = serde_json::to_string(&report).map_err(|e| CliError::failure(e.to_string()))?;
        let _ = writeln!(stderr, "{json}");
    } else {
        print_report(&report, stderr);
    }
    if clean {
        return Ok(());
    }
    let problems = report.refused.len() + report.left_out.len();
    let message = if args.json {
        // The JSON already says it all; one more line would spoil it for a parser.
        String::new()
    } else if write_it {
        format!(
            "{problems} problem(s) above; the {} good tokens were written",
            export.included
        )
    } else {
        format!(
            "{problems} problem(s) above; nothing written (--partial writes the {} good tokens)",
            export.included
        )
    };
    Err(CliError { code: 1, message })
}

fn print_report(r: &Report<'_>, stderr: &mut dyn Write) {
    for n in r.container_notes {
        let _ = writeln!(stderr, "{n}");
    }
    for n in r.notes {
        let _ = writeln!(stderr, "note: {n}");
    }
    for x in &r.refused {
        let _ = writeln!(
            stderr,
            "{} line {}: {}: {}",
            x.input, x.line, x.field, x.reason
        );
    }
    for l in r.left_out {
        let _ = writeln!(stderr, "left out {}: {}", l.serial, l.reason);
    }
    for w in r.warnings {
        let _ = writeln!(stderr, "warning: {w}");
    }
    let encoding = r
        .secret_encoding
        .map(|e| format!(", {e} seeds"))
        .unwrap_or_default();
    let assigned = if r.assigned > 0 {
        format!(", {} users assigned", r.assigned)
    } else {
        String::new()
    };
    let _ = writeln!(
        stderr,
        "read {} token lines ({}{encoding}){assigned}; {} tokens {} as {}",
        r.read,
        r.from,
        r.converted,
        if r.written { "written" } else { "ready" },
        r.to
    );
}
