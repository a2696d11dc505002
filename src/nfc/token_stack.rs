//! A stack of virtual tokens for a bulk run without hardware: the order in which tokens are
//! tapped on the reader, read from a small text file (or a list of serials), and the tokens
//! themselves, one per serial, so a serial tapped twice is the same token both times.
//!
//! Pure: the parser takes text and returns taps; no I/O, no clock. Holds no seed of its own
//! (a token holds what was burned onto it, as a real one does).

use std::collections::HashMap;

use super::virtual_token::{Behaviour, VirtualToken};
use crate::clock::Clock;
use crate::otp::clip;

/// The longest serial a tap may name (the get-info reply has room for 255; real ones are 13).
pub const MAX_SERIAL_CHARS: usize = 32;
/// The most taps a stack may hold: a big box of tokens, and a bound on memory.
pub const MAX_TAPS: usize = 10_000;

/// One tap: which token is put on the reader and how it behaves during that tap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackTap {
    pub serial: String,
    pub behaviour: Behaviour,
    /// The token erases its seed on every config write, whatever its serial says (applies
    /// to the token, from its first tap on).
    pub restricted: bool,
    /// The token stays on the reader until it is burned, as an admin holds a token that
    /// was tapped twice while choosing to burn it again. Otherwise a tap on vpcd ends as
    /// soon as the burner lets go of the card. (A simulated agent's taps always stay until
    /// the next one is asked for.)
    pub stays: bool,
}

/// A line of a stack file that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {reason}")]
pub struct StackError {
    pub line: usize,
    pub reason: String,
}

/// Checks a serial as a stack names it: 1 to 32 printable ASCII characters, no spaces.
pub fn check_serial(serial: &str) -> Result<(), String> {
    if serial.is_empty() {
        return Err("the serial is empty".into());
    }
    if !serial.chars().all(|c| c.is_ascii_graphic()) {
        return Err(format!(
            "serial '{}' must be printable ASCII without spaces",
            clip(serial)
        ));
    }
    if serial.len() > MAX_SERIAL_CHARS {
        return Err(format!(
            "serial '{}' is longer than {MAX_SERIAL_CHARS} characters",
            clip(serial)
        ));
    }
    Ok(())
}

/// Reads a stack file: one tap per line, `SERIAL [OPTION...]`, in tap order. Options:
/// `lift-mid-write`, `wrong-key`, `fido`, `oath` (how the token behaves during that tap),
/// `restricted` and `stay` (see [`StackTap::stays`]). Blank lines and `#` comments (whole-line or trailing) are skipped; a
/// serial on several lines is the same token tapped again.
pub fn parse_stack(text: &str) -> Result<Vec<StackTap>, StackError> {
    let mut taps = Vec::new();
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let content = raw.split('#').next().unwrap_or("").trim();
        let mut words = content.split_whitespace();
        let Some(serial) = words.next() else {
            continue;
        };
        check_serial(serial).map_err(|reason| StackError { line, reason })?;
        let mut tap = StackTap {
            serial: serial.to_string(),
            behaviour: Behaviour::Token2,
            restricted: false,
            stays: false,
        };
        let mut behaviour_set = false;
        for word in words {
            let behaviour = match word {
                "restricted" => {
                    tap.restricted = true;
                    continue;
                }
                "stay" => {
                    tap.stays = true;
                    continue;
                }
                "lift-mid-write" => Behaviour::LiftMidWrite,
                "wrong-key" => Behaviour::WrongKey,
                "fido" => Behaviour::FidoKey,
                "oath" => Behaviour::OathApplet,
                other => {
                    return Err(StackError {
                        line,
                        reason: format!(
                            "'{}' is not an option; use lift-mid-write, wrong-key, fido, oath, restricted or stay",
                            clip(other)
                        ),
                    });
                }
            };
            if behaviour_set {
                return Err(StackError {
                    line,
                    reason: "a tap takes at most one of lift-mid-write, wrong-key, fido, oath"
                        .into(),
                });
            }
            behaviour_set = true;
            tap.behaviour = behaviour;
        }
        if taps.len() == MAX_TAPS {
            return Err(StackError {
                line,
                reason: format!("a stack holds at most {MAX_TAPS} taps"),
            });
        }
        taps.push(tap);
    }
    if taps.is_empty() {
        return Err(StackError {
            line: 0,
            reason: "the stack names no token (one serial per line)".into(),
        });
    }
    Ok(taps)
}

/// The tokens of a stack, one per serial, and the taps in order.
pub struct TokenStack {
    taps: Vec<StackTap>,
    tokens: Vec<VirtualToken>,
    by_serial: HashMap<String, usize>,
    next: usize,
}

impl TokenStack {
    /// One token per distinct serial, each starting without a seed at `clock_offset`
    /// seconds from the host clock; restricted when any tap of it says so.
    pub fn new(taps: Vec<StackTap>, clock: Clock, clock_offset: i64) -> Self {
        let mut tokens: Vec<VirtualToken> = Vec::new();
        let mut by_serial: HashMap<String, usize> = HashMap::new();
        for tap in &taps {
            if by_serial.contains_key(&tap.serial) {
                continue;
            }
            let restricted = taps.iter().any(|t| t.serial == tap.serial && t.restricted);
            by_serial.insert(tap.serial.clone(), tokens.len());
            tokens.push(
                VirtualToken::new(&tap.serial, restricted, clock.clone())
                    .with_clock_offset(clock_offset),
            );
        }
        TokenStack {
            taps,
            tokens,
            by_serial,
            next: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.taps.len()
    }

    pub fn is_empty(&self) -> bool {
        self.taps.is_empty()
    }

    /// The next tap (its number, from 1, and whether it [stays](StackTap::stays)) and its
    /// token, set up to behave as the tap says; `None` when every tap has been played.
    pub fn next_tap(&mut self) -> Option<(usize, bool, &mut VirtualToken)> {
        let tap = self.taps.get(self.next)?;
        self.next += 1;
        let token = &mut self.tokens[self.by_serial[&tap.serial]];
        token.reset();
        token.set_behaviour(tap.behaviour);
        Some((self.next, tap.stays, token))
    }

    /// The token of the last tap played, still lying on the reader (a fresh session on it,
    /// behaving as that tap said); `None` before the first tap.
    pub fn on_reader(&mut self) -> Option<&mut VirtualToken> {
        let tap = self.taps.get(self.next.checked_sub(1)?)?;
        let token = &mut self.tokens[self.by_serial[&tap.serial]];
        token.reset();
        Some(token)
    }

    /// How many taps have been played.
    pub fn played(&self) -> usize {
        self.next
    }

    /// The token with this serial, as it is now (what it would display).
    pub fn token(&self, serial: &str) -> Option<&VirtualToken> {
        self.by_serial.get(serial).map(|&i| &self.tokens[i])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_taps_options_and_comments() {
        let taps = parse_stack(
            "\u{feff}# a box\n8659600000001\n\n8659601000002 lift-mid-write # lifted\n  8659601000002  \n9 restricted fido\n9 stay\n",
        )
        .unwrap();
        assert_eq!(taps.len(), 5);
        assert!(taps[4].stays && !taps[3].stays && !taps[4].restricted);
        assert_eq!(taps[1].behaviour, Behaviour::LiftMidWrite);
        assert_eq!(taps[2].behaviour, Behaviour::Token2);
        assert!(taps[3].restricted && taps[3].behaviour == Behaviour::FidoKey);
        let e = parse_stack("1\n2 bogus\n").unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.reason.contains("'bogus'"));
        assert!(parse_stack("# nothing\n").is_err());
        assert!(parse_stack("1 fido oath").is_err());
        assert!(parse_stack(&"x".repeat(40)).is_err());
    }

    #[test]
    fn a_serial_tapped_twice_is_one_token() {
        let taps = parse_stack("A\nB wrong-key\nA\n").unwrap();
        let mut stack = TokenStack::new(taps, std::sync::Arc::new(|| 0), 0);
        assert_eq!(stack.len(), 3);
        assert_eq!(stack.tokens.len(), 2);
        assert_eq!(stack.next_tap().unwrap().2.serial(), "A");
        assert_eq!(stack.next_tap().unwrap().0, 2);
        assert_eq!(stack.next_tap().unwrap().2.serial(), "A");
        assert!(stack.next_tap().is_none());
    }
}
