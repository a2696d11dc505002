//! Every reader, fed arbitrary text and bytes, never panics; and no refusal, note or error
//! ever repeats a seed, even when the seed sits on a line that is refused.

use proptest::prelude::*;
use totp_toolset::otp::Secret;
use totp_toolset::tokens::formats::{self, Format, Import, Keys, ReadOptions};
use totp_toolset::tokens::{Batch, FileError};
use zeroize::Zeroizing;

const FORMATS: [Option<Format>; 6] = [
    None,
    Some(Format::VendorCsv),
    Some(Format::Pskc),
    Some(Format::PrivacyIdea),
    Some(Format::OtpauthList),
    Some(Format::GraphJson),
];

fn options() -> ReadOptions {
    ReadOptions {
        keys: Keys {
            psk: Some(Zeroizing::new(vec![1; 16])),
            password: Some(Zeroizing::new("pw".into())),
        },
        ..ReadOptions::default()
    }
}

fn messages(result: &Result<Import, FileError>) -> Vec<String> {
    match result {
        Err(e) => vec![e.0.clone()],
        Ok(i) => i
            .refused
            .iter()
            .map(|r| r.reason.clone())
            .chain(i.notes.iter().cloned())
            .collect(),
    }
}

fn read_everything(bytes: &[u8]) {
    for f in FORMATS {
        let result = formats::read(bytes, f, &options());
        for m in messages(&result) {
            assert!(m.chars().count() < 400, "{m}");
        }
    }
    if let Ok(text) = std::str::from_utf8(bytes) {
        let mut b = Batch::default();
        let _ = b.assign(text);
    }
}

/// A line in the shape of each format, carrying `seed` but broken by `junk`.
fn broken_lines(hex: &str, b32: &str, junk: &str) -> Vec<String> {
    vec![
        format!("serial,secret,time interval,upn\n{junk},{hex},45,x{junk}\n"),
        format!("serial;secret key\n1;{b32}{junk}\n"),
        format!("serial,secret\n1,{hex}{junk}\n"),
        format!("sn1, {hex}{junk}, totp, 6, 30\n"),
        format!("sn1, {hex}, hotp{junk}, 6\n"),
        // Columns that slipped: the seed where the type, digits or timestep should be.
        format!("sn1,{junk}, {hex}, 6, 30\n"),
        format!("sn1, 3132333435363738393031, totp, {hex}{junk}, 30\n"),
        format!("sn1, 3132333435363738393031, totp, 6, {hex}{junk}\n"),
        format!("otpauth://totp/a:b?secret={b32}{junk}&digits=7\n"),
        format!("otpauth://hotp/a:b?secret={b32}\n"),
        format!(
            "{{\"value\":[{{\"serialNumber\":\"{junk}\",\"secretKey\":\"{b32}{junk}\",\"hashFunction\":\"md5\"}}]}}"
        ),
        format!(
            "<KeyContainer xmlns=\"urn:ietf:params:xml:ns:keyprov:pskc\"><KeyPackage><Key Algorithm=\"x{junk}\"><Data><Secret><PlainValue>{b32}</PlainValue></Secret></Data></Key></KeyPackage></KeyContainer>"
        ),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC*") {
        read_everything(text.as_bytes());
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        read_everything(&bytes);
    }

    #[test]
    fn csv_like_text_never_panics(
        rows in proptest::collection::vec(
            proptest::collection::vec("[ -~äé\u{feff}\"]{0,12}", 0..8),
            0..6
        ),
        semicolon in any::<bool>(),
        crlf in any::<bool>(),
    ) {
        let sep = if semicolon { ";" } else { "," };
        let end = if crlf { "\r\n" } else { "\n" };
        let mut text = format!("upn{sep}serial number{sep}secret key{sep}time interval{sep}manufacturer{sep}model{end}");
        for r in rows {
            text.push_str(&r.join(sep));
            text.push_str(end);
        }
        read_everything(text.as_bytes());
    }

    #[test]
    fn no_message_contains_the_seed(
        seed in proptest::collection::vec(any::<u8>(), 10..40),
        junk in "[^\r\n]{0,6}",
    ) {
        let secret = Secret::from_bytes(seed).unwrap();
        let hex = secret.to_hex().to_string();
        let b32 = secret.to_base32().to_string();
        for text in broken_lines(&hex, &b32, &junk) {
            for f in FORMATS {
                for m in messages(&formats::read(text.as_bytes(), f, &options())) {
                    prop_assert!(!m.contains(&hex), "{m}");
                    prop_assert!(!m.contains(&b32), "{m}");
                    prop_assert!(!m.to_ascii_lowercase().contains(&hex), "{m}");
                }
            }
        }
    }
}
