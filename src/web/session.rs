//! Browser sessions: a random 256-bit id in a cookie, and in memory the session's current
//! token, its batch of token records (with a pending import waiting for its "Add") and a
//! little page state, with idle and absolute expiry and hard caps (sessions, tokens per
//! session, tokens across all sessions together, and the bytes of what waits in all
//! sessions to be added or applied).
//! The state a session keeps is defined here and changed only through [`Session`]'s methods.
//!
//! Nothing here is ever written to disk or logged. A session never outlives its expiry,
//! a live committed session is never evicted to make room, and dropping a session wipes its
//! seeds. The store-wide lock is held only to find, insert or remove a session, never while
//! a page is built or drawn: each session has its own lock.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use zeroize::Zeroizing;

use super::bulk_run::BulkState;
use super::{AppError, AppState, qr};
use crate::otp::{OtpAuth, Params, Secret, SeedError, SeedFormat, UriError};
use crate::tokens::{
    AssignReport, Batch, BatchLimit, Candidate, Conflict, Format, Refusal, TokenRecord,
};

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
    /// Tokens in one session's batch at most (`--max-batch`).
    pub max_batch: usize,
    /// Tokens in all sessions' batches together at most (`--max-batch-total`), so a full
    /// store of full sessions cannot exhaust memory.
    pub max_batch_total: usize,
    /// Bytes held by what waits in all sessions together (previews not yet added, archives
    /// waiting for a pick, user lists waiting to be applied) at most (`--max-pending-bytes`):
    /// the batches' total does not count them, and each may be as large as an import.
    pub max_pending_bytes: usize,
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
            max_batch: BatchLimit::DEFAULT_MAX,
            max_batch_total: DEFAULT_MAX_BATCH_TOTAL,
            max_pending_bytes: DEFAULT_MAX_PENDING_BYTES,
            tls: false,
        }
    }
}

/// Tokens across all sessions by default: ten full batches.
pub const DEFAULT_MAX_BATCH_TOTAL: usize = 100_000;

/// Bytes waiting in all sessions by default: eight imports of the default largest size.
pub const DEFAULT_MAX_PENDING_BYTES: usize = 64 * 1024 * 1024;

/// The settings named when a batch limit refuses something.
pub const MAX_BATCH_SETTING: &str = "--max-batch / TOTP_TOOLSET_MAX_BATCH";
pub const MAX_BATCH_TOTAL_SETTING: &str = "--max-batch-total / TOTP_TOOLSET_MAX_BATCH_TOTAL";
pub const MAX_PENDING_SETTING: &str = "--max-pending-bytes / TOTP_TOOLSET_MAX_PENDING_BYTES";

/// What a store-wide budget counts, which its refusal names.
#[derive(Clone, Copy, Debug)]
enum Unit {
    /// Tokens in batches, against `max_batch_total`.
    Tokens,
    /// Bytes of what waits in sessions, against `max_pending_bytes`.
    PendingBytes,
}

/// A store-wide count, shared by every session: each reserves before it holds more and
/// gives back when it holds less or ends.
#[derive(Debug)]
pub struct Budget {
    used: AtomicUsize,
    max: usize,
    unit: Unit,
}

impl Budget {
    /// A budget of `max` tokens in batches.
    pub fn tokens(max: usize) -> Self {
        Budget::new(max, Unit::Tokens)
    }

    /// A budget of `max` bytes of what waits in sessions.
    pub fn pending_bytes(max: usize) -> Self {
        Budget::new(max, Unit::PendingBytes)
    }

    fn new(max: usize, unit: Unit) -> Self {
        Budget {
            used: AtomicUsize::new(0),
            max,
            unit,
        }
    }

    /// Takes `n` from the budget, or says why not.
    fn reserve(&self, n: usize) -> Result<(), Conflict> {
        self.used
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |u| {
                u.checked_add(n).filter(|&t| t <= self.max)
            })
            .map(|_| ())
            .map_err(|_| Conflict {
                field: crate::tokens::batch::field::LINE,
                reason: match self.unit {
                    Unit::Tokens => format!(
                        "the server holds at most {} tokens across all sessions (setting {MAX_BATCH_TOTAL_SETTING}); download and clear other batches, or ask the administrator to raise it",
                        self.max
                    ),
                    Unit::PendingBytes => format!(
                        "the server keeps at most {} of files waiting in all sessions together (previews not yet added, archives to pick from, user lists to apply; setting {MAX_PENDING_SETTING}); add or discard what waits, try again later, or ask the administrator to raise it",
                        size_text(self.max)
                    ),
                },
            })
    }

    fn release(&self, n: usize) {
        // Never below zero: every release follows a reservation of at least as many.
        let _ = self
            .used
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |u| {
                Some(u.saturating_sub(n))
            });
    }

    /// What all sessions hold now.
    pub fn used(&self) -> usize {
        self.used.load(Ordering::SeqCst)
    }

    /// Holds `add` in place of `free`: reserves the difference, or gives it back. On `Err`
    /// nothing changed.
    fn swap(&self, add: usize, free: usize) -> Result<(), Conflict> {
        if add > free {
            self.reserve(add - free)
        } else {
            self.release(free - add);
            Ok(())
        }
    }
}

/// A size in MiB when it is whole MiB, else in bytes.
fn size_text(bytes: usize) -> String {
    const MIB: usize = 1024 * 1024;
    if bytes >= MIB && bytes.is_multiple_of(MIB) {
        format!("{} MiB", bytes / MIB)
    } else {
        format!("{bytes} bytes")
    }
}

/// The bytes each thing waiting in a session was counted for in the pending budget.
#[derive(Debug, Default)]
struct Held {
    import: usize,
    archive: usize,
    users: usize,
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

/// A file read and checked but not yet added: the preview. Kept in the session so "Add"
/// never needs the file again. Its candidates hold seeds, wiped when it drops.
#[derive(Debug)]
pub struct PendingImport {
    /// The name of the uploaded file, or "pasted text".
    pub source: String,
    pub format: Format,
    pub secret_encoding: Option<SeedFormat>,
    pub candidates: Vec<Candidate>,
    pub refused: Vec<Refusal>,
    pub notes: Vec<String>,
}

impl PendingImport {
    /// About the memory it holds: each record with its text and seed, each refusal with its
    /// reason. Worked out once, when it starts to wait.
    fn bytes(&self) -> usize {
        let record = |c: &Candidate| {
            let r = &c.record;
            std::mem::size_of::<Candidate>()
                + r.serial.len()
                + r.secret.len()
                + r.manufacturer.len()
                + r.model.len()
                + r.upn.as_ref().map_or(0, String::len)
        };
        let refusal = |r: &Refusal| std::mem::size_of::<Refusal>() + r.reason.len();
        self.candidates.iter().map(record).sum::<usize>()
            + self.refused.iter().map(refusal).sum::<usize>()
            + self.notes.iter().map(String::len).sum::<usize>()
            + self.source.len()
    }
}

/// A password-protected archive holding several files, waiting for the admin to pick one.
/// It holds the archive and its password (both wiped on drop) only until a file from it is
/// previewed, another import starts, or it is discarded.
pub struct PendingArchive {
    /// The name of the uploaded archive.
    pub source: String,
    pub entries: Vec<crate::tokens::containers::ZipEntryInfo>,
    pub archive: Zeroizing<Vec<u8>>,
    pub password: crate::tokens::containers::Passphrase,
    /// The import form's other choices and keys (for an encrypted PSKC file inside).
    pub from: String,
    pub secret_encoding: String,
    pub psk: Zeroizing<String>,
    pub pskc_password: Zeroizing<String>,
}

impl PendingArchive {
    /// About the memory it holds: the archive, and the names of its files.
    fn bytes(&self) -> usize {
        self.archive.len()
            + self
                .entries
                .iter()
                .map(|e| std::mem::size_of_val(e) + e.name.len())
                .sum::<usize>()
    }
}

impl fmt::Debug for PendingArchive {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PendingArchive")
            .field("source", &self.source)
            .field("entries", &self.entries)
            .finish_non_exhaustive()
    }
}

/// What adding a pending import did.
#[derive(Debug)]
pub struct Committed {
    pub added: usize,
    /// Lines that could not join after all (the batch changed since the preview).
    pub refused: Vec<Refusal>,
}

/// Everything one browser has. Dropping it wipes every seed (each `Secret` zeroizes) and
/// gives its tokens back to the store-wide budget.
#[derive(Debug)]
pub struct Session {
    current: CurrentToken,
    batch: Batch,
    budget: Arc<Budget>,
    /// What waits here (the three `pending_*` below) counts against this budget.
    pending_budget: Arc<Budget>,
    held: Held,
    /// A file read and previewed, waiting for "Add N tokens" or "Discard".
    pending_import: Option<PendingImport>,
    /// An archive of several files, waiting for the admin to pick one.
    pending_archive: Option<PendingArchive>,
    /// A pasted user list being previewed, waiting for "Apply".
    pending_users: Option<String>,
    /// A serial number waiting for the add-row form (the burn panel fills it in).
    pending_serial: Option<String>,
    /// The last successful burn in this session, shown on the seed page.
    last_burn: Option<BurnResult>,
    /// The manufacturer and model typed last: they stick from one row to the next.
    last_make: Option<(String, String)>,
    /// A one-time message for the next page shown (after a redirect).
    flash: Option<String>,
    /// True once the batch as it stands was downloaded with its seeds; every method that
    /// changes the batch makes it false again.
    rows_downloaded: bool,
    /// The bulk burn panel: a run and the last token clock read (no seeds).
    bulk: BulkState,
}

impl Drop for Session {
    fn drop(&mut self) {
        self.budget.release(self.batch.len());
        let Held {
            import,
            archive,
            users,
        } = self.held;
        self.pending_budget.release(import + archive + users);
    }
}

impl Session {
    fn new(current: CurrentToken, max_batch: usize, budgets: (Arc<Budget>, Arc<Budget>)) -> Self {
        Session {
            current,
            batch: Batch::new(BatchLimit::new(max_batch, MAX_BATCH_SETTING)),
            budget: budgets.0,
            pending_budget: budgets.1,
            held: Held::default(),
            pending_import: None,
            pending_archive: None,
            pending_users: None,
            pending_serial: None,
            last_burn: None,
            last_make: None,
            flash: None,
            rows_downloaded: false,
            bulk: BulkState::default(),
        }
    }

    pub fn current(&self) -> &CurrentToken {
        &self.current
    }

    /// Makes `token` the current token; the old seed is wiped as it drops.
    pub fn replace_current(&mut self, token: CurrentToken) {
        self.current = token;
    }

    /// True when some token in the batch carries the current token's seed.
    pub fn current_in_list(&self) -> bool {
        self.batch.holds_seed(&self.current.secret)
    }

    pub fn batch(&self) -> &Batch {
        &self.batch
    }

    /// Appends one checked record (typed, generated or burned) and returns its number
    /// (from 1), or says why it cannot join (a duplicate, or a limit, named with its
    /// setting). A serial a burn left waiting is used up once a record carries it.
    pub fn add_record(&mut self, record: TokenRecord) -> Result<usize, Conflict> {
        if let Some(c) = self.batch.conflict(&record) {
            return Err(c);
        }
        self.budget.reserve(1)?;
        if self.pending_serial.as_deref() == Some(record.serial.as_str()) {
            self.pending_serial = None;
        }
        let make = (record.manufacturer.clone(), record.model.clone());
        if let Err(c) = self.batch.push(record) {
            self.budget.release(1);
            return Err(c);
        }
        self.last_make = Some(make);
        self.rows_downloaded = false;
        Ok(self.batch.len())
    }

    /// The manufacturer and model the add-row form starts with.
    pub fn last_make(&self) -> Option<&(String, String)> {
        self.last_make.as_ref()
    }

    /// Keeps a file's preview until it is added or discarded (replacing an older one). An
    /// archive waiting for a pick is no longer needed: it is wiped. `Err` when the pending
    /// budget has no room for it: then what waited before still waits.
    pub fn set_pending_import(&mut self, import: PendingImport) -> Result<(), Conflict> {
        let bytes = import.bytes();
        self.pending_budget
            .swap(bytes, self.held.import + self.held.archive)?;
        (self.held.import, self.held.archive) = (bytes, 0);
        self.pending_archive = None;
        self.pending_import = Some(import);
        Ok(())
    }

    /// Keeps an archive until one of its files is picked (replacing an older preview), as
    /// [`Session::set_pending_import`] does.
    pub fn set_pending_archive(&mut self, archive: PendingArchive) -> Result<(), Conflict> {
        let bytes = archive.bytes();
        self.pending_budget
            .swap(bytes, self.held.import + self.held.archive)?;
        (self.held.import, self.held.archive) = (0, bytes);
        self.pending_import = None;
        self.pending_archive = Some(archive);
        Ok(())
    }

    pub fn pending_archive(&self) -> Option<&PendingArchive> {
        self.pending_archive.as_ref()
    }

    pub fn pending_import(&self) -> Option<&PendingImport> {
        self.pending_import.as_ref()
    }

    /// Drops the preview and any archive waiting for a pick (their seeds and password are
    /// wiped); true if there was one.
    pub fn discard_pending_import(&mut self) -> bool {
        self.pending_budget
            .release(self.held.import + self.held.archive);
        (self.held.import, self.held.archive) = (0, 0);
        let archive = self.pending_archive.take().is_some();
        self.pending_import.take().is_some() || archive
    }

    /// Adds the previewed tokens. The batch may have changed since the preview (another
    /// tab): what no longer fits is refused line by line, the rest joins. `Err` when the
    /// store-wide limit has no room for them (nothing is added, the preview stays).
    pub fn commit_pending_import(&mut self) -> Option<Result<Committed, Conflict>> {
        let pending = self.pending_import.take()?;
        let n = pending.candidates.len();
        if let Err(c) = self.budget.reserve(n) {
            self.pending_import = Some(pending);
            return Some(Err(c));
        }
        // From now on the tokens count in the batches' budget, not the pending one.
        self.pending_budget
            .release(std::mem::take(&mut self.held.import));
        let before = self.batch.len();
        let refused = self.batch.add_candidates(pending.candidates);
        let added = self.batch.len() - before;
        self.budget.release(n - added);
        if added > 0 {
            self.rows_downloaded = false;
        }
        Some(Ok(Committed { added, refused }))
    }

    /// Keeps a pasted or uploaded user list for its preview (replacing an older one), as
    /// [`Session::set_pending_import`] does; a refused list is handed back, to show again.
    pub fn set_pending_users(&mut self, users: String) -> Result<(), (Conflict, String)> {
        let bytes = users.len();
        if let Err(c) = self.pending_budget.swap(bytes, self.held.users) {
            return Err((c, users));
        }
        self.held.users = bytes;
        self.pending_users = Some(users);
        Ok(())
    }

    pub fn pending_users(&self) -> Option<&str> {
        self.pending_users.as_deref()
    }

    fn take_pending_users(&mut self) -> Option<String> {
        self.pending_budget
            .release(std::mem::take(&mut self.held.users));
        self.pending_users.take()
    }

    pub fn discard_pending_users(&mut self) -> bool {
        self.take_pending_users().is_some()
    }

    /// Applies the pending user list; `None` if there is none.
    pub fn apply_pending_users(&mut self) -> Option<AssignReport> {
        let users = self.take_pending_users()?;
        let report = self.batch.assign(&users);
        if !report.assigned.is_empty() {
            self.rows_downloaded = false;
        }
        Some(report)
    }

    /// Gives a token a user, or (with an empty one) takes it away. Returns the warning
    /// when the user would hold more than Entra's 5 OATH methods.
    pub fn set_upn(&mut self, serial: &str, upn: &str) -> Result<Option<String>, Conflict> {
        let warning = self.batch.set_upn(serial, Some(upn))?;
        self.rows_downloaded = false;
        Ok(warning)
    }

    /// Moves the user of token `from` to token `to` (a token reused for someone else, or a
    /// user given a replacement): `from` is left unassigned. `to` must have no user yet.
    pub fn move_upn(&mut self, from: &str, to: &str) -> Result<(String, Option<String>), Conflict> {
        use crate::tokens::batch::field;
        if from.trim().eq_ignore_ascii_case(to.trim()) {
            return Err(Conflict {
                field: field::SERIAL,
                reason: "the two serial numbers are the same token".into(),
            });
        }
        let Some(upn) = self.batch.get(from).map(|r| r.upn.clone()) else {
            return Err(Conflict {
                field: field::SERIAL,
                reason: format!("{} is not in the batch", crate::otp::clip(from.trim())),
            });
        };
        let Some(upn) = upn else {
            return Err(Conflict {
                field: field::SERIAL,
                reason: format!("{} has no user to move", crate::otp::clip(from)),
            });
        };
        match self.batch.get(to).map(|r| r.upn.clone()) {
            None => {
                return Err(Conflict {
                    field: field::SERIAL,
                    reason: format!("{} is not in the batch", crate::otp::clip(to.trim())),
                });
            }
            Some(Some(other)) => {
                return Err(Conflict {
                    field: field::SERIAL,
                    reason: format!(
                        "{} already belongs to {other}; clear its user first",
                        crate::otp::clip(to.trim())
                    ),
                });
            }
            Some(None) => {}
        }
        self.batch.set_upn(from, None)?;
        let warning = self.batch.set_upn(to, Some(&upn))?;
        self.rows_downloaded = false;
        Ok((upn, warning))
    }

    /// Removes the token at `index` if it still has `serial` (another tab may have changed
    /// the batch meanwhile).
    pub fn remove_row(&mut self, index: usize, serial: &str) -> Option<TokenRecord> {
        if self.batch.records().get(index)?.serial != serial {
            return None;
        }
        let removed = self.batch.remove(serial)?;
        self.budget.release(1);
        self.rows_downloaded = false;
        Some(removed)
    }

    /// Deletes every token (their seeds are wiped as they drop); returns how many.
    pub fn clear_rows(&mut self) -> usize {
        let n = self.batch.len();
        self.batch.clear();
        self.budget.release(n);
        self.rows_downloaded = false;
        n
    }

    /// The batch as it stands was saved by the user (a download with its seeds).
    pub fn mark_rows_downloaded(&mut self) {
        self.rows_downloaded = true;
    }

    /// Tokens that would be lost with the session because they were not downloaded since
    /// the batch last changed.
    pub fn unsaved_rows(&self) -> usize {
        if self.rows_downloaded {
            0
        } else {
            self.batch.len()
        }
    }

    pub fn pending_serial(&self) -> Option<&str> {
        self.pending_serial.as_deref()
    }

    /// A serial for the add-row form to offer (normally set by a burn).
    pub fn set_pending_serial(&mut self, serial: String) {
        self.pending_serial = Some(serial);
    }

    /// Keeps a successful burn: shown on the seed page, its serial offered to the add-row
    /// form.
    pub fn record_burn(&mut self, burn: BurnResult) {
        self.pending_serial = Some(burn.serial.clone());
        self.last_burn = Some(burn);
    }

    pub fn last_burn(&self) -> Option<&BurnResult> {
        self.last_burn.as_ref()
    }

    /// The bulk burn panel's state.
    pub fn bulk(&self) -> &BulkState {
        &self.bulk
    }

    /// The bulk burn panel's state, changed through [`BulkRun`](super::bulk_run::BulkRun)'s
    /// own methods; rows go through [`Session::record_burned_token`].
    pub fn bulk_mut(&mut self) -> &mut BulkState {
        &mut self.bulk
    }

    /// Records a token the agent reported burned with `record.secret`: a new row when its
    /// serial is not in the batch yet, else that row gets the new seed and parameters and
    /// keeps its place and user (never a second row). Returns the row's number (from 1) and
    /// whether it was an existing row.
    pub fn record_burned_token(&mut self, record: TokenRecord) -> Result<(usize, bool), Conflict> {
        match self.batch.serial_index(&record.serial) {
            Some(i) => {
                self.batch
                    .replace_secret(&record.serial, record.secret, record.params)?;
                self.rows_downloaded = false;
                Ok((i + 1, true))
            }
            None => self.add_record(record).map(|n| (n, false)),
        }
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
    /// Tokens held by every session together.
    budget: Arc<Budget>,
    /// Bytes of what waits in every session together.
    pending_budget: Arc<Budget>,
}

impl SessionStore {
    pub fn new(config: SessionConfig) -> Self {
        SessionStore {
            budget: Arc::new(Budget::tokens(config.max_batch_total)),
            pending_budget: Arc::new(Budget::pending_bytes(config.max_pending_bytes)),
            config,
            areas: Mutex::new(Areas::default()),
        }
    }

    pub fn config(&self) -> &SessionConfig {
        &self.config
    }

    /// The store-wide token budget (how many tokens all sessions hold).
    pub fn budget(&self) -> &Budget {
        &self.budget
    }

    /// The store-wide budget of what waits in sessions (bytes).
    pub fn pending_budget(&self) -> &Budget {
        &self.pending_budget
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
        let session = SharedSession::new(Session::new(
            current,
            self.config.max_batch,
            (self.budget.clone(), self.pending_budget.clone()),
        ));
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
    /// How the request reached the server (TLS, and whether it stayed on this machine).
    pub transport: super::host::Transport,
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
    let transport = super::host::Transport::of(&state.config, super::host::request_host(&request));
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
            transport,
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
        transport,
    };
    request.extensions_mut().insert(Resolved { ctx, session });
    let response = next.run(request).await;
    (jar.add(config.cookie(id)), response).into_response()
}

#[cfg(test)]
mod tests {
    use std::mem::size_of;

    use super::*;
    use crate::otp::{Algorithm, Params};
    use crate::tokens::Source;

    /// A typical token from a vendor file: 8-digit serial, 20-byte seed, "Token2"/"C202",
    /// a 20-character UPN.
    fn typical(i: usize) -> TokenRecord {
        let mut seed = [0x5Au8; 20];
        seed[..8].copy_from_slice(&(i as u64).to_be_bytes());
        TokenRecord {
            serial: format!("{i:08}"),
            secret: Secret::from_bytes(seed.to_vec()).unwrap(),
            params: Params::new(Algorithm::Sha1, 6, 30).unwrap(),
            manufacturer: "Token2".into(),
            model: "C202".into(),
            upn: Some(format!("user{i:06}@contoso.com")),
            source: Source::Typed,
            added_at: 0,
        }
    }

    /// Bytes a hash map entry of `entry` bytes costs at hashbrown's 7/8 load: the bucket
    /// and its control byte, over the buckets a full map of `n` holds.
    fn map_bytes(n: usize, entry: usize) -> usize {
        let buckets = (n * 8).div_ceil(7).next_power_of_two();
        buckets * (entry + 1)
    }

    /// The memory a token costs in a session's batch, computed from the sizes of what the
    /// batch holds: the record itself (in a vector grown by doubling), its heap parts (serial,
    /// seed, manufacturer, model, UPN), and its two index entries (serial, seed hash). The
    /// README states the figure this prints; the bound keeps it honest.
    #[test]
    fn memory_per_token_is_bounded() {
        let n = BatchLimit::DEFAULT_MAX;
        let mut batch = Batch::new(BatchLimit::new(n, MAX_BATCH_SETTING));
        for i in 0..n {
            batch.push(typical(i)).unwrap();
        }
        let records = batch.records();
        let heap: usize = records
            .iter()
            .map(|r| {
                r.serial.capacity()
                    + r.secret.as_bytes().len()
                    + r.manufacturer.capacity()
                    + r.model.capacity()
                    + r.upn.as_ref().map_or(0, String::capacity)
            })
            .sum();
        let vector = n.next_power_of_two() * size_of::<TokenRecord>();
        let serial_index = map_bytes(n, size_of::<(String, usize)>())
            + records.iter().map(|r| r.serial.len()).sum::<usize>();
        let seed_index = map_bytes(n, size_of::<([u8; 32], usize)>());
        let per_token = (vector + heap + serial_index + seed_index) / n;
        println!(
            "memory per token: {per_token} bytes (record {} + heap {} + indexes {})",
            size_of::<TokenRecord>(),
            heap / n,
            (serial_index + seed_index) / n
        );
        assert!(per_token <= 512, "{per_token} bytes per token");
        // A full store at the default total stays within tens of megabytes.
        assert!(per_token * DEFAULT_MAX_BATCH_TOTAL <= 64 * 1024 * 1024);
    }

    #[test]
    fn the_budget_is_given_back_when_a_session_ends() {
        let budget = Arc::new(Budget::tokens(3));
        let current = CurrentToken::generate(20, Params::default()).unwrap();
        let mut s = Session::new(
            current,
            10,
            (budget.clone(), Arc::new(Budget::pending_bytes(0))),
        );
        s.add_record(typical(1)).unwrap();
        s.add_record(typical(2)).unwrap();
        assert_eq!(budget.used(), 2);
        s.add_record(typical(3)).unwrap();
        let refused = s.add_record(typical(4)).unwrap_err();
        assert!(
            refused.reason.contains(MAX_BATCH_TOTAL_SETTING),
            "{}",
            refused.reason
        );
        assert!(s.remove_row(0, "00000001").is_some());
        assert_eq!(budget.used(), 2);
        drop(s);
        assert_eq!(budget.used(), 0);
    }

    fn preview_of(records: &[TokenRecord]) -> PendingImport {
        PendingImport {
            source: "seeds.csv".into(),
            format: Format::VendorCsv,
            secret_encoding: None,
            candidates: records
                .iter()
                .enumerate()
                .map(|(line, r)| Candidate {
                    line: line + 2,
                    record: r.clone(),
                })
                .collect(),
            refused: Vec::new(),
            notes: Vec::new(),
        }
    }

    /// What waits in a session (a preview, a user list) counts against the store-wide
    /// pending budget from the moment it waits until it is added, applied, discarded or the
    /// session ends; a refusal keeps what waited before.
    #[test]
    fn what_waits_counts_against_the_pending_budget_until_it_is_gone() {
        let pending = Arc::new(Budget::pending_bytes(2000));
        let tokens = Arc::new(Budget::tokens(100));
        let session = |p: &Arc<Budget>| {
            let current = CurrentToken::generate(20, Params::default()).unwrap();
            Session::new(current, 10, (tokens.clone(), p.clone()))
        };
        let mut a = session(&pending);
        let three = preview_of(&[typical(1), typical(2), typical(3)]);
        let bytes = three.bytes();
        assert!(
            bytes > 3 * size_of::<Candidate>() && bytes < 1000,
            "{bytes}"
        );
        a.set_pending_import(three).unwrap();
        assert_eq!(pending.used(), bytes);
        a.set_pending_users("alice@contoso.com\n".into()).unwrap();
        assert_eq!(pending.used(), bytes + 18);

        // Another session cannot go past the total; the refusal names the setting.
        let mut b = session(&pending);
        let (refused, back) = b
            .set_pending_users("u@contoso.com\n".repeat(200))
            .unwrap_err();
        assert_eq!(back.len(), 2800);
        assert!(
            refused.reason.contains(MAX_PENDING_SETTING),
            "{}",
            refused.reason
        );
        assert!(refused.reason.contains("2000 bytes"), "{}", refused.reason);
        assert!(b.pending_users().is_none());
        // A larger preview in place of the first is refused, and the first still waits.
        let big = preview_of(&(1..=12).map(typical).collect::<Vec<_>>());
        assert!(a.set_pending_import(big).is_err());
        assert_eq!(a.pending_import().map(|p| p.candidates.len()), Some(3));
        assert_eq!(pending.used(), bytes + 18);

        // Added: the tokens move to the batches' budget.
        assert_eq!(a.commit_pending_import().unwrap().unwrap().added, 3);
        assert_eq!((pending.used(), tokens.used()), (18, 3));
        assert!(a.apply_pending_users().is_some());
        assert_eq!(pending.used(), 0);
        a.set_pending_users("bob@contoso.com".into()).unwrap();
        assert!(a.discard_pending_users());
        assert_eq!(pending.used(), 0);
        b.set_pending_import(preview_of(&[typical(7)])).unwrap();
        assert!(pending.used() > 0);
        assert!(b.discard_pending_import());
        assert_eq!(pending.used(), 0);
        b.set_pending_users("carol@contoso.com".into()).unwrap();
        drop(b);
        assert_eq!(pending.used(), 0);
    }
}
