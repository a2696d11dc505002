//! `totp-toolset burn SECRET`: writes a seed and its settings to the Token2 programmable
//! token on the reader (config with the current UTC first, then the seed), then prints the
//! codes the token must show after a power cycle: nothing can be read back from a token.
//! `burn --bulk` burns token after token with fresh seeds (see `bulk.rs`).

use std::io::{BufRead, Write};

use clap::Args;
use serde_json::json;

use super::common::{CliError, CliResult, FormatArgs, now_or, out, read_secret, warn_if_weak};
use super::nfc_args::ReaderArgs;
use crate::agent::api::CompareCodes;
use crate::nfc::protocol::{self, DIGITS};
use crate::nfc::{self, ConfigError, DisplayTimeout, TokenConfig, TokenSettings, reader};
use crate::otp::{Algorithm, utc_datetime, utc_rfc3339};

#[derive(Args, Debug)]
pub struct BurnArgs {
    /// The seed: base32, hex or an otpauth:// URI; `-` reads it from standard input
    #[arg(
        value_name = "SECRET",
        required_unless_present = "bulk",
        conflicts_with = "bulk"
    )]
    pub secret: Option<String>,
    /// Burn token after token as they are tapped, each with a fresh random seed, saving
    /// each row to --out before the next
    #[arg(long)]
    pub bulk: bool,
    #[command(flatten, next_help_heading = "Bulk burning (with --bulk)")]
    pub bulk_args: super::bulk::BulkArgs,
    #[command(flatten)]
    pub reader: ReaderArgs,
    /// HMAC hash: sha1 or sha256 (these tokens cannot do sha512) [default: sha1, or the URI's]
    #[arg(long, value_name = "ALG", value_parser = super::common::parse_algorithm)]
    pub algorithm: Option<Algorithm>,
    /// Seconds per code: 30 or 60 [default: 30, or the URI's]
    #[arg(long, value_name = "SECONDS")]
    pub period: Option<u32>,
    /// Seconds the display stays on: 15, 30, 60 or 120
    #[arg(long, value_name = "SECONDS", default_value = "30")]
    pub display_timeout: DisplayTimeout,
    /// Write even to a serial prefix this burner does not know
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub format: FormatArgs,
    /// Print JSON instead of text
    #[arg(long)]
    pub json: bool,
}

pub fn run(
    args: &BurnArgs,
    stdin: &mut dyn BufRead,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> CliResult {
    let Some(secret_arg) = args.secret.as_deref() else {
        return run_bulk(args, stdout, stderr);
    };
    let parsed = read_secret(secret_arg, args.format.format(), stdin)?;
    let uri_params = parsed.uri.as_ref().map(|u| u.params);
    let settings = TokenSettings {
        algorithm: args
            .algorithm
            .or(uri_params.map(|p| p.algorithm()))
            .unwrap_or(Algorithm::Sha1),
        period: args.period.or(uri_params.map(|p| p.period())).unwrap_or(30),
        display_timeout: args.display_timeout,
    };
    // Everything the user can get wrong is refused before looking for a reader.
    // Only a URI states digits (the flags state the rest, checked with the clock below).
    let digits = uri_params.map_or(DIGITS, |p| p.digits());
    if let Some(refusal) = TokenConfig::refusals(settings.algorithm, digits, settings.period)
        .into_iter()
        .find(|r| matches!(r, ConfigError::Digits(_)))
    {
        return Err(CliError::usage("SECRET", refusal));
    }
    protocol::check_seed_length(parsed.secret.len()).map_err(|e| CliError::usage("SECRET", e))?;
    settings
        .config_at(now_or(None))
        .map_err(|e| CliError::usage("--algorithm/--period", e))?;
    if !reader::PCSC_BUILT_IN {
        return Err(nfc::NfcError::PcscUnavailable.into());
    }
    warn_if_weak(&parsed.secret, stderr);
    let _ = writeln!(
        stderr,
        "press the token's button, then hold it on the reader"
    );

    let report = args
        .reader
        .on_card(|card| nfc::burn(card, &parsed.secret, settings, now_or(None), args.force))?;
    let at = u64::from(report.config.clock);
    let codes = CompareCodes::new(&parsed.secret, settings.algorithm, settings.period, at);
    let model = report.token.model.map(|m| m.name);

    if args.json {
        let value = json!({
            "serial": report.token.info.serial,
            "model": model,
            "restricted": report.token.restricted(),
            "algorithm": settings.algorithm.uri_name(),
            "digits": DIGITS,
            "period": settings.period,
            "display_timeout": settings.display_timeout.seconds(),
            "seed_bytes": report.seed_bytes,
            "clock_set": at,
            "clock_set_utc": utc_rfc3339(at),
            "codes": codes,
        });
        return out(stdout, &format!("{value}\n"));
    }
    out(
        stdout,
        &format!(
            "burned serial {} ({})\n\
             {}, 6 digits, {} s per code, display {} s, clock set to {} UTC\n\
             power-cycle the token (press its button) and compare:\n\
             \x20 previous  {}\n\
             \x20 current   {}  ({} s left)\n\
             \x20 next      {}\n",
            report.token.info.serial,
            model.unwrap_or("unknown model, forced"),
            settings.algorithm,
            settings.period,
            settings.display_timeout.seconds(),
            utc_datetime(at),
            codes.previous,
            codes.current,
            codes.seconds_remaining,
            codes.next,
        ),
    )
}

fn run_bulk(args: &BurnArgs, stdout: &mut dyn Write, stderr: &mut dyn Write) -> CliResult {
    let settings = TokenSettings {
        algorithm: args.algorithm.unwrap_or(Algorithm::Sha1),
        period: args.period.unwrap_or(30),
        display_timeout: args.display_timeout,
    };
    settings
        .config_at(now_or(None))
        .map_err(|e| CliError::usage("--algorithm/--period", e))?;
    let run = super::bulk::BulkRun {
        settings,
        reader: args.reader.reader.as_deref(),
        wait: std::time::Duration::from_secs(args.reader.wait),
        force: args.force,
        json: args.json,
    };
    super::bulk::run(&run, &args.bulk_args, stdout, stderr)
}
