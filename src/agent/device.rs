//! The agent's card source: the PC/SC reader, a simulated Token2 token in memory
//! (`--simulate`), or a simulated stack of tokens tapped one after another
//! (`--simulate --simulate-stack FILE`, or several `--simulate-serial`s), so the server and
//! browser tests can burn, one token or a whole bulk run, without any reader.
//!
//! Everything here blocks (pcscd calls, waiting for a card): handlers call it from
//! `tokio::task::spawn_blocking`, one operation at a time.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::api::{ApiError, ShownCode, SimulatedTokenResponse, StatusResponse, TokenView};
use crate::clock::Clock;
use crate::nfc::reader::{self, ReaderStatus};
use crate::nfc::token_stack::{StackTap, TokenStack};
use crate::nfc::virtual_token::{Behaviour, VirtualToken};
use crate::nfc::{self, Card, NfcError};

/// How the simulated card misbehaves, if at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SimulatedFault {
    #[default]
    None,
    /// The token's behaviour (wrong key, lifted mid-write, a FIDO or OATH key instead).
    Token(Behaviour),
    /// Nothing is ever on the reader.
    NoCard,
}

impl std::str::FromStr for SimulatedFault {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "none" => Ok(SimulatedFault::None),
            "no-card" => Ok(SimulatedFault::NoCard),
            other => other
                .parse::<Behaviour>()
                .map(SimulatedFault::Token)
                .map_err(|_| {
                    format!(
                        "'{s}' is not a fault; use none, no-card, wrong-key, lift-mid-write, fido or oath"
                    )
                }),
        }
    }
}

/// The reader name the simulated card reports.
pub const SIMULATED_READER: &str = "Simulated Token2 reader";

/// Where cards come from.
pub enum Device {
    Pcsc {
        reader: Option<String>,
    },
    Simulated {
        token: Arc<Mutex<VirtualToken>>,
        absent: bool,
    },
    /// Tokens tapped in the stack's order: a request that waits for a new card gets the
    /// next tap (none left: no card came); any other request works on the token of the last
    /// tap, still lying on the reader.
    Stack {
        stack: Arc<Mutex<TokenStack>>,
    },
}

impl Device {
    pub fn simulated(serial: &str, restricted: bool, fault: SimulatedFault, clock: Clock) -> Self {
        let behaviour = match fault {
            SimulatedFault::Token(b) => b,
            _ => Behaviour::Token2,
        };
        Device::Simulated {
            token: Arc::new(Mutex::new(
                VirtualToken::new(serial, restricted, clock).with_behaviour(behaviour),
            )),
            absent: fault == SimulatedFault::NoCard,
        }
    }

    /// A simulated stack of tokens, tapped in the order of `taps`.
    pub fn simulated_stack(taps: Vec<StackTap>, clock: Clock) -> Self {
        Device::Stack {
            stack: Arc::new(Mutex::new(TokenStack::new(taps, clock, 0))),
        }
    }

    /// A token in memory (`--simulate`, or a simulated stack), not a reader.
    pub fn is_simulated(&self) -> bool {
        matches!(self, Device::Simulated { .. } | Device::Stack { .. })
    }

    pub fn mode(&self) -> &'static str {
        match self {
            Device::Simulated { .. } | Device::Stack { .. } => "simulated",
            Device::Pcsc { .. } if reader::PCSC_BUILT_IN => "pcsc",
            Device::Pcsc { .. } => "unavailable",
        }
    }

    /// Runs `f` against the card, waiting up to `wait` for one to appear.
    pub fn with_card<T>(
        &self,
        wait: Duration,
        mut f: impl FnMut(&mut dyn Card) -> Result<T, NfcError>,
    ) -> Result<T, NfcError> {
        match self {
            Device::Pcsc { reader } => reader::with_card(reader.as_deref(), wait, f),
            Device::Simulated { absent: true, .. } => {
                reader::wait_for(wait, || Err::<T, _>(NfcError::NoCard))
            }
            Device::Simulated { token, .. } => {
                let mut token = token.lock().unwrap_or_else(|p| p.into_inner());
                // Each operation is a fresh tap: a new session on the token.
                token.reset();
                f(&mut *token)
            }
            Device::Stack { stack } => {
                let mut stack = stack.lock().unwrap_or_else(|p| p.into_inner());
                card_on_stack(&mut stack, wait, f)
            }
        }
    }

    /// Like [`Device::with_card`], but only a card that is none of `seen` will do (see
    /// [`reader::Tap`]), and the tap comes back (`None` for the single simulated card,
    /// which is a fresh tap every time) with whatever `f` returned.
    pub fn with_new_card<T>(
        &self,
        wait: Duration,
        seen: &[reader::Tap],
        f: impl FnMut(&mut dyn Card) -> Result<T, NfcError>,
    ) -> Result<(Option<reader::Tap>, Result<T, NfcError>), NfcError> {
        match self {
            Device::Pcsc { reader } => reader::with_new_card(reader.as_deref(), wait, seen, f)
                .map(|(tap, done)| (Some(tap), done)),
            Device::Simulated { .. } => Ok((None, self.with_card(wait, f))),
            // With nothing seen yet, the token on the reader will do (as with a reader);
            // after a tap, only the next one. The tap's number stands for pcscd's count.
            Device::Stack { stack } => {
                let mut stack = stack.lock().unwrap_or_else(|p| p.into_inner());
                let done = if seen.is_empty() {
                    card_on_stack(&mut stack, wait, f)
                } else {
                    let mut f = f;
                    match stack.next_tap() {
                        Some((_, _, token)) => f(token),
                        // Every tap has been played: no token will ever come, so say so at once.
                        None => return Err(NfcError::NoCardInTime(wait.as_secs())),
                    }
                };
                let tap = reader::Tap {
                    reader: SIMULATED_READER.to_string(),
                    events: u32::try_from(stack.played()).unwrap_or(u32::MAX),
                };
                Ok((Some(tap), done))
            }
        }
    }

    /// Readers, card presence and the token's info, for `GET /v1/status`.
    pub fn status(&self, now: u64) -> StatusResponse {
        let (reader_name, readers) = match self {
            Device::Pcsc { reader } => (reader.clone(), reader::list_readers()),
            Device::Simulated { absent, .. } => (
                None,
                Ok(vec![ReaderStatus {
                    name: SIMULATED_READER.to_string(),
                    card_present: !absent,
                }]),
            ),
            Device::Stack { stack } => {
                let mut stack = stack.lock().unwrap_or_else(|p| p.into_inner());
                (
                    None,
                    Ok(vec![ReaderStatus {
                        name: SIMULATED_READER.to_string(),
                        card_present: stack.on_reader().is_some(),
                    }]),
                )
            }
        };
        let mut status = StatusResponse {
            agent: "totp-toolset".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            mode: self.mode().into(),
            reader: reader_name.clone(),
            readers: Vec::new(),
            card_present: false,
            token: None,
            problem: None,
        };
        let readers = match readers {
            Ok(r) => r,
            Err(e) => {
                status.problem = Some(ApiError::from(&e));
                return status;
            }
        };
        status.card_present = readers.iter().any(|r| {
            r.card_present && reader_name.as_deref().is_none_or(|wanted| wanted == r.name)
        });
        status.readers = readers;
        if status.readers.is_empty() {
            status.problem = Some(ApiError::from(&NfcError::NoReader));
        } else if let Some(wanted) = &reader_name
            && !status.readers.iter().any(|r| &r.name == wanted)
        {
            status.problem = Some(ApiError::from(&NfcError::ReaderNotFound {
                name: wanted.clone(),
                available: status.readers.iter().map(|r| r.name.clone()).collect(),
            }));
        } else if !status.card_present {
            status.problem = Some(ApiError::from(&NfcError::NoCard));
        } else {
            match self.with_card(Duration::ZERO, nfc::identify) {
                Ok(id) => status.token = Some(TokenView::new(&id, now)),
                Err(e) => status.problem = Some(ApiError::from(&e)),
            }
        }
        status
    }

    /// What a simulated token shows at `now` (with a stack: the token with `serial`, or
    /// the one on the reader); `None` when not simulating or no such token.
    pub fn simulated_token(
        &self,
        now: u64,
        serial: Option<&str>,
    ) -> Option<SimulatedTokenResponse> {
        match self {
            Device::Pcsc { .. } => None,
            Device::Simulated { token, .. } => {
                let token = token.lock().unwrap_or_else(|p| p.into_inner());
                if serial.is_some_and(|s| s != token.serial()) {
                    return None;
                }
                Some(shown(&token, now))
            }
            Device::Stack { stack } => {
                let mut stack = stack.lock().unwrap_or_else(|p| p.into_inner());
                match serial {
                    Some(s) => stack.token(s).map(|t| shown(t, now)),
                    None => stack.on_reader().map(|t| shown(t, now)),
                }
            }
        }
    }
}

/// The token on the reader of `stack`; a request that waits, with nothing tapped yet, gets
/// the first token.
fn card_on_stack<T>(
    stack: &mut TokenStack,
    wait: Duration,
    mut f: impl FnMut(&mut dyn Card) -> Result<T, NfcError>,
) -> Result<T, NfcError> {
    if stack.on_reader().is_none() && !wait.is_zero() {
        stack.next_tap();
    }
    match stack.on_reader() {
        Some(token) => f(token),
        None => Err(NfcError::NoCard),
    }
}

/// What `token` displays around `now` (never its seed).
fn shown(token: &VirtualToken, now: u64) -> SimulatedTokenResponse {
    let state = token.state();
    SimulatedTokenResponse {
        serial: state.serial,
        seed_present: state.seed_present,
        algorithm: state.algorithm.uri_name().to_string(),
        period: state.period,
        clock_offset: state.clock_offset,
        at: now,
        codes: token
            .codes_around(now, 2)
            .into_iter()
            .map(|c| ShownCode {
                counter: c.counter,
                code: c.code,
            })
            .collect(),
    }
}
