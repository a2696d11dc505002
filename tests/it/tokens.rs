//! Token rows, their validation against Entra's rules, and the CSV and Graph JSON files.

use totp_toolset::otp::{Algorithm, Params, Secret, SeedFormat};
use totp_toolset::tokens::{
    ENTRA_CSV_HEADER, EntraCsv, Field, GraphJson, RowInput, TokenRow, TokenSource, validate_row,
};

const RFC_SEED: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
const SECOND_SEED: &str = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";

fn input<'a>(upn: &'a str, serial: &'a str, secret: &'a str, interval: &'a str) -> RowInput<'a> {
    RowInput {
        upn,
        serial,
        secret,
        interval,
        manufacturer: "Token2",
        model: "C202",
        graph_only: false,
    }
}

fn golden_rows() -> Vec<TokenRow> {
    let a = validate_row(
        &input("alice@contoso.com", "60234567", RFC_SEED, "30"),
        None,
        &[],
    )
    .unwrap();
    let mut b_in = input(
        "bob@contoso.com",
        "60234568",
        "jbsw y3dp ehpk 3pxp jbsw y3dp ehpk 3pxp",
        "60",
    );
    b_in.model = "C302";
    let b = validate_row(&b_in, None, std::slice::from_ref(&a)).unwrap();
    vec![a, b]
}

#[test]
fn csv_matches_golden_file_byte_for_byte() {
    let bytes = EntraCsv::write(&golden_rows()).unwrap();
    let golden = include_bytes!("../fixtures/entra.csv");
    assert_eq!(bytes.as_slice(), golden.as_slice());
    assert!(bytes.starts_with(ENTRA_CSV_HEADER.as_bytes()));
    assert!(!bytes.starts_with(&[0xEF, 0xBB, 0xBF]), "no BOM");
}

#[test]
fn graph_json_batch_shape() {
    let json = GraphJson::write(&golden_rows()).unwrap();
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["@context"], "#$delta");
    let devices = v["value"].as_array().unwrap();
    assert_eq!(devices.len(), 2);
    assert_eq!(devices[0]["@contentId"], "1");
    assert_eq!(devices[1]["@contentId"], "2");
    assert_eq!(devices[0]["serialNumber"], "60234567");
    assert_eq!(devices[0]["manufacturer"], "Token2");
    assert_eq!(devices[0]["model"], "C202");
    assert_eq!(devices[0]["secretKey"], RFC_SEED);
    assert_eq!(devices[1]["secretKey"], SECOND_SEED);
    assert_eq!(devices[0]["timeIntervalInSeconds"], serde_json::json!(30));
    assert!(devices[1]["timeIntervalInSeconds"].is_u64());
    assert_eq!(devices[0]["hashFunction"], "hmacsha1");
    assert_eq!(
        devices[0]["displayName"],
        "C202 60234567 (alice@contoso.com)"
    );
}

fn errors_for(input: &RowInput<'_>, existing: &[TokenRow]) -> Vec<(Field, String)> {
    validate_row(input, None, existing)
        .unwrap_err()
        .into_iter()
        .map(|e| (e.field, e.message))
        .collect()
}

/// `input` with `field` set to `value`.
fn with<'a>(mut input: RowInput<'a>, field: Field, value: &'a str) -> RowInput<'a> {
    match field {
        Field::Upn => input.upn = value,
        Field::Serial => input.serial = value,
        Field::Secret => input.secret = value,
        Field::Interval => input.interval = value,
        Field::Manufacturer => input.manufacturer = value,
        Field::Model => input.model = value,
    }
    input
}

fn assert_field_error(input: &RowInput<'_>, existing: &[TokenRow], field: Field, needle: &str) {
    let errors = errors_for(input, existing);
    assert!(
        errors
            .iter()
            .any(|(f, m)| *f == field && m.contains(needle)),
        "expected {field:?} error containing {needle:?}, got {errors:?}"
    );
    assert!(
        errors.iter().all(|(f, _)| *f == field),
        "only {field:?} should fail: {errors:?}"
    );
}

#[test]
fn each_field_rejects_what_entra_rejects() {
    let existing = golden_rows();
    let ok = input(
        "carol@contoso.com",
        "60234569",
        "KRSXG5CTMVRXEZLUKRSXG5CT",
        "30",
    );
    assert!(validate_row(&ok, None, &existing).is_ok());

    let long = "A".repeat(136);
    for (field, bad, needle) in [
        (Field::Upn, "carol@contoso.com,", "comma"),
        (Field::Upn, "carol", "name@domain"),
        (Field::Upn, "", "required"),
        (Field::Serial, "", "required"),
        (Field::Serial, "60234567", "already in the list"),
        (
            Field::Secret,
            "3132333435363738393031323334353637383930",
            "hex seed",
        ),
        (
            Field::Secret,
            "KRSXG5CTMVRXEZLUKRSXG5C8",
            "illegal character",
        ),
        (Field::Secret, RFC_SEED, "already in the list"),
        (Field::Secret, &long, "at most 128"),
        (Field::Secret, "", "no current token"),
        (Field::Interval, "45", "30 or 60"),
    ] {
        assert_field_error(&with(ok, field, bad), &existing, field, needle);
    }

    for bad in [
        "",
        "Token2, Inc",
        "\"Token2\"",
        "Token\n2",
        "=HYPERLINK()",
        "+1",
        "-1",
        "@x",
    ] {
        for field in [Field::Manufacturer, Field::Model] {
            let errors = errors_for(&with(ok, field, bad), &existing);
            assert!(errors.iter().any(|(f, _)| *f == field), "{field:?} {bad:?}");
        }
    }
}

#[test]
fn current_token_must_fit_the_csv() {
    let secret = Secret::parse(RFC_SEED, SeedFormat::Base32).unwrap();
    let row = input("dave@contoso.com", "1", "", "30");

    let sha1 = TokenSource {
        secret: &secret,
        params: Params::default(),
    };
    let made = validate_row(&row, Some(sha1), &[]).unwrap();
    assert_eq!(made.secret, secret);
    assert!(!made.graph_only);

    let eight = TokenSource {
        secret: &secret,
        params: Params::new(Algorithm::Sha1, 8, 30).unwrap(),
    };
    let errs = validate_row(&row, Some(eight), &[]).unwrap_err();
    assert!(errs[0].message.contains("6-digit"), "{errs:?}");

    let sha256 = TokenSource {
        secret: &secret,
        params: Params::new(Algorithm::Sha256, 6, 30).unwrap(),
    };
    let errs = validate_row(&row, Some(sha256), &[]).unwrap_err();
    assert!(errs[0].message.contains("Graph JSON"), "{errs:?}");
    let mut graph = row;
    graph.graph_only = true;
    let made = validate_row(&graph, Some(sha256), &[]).unwrap();
    assert!(made.graph_only);
    // Graph-only rows stay out of the CSV but go into the JSON as hmacsha256.
    let csv = EntraCsv::write(std::slice::from_ref(&made)).unwrap();
    assert_eq!(csv.as_slice(), format!("{ENTRA_CSV_HEADER}\r\n").as_bytes());
    let json = GraphJson::write(&[made]).unwrap();
    assert!(json.contains("\"hmacsha256\""));

    let period = TokenSource {
        secret: &secret,
        params: Params::new(Algorithm::Sha1, 6, 60).unwrap(),
    };
    let errs = validate_row(&row, Some(period), &[]).unwrap_err();
    assert!(errs[0].message.contains("must match"), "{errs:?}");
}

#[test]
fn debug_never_shows_the_seed() {
    let rows = golden_rows();
    let text = format!("{rows:?}");
    assert!(!text.contains(RFC_SEED));
    assert!(text.contains("[redacted]"));
}
