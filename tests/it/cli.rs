//! The command line from the outside: output, standard input, JSON, and exit codes.

use crate::support::{run, stderr, stdout};

const RFC_B32: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";

#[test]
fn otp_prints_one_line() {
    let o = run(&["otp", RFC_B32, "--at", "1111111109"], None);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(stdout(&o), "081804\n");
    assert_eq!(stderr(&o), "");
}

#[test]
fn otp_reads_the_seed_from_stdin() {
    let o = run(
        &["otp", "-", "--at", "59", "--digits", "8"],
        Some(&format!("{RFC_B32}\n")),
    );
    assert_eq!(stdout(&o), "94287082\n");
    let o = run(&["otp", "-", "--at", "59"], Some(""));
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(stderr(&o), "error: SECRET: seed is empty\n");
}

#[test]
fn otp_takes_parameters_from_a_uri_and_flags_override() {
    let uri = format!("otpauth://totp/x?secret={RFC_B32}&digits=8");
    assert_eq!(
        stdout(&run(&["otp", &uri, "--at", "59"], None)),
        "94287082\n"
    );
    assert_eq!(
        stdout(&run(&["otp", &uri, "--at", "59", "--digits", "6"], None)),
        "287082\n"
    );
}

#[test]
fn otp_hex_and_base32_flags_win() {
    // Hex digits that are also base32 letters: --hex reads them as hex (10 bytes).
    let o = run(&["otp", "ABCDEF23ABCDEF234567", "--hex", "--at", "0"], None);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = run(&["otp", "0a1b", "--base32", "--at", "0"], None);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).starts_with("error: SECRET: invalid base32 character '0' at position 1"));
    let o = run(&["otp", "AB", "--hex", "--base32"], None);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn otp_skew_table_marks_the_current_row() {
    let o = run(&["otp", RFC_B32, "--at", "1111111109", "--skew", "2"], None);
    let text = stdout(&o);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 6, "{text}");
    assert!(lines[0].contains("offset") && lines[0].contains("code"));
    let marked: Vec<&&str> = lines.iter().filter(|l| l.starts_with('>')).collect();
    assert_eq!(marked.len(), 1);
    assert!(marked[0].ends_with("081804"), "{}", marked[0]);
    assert!(
        lines[1].contains("-2")
            && lines[1].contains("-60")
            && lines[1].contains("2005-03-18 01:57:00")
    );
}

#[test]
fn otp_json() {
    let o = run(
        &["otp", RFC_B32, "--at", "59", "--json", "--skew", "1"],
        None,
    );
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["code"], "287082");
    assert_eq!(v["counter"], 1);
    assert_eq!(v["seconds_remaining"], 1);
    assert_eq!(v["algorithm"], "SHA1");
    assert_eq!(v["window"].as_array().unwrap().len(), 3);
    assert_eq!(v["window"][0]["code"], "755224");
}

#[test]
fn bad_inputs_exit_2_with_one_line_naming_the_argument() {
    let cases: [(&[&str], &str); 7] = [
        (&["otp", "JBSW8Y3DP"], "SECRET"),
        (&["otp", "0a1b2"], "odd number of hex digits"),
        (&["otp", RFC_B32, "--digits", "7"], "--digits"),
        (&["otp", RFC_B32, "--period", "0"], "--period"),
        (&["otp", RFC_B32, "--algorithm", "md5"], "--algorithm"),
        (&["otp", RFC_B32, "--at", "yesterday"], "--at"),
        (&["seed", "--bytes", "11"], "--bytes"),
    ];
    for (args, needle) in cases {
        let o = run(args, None);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        let err = stderr(&o);
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: {err}");
        assert_eq!(stdout(&o), "");
    }
    let o = run(&["frobnicate"], None);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn seed_formats() {
    let b32 = stdout(&run(&["seed"], None));
    let b32 = b32.trim();
    assert_eq!(b32.len(), 32, "20 bytes is 32 base32 characters");
    assert!(
        b32.chars()
            .all(|c| c.is_ascii_uppercase() || ('2'..='7').contains(&c))
    );
    let hex = stdout(&run(&["seed", "--format", "hex", "--bytes", "64"], None));
    assert_eq!(hex.trim().len(), 128);
    let uri = stdout(&run(
        &[
            "seed",
            "--format",
            "uri",
            "--issuer",
            "Contoso",
            "--account",
            "bob@contoso.com",
            "--bytes",
            "32",
            "--period",
            "60",
        ],
        None,
    ));
    assert!(
        uri.starts_with("otpauth://totp/Contoso:bob%40contoso.com?secret="),
        "{uri}"
    );
    assert!(
        uri.trim_end()
            .ends_with("&issuer=Contoso&algorithm=SHA1&digits=6&period=60")
    );
    // Two runs never give the same seed.
    assert_ne!(stdout(&run(&["seed"], None)), stdout(&run(&["seed"], None)));
    let o = run(&["seed", "--format", "uri", "--issuer", "a:b"], None);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--issuer"));
}

#[test]
fn drift_reports_signed_offsets() {
    let at = 1_700_000_000u64;
    for steps in [7i64, -3] {
        let t = (at as i64 + steps * 30) as u64;
        let code = stdout(&run(&["otp", RFC_B32, "--at", &t.to_string()], None));
        let next = stdout(&run(&["otp", RFC_B32, "--at", &(t + 30).to_string()], None));
        let at = at.to_string();
        let drift = |extra: &[&str]| {
            let mut args = vec!["drift", RFC_B32, code.trim(), next.trim(), "--at", &at];
            args.extend_from_slice(extra);
            run(&args, None)
        };
        let o = drift(&[]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let want = if steps > 0 {
            "+7 steps (+210 s): token clock is ahead\n"
        } else {
            "-3 steps (-90 s): token clock is behind\n"
        };
        assert_eq!(stdout(&o), want);
        let o = drift(&["--json"]);
        let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
        assert_eq!(v["steps"], steps);
        assert_eq!(v["seconds"], steps * 30);
    }
}

#[test]
fn drift_not_found_exits_1() {
    let at = "1700000000";
    let far = stdout(&run(&["otp", RFC_B32, "--at", "1700003000"], None));
    let next = stdout(&run(&["otp", RFC_B32, "--at", "1700003030"], None));
    let o = run(
        &[
            "drift",
            RFC_B32,
            far.trim(),
            next.trim(),
            "--at",
            at,
            "--max-steps",
            "10",
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        stderr(&o),
        "error: not found within ±10 steps (±300 s): check the seed, the parameters and the code\n"
    );
}

#[test]
fn drift_ambiguous_lists_candidates_as_json() {
    // The RFC seed's code at counter 0 is 755224; over a wide bound a single code may match
    // more than once, and JSON then gives a list.
    let o = run(
        &[
            "drift",
            RFC_B32,
            "755224",
            "--at",
            "0",
            "--max-steps",
            "1000000",
            "--json",
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    if let Some(list) = v.as_array() {
        assert!(list.len() > 1);
        assert_eq!(list[0]["steps"], 0);
    } else {
        assert_eq!(v["steps"], 0);
    }
}

#[test]
fn drift_bad_code() {
    let o = run(&["drift", RFC_B32, "12345"], None);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        stderr(&o),
        "error: CODE must be 6 digits (0-9), got '12345'\n"
    );
}

#[test]
fn weak_seed_warns_on_stderr_only() {
    let o = run(&["otp", "JBSWY3DPEHPK3PXP", "--at", "0"], None);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(stdout(&o).trim().len(), 6);
    assert!(stderr(&o).contains("warning: the seed is 80 bits"));
}

#[test]
fn help_exits_0() {
    let o = run(&["--help"], None);
    assert_eq!(o.status.code(), Some(0));
    assert!(stdout(&o).contains("otp"));
}
