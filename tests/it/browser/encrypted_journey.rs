//! The batch journey with an encrypted vendor file, in a real headless Chromium against the
//! real binary, with JavaScript on and off: a Token2 seed file in Entra's format that the
//! vendor encrypted with a passphrase (`gpg --symmetric`) is uploaded with its passphrase,
//! previewed, added; users are assigned by pasting a list; the Entra CSV is downloaded as an
//! AES-256 ZIP, which 7-Zip opens to exactly the plain Entra CSV, and the Graph JSON encrypted
//! to an OpenPGP key after its fingerprint is shown, which `gpg -d` opens. Every page is checked
//! for console errors, CSP violations, foreign requests and seeds in URLs, and passes axe-core.

use crate::support::browser::start_journey;
use crate::support::gpg::{GnuPg, KEY_PASS};
use crate::support::seed_of;
use crate::support::tools::unzip_by_7zip;

const PASSPHRASE: &str = "token2 vendor passphrase";
const HAND_ON: &str = "hand it on safely 2024";

async fn journey(javascript: bool) {
    let seeds: Vec<(String, String)> = (11..=13).map(seed_of).collect();
    let mut secrets = vec![PASSPHRASE, HAND_ON];
    for (hex, b32) in &seeds {
        secrets.extend([hex.as_str(), b32.as_str()]);
    }
    let (_journey, origin, b) = start_journey(&[], javascript, "/csv").await;

    // Token2's file: Entra's columns, no users yet, encrypted by the vendor with a passphrase.
    let mut csv = String::from("upn,serial number,secret key,time interval,manufacturer,model\r\n");
    for (i, (_, b32)) in seeds.iter().enumerate() {
        csv.push_str(&format!(",7012345{i},{b32},30,Token2,C202\r\n"));
    }
    let vendor = GnuPg::new("Token2 <seeds@token2.example>");
    let message = vendor.make_from(
        &[
            "--armor",
            "--passphrase",
            PASSPHRASE,
            "--s2k-count",
            "65536",
            "--symmetric",
        ],
        csv.as_bytes(),
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("token2-seeds.csv.gpg");
    std::fs::write(&path, message).unwrap();
    b.fill("#import-pgp-passphrase", PASSPHRASE).await;
    let file_field = b.find("#import-file").await;
    file_field.send_keys(path.to_str().unwrap()).await.unwrap();
    b.click_and_load("form[action='/csv/import'] button[type=submit]")
        .await;
    let preview = b.text("#import-preview").await;
    assert!(preview.contains("3 tokens ready"), "{preview}");
    assert!(
        preview.contains("Opened the OpenPGP message (armored) with its passphrase."),
        "{preview}"
    );
    b.check_page(
        &origin,
        &secrets,
        "the batch page with an encrypted file's preview",
    )
    .await;
    b.submit("/csv/import/add", "Added 3 tokens to the batch.")
        .await;

    b.fill(
        "#assign-users",
        "alice@contoso.com\nbob@contoso.com\ncarol@contoso.com",
    )
    .await;
    b.click_and_load("form[action='/csv/users'] button[type=submit]")
        .await;
    b.submit("/csv/users/apply", "Assigned 3 users.").await;
    b.check_page(
        &origin,
        &secrets,
        "the batch page with the encrypted-download form",
    )
    .await;

    // The Entra CSV, handed on as an AES-256 ZIP.
    b.click("#encrypt-wrap-zip").await;
    b.fill("#encrypt-passphrase", HAND_ON).await;
    b.click("#encrypt-form button[type=submit]").await;
    let zip = b.wait_download("entra-oath-tokens.csv.zip").await;
    b.assert_clean(&origin, &secrets).await;
    if javascript {
        // The page knows the batch was saved: no warning before leaving it.
        let note = b
            .exec("return document.getElementById('unsaved-note').hidden;")
            .await;
        assert_eq!(note, serde_json::Value::Bool(true));
    }
    let shots = if javascript {
        "batch-encrypted"
    } else {
        "batch-encrypted-nojs"
    };
    b.screenshots(shots).await;

    // The Graph JSON to the helpdesk's OpenPGP key: its fingerprint is shown first.
    let helpdesk = GnuPg::new("Helpdesk <helpdesk@contoso.com>");
    let public_key = String::from_utf8(helpdesk.public_key()).unwrap();
    b.click("#encrypt-wrap-pgp-key").await;
    b.fill("#encrypt-passphrase", "").await;
    let format = b.find("#encrypt-format").await;
    format.select_by_value("graph-json").await.unwrap();
    b.fill("#encrypt-public-key", &public_key).await;
    b.click_and_load("#encrypt-form button[type=submit]").await;
    let shown = b.text("#encrypt-fingerprint").await.replace(' ', "");
    assert_eq!(shown, helpdesk.fingerprint);
    b.check_page(&origin, &secrets, "the key's fingerprint to confirm")
        .await;
    b.click("#encrypt-confirm button[type=submit]").await;
    let armored = b.wait_download("hardware-oath-devices.json.asc").await;
    let out = helpdesk.decrypt(&armored, KEY_PASS);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["value"].as_array().map(Vec::len), Some(3), "{json}");
    b.assert_clean(&origin, &secrets).await;
    b.close().await;
    std::fs::write(dir.path().join("out.zip"), zip).unwrap();
    let unpacked = unzip_by_7zip(dir.path(), HAND_ON, "out.zip");
    let mut expected =
        String::from("upn,serial number,secret key,time interval,manufacturer,model\r\n");
    for (i, (user, (_, b32))) in ["alice", "bob", "carol"].iter().zip(&seeds).enumerate() {
        expected.push_str(&format!(
            "{user}@contoso.com,7012345{i},{b32},30,Token2,C202\r\n"
        ));
    }
    assert_eq!(String::from_utf8(unpacked).unwrap(), expected);
}

/// With JavaScript, then without: the journey works either way.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_from_an_encrypted_vendor_file_with_and_without_javascript() {
    for javascript in [true, false] {
        journey(javascript).await;
    }
}
