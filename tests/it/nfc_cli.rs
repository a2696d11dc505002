//! The token subcommands from the outside: `burn` refusing what these tokens cannot do
//! (exit 2, before any reader is touched), and `virtual-token` playing a card for a vpcd
//! that this test plays itself, burned by our burner over that framing.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};

use totp_toolset::nfc::{self, Card, CardError, DisplayTimeout, TokenSettings};
use totp_toolset::otp::{Algorithm, Secret};

use crate::support;
use crate::support::process::Spawned;

#[test]
fn burn_refuses_what_the_tokens_cannot_do() {
    let cases: [(&[&str], &str); 6] = [
        (
            &["burn", "JBSWY3DPEHPK3PXP", "--algorithm", "sha512"],
            "SHA-512",
        ),
        (&["burn", "JBSWY3DPEHPK3PXP", "--period", "45"], "30 or 60"),
        (
            &["burn", "JBSWY3DPEHPK3PXP", "--display-timeout", "45"],
            "15, 30, 60 or 120",
        ),
        (&["burn", &"ab".repeat(64), "--hex"], "63"),
        (
            &["burn", "otpauth://totp/x?secret=JBSWY3DPEHPK3PXP&digits=8"],
            "always show 6",
        ),
        (&["burn", "not base32!"], "SECRET"),
    ];
    for (args, words) in cases {
        let o = support::run(args, None);
        let err = support::stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(words), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{err}");
    }
}

/// Our side of the vpcd framing: the card is whatever connected to us.
struct Vpcd(TcpStream);

impl Vpcd {
    fn send(&mut self, payload: &[u8]) {
        self.0
            .write_all(&(payload.len() as u16).to_be_bytes())
            .unwrap();
        self.0.write_all(payload).unwrap();
    }

    fn receive(&mut self) -> Vec<u8> {
        let mut len = [0u8; 2];
        self.0.read_exact(&mut len).unwrap();
        let mut reply = vec![0u8; u16::from_be_bytes(len) as usize];
        self.0.read_exact(&mut reply).unwrap();
        reply
    }
}

impl Card for Vpcd {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, CardError> {
        self.send(apdu);
        Ok(self.receive())
    }
}

#[test]
fn virtual_token_binary_speaks_vpcd_and_reports_its_codes() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let mut child = Spawned::start(
        &[
            "virtual-token",
            "--vpcd",
            &addr,
            "--serial",
            "8659601000007",
        ],
        &[],
    );
    let (stream, _) = listener.accept().unwrap();
    let connected: serde_json::Value = serde_json::from_str(&child.next_line()).unwrap();
    assert_eq!(connected["event"], "connected");
    let presented: serde_json::Value = serde_json::from_str(&child.next_line()).unwrap();
    assert_eq!(presented["event"], "presented");
    assert_eq!(presented["model"], "miniOTP-3-i");
    assert_eq!(presented["restricted"], true);

    let mut vpcd = Vpcd(stream);
    vpcd.send(&[0x01]); // power on: no reply
    vpcd.send(&[0x04]);
    assert_eq!(vpcd.receive(), vec![0x3B, 0x80, 0x80, 0x01, 0x01]);

    let secret = Secret::from_bytes(support::random_bytes(32)).unwrap();
    let settings = TokenSettings {
        algorithm: Algorithm::Sha256,
        period: 60,
        display_timeout: DisplayTimeout::S120,
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let outcome = nfc::burn(&mut vpcd, &secret, settings, now, false).unwrap();
    assert_eq!(outcome.token.info.serial, "8659601000007");
    let codes = totp_toolset::agent::api::CompareCodes::new(&secret, Algorithm::Sha256, 60, now);

    let configured: serde_json::Value = serde_json::from_str(&child.next_line()).unwrap();
    assert_eq!(configured["event"], "configured");
    assert_eq!(configured["display_timeout"], 120);
    let burned: serde_json::Value = serde_json::from_str(&child.next_line()).unwrap();
    assert_eq!(burned["event"], "burned");
    assert_eq!(burned["algorithm"], "SHA256");
    assert_eq!(burned["period"], 60);
    assert_eq!(burned["seed_bytes"], 32);
    let shown = burned["codes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["counter"] == codes.counter)
        .expect("the token shows our step");
    assert_eq!(shown["code"], codes.current.as_str());
    // The report carries codes, never the seed.
    let hex: String = secret.to_hex().to_string();
    assert!(!burned.to_string().contains(&hex));

    drop(vpcd); // vpcd going away ends the virtual token cleanly
    let status = child
        .wait_exit(std::time::Duration::from_secs(30))
        .expect("the virtual token exits when vpcd goes away");
    assert!(status.success());
}
