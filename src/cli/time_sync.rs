//! `totp-toolset time-sync`: sets the clock of the Token2 token on the reader to this
//! computer's UTC. Shows the token's offset first and asks before writing (`--yes` for
//! scripts). Refused on restricted models, where every config write erases the seed: there
//! the way to fix the clock is a re-burn with a new seed (and a new row).
//!
//! A time sync is a config write: the algorithm and period given must be the ones the
//! seed was burned with, or the token's codes change.

use std::io::{BufRead, Write};

use clap::Args;
use serde_json::json;

use super::common::{CliError, CliResult, now_or, out};
use super::nfc_args::ReaderArgs;
use crate::agent::api::TokenView;
use crate::nfc::{self, DisplayTimeout, NfcError, TokenSettings, reader};
use crate::otp::{Algorithm, utc_rfc3339};

#[derive(Args, Debug)]
pub struct TimeSyncArgs {
    #[command(flatten)]
    pub reader: ReaderArgs,
    /// HMAC hash the seed was burned with: sha1 or sha256
    #[arg(long, value_name = "ALG", default_value = "sha1", value_parser = super::common::parse_algorithm)]
    pub algorithm: Algorithm,
    /// Seconds per code the seed was burned with: 30 or 60
    #[arg(long, value_name = "SECONDS", default_value_t = 30)]
    pub period: u32,
    /// Seconds the display stays on: 15, 30, 60 or 120
    #[arg(long, value_name = "SECONDS", default_value = "30")]
    pub display_timeout: DisplayTimeout,
    /// Write without asking (for scripts)
    #[arg(long)]
    pub yes: bool,
    /// Write even to a serial prefix this burner does not know
    #[arg(long)]
    pub force: bool,
    /// Print JSON instead of text
    #[arg(long)]
    pub json: bool,
}

fn describe_offset(offset: i64) -> String {
    match offset {
        0 => "in step with this computer".to_string(),
        s if s > 0 => format!("{s} s ahead of this computer"),
        s => format!("{} s behind this computer", -s),
    }
}

pub fn run(
    args: &TimeSyncArgs,
    stdin: &mut dyn BufRead,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> CliResult {
    let settings = TokenSettings {
        algorithm: args.algorithm,
        period: args.period,
        display_timeout: args.display_timeout,
    };
    settings
        .config_at(now_or(None))
        .map_err(|e| CliError::usage("--algorithm/--period", e))?;
    if !reader::PCSC_BUILT_IN {
        return Err(NfcError::PcscUnavailable.into());
    }
    let _ = writeln!(
        stderr,
        "press the token's button, then hold it on the reader"
    );
    let token = args.reader.on_card(nfc::identify)?;
    let view = TokenView::new(&token, now_or(None));
    let model = view.model.as_deref().unwrap_or("unknown model");
    let _ = writeln!(
        stderr,
        "serial {} ({model}): clock {}, {}",
        view.serial,
        view.clock_utc,
        describe_offset(view.offset_seconds)
    );
    if token.model.is_none() && !args.force {
        return Err(NfcError::UnknownModel {
            serial: view.serial,
        }
        .into());
    }
    if token.restricted() {
        return Err(CliError::negative(format!(
            "{model} (serial {}) erases its seed on every config write, so its clock cannot be set without losing the seed; nothing was written. Burn it again with a new seed instead (its clock is set as it is burned): `totp-toolset burn --bulk --count 1 --out FILE`, then replace its row",
            view.serial
        )));
    }
    if !args.yes {
        let _ = write!(
            stderr,
            "set the clock of {} to this computer's UTC ({} s per code, {})? [y/N] ",
            view.serial, settings.period, settings.algorithm
        );
        let _ = stderr.flush();
        let mut answer = String::new();
        let _ = stdin.read_line(&mut answer);
        if !matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes") {
            return Err(CliError::negative("not confirmed: nothing was written"));
        }
    }
    let expected = view.serial.clone();
    let report = args.reader.on_card(|card| {
        // The token on the reader now must be the one the user confirmed.
        let now_there = nfc::identify(card)?;
        if now_there.info.serial != expected {
            return Ok(Err(now_there.info.serial));
        }
        nfc::sync_time(card, settings, now_or(None), false, args.force).map(Ok)
    })?;
    let report = report.map_err(|other| {
        CliError::failure(format!(
            "another token ({other}) is on the reader now, not {expected}: nothing was written"
        ))
    })?;
    let clock_set = u64::from(report.config.clock);
    if args.json {
        let value = json!({
            "serial": view.serial,
            "model": view.model,
            "offset_before": view.offset_seconds,
            "clock_set": clock_set,
            "clock_set_utc": utc_rfc3339(clock_set),
            "seed_erased": report.seed_erased,
        });
        return out(stdout, &format!("{value}\n"));
    }
    out(
        stdout,
        &format!(
            "clock of {} set to {} (it was {})\n",
            view.serial,
            utc_rfc3339(clock_set),
            describe_offset(view.offset_seconds)
        ),
    )
}
