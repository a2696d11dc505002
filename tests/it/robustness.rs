//! Outside input never panics and never comes back in a message: the reproductions from the
//! outside review (issue 9 §1), and property tests with arbitrary Unicode on the parsers of
//! seed text, otpauth URIs and token rows.

use axum::http::StatusCode;
use proptest::prelude::*;

use totp_toolset::otp::{
    Algorithm, OtpAuth, Params, Secret, SeedFormat, check_label_part, parse_seed_input,
};
use totp_toolset::tokens::{RowInput, TokenSource, validate_record};

use crate::support::html::field_error;
use crate::support::router::TestApp;
use crate::support::run;

/// A valid 20-byte seed in base32: what the reproductions hide inside bad input.
const SEED: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";

/// Characters that are several bytes long in UTF-8, each of which used to panic the seed
/// parser when it straddled the 10th byte (and print the whole input in the panic).
const MULTIBYTE: [&str; 6] = [
    "\u{a0}",   // no-break space
    "😀",       // emoji (4 bytes)
    "e\u{301}", // combining acute accent
    "\u{202e}", // right-to-left override
    "＝",       // fullwidth equals sign
    "\u{3000}", // ideographic space
];

/// The seed with `insert` placed so that it covers the 10th byte.
fn straddling(insert: &str) -> String {
    format!("{}{insert}{}", &SEED[..9], &SEED[9..])
}

/// True when `message` holds any 8 characters in a row of `secret` (base32 is upper-case
/// letters and digits, which no message template spells out).
fn leaks(message: &str, secret: &str) -> bool {
    let chars: Vec<char> = secret.chars().collect();
    chars
        .windows(8)
        .any(|w| message.contains(&w.iter().collect::<String>()))
}

/// True when `message` repeats more than 64 characters in a row of `input`.
fn repeats_over_64(message: &str, input: &str) -> bool {
    let chars: Vec<char> = input.chars().collect();
    chars
        .windows(65)
        .any(|w| message.contains(&w.iter().collect::<String>()))
}

#[test]
fn cli_otp_refuses_multibyte_text_without_a_panic_or_the_seed() {
    for insert in MULTIBYTE {
        let input = straddling(insert);
        let out = run(&["otp", &input, "--at", "59"], None);
        let stderr = String::from_utf8_lossy(&out.stderr);
        // Either read as a seed with a readable separator, or refused with exit 2; never 101.
        assert!(
            matches!(out.status.code(), Some(0) | Some(2)),
            "{insert:?}: exit {:?}, stderr {stderr}",
            out.status.code()
        );
        assert!(!stderr.contains("panicked"), "{insert:?}: {stderr}");
        assert!(
            !leaks(&stderr, SEED),
            "{insert:?} leaked the seed: {stderr}"
        );
        assert!(stderr.lines().count() <= 1, "{insert:?}: {stderr}");
    }
    // The fullwidth equals sign is not a separator: a clear one-line refusal naming it.
    let out = run(&["otp", &straddling("＝"), "--at", "59"], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("invalid base32 character '＝'"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn cli_otp_refuses_a_seed_under_80_bits() {
    let out = run(&["otp", "AA"], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("only 8 bits; at least 80 bits"));
}

#[tokio::test]
async fn seed_import_of_multibyte_text_is_a_form_error_not_a_dropped_connection() {
    let mut b = TestApp::new().session().await;
    for insert in ["😀", "\u{202e}", "＝", "e\u{301}"] {
        let input = straddling(insert);
        let r = b.try_import(&input).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{insert:?}");
        let message = field_error(&r.text(), "import-seed").expect("message beside the seed");
        assert!(message.contains("invalid base32 character"), "{message}");
        assert!(!leaks(&message, SEED), "{message}");
    }
    // Same text behind an otpauth:// prefix whose 10th byte is inside a character.
    let r = b
        .post(
            "/seed/import",
            &[("seed", "otpauth:/😀/totp/x"), ("confirm_replace", "yes")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn imported_uri_labels_follow_the_label_rules_and_the_page_keeps_working() {
    let mut b = TestApp::new().session().await;
    let long_issuer = "I".repeat(2000);
    let cases = [
        (
            format!("otpauth://totp/{long_issuer}:alice?secret={SEED}&issuer={long_issuer}"),
            "at most 64",
        ),
        (
            format!("otpauth://totp/Contoso:al%00ice?secret={SEED}"),
            "control characters",
        ),
        (
            format!("otpauth://totp/Contoso:alice?secret={SEED}&issuer=Con%0Atoso"),
            "control characters",
        ),
    ];
    for (uri, expected) in &cases {
        let r = b
            .post("/seed/import", &[("seed", uri), ("confirm_replace", "yes")])
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{uri}");
        let message = field_error(&r.text(), "import-seed").expect("message");
        assert!(message.contains(expected), "{message}");
        assert!(!message.contains(&"I".repeat(65)), "echoes the issuer");
        assert!(!r.text().contains('\0'), "a raw NUL reached the page");
        // The session still renders.
        assert_eq!(b.get("/").await.status, StatusCode::OK);
    }
}

#[tokio::test]
async fn a_upn_starting_with_a_formula_character_is_refused() {
    let mut b = TestApp::new().session().await;
    for upn in ["-A1@contoso.com", "+A1@contoso.com", "=A1@contoso.com"] {
        let r = b.add_current_token_row(upn, "TK0001").await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{upn}");
        let message = field_error(&r.text(), "row-upn").unwrap_or_default();
        assert!(message.contains("formula"), "{upn}: {message}");
    }
}

/// Arbitrary text, weighted towards the characters that broke things: multi-byte, control,
/// bidi and combining characters, separators and the base32/hex alphabets.
fn nasty_text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[A-Z2-7a-f0-9 =:\\-\u{a0}\u{202e}\u{301}\u{ff1d}😀\u{0}\n]{0,60}",
        "\\PC{0,80}",
    ]
}

/// A random valid seed (10 to 40 bytes) as base32.
fn seed_base32() -> impl Strategy<Value = String> {
    prop::collection::vec(any::<u8>(), 10..40).prop_map(|b| data_encoding::BASE32_NOPAD.encode(&b))
}

/// Characters that can never be part of a base32 seed, inserted to break it.
fn junk() -> impl Strategy<Value = String> {
    "[^A-Za-z0-9]{1,4}"
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn seed_parsers_never_panic(s in nasty_text()) {
        for format in [SeedFormat::Auto, SeedFormat::Base32, SeedFormat::Hex] {
            let _ = Secret::parse(&s, format);
            let _ = parse_seed_input(&s, format);
        }
        let _ = parse_seed_input(&format!("otpauth://totp/{s}"), SeedFormat::Auto);
        let _ = OtpAuth::parse(&format!("otpauth://totp/{s}?secret={SEED}&issuer={s}"));
    }

    #[test]
    fn a_broken_seed_is_never_quoted(seed in seed_base32(), junk in junk(), at in any::<prop::sample::Index>()) {
        let chars: Vec<char> = seed.chars().collect();
        let cut = at.index(chars.len() + 1);
        let broken: String = chars[..cut].iter().chain(junk.chars().collect::<Vec<_>>().iter()).chain(chars[cut..].iter()).collect();
        for format in [SeedFormat::Auto, SeedFormat::Base32, SeedFormat::Hex] {
            if let Err(e) = parse_seed_input(&broken, format) {
                prop_assert!(!leaks(&e.to_string(), &seed), "{}", e);
            }
        }
        let uri = format!("otpauth://totp/Contoso:alice?secret={broken}&issuer=Contoso");
        if let Err(e) = OtpAuth::parse(&uri) {
            prop_assert!(!leaks(&e.to_string(), &seed), "{}", e);
        }
    }

    #[test]
    fn labels_that_pass_the_rules_round_trip_through_the_uri(issuer in nasty_text(), account in nasty_text()) {
        let secret = Secret::parse(SEED, SeedFormat::Base32).unwrap();
        let params = Params::new(Algorithm::Sha256, 8, 60).unwrap();
        match OtpAuth::new(secret, params, &issuer, &account) {
            Ok(label) => {
                prop_assert!(check_label_part("issuer", &issuer).is_ok());
                let back = OtpAuth::parse(&label.to_uri()).unwrap();
                prop_assert_eq!(back, label);
            }
            Err(e) => {
                prop_assert!(
                    check_label_part("issuer", &issuer).is_err()
                        || check_label_part("account", &account).is_err()
                );
                prop_assert!(e.to_string().chars().count() < 120);
            }
        }
    }

    #[test]
    fn row_validation_never_panics_nor_quotes_the_seed(
        upn in nasty_text(),
        serial in nasty_text(),
        interval in nasty_text(),
        maker in nasty_text(),
        seed in seed_base32(),
        junk in junk(),
        graph_only in any::<bool>(),
    ) {
        let typed = format!("{seed}{junk}");
        let current = Secret::parse(SEED, SeedFormat::Base32).unwrap();
        for secret in [typed.as_str(), seed.as_str(), ""] {
            let input = RowInput {
                upn: &upn,
                serial: &serial,
                secret,
                interval: &interval,
                manufacturer: &maker,
                model: &serial,
                graph_only,
            };
            let source = TokenSource { secret: &current, params: Params::default() };
            if let Err(errors) = validate_record(&input, Some(source), 0) {
                for e in errors {
                    prop_assert!(!leaks(&e.message, &seed), "{}", e.message);
                    prop_assert!(!leaks(&e.message, SEED), "{}", e.message);
                    for typed in [&upn, &serial, &interval, &maker] {
                        prop_assert!(!repeats_over_64(&e.message, typed), "{}", e.message);
                    }
                }
            }
        }
    }
}
