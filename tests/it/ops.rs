//! Running the toolset as an operator would: TLS from files and self-signed, the health
//! check, graceful shutdown on SIGTERM, and the start-up warnings.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use crate::support::{bin, run, stderr, stdout};

/// A `serve` child whose stdout lines arrive on a channel and whose stderr is collected.
struct Serve {
    child: Child,
    lines: mpsc::Receiver<String>,
    err: std::sync::Arc<std::sync::Mutex<String>>,
}

impl Serve {
    fn start(args: &[&str], env: &[(&str, &str)]) -> Serve {
        let mut cmd = Command::new(bin());
        cmd.arg("serve")
            .args(args)
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("start serve");
        let (tx, lines) = mpsc::channel();
        let out = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let err = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let sink = err.clone();
        let stderr_pipe = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr_pipe).lines().map_while(Result::ok) {
                sink.lock().unwrap().push_str(&(line + "\n"));
            }
        });
        Serve { child, lines, err }
    }

    fn line(&self) -> String {
        self.lines
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|_| panic!("serve printed nothing; stderr: {}", self.stderr()))
    }

    /// The URL from the first line, `totp-toolset listening on URL`.
    fn url(&self) -> String {
        let first = self.line();
        first
            .strip_prefix("totp-toolset listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {first:?}"))
            .trim_end_matches('/')
            .to_string()
    }

    fn stderr(&self) -> String {
        self.err.lock().unwrap().clone()
    }

    fn terminate(&mut self) -> std::process::ExitStatus {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill -TERM");
        assert!(status.success());
        for _ in 0..300 {
            if let Some(status) = self.child.try_wait().unwrap() {
                // Let the reader threads drain what was written last.
                std::thread::sleep(Duration::from_millis(100));
                return status;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("serve did not stop after SIGTERM");
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn healthcheck(args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let mut cmd = Command::new(bin());
    cmd.arg("healthcheck")
        .args(args)
        .env_remove("TOTP_TOOLSET_BIND");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run healthcheck")
}

#[test]
fn healthcheck_passes_against_a_server_and_fails_without_one() {
    let mut s = Serve::start(&["--bind", "127.0.0.1:0"], &[]);
    let url = s.url();
    let bind = url.trim_start_matches("http://").to_string();
    // As Docker's HEALTHCHECK runs it: no flags, the address from TOTP_TOOLSET_BIND.
    let o = healthcheck(&[], &[("TOTP_TOOLSET_BIND", &bind)]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("answered 200"));
    let o = healthcheck(&["--url", &format!("{url}/healthz")], &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(s.terminate().success());
    let o = healthcheck(&[], &[("TOTP_TOOLSET_BIND", &bind)]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).starts_with("error: unhealthy: "),
        "{}",
        stderr(&o)
    );
    let o = healthcheck(&["--url", "ftp://x/"], &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--url"));
}

#[test]
fn sigterm_finishes_and_wipes_sessions() {
    let mut s = Serve::start(&["--bind", "127.0.0.1:0"], &[]);
    let url = s.url();
    // A page visit makes a session to wipe.
    let o = healthcheck(&["--url", &format!("{url}/")], &[]);
    assert_eq!(o.status.code(), Some(0));
    let status = s.terminate();
    assert!(
        status.success(),
        "graceful shutdown exits 0, got {status:?}"
    );
    let log = s.stderr();
    assert!(log.contains("shutdown requested"), "{log}");
    assert!(log.contains("every session and its seeds wiped"), "{log}");
    assert!(log.contains("wiped=1"), "{log}");
}

#[test]
fn self_signed_tls_prints_its_fingerprint_and_answers_https() {
    let s = Serve::start(&["--bind", "127.0.0.1:0", "--tls-self-signed"], &[]);
    let url = s.url();
    assert!(url.starts_with("https://127.0.0.1:"), "{url}");
    let fp = s.line();
    assert!(fp.starts_with("TLS self-signed certificate (in memory only), SHA-256 fingerprint "));
    let hex = fp.rsplit(' ').next().unwrap();
    assert_eq!(hex.len(), 95, "{hex}");
    assert!(
        hex.split(':')
            .all(|b| b.len() == 2 && u8::from_str_radix(b, 16).is_ok())
    );
    let bind = url.trim_start_matches("https://").to_string();
    // The health check follows serve's own TLS variable to pick https.
    let o = healthcheck(
        &[],
        &[
            ("TOTP_TOOLSET_BIND", &bind),
            ("TOTP_TOOLSET_TLS_SELF_SIGNED", "true"),
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    // Plain HTTP to a TLS port is not an answer.
    let o = healthcheck(&["--url", &format!("http://{bind}/healthz")], &[]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        !s.stderr().contains("WARNING"),
        "no clear-text warning with TLS"
    );
}

#[test]
fn tls_from_pem_files() {
    let dir = tempfile::tempdir().unwrap();
    let made = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let cert = dir.path().join("cert.pem");
    let key = dir.path().join("key.pem");
    std::fs::write(&cert, made.cert.pem()).unwrap();
    std::fs::write(&key, made.signing_key.serialize_pem()).unwrap();
    let want = totp_toolset::web::tls::fingerprint(made.cert.der());
    let s = Serve::start(
        &[
            "--bind",
            "127.0.0.1:0",
            "--tls-cert",
            cert.to_str().unwrap(),
            "--tls-key",
            key.to_str().unwrap(),
        ],
        &[],
    );
    let url = s.url();
    assert_eq!(
        s.line(),
        format!("TLS certificate, SHA-256 fingerprint {want}")
    );
    let o = healthcheck(&["--url", &format!("{url}/healthz")], &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));

    // Bad files: exit 2 naming the flag.
    let o = run(
        &[
            "serve",
            "--bind",
            "127.0.0.1:0",
            "--tls-cert",
            key.to_str().unwrap(),
            "--tls-key",
            key.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--tls-cert"), "{}", stderr(&o));
    let o = run(&["serve", "--tls-cert", cert.to_str().unwrap()], None);
    assert_eq!(o.status.code(), Some(2), "a certificate needs its key");
    assert!(stderr(&o).contains("--tls-key"), "{}", stderr(&o));
}

#[test]
fn startup_warnings() {
    // Clear text on a non-loopback address, and a misspelt variable.
    let s = Serve::start(
        &["--bind", "0.0.0.0:0"],
        &[("TOTP_TOOLSET_MAX_SESION", "3")],
    );
    let _ = s.url();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !s.stderr().contains("plain HTTP") && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let err = s.stderr();
    assert!(err.contains("WARNING: serving on 0.0.0.0:"), "{err}");
    assert!(err.contains("in clear text"), "{err}");
    assert!(
        err.contains("warning: unknown environment variable TOTP_TOOLSET_MAX_SESION (did you mean TOTP_TOOLSET_MAX_SESSIONS?)"),
        "{err}"
    );
    // Loopback: no clear-text warning.
    let s = Serve::start(&["--bind", "127.0.0.1:0"], &[]);
    let _ = s.url();
    std::thread::sleep(Duration::from_millis(300));
    assert!(!s.stderr().contains("WARNING"), "{}", s.stderr());
}

#[test]
fn every_flag_has_an_environment_variable() {
    let known = totp_toolset::cli::known_env_vars();
    for name in [
        "TOTP_TOOLSET_BIND",
        "TOTP_TOOLSET_TLS_CERT",
        "TOTP_TOOLSET_TLS_KEY",
        "TOTP_TOOLSET_TLS_SELF_SIGNED",
        "TOTP_TOOLSET_MAX_SESSIONS",
        "TOTP_TOOLSET_MAX_ROWS",
        "TOTP_TOOLSET_SESSION_IDLE_MINUTES",
    ] {
        assert!(known.contains(name), "{name} missing from {known:?}");
    }
    let help = stdout(&run(&["serve", "--help"], None));
    for flag in [
        "--tls-self-signed",
        "--tls-cert",
        "--bind",
        "TOTP_TOOLSET_BIND",
    ] {
        assert!(help.contains(flag), "serve --help lacks {flag}");
    }
}

#[tokio::test]
async fn hsts_only_when_tls_is_on() {
    use crate::web_client::Server as Router;
    let mut config = totp_toolset::web::WebConfig::default();
    let plain = Router::with_config(config.clone()).browser().get("/").await;
    assert!(plain.headers.get("strict-transport-security").is_none());
    config.sessions.tls = true;
    let tls = Router::with_config(config).browser().get("/").await;
    assert_eq!(
        tls.headers.get("strict-transport-security").unwrap(),
        "max-age=31536000"
    );
    let cookie = tls.headers.get("set-cookie").unwrap().to_str().unwrap();
    assert!(cookie.contains("; Secure"), "{cookie}");
}
