//! The browser test harness: a real headless Chromium driven over WebDriver (chromedriver +
//! fantoccini), and the checks every journey makes: no console errors, no CSP violations, no request off the toolset's origin, no
//! seed in a URL, and no serious accessibility finding (axe-core).
//!
//! A browser that cannot start fails the test: these tests never skip silently.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

use crate::support::process::ServerProcess;

/// One browser at a time: two Chromiums on a 2-core machine only make both flaky.
pub static BROWSER_LOCK: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A browser journey's turn and server: journeys run one at a time, each against its own
/// real server. Dropping it stops the server, then lets the next journey start.
pub struct Journey {
    pub server: ServerProcess,
    _turn: tokio::sync::MutexGuard<'static, ()>,
}

/// Starts a journey: waits for its turn, starts the server with `args`, and a browser
/// (JavaScript on or off) that opens `path` there. Returns the journey, the server's origin
/// and the browser.
pub async fn start_journey(
    args: &[String],
    javascript: bool,
    path: &str,
) -> (Journey, String, Browser) {
    let turn = BROWSER_LOCK.lock().await;
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let server = ServerProcess::start(&args);
    let origin = server.url.clone();
    let b = Browser::start_with(javascript).await;
    b.goto(&format!("{origin}{path}")).await;
    (
        Journey {
            server,
            _turn: turn,
        },
        origin,
        b,
    )
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A POST to one of chromedriver's own (non-W3C) endpoints under the session, for what
/// WebDriver has no command for: the browser console log (`se/log`) and Chrome DevTools
/// Protocol commands (`goog/cdp/execute`, e.g. emulating the dark colour scheme).
#[derive(Debug)]
struct ChromedriverPost {
    /// The path after `session/{id}/`.
    path: &'static str,
    body: Value,
}

impl ChromedriverPost {
    fn console_log() -> Self {
        ChromedriverPost {
            path: "se/log",
            body: json!({"type": "browser"}),
        }
    }

    fn cdp(cmd: &str, params: Value) -> Self {
        ChromedriverPost {
            path: "goog/cdp/execute",
            body: json!({"cmd": cmd, "params": params}),
        }
    }
}

impl WebDriverCompatibleCommand for ChromedriverPost {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/{}",
            session_id.unwrap_or_default(),
            self.path
        ))
    }

    fn method_and_body(&self, _url: &url::Url) -> (http::Method, Option<String>) {
        (http::Method::POST, Some(self.body.to_string()))
    }
}

pub const CHROMIUM_FLAGS: [&str; 9] = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
];

/// A headless Chromium session over WebDriver, with a fresh profile and download folder.
pub struct Browser {
    driver: Child,
    pub client: Client,
    _profile: tempfile::TempDir,
    pub downloads: tempfile::TempDir,
    javascript: bool,
}

impl Browser {
    pub async fn start() -> Browser {
        Self::start_with(true).await
    }

    /// `javascript: false` starts a browser with JavaScript disabled by policy.
    pub async fn start_with(javascript: bool) -> Browser {
        let port = free_port();
        let driver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver must be installed (bash .ci/run installs chromium-driver)");
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "chromedriver did not start on {port}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        let profile = tempfile::tempdir().unwrap();
        let downloads = tempfile::tempdir().unwrap();
        let mut args: Vec<String> = CHROMIUM_FLAGS.iter().map(|s| s.to_string()).collect();
        args.push(format!("--user-data-dir={}", profile.path().display()));
        args.push("--window-size=1440,1000".into());
        let mut prefs = json!({
            "download.default_directory": downloads.path(),
            "download.prompt_for_download": false,
        });
        if !javascript {
            prefs["profile.managed_default_content_settings.javascript"] = json!(2);
        }
        let caps = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": "/usr/bin/chromium",
                "args": args,
                "prefs": prefs,
            },
            "goog:loggingPrefs": { "browser": "ALL" },
        });
        let caps = caps.as_object().unwrap().clone();
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .expect("start a headless Chromium session through chromedriver");
        Browser {
            driver,
            client,
            _profile: profile,
            downloads,
            javascript,
        }
    }

    pub async fn goto(&self, url: &str) {
        self.client.goto(url).await.expect("navigate");
    }

    pub async fn find(&self, css: &str) -> fantoccini::elements::Element {
        self.client
            .wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no element {css}: {e}"))
    }

    pub async fn text(&self, css: &str) -> String {
        self.find(css).await.text().await.expect("element text")
    }

    pub async fn fill(&self, css: &str, value: &str) {
        let el = self.find(css).await;
        el.clear().await.expect("clear field");
        el.send_keys(value).await.expect("type into field");
    }

    /// Chooses `path` in the file input `css`, then submits the form with `button` and waits
    /// for the page it loads.
    pub async fn upload(&self, css: &str, path: &std::path::Path, button: &str) {
        self.find(css)
            .await
            .send_keys(path.to_str().expect("a UTF-8 path"))
            .await
            .expect("choose the file");
        self.click_and_load(button).await;
    }

    pub async fn click(&self, css: &str) {
        self.find(css).await.click().await.expect("click");
    }

    /// Clicks something that loads a new page (a link, a form's submit button) and waits
    /// until the old page is gone, so the next look is at the new page and not the old one.
    pub async fn click_and_load(&self, css: &str) {
        let old = self.find("html").await;
        self.click(css).await;
        let deadline = Instant::now() + Duration::from_secs(20);
        while old.tag_name().await.is_ok() {
            assert!(
                Instant::now() < deadline,
                "clicking {css} loaded no new page"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Submits the form `action` and checks the page then says `notice`.
    pub async fn submit(&self, action: &str, notice: &str) {
        self.click_and_load(&format!("form[action='{action}'] button[type=submit]"))
            .await;
        let said = self.text("main > .notice.ok").await;
        assert!(said.contains(notice), "{said}");
    }

    pub async fn attr(&self, css: &str, name: &str) -> Option<String> {
        self.find(css).await.attr(name).await.expect("attribute")
    }

    pub async fn exec(&self, script: &str) -> Value {
        self.client
            .execute(script, vec![])
            .await
            .unwrap_or_else(|e| panic!("script failed: {e}\n{script}"))
    }

    /// Whether this browser runs the pages' JavaScript.
    pub fn javascript(&self) -> bool {
        self.javascript
    }

    /// Renders pages as a system set to dark (`true`) or light mode would see them.
    pub async fn dark_mode(&self, dark: bool) {
        let value = if dark { "dark" } else { "light" };
        self.client
            .issue_cmd(ChromedriverPost::cdp(
                "Emulation.setEmulatedMedia",
                json!({"features": [{"name": "prefers-color-scheme", "value": value}]}),
            ))
            .await
            .expect("emulate prefers-color-scheme");
    }

    /// Presses Tab once, as a keyboard user would.
    pub async fn tab(&self) {
        let keys = KeyActions::new("keyboard".into())
            .then(KeyAction::Down { value: '\u{e004}' })
            .then(KeyAction::Up { value: '\u{e004}' });
        self.client.perform_actions(keys).await.expect("press Tab");
    }

    /// Tabs through the whole page from the top and fails unless every visible link,
    /// button, field and disclosure gets the focus, each with a visible focus indicator. A
    /// group of radio buttons is one stop, its checked button (arrow keys move within it).
    pub async fn assert_keyboard_reachable(&self, page: &str) {
        let total = self
            .exec(
                "window.__focusable = Array.from(document.querySelectorAll(\
                   'a[href], button, input:not([type=hidden]), select, textarea, summary'))\
                   .filter(e => !e.disabled && e.getClientRects().length > 0\
                     && (e.type !== 'radio' || e.checked)\
                     && getComputedStyle(e).visibility !== 'hidden');\
                 window.__reached = new Set();\
                 document.activeElement && document.activeElement.blur();\
                 window.scrollTo(0, 0);\
                 return window.__focusable.length;",
            )
            .await
            .as_u64()
            .unwrap();
        assert!(total > 0, "nothing focusable on {page}");
        for _ in 0..total + 3 {
            self.tab().await;
            let unseen = self
                .exec(
                    "const e = document.activeElement;\
                     const i = window.__focusable.indexOf(e);\
                     if (i < 0) return null;\
                     window.__reached.add(i);\
                     const s = getComputedStyle(e);\
                     const visible = s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0;\
                     return visible ? null : e.outerHTML.slice(0, 120);",
                )
                .await;
            assert!(unseen.is_null(), "focus not visible on {page}: {unseen}");
        }
        let missed = self
            .exec(
                "return window.__focusable.filter((e, i) => !window.__reached.has(i))\
                 .map(e => e.outerHTML.slice(0, 120));",
            )
            .await;
        assert_eq!(
            missed.as_array().map(Vec::len),
            Some(0),
            "not reachable by Tab on {page}: {missed:#}"
        );
    }

    /// The console since the last call (chromedriver drains it on read).
    pub async fn console(&self) -> Vec<Value> {
        let v = self
            .client
            .issue_cmd(ChromedriverPost::console_log())
            .await
            .expect("read browser log");
        v.as_array().cloned().unwrap_or_default()
    }

    /// The checks every journey makes on every page it visits: no console error, no CSP
    /// violation, every request to the toolset's own origin, and no seed in any URL.
    pub async fn assert_clean(&self, origin: &str, secrets: &[&str]) {
        self.check_clean(origin, secrets, None).await;
    }

    /// As `assert_clean`, after a form the server refused on purpose: Chromium logs the
    /// 422 answer to the form post at `path` as a console error (the page itself is fine:
    /// it shows the form again with the errors beside their fields). That one entry, and
    /// nothing else, is allowed.
    pub async fn assert_clean_after_refusal(&self, origin: &str, secrets: &[&str], path: &str) {
        let expected = format!(
            "{origin}{path} - Failed to load resource: the server responded with a status of 422 (Unprocessable Entity)"
        );
        self.check_clean(origin, secrets, Some(&expected)).await;
    }

    /// As `assert_clean`, on an error page the journey opened on purpose: Chromium logs the
    /// 404 answer for `path` as a console error; that one entry, and nothing else, is allowed.
    pub async fn assert_clean_after_not_found(&self, origin: &str, secrets: &[&str], path: &str) {
        let expected = format!(
            "{origin}{path} - Failed to load resource: the server responded with a status of 404 (Not Found)"
        );
        self.check_clean(origin, secrets, Some(&expected)).await;
    }

    async fn check_clean(&self, origin: &str, secrets: &[&str], refusal: Option<&str>) {
        for entry in self.console().await {
            let level = entry["level"].as_str().unwrap_or_default();
            let message = entry["message"].as_str().unwrap_or_default();
            assert!(
                !message.contains("Content Security Policy"),
                "CSP violation: {message}"
            );
            if refusal == Some(message) {
                continue;
            }
            assert!(level != "SEVERE", "console error: {message}");
        }
        if self.javascript {
            let urls = self
                .exec(
                    "return performance.getEntriesByType('resource').map(e => e.name)\
                     .concat(performance.getEntriesByType('navigation').map(e => e.name))\
                     .concat([location.href]);",
                )
                .await;
            for url in urls.as_array().unwrap() {
                let url = url.as_str().unwrap();
                assert!(
                    url.starts_with(origin) || url.starts_with("data:"),
                    "request off the toolset's origin: {url}"
                );
                for s in secrets.iter().filter(|s| !s.is_empty()) {
                    assert!(
                        !url.to_uppercase().contains(&s.to_uppercase()),
                        "seed in URL {url}"
                    );
                }
            }
        } else {
            let url = self.client.current_url().await.unwrap().to_string();
            assert!(url.starts_with(origin), "left the toolset: {url}");
            for s in secrets.iter().filter(|s| !s.is_empty()) {
                assert!(
                    !url.to_uppercase().contains(&s.to_uppercase()),
                    "seed in URL {url}"
                );
            }
        }
    }

    /// The checks every page gets; axe-core runs as a script, so only with JavaScript on.
    pub async fn check_page(&self, origin: &str, secrets: &[&str], page: &str) {
        self.assert_clean(origin, secrets).await;
        if self.javascript {
            self.assert_accessible(page).await;
        }
    }

    /// Runs axe-core in the page and fails on any serious or critical violation.
    pub async fn assert_accessible(&self, page: &str) {
        let axe = std::fs::read_to_string(axe_path()).unwrap_or_else(|e| {
            panic!(
                "axe-core not found at {} ({e}); bash .ci/run installs it from npm",
                axe_path().display()
            )
        });
        // Evaluated through WebDriver (not a <script> tag), so the page's CSP is untouched.
        self.exec(&format!("{axe}\n;window.axe = axe; return true;"))
            .await;
        let found = self
            .client
            .execute_async(
                "const done = arguments[arguments.length - 1];\
                 window.axe.run(document, {resultTypes: ['violations']}).then(r => done(\
                   r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')\
                   .map(v => ({id: v.id, impact: v.impact, help: v.help,\
                               nodes: v.nodes.map(n => n.target.join(' '))})))\
                 ).catch(e => done([{id: 'axe-error', help: String(e)}]));",
                vec![],
            )
            .await
            .expect("run axe-core");
        let found = found.as_array().cloned().unwrap_or_default();
        assert!(
            found.is_empty(),
            "accessibility violations on {page}: {found:#?}"
        );
    }

    /// Saves PNGs of the page at desktop (1440 px) and phone (375 px) width under
    /// target/screenshots/: the whole page (`NAME-desktop.png`) and the first screenful
    /// (`NAME-desktop-top.png`). Fails if anything makes the page wider than the screen.
    pub async fn screenshots(&self, name: &str) {
        let dir = screenshot_dir();
        std::fs::create_dir_all(&dir).unwrap();
        // The focus ring a keyboard check left behind is not part of the page's look.
        self.exec("document.activeElement && document.activeElement.blur(); return true;")
            .await;
        for (suffix, w, h) in [("desktop", 1440, 1000), ("phone", 375, 812)] {
            self.client.set_window_size(w, h).await.expect("resize");
            // Nothing may push the page wider than the screen (sideways scrolling on phones).
            let overflow = self
                .exec(
                    "const w = document.documentElement.clientWidth;\
                     return Array.from(document.querySelectorAll('body *'))\
                       .filter(e => e.getBoundingClientRect().right > w + 1\
                         && !e.closest('.table-wrap'))\
                       .map(e => e.tagName + '.' + e.className + '#' + e.id).slice(0, 5);",
                )
                .await;
            assert_eq!(
                overflow.as_array().map(Vec::len),
                Some(0),
                "{name} at {w} px: wider than the screen: {overflow}"
            );
            // What a screen of that size shows first (small enough for the docs)...
            let png = self.client.screenshot().await.expect("screenshot");
            std::fs::write(dir.join(format!("{name}-{suffix}-top.png")), png).unwrap();
            // ...and the full height, so the whole page is in the picture.
            let height = self
                .exec("return Math.ceil(document.documentElement.scrollHeight);")
                .await
                .as_u64()
                .unwrap_or(u64::from(h)) as u32;
            self.client
                .set_window_size(w, height.clamp(h, 4000))
                .await
                .expect("resize");
            let png = self.client.screenshot().await.expect("screenshot");
            std::fs::write(dir.join(format!("{name}-{suffix}.png")), png).unwrap();
        }
        self.client
            .set_window_size(1440, 1000)
            .await
            .expect("resize");
    }

    /// Waits for a finished download (no `.crdownload` left) and returns its bytes.
    pub async fn wait_download(&self, file_name: &str) -> Vec<u8> {
        let path = self.downloads.path().join(file_name);
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if path.exists() {
                let partial = self
                    .downloads
                    .path()
                    .join(format!("{file_name}.crdownload"));
                if !partial.exists() {
                    return std::fs::read(&path).unwrap();
                }
            }
            assert!(
                Instant::now() < deadline,
                "no download {file_name} in {:?}",
                list(self.downloads.path())
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn close(self) {
        let Browser {
            mut driver, client, ..
        } = self;
        let _ = client.close().await;
        let _ = driver.kill();
        let _ = driver.wait();
    }
}

fn list(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

pub fn screenshot_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots")
}

/// Where .ci/run puts axe-core (npm), overridable with AXE_CORE_JS.
pub fn axe_path() -> PathBuf {
    std::env::var_os("AXE_CORE_JS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("target/axe/node_modules/axe-core/axe.min.js")
        })
}
