//! Every RFC 4226 and RFC 6238 test vector from shared/reference/formats.md, through the
//! library and through the command line.

use totp_toolset::otp::{Algorithm, Generator, Params, Secret};

use crate::support;

const RFC4226: [&str; 10] = [
    "755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871",
    "520489",
];

const SHA1_SEED: &[u8] = b"12345678901234567890";
const SHA256_SEED: &[u8] = b"12345678901234567890123456789012";
const SHA512_SEED: &[u8] = b"1234567890123456789012345678901234567890123456789012345678901234";

/// (time, SHA-1, SHA-256, SHA-512), 8 digits, 30 s.
const RFC6238: [(u64, &str, &str, &str); 6] = [
    (59, "94287082", "46119246", "90693936"),
    (1111111109, "07081804", "68084774", "25091201"),
    (1111111111, "14050471", "67062674", "99943326"),
    (1234567890, "89005924", "91819424", "93441116"),
    (2000000000, "69279037", "90698825", "38618901"),
    (20000000000, "65353130", "77737706", "47863826"),
];

fn seed_for(alg: Algorithm) -> &'static [u8] {
    match alg {
        Algorithm::Sha1 => SHA1_SEED,
        Algorithm::Sha256 => SHA256_SEED,
        Algorithm::Sha512 => SHA512_SEED,
    }
}

#[test]
fn rfc4226_hotp_counters() {
    let secret = Secret::from_bytes(SHA1_SEED.to_vec()).unwrap();
    let generator = Generator::new(&secret, Params::default());
    for (counter, expected) in RFC4226.iter().enumerate() {
        assert_eq!(
            generator.code_for_counter(counter as u64),
            *expected,
            "counter {counter}"
        );
    }
}

#[test]
fn rfc6238_table_library() {
    for (time, sha1, sha256, sha512) in RFC6238 {
        for (alg, expected) in [
            (Algorithm::Sha1, sha1),
            (Algorithm::Sha256, sha256),
            (Algorithm::Sha512, sha512),
        ] {
            let secret = Secret::from_bytes(seed_for(alg).to_vec()).unwrap();
            let generator = Generator::new(&secret, Params::new(alg, 8, 30).unwrap());
            assert_eq!(generator.code_at(time), expected, "{alg} at {time}");
        }
    }
}

#[test]
fn rfc6238_table_command_line() {
    for (time, sha1, sha256, sha512) in RFC6238 {
        for (alg, expected) in [("sha1", sha1), ("sha256", sha256), ("sha512", sha512)] {
            let seed = match alg {
                "sha1" => SHA1_SEED,
                "sha256" => SHA256_SEED,
                _ => SHA512_SEED,
            };
            let b32 = data_encoding::BASE32_NOPAD.encode(seed);
            let at = time.to_string();
            let out = support::run(
                &[
                    "otp",
                    &b32,
                    "--at",
                    &at,
                    "--digits",
                    "8",
                    "--algorithm",
                    alg,
                ],
                None,
            );
            assert!(out.status.success(), "{}", support::stderr(&out));
            assert_eq!(
                support::stdout(&out),
                format!("{expected}\n"),
                "{alg} at {time}"
            );
        }
    }
}

#[test]
fn the_issue_example() {
    let out = support::run(
        &[
            "otp",
            "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ",
            "--at",
            "59",
            "--digits",
            "8",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(support::stdout(&out), "94287082\n");
}

#[test]
fn hex_seed_gives_the_same_codes() {
    let hex = data_encoding::HEXLOWER.encode(SHA1_SEED);
    let out = support::run(&["otp", &hex, "--at", "59", "--digits", "8"], None);
    assert_eq!(support::stdout(&out), "94287082\n");
}

#[test]
fn demo_seed_decodes_to_hello_deadbeef() {
    let s = Secret::parse("JBSWY3DPEHPK3PXP", Default::default()).unwrap();
    assert_eq!(
        s.as_bytes(),
        &[0x48, 0x65, 0x6C, 0x6C, 0x6F, 0x21, 0xDE, 0xAD, 0xBE, 0xEF]
    );
}
