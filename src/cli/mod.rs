//! The command line: parses arguments and hands each subcommand to its own file. Exit codes:
//! 0 success, 1 a negative answer or an outside failure, 2 bad input or usage.

mod common;
mod drift;
mod healthcheck;
mod otp;
mod seed;
mod serve;

use std::io::{self, Write};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub use common::{CliError, CliResult};

#[derive(Parser, Debug)]
#[command(
    name = "totp-toolset",
    version,
    about = "Provision OATH TOTP hardware tokens: seeds, codes, drift, Entra CSV, Token2 burning"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Print the current code of a seed (or a table of codes with --skew)
    Otp(otp::OtpArgs),
    /// Print a fresh random seed (base32, hex or otpauth URI)
    Seed(seed::SeedArgs),
    /// Find a token's clock drift from the code it shows
    Drift(drift::DriftArgs),
    /// Exit 0 only if a running server answers /healthz (for Docker's HEALTHCHECK)
    Healthcheck(healthcheck::HealthcheckArgs),
    /// Run the web toolset (seed, codes and CSV pages) on a local address
    Serve(serve::ServeArgs),
}

/// Runs the command line and returns the process exit code.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // Help and version go to stdout as clap prints them; real errors become one
            // line on stderr with exit code 2.
            if !e.use_stderr() {
                let _ = e.print();
                return ExitCode::SUCCESS;
            }
            let rendered = e.render().to_string();
            let line = rendered
                .lines()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("error: invalid arguments");
            eprintln!("{line}");
            return ExitCode::from(2);
        }
    };
    // Each command takes the stdio handles it needs for itself. No lock is held across a
    // command: the server logs from many threads, and a held lock would block them.
    let result = match &cli.command {
        Command::Otp(args) => otp::run(
            args,
            &mut io::stdin().lock(),
            &mut io::stdout(),
            &mut io::stderr(),
        ),
        Command::Seed(args) => seed::run(args, &mut io::stdout()),
        Command::Drift(args) => drift::run(
            args,
            &mut io::stdin().lock(),
            &mut io::stdout(),
            &mut io::stderr(),
        ),
        Command::Healthcheck(args) => healthcheck::run(args),
        Command::Serve(args) => serve::run(args, &mut io::stdout()),
    };
    let _ = io::stdout().flush();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", e.message);
            e.exit_code()
        }
    }
}
