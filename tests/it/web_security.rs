//! Security of the web toolset through the router: headers on every response, cross-site
//! POSTs refused, cookie attributes, no inline script or style, no seed in any URL, body
//! limit, session expiry and caps with a fixed clock.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use totp_toolset::web::host::{AllowedHosts, HostPattern};
use totp_toolset::web::{SessionConfig, WebConfig};

use crate::support::router::{RFC_SEED, RFC_SEED_HEX, Resp, TestApp, form_body};

const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

fn assert_security_headers(r: &Resp, what: &str, dynamic: bool) {
    r.assert_headers(
        &[
            ("content-security-policy", CSP),
            ("x-content-type-options", "nosniff"),
            ("referrer-policy", "same-origin"),
        ],
        what,
    );
    if dynamic {
        r.assert_headers(&[("cache-control", "no-store")], what);
    }
}

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let mut b = TestApp::new().session_with(RFC_SEED).await;
    b.add_current_token_row("alice@contoso.com", "1").await;
    for path in [
        "/",
        "/otp",
        "/otp?skew=2",
        "/otp?skew=99",
        "/csv",
        "/api/otp",
        "/csv/download",
        "/csv/graph.json",
        "/healthz",
        "/no/such/page",
    ] {
        let r = b.get(path).await;
        assert_security_headers(&r, path, true);
    }
    for path in ["/static/app.css", "/static/app.js"] {
        let r = b.get(path).await;
        assert_eq!(r.status, StatusCode::OK);
        assert_security_headers(&r, path, false);
    }
    for (path, fields) in [
        ("/seed", vec![("size", "3")]),
        ("/seed/import", vec![("seed", "!")]),
        ("/seed/label", vec![("issuer", "a:b")]),
        ("/otp/drift", vec![("code", "x")]),
        ("/csv/rows", vec![("upn", "x")]),
        ("/csv/clear", vec![]),
        ("/csv/rows/9/delete", vec![]),
    ] {
        let r = b.post(path, &fields).await;
        assert!(r.status.is_client_error(), "{path}: {}", r.status);
        assert_security_headers(&r, path, true);
    }
    let r = b.label("x", "y").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_security_headers(&r, "redirect", true);
}

#[tokio::test]
async fn health_check_and_static_files() {
    let server = TestApp::new();
    let mut b = server.browser();
    let r = b.get("/healthz").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.text(), "ok\n");
    assert!(b.cookie.is_none(), "health checks start no session");
    let css = b.get("/static/app.css").await;
    assert!(css.header("content-type").unwrap().starts_with("text/css"));
    assert!(css.text().contains("prefers-color-scheme: dark"));
    let js = b.get("/static/app.js").await;
    assert!(
        js.header("content-type")
            .unwrap()
            .starts_with("text/javascript")
    );
    assert!(js.text().contains("/api/otp"));
    assert!(server.state.sessions.is_empty());
}

fn cross_site_post(path: &str, fields: &[(&str, &str)], cookie: &str) -> Request<Body> {
    Request::post(path)
        .header(header::HOST, "localhost")
        .header("sec-fetch-site", "cross-site")
        .header("origin", "https://evil.example")
        .header(header::COOKIE, cookie)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(form_body(fields)))
        .unwrap()
}

#[tokio::test]
async fn cross_site_posts_are_refused() {
    let mut b = TestApp::new().session().await;
    let cookie = b.cookie.clone().unwrap();
    let r = b
        .send(cross_site_post(
            "/csv/rows",
            &[
                ("upn", "mallory@evil.example"),
                ("serial", "666"),
                ("interval", "30"),
                ("manufacturer", "Token2"),
                ("model", "C202"),
            ],
            &cookie,
        ))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.text().contains("sent from another site"));
    assert_security_headers(&r, "csrf rejection", true);
    // An old browser without Sec-Fetch-Site, whose Origin is not this host.
    let req = Request::post("/csv/clear")
        .header(header::HOST, "localhost:8080")
        .header("origin", "http://evil.example")
        .header(header::COOKIE, &cookie)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from("confirm=yes"))
        .unwrap();
    assert_eq!(b.send(req).await.status, StatusCode::FORBIDDEN);
    // Nothing changed.
    let html = b.get("/csv").await.text();
    assert!(!html.contains("mallory"));
    assert!(html.contains("No rows yet"));
}

#[tokio::test]
async fn trusted_origin_may_post() {
    // The proxy forwards to the name the server was told it has (its bind address, when
    // started by `serve`).
    let server = TestApp::with_config(WebConfig {
        trusted_origins: vec!["https://totp.example.com".into()],
        allowed_hosts: AllowedHosts::for_bind(
            "0.0.0.0:8080".parse().unwrap(),
            [HostPattern::parse("internal").unwrap()],
        ),
        ..WebConfig::default()
    });
    let mut b = server.session().await;
    let req = Request::post("/seed/label")
        .header(header::HOST, "internal:8080")
        .header("sec-fetch-site", "cross-site")
        .header("origin", "https://totp.example.com")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from("issuer=a&account=b"))
        .unwrap();
    assert_eq!(b.send(req).await.status, StatusCode::SEE_OTHER);
    assert!(
        totp_toolset::web::app(totp_toolset::web::AppState::new(
            WebConfig {
                trusted_origins: vec!["not a url".into()],
                ..WebConfig::default()
            },
            totp_toolset::clock::system_clock()
        ))
        .is_err()
    );
}

#[tokio::test]
async fn session_cookie_attributes() {
    let server = TestApp::new();
    let mut b = server.browser();
    let r = b.get("/").await;
    let cookie = r.header("set-cookie").unwrap();
    let (name_value, attrs) = cookie.split_once(';').unwrap();
    let (name, value) = name_value.split_once('=').unwrap();
    assert_eq!(name, "session");
    assert_eq!(value.len(), 64, "256 bits in hex");
    assert!(value.bytes().all(|c| c.is_ascii_hexdigit()));
    assert_eq!(attrs.trim(), "HttpOnly; SameSite=Strict; Path=/");
    // Only a new session sets the cookie.
    assert!(b.get("/").await.header("set-cookie").is_none());

    let tls = TestApp::with_sessions(SessionConfig {
        tls: true,
        ..SessionConfig::default()
    });
    let r = tls.browser().get("/").await;
    let cookie = r.header("set-cookie").unwrap();
    assert!(cookie.starts_with("__Host-session="));
    // Attributes may come in any order; exactly these four.
    let mut attrs: Vec<&str> = cookie.split(';').skip(1).map(str::trim).collect();
    attrs.sort_unstable();
    assert_eq!(attrs, ["HttpOnly", "Path=/", "SameSite=Strict", "Secure"]);
}

#[tokio::test]
async fn pages_hold_no_inline_script_or_style_and_no_seed_in_urls() {
    let mut b = TestApp::new().session().await;
    let r = b.import(RFC_SEED).await;
    assert_eq!(r.location().as_deref(), Some("/"));
    let mut pages = vec![b.get("/").await, b.get("/otp").await];
    pages.push(b.add_current_token_row("alice@contoso.com", "1").await);
    pages.push(b.get("/csv").await);
    pages.push(
        b.post("/seed/import", &[("seed", RFC_SEED), ("digits", "9")])
            .await,
    );
    pages.push(b.get("/nothing").await);
    for page in &pages {
        if let Some(location) = page.location() {
            assert!(!location.contains(RFC_SEED) && !location.contains(RFC_SEED_HEX));
            continue;
        }
        let html = page.text();
        assert!(!html.contains(" style="), "no style attributes");
        assert!(!html.contains("<style"), "no style elements");
        for (i, _) in html.match_indices("<script") {
            let tag_end = i + html[i..].find('>').unwrap();
            assert!(
                html[i..tag_end].contains("src=\"/static/app.js\""),
                "only our script file"
            );
            assert!(
                html[tag_end..].starts_with("></script>"),
                "no inline script"
            );
        }
        for attr in [
            " onclick=",
            " onload=",
            " onerror=",
            " onsubmit=",
            "javascript:",
        ] {
            assert!(!html.contains(attr), "{attr}");
        }
        // No seed in any link or form target.
        for marker in ["href=\"", "action=\"", "src=\""] {
            for (i, _) in html.match_indices(marker) {
                let start = i + marker.len();
                let url = &html[start..start + html[start..].find('"').unwrap()];
                assert!(
                    !url.contains(RFC_SEED) && !url.contains(RFC_SEED_HEX),
                    "{url}"
                );
                assert!(!url.contains("GEZD"), "{url}");
            }
        }
        // Every field has a label.
        for tag in ["<input id=\"", "<select id=\"", "<textarea id=\""] {
            for (i, _) in html.match_indices(tag) {
                let start = i + tag.len();
                let id = &html[start..start + html[start..].find('"').unwrap()];
                assert!(
                    html.contains(&format!("<label for=\"{id}\"")),
                    "label for {id}"
                );
            }
        }
    }
}

#[tokio::test]
async fn oversized_bodies_are_refused() {
    let mut b = TestApp::new().session().await;
    let huge = "A".repeat(64 * 1024);
    let r = b.post("/seed/import", &[("seed", &huge)]).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_security_headers(&r, "413", true);
}

#[tokio::test]
async fn idle_sessions_expire_and_their_rows_go() {
    let server = TestApp::new();
    let mut b = server.session_with(RFC_SEED).await;
    b.add_current_token_row("alice@contoso.com", "1").await;
    let first = b.cookie.clone();
    // 29 minutes idle: still there (and touched again).
    server.advance(29 * 60);
    let html = b.get("/csv").await.text();
    assert!(html.contains("<td data-label=\"UPN\">alice@contoso.com</td>"));
    assert_eq!(b.cookie, first);
    // 30 minutes idle: gone, a new session with a new seed, and the page says so.
    server.advance(30 * 60);
    let r = b.get("/csv").await;
    assert_ne!(b.cookie, first);
    let html = r.text();
    assert!(html.contains("Your previous session had expired"));
    assert!(html.contains("No rows yet"));
    assert!(!b.get("/").await.text().contains("GEZD GNBV"));
}

#[tokio::test]
async fn sessions_end_at_the_absolute_limit_however_busy() {
    let server = TestApp::with_sessions(SessionConfig {
        absolute_secs: 3600,
        ..SessionConfig::default()
    });
    let mut b = server.session().await;
    let first = b.cookie.clone();
    for _ in 0..3 {
        server.advance(20 * 60 - 1);
        b.get("/otp").await;
        assert_eq!(b.cookie, first);
    }
    server.advance(3);
    b.get("/otp").await;
    assert_ne!(b.cookie, first, "an hour after it began, the session ended");
}

#[tokio::test]
async fn session_cap_refuses_newcomers_and_evicts_no_one() {
    let server = TestApp::with_sessions(SessionConfig {
        max_sessions: 2,
        ..SessionConfig::default()
    });
    let mut a = server.browser();
    let mut b = server.browser();
    // A session counts against the cap once its browser comes back with the cookie.
    a.get("/").await;
    a.get("/").await;
    b.get("/").await;
    b.get("/csv").await;
    let mut c = server.browser();
    let r = c.get("/").await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(r.text().contains("as many sessions as it is allowed"));
    assert!(c.cookie.is_none());
    assert_security_headers(&r, "503", true);
    // The two live sessions are untouched.
    let a_cookie = a.cookie.clone();
    assert_eq!(a.get("/").await.status, StatusCode::OK);
    assert_eq!(a.cookie, a_cookie);
    assert_eq!(b.get("/csv").await.status, StatusCode::OK);
    assert_eq!(server.state.sessions.len(), 2);

    // Once one has idled out, a newcomer gets in (expired sessions are cleared first).
    server.advance(31 * 60);
    assert_eq!(c.get("/").await.status, StatusCode::OK);
    assert_eq!(server.state.sessions.len(), 1);
}

#[tokio::test]
async fn sweeper_removes_only_expired_sessions() {
    let server = TestApp::new();
    let old = server.session().await;
    server.advance(20 * 60);
    let young = server.session().await;
    assert_eq!(server.state.sessions.len(), 2);
    server.advance(15 * 60);
    let now = T0_PLUS_35_MIN;
    assert_eq!(server.state.sessions.sweep(now), 1);
    assert_eq!(server.state.sessions.len(), 1);
    assert!(server.holds_session_of(&young));
    assert!(!server.holds_session_of(&old));
}

const T0_PLUS_35_MIN: u64 = crate::support::router::T0 + 35 * 60;
