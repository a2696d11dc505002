//! `totp-toolset otp SECRET`: the current code (like `t2otp SECRET`), or a table of codes
//! around a time with `--skew`.

use std::io::{BufRead, Write};

use clap::Args;
use serde_json::json;

use super::common::{
    CliResult, CodeArgs, FormatArgs, now_or, out, read_seed_and_params, warn_if_weak,
};
use crate::otp::{Generator, utc_datetime, utc_rfc3339};

#[derive(Args, Debug)]
pub struct OtpArgs {
    /// The seed: base32, hex or an otpauth:// URI; `-` reads it from standard input
    #[arg(value_name = "SECRET")]
    pub secret: String,
    /// Compute at this Unix time (seconds) instead of now
    #[arg(long, value_name = "UNIX_SECONDS")]
    pub at: Option<u64>,
    #[command(flatten)]
    pub code: CodeArgs,
    #[command(flatten)]
    pub format: FormatArgs,
    /// Print the codes from -N to +N steps around the time, the current row marked
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(0..=1000))]
    pub skew: Option<u32>,
    /// Print JSON instead of text
    #[arg(long)]
    pub json: bool,
}

pub fn run(
    args: &OtpArgs,
    stdin: &mut dyn BufRead,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> CliResult {
    let (parsed, params) = read_seed_and_params(&args.secret, &args.format, &args.code, stdin)?;
    warn_if_weak(&parsed.secret, stderr);
    let generator = Generator::new(&parsed.secret, params);
    let at = now_or(args.at);

    if args.json {
        let mut value = json!({
            "code": generator.code_at(at),
            "at": at,
            "at_utc": utc_rfc3339(at),
            "counter": generator.counter_at(at),
            "seconds_remaining": generator.seconds_remaining(at),
            "algorithm": params.algorithm().uri_name(),
            "digits": params.digits(),
            "period": params.period(),
        });
        if let Some(skew) = args.skew {
            value["window"] = serde_json::to_value(generator.window(at, skew).rows)
                .expect("window rows serialize");
        }
        return out(stdout, &format!("{value}\n"));
    }

    let Some(skew) = args.skew else {
        return out(stdout, &format!("{}\n", generator.code_at(at)));
    };
    let mut text = format!(
        "  {:>6}  {:>8}  {:<19}  code\n",
        "offset", "seconds", "step starts (UTC)"
    );
    for row in generator.window(at, skew).rows {
        let mark = if row.offset == 0 { '>' } else { ' ' };
        text.push_str(&format!(
            "{mark} {:>6}  {:>8}  {:<19}  {}\n",
            signed(row.offset),
            signed(row.offset_seconds),
            utc_datetime(row.starts_at),
            row.code
        ));
    }
    out(stdout, &text)
}

/// `+3`, `-3`, and a plain `0` for the current row.
fn signed(n: i64) -> String {
    if n == 0 {
        "0".to_string()
    } else {
        format!("{n:+}")
    }
}
