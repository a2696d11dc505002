//! The Token2 protocol against every known answer in the reference, and the burner against
//! the virtual token: round trips, restricted models, wrong answers and MACs, other devices,
//! GET RESPONSE chains, and the messages people see.

use std::sync::Arc;

use totp_toolset::clock::Clock;
use totp_toolset::nfc::protocol::{self, DisplayTimeout, TokenConfig};
use totp_toolset::nfc::virtual_token::{Behaviour, Event, VirtualToken};
use totp_toolset::nfc::{self, Card, CardError, ConfigError, ErrorKind, NfcError, TokenSettings};
use totp_toolset::otp::{Algorithm, Generator, Params, Secret};

fn hex(s: &str) -> Vec<u8> {
    let clean: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    (0..clean.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&clean[i..i + 2], 16).unwrap())
        .collect()
}

fn fixed(t: u64) -> Clock {
    Arc::new(move || t)
}

const NOW: u64 = 1_750_000_000;

#[test]
fn sm4_self_check() {
    let key: [u8; 16] = hex("0123456789ABCDEFFEDCBA9876543210").try_into().unwrap();
    assert_eq!(
        protocol::sm4_encrypt_block(&key, &key).to_vec(),
        hex("681EDF34D206965E86B3E94F536E4246")
    );
}

#[test]
fn command_apdus() {
    assert_eq!(protocol::get_info_apdu().to_vec(), hex("80410000020211"));
    assert_eq!(protocol::get_challenge_apdu().to_vec(), hex("804B08000100"));
    assert_eq!(
        protocol::get_response_apdu(0x12).to_vec(),
        hex("00C0000012")
    );
}

#[test]
fn challenge_answer_known_answer() {
    let challenge: [u8; 8] = hex("1122334455667788").try_into().unwrap();
    assert_eq!(
        protocol::answer_challenge_apdu(&challenge).to_vec(),
        hex("80CE000010 8B7450F22721BC29985C2C460B65045D")
    );
}

#[test]
fn seed_apdu_20_bytes_known_answer() {
    let seed: Vec<u8> = (0x01..=0x14).collect();
    assert_eq!(
        protocol::write_seed_apdu(&seed).unwrap().to_vec(),
        hex(
            "84C5010024 6EEAD21474BBF3A0A2B4C18F489E543C F48725A71EE9C3A65963E88BE9405E3D 5F6EA0C1"
        )
    );
}

#[test]
fn seed_apdu_32_bytes_known_answer_pads_a_whole_block() {
    let seed: Vec<u8> = (0x10..=0x2F).collect();
    let apdu = protocol::write_seed_apdu(&seed).unwrap();
    assert_eq!(
        apdu.to_vec(),
        hex(
            "84C5010034 B830899CFE9DE292CD26D3C7439215CE 18503D57AC31735AFA60EBA20F64D6F7 D219EFC9972FED9191DF027FD36A80B0 880D59FA"
        )
    );
    // 16 and 48 bytes also get the whole padding block, which always encrypts the same.
    for len in [16usize, 48] {
        let apdu = protocol::write_seed_apdu(&vec![0xAB; len]).unwrap();
        assert_eq!(apdu[4] as usize, len + 16 + 4);
        assert_eq!(
            apdu[5 + len..5 + len + 16].to_vec(),
            hex("D219EFC9972FED9191DF027FD36A80B0")
        );
    }
}

#[test]
fn config_apdu_known_answer() {
    let config = TokenConfig::new(Algorithm::Sha256, 60, DisplayTimeout::S60, 0x65432100).unwrap();
    assert_eq!(
        protocol::write_config_apdu(&config),
        hex("84D4000017 81111F01020F0465432100 86060A01020D013C 37A18BF9")
    );
    assert_eq!(TokenConfig::parse_tlv(&config.tlv()), Some(config));
}

#[test]
fn config_refuses_what_tokens_cannot_do() {
    let e = TokenConfig::new(Algorithm::Sha512, 30, DisplayTimeout::S30, NOW).unwrap_err();
    assert!(e.to_string().contains("SHA-512"), "{e}");
    let e = TokenConfig::new(Algorithm::Sha1, 45, DisplayTimeout::S30, NOW).unwrap_err();
    assert!(e.to_string().contains("30 or 60"), "{e}");
    let e = DisplayTimeout::try_from(45).unwrap_err();
    assert_eq!(e, ConfigError::DisplayTimeout("45".into()));
    assert!(e.to_string().contains("15, 30, 60 or 120"), "{e}");
    assert_eq!(DisplayTimeout::try_from(120), Ok(DisplayTimeout::S120));
    // Every refusal at once, for pages that list them; none for what the token takes.
    assert_eq!(
        TokenConfig::refusals(Algorithm::Sha512, 8, 45),
        [
            ConfigError::Sha512,
            ConfigError::Digits(8),
            ConfigError::Period(45)
        ]
    );
    assert!(TokenConfig::refusals(Algorithm::Sha256, 6, 60).is_empty());
}

#[test]
fn get_info_parse() {
    let info = protocol::parse_info(&hex("000000 06 414243313233 0000 65432100")).unwrap();
    assert_eq!(info.serial, "ABC123");
    assert_eq!(info.clock, 0x65432100);
    // Declares 6 serial bytes but is cut short: refused, as is a body without its length.
    let e = protocol::parse_info(&hex("000000 06 414243313233 0000 654321")).unwrap_err();
    assert!(e.to_string().contains("too short"), "{e}");
    assert!(protocol::parse_info(&hex("000000")).is_err());
    assert!(protocol::parse_info(&hex("000000 20 4142")).is_err());
}

#[test]
fn models_by_longest_prefix() {
    assert_eq!(
        nfc::model_for_serial("8659601000042").unwrap().name,
        "miniOTP-3-i"
    );
    assert_eq!(
        nfc::model_for_serial("8659622000042").unwrap().name,
        "OTPC-P2-i"
    );
    assert!(nfc::model_for_serial("1234567890").is_none());
}

fn token(serial: &str) -> VirtualToken {
    VirtualToken::new(serial, false, fixed(NOW))
}

fn settings(algorithm: Algorithm, period: u32) -> TokenSettings {
    TokenSettings {
        algorithm,
        period,
        display_timeout: DisplayTimeout::S30,
    }
}

/// Burns `seed` and checks the token now shows exactly our codes.
fn burn_and_compare(t: &mut VirtualToken, seed: &[u8], algorithm: Algorithm, period: u32) {
    let secret = Secret::from_bytes(seed.to_vec()).unwrap();
    let outcome = nfc::burn(t, &secret, settings(algorithm, period), NOW, false).unwrap();
    assert_eq!(outcome.seed_bytes, seed.len());
    let ours = Generator::new(&secret, Params::new(algorithm, 6, period).unwrap());
    for at in [NOW, NOW + 1234, NOW + 86_400] {
        assert_eq!(
            t.code_at(at).unwrap(),
            ours.code_at(at),
            "len {}",
            seed.len()
        );
    }
}

#[test]
fn round_trips_for_every_seed_length() {
    for len in [10usize, 15, 16, 17, 20, 31, 32, 33, 47, 48, 63] {
        let seed: Vec<u8> = (0..len).map(|i| (i * 37 + 11) as u8).collect();
        let mut t = token("8659600000001");
        burn_and_compare(&mut t, &seed, Algorithm::Sha1, 30);
        assert_eq!(
            t.take_events().last(),
            Some(&Event::SeedWritten { seed_bytes: len })
        );
    }
}

#[test]
fn round_trips_for_every_algorithm_and_period() {
    for (algorithm, period) in [
        (Algorithm::Sha1, 30),
        (Algorithm::Sha1, 60),
        (Algorithm::Sha256, 30),
        (Algorithm::Sha256, 60),
    ] {
        let mut t = token("8659632000001");
        burn_and_compare(&mut t, &[0x5A; 20], algorithm, period);
        let state = t.state();
        assert_eq!((state.algorithm, state.period), (algorithm, period));
    }
}

#[test]
fn seeds_of_0_and_64_bytes_are_refused_before_touching_the_card() {
    let e = protocol::write_seed_apdu(&[]).unwrap_err();
    assert!(e.to_string().contains("empty"), "{e}");
    let mut t = token("8659600000001");
    let secret = Secret::from_bytes(vec![7; 64]).unwrap();
    let e = nfc::burn(&mut t, &secret, TokenSettings::default(), NOW, false).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::BadSeed);
    assert!(
        e.to_string().contains("64 bytes") && e.to_string().contains("63"),
        "{e}"
    );
    assert!(t.take_events().is_empty());
}

#[test]
fn the_token_clock_is_set_and_reported() {
    let mut t = token("8659600000001").with_clock_offset(-500);
    let id = nfc::identify(&mut t).unwrap();
    assert_eq!(id.info.clock as u64, NOW - 500);
    assert_eq!(id.model.unwrap().name, "miniOTP-2-i");
    let secret = Secret::from_bytes(vec![1; 20]).unwrap();
    nfc::burn(&mut t, &secret, TokenSettings::default(), NOW, false).unwrap();
    assert_eq!(t.state().clock_offset, 0);
    assert_eq!(nfc::identify(&mut t).unwrap().info.clock as u64, NOW);
}

#[test]
fn restricted_models_lose_the_seed_on_a_config_write() {
    let secret = Secret::from_bytes(vec![3; 20]).unwrap();
    // A keeper keeps its seed through a time sync.
    let mut keeper = token("8659612000001");
    nfc::burn(&mut keeper, &secret, TokenSettings::default(), NOW, false).unwrap();
    let out = nfc::sync_time(&mut keeper, TokenSettings::default(), NOW + 5, false, false).unwrap();
    assert!(!out.seed_erased);
    assert!(keeper.state().seed_present);

    // miniOTP-3-i is restricted: the burn still works (config goes first) ...
    let mut restricted = token("8659601000001");
    assert!(restricted.state().restricted);
    burn_and_compare(&mut restricted, secret.as_bytes(), Algorithm::Sha1, 30);
    // ... a time sync needs the confirmation, and then erases the seed.
    let e =
        nfc::sync_time(&mut restricted, TokenSettings::default(), NOW, false, false).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::SeedLossUnconfirmed);
    assert!(e.to_string().contains("miniOTP-3-i"), "{e}");
    assert!(restricted.state().seed_present);
    let out = nfc::sync_time(&mut restricted, TokenSettings::default(), NOW, true, false).unwrap();
    assert!(out.seed_erased);
    assert!(!restricted.state().seed_present);
    assert_eq!(restricted.code_at(NOW), None);

    // --restricted forces it on a keeper's serial.
    let mut forced = VirtualToken::new("8659600000009", true, fixed(NOW));
    nfc::burn(&mut forced, &secret, TokenSettings::default(), NOW, false).unwrap();
    nfc::sync_time(&mut forced, TokenSettings::default(), NOW, true, false).unwrap();
    assert!(!forced.state().seed_present);
}

#[test]
fn unknown_models_are_refused_unless_forced() {
    let secret = Secret::from_bytes(vec![9; 20]).unwrap();
    let mut t = token("1234567000001");
    let e = nfc::burn(&mut t, &secret, TokenSettings::default(), NOW, false).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::UnknownModel);
    assert!(e.to_string().contains("1234567000001") && e.to_string().contains("--force"));
    assert!(!t.state().seed_present);
    nfc::burn(&mut t, &secret, TokenSettings::default(), NOW, true).unwrap();
    assert!(t.state().seed_present);
}

/// Runs APDUs by hand against the virtual token, checking status words.
fn sw(reply: &[u8]) -> u16 {
    u16::from_be_bytes([reply[reply.len() - 2], reply[reply.len() - 1]])
}

fn authenticate(t: &mut VirtualToken) {
    let reply = t.process(&protocol::get_challenge_apdu());
    let challenge: [u8; 8] = reply[..8].try_into().unwrap();
    assert_eq!(
        sw(&t.process(&protocol::answer_challenge_apdu(&challenge))),
        0x9000
    );
}

#[test]
fn a_wrong_answer_spends_the_challenge() {
    let mut t = token("8659600000001");
    let reply = t.process(&protocol::get_challenge_apdu());
    assert_eq!(sw(&reply), 0x9000);
    let challenge: [u8; 8] = reply[..8].try_into().unwrap();
    let mut wrong = protocol::answer_challenge_apdu(&challenge);
    wrong[20] ^= 1;
    assert_eq!(sw(&t.process(&wrong)), 0x6983);
    // The right answer is now too late: the challenge is gone.
    assert_eq!(
        sw(&t.process(&protocol::answer_challenge_apdu(&challenge))),
        0x6983
    );
    // Writes stay refused until a new challenge is answered.
    let seed = protocol::write_seed_apdu(&[1; 20]).unwrap();
    assert_eq!(sw(&t.process(&seed)), 0x6983);
    authenticate(&mut t);
    assert_eq!(sw(&t.process(&seed)), 0x9000);
}

#[test]
fn bad_macs_lengths_and_layouts_get_their_status_words() {
    let mut t = token("8659600000001");
    authenticate(&mut t);
    let mut seed = protocol::write_seed_apdu(&[1; 20]).unwrap().to_vec();
    let last = seed.len() - 1;
    seed[last] ^= 0xFF;
    assert_eq!(sw(&t.process(&seed)), 0x6983, "bad MAC");
    let mut short = protocol::write_seed_apdu(&[1; 20]).unwrap().to_vec();
    short.pop();
    assert_eq!(sw(&t.process(&short)), 0x6700, "Lc disagrees with the data");

    // A seed sent without padding (the old tools' 16-byte mistake) fails the padding check
    // when its last byte is not 80.
    let mut body = vec![0x42u8; 16];
    body[15] = 0x01;
    let unpadded = secure_apdu_by_hand(0xC5, 0x01, &body);
    assert_eq!(sw(&t.process(&unpadded)), 0x6A80);

    // A config with another layout (a digits field, say) is 6A80.
    let config = TokenConfig::new(Algorithm::Sha1, 30, DisplayTimeout::S30, NOW).unwrap();
    let mut tlv = config.tlv().to_vec();
    tlv[16] = 0x0E;
    assert_eq!(sw(&t.process(&config_by_hand(&tlv))), 0x6A80);
    let mut tlv = config.tlv().to_vec();
    tlv[15] = 0x03; // SHA-512 is not a value the token knows
    assert_eq!(sw(&t.process(&config_by_hand(&tlv))), 0x6A80);
    assert_eq!(sw(&t.process(&config_by_hand(&config.tlv()))), 0x9000);
}

/// Encrypts `plain` without any padding and wraps it like the burner would.
fn secure_apdu_by_hand(ins: u8, p1: u8, plain: &[u8]) -> Vec<u8> {
    // ECB-encrypt by building a 16-byte-aligned seed APDU and taking its first blocks is
    // not possible without padding, so encrypt block by block through the public self-check
    // primitive under the token key.
    let mut body = Vec::new();
    for chunk in plain.chunks(16) {
        let block: [u8; 16] = chunk.try_into().unwrap();
        body.extend_from_slice(&protocol::sm4_encrypt_block(&protocol::KEY, &block));
    }
    let mac = protocol::mac(ins, p1, 0, &body);
    let mut apdu = vec![0x84, ins, p1, 0, (body.len() + 4) as u8];
    apdu.extend_from_slice(&body);
    apdu.extend_from_slice(&mac);
    apdu
}

fn config_by_hand(tlv: &[u8]) -> Vec<u8> {
    let mac = protocol::mac(0xD4, 0, 0, tlv);
    let mut apdu = vec![0x84, 0xD4, 0, 0, (tlv.len() + 4) as u8];
    apdu.extend_from_slice(tlv);
    apdu.extend_from_slice(&mac);
    apdu
}

#[test]
fn get_response_chains_are_followed() {
    let mut t = token("8659600000001").with_chained_replies();
    // By hand: the info arrives as 61xx, then on GET RESPONSE.
    let first = t.process(&protocol::get_info_apdu());
    assert_eq!(first[0], 0x61);
    let rest = t.process(&protocol::get_response_apdu(first[1]));
    assert_eq!(sw(&rest), 0x9000);
    // And the burner copes with it everywhere.
    burn_and_compare(&mut t, &[0x77; 20], Algorithm::Sha256, 60);
}

#[test]
fn other_devices_are_recognised() {
    let secret = Secret::from_bytes(vec![1; 20]).unwrap();
    let mut fido = token("x").with_behaviour(Behaviour::FidoKey);
    let e = nfc::burn(&mut fido, &secret, TokenSettings::default(), NOW, false).unwrap_err();
    assert_eq!(e, NfcError::FidoKey);
    assert!(e.to_string().contains("FIDO"));
    let mut oath = token("x").with_behaviour(Behaviour::OathApplet);
    let e = nfc::identify(&mut oath).unwrap_err();
    assert_eq!(e, NfcError::OathApplet);
    assert!(e.to_string().contains("OATH"));
}

#[test]
fn wrong_key_and_lifted_card() {
    let secret = Secret::from_bytes(vec![1; 20]).unwrap();
    let mut t = token("8659600000001").with_behaviour(Behaviour::WrongKey);
    let e = nfc::burn(&mut t, &secret, TokenSettings::default(), NOW, false).unwrap_err();
    assert_eq!((e.kind(), &e), (ErrorKind::WrongKey, &NfcError::WrongKey));
    assert!(e.to_string().contains("6983"));

    let mut t = token("8659601000001").with_behaviour(Behaviour::LiftMidWrite);
    let e = nfc::burn(&mut t, &secret, TokenSettings::default(), NOW, false).unwrap_err();
    assert_eq!(e, NfcError::HalfWritten);
    assert!(e.to_string().contains("half-written") && e.to_string().contains("burn it again"));
}

/// A card that answers from a script, to reach replies the virtual token never gives.
struct Scripted(Vec<Result<Vec<u8>, CardError>>);

impl Card for Scripted {
    fn transmit(&mut self, _apdu: &[u8]) -> Result<Vec<u8>, CardError> {
        if self.0.is_empty() {
            return Err(CardError::Removed);
        }
        self.0.remove(0)
    }
}

#[test]
fn status_words_become_messages() {
    // Not a Token2 token, and not a FIDO or OATH device either.
    let mut c = Scripted(vec![
        Ok(vec![0x6E, 0x00]),
        Ok(vec![0x6A, 0x82]),
        Ok(vec![0x6A, 0x82]),
    ]);
    let e = nfc::identify(&mut c).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotToken2);
    assert!(
        e.to_string()
            .contains("probably not a Token2 programmable token"),
        "{e}"
    );
    let mut c = Scripted(vec![
        Ok(vec![0x6D, 0x00]),
        Ok(vec![0x6D, 0x00]),
        Ok(vec![0x6D, 0x00]),
    ]);
    let e = nfc::identify(&mut c).unwrap_err();
    assert!(e.to_string().contains("6D00"), "{e}");
    // A card lifted before anything was written is not "half-written".
    let mut c = Scripted(vec![Err(CardError::Removed)]);
    let e = nfc::identify(&mut c).unwrap_err();
    assert_eq!(e, NfcError::CardRemoved);
    assert!(!e.to_string().contains("half-written"));
    // A truncated info body is refused.
    let mut c = Scripted(vec![
        Ok(hex("000000 06 4142 9000")),
        Ok(vec![0x6A, 0x82]),
        Ok(vec![0x6A, 0x82]),
    ]);
    assert_eq!(
        nfc::identify(&mut c).unwrap_err().kind(),
        ErrorKind::BadReply
    );
    // A config refused with 6A80 and a wrong length are named with their step.
    let info = hex("000000 0D 38363539363030303030303031 0000 65432100 9000");
    let secret = Secret::from_bytes(vec![1; 20]).unwrap();
    // (the status words after the card's info and challenge, the step named, the status)
    for (answers, step, status) in [
        (&["9000", "6A80"][..], "write config:", "6A80"),
        (&["9000", "9000", "6700"][..], "write seed:", "6700"),
    ] {
        let mut script = vec![Ok(info.clone()), Ok(hex("0102030405060708 9000"))];
        script.extend(answers.iter().map(|a| Ok(hex(a))));
        let e = nfc::burn(
            &mut Scripted(script),
            &secret,
            TokenSettings::default(),
            NOW,
            false,
        )
        .unwrap_err();
        assert!(
            e.to_string().starts_with(step) && e.to_string().contains(status),
            "{e}"
        );
    }
}
