//! `totp-toolset burn --bulk`: burns token after token as they are tapped on the reader.
//! Each gets a fresh seed from the OS CSPRNG, its config then its seed, its serial read and
//! its codes printed; its row (with the next user of `--users`, or none) is saved to `--out`
//! before the next token is waited for.
//!
//! Saving: the whole file is rebuilt from the rows in memory and replaces the old one
//! atomically after every token (written to a 0600 file beside it, fsynced, renamed over,
//! the directory fsynced). So Ctrl-C or a crash leaves the file as it was after the last
//! token, never torn; a re-burned token's row gets its new seed in place (never a second
//! row for one serial); and with `--encrypt-to` the file is one OpenPGP message holding
//! every row, so no seed ever reaches the disk in clear.
//!
//! Every format the batch exports can be written (`--to`); a format that could not carry a
//! token burned with these settings is refused before the first tap, never after a burn.
//! Cards come through [`Taps`]: PC/SC readers, or (in tests) virtual tokens in process.
//!
//! Never prints, logs or writes a seed anywhere but into `--out`.

use std::collections::{HashMap, HashSet};
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use clap::{Args, ValueEnum};
use serde_json::json;
use zeroize::Zeroizing;

use super::common::{CliError, CliResult, now_or, out};
use super::convert_containers::read_public_key;
use crate::agent::api::CompareCodes;
use crate::nfc::reader::{self, Tap};
use crate::nfc::{self, Card, CardError, ErrorKind, NfcError, TokenSettings};
use crate::otp::{Algorithm, Params, Secret};
use crate::tokens::containers::{PgpPublicKey, encrypt_pgp_to_key};
use crate::tokens::formats::ExportFormat;
use crate::tokens::formats::entra_csv;
use crate::tokens::{ENTRA_CSV_HEADER, Source, TokenRecord, parse_user_list};

/// The files `convert --to` and `burn --bulk --to` write: the batch's export formats, under
/// the names their `--to` takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutFormat {
    /// Entra's OATH token CSV upload (SHA-1 only)
    EntraCsv,
    /// A Graph JSON batch for the hardware OATH inventory (hardwareOathDevices, send with PATCH)
    GraphJson,
    /// RFC 6030 PSKC XML (the seeds in plain text unless the output is encrypted)
    Pskc,
    /// privacyIDEA's OATH CSV
    Privacyidea,
    /// One otpauth:// URI per line
    Otpauth,
    /// An inventory CSV without seeds (serial, UPN, model, ...)
    Inventory,
}

impl OutFormat {
    pub fn export_format(self) -> ExportFormat {
        match self {
            OutFormat::EntraCsv => ExportFormat::EntraCsv,
            OutFormat::GraphJson => ExportFormat::GraphJson,
            OutFormat::Pskc => ExportFormat::Pskc,
            OutFormat::Privacyidea => ExportFormat::PrivacyIdea,
            OutFormat::Otpauth => ExportFormat::OtpauthList,
            OutFormat::Inventory => ExportFormat::Inventory,
        }
    }
}

/// Where the cards of a run come from: the PC/SC readers, or anything else that hands out
/// one card per tap (tests play virtual tokens in process).
pub trait Taps {
    /// Whether cards can come at all; asked once the flags are checked, before any card.
    fn available(&self) -> Result<(), NfcError>;

    /// Waits for a card that is none of `seen` and runs `work` on it (as
    /// [`reader::with_new_card`]): the outer error is "no card came".
    fn next<T>(
        &mut self,
        seen: &[Tap],
        work: impl FnMut(&mut dyn Card) -> Result<T, NfcError>,
    ) -> Result<(Tap, Result<T, NfcError>), NfcError>;
}

/// The PC/SC readers: `reader` (or any), waiting up to `wait` for each card.
struct Readers<'a> {
    reader: Option<&'a str>,
    wait: Duration,
}

impl Taps for Readers<'_> {
    fn available(&self) -> Result<(), NfcError> {
        if reader::PCSC_BUILT_IN {
            Ok(())
        } else {
            Err(NfcError::PcscUnavailable)
        }
    }

    fn next<T>(
        &mut self,
        seen: &[Tap],
        work: impl FnMut(&mut dyn Card) -> Result<T, NfcError>,
    ) -> Result<(Tap, Result<T, NfcError>), NfcError> {
        reader::with_new_card(self.reader, self.wait, seen, work)
    }
}

/// What to do when a token already burned in this run is tapped again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Again {
    /// Leave it as it is and wait for the next token
    Skip,
    /// Burn it with a new seed; its row gets the new seed (never a second row)
    Reburn,
}

/// The flags of a bulk run (only with `--bulk`).
#[derive(Args, Debug, Clone)]
pub struct BulkArgs {
    /// Stop after this many tokens are burned [default: one per user of --users, otherwise
    /// until no token comes within --wait seconds]
    #[arg(long, value_name = "N", requires = "bulk", value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub count: Option<u32>,
    /// Users to assign in order, one UPN per line [default: none, rows stay unassigned]
    #[arg(long, value_name = "FILE", requires = "bulk")]
    pub users: Option<PathBuf>,
    /// The file the rows are saved to after each token (created mode 0600)
    #[arg(long, value_name = "FILE", requires = "bulk")]
    pub out: Option<PathBuf>,
    /// The file's format (every format `convert --to` writes)
    #[arg(
        long,
        value_name = "FORMAT",
        value_enum,
        default_value = "entra-csv",
        requires = "bulk"
    )]
    pub to: OutFormat,
    /// Add to an existing --out file (Entra CSV, not encrypted) instead of refusing it
    #[arg(long, requires = "bulk")]
    pub append: bool,
    /// Encrypt the file to this OpenPGP public key (armored or binary)
    #[arg(long, value_name = "KEY.asc", requires = "bulk")]
    pub encrypt_to: Option<PathBuf>,
    /// Seed size in bytes: 10, 20 or 32
    #[arg(long, value_name = "BYTES", default_value_t = 20, requires = "bulk", value_parser = parse_seed_bytes)]
    pub seed_bytes: usize,
    /// A token tapped again after it was burned in this run: skip or reburn
    #[arg(
        long,
        value_name = "WHAT",
        value_enum,
        default_value = "skip",
        requires = "bulk"
    )]
    pub again: Again,
}

fn parse_seed_bytes(s: &str) -> Result<usize, String> {
    match s.trim() {
        "10" => Ok(10),
        "20" => Ok(20),
        "32" => Ok(32),
        _ => Err("must be 10, 20 or 32 bytes (these tokens hold up to 63)".into()),
    }
}

/// Everything a bulk run needs besides the bulk flags.
pub struct BulkRun<'a> {
    pub settings: TokenSettings,
    pub reader: Option<&'a str>,
    pub wait: Duration,
    pub force: bool,
    pub json: bool,
}

/// The output file and how it is rebuilt.
struct OutFile {
    path: PathBuf,
    to: OutFormat,
    /// What the file held before this run (with `--append`), kept byte for byte.
    prefix: Zeroizing<Vec<u8>>,
    key: Option<PgpPublicKey>,
}

impl OutFile {
    fn open(
        bulk: &BulkArgs,
        settings: &TokenSettings,
    ) -> Result<(Self, HashSet<String>), CliError> {
        let Some(path) = bulk.out.clone() else {
            return Err(CliError::bad_input(
                "--out FILE is needed with --bulk: the seeds are kept nowhere else",
            ));
        };
        if bulk.to == OutFormat::EntraCsv && settings.algorithm != Algorithm::Sha1 {
            return Err(CliError::usage(
                "--to",
                "Entra's CSV takes SHA-1 tokens only; use --to graph-json for SHA-256",
            ));
        }
        if bulk.append && (bulk.encrypt_to.is_some() || bulk.to != OutFormat::EntraCsv) {
            return Err(CliError::usage(
                "--append",
                "only a plain Entra CSV can be added to; write a new file instead",
            ));
        }
        let key = bulk
            .encrypt_to
            .as_deref()
            .map(|p| read_public_key(p, "--encrypt-to"))
            .transpose()?;
        check_fits(bulk, settings)?;
        let mut prior = HashSet::new();
        let prefix = match fs::read(&path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Zeroizing::new(Vec::new()),
            Err(e) => {
                return Err(CliError::usage(
                    "--out",
                    format!("cannot read {}: {e}", path.display()),
                ));
            }
            Ok(_) if !bulk.append => {
                return Err(CliError::usage(
                    "--out",
                    format!(
                        "{} already exists; choose a new file, or --append to add to it",
                        path.display()
                    ),
                ));
            }
            Ok(bytes) => {
                let bytes = Zeroizing::new(bytes);
                prior = prior_serials(&bytes)?;
                bytes
            }
        };
        Ok((
            OutFile {
                path,
                to: bulk.to,
                prefix,
                key,
            },
            prior,
        ))
    }

    /// The whole file for `rows`.
    fn render(&self, rows: &[TokenRecord]) -> Result<Zeroizing<Vec<u8>>, CliError> {
        let failed = |e: &dyn std::fmt::Display| CliError::failure(format!("--out: {e}"));
        let export = match self.to {
            // Every row, a row without a user too: the file must hold every seed burned.
            OutFormat::EntraCsv => entra_csv::write_unassigned_too(rows),
            // Every other format as `convert` writes it.
            to => to.export_format().write(rows),
        }
        .map_err(|e| failed(&e))?;
        // Refused before the first tap (`check_fits`); a row left out here would be a
        // burned seed kept nowhere.
        if let Some(l) = export.left_out.first() {
            return Err(failed(&format!("token {} {}", l.serial, l.reason)));
        }
        let body = if self.to == OutFormat::EntraCsv && !self.prefix.is_empty() {
            let csv = export.bytes;
            let mut all = Zeroizing::new(self.prefix.to_vec());
            if !all.ends_with(b"\n") {
                all.extend_from_slice(b"\r\n");
            }
            // The rows without our header: the file has its own.
            let start = csv
                .windows(2)
                .position(|w| w == b"\r\n")
                .map_or(csv.len(), |p| p + 2);
            all.extend_from_slice(&csv[start..]);
            all
        } else {
            export.bytes
        };
        match &self.key {
            None => Ok(body),
            Some(key) => encrypt_pgp_to_key(&body, key)
                .map(|armored| Zeroizing::new(armored.into_bytes()))
                .map_err(|e| failed(&e)),
        }
    }

    fn save(&self, rows: &[TokenRecord]) -> Result<(), CliError> {
        let bytes = self.render(rows)?;
        replace_file(&self.path, &bytes)
            .map_err(|e| CliError::failure(format!("cannot write {}: {e}", self.path.display())))
    }
}

/// The parameters of every token this run burns (6 digits: Token2's programmable tokens).
fn params_of(settings: &TokenSettings) -> Result<Params, CliError> {
    Params::new(settings.algorithm, 6, settings.period)
        .map_err(|e| CliError::usage("--algorithm/--period", e.to_string()))
}

/// A token as this run burns it: Token2's, a fresh seed, the run's parameters.
fn record(serial: &str, model: &str, secret: Secret, params: Params) -> TokenRecord {
    TokenRecord {
        serial: serial.to_string(),
        secret,
        params,
        manufacturer: "Token2".into(),
        model: model.to_string(),
        upn: None,
        source: Source::Burned,
        added_at: now_or(None),
    }
}

/// Refuses a format that could not carry the tokens this run burns (privacyIDEA guesses the
/// hash from the seed's size, Graph takes 30 or 60 s): found by writing one such token.
fn check_fits(bulk: &BulkArgs, settings: &TokenSettings) -> Result<(), CliError> {
    if bulk.to == OutFormat::EntraCsv {
        return Ok(());
    }
    let secret = Secret::generate(bulk.seed_bytes)
        .map_err(|e| CliError::failure(format!("no seed could be drawn: {e}")))?;
    let probe = record("0", "C302", secret, params_of(settings)?);
    let export = bulk
        .to
        .export_format()
        .write(std::slice::from_ref(&probe))
        .map_err(|e| CliError::failure(format!("--out: {e}")))?;
    match export.left_out.first() {
        None => Ok(()),
        Some(l) => Err(CliError::usage(
            "--to",
            format!("cannot carry these tokens: a token that {}", l.reason),
        )),
    }
}

/// The serials of an Entra CSV being added to (so a token already in it is not burned
/// into a second row).
fn prior_serials(bytes: &[u8]) -> Result<HashSet<String>, CliError> {
    let text = std::str::from_utf8(bytes)
        .map_err(|_| CliError::usage("--out", "the file to add to is not UTF-8 text"))?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.trim().is_empty() {
        return Ok(HashSet::new());
    }
    if text.lines().next().map(str::trim) != Some(ENTRA_CSV_HEADER) {
        return Err(CliError::usage(
            "--out",
            format!("the file to add to does not start with Entra's header '{ENTRA_CSV_HEADER}'"),
        ));
    }
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut serials = HashSet::new();
    for (i, record) in reader.records().enumerate() {
        let record = record.map_err(|_| {
            CliError::usage(
                "--out",
                format!("line {} of the file cannot be read", i + 2),
            )
        })?;
        if let Some(serial) = record.get(1) {
            serials.insert(serial.trim().to_string());
        }
    }
    Ok(serials)
}

/// Replaces `path` with `bytes` so that a crash leaves either the old or the new file:
/// a 0600 file beside it, written and fsynced, renamed over it, the directory fsynced.
fn replace_file(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".into());
    let tmp = dir.join(format!(".{name}.{}.part", std::process::id()));
    // A leftover from a crashed run may have another mode: start afresh.
    let _ = fs::remove_file(&tmp);
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)?;
    let written = file
        .write_all(bytes)
        .and_then(|_| file.sync_all())
        .and_then(|_| fs::rename(&tmp, path));
    if written.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    written?;
    fs::File::open(&dir)?.sync_all()
}

/// Counts the APDUs of one tap (reported per token).
struct Counting<'a> {
    card: &'a mut dyn Card,
    apdus: usize,
}

impl Card for Counting<'_> {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, CardError> {
        self.apdus += 1;
        self.card.transmit(apdu)
    }
}

/// What one tap came to.
enum Outcome {
    Burned {
        token: nfc::Identified,
        secret: Secret,
        clock_set: u64,
    },
    /// A token burned earlier (in this run or in the file added to), left as it is.
    Skipped { serial: String, in_file: bool },
    /// The token was identified, then something failed.
    Failed { serial: String, error: NfcError },
}

/// One tap's result with what it cost: APDUs and milliseconds of our time, from the card
/// connected to the result.
struct TapResult {
    outcome: Result<Outcome, NfcError>,
    apdus: usize,
    ms: f64,
}

/// Reads `--users`.
fn read_users(path: &Path) -> Result<Vec<String>, CliError> {
    let text = fs::read_to_string(path)
        .map_err(|e| CliError::usage("--users", format!("cannot read {}: {e}", path.display())))?;
    parse_user_list(&text).map_err(|errors| {
        let shown: Vec<String> = errors.iter().take(10).map(|e| e.to_string()).collect();
        let more = errors.len().saturating_sub(10);
        let tail = if more > 0 {
            format!("; and {more} more")
        } else {
            String::new()
        };
        CliError::usage("--users", format!("{}{tail}", shown.join("; ")))
    })
}

/// A bulk run on the PC/SC readers.
pub fn run(
    run: &BulkRun<'_>,
    bulk: &BulkArgs,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> CliResult {
    let mut readers = Readers {
        reader: run.reader,
        wait: run.wait,
    };
    run_with(&mut readers, run, bulk, stdout, stderr)
}

/// A bulk run on the cards `taps` hands out (`run.reader` and `run.wait` are the readers'
/// business, not this loop's).
pub fn run_with(
    taps: &mut impl Taps,
    run: &BulkRun<'_>,
    bulk: &BulkArgs,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> CliResult {
    let settings = run.settings;
    let params = params_of(&settings)?;
    let (file, prior) = OutFile::open(bulk, &settings)?;
    let users = match &bulk.users {
        Some(path) => read_users(path)?,
        None => Vec::new(),
    };
    let target = bulk
        .count
        .map(|c| c as usize)
        .or((!users.is_empty()).then_some(users.len()));
    taps.available()?;
    // The file exists (0600) and is writable before the first token is touched.
    let mut rows: Vec<TokenRecord> = Vec::new();
    file.save(&rows)?;
    if bulk.to == OutFormat::EntraCsv && target.is_none_or(|t| t > users.len()) {
        let _ = writeln!(
            stderr,
            "note: rows without a user get an empty UPN, which Entra's CSV upload refuses: assign users before uploading, or use --to graph-json for unassigned tokens"
        );
    }

    let mut by_serial: HashMap<String, usize> = HashMap::new();
    let mut next_user = users.iter();
    let mut seen: Vec<Tap> = Vec::new();
    // Serials whose last attempt failed (a later success clears them), and failures of
    // devices that never said who they were.
    let mut failed: HashMap<String, ErrorKind> = HashMap::new();
    let mut unidentified = 0usize;
    let (mut skipped, mut failed_attempts) = (0usize, 0usize);
    let (mut burn_ms, mut burn_apdus, mut burns) = (0f64, 0usize, 0usize);
    let mut stopped = None;

    while target.is_none_or(|t| rows.len() < t) {
        let n = rows.len() + 1;
        let of = target.map_or(String::new(), |t| format!(" of {t}"));
        let _ = writeln!(
            stderr,
            "waiting for token {n}{of}: press its button and hold it on the reader"
        );
        // Drawn before the tap, so a failing random source stops the run before any card
        // work; dropped (and wiped) unused when the token is skipped or fails.
        let secret = Secret::generate(bulk.seed_bytes)
            .map_err(|e| CliError::failure(format!("no seed could be drawn: {e}")))?;
        let waited = taps.next(&seen, |card| {
            let started = Instant::now();
            let mut counting = Counting { card, apdus: 0 };
            let outcome = tap(&mut counting, run, bulk, &secret, &by_serial, &prior);
            Ok(TapResult {
                outcome,
                apdus: counting.apdus,
                ms: started.elapsed().as_secs_f64() * 1000.0,
            })
        });
        let (tap_at, result) = match waited {
            Ok((tap_at, Ok(result))) => (tap_at, result),
            Ok((_, Err(e))) => return Err(e.into()),
            Err(NfcError::NoCardInTime(s)) => {
                stopped = Some(format!("no token came within {s} s"));
                break;
            }
            Err(e) if e.is_input_error() => return Err(e.into()),
            Err(e) => {
                stopped = Some(e.to_string());
                break;
            }
        };
        reader::remember(&mut seen, tap_at);
        let (apdus, ms) = (result.apdus, result.ms);
        match result.outcome {
            Ok(Outcome::Burned {
                token,
                secret,
                clock_set,
            }) => {
                let serial = token.info.serial.clone();
                let model = token.model.map_or("unknown", |m| m.name).to_string();
                let codes =
                    CompareCodes::new(&secret, settings.algorithm, settings.period, clock_set);
                let row_at = match by_serial.get(&serial) {
                    Some(&i) => {
                        let row = &mut rows[i];
                        row.secret = secret;
                        row.added_at = now_or(None);
                        i
                    }
                    None => {
                        let mut row = record(&serial, &model, secret, params);
                        row.upn = next_user.next().cloned();
                        rows.push(row);
                        by_serial.insert(serial.clone(), rows.len() - 1);
                        rows.len() - 1
                    }
                };
                file.save(&rows).map_err(|e| {
                    CliError::failure(format!(
                        "token {serial} was burned but its row could not be saved ({}): burn it again into a new file",
                        e.message
                    ))
                })?;
                failed.remove(&serial);
                burns += 1;
                burn_ms += ms;
                burn_apdus += apdus;
                let upn = rows[row_at].upn.clone().unwrap_or_default();
                report_burned(
                    stdout,
                    run.json,
                    row_at + 1,
                    &of,
                    &serial,
                    &model,
                    &upn,
                    &codes,
                    apdus,
                    ms,
                )?;
            }
            Ok(Outcome::Skipped { serial, in_file }) => {
                skipped += 1;
                let why = if in_file {
                    "is already in the file added to"
                } else {
                    "was already burned in this run"
                };
                event(
                    stdout,
                    run.json,
                    json!({"event": "skipped", "serial": serial, "reason": why,
                           "apdus": apdus, "ms": round(ms)}),
                    || format!("{serial}: skipped, it {why}; lift it and tap the next one"),
                )?;
            }
            Ok(Outcome::Failed { serial, error }) => {
                failed_attempts += 1;
                failed.insert(serial.clone(), error.kind());
                report_failed(stdout, run.json, Some(&serial), &error, apdus, ms)?;
            }
            Err(error) => {
                failed_attempts += 1;
                unidentified += 1;
                report_failed(stdout, run.json, None, &error, apdus, ms)?;
            }
        }
    }

    let unresolved = failed.len() + unidentified;
    let short = target.is_some_and(|t| rows.len() < t);
    let per_burn = |total: f64| {
        if burns == 0 {
            0.0
        } else {
            total / burns as f64
        }
    };
    event(
        stdout,
        run.json,
        json!({"event": "summary", "burned": burns, "rows": rows.len(),
               "skipped": skipped, "failed_attempts": failed_attempts,
               "failed": unresolved, "failed_serials": failed.keys().collect::<Vec<_>>(),
               "stopped": stopped, "out": file.path.display().to_string(),
               "ms_per_token": round(per_burn(burn_ms)),
               "apdus_per_burn": per_burn(burn_apdus as f64)}),
        || {
            format!(
                "{} token(s) burned into {} row(s) in {}; {skipped} skipped; {failed_attempts} failed attempt(s), {unresolved} token(s) left without a row{}",
                burns,
                rows.len(),
                file.path.display(),
                stopped
                    .as_ref()
                    .map_or(String::new(), |s| format!("; stopped: {s}")),
            )
        },
    )?;
    if unresolved > 0 || short {
        let mut why = Vec::new();
        if unresolved > 0 {
            why.push(format!(
                "{unresolved} token(s) failed and were not burned again"
            ));
        }
        if let (true, Some(t)) = (short, target) {
            why.push(format!("{} of {t} tokens burned", rows.len()));
        }
        return Err(CliError::negative(why.join("; ")));
    }
    Ok(())
}

/// One tap: identify, then skip it, or burn a fresh seed onto it.
fn tap(
    card: &mut dyn Card,
    run: &BulkRun<'_>,
    bulk: &BulkArgs,
    secret: &Secret,
    by_serial: &HashMap<String, usize>,
    prior: &HashSet<String>,
) -> Result<Outcome, NfcError> {
    let token = nfc::identify(card)?;
    let serial = token.info.serial.clone();
    let in_file = prior.contains(&serial);
    if in_file || (by_serial.contains_key(&serial) && bulk.again == Again::Skip) {
        return Ok(Outcome::Skipped { serial, in_file });
    }
    let now = now_or(None);
    match nfc::burn_identified(card, token, secret, run.settings, now, run.force) {
        Ok(report) => Ok(Outcome::Burned {
            token: report.token,
            secret: secret.clone(),
            clock_set: u64::from(report.config.clock),
        }),
        Err(error) => Ok(Outcome::Failed { serial, error }),
    }
}

/// Milliseconds to a tenth, for reports.
fn round(ms: f64) -> f64 {
    (ms * 10.0).round() / 10.0
}

#[allow(clippy::too_many_arguments)]
fn report_burned(
    stdout: &mut dyn Write,
    as_json: bool,
    row: usize,
    of: &str,
    serial: &str,
    model: &str,
    upn: &str,
    codes: &CompareCodes,
    apdus: usize,
    ms: f64,
) -> CliResult {
    let user = if upn.is_empty() { "unassigned" } else { upn };
    event(
        stdout,
        as_json,
        json!({"event": "burned", "row": row, "serial": serial, "model": model,
               "upn": upn, "codes": codes, "apdus": apdus, "ms": round(ms)}),
        || {
            format!(
                "token {row}{of}: {serial} ({model}) burned, {user}; codes {} {} {} ({apdus} APDUs, {ms:.1} ms); lift it, tap the next one",
                codes.previous, codes.current, codes.next
            )
        },
    )
}

fn report_failed(
    stdout: &mut dyn Write,
    as_json: bool,
    serial: Option<&str>,
    error: &NfcError,
    apdus: usize,
    ms: f64,
) -> CliResult {
    let who = serial.unwrap_or("a device");
    event(
        stdout,
        as_json,
        json!({"event": "failed", "serial": serial, "kind": error.kind(),
               "message": error.to_string(), "apdus": apdus, "ms": round(ms)}),
        || format!("{who}: {error}; no row added, waiting for the next token"),
    )
}

/// One line of progress on stdout: the JSON event with `--json`, else the sentence for people.
fn event(
    stdout: &mut dyn Write,
    as_json: bool,
    json: serde_json::Value,
    text: impl FnOnce() -> String,
) -> CliResult {
    let line = if as_json { json.to_string() } else { text() };
    out(stdout, &format!("{line}\n"))
}
