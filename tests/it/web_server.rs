//! The real server as a child process (`serve --bind 127.0.0.1:0` with `RUST_LOG=debug`):
//! every page over a real socket, then nothing it printed may hold a seed or a session id.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use crate::support::html::element_text;
use crate::support::process::ServerProcess;
use crate::support::router::{RFC_SEED, RFC_SEED_HEX, form_body, import_fields};

struct Reply {
    status: u16,
    head: String,
    body: String,
}

/// One HTTP/1.1 request with `Connection: close`, read to the end.
fn request(addr: &str, method: &str, path: &str, cookie: &str, body: Option<&str>) -> Reply {
    let mut stream = TcpStream::connect(addr).expect("connect to the server");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nSec-Fetch-Site: same-origin\r\nOrigin: http://{addr}\r\n"
    );
    if !cookie.is_empty() {
        req.push_str(&format!("Cookie: {cookie}\r\n"));
    }
    if let Some(b) = body {
        req.push_str(&format!(
            "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n",
            b.len()
        ));
    }
    req.push_str("\r\n");
    if let Some(b) = body {
        req.push_str(b);
    }
    stream.write_all(req.as_bytes()).unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    Reply {
        status,
        head: head.to_string(),
        body: body.to_string(),
    }
}

/// One request of the walk through every page: method, path, form body, expected status.
type Step = (&'static str, &'static str, Option<String>, u16);

/// Every page and form of the toolset, the good and the refused, in the order a user might.
fn every_page() -> Vec<Step> {
    vec![
        (
            "POST",
            "/seed",
            Some(form_body(&[
                ("size", "32"),
                ("algorithm", "sha1"),
                ("digits", "6"),
                ("period", "30"),
                ("confirm_replace", "yes"),
            ])),
            303,
        ),
        ("GET", "/", None, 200),
        (
            "POST",
            "/seed/import",
            Some(form_body(&import_fields(RFC_SEED))),
            303,
        ),
        (
            "POST",
            "/seed/import",
            Some(form_body(&[
                ("seed", &format!("{RFC_SEED}1")),
                ("confirm_replace", "yes"),
            ])),
            422,
        ),
        (
            "POST",
            "/seed/label",
            Some(form_body(&[("issuer", "Contoso"), ("account", "alice")])),
            303,
        ),
        ("GET", "/otp", None, 200),
        ("GET", "/otp?skew=6", None, 200),
        ("GET", "/api/otp", None, 200),
        (
            "POST",
            "/otp/drift",
            Some(form_body(&[("code", "123456"), ("next_code", "654321")])),
            200,
        ),
        ("GET", "/csv", None, 200),
        (
            "POST",
            "/csv/rows",
            Some(form_body(&[
                ("upn", "alice@contoso.com"),
                ("serial", "60234567"),
                ("secret", ""),
                ("interval", "30"),
                ("manufacturer", "Token2"),
                ("model", "C202"),
            ])),
            303,
        ),
        (
            "POST",
            "/csv/rows",
            Some(form_body(&[
                ("upn", "bob@contoso.com"),
                ("serial", "60234568"),
                ("secret", RFC_SEED_HEX),
                ("interval", "30"),
                ("manufacturer", "Token2"),
                ("model", "C202"),
            ])),
            422,
        ),
        ("GET", "/csv/download", None, 200),
        ("GET", "/csv/graph.json", None, 200),
        (
            "POST",
            "/csv/rows/0/delete",
            Some(form_body(&[("serial", "60234567")])),
            303,
        ),
        (
            "POST",
            "/csv/clear",
            Some(form_body(&[("confirm", "yes")])),
            303,
        ),
        ("GET", "/static/app.css", None, 200),
        ("GET", "/static/app.js", None, 200),
        ("GET", "/nowhere", None, 404),
    ]
}

/// The current token's base32 and hex as the seed page shows them (with their spaces gone).
fn seeds_on_page(html: &str) -> Vec<String> {
    ["seed-hex", "seed-base32"]
        .iter()
        .map(|id| element_text(html, id).unwrap().split_whitespace().collect())
        .collect()
}

/// Neither a seed (in any case, or a 16-character piece of one) nor the session id appears.
fn assert_nothing_secret_in(logs: &str, secrets: &[String], session_value: &str) {
    for secret in secrets {
        assert!(secret.len() >= 32, "collected a real seed");
        for form in [secret.clone(), secret.to_lowercase(), secret.to_uppercase()] {
            assert!(
                !logs.contains(&form),
                "a seed appeared in the server's output"
            );
        }
        // Nor a recognisable piece of one (grouped base32 shows 4-character runs).
        assert!(
            !logs.contains(&secret[..16]),
            "part of a seed appeared in the output"
        );
    }
    assert!(
        !logs.contains(session_value),
        "the session id appeared in the output"
    );
}

#[test]
fn real_server_serves_every_page_and_logs_no_seed() {
    let mut server = ServerProcess::start(&[]);
    let addr = server.addr().to_string();
    assert!(!addr.ends_with(":0"), "the real port is printed: {addr}");

    let mut secrets: Vec<String> = vec![RFC_SEED.into(), RFC_SEED_HEX.into()];
    assert_eq!(request(&addr, "GET", "/healthz", "", None).status, 200);
    let home = request(&addr, "GET", "/", "", None);
    assert_eq!(home.status, 200);
    let cookie = home
        .head
        .lines()
        .find_map(|l| l.strip_prefix("set-cookie: "))
        .expect("a session cookie")
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let session_value = cookie.split_once('=').unwrap().1.to_string();
    secrets.extend(seeds_on_page(&home.body));

    for (method, path, body, expected) in &every_page() {
        let r = request(&addr, method, path, &cookie, body.as_deref());
        assert_eq!(r.status, *expected, "{method} {path}: {}", r.body);
        if *path == "/" {
            secrets.extend(seeds_on_page(&r.body));
        }
        if *path == "/csv/download" {
            assert!(r.body.contains(RFC_SEED), "the download holds the seed");
        }
    }

    server.child.kill();
    let logs = server.output();
    assert!(
        logs.contains("started processing request") || logs.contains("finished processing request"),
        "debug logging was on: {logs}"
    );
    assert_nothing_secret_in(&logs, &secrets, &session_value);
}
