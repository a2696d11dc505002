//! Vendor and Entra CSV files: every variant Excel and vendors produce reads to the same
//! tokens, each bad line is refused with its line number, and Entra's CSV is byte-exact.

use crate::support;
use totp_toolset::otp::{Algorithm, Params, Secret, SeedFormat};
use totp_toolset::tokens::formats::{self, Format, ReadOptions, entra_csv, vendor_csv};
use totp_toolset::tokens::{Batch, Source, TokenRecord};

const RFC_HEX: &str = "3132333435363738393031323334353637383930";
const RFC_B32: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
const HEX2: &str = "48656c6c6f21deadbeef48656c6c6f21deadbeef";

fn read(text: &[u8]) -> formats::Import {
    vendor_csv::read(text, &ReadOptions::default()).expect("readable CSV")
}

/// The file read with every line taken.
fn read_all(text: &[u8]) -> formats::Import {
    let import = read(text);
    assert!(import.refused.is_empty(), "{:?}", import.refused);
    import
}

/// The file read with every line taken, its seeds read as `encoding`.
fn read_all_as(text: &str, encoding: SeedFormat) -> formats::Import {
    let import = read_all(text.as_bytes());
    assert_eq!(import.secret_encoding, Some(encoding));
    import
}

fn serials(import: &formats::Import) -> Vec<String> {
    import
        .candidates
        .iter()
        .map(|c| c.record.serial.clone())
        .collect()
}

fn hex_of(import: &formats::Import, i: usize) -> String {
    import.candidates[i].record.secret.to_hex().to_string()
}

#[test]
fn token2_style_file_bom_semicolon_quoted_timeinterval_hex_trailing_separator() {
    let text = format!(
        "\u{feff}Serial Number;Secret Key;TimeInterval;Manufacturer;Model;\r\n\"00123\";\"{RFC_HEX}\";30;Token2;\"C202\";\r\n00124;{HEX2};60;Token2;C202;\r\n"
    );
    let import = read_all_as(&text, SeedFormat::Hex);
    assert_eq!(serials(&import), ["00123", "00124"], "leading zeros kept");
    assert_eq!(hex_of(&import, 0), RFC_HEX);
    assert_eq!(hex_of(&import, 1), HEX2);
    let r = &import.candidates[1].record;
    assert_eq!(r.period(), 60);
    assert_eq!(r.manufacturer, "Token2");
    assert_eq!(r.model, "C202");
    assert_eq!(r.upn, None, "no upn column: unassigned");
    assert_eq!(r.source, Source::Imported(Format::VendorCsv));
    assert_eq!(import.candidates[0].line, 2);
    assert_eq!(import.candidates[1].line, 3);
}

#[test]
fn entra_file_with_upn_lf_and_spaces_in_header_names() {
    let text = format!(
        "UPN , serial number,SECRET KEY,time interval,manufacturer,model\nalice@contoso.com,1,{RFC_B32},30,Token2,C202\n"
    );
    let import = read_all_as(&text, SeedFormat::Base32);
    assert_eq!(
        import.candidates[0].record.upn.as_deref(),
        Some("alice@contoso.com")
    );
    assert_eq!(hex_of(&import, 0), RFC_HEX);
}

#[test]
fn columns_in_any_order_and_other_names() {
    let text = format!("model,seed,serial,period,extra\nC202,{RFC_B32},42,60,whatever\n");
    let import = read_all(text.as_bytes());
    assert_eq!(serials(&import), ["42"]);
    assert_eq!(import.candidates[0].record.period(), 60);
    assert!(
        import.notes.iter().any(|n| n.contains("extra")),
        "{:?}",
        import.notes
    );
}

#[test]
fn excel_trailing_comma_after_the_upn_is_tolerated_but_a_comma_inside_the_upn_is_not() {
    let text = format!(
        "upn,serial number,secret key,time interval,manufacturer,model\r\nalice@contoso.com,1,{RFC_B32},30,Token2,C202,\r\n\"bob@contoso.com,\",2,JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP,30,Token2,C202\r\n"
    );
    let import = read(text.as_bytes());
    assert_eq!(serials(&import), ["1"]);
    assert_eq!(import.refused.len(), 1);
    assert_eq!(import.refused[0].line, 3);
    assert_eq!(import.refused[0].field, "upn");
    assert!(import.refused[0].reason.contains("comma"));
}

#[test]
fn a_hex_column_stays_hex_when_one_seed_avoids_0_1_8_9() {
    // The second seed has only digits and letters base32 also uses.
    let text = format!("serial,secret\n1,{RFC_HEX}\n2,abcdefabcdef2345abcdefabcdef2345\n");
    let import = read_all(text.as_bytes());
    assert_eq!(hex_of(&import, 1), "abcdefabcdef2345abcdefabcdef2345");
}

#[test]
fn one_bad_cell_does_not_flip_the_column() {
    let text = format!("serial,secret\n1,{RFC_HEX}\n2,{HEX2}\n3,n/a\n");
    let import = read(text.as_bytes());
    assert_eq!(import.secret_encoding, Some(SeedFormat::Hex));
    assert_eq!(serials(&import), ["1", "2"]);
    assert_eq!(import.refused[0].line, 4);

    let text =
        format!("serial,secret\n1,{RFC_B32}\n2,JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP\n3,{HEX2}\n");
    let import = read(text.as_bytes());
    assert_eq!(import.secret_encoding, Some(SeedFormat::Base32));
    assert_eq!(import.refused.len(), 1);
    assert!(
        import.refused[0].reason.contains("hex"),
        "{:?}",
        import.refused
    );
}

#[test]
fn the_column_override_wins() {
    let text = "serial,secret\n1,ABCDEF2345ABCDEF2345\n";
    let auto = read(text.as_bytes());
    assert_eq!(auto.secret_encoding, Some(SeedFormat::Base32));
    let options = ReadOptions {
        secret_encoding: SeedFormat::Hex,
        ..ReadOptions::default()
    };
    let hex = vendor_csv::read(text.as_bytes(), &options).unwrap();
    assert_eq!(hex.secret_encoding, Some(SeedFormat::Hex));
    assert_eq!(hex.candidates[0].record.secret.len(), 10);
    assert_ne!(
        auto.candidates[0].record.secret,
        hex.candidates[0].record.secret
    );
}

#[test]
fn each_bad_line_is_refused_with_its_line_number_and_field() {
    let text = format!(
        "upn,serial number,secret key,time interval,manufacturer,model\n\
         alice@contoso.com,1,{RFC_B32},30,Token2,C202\n\
         \n\
         bob,2,JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP,30,Token2,C202\n\
         ,=cmd(),KRSXG5CTMVRXEZLUKRSXG5CT,30,Token2,C202\n\
         ,4,KRSXG5CTMVRXEZLUKRSXG5C8,30,Token2,C202\n\
         ,5,MFRGGZDFMZTWQ2LKNNWG23TP,45,Token2,C202\n\
         ,6,ONSWG4TFOQYTEMZU,30,Token2,C202,surprise\n\
         ,7,,30,Token2,C202\n\
         ,8,NBSWY3DPEB3W64TMMQ======,30,+Token2,C202\n"
    );
    let import = read(text.as_bytes());
    assert_eq!(serials(&import), ["1"]);
    let got: Vec<(usize, &str)> = import.refused.iter().map(|r| (r.line, r.field)).collect();
    assert_eq!(
        got,
        [
            (4, "upn"),
            (5, "serial number"),
            (6, "secret key"),
            (7, "time interval"),
            (8, "line"),
            (9, "secret key"),
            (10, "manufacturer"),
        ]
    );
    for r in &import.refused {
        for seed in [
            "KRSXG5CTMVRXEZLUKRSXG5C8",
            "MFRGGZDFMZTWQ2LKNNWG23TP",
            "ONSWG4TFOQYTEMZU",
            "JBSWY3DPEHPK3PXP",
        ] {
            assert!(!r.reason.contains(seed), "{r:?}");
        }
    }
}

#[test]
fn duplicates_within_the_file_and_against_the_batch_are_refused_lines() {
    let text = format!(
        "serial,secret\n1,{RFC_B32}\n2,{RFC_B32}\n1,JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP\n3,KRSXG5CTMVRXEZLUKRSXG5CT\n"
    );
    let import = read(text.as_bytes());
    let mut batch = Batch::default();
    batch
        .push(TokenRecord {
            serial: "3".into(),
            secret: Secret::parse_base32("MFRGGZDFMZTWQ2LKNNWG23TP").unwrap(),
            params: Params::default(),
            manufacturer: String::new(),
            model: String::new(),
            upn: None,
            source: Source::Typed,
            added_at: 0,
        })
        .unwrap();
    let (accepted, refused) = batch.preview(import.candidates.clone());
    assert_eq!(accepted.len(), 1);
    let got: Vec<(usize, &str)> = refused.iter().map(|r| (r.line, r.field)).collect();
    assert_eq!(
        got,
        [
            (3, "secret key"),
            (4, "serial number"),
            (5, "serial number")
        ]
    );
    assert!(
        refused[0].reason.contains("earlier in the file"),
        "{refused:?}"
    );
    assert!(
        refused[2].reason.contains("already in the batch"),
        "{refused:?}"
    );
    assert_eq!(batch.len(), 1, "a preview changes nothing");
    let refused = batch.add_candidates(import.candidates);
    assert_eq!(refused.len(), 3);
    assert_eq!(batch.len(), 2);
}

#[test]
fn whole_file_problems_are_errors() {
    support::assert_files_refused(
        vendor_csv::read,
        &[
            (b"", "empty"),
            (b"serial,upn\n1,a@b.cd\n", "secret"),
            (b"serial,secret\n", "no token rows"),
            (b"serial,secret\n1,\xff\xfe\n", "UTF-8"),
            (b"serial,secret,seed\n1,A,B\n", "twice"),
        ],
    );
}

fn golden_records() -> Vec<TokenRecord> {
    let rec = |upn: &str, serial: &str, b32: &str, period: u32, model: &str| TokenRecord {
        serial: serial.into(),
        secret: Secret::parse_base32(b32).unwrap(),
        params: Params::new(Algorithm::Sha1, 6, period).unwrap(),
        manufacturer: "Token2".into(),
        model: model.into(),
        upn: Some(upn.into()),
        source: Source::Typed,
        added_at: 0,
    };
    vec![
        rec("alice@contoso.com", "60234567", RFC_B32, 30, "C202"),
        rec(
            "bob@contoso.com",
            "60234568",
            "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP",
            60,
            "C302",
        ),
    ]
}

#[test]
fn entra_csv_is_byte_exact_and_reads_back() {
    let golden = include_bytes!("../fixtures/entra.csv");
    let export = entra_csv::write(&golden_records()).unwrap();
    assert_eq!(export.bytes.as_slice(), golden.as_slice());
    assert_eq!(export.included, 2);
    assert!(export.left_out.is_empty());
    let import = formats::read(golden, None, &ReadOptions::default()).unwrap();
    assert_eq!(import.format, Format::VendorCsv);
    let again: Vec<TokenRecord> = import.candidates.into_iter().map(|c| c.record).collect();
    assert_eq!(
        entra_csv::write(&again).unwrap().bytes.as_slice(),
        golden.as_slice()
    );
}

#[test]
fn entra_csv_lists_what_it_leaves_out_and_why() {
    let mut records = golden_records();
    records[0].upn = None;
    records[1].params = Params::new(Algorithm::Sha256, 6, 30).unwrap();
    let mut third = golden_records().remove(0);
    third.serial = "3".into();
    third.secret = Secret::parse_base32("KRSXG5CTMVRXEZLUKRSXG5CT").unwrap();
    third.manufacturer = String::new();
    records.push(third);
    let export = entra_csv::write(&records).unwrap();
    assert_eq!(export.included, 0);
    let reasons: Vec<&str> = export.left_out.iter().map(|l| l.reason.as_str()).collect();
    assert!(reasons[0].contains("no user"), "{reasons:?}");
    assert!(reasons[1].contains("SHA-256"), "{reasons:?}");
    assert!(reasons[2].contains("manufacturer"), "{reasons:?}");
}
