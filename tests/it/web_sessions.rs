//! Sessions under pressure, through the router: a flood of cookie-less requests locks no
//! one out and leaves the store bounded; a session is committed only once its browser
//! comes back; `/api/otp` never answers for a session the browser does not have; the QR
//! code kept with the token follows every change of seed and label; and no cookie or form
//! field, however odd, makes a page handler panic.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use proptest::prelude::*;
use tower::ServiceExt;

use totp_toolset::web::SessionConfig;

use crate::support::router::{Browser, RFC_SEED, Resp, TestApp, form_body};

fn capped(max_sessions: usize, max_provisional: usize) -> TestApp {
    TestApp::with_sessions(SessionConfig {
        max_sessions,
        max_provisional,
        ..SessionConfig::default()
    })
}

/// A request from a client that never keeps cookies (a scanner, an uptime probe).
async fn cookieless_get(server: &TestApp, path: &str) -> StatusCode {
    let request = Request::get(path)
        .header(header::HOST, "localhost")
        .body(Body::empty())
        .unwrap();
    server
        .router
        .clone()
        .oneshot(request)
        .await
        .expect("router is infallible")
        .status()
}

fn qr_of(html: &str) -> String {
    let start = html
        .find("<svg role=\"img\" aria-label=\"QR code")
        .expect("a QR code");
    let end = start + html[start..].find("</svg>").expect("svg closes");
    html[start..end].to_string()
}

/// A browser whose session is committed: it came back with its cookie.
async fn returning_browser(server: &TestApp) -> Browser {
    let mut b = server.browser();
    assert_eq!(b.get("/").await.status, StatusCode::OK);
    let cookie = b.cookie.clone();
    assert_eq!(b.get("/csv").await.status, StatusCode::OK);
    assert_eq!(b.cookie, cookie, "the same session when it comes back");
    b
}

#[tokio::test]
async fn a_cookieless_flood_locks_no_one_out_and_the_store_stays_bounded() {
    let server = capped(20, 50);
    let mut existing = returning_browser(&server).await;
    existing.import(RFC_SEED).await;
    let added = existing
        .add_current_token_row("alice@contoso.com", "60230001")
        .await;
    assert_eq!(added.status, StatusCode::SEE_OTHER);
    let existing_cookie = existing.cookie.clone();

    for i in 0..20_000 {
        let status = cookieless_get(&server, "/otp").await;
        assert_eq!(status, StatusCode::OK, "cookie-less request {i}");
    }
    let sessions = &server.state.sessions;
    assert_eq!(
        sessions.committed_len(),
        1,
        "only the browser that came back"
    );
    assert!(
        sessions.provisional_len() <= 50,
        "{}",
        sessions.provisional_len()
    );
    assert!(sessions.len() <= 51);

    // The existing browser still has its session, its seed and its row.
    let r = existing.get("/csv").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(existing.cookie, existing_cookie);
    assert!(r.text().contains("alice@contoso.com"));
    assert!(existing.get("/").await.text().contains(RFC_SEED));

    // A new browser gets its pages, and keeps the seed it was shown when it comes back.
    let mut newcomer = server.browser();
    let first = newcomer.get("/").await;
    assert_eq!(first.status, StatusCode::OK);
    assert!(newcomer.cookie.is_some());
    let again = newcomer.get("/").await;
    assert_eq!(again.status, StatusCode::OK);
    assert!(again.header("set-cookie").is_none(), "no new session");
    assert_eq!(qr_of(&first.text()), qr_of(&again.text()), "the same seed");
    assert_eq!(newcomer.get("/otp").await.status, StatusCode::OK);
    assert_eq!(sessions.committed_len(), 2);
    assert!(sessions.len() <= 52);
}

#[tokio::test]
async fn the_oldest_unreturned_session_goes_first() {
    let server = capped(10, 3);
    let mut browsers = Vec::new();
    for _ in 0..4 {
        let mut b = server.browser();
        assert_eq!(b.get("/").await.status, StatusCode::OK);
        browsers.push(b);
    }
    assert_eq!(server.state.sessions.provisional_len(), 3);
    // The others come back to the sessions they began.
    for b in &mut browsers[1..] {
        let cookie = b.cookie.clone();
        let r = b.get("/").await;
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(b.cookie, cookie);
        assert!(!r.text().contains("Your previous session had expired"));
    }
    assert_eq!(server.state.sessions.committed_len(), 3);
    assert_eq!(server.state.sessions.provisional_len(), 0);
    // The first one was dropped to make room for the fourth: it starts over, and is told so.
    let first = browsers[0].cookie.clone();
    let r = browsers[0].get("/").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_ne!(browsers[0].cookie, first);
    assert!(r.text().contains("Your previous session had expired"));
}

#[tokio::test]
async fn committed_sessions_keep_their_cap_and_are_never_evicted() {
    let server = capped(2, 100);
    let mut a = returning_browser(&server).await;
    let mut b = returning_browser(&server).await;
    // No room to commit: a newcomer is told so at once rather than shown a seed it would
    // lose, and a flood of them changes nothing.
    let mut c = server.browser();
    let r = c.get("/").await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(r.text().contains("as many sessions as it is allowed"));
    assert!(c.cookie.is_none());
    for _ in 0..200 {
        assert_eq!(
            cookieless_get(&server, "/").await,
            StatusCode::SERVICE_UNAVAILABLE
        );
    }
    assert_eq!(server.state.sessions.len(), 2);
    let a_cookie = a.cookie.clone();
    assert_eq!(a.get("/otp").await.status, StatusCode::OK);
    assert_eq!(a.cookie, a_cookie);
    assert_eq!(b.get("/csv").await.status, StatusCode::OK);
}

#[tokio::test]
async fn a_session_started_while_there_was_room_waits_for_room_to_commit() {
    let server = capped(1, 10);
    let mut early = server.browser();
    assert_eq!(early.get("/").await.status, StatusCode::OK);
    let mut first = returning_browser(&server).await;
    // `early` began while there was room, but `first` came back before it did.
    let cookie = early.cookie.clone();
    let r = early.get("/").await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(early.cookie, cookie, "its session is kept for later");
    assert_eq!(first.get("/").await.status, StatusCode::OK);
}

/// `/api/otp` for a browser with no session of its own: gone, and no code in the answer.
async fn api_otp_is_gone(b: &mut Browser) -> Resp {
    let r = b.get("/api/otp").await;
    assert_eq!(r.status, StatusCode::GONE);
    assert!(!r.text().contains("\"code\""), "{}", r.text());
    r
}

#[tokio::test]
async fn api_otp_answers_only_for_a_session_the_browser_has() {
    let server = TestApp::new();
    // No cookie: nothing to show, and no session is started for it.
    let r = api_otp_is_gone(&mut server.browser()).await;
    let body = r.json();
    assert_eq!(body["error"], "session_ended");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("Reload the page")
    );
    assert!(body.get("code").is_none());
    assert!(r.header("set-cookie").is_none());
    assert!(server.state.sessions.is_empty());

    // A well-formed cookie the server never issued, and a malformed one.
    for cookie in [format!("session={}", "ab".repeat(32)), "session=zz".into()] {
        let mut b = server.browser();
        b.cookie = Some(cookie);
        api_otp_is_gone(&mut b).await;
    }
    assert!(server.state.sessions.is_empty());

    // The page's own session gets its codes, and the poll commits a first visit.
    let mut b = server.browser();
    b.get("/otp").await;
    assert_eq!(server.state.sessions.provisional_len(), 1);
    assert_eq!(server.state.sessions.committed_len(), 0);
    let r = b.get("/api/otp").await;
    assert_eq!(r.status, StatusCode::OK);
    let data: serde_json::Value = serde_json::from_slice(&r.bytes).unwrap();
    assert_eq!(data["code"].as_str().unwrap().len(), 6);
    assert_eq!(server.state.sessions.committed_len(), 1);
    assert_eq!(server.state.sessions.provisional_len(), 0);

    // Once the session expired, the poll is refused rather than answered with a new seed.
    server.advance(31 * 60);
    let r = b.get("/api/otp").await;
    assert_eq!(r.status, StatusCode::GONE);
    assert!(!r.text().contains("\"code\""));
    assert!(server.state.sessions.is_empty());
}

#[tokio::test]
async fn api_otp_gives_the_codes_of_the_seed_on_the_page() {
    let server = TestApp::new();
    let mut b = server.session_with(RFC_SEED).await;
    // RFC 6238's SHA-1 vector at 1111111111 is 050471 (8 digits: 14050471).
    server.set_time(1_111_111_111);
    let data: serde_json::Value = serde_json::from_slice(&b.get("/api/otp").await.bytes).unwrap();
    assert_eq!(data["code"], "050471");
}

#[tokio::test]
async fn the_qr_code_follows_every_change_of_seed_and_label() {
    let server = TestApp::new();
    let mut b = server.browser();
    let first = qr_of(&b.get("/").await.text());
    assert_eq!(qr_of(&b.get("/").await.text()), first, "kept between views");

    let r = b.label("Contoso", "alice").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let relabelled = qr_of(&b.get("/").await.text());
    assert_ne!(relabelled, first, "a new label, a new QR code");

    b.import(RFC_SEED).await;
    let imported = qr_of(&b.get("/").await.text());
    assert_ne!(imported, relabelled, "a new seed, a new QR code");

    let r = b.generate("20", "sha256", "6", "60").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let html = b.get("/").await.text();
    assert_ne!(qr_of(&html), imported, "new parameters, a new QR code");
    // The label survives a new seed, in the QR code's URI too.
    assert!(html.contains("otpauth://totp/Contoso:alice?"));
}

fn page_request(method: &str, path: &str, cookie: &str, body: String) -> Option<Request<Body>> {
    let cookie = header::HeaderValue::from_bytes(cookie.as_bytes()).ok()?;
    let mut builder = Request::builder()
        .method(method)
        .uri(path)
        .header(header::HOST, "localhost")
        .header(header::COOKIE, cookie);
    if method == "POST" {
        builder = builder
            .header("sec-fetch-site", "same-origin")
            .header("origin", "http://localhost")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    }
    builder.body(Body::from(body)).ok()
}

fn unicode_text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[a-f0-9]{0,80}",
        "\\PC{0,40}",
        Just("session=".to_string()),
    ]
}

const FORM_ROUTES: [(&str, &[&str]); 8] = [
    (
        "/seed",
        &["size", "algorithm", "digits", "period", "confirm_replace"],
    ),
    (
        "/seed/import",
        &[
            "seed",
            "format",
            "algorithm",
            "digits",
            "period",
            "confirm_replace",
        ],
    ),
    ("/seed/label", &["issuer", "account"]),
    ("/burn", &["display_timeout", "force"]),
    ("/otp/drift", &["code", "next_code", "skew"]),
    (
        "/csv/rows",
        &[
            "upn",
            "serial",
            "secret",
            "interval",
            "manufacturer",
            "model",
            "graph_only",
        ],
    ),
    ("/csv/rows/0/delete", &["serial"]),
    ("/csv/clear", &["confirm"]),
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Any cookie and any field values: every page answers, none with a server error.
    #[test]
    fn no_cookie_or_form_field_makes_a_page_handler_panic(
        cookie_value in unicode_text(),
        values in prop::collection::vec(unicode_text(), 7),
        route in 0..FORM_ROUTES.len(),
        gets in prop::sample::subsequence(vec!["/", "/otp", "/csv", "/api/otp", "/csv/download", "/csv/graph.json"], 1..=3),
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async {
            let server = TestApp::new();
            let cookies = [
                format!("session={cookie_value}"),
                cookie_value.clone(),
                format!("other=1; session={cookie_value}; session=ab"),
            ];
            let (path, fields) = FORM_ROUTES[route];
            let form: Vec<(&str, &str)> = fields
                .iter()
                .zip(values.iter())
                .map(|(f, v)| (*f, v.as_str()))
                .collect();
            for cookie in &cookies {
                let mut requests = Vec::new();
                requests.extend(page_request("POST", path, cookie, form_body(&form)));
                for get in &gets {
                    requests.extend(page_request("GET", get, cookie, String::new()));
                }
                for request in requests {
                    let response = server.router.clone().oneshot(request).await.unwrap();
                    let status = response.status();
                    let body = response.into_body().collect().await.unwrap().to_bytes();
                    prop_assert_ne!(
                        status,
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "{}",
                        String::from_utf8_lossy(&body)
                    );
                }
            }
            // And the same fields from a browser that has a real session.
            let mut b = server.session().await;
            let r = b.post(path, &form).await;
            prop_assert_ne!(r.status, StatusCode::INTERNAL_SERVER_ERROR, "{}", r.text());
            let r = b.get("/").await;
            prop_assert_eq!(r.status, StatusCode::OK);
            Ok::<(), TestCaseError>(())
        })?;
    }
}
