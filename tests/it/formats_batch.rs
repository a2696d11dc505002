//! The batch: unique serials and seeds, the size limit, and users assigned from a list.

use totp_toolset::otp::{Params, Secret};
use totp_toolset::tokens::{Batch, BatchLimit, Candidate, Source, TokenRecord};

fn seed(n: u8) -> Secret {
    Secret::from_bytes((0..20).map(|i| i ^ n.wrapping_mul(37)).collect()).unwrap()
}

fn record(serial: &str, n: u8) -> TokenRecord {
    TokenRecord {
        serial: serial.into(),
        secret: seed(n),
        params: Params::default(),
        manufacturer: "Token2".into(),
        model: "C202".into(),
        upn: None,
        source: Source::Imported(totp_toolset::tokens::Format::VendorCsv),
        added_at: 1_700_000_000,
    }
}

fn batch_of(serials: &[&str]) -> Batch {
    let mut b = Batch::default();
    for (i, s) in serials.iter().enumerate() {
        b.push(record(s, i as u8 + 1)).unwrap();
    }
    b
}

fn upn_of(b: &Batch, serial: &str) -> Option<String> {
    b.get(serial).unwrap().upn.clone()
}

#[test]
fn serials_and_seeds_are_unique() {
    let mut b = batch_of(&["0100"]);
    let err = b.push(record("0100", 9)).unwrap_err();
    assert_eq!(err.field, "serial number");
    let err = b.push(record("0101", 1)).unwrap_err();
    assert_eq!(err.field, "secret key");
    assert!(err.reason.contains("0100"), "{err:?}");
    assert!(b.push(record("0101", 2)).is_ok());
    assert_eq!(b.len(), 2);
}

#[test]
fn the_limit_names_itself_and_its_setting() {
    let mut b = Batch::new(BatchLimit::new(2, "TOTP_TOOLSET_MAX_BATCH"));
    let candidates: Vec<Candidate> = (0..3u8)
        .map(|i| Candidate {
            line: usize::from(i) + 2,
            record: record(&format!("S{i}"), i + 1),
        })
        .collect();
    let (ok, refused) = b.preview(candidates.clone());
    assert_eq!(ok.len(), 2);
    assert_eq!(refused.len(), 1);
    assert_eq!(refused[0].line, 4);
    assert!(
        refused[0].reason.contains("at most 2 tokens"),
        "{refused:?}"
    );
    assert!(refused[0].reason.contains("TOTP_TOOLSET_MAX_BATCH"));
    let refused = b.add_candidates(candidates);
    assert_eq!(b.len(), 2);
    assert!(refused[0].reason.contains("at most 2"));
}

#[test]
fn a_upn_list_goes_to_the_unassigned_tokens_in_serial_order() {
    let mut b = batch_of(&["10", "9", "0011", "A1"]);
    b.set_upn("0011", Some("zed@contoso.com")).unwrap();
    let report = b.assign("\u{feff}alice@contoso.com\r\n\r\n# a comment\nbob@contoso.com\nnot a upn\ncarol@contoso.com\ndave@contoso.com\n");
    let assigned: Vec<(&str, Option<&str>)> = report
        .assigned
        .iter()
        .map(|&i| {
            (
                b.records()[i].serial.as_str(),
                b.records()[i].upn.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        assigned,
        [
            ("9", Some("alice@contoso.com")),
            ("10", Some("bob@contoso.com")),
            ("A1", Some("carol@contoso.com")),
        ]
    );
    let refused: Vec<(usize, &str)> = report.refused.iter().map(|r| (r.line, r.field)).collect();
    assert_eq!(refused, [(5, "upn"), (7, "upn")]);
    assert!(report.refused[1].reason.contains("no unassigned token"));
    assert_eq!(upn_of(&b, "0011").as_deref(), Some("zed@contoso.com"));
}

#[test]
fn serial_upn_pairs_assign_by_serial() {
    let mut b = batch_of(&["001", "002", "003"]);
    let report = b.assign(
        "serial,upn\n002,bob@contoso.com\n999,x@contoso.com\n001;alice@contoso.com\n002,eve@contoso.com\n003,bad\n",
    );
    assert_eq!(report.assigned.len(), 2);
    assert_eq!(upn_of(&b, "001").as_deref(), Some("alice@contoso.com"));
    assert_eq!(upn_of(&b, "002").as_deref(), Some("bob@contoso.com"));
    assert_eq!(upn_of(&b, "003"), None);
    let refused: Vec<(usize, &str)> = report.refused.iter().map(|r| (r.line, r.field)).collect();
    assert_eq!(
        refused,
        [(3, "serial number"), (5, "serial number"), (6, "upn")]
    );
    assert!(report.refused[0].reason.contains("not in the batch"));
    assert!(report.refused[1].reason.contains("line 2"));
}

#[test]
fn more_than_five_oath_methods_is_a_warning() {
    let serials: Vec<String> = (0..7).map(|i| format!("T{i}")).collect();
    let refs: Vec<&str> = serials.iter().map(String::as_str).collect();
    let mut b = batch_of(&refs);
    let report = b.assign(&"alice@contoso.com\n".repeat(5));
    assert!(report.warnings.is_empty());
    let report = b.assign("alice@contoso.com\n");
    assert_eq!(report.warnings.len(), 1);
    assert!(
        report.warnings[0].contains("at most 5"),
        "{:?}",
        report.warnings
    );
    let warning = b.set_upn("T6", Some("ALICE@contoso.com")).unwrap();
    assert!(warning.unwrap().contains("7 OATH tokens"));
}

fn upns(b: &Batch) -> Vec<Option<String>> {
    b.records().iter().map(|r| r.upn.clone()).collect()
}

proptest::proptest! {
    /// The page previews a pending list with `plan_assign`, which reads the batch without
    /// changing it; applying the list must then do exactly what the preview showed.
    #[test]
    fn a_plan_is_what_assigning_then_does(
        lines in proptest::collection::vec(
            proptest::prop_oneof![
                "0{0,2}[1-9]",
                "[a-c]@contoso\\.com",
                "0?[1-9][,;][a-cA-C]@contoso\\.com",
                "\\PC{0,8}",
            ],
            0..14,
        ),
    ) {
        let mut b = batch_of(&["8", "7", "3", "04", "5", "6", "1", "2", "A9"]);
        b.set_upn("3", Some("a@contoso.com")).unwrap();
        b.set_upn("5", Some("b@contoso.com")).unwrap();
        let text = lines.join("\n");
        let before = upns(&b);
        let plan = b.plan_assign(&text);
        proptest::prop_assert_eq!(&upns(&b), &before);
        let planned: Vec<(String, String)> = plan
            .assignments
            .iter()
            .map(|&(i, upn)| (b.records()[i].serial.clone(), upn.to_string()))
            .collect();
        let (refused, warnings) = (plan.refused.clone(), plan.warnings.clone());
        let indices: Vec<usize> = plan.assignments.iter().map(|&(i, _)| i).collect();

        let report = b.assign(&text);
        proptest::prop_assert_eq!(report.assigned, indices);
        proptest::prop_assert_eq!(report.refused, refused);
        proptest::prop_assert_eq!(report.warnings, warnings);
        for (serial, upn) in &planned {
            proptest::prop_assert_eq!(upn_of(&b, serial), Some(upn.clone()));
        }
        let changed = before.iter().zip(upns(&b)).filter(|(a, b)| **a != *b).count();
        proptest::prop_assert!(changed <= planned.len());
    }
}

#[test]
fn editing_clearing_and_removing() {
    let mut b = batch_of(&["1", "2"]);
    assert!(b.set_upn("1", Some("alice@contoso.com,")).is_err());
    assert!(b.set_upn("3", Some("alice@contoso.com")).is_err());
    b.set_upn("1", Some("alice@contoso.com")).unwrap();
    b.set_upn("1", None).unwrap();
    assert_eq!(upn_of(&b, "1"), None);
    assert!(b.remove("1").is_some());
    assert!(b.push(record("1", 1)).is_ok(), "the seed is free again");
    assert_eq!(b.records()[0].serial, "2");
}

#[test]
fn debug_never_shows_a_seed() {
    let b = batch_of(&["1"]);
    let text = format!("{b:?}");
    assert!(text.contains("[redacted]"));
    assert!(!text.contains(&b.records()[0].secret.to_hex().to_string()));
}
