//! otpauth URIs: what we build, and that every awkward label survives a round trip.

use totp_toolset::otp::{Algorithm, OtpAuth, Params, Secret, UriError};

fn secret() -> Secret {
    Secret::parse("JBSWY3DPEHPK3PXP", Default::default()).unwrap()
}

#[test]
fn builds_the_complete_uri() {
    let u = OtpAuth::new(secret(), Params::default(), "Contoso", "alice@contoso.com").unwrap();
    assert_eq!(
        u.to_uri().as_str(),
        "otpauth://totp/Contoso:alice%40contoso.com?secret=JBSWY3DPEHPK3PXP&issuer=Contoso&algorithm=SHA1&digits=6&period=30"
    );
    let u = OtpAuth::new(
        secret(),
        Params::new(Algorithm::Sha256, 8, 60).unwrap(),
        "",
        "bob",
    )
    .unwrap();
    assert_eq!(
        u.to_uri().as_str(),
        "otpauth://totp/bob?secret=JBSWY3DPEHPK3PXP&algorithm=SHA256&digits=8&period=60"
    );
}

#[test]
fn no_padding_in_secret() {
    let s = Secret::from_bytes(vec![7; 16]).unwrap();
    let u = OtpAuth::new(s, Params::default(), "X", "y").unwrap();
    let uri = u.to_uri();
    let secret_param = uri
        .split("secret=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap();
    assert_eq!(secret_param.len(), 26);
    assert!(!secret_param.contains('='));
}

#[test]
fn awkward_labels_round_trip() {
    let labels = [
        ("Contoso Ltd", "alice@contoso.com"),
        ("A&B Co", "x?y#z"),
        ("Zürich Bank", "jürgen müller"),
        ("100% Secure", "a+b=c/d"),
        ("", "only-account"),
        ("Issuer", ""),
        ("日本", "ユーザー"),
    ];
    for (issuer, account) in labels {
        for params in [
            Params::default(),
            Params::new(Algorithm::Sha512, 8, 45).unwrap(),
        ] {
            let built = OtpAuth::new(secret(), params, issuer, account).unwrap();
            let uri = built.to_uri();
            assert!(!uri.contains(' '), "{}", uri.as_str());
            let back = OtpAuth::parse(&uri).unwrap();
            assert_eq!(back, built, "{issuer:?} / {account:?}");
        }
    }
}

#[test]
fn colons_are_refused() {
    assert_eq!(
        OtpAuth::new(secret(), Params::default(), "a:b", "c").unwrap_err(),
        UriError::Colon { field: "issuer" }
    );
    assert_eq!(
        OtpAuth::new(secret(), Params::default(), "a", "c:d").unwrap_err(),
        UriError::Colon { field: "account" }
    );
}

#[test]
fn parses_what_others_write() {
    // Encoded colon, lowercase algorithm, default parameters, padding in the secret.
    let u = OtpAuth::parse(
        "otpauth://totp/ACME%3Ajohn.doe?secret=jbswy3dpehpk3pxp====&issuer=ACME&algorithm=sha256",
    )
    .unwrap();
    assert_eq!(u.issuer, "ACME");
    assert_eq!(u.account, "john.doe");
    assert_eq!(u.params.algorithm(), Algorithm::Sha256);
    assert_eq!(u.params.digits(), 6);
    assert_eq!(u.params.period(), 30);
    // Issuer only as a parameter.
    let u = OtpAuth::parse("otpauth://totp/john?secret=JBSWY3DPEHPK3PXP&issuer=Big+Corp").unwrap();
    assert_eq!(u.issuer, "Big Corp");
    assert_eq!(u.account, "john");
}

#[test]
fn bad_uris_say_what_is_wrong() {
    let cases = [
        (
            "https://example.com",
            "not an otpauth URI: it must start with otpauth://totp/",
        ),
        (
            "otpauth://hotp/x?secret=JBSWY3DPEHPK3PXP&counter=1",
            "otpauth://hotp/ (counter-based) is not supported; only otpauth://totp/",
        ),
        (
            "otpauth://totp/x?issuer=A",
            "otpauth URI has no secret= parameter",
        ),
        (
            "otpauth://totp/x?secret=JBSWY3DPEHPK3PXP&digits=7",
            "digits must be 6 or 8, not '7'",
        ),
        (
            "otpauth://totp/x?secret=JBSWY3DPEHPK3PXP&period=0",
            "period must be a whole number of seconds from 1 to 3600, not '0'",
        ),
        (
            "otpauth://totp/x?secret=JBSWY3DPEHPK3PXP&algorithm=MD5",
            "algorithm 'MD5' is not supported; use SHA1, SHA256 or SHA512",
        ),
        (
            "otpauth://totp/x?secret=JBSW1",
            "secret in otpauth URI: invalid base32 character '1' at position 5 (base32 uses only A-Z and 2-7; is this a hex seed?)",
        ),
        (
            "otpauth://totp/A:x?secret=JBSWY3DPEHPK3PXP&issuer=B",
            "issuer parameter 'B' differs from the label's issuer 'A'; they must match",
        ),
    ];
    for (uri, msg) in cases {
        assert_eq!(OtpAuth::parse(uri).unwrap_err().to_string(), msg, "{uri}");
    }
}
