//! Running the toolset as an operator would: TLS from files and self-signed, the health
//! check, graceful shutdown on SIGTERM, and the start-up warnings.

use std::process::Command;
use std::time::Duration;

use crate::support::process::Spawned;
use crate::support::{bin, run, stderr, stdout};

/// `totp-toolset serve` with `args`, logging at info level.
fn serve(args: &[&str], env: &[(&str, &str)]) -> Spawned {
    let mut all_args = vec!["serve"];
    all_args.extend_from_slice(args);
    let mut all_env = vec![("RUST_LOG", "info")];
    all_env.extend_from_slice(env);
    Spawned::start(&all_args, &all_env)
}

/// The URL from the first line, which must be `totp-toolset listening on URL`.
fn listening_url(s: &Spawned) -> String {
    let first = s.next_line();
    first
        .strip_prefix("totp-toolset listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {first:?}"))
        .trim_end_matches('/')
        .to_string()
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
    let mut s = serve(&["--bind", "127.0.0.1:0"], &[]);
    let url = listening_url(&s);
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
    let mut s = serve(&["--bind", "127.0.0.1:0"], &[]);
    let url = listening_url(&s);
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
    let s = serve(&["--bind", "127.0.0.1:0", "--tls-self-signed"], &[]);
    let url = listening_url(&s);
    assert!(url.starts_with("https://127.0.0.1:"), "{url}");
    let fp = s.next_line();
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

/// `serve`'s arguments for a free loopback port with this certificate and key.
fn tls_args<'a>(cert: &'a std::path::Path, key: &'a std::path::Path) -> [&'a str; 6] {
    [
        "--bind",
        "127.0.0.1:0",
        "--tls-cert",
        cert.to_str().unwrap(),
        "--tls-key",
        key.to_str().unwrap(),
    ]
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
    let s = serve(&tls_args(&cert, &key), &[]);
    let url = listening_url(&s);
    assert_eq!(
        s.next_line(),
        format!("TLS certificate, SHA-256 fingerprint {want}")
    );
    let o = healthcheck(&["--url", &format!("{url}/healthz")], &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));

    // Bad files: exit 2 naming the flag.
    let o = run(&[&["serve"][..], &tls_args(&key, &key)].concat(), None);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--tls-cert"), "{}", stderr(&o));
    let o = run(&["serve", "--tls-cert", cert.to_str().unwrap()], None);
    assert_eq!(o.status.code(), Some(2), "a certificate needs its key");
    assert!(stderr(&o).contains("--tls-key"), "{}", stderr(&o));
}

#[test]
fn startup_warnings() {
    // Clear text on a non-loopback address, and a misspelt variable.
    let s = serve(
        &["--bind", "0.0.0.0:0"],
        &[("TOTP_TOOLSET_MAX_SESION", "3")],
    );
    let _ = listening_url(&s);
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
    let s = serve(&["--bind", "127.0.0.1:0"], &[]);
    let _ = listening_url(&s);
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
    use crate::support::router::TestApp as Router;
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
