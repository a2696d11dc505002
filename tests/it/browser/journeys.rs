//! The journeys an admin makes through the toolset, driven in a real headless Chromium
//! against the real binary: provisioning a token, finding a token's drift, fixing mistakes
//! in the CSV form, working with JavaScript off, two sessions side by side, and the codes
//! page whose session ended.
//!
//! Every page visited is checked for console errors, CSP violations, requests off the
//! toolset's origin and seeds in URLs; every page type passes axe-core and can be worked
//! by keyboard. Codes are checked against oathtool, QR codes with a real decoder (zbarimg).

use std::time::{SystemTime, UNIX_EPOCH};

use crate::support::agent::SimulatedAgent;
use crate::support::browser::{Browser, start_journey};
use crate::support::tools::{decode_qr_svg, oathtool_base32};

/// The Entra CSV header, exactly as Entra wants it.
const CSV_HEADER: &str = "upn,serial number,secret key,time interval,manufacturer,model\r\n";

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs()
}

/// The current token as the seed page shows it once revealed: base32 (ungrouped), hex and
/// the otpauth URI. Reveals it the way a person does, through the "Show the seed" toggle,
/// which works without JavaScript too.
struct ShownSeed {
    base32: String,
    hex: String,
    uri: String,
}

impl ShownSeed {
    fn secrets(&self) -> [&str; 2] {
        [&self.base32, &self.hex]
    }
}

async fn reveal_seed(b: &Browser) -> ShownSeed {
    if b.attr("#seed-reveal", "open").await.is_none() {
        b.click("#seed-reveal > summary").await;
    }
    ShownSeed {
        base32: b
            .text("#seed-base32")
            .await
            .split_whitespace()
            .collect::<String>(),
        hex: b.text("#seed-hex").await,
        uri: b.text("#otpauth-uri").await,
    }
}

/// Clicks a link in the page navigation, as a person moves between pages.
async fn open_page(b: &Browser, href: &str, ready: &str) {
    b.click_and_load(&format!("header.site nav a[href='{href}']"))
        .await;
    b.find(ready).await;
}

/// Generates a new SHA-1/6/30 seed on the seed page (confirming the replacement if asked)
/// and returns it as shown.
async fn generate_seed(b: &Browser, origin: &str, previous: &[&str]) -> ShownSeed {
    b.find("#gen-size").await;
    let confirm = b
        .client
        .find_all(fantoccini::Locator::Css("#gen-confirm"))
        .await
        .unwrap();
    if let Some(confirm) = confirm.first() {
        confirm.click().await.unwrap();
    }
    b.click_and_load("form[action='/seed'] button[type=submit]")
        .await;
    let flash = b.text("main > .notice.ok").await;
    assert!(flash.contains("seed generated"), "{flash}");
    let seed = reveal_seed(b).await;
    assert!(!previous.contains(&seed.base32.as_str()), "a new seed");
    b.assert_clean(origin, &seed.secrets()).await;
    seed
}

/// Appends a row through the CSV form; `secret` empty means the current token.
async fn append_row(b: &Browser, upn: &str, serial: &str, secret: &str) {
    b.fill("#row-upn", upn).await;
    b.fill("#row-serial", serial).await;
    b.fill("#row-secret", secret).await;
    b.fill("#row-manufacturer", "Token2").await;
    b.fill("#row-model", "C202").await;
    b.click_and_load("form[action='/csv/rows'] button[type=submit]")
        .await;
}

/// The serial numbers in the CSV page's table, in order.
async fn table_serials(b: &Browser) -> Vec<String> {
    let mut serials = Vec::new();
    for row in b
        .client
        .find_all(fantoccini::Locator::Css(
            "table.rows tbody tr td:nth-child(3)",
        ))
        .await
        .unwrap()
    {
        serials.push(row.text().await.unwrap());
    }
    serials
}

/// Downloads the Entra CSV through the browser's own download and returns its bytes.
async fn download_csv(b: &Browser) -> Vec<u8> {
    b.click("a[href='/csv/download']").await;
    let bytes = b.wait_download("entra-oath-tokens.csv").await;
    std::fs::remove_file(b.downloads.path().join("entra-oath-tokens.csv")).unwrap();
    bytes
}

/// Whether leaving the page now would ask first (the page's beforeunload handler cancels
/// the unload while rows are not yet downloaded).
async fn leaving_would_warn(b: &Browser) -> bool {
    b.exec(
        "const e = new Event('beforeunload', {cancelable: true});\
         window.dispatchEvent(e); return e.defaultPrevented;",
    )
    .await
    .as_bool()
    .unwrap()
}

/// The burn: the Burn button writes the current token through the agent onto the
/// (simulated) Token2 token; the token's own codes must equal oathtool's for the seed, and
/// the serial it reported must land in the CSV form, with its maker and model.
async fn burn_and_take_serial(
    b: &Browser,
    origin: &str,
    agent: &SimulatedAgent,
    seed: &ShownSeed,
) -> String {
    b.goto(&format!("{origin}/")).await;
    let status = b.text("#burn-status").await;
    assert!(status.contains("Agent ready (simulated token)"), "{status}");
    b.click_and_load("#burn-submit").await;
    b.assert_clean(origin, &seed.secrets()).await;
    let serial = b.text("#burn-serial").await;
    assert_eq!(serial, agent.serial);
    assert_eq!(b.text("#burn-model").await, "miniOTP-2-i");
    b.assert_accessible("the seed page after a burn").await;
    b.screenshots("burned").await;

    // What the token now shows, by counter, equals oathtool for the seed on the page.
    let shown = agent
        .client()
        .simulated_token(None)
        .await
        .expect("simulated token");
    assert!(shown.seed_present);
    for c in &shown.codes {
        assert_eq!(
            c.code,
            oathtool_base32(&seed.base32, c.counter * 30),
            "counter {}",
            c.counter
        );
    }
    // And the page's "current" code is one the token shows.
    let current = b.text("#burn-current").await;
    assert!(
        shown.codes.iter().any(|c| c.code == current),
        "{current} not in {:?}",
        shown.codes
    );

    b.click_and_load("#burn-result a[href^='/csv']").await;
    b.find("#row-serial").await;
    let filled = |id: &'static str| async move {
        b.exec(&format!("return document.getElementById('{id}').value;"))
            .await
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(
        filled("row-serial").await,
        serial,
        "the burn fills the serial"
    );
    assert_eq!(filled("row-manufacturer").await, "Token2");
    assert_eq!(filled("row-model").await, "miniOTP-2-i");
    serial
}

/// Provision one token: generate a seed, read its QR code back with a real decoder, check
/// the live code against oathtool, burn it through the agent onto the virtual token, see
/// the serial fill the CSV form, add the UPN, append, and download the CSV byte for byte.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provision_one_token() {
    let agent = SimulatedAgent::start("8659600012345");
    let (journey, origin, b) = start_journey(&agent.serve_args(), true, "/").await;

    let first = reveal_seed(&b).await;
    b.assert_clean(&origin, &first.secrets()).await;
    b.assert_accessible("the seed page").await;
    b.assert_keyboard_reachable("the seed page").await;

    let seed = generate_seed(&b, &origin, &[&first.base32]).await;
    assert_eq!(seed.base32.len(), 32, "a 160-bit seed by default");
    assert_eq!(
        seed.uri,
        format!(
            "otpauth://totp/totp-toolset:token?secret={}&issuer=totp-toolset&algorithm=SHA1&digits=6&period=30",
            seed.base32
        )
    );
    // The QR code as drawn in the page, decoded by a real decoder, is the exact URI.
    let svg = b
        .exec("return document.querySelector('figure.qr svg').outerHTML;")
        .await;
    assert_eq!(decode_qr_svg(svg.as_str().unwrap()), seed.uri);
    b.screenshots("seed").await;

    // The copy button says it copied (or says it could not).
    b.click("#seed-reveal button.copy").await;
    // The clipboard answers asynchronously: wait (up to 10 s) for the label to change.
    let mut feedback = b.text("#seed-reveal button.copy").await;
    for _ in 0..100 {
        if feedback != "Copy" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        feedback = b.text("#seed-reveal button.copy").await;
    }
    assert!(
        feedback == "Copied" || feedback == "Copy failed",
        "copy feedback: {feedback}"
    );

    open_page(&b, "/otp", "#live-code").await;
    b.assert_clean(&origin, &seed.secrets()).await;
    b.assert_accessible("the codes page").await;
    b.assert_keyboard_reachable("the codes page").await;
    // The code shown equals oathtool's at that moment; the read may straddle a step
    // boundary, so the codes for the times just before and just after both count.
    let before = unix_now();
    let shown = b.text("#live-code").await;
    let after = unix_now();
    let expected = [
        oathtool_base32(&seed.base32, before),
        oathtool_base32(&seed.base32, after),
    ];
    assert!(
        expected.contains(&shown),
        "page shows {shown}, oathtool says {expected:?}"
    );
    // The ring counts down the same seconds the text says.
    let remaining: u64 = b.text("#live-remaining").await.parse().unwrap();
    assert!((1..=30).contains(&remaining), "{remaining}");
    b.screenshots("otp").await;

    let serial = burn_and_take_serial(&b, &origin, &agent, &seed).await;

    b.assert_clean(&origin, &seed.secrets()).await;
    b.assert_accessible("the CSV page without rows").await;
    b.fill("#row-upn", "alice@contoso.com").await;
    b.submit(
        "/csv/rows",
        "Added alice@contoso.com (serial 8659600012345) as row 1",
    )
    .await;
    assert_eq!(table_serials(&b).await, [serial.as_str()]);
    assert!(b.text("#rows-heading").await.contains("1 token"));
    assert!(leaving_would_warn(&b).await, "rows not downloaded yet");
    b.assert_clean(&origin, &seed.secrets()).await;
    b.assert_accessible("the CSV page with a row").await;
    b.assert_keyboard_reachable("the CSV page").await;
    b.screenshots("csv").await;

    let csv = download_csv(&b).await;
    let expected = format!(
        "{CSV_HEADER}alice@contoso.com,{serial},{},30,Token2,miniOTP-2-i\r\n",
        seed.base32
    );
    assert_eq!(String::from_utf8(csv).unwrap(), expected);
    assert!(!leaving_would_warn(&b).await, "everything is downloaded");
    b.assert_clean(&origin, &seed.secrets()).await;

    // The rest of the site in the dark: still accessible (contrast included).
    b.dark_mode(true).await;
    b.goto(&format!("{origin}/")).await;
    reveal_seed(&b).await;
    b.assert_accessible("the seed page in dark mode").await;
    b.screenshots("seed-dark").await;
    open_page(&b, "/otp", "#live-code").await;
    b.assert_accessible("the codes page in dark mode").await;
    b.screenshots("otp-dark").await;
    open_page(&b, "/csv", "#row-upn").await;
    b.assert_accessible("the CSV page in dark mode").await;
    b.screenshots("csv-dark").await;
    b.assert_clean(&origin, &seed.secrets()).await;
    b.close().await;

    // Neither the server nor the agent logged the seed, at debug level, in any case.
    for (who, log) in [("server", journey.server.output()), ("agent", agent.log())] {
        assert!(
            !log.is_empty(),
            "{who} logged nothing: is RUST_LOG=debug reaching it?"
        );
        let upper = log.to_uppercase();
        for secret in seed.secrets() {
            assert!(
                !upper.contains(&secret.to_uppercase()),
                "{who} logged the seed"
            );
        }
    }
}

/// Find a token's drift: a code from 5 steps ahead reads "+5 steps (+150 s)".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn find_a_tokens_drift() {
    let (_journey, origin, b) = start_journey(&[], true, "/").await;

    let seed = reveal_seed(&b).await;
    b.assert_clean(&origin, &seed.secrets()).await;
    open_page(&b, "/otp", "#drift-code").await;
    b.assert_clean(&origin, &seed.secrets()).await;

    // A step boundary between computing the code and the server reading it would make
    // the answer +4: then the attempt says nothing, and the next one is made.
    let mut headline = None;
    for _ in 0..3 {
        let before = unix_now();
        b.fill("#drift-code", &oathtool_base32(&seed.base32, before + 150))
            .await;
        // With one code, a chance match elsewhere in the ±1 day search (about 1 in 170)
        // makes the answer ambiguous; the next code, as the page asks, settles it.
        b.fill("#drift-next", &oathtool_base32(&seed.base32, before + 180))
            .await;
        b.click_and_load("form[action='/otp/drift'] button[type=submit]")
            .await;
        let text = b.text("#drift-result .headline").await;
        if unix_now() / 30 == before / 30 {
            headline = Some(text);
            break;
        }
    }
    let headline = headline.expect("three attempts, each across a step boundary");
    assert!(headline.contains("+5 steps (+150 s)"), "{headline}");
    assert_eq!(
        b.attr("#drift-result", "role").await.as_deref(),
        Some("status"),
        "the result is announced"
    );
    b.assert_clean(&origin, &seed.secrets()).await;
    b.assert_accessible("the codes page with a drift result")
        .await;
    b.screenshots("otp-drift").await;
    b.close().await;
}

/// Checks that a field shows an error beside it, tied to it by aria-describedby.
async fn assert_field_error(b: &Browser, id: &str, needle: &str) {
    let error_id = format!("{id}-error");
    assert_eq!(
        b.attr(&format!("#{id}"), "aria-describedby")
            .await
            .as_deref(),
        Some(error_id.as_str())
    );
    assert_eq!(
        b.attr(&format!("#{id}"), "aria-invalid").await.as_deref(),
        Some("true")
    );
    let message = b.text(&format!("#{error_id}")).await;
    assert!(message.contains(needle), "{id}: {message}");
    let beside = b
        .exec(&format!(
            "return document.getElementById('{error_id}').parentElement \
             === document.getElementById('{id}').parentElement;"
        ))
        .await;
    assert_eq!(beside.as_bool(), Some(true), "{error_id} sits beside #{id}");
    // The first field in error has the focus, so a screen reader reads its message.
    let focused = b.exec("return document.activeElement.id;").await;
    assert_eq!(focused.as_str(), Some(id), "focus on the field in error");
}

/// Fix mistakes: a bad UPN, a duplicate serial, a hex seed typed as base32, and a clear
/// without confirming; each error beside its field, the rows already entered untouched.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fix_mistakes_in_the_csv_form() {
    let (_journey, origin, b) = start_journey(&[], true, "/").await;

    let seed = reveal_seed(&b).await;
    let secrets = seed.secrets();
    b.assert_clean(&origin, &secrets).await;
    open_page(&b, "/csv", "#row-upn").await;
    b.assert_clean(&origin, &secrets).await;
    append_row(&b, "alice@contoso.com", "1001", "").await;
    assert_eq!(table_serials(&b).await, ["1001"]);
    b.assert_clean(&origin, &secrets).await;

    append_row(&b, "bob.contoso.com", "1002", "JBSWY3DPEHPK3PXP").await;
    assert_field_error(&b, "row-upn", "must look like name@domain").await;
    assert_eq!(table_serials(&b).await, ["1001"]);
    // What was typed stays in the form, ready to be corrected.
    assert_eq!(
        b.find("#row-upn").await.prop("value").await.unwrap(),
        Some("bob.contoso.com".into())
    );
    b.assert_clean_after_refusal(&origin, &secrets, "/csv/rows")
        .await;
    b.assert_accessible("the CSV page with an error").await;
    b.screenshots("csv-error").await;

    append_row(&b, "bob@contoso.com", "1001", "JBSWY3DPEHPK3PXP").await;
    assert_field_error(&b, "row-serial", "already in the batch").await;
    assert_eq!(table_serials(&b).await, ["1001"]);
    b.assert_clean_after_refusal(&origin, &secrets, "/csv/rows")
        .await;

    let hex = "3132333435363738393031323334353637383930";
    append_row(&b, "bob@contoso.com", "1002", hex).await;
    assert_field_error(&b, "row-secret", "looks like a hex seed").await;
    assert_eq!(table_serials(&b).await, ["1001"]);
    b.assert_clean_after_refusal(&origin, &[secrets[0], secrets[1], hex], "/csv/rows")
        .await;

    // Corrected, the row goes in beside the first one.
    append_row(&b, "bob@contoso.com", "1002", "JBSWY3DPEHPK3PXP").await;
    assert_eq!(table_serials(&b).await, ["1001", "1002"]);
    b.assert_clean(&origin, &[secrets[0], secrets[1], "JBSWY3DPEHPK3PXP"])
        .await;

    // Clearing asks first: without the tick nothing is deleted.
    b.click_and_load("form[action='/csv/clear'] button[type=submit]")
        .await;
    assert_field_error(&b, "clear-confirm", "Tick the box").await;
    assert_eq!(table_serials(&b).await, ["1001", "1002"]);
    b.assert_clean_after_refusal(
        &origin,
        &[secrets[0], secrets[1], "JBSWY3DPEHPK3PXP"],
        "/csv/clear",
    )
    .await;
    b.click("#clear-confirm").await;
    b.submit("/csv/clear", "Cleared 2 rows").await;
    assert!(table_serials(&b).await.is_empty());
    assert!(!leaving_would_warn(&b).await, "nothing left to lose");
    b.assert_clean(&origin, &secrets).await;

    // A mistyped address: the error page is plain, accessible, and leads back.
    b.goto(&format!("{origin}/no-such-page")).await;
    assert_eq!(b.text("main h1").await, "Not found");
    b.assert_clean_after_not_found(&origin, &secrets, "/no-such-page")
        .await;
    b.assert_accessible("the error page").await;
    b.click_and_load("main a[href='/']").await;
    b.find("#seed-reveal").await;
    b.assert_clean(&origin, &secrets).await;
    b.close().await;
}

/// With JavaScript off: reveal the seed, generate a new one, append it and download the
/// CSV; everything still works.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn works_with_javascript_off() {
    let (_journey, origin, b) = start_journey(&[], false, "/").await;

    let first = reveal_seed(&b).await;
    b.assert_clean(&origin, &first.secrets()).await;
    let seed = generate_seed(&b, &origin, &[&first.base32]).await;
    // No script: the copy buttons stay hidden rather than doing nothing.
    assert!(
        !b.find("#seed-reveal button.copy")
            .await
            .is_displayed()
            .await
            .unwrap()
    );
    b.screenshots("seed-nojs").await;

    open_page(&b, "/otp", "#live-code").await;
    let before = unix_now();
    let shown = b.text("#live-code").await;
    let after = unix_now();
    assert!(
        [
            oathtool_base32(&seed.base32, before),
            oathtool_base32(&seed.base32, after)
        ]
        .contains(&shown)
    );
    b.assert_clean(&origin, &seed.secrets()).await;

    open_page(&b, "/csv", "#row-upn").await;
    append_row(&b, "dave@contoso.com", "NOJS-1", "").await;
    assert_eq!(table_serials(&b).await, ["NOJS-1"]);
    b.assert_clean(&origin, &seed.secrets()).await;
    let csv = download_csv(&b).await;
    assert_eq!(
        String::from_utf8(csv).unwrap(),
        format!(
            "{CSV_HEADER}dave@contoso.com,NOJS-1,{},30,Token2,C202\r\n",
            seed.base32
        )
    );
    b.assert_clean(&origin, &seed.secrets()).await;
    b.close().await;
}

/// Two browser sessions side by side never see each other's rows or seeds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_sessions_never_see_each_others_rows() {
    let (_journey, origin, one) = start_journey(&[], true, "/").await;
    let two = Browser::start().await;

    two.goto(&format!("{origin}/")).await;
    let seed_one = reveal_seed(&one).await;
    let seed_two = reveal_seed(&two).await;
    assert_ne!(
        seed_one.base32, seed_two.base32,
        "each session its own seed"
    );

    open_page(&one, "/csv", "#row-upn").await;
    open_page(&two, "/csv", "#row-upn").await;
    append_row(&one, "alice@contoso.com", "ONE-1", "").await;
    append_row(&two, "bob@contoso.com", "TWO-1", "").await;
    // Each opens its list again after the other wrote to its own.
    open_page(&one, "/csv", "#row-upn").await;
    open_page(&two, "/csv", "#row-upn").await;
    assert_eq!(table_serials(&one).await, ["ONE-1"]);
    assert_eq!(table_serials(&two).await, ["TWO-1"]);

    let csv_one = String::from_utf8(download_csv(&one).await).unwrap();
    let csv_two = String::from_utf8(download_csv(&two).await).unwrap();
    assert_eq!(
        csv_one,
        format!(
            "{CSV_HEADER}alice@contoso.com,ONE-1,{},30,Token2,C202\r\n",
            seed_one.base32
        )
    );
    assert_eq!(
        csv_two,
        format!(
            "{CSV_HEADER}bob@contoso.com,TWO-1,{},30,Token2,C202\r\n",
            seed_two.base32
        )
    );
    let all = [seed_one.secrets(), seed_two.secrets()].concat();
    one.assert_clean(&origin, &all).await;
    two.assert_clean(&origin, &all).await;
    one.close().await;
    two.close().await;
}

/// When the codes page's session is gone (expired, or the server restarted), the page says
/// "your session ended — reload" instead of counting on with codes of a wiped seed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_codes_page_says_when_its_session_ended() {
    let (_journey, _, b) = start_journey(&[], true, "/").await;

    // A 3-second period, so the page asks the server for the next code within seconds.
    b.fill("#gen-period", "3").await;
    b.click("#gen-confirm").await;
    b.click_and_load("form[action='/seed'] button[type=submit]")
        .await;
    open_page(&b, "/otp", "#live-code").await;
    let hidden = "return document.getElementById('live-ended').hidden;";
    assert_eq!(b.exec(hidden).await, serde_json::json!(true));
    // While the session lives, the page fetches each next code and the server's time.
    let shown_time = b.text("#live-time").await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while b.text("#live-time").await == shown_time {
        assert!(
            std::time::Instant::now() < deadline,
            "the page never fetched /api/otp"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert_eq!(b.exec(hidden).await, serde_json::json!(true));

    // The browser no longer has the session, as after expiry or a restart.
    b.client.delete_all_cookies().await.expect("delete cookies");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while b.exec(hidden).await == serde_json::json!(true) {
        assert!(
            std::time::Instant::now() < deadline,
            "the page never said its session ended"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let notice = b.text("#live-ended").await;
    assert!(notice.contains("Your session ended — reload"), "{notice}");
    assert_eq!(b.text("#live-code").await, "------");
    assert_eq!(
        b.attr("#live-ended", "role").await.as_deref(),
        Some("alert")
    );
    b.assert_accessible("the codes page after its session ended")
        .await;
    b.screenshots("otp-session-ended").await;
    b.close().await;
}
