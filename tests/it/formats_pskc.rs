//! PSKC against independent implementations: files python-pskc writes (plain, pre-shared
//! key, PBKDF2) import to the same seeds; files we write are read by python-pskc to the
//! same seeds and pass `pskctool --validate`. Wrong keys, wrong passwords and tampered
//! ValueMACs are refused, never turned into seeds.

use std::path::Path;
use std::process::Command;

use crate::support;
use totp_toolset::otp::{Algorithm, Params, Secret};
use totp_toolset::tokens::formats::{Keys, ReadOptions, pskc};
use totp_toolset::tokens::{Source, TokenRecord};
use zeroize::Zeroizing;

const PYTHON: &str = "/usr/bin/python3";
const PSK_HEX: &str = "12345678901234567890123456789012";

/// Writes a PSKC file with python-pskc: three TOTP keys and one HOTP key, protected as
/// `mode` says (`plain`, `psk128`, `psk192`, `psk256`, `pbkdf2`).
fn python_writes(dir: &Path, mode: &str) -> std::path::PathBuf {
    let out = dir.join(format!("{mode}.pskcxml"));
    let script = r#"
import sys, binascii, pskc
mode, out, psk, password = sys.argv[1:5]
p = pskc.PSKC()
def key(serial, hexseed, alg, digits, interval, suite, model):
    k = p.add_key(serial=serial, manufacturer="Feitian", model=model,
                  secret=binascii.unhexlify(hexseed), algorithm=alg,
                  response_length=digits, response_encoding="DECIMAL")
    if interval:
        k.time_interval = interval
        k.time_offset = 0
    k.algorithm_suite = suite
    k.id = "k" + serial
    return k
T = "urn:ietf:params:xml:ns:keyprov:pskc:totp"
key("0001234", "3132333435363738393031323334353637383930", T, 6, 30, "HMAC-SHA1", "c200")
key("0001235", "3132333435363738393031323334353637383930313233343536373839303132", T, 8, 60, "HMAC-SHA256", "c200")
k = key("0001236", "48656c6c6f21deadbeef", T, 6, 30, "HMAC-SHA1", "c100")
k.key_userid = "carol@contoso.com"
key("0001237", "aabbccddeeff00112233", "urn:ietf:params:xml:ns:keyprov:pskc:hotp", 6, None, "HMAC-SHA1", "h100")
if mode == "psk128":
    p.encryption.setup_preshared_key(key=binascii.unhexlify(psk), key_name="Pre-shared-key")
elif mode == "psk192":
    p.encryption.setup_preshared_key(key=binascii.unhexlify(psk + psk[:16]), key_name="K192", algorithm="aes192-cbc")
elif mode == "psk256":
    p.encryption.setup_preshared_key(key=binascii.unhexlify(psk * 2), key_name="K256", algorithm="aes256-cbc")
    p.mac.setup(algorithm="hmac-sha256")
elif mode == "pbkdf2":
    p.encryption.setup_pbkdf2(password, iterations=1000)
p.write(out)
"#;
    let status = Command::new(PYTHON)
        .args([
            "-c",
            script,
            mode,
            out.to_str().unwrap(),
            PSK_HEX,
            "s3cret pass",
        ])
        .status()
        .expect("run /usr/bin/python3 (Debian python3-pskc)");
    assert!(status.success(), "python-pskc failed for {mode}");
    out
}

fn options(psk: Option<Vec<u8>>, password: Option<&str>) -> ReadOptions {
    ReadOptions {
        keys: Keys {
            psk: psk.map(Zeroizing::new),
            password: password.map(|p| Zeroizing::new(p.to_string())),
        },
        ..ReadOptions::default()
    }
}

fn psk(hex: &str) -> Vec<u8> {
    data_encoding::HEXLOWER_PERMISSIVE
        .decode(hex.as_bytes())
        .unwrap()
}

fn check_python_keys(import: &totp_toolset::tokens::Import) {
    let got: Vec<(String, String, Params, String, Option<String>)> = import
        .candidates
        .iter()
        .map(|c| {
            let r = &c.record;
            (
                r.serial.clone(),
                r.secret.to_hex().to_string(),
                r.params,
                r.model.clone(),
                r.upn.clone(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (
                "0001234".to_string(),
                "3132333435363738393031323334353637383930".to_string(),
                Params::new(Algorithm::Sha1, 6, 30).unwrap(),
                "c200".to_string(),
                None
            ),
            (
                "0001235".to_string(),
                "3132333435363738393031323334353637383930313233343536373839303132".to_string(),
                Params::new(Algorithm::Sha256, 8, 60).unwrap(),
                "c200".to_string(),
                None
            ),
            (
                "0001236".to_string(),
                "48656c6c6f21deadbeef".to_string(),
                Params::new(Algorithm::Sha1, 6, 30).unwrap(),
                "c100".to_string(),
                Some("carol@contoso.com".to_string())
            ),
        ]
    );
    assert!(
        import
            .candidates
            .iter()
            .all(|c| c.record.manufacturer == "Feitian")
    );
    assert_eq!(import.refused.len(), 1, "{:?}", import.refused);
    assert_eq!(import.refused[0].field, "type");
    assert!(
        import.refused[0]
            .reason
            .contains("counter-based, Entra takes TOTP only"),
        "{:?}",
        import.refused
    );
}

#[test]
fn python_pskc_plain_file_imports_to_the_same_seeds() {
    let dir = tempfile::tempdir().unwrap();
    let file = python_writes(dir.path(), "plain");
    let import = pskc::read(&std::fs::read(file).unwrap(), &ReadOptions::default()).unwrap();
    check_python_keys(&import);
}

#[test]
fn python_pskc_pre_shared_key_files_import_with_the_key_and_refuse_a_wrong_one() {
    let dir = tempfile::tempdir().unwrap();
    for mode in ["psk128", "psk192", "psk256"] {
        let bytes = std::fs::read(python_writes(dir.path(), mode)).unwrap();
        let key = match mode {
            "psk128" => psk(PSK_HEX),
            "psk192" => psk(&format!("{PSK_HEX}{}", &PSK_HEX[..16])),
            _ => psk(&PSK_HEX.repeat(2)),
        };
        let import = pskc::read(&bytes, &options(Some(key.clone()), None)).unwrap();
        check_python_keys(&import);

        let err = pskc::read(&bytes, &ReadOptions::default()).unwrap_err();
        assert!(err.0.contains("--psk-file"), "{err}");
        let mut wrong = key.clone();
        wrong[0] ^= 1;
        let err = pskc::read(&bytes, &options(Some(wrong), None)).unwrap_err();
        assert!(err.0.contains("wrong pre-shared key"), "{mode}: {err}");
        let err = pskc::read(&bytes, &options(Some(vec![7; 24]), None)).unwrap_err();
        assert!(err.0.contains("wrong pre-shared key"), "{mode}: {err}");
    }
}

#[test]
fn python_pskc_pbkdf2_file_imports_with_the_password_and_refuses_a_wrong_one() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = std::fs::read(python_writes(dir.path(), "pbkdf2")).unwrap();
    let import = pskc::read(&bytes, &options(None, Some("s3cret pass"))).unwrap();
    check_python_keys(&import);
    let err = pskc::read(&bytes, &options(None, Some("s3cret pasS"))).unwrap_err();
    assert!(err.0.contains("wrong password"), "{err}");
    let err = pskc::read(&bytes, &ReadOptions::default()).unwrap_err();
    assert!(err.0.contains("--password-file"), "{err}");
}

#[test]
fn a_tampered_value_mac_refuses_that_key_only() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(python_writes(dir.path(), "psk128")).unwrap();
    // Flip one character of the first ValueMAC.
    let start = text.find("<pskc:ValueMAC>").unwrap() + "<pskc:ValueMAC>".len();
    let mut bytes = text.into_bytes();
    bytes[start] = if bytes[start] == b'A' { b'B' } else { b'A' };
    let import = pskc::read(&bytes, &options(Some(psk(PSK_HEX)), None)).unwrap();
    assert_eq!(import.candidates.len(), 2);
    let mac = import
        .refused
        .iter()
        .find(|r| r.field == "secret key")
        .expect("the tampered key is refused");
    assert!(mac.reason.contains("ValueMAC does not match"), "{mac:?}");
}

fn records() -> Vec<TokenRecord> {
    let rec = |serial: &str, hex: &str, params: Params, upn: Option<&str>| TokenRecord {
        serial: serial.into(),
        secret: Secret::parse_hex(hex).unwrap(),
        params,
        manufacturer: "Token2 & Co <EU>".into(),
        model: "C202".into(),
        upn: upn.map(String::from),
        source: Source::Typed,
        added_at: 0,
    };
    vec![
        rec(
            "00060234567",
            "3132333435363738393031323334353637383930",
            Params::default(),
            Some("alice@contoso.com"),
        ),
        rec(
            "60234568",
            "3132333435363738393031323334353637383930313233343536373839303132",
            Params::new(Algorithm::Sha256, 8, 60).unwrap(),
            None,
        ),
    ]
}

/// What python-pskc reads from `file`: one line per key.
fn python_reads(file: &Path, password: Option<&str>) -> String {
    let script = r#"
import sys, pskc
p = pskc.PSKC(sys.argv[1])
if len(sys.argv) > 2:
    p.encryption.derive_key(sys.argv[2])
for k in p.keys:
    print(k.serial, k.secret.hex(), k.algorithm.rsplit(":", 1)[-1], k.algorithm_suite,
          k.response_length, k.time_interval, k.manufacturer, k.model, k.key_userid)
"#;
    let mut cmd = Command::new(PYTHON);
    cmd.args(["-c", script, file.to_str().unwrap()]);
    if let Some(p) = password {
        cmd.arg(p);
    }
    let out = cmd.output().expect("run python-pskc");
    assert!(
        out.status.success(),
        "python-pskc: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

const PYTHON_SEES: &str = "00060234567 3132333435363738393031323334353637383930 totp HMAC-SHA1 6 30 Token2 & Co <EU> C202 alice@contoso.com\n\
60234568 3132333435363738393031323334353637383930313233343536373839303132 totp HMAC-SHA256 8 60 Token2 & Co <EU> C202 None\n";

/// The schema check of Debian's pskctool. (Its own parser does not read encrypted values
/// and warns about them on stderr; the schema verdict is what counts.)
fn pskctool_validates(file: &Path) {
    let out = Command::new("pskctool")
        .arg("--validate")
        .arg(file)
        .output()
        .expect("run pskctool (Debian pskctool)");
    // pskctool exits 0 even when validation fails: its verdict is the word it prints.
    assert!(
        out.status.success() && String::from_utf8_lossy(&out.stdout).trim() == "OK",
        "pskctool --validate: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn our_plain_pskc_reads_in_python_pskc_and_validates() {
    let dir = tempfile::tempdir().unwrap();
    let export = pskc::write(&records(), None).unwrap();
    let file = dir.path().join("ours.pskcxml");
    std::fs::write(&file, export.bytes.as_slice()).unwrap();
    assert_eq!(python_reads(&file, None), PYTHON_SEES);
    pskctool_validates(&file);
}

#[test]
fn our_password_pskc_reads_in_python_pskc_validates_and_reads_back() {
    let dir = tempfile::tempdir().unwrap();
    let password = pskc::PskcPassword {
        password: "correct horse",
        iterations: 1000,
    };
    let export = pskc::write(&records(), Some(&password)).unwrap();
    let text = std::str::from_utf8(&export.bytes).unwrap();
    assert!(
        !text.contains("MTIzNDU2Nzg5MDEyMzQ1Njc4OTA"),
        "no plain seed in base64"
    );
    let file = dir.path().join("ours-pw.pskcxml");
    std::fs::write(&file, export.bytes.as_slice()).unwrap();
    assert_eq!(python_reads(&file, Some("correct horse")), PYTHON_SEES);
    pskctool_validates(&file);

    let import = pskc::read(&export.bytes, &options(None, Some("correct horse"))).unwrap();
    let back: Vec<TokenRecord> = import.candidates.into_iter().map(|c| c.record).collect();
    assert_eq!(back.len(), 2);
    for (a, b) in back.iter().zip(records()) {
        assert_eq!(
            (&a.serial, &a.secret, a.params),
            (&b.serial, &b.secret, b.params)
        );
        assert_eq!(
            (&a.manufacturer, &a.model, &a.upn),
            (&b.manufacturer, &b.model, &b.upn)
        );
    }
    let err = pskc::read(&export.bytes, &options(None, Some("wrong horse"))).unwrap_err();
    assert!(err.0.contains("wrong password"), "{err}");
}

#[test]
fn pskctool_does_fail_a_file_out_of_schema_order() {
    let dir = tempfile::tempdir().unwrap();
    let export = pskc::write(&records(), None).unwrap();
    let text = std::str::from_utf8(&export.bytes).unwrap().replacen(
        "   <pskc:Policy>",
        "   <pskc:Policy/>\n   <pskc:UserId>x</pskc:UserId>\n   <pskc:Policy>",
        1,
    );
    let file = dir.path().join("bad.pskcxml");
    std::fs::write(&file, text).unwrap();
    let out = Command::new("pskctool")
        .arg("--validate")
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "FAIL");
}

#[test]
fn xml_trouble_is_a_clear_error() {
    support::assert_files_refused(
        pskc::read,
        &[
            (b"<a>", "well-formed"),
            (b"<!DOCTYPE x [<!ENTITY a \"b\">]><x/>", "DTD"),
            (b"<Foo/>", "KeyContainer"),
            (
                b"<KeyContainer xmlns=\"urn:ietf:params:xml:ns:keyprov:pskc\" Version=\"1.0\"/>",
                "no KeyPackage",
            ),
        ],
    );
}
