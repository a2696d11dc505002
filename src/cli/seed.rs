//! `totp-toolset seed`: a fresh seed from the operating system's CSPRNG, as base32, hex or a
//! complete otpauth URI.

use std::io::Write;

use clap::{Args, ValueEnum};

use super::common::{CliError, CliResult, CodeArgs, out};
use crate::otp::{DEFAULT_GENERATE_BYTES, OtpAuth, Secret};

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum SeedOutput {
    Base32,
    Hex,
    Uri,
}

fn parse_size(s: &str) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(n @ (10 | 20 | 32 | 64)) => Ok(n),
        _ => Err(format!(
            "seed size must be 10, 20, 32 or 64 bytes, not '{s}'"
        )),
    }
}

#[derive(Args, Debug)]
pub struct SeedArgs {
    /// Seed size in bytes: 10, 20, 32 or 64
    #[arg(long, default_value_t = DEFAULT_GENERATE_BYTES, value_parser = parse_size)]
    pub bytes: usize,
    /// Output: base32 (for Entra and authenticator apps), hex, or an otpauth:// URI
    #[arg(long, value_enum, default_value_t = SeedOutput::Base32)]
    pub format: SeedOutput,
    /// Issuer shown in authenticator apps (uri only)
    #[arg(long, default_value = "")]
    pub issuer: String,
    /// Account name shown in authenticator apps (uri only)
    #[arg(long, default_value = "")]
    pub account: String,
    #[command(flatten)]
    pub code: CodeArgs,
}

pub fn run(args: &SeedArgs, stdout: &mut dyn Write) -> CliResult {
    let secret = Secret::generate(args.bytes).map_err(|e| CliError::failure(e.to_string()))?;
    let text = match args.format {
        SeedOutput::Base32 => secret.to_base32(),
        SeedOutput::Hex => secret.to_hex(),
        SeedOutput::Uri => {
            let params = args.code.resolve(None)?;
            let issuer_arg = if args.issuer.contains(':') {
                "--issuer"
            } else {
                "--account"
            };
            OtpAuth::new(secret, params, &args.issuer, &args.account)
                .map_err(|e| CliError::usage(issuer_arg, e))?
                .to_uri()
        }
    };
    out(stdout, &format!("{}\n", text.as_str()))
}
