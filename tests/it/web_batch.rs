//! The batch page through the router: a vendor file imported through its preview (refused
//! lines named, duplicates refused), users assigned from a pasted list, a UPN edited,
//! cleared and moved, the more-than-5 warning, every export downloaded and imported again
//! to the same batch, Entra's CSV byte for byte, the per-session and store-wide limits, the
//! import route's own body limit, and no seed in any message.

use axum::http::StatusCode;
use totp_toolset::web::{SessionConfig, WebConfig};

use crate::support::html::unescape;
use crate::support::router::{Browser, RFC_SEED, RFC_SEED_HEX, Resp, TestApp};

/// A seed of 20 bytes, all `n`, in hex and base32.
fn seed(n: u8) -> (String, String) {
    let bytes = [n; 20];
    (
        data_encoding::HEXLOWER.encode(&bytes),
        data_encoding::BASE32_NOPAD.encode(&bytes),
    )
}

/// A server that holds at most `max_batch` tokens a session, `max_batch_total` in all.
fn capped(max_batch: usize, max_batch_total: usize) -> TestApp {
    TestApp::with_sessions(SessionConfig {
        max_batch,
        max_batch_total,
        ..SessionConfig::default()
    })
}

/// A browser that has opened the batch page, so it holds a session.
async fn on_batch_page(server: &TestApp) -> Browser {
    let mut b = server.browser();
    b.get("/csv").await;
    b
}

async fn upload_parts(b: &mut Browser, parts: &[(&str, Option<&str>, &[u8])]) -> Resp {
    b.post_multipart("/csv/import", parts).await
}

/// Uploads `file`, a PSKC file encrypted with `password`.
async fn upload_pskc(b: &mut Browser, file: &[u8], password: &str) -> Resp {
    let parts = [
        ("file", Some("enc.pskc"), file),
        ("password", None, password.as_bytes()),
    ];
    upload_parts(b, &parts).await
}

/// A browser whose batch page previews [`vendor_file`], not added to the batch yet.
async fn vendor_file_previewed(server: &TestApp) -> Browser {
    let mut b = on_batch_page(server).await;
    let r = upload(&mut b, "token2.csv", &vendor_file()).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    assert_eq!(r.location().as_deref(), Some("/csv#import-preview"));
    b
}

/// Uploads `file` as the import form's file, format detected.
async fn upload(b: &mut Browser, name: &str, file: &[u8]) -> Resp {
    upload_parts(
        b,
        &[
            ("file", Some(name), file),
            ("text", None, b""),
            ("from", None, b"auto"),
            ("secret_encoding", None, b"auto"),
            ("psk", None, b""),
            ("password", None, b""),
        ],
    )
    .await
}

/// Pastes `users` (one UPN a line, or `serial,upn` pairs) into the assign form.
async fn paste_users(b: &mut Browser, users: &str) -> Resp {
    b.post("/csv/users", &[("users", users)]).await
}

/// Sets (or, empty, clears) the user of the token `serial` on the first page.
async fn set_upn(b: &mut Browser, serial: &str, upn: &str) -> Resp {
    b.post(
        "/csv/upn",
        &[("serial", serial), ("upn", upn), ("page", "1")],
    )
    .await
}

/// Moves the user of token `from` to token `to`.
async fn move_user(b: &mut Browser, from: &str, to: &str) -> Resp {
    b.post("/csv/move", &[("from", from), ("to", to)]).await
}

/// The batch page as the browser is shown it now, unescaped, after checking it says each
/// of `says`.
async fn batch_page_says(b: &mut Browser, says: &[&str]) -> String {
    let page = unescape(&b.get("/csv").await.text());
    for words in says {
        assert!(page.contains(words), "{words}: {page}");
    }
    page
}

/// A Token2-style seed file: BOM, `;`, CRLF, hex secrets, no upn column, leading zeros,
/// and three bad lines (a short seed, a serial twice, a seed twice).
fn vendor_file() -> Vec<u8> {
    let (s2, _) = seed(2);
    let (s3, _) = seed(3);
    let (s4, _) = seed(4);
    let text = format!(
        "\u{feff}Serial Number;Secret Key;Time Interval;Manufacturer;Model\r\n\
         00012345;{RFC_SEED_HEX};30;Token2;C202\r\n\
         00012346;{s2};30;Token2;C202\r\n\
         00012347;313233;30;Token2;C202\r\n\
         00012345;{s3};30;Token2;C202\r\n\
         00012348;{s2};30;Token2;C202\r\n\
         00012349;{s4};30;Token2;C202\r\n"
    );
    text.into_bytes()
}

fn records(_server: &TestApp, b: &Browser) -> Vec<(String, String, u32, Option<String>)> {
    b.batch_records(|r| {
        let seed = r.secret.to_base32().to_string();
        (r.serial.clone(), seed, r.period(), r.upn.clone())
    })
}

/// No seed of the fixtures, in any spelling, is in `text`.
fn assert_no_seed(text: &str) {
    for n in 2..=4u8 {
        let (hex, b32) = seed(n);
        assert!(
            !text.contains(&hex) && !text.contains(&b32),
            "seed {n} shown"
        );
    }
    assert!(!text.contains(RFC_SEED_HEX) && !text.contains(RFC_SEED));
    assert!(!text.contains("313233;"));
}

/// Imports the vendor file, adds it, and assigns three users by pasted list.
async fn assigned_batch(server: &TestApp) -> Browser {
    let mut b = vendor_file_previewed(server).await;
    let r = b.post("/csv/import/add", &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let r = paste_users(
        &mut b,
        "alice@contoso.com\nbob@contoso.com\ncarol@contoso.com\n",
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let r = b.post("/csv/users/apply", &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    b
}

#[tokio::test]
async fn a_vendor_file_is_previewed_with_its_refused_lines_then_added() {
    let server = TestApp::new();
    let mut b = vendor_file_previewed(&server).await;
    // Nothing joined yet.
    assert!(records(&server, &b).is_empty());
    let html = b.get("/csv").await.text();
    let page = unescape(&html);
    assert!(
        page.contains("Read from token2.csv: 3 tokens ready"),
        "{page}"
    );
    assert!(page.contains("Format: <strong>csv</strong>"));
    assert!(page.contains("seeds read as <strong>hex</strong>"));
    assert!(page.contains("3 lines refused"));
    let refused = page
        .split("id=\"import-refused\"")
        .nth(1)
        .unwrap()
        .split("</table>")
        .next()
        .unwrap()
        .to_string();
    for (line, field, reason) in [
        ("4", "secret key", "bits"),
        ("5", "serial number", "earlier in the file"),
        ("6", "secret key", "earlier in the file"),
    ] {
        assert!(
            refused.contains(&format!("<tr><td>{line}</td><td>{field}</td><td>")),
            "line {line}: {refused}"
        );
        let row = refused
            .split(&format!("<tr><td>{line}</td>"))
            .nth(1)
            .unwrap()
            .split("</tr>")
            .next()
            .unwrap();
        assert!(row.contains(reason), "line {line}: {row}");
    }
    assert!(page.contains("Add 3 tokens"));
    assert_no_seed(&html);

    let r = b.post("/csv/import/add", &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let html = b.get("/csv").await.text();
    assert!(html.contains("Added 3 tokens to the batch."));
    assert!(!html.contains("id=\"import-preview\""));
    let got = records(&server, &b);
    let serials: Vec<&str> = got.iter().map(|r| r.0.as_str()).collect();
    assert_eq!(serials, ["00012345", "00012346", "00012349"]);
    assert_eq!(got[0].1, RFC_SEED);
    assert_eq!(got[1].1, seed(2).1);
    assert!(got.iter().all(|r| r.2 == 30 && r.3.is_none()));

    // The same file again: every line is now a duplicate of the batch, nothing to add.
    upload(&mut b, "token2.csv", &vendor_file()).await;
    let html = batch_page_says(&mut b, &["0 tokens ready", "is already in the batch"]).await;
    assert!(!html.contains("action=\"/csv/import/add\""));
    assert_no_seed(&html);
    let r = b.post("/csv/import/discard", &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(records(&server, &b).len(), 3);
    // Adding after the discard: nothing waits.
    assert_eq!(
        b.post("/csv/import/add", &[]).await.status,
        StatusCode::CONFLICT
    );
}

#[tokio::test]
async fn pasted_text_imports_like_a_file_and_bad_forms_are_named() {
    let server = TestApp::new();
    let mut b = on_batch_page(&server).await;
    let (_, b32) = seed(7);
    let uri =
        format!("otpauth://totp/Token2:alice%40contoso.com?secret={b32}&serial=77&model=C202");
    let r = upload_parts(
        &mut b,
        &[("text", None, uri.as_bytes()), ("from", None, b"auto")],
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let html = b.get("/csv").await.text();
    assert!(
        html.contains("Read from pasted text: 1 token ready"),
        "{html}"
    );
    assert!(html.contains("Format: <strong>otpauth</strong>"));

    // Neither a file nor text.
    let r = upload_parts(&mut b, &[("from", None, b"auto")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.text()
            .contains("Choose a file to upload, or paste the file")
    );
    // An unknown format and a bad pre-shared key, each beside its field.
    let r = upload_parts(
        &mut b,
        &[
            ("text", None, uri.as_bytes()),
            ("from", None, b"xlsx"),
            ("psk", None, b"nothex"),
        ],
    )
    .await;
    r.assert_field_error("import-from", "not one of auto");
    r.assert_field_error("import-psk", "hex");
    // A file we cannot read at all: the whole file is refused, with why.
    let r = upload(&mut b, "notes.txt", b"hello\nworld\n").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(unescape(&r.text()).contains("cannot tell the file's format"));
    // Not multipart at all.
    let r = b.post("/csv/import", &[("text", "x")]).await;
    assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    // The preview of the otpauth line is still there.
    batch_page_says(&mut b, &["1 token ready"]).await;
}

#[tokio::test]
async fn users_are_assigned_from_a_pasted_list_through_a_preview() {
    let server = TestApp::new();
    let mut b = vendor_file_previewed(&server).await;
    b.post("/csv/import/add", &[]).await;

    let r = paste_users(
        &mut b,
        "alice@contoso.com\nnot-a-upn\nbob@contoso.com\ncarol@contoso.com\ndave@contoso.com\n",
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.location().as_deref(), Some("/csv#assign-preview"));
    // Previewed only.
    assert!(records(&server, &b).iter().all(|r| r.3.is_none()));
    let html = batch_page_says(
        &mut b,
        &[
            "3 assignments ready, 2 lines refused",
            "<tr><td>00012345</td><td>alice@contoso.com</td></tr>",
            "<tr><td>00012349</td><td>carol@contoso.com</td></tr>",
            "<tr><td>2</td><td>upn</td>",
            "<tr><td>5</td><td>upn</td><td>no unassigned token is left for dave@contoso.com",
        ],
    )
    .await;
    // The pasted list stays in its box.
    assert!(html.contains("not-a-upn"));

    let r = b.post("/csv/users/apply", &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let upns: Vec<Option<String>> = records(&server, &b).into_iter().map(|r| r.3).collect();
    assert_eq!(
        upns,
        [
            Some("alice@contoso.com".to_string()),
            Some("bob@contoso.com".to_string()),
            Some("carol@contoso.com".to_string())
        ]
    );
    let html = b.get("/csv").await.text();
    assert!(html.contains("Assigned 3 users. 2 lines were refused"));

    // serial,upn pairs: by serial; an unknown serial is a refused line.
    paste_users(
        &mut b,
        "serial,upn\n00012346,erin@contoso.com\n99999,frank@contoso.com\n",
    )
    .await;
    batch_page_says(
        &mut b,
        &[
            "1 assignment ready, 1 line refused",
            "99999 is not in the batch",
        ],
    )
    .await;
    b.post("/csv/users/apply", &[]).await;
    assert_eq!(
        records(&server, &b)[1].3.as_deref(),
        Some("erin@contoso.com")
    );
    // An empty list is refused beside its box.
    let r = paste_users(&mut b, "  \n").await;
    r.assert_field_error("assign-users", "is empty");
}

#[tokio::test]
async fn a_upn_is_edited_cleared_and_moved() {
    let server = TestApp::new();
    let mut b = assigned_batch(&server).await;
    // A row's user form opens from its "Change user" link (no script needed).
    let html = b.get("/csv").await.text();
    assert!(!html.contains("id=\"upn-1\""));
    assert!(html.contains("href=\"/csv?page=1&amp;edit=1#upn-1\""));
    let html = b.get("/csv?page=1&edit=1").await.text();
    assert!(html.contains("<label for=\"upn-1\">User of serial 00012346 (empty: no user)</label>"));
    assert!(html.contains("id=\"upn-1\" name=\"upn\" value=\"bob@contoso.com\""));
    // Clear bob's token: it has no user now.
    let r = set_upn(&mut b, "00012346", "").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(records(&server, &b)[1].3, None);
    // A bad UPN is refused beside that row's field, and nothing changes.
    let r = set_upn(&mut b, "00012345", "alice@contoso,com").await;
    let message = r.assert_field_error("upn-0", "User: ");
    assert!(message.starts_with("User: "), "{message}");
    assert_eq!(
        records(&server, &b)[0].3.as_deref(),
        Some("alice@contoso.com")
    );
    // Alice's token is reused for her replacement token: move her to the free one.
    let r = move_user(&mut b, "00012345", "00012346").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let got = records(&server, &b);
    assert_eq!(got[0].3, None);
    assert_eq!(got[1].3.as_deref(), Some("alice@contoso.com"));
    batch_page_says(
        &mut b,
        &["Moved alice@contoso.com from serial 00012345 to serial 00012346"],
    )
    .await;
    // Moving onto a token that has a user, or from an unknown serial, is refused.
    let r = move_user(&mut b, "00012346", "00012349").await;
    r.assert_field_error("move-to", "already belongs to carol@contoso.com");
    let r = move_user(&mut b, "42", "00012345").await;
    r.assert_field_error("move-from", "42 is not in the batch");
}

#[tokio::test]
async fn more_than_five_tokens_for_one_user_is_a_warning() {
    let server = TestApp::new();
    let mut b = on_batch_page(&server).await;
    let mut file = String::from("serial,secret\n");
    for n in 10..17u8 {
        file.push_str(&format!("{n},{}\n", seed(n).1));
    }
    upload(&mut b, "seven.csv", file.as_bytes()).await;
    b.post("/csv/import/add", &[]).await;
    let users = "same@contoso.com\n".repeat(6);
    paste_users(&mut b, &users).await;
    let html = b.get("/csv").await.text();
    assert!(
        html.contains("same@contoso.com would hold 6 OATH tokens; Entra allows at most 5"),
        "{html}"
    );
    b.post("/csv/users/apply", &[]).await;
    batch_page_says(&mut b, &["Warning: same@contoso.com would hold 6"]).await;
    // A seventh by hand: warned again, still done (a token may be moving).
    let r = set_upn(&mut b, "16", "same@contoso.com").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    batch_page_says(&mut b, &["would hold 7 OATH tokens"]).await;
}

const ENTRA_HEADER: &str = "upn,serial number,secret key,time interval,manufacturer,model\r\n";

#[tokio::test]
async fn entra_csv_is_byte_exact_and_lists_what_it_leaves_out() {
    let server = TestApp::new();
    let mut b = assigned_batch(&server).await;
    // One more token without a user: left out of the CSV, in the Graph JSON.
    let (_, b32) = seed(9);
    let r = b
        .post(
            "/csv/rows",
            &[
                ("upn", ""),
                ("serial", "00012350"),
                ("secret", &b32),
                ("interval", "30"),
                ("manufacturer", "Token2"),
                ("model", "C202"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let html = batch_page_says(
        &mut b,
        &[
            "Download Entra CSV (3 rows)",
            "Download Graph JSON (4 devices)",
            "1 token is left out of Entra's CSV, and why",
            "Serial 00012350: has no user",
        ],
    )
    .await;
    // Manufacturer and model stick: the form offers what was typed last.
    assert!(html.contains("id=\"row-model\" name=\"model\" value=\"C202\""));
    assert!(!html.contains("placeholder=\"C202\""));

    let r = b.get("/csv/download").await;
    assert_eq!(r.status, StatusCode::OK);
    let want = format!(
        "{ENTRA_HEADER}alice@contoso.com,00012345,{RFC_SEED},30,Token2,C202\r\n\
         bob@contoso.com,00012346,{},30,Token2,C202\r\n\
         carol@contoso.com,00012349,{},30,Token2,C202\r\n",
        seed(2).1,
        seed(4).1
    );
    assert_eq!(r.text(), want);
    let r = b.get("/csv/graph.json").await;
    let json: serde_json::Value = serde_json::from_slice(&r.bytes).unwrap();
    assert_eq!(json["value"].as_array().unwrap().len(), 4);
    assert_eq!(json["value"][3]["serialNumber"], "00012350");
}

#[tokio::test]
async fn the_page_says_how_graph_json_is_uploaded() {
    let server = TestApp::new();
    let mut b = server.browser();
    let html = batch_page_says(&mut b, &["<strong>PATCH</strong>"]).await;
    assert!(html.contains(
        "Invoke-MgGraphRequest -Method PATCH -Uri \"https://graph.microsoft.com/beta/directory/authenticationMethodDevices/hardwareOathDevices\""
    ));
    assert!(html.contains("Policy.ReadWrite.AuthenticationMethod"));
    assert!(html.contains("cannot use Entra's newer hardware OATH token features"));
}

/// Each export, imported into a fresh session, gives the same tokens back.
#[tokio::test]
async fn every_export_imports_again_to_the_same_batch() {
    let server = TestApp::new();
    let mut b = assigned_batch(&server).await;
    let original = records(&server, &b);
    for (path, carries_upn) in [
        ("/csv/download", true),
        ("/csv/graph.json", false),
        ("/csv/export/pskc", false),
        ("/csv/export/privacyidea", false),
        ("/csv/export/otpauth", false),
    ] {
        let file = b.get(path).await;
        assert_eq!(file.status, StatusCode::OK, "{path}");
        assert_eq!(file.header("cache-control").as_deref(), Some("no-store"));
        assert!(
            file.header("content-disposition")
                .unwrap()
                .starts_with("attachment; filename=")
        );
        let mut fresh = on_batch_page(&server).await;
        let r = upload(&mut fresh, "export", &file.bytes).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{path}: {}", r.text());
        let preview = fresh.get("/csv").await.text();
        assert!(preview.contains("3 tokens ready"), "{path}: {preview}");
        assert!(preview.contains("0 lines refused"), "{path}");
        fresh.post("/csv/import/add", &[]).await;
        let back = records(&server, &fresh);
        assert_eq!(back.len(), original.len(), "{path}");
        for (a, o) in back.iter().zip(&original) {
            assert_eq!((&a.0, &a.1, a.2), (&o.0, &o.1, o.2), "{path}");
            if carries_upn {
                assert_eq!(a.3, o.3, "{path}");
            }
        }
    }
    // The inventory has no seed at all.
    let inv = b.get("/csv/export/inventory").await;
    assert_eq!(inv.status, StatusCode::OK);
    let text = inv.text();
    assert!(text.contains("00012345") && text.contains("alice@contoso.com"));
    assert_no_seed(&text);

    // PSKC with a password: too short is refused beside the field; a good one encrypts,
    // and the file reads back only with it.
    let r = b.post("/csv/export/pskc", &[("password", "short")]).await;
    r.assert_field_error("pskc-password", "at least 8");
    let r = b
        .post("/csv/export/pskc", &[("password", "correct horse battery")])
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let file = r.bytes;
    assert!(!String::from_utf8_lossy(&file).contains(RFC_SEED));
    let mut fresh = on_batch_page(&server).await;
    let r = upload_pskc(&mut fresh, &file, "wrong password!").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(unescape(&r.text()).contains("The file was not read"));
    assert_no_seed(&r.text());
    let r = upload_pskc(&mut fresh, &file, "correct horse battery").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    fresh.post("/csv/import/add", &[]).await;
    let back = records(&server, &fresh);
    assert_eq!(
        back.iter().map(|r| &r.1).collect::<Vec<_>>(),
        original.iter().map(|r| &r.1).collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn the_per_session_limit_refuses_lines_past_it_and_names_the_setting() {
    let server = capped(2, SessionConfig::default().max_batch_total);
    let mut b = vendor_file_previewed(&server).await;
    let full = "<tr><td>7</td><td>line</td><td>the batch is full: it holds at most 2 tokens (setting --max-batch / TOTP_TOOLSET_MAX_BATCH)";
    batch_page_says(&mut b, &["2 tokens ready", full]).await;
    b.post("/csv/import/add", &[]).await;
    assert_eq!(records(&server, &b).len(), 2);
}

#[tokio::test]
async fn the_total_limit_across_sessions_is_enforced_by_the_store() {
    let server = capped(SessionConfig::default().max_batch, 4);
    let mut a = vendor_file_previewed(&server).await;
    a.post("/csv/import/add", &[]).await;
    assert_eq!(server.state.sessions.budget().used(), 3);

    let mut b = on_batch_page(&server).await;
    let mut file = String::from("serial,secret\n");
    for n in 20..22u8 {
        file.push_str(&format!("S{n},{}\n", seed(n).1));
    }
    upload(&mut b, "two.csv", file.as_bytes()).await;
    let r = b.post("/csv/import/add", &[]).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    let text = unescape(&r.text());
    assert!(
        text.contains("the server holds at most 4 tokens across all sessions (setting --max-batch-total / TOTP_TOOLSET_MAX_BATCH_TOTAL)"),
        "{text}"
    );
    assert!(records(&server, &b).is_empty());
    // The preview is kept; a single typed token still fits, then no more.
    batch_page_says(&mut b, &["2 tokens ready"]).await;
    let row = |serial: &'static str, secret: String| {
        vec![
            ("serial", serial.to_string()),
            ("secret", secret),
            ("interval", "30".to_string()),
            ("manufacturer", "Token2".to_string()),
            ("model", "C202".to_string()),
        ]
    };
    let fields = row("T1", seed(30).1);
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert_eq!(
        b.post("/csv/rows", &fields).await.status,
        StatusCode::SEE_OTHER
    );
    let fields = row("T2", seed(31).1);
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = b.post("/csv/rows", &fields).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().contains("--max-batch-total"));
    // Clearing one session gives its tokens back.
    a.post("/csv/clear", &[("confirm", "yes")]).await;
    assert_eq!(server.state.sessions.budget().used(), 1);
    assert_eq!(
        b.post("/csv/import/add", &[]).await.status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(server.state.sessions.budget().used(), 3);
    // A session that ends gives its tokens back too.
    server.advance(31 * 60);
    server.state.sessions.sweep(server.state.now());
    assert_eq!(server.state.sessions.budget().used(), 0);
}

/// Previews, archives and user lists wait in their sessions before they join a batch: one
/// store-wide budget bounds them all, so many sessions each holding a large upload cannot
/// exhaust memory. A refusal names the setting and loses nothing already waiting.
#[tokio::test]
async fn what_waits_in_sessions_is_bounded_across_sessions_and_names_the_setting() {
    let server = TestApp::with_sessions(SessionConfig {
        max_pending_bytes: 4096,
        ..SessionConfig::default()
    });
    let waiting = || server.state.sessions.pending_budget().used();
    let mut a = on_batch_page(&server).await;
    let a_users = "someone.with.a.long.name@contoso.com\n".repeat(80);
    assert_eq!(
        paste_users(&mut a, &a_users).await.status,
        StatusCode::SEE_OTHER
    );
    let held = waiting();
    assert!((a_users.len()..4096).contains(&held), "{held}");

    let mut b = on_batch_page(&server).await;
    let b_users = "another.long.user.name@contoso.com\n".repeat(40);
    let r = paste_users(&mut b, &b_users).await;
    let message = r.assert_field_error(
        "assign-users",
        "--max-pending-bytes / TOTP_TOOLSET_MAX_PENDING_BYTES",
    );
    assert!(message.contains("4096 bytes"), "{message}");
    // The list typed is shown again, and nothing more is held.
    assert!(unescape(&r.text()).contains(&b_users[..200]));
    assert_eq!(waiting(), held);

    let mut file = String::from("serial,secret\n");
    for n in 0..10u8 {
        file.push_str(&format!("B{n:03},{}\n", seed(n.wrapping_add(100)).1));
    }
    let r = upload(&mut b, "ten.csv", file.as_bytes()).await;
    r.assert_field_error("import", "--max-pending-bytes");
    assert_eq!(waiting(), held);
    // A's list still waits; once it is gone, B's file can wait.
    batch_page_says(&mut a, &["someone.with.a.long.name@contoso.com"]).await;
    assert_eq!(
        a.post("/csv/users/discard", &[]).await.status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(waiting(), 0);
    assert_eq!(
        upload(&mut b, "ten.csv", file.as_bytes()).await.status,
        StatusCode::SEE_OTHER
    );
    batch_page_says(&mut b, &["10 tokens ready"]).await;
    assert!(waiting() > 0);
    assert_eq!(
        b.post("/csv/import/discard", &[]).await.status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(waiting(), 0);
}

#[tokio::test]
async fn the_import_route_takes_large_files_and_every_other_route_keeps_16_kb() {
    let server = TestApp::with_config(WebConfig {
        max_import_bytes: 2 * 1024 * 1024,
        ..WebConfig::default()
    });
    let mut b = on_batch_page(&server).await;
    // A 2,000-token vendor file, about 100 KB.
    let mut file = String::from("serial number,secret key,time interval,manufacturer,model\n");
    for i in 0..2000u32 {
        let mut bytes = [0u8; 20];
        bytes[..4].copy_from_slice(&i.to_be_bytes());
        bytes[4] = 0xA5;
        file.push_str(&format!(
            "{i:08},{},30,Token2,C202\n",
            data_encoding::BASE32_NOPAD.encode(&bytes)
        ));
    }
    assert!(file.len() > 64 * 1024);
    let r = upload(&mut b, "big.csv", file.as_bytes()).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    batch_page_says(&mut b, &["2000 tokens ready"]).await;
    b.post("/csv/import/add", &[]).await;
    let html = b.get("/csv").await.text();
    // Paged: 100 tokens on the first page, and a way to the others.
    assert_eq!(html.matches("/delete\" class=\"row-action\"").count(), 100);
    assert!(html.contains("Page 1 of 20"));
    assert!(
        b.get("/csv?page=20")
            .await
            .text()
            .contains("<td data-label=\"Serial number\">00001999</td>")
    );

    // Past the import limit: 413, naming the import setting.
    let huge = vec![b'A'; 3 * 1024 * 1024];
    let r = upload(&mut b, "huge.csv", &huge).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(r.text().contains("--max-import-bytes"));
    // Every other route still refuses more than 16 KB (but the user list, which has the
    // import route's limit: tests/it/web_users_upload.rs).
    let padding = "x".repeat(20 * 1024);
    for path in ["/csv/rows", "/csv/upn", "/seed/import"] {
        let r = b
            .post(path, &[("users", &padding), ("upn", &padding)])
            .await;
        assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{path}");
    }
    assert_eq!(records(&server, &b).len(), 2000);
}
