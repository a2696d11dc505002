//! The CSV page through the router: adding rows (each field's bad inputs), delete, clear,
//! the CSV download byte for byte, the Graph JSON, caps, and sessions kept apart.

use axum::http::StatusCode;
use totp_toolset::web::SessionConfig;

use crate::support::html::{field_error, input_value};
use crate::support::router::{Browser, RFC_SEED, RFC_SEED_HEX, Refused, Resp, TestApp};

fn row<'a>(
    upn: &'a str,
    serial: &'a str,
    secret: &'a str,
    interval: &'a str,
    model: &'a str,
) -> Vec<(&'a str, &'a str)> {
    vec![
        ("upn", upn),
        ("serial", serial),
        ("secret", secret),
        ("interval", interval),
        ("manufacturer", "Token2"),
        ("model", model),
    ]
}

/// Posts the add-row form filled as [`row`] fills it.
async fn post_row(
    b: &mut Browser,
    upn: &str,
    serial: &str,
    secret: &str,
    interval: &str,
    model: &str,
) -> Resp {
    b.post("/csv/rows", &row(upn, serial, secret, interval, model))
        .await
}

/// The two rows of tests/fixtures/entra.csv: one from the current token, one typed.
async fn golden_session(server: &TestApp) -> Browser {
    let mut b = server.session_with(RFC_SEED).await;
    let r = post_row(&mut b, "alice@contoso.com", "60234567", "", "30", "C202").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    assert_eq!(r.location().as_deref(), Some("/csv"));
    let r = post_row(
        &mut b,
        "bob@contoso.com",
        "60234568",
        "jbsw y3dp ehpk 3pxp jbsw y3dp ehpk 3pxp",
        "60",
        "C302",
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    b
}

fn row_count(html: &str) -> usize {
    html.matches("/delete\" class=\"row-action\"").count()
}

#[tokio::test]
async fn download_matches_the_golden_file_byte_for_byte() {
    let server = TestApp::new();
    let mut b = golden_session(&server).await;
    let html = b.get("/csv").await.text();
    assert_eq!(row_count(&html), 2);
    assert!(
        html.contains("<td data-label=\"UPN\">alice@contoso.com</td>")
            && html.contains("<td data-label=\"Serial number\">60234568</td>")
    );
    assert!(html.contains("Added bob@contoso.com (serial 60234568) as row 2."));
    // Not downloaded yet: the pages tell their script to warn before leaving.
    assert!(html.contains("data-unsaved-rows=\"2\""));

    let r = b.get("/csv/download").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        b.get("/otp")
            .await
            .text()
            .contains("data-unsaved-rows=\"0\""),
        "downloaded: nothing left to warn about"
    );
    assert_eq!(
        r.header("content-type").as_deref(),
        Some("text/csv; charset=utf-8")
    );
    assert_eq!(
        r.header("content-disposition").as_deref(),
        Some("attachment; filename=\"entra-oath-tokens.csv\"")
    );
    assert_eq!(r.header("cache-control").as_deref(), Some("no-store"));
    assert_eq!(r.bytes, include_bytes!("../fixtures/entra.csv").to_vec());
}

#[tokio::test]
async fn graph_json_export() {
    let server = TestApp::new();
    let mut b = golden_session(&server).await;
    let r = b.get("/csv/graph.json").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        r.header("content-type").as_deref(),
        Some("application/json")
    );
    assert!(
        r.header("content-disposition")
            .unwrap()
            .starts_with("attachment")
    );
    let v: serde_json::Value = serde_json::from_slice(&r.bytes).unwrap();
    assert_eq!(v["@context"], "#$delta");
    let devices = v["value"].as_array().unwrap();
    assert_eq!(devices.len(), 2);
    assert_eq!(devices[0]["@contentId"], "1");
    assert_eq!(devices[0]["serialNumber"], "60234567");
    assert_eq!(devices[0]["secretKey"], RFC_SEED);
    assert_eq!(devices[0]["timeIntervalInSeconds"], 30);
    assert_eq!(devices[0]["hashFunction"], "hmacsha1");
    assert_eq!(devices[1]["@contentId"], "2");
    assert_eq!(devices[1]["secretKey"], "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP");
    assert_eq!(devices[1]["timeIntervalInSeconds"], 60);
    assert_eq!(devices[1]["model"], "C302");
}

#[tokio::test]
async fn sha256_token_goes_only_to_the_graph_json() {
    let server = TestApp::new();
    let mut b = golden_session(&server).await;
    b.import("otpauth://totp/x?secret=KRSXG5CTMVRXEZLUKRSXG5CT&algorithm=SHA256")
        .await;
    let fields = row("carol@contoso.com", "60234569", "", "30", "C202");
    let r = b.post("/csv/rows", &fields).await;
    let message = r.assert_field_error("row-secret", "SHA-256");
    assert!(message.contains("Graph JSON"), "{message}");

    let mut graph = fields.clone();
    graph.push(("graph_only", "yes"));
    let r = b.post("/csv/rows", &graph).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let html = b.get("/csv").await.text();
    assert!(html.contains("Graph JSON only (SHA-256)"));
    assert!(html.contains("only in the Graph JSON export"));
    // The CSV stays exactly the two SHA-1 rows; the JSON has all three.
    let csv = b.get("/csv/download").await;
    assert_eq!(csv.bytes, include_bytes!("../fixtures/entra.csv").to_vec());
    let json: serde_json::Value =
        serde_json::from_slice(&b.get("/csv/graph.json").await.bytes).unwrap();
    assert_eq!(json["value"][2]["hashFunction"], "hmacsha256");
}

#[tokio::test]
async fn each_bad_field_is_refused_beside_the_field_and_rows_stay() {
    let server = TestApp::new();
    let mut b = golden_session(&server).await;
    let good = row(
        "carol@contoso.com",
        "60234569",
        "KRSXG5CTMVRXEZLUKRSXG5CT",
        "30",
        "C202",
    );
    let long_secret = "A".repeat(130);
    let mut answers = b
        .post_each_bad_field("/csv/rows", &good, "row", &BAD_ROWS)
        .await;
    let too_long = [("secret", long_secret.as_str(), "at most 128")];
    answers.extend(
        b.post_each_bad_field("/csv/rows", &good, "row", &too_long)
            .await,
    );
    for Refused {
        field,
        value,
        form,
        answer,
    } in answers
    {
        let html = answer.text();
        assert_eq!(row_count(&html), 2, "rows intact after {field}={value:?}");
        // Everything typed is still in the form (the interval is a select).
        for (k, v) in &form {
            if *k != "interval" && !v.contains('\n') {
                assert_eq!(
                    input_value(&html, &format!("row-{k}")).as_deref(),
                    Some(*v),
                    "{k} kept after {field}={value:?}"
                );
            }
        }
    }
    // Several bad fields at once: every one reported.
    let r = post_row(&mut b, "x", "", "1", "5", "=x").await;
    let html = r.text();
    for id in [
        "row-upn",
        "row-serial",
        "row-secret",
        "row-interval",
        "row-model",
    ] {
        assert!(field_error(&html, id).is_some(), "{id}");
    }
    let r = b.get("/csv/download").await;
    assert_eq!(r.bytes, include_bytes!("../fixtures/entra.csv").to_vec());
}

#[tokio::test]
async fn current_token_interval_must_match() {
    let mut b = TestApp::new().session_with(RFC_SEED).await;
    let html = b.get("/csv").await.text();
    assert!(
        html.contains("<option value=\"30\" selected>"),
        "interval defaults to the token's"
    );
    let r = post_row(&mut b, "alice@contoso.com", "1", "", "60", "C202").await;
    r.assert_field_error("row-secret", "must match");
}

#[tokio::test]
async fn delete_and_clear() {
    let server = TestApp::new();
    let mut b = golden_session(&server).await;

    // The serial must match the row at that index, so a stale page deletes nothing.
    let r = b
        .post("/csv/rows/0/delete", &[("serial", "60234568")])
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    let r = b
        .post("/csv/rows/7/delete", &[("serial", "60234567")])
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    let r = b
        .post("/csv/rows/x/delete", &[("serial", "60234567")])
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(row_count(&b.get("/csv").await.text()), 2);

    let r = b
        .post("/csv/rows/0/delete", &[("serial", "60234567")])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let html = b.get("/csv").await.text();
    assert_eq!(row_count(&html), 1);
    assert!(!html.contains("<td data-label=\"UPN\">alice@contoso.com</td>"));
    assert!(html.contains("Deleted the row for serial 60234567."));

    // Clearing needs the confirmation box.
    let r = b.post("/csv/clear", &[]).await;
    r.assert_field_error("clear-confirm", "Tick the box");
    assert_eq!(row_count(&r.text()), 1);
    let r = b.post("/csv/clear", &[("confirm", "yes")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let html = b.get("/csv").await.text();
    assert_eq!(row_count(&html), 0);
    assert!(html.contains("Cleared 1 row."));

    // Nothing to download now.
    assert_eq!(b.get("/csv/download").await.status, StatusCode::CONFLICT);
    assert_eq!(b.get("/csv/graph.json").await.status, StatusCode::CONFLICT);
}

#[tokio::test]
async fn row_cap_refuses_more_rows_and_keeps_the_rest() {
    let server = TestApp::with_sessions(SessionConfig {
        max_batch: 1,
        ..SessionConfig::default()
    });
    let mut b = server.session_with(RFC_SEED).await;
    let r = post_row(&mut b, "alice@contoso.com", "1", "", "30", "C202").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let r = post_row(
        &mut b,
        "bob@contoso.com",
        "2",
        "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP",
        "30",
        "C202",
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text();
    assert!(html.contains("The batch is full: it holds at most 1 tokens (setting --max-batch / TOTP_TOOLSET_MAX_BATCH)"));
    assert_eq!(row_count(&html), 1);
}

#[tokio::test]
async fn serial_field_is_prefilled_from_the_session() {
    let server = TestApp::new();
    let mut b = server.session_with(RFC_SEED).await;
    let id = b.session_id();
    server
        .state
        .sessions
        .with(id, |s| s.set_pending_serial("60239999".into()))
        .unwrap();
    let html = b.get("/csv").await.text();
    assert_eq!(
        input_value(&html, "row-serial").as_deref(),
        Some("60239999")
    );
    // Adding the row with that serial consumes it.
    let r = post_row(&mut b, "alice@contoso.com", "60239999", "", "30", "C202").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let html = b.get("/csv").await.text();
    assert_eq!(input_value(&html, "row-serial").as_deref(), Some(""));
    // The next row's make and model default to the last row's.
    assert_eq!(
        input_value(&html, "row-manufacturer").as_deref(),
        Some("Token2")
    );
}

#[tokio::test]
async fn two_sessions_never_see_each_others_rows() {
    let server = TestApp::new();
    let mut a = golden_session(&server).await;
    let mut b = server.browser();
    let html_b = b.get("/csv").await.text();
    assert_eq!(row_count(&html_b), 0);
    assert!(!html_b.contains("<td data-label=\"UPN\">alice@contoso.com</td>"));
    assert_eq!(b.get("/csv/download").await.status, StatusCode::CONFLICT);
    assert_eq!(b.get("/csv/graph.json").await.status, StatusCode::CONFLICT);
    // B deleting index 0 does not touch A's list.
    let r = b
        .post("/csv/rows/0/delete", &[("serial", "60234567")])
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    b.post("/csv/clear", &[("confirm", "yes")]).await;
    assert_eq!(row_count(&a.get("/csv").await.text()), 2);
    // And B's seed page never shows A's seed.
    let seed_b = b.get("/").await.text();
    assert!(!seed_b.contains("GEZD GNBV"));
    assert_ne!(a.cookie, b.cookie);
}

/// Rows refused beside their field: (field, bad value, words of its message).
const BAD_ROWS: [(&str, &str, &str); 21] = [
    ("upn", "carol", "name@domain"),
    ("upn", "carol@contoso.com,", "comma"),
    ("upn", "carol@contoso", "domain"),
    ("upn", "car ol@contoso.com", "not ' '"),
    ("serial", "", "required"),
    ("serial", "60234567", "already in the batch"),
    ("serial", "6023,4569", "comma"),
    ("secret", RFC_SEED_HEX, "hex seed"),
    ("secret", "KRSXG5CTMVRXEZLUKRSXG5C8", "illegal character"),
    (
        "secret",
        "KRSXG5CTMVRXEZLUKRSXG5C!",
        "invalid base32 character '!'",
    ),
    ("secret", RFC_SEED, "already in the batch"),
    ("interval", "45", "30 or 60"),
    ("manufacturer", "", "required"),
    ("manufacturer", "Token2, Inc", "comma"),
    ("manufacturer", "\"Token2\"", "quotes"),
    ("manufacturer", "Tok\nen2", "line breaks"),
    ("manufacturer", "=1+1", "formula"),
    ("model", "", "required"),
    ("model", "+C202", "formula"),
    ("model", "-C202", "formula"),
    ("model", "@C202", "formula"),
];
