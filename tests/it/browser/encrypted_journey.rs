//! The batch journey with an encrypted vendor file, in a real headless Chromium against the
//! real binary, with JavaScript on and off: a Token2 seed file in Entra's format that the
//! vendor encrypted with a passphrase (`gpg --symmetric`) is uploaded with its passphrase,
//! previewed, added; users are assigned by pasting a list; and the Entra CSV is downloaded as
//! an AES-256 ZIP, which 7-Zip opens to exactly the plain Entra CSV. Every page is checked
//! for console errors, CSP violations, foreign requests and seeds in URLs, and passes axe-core.

use std::process::Command;

use crate::support::browser::{BROWSER_LOCK, Browser};
use crate::support::gpg::GnuPg;
use crate::support::process::ServerProcess;

const PASSPHRASE: &str = "token2 vendor passphrase";
const HAND_ON: &str = "hand it on safely 2024";

/// 20 bytes, all `n`: (hex, base32).
fn seed(n: u8) -> (String, String) {
    let bytes = [n; 20];
    (
        data_encoding::HEXLOWER.encode(&bytes),
        data_encoding::BASE32_NOPAD.encode(&bytes),
    )
}

async fn journey(javascript: bool) {
    let _one_at_a_time = BROWSER_LOCK.lock().await;
    let server = ServerProcess::start(&[]);
    let origin = server.url.clone();
    let b = Browser::start_with(javascript).await;
    let seeds: Vec<(String, String)> = (11..=13).map(seed).collect();
    let secrets: Vec<&str> = seeds
        .iter()
        .flat_map(|(h, b)| [h.as_str(), b.as_str()])
        .chain([PASSPHRASE, HAND_ON])
        .collect();

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

    b.goto(&format!("{origin}/csv")).await;
    b.find("#import-file")
        .await
        .send_keys(path.to_str().unwrap())
        .await
        .unwrap();
    b.fill("#import-pgp-passphrase", PASSPHRASE).await;
    b.click_and_load("form[action='/csv/import'] button[type=submit]")
        .await;
    let preview = b.text("#import-preview").await;
    assert!(preview.contains("3 tokens ready"), "{preview}");
    assert!(
        preview.contains("Opened the OpenPGP message (armored) with its passphrase."),
        "{preview}"
    );
    b.assert_clean(&origin, &secrets).await;
    if javascript {
        b.assert_accessible("the batch page with an encrypted file's preview")
            .await;
    }
    b.click_and_load("form[action='/csv/import/add'] button[type=submit]")
        .await;
    assert!(
        b.text("main > .notice.ok")
            .await
            .contains("Added 3 tokens to the batch.")
    );

    b.fill(
        "#assign-users",
        "alice@contoso.com\nbob@contoso.com\ncarol@contoso.com",
    )
    .await;
    b.click_and_load("form[action='/csv/users'] button[type=submit]")
        .await;
    b.click_and_load("form[action='/csv/users/apply'] button[type=submit]")
        .await;
    assert!(
        b.text("main > .notice.ok")
            .await
            .contains("Assigned 3 users.")
    );
    b.assert_clean(&origin, &secrets).await;
    if javascript {
        b.assert_accessible("the batch page with the encrypted-download form")
            .await;
    }

    // The Entra CSV, handed on as an AES-256 ZIP.
    b.click("#encrypt-wrap-zip").await;
    b.fill("#encrypt-passphrase", HAND_ON).await;
    b.click("#encrypt-form button[type=submit]").await;
    let zip = b.wait_download("entra-oath-tokens.csv.zip").await;
    std::fs::write(dir.path().join("out.zip"), zip).unwrap();
    let out = Command::new("7zz")
        .current_dir(dir.path())
        .args(["x", &format!("-p{HAND_ON}"), "-so", "out.zip"])
        .output()
        .expect("run 7zz");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let expected: String = ["alice", "bob", "carol"]
        .iter()
        .zip(&seeds)
        .enumerate()
        .map(|(i, (user, (_, b32)))| {
            format!("{user}@contoso.com,7012345{i},{b32},30,Token2,C202\r\n")
        })
        .collect();
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        format!("upn,serial number,secret key,time interval,manufacturer,model\r\n{expected}")
    );
    b.assert_clean(&origin, &secrets).await;
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_from_an_encrypted_vendor_file_with_javascript() {
    journey(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_from_an_encrypted_vendor_file_without_javascript() {
    journey(false).await;
}
