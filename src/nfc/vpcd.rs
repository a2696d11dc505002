//! The vpcd transport: plays a [`VirtualToken`] as the card of vsmartcard's virtual reader,
//! so `pcscd` shows it on "Virtual PCD 00 00" and the whole PC/SC stack can be tested
//! without hardware (as `pcsc.rs` is the transport to real readers).
//!
//! Framing only: what the card answers is the virtual token's business. Never logs an APDU
//! (a seed write carries the seed, encrypted under a public key).

use std::io::{self, Read, Write};

use super::card::Card;
use super::virtual_token::{Event, VirtualToken};

/// The ATR our virtual card presents: the generic one PC/SC readers build for an
/// ISO 14443-4 type A card with no historical bytes.
pub const ATR: [u8; 5] = [0x3B, 0x80, 0x80, 0x01, 0x01];

/// How long the card stays on the reader.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Presence {
    /// Until vpcd closes the connection (one token lying on the reader).
    Stay,
    /// One tap: the card leaves once the burner is done with it (burned, skipped, failed
    /// or lifted mid-write), which the burner says by resetting or powering off the card
    /// when it disconnects. What lets a test drive a bulk run tap by tap, with no timing.
    OneTap,
    /// One tap that lasts until a seed write was answered and the burner lets go: a token
    /// tapped twice that the admin keeps on the reader to have it burned again.
    UntilBurned,
}

/// Why [`serve`] returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionEnd {
    /// vpcd closed the connection.
    Closed,
    /// The tap is over ([`Presence::OneTap`]): `burned` when a seed write was answered,
    /// `lifted` when the token was taken away before answering one. The caller closes the
    /// connection: vpcd's next presence poll then finds no card (pcscd registers the
    /// removal), and the poll after that accepts the next connection, the next token.
    TapOver { burned: bool, lifted: bool },
}

/// Plays the card for vpcd over `stream`: 2-byte big-endian length + payload frames; a
/// 1-byte payload is a control code (00 off, 01 on, 02 reset, 04 send the ATR), anything
/// longer an APDU answered in the same framing. Calls `on_events` after every APDU that
/// changed the token.
///
/// A token lifted mid-command (its transmit fails) answers with one byte, the start of a
/// status word that never finished: pcscd passes it on as a reply without a status word,
/// which the burner must report as a token lifted mid-write. (vpcd offers nothing better:
/// an empty frame leaves it waiting for ever, and a closed connection races its next
/// presence poll, so pcscd may never see the card leave and come back.)
pub fn serve<S: Read + Write>(
    stream: &mut S,
    token: &mut VirtualToken,
    presence: Presence,
    on_events: &mut dyn FnMut(&VirtualToken, Vec<Event>),
) -> io::Result<SessionEnd> {
    let mut commands = 0usize;
    let (mut burned, mut lifted, mut resetting) = (false, false, false);
    loop {
        let mut len = [0u8; 2];
        match stream.read_exact(&mut len) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(SessionEnd::Closed),
            Err(e) => return Err(e),
        }
        let len = u16::from_be_bytes(len) as usize;
        let mut payload = vec![0u8; len];
        stream.read_exact(&mut payload)?;
        let tap_done = match presence {
            Presence::Stay => false,
            Presence::OneTap => commands > 0,
            Presence::UntilBurned => burned,
        };
        match payload.as_slice() {
            [] => {}
            [0x00] if tap_done => {
                token.reset();
                return Ok(SessionEnd::TapOver { burned, lifted });
            }
            [0x02] if tap_done => {
                // The burner let go. Answer the power-up's ATR read that follows, so the
                // reset succeeds, then leave.
                token.reset();
                resetting = true;
            }
            [0x00] | [0x01] | [0x02] => token.reset(),
            [0x04] => {
                write_frame(stream, &ATR)?;
                if resetting {
                    return Ok(SessionEnd::TapOver { burned, lifted });
                }
            }
            [_] => {}
            apdu => {
                commands += 1;
                let reply = match token.transmit(apdu) {
                    Ok(reply) => reply,
                    Err(_) => {
                        lifted = true;
                        vec![0x90]
                    }
                };
                write_frame(stream, &reply)?;
                let events = token.take_events();
                burned |= events
                    .iter()
                    .any(|e| matches!(e, Event::SeedWritten { .. }));
                if !events.is_empty() {
                    on_events(token, events);
                }
            }
        }
    }
}

fn write_frame<W: Write>(w: &mut W, payload: &[u8]) -> io::Result<()> {
    let len = u16::try_from(payload.len())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "frame too long"))?;
    // One write per frame: two would be two TCP segments with TCP_NODELAY.
    let mut frame = Vec::with_capacity(payload.len() + 2);
    frame.extend_from_slice(&len.to_be_bytes());
    frame.extend_from_slice(payload);
    w.write_all(&frame)?;
    w.flush()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::nfc::protocol::{self, SW_OK};

    #[test]
    fn vpcd_framing() {
        // power on, ATR, get info, then EOF.
        let mut input = Vec::new();
        for payload in [&[0x01][..], &[0x04][..], &protocol::get_info_apdu()[..]] {
            input.extend_from_slice(&(payload.len() as u16).to_be_bytes());
            input.extend_from_slice(payload);
        }
        struct Duplex {
            input: io::Cursor<Vec<u8>>,
            output: Vec<u8>,
        }
        impl Read for Duplex {
            fn read(&mut self, b: &mut [u8]) -> io::Result<usize> {
                self.input.read(b)
            }
        }
        impl Write for Duplex {
            fn write(&mut self, b: &[u8]) -> io::Result<usize> {
                self.output.write(b)
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let mut d = Duplex {
            input: io::Cursor::new(input),
            output: Vec::new(),
        };
        let mut t = VirtualToken::new("ABC123", false, Arc::new(|| 0x65432100));
        let end = serve(&mut d, &mut t, Presence::Stay, &mut |_, _| {}).unwrap();
        assert_eq!(end, SessionEnd::Closed);
        let mut expected = vec![0, 5];
        expected.extend_from_slice(&ATR);
        let mut info = protocol::info_body("ABC123", 0x65432100);
        info.extend_from_slice(&SW_OK.to_be_bytes());
        expected.extend_from_slice(&(info.len() as u16).to_be_bytes());
        expected.extend_from_slice(&info);
        assert_eq!(d.output, expected);
    }
}
