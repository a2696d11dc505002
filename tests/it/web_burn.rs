//! The seed page's "Burn to token" panel against a real agent (in process, on a port-0
//! listener, with a simulated Token2 token): the status line, a burn whose codes match the
//! token's, the serial and model landing in the CSV form, and one clear message per failure.

use axum::http::StatusCode;

use totp_toolset::agent::api::ErrorKind;
use totp_toolset::otp::{Algorithm, Generator, Params, Secret};
use totp_toolset::web::WebConfig;

use crate::support::agent::{client, start};
use crate::support::html::unescape;
use crate::support::router::{Browser, RFC_SEED, TestApp};

/// An in-process agent with a simulated token (the agent tests' own helper).
async fn start_agent(serial: &str, fault: &str) -> String {
    start(serial, false, fault.parse().unwrap()).await
}

/// A toolset whose clock is the real one (the agent's token keeps real time too).
fn toolset(agent_url: Option<&str>) -> Browser {
    let config = WebConfig {
        agent: agent_url.map(client),
        burn_wait_seconds: 1,
        ..WebConfig::default()
    };
    let server = TestApp::with_config(config);
    server.set_time(now());
    server.browser()
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

async fn burn(b: &mut Browser, extra: &[(&str, &str)]) -> crate::support::router::Resp {
    let mut fields = extra.to_vec();
    if !extra.iter().any(|(k, _)| *k == "display_timeout") {
        fields.push(("display_timeout", "30"));
    }
    b.post("/burn", &fields).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn burning_fills_the_csv_form_and_the_token_shows_our_codes() {
    let url = start_agent("8659600001234", "none").await;
    let mut b = toolset(Some(&url));
    let page = b.get("/").await;
    let text = page.text();
    assert!(text.contains("Agent ready (simulated token)"), "{text}");
    assert!(
        text.contains("Press the token"),
        "the panel tells the user to press the button"
    );

    b.import(RFC_SEED).await;
    let r = burn(&mut b, &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    assert_eq!(r.location().as_deref(), Some("/#burn"));

    let page = unescape(&b.get("/").await.text());
    assert!(page.contains("id=\"burn-serial\">8659600001234<"), "{page}");
    assert!(page.contains("id=\"burn-model\">miniOTP-2-i<"), "{page}");

    // The token now shows exactly our codes.
    let shown = client(&url).simulated_token(None).await.unwrap();
    assert!(shown.seed_present);
    assert_eq!(shown.algorithm, "SHA1");
    assert_eq!(shown.period, 30);
    let secret = Secret::parse(RFC_SEED, Default::default()).unwrap();
    let ours = Generator::new(&secret, Params::new(Algorithm::Sha1, 6, 30).unwrap());
    for c in &shown.codes {
        assert_eq!(c.code, ours.code_for_counter(c.counter));
    }
    let current = ours.code_at(shown.at);
    assert!(page.contains(&current) || page.contains(&ours.code_at(shown.at - 30)));

    // The CSV form has the serial, the maker and the model filled in.
    let csv = unescape(&b.get("/csv").await.text());
    assert!(csv.contains("value=\"8659600001234\""), "{csv}");
    assert!(csv.contains("value=\"Token2\""), "{csv}");
    assert!(csv.contains("value=\"miniOTP-2-i\""), "{csv}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sha256_and_60_seconds_are_burned_as_set() {
    let url = start_agent("8659632000001", "none").await;
    let mut b = toolset(Some(&url));
    let r = b.generate("32", "sha256", "6", "60").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let r = burn(&mut b, &[("display_timeout", "120")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let shown = client(&url).simulated_token(None).await.unwrap();
    assert_eq!((shown.algorithm.as_str(), shown.period), ("SHA256", 60));
    let page = b.get("/").await.text();
    assert!(page.contains("C302-i"));
}

/// Each failure: its status and a sentence that names the problem and what to do.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_failure_has_its_own_message() {
    let cases: [(&str, &str, StatusCode, &str, &str); 6] = [
        (
            "8659600000001",
            "no-card",
            StatusCode::GATEWAY_TIMEOUT,
            "no_card_in_time",
            "hold it flat on the reader",
        ),
        (
            "8659600000001",
            "fido",
            StatusCode::CONFLICT,
            "fido_key",
            "FIDO",
        ),
        (
            "8659600000001",
            "oath",
            StatusCode::CONFLICT,
            "oath_applet",
            "OATH",
        ),
        (
            "8659600000001",
            "wrong-key",
            StatusCode::BAD_GATEWAY,
            "wrong_key",
            "key",
        ),
        (
            "8659600000001",
            "lift-mid-write",
            StatusCode::BAD_GATEWAY,
            "card_lifted_mid_write",
            "burn it again",
        ),
        (
            "1234567000001",
            "none",
            StatusCode::CONFLICT,
            "unknown_model",
            "unknown model",
        ),
    ];
    for (serial, fault, status, kind, words) in cases {
        let url = start_agent(serial, fault).await;
        let mut b = toolset(Some(&url));
        let r = burn(&mut b, &[]).await;
        let text = unescape(&r.text());
        assert_eq!(r.status, status, "{fault}/{serial}: {text}");
        assert!(
            text.contains(&format!("data-kind=\"{kind}\"")),
            "{fault}: {text}"
        );
        let error = text.split("id=\"burn-error\"").nth(1).unwrap();
        assert!(
            error.to_lowercase().contains(&words.to_lowercase()),
            "{fault}: message should mention {words:?}: {error}"
        );
        // The page is still whole: the seed panel and forms are there.
        assert!(text.contains("id=\"seed-base32\""));
    }
    // An unknown model burns when forced.
    let url = start_agent("1234567000001", "none").await;
    let mut b = toolset(Some(&url));
    let r = burn(&mut b, &[("force", "yes")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_missing_or_down_or_unburnable_token() {
    // No agent configured: the panel says how to start one.
    let mut b = toolset(None);
    assert!(b.get("/").await.text().contains("No NFC agent is set up"));
    let r = burn(&mut b, &[]).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(r.text().contains("agent_not_configured"));

    // Configured but not running.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut b = toolset(Some(&format!("http://127.0.0.1:{port}")));
    let page = b.get("/").await.text();
    assert!(page.contains("not running"), "{page}");
    let r = burn(&mut b, &[]).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    let text = unescape(&r.text());
    assert!(text.contains("data-kind=\"agent_not_running\""), "{text}");
    assert!(text.contains("totp-toolset agent"), "{text}");

    // A token these devices cannot hold.
    let url = start_agent("8659600000001", "none").await;
    let mut b = toolset(Some(&url));
    let r = b.generate("20", "sha512", "8", "30").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let page = b.get("/").await.text();
    assert!(page.contains("id=\"burn-unburnable\""));
    let r = burn(&mut b, &[]).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(unescape(&r.text()).contains("SHA-512 and 8 digits"));
    assert!(
        !client(&url)
            .simulated_token(None)
            .await
            .unwrap()
            .seed_present
    );

    // A display timeout the token does not have.
    let r = burn(&mut b, &[("display_timeout", "45")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.text()
            .contains("Display timeout: choose 15, 30, 60 or 120 seconds.")
    );
}

/// An agent in front of PC/SC with no such reader (and, in this test, no pcscd at all):
/// the page says there is no reader to use, not that the agent is down.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_reader_is_its_own_message() {
    use std::sync::Arc;
    use totp_toolset::agent::{self, AgentState, Device};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let clock = totp_toolset::clock::system_clock();
    let state = Arc::new(AgentState::new(
        Device::Pcsc {
            reader: Some("No Such Reader 00 00".to_string()),
        },
        zeroize::Zeroizing::new(crate::support::agent::TOKEN.to_string()),
        agent::hosts_for(addr, &[]),
        clock,
    ));
    tokio::spawn(agent::serve(listener, state, std::future::pending()));
    let url = format!("http://{addr}");
    // Which of the no-reader kinds depends on this machine (no PC/SC in the build, no
    // pcscd, or a pcscd without that reader); the page names it exactly as the agent does.
    let kind = client(&url).status().await.unwrap().problem.unwrap().kind;
    assert!(
        [
            ErrorKind::NoReader,
            ErrorKind::ReaderNotFound,
            ErrorKind::PcscUnavailable,
            ErrorKind::PcscServiceUnavailable
        ]
        .contains(&kind),
        "{kind}"
    );
    let mut b = toolset(Some(&url));
    let r = burn(&mut b, &[]).await;
    let text = unescape(&r.text());
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{text}");
    assert!(text.contains(&format!("data-kind=\"{kind}\"")), "{text}");
    let error = text.split("id=\"burn-error\"").nth(1).unwrap();
    assert!(error.contains("Plug in a USB NFC reader"), "{error}");
    assert!(!error.contains("agent is not running"), "{error}");
    assert!(!error.contains("?."), "one sentence ends once: {error}");
}

/// A burn may wait for the token longer than the request timeout bounds other pages: the
/// page answers with what the agent found, not a 408 while the agent may still be writing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burn_may_wait_for_the_token_past_the_request_timeout() {
    let url = start_agent("8659600000001", "no-card").await;
    let config = WebConfig {
        agent: Some(client(&url)),
        burn_wait_seconds: 2,
        request_timeout: std::time::Duration::from_secs(1),
        ..WebConfig::default()
    };
    let server = TestApp::with_config(config);
    server.set_time(now());
    let mut b = server.browser();
    b.import(RFC_SEED).await;
    let r = burn(&mut b, &[]).await;
    assert_eq!(r.status, StatusCode::GATEWAY_TIMEOUT, "{}", r.text());
    assert!(unescape(&r.text()).contains("hold it flat on the reader"));
}
