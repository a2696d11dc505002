//! What several subcommands share: reading a seed argument (or `-` for standard input),
//! the code-parameter flags, the clock, and the one error type with its exit code.

use std::io::{BufRead, Write};
use std::process::ExitCode;

use clap::Args;
use zeroize::Zeroizing;

use crate::otp::{self, Algorithm, OtpAuth, ParamError, Params, ParsedSeed, Secret, SeedFormat};

/// A failure that ends a subcommand: a one-line message for stderr and the exit code.
#[derive(Debug)]
pub struct CliError {
    pub code: u8,
    pub message: String,
}

impl CliError {
    /// Bad input or usage: exit 2, and the message names the argument.
    pub fn usage(arg: &str, message: impl std::fmt::Display) -> Self {
        CliError {
            code: 2,
            message: format!("{arg}: {message}"),
        }
    }

    /// Bad input whose message already names the argument: exit 2.
    pub fn bad_input(message: impl std::fmt::Display) -> Self {
        CliError {
            code: 2,
            message: message.to_string(),
        }
    }

    /// The command ran but the answer is "no" (drift not found): exit 1.
    pub fn negative(message: impl Into<String>) -> Self {
        CliError {
            code: 1,
            message: message.into(),
        }
    }

    /// Something outside the user's input failed (random source, I/O): exit 1.
    pub fn failure(message: impl Into<String>) -> Self {
        CliError {
            code: 1,
            message: message.into(),
        }
    }

    pub fn exit_code(&self) -> ExitCode {
        ExitCode::from(self.code)
    }
}

pub type CliResult = Result<(), CliError>;

/// The current Unix time, or the `--at` override.
pub fn now_or(at: Option<u64>) -> u64 {
    at.unwrap_or_else(crate::clock::now)
}

pub fn parse_algorithm(s: &str) -> Result<Algorithm, ParamError> {
    s.parse()
}

/// Flags that choose how codes are computed. Each is optional so that values carried by an
/// otpauth URI apply unless the user overrides them.
#[derive(Args, Debug, Clone, Default)]
pub struct CodeArgs {
    /// HMAC hash: sha1, sha256 or sha512 [default: sha1, or the URI's]
    #[arg(long, value_name = "ALG", value_parser = parse_algorithm)]
    pub algorithm: Option<Algorithm>,
    /// Digits in a code: 6 or 8 [default: 6, or the URI's]
    #[arg(long, value_parser = otp::parse_digits)]
    pub digits: Option<u8>,
    /// Seconds per code, 1 to 3600 [default: 30, or the URI's]
    #[arg(long, value_name = "SECONDS", value_parser = otp::parse_period)]
    pub period: Option<u32>,
}

impl CodeArgs {
    /// The parameters to use: flags first, then the URI's, then the defaults.
    pub fn resolve(&self, from_uri: Option<&OtpAuth>) -> Result<Params, CliError> {
        let base = from_uri.map(|u| u.params).unwrap_or_default();
        Params::new(
            self.algorithm.unwrap_or(base.algorithm()),
            self.digits.unwrap_or(base.digits()),
            self.period.unwrap_or(base.period()),
        )
        .map_err(|e| CliError::usage("--digits/--period", e))
    }
}

/// `--hex` / `--base32`: the explicit choice that overrides auto-detection.
#[derive(Args, Debug, Clone, Default)]
pub struct FormatArgs {
    /// Read SECRET as hex
    #[arg(long, conflicts_with = "base32")]
    pub hex: bool,
    /// Read SECRET as base32 (even if it looks like hex)
    #[arg(long)]
    pub base32: bool,
}

impl FormatArgs {
    pub fn format(&self) -> SeedFormat {
        if self.hex {
            SeedFormat::Hex
        } else if self.base32 {
            SeedFormat::Base32
        } else {
            SeedFormat::Auto
        }
    }
}

/// Reads the SECRET argument; `-` reads one line from standard input so the seed stays out
/// of shell history and the process list.
pub fn read_secret(
    arg: &str,
    format: SeedFormat,
    stdin: &mut dyn BufRead,
) -> Result<ParsedSeed, CliError> {
    let parsed = if arg == "-" {
        let mut line = Zeroizing::new(String::new());
        stdin
            .read_line(&mut line)
            .map_err(|e| CliError::usage("SECRET", format!("cannot read standard input: {e}")))?;
        otp::parse_seed_input(&line, format)
    } else {
        otp::parse_seed_input(arg, format)
    };
    parsed.map_err(|e| CliError::usage("SECRET", e))
}

/// SECRET and the code parameters that apply to it (flags, then the URI's, then defaults).
pub fn read_seed_and_params(
    secret: &str,
    format: &FormatArgs,
    code: &CodeArgs,
    stdin: &mut dyn BufRead,
) -> Result<(ParsedSeed, Params), CliError> {
    let parsed = read_secret(secret, format.format(), stdin)?;
    let params = code.resolve(parsed.uri.as_ref())?;
    Ok((parsed, params))
}

/// The weak-seed warning, on stderr so stdout stays one clean line.
pub fn warn_if_weak(secret: &Secret, stderr: &mut dyn Write) {
    if secret.is_weak() {
        let _ = writeln!(
            stderr,
            "warning: the seed is {} bits; 128 or more is recommended (RFC 4226)",
            secret.bits()
        );
    }
}

/// Writes to stdout, turning a closed pipe into an ordinary failure instead of a panic.
pub fn out(stdout: &mut dyn Write, text: &str) -> CliResult {
    stdout
        .write_all(text.as_bytes())
        .map_err(|e| CliError::failure(format!("cannot write output: {e}")))
}

/// The bearer token the server and the agent share: from a file (`flag`, or its
/// `TOTP_TOOLSET_AGENT_TOKEN_FILE` variable) or from `TOTP_TOOLSET_AGENT_TOKEN`. Never from
/// a plain flag, which `ps` would show.
pub fn read_agent_token(
    file: Option<&std::path::Path>,
    flag: &'static str,
    min_chars: usize,
) -> Result<Zeroizing<String>, CliError> {
    let (token, source) = if let Some(path) = file {
        let text = std::fs::read_to_string(path)
            .map_err(|e| CliError::usage(flag, format!("cannot read {}: {e}", path.display())))?;
        (Zeroizing::new(text), flag)
    } else if let Ok(text) = std::env::var("TOTP_TOOLSET_AGENT_TOKEN") {
        (Zeroizing::new(text), "TOTP_TOOLSET_AGENT_TOKEN")
    } else {
        return Err(CliError::bad_input(format!(
            "a bearer token shared by the server and the agent is needed: {flag} FILE, TOTP_TOOLSET_AGENT_TOKEN_FILE or TOTP_TOOLSET_AGENT_TOKEN"
        )));
    };
    let trimmed = Zeroizing::new(token.trim().to_string());
    if trimmed.chars().count() < min_chars || trimmed.chars().any(char::is_whitespace) {
        return Err(CliError::usage(
            source,
            format!("the token must be at least {min_chars} characters without spaces"),
        ));
    }
    Ok(trimmed)
}
