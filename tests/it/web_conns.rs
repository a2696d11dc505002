//! What the server does with its sockets and bytes on the wire: slow and idle connections
//! are closed (plain HTTP and TLS), connections beyond the cap wait their turn while the
//! server keeps answering, and pages and static files are compressed with brotli and gzip
//! except responses that echo the request's input.

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, StatusCode, header};

use crate::support::process::ServerProcess;
use crate::support::router::{Resp, TestApp, form_body};

/// Far longer than any timeout configured below: the tests check that sockets close, not
/// how fast.
const GENEROUS: Duration = Duration::from_secs(20);

/// A `serve` child process on a free loopback port, and its address.
struct Serve {
    _process: ServerProcess,
    addr: String,
}

impl Serve {
    fn start(args: &[&str]) -> Serve {
        let process = ServerProcess::start_with_env(args, &[("RUST_LOG", "warn")]);
        let addr = process.addr().to_string();
        Serve {
            _process: process,
            addr,
        }
    }

    /// A server with these connection timeouts (seconds) and `extra` arguments.
    fn with_timeouts(header: &str, keep_alive: &str, extra: &[&str]) -> Serve {
        let mut args = vec![
            "--header-timeout-seconds",
            header,
            "--keep-alive-seconds",
            keep_alive,
        ];
        args.extend_from_slice(extra);
        Serve::start(&args)
    }

    fn connect(&self) -> TcpStream {
        let s = TcpStream::connect(&self.addr).expect("connect");
        s.set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        s
    }

    /// A complete request for the health check on a fresh connection; its status line.
    fn health(&self) -> String {
        let mut s = self.connect();
        s.set_read_timeout(Some(GENEROUS)).unwrap();
        write!(
            s,
            "GET /healthz HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            self.addr
        )
        .unwrap();
        let mut response = String::new();
        s.read_to_string(&mut response).expect("health response");
        response.lines().next().unwrap_or_default().to_string()
    }
}

/// Reads once: `Some(n)` bytes arrived, `Some(0)` the server closed, `None` nothing yet.
fn poll_read(s: &mut TcpStream) -> Option<usize> {
    let mut buf = [0u8; 4096];
    match s.read(&mut buf) {
        Ok(n) => Some(n),
        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => None,
        // A reset is the server closing too.
        Err(_) => Some(0),
    }
}

/// Waits for the server to close `s`, calling `tick` between reads (to trickle bytes);
/// true when it closed within `limit`.
fn closed_within(s: &mut TcpStream, limit: Duration, mut tick: impl FnMut(&mut TcpStream)) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        match poll_read(s) {
            Some(0) => return true,
            Some(_) => {}
            None => tick(s),
        }
    }
    false
}

/// Reads one response to a request for /healthz (a small, fixed-length body).
fn read_health_response(s: &mut TcpStream) -> String {
    let start = Instant::now();
    let mut got = Vec::new();
    while start.elapsed() < GENEROUS {
        let text = String::from_utf8_lossy(&got).into_owned();
        if text.contains("\r\n\r\nok\n") {
            return text;
        }
        let mut buf = [0u8; 4096];
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(e) => panic!("reading the response: {e}"),
        }
    }
    panic!(
        "no complete response; got {:?}",
        String::from_utf8_lossy(&got)
    );
}

#[test]
fn a_client_that_never_finishes_its_headers_is_disconnected() {
    // The idle timeout is long, so only the header deadline can close this socket.
    let server = Serve::with_timeouts("1", "600", &[]);
    let mut slow = server.connect();
    slow.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\n")
        .unwrap();
    let mut n = 0u32;
    let closed = closed_within(&mut slow, GENEROUS, |s| {
        // One more header byte every read timeout: never the blank line that ends them.
        n += 1;
        let _ = s.write_all(if n.is_multiple_of(8) {
            b"\r\nX-Slow: "
        } else {
            b"a"
        });
    });
    assert!(
        closed,
        "a slow-header socket was still open after {GENEROUS:?}"
    );
    // The server itself carries on.
    assert_eq!(server.health(), "HTTP/1.1 200 OK");
}

#[test]
fn a_tls_client_that_never_says_hello_is_disconnected() {
    let server = Serve::with_timeouts("1", "600", &["--tls-self-signed"]);
    let mut silent = server.connect();
    assert!(
        closed_within(&mut silent, GENEROUS, |_| {}),
        "a TCP connection without a TLS handshake was still open after {GENEROUS:?}"
    );
}

#[test]
fn an_idle_kept_alive_connection_is_closed() {
    // The header deadline is long, so only the idle timeout can close this socket.
    let server = Serve::with_timeouts("600", "1", &[]);
    let mut s = server.connect();
    write!(s, "GET /healthz HTTP/1.1\r\nHost: {}\r\n\r\n", server.addr).unwrap();
    let response = read_health_response(&mut s);
    assert!(response.starts_with("HTTP/1.1 200 OK"), "{response}");
    assert!(!response.to_ascii_lowercase().contains("connection: close"));
    assert!(
        closed_within(&mut s, GENEROUS, |_| {}),
        "an idle keep-alive socket was still open after {GENEROUS:?}"
    );
    // A socket that never sent anything is idle too.
    let mut silent = server.connect();
    assert!(closed_within(&mut silent, GENEROUS, |_| {}));
}

#[test]
fn connections_beyond_the_cap_wait_until_one_closes() {
    let server = Serve::with_timeouts("600", "600", &["--max-connections", "3"]);
    // Three silent sockets take every place; a request on each proves it was accepted.
    let mut held: Vec<TcpStream> = (0..3)
        .map(|_| {
            let mut s = server.connect();
            write!(s, "GET /healthz HTTP/1.1\r\nHost: {}\r\n\r\n", server.addr).unwrap();
            assert!(read_health_response(&mut s).starts_with("HTTP/1.1 200 OK"));
            s
        })
        .collect();
    let mut waiting = server.connect();
    write!(
        waiting,
        "GET /healthz HTTP/1.1\r\nHost: {}\r\n\r\n",
        server.addr
    )
    .unwrap();
    // Not served while the cap is reached (however slow the machine, this cannot pass by
    // luck: a served request would have answered).
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(poll_read(&mut waiting), None, "served beyond the cap");
    // One place frees up: the waiting request is served.
    drop(held.pop());
    assert!(read_health_response(&mut waiting).starts_with("HTTP/1.1 200 OK"));
    drop(waiting);
    drop(held);
    // And the server keeps answering normal requests.
    for _ in 0..5 {
        assert_eq!(server.health(), "HTTP/1.1 200 OK");
    }
}

/// A GET with the browser's cookie and the given Accept-Encoding.
async fn get_encoded(
    b: &mut crate::support::router::Browser,
    path: &str,
    encoding: Option<&str>,
) -> Resp {
    let mut req = Request::get(path).header(header::HOST, "localhost");
    if let Some(e) = encoding {
        req = req.header(header::ACCEPT_ENCODING, e);
    }
    b.send(req.body(Body::empty()).unwrap()).await
}

fn decode(encoding: &str, bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    match encoding {
        "br" => {
            brotli_decompressor::Decompressor::new(bytes, 4096)
                .read_to_end(&mut out)
                .expect("valid brotli");
        }
        "gzip" => {
            flate2::read::GzDecoder::new(bytes)
                .read_to_end(&mut out)
                .expect("valid gzip");
        }
        other => panic!("unexpected encoding {other}"),
    }
    out
}

#[tokio::test]
async fn pages_and_static_files_are_compressed_and_decode_to_the_same_bytes() {
    let mut b = TestApp::new().session().await;
    b.get("/").await;
    for path in [
        "/",
        "/otp",
        "/csv",
        "/api/otp",
        "/static/app.css",
        "/static/app.js",
        "/static/favicon.svg",
    ] {
        let plain = get_encoded(&mut b, path, None).await;
        assert_eq!(plain.status, StatusCode::OK, "{path}");
        assert_eq!(plain.header("content-encoding"), None, "{path}");
        for encoding in ["br", "gzip"] {
            let r = get_encoded(&mut b, path, Some(encoding)).await;
            assert_eq!(r.status, StatusCode::OK, "{path}");
            assert_eq!(
                r.header("content-encoding").as_deref(),
                Some(encoding),
                "{path}"
            );
            assert!(
                r.header("vary")
                    .is_some_and(|v| v.to_ascii_lowercase().contains("accept-encoding")),
                "{path}: caches must keep encodings apart"
            );
            assert!(r.bytes.len() < plain.bytes.len(), "{path} {encoding}");
            assert_eq!(
                decode(encoding, &r.bytes),
                plain.bytes,
                "{path}: {encoding} decodes to other bytes"
            );
        }
    }
    // A browser's usual header picks brotli.
    let r = get_encoded(&mut b, "/", Some("gzip, deflate, br, zstd")).await;
    assert_eq!(r.header("content-encoding").as_deref(), Some("br"));
}

#[tokio::test]
async fn the_seed_page_with_its_css_and_js_is_at_most_20_kb_on_the_wire() {
    let mut b = TestApp::new().session().await;
    let mut total = 0;
    let mut plain_total = 0;
    for path in ["/", "/static/app.css", "/static/app.js"] {
        total += get_encoded(&mut b, path, Some("br")).await.bytes.len();
        plain_total += get_encoded(&mut b, path, None).await.bytes.len();
    }
    assert!(
        total <= 20_000,
        "{total} bytes with brotli (plain {plain_total})"
    );
}

#[tokio::test]
async fn responses_that_echo_the_request_are_not_compressed() {
    let mut b = TestApp::new().session().await;
    // A refused row is shown again with what was typed, beside the session's seeds.
    let req = Request::post("/csv/rows")
        .header(header::HOST, "localhost")
        .header("sec-fetch-site", "same-origin")
        .header("origin", "http://localhost")
        .header(header::ACCEPT_ENCODING, "br, gzip")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(form_body(&[
            ("upn", "not an address"),
            ("serial", "X1"),
            ("interval", "30"),
        ])))
        .unwrap();
    let r = b.send(req).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.header("content-encoding"), None);
    assert!(r.text().contains("not an address"));
    // A query string shown back in an error.
    let r = get_encoded(&mut b, "/otp?skew=oops", Some("br")).await;
    assert_eq!(r.header("content-encoding"), None);
    assert!(r.text().contains("oops"));
}
