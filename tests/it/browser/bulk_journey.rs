//! The bulk burn journey in a real headless Chromium against the real binaries (`serve` and
//! `agent --simulate --simulate-stack`), with JavaScript on (the run goes on by itself) and
//! off (one button press per token): four users, a stack of tokens with one lifted
//! mid-write and one tapped twice (skipped), every row's seed checked with oathtool against
//! the codes its virtual token shows, and every page checked for console errors, CSP
//! violations, foreign requests and seeds in URLs, and with axe-core.

use std::time::{Duration, Instant};

use totp_toolset::otp::Algorithm;

use crate::support::agent::SimulatedAgent;
use crate::support::browser::{Browser, start_journey};
use crate::support::tools::oathtool_hex;

const STACK: &str = "8659600000101\n\
                     8659601000102 lift-mid-write\n\
                     8659601000102\n\
                     8659612000103\n\
                     8659612000103\n\
                     8659632000104\n";

async fn state(b: &Browser) -> String {
    b.exec("return document.getElementById('bulk').getAttribute('data-state');")
        .await
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// Waits (up to 60 s) until the panel is in `want`, stepping by hand without JavaScript.
async fn until(b: &Browser, want: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let now = state(b).await;
        if now == want {
            return;
        }
        assert!(Instant::now() < deadline, "the run is {now}, not {want}");
        if b.javascript() {
            tokio::time::sleep(Duration::from_millis(100)).await;
        } else {
            assert_eq!(now, "running");
            b.click_and_load("#bulk-step").await;
        }
    }
}

async fn journey(javascript: bool) {
    let agent = SimulatedAgent::start_stack(STACK);
    let (_journey, origin, b) = start_journey(&agent.serve_args(), javascript, "/csv").await;

    b.find("#bulk-users-from")
        .await
        .select_by_value("pasted")
        .await
        .expect("choose the pasted list");
    b.fill(
        "#bulk-users",
        "alice@contoso.com\nbob@contoso.com\ncarol@contoso.com\ndave@contoso.com",
    )
    .await;
    b.click_and_load("#bulk-start").await;
    if !javascript {
        assert!(
            b.text("#bulk-status")
                .await
                .contains("Waiting for token 1 of 4 — press its button and hold it on the reader")
        );
    }
    until(&b, "same_token").await;
    let asked = b.text("#bulk-status").await;
    assert!(
        asked.contains("Token 8659612000103 was tapped twice"),
        "{asked}"
    );
    if javascript {
        b.assert_accessible("the bulk panel asking about a token tapped twice")
            .await;
        b.click("#bulk-skip").await;
    } else {
        b.click_and_load("#bulk-skip").await;
    }
    until(&b, "done").await;
    let results = b.text("#bulk-results").await;
    assert!(
        results.contains("Lifted mid-write — burn it again"),
        "{results}"
    );
    assert!(results.contains("tapped twice: skipped"), "{results}");
    assert!(
        b.text("#bulk-status")
            .await
            .contains("Done: 4 tokens burned")
    );
    b.screenshots(if javascript { "bulk" } else { "bulk-nojs" })
        .await;

    // "Download what we have so far" is there; the seeds come from the privacyIDEA file.
    b.find("#bulk-downloads a[href='/csv/download']").await;
    // With JavaScript the page was never reloaded: the batch's own exports appear on a load.
    b.goto(&format!("{origin}/csv")).await;
    b.click("a[href='/csv/export/privacyidea']").await;
    let file = String::from_utf8(b.wait_download("privacyidea-tokens.csv").await).unwrap();
    let rows: Vec<(String, String)> = file
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| {
            let cells: Vec<&str> = l.split(", ").collect();
            (cells[0].to_string(), cells[1].to_string())
        })
        .collect();
    assert_eq!(
        rows.iter().map(|r| r.0.as_str()).collect::<Vec<_>>(),
        [
            "8659600000101",
            "8659601000102",
            "8659612000103",
            "8659632000104"
        ]
    );
    let client = agent.client();
    for (serial, hex) in &rows {
        let shown = client.simulated_token(Some(serial)).await.unwrap();
        for c in &shown.codes {
            assert_eq!(
                oathtool_hex(Algorithm::Sha1, hex, 6, 30, c.counter * 30),
                c.code,
                "{serial} at step {}",
                c.counter
            );
        }
    }
    let table = b.text("table.rows").await;
    for upn in ["alice", "bob", "carol", "dave"] {
        assert!(table.contains(&format!("{upn}@contoso.com")), "{table}");
    }
    let secrets: Vec<String> = rows.iter().map(|r| r.1.clone()).collect();
    let secrets: Vec<&str> = secrets.iter().map(String::as_str).collect();
    b.check_page(&origin, &secrets, "the batch page after a bulk run")
        .await;
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulk_burn_with_javascript() {
    journey(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulk_burn_without_javascript() {
    journey(false).await;
}
