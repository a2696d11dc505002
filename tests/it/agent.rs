//! The agent from the outside: its refusals (Origin, Host, missing or wrong token, big
//! bodies), its successes on a simulated token, and the client's typed errors against a
//! real agent on a port-0 listener. Also the binary's own start-up checks.

use std::io::{Read, Write};
use std::process::Command;

use zeroize::Zeroizing;

use totp_toolset::agent::api::{BurnRequest, ErrorKind, TimeSyncRequest};
use totp_toolset::agent::client::{AgentClient, AgentClientError};
use totp_toolset::agent::{self, SimulatedFault};
use totp_toolset::otp::{Algorithm, Generator, Params, Secret};

use crate::support;
use crate::support::agent::{SimulatedAgent, TOKEN, client, start};

/// Sends a raw HTTP/1.1 request so every header is exactly what the test says.
async fn raw(url: &str, request: &str) -> (u16, String) {
    let addr = url.trim_start_matches("http://").to_string();
    let request = request.replace("{addr}", &addr);
    // Blocking std I/O on the blocking pool: this crate's tokio has no io-util.
    tokio::task::spawn_blocking(move || {
        let mut s = std::net::TcpStream::connect(&addr).unwrap();
        s.write_all(request.as_bytes()).unwrap();
        let mut reply = Vec::new();
        // The server may close before reading a refused body; what arrived is enough.
        let _ = s.read_to_end(&mut reply);
        let reply = String::from_utf8_lossy(&reply).into_owned();
        let status = reply[9..12].parse().unwrap();
        (status, reply)
    })
    .await
    .unwrap()
}

fn get(path: &str, extra: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: {{addr}}\r\n{extra}Connection: close\r\n\r\n")
}

fn bearer() -> String {
    format!("Authorization: Bearer {TOKEN}\r\n")
}

#[tokio::test]
async fn refuses_browsers_rebinding_and_strangers() {
    let url = start("8659600000001", false, SimulatedFault::None).await;
    let (status, body) = raw(&url, &get("/v1/status", &bearer())).await;
    assert_eq!(status, 200, "{body}");

    // A browser page (any Origin), even with the right token.
    let (status, body) = raw(
        &url,
        &get(
            "/v1/status",
            &format!("{}Origin: http://127.0.0.1:8080\r\n", bearer()),
        ),
    )
    .await;
    assert_eq!(status, 403);
    assert!(body.contains("origin_refused"), "{body}");

    // DNS rebinding: a foreign Host.
    let req = format!(
        "GET /v1/status HTTP/1.1\r\nHost: evil.example:80\r\n{}Connection: close\r\n\r\n",
        bearer()
    );
    let (status, body) = raw(&url, &req).await;
    assert_eq!(status, 403);
    assert!(body.contains("host_refused"), "{body}");

    // No token, a wrong one, one of another length, another scheme: all 401, on every path.
    for auth in [
        String::new(),
        format!("Authorization: Bearer {}\r\n", TOKEN.replace('0', "1")),
        "Authorization: Bearer short\r\n".to_string(),
        format!("Authorization: Basic {TOKEN}\r\n"),
    ] {
        for path in ["/v1/status", "/v1/simulated-token", "/nowhere"] {
            let (status, body) = raw(&url, &get(path, &auth)).await;
            assert_eq!(status, 401, "{path} {auth:?}: {body}");
            assert!(body.contains("unauthorized"), "{body}");
            assert!(
                body.to_ascii_lowercase()
                    .contains("www-authenticate: bearer")
            );
        }
    }
    let (status, body) = raw(&url, &get("/nowhere", &bearer())).await;
    assert_eq!(status, 404, "{body}");
}

#[tokio::test]
async fn refuses_big_and_bad_bodies_without_echoing_them() {
    let url = start("8659600000001", false, SimulatedFault::None).await;
    let big = "A".repeat(agent::MAX_BODY_BYTES + 10);
    let req = format!(
        "POST /v1/burn HTTP/1.1\r\nHost: {{addr}}\r\n{}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{big}",
        bearer(),
        big.len()
    );
    let (status, body) = raw(&url, &req).await;
    assert_eq!(status, 413, "{}", &body[..200]);
    assert!(body.contains("body_too_large"));

    let secretish = r#"{"secret": "JBSWY3DPEHPK3PXP", "period": "thirty"}"#;
    let req = format!(
        "POST /v1/burn HTTP/1.1\r\nHost: {{addr}}\r\n{}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{secretish}",
        bearer(),
        secretish.len()
    );
    let (status, body) = raw(&url, &req).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        !body.contains("JBSWY3DP") && !body.contains("thirty"),
        "{body}"
    );
}

#[tokio::test]
async fn burns_the_simulated_token_so_its_codes_match() {
    let url = start("8659632000077", false, SimulatedFault::None).await;
    let c = client(&url);
    let status = c.status().await.unwrap();
    assert_eq!(status.mode, "simulated");
    assert!(status.card_present);
    let token = status.token.unwrap();
    assert_eq!(token.serial, "8659632000077");
    assert_eq!(token.model.as_deref(), Some("C302-i"));

    for (alg, period) in [(Algorithm::Sha1, 30), (Algorithm::Sha256, 60)] {
        let secret = Secret::from_bytes(support::random_bytes(20)).unwrap();
        let mut req = BurnRequest::new(&secret);
        req.algorithm = Some(alg.uri_name().to_string());
        req.period = Some(period);
        req.display_timeout = Some(60);
        assert_eq!(format!("{req:?}").matches("[redacted]").count(), 1);
        let burned = c.burn(&req).await.unwrap();
        assert_eq!(burned.token.serial, "8659632000077");
        assert_eq!(
            (burned.period, burned.digits, burned.display_timeout),
            (period, 6, 60)
        );
        let ours = Generator::new(&secret, Params::new(alg, 6, period).unwrap());
        assert_eq!(burned.codes.current, ours.code_at(burned.clock_set));

        let shown = c.simulated_token(None).await.unwrap();
        assert!(shown.seed_present);
        assert_eq!(shown.algorithm, alg.uri_name());
        for code in shown.codes {
            assert_eq!(code.code, ours.code_for_counter(code.counter));
        }
    }
    let id = c.identify(1).await.unwrap();
    assert_eq!(id.token.serial, "8659632000077");
}

#[tokio::test]
async fn time_sync_needs_confirmation_and_warns_restricted_models() {
    let url = start("8659601000001", false, SimulatedFault::None).await;
    let c = client(&url);
    c.burn(&BurnRequest::new(&Secret::from_bytes(vec![5; 20]).unwrap()))
        .await
        .unwrap();
    let e = c.time_sync(&TimeSyncRequest::default()).await.unwrap_err();
    assert_eq!(e.agent_kind(), Some(ErrorKind::ConfirmationRequired));
    assert_eq!(e.kind(), "confirmation_required");
    assert!(e.to_string().contains("confirm"), "{e}");
    let mut req = TimeSyncRequest {
        confirm: true,
        ..Default::default()
    };
    let e = c.time_sync(&req).await.unwrap_err();
    assert_eq!(
        e.agent_kind(),
        Some(ErrorKind::SeedLossUnconfirmed),
        "{e:?}"
    );
    assert!(c.simulated_token(None).await.unwrap().seed_present);
    req.confirm_seed_loss = true;
    let done = c.time_sync(&req).await.unwrap();
    assert!(done.seed_erased);
    assert!(done.warning.unwrap().contains("burn the seed again"));
    assert!(!c.simulated_token(None).await.unwrap().seed_present);

    // A keeper needs only the plain confirmation, and keeps its seed.
    let url = start("8659600000002", false, SimulatedFault::None).await;
    let c = client(&url);
    c.burn(&BurnRequest::new(&Secret::from_bytes(vec![5; 20]).unwrap()))
        .await
        .unwrap();
    let done = c
        .time_sync(&TimeSyncRequest {
            confirm: true,
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(!done.seed_erased && done.warning.is_none());
    assert!(c.simulated_token(None).await.unwrap().seed_present);
}

#[tokio::test]
async fn every_failure_has_its_own_client_error() {
    let secret = Secret::from_bytes(vec![1; 20]).unwrap();
    // (the fault as `agent --simulate-fault` names it, the error's kind, words it says)
    let cases = [
        ("fido", "fido_key", "FIDO"),
        ("oath", "oath_applet", "OATH"),
        ("wrong-key", "wrong_key", "6983"),
        ("lift-mid-write", "card_lifted_mid_write", "half-written"),
        ("no-card", "no_card_in_time", "press the token's button"),
    ];
    for (fault, kind, words) in cases {
        let url = start("8659600000001", false, fault.parse().unwrap()).await;
        let mut req = BurnRequest::new(&secret);
        req.wait_seconds = Some(1);
        let e = client(&url).burn(&req).await.unwrap_err();
        assert_eq!(e.kind(), kind, "{e:?}");
        assert!(e.to_string().contains(words), "{e}");
    }

    let url = start("4242424242", false, SimulatedFault::None).await;
    let c = client(&url);
    let e = c.burn(&BurnRequest::new(&secret)).await.unwrap_err();
    assert_eq!(e.agent_kind(), Some(ErrorKind::UnknownModel), "{e:?}");
    let mut forced = BurnRequest::new(&secret);
    forced.force = true;
    c.burn(&forced).await.unwrap();

    let mut bad = BurnRequest::new(&Secret::from_bytes(vec![1; 64]).unwrap());
    bad.wait_seconds = Some(1);
    let e = c.burn(&bad).await.unwrap_err();
    assert_eq!(e.agent_kind(), Some(ErrorKind::BadSeed), "{e:?}");
    assert!(e.to_string().contains("63"), "{e}");
    let mut sha512 = BurnRequest::new(&secret);
    sha512.algorithm = Some("SHA512".into());
    assert!(
        c.burn(&sha512)
            .await
            .unwrap_err()
            .to_string()
            .contains("SHA-512")
    );

    let wrong = AgentClient::new(&url, Zeroizing::new("x".repeat(30))).unwrap();
    assert_eq!(
        wrong.status().await.unwrap_err(),
        AgentClientError::Unauthorized
    );

    // Nobody listening: bind a port, then free it.
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = format!("http://{}", l.local_addr().unwrap());
    drop(l);
    let e = client(&dead).status().await.unwrap_err();
    assert!(matches!(e, AgentClientError::NotRunning { .. }), "{e:?}");
    assert!(e.to_string().contains("not running"));

    assert!(AgentClient::new("https://127.0.0.1:1", Zeroizing::new(TOKEN.into())).is_err());
}

#[test]
fn the_binary_refuses_remote_binds_and_missing_tokens() {
    let o = support::run(&["agent", "--simulate", "--bind", "0.0.0.0:0"], None);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        support::stderr(&o).contains("--allow-remote"),
        "{}",
        support::stderr(&o)
    );
    let o = Command::new(support::bin())
        .args(["agent", "--simulate", "--bind", "127.0.0.1:0"])
        .env_remove("TOTP_TOOLSET_AGENT_TOKEN")
        .env_remove("TOTP_TOOLSET_AGENT_TOKEN_FILE")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("bearer token"));
}

#[tokio::test]
async fn the_real_binary_burns_with_simulate() {
    let agent = SimulatedAgent::start("8659612000042");
    let c = agent.client();
    let burned = c
        .burn(&BurnRequest::new(&Secret::from_bytes(vec![9; 20]).unwrap()))
        .await
        .unwrap();
    let shown = c.simulated_token(None).await.unwrap();
    drop(agent);
    assert_eq!(burned.token.serial, "8659612000042");
    assert_eq!(burned.token.model.as_deref(), Some("OTPC-P1-i"));
    let here = shown
        .codes
        .iter()
        .find(|c| c.counter == burned.codes.counter)
        .expect("the token shows the burn's step");
    assert_eq!(here.code, burned.codes.current);
}
