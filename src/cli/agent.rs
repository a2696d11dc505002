//! `totp-toolset agent`: serves the loopback HTTP agent that burns tokens for the toolset
//! server (see docs/agent-api.md), on a PC/SC reader or, with `--simulate`, on a simulated
//! token in memory (or a stack of them, for bulk runs without hardware).
//!
//! Prints one line on stdout once listening (`listening on http://ADDR`), so scripts and
//! tests that bind port 0 learn the port.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use clap::Args;
use zeroize::Zeroizing;

use super::common::{CliError, CliResult, out, read_agent_token};
use crate::agent::{self, AgentState, Device, SimulatedFault};
use crate::nfc::token_stack::{StackTap, check_serial, parse_stack};
use crate::nfc::virtual_token::Behaviour;

/// Shorter tokens are too easy to guess.
const MIN_TOKEN_CHARS: usize = 16;

#[derive(Args, Debug)]
pub struct AgentArgs {
    /// Address to listen on (loopback unless --allow-remote)
    #[arg(
        long,
        value_name = "ADDR:PORT",
        default_value = "127.0.0.1:8731",
        env = "TOTP_TOOLSET_AGENT_BIND"
    )]
    pub bind: SocketAddr,
    /// Allow a non-loopback --bind (the bearer token is then all that protects the reader)
    #[arg(long)]
    pub allow_remote: bool,
    /// Extra Host names to answer to (with --allow-remote), e.g. the machine's name
    #[arg(long, value_name = "HOST[:PORT]")]
    pub allowed_host: Vec<String>,
    /// The PC/SC reader to use [default: the first with a card]
    #[arg(long, value_name = "NAME", env = "TOTP_TOOLSET_AGENT_READER")]
    pub reader: Option<String>,
    /// File holding the bearer token the server must send (else TOTP_TOOLSET_AGENT_TOKEN)
    #[arg(long, value_name = "FILE", env = "TOTP_TOOLSET_AGENT_TOKEN_FILE")]
    pub token_file: Option<PathBuf>,
    /// Use a simulated Token2 token in memory instead of a reader
    #[arg(long)]
    pub simulate: bool,
    #[command(flatten)]
    pub simulated: Simulated,
}

/// What the simulated token is and does; every one of these flags needs --simulate.
#[derive(Args, Debug)]
#[group(multiple = true, requires = "simulate")]
pub struct Simulated {
    /// Serial number of the simulated token; given several times, a stack of tokens
    /// tapped in that order (each burn that waits for a new card gets the next one)
    #[arg(long, value_name = "SERIAL", default_value = "8659600000001")]
    pub simulate_serial: Vec<String>,
    /// A stack of simulated tokens from a file, as `virtual-token --stack` reads it: one tap
    /// per line, `SERIAL [lift-mid-write|wrong-key|fido|oath] [restricted] [stay]`
    #[arg(long, value_name = "FILE")]
    pub simulate_stack: Option<PathBuf>,
    /// Make the simulated token erase its seed on config writes, whatever its serial
    #[arg(long)]
    pub simulate_restricted: bool,
    /// Make the simulated card fail: none, no-card, wrong-key, lift-mid-write, fido or oath
    #[arg(long, value_name = "FAULT", default_value = "none")]
    pub simulate_fault: SimulatedFault,
}

/// The taps of a simulated stack (`--simulate-stack`, or more than one `--simulate-serial`);
/// `None` for a single simulated token or a real reader.
fn simulated_stack(args: &AgentArgs) -> Result<Option<Vec<StackTap>>, CliError> {
    if !args.simulate {
        return Ok(None);
    }
    if args.simulated.simulate_stack.is_some()
        && args.simulated.simulate_fault != SimulatedFault::None
    {
        return Err(CliError::usage(
            "--simulate-fault",
            "a stack says how each tap behaves (lift-mid-write, wrong-key, fido, oath on its line); drop --simulate-fault",
        ));
    }
    let mut taps = if let Some(path) = &args.simulated.simulate_stack {
        let text = std::fs::read_to_string(path).map_err(|e| {
            CliError::usage(
                "--simulate-stack",
                format!("cannot read {}: {e}", path.display()),
            )
        })?;
        parse_stack(&text).map_err(|e| CliError::usage("--simulate-stack", e))?
    } else if args.simulated.simulate_serial.len() > 1 {
        let mut taps = Vec::new();
        for serial in &args.simulated.simulate_serial {
            check_serial(serial).map_err(|e| CliError::usage("--simulate-serial", e))?;
            taps.push(StackTap {
                serial: serial.clone(),
                behaviour: Behaviour::Token2,
                restricted: false,
                stays: false,
            });
        }
        taps
    } else {
        return Ok(None);
    };
    for tap in &mut taps {
        tap.restricted |= args.simulated.simulate_restricted;
    }
    Ok(Some(taps))
}

fn read_token(args: &AgentArgs) -> Result<Zeroizing<String>, CliError> {
    read_agent_token(args.token_file.as_deref(), "--token-file", MIN_TOKEN_CHARS)
}

pub fn run(args: &AgentArgs, stdout: &mut dyn Write, stderr: &mut dyn Write) -> CliResult {
    if agent::is_remote(args.bind) && !args.allow_remote {
        return Err(CliError::usage(
            "--bind",
            format!(
                "{} is not a loopback address; the agent binds loopback only unless --allow-remote",
                args.bind
            ),
        ));
    }
    let token = read_token(args)?;
    let clock = crate::clock::system_clock();
    let device = if let Some(taps) = simulated_stack(args)? {
        Device::simulated_stack(taps, clock.clone())
    } else if args.simulate {
        let serial = args
            .simulated
            .simulate_serial
            .first()
            .map_or("", String::as_str);
        check_serial(serial).map_err(|e| CliError::usage("--simulate-serial", e))?;
        Device::simulated(
            serial,
            args.simulated.simulate_restricted,
            args.simulated.simulate_fault,
            clock.clone(),
        )
    } else {
        Device::Pcsc {
            reader: args.reader.clone(),
        }
    };
    if device.mode() == "unavailable" {
        let _ = writeln!(
            stderr,
            "warning: this build has no PC/SC support: every card request will fail; rebuild with `--features pcsc` (needs libpcsclite-dev) or use --simulate"
        );
    }
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,tower_http=warn".into()),
        )
        .with_writer(std::io::stderr)
        .try_init();

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| CliError::failure(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(args.bind)
            .await
            .map_err(|e| CliError::failure(format!("cannot listen on {}: {e}", args.bind)))?;
        let addr = listener
            .local_addr()
            .map_err(|e| CliError::failure(format!("cannot read the bound address: {e}")))?;
        let state = Arc::new(AgentState::new(
            device,
            token,
            agent::hosts_for(addr, &args.allowed_host),
            clock,
        ));
        out(stdout, &format!("listening on http://{addr}\n"))?;
        let _ = stdout.flush();
        tracing::info!(%addr, mode = state.device.mode(), "agent listening");
        agent::serve(listener, state, shutdown_signal())
            .await
            .map_err(|e| CliError::failure(format!("the agent stopped: {e}")))
    })
}

/// Ctrl-C or SIGTERM: finish the request in flight (a burn must not be cut), then exit.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
