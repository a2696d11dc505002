//! `totp-toolset virtual-token --vpcd HOST:PORT`: plays a Token2 programmable token as a
//! vpcd card, so `pcscd` (with vsmartcard-vpcd) shows it on the reader "Virtual PCD 00 00"
//! and the whole PC/SC stack can be tested without hardware.
//!
//! Reports on stdout, one JSON object per line (never the seed): `connected` once, then
//! `configured` after each config write and `burned` after each seed write, the latter with
//! the codes the token would display around that moment, keyed by counter, so a test can
//! compare them with the burner's.

use std::io::Write;
use std::net::{TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use clap::Args;
use serde_json::json;

use super::common::{CliError, CliResult, now_or, out};
use crate::clock::system_clock;
use crate::nfc::virtual_token::{Behaviour, Event, VirtualToken};
use crate::nfc::vpcd;

#[derive(Args, Debug)]
pub struct VirtualTokenArgs {
    /// Where vpcd listens (its reader's CHANNELID port, 35963 by default)
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:35963")]
    pub vpcd: String,
    /// The token's serial number (its prefix decides the model)
    #[arg(long, default_value = "8659600000001")]
    pub serial: String,
    /// Erase the seed on every config write, whatever the serial says
    #[arg(long)]
    pub restricted: bool,
    /// Start with the token's clock this many seconds from ours
    #[arg(
        long,
        value_name = "SECONDS",
        default_value_t = 0,
        allow_negative_numbers = true
    )]
    pub clock_offset: i64,
    /// Misbehave: none, wrong-key, lift-mid-write, fido or oath
    #[arg(long, default_value = "none")]
    pub behaviour: Behaviour,
    /// Seconds to keep trying to reach vpcd (pcscd may still be starting)
    #[arg(long, value_name = "SECONDS", default_value_t = 20)]
    pub connect_timeout: u64,
}

fn connect(addr: &str, timeout: Duration) -> Result<TcpStream, CliError> {
    let deadline = Instant::now() + timeout;
    loop {
        let addrs: Vec<_> = addr
            .to_socket_addrs()
            .map_err(|e| CliError::usage("--vpcd", format!("cannot resolve '{addr}': {e}")))?
            .collect();
        let attempt = addrs
            .iter()
            .find_map(|a| TcpStream::connect_timeout(a, Duration::from_secs(2)).ok());
        if let Some(stream) = attempt {
            return Ok(stream);
        }
        if Instant::now() >= deadline {
            return Err(CliError::failure(format!(
                "cannot reach vpcd at {addr}: is pcscd running with vsmartcard-vpcd installed?"
            )));
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

fn event_line(token: &VirtualToken, event: &Event) -> serde_json::Value {
    let state = token.state();
    match event {
        Event::Configured { seed_erased } => json!({
            "event": "configured",
            "serial": state.serial,
            "seed_erased": seed_erased,
            "algorithm": state.algorithm.uri_name(),
            "period": state.period,
            "display_timeout": state.display_timeout,
            "clock_offset": state.clock_offset,
        }),
        Event::SeedWritten { seed_bytes } => {
            let at = now_or(None);
            json!({
                "event": "burned",
                "serial": state.serial,
                "model": state.model,
                "seed_bytes": seed_bytes,
                "algorithm": state.algorithm.uri_name(),
                "digits": state.digits,
                "period": state.period,
                "display_timeout": state.display_timeout,
                "clock_offset": state.clock_offset,
                "at": at,
                "codes": token.codes_around(at, 2),
            })
        }
    }
}

pub fn run(args: &VirtualTokenArgs, stdout: &mut dyn Write) -> CliResult {
    let mut token = VirtualToken::new(&args.serial, args.restricted, system_clock())
        .with_behaviour(args.behaviour)
        .with_clock_offset(args.clock_offset);
    let mut stream = connect(&args.vpcd, Duration::from_secs(args.connect_timeout))?;
    let _ = stream.set_nodelay(true);
    let state = token.state();
    out(
        stdout,
        &format!(
            "{}\n",
            json!({"event": "connected", "vpcd": args.vpcd, "serial": state.serial,
                   "model": state.model, "restricted": state.restricted})
        ),
    )?;
    let _ = stdout.flush();
    let mut failed = None;
    vpcd::serve(&mut stream, &mut token, &mut |token, events| {
        for e in &events {
            let line = format!("{}\n", event_line(token, e));
            if stdout
                .write_all(line.as_bytes())
                .and_then(|_| stdout.flush())
                .is_err()
            {
                failed = Some(());
            }
        }
    })
    .map_err(|e| CliError::failure(format!("the connection to vpcd failed: {e}")))?;
    if failed.is_some() {
        return Err(CliError::failure("cannot write to standard output"));
    }
    Ok(())
}
