//! Seed parsing: what admins paste, the auto-detection rule, and the exact error messages.

use totp_toolset::otp::{Secret, SeedError, SeedFormat, parse_seed_input};

fn err(input: &str, format: SeedFormat) -> String {
    Secret::parse(input, format).unwrap_err().to_string()
}

#[test]
fn base32_tolerates_case_spaces_dashes_and_padding() {
    let want = Secret::parse("JBSWY3DPEHPK3PXP", SeedFormat::Base32).unwrap();
    for input in [
        "jbswy3dpehpk3pxp",
        "JBSW Y3DP EHPK 3PXP",
        "jbsw-y3dp-ehpk-3pxp",
        "  JBSWY3DPEHPK3PXP\n",
        "JBSWY3DPEHPK3PXP======",
    ] {
        assert_eq!(
            Secret::parse(input, SeedFormat::Auto).unwrap(),
            want,
            "{input:?}"
        );
    }
}

#[test]
fn base32_error_names_character_and_position() {
    assert_eq!(
        err("JBSW8Y3DP", SeedFormat::Base32),
        "invalid base32 character '8' at position 5 (base32 uses only A-Z and 2-7; is this a hex seed?)"
    );
    assert!(
        err("JBSW!Y3DP", SeedFormat::Auto)
            .starts_with("invalid base32 character '!' at position 5")
    );
    // Positions count the input as typed, spaces included.
    assert!(
        err("JBSW Y3D1", SeedFormat::Base32)
            .starts_with("invalid base32 character '1' at position 9")
    );
    assert!(err("JBSW=Y3DP", SeedFormat::Base32).contains("'=' padding may only come at the end"));
}

#[test]
fn empty_inputs() {
    for input in ["", "   ", " - - ", "===="] {
        let e = Secret::parse(input, SeedFormat::Auto).unwrap_err();
        assert_eq!(e.to_string(), "seed is empty", "{input:?}");
    }
    assert_eq!(err("", SeedFormat::Hex), "seed is empty");
}

#[test]
fn hex_errors() {
    assert_eq!(
        err("0a1b2", SeedFormat::Auto),
        "odd number of hex digits (5); each byte is two hex digits"
    );
    assert_eq!(
        err("0a1g", SeedFormat::Hex),
        "invalid hex digit 'g' at position 4"
    );
    assert_eq!(
        err("0x0a1g", SeedFormat::Hex),
        "invalid hex digit 'g' at position 6"
    );
}

#[test]
fn base32_length_that_no_bytes_make() {
    // 1, 3 or 6 characters past a multiple of 8 cannot come from whole bytes.
    assert!(matches!(
        Secret::parse("JBSWY3DPE", SeedFormat::Base32),
        Err(SeedError::Base32Length { chars: 9 })
    ));
}

#[test]
fn size_limits() {
    // Under 80 bits is refused (a truncated paste, and guessable); 80 bits is the floor.
    assert_eq!(
        Secret::from_bytes(vec![1]).unwrap_err().to_string(),
        "seed is only 8 bits; at least 80 bits (10 bytes: 16 base32 characters or 20 hex digits) are needed (check for a truncated paste)"
    );
    assert!(matches!(
        Secret::parse("AA", SeedFormat::Auto),
        Err(SeedError::TooShort { bytes: 1 })
    ));
    assert!(Secret::from_bytes(vec![1; 9]).is_err());
    assert_eq!(Secret::from_bytes(vec![1; 10]).unwrap().len(), 10);
    assert_eq!(Secret::from_bytes(vec![1; 80]).unwrap().len(), 80);
    assert_eq!(
        Secret::from_bytes(vec![1; 81]).unwrap_err().to_string(),
        "seed is 81 bytes; at most 80 bytes (128 base32 characters) are allowed"
    );
    let b32 = "A".repeat(128);
    assert_eq!(Secret::parse(&b32, SeedFormat::Base32).unwrap().len(), 80);
    assert!(Secret::parse(&"A".repeat(136), SeedFormat::Base32).is_err());
    // 80-bit seeds are common on real tokens: a warning, never an error.
    let s = Secret::parse("JBSWY3DPEHPK3PXP", SeedFormat::Auto).unwrap();
    assert!(s.is_weak());
    assert_eq!(s.bits(), 80);
}

#[test]
fn auto_detection_rule_and_explicit_choice() {
    // Only hex digits, with a digit base32 never uses: hex.
    assert_eq!(
        Secret::parse("0a1b 0a1b 0a1b 0a1b 0a1b", SeedFormat::Auto)
            .unwrap()
            .as_bytes(),
        &[0x0a, 0x1b, 0x0a, 0x1b, 0x0a, 0x1b, 0x0a, 0x1b, 0x0a, 0x1b]
    );
    assert_eq!(
        Secret::parse("0xABCDABCDABCDABCDABCD", SeedFormat::Auto)
            .unwrap()
            .as_bytes(),
        &[0xab, 0xcd, 0xab, 0xcd, 0xab, 0xcd, 0xab, 0xcd, 0xab, 0xcd]
    );
    // Hex digits that are also base32 (A-F, 2-7): base32 wins.
    let ambiguous = "ABCDEF23ABCDEF234567";
    assert_eq!(
        Secret::parse(ambiguous, SeedFormat::Auto).unwrap().len(),
        12
    );
    // The explicit choice always wins.
    assert_eq!(
        Secret::parse(ambiguous, SeedFormat::Hex)
            .unwrap()
            .as_bytes(),
        &[0xab, 0xcd, 0xef, 0x23, 0xab, 0xcd, 0xef, 0x23, 0x45, 0x67]
    );
    assert!(Secret::parse("0a1b", SeedFormat::Base32).is_err());
}

#[test]
fn generated_seeds_are_random_and_sized() {
    for len in [10, 20, 32, 64] {
        let a = Secret::generate(len).unwrap();
        let b = Secret::generate(len).unwrap();
        assert_eq!(a.len(), len);
        assert_ne!(a, b, "two fresh seeds must differ");
    }
    assert_eq!(
        Secret::generate(11).unwrap_err().to_string(),
        "seed size must be one of 10, 20, 32 or 64 bytes, not 11"
    );
}

#[test]
fn encodings() {
    let s = Secret::from_bytes(vec![
        0x48, 0x65, 0x6C, 0x6C, 0x6F, 0x21, 0xDE, 0xAD, 0xBE, 0xEF,
    ])
    .unwrap();
    assert_eq!(s.to_base32().as_str(), "JBSWY3DPEHPK3PXP");
    assert_eq!(s.to_base32_grouped().as_str(), "JBSW Y3DP EHPK 3PXP");
    assert_eq!(s.to_hex().as_str(), "48656c6c6f21deadbeef");
    // Unpadded even when the length is not a multiple of 5 bytes.
    let s = Secret::from_bytes(vec![0xff; 16]).unwrap();
    assert!(!s.to_base32().contains('='));
    assert_eq!(format!("{s:?}"), "[redacted]");
}

#[test]
fn uri_input_carries_parameters() {
    let p = parse_seed_input(
        "otpauth://totp/ACME:bob?secret=JBSWY3DPEHPK3PXP&algorithm=SHA256&digits=8&period=60",
        SeedFormat::Auto,
    )
    .unwrap();
    let uri = p.uri.unwrap();
    assert_eq!(uri.params.digits(), 8);
    assert_eq!(uri.params.period(), 60);
    assert_eq!(p.secret.to_base32().as_str(), "JBSWY3DPEHPK3PXP");
}
