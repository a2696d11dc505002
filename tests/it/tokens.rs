//! Typed token rows, their validation against Entra's rules, and the CSV and Graph JSON
//! files written from them.

use totp_toolset::otp::{Algorithm, Params, Secret, SeedFormat};
use totp_toolset::tokens::formats::{entra_csv, graph_json};
use totp_toolset::tokens::{
    Batch, ENTRA_CSV_HEADER, Field, RowInput, TokenRecord, TokenSource, validate_record,
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

fn golden_rows() -> Vec<TokenRecord> {
    let a = validate_record(
        &input("alice@contoso.com", "60234567", RFC_SEED, "30"),
        None,
        0,
    )
    .unwrap();
    let mut b_in = input(
        "bob@contoso.com",
        "60234568",
        "jbsw y3dp ehpk 3pxp jbsw y3dp ehpk 3pxp",
        "60",
    );
    b_in.model = "C302";
    let b = validate_record(&b_in, None, 0).unwrap();
    vec![a, b]
}

#[test]
fn csv_matches_golden_file_byte_for_byte() {
    let bytes = entra_csv::write(&golden_rows()).unwrap().bytes;
    let golden = include_bytes!("../fixtures/entra.csv");
    assert_eq!(bytes.as_slice(), golden.as_slice());
    assert!(bytes.starts_with(ENTRA_CSV_HEADER.as_bytes()));
    assert!(!bytes.starts_with(&[0xEF, 0xBB, 0xBF]), "no BOM");
}

#[test]
fn graph_json_batch_shape() {
    let json = graph_json::write(&golden_rows()).unwrap().bytes;
    let v: serde_json::Value = serde_json::from_slice(&json).unwrap();
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

fn errors_for(input: &RowInput<'_>) -> Vec<(Field, String)> {
    validate_record(input, None, 0)
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

fn assert_field_error(input: &RowInput<'_>, field: Field, needle: &str) {
    let errors = errors_for(input);
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
    let ok = input(
        "carol@contoso.com",
        "60234569",
        "KRSXG5CTMVRXEZLUKRSXG5CT",
        "30",
    );
    assert!(validate_record(&ok, None, 0).is_ok());
    // A token without a user is first-class in the batch (Graph JSON, assigned later).
    let unassigned = validate_record(&with(ok, Field::Upn, " "), None, 0).unwrap();
    assert_eq!(unassigned.upn, None);

    let long = "A".repeat(136);
    for (field, bad, needle) in [
        (Field::Upn, "carol@contoso.com,", "comma"),
        (Field::Upn, "carol", "name@domain"),
        (Field::Serial, "", "required"),
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
        (Field::Secret, &long, "at most 128"),
        (Field::Secret, "", "no current token"),
        (Field::Interval, "45", "30 or 60"),
    ] {
        assert_field_error(&with(ok, field, bad), field, needle);
    }

    // A serial or a seed already in the batch is the batch's to refuse, by the same field.
    let mut batch = Batch::default();
    for r in golden_rows() {
        batch.push(r).unwrap();
    }
    for (field, bad, column) in [
        (Field::Serial, "60234567", "serial number"),
        (Field::Secret, RFC_SEED, "secret key"),
    ] {
        let record = validate_record(&with(ok, field, bad), None, 0).unwrap();
        let conflict = batch.conflict(&record).unwrap();
        assert_eq!(conflict.field, column);
        assert!(
            conflict.reason.contains("already in the batch"),
            "{conflict:?}"
        );
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
            let errors = errors_for(&with(ok, field, bad));
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
    let made = validate_record(&row, Some(sha1), 0).unwrap();
    assert_eq!(made.secret, secret);
    assert_eq!(made.algorithm(), Algorithm::Sha1);

    let eight = TokenSource {
        secret: &secret,
        params: Params::new(Algorithm::Sha1, 8, 30).unwrap(),
    };
    let errs = validate_record(&row, Some(eight), 0).unwrap_err();
    assert!(errs[0].message.contains("6-digit"), "{errs:?}");

    let sha256 = TokenSource {
        secret: &secret,
        params: Params::new(Algorithm::Sha256, 6, 30).unwrap(),
    };
    let errs = validate_record(&row, Some(sha256), 0).unwrap_err();
    assert!(errs[0].message.contains("Graph JSON"), "{errs:?}");
    let mut graph = row;
    graph.graph_only = true;
    let made = validate_record(&graph, Some(sha256), 0).unwrap();
    assert_eq!(made.algorithm(), Algorithm::Sha256);
    // Graph-only rows stay out of the CSV (said why) but go into the JSON as hmacsha256.
    let csv = entra_csv::write(std::slice::from_ref(&made)).unwrap();
    assert_eq!(
        csv.bytes.as_slice(),
        format!("{ENTRA_CSV_HEADER}\r\n").as_bytes()
    );
    assert!(
        csv.left_out[0].reason.contains("SHA-1 only"),
        "{:?}",
        csv.left_out
    );
    let json = graph_json::write(&[made]).unwrap().bytes;
    assert!(String::from_utf8_lossy(&json).contains("\"hmacsha256\""));

    let period = TokenSource {
        secret: &secret,
        params: Params::new(Algorithm::Sha1, 6, 60).unwrap(),
    };
    let errs = validate_record(&row, Some(period), 0).unwrap_err();
    assert!(errs[0].message.contains("must match"), "{errs:?}");
}

#[test]
fn debug_never_shows_the_seed() {
    let rows = golden_rows();
    let text = format!("{rows:?}");
    assert!(!text.contains(RFC_SEED));
    assert!(text.contains("[redacted]"));
}
