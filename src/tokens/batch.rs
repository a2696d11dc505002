//! The batch: the token records a session (or one `convert` run) holds, from any source,
//! each with an optional user, and the rules that keep it sound: one record per serial, one
//! serial per seed, a bounded size, and users assigned from a pasted list.
//!
//! Pure: no I/O, no clock (the time a record was added is passed in). Records hold seeds:
//! Debug never shows them, and no message built here ever contains one.

use std::cmp::Ordering;
use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasher, BuildHasherDefault, Hasher, RandomState};

use subtle::ConstantTimeEq;

use super::user_list::{Shape, UserLine, UserList};
use super::validate::{check_text, check_upn};
use crate::otp::{Algorithm, Params, Secret, clip};

/// Entra's limit on OATH methods per user; more is a warning, not a refusal, because a
/// token may be moving from one user to another.
pub const MAX_OATH_METHODS_PER_USER: usize = 5;

/// Where a record came from, shown in the inventory.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Source {
    Generated,
    Burned,
    Typed,
    Imported(super::formats::Format),
}

impl Source {
    pub fn label(self) -> &'static str {
        match self {
            Source::Generated => "generated",
            Source::Burned => "burned",
            Source::Typed => "typed",
            Source::Imported(f) => f.source_label(),
        }
    }
}

/// One hardware token. Debug is safe: `Secret` prints `[redacted]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenRecord {
    /// Kept as text: leading zeros are part of a serial.
    pub serial: String,
    /// Zeroized on drop by `Secret` itself.
    pub secret: Secret,
    /// Hash, digits and period.
    pub params: Params,
    /// Empty when the source did not say.
    pub manufacturer: String,
    /// Empty when the source did not say.
    pub model: String,
    /// The user the token belongs to; unassigned tokens are first-class (Graph inventory).
    pub upn: Option<String>,
    pub source: Source,
    /// Unix seconds.
    pub added_at: u64,
}

/// Field names used in refusals, the way Entra's CSV header spells them.
pub mod field {
    pub const SERIAL: &str = "serial number";
    pub const SECRET: &str = "secret key";
    pub const INTERVAL: &str = "time interval";
    pub const UPN: &str = "upn";
    pub const MANUFACTURER: &str = "manufacturer";
    pub const MODEL: &str = "model";
    pub const ALGORITHM: &str = "algorithm";
    pub const DIGITS: &str = "digits";
    pub const TYPE: &str = "type";
    pub const LINE: &str = "line";
    pub const FILE: &str = "file";
}

impl TokenRecord {
    /// Checks the text fields against the rules every export shares (serial present and
    /// CSV-safe; manufacturer and model CSV-safe when given; a UPN Entra would take).
    /// Returns the field and the reason.
    pub fn check(&self) -> Result<(), (&'static str, String)> {
        check_text(&self.serial).map_err(|m| (field::SERIAL, m))?;
        if !self.manufacturer.is_empty() {
            check_text(&self.manufacturer).map_err(|m| (field::MANUFACTURER, m))?;
        }
        if !self.model.is_empty() {
            check_text(&self.model).map_err(|m| (field::MODEL, m))?;
        }
        if let Some(upn) = &self.upn {
            check_upn(upn).map_err(|m| (field::UPN, m))?;
        }
        Ok(())
    }

    pub fn algorithm(&self) -> Algorithm {
        self.params.algorithm()
    }

    pub fn period(&self) -> u32 {
        self.params.period()
    }

    pub fn digits(&self) -> u8 {
        self.params.digits()
    }
}

/// One refused line of an input: where, which field, and why. Never the seed.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Refusal {
    /// 1-based line of the input (for XML, the line where the token's element starts).
    pub line: usize,
    pub field: &'static str,
    pub reason: String,
}

impl Refusal {
    pub fn new(line: usize, field: &'static str, reason: impl Into<String>) -> Self {
        Refusal {
            line,
            field,
            reason: reason.into(),
        }
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}: {}", self.line, self.field, self.reason)
    }
}

/// A record read from an input, with the line it came from.
#[derive(Clone, Debug)]
pub struct Candidate {
    pub line: usize,
    pub record: TokenRecord,
}

/// The most tokens a batch holds, and the setting that changes it (named in the refusal).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BatchLimit {
    pub max: usize,
    pub setting: &'static str,
}

impl BatchLimit {
    /// 10,000 tokens per session, the web default.
    pub const DEFAULT_MAX: usize = 10_000;

    pub fn new(max: usize, setting: &'static str) -> Self {
        BatchLimit { max, setting }
    }
}

/// A hash already computed with a secret random key ([`Keyed`]): the map uses it as it is,
/// instead of hashing it a second time.
#[derive(Clone, Copy, Default)]
struct PreHashed(u64);

impl Hasher for PreHashed {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only u64 keys reach this map; this keeps the trait whole all the same.
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// Which record holds a key, found by the key's keyed hash and confirmed against the record
/// itself by the caller, so two keys that share a hash never stand for each other.
#[derive(Clone, Default)]
struct Index {
    first: HashMap<u64, usize, BuildHasherDefault<PreHashed>>,
    /// The records whose hash an earlier record already has: with a random 64-bit key, all
    /// but never used, but kept so that a collision can never hide a duplicate.
    more: Vec<(u64, usize)>,
}

impl std::fmt::Debug for Index {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Index({} keys)", self.first.len() + self.more.len())
    }
}

impl Index {
    fn reserve(&mut self, n: usize) {
        self.first.reserve(n);
    }

    fn clear(&mut self) {
        self.first.clear();
        self.more.clear();
    }

    /// The first record with hash `h` that `holds` confirms.
    fn find(&self, h: u64, mut holds: impl FnMut(usize) -> bool) -> Option<usize> {
        let &i = self.first.get(&h)?;
        if holds(i) {
            return Some(i);
        }
        self.more
            .iter()
            .filter(|&&(k, _)| k == h)
            .map(|&(_, i)| i)
            .find(|&i| holds(i))
    }

    fn insert(&mut self, h: u64, i: usize) {
        match self.first.entry(h) {
            Entry::Vacant(v) => {
                v.insert(i);
            }
            Entry::Occupied(_) => self.more.push((h, i)),
        }
    }
}

/// SipHash with a key drawn at random for each batch: one pass over a seed or a serial finds
/// the one record that may hold the same, without a copy of the key. An outsider who does not
/// know the key cannot make two inputs share a bucket on purpose. A match of a seed is then
/// confirmed byte for byte in constant time; the hash is only ever a hint.
#[derive(Clone, Debug)]
struct Keyed(RandomState);

impl Keyed {
    fn new() -> Self {
        Keyed(RandomState::new())
    }

    fn seed(&self, secret: &Secret) -> u64 {
        self.0.hash_one(secret.as_bytes())
    }

    /// Serials compare without regard to ASCII case, as validate.rs does: hashed lowercase,
    /// through a small buffer rather than a lowercase copy of each serial.
    fn serial(&self, serial: &str) -> u64 {
        self.lowercase(serial.as_bytes())
    }

    fn lowercase(&self, bytes: &[u8]) -> u64 {
        let mut h = self.0.build_hasher();
        let mut buf = [0u8; 64];
        for chunk in bytes.chunks(buf.len()) {
            let part = &mut buf[..chunk.len()];
            part.copy_from_slice(chunk);
            part.make_ascii_lowercase();
            h.write(part);
        }
        h.write_usize(bytes.len());
        h.finish()
    }
}

/// Where a serial sorts: numeric serials first, by value (leading zeros not counted, then
/// fewer zeros first), then every other serial as text. A total order, so sorting by it
/// never panics whatever the serials are.
fn serial_rank(s: &str) -> (bool, usize, &str, usize) {
    if !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit()) {
        let t = s.trim_start_matches('0');
        (false, t.len(), t, s.len())
    } else {
        (true, 0, s, 0)
    }
}

/// Serial order: numeric serials by value (leading zeros kept but not counted) before the
/// others, which sort as text.
pub fn serial_order(a: &str, b: &str) -> Ordering {
    serial_rank(a).cmp(&serial_rank(b))
}

/// What stops a record from joining: the field and the reason.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Conflict {
    pub field: &'static str,
    pub reason: String,
}

/// An ordered set of token records with unique serials and unique seeds.
#[derive(Clone, Debug)]
pub struct Batch {
    records: Vec<TokenRecord>,
    serials: Index,
    seeds: Index,
    keyed: Keyed,
    limit: BatchLimit,
}

impl Default for Batch {
    fn default() -> Self {
        Batch::new(BatchLimit::new(
            BatchLimit::DEFAULT_MAX,
            "TOTP_TOOLSET_MAX_BATCH",
        ))
    }
}

/// Candidates judged to join a batch but not yet moved into it: record `len + j` of the
/// batch-to-be is `candidates[order[j]]`.
#[derive(Default)]
struct Pending<'a> {
    candidates: &'a [Candidate],
    order: Vec<usize>,
}

impl Pending<'_> {
    fn len(&self) -> usize {
        self.order.len()
    }

    /// Record `i` of the batch as it will be: one already in `records`, or a pending one.
    fn get<'r>(&'r self, records: &'r [TokenRecord], i: usize) -> &'r TokenRecord {
        match i.checked_sub(records.len()) {
            None => &records[i],
            Some(j) => &self.candidates[self.order[j]].record,
        }
    }
}

/// What a user list would do: which record gets which UPN (each record at most once, in
/// the order the list gives them), and what cannot be applied.
#[derive(Clone, Debug, Default)]
pub struct AssignPlan<'t> {
    /// Indices into [`Batch::records`], with the UPN as the list writes it.
    pub assignments: Vec<(usize, &'t str)>,
    pub refused: Vec<Refusal>,
    /// Users who would hold more than Entra's 5 OATH methods.
    pub warnings: Vec<String>,
}

impl AssignPlan<'_> {
    /// The report the plan makes once carried out.
    pub fn into_report(self) -> AssignReport {
        AssignReport {
            assigned: self.assignments.iter().map(|&(i, _)| i).collect(),
            refused: self.refused,
            warnings: self.warnings,
        }
    }
}

/// Who got which token, and what went wrong, after a user list was applied.
#[derive(Clone, Debug, Default)]
pub struct AssignReport {
    /// The records given a user, in the order they were assigned: indices into
    /// [`Batch::records`] as the batch was when the report was made.
    pub assigned: Vec<usize>,
    pub refused: Vec<Refusal>,
    /// Users holding more than Entra's 5 OATH methods.
    pub warnings: Vec<String>,
}

impl Batch {
    pub fn new(limit: BatchLimit) -> Self {
        Batch {
            records: Vec::new(),
            serials: Index::default(),
            seeds: Index::default(),
            keyed: Keyed::new(),
            limit,
        }
    }

    pub fn limit(&self) -> BatchLimit {
        self.limit
    }

    pub fn records(&self) -> &[TokenRecord] {
        &self.records
    }

    pub fn len(&self) -> usize {
        self.records.len()
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// The index of the record with this serial (ASCII case aside), found by the index.
    pub fn serial_index(&self, serial: &str) -> Option<usize> {
        self.serials.find(self.keyed.serial(serial), |i| {
            self.records[i].serial.eq_ignore_ascii_case(serial)
        })
    }

    pub fn get(&self, serial: &str) -> Option<&TokenRecord> {
        self.serial_index(serial).map(|i| &self.records[i])
    }

    fn full_message(&self) -> String {
        format!(
            "the batch is full: it holds at most {} tokens (setting {})",
            self.limit.max, self.limit.setting
        )
    }

    /// True when some record holds this seed (the seed page says so of its token),
    /// confirmed byte for byte in constant time.
    pub fn holds_seed(&self, secret: &Secret) -> bool {
        self.seeds
            .find(self.keyed.seed(secret), |i| {
                bool::from(self.records[i].secret.as_bytes().ct_eq(secret.as_bytes()))
            })
            .is_some()
    }

    /// Why `record` could not join this batch as it is, if anything stops it.
    pub fn conflict(&self, record: &TokenRecord) -> Option<Conflict> {
        let keys = (
            self.keyed.serial(&record.serial),
            self.keyed.seed(&record.secret),
        );
        self.conflict_with(record, keys, &Pending::default())
    }

    /// Why `record` could not join the batch plus `pending` (records on their way in, not
    /// yet moved into it), given the keyed hashes of its serial and its seed.
    fn conflict_with(
        &self,
        record: &TokenRecord,
        (serial_hash, seed_hash): (u64, u64),
        pending: &Pending<'_>,
    ) -> Option<Conflict> {
        if let Err((field, reason)) = record.check() {
            return Some(Conflict { field, reason });
        }
        let at = |i: usize| pending.get(&self.records, i);
        if let Some(i) = self.serials.find(serial_hash, |i| {
            at(i).serial.eq_ignore_ascii_case(&record.serial)
        }) {
            return Some(Conflict {
                field: field::SERIAL,
                reason: format!(
                    "{} is already in the batch; each serial number may appear only once",
                    at(i).serial
                ),
            });
        }
        // Confirmed byte for byte in constant time: the hash only says where to look.
        if let Some(i) = self.seeds.find(seed_hash, |i| {
            bool::from(at(i).secret.as_bytes().ct_eq(record.secret.as_bytes()))
        }) {
            return Some(Conflict {
                field: field::SECRET,
                reason: format!(
                    "the same seed is already in the batch on serial {}; one seed on two tokens lets either stand in for the other",
                    at(i).serial
                ),
            });
        }
        if self.records.len() + pending.len() >= self.limit.max {
            return Some(Conflict {
                field: field::LINE,
                reason: self.full_message(),
            });
        }
        None
    }

    /// Adds one record, or says why it cannot join.
    pub fn push(&mut self, record: TokenRecord) -> Result<(), Conflict> {
        let keys = (
            self.keyed.serial(&record.serial),
            self.keyed.seed(&record.secret),
        );
        if let Some(c) = self.conflict_with(&record, keys, &Pending::default()) {
            return Err(c);
        }
        let i = self.records.len();
        self.serials.insert(keys.0, i);
        self.seeds.insert(keys.1, i);
        self.records.push(record);
        Ok(())
    }

    /// Adds records read from a file: each one that cannot join (a duplicate within the file
    /// or against the batch, or past the limit) becomes a refusal of its line. The batch is
    /// changed only by the records that join.
    ///
    /// Each candidate is judged where it lies, against the batch and the candidates already
    /// judged to join, and only then are the joining ones moved in: into an empty batch that
    /// reuses the candidates' own memory, so 100,000 records are not held twice.
    pub fn add_candidates(&mut self, candidates: Vec<Candidate>) -> Vec<Refusal> {
        let mut refused = Vec::new();
        let room = candidates
            .len()
            .min(self.limit.max.saturating_sub(self.records.len()));
        self.serials.reserve(room);
        self.seeds.reserve(room);
        let mut joins = vec![false; candidates.len()];
        let mut pending = Pending {
            candidates: &candidates,
            order: Vec::with_capacity(room),
        };
        for (k, c) in candidates.iter().enumerate() {
            let keys = (
                self.keyed.serial(&c.record.serial),
                self.keyed.seed(&c.record.secret),
            );
            match self.conflict_with(&c.record, keys, &pending) {
                Some(conflict) => {
                    refused.push(Refusal::new(c.line, conflict.field, conflict.reason));
                }
                None => {
                    let i = self.records.len() + pending.len();
                    self.serials.insert(keys.0, i);
                    self.seeds.insert(keys.1, i);
                    pending.order.push(k);
                    joins[k] = true;
                }
            }
        }
        let joining = pending.len();
        drop(pending);
        let mut joins = joins.into_iter();
        let records = candidates
            .into_iter()
            .filter(|_| joins.next().unwrap_or(false))
            .map(|c| c.record);
        if self.records.is_empty() {
            self.records = records.collect();
        } else {
            self.records.reserve(joining);
            self.records.extend(records);
        }
        refused
    }

    /// What [`Batch::add_candidates`] would refuse, without changing the batch: the preview.
    pub fn preview(&self, candidates: Vec<Candidate>) -> (Vec<Candidate>, Vec<Refusal>) {
        let mut trial = Batch::new(BatchLimit::new(
            self.limit.max.saturating_sub(self.records.len()),
            self.limit.setting,
        ));
        let mut accepted = Vec::new();
        let mut refused = Vec::new();
        for c in candidates {
            if let Some(conflict) = self.conflict_ignoring_limit(&c.record) {
                refused.push(Refusal::new(c.line, conflict.field, conflict.reason));
                continue;
            }
            match trial.push(c.record.clone()) {
                Ok(()) => accepted.push(c),
                Err(conflict) => {
                    let reason = if conflict.field == field::LINE {
                        self.full_message()
                    } else {
                        conflict
                            .reason
                            .replace("already in the batch", "earlier in the file")
                    };
                    refused.push(Refusal::new(c.line, conflict.field, reason));
                }
            }
        }
        (accepted, refused)
    }

    fn conflict_ignoring_limit(&self, record: &TokenRecord) -> Option<Conflict> {
        self.conflict(record)
            .filter(|c| !(c.field == field::LINE && self.records.len() >= self.limit.max))
    }

    /// Removes the token with this serial; returns it.
    pub fn remove(&mut self, serial: &str) -> Option<TokenRecord> {
        let i = self.serial_index(serial)?;
        let record = self.records.remove(i);
        self.reindex();
        Some(record)
    }

    fn reindex(&mut self) {
        self.serials.clear();
        self.seeds.clear();
        for (i, r) in self.records.iter().enumerate() {
            self.serials.insert(self.keyed.serial(&r.serial), i);
            self.seeds.insert(self.keyed.seed(&r.secret), i);
        }
    }

    /// Gives the token with this serial a new seed and parameters (it was burned again),
    /// keeping its place and its user. Refused when another token holds that seed.
    pub fn replace_secret(
        &mut self,
        serial: &str,
        secret: Secret,
        params: Params,
    ) -> Result<(), Conflict> {
        let Some(i) = self.serial_index(serial) else {
            return Err(Conflict {
                field: field::SERIAL,
                reason: format!("{} is not in the batch", clip(serial)),
            });
        };
        if let Some(j) = self.seeds.find(self.keyed.seed(&secret), |j| {
            bool::from(self.records[j].secret.as_bytes().ct_eq(secret.as_bytes()))
        }) && j != i
        {
            return Err(Conflict {
                field: field::SECRET,
                reason: format!(
                    "the same seed is already in the batch on serial {}",
                    self.records[j].serial
                ),
            });
        }
        self.records[i].secret = secret;
        self.records[i].params = params;
        self.reindex();
        Ok(())
    }

    /// Removes every record (their seeds are wiped as they drop).
    pub fn clear(&mut self) {
        self.records.clear();
        self.serials.clear();
        self.seeds.clear();
    }

    /// Gives (or, with `None`, takes away) a token's user. The UPN is checked by Entra's
    /// rules. Returns a warning when the user would hold more than 5 OATH methods.
    pub fn set_upn(&mut self, serial: &str, upn: Option<&str>) -> Result<Option<String>, Conflict> {
        let Some(i) = self.serial_index(serial) else {
            return Err(Conflict {
                field: field::SERIAL,
                reason: format!("{} is not in the batch", clip(serial)),
            });
        };
        let upn = match upn.map(str::trim) {
            None | Some("") => None,
            Some(u) => {
                check_upn(u).map_err(|reason| Conflict {
                    field: field::UPN,
                    reason,
                })?;
                Some(u.to_string())
            }
        };
        self.records[i].upn = upn.clone();
        Ok(upn.and_then(|u| self.overfull_warning(&u)))
    }

    fn methods_of(&self, upn: &str) -> usize {
        self.records
            .iter()
            .filter(|r| {
                r.upn
                    .as_deref()
                    .is_some_and(|u| u.eq_ignore_ascii_case(upn))
            })
            .count()
    }

    fn overfull_warning(&self, upn: &str) -> Option<String> {
        let n = self.methods_of(upn);
        (n > MAX_OATH_METHODS_PER_USER).then(|| overfull_message(upn, n))
    }

    /// Applies a user list read by the one rule of [`UserList`]: the [`Batch::plan_assign`]
    /// of it, carried out. Each line that cannot be applied is refused; the others are.
    pub fn assign(&mut self, users: &str) -> AssignReport {
        let plan = self.plan_assign(users);
        for &(i, upn) in &plan.assignments {
            self.records[i].upn = Some(upn.to_string());
        }
        plan.into_report()
    }

    /// What applying a user list would do, without changing the batch (the page's preview
    /// of a pending list reads the batch, it does not copy it with its seeds): one UPN per
    /// line (given in order to the unassigned tokens, in serial order), or `serial,upn`
    /// pairs (by serial).
    pub fn plan_assign<'t>(&self, users: &'t str) -> AssignPlan<'t> {
        let list = UserList::new(users);
        let mut plan = AssignPlan::default();
        match list.shape {
            Shape::Pairs => self.plan_pairs(list.lines(), &mut plan),
            Shape::InOrder => self.plan_in_order(list.lines(), &mut plan),
        }
        plan.warnings = self.overfull_after(&plan.assignments);
        plan
    }

    /// Entra's 5-method warnings for the batch as `assignments` would leave it, one per
    /// user, in the order the users are given. Counted once for the whole batch (a count
    /// per assigned user would be quadratic), by a keyed hash of the lowercase UPN so that
    /// no copy of every UPN is made.
    fn overfull_after(&self, assignments: &[(usize, &str)]) -> Vec<String> {
        let mut given = vec![false; self.records.len()];
        for &(i, _) in assignments {
            given[i] = true;
        }
        let kept = self
            .records
            .iter()
            .zip(&given)
            .filter(|&(_, &g)| !g)
            .filter_map(|(r, _)| r.upn.as_deref());
        let keyed = Keyed::new();
        let mut counts: HashMap<u64, usize, BuildHasherDefault<PreHashed>> = HashMap::default();
        counts.reserve(self.records.len());
        for upn in kept.chain(assignments.iter().map(|&(_, u)| u)) {
            *counts.entry(keyed.lowercase(upn.as_bytes())).or_default() += 1;
        }
        let mut warnings = Vec::new();
        if counts.values().any(|&n| n > MAX_OATH_METHODS_PER_USER) {
            let mut warned = HashSet::new();
            for &(_, upn) in assignments {
                let k = keyed.lowercase(upn.as_bytes());
                let n = counts.get(&k).copied().unwrap_or(0);
                if n > MAX_OATH_METHODS_PER_USER && warned.insert(k) {
                    warnings.push(overfull_message(upn, n));
                }
            }
        }
        warnings
    }

    fn plan_in_order<'t>(
        &self,
        lines: impl Iterator<Item = UserLine<'t>>,
        plan: &mut AssignPlan<'t>,
    ) {
        let mut free: Vec<usize> = Vec::with_capacity(self.records.len());
        free.extend((0..self.records.len()).filter(|&i| self.records[i].upn.is_none()));
        let rank = |&i: &usize| serial_rank(&self.records[i].serial);
        // Vendor files usually list their serials in order, one way or the other: checked
        // in one pass, before a sort that works out each serial's place once.
        if !free.is_sorted_by(|a, b| rank(a) <= rank(b)) {
            if free.is_sorted_by(|a, b| rank(a) > rank(b)) {
                free.reverse();
            } else {
                free.sort_by_cached_key(rank);
            }
        }
        let mut free = free.into_iter();
        for UserLine { line, upn, .. } in lines {
            if let Err(m) = check_upn(upn) {
                plan.refused.push(Refusal::new(line, field::UPN, m));
                continue;
            }
            let Some(i) = free.next() else {
                plan.refused.push(Refusal::new(
                    line,
                    field::UPN,
                    format!("no unassigned token is left for {}", clip(upn)),
                ));
                continue;
            };
            plan.assignments.push((i, upn));
        }
    }

    fn plan_pairs<'t>(&self, lines: impl Iterator<Item = UserLine<'t>>, plan: &mut AssignPlan<'t>) {
        // By record: a serial names one record whatever its case.
        let mut seen: HashMap<usize, usize> = HashMap::new();
        for UserLine { line, serial, upn } in lines {
            let Some(serial) = serial else {
                plan.refused.push(Refusal::new(
                    line,
                    field::LINE,
                    "has one cell; in a list of serial,upn pairs every line needs both",
                ));
                continue;
            };
            if serial.is_empty() {
                plan.refused.push(Refusal::new(
                    line,
                    field::SERIAL,
                    "is empty; write serial,upn",
                ));
                continue;
            }
            let Some(i) = self.serial_index(serial) else {
                plan.refused.push(Refusal::new(
                    line,
                    field::SERIAL,
                    format!("{} is not in the batch", clip(serial)),
                ));
                continue;
            };
            if let Some(first) = seen.insert(i, line) {
                plan.refused.push(Refusal::new(
                    line,
                    field::SERIAL,
                    format!("{} was already assigned on line {first}", clip(serial)),
                ));
                continue;
            }
            if let Err(m) = check_upn(upn) {
                plan.refused.push(Refusal::new(line, field::UPN, m));
                continue;
            }
            plan.assignments.push((i, upn));
        }
    }
}

fn overfull_message(upn: &str, n: usize) -> String {
    format!(
        "{upn} would hold {n} OATH tokens; Entra allows at most {MAX_OATH_METHODS_PER_USER} OATH methods per user"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serial_order_is_numeric_for_numbers() {
        let mut v = vec!["10", "9", "0010", "A2", "A10", "011", "1A"];
        v.sort_by(|a, b| serial_order(a, b));
        assert_eq!(v, ["9", "10", "0010", "011", "1A", "A10", "A2"]);
    }
}
