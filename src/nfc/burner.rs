//! The burner's conversations with a token over any [`Card`]: identify it, burn a seed
//! (info → challenge → answer → config → seed), and set its clock.
//!
//! No I/O of its own and no clock: "now" is an argument, the card is a trait object, so the
//! same sequence runs against PC/SC, the virtual token and scripted test cards.

use super::card::{Card, CardError};
use super::error::NfcError;
use super::models::{self, Model};
use super::protocol::{
    self, AID_FIDO, AID_OATH, DisplayTimeout, Reply, SW_AUTH_FAILED, SW_CLA_NOT_SUPPORTED,
    SW_INS_NOT_SUPPORTED, TokenConfig, TokenInfo,
};
use crate::otp::{Algorithm, Secret};

/// GET RESPONSE rounds we follow before deciding the card is babbling.
const MAX_GET_RESPONSE: usize = 16;

/// What a burn or a time sync writes besides the seed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenSettings {
    pub algorithm: Algorithm,
    pub period: u32,
    pub display_timeout: DisplayTimeout,
}

impl Default for TokenSettings {
    fn default() -> Self {
        TokenSettings {
            algorithm: Algorithm::Sha1,
            period: 30,
            display_timeout: DisplayTimeout::S30,
        }
    }
}

impl TokenSettings {
    /// The config write for these settings with the clock at `now` (Unix seconds UTC);
    /// refuses what the token cannot take.
    pub fn config_at(self, now: u64) -> Result<TokenConfig, protocol::ConfigError> {
        TokenConfig::new(self.algorithm, self.period, self.display_timeout, now)
    }
}

/// A token as identified: what get info said and the model its serial names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identified {
    pub info: TokenInfo,
    pub model: Option<Model>,
}

/// What a successful burn wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BurnReport {
    pub token: Identified,
    pub config: TokenConfig,
    pub seed_bytes: usize,
}

/// What a successful time sync wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncReport {
    pub token: Identified,
    pub config: TokenConfig,
    /// True on restricted models: the config write erased the seed.
    pub seed_erased: bool,
}

/// Sends an APDU and collects the whole reply, following `61 xx` with GET RESPONSE.
/// `writing` turns a lost card into "half-written" instead of "removed before writing".
fn exchange(card: &mut dyn Card, apdu: &[u8], writing: bool) -> Result<Reply, NfcError> {
    let lost = |e: CardError| match e {
        CardError::Removed if writing => NfcError::HalfWritten,
        CardError::Removed => NfcError::CardRemoved,
        CardError::Reader(_) if writing => NfcError::HalfWritten,
        CardError::Reader(m) => NfcError::Reader(m),
    };
    // A write that got no status word may have reached the token or not: the token left
    // (whatever the transport made of it), so it is half-written, not babbling.
    let no_status = || {
        if writing {
            NfcError::HalfWritten
        } else {
            NfcError::BadReply("a reply without a status word".into())
        }
    };
    let raw = card.transmit(apdu).map_err(lost)?;
    let mut reply = Reply::parse(&raw).ok_or_else(no_status)?;
    let mut rounds = 0;
    while let Some(more) = reply.more_available() {
        rounds += 1;
        if rounds > MAX_GET_RESPONSE {
            return Err(NfcError::BadReply("endless GET RESPONSE chain".into()));
        }
        let raw = card
            .transmit(&protocol::get_response_apdu(more))
            .map_err(lost)?;
        let next = Reply::parse(&raw).ok_or_else(no_status)?;
        reply.data.extend_from_slice(&next.data);
        reply.sw = next.sw;
    }
    Ok(reply)
}

/// Turns a non-9000 status word at `step` into the error a person understands.
fn status_error(step: &'static str, sw: u16) -> NfcError {
    match sw {
        SW_AUTH_FAILED => NfcError::WrongKey,
        SW_INS_NOT_SUPPORTED | SW_CLA_NOT_SUPPORTED => NfcError::NotToken2 { sw },
        _ => NfcError::Status { step, sw },
    }
}

/// Reads serial and clock. When the card does not answer get info as a Token2 token, asks
/// whether it is a FIDO key or an OATH applet so the message can say what was tapped.
pub fn identify(card: &mut dyn Card) -> Result<Identified, NfcError> {
    let failure = match exchange(card, &protocol::get_info_apdu(), false) {
        Ok(reply) if reply.is_ok() => {
            return match protocol::parse_info(&reply.data) {
                Ok(info) => Ok(Identified {
                    model: info.model(),
                    info,
                }),
                Err(e) => {
                    Err(probe_other_device(card).unwrap_or(NfcError::BadReply(e.to_string())))
                }
            };
        }
        Ok(reply) => status_error("get info", reply.sw),
        Err(e @ (NfcError::CardRemoved | NfcError::Reader(_))) => return Err(e),
        Err(e) => e,
    };
    Err(probe_other_device(card).unwrap_or(failure))
}

/// `Some` when the card answers SELECT of the FIDO or the OATH AID.
fn probe_other_device(card: &mut dyn Card) -> Option<NfcError> {
    let answers = |card: &mut dyn Card, aid: &[u8]| {
        exchange(card, &protocol::select_apdu(aid), false).is_ok_and(|r| r.is_ok())
    };
    if answers(card, &AID_FIDO) {
        Some(NfcError::FidoKey)
    } else if answers(card, &AID_OATH) {
        Some(NfcError::OathApplet)
    } else {
        None
    }
}

fn refuse_unknown(token: &Identified, force: bool) -> Result<(), NfcError> {
    if token.model.is_none() && !force {
        return Err(NfcError::UnknownModel {
            serial: token.info.serial.clone(),
        });
    }
    Ok(())
}

/// Get challenge, answer it. A wrong answer spends the challenge on the token's side.
fn authenticate(card: &mut dyn Card) -> Result<(), NfcError> {
    let reply = exchange(card, &protocol::get_challenge_apdu(), false)?;
    if !reply.is_ok() {
        return Err(status_error("get challenge", reply.sw));
    }
    let challenge: [u8; 8] = reply.data.as_slice().try_into().map_err(|_| {
        NfcError::BadReply(format!(
            "a challenge of {} bytes instead of 8",
            reply.data.len()
        ))
    })?;
    let reply = exchange(card, &protocol::answer_challenge_apdu(&challenge), false)?;
    if !reply.is_ok() {
        return Err(status_error("answer challenge", reply.sw));
    }
    Ok(())
}

fn write(card: &mut dyn Card, step: &'static str, apdu: &[u8]) -> Result<(), NfcError> {
    let reply = exchange(card, apdu, true)?;
    if !reply.is_ok() {
        return Err(status_error(step, reply.sw));
    }
    Ok(())
}

/// Burns `secret` with `settings`, setting the token's clock to `now` (Unix seconds UTC).
/// Everything the user could have got wrong is checked before the card is touched.
pub fn burn(
    card: &mut dyn Card,
    secret: &Secret,
    settings: TokenSettings,
    now: u64,
    force: bool,
) -> Result<BurnReport, NfcError> {
    // Checked before the card is touched, as in `burn_identified`.
    protocol::check_seed_length(secret.len())?;
    settings.config_at(now)?;
    let token = identify(card)?;
    burn_identified(card, token, secret, settings, now, force)
}

/// The rest of [`burn`] once the token on `card` has been identified (in the same session:
/// a bulk run decides between identify and write whether this token gets a seed at all).
pub fn burn_identified(
    card: &mut dyn Card,
    token: Identified,
    secret: &Secret,
    settings: TokenSettings,
    now: u64,
    force: bool,
) -> Result<BurnReport, NfcError> {
    let seed_apdu = protocol::write_seed_apdu(secret.as_bytes())?;
    let config = settings.config_at(now)?;
    refuse_unknown(&token, force)?;
    authenticate(card)?;
    // Config first: on restricted models a config write erases the seed, so a seed written
    // before it would be lost.
    write(card, "write config", &protocol::write_config_apdu(&config))?;
    write(card, "write seed", &seed_apdu)?;
    Ok(BurnReport {
        token,
        config,
        seed_bytes: secret.len(),
    })
}

/// Sets the token's clock to `now` with `settings` (the config write has no "clock only"
/// form, so the algorithm and period must be the ones the seed was burned with). On
/// restricted models this erases the seed, so it needs `confirm_seed_loss`.
pub fn sync_time(
    card: &mut dyn Card,
    settings: TokenSettings,
    now: u64,
    confirm_seed_loss: bool,
    force: bool,
) -> Result<SyncReport, NfcError> {
    let config = settings.config_at(now)?;
    let token = identify(card)?;
    refuse_unknown(&token, force)?;
    let seed_erased = token.restricted();
    if seed_erased && !confirm_seed_loss {
        return Err(NfcError::SeedLossUnconfirmed {
            serial: token.info.serial.clone(),
            model: token
                .model
                .map_or("this unknown model".to_string(), |m| m.name.to_string()),
        });
    }
    authenticate(card)?;
    write(card, "write config", &protocol::write_config_apdu(&config))?;
    Ok(SyncReport {
        token,
        config,
        seed_erased,
    })
}

impl Identified {
    /// True when a config write (a time sync) erases the seed on this token.
    pub fn restricted(&self) -> bool {
        !models::keeps_seed_on_config(&self.info.serial)
    }

    /// The token's clock minus `now` (Unix seconds), positive when the token is ahead.
    pub fn clock_offset(&self, now: u64) -> i64 {
        i64::from(self.info.clock) - i64::try_from(now).unwrap_or(i64::MAX)
    }
}
