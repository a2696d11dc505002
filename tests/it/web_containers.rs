//! Encrypted seed files on the batch page, through the router: files made by gpg (to a key,
//! with a passphrase, armored and binary, compressed or not, signed) and by 7-Zip (AES-256)
//! and `zip -e` (ZipCrypto) import to the right seeds; a wrong passphrase and a truncated
//! file each get their own message and leave the batch as it was; an archive of several
//! files asks which one; what we hand on encrypted, `gpg -d` and `7zz x` open to exactly
//! the plain download's bytes; private keys and passphrases are refused over plain HTTP from
//! another machine; and no passphrase or key is ever in a response.

use std::path::Path;

use axum::http::StatusCode;
use totp_toolset::web::host::AllowedHosts;
use totp_toolset::web::{SessionConfig, WebConfig};

use crate::support::gpg::{GnuPg, KEY_PASS, text};
use crate::support::html::{field_error, unescape};
use crate::support::router::{Browser, Resp, TestApp};
use crate::support::seed_of as seed;
use crate::support::tools::{unzip_by_7zip, zip_by_7zip_aes, zip_by_info_zip};

const MESSAGE_PASS: &str = "vendor message passphrase";
const ZIP_PASS: &str = "vendor zip password 2024";
/// Passphrases for handing on: one too short, one long enough.
const SHORT: &str = "short pass";
const LONG: &str = "long enough passphrase";

/// A Token2 seed file in Entra's format, three tokens without users.
fn vendor_csv() -> Vec<u8> {
    let mut out = String::from("upn,serial number,secret key,time interval,manufacturer,model\r\n");
    for n in 1..=3u8 {
        out.push_str(&format!(",6023456{n},{},30,Token2,C202\r\n", seed(n).1));
    }
    out.into_bytes()
}

/// Every way the test's seeds are written.
fn seed_texts() -> Vec<String> {
    (1..=3u8)
        .flat_map(|n| {
            let (h, b) = seed(n);
            [h, b]
        })
        .collect()
}

/// Posts the import form with `file` and the extra fields given.
async fn import(b: &mut Browser, file: &[u8], extra: &[(&str, Option<&str>, &[u8])]) -> Resp {
    let mut parts: Vec<(&str, Option<&str>, &[u8])> = vec![
        ("file", Some("seeds.csv"), file),
        ("from", None, b"auto"),
        ("secret_encoding", None, b"auto"),
    ];
    parts.extend_from_slice(extra);
    b.post_multipart("/csv/import", &parts).await
}

/// The batch's (serial, base32 seed) pairs.
fn batch(b: &Browser) -> Vec<(String, String)> {
    b.batch_records(|r| (r.serial.clone(), r.secret.to_base32().to_string()))
}

/// `gpg --symmetric` of the vendor file with [`MESSAGE_PASS`] (and `extra` options).
fn symmetric(vendor: &GnuPg, extra: &[&str]) -> Vec<u8> {
    let args = [
        &["--passphrase", MESSAGE_PASS, "--s2k-count", "65536"][..],
        extra,
    ]
    .concat();
    vendor.make_from(&[&args[..], &["--symmetric"]].concat(), &vendor_csv())
}

fn expected_batch() -> Vec<(String, String)> {
    (1..=3u8)
        .map(|n| (format!("6023456{n}"), seed(n).1))
        .collect()
}

/// Imports, checks the preview holds `preview_has`, adds, checks the seeds, and clears.
async fn import_and_check(
    b: &mut Browser,
    file: &[u8],
    extra: &[(&str, Option<&str>, &[u8])],
    preview_has: &[&str],
) {
    let r = import(b, file, extra).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let page = unescape(&b.get("/csv").await.text());
    assert!(page.contains("3 tokens ready"), "{page}");
    for want in preview_has {
        assert!(page.contains(want), "{want}: {page}");
    }
    let r = b.post("/csv/import/add", &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(batch(b), expected_batch());
    let r = b.post("/csv/clear", &[("confirm", "yes")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
}

/// Nothing secret in a response: no seed, and none of `secrets`.
fn assert_no_secret(r: &Resp, secrets: &[&str]) {
    let body = r.text();
    for s in seed_texts()
        .iter()
        .map(String::as_str)
        .chain(secrets.iter().copied())
    {
        assert!(!body.contains(s), "{s} in a response: {body}");
    }
}

#[tokio::test]
async fn gpg_messages_import_to_the_right_seeds() {
    let vendor = GnuPg::new("Token2 Seeds <seeds@token2.example>");
    let fpr = vendor.fingerprint.clone();
    let plain = vendor_csv();
    let secret_key = vendor.secret_key();
    let public_key = vendor.public_key();
    let server = TestApp::new();
    let mut b = server.browser();
    b.get("/csv").await;

    let key_parts: Vec<(&str, Option<&str>, &[u8])> = vec![
        ("pgp_key", Some("vendor.key"), &secret_key),
        ("pgp_passphrase", None, KEY_PASS.as_bytes()),
    ];
    let pass_parts: Vec<(&str, Option<&str>, &[u8])> =
        vec![("pgp_passphrase", None, MESSAGE_PASS.as_bytes())];

    // To the key: armored and binary, compressed (gpg's default) and not.
    for args in [
        vec!["--armor", "--encrypt", "-r", &fpr],
        vec!["--encrypt", "-r", &fpr],
        vec!["--compress-level", "0", "--encrypt", "-r", &fpr],
    ] {
        let message = vendor.make_from(&args, &plain);
        import_and_check(
            &mut b,
            &message,
            &key_parts,
            &["Opened the OpenPGP message"],
        )
        .await;
    }
    // With a passphrase: armored and binary.
    for args in [&["--armor"][..], &["--compress-algo", "zlib"]] {
        let message = symmetric(&vendor, args);
        import_and_check(&mut b, &message, &pass_parts, &["with its passphrase"]).await;
    }

    // Signed and encrypted: verified with the signer's key, reported NOT verified without.
    let signed = vendor.make_from(
        &[
            "--passphrase",
            KEY_PASS,
            "--local-user",
            &fpr,
            "--sign",
            "--encrypt",
            "-r",
            &fpr,
        ],
        &plain,
    );
    let mut with_signer = key_parts.clone();
    with_signer.push(("pgp_signer", Some("vendor.pub"), &public_key));
    import_and_check(&mut b, &signed, &with_signer, &["signature verified"]).await;
    import_and_check(&mut b, &signed, &key_parts, &["NOT verified"]).await;

    // Clear-signed (readable text, signature below): no secret needed; verified with the
    // signer's key, NOT verified without it.
    let clear = vendor.make_from(&["--passphrase", KEY_PASS, "--clearsign"], &plain);
    let signer_part = [("pgp_signer", Some("vendor.pub"), &public_key[..])];
    for (parts, says) in [
        (&signer_part[..], "signature verified"),
        (&[][..], "NOT verified"),
    ] {
        import_and_check(&mut b, &clear, parts, &[says, "was not encrypted"]).await;
    }

    // Signed by someone else than the signer given: refused, nothing kept.
    let other = GnuPg::new("Someone Else <else@example.com>");
    let mut wrong_signer = key_parts.clone();
    let other_public = other.public_key();
    wrong_signer.push(("pgp_signer", Some("else.pub"), &other_public));
    let r = import(&mut b, &signed, &wrong_signer).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let message = field_error(&r.text(), "import-pgp-signer").expect("signer error");
    assert!(message.contains("not by the signer key given"), "{message}");
    assert!(batch(&b).is_empty());
    assert_no_secret(&r, &[KEY_PASS, MESSAGE_PASS]);
}

#[tokio::test]
async fn a_wrong_passphrase_and_a_truncated_message_have_their_own_messages() {
    let vendor = GnuPg::new("Token2 Seeds <seeds@token2.example>");
    let message = symmetric(&vendor, &[]);
    let server = TestApp::new();
    let mut b = server.browser();
    b.get("/csv").await;

    let wrong = "not the vendor's passphrase";
    let r = import(
        &mut b,
        &message,
        &[
            ("pgp_passphrase", None, wrong.as_bytes()),
            ("secret_encoding", None, b"base32"),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let page = r.text();
    let m = field_error(&page, "import-pgp-passphrase").expect("passphrase error");
    assert!(m.contains("wrong passphrase"), "{m}");
    assert!(m.contains("the batch is unchanged"), "{m}");
    // The form's other choices are kept; the passphrase is not written back.
    assert!(page.contains(r#"<option value="auto" selected>"#), "{page}");
    assert_no_secret(&r, &[wrong]);

    let cut = message.get(..message.len() - 20).unwrap();
    let r = import(
        &mut b,
        cut,
        &[("pgp_passphrase", None, MESSAGE_PASS.as_bytes())],
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let m = unescape(&r.text());
    assert!(m.contains("damaged or truncated"), "{m}");
    assert!(!m.contains("wrong passphrase"), "{m}");
    assert_no_secret(&r, &[MESSAGE_PASS]);

    // No passphrase at all: said so, beside the passphrase field.
    let r = import(&mut b, &message, &[]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let m = field_error(&r.text(), "import-pgp-passphrase").expect("missing passphrase");
    assert!(m.contains("is encrypted: give its passphrase"), "{m}");

    // Neither left anything behind: no batch, no preview.
    assert!(batch(&b).is_empty());
    let page = b.get("/csv").await.text();
    assert!(!page.contains("import-preview"), "{page}");
}

#[tokio::test]
async fn password_zips_from_7zip_and_zip_import() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("seeds.csv"), vendor_csv()).unwrap();
    std::fs::write(dir.path().join("readme.txt"), "Your Token2 seeds\n").unwrap();
    zip_by_7zip_aes(dir.path(), ZIP_PASS, "aes.zip", &["seeds.csv"]);
    zip_by_info_zip(dir.path(), ZIP_PASS, "crypto.zip", "seeds.csv");
    zip_by_7zip_aes(
        dir.path(),
        ZIP_PASS,
        "two.zip",
        &["seeds.csv", "readme.txt"],
    );
    let read = |name: &str| std::fs::read(dir.path().join(name)).unwrap();
    let server = TestApp::new();
    let mut b = server.browser();
    b.get("/csv").await;
    let password: Vec<(&str, Option<&str>, &[u8])> =
        vec![("zip_password", None, ZIP_PASS.as_bytes())];

    import_and_check(&mut b, &read("aes.zip"), &password, &["(AES-256)"]).await;
    import_and_check(
        &mut b,
        &read("crypto.zip"),
        &password,
        &["Warning: Weak protection", "ZipCrypto, which is weak"],
    )
    .await;

    // Several files: the admin picks one; the page lists them, and the password is asked once.
    let r = import(&mut b, &read("two.zip"), &password).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    assert_eq!(r.location().as_deref(), Some("/csv#import-choose"));
    let page = unescape(&b.get("/csv").await.text());
    assert!(page.contains("holds several files"), "{page}");
    assert!(page.contains("readme.txt ("), "{page}");
    assert!(!page.contains(ZIP_PASS));
    let r = b
        .post("/csv/import/entry", &[("entry", "readme.txt")])
        .await;
    assert_eq!(
        r.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a text that is no seed file"
    );
    // The archive is still there to pick again.
    let r = b.post("/csv/import/entry", &[("entry", "seeds.csv")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let page = unescape(&b.get("/csv").await.text());
    assert!(page.contains("3 tokens ready"), "{page}");
    assert!(
        !page.contains("holds several files"),
        "the archive is gone once read"
    );
    b.post("/csv/import/add", &[]).await;
    assert_eq!(batch(&b), expected_batch());
    b.post("/csv/clear", &[("confirm", "yes")]).await;

    // Wrong password, and a truncated archive: two messages, nothing kept.
    let r = import(
        &mut b,
        &read("aes.zip"),
        &[("zip_password", None, b"wrong password here")],
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let m = field_error(&r.text(), "import-zip-password").expect("password error");
    assert!(m.contains("wrong passphrase"), "{m}");
    assert_no_secret(&r, &["wrong password here", ZIP_PASS]);
    let aes = read("aes.zip");
    let r = import(&mut b, aes.get(..aes.len() - 40).unwrap(), &password).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let m = unescape(&r.text());
    assert!(m.contains("damaged or truncated"), "{m}");
    assert_no_secret(&r, &[ZIP_PASS]);
    assert!(batch(&b).is_empty());
}

/// A batch of the three tokens, two of them with users.
async fn filled_batch(server: &TestApp) -> Browser {
    let mut b = server.browser();
    b.get("/csv").await;
    let r = import(&mut b, &vendor_csv(), &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    b.post("/csv/import/add", &[]).await;
    let r = b
        .post(
            "/csv/users",
            &[("users", "alice@contoso.com\nbob@contoso.com")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    b.post("/csv/users/apply", &[]).await;
    b
}

/// The plain download of each format, as the batch page serves it.
const PLAIN: [(&str, &str); 6] = [
    ("entra-csv", "/csv/download"),
    ("graph-json", "/csv/graph.json"),
    ("pskc", "/csv/export/pskc"),
    ("privacyidea", "/csv/export/privacyidea"),
    ("otpauth", "/csv/export/otpauth"),
    ("inventory", "/csv/export/inventory"),
];

async fn encrypted(b: &mut Browser, fields: &[(&str, &str)]) -> Resp {
    let parts: Vec<(&str, Option<&str>, &[u8])> = fields
        .iter()
        .map(|(k, v)| (*k, None, v.as_bytes()))
        .collect();
    b.post_multipart("/csv/export/encrypted", &parts).await
}

/// The encrypted-download form with a format, a wrap and one more field.
async fn wrapped(b: &mut Browser, format: &str, wrap: &str, field: (&str, &str)) -> Resp {
    encrypted(b, &[("format", format), ("wrap", wrap), field]).await
}

/// The value of the hidden field `name` in a page.
fn hidden(page: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = page
        .find(&marker)
        .unwrap_or_else(|| panic!("no {name}: {page}"))
        + marker.len();
    let end = page[start..].find('"').unwrap() + start;
    unescape(&page[start..end])
}

#[tokio::test]
async fn every_export_is_handed_on_encrypted_and_opens_with_gpg_and_7zip() {
    let recipient = GnuPg::new("Helpdesk <helpdesk@contoso.com>");
    let public_key = String::from_utf8(recipient.public_key()).unwrap();
    let server = TestApp::new();
    let mut b = filled_batch(&server).await;
    let dir = tempfile::tempdir().unwrap();
    let pass = "hand-on passphrase 2024";

    for (format, path) in PLAIN {
        let plain = b.get(path).await;
        assert_eq!(plain.status, StatusCode::OK, "{format}");

        // OpenPGP with a passphrase: gpg -d gives the plain download back.
        let r = wrapped(&mut b, format, "pgp-passphrase", ("passphrase", pass)).await;
        assert_eq!(r.status, StatusCode::OK, "{format}: {}", r.text());
        assert!(
            r.header("content-disposition").unwrap().ends_with(".asc\""),
            "{format}"
        );
        assert_no_secret(&r, &[pass]);
        let out = recipient.decrypt(&r.bytes, pass);
        assert!(out.status.success(), "{format}: {}", text(&out.stderr));
        assert_eq!(out.stdout, plain.bytes, "{format} through gpg -d");

        // An AES-256 ZIP: 7-Zip gives the plain download back.
        let r = wrapped(&mut b, format, "zip", ("passphrase", pass)).await;
        assert_eq!(r.status, StatusCode::OK, "{format}");
        assert_eq!(r.header("content-type").as_deref(), Some("application/zip"));
        let zip = format!("{format}.zip");
        std::fs::write(dir.path().join(&zip), &r.bytes).unwrap();
        let unpacked = unzip_by_7zip(dir.path(), pass, &zip);
        assert_eq!(unpacked, plain.bytes, "{format} through 7zz x");

        // To a public key: the fingerprint first, then the file for gpg -d.
        let r = wrapped(&mut b, format, "pgp-key", ("public_key", &public_key)).await;
        assert_eq!(r.status, StatusCode::OK, "{format}");
        let page = r.text();
        // Shown as gpg --fingerprint groups it, in fours.
        let shown = page.replace(' ', "");
        assert!(
            shown.contains(&recipient.fingerprint),
            "fingerprint not shown: {page}"
        );
        assert!(page.contains("helpdesk@contoso.com"), "{page}");
        let r = encrypted(
            &mut b,
            &[
                ("format", format),
                ("wrap", "pgp-key"),
                ("key_data", &hidden(&page, "key_data")),
                ("fingerprint", &hidden(&page, "fingerprint")),
            ],
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{format}: {}", r.text());
        assert_no_secret(&r, &[]);
        let out = recipient.decrypt(&r.bytes, KEY_PASS);
        assert!(out.status.success(), "{format}: {}", text(&out.stderr));
        assert_eq!(out.stdout, plain.bytes, "{format} to the key");
    }

    // A generated passphrase: shown once, and it opens the file.
    let r = wrapped(&mut b, "entra-csv", "zip", ("generate", "yes")).await;
    assert_eq!(r.status, StatusCode::OK);
    let generated = hidden(&r.text(), "passphrase");
    assert_eq!(generated.len(), 39, "{generated}");
    let r = wrapped(&mut b, "entra-csv", "zip", ("passphrase", &generated)).await;
    std::fs::write(dir.path().join("generated.zip"), &r.bytes).unwrap();
    let unpacked = unzip_by_7zip(dir.path(), &generated, "generated.zip");
    assert_eq!(unpacked, b.get("/csv/download").await.bytes);

    // Too short, a fingerprint that does not match, a key that is not one: refused, and the
    // passphrase is not written back.
    let r = wrapped(&mut b, "pskc", "pgp-passphrase", ("passphrase", SHORT)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let m = field_error(&r.text(), "encrypt-passphrase").expect("passphrase error");
    assert!(m.contains("at least 12"), "{m}");
    assert_no_secret(&r, &[SHORT]);
    let r = encrypted(
        &mut b,
        &[
            ("format", "pskc"),
            ("wrap", "pgp-key"),
            ("public_key", &public_key),
            ("fingerprint", "0000 1111"),
        ],
    )
    .await;
    assert_eq!(
        r.status,
        StatusCode::OK,
        "shown again to confirm, not downloaded"
    );
    assert!(r.text().contains("Check the recipient"));
    let r = wrapped(&mut b, "pskc", "pgp-key", ("public_key", "not a key")).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(field_error(&r.text(), "encrypt-public-key").is_some());
    // The key as an uploaded binary file (gpg --export): the same fingerprint to confirm.
    let binary = recipient.make_from(&["--export", &recipient.fingerprint], b"");
    let parts: Vec<(&str, Option<&str>, &[u8])> = vec![
        ("format", None, b"inventory"),
        ("wrap", None, b"pgp-key"),
        ("key_file", Some("helpdesk.gpg"), &binary),
    ];
    let r = b.post_multipart("/csv/export/encrypted", &parts).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let confirm = r.text();
    assert_eq!(
        hidden(&confirm, "fingerprint").replace(' ', ""),
        recipient.fingerprint
    );
    // A private key pasted by mistake: refused, and never written back into the page.
    let private = String::from_utf8(recipient.secret_key()).unwrap();
    let r = wrapped(&mut b, "pskc", "pgp-key", ("public_key", &private)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let m = field_error(&r.text(), "encrypt-public-key").expect("key error");
    assert!(m.contains("this is a private key"), "{m}");
    for line in private.lines().filter(|l| l.len() > 40) {
        assert!(!r.text().contains(line), "the private key was echoed");
    }
}

/// A server bound to every interface, reached from `host`, with or without TLS.
fn remote_server(tls: bool) -> TestApp {
    TestApp::with_config(WebConfig {
        sessions: SessionConfig {
            tls,
            ..SessionConfig::default()
        },
        allowed_hosts: AllowedHosts::for_bind("0.0.0.0:8080".parse().unwrap(), []),
        ..WebConfig::default()
    })
}

/// A browser that reaches `server` as `host`, and the batch page it is shown.
async fn batch_page_from(server: &TestApp, host: &str) -> (Browser, String) {
    let mut b = server.browser();
    b.host = host.into();
    let page = b.get("/csv").await.text();
    (b, page)
}

#[tokio::test]
async fn keys_and_passphrases_cross_a_network_only_inside_tls() {
    let vendor = GnuPg::new("Token2 Seeds <seeds@token2.example>");
    let message = symmetric(&vendor, &[]);
    let pass: Vec<(&str, Option<&str>, &[u8])> =
        vec![("pgp_passphrase", None, MESSAGE_PASS.as_bytes())];

    // Plain HTTP from another machine: said on the form, refused on sending.
    let server = remote_server(false);
    let (mut b, page) = batch_page_from(&server, "10.0.0.5:8080").await;
    assert!(page.contains("id=\"import-cleartext\""), "{page}");
    let r = import(&mut b, &message, &pass).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let m = unescape(&r.text());
    assert!(m.contains("crosses the network in clear text"), "{m}");
    assert!(m.contains("HTTPS"), "{m}");
    assert!(batch(&b).is_empty());
    let r = wrapped(&mut b, "pskc", "zip", ("passphrase", LONG)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.text().contains("id=\"encrypt-cleartext\""),
        "{}",
        r.text()
    );
    assert_no_secret(&r, &[LONG]);

    // The same server reached on its own machine (a container published on 127.0.0.1).
    let (mut local, page) = batch_page_from(&server, "localhost:8080").await;
    assert!(!page.contains("import-cleartext") && !page.contains("import-key-travels"));
    let r = import(&mut local, &message, &pass).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());

    // Over TLS from another machine: allowed, and the form says where the key goes.
    let server = remote_server(true);
    let (mut b, page) = batch_page_from(&server, "10.0.0.5:8080").await;
    assert!(page.contains("id=\"import-key-travels\""), "{page}");
    let r = import(&mut b, &message, &pass).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
}

/// curl with this test's cookie jar (in `work`), as a browser posting from the server's own
/// pages; fails the test on an error status.
fn curl(work: &Path, url: &str, args: &[&str]) -> Vec<u8> {
    let base = ["-sS", "--fail-with-body", "-b", "cookies", "-c", "cookies"];
    let all = [
        &base[..],
        &["-H", "Sec-Fetch-Site: same-origin"],
        args,
        &[url],
    ]
    .concat();
    let mut cmd = std::process::Command::new("curl");
    cmd.args(&all).current_dir(work);
    let out = cmd.output().expect("run curl (Debian curl)");
    assert!(out.status.success(), "curl {args:?}: {}", text(&out.stderr));
    out.stdout
}

/// The real server with an empty TMPDIR of its own: importing a gpg message and a 7-Zip
/// archive and handing the batch on encrypted leave nothing in it, and its debug log holds
/// no seed and no passphrase.
#[test]
fn the_server_opens_and_writes_encrypted_files_without_touching_disk_or_logs() {
    let server_tmp = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    let server = crate::support::process::ServerProcess::start_with_env(
        &[],
        &[("TMPDIR", server_tmp.path().to_str().unwrap())],
    );
    let url = server.url.clone();
    let jar = work.path();
    let vendor = GnuPg::new("Token2 Seeds <seeds@token2.example>");
    let message = symmetric(&vendor, &[]);
    std::fs::write(work.path().join("seeds.gpg"), &message).unwrap();
    std::fs::write(work.path().join("seeds.csv"), vendor_csv()).unwrap();
    zip_by_7zip_aes(work.path(), ZIP_PASS, "seeds.zip", &["seeds.csv"]);
    let seeds_gpg = format!("file=@{}", work.path().join("seeds.gpg").display());
    let seeds_zip = format!("file=@{}", work.path().join("seeds.zip").display());

    curl(jar, &format!("{url}/csv"), &[]);
    for (file, secret) in [
        (&seeds_gpg, format!("pgp_passphrase={MESSAGE_PASS}")),
        (&seeds_zip, format!("zip_password={ZIP_PASS}")),
    ] {
        curl(
            jar,
            &format!("{url}/csv/import"),
            &["-F", file, "-F", &secret, "-F", "from=auto"],
        );
        let page = text(&curl(jar, &format!("{url}/csv"), &[]));
        assert!(page.contains("3 tokens ready"), "{page}");
        curl(jar, &format!("{url}/csv/import/add"), &["-d", ""]);
        if file == &seeds_gpg {
            // The same tokens again would be refused as duplicates: start over.
            curl(jar, &format!("{url}/csv/clear"), &["-d", "confirm=yes"]);
        }
    }

    let hand_on = "hand-on passphrase 2024";
    let zip = curl(
        jar,
        &format!("{url}/csv/export/encrypted"),
        &[
            "-F",
            "format=privacyidea",
            "-F",
            "wrap=zip",
            "-F",
            &format!("passphrase={hand_on}"),
        ],
    );
    std::fs::write(work.path().join("out.zip"), &zip).unwrap();
    let unpacked = text(&unzip_by_7zip(work.path(), hand_on, "out.zip"));
    for n in 1..=3u8 {
        assert!(unpacked.contains(&seed(n).0), "{unpacked}");
    }
    let armored = curl(
        jar,
        &format!("{url}/csv/export/encrypted"),
        &[
            "-F",
            "format=otpauth",
            "-F",
            "wrap=pgp-passphrase",
            "-F",
            &format!("passphrase={hand_on}"),
        ],
    );
    let out = vendor.decrypt(&armored, hand_on);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains(&seed(1).1));

    let left: Vec<_> = std::fs::read_dir(server_tmp.path()).unwrap().collect();
    assert!(left.is_empty(), "the server wrote to TMPDIR: {left:?}");
    let logs = server.output();
    assert!(
        logs.contains("/csv/export/encrypted"),
        "debug logs expected: {logs}"
    );
    for secret in seed_texts()
        .iter()
        .map(String::as_str)
        .chain([MESSAGE_PASS, ZIP_PASS, hand_on])
    {
        assert!(!logs.contains(secret), "{secret} in the server's output");
    }
}
