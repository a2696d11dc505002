//! Browser sessions: a random 256-bit id in a cookie, and in memory the session's current
//! token, its CSV rows and a little page state, with idle and absolute expiry and hard caps.
//!
//! Nothing here is ever written to disk or logged. A session never outlives its expiry,
//! a live session is never evicted to make room, and dropping a session wipes its seeds.

use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::{AppError, AppState};
use crate::otp::{OtpAuth, Params, Secret, SeedError};
use crate::tokens::TokenRow;

/// Limits and lifetimes of sessions.
#[derive(Clone, Debug)]
pub struct SessionConfig {
    /// A session unused for this long ends.
    pub idle_secs: u64,
    /// A session ends this long after it began, however busy.
    pub absolute_secs: u64,
    /// Live sessions at most; new visitors get a 503 page beyond this.
    pub max_sessions: usize,
    /// CSV rows per session at most.
    pub max_rows: usize,
    /// The site is reached over HTTPS: mark the cookie `Secure` (and use a `__Host-` name).
    pub tls: bool,
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            idle_secs: 30 * 60,
            absolute_secs: 12 * 3600,
            max_sessions: 1000,
            max_rows: 500,
            tls: false,
        }
    }
}

impl SessionConfig {
    pub fn cookie_name(&self) -> &'static str {
        if self.tls {
            "__Host-session"
        } else {
            "session"
        }
    }
}

/// 256 random bits from the operating system. Debug never shows them.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SessionId([u8; 32]);

impl fmt::Debug for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionId([redacted])")
    }
}

impl SessionId {
    fn random() -> Result<Self, AppError> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes)
            .map_err(|e| AppError::Internal(format!("random source failed: {e}")))?;
        Ok(SessionId(bytes))
    }

    fn to_cookie_value(self) -> String {
        data_encoding::HEXLOWER.encode(&self.0)
    }

    /// Reads a cookie value back into an id (tests and the burn panel use it).
    pub fn from_cookie_value(value: &str) -> Option<Self> {
        let bytes = data_encoding::HEXLOWER_PERMISSIVE
            .decode(value.as_bytes())
            .ok()?;
        Some(SessionId(bytes.try_into().ok()?))
    }
}

/// The token the pages work on: a seed, its parameters and the label for its QR code.
#[derive(Clone, Debug)]
pub struct CurrentToken {
    pub secret: Secret,
    pub params: Params,
    pub issuer: String,
    pub account: String,
}

pub const DEFAULT_ISSUER: &str = "totp-toolset";
pub const DEFAULT_ACCOUNT: &str = "token";

impl CurrentToken {
    /// A fresh seed from the OS CSPRNG (never a fixed demo seed).
    pub fn generate(bytes: usize, params: Params) -> Result<Self, SeedError> {
        Ok(CurrentToken {
            secret: Secret::generate(bytes)?,
            params,
            issuer: DEFAULT_ISSUER.to_string(),
            account: DEFAULT_ACCOUNT.to_string(),
        })
    }

    pub fn otpauth(&self) -> OtpAuth {
        OtpAuth {
            secret: self.secret.clone(),
            params: self.params,
            issuer: self.issuer.clone(),
            account: self.account.clone(),
        }
    }
}

/// Everything one browser has. Dropping it wipes every seed (each `Secret` zeroizes).
#[derive(Debug)]
pub struct Session {
    created: u64,
    last_seen: u64,
    pub current: CurrentToken,
    pub rows: Vec<TokenRow>,
    /// A serial number waiting for the CSV form (the burn panel fills it in).
    pub pending_serial: Option<String>,
    /// The last successful burn in this session, shown on the seed page.
    pub last_burn: Option<crate::web::pages::burn::BurnOutcome>,
    /// A one-time message for the next page shown (after a redirect).
    pub flash: Option<String>,
    /// True once the rows as they stand were downloaded (CSV or JSON); any change to the
    /// rows makes it false again. Pages use it to warn before the rows could be lost.
    pub rows_downloaded: bool,
}

impl Session {
    /// True when some CSV row carries the current token's seed.
    pub fn current_in_list(&self) -> bool {
        self.rows.iter().any(|r| r.secret == self.current.secret)
    }
}

/// All sessions, in memory only.
pub struct SessionStore {
    config: SessionConfig,
    map: Mutex<HashMap<SessionId, Session>>,
}

impl SessionStore {
    pub fn new(config: SessionConfig) -> Self {
        SessionStore {
            config,
            map: Mutex::new(HashMap::new()),
        }
    }

    pub fn config(&self) -> &SessionConfig {
        &self.config
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<SessionId, Session>> {
        // A panic while holding the lock leaves plain data behind, still consistent
        // enough to serve and expire; refusing every later request would be worse.
        self.map.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn expired(&self, s: &Session, now: u64) -> bool {
        now.saturating_sub(s.last_seen) >= self.config.idle_secs
            || now.saturating_sub(s.created) >= self.config.absolute_secs
    }

    /// Marks a session used now. False (and the session removed) if it has expired or
    /// never existed.
    pub fn touch(&self, id: SessionId, now: u64) -> bool {
        let mut map = self.lock();
        match map.get_mut(&id) {
            Some(s) if !self.expired(s, now) => {
                s.last_seen = now;
                true
            }
            Some(_) => {
                map.remove(&id);
                false
            }
            None => false,
        }
    }

    /// Starts a session with a fresh random token. Expired sessions are cleared first; if
    /// the store is still full the visitor is refused, and no live session is touched.
    pub fn create(&self, now: u64) -> Result<SessionId, AppError> {
        let current = CurrentToken::generate(crate::otp::DEFAULT_GENERATE_BYTES, Params::default())
            .map_err(|e| AppError::Internal(e.to_string()))?;
        let mut map = self.lock();
        if map.len() >= self.config.max_sessions {
            map.retain(|_, s| !self.expired(s, now));
            if map.len() >= self.config.max_sessions {
                return Err(AppError::SessionsFull);
            }
        }
        let id = SessionId::random()?;
        map.insert(
            id,
            Session {
                created: now,
                last_seen: now,
                current,
                rows: Vec::new(),
                pending_serial: None,
                last_burn: None,
                flash: None,
                rows_downloaded: false,
            },
        );
        Ok(id)
    }

    /// Runs `f` on a live session. `SessionGone` if it expired since the request began.
    pub fn with<R>(&self, id: SessionId, f: impl FnOnce(&mut Session) -> R) -> Result<R, AppError> {
        let mut map = self.lock();
        map.get_mut(&id).map(f).ok_or(AppError::SessionGone)
    }

    /// Removes every expired session; returns how many.
    pub fn sweep(&self, now: u64) -> usize {
        let mut map = self.lock();
        let before = map.len();
        map.retain(|_, s| !self.expired(s, now));
        before - map.len()
    }

    /// Ends every session at once (shutdown): their seeds are wiped as they drop.
    pub fn wipe_all(&self) -> usize {
        let mut map = self.lock();
        let n = map.len();
        map.clear();
        n
    }

    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// What a page handler learns about its session.
#[derive(Clone, Copy, Debug)]
pub struct SessionCtx {
    pub id: SessionId,
    /// The browser sent a session cookie that is no longer valid: say its data is gone.
    pub restarted: bool,
}

fn cookie_value<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
}

/// Middleware for page routes: finds the browser's session or starts one, and hands the
/// handler a [`SessionCtx`].
pub async fn with_session(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let now = state.now();
    let config = state.sessions.config();
    let sent = cookie_value(request.headers(), config.cookie_name());
    let had_cookie = sent.is_some();
    let existing = sent
        .and_then(SessionId::from_cookie_value)
        .filter(|id| state.sessions.touch(*id, now));
    let (id, is_new) = match existing {
        Some(id) => (id, false),
        None => match state.sessions.create(now) {
            Ok(id) => (id, true),
            Err(e) => return e.into_response(),
        },
    };
    request.extensions_mut().insert(SessionCtx {
        id,
        restarted: is_new && had_cookie,
    });
    let mut response = next.run(request).await;
    if is_new {
        let secure = if config.tls { "; Secure" } else { "" };
        let cookie = format!(
            "{}={}; HttpOnly; SameSite=Strict; Path=/{secure}",
            config.cookie_name(),
            id.to_cookie_value()
        );
        match HeaderValue::from_str(&cookie) {
            Ok(v) => {
                response.headers_mut().append(header::SET_COOKIE, v);
            }
            Err(_) => return AppError::Internal("cookie header".into()).into_response(),
        }
    }
    response
}
