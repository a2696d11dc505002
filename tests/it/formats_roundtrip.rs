//! Every export re-imports to the same batch: what each format carries comes back unchanged.

use totp_toolset::otp::{Algorithm, Params, Secret};
use totp_toolset::tokens::formats::{
    self, Export, Format, Keys, ReadOptions, entra_csv, graph_json, inventory, otpauth_list,
    privacyidea, pskc,
};
use totp_toolset::tokens::{Source, TokenRecord, TokensError};
use zeroize::Zeroizing;

fn batch() -> Vec<TokenRecord> {
    let rec = |serial: &str, bytes: usize, n: u8, params: Params, upn: Option<&str>| TokenRecord {
        serial: serial.into(),
        secret: Secret::from_bytes((0..bytes).map(|i| (i as u8).wrapping_mul(n) ^ n).collect())
            .unwrap(),
        params,
        manufacturer: "Token2".into(),
        model: "C202".into(),
        upn: upn.map(String::from),
        source: Source::Generated,
        added_at: 1_700_000_000,
    };
    vec![
        rec(
            "000123",
            20,
            3,
            Params::default(),
            Some("alice@contoso.com"),
        ),
        rec(
            "000124",
            10,
            5,
            Params::new(Algorithm::Sha1, 6, 60).unwrap(),
            Some("bob@contoso.com"),
        ),
        rec("000125", 20, 7, Params::default(), None),
        rec(
            "000126",
            32,
            9,
            Params::new(Algorithm::Sha256, 6, 30).unwrap(),
            None,
        ),
        rec(
            "000127",
            64,
            11,
            Params::new(Algorithm::Sha512, 8, 30).unwrap(),
            Some("carol@contoso.com"),
        ),
    ]
}

/// The fields a format carries.
#[derive(Debug, PartialEq, Eq)]
struct Carried {
    serial: String,
    secret: Secret,
    params: Params,
    manufacturer: Option<String>,
    model: Option<String>,
    upn: Option<Option<String>>,
}

fn carried(r: &TokenRecord, names: bool, upn: bool) -> Carried {
    Carried {
        serial: r.serial.clone(),
        secret: r.secret.clone(),
        params: r.params,
        manufacturer: names.then(|| r.manufacturer.clone()),
        model: names.then(|| r.model.clone()),
        upn: upn.then(|| r.upn.clone()),
    }
}

fn round_trip(
    bytes: &[u8],
    format: Format,
    options: &ReadOptions,
    names: bool,
    upn: bool,
) -> Vec<Carried> {
    assert_eq!(formats::detect(bytes).unwrap(), format);
    let import = formats::read(bytes, None, options).unwrap();
    assert!(
        import.refused.is_empty(),
        "{format:?}: {:?}",
        import.refused
    );
    import
        .candidates
        .iter()
        .map(|c| carried(&c.record, names, upn))
        .collect()
}

fn expected(filter: impl Fn(&TokenRecord) -> bool, names: bool, upn: bool) -> Vec<Carried> {
    batch()
        .iter()
        .filter(|r| filter(r))
        .map(|r| carried(r, names, upn))
        .collect()
}

#[test]
fn every_export_reads_back_to_what_it_carries() {
    type Write = fn(&[TokenRecord]) -> Result<Export, TokensError>;
    type Kept = fn(&TokenRecord) -> bool;
    // (format read back, its writer, the tokens it takes, whether it carries manufacturer
    // and model, whether it carries the user)
    let cases: [(Format, Write, Kept, bool, bool); 5] = [
        // Entra's CSV, read back as a vendor CSV: 6-digit tokens with a user.
        (
            Format::VendorCsv,
            entra_csv::write,
            |r| r.upn.is_some() && r.params.digits() == 6,
            true,
            true,
        ),
        // Unassigned and SHA-256 tokens too, but not SHA-512.
        (
            Format::GraphJson,
            graph_json::write,
            |r| r.params.algorithm() != Algorithm::Sha512,
            true,
            true,
        ),
        (Format::Pskc, |b| pskc::write(b, None), |_| true, true, true),
        (
            Format::PrivacyIdea,
            privacyidea::write,
            |_| true,
            false,
            false,
        ),
        (
            Format::OtpauthList,
            otpauth_list::write,
            |_| true,
            true,
            true,
        ),
    ];
    for (format, write, kept, names, upn) in cases {
        let export = write(&batch()).unwrap();
        let left_out: Vec<&str> = export.left_out.iter().map(|l| l.serial.as_str()).collect();
        let not_kept: Vec<String> = batch()
            .into_iter()
            .filter(|r| !kept(r))
            .map(|r| r.serial)
            .collect();
        assert_eq!(left_out, not_kept, "{format:?}");
        let back = round_trip(&export.bytes, format, &ReadOptions::default(), names, upn);
        assert_eq!(back, expected(kept, names, upn), "{format:?}");
    }
}

#[test]
fn pskc_with_a_password_carries_everything() {
    let pw = pskc::PskcPassword {
        password: "pässwörd",
        iterations: 1000,
    };
    let export = pskc::write(&batch(), Some(&pw)).unwrap();
    let options = ReadOptions {
        keys: Keys {
            password: Some(Zeroizing::new("pässwörd".into())),
            ..Keys::default()
        },
        ..ReadOptions::default()
    };
    let back = round_trip(&export.bytes, Format::Pskc, &options, true, true);
    assert_eq!(back, expected(|_| true, true, true));
}

#[test]
fn privacyidea_leaves_out_a_hash_it_would_guess_wrong() {
    let mut odd = batch();
    odd[0].params = Params::new(Algorithm::Sha256, 6, 30).unwrap();
    let export = privacyidea::write(&odd).unwrap();
    assert_eq!(export.left_out.len(), 1);
    assert!(export.left_out[0].reason.contains("guesses the hash"));
}

#[test]
fn the_inventory_has_every_token_and_no_seed() {
    let export = inventory::write(&batch()).unwrap();
    let text = std::str::from_utf8(&export.bytes).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "serial,upn,model,manufacturer,period,algorithm,source,added at"
    );
    assert_eq!(
        lines[1],
        "000123,alice@contoso.com,C202,Token2,30,SHA1,generated,2023-11-14T22:13:20Z"
    );
    assert_eq!(lines.len(), 6);
    for r in batch() {
        assert!(!text.contains(r.secret.to_hex().as_str()));
        assert!(!text.contains(r.secret.to_base32().as_str()));
    }
}
