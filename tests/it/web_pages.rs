//! The seed and codes pages through the router: every form, good and bad input, the QR
//! code decoded by a real decoder, and the JSON the page's script reads.

use crate::support::tools::decode_page_qr;

use axum::http::StatusCode;
use totp_toolset::otp::{Drift, Generator, Params, Secret, SeedFormat};

use crate::support::html::{element_text, input_value, unescape};
use crate::support::router::{
    RFC_SEED, RFC_SEED_HEX, T0, TestApp, generate_fields, import_fields, with_field,
};

#[tokio::test]
async fn first_visit_gets_a_fresh_random_seed() {
    let server = TestApp::new();
    let mut a = server.browser();
    let mut b = server.browser();
    let page_a = a.get("/").await;
    let page_b = b.get("/").await;
    assert_eq!(page_a.status, StatusCode::OK);
    let hex_a = element_text(&page_a.text(), "seed-hex").unwrap();
    let hex_b = element_text(&page_b.text(), "seed-hex").unwrap();
    assert_eq!(hex_a.len(), 40, "160-bit seed by default");
    assert_ne!(hex_a, hex_b, "each session draws its own seed");
    // Never the well-known demo seed.
    assert!(!page_a.text().contains("JBSW Y3DP EHPK 3PXP"));
    // The same seed on reload: it lives in the session.
    let again = a.get("/").await;
    assert_eq!(element_text(&again.text(), "seed-hex").unwrap(), hex_a);
}

#[tokio::test]
async fn seed_page_shows_every_encoding_of_an_imported_seed() {
    let mut b = TestApp::new().session().await;
    let r = b.import(RFC_SEED).await;
    assert_eq!(r.location().as_deref(), Some("/"));
    let html = b.get("/").await.text();
    assert_eq!(
        element_text(&html, "seed-base32").unwrap(),
        "GEZD GNBV GY3T QOJQ GEZD GNBV GY3T QOJQ"
    );
    assert_eq!(element_text(&html, "seed-hex").unwrap(), RFC_SEED_HEX);
    assert!(html.contains("160 bits"));
    assert!(!html.contains("id=\"weak-seed\""));
    assert!(html.contains("Imported a 160-bit seed"));

    // Hex import of an 80-bit seed: same bytes, and the weak-seed warning.
    b.import("48656c6c6f21deadbeef").await;
    let html = b.get("/").await.text();
    assert_eq!(
        element_text(&html, "seed-base32").unwrap(),
        "JBSW Y3DP EHPK 3PXP"
    );
    assert!(html.contains("80 bits"));
    assert!(html.contains("id=\"weak-seed\""));
}

#[tokio::test]
async fn import_of_a_uri_takes_its_parameters_and_label() {
    let mut b = TestApp::new().session().await;
    b.import(&format!(
        "otpauth://totp/Contoso:alice%40contoso.com?secret={RFC_SEED}&issuer=Contoso&algorithm=SHA256&digits=8&period=60"
    ))
    .await;
    let html = b.get("/").await.text();
    assert!(html.contains("SHA-256, 8 digits, every 60 seconds"));
    assert_eq!(input_value(&html, "label-issuer").unwrap(), "Contoso");
    assert_eq!(
        input_value(&html, "label-account").unwrap(),
        "alice@contoso.com"
    );
    assert_eq!(
        element_text(&html, "otpauth-uri").unwrap(),
        format!(
            "otpauth://totp/Contoso:alice%40contoso.com?secret={RFC_SEED}&issuer=Contoso&algorithm=SHA256&digits=8&period=60"
        )
    );
    // Phone apps may ignore non-default parameters: the page says so.
    assert!(html.contains("some phone apps ignore those settings"));
}

#[tokio::test]
async fn import_errors_sit_beside_their_field_and_keep_the_input() {
    let server = TestApp::new();
    let mut b = server.browser();
    let before = element_text(&b.get("/").await.text(), "seed-hex").unwrap();
    let good = import_fields(RFC_SEED);
    let answers = b
        .post_each_bad_field("/seed/import", &good, "import", &BAD_IMPORTS)
        .await;
    for refused in answers {
        let seed = if refused.field == "seed" {
            refused.value
        } else {
            RFC_SEED
        };
        assert!(
            unescape(&refused.answer.text()).contains(&format!(">{seed}</textarea>")),
            "{}={:?}: the pasted seed stays in the form",
            refused.field,
            refused.value
        );
    }
    // Nothing replaced the current token.
    assert_eq!(
        element_text(&b.get("/").await.text(), "seed-hex").unwrap(),
        before
    );
}

#[tokio::test]
async fn generate_asks_before_replacing_a_seed_not_in_the_csv() {
    let server = TestApp::new();
    let mut b = server.browser();
    let before = element_text(&b.get("/").await.text(), "seed-hex").unwrap();
    let form = [
        ("size", "32"),
        ("algorithm", "sha256"),
        ("digits", "8"),
        ("period", "60"),
    ];
    let r = b.post("/seed", &form).await;
    r.assert_refused_field(
        StatusCode::CONFLICT,
        "gen-confirm",
        "not in the batch",
        "unconfirmed",
    );
    let html = r.text();
    assert_eq!(element_text(&html, "seed-hex").unwrap(), before);
    // The choices stay selected for the second submit.
    assert!(html.contains("<option value=\"32\" selected>"));
    assert!(html.contains("<option value=\"sha256\" selected>"));

    let mut confirmed = form.to_vec();
    confirmed.push(("confirm_replace", "yes"));
    let r = b.post("/seed", &confirmed).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.location().as_deref(), Some("/"));
    let html = b.get("/").await.text();
    let after = element_text(&html, "seed-hex").unwrap();
    assert_eq!(after.len(), 64, "32 bytes");
    assert_ne!(after, before);
    assert!(html.contains("SHA-256, 8 digits, every 60 seconds"));
    assert!(html.contains("New 256-bit seed generated"));

    // Once the current seed is in the batch, no confirmation is needed.
    b.import(RFC_SEED).await;
    let r = b.add_current_token_row("alice@contoso.com", "1").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let html = b.get("/").await.text();
    assert!(!html.contains("id=\"gen-confirm\""));
    let r = b.post("/seed", &form).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "unconfirmed: {}", r.text());
}

#[tokio::test]
async fn generate_rejects_each_bad_field() {
    let mut b = TestApp::new().session().await;
    let good = generate_fields("20", "sha1", "6", "30");
    b.post_each_bad_field(
        "/seed",
        &good,
        "gen",
        &[
            ("size", "11", "10, 20, 32 or 64"),
            ("size", "", "10, 20, 32 or 64"),
            ("algorithm", "md5", "not supported"),
            ("digits", "7", "6 or 8"),
            ("period", "0", "1 to 3600"),
            ("period", "abc", "1 to 3600"),
        ],
    )
    .await;
    // The bad period is shown back as typed.
    let r = b.post("/seed", &with_field(&good, "period", "abc")).await;
    assert_eq!(input_value(&r.text(), "gen-period").unwrap(), "abc");
}

#[tokio::test]
async fn label_is_editable_and_checked() {
    let mut b = TestApp::new().session_with(RFC_SEED).await;
    let r = b.label("Contoso IT", "bob@contoso.com").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let html = b.get("/").await.text();
    assert_eq!(
        element_text(&html, "otpauth-uri").unwrap(),
        format!(
            "otpauth://totp/Contoso%20IT:bob%40contoso.com?secret={RFC_SEED}&issuer=Contoso%20IT&algorithm=SHA1&digits=6&period=30"
        )
    );
    assert!(
        html.contains("Contoso IT: bob@contoso.com"),
        "summary shows the label"
    );

    let r = b.label("Con:toso", "bob").await;
    r.assert_field_error("label-issuer", "may not contain ':'");
    assert_eq!(input_value(&r.text(), "label-issuer").unwrap(), "Con:toso");
    let long = "x".repeat(65);
    let r = b.label("ok", &long).await;
    r.assert_field_error("label-account", "at most 64");
}

#[tokio::test]
async fn qr_code_decodes_to_the_exact_uri() {
    let server = TestApp::new();
    let mut b = server.session_with(RFC_SEED).await;
    b.label("Contoso", "alice@contoso.com").await;
    let html = b.get("/").await.text();
    let expected = format!(
        "otpauth://totp/Contoso:alice%40contoso.com?secret={RFC_SEED}&issuer=Contoso&algorithm=SHA1&digits=6&period=30"
    );
    assert_eq!(decode_page_qr(&html), expected);
    assert_eq!(element_text(&html, "otpauth-uri").unwrap(), expected);

    // A freshly generated seed too: the QR code carries the seed the page shows.
    let mut fresh = server.browser();
    let html = fresh.get("/").await.text();
    let base32: String = element_text(&html, "seed-base32")
        .unwrap()
        .split_whitespace()
        .collect();
    assert_eq!(
        decode_page_qr(&html),
        format!(
            "otpauth://totp/totp-toolset:token?secret={base32}&issuer=totp-toolset&algorithm=SHA1&digits=6&period=30"
        )
    );
}

fn rfc_generator() -> Generator {
    Generator::new(
        &Secret::parse(RFC_SEED, SeedFormat::Base32).unwrap(),
        Params::default(),
    )
}

#[tokio::test]
async fn otp_page_shows_code_countdown_window_and_seed_data() {
    // Sessions expire when the clock jumps, so each time gets its own browser.
    let server = TestApp::new();
    server.set_time(59);
    let mut b = server.session_with(RFC_SEED).await;

    // RFC 6238 at 59 s: 94287082, so the 6-digit code is 287082, 1 s before it changes.
    let html = b.get("/otp").await.text();
    assert_eq!(element_text(&html, "live-code").unwrap(), "287082");
    assert_eq!(element_text(&html, "live-remaining").unwrap(), "1");
    assert!(html.contains("data-remaining=\"1\""));
    // One second of thirty left: the ring is 97% used up (whole percent, rounded down).
    assert!(html.contains("stroke-dashoffset=\"97\""));
    assert!(html.contains("Changes in <span id=\"live-remaining\">1</span> s"));
    // Seed data: counter 1 as 8 big-endian bytes, and four HMAC bytes marked.
    assert!(html.contains("<code>00 00 00 00 00 00 00 01</code>"));
    let anatomy = rfc_generator().anatomy(59);
    let o = anatomy.truncation_offset * 2;
    let marked: Vec<String> = anatomy.hmac_hex.as_bytes()[o..o + 8]
        .chunks(2)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect();
    assert!(html.contains(&format!("<mark>{}</mark>", marked.join(" "))));

    // The window: ±4 by default, offsets in seconds, UTC start times, current row marked.
    server.set_time(T0);
    let mut b = server.session_with(RFC_SEED).await;
    let html = b.get("/otp").await.text();
    let generator = rfc_generator();
    let window = generator.window(T0, 4);
    assert_eq!(window.rows.len(), 9);
    for row in &window.rows {
        assert!(
            html.contains(&format!("<td><code>{}</code></td>", row.code)),
            "{} missing",
            row.code
        );
    }
    assert!(html.contains("<td>-4</td><td>-120</td><td>2005-03-18 01:56:30</td>"));
    assert!(html.contains(
        "<tr class=\"now\" aria-current=\"true\"><td>0</td><td>0</td><td>2005-03-18 01:58:30</td>"
    ));
    assert!(html.contains("<td>+4</td><td>+120</td>"));
    // RFC 6238 at 1111111111: 14050471.
    assert_eq!(element_text(&html, "live-code").unwrap(), "050471");

    let html = b.get("/otp?skew=1").await.text();
    assert_eq!(html.matches("<td><code>").count(), 3);
    let html = b.get("/otp?skew=0").await.text();
    assert_eq!(html.matches("<td><code>").count(), 1);
    for bad in ["21", "-1", "abc"] {
        let r = b.get(&format!("/otp?skew={bad}")).await;
        let what = format!("skew={bad}");
        r.assert_refused_field(StatusCode::UNPROCESSABLE_ENTITY, "skew", "0 to 20", &what);
        assert_eq!(input_value(&r.text(), "skew").unwrap(), bad);
    }
}

#[tokio::test]
async fn api_otp_returns_codes_as_strings() {
    let server = TestApp::new();
    // RFC 6238 at 1111111109: 07081804, so the 6-digit code has a leading zero.
    server.set_time(1_111_111_109);
    let mut b = server.session_with(RFC_SEED).await;
    let r = b.get("/api/otp").await;
    assert_eq!(r.status, StatusCode::OK);
    let v = r.json();
    assert_eq!(v["code"], "081804");
    assert_eq!(v["next_code"], rfc_generator().code_at(1_111_111_109 + 30));
    assert_eq!(v["seconds_remaining"], 1);
    assert_eq!(v["period"], 30);
    assert_eq!(v["digits"], 6);
    assert_eq!(v["now"], 1_111_111_109u64);
}

#[tokio::test]
async fn drift_finder_gives_offset_and_entra_verdict() {
    let mut b = TestApp::new().session_with(RFC_SEED).await;
    let g = rfc_generator();

    // A token 7 steps ahead, given with its next code: found, and past 60 s.
    let code = g.code_at(T0 + 7 * 30);
    let next = g.code_at(T0 + 8 * 30);
    let r = b
        .post(
            "/otp/drift",
            &[("code", &code), ("next_code", &next), ("skew", "4")],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let html = r.text();
    assert!(
        html.contains("+7 steps (+210 s): token clock is ahead"),
        "{html}"
    );
    assert!(html.contains("inside the roughly 450 seconds Azure MFA tolerates"));
    assert_eq!(input_value(&html, "drift-code").unwrap(), code);

    // One step behind, code typed with a space as tokens show it.
    let code = g.code_at(T0 - 30);
    let spaced = format!("{} {}", &code[..3], &code[3..]);
    let next = g.code_at(T0);
    let html = b
        .post("/otp/drift", &[("code", &spaced), ("next_code", &next)])
        .await
        .text();
    assert!(html.contains("-1 step (-30 s): token clock is behind"));
    assert!(
        html.contains("Fine: within Entra&#39;s sign-in tolerance")
            || html.contains("Fine: within Entra's sign-in tolerance")
    );

    // 20 minutes behind: only the activation tolerance absorbs it.
    let code = g.code_at(T0 - 40 * 30);
    let next = g.code_at(T0 - 39 * 30);
    let html = b
        .post("/otp/drift", &[("code", &code), ("next_code", &next)])
        .await
        .text();
    assert!(html.contains("-40 steps (-1200 s)"));
    assert!(html.contains("Too far off for sign-in"));

    // A pair that occurs nowhere within two days (checked with the engine first).
    let max = 2 * totp_toolset::otp::default_drift_steps(30);
    assert!(matches!(
        g.find_drift(T0, "000000", Some("000000"), max),
        Drift::NotFound { .. }
    ));
    let html = b
        .post("/otp/drift", &[("code", "000000"), ("next_code", "000000")])
        .await
        .text();
    assert!(html.contains("Not found within ±5760 steps (±172800 s)"));

    // Bad codes: 422 with the message beside the field, input kept.
    for (fields, id, needle) in [
        (
            vec![("code", "12ab56")],
            "drift-code",
            "Code must be 6 digits",
        ),
        (vec![("code", "")], "drift-code", "Code must be 6 digits"),
        (
            vec![("code", "1234567")],
            "drift-code",
            "Code must be 6 digits",
        ),
        (
            vec![("code", "123456"), ("next_code", "12")],
            "drift-next",
            "Next code must be 6 digits",
        ),
    ] {
        let r = b.post("/otp/drift", &fields).await;
        let what = format!("{fields:?}");
        r.assert_refused_field(StatusCode::UNPROCESSABLE_ENTITY, id, needle, &what);
        assert_eq!(input_value(&r.text(), "drift-code").unwrap(), fields[0].1);
    }
}

/// Import forms refused: (field, bad value, words of its message).
const BAD_IMPORTS: [(&str, &str, &str); 9] = [
    (
        "seed",
        "JBSWY3DPEHPK3PX1",
        "invalid base32 character '1' at position 16",
    ),
    ("seed", "", "seed is empty"),
    ("seed", "0x12345", "odd number of hex digits"),
    ("seed", "otpauth://hotp/x?secret=JBSWY3DPEHPK3PXP", "hotp"),
    ("seed", "otpauth://totp/x?issuer=y", "no secret="),
    ("format", "rot13", "choose detect, base32 or hex"),
    ("digits", "7", "digits must be 6 or 8"),
    ("period", "0", "period must be"),
    ("algorithm", "md5", "not supported"),
];
