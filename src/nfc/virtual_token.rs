//! A virtual Token2 programmable token: the card side of the protocol, faithful to the
//! reference (authentication, MAC checks, seed decryption and padding, the config TLV, its
//! own clock, restricted models erasing the seed on a config write, the status words), and
//! the code it would show. Used in-process by tests and the agent's `--simulate`, and as a
//! vpcd card (`vpcd.rs`) so the real `pcscd` stack can be tested without hardware.
//!
//! It holds a seed in memory like a token does (zeroized), and never reveals it: what it
//! tells the outside is the codes it would display.

use std::fmt;

use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use super::card::{Card, CardError};
use super::models;
use super::protocol::{
    self, AID_FIDO, AID_OATH, BLOCK, CLA_PLAIN, CLA_SECURE, DisplayTimeout, INS_ANSWER_CHALLENGE,
    INS_GET_CHALLENGE, INS_GET_INFO, INS_GET_RESPONSE, INS_SELECT, INS_WRITE_CONFIG,
    INS_WRITE_SEED, SW_AUTH_FAILED, SW_BAD_DATA, SW_CLA_NOT_SUPPORTED, SW_INS_NOT_SUPPORTED, SW_OK,
    SW_WRONG_LENGTH, TokenConfig,
};
use crate::clock::Clock;
use crate::otp::{Algorithm, Generator, Params, Secret};

/// How the virtual device behaves: a good token, or one of the failures a burner must
/// explain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Behaviour {
    #[default]
    Token2,
    /// Answers every challenge answer with 6983, like a token with another key.
    WrongKey,
    /// Disappears (transport error) when the seed write arrives, after the config.
    LiftMidWrite,
    /// A FIDO security key: knows only SELECT of the FIDO AID.
    FidoKey,
    /// A YubiKey-style OATH applet: knows only SELECT of the OATH AID.
    OathApplet,
}

impl std::str::FromStr for Behaviour {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "token2" | "none" => Ok(Behaviour::Token2),
            "wrong-key" => Ok(Behaviour::WrongKey),
            "lift-mid-write" => Ok(Behaviour::LiftMidWrite),
            "fido" => Ok(Behaviour::FidoKey),
            "oath" => Ok(Behaviour::OathApplet),
            _ => Err(format!(
                "'{s}' is not a behaviour; use none, wrong-key, lift-mid-write, fido or oath"
            )),
        }
    }
}

/// Something that changed the token, reported so tests can compare its codes with ours.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A config write was accepted; `seed_erased` on restricted models.
    Configured { seed_erased: bool },
    /// A seed write was accepted.
    SeedWritten { seed_bytes: usize },
}

/// One virtual token and its state.
pub struct VirtualToken {
    serial: String,
    restricted: bool,
    behaviour: Behaviour,
    clock: Clock,
    /// Token clock minus host clock, seconds.
    clock_offset: i64,
    challenge: Option<[u8; 8]>,
    authenticated: bool,
    seed: Option<Zeroizing<Vec<u8>>>,
    algorithm: Algorithm,
    period: u32,
    display_timeout: DisplayTimeout,
    /// Replies as a contact T=0 card would: `61 xx`, then the data on GET RESPONSE.
    chained_replies: bool,
    pending: Vec<u8>,
    events: Vec<Event>,
}

impl fmt::Debug for VirtualToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VirtualToken")
            .field("serial", &self.serial)
            .field("restricted", &self.restricted)
            .field("behaviour", &self.behaviour)
            .field("seed", &self.seed.as_ref().map(|_| "[redacted]"))
            .finish_non_exhaustive()
    }
}

/// What the token's state looks like from outside (never the seed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenState {
    pub serial: String,
    pub model: Option<&'static str>,
    pub restricted: bool,
    pub seed_present: bool,
    pub algorithm: Algorithm,
    pub digits: u8,
    pub period: u32,
    pub display_timeout: u32,
    pub clock_offset: i64,
}

/// A code the token displays, with the counter it belongs to.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DisplayedCode {
    pub counter: u64,
    pub code: String,
}

fn sw(data: &[u8], sw: u16) -> Vec<u8> {
    let mut out = data.to_vec();
    out.extend_from_slice(&sw.to_be_bytes());
    out
}

impl VirtualToken {
    /// A fresh token with no seed. Restricted (seed erased on config writes) when its serial
    /// is not one of the known keepers, or when `force_restricted`.
    pub fn new(serial: &str, force_restricted: bool, clock: Clock) -> Self {
        VirtualToken {
            serial: serial.to_string(),
            restricted: force_restricted || !models::keeps_seed_on_config(serial),
            behaviour: Behaviour::Token2,
            clock,
            clock_offset: 0,
            challenge: None,
            authenticated: false,
            seed: None,
            algorithm: Algorithm::Sha1,
            period: 30,
            display_timeout: DisplayTimeout::S30,
            chained_replies: false,
            pending: Vec::new(),
            events: Vec::new(),
        }
    }

    pub fn with_behaviour(mut self, behaviour: Behaviour) -> Self {
        self.behaviour = behaviour;
        self
    }

    /// Changes how it behaves from now on (a stack gives each tap its own behaviour).
    pub fn set_behaviour(&mut self, behaviour: Behaviour) {
        self.behaviour = behaviour;
    }

    /// Answers like a contact T=0 card (`61 xx` + GET RESPONSE), to exercise that path.
    pub fn with_chained_replies(mut self) -> Self {
        self.chained_replies = true;
        self
    }

    /// Sets the token's clock `offset` seconds away from the host clock.
    pub fn with_clock_offset(mut self, offset: i64) -> Self {
        self.clock_offset = offset;
        self
    }

    pub fn serial(&self) -> &str {
        &self.serial
    }

    /// The token's clock at host time `unix`.
    pub fn token_time(&self, unix: u64) -> u64 {
        unix.saturating_add_signed(self.clock_offset)
    }

    pub fn state(&self) -> TokenState {
        TokenState {
            serial: self.serial.clone(),
            model: models::model_for_serial(&self.serial).map(|m| m.name),
            restricted: self.restricted,
            seed_present: self.seed.is_some(),
            algorithm: self.algorithm,
            digits: 6,
            period: self.period,
            display_timeout: self.display_timeout.seconds(),
            clock_offset: self.clock_offset,
        }
    }

    fn generator(&self) -> Option<Generator> {
        let seed = self.seed.as_ref()?;
        let secret = Secret::from_bytes(seed.to_vec()).ok()?;
        let params = Params::new(self.algorithm, 6, self.period).ok()?;
        Some(Generator::new(&secret, params))
    }

    /// The code the token displays at host time `unix`, `None` without a seed.
    pub fn code_at(&self, unix: u64) -> Option<String> {
        self.generator().map(|g| g.code_at(self.token_time(unix)))
    }

    /// The codes it shows from `-skew` to `+skew` steps around host time `unix`.
    pub fn codes_around(&self, unix: u64, skew: u32) -> Vec<DisplayedCode> {
        let Some(g) = self.generator() else {
            return Vec::new();
        };
        let here = g.counter_at(self.token_time(unix));
        (here.saturating_sub(u64::from(skew))..=here + u64::from(skew))
            .map(|counter| DisplayedCode {
                counter,
                code: g.code_for_counter(counter),
            })
            .collect()
    }

    /// Events since the last call.
    pub fn take_events(&mut self) -> Vec<Event> {
        std::mem::take(&mut self.events)
    }

    /// Power off, power on or reset: the session (challenge, authentication) ends.
    pub fn reset(&mut self) {
        self.challenge = None;
        self.authenticated = false;
        self.pending.clear();
    }

    /// Handles one command APDU and returns the reply with its status word.
    pub fn process(&mut self, apdu: &[u8]) -> Vec<u8> {
        if apdu.len() < 4 {
            return sw(&[], SW_WRONG_LENGTH);
        }
        let (cla, ins) = (apdu[0], apdu[1]);
        if cla == 0x00 && ins == INS_GET_RESPONSE {
            return self.get_response(apdu);
        }
        // Anything but GET RESPONSE abandons a reply still waiting to be fetched.
        self.pending.clear();
        match self.behaviour {
            Behaviour::FidoKey => return other_device(apdu, &AID_FIDO),
            Behaviour::OathApplet => return other_device(apdu, &AID_OATH),
            _ => {}
        }
        // A header alone, or with one length byte, carries no data: Token2's firmware takes
        // get info and get challenge that way (a third-party burner sends them so). Otherwise
        // case 3: header, Lc, exactly Lc bytes.
        let data = match apdu.get(4) {
            None => &[][..],
            Some(_) if apdu.len() == 5 => &[][..],
            Some(&lc) if apdu.len() == 5 + lc as usize => &apdu[5..],
            _ if cla == CLA_PLAIN || cla == CLA_SECURE => return sw(&[], SW_WRONG_LENGTH),
            _ => &[][..],
        };
        let reply = match (cla, ins) {
            (CLA_PLAIN, INS_GET_INFO) => self.get_info(apdu, data),
            (CLA_PLAIN, INS_GET_CHALLENGE) => self.get_challenge(apdu, data),
            (CLA_PLAIN, INS_ANSWER_CHALLENGE) => self.answer_challenge(data),
            (CLA_SECURE, INS_WRITE_SEED) | (CLA_SECURE, INS_WRITE_CONFIG) => {
                self.secure_write(apdu, data)
            }
            (CLA_PLAIN | CLA_SECURE, _) => sw(&[], SW_INS_NOT_SUPPORTED),
            _ => sw(&[], SW_CLA_NOT_SUPPORTED),
        };
        self.maybe_chain(reply)
    }

    fn maybe_chain(&mut self, reply: Vec<u8>) -> Vec<u8> {
        let data_len = reply.len() - 2;
        if !self.chained_replies || data_len == 0 || reply[data_len..] != SW_OK.to_be_bytes() {
            return reply;
        }
        self.pending = reply[..data_len].to_vec();
        sw(&[], 0x6100 | (data_len.min(255) as u16))
    }

    fn get_response(&mut self, apdu: &[u8]) -> Vec<u8> {
        if self.pending.is_empty() {
            return sw(&[], 0x6985);
        }
        let le = match apdu.get(4) {
            Some(0) | None => 256,
            Some(&n) => n as usize,
        };
        let n = le.min(self.pending.len());
        let chunk: Vec<u8> = self.pending.drain(..n).collect();
        match self.pending.len() {
            0 => sw(&chunk, SW_OK),
            rest => sw(&chunk, 0x6100 | (rest.min(255) as u16)),
        }
    }

    fn get_info(&mut self, apdu: &[u8], data: &[u8]) -> Vec<u8> {
        // The data byte pair is optional, as on the real firmware.
        if apdu[2..4] != [0, 0] || !(data.is_empty() || data == [0x02, 0x11]) {
            return sw(&[], SW_BAD_DATA);
        }
        // The token's clock is 32 bits; wrap like its counter would.
        let clock = self.token_time((self.clock)()) as u32;
        sw(&protocol::info_body(&self.serial, clock), SW_OK)
    }

    fn get_challenge(&mut self, apdu: &[u8], data: &[u8]) -> Vec<u8> {
        // The data byte is optional, as on the real firmware.
        if apdu[2..4] != [0x08, 0x00] || !(data.is_empty() || data == [0x00]) {
            return sw(&[], SW_BAD_DATA);
        }
        let mut challenge = [0u8; 8];
        if getrandom::fill(&mut challenge).is_err() {
            return sw(&[], 0x6F00);
        }
        self.challenge = Some(challenge);
        self.authenticated = false;
        sw(&challenge, SW_OK)
    }

    fn answer_challenge(&mut self, data: &[u8]) -> Vec<u8> {
        if data.len() != BLOCK {
            return sw(&[], SW_WRONG_LENGTH);
        }
        // Taken, not read: right or wrong, a challenge is good for one answer.
        let Some(challenge) = self.challenge.take() else {
            return sw(&[], SW_AUTH_FAILED);
        };
        let expected = protocol::challenge_answer(&challenge);
        let right = bool::from(expected.ct_eq(data)) && self.behaviour != Behaviour::WrongKey;
        self.authenticated = right;
        sw(&[], if right { SW_OK } else { SW_AUTH_FAILED })
    }

    fn secure_write(&mut self, apdu: &[u8], data: &[u8]) -> Vec<u8> {
        if data.len() < 4 {
            return sw(&[], SW_WRONG_LENGTH);
        }
        if !self.authenticated {
            return sw(&[], SW_AUTH_FAILED);
        }
        let (ins, p1, p2) = (apdu[1], apdu[2], apdu[3]);
        let (body, mac) = data.split_at(data.len() - 4);
        if !bool::from(protocol::mac(ins, p1, p2, body).ct_eq(mac)) {
            return sw(&[], SW_AUTH_FAILED);
        }
        if ins == INS_WRITE_SEED {
            self.write_seed(p1, p2, body)
        } else {
            self.write_config(p1, p2, body)
        }
    }

    fn write_seed(&mut self, p1: u8, p2: u8, body: &[u8]) -> Vec<u8> {
        if (p1, p2) != (0x01, 0x00) {
            return sw(&[], SW_BAD_DATA);
        }
        if body.is_empty() || !body.len().is_multiple_of(BLOCK) || body.len() > 4 * BLOCK {
            return sw(&[], SW_WRONG_LENGTH);
        }
        let mut plain = Zeroizing::new(body.to_vec());
        protocol::ecb_decrypt(&mut plain);
        let Some(seed) = protocol::strip_padding(&plain) else {
            return sw(&[], SW_BAD_DATA);
        };
        if seed.is_empty() {
            return sw(&[], SW_BAD_DATA);
        }
        let seed_bytes = seed.len();
        self.seed = Some(Zeroizing::new(seed.to_vec()));
        self.events.push(Event::SeedWritten { seed_bytes });
        sw(&[], SW_OK)
    }

    fn write_config(&mut self, p1: u8, p2: u8, body: &[u8]) -> Vec<u8> {
        if (p1, p2) != (0x00, 0x00) {
            return sw(&[], SW_BAD_DATA);
        }
        let Some(config) = TokenConfig::parse_tlv(body) else {
            return sw(&[], SW_BAD_DATA);
        };
        let seed_erased = self.restricted && self.seed.is_some();
        if self.restricted {
            self.seed = None;
        }
        self.algorithm = config.algorithm();
        self.period = config.period();
        self.display_timeout = config.display_timeout;
        self.clock_offset = i64::from(config.clock) - (self.clock)() as i64;
        self.events.push(Event::Configured { seed_erased });
        sw(&[], SW_OK)
    }
}

/// A FIDO key or an OATH applet: SELECT of its own AID works, nothing else does.
fn other_device(apdu: &[u8], aid: &[u8]) -> Vec<u8> {
    if apdu[0] == 0x00 && apdu[1] == INS_SELECT {
        let selected =
            apdu.get(5..5 + aid.len()) == Some(aid) && apdu.get(4) == Some(&(aid.len() as u8));
        return if selected {
            sw(b"U2F_V2", SW_OK)
        } else {
            sw(&[], 0x6A82)
        };
    }
    sw(&[], SW_INS_NOT_SUPPORTED)
}

impl Card for VirtualToken {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, CardError> {
        if self.behaviour == Behaviour::LiftMidWrite
            && apdu.len() > 1
            && apdu[0] == CLA_SECURE
            && apdu[1] == INS_WRITE_SEED
        {
            self.reset();
            return Err(CardError::Removed);
        }
        Ok(self.process(apdu))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixed(t: u64) -> Clock {
        std::sync::Arc::new(move || t)
    }

    #[test]
    fn unknown_instruction_and_class() {
        let mut t = VirtualToken::new("8659600000001", false, fixed(1_700_000_000));
        assert_eq!(t.process(&[0x80, 0x99, 0, 0, 0]), vec![0x6D, 0x00]);
        assert_eq!(t.process(&[0x00, 0xA4, 4, 0, 1, 0]), vec![0x6E, 0x00]);
        assert_eq!(t.process(&[0x80, 0x41, 0, 0, 2, 2]), vec![0x67, 0x00]);
    }

    #[test]
    fn get_info_and_challenge_without_their_data_bytes() {
        let mut t = VirtualToken::new("8659600000001", false, fixed(1_700_000_000));
        let full = t.process(&protocol::get_info_apdu());
        for short in [&[0x80, 0x41, 0, 0][..], &[0x80, 0x41, 0, 0, 0][..]] {
            assert_eq!(t.process(short), full);
        }
        for short in [
            &[0x80, 0x4B, 8, 0][..],
            &[0x80, 0x4B, 8, 0, 0][..],
            &[0x80, 0x4B, 8, 0, 8][..],
        ] {
            let reply = t.process(short);
            assert_eq!(reply.len(), 10);
            assert_eq!(reply[8..], [0x90, 0x00]);
        }
        // Data that is present must still be the documented data.
        assert_eq!(t.process(&[0x80, 0x4B, 8, 0, 1, 7]), vec![0x6A, 0x80]);
        assert_eq!(t.process(&[0x80, 0x41, 0, 0, 2, 2, 0x12]), vec![0x6A, 0x80]);
    }

    #[test]
    fn write_without_authentication_is_refused() {
        let mut t = VirtualToken::new("8659600000001", false, fixed(1_700_000_000));
        let apdu = protocol::write_seed_apdu(&[1; 20]).unwrap();
        assert_eq!(t.process(&apdu), vec![0x69, 0x83]);
    }
}
