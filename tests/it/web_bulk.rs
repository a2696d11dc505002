//! The batch page's bulk burn panel against a real agent in process whose simulated reader
//! plays a stack of tokens: rows only after the agent's success, with exactly the seed
//! written (checked with oathtool against the codes each virtual token shows); a token
//! lifted mid-write adds no row and gets a new seed when tapped again; a token tapped twice
//! is asked about (re-burn or skip) and never gets a second row; the wrong devices leave the
//! user queue as it was; the page script's JSON steps, stop and resume; the step's wait
//! under the request timeout; and "Set the token's clock".

use axum::body::Body;
use axum::http::{Request, StatusCode, header};

use totp_toolset::otp::Algorithm;
use totp_toolset::web::WebConfig;

use crate::support::agent::{client, start_stack};
use crate::support::html::unescape;
use crate::support::router::{Browser, Resp, TestApp};
use crate::support::tools::oathtool_hex;

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A toolset with the agent at `url` and a real clock (the virtual tokens keep real time).
fn toolset(url: Option<&str>) -> Browser {
    let server = TestApp::with_config(WebConfig {
        agent: url.map(client),
        burn_wait_seconds: 1,
        ..WebConfig::default()
    });
    server.set_time(now());
    server.browser()
}

async fn start(b: &mut Browser, users: &str) -> Resp {
    let from = if users.is_empty() { "none" } else { "pasted" };
    b.post(
        "/csv/bulk/start",
        &[
            ("algorithm", "SHA1"),
            ("period", "30"),
            ("display_timeout", "30"),
            ("seed_bytes", "20"),
            ("manufacturer", "Token2"),
            ("model", ""),
            ("count", ""),
            ("users_from", from),
            ("users", users),
        ],
    )
    .await
}

/// A panel form posted without JavaScript, answered with a redirect to the panel; returns
/// the batch page after it (kept in `texts`, to look for seeds), unescaped.
async fn act(
    b: &mut Browser,
    path: &str,
    fields: &[(&str, &str)],
    says: &[&str],
    texts: &mut Vec<String>,
) -> String {
    let r = b.post(path, fields).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    assert_eq!(r.location().as_deref(), Some("/csv#bulk"));
    let page = b.get("/csv").await.text();
    texts.push(page.clone());
    let page = unescape(&page);
    for words in says {
        assert!(page.contains(words), "{words}: {page}");
    }
    page
}

/// One step without JavaScript; the page then says each of `says`.
async fn step(b: &mut Browser, says: &[&str], texts: &mut Vec<String>) -> String {
    act(b, "/csv/bulk/step", &[], says, texts).await
}

/// Row `i`'s token burned again with the `reburn` button of the form at `path` (the
/// tapped-twice question or the clock panel): the page says so, and the rows after it are
/// the same but for row `i`'s new seed, never a second row for it.
async fn reburn(
    b: &mut Browser,
    path: &str,
    before: &[(String, String)],
    i: usize,
    texts: &mut Vec<String>,
) -> Vec<(String, String)> {
    let says = format!(
        "Burned {} again: row {} now carries the new seed",
        before[i].0,
        i + 1
    );
    act(b, path, &[("action", "reburn")], &[&says], texts).await;
    let after = rows(b).await;
    assert_eq!(after.len(), before.len(), "never a second row");
    for (j, (row, was)) in after.iter().zip(before).enumerate() {
        if j == i {
            assert_eq!(row.0, was.0, "the same token's row");
            assert_ne!(row.1, was.1, "the row has the new seed");
        } else {
            assert_eq!(row, was, "the other rows are kept");
        }
    }
    after
}

/// The clock panel's button `action` (read, set) pressed; the page then says `says`.
async fn clock(b: &mut Browser, action: &str, says: &[&str], texts: &mut Vec<String>) -> String {
    act(b, "/csv/clock", &[("action", action)], says, texts).await
}

/// A JSON request as the page script sends it.
async fn script_post(b: &mut Browser, path: &str, body: &str) -> Resp {
    let req = Request::post(path)
        .header(header::HOST, "localhost")
        .header("sec-fetch-site", "same-origin")
        .header("origin", "http://localhost")
        .header(header::ACCEPT, "application/json")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(body.to_string()))
        .unwrap();
    b.send(req).await
}

/// The batch page, as it is now, holds `text`.
async fn assert_page_has(b: &mut Browser, text: &str) {
    let page = b.get("/csv").await.text();
    assert!(page.contains(text), "{text:?} not in {page}");
}

/// The batch's rows as (serial, hex seed), from the privacyIDEA export.
async fn rows(b: &mut Browser) -> Vec<(String, String)> {
    let r = b.get("/csv/export/privacyidea").await;
    if r.status == StatusCode::CONFLICT {
        return Vec::new();
    }
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    r.text()
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| {
            let cells: Vec<&str> = l.split(", ").collect();
            (cells[0].to_string(), cells[1].to_string())
        })
        .collect()
}

/// (serial, upn) of every row, from the inventory (no seeds).
async fn users(b: &mut Browser) -> Vec<(String, String)> {
    let r = b.get("/csv/export/inventory").await;
    r.text()
        .lines()
        .skip(1)
        .map(|l| {
            let cells: Vec<&str> = l.split(',').collect();
            (cells[0].to_string(), cells[1].to_string())
        })
        .collect()
}

/// Every row's seed gives (oathtool) the codes its virtual token shows.
async fn rows_match_tokens(url: &str, rows: &[(String, String)]) {
    let agent = client(url);
    for (serial, hex) in rows {
        let shown = agent.simulated_token(Some(serial)).await.unwrap();
        assert!(shown.seed_present, "{serial}");
        assert!(!shown.codes.is_empty());
        for c in &shown.codes {
            let at = c.counter * u64::from(shown.period);
            assert_eq!(
                oathtool_hex(Algorithm::Sha1, hex, 6, shown.period, at),
                c.code,
                "{serial}: the row's seed does not give the token's code at step {}",
                c.counter
            );
        }
    }
}

/// No response carried a seed of the batch, in hex or base32 (the page shows 4 characters).
fn no_seed_in(texts: &[String], rows: &[(String, String)]) {
    for (serial, hex) in rows {
        let bytes = data_encoding::HEXLOWER.decode(hex.as_bytes()).unwrap();
        let base32 = data_encoding::BASE32_NOPAD.encode(&bytes);
        for t in texts {
            assert!(
                !t.to_lowercase().contains(hex),
                "{serial}'s seed (hex) in a response"
            );
            assert!(
                !t.contains(&base32[..16]),
                "{serial}'s seed (base32) in a response"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_token_gets_its_row_and_user_only_after_success_and_a_lifted_one_a_new_seed() {
    let url =
        start_stack("8659600000011\n8659601000012 lift-mid-write\n8659601000012\n8659612000013\n")
            .await;
    let mut b = toolset(Some(&url));
    let mut texts = Vec::new();
    let r = start(
        &mut b,
        "alice@contoso.com\nbob@contoso.com\ncarol@contoso.com",
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let page = unescape(&b.get("/csv").await.text());
    assert!(
        page.contains("Waiting for token 1 of 3 — press its button and hold it on the reader"),
        "{page}"
    );

    step(
        &mut b,
        &[
            "Burned 8659600000011: row 1 added. Lift it, tap the next one.",
            "Waiting for token 2 of 3",
        ],
        &mut texts,
    )
    .await;
    assert_eq!(rows(&mut b).await.len(), 1);

    // Lifted before it answered the seed write: no row, the same user waits.
    let page = step(
        &mut b,
        &[
            "Lifted mid-write — burn it again",
            "data-outcome=\"failed\"",
        ],
        &mut texts,
    )
    .await;
    assert_eq!(rows(&mut b).await.len(), 1, "a lifted token has no row");
    assert!(page.contains("Waiting for token 2 of 3"), "{page}");
    assert!(
        page.contains("next: <span class=\"bulk-next-user\">bob@contoso.com"),
        "{page}"
    );

    // Tapped again: burned with a new seed, and bob gets it.
    step(&mut b, &["Burned 8659601000012: row 2 added"], &mut texts).await;
    let page = step(
        &mut b,
        &["Done: 3 tokens burned, each with its row."],
        &mut texts,
    )
    .await;
    // The codes shown for the last token are the ones its seed gives.
    let current = page
        .split("class=\"bulk-current\">")
        .nth(1)
        .and_then(|s| s.split('<').next())
        .unwrap()
        .to_string();
    assert_eq!(current.len(), 6);

    let all = rows(&mut b).await;
    assert_eq!(
        all.iter().map(|r| r.0.as_str()).collect::<Vec<_>>(),
        ["8659600000011", "8659601000012", "8659612000013"]
    );
    assert_eq!(
        users(&mut b).await,
        [
            ("8659600000011".to_string(), "alice@contoso.com".to_string()),
            ("8659601000012".into(), "bob@contoso.com".into()),
            ("8659612000013".into(), "carol@contoso.com".into()),
        ]
    );
    rows_match_tokens(&url, &all).await;
    let inventory = b.get("/csv/export/inventory").await.text();
    assert!(inventory.contains("miniOTP-3-i,Token2"), "{inventory}");
    assert!(inventory.contains(",burned,"), "{inventory}");
    no_seed_in(&texts, &all);

    // The run is over: a further step is refused without touching anything.
    let r = b.post("/csv/bulk/step", &[]).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text());
    assert!(r.text().contains("every token of this run has its row"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_tapped_twice_is_asked_about_and_never_gets_a_second_row() {
    let url = start_stack("8659600000021\n8659600000021\n8659600000022\n8659600000021\n").await;
    let mut b = toolset(Some(&url));
    let mut texts = Vec::new();
    assert_eq!(start(&mut b, "").await.status, StatusCode::SEE_OTHER);
    step(&mut b, &[], &mut texts).await;
    let first = rows(&mut b).await;
    assert_eq!(first.len(), 1);

    let asked = "Token 8659600000021 was tapped twice: burn it again (its row then gets the new seed) or skip it?";
    let page = step(&mut b, &[asked], &mut texts).await;
    assert!(page.contains("id=\"bulk-reburn\"") && page.contains("id=\"bulk-skip\""));
    assert_eq!(
        rows(&mut b).await,
        first,
        "nothing changed before the answer"
    );
    // While the question is open, no step burns anything.
    let r = b.post("/csv/bulk/step", &[]).await;
    assert_eq!(r.status, StatusCode::CONFLICT);

    let reburned = reburn(&mut b, "/csv/bulk/same", &first, 0, &mut texts).await;
    rows_match_tokens(&url, &reburned).await;

    step(&mut b, &[], &mut texts).await;
    // Tapped again later on, not just right after its burn: asked again; skipped this time.
    step(
        &mut b,
        &["Token 8659600000021 was tapped twice"],
        &mut texts,
    )
    .await;
    act(
        &mut b,
        "/csv/bulk/same",
        &[("action", "skip")],
        &["tapped twice: skipped, its row keeps its seed"],
        &mut texts,
    )
    .await;
    let all = rows(&mut b).await;
    assert_eq!(all.len(), 2);
    assert_eq!(all[0], reburned[0], "a skipped token keeps its row's seed");
    rows_match_tokens(&url, &all).await;

    // No token left in the stack: the run says so and still waits.
    step(
        &mut b,
        &["No token came within 1 s", "Waiting for token 3 —"],
        &mut texts,
    )
    .await;
    no_seed_in(&texts, &all);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_devices_each_get_one_message_and_skip_no_user() {
    let url = start_stack(
        "1234567000001\n8659600000031 fido\n8659600000032 oath\n8659600000033 wrong-key\n8659600000034\n",
    )
    .await;
    let mut b = toolset(Some(&url));
    let mut texts = Vec::new();
    start(&mut b, "alice@contoso.com\nbob@contoso.com").await;
    for words in [
        "A model we do not know is left as it was",
        "FIDO",
        "OATH",
        "The token refused our key",
    ] {
        let page = step(&mut b, &[], &mut texts).await;
        let latest = page.split("<li class=\"bulk-result").nth(1).unwrap();
        assert!(latest.contains(words), "{words}: {latest}");
        assert!(latest.contains("No user was skipped."), "{latest}");
        assert!(page.contains("Waiting for token 1 of 2"), "{page}");
        assert!(page.contains("next: <span class=\"bulk-next-user\">alice@contoso.com"));
        assert!(rows(&mut b).await.is_empty());
    }
    step(&mut b, &[], &mut texts).await;
    assert_eq!(
        users(&mut b).await,
        [("8659600000034".to_string(), "alice@contoso.com".to_string())]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_script_steps_with_json_and_the_run_stops_and_resumes() {
    let url = start_stack("8659600000041\n8659600000042\n").await;
    let mut b = toolset(Some(&url));
    start(&mut b, "").await;
    let r = script_post(&mut b, "/csv/bulk/step", "").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let json = r.json();
    assert_eq!(json["state"], "running");
    assert_eq!(json["continue"], true);
    let panel = unescape(json["panel"].as_str().unwrap());
    assert!(
        panel.starts_with("<section class=\"panel bulk\" id=\"bulk\""),
        "{panel}"
    );
    assert!(
        panel.contains("Burned 8659600000041: row 1 added"),
        "{panel}"
    );
    assert!(panel.contains("Waiting for token 2 —"), "{panel}");
    assert!(
        panel.contains("href=\"/csv/download\""),
        "download what we have so far"
    );

    let r = script_post(&mut b, "/csv/bulk/run", "action=stop").await;
    let json: serde_json::Value = serde_json::from_slice(&r.bytes).unwrap();
    assert_eq!(
        (json["state"].as_str(), json["continue"].as_bool()),
        (Some("stopped"), Some(false))
    );
    let r = b.post("/csv/bulk/step", &[]).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(r.text().contains("the run is stopped: resume it first"));
    assert_eq!(rows(&mut b).await.len(), 1);

    let r = script_post(&mut b, "/csv/bulk/run", "action=resume").await;
    let json: serde_json::Value = serde_json::from_slice(&r.bytes).unwrap();
    assert_eq!(json["state"], "running");
    let r = script_post(&mut b, "/csv/bulk/step", "").await;
    let json: serde_json::Value = serde_json::from_slice(&r.bytes).unwrap();
    assert!(
        unescape(json["panel"].as_str().unwrap()).contains("Burned 8659600000042: row 2 added")
    );
    let all = rows(&mut b).await;
    rows_match_tokens(&url, &all).await;
    no_seed_in(&[String::from_utf8_lossy(&r.bytes).into_owned()], &all);

    // Ending the run clears the panel, never the rows.
    let r = script_post(&mut b, "/csv/bulk/run", "action=end").await;
    let json: serde_json::Value = serde_json::from_slice(&r.bytes).unwrap();
    assert_eq!(json["state"], "idle");
    assert_eq!(rows(&mut b).await.len(), 2);
    assert_page_has(&mut b, "id=\"bulk-start-form\"").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_start_names_each_field_and_keeps_what_was_typed() {
    let url = start_stack("8659600000051\n").await;
    let mut b = toolset(Some(&url));
    let r = b
        .post(
            "/csv/bulk/start",
            &[
                ("algorithm", "SHA512"),
                ("period", "45"),
                ("display_timeout", "30"),
                ("seed_bytes", "20"),
                ("manufacturer", "Token2"),
                ("count", "zero"),
                ("users_from", "pasted"),
                ("users", "alice@contoso.com\nnot a upn\n"),
            ],
        )
        .await;
    let page = r.text();
    r.assert_field_error("bulk-algorithm", "SHA-1 or SHA-256");
    r.assert_field_error("bulk-period", "30 or 60");
    r.assert_field_error("bulk-count", "whole number");
    r.assert_field_error("bulk-users", "line 2");
    assert!(
        unescape(&page).contains("alice@contoso.com\nnot a upn"),
        "the list is kept"
    );
    // Nothing started.
    assert_page_has(&mut b, "id=\"bulk-start-form\"").await;

    // The users of the Assign users list who have no token yet.
    b.post(
        "/csv/users",
        &[("users", "dave@contoso.com\nerin@contoso.com")],
    )
    .await;
    assert_page_has(&mut b, "who have no token yet (2)").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_step_waits_less_than_the_request_timeout_and_needs_an_agent() {
    let url = start_stack("8659600000061\n").await;
    let server = TestApp::with_config(WebConfig {
        agent: Some(client(&url)),
        burn_wait_seconds: 30,
        ..WebConfig::default()
    });
    let mut b = server.browser();
    start(&mut b, "").await;
    let page = b.get("/csv").await.text();
    assert!(page.contains("each press waits up to 6 s"), "{page}");

    let mut b = toolset(None);
    let page = b.get("/csv").await.text();
    assert!(page.contains("id=\"bulk-agent-missing\""));
    assert!(page.contains("id=\"bulk-start\" disabled"));
    start(&mut b, "").await;
    let r = b.post("/csv/bulk/step", &[]).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(r.text().contains("No NFC agent is configured"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn setting_the_clock_shows_the_offset_and_a_restricted_model_is_reburned() {
    // A keeper (its seed survives a config write), then a restricted model.
    let url = start_stack("8659600000071\n8659601000072\n").await;
    let mut b = toolset(Some(&url));
    start(&mut b, "alice@contoso.com\nbob@contoso.com").await;
    let mut texts = Vec::new();
    step(&mut b, &[], &mut texts).await;

    clock(
        &mut b,
        "read",
        &[
            "id=\"clock-serial\">8659600000071<",
            "id=\"clock-offset\">in step with this server<",
            "It is row 1 (SHA-1, 30 s) of the batch.",
        ],
        &mut texts,
    )
    .await;
    clock(&mut b, "set", &["Clock set: it was in step"], &mut texts).await;
    let before = rows(&mut b).await;
    rows_match_tokens(&url, &before).await;

    step(&mut b, &[], &mut texts).await;
    let burned = rows(&mut b).await;
    clock(&mut b, "read", &[], &mut texts).await;
    clock(
        &mut b,
        "set",
        &[
            "Refused: on this model setting the clock erases the seed",
            "id=\"clock-reburn\"",
        ],
        &mut texts,
    )
    .await;
    assert_eq!(rows(&mut b).await, burned, "a refusal changes nothing");
    assert!(
        client(&url)
            .simulated_token(Some("8659601000072"))
            .await
            .unwrap()
            .seed_present
    );

    let after = reburn(&mut b, "/csv/clock", &burned, 1, &mut texts).await;
    assert_eq!(
        users(&mut b).await[1].1,
        "bob@contoso.com",
        "the row keeps its user"
    );
    rows_match_tokens(&url, &after).await;
    no_seed_in(&texts, &after);
}

/// The longest run of `c` in `s`.
fn longest_run(s: &str, c: char) -> usize {
    s.split(|x| x != c)
        .map(|r| r.chars().count())
        .max()
        .unwrap_or(0)
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

    /// Whatever is typed into the start form: a start or a 422 page, never a panic, and no
    /// message repeats more than 64 characters of it (the fields themselves keep it all).
    #[test]
    fn the_start_form_takes_any_text(
        text in proptest::prelude::any::<String>(),
        field in 0usize..9,
    ) {
        let names = [
            "algorithm", "period", "display_timeout", "seed_bytes", "manufacturer", "model",
            "count", "users_from", "users",
        ];
        let typed = format!("{}{text}", "z".repeat(80));
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let (status, page) = runtime.block_on(async {
            let mut b = toolset(None);
            let mut fields = vec![
                ("algorithm", "SHA1"), ("period", "30"), ("display_timeout", "30"),
                ("seed_bytes", "20"), ("manufacturer", "Token2"), ("model", ""),
                ("count", ""), ("users_from", "pasted"), ("users", "a@contoso.com"),
            ];
            fields[field] = (names[field], typed.as_str());
            let r = b.post("/csv/bulk/start", &fields).await;
            (r.status, unescape(&r.text()))
        });
        proptest::prop_assert!(
            status == StatusCode::SEE_OTHER || status == StatusCode::UNPROCESSABLE_ENTITY,
            "{}", status
        );
        for message in page.split("class=\"field-error\"").skip(1) {
            let message = message.split("</p>").next().unwrap_or_default();
            proptest::prop_assert!(longest_run(message, 'z') <= 64, "{}", message);
        }
    }
}
