//! Outside input never panics the NFC layer or the agent: arbitrary bytes as card replies
//! to every parser in `nfc::protocol` and to the burner's whole conversation (also as a
//! genuine token whose n-th reply is replaced), arbitrary APDUs and vpcd frames to the
//! virtual token, and arbitrary bodies to the agent's router. No message repeats the seed,
//! nor more than 64 characters of any field.

use std::collections::VecDeque;
use std::sync::{Arc, OnceLock};

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use proptest::prelude::*;
use tower::ServiceExt;
use zeroize::Zeroizing;

use totp_toolset::agent::api::{ApiError, ErrorBody, ErrorKind};
use totp_toolset::agent::{self, AgentState, Device, SimulatedFault};
use totp_toolset::nfc::protocol::{self, Reply, TokenConfig};
use totp_toolset::nfc::virtual_token::{Behaviour, VirtualToken};
use totp_toolset::nfc::{self, Card, CardError, DisplayTimeout, TokenSettings, vpcd};
use totp_toolset::otp::{Algorithm, Secret};

const NOW: u64 = 1_750_000_000;

fn reply() -> impl Strategy<Value = Result<Vec<u8>, CardError>> {
    let ok = |data: Vec<u8>| {
        let mut r = data;
        r.extend_from_slice(&[0x90, 0x00]);
        Ok(r)
    };
    prop_oneof![
        3 => proptest::collection::vec(any::<u8>(), 0..40).prop_map(Ok),
        2 => proptest::collection::vec(any::<u8>(), 0..24).prop_map(ok),
        2 => ("[ -~]{0,20}", any::<u32>())
            .prop_map(move |(serial, clock)| ok(protocol::info_body(&serial, clock))),
        1 => any::<[u8; 8]>().prop_map(move |c| ok(c.to_vec())),
        1 => Just(ok(Vec::new())),
        1 => any::<u8>().prop_map(|n| Ok(vec![0x61, n])),
        1 => any::<u16>().prop_map(|sw| Ok(sw.to_be_bytes().to_vec())),
        1 => Just(Err(CardError::Removed)),
        1 => "\\PC{0,30}".prop_map(|m| Err(CardError::Reader(m))),
    ]
}

/// A card that says whatever it was scripted to, then leaves.
struct Scripted(VecDeque<Result<Vec<u8>, CardError>>);

impl Card for Scripted {
    fn transmit(&mut self, _apdu: &[u8]) -> Result<Vec<u8>, CardError> {
        self.0.pop_front().unwrap_or(Err(CardError::Removed))
    }
}

/// A genuine virtual token whose `at`-th reply is replaced: reaches every step of a burn.
struct Tampered {
    token: VirtualToken,
    at: usize,
    seen: usize,
    with: Option<Result<Vec<u8>, CardError>>,
}

impl Card for Tampered {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, CardError> {
        let genuine = self.token.transmit(apdu);
        self.seen += 1;
        if self.seen - 1 == self.at {
            return self.with.take().unwrap_or(genuine);
        }
        genuine
    }
}

fn settings() -> impl Strategy<Value = TokenSettings> {
    (
        prop::sample::select(Algorithm::ALL.to_vec()),
        prop_oneof![Just(30u32), Just(60), any::<u32>()],
        prop::sample::select(DisplayTimeout::ALL.to_vec()),
    )
        .prop_map(|(algorithm, period, display_timeout)| TokenSettings {
            algorithm,
            period,
            display_timeout,
        })
}

/// The seed in every form a message could leak it.
fn leaks(message: &str, secret: &Secret) -> bool {
    let b32 = secret.to_base32();
    let hex = secret.to_hex();
    (b32.len() >= 8 && message.contains(b32.trim_end_matches('=')))
        || (hex.len() >= 8 && message.to_ascii_lowercase().contains(hex.as_str()))
}

/// Runs every conversation the burner has over `card()`; the seed never shows in an error.
fn converse(mut card: impl FnMut() -> Box<dyn Card>, secret: &Secret, s: TokenSettings) {
    let _ = nfc::identify(&mut *card());
    for force in [false, true] {
        if let Err(e) = nfc::burn(&mut *card(), secret, s, NOW, force) {
            let said = e.to_string();
            assert!(!leaks(&said, secret), "{said}");
            let _ = e.kind().as_str();
        }
        let _ = nfc::sync_time(&mut *card(), s, NOW, force, force);
    }
}

proptest! {
    #[test]
    fn protocol_parsers_take_any_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..80), sw: u16) {
        if let Err(e) = protocol::parse_info(&bytes) {
            prop_assert!(!e.to_string().is_empty());
        }
        if let Ok(info) = protocol::parse_info(&bytes) {
            prop_assert!(info.serial.is_ascii());
            let _ = info.model();
        }
        if let Some(config) = TokenConfig::parse_tlv(&bytes) {
            prop_assert_eq!(TokenConfig::parse_tlv(&config.tlv()), Some(config));
        }
        if let Some(reply) = Reply::parse(&bytes) {
            prop_assert_eq!(reply.data.len() + 2, bytes.len());
            let _ = (reply.is_ok(), reply.more_available());
        }
        if let Some(seed) = protocol::strip_padding(&bytes) {
            prop_assert!(seed.len() < bytes.len());
        }
        prop_assert!(!protocol::status_message(sw).is_empty());
        let _ = nfc::model_for_serial(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn display_timeouts_from_any_text(text in "\\PC{0,200}", seconds: u32) {
        if let Err(e) = text.parse::<DisplayTimeout>() {
            let nfc::ConfigError::DisplayTimeout(echoed) = &e else {
                return Err(TestCaseError::fail(format!("{e:?}")));
            };
            prop_assert!(echoed.chars().count() <= 64, "{}", e);
        }
        if let Ok(t) = DisplayTimeout::try_from(seconds) {
            prop_assert_eq!(t.seconds(), seconds);
        }
        let _ = text.parse::<ErrorKind>();
        let _ = serde_json::from_str::<ErrorBody>(&text);
    }

    #[test]
    fn the_burner_survives_any_card(
        replies in proptest::collection::vec(reply(), 0..14),
        seed in proptest::collection::vec(any::<u8>(), 10..80),
        s in settings(),
    ) {
        let secret = Secret::from_bytes(seed).unwrap();
        converse(|| Box::new(Scripted(replies.clone().into())), &secret, s);
    }

    #[test]
    fn the_burner_survives_a_token_that_lies_once(
        at in 0usize..12,
        with in reply(),
        seed in proptest::collection::vec(any::<u8>(), 10..64),
        s in settings(),
        serial in prop::sample::select(vec!["8659600000001", "8659601000001", "4242"]),
        chained: bool,
    ) {
        let secret = Secret::from_bytes(seed).unwrap();
        converse(
            || {
                let mut token = VirtualToken::new(serial, false, Arc::new(|| NOW));
                if chained {
                    token = token.with_chained_replies();
                }
                Box::new(Tampered { token, at, seen: 0, with: Some(with.clone()) })
            },
            &secret,
            s,
        );
    }

    #[test]
    fn the_virtual_token_takes_any_apdus(
        apdus in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..80), 0..12),
        behaviour in prop::sample::select(vec!["none", "wrong-key", "lift-mid-write", "fido", "oath"]),
    ) {
        let mut token = VirtualToken::new("8659600000001", false, Arc::new(|| NOW))
            .with_behaviour(behaviour.parse::<Behaviour>().unwrap())
            .with_chained_replies();
        for apdu in &apdus {
            if let Ok(reply) = token.transmit(apdu) {
                prop_assert!(reply.len() >= 2);
            }
        }
        let _ = token.take_events();
    }

    #[test]
    fn vpcd_takes_any_stream(input in proptest::collection::vec(any::<u8>(), 0..300)) {
        struct Duplex(std::io::Cursor<Vec<u8>>, Vec<u8>);
        impl std::io::Read for Duplex {
            fn read(&mut self, b: &mut [u8]) -> std::io::Result<usize> {
                self.0.read(b)
            }
        }
        impl std::io::Write for Duplex {
            fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
                self.1.write(b)
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let mut token = VirtualToken::new("8659600000001", false, Arc::new(|| NOW));
        for presence in [vpcd::Presence::Stay, vpcd::Presence::OneTap, vpcd::Presence::UntilBurned] {
            let _ = vpcd::serve(&mut Duplex(std::io::Cursor::new(input.clone()), Vec::new()), &mut token, presence, &mut |_, _| {});
        }
    }
}

// The agent, through its router.

const TOKEN: &str = "props-token-0123456789abcdef";
const HOST: &str = "127.0.0.1:8731";

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap()
    })
}

fn router() -> axum::Router {
    let clock: totp_toolset::clock::Clock = Arc::new(|| NOW);
    agent::app(Arc::new(AgentState::new(
        Device::simulated("8659600000001", false, SimulatedFault::None, clock.clone()),
        Zeroizing::new(TOKEN.to_string()),
        agent::loopback_hosts(8731),
        clock,
    )))
}

/// Posts `body` to `path`; the status and the body as text.
fn post(path: &str, body: Vec<u8>) -> (StatusCode, String) {
    runtime().block_on(async {
        let request = Request::post(path)
            .header(header::HOST, HOST)
            .header(header::AUTHORIZATION, format!("Bearer {TOKEN}"))
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body))
            .unwrap();
        let response = router().oneshot(request).await.unwrap();
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        (status, String::from_utf8(bytes.to_vec()).unwrap())
    })
}

/// True when `reply` holds 65 characters in a row of `field`, as they are or JSON-escaped.
fn repeats_too_much(reply: &str, field: &str) -> bool {
    let chars: Vec<char> = field.chars().collect();
    chars.windows(65).any(|w| {
        let w: String = w.iter().collect();
        let escaped = serde_json::to_string(&w).unwrap();
        reply.contains(&w) || reply.contains(escaped.trim_matches('"'))
    })
}

fn contains_secret(reply: &str, secret: &str) -> bool {
    let escaped = serde_json::to_string(secret).unwrap();
    secret.chars().count() >= 8
        && (reply.contains(secret) || reply.contains(escaped.trim_matches('"')))
}

/// Every answer is the agent's: a success, or an error body whose kind has its status.
fn check_answer(status: StatusCode, reply: &str) -> Result<(), TestCaseError> {
    if status != StatusCode::OK {
        let body: ErrorBody = serde_json::from_str(reply)
            .map_err(|e| TestCaseError::fail(format!("{status}: {e}: {reply}")))?;
        let ApiError { kind, message } = body.error;
        prop_assert_eq!(kind.status(), status, "{}", reply);
        prop_assert!(!message.is_empty());
    }
    Ok(())
}

fn any_json() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<u32>().prop_map(serde_json::Value::from),
        "\\PC{0,80}".prop_map(serde_json::Value::from),
    ];
    leaf.prop_recursive(2, 8, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
            proptest::collection::btree_map("\\PC{0,10}", inner, 0..4)
                .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

fn maybe<T: std::fmt::Debug + Clone + 'static>(
    s: impl Strategy<Value = T> + 'static,
) -> impl Strategy<Value = Option<T>> {
    prop::option::of(s)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn the_agent_takes_any_body(
        path in prop::sample::select(vec!["/v1/burn", "/v1/time-sync", "/v1/identify"]),
        body in prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..200),
            "\\PC{0,200}".prop_map(String::into_bytes),
            any_json().prop_map(|v| v.to_string().into_bytes()),
        ],
    ) {
        let (status, reply) = post(path, body);
        check_answer(status, &reply)?;
    }

    #[test]
    fn the_agent_never_repeats_the_secret_or_long_fields(
        secret in prop_oneof!["[A-Z2-7]{8,120}", "\\PC{8,120}", "[a-z2-7 =-]{8,120}"],
        // No `'`: the message quotes the field with them, which could extend a run.
        algorithm in maybe(prop_oneof![Just("SHA256".to_string()), "[\\PC&&[^']]{0,150}"]),
        period in maybe(any_json()),
        display_timeout in maybe(prop_oneof![any::<u32>().prop_map(serde_json::Value::from), any_json()]),
        wait_seconds in maybe(prop_oneof![Just(serde_json::Value::from(0)), any_json()]),
        force in maybe(any_json()),
        extra in maybe(("\\PC{1,10}", any_json())),
        time_sync: bool,
    ) {
        let mut body = serde_json::Map::new();
        body.insert("secret".into(), secret.clone().into());
        let fields = [
            ("algorithm", algorithm.clone().map(serde_json::Value::from)),
            ("period", period),
            ("display_timeout", display_timeout),
            ("wait_seconds", wait_seconds),
            ("force", force),
        ];
        for (name, value) in fields {
            if let Some(v) = value {
                body.insert(name.into(), v);
            }
        }
        if let Some((name, value)) = extra {
            body.entry(name).or_insert(value);
        }
        if time_sync {
            body.insert("confirm".into(), true.into());
        }
        let path = if time_sync { "/v1/time-sync" } else { "/v1/burn" };
        let (status, reply) = post(path, serde_json::Value::Object(body).to_string().into_bytes());
        check_answer(status, &reply)?;
        prop_assert!(!contains_secret(&reply, &secret), "{}", reply);
        prop_assert!(!repeats_too_much(&reply, &secret), "{}", reply);
        if let Some(a) = &algorithm {
            prop_assert!(!repeats_too_much(&reply, a), "{}", reply);
        }
    }
}
