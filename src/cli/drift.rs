//! `totp-toolset drift SECRET CODE [NEXT_CODE]`: how far a token's clock is from ours,
//! from the code it displays.

use std::io::{BufRead, Write};

use clap::Args;
use serde_json::json;

use super::common::{
    CliError, CliResult, CodeArgs, FormatArgs, now_or, out, read_seed_and_params, warn_if_weak,
};
use crate::otp::{Drift, Generator, default_drift_steps, normalize_code};

#[derive(Args, Debug)]
pub struct DriftArgs {
    /// The seed: base32, hex or an otpauth:// URI; `-` reads it from standard input
    #[arg(value_name = "SECRET")]
    pub secret: String,
    /// The code the token shows now
    #[arg(value_name = "CODE")]
    pub code: String,
    /// The code the token shows next (removes ambiguity)
    #[arg(value_name = "NEXT_CODE")]
    pub next_code: Option<String>,
    /// Compare against this Unix time (seconds) instead of now
    #[arg(long, value_name = "UNIX_SECONDS")]
    pub at: Option<u64>,
    /// How many steps to search either way [default: one day of steps]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(0..=1_000_000))]
    pub max_steps: Option<u64>,
    #[command(flatten)]
    pub code_params: CodeArgs,
    #[command(flatten)]
    pub format: FormatArgs,
    /// Print JSON instead of text
    #[arg(long)]
    pub json: bool,
}

pub fn run(
    args: &DriftArgs,
    stdin: &mut dyn BufRead,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> CliResult {
    let (parsed, params) =
        read_seed_and_params(&args.secret, &args.format, &args.code_params, stdin)?;
    let code = normalize_code("CODE", &args.code, params.digits()).map_err(CliError::bad_input)?;
    let next = args
        .next_code
        .as_deref()
        .map(|n| normalize_code("NEXT_CODE", n, params.digits()))
        .transpose()
        .map_err(CliError::bad_input)?;
    warn_if_weak(&parsed.secret, stderr);
    let max_steps = args
        .max_steps
        .unwrap_or_else(|| default_drift_steps(params.period()));
    let generator = Generator::new(&parsed.secret, params);
    let at = now_or(args.at);

    match generator.find_drift(at, &code, next.as_deref(), max_steps) {
        Drift::Found(offset) => {
            if args.json {
                out(stdout, &format!("{}\n", json!(offset)))
            } else {
                out(stdout, &format!("{offset}: {}\n", offset.verdict()))
            }
        }
        Drift::Ambiguous(offsets) => {
            if args.json {
                return out(stdout, &format!("{}\n", json!(offsets)));
            }
            let mut text = format!(
                "ambiguous: the code appears at {} offsets within ±{max_steps} steps; give the next code too to settle it\n",
                offsets.len()
            );
            for o in offsets {
                text.push_str(&format!("{o}: {}\n", o.verdict()));
            }
            out(stdout, &text)
        }
        Drift::NotFound {
            max_steps,
            max_seconds,
        } => Err(CliError::negative(format!(
            "not found within ±{max_steps} steps (±{max_seconds} s): check the seed, the parameters and the code"
        ))),
    }
}
