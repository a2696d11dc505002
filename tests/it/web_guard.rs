//! The server's guards from the outside: foreign `Host`s refused with 421 (DNS rebinding),
//! cross-site writes refused whatever headers a browser leaves out, the security headers,
//! error pages in HTML for the framework's own refusals, and no message repeating more than
//! 64 characters of an input. Each test here fails on the server before issue 9.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use totp_toolset::web::host::{AllowedHosts, HostPattern};
use totp_toolset::web::{SessionConfig, WebConfig};

use crate::support::process::Spawned;
use crate::support::router::{Browser, RFC_SEED, Resp, TestApp, form_body, import_fields};
use crate::support::{bin, run, stderr};

const ROW: &[(&str, &str)] = &[
    ("upn", "mallory@evil.example"),
    ("serial", "666"),
    ("interval", "30"),
    ("manufacturer", "Token2"),
    ("model", "C202"),
];

const FORM: &str = "application/x-www-form-urlencoded";

fn hosts(bind: &str, extra: &[&str]) -> AllowedHosts {
    AllowedHosts::for_bind(
        bind.parse().unwrap(),
        extra.iter().map(|h| HostPattern::parse(h).unwrap()),
    )
}

fn server_for(bind: &str, extra: &[&str]) -> TestApp {
    TestApp::with_config(WebConfig {
        allowed_hosts: hosts(bind, extra),
        ..WebConfig::default()
    })
}

fn get(host: &str, path: &str) -> Request<Body> {
    Request::get(path)
        .header(header::HOST, host)
        .body(Body::empty())
        .unwrap()
}

/// A form POST with exactly the headers given (plus Host and the form's Content-Type).
fn post(
    host: &str,
    path: &str,
    headers: &[(&str, &str)],
    fields: &[(&str, &str)],
) -> Request<Body> {
    let mut r = Request::post(path)
        .header(header::HOST, host)
        .header(header::CONTENT_TYPE, FORM);
    for (k, v) in headers {
        r = r.header(*k, *v);
    }
    r.body(Body::from(form_body(fields))).unwrap()
}

/// A same-origin POST on localhost with this content type (or none) and a raw body, for
/// what the framework refuses before a handler sees the form.
fn raw_post(path: &str, content_type: Option<&str>, body: impl Into<Body>) -> Request<Body> {
    let mut r = Request::post(path)
        .header(header::HOST, "localhost")
        .header("sec-fetch-site", "same-origin");
    if let Some(ct) = content_type {
        r = r.header(header::CONTENT_TYPE, ct);
    }
    r.body(body.into()).unwrap()
}

fn assert_html(r: &Resp, status: StatusCode, what: &str) {
    assert_eq!(r.status, status, "{what}: {}", r.text());
    let ct = r.header("content-type").unwrap_or_default();
    assert!(ct.starts_with("text/html"), "{what}: content-type {ct}");
    let html = r.text();
    assert!(html.starts_with("<!doctype html>"), "{what}: {html}");
    assert!(html.contains("class=\"error-message\""), "{what}: {html}");
}

fn assert_refused_host(r: &Resp, what: &str) {
    assert_html(r, StatusCode::MISDIRECTED_REQUEST, what);
    let html = r.text();
    assert!(html.contains("--allowed-host"), "{what}: {html}");
    assert!(
        html.contains("TOTP_TOOLSET_ALLOWED_HOSTS"),
        "{what}: {html}"
    );
    assert!(
        r.header("set-cookie").is_none(),
        "{what}: no session for it"
    );
}

/// The longest run of `c` in `text`.
fn longest_run(text: &str, c: char) -> usize {
    let (mut best, mut run) = (0, 0);
    for ch in text.chars() {
        run = if ch == c { run + 1 } else { 0 };
        best = best.max(run);
    }
    best
}

// --- §2: Host allow-list --------------------------------------------------------------

#[tokio::test]
async fn a_foreign_host_gets_421_naming_the_setting_and_never_reaches_a_handler() {
    // An agent that must never be called: a bare listener counting connections.
    let agent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    agent.set_nonblocking(true).unwrap();
    let agent_url = format!("http://{}", agent.local_addr().unwrap());
    let client = totp_toolset::agent::client::AgentClient::new(
        &agent_url,
        zeroize::Zeroizing::new("t".repeat(32)),
    )
    .unwrap();
    let server = TestApp::with_config(WebConfig {
        allowed_hosts: hosts("127.0.0.1:8080", &[]),
        agent: Some(client),
        ..WebConfig::default()
    });
    let mut b = server.browser();
    let evil = "evil.example:8080";
    // The rebinding page: its own origin matches, the browser says same-origin.
    let same = [
        ("origin", "http://evil.example:8080"),
        ("sec-fetch-site", "same-origin"),
    ];
    let r = b.send(get(evil, "/")).await;
    assert_refused_host(&r, "GET /");
    assert!(
        r.text().contains("evil.example:8080"),
        "the page names the host"
    );
    let r = b
        .send(post(
            evil,
            "/seed/import",
            &same,
            &[("seed", RFC_SEED), ("confirm_replace", "yes")],
        ))
        .await;
    assert_refused_host(&r, "POST /seed/import");
    let r = b
        .send(post(evil, "/burn", &same, &[("display_timeout", "30")]))
        .await;
    assert_refused_host(&r, "POST /burn");
    for path in [
        "/otp",
        "/csv",
        "/api/otp",
        "/csv/download",
        "/static/app.js",
    ] {
        assert_refused_host(&b.send(get(evil, path)).await, path);
    }
    // Case, a trailing dot and a missing port change nothing.
    for host in [
        "EVIL.example:8080",
        "evil.example.:8080",
        "evil.example",
        "localhost",
    ] {
        assert_refused_host(&b.send(get(host, "/")).await, host);
    }
    assert!(server.state.sessions.is_empty(), "no session was made");
    match agent.accept() {
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
        other => panic!("the agent was called: {other:?}"),
    }
    // The refusal carries the security headers too.
    let r = b.send(get(evil, "/")).await;
    assert_eq!(r.header("x-frame-options").as_deref(), Some("DENY"));
    assert_eq!(r.header("cache-control").as_deref(), Some("no-store"));
}

#[tokio::test]
async fn a_host_longer_than_64_characters_is_cut_in_the_page() {
    let server = server_for("127.0.0.1:8080", &[]);
    let host = format!("{}.example:8080", "a".repeat(300));
    let r = server.browser().send(get(&host, "/")).await;
    assert_refused_host(&r, "long host");
    assert!(longest_run(&r.text(), 'a') <= 64, "{}", r.text());
}

#[tokio::test]
async fn loopback_names_with_the_port_are_answered() {
    for bind in ["127.0.0.1:8080", "0.0.0.0:8080", "[::]:8080"] {
        let server = server_for(bind, &[]);
        let mut b = server.browser();
        for host in [
            "localhost:8080",
            "LocalHost:8080",
            "127.0.0.1:8080",
            "[::1]:8080",
        ] {
            let r = b.send(get(host, "/")).await;
            assert_eq!(r.status, StatusCode::OK, "{bind} {host}");
            // And a form from that page posts (Chromium sends both headers; older
            // browsers only Origin).
            let origin = format!("http://{host}");
            let r = b
                .send(post(
                    host,
                    "/seed/label",
                    &[("origin", origin.as_str())],
                    &[("issuer", "a"), ("account", "b")],
                ))
                .await;
            assert_eq!(
                r.status,
                StatusCode::SEE_OTHER,
                "{bind} {host}: {}",
                r.text()
            );
        }
        for host in ["localhost:9090", "localhost", "intranet:8080"] {
            assert_refused_host(&b.send(get(host, "/")).await, &format!("{bind} {host}"));
        }
    }
    // Bound to every interface (a container), any address of the machine with the port is
    // the machine itself: an IP address cannot be rebound. Bound to one address: only that
    // address (and no loopback name).
    for (bind, refused) in [
        ("0.0.0.0:8080", &["10.1.2.3:9999"][..]),
        ("10.1.2.3:8080", &["localhost:8080", "10.1.2.4:8080"][..]),
    ] {
        let mut b = server_for(bind, &[]).browser();
        let r = b.send(get("10.1.2.3:8080", "/")).await;
        assert_eq!(r.status, StatusCode::OK, "{bind}");
        for host in refused {
            assert_refused_host(&b.send(get(host, "/")).await, &format!("{bind} {host}"));
        }
    }
}

#[tokio::test]
async fn allowed_host_names_are_answered() {
    let server = server_for(
        "0.0.0.0:8080",
        &[
            "totp.intranet.example",
            "other.example:8443",
            "*.corp.example",
        ],
    );
    let mut b = server.browser();
    for host in [
        "totp.intranet.example:8080",
        "TOTP.intranet.example",
        "totp.intranet.example:9000",
        "other.example:8443",
        "a.corp.example:8080",
    ] {
        assert_eq!(
            b.send(get(host, "/")).await.status,
            StatusCode::OK,
            "{host}"
        );
    }
    for host in [
        "other.example:8080",
        "corp.example:8080",
        "a.b.corp.example:8080",
    ] {
        assert_refused_host(&b.send(get(host, "/")).await, host);
    }
    let r = b
        .send(post(
            "totp.intranet.example:8080",
            "/csv/rows",
            &[("origin", "http://totp.intranet.example:8080")],
            ROW,
        ))
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
}

#[tokio::test]
async fn health_checks_answer_under_any_host() {
    let server = server_for("127.0.0.1:8080", &[]);
    let r = server
        .browser()
        .send(get("10.9.8.7:8080", "/healthz"))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.text(), "ok\n");
}

// --- §3: cross-site writes ------------------------------------------------------------

/// How many rows of the posted user the CSV page shows.
async fn mallory_rows(b: &mut Browser) -> usize {
    b.get("/csv")
        .await
        .text()
        .matches("mallory@evil.example")
        .count()
}

/// Posts a row with these headers; true when it was accepted (and the row is there).
async fn row_accepted(b: &mut Browser, host: &str, headers: &[(&str, &str)]) -> bool {
    let before = mallory_rows(b).await;
    let r = b.send(post(host, "/csv/rows", headers, ROW)).await;
    let after = mallory_rows(b).await;
    match r.status {
        StatusCode::SEE_OTHER => {
            assert!(after > before, "accepted but no row: {headers:?}");
            b.post("/csv/clear", &[("confirm", "yes")]).await;
            true
        }
        StatusCode::FORBIDDEN => {
            assert_html(&r, StatusCode::FORBIDDEN, &format!("{headers:?}"));
            assert!(r.text().contains("sent from another site"), "{headers:?}");
            assert_eq!(after, before, "refused but a row was added: {headers:?}");
            false
        }
        other => panic!("{headers:?}: unexpected {other}: {}", r.text()),
    }
}

#[tokio::test]
async fn cross_site_writes_are_refused_whatever_is_missing() {
    // Loopback names on any port (the default without a bind address).
    let mut b = TestApp::new().session_with(RFC_SEED).await;
    let host = "localhost:8080";
    let refused: &[&[(&str, &str)]] = &[
        // Neither header, whatever the Referer says.
        &[("referer", "http://evil.example/x")],
        &[("referer", "http://localhost:8080/csv")],
        &[],
        &[("origin", "")],
        &[("origin", "null")],
        &[("origin", "null"), ("referer", "http://localhost:8080/csv")],
        // Wrong scheme, port or host.
        &[("origin", "https://localhost:8080")],
        &[("origin", "http://localhost:8081")],
        &[("origin", "http://localhost")],
        &[("origin", "http://evil.example")],
        &[("origin", "http://127.0.0.1:8080")],
        // The browser says where it came from, and it is not us.
        &[
            ("sec-fetch-site", "cross-site"),
            ("origin", "http://localhost:8080"),
        ],
        &[
            ("sec-fetch-site", "same-site"),
            ("origin", "http://localhost:8080"),
        ],
        &[
            ("sec-fetch-site", "none"),
            ("origin", "http://localhost:8080"),
        ],
        &[("sec-fetch-site", "cross-site")],
    ];
    for headers in refused {
        assert!(!row_accepted(&mut b, host, headers).await, "{headers:?}");
    }
    let accepted: &[&[(&str, &str)]] = &[
        &[("sec-fetch-site", "same-origin")],
        &[
            ("sec-fetch-site", "same-origin"),
            ("origin", "http://localhost:8080"),
        ],
        // An older browser without Sec-Fetch-Site: the exact origin.
        &[("origin", "http://localhost:8080")],
        &[("origin", "http://LOCALHOST:8080")],
    ];
    for headers in accepted {
        assert!(row_accepted(&mut b, host, headers).await, "{headers:?}");
    }
}

#[tokio::test]
async fn behind_tls_only_an_https_origin_matches() {
    let server = TestApp::with_config(WebConfig {
        sessions: SessionConfig {
            tls: true,
            ..SessionConfig::default()
        },
        allowed_hosts: hosts("0.0.0.0:8443", &["totp.example.com"]),
        ..WebConfig::default()
    });
    let mut b = server.session().await;
    for (origin, status) in [
        ("http://totp.example.com", StatusCode::FORBIDDEN),
        ("https://totp.example.com", StatusCode::SEE_OTHER),
    ] {
        let r = b
            .send(post(
                "totp.example.com",
                "/seed/label",
                &[("origin", origin)],
                &[("issuer", "a"), ("account", "b")],
            ))
            .await;
        assert_eq!(r.status, status, "{origin}: {}", r.text());
    }
}

// --- §5: headers and error pages -----------------------------------------------------

#[tokio::test]
async fn every_response_carries_the_new_headers() {
    let server = server_for("127.0.0.1:8080", &[]);
    let mut b = server.browser();
    let host = "localhost:8080";
    let mut responses = vec![
        ("page", b.send(get(host, "/")).await),
        ("static", b.send(get(host, "/static/app.css")).await),
        ("health", b.send(get(host, "/healthz")).await),
        ("404", b.send(get(host, "/nothing")).await),
        ("421", b.send(get("evil.example", "/")).await),
    ];
    responses.push((
        "403",
        b.send(post(host, "/csv/clear", &[], &[("confirm", "yes")]))
            .await,
    ));
    for (what, r) in &responses {
        let pp = r.header("permissions-policy").unwrap_or_default();
        for feature in [
            "camera=()",
            "microphone=()",
            "geolocation=()",
            "usb=()",
            "payment=()",
        ] {
            assert!(pp.contains(feature), "{what}: {pp}");
        }
        r.assert_headers(
            &[
                ("cross-origin-opener-policy", "same-origin"),
                ("cross-origin-resource-policy", "same-origin"),
                ("x-frame-options", "DENY"),
                ("referrer-policy", "same-origin"),
            ],
            what,
        );
    }
}

#[tokio::test]
async fn framework_refusals_are_html_pages_with_their_status() {
    let mut b = TestApp::new().session().await;
    let same = [("sec-fetch-site", "same-origin")];
    // 413 from the body limit: declared length, and a body that only turns out too long.
    let huge = form_body(&[("seed", &"A".repeat(64 * 1024))]);
    let mut declared = raw_post("/seed/import", Some(FORM), huge.clone());
    declared
        .headers_mut()
        .insert(header::CONTENT_LENGTH, huge.len().into());
    let r = b.send(declared).await;
    assert_html(&r, StatusCode::PAYLOAD_TOO_LARGE, "413 declared");
    assert!(r.text().contains("--max-body-bytes"));
    let r = b
        .send(post(
            "localhost",
            "/seed/import",
            &same,
            &[("seed", &"A".repeat(64 * 1024))],
        ))
        .await;
    assert_html(&r, StatusCode::PAYLOAD_TOO_LARGE, "413 streamed");
    // 415: not a form.
    for ct in [
        "text/plain",
        "application/json",
        "multipart/form-data; boundary=x",
    ] {
        let req = raw_post("/seed/label", Some(ct), "issuer=a&account=b");
        let r = b.send(req).await;
        assert_html(&r, StatusCode::UNSUPPORTED_MEDIA_TYPE, ct);
        assert!(r.text().contains(FORM), "{ct}");
    }
    let req = raw_post("/seed/label", None, "issuer=a&account=b");
    assert_html(
        &b.send(req).await,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "no type",
    );
    // 422: a field given twice, said by its name, without the values.
    let req = raw_post(
        "/seed/import",
        Some(FORM),
        format!("seed={RFC_SEED}&seed=AAAAAAAAAAAAAAAA"),
    );
    let r = b.send(req).await;
    assert_html(&r, StatusCode::UNPROCESSABLE_ENTITY, "duplicate field");
    let text = r.text();
    assert!(text.contains("seed") && text.contains("twice"), "{text}");
    assert!(
        !text.contains(RFC_SEED) && !text.contains("AAAAAAAAAAAAAAAA"),
        "{text}"
    );
    // 400: a query string that cannot be read; 405: a GET of a form's target.
    let r = b.get("/otp?skew=1&skew=2").await;
    assert_html(&r, StatusCode::BAD_REQUEST, "bad query");
    let r = b.get("/seed").await;
    assert_html(&r, StatusCode::METHOD_NOT_ALLOWED, "405");
    assert!(r.header("allow").is_some_and(|a| a.contains("POST")));
}

#[tokio::test]
async fn the_form_content_type_is_matched_without_regard_to_case() {
    let mut b = TestApp::new().session().await;
    for ct in [
        "Application/X-WWW-Form-Urlencoded; charset=UTF-8",
        "APPLICATION/X-WWW-FORM-URLENCODED",
        "application/x-www-form-urlencoded ; charset=utf-8",
    ] {
        let req = raw_post(
            "/seed/import",
            Some(ct),
            form_body(&import_fields(RFC_SEED)),
        );
        let r = b.send(req).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{ct}: {}", r.text());
    }
}

#[tokio::test]
async fn no_message_repeats_more_than_64_characters_of_an_input() {
    let mut b = TestApp::new().session().await;
    let long = "9".repeat(500);
    let xs = "x".repeat(500);
    let pages = [
        b.post(
            "/seed/import",
            &[
                ("seed", RFC_SEED),
                ("digits", &long),
                ("confirm_replace", "yes"),
            ],
        )
        .await,
        b.post(
            "/seed/import",
            &[
                ("seed", RFC_SEED),
                ("period", &long),
                ("confirm_replace", "yes"),
            ],
        )
        .await,
        b.post(
            "/seed/import",
            &[
                ("seed", RFC_SEED),
                ("algorithm", &xs),
                ("confirm_replace", "yes"),
            ],
        )
        .await,
        b.post(
            "/seed",
            &[
                ("size", "20"),
                ("digits", &long),
                ("confirm_replace", "yes"),
            ],
        )
        .await,
        b.post(
            "/seed/import",
            &[(
                "seed",
                &format!("otpauth://totp/a?secret={RFC_SEED}&algorithm={xs}"),
            )],
        )
        .await,
        b.post("/otp/drift", &[("code", &long)]).await,
        b.get(&format!("/otp?skew={long}")).await,
    ];
    for (i, r) in pages.iter().enumerate() {
        assert!(r.status.is_client_error(), "case {i}: {}", r.status);
        let text = r.text();
        // Inputs are put back into their fields (nothing entered is lost); only the
        // messages are bounded.
        let messages: String = text
            .split("class=\"field-error\"")
            .skip(1)
            .chain(text.split("class=\"error-message\"").skip(1))
            .map(|s| s.split("</p>").next().unwrap_or(""))
            .collect();
        assert!(!messages.is_empty(), "case {i}: no message in {text}");
        assert!(
            longest_run(&messages, '9') <= 64 && longest_run(&messages, 'x') <= 64,
            "case {i}: {messages}"
        );
    }
}

// --- a real server over a socket -------------------------------------------------------

/// `serve` as an operator runs it, logging at info level.
fn serve(args: &[&str]) -> Spawned {
    let mut all = vec!["serve"];
    all.extend_from_slice(args);
    Spawned::start(&all, &[("RUST_LOG", "info")])
}

/// The port from the first line, `totp-toolset listening on http://ADDR:PORT/`.
fn port(s: &Spawned) -> u16 {
    let first = s.next_line();
    first
        .trim_end_matches('/')
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("unexpected first line {first:?}"))
}

/// One HTTP/1.1 GET over a socket with this Host; the status and the whole answer.
fn raw_get(port: u16, host: &str, path: &str) -> (u16, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    let status = answer
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no status in {answer:?}"));
    (status, answer)
}

#[test]
fn serve_on_every_interface_says_which_hosts_it_answers_and_refuses_others() {
    let s = serve(&["--bind", "0.0.0.0:0"]);
    let port = port(&s);
    let err = s.stderr_with("--allowed-host");
    assert!(
        err.contains(&format!("localhost:{port}")) && err.contains(&format!("127.0.0.1:{port}")),
        "{err}"
    );
    assert!(err.contains("--allowed-host NAME"), "{err}");
    assert!(err.contains("TOTP_TOOLSET_ALLOWED_HOSTS"), "{err}");
    assert!(err.contains("any IP address of this machine"), "{err}");

    let (status, answer) = raw_get(port, &format!("evil.example:{port}"), "/");
    assert_eq!(status, 421, "{answer}");
    assert!(answer.contains("--allowed-host"), "{answer}");
    assert!(!answer.contains("set-cookie"), "{answer}");
    // What the browser sends through the README's `-p 127.0.0.1:8080:8080`.
    for host in [format!("localhost:{port}"), format!("127.0.0.1:{port}")] {
        let (status, answer) = raw_get(port, &host, "/");
        assert_eq!(status, 200, "{host}: {answer}");
    }
    // Docker's HEALTHCHECK: the bind address from the environment, probed on loopback.
    let o = Command::new(bin())
        .arg("healthcheck")
        .env("TOTP_TOOLSET_BIND", format!("0.0.0.0:{port}"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

#[test]
fn serve_answers_to_allowed_host_names() {
    let s = serve(&[
        "--bind",
        "127.0.0.1:0",
        "--allowed-host",
        "totp.intranet.example,Other.Example:1",
    ]);
    let port = port(&s);
    let (status, _) = raw_get(port, &format!("totp.intranet.example:{port}"), "/");
    assert_eq!(status, 200);
    let (status, _) = raw_get(port, "other.example:1", "/");
    assert_eq!(status, 200);
    let (status, _) = raw_get(port, &format!("other.example:{port}"), "/");
    assert_eq!(status, 421);
    assert!(
        !s.stderr().contains("note: answering only"),
        "names given: no note"
    );

    let long = "b".repeat(300);
    let o = run(
        &[
            "serve",
            "--bind",
            "127.0.0.1:0",
            "--allowed-host",
            &format!("a {long}"),
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("--allowed-host"), "{err}");
    assert!(longest_run(&err, 'b') <= 64, "{err}");
}

proptest::proptest! {
    /// The helper every echoing message uses: at most 64 characters of the input (then an
    /// ellipsis), no control character, never a panic, whatever the text.
    #[test]
    fn excerpt_keeps_at_most_64_characters(text in proptest::prelude::any::<String>()) {
        let e = totp_toolset::otp::excerpt(&text, 64);
        let kept: Vec<char> = e.chars().collect();
        let cut = text.chars().count() > 64;
        proptest::prop_assert_eq!(kept.len(), text.chars().count().min(64) + usize::from(cut));
        proptest::prop_assert!(!e.chars().any(char::is_control));
        for (k, t) in kept.iter().zip(text.chars()) {
            proptest::prop_assert!(*k == t || (*k == '?' && t.is_control()));
        }
    }
}
