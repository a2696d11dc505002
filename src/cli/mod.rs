//! The command line: parses arguments and hands each subcommand to its own file. Exit codes:
//! 0 success, 1 a negative answer or an outside failure, 2 bad input or usage.

mod agent;
mod burn;
mod common;
mod drift;
mod identify;
mod nfc_args;
mod otp;
mod readers;
mod seed;
mod virtual_token;

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
    /// List the PC/SC readers and whether a card is on each
    Readers(readers::ReadersArgs),
    /// Show the serial, model and clock of the Token2 token on the reader
    Identify(identify::IdentifyArgs),
    /// Burn a seed onto the Token2 programmable token on the reader
    Burn(burn::BurnArgs),
    /// Play a Token2 token as a vpcd card (testing without hardware)
    VirtualToken(virtual_token::VirtualTokenArgs),
    /// Serve the loopback HTTP agent that burns tokens for the toolset server
    Agent(agent::AgentArgs),
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
    if let Command::Agent(args) = &cli.command {
        // The agent logs to stderr from its worker threads, so it must not run while this
        // thread holds the stdout/stderr locks taken below (that deadlocks the first log).
        return match agent::run(args, &mut io::stdout(), &mut io::stderr()) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {}", e.message);
                e.exit_code()
            }
        };
    }
    let stdin = io::stdin();
    let mut stdin = stdin.lock();
    let mut stdout = io::stdout().lock();
    let mut stderr = io::stderr().lock();
    let result = match &cli.command {
        Command::Otp(args) => otp::run(args, &mut stdin, &mut stdout, &mut stderr),
        Command::Seed(args) => seed::run(args, &mut stdout),
        Command::Drift(args) => drift::run(args, &mut stdin, &mut stdout, &mut stderr),
        Command::Readers(args) => readers::run(args, &mut stdout),
        Command::Identify(args) => identify::run(args, &mut stdout, &mut stderr),
        Command::Burn(args) => burn::run(args, &mut stdin, &mut stdout, &mut stderr),
        Command::VirtualToken(args) => virtual_token::run(args, &mut stdout),
        Command::Agent(_) => unreachable!("the agent ran above"),
    };
    let _ = stdout.flush();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let _ = writeln!(stderr, "error: {}", e.message);
            e.exit_code()
        }
    }
}
