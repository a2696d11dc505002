//! Journeys through the toolset in a real headless Chromium (see `support::browser`).

mod batch_journey;
mod bulk_journey;
mod encrypted_journey;
mod journeys;

use crate::support::browser::{BROWSER_LOCK, Browser};

/// The harness itself: Chromium starts headless through chromedriver, runs scripts, reads
/// its console, and axe-core loads into a page.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn harness_starts_a_real_headless_chromium() {
    let _one_at_a_time = BROWSER_LOCK.lock().await;
    let browser = Browser::start().await;
    browser
        .goto("data:text/html,<html lang=en><title>t</title><main><h1>ok</h1></main></html>")
        .await;
    let ua = browser.exec("return navigator.userAgent;").await;
    assert!(ua.as_str().unwrap().contains("HeadlessChrome"), "{ua}");
    browser.exec("console.error('deliberate');").await;
    let log = browser.console().await;
    assert!(
        log.iter().any(
            |e| e["level"] == "SEVERE" && e["message"].as_str().unwrap().contains("deliberate")
        ),
        "console errors must be visible to the checks: {log:?}"
    );
    browser.assert_accessible("a minimal page").await;
    browser.close().await;
}
