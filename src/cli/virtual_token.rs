//! `totp-toolset virtual-token --vpcd HOST:PORT`: plays a Token2 programmable token as a
//! vpcd card, so `pcscd` (with vsmartcard-vpcd) shows it on the reader "Virtual PCD 00 00"
//! and the whole PC/SC stack can be tested without hardware.
//!
//! With several `--serial`s or a `--stack FILE` it plays a stack of tokens, one tap at a
//! time: it presents a token (a connection to vpcd) and removes it (closes the connection)
//! once the burner is done with it, which the burner says by resetting the card as it
//! disconnects (burned, skipped, failed, or lifted mid-write: a `lift-mid-write` tap answers
//! the seed write with a truncated reply); vpcd's next presence poll finds no card, and the
//! one after it the next token. A `stay` tap is not over until its token was burned: the
//! token an admin keeps on the reader after tapping it twice, to have it burned again.
//! No timing is involved, so a test drives a bulk run tap by tap. With one token it stays on
//! the reader until vpcd goes away, as before.
//!
//! Reports on stdout, one JSON object per line (never the seed): `connected` for each
//! connection to vpcd, `presented` for each tap (with its `tap` number in a stack),
//! `configured` after each config write and `burned`
//! after each seed write, the latter with the codes the token would display around that
//! moment, keyed by counter, so a test can compare them with the burner's; `lifted` when a
//! tap ends mid-write, `removed` when it ends otherwise, and `done` when the stack is over.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream, ToSocketAddrs};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::Args;
use serde_json::json;

use super::common::{CliError, CliResult, now_or};
use crate::clock::system_clock;
use crate::nfc::token_stack::{StackTap, TokenStack, check_serial, parse_stack};
use crate::nfc::virtual_token::{Behaviour, Event, VirtualToken};
use crate::nfc::vpcd::{self, Presence, SessionEnd};

#[derive(Args, Debug)]
pub struct VirtualTokenArgs {
    /// Where vpcd listens (its reader's CHANNELID port, 35963 by default)
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:35963")]
    pub vpcd: String,
    /// The token's serial number (its prefix decides the model); given several times, a
    /// stack of tokens tapped in that order [default: 8659600000001]
    #[arg(long = "serial", value_name = "SERIAL")]
    pub serials: Vec<String>,
    /// A stack of tokens from a file: one tap per line, `SERIAL [lift-mid-write|wrong-key|fido|oath] [restricted] [stay]`
    #[arg(long, value_name = "FILE", conflicts_with = "serials")]
    pub stack: Option<PathBuf>,
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
    /// Misbehave: none, wrong-key, lift-mid-write, fido or oath (every tap, with --serial)
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

/// The taps to play: the stack file's, or one per `--serial`.
fn taps(args: &VirtualTokenArgs) -> Result<Vec<StackTap>, CliError> {
    if let Some(path) = &args.stack {
        let text = std::fs::read_to_string(path).map_err(|e| {
            CliError::usage("--stack", format!("cannot read {}: {e}", path.display()))
        })?;
        let mut taps = parse_stack(&text).map_err(|e| CliError::usage("--stack", e))?;
        for tap in &mut taps {
            tap.restricted |= args.restricted;
        }
        return Ok(taps);
    }
    let serials = if args.serials.is_empty() {
        vec!["8659600000001".to_string()]
    } else {
        args.serials.clone()
    };
    serials
        .into_iter()
        .map(|serial| {
            check_serial(&serial).map_err(|e| CliError::usage("--serial", e))?;
            Ok(StackTap {
                serial,
                behaviour: args.behaviour,
                restricted: args.restricted,
                stays: false,
            })
        })
        .collect()
}

/// Writes one JSON line and flushes it (a test reads them as they come).
fn emit(stdout: &mut dyn Write, value: serde_json::Value) -> CliResult {
    stdout
        .write_all(format!("{value}\n").as_bytes())
        .and_then(|_| stdout.flush())
        .map_err(|_| CliError::failure("cannot write to standard output"))
}

/// Serves one tap (or, with [`Presence::Stay`], the token's whole stay) on `stream`.
fn play(
    stream: &mut QuickAck,
    token: &mut VirtualToken,
    tap: Option<usize>,
    presence: Presence,
    stdout: &mut dyn Write,
) -> Result<SessionEnd, CliError> {
    let state = token.state();
    emit(
        stdout,
        json!({"event": "presented", "tap": tap, "serial": state.serial,
               "model": state.model, "restricted": state.restricted}),
    )?;
    let mut failed = None;
    let end = vpcd::serve(stream, token, presence, &mut |token, events| {
        for e in &events {
            let mut line = event_line(token, e);
            line["tap"] = json!(tap);
            if emit(stdout, line).is_err() {
                failed = Some(());
            }
        }
    })
    .map_err(|e| CliError::failure(format!("the connection to vpcd failed: {e}")))?;
    if failed.is_some() {
        return Err(CliError::failure("cannot write to standard output"));
    }
    if let SessionEnd::TapOver { burned, lifted } = end {
        let serial = token.serial().to_string();
        let event = if lifted { "lifted" } else { "removed" };
        emit(
            stdout,
            json!({"event": event, "tap": tap, "serial": serial, "burned": burned}),
        )?;
    }
    Ok(end)
}

/// The connection to vpcd, acknowledging every segment at once: vpcd sends a frame's
/// length and its payload in two writes, so with delayed ACKs each command would wait
/// ~40 ms for Nagle's algorithm on vpcd's side.
struct QuickAck(TcpStream);

impl Read for QuickAck {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let _ = socket2::SockRef::from(&self.0).set_tcp_quickack(true);
        self.0.read(buf)
    }
}

impl Write for QuickAck {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

/// A connection to vpcd, announced on stdout.
fn open(args: &VirtualTokenArgs, stdout: &mut dyn Write) -> Result<QuickAck, CliError> {
    let stream = connect(&args.vpcd, Duration::from_secs(args.connect_timeout))?;
    let _ = stream.set_nodelay(true);
    emit(stdout, json!({"event": "connected", "vpcd": args.vpcd}))?;
    Ok(QuickAck(stream))
}

pub fn run(args: &VirtualTokenArgs, stdout: &mut dyn Write) -> CliResult {
    let taps = taps(args)?;
    let mut stream = open(args, stdout)?;
    if taps.len() == 1 && args.stack.is_none() {
        // One token lying on the reader until vpcd goes away.
        let tap = &taps[0];
        let mut token = VirtualToken::new(&tap.serial, tap.restricted, system_clock())
            .with_behaviour(tap.behaviour)
            .with_clock_offset(args.clock_offset);
        play(&mut stream, &mut token, None, Presence::Stay, stdout)?;
        return Ok(());
    }
    let mut stack = TokenStack::new(taps, system_clock(), args.clock_offset);
    let total = stack.len();
    while let Some((n, stays, token)) = stack.next_tap() {
        if n > 1 {
            // Closing the connection is the last token leaving the reader; the next one
            // is put on with a new connection.
            let _ = stream.0.shutdown(Shutdown::Both);
            stream = open(args, stdout)?;
        }
        let presence = if stays {
            Presence::UntilBurned
        } else {
            Presence::OneTap
        };
        if play(&mut stream, token, Some(n), presence, stdout)? == SessionEnd::Closed {
            return Err(CliError::failure(format!(
                "vpcd closed the connection during tap {n} of {total}"
            )));
        }
    }
    emit(stdout, json!({"event": "done", "taps": total}))?;
    let _ = stream.0.shutdown(Shutdown::Both);
    Ok(())
}
