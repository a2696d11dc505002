//! Browser sessions: a random 256-bit id in a cookie, and in memory the session's current
//! token, its CSV rows and a little page state, with idle and absolute expiry and hard caps.
//! The state a session keeps is defined here and changed only through [`Session`]'s methods.
//!
//! Nothing here is ever written to disk or logged. A session never outlives its expiry,
//! a live committed session is never evicted to make room, and dropping a session wipes its
//! seeds. The store-wide lock is held only to find, insert or remove a session, never while
//! a page is built or drawn: each session has its own lock.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use zeroize::Zeroizing;

use super::{AppError, AppState, qr};
use crate::otp::{OtpAuth, Params, Secret, SeedError, UriError};
use crate::tokens::TokenRow;

/// Limits and lifetimes of sessions.
#[derive(Clone, Debug)]
pub struct SessionConfig {
    /// A session unused for this long ends.
    pub idle_secs: u64,
    /// A session ends this long after it began, however busy.
    pub absolute_secs: u64,
    /// Committed sessions (browsers that came back with their cookie) at most; new
    /// visitors get a 503 page beyond this.
    pub max_sessions: usize,
    /// Sessions started for a request that has not come back with its cookie yet, at
    /// most. Beyond this the oldest of them is dropped: a scanner or an uptime probe
    /// that never keeps cookies can then never crowd out a real browser.
    pub max_provisional: usize,
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
            max_provisional: 1000,
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

    /// The cookie that hands a new session's id to the browser.
    fn cookie(&self, id: SessionId) -> Cookie<'static> {
        Cookie::build((self.cookie_name(), id.to_cookie_value()))
            .http_only(true)
            .same_site(SameSite::Strict)
            .path("/")
            .secure(self.tls)
            .build()
    }

    /// The session id a request's cookie names, if it names a well-formed one.
    pub fn session_id(&self, jar: &CookieJar) -> Option<SessionId> {
        jar.get(self.cookie_name())
            .and_then(|c| SessionId::from_cookie_value(c.value()))
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
    fn random() -> Result<Self, getrandom::Error> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes)?;
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

pub const DEFAULT_ISSUER: &str = "totp-toolset";
pub const DEFAULT_ACCOUNT: &str = "token";

/// The token the pages work on: a seed, its parameters and the label for its QR code.
///
/// It cannot be changed in place: a new seed, new parameters or a new label make a new
/// `CurrentToken`, so the QR code kept with it can never show an old one.
#[derive(Clone)]
pub struct CurrentToken {
    secret: Secret,
    params: Params,
    issuer: String,
    account: String,
    /// The QR code of the otpauth URI, drawn the first time a page needs it. It encodes
    /// the seed, so it is wiped on drop.
    qr_svg: OnceLock<Arc<Zeroizing<String>>>,
}

impl fmt::Debug for CurrentToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CurrentToken")
            .field("secret", &self.secret)
            .field("params", &self.params)
            .field("issuer", &self.issuer)
            .field("account", &self.account)
            .finish_non_exhaustive()
    }
}

impl CurrentToken {
    fn new(secret: Secret, params: Params, issuer: String, account: String) -> Self {
        CurrentToken {
            secret,
            params,
            issuer,
            account,
            qr_svg: OnceLock::new(),
        }
    }

    /// A fresh seed from the OS CSPRNG (never a fixed demo seed), with the default label.
    pub fn generate(bytes: usize, params: Params) -> Result<Self, SeedError> {
        Ok(Self::new(
            Secret::generate(bytes)?,
            params,
            DEFAULT_ISSUER.to_string(),
            DEFAULT_ACCOUNT.to_string(),
        ))
    }

    /// A token as an otpauth URI states it (its label was checked when it was parsed).
    pub fn from_otpauth(uri: OtpAuth) -> Self {
        Self::new(uri.secret, uri.params, uri.issuer, uri.account)
    }

    /// A bare seed with no label of its own.
    pub fn unlabelled(secret: Secret, params: Params) -> Self {
        Self::new(secret, params, String::new(), String::new())
    }

    /// True when the token carries neither issuer nor account.
    pub fn is_unlabelled(&self) -> bool {
        self.issuer.is_empty() && self.account.is_empty()
    }

    /// This token under `other`'s label (a new seed keeps the label the user set).
    pub fn labelled_like(self, other: &CurrentToken) -> Self {
        Self::new(
            self.secret,
            self.params,
            other.issuer.clone(),
            other.account.clone(),
        )
    }

    /// The same seed under a new label, checked by the otpauth label rules.
    pub fn relabelled(&self, issuer: &str, account: &str) -> Result<Self, UriError> {
        let checked = OtpAuth::new(self.secret.clone(), self.params, issuer, account)?;
        Ok(Self::from_otpauth(checked))
    }

    pub fn secret(&self) -> &Secret {
        &self.secret
    }

    pub fn params(&self) -> Params {
        self.params
    }

    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    pub fn account(&self) -> &str {
        &self.account
    }

    pub fn otpauth(&self) -> OtpAuth {
        OtpAuth {
            secret: self.secret.clone(),
            params: self.params,
            issuer: self.issuer.clone(),
            account: self.account.clone(),
        }
    }

    /// The QR code of the otpauth URI as an inline `<svg>`, drawn once per token and shared
    /// (not copied) with every page that shows it.
    pub fn qr_svg(&self) -> Result<Arc<Zeroizing<String>>, qr::QrError> {
        if let Some(svg) = self.qr_svg.get() {
            return Ok(svg.clone());
        }
        let drawn = Arc::new(qr::svg(&self.otpauth().to_uri())?);
        // Only this session's lock holder can get here, so no one drew it meanwhile; if
        // someone had, both drawings are the same and either may stay.
        Ok(self.qr_svg.get_or_init(|| drawn).clone())
    }
}

/// What a successful burn left behind, shown on the seed page and used to fill the CSV form.
#[derive(Clone, Debug)]
pub struct BurnResult {
    pub serial: String,
    pub model: Option<String>,
    pub algorithm: String,
    pub period: u32,
    pub previous: String,
    pub current: String,
    pub next: String,
    pub clock_utc: String,
    /// Seconds the token's clock was off before the burn set it.
    pub old_offset_seconds: i64,
}

/// Everything one browser has. Dropping it wipes every seed (each `Secret` zeroizes).
#[derive(Debug)]
pub struct Session {
    current: CurrentToken,
    rows: Vec<TokenRow>,
    /// A serial number waiting for the CSV form (the burn panel fills it in).
    pending_serial: Option<String>,
    /// The last successful burn in this session, shown on the seed page.
    last_burn: Option<BurnResult>,
    /// A one-time message for the next page shown (after a redirect).
    flash: Option<String>,
    /// True once the rows as they stand were downloaded (CSV or JSON); every method that
    /// changes the rows makes it false again.
    rows_downloaded: bool,
}

impl Session {
    fn new(current: CurrentToken) -> Self {
        Session {
            current,
            rows: Vec::new(),
            pending_serial: None,
            last_burn: None,
            flash: None,
            rows_downloaded: false,
        }
    }

    pub fn current(&self) -> &CurrentToken {
        &self.current
    }

    /// Makes `token` the current token; the old seed is wiped as it drops.
    pub fn replace_current(&mut self, token: CurrentToken) {
        self.current = token;
    }

    /// True when some CSV row carries the current token's seed.
    pub fn current_in_list(&self) -> bool {
        self.rows.iter().any(|r| r.secret == self.current.secret)
    }

    pub fn rows(&self) -> &[TokenRow] {
        &self.rows
    }

    /// Appends a checked row and returns its number (from 1). A serial a burn left
    /// waiting is used up once a row carries it.
    pub fn add_row(&mut self, row: TokenRow) -> usize {
        if self.pending_serial.as_deref() == Some(row.serial.as_str()) {
            self.pending_serial = None;
        }
        self.rows.push(row);
        self.rows_downloaded = false;
        self.rows.len()
    }

    /// Removes the row at `index` if it still has `serial` (another tab may have changed
    /// the list meanwhile).
    pub fn remove_row(&mut self, index: usize, serial: &str) -> Option<TokenRow> {
        if self.rows.get(index)?.serial != serial {
            return None;
        }
        self.rows_downloaded = false;
        Some(self.rows.remove(index))
    }

    /// Deletes every row (their seeds are wiped as they drop); returns how many.
    pub fn clear_rows(&mut self) -> usize {
        let n = self.rows.len();
        self.rows.clear();
        self.rows_downloaded = false;
        n
    }

    /// The rows as they stand were saved by the user.
    pub fn mark_rows_downloaded(&mut self) {
        self.rows_downloaded = true;
    }

    /// Rows that would be lost with the session because they were not downloaded since
    /// they last changed.
    pub fn unsaved_rows(&self) -> usize {
        if self.rows_downloaded {
            0
        } else {
            self.rows.len()
        }
    }

    pub fn pending_serial(&self) -> Option<&str> {
        self.pending_serial.as_deref()
    }

    /// A serial for the CSV form to offer (normally set by a burn).
    pub fn set_pending_serial(&mut self, serial: String) {
        self.pending_serial = Some(serial);
    }

    /// Keeps a successful burn: shown on the seed page, its serial offered to the CSV form.
    pub fn record_burn(&mut self, burn: BurnResult) {
        self.pending_serial = Some(burn.serial.clone());
        self.last_burn = Some(burn);
    }

    pub fn last_burn(&self) -> Option<&BurnResult> {
        self.last_burn.as_ref()
    }

    /// A message for the next page this session shows.
    pub fn set_flash(&mut self, message: String) {
        self.flash = Some(message);
    }

    pub fn take_flash(&mut self) -> Option<String> {
        self.flash.take()
    }
}

/// One session, shared by the store and the requests using it at the moment.
#[derive(Clone)]
pub struct SharedSession(Arc<Mutex<Session>>);

impl SharedSession {
    fn new(session: Session) -> Self {
        SharedSession(Arc::new(Mutex::new(session)))
    }

    /// Runs `f` on the session under its own lock. A closure cannot `.await`, so the lock
    /// is never held across one.
    pub fn with<R>(&self, f: impl FnOnce(&mut Session) -> R) -> R {
        // A panic while holding the lock leaves plain data behind, still consistent
        // enough to serve and expire; refusing every later request would be worse.
        let mut guard = self.0.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut guard)
    }
}

struct Entry {
    session: SharedSession,
    created: u64,
    last_seen: u64,
    /// Arrival order, for dropping the oldest provisional session first.
    arrival: u64,
}

#[derive(Default)]
struct Areas {
    /// Browsers that came back with their cookie: never evicted while live.
    committed: HashMap<SessionId, Entry>,
    /// Sessions whose cookie has not come back yet: bounded, the oldest dropped first.
    provisional: HashMap<SessionId, Entry>,
    /// The provisional sessions by arrival.
    arrivals: BTreeMap<u64, SessionId>,
    next_arrival: u64,
}

/// All sessions, in memory only.
pub struct SessionStore {
    config: SessionConfig,
    areas: Mutex<Areas>,
}

impl SessionStore {
    pub fn new(config: SessionConfig) -> Self {
        SessionStore {
            config,
            areas: Mutex::new(Areas::default()),
        }
    }

    pub fn config(&self) -> &SessionConfig {
        &self.config
    }

    fn lock(&self) -> MutexGuard<'_, Areas> {
        // See `SharedSession::with`: poisoned plain data is still worth serving.
        self.areas.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn expired(&self, e: &Entry, now: u64) -> bool {
        now.saturating_sub(e.last_seen) >= self.config.idle_secs
            || now.saturating_sub(e.created) >= self.config.absolute_secs
    }

    /// Room for one more committed session, clearing expired ones if the area is full.
    fn committed_room(&self, areas: &mut Areas, now: u64) -> bool {
        if areas.committed.len() >= self.config.max_sessions {
            areas.committed.retain(|_, e| !self.expired(e, now));
        }
        areas.committed.len() < self.config.max_sessions
    }

    /// The live session behind a cookie, marked used now; a provisional one is committed,
    /// since its browser came back. `Ok(None)` if it expired (it is removed) or never
    /// existed; `SessionsFull` if it would need committing and there is no room.
    pub fn resume(&self, id: SessionId, now: u64) -> Result<Option<SharedSession>, AppError> {
        let mut areas = self.lock();
        if let Some(entry) = areas.committed.get_mut(&id) {
            if self.expired(entry, now) {
                areas.committed.remove(&id);
                return Ok(None);
            }
            entry.last_seen = now;
            return Ok(Some(entry.session.clone()));
        }
        let Some(entry) = areas.provisional.get(&id) else {
            return Ok(None);
        };
        let (expired, arrival) = (self.expired(entry, now), entry.arrival);
        if !expired && !self.committed_room(&mut areas, now) {
            return Err(AppError::SessionsFull);
        }
        areas.arrivals.remove(&arrival);
        let Some(mut entry) = areas.provisional.remove(&id) else {
            return Ok(None);
        };
        if expired {
            return Ok(None);
        }
        entry.last_seen = now;
        let session = entry.session.clone();
        areas.committed.insert(id, entry);
        Ok(Some(session))
    }

    /// Starts a provisional session with a fresh random token. A visitor is refused while
    /// the committed sessions fill the store (no live one is touched); a full provisional
    /// area makes room by dropping its oldest session.
    pub fn create(&self, now: u64) -> Result<(SessionId, SharedSession), AppError> {
        let current =
            CurrentToken::generate(crate::otp::DEFAULT_GENERATE_BYTES, Params::default())?;
        let id = SessionId::random()?;
        let session = SharedSession::new(Session::new(current));
        let mut areas = self.lock();
        if !self.committed_room(&mut areas, now) {
            return Err(AppError::SessionsFull);
        }
        while areas.provisional.len() >= self.config.max_provisional.max(1) {
            let Some((_, oldest)) = areas.arrivals.pop_first() else {
                break;
            };
            areas.provisional.remove(&oldest);
        }
        let arrival = areas.next_arrival;
        areas.next_arrival += 1;
        areas.arrivals.insert(arrival, id);
        areas.provisional.insert(
            id,
            Entry {
                session: session.clone(),
                created: now,
                last_seen: now,
                arrival,
            },
        );
        Ok((id, session))
    }

    /// Runs `f` on a session, committed or not, without marking it used. `SessionGone` if
    /// there is none with this id.
    pub fn with<R>(&self, id: SessionId, f: impl FnOnce(&mut Session) -> R) -> Result<R, AppError> {
        let session = {
            let areas = self.lock();
            areas
                .committed
                .get(&id)
                .or_else(|| areas.provisional.get(&id))
                .map(|e| e.session.clone())
        };
        session.map(|s| s.with(f)).ok_or(AppError::SessionGone)
    }

    /// Removes every expired session; returns how many.
    pub fn sweep(&self, now: u64) -> usize {
        let mut areas = self.lock();
        let before = areas.committed.len() + areas.provisional.len();
        areas.committed.retain(|_, e| !self.expired(e, now));
        let Areas {
            provisional,
            arrivals,
            ..
        } = &mut *areas;
        provisional.retain(|_, e| {
            let keep = !self.expired(e, now);
            if !keep {
                arrivals.remove(&e.arrival);
            }
            keep
        });
        before - areas.committed.len() - areas.provisional.len()
    }

    /// Ends every session at once (shutdown): their seeds are wiped as they drop.
    pub fn wipe_all(&self) -> usize {
        let mut areas = self.lock();
        let n = areas.committed.len() + areas.provisional.len();
        *areas = Areas::default();
        n
    }

    /// Sessions held, committed and provisional.
    pub fn len(&self) -> usize {
        let areas = self.lock();
        areas.committed.len() + areas.provisional.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Sessions whose browser came back with the cookie.
    pub fn committed_len(&self) -> usize {
        self.lock().committed.len()
    }

    /// Sessions whose cookie has not come back yet.
    pub fn provisional_len(&self) -> usize {
        self.lock().provisional.len()
    }
}

/// What a page handler learns about its session besides the session itself.
#[derive(Clone, Copy, Debug)]
pub struct SessionCtx {
    pub id: SessionId,
    /// The browser sent a session cookie that is no longer valid: say its data is gone.
    pub restarted: bool,
}

/// The session the middleware found or started, handed to the extractor.
#[derive(Clone)]
pub(crate) struct Resolved {
    pub ctx: SessionCtx,
    pub session: SharedSession,
}

/// Middleware for page routes: finds the browser's session or starts one, hands it on to
/// the [`CurrentSession`](super::extract::CurrentSession) extractor, and gives a new
/// session's cookie to the browser.
pub async fn resolve(
    State(state): State<AppState>,
    jar: CookieJar,
    mut request: Request,
    next: Next,
) -> Response {
    let now = state.now();
    let config = state.sessions.config();
    let had_cookie = jar.get(config.cookie_name()).is_some();
    let existing = match config.session_id(&jar) {
        Some(id) => match state.sessions.resume(id, now) {
            Ok(found) => found.map(|s| (id, s)),
            Err(e) => return e.into_response(),
        },
        None => None,
    };
    if let Some((id, session)) = existing {
        let ctx = SessionCtx {
            id,
            restarted: false,
        };
        request.extensions_mut().insert(Resolved { ctx, session });
        return next.run(request).await;
    }
    let (id, session) = match state.sessions.create(now) {
        Ok(made) => made,
        Err(e) => return e.into_response(),
    };
    let ctx = SessionCtx {
        id,
        restarted: had_cookie,
    };
    request.extensions_mut().insert(Resolved { ctx, session });
    let response = next.run(request).await;
    (jar.add(config.cookie(id)), response).into_response()
}
