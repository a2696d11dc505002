//! `totp-toolset convert` from the outside: formats in and out, users assigned, refused
//! lines reported, the output file's safety, and the exit codes 0, 1 and 2.

use std::path::Path;

use crate::support::process::run_bytes;
use crate::support::{run, stderr, stdout};

const RFC_HEX: &str = "3132333435363738393031323334353637383930";
const RFC_B32: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
const HEX2: &str = "48656c6c6f21deadbeef48656c6c6f21deadbeef";
const B32_2: &str = "JBSWY3DPEHPK3PXN5ZF3GZDPEHPK3PXN5ZF3G";

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.to_str().unwrap().to_string()
}

fn vendor_csv() -> String {
    format!(
        "\u{feff}Serial Number;Secret Key;TimeInterval;Manufacturer;Model\r\n00200;{HEX2};30;Token2;C202\r\n00100;{RFC_HEX};30;Token2;C202\r\n"
    )
}

#[test]
fn vendor_hex_csv_with_users_becomes_an_entra_csv() {
    let dir = tempfile::tempdir().unwrap();
    let input = write(dir.path(), "seeds.csv", &vendor_csv());
    let users = write(
        dir.path(),
        "users.txt",
        "alice@contoso.com\nbob@contoso.com\n",
    );
    let o = run(
        &["convert", &input, "--to", "entra-csv", "--assign", &users],
        None,
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        format!(
            "upn,serial number,secret key,time interval,manufacturer,model\r\n\
             bob@contoso.com,00200,JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP,30,Token2,C202\r\n\
             alice@contoso.com,00100,{RFC_B32},30,Token2,C202\r\n"
        ),
        "alice gets the lower serial"
    );
    assert!(stderr(&o).contains("csv, hex seeds"), "{}", stderr(&o));
}

#[test]
fn stdin_input_and_users_from_stdin() {
    let o = run(&["convert", "-", "--to", "inventory"], Some(&vendor_csv()));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).starts_with("serial,upn,model"));
    assert!(!stdout(&o).contains(RFC_B32));

    let dir = tempfile::tempdir().unwrap();
    let input = write(dir.path(), "seeds.csv", &vendor_csv());
    let o = run(
        &["convert", &input, "--to", "graph-json", "--assign", "-"],
        Some("00100,alice@contoso.com\n"),
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(
        v["value"][1]["displayName"],
        "C202 00100 (alice@contoso.com)"
    );
    assert_eq!(v["value"][0]["displayName"], "C202 00200");

    let o = run(&["convert", "-", "--to", "pskc", "--assign", "-"], Some(""));
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn refused_lines_exit_1_and_write_only_with_partial() {
    let text = format!("serial,secret\n1,{RFC_B32}\n2,{RFC_B32}\n3,{B32_2}8\n");
    let o = run(&["convert", "-", "--to", "otpauth"], Some(&text));
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(stdout(&o), "", "nothing written without --partial");
    let err = stderr(&o);
    assert!(err.contains("INPUT line 3: secret key: "), "{err}");
    assert!(err.contains("INPUT line 4: secret key: "), "{err}");
    assert!(err.contains("--partial"), "{err}");
    assert!(!err.contains(RFC_B32) && !err.contains(B32_2), "{err}");

    let o = run(
        &["convert", "-", "--to", "otpauth", "--partial"],
        Some(&text),
    );
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(stdout(&o).lines().count(), 1);
    assert!(stdout(&o).starts_with("otpauth://totp/"));

    let o = run(&["convert", "-", "--to", "otpauth", "--json"], Some(&text));
    assert_eq!(o.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_str(stderr(&o).trim()).unwrap();
    assert_eq!(v["written"], false);
    assert_eq!(v["from"], "csv");
    assert_eq!(v["refused"][0]["line"], 3);
    assert_eq!(v["refused"][0]["field"], "secret key");
    assert_eq!(v["refused"][1]["line"], 4);
}

#[test]
fn tokens_a_format_cannot_carry_are_left_out_and_exit_1() {
    let o = run(&["convert", "-", "--to", "entra-csv"], Some(&vendor_csv()));
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("left out 00100: has no user"),
        "{}",
        stderr(&o)
    );
    let o = run(
        &["convert", "-", "--to", "entra-csv", "--partial", "--json"],
        Some(&vendor_csv()),
    );
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        stdout(&o),
        "upn,serial number,secret key,time interval,manufacturer,model\r\n"
    );
    let v: serde_json::Value = serde_json::from_str(stderr(&o).trim()).unwrap();
    assert_eq!(v["left_out"].as_array().unwrap().len(), 2);
}

#[test]
fn manufacturer_and_model_defaults_fill_the_gaps() {
    let text = format!("serial,upn,secret\n7,alice@contoso.com,{RFC_B32}\n");
    let o = run(
        &[
            "convert",
            "-",
            "--to",
            "entra-csv",
            "--manufacturer",
            "Token2",
            "--model",
            "C301",
        ],
        Some(&text),
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).ends_with(&format!("alice@contoso.com,7,{RFC_B32},30,Token2,C301\r\n")));
    // Refused before the input is read, so no input is given (it would meet a closed pipe).
    let o = run(
        &["convert", "-", "--to", "entra-csv", "--model", "=x"],
        None,
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--model"), "{}", stderr(&o));
}

#[test]
fn output_file_is_new_and_private() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.csv");
    let out_s = out.to_str().unwrap();
    let o = run(
        &["convert", "-", "--to", "privacyidea", "-o", out_s],
        Some(&vendor_csv()),
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stdout(&o), "");
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(
        text.contains(&format!("00100, {RFC_HEX}, totp, 6, 30")),
        "{text}"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&out).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // Refused before the input is read, so no input is given (it would meet a closed pipe).
    let o = run(&["convert", "-", "--to", "privacyidea", "-o", out_s], None);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("already exists"), "{}", stderr(&o));
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        text,
        "never overwritten"
    );
}

#[test]
fn usage_and_unreadable_input_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.csv");
    for (args, stdin, needle) in [
        (
            vec!["convert", missing.to_str().unwrap(), "--to", "pskc"],
            None,
            "cannot read",
        ),
        (
            vec!["convert", "-", "--to", "pskc"],
            Some("hello\nworld\n"),
            "cannot tell",
        ),
        (vec!["convert", "-", "--to", "nothing"], Some(""), "nothing"),
        (
            vec!["convert", "-", "--to", "pskc", "--from", "pskc"],
            Some("<a"),
            "XML",
        ),
        (
            vec!["convert", "-", "--to", "pskc"],
            Some("serial,secret\n"),
            "no token rows",
        ),
        (
            vec![
                "convert",
                "-",
                "--to",
                "otpauth",
                "--pskc-password-file",
                "x",
            ],
            Some(""),
            "--to pskc",
        ),
    ] {
        let o = run(&args, stdin);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(needle), "{args:?}: {}", stderr(&o));
    }
}

#[test]
fn pskc_with_a_password_file_both_ways() {
    let dir = tempfile::tempdir().unwrap();
    let pw = write(dir.path(), "pw.txt", "horse battery\n");
    let wrong = write(dir.path(), "wrong.txt", "horse batterY\n");
    let out = dir.path().join("batch.pskc");
    let o = run(
        &[
            "convert",
            "-",
            "--to",
            "pskc",
            "--pskc-password-file",
            &pw,
            "--pskc-iterations",
            "1000",
            "-o",
            out.to_str().unwrap(),
        ],
        Some(&vendor_csv()),
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let xml = std::fs::read(&out).unwrap();
    assert!(!String::from_utf8_lossy(&xml).contains("PlainValue>MTIz"));

    let to_privacyidea = |password_file: &str| {
        run_bytes(
            &[
                "convert",
                "-",
                "--to",
                "privacyidea",
                "--password-file",
                password_file,
            ],
            &xml,
        )
    };
    let o = to_privacyidea(&pw);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains(RFC_HEX));
    let o = to_privacyidea(&wrong);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("wrong password"), "{}", stderr(&o));
    assert_eq!(stdout(&o), "");
    let o = run_bytes(&["convert", "-", "--to", "privacyidea"], &xml);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--password-file"), "{}", stderr(&o));
}

#[test]
fn a_pre_shared_key_file_takes_hex_and_refuses_odd_sizes() {
    let dir = tempfile::tempdir().unwrap();
    let bad = write(dir.path(), "bad.key", "abcd\n");
    let o = run(&["convert", "-", "--to", "pskc", "--psk-file", &bad], None);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("16, 24 or 32"), "{}", stderr(&o));
}
