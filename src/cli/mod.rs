//! The command line: parses arguments and hands each subcommand to its own file. Exit codes:
//! 0 success, 1 a negative answer or an outside failure, 2 bad input or usage.

mod agent;
pub mod bulk;
mod burn;
mod common;
mod convert;
mod convert_containers;
mod drift;
pub mod gpg;
mod healthcheck;
mod identify;
mod nfc_args;
mod otp;
mod panic;
mod readers;
mod seed;
mod serve;
mod time_sync;
mod virtual_token;

use std::io::{self, BufRead, Write};
use std::process::ExitCode;

use std::collections::BTreeSet;

use clap::{CommandFactory, Parser, Subcommand};

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
    /// Convert a token file (vendor/Entra CSV, PSKC, privacyIDEA, otpauth list) to an upload format
    Convert(convert::ConvertArgs),
    /// Print a fresh random seed (base32, hex or otpauth URI)
    Seed(seed::SeedArgs),
    /// Find a token's clock drift from the code it shows
    Drift(drift::DriftArgs),
    /// Exit 0 only if a running server answers /healthz (for Docker's HEALTHCHECK)
    // Only the address shows: the TLS settings are serve's, read here to choose the scheme.
    #[command(
        mut_arg("tls_cert", |a| a.hide(true)),
        mut_arg("tls_key", |a| a.hide(true)),
        mut_arg("tls_self_signed", |a| a.hide(true)),
        mut_arg("tls_name", |a| a.hide(true))
    )]
    Healthcheck(healthcheck::HealthcheckArgs),
    /// Run the web toolset (seed, codes and batch pages) on a local address
    Serve(serve::ServeArgs),
    /// List the PC/SC readers and whether a card is on each
    Readers(readers::ReadersArgs),
    /// Show the serial, model and clock of the Token2 token on the reader
    Identify(identify::IdentifyArgs),
    /// Burn a seed onto the Token2 programmable token on the reader (or, with --bulk, token
    /// after token with fresh seeds)
    Burn(burn::BurnArgs),
    /// Set the Token2 token's clock to this computer's UTC (refused where it erases the seed)
    TimeSync(time_sync::TimeSyncArgs),
    /// Play a Token2 token as a vpcd card (testing without hardware)
    VirtualToken(virtual_token::VirtualTokenArgs),
    /// Serve the loopback HTTP agent that burns tokens for the toolset server
    Agent(agent::AgentArgs),
}

/// Every `TOTP_TOOLSET_*` variable that some subcommand reads, taken from the argument
/// definitions themselves so the list cannot fall behind.
pub fn known_env_vars() -> BTreeSet<String> {
    let cli = Cli::command();
    let mut names: BTreeSet<String> = cli
        .get_subcommands()
        .flat_map(|sub| sub.get_arguments())
        .filter_map(|arg| arg.get_env())
        .map(|env| env.to_string_lossy().into_owned())
        .collect();
    // Secrets have no flag (a flag would show in `ps`), only a variable.
    names.insert("TOTP_TOOLSET_AGENT_TOKEN".to_string());
    names
}

/// Edit distance, to suggest the variable a typo meant.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

/// Warnings for `TOTP_TOOLSET_*` variables nothing reads: almost always a typo that would
/// otherwise silently leave a setting at its default.
pub fn unknown_env_warnings(names: impl IntoIterator<Item = String>) -> Vec<String> {
    let known = known_env_vars();
    names
        .into_iter()
        .filter(|n| n.starts_with("TOTP_TOOLSET_") && !known.contains(n))
        .map(|n| {
            let nearest = known.iter().min_by_key(|k| distance(&n, k));
            match nearest {
                Some(k) if distance(&n, k) <= 2 => {
                    format!("warning: unknown environment variable {n} (did you mean {k}?)")
                }
                _ => format!("warning: unknown environment variable {n} (ignored)"),
            }
        })
        .collect()
}

/// Runs a command that reads standard input and writes to both outputs.
fn with_stdio(
    run: impl FnOnce(&mut dyn BufRead, &mut dyn Write, &mut dyn Write) -> CliResult,
) -> CliResult {
    run(
        &mut io::stdin().lock(),
        &mut io::stdout(),
        &mut io::stderr(),
    )
}

/// Runs the command line and returns the process exit code.
pub fn main() -> ExitCode {
    panic::install();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // Help and version go to stdout as clap prints them; real errors become one
            // line on stderr with exit code 2.
            if !e.use_stderr() {
                let _ = e.print();
                return ExitCode::SUCCESS;
            }
            // clap's first paragraph is the message (sometimes over several lines, as in
            // "required arguments were not provided:" and the list); usage hints follow.
            let rendered = e.render().to_string();
            let message: Vec<&str> = rendered
                .lines()
                .map(str::trim)
                .skip_while(|l| l.is_empty())
                .take_while(|l| !l.is_empty() && !l.starts_with("Usage:"))
                .collect();
            if message.is_empty() {
                eprintln!("error: invalid arguments");
            } else {
                eprintln!("{}", message.join(" "));
            }
            return ExitCode::from(2);
        }
    };
    if matches!(cli.command, Command::Serve(_) | Command::Agent(_)) {
        for w in unknown_env_warnings(std::env::vars_os().filter_map(|(k, _)| k.into_string().ok()))
        {
            eprintln!("{w}");
        }
    }
    // Each command takes the stdio handles it needs for itself. No lock is held across a
    // command: the server logs from many threads, and a held lock would block them.
    let result = match &cli.command {
        Command::Otp(args) => with_stdio(|i, o, e| otp::run(args, i, o, e)),
        Command::Seed(args) => seed::run(args, &mut io::stdout()),
        Command::Convert(args) => with_stdio(|i, o, e| convert::run(args, i, o, e)),
        Command::Drift(args) => with_stdio(|i, o, e| drift::run(args, i, o, e)),
        Command::Healthcheck(args) => healthcheck::run(args),
        Command::Serve(args) => serve::run(args, &mut io::stdout()),
        Command::Readers(args) => readers::run(args, &mut io::stdout()),
        Command::Identify(args) => identify::run(args, &mut io::stdout(), &mut io::stderr()),
        Command::Burn(args) => with_stdio(|i, o, e| burn::run(args, i, o, e)),
        Command::TimeSync(args) => with_stdio(|i, o, e| time_sync::run(args, i, o, e)),
        Command::VirtualToken(args) => virtual_token::run(args, &mut io::stdout()),
        Command::Agent(args) => agent::run(args, &mut io::stdout(), &mut io::stderr()),
    };
    let _ = io::stdout().flush();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // An empty message: the command has already reported (convert --json).
            if !e.message.is_empty() {
                eprintln!("error: {}", e.message);
            }
            e.exit_code()
        }
    }
}
