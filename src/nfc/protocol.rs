//! The Token2 programmable-token protocol as bytes: building every command APDU, SM4 and the
//! MAC, the seed and config encodings, the config rules, parsing replies and status words
//! (the model table is in `models.rs`).
//!
//! Pure: no I/O, no clock, no randomness. Both our burner and the virtual token use these
//! functions, so a change here is checked against the known answers in the tests below,
//! never against the virtual token alone (the two would agree on a shared mistake).

use cipher::{BlockCipherDecrypt, BlockCipherEncrypt, KeyInit};
use sm4::Sm4;
use zeroize::Zeroizing;

use super::models::{Model, model_for_serial};
use crate::otp::Algorithm;

/// The one fixed SM4 key of these tokens. Public (it is in Token2's own tools); it guards
/// against accidental writes, not attackers.
pub const KEY: [u8; 16] = [
    0x8A, 0xD2, 0x06, 0x88, 0x3C, 0xA3, 0x69, 0x48, 0x2A, 0xB2, 0x71, 0x82, 0xB6, 0xE8, 0x32, 0x24,
];

/// SM4's block size, in bytes.
pub const BLOCK: usize = 16;
/// Seed sizes the token stores: the padded seed must fit in four blocks.
pub const MIN_SEED_BYTES: usize = 1;
pub const MAX_SEED_BYTES: usize = 63;

pub const CLA_PLAIN: u8 = 0x80;
pub const CLA_SECURE: u8 = 0x84;
pub const INS_GET_INFO: u8 = 0x41;
pub const INS_GET_CHALLENGE: u8 = 0x4B;
pub const INS_ANSWER_CHALLENGE: u8 = 0xCE;
pub const INS_WRITE_SEED: u8 = 0xC5;
pub const INS_WRITE_CONFIG: u8 = 0xD4;
pub const INS_GET_RESPONSE: u8 = 0xC0;
pub const INS_SELECT: u8 = 0xA4;

/// The AID a FIDO (U2F/FIDO2) authenticator answers: tapped by mistake more often than not.
pub const AID_FIDO: [u8; 8] = [0xA0, 0x00, 0x00, 0x06, 0x47, 0x2F, 0x00, 0x01];
/// The AID of the YubiKey-style OATH applet.
pub const AID_OATH: [u8; 7] = [0xA0, 0x00, 0x00, 0x05, 0x27, 0x21, 0x01];

pub const SW_OK: u16 = 0x9000;
pub const SW_AUTH_FAILED: u16 = 0x6983;
pub const SW_WRONG_LENGTH: u16 = 0x6700;
pub const SW_BAD_DATA: u16 = 0x6A80;
pub const SW_INS_NOT_SUPPORTED: u16 = 0x6D00;
pub const SW_CLA_NOT_SUPPORTED: u16 = 0x6E00;

/// The only digit count these tokens show; their config has no field for it.
pub const DIGITS: u8 = 6;

/// How long the token's display stays on after a button press.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DisplayTimeout {
    S15,
    #[default]
    S30,
    S60,
    S120,
}

impl DisplayTimeout {
    pub const ALL: [DisplayTimeout; 4] = [Self::S15, Self::S30, Self::S60, Self::S120];
    /// The choices in words, for messages and forms (kept equal to [`Self::ALL`] by a test).
    pub const CHOICES: &str = "15, 30, 60 or 120 seconds";

    pub fn seconds(self) -> u32 {
        match self {
            Self::S15 => 15,
            Self::S30 => 30,
            Self::S60 => 60,
            Self::S120 => 120,
        }
    }

    fn code(self) -> u8 {
        match self {
            Self::S15 => 0,
            Self::S30 => 1,
            Self::S60 => 2,
            Self::S120 => 3,
        }
    }

    fn from_code(c: u8) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.code() == c)
    }
}

impl TryFrom<u32> for DisplayTimeout {
    type Error = ConfigError;

    fn try_from(seconds: u32) -> Result<Self, ConfigError> {
        Self::ALL
            .into_iter()
            .find(|t| t.seconds() == seconds)
            .ok_or_else(|| ConfigError::DisplayTimeout(seconds.to_string()))
    }
}

impl std::str::FromStr for DisplayTimeout {
    type Err = ConfigError;

    /// Whole seconds, surrounding spaces tolerated.
    fn from_str(s: &str) -> Result<Self, ConfigError> {
        let refused = || ConfigError::DisplayTimeout(s.trim().chars().take(MAX_ECHO).collect());
        let seconds = s.trim().parse::<u32>().map_err(|_| refused())?;
        Self::try_from(seconds).map_err(|_| refused())
    }
}

/// The most characters of someone's input an error message repeats.
const MAX_ECHO: usize = 64;

/// What a config write sets. Only values the token accepts can be built (see
/// [`TokenConfig::new`]): SHA-1 or SHA-256, 30 or 60 seconds; the token has no digits field
/// and always shows [`DIGITS`] digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenConfig {
    algorithm: Algorithm,
    period: u32,
    pub display_timeout: DisplayTimeout,
    /// The clock to set, Unix seconds UTC.
    pub clock: u32,
}

/// Settings the token cannot take; the messages say what it can.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("these tokens cannot use SHA-512; use sha1 or sha256")]
    Sha512,
    #[error("these tokens always show 6 digits; {0} digits cannot be burned")]
    Digits(u8),
    #[error("these tokens support a period of 30 or 60 seconds, not {0}")]
    Period(u32),
    /// Holds the refused input, at most 64 characters of it.
    #[error("display timeout must be {choices}, not '{0}'", choices = DisplayTimeout::CHOICES)]
    DisplayTimeout(String),
    #[error("the clock {0} cannot be set: the token keeps a 32-bit Unix time (before 2106-02-07)")]
    Clock(u64),
}

impl TokenConfig {
    /// Every reason a token cannot take codes of this hash, length and period, in the
    /// order a person reads them; empty when it can. The one statement of that rule: the
    /// burner, the command line and the pages all ask it.
    pub fn refusals(algorithm: Algorithm, digits: u8, period: u32) -> Vec<ConfigError> {
        let mut why = Vec::new();
        if algorithm == Algorithm::Sha512 {
            why.push(ConfigError::Sha512);
        }
        if digits != DIGITS {
            why.push(ConfigError::Digits(digits));
        }
        if period != 30 && period != 60 {
            why.push(ConfigError::Period(period));
        }
        why
    }

    pub fn new(
        algorithm: Algorithm,
        period: u32,
        display_timeout: DisplayTimeout,
        clock: u64,
    ) -> Result<Self, ConfigError> {
        if let Some(why) = Self::refusals(algorithm, DIGITS, period).into_iter().next() {
            return Err(why);
        }
        let clock = u32::try_from(clock).map_err(|_| ConfigError::Clock(clock))?;
        Ok(TokenConfig {
            algorithm,
            period,
            display_timeout,
            clock,
        })
    }

    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    pub fn period(&self) -> u32 {
        self.period
    }

    /// The 19-byte TLV, the only layout the token accepts.
    pub fn tlv(&self) -> [u8; 19] {
        let c = self.clock.to_be_bytes();
        let hmac = if self.algorithm == Algorithm::Sha256 {
            0x02
        } else {
            0x01
        };
        let step = if self.period == 60 { 0x3C } else { 0x1E };
        [
            0x81,
            0x11, //
            0x1F,
            0x01,
            self.display_timeout.code(), //
            0x0F,
            0x04,
            c[0],
            c[1],
            c[2],
            c[3], //
            0x86,
            0x06, //
            0x0A,
            0x01,
            hmac, //
            0x0D,
            0x01,
            step,
        ]
    }

    /// Reads the TLV back, as the token does: any other layout or value is `None` (6A80).
    pub fn parse_tlv(tlv: &[u8]) -> Option<Self> {
        let t: &[u8; 19] = tlv.try_into().ok()?;
        let fixed = [
            (0, 0x81),
            (1, 0x11),
            (2, 0x1F),
            (3, 0x01),
            (5, 0x0F),
            (6, 0x04),
        ];
        let fixed2 = [
            (11, 0x86),
            (12, 0x06),
            (13, 0x0A),
            (14, 0x01),
            (16, 0x0D),
            (17, 0x01),
        ];
        if fixed.iter().chain(fixed2.iter()).any(|&(i, v)| t[i] != v) {
            return None;
        }
        let display_timeout = DisplayTimeout::from_code(t[4])?;
        let clock = u32::from_be_bytes([t[7], t[8], t[9], t[10]]);
        let algorithm = match t[15] {
            0x01 => Algorithm::Sha1,
            0x02 => Algorithm::Sha256,
            _ => return None,
        };
        let period = match t[18] {
            0x1E => 30,
            0x3C => 60,
            _ => return None,
        };
        Some(TokenConfig {
            algorithm,
            period,
            display_timeout,
            clock,
        })
    }
}

fn token_cipher() -> Sm4 {
    Sm4::new(&KEY.into())
}

/// SM4 of one block under `key` (the self-check of GM/T 0002 uses its own key).
pub fn sm4_encrypt_block(key: &[u8; 16], block: &[u8; 16]) -> [u8; 16] {
    let c = Sm4::new(&(*key).into());
    let mut b = (*block).into();
    c.encrypt_block(&mut b);
    let mut out = [0u8; 16];
    out.copy_from_slice(b.as_slice());
    out
}

/// SM4-ECB under the token key, in place. `data` must be whole blocks.
fn ecb_encrypt(data: &mut [u8]) {
    ecb(data, |c, b| c.encrypt_block(b));
}

/// SM4-ECB decryption under the token key, in place (the token's side of a seed write).
pub fn ecb_decrypt(data: &mut [u8]) {
    ecb(data, |c, b| c.decrypt_block(b));
}

/// `op` on each block of `data` in place, under the token key.
fn ecb(data: &mut [u8], op: impl Fn(&Sm4, &mut cipher::Block<Sm4>)) {
    debug_assert!(data.len().is_multiple_of(BLOCK));
    let c = token_cipher();
    for chunk in data.chunks_exact_mut(BLOCK) {
        let mut b = cipher::Block::<Sm4>::try_from(&*chunk).expect("16-byte chunk");
        op(&c, &mut b);
        chunk.copy_from_slice(b.as_slice());
        // The temporary block held seed plaintext (on the token's side, or before it was
        // encrypted on ours).
        zeroize::Zeroize::zeroize(b.as_mut_slice());
    }
}

/// The secure-messaging MAC of a `84` command: SM4-CBC (zero IV) over
/// `80 INS P1 P2 len(body)` + body, padded with `80 00..` only when not block-aligned;
/// the first 4 bytes of the last block.
pub fn mac(ins: u8, p1: u8, p2: u8, body: &[u8]) -> [u8; 4] {
    let len = u8::try_from(body.len()).expect("secure-messaging bodies are short");
    let mut msg = Zeroizing::new(Vec::with_capacity(body.len() + 5 + BLOCK));
    msg.extend_from_slice(&[CLA_PLAIN, ins, p1, p2, len]);
    msg.extend_from_slice(body);
    if !msg.len().is_multiple_of(BLOCK) {
        msg.push(0x80);
        while !msg.len().is_multiple_of(BLOCK) {
            msg.push(0);
        }
    }
    let c = token_cipher();
    let mut chain = [0u8; BLOCK];
    for chunk in msg.chunks_exact(BLOCK) {
        for (x, m) in chain.iter_mut().zip(chunk) {
            *x ^= m;
        }
        let mut b = chain.into();
        c.encrypt_block(&mut b);
        chain.copy_from_slice(b.as_slice());
    }
    [chain[0], chain[1], chain[2], chain[3]]
}

/// `84 INS P1 P2 Lc` + body + MAC, Lc counting the MAC.
fn secure_apdu(ins: u8, p1: u8, p2: u8, body: &[u8]) -> Zeroizing<Vec<u8>> {
    let m = mac(ins, p1, p2, body);
    let lc = u8::try_from(body.len() + 4).expect("secure-messaging bodies are short");
    let mut apdu = Zeroizing::new(Vec::with_capacity(body.len() + 9));
    apdu.extend_from_slice(&[CLA_SECURE, ins, p1, p2, lc]);
    apdu.extend_from_slice(body);
    apdu.extend_from_slice(&m);
    apdu
}

pub fn get_info_apdu() -> [u8; 7] {
    [CLA_PLAIN, INS_GET_INFO, 0x00, 0x00, 0x02, 0x02, 0x11]
}

pub fn get_challenge_apdu() -> [u8; 6] {
    [CLA_PLAIN, INS_GET_CHALLENGE, 0x08, 0x00, 0x01, 0x00]
}

/// GET RESPONSE for the `xx` of a `61 xx` reply.
pub fn get_response_apdu(len: u8) -> [u8; 5] {
    [0x00, INS_GET_RESPONSE, 0x00, 0x00, len]
}

/// SELECT by AID (used only to recognise a device that is not a Token2 token).
pub fn select_apdu(aid: &[u8]) -> Vec<u8> {
    let mut apdu = vec![0x00, INS_SELECT, 0x04, 0x00, aid.len() as u8];
    apdu.extend_from_slice(aid);
    apdu
}

/// The answer the token expects: SM4-ECB(key, challenge || 8 zero bytes).
pub fn challenge_answer(challenge: &[u8; 8]) -> [u8; 16] {
    let mut block = [0u8; BLOCK];
    block[..8].copy_from_slice(challenge);
    ecb_encrypt(&mut block);
    block
}

pub fn answer_challenge_apdu(challenge: &[u8; 8]) -> [u8; 21] {
    let mut apdu = [0u8; 21];
    apdu[..5].copy_from_slice(&[CLA_PLAIN, INS_ANSWER_CHALLENGE, 0x00, 0x00, 0x10]);
    apdu[5..].copy_from_slice(&challenge_answer(challenge));
    apdu
}

/// A seed the token cannot hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SeedLengthError {
    #[error("the seed is empty; these tokens take a seed of 1 to 63 bytes")]
    Empty,
    #[error(
        "the seed is {0} bytes; these tokens hold at most 63 bytes (a 64-byte seed does not fit once padded)"
    )]
    TooLong(usize),
}

pub fn check_seed_length(len: usize) -> Result<(), SeedLengthError> {
    match len {
        0 => Err(SeedLengthError::Empty),
        MIN_SEED_BYTES..=MAX_SEED_BYTES => Ok(()),
        n => Err(SeedLengthError::TooLong(n)),
    }
}

/// The write-seed APDU: the seed ALWAYS padded (`80 00..` to the next block, a whole block
/// when already aligned), SM4-ECB, then the MAC over the ciphertext.
pub fn write_seed_apdu(seed: &[u8]) -> Result<Zeroizing<Vec<u8>>, SeedLengthError> {
    check_seed_length(seed.len())?;
    let mut body = Zeroizing::new(Vec::with_capacity(seed.len() + BLOCK));
    body.extend_from_slice(seed);
    body.push(0x80);
    while !body.len().is_multiple_of(BLOCK) {
        body.push(0);
    }
    ecb_encrypt(&mut body);
    Ok(secure_apdu(INS_WRITE_SEED, 0x01, 0x00, &body))
}

pub fn write_config_apdu(config: &TokenConfig) -> Vec<u8> {
    secure_apdu(INS_WRITE_CONFIG, 0x00, 0x00, &config.tlv()).to_vec()
}

/// Removes the `80 00..` padding as the token does, scanning back to the `80`. `None` when
/// there is no such padding.
pub fn strip_padding(padded: &[u8]) -> Option<&[u8]> {
    let end = padded.iter().rposition(|&b| b != 0)?;
    (padded[end] == 0x80).then(|| &padded[..end])
}

/// A reply split into its data and status word.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub data: Vec<u8>,
    pub sw: u16,
}

impl Reply {
    /// Splits raw reply bytes; `None` when shorter than a status word.
    pub fn parse(raw: &[u8]) -> Option<Self> {
        if raw.len() < 2 {
            return None;
        }
        let (data, sw) = raw.split_at(raw.len() - 2);
        Some(Reply {
            data: data.to_vec(),
            sw: u16::from_be_bytes([sw[0], sw[1]]),
        })
    }

    pub fn is_ok(&self) -> bool {
        self.sw == SW_OK
    }

    /// `Some(xx)` for a `61 xx` "more bytes waiting" reply (`00` means 256).
    pub fn more_available(&self) -> Option<u8> {
        (self.sw >> 8 == 0x61).then_some((self.sw & 0xFF) as u8)
    }
}

/// What get info tells us without authentication.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenInfo {
    pub serial: String,
    /// The token's clock, Unix seconds UTC.
    pub clock: u32,
}

impl TokenInfo {
    pub fn model(&self) -> Option<Model> {
        model_for_serial(&self.serial)
    }
}

/// Why a get-info body could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InfoError {
    #[error("the token's info reply is {got} bytes, too short for the {need} bytes it declares")]
    TooShort { got: usize, need: usize },
    #[error("the token's serial number is not printable ASCII")]
    Serial,
}

/// Reads a get-info body: 3 unused bytes, length N, N ASCII serial bytes, 2 unused bytes,
/// a 4-byte big-endian clock. Extra trailing bytes are tolerated; missing ones are not.
pub fn parse_info(body: &[u8]) -> Result<TokenInfo, InfoError> {
    let too_short = |need| InfoError::TooShort {
        got: body.len(),
        need,
    };
    let n = *body.get(3).ok_or(too_short(4))? as usize;
    let need = 4 + n + 2 + 4;
    if body.len() < need {
        return Err(too_short(need));
    }
    let serial = &body[4..4 + n];
    if serial.is_empty() || !serial.iter().all(|b| b.is_ascii_graphic()) {
        return Err(InfoError::Serial);
    }
    let c = &body[4 + n + 2..need];
    Ok(TokenInfo {
        serial: String::from_utf8_lossy(serial).into_owned(),
        clock: u32::from_be_bytes([c[0], c[1], c[2], c[3]]),
    })
}

/// Builds a get-info body (the virtual token's side of [`parse_info`]).
pub fn info_body(serial: &str, clock: u32) -> Vec<u8> {
    let mut body = vec![0, 0, 0, serial.len() as u8];
    body.extend_from_slice(serial.as_bytes());
    body.extend_from_slice(&[0, 0]);
    body.extend_from_slice(&clock.to_be_bytes());
    body
}

/// What a status word means, in words a person can act on.
pub fn status_message(sw: u16) -> String {
    match sw {
        SW_OK => "done".into(),
        SW_AUTH_FAILED => {
            "the token refused authentication (status 6983: wrong key, not authenticated or bad MAC)"
                .into()
        }
        SW_WRONG_LENGTH => "the token refused a command of the wrong length (status 6700)".into(),
        SW_BAD_DATA => "the token refused the data (status 6A80: a layout or value it does not accept)".into(),
        SW_INS_NOT_SUPPORTED => {
            "the card does not know this command (status 6D00): probably not a Token2 programmable token".into()
        }
        SW_CLA_NOT_SUPPORTED => {
            "the card does not know this command class (status 6E00): probably not a Token2 programmable token".into()
        }
        other => format!("the token answered with status {other:04X}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_timeout_choices_are_the_list() {
        let listed: Vec<String> = DisplayTimeout::ALL
            .iter()
            .map(|t| t.seconds().to_string())
            .collect();
        let (last, rest) = listed.split_last().unwrap();
        assert_eq!(
            DisplayTimeout::CHOICES,
            format!("{} or {last} seconds", rest.join(", "))
        );
        for t in DisplayTimeout::ALL {
            assert_eq!(DisplayTimeout::from_code(t.code()), Some(t));
            assert_eq!(DisplayTimeout::try_from(t.seconds()), Ok(t));
            assert_eq!(format!(" {} ", t.seconds()).parse(), Ok(t));
        }
        assert_eq!(
            "45".parse::<DisplayTimeout>(),
            Err(ConfigError::DisplayTimeout("45".into()))
        );
    }

    #[test]
    fn padding_strip() {
        assert_eq!(strip_padding(&[1, 2, 0x80, 0, 0]), Some(&[1u8, 2][..]));
        assert_eq!(strip_padding(&[1, 2, 0x80]), Some(&[1u8, 2][..]));
        assert_eq!(strip_padding(&[1, 2, 3, 0]), None);
        assert_eq!(strip_padding(&[0, 0]), None);
    }

    #[test]
    fn reply_split_and_more() {
        let r = Reply::parse(&[1, 2, 0x61, 0x10]).unwrap();
        assert_eq!(r.data, vec![1, 2]);
        assert_eq!(r.more_available(), Some(0x10));
        assert!(Reply::parse(&[0x90]).is_none());
    }
}
