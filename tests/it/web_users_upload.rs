//! The user list of the batch page uploaded as a file (or pasted) through the same preview:
//! one UPN per line and `serial,upn` pairs, a file and a pasted list refused together, a file
//! that is not UTF-8 refused, a list of 10,000 users taken (the import route's body limit,
//! not a page's 16 KB), and the nav naming the batch and its tokens.

use axum::http::StatusCode;
use totp_toolset::web::WebConfig;

use crate::support::html::{field_error, unescape};
use crate::support::router::{Browser, TestApp};

/// A batch of `n` tokens (serials 00000001...), imported from a vendor CSV.
async fn batch_of(server: &TestApp, n: usize) -> Browser {
    let mut b = server.browser();
    b.get("/csv").await;
    let mut file = String::from("Serial Number;Secret Key;Time Interval;Manufacturer;Model\r\n");
    for i in 1..=n {
        let seed = data_encoding::HEXLOWER.encode(&(i as u64).to_be_bytes().repeat(3)[..20]);
        file.push_str(&format!("{i:08};{seed};30;Token2;C202\r\n"));
    }
    let r = b
        .post_multipart(
            "/csv/import",
            &[
                ("file", Some("seeds.csv"), file.as_bytes()),
                ("from", None, b"auto"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let r = b.post("/csv/import/add", &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    b
}

fn upns(server: &TestApp, b: &Browser) -> Vec<Option<String>> {
    server
        .state
        .sessions
        .with(b.session_id(), |s| {
            s.batch().records().iter().map(|r| r.upn.clone()).collect()
        })
        .unwrap()
}

async fn upload_users(b: &mut Browser, pasted: &str, file: &[u8]) -> crate::support::router::Resp {
    b.post_multipart(
        "/csv/users",
        &[
            ("users", None, pasted.as_bytes()),
            ("file", Some("users.csv"), file),
        ],
    )
    .await
}

#[tokio::test]
async fn an_uploaded_list_goes_through_the_same_preview_as_a_pasted_one() {
    let server = TestApp::new();
    let mut b = batch_of(&server, 3).await;
    // The nav names the batch and counts its tokens.
    let html = b.get("/csv").await.text();
    assert!(html.contains(">Batch <span class=\"count"), "{html}");
    assert!(html.contains("3 tokens"));
    assert!(html.contains("enctype=\"multipart/form-data\" class=\"form-grid\">\n    <div class=\"field wide\">\n      <label for=\"assign-users\">"));
    assert!(html.contains("<input id=\"assign-file\" name=\"file\" type=\"file\""));

    // One UPN per line, as Excel saves it (BOM, CRLF, a header, a trailing comma).
    let r = upload_users(
        &mut b,
        "",
        "\u{feff}UPN\r\nalice@contoso.com,\r\nnot a upn\r\nbob@contoso.com\r\n".as_bytes(),
    )
    .await;
    assert_eq!(
        (r.status, r.location().as_deref()),
        (StatusCode::SEE_OTHER, Some("/csv#assign-preview"))
    );
    // Previewed only; line 3 refused, the header and the trailing comma understood.
    assert_eq!(upns(&server, &b), [None, None, None]);
    let html = unescape(&b.get("/csv").await.text());
    for shown in [
        "2 assignments ready, 1 line refused",
        "<tr><td>00000001</td><td>alice@contoso.com</td></tr>",
        "<tr><td>3</td><td>upn</td>",
    ] {
        assert!(html.contains(shown), "{shown}: {html}");
    }
    b.post("/csv/users/apply", &[]).await;
    assert_eq!(
        upns(&server, &b),
        [
            Some("alice@contoso.com".into()),
            Some("bob@contoso.com".into()),
            None
        ]
    );

    // serial,upn pairs from a file: by serial, an unknown serial a refused line.
    upload_users(
        &mut b,
        "",
        b"serial;upn\n00000003;carol@contoso.com\n00000009;dave@contoso.com\n",
    )
    .await;
    let html = unescape(&b.get("/csv").await.text());
    let ready = html.contains("1 assignment ready, 1 line refused");
    assert!(
        ready && html.contains("00000009 is not in the batch"),
        "{html}"
    );
    b.post("/csv/users/apply", &[]).await;
    assert_eq!(upns(&server, &b)[2].as_deref(), Some("carol@contoso.com"));

    // A pasted list through the multipart form works as the plain form does.
    let r = upload_users(&mut b, "00000001,erin@contoso.com", b"").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(unescape(&b.get("/csv").await.text()).contains("1 assignment ready, 0 lines refused"));
}

#[tokio::test]
async fn a_file_and_a_pasted_list_together_or_a_file_not_utf8_are_refused_and_nothing_is_lost() {
    let server = TestApp::new();
    let mut b = batch_of(&server, 2).await;
    for (pasted, file, why) in [
        ("alice@contoso.com", &b"bob@contoso.com\n"[..], "not both"),
        ("", b"caf\xe9@contoso.com\n", "not UTF-8"),
        (" ", b"", "is empty"),
    ] {
        let r = upload_users(&mut b, pasted, file).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        let html = r.text();
        let error = field_error(&html, "assign-users").unwrap();
        assert!(error.contains(why), "{error}");
        // The pasted list is still in its box.
        assert!(html.contains(&format!(">{pasted}</textarea>")), "{html}");
    }
    assert_eq!(upns(&server, &b), [None, None]);
}

#[tokio::test]
async fn ten_thousand_users_fit_but_not_more_than_the_import_limit() {
    let server = TestApp::with_config(WebConfig {
        max_import_bytes: 1024 * 1024,
        ..WebConfig::default()
    });
    let mut b = batch_of(&server, 10).await;
    let users: String = (0..10_000)
        .map(|i| format!("user{i}@contoso.com\n"))
        .collect();
    assert!(users.len() > 100 * 1024);
    // Pasted (a plain form) and uploaded alike.
    let r = b.post("/csv/users", &[("users", &users)]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let html = unescape(&b.get("/csv").await.text());
    assert!(
        html.contains("10 assignments ready, 9990 lines refused"),
        "{}",
        html.len()
    );
    let r = upload_users(&mut b, "", users.as_bytes()).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);

    let huge = "x".repeat(2 * 1024 * 1024);
    let r = upload_users(&mut b, "", huge.as_bytes()).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(r.text().contains("--max-import-bytes"));
    let r = b.post("/csv/users", &[("users", &huge)]).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
}
