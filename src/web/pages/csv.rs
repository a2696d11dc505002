//! The batch page (`/csv`): the session's token records, one page of them at a time; the
//! form that appends one (checked against Entra's rules); a file imported through a preview
//! ("Add N tokens" or "Discard"); users assigned from a pasted list through a preview; a
//! token's user edited, cleared or moved; delete and clear; and every export.
//!
//! A refused row, line or list never disturbs the batch, downloads are built from the batch
//! as it is and sent only to the session that owns it, and no message ever holds a seed.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{FromRequest, Multipart, Path, RawQuery, Request};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use zeroize::Zeroizing;

use crate::otp::{SecretText, SeedFormat};
use crate::tokens::containers::{
    self, Container, ContainerError, OpenWith, Passphrase, PgpPublicKey, PgpSecretKey, Unwrapped,
    ZipEntryInfo,
};
use crate::tokens::formats::{self, entra_fit, pskc};
use crate::tokens::{
    Batch, Export, Format, Keys, LeftOut, ReadOptions, Refusal, RowInput, TokenRecord, TokenSource,
    validate_record,
};
use crate::web::AppError;
use crate::web::extract::CurrentSession;
use crate::web::form::{Errors, Form, is_form, read_multipart};
use crate::web::host::Transport;
use crate::web::session::{PendingArchive, PendingImport, Session, SessionCtx};
use crate::web::views::bulk_panel::{self, BulkPanel};
use crate::web::views::encrypt_panel::EncryptPanel;
use crate::web::views::{Layout, layout};

/// Tokens shown per page of the batch: a 10,000-token batch stays quick to draw.
pub const PAGE_SIZE: usize = 100;
/// Left-out tokens listed by name under an export; the rest are counted.
const LEFT_OUT_SHOWN: usize = 50;
/// Assignments listed by name in the user-list preview; the rest are counted.
const ASSIGNED_SHOWN: usize = 200;

/// The row form as typed. A typed secret is wiped when the form is dropped.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct RowForm {
    upn: String,
    serial: String,
    secret: SecretText,
    interval: String,
    manufacturer: String,
    model: String,
    graph_only: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct DeleteForm {
    serial: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ClearForm {
    confirm: String,
}

/// Forms that are only a button.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ButtonForm {}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct UsersForm {
    users: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct UpnForm {
    serial: String,
    upn: String,
    /// The page of the batch the form was on, to come back to it.
    page: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct MoveForm {
    from: String,
    to: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct PskcForm {
    password: SecretText,
}

pub struct RowView {
    index: usize,
    number: usize,
    upn: String,
    serial: String,
    secret_hint: String,
    bits: usize,
    interval: u32,
    algorithm: &'static str,
    manufacturer: String,
    model: String,
    source: &'static str,
    /// Entra's CSV cannot carry it (SHA-256): only the Graph JSON and the other exports.
    graph_only: bool,
    /// The error of this row's user form, if it was just refused.
    upn_error: Option<String>,
    /// Its user form is shown (asked for with `?edit=N`, or refused).
    editing: bool,
}

pub struct FormView {
    upn: String,
    serial: String,
    secret: Zeroizing<String>,
    interval: String,
    manufacturer: String,
    model: String,
    graph_only: bool,
}

/// The preview of a file read but not yet added.
pub struct ImportView {
    source: String,
    format: &'static str,
    encoding: Option<&'static str>,
    count: usize,
    refused: Vec<Refusal>,
    notes: Vec<String>,
}

/// The preview of a pasted user list.
pub struct AssignView {
    users: String,
    assigned: Vec<(String, String)>,
    assigned_total: usize,
    refused: Vec<Refusal>,
    warnings: Vec<String>,
}

/// What one export would leave out, and why.
pub struct LeftOutView {
    shown: Vec<LeftOut>,
    total: usize,
}

/// The choices of the import form, kept when it is refused.
pub struct ImportFormView {
    from: String,
    secret_encoding: String,
    zip_entry: String,
}

/// An archive's files, for the admin to pick the seed file from.
pub struct ArchiveView {
    source: String,
    entries: Vec<(String, String)>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct EntryForm {
    entry: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "csv.html")]
pub struct CsvPage {
    layout: Layout,
    rows: Vec<RowView>,
    total: usize,
    max_batch: usize,
    page: usize,
    pages: usize,
    csv_rows: usize,
    csv_left_out: LeftOutView,
    graph_rows: usize,
    graph_left_out: LeftOutView,
    sha256_rows: usize,
    form: FormView,
    errors: Errors,
    clear_errors: Errors,
    import: Option<ImportView>,
    import_form: ImportFormView,
    import_errors: Errors,
    max_import_mib: usize,
    archive: Option<ArchiveView>,
    transport: Transport,
    encrypt: EncryptPanel,
    assign: Option<AssignView>,
    assign_errors: Errors,
    /// A refused list's pasted text, shown again instead of the pending list's.
    assign_text: Option<String>,
    move_form: (String, String),
    move_errors: Errors,
    pskc_errors: Errors,
    bulk: BulkPanel,
}

fn left_out(records: &[TokenRecord], csv: bool) -> (usize, LeftOutView) {
    let mut shown = Vec::new();
    let mut total = 0;
    for r in records {
        if let Err(reason) = entra_fit(r, csv) {
            total += 1;
            if shown.len() < LEFT_OUT_SHOWN {
                shown.push(LeftOut {
                    serial: r.serial.clone(),
                    reason,
                });
            }
        }
    }
    (records.len() - total, LeftOutView { shown, total })
}

/// The preview of a pending user list: what [`Batch::plan_assign`] would do, read from the
/// batch as it is (the first assignments shown, all counted).
fn assign_view(users: &str, batch: &Batch) -> AssignView {
    let plan = batch.plan_assign(users);
    let records = batch.records();
    AssignView {
        users: users.to_string(),
        assigned: plan
            .assignments
            .iter()
            .take(ASSIGNED_SHOWN)
            .map(|&(i, upn)| (records[i].serial.clone(), upn.to_string()))
            .collect(),
        assigned_total: plan.assignments.len(),
        refused: plan.refused,
        warnings: plan.warnings,
    }
}

/// The value of `name=` in a query string, if there.
fn query_value<'a>(query: Option<&'a str>, name: &str) -> Option<&'a str> {
    query
        .into_iter()
        .flat_map(|q| q.split('&'))
        .find_map(|p| p.strip_prefix(name)?.strip_prefix('='))
}

/// The page number asked for in `?page=N`, if any (anything else in the query is ignored).
fn page_number(query: Option<&str>) -> usize {
    query_value(query, "page")
        .and_then(|n| {
            if n == "last" {
                Some(usize::MAX)
            } else {
                n.parse::<usize>().ok()
            }
        })
        .unwrap_or(1)
}

fn page(
    session: &mut Session,
    ctx: SessionCtx,
    state: &crate::web::AppState,
    at: usize,
) -> CsvPage {
    let max_batch = state.sessions.config().max_batch;
    let records = session.batch().records();
    let total = records.len();
    let pages = total.div_ceil(PAGE_SIZE).max(1);
    let at = at.clamp(1, pages);
    let start = (at - 1) * PAGE_SIZE;
    let rows: Vec<RowView> = records
        .iter()
        .enumerate()
        .skip(start)
        .take(PAGE_SIZE)
        .map(|(i, r)| RowView {
            index: i,
            number: i + 1,
            upn: r.upn.clone().unwrap_or_default(),
            serial: r.serial.clone(),
            // Enough to tell rows apart on screen; the whole seed is on the seed page.
            secret_hint: format!(
                "{}…",
                r.secret.to_base32().chars().take(4).collect::<String>()
            ),
            bits: r.secret.bits(),
            interval: r.period(),
            algorithm: r.algorithm().display_name(),
            manufacturer: r.manufacturer.clone(),
            model: r.model.clone(),
            source: r.source.label(),
            graph_only: r.algorithm() != crate::otp::Algorithm::Sha1,
            upn_error: None,
            editing: false,
        })
        .collect();
    let (csv_rows, csv_left_out) = left_out(records, true);
    let (graph_rows, graph_left_out) = left_out(records, false);
    let sha256_rows = records
        .iter()
        .filter(|r| r.algorithm() == crate::otp::Algorithm::Sha256)
        .count();
    // Convenient defaults: the current token's interval, the last make and model typed
    // (real values that stick, not placeholders), and the serial a burn just read.
    let period = session.current().params().period();
    // A token just burned and not yet in the list: its maker and model are known.
    let burned = session
        .last_burn()
        .filter(|b| session.pending_serial() == Some(b.serial.as_str()));
    let last = session.last_make().cloned().or_else(|| {
        records
            .last()
            .map(|r| (r.manufacturer.clone(), r.model.clone()))
    });
    let form = FormView {
        upn: String::new(),
        serial: session.pending_serial().unwrap_or_default().to_string(),
        secret: Zeroizing::new(String::new()),
        interval: if period == 60 { "60" } else { "30" }.to_string(),
        manufacturer: burned
            .map(|_| "Token2".to_string())
            .or_else(|| last.as_ref().map(|m| m.0.clone()))
            .unwrap_or_default(),
        model: burned
            .and_then(|b| b.model.clone())
            .or_else(|| last.as_ref().map(|m| m.1.clone()))
            .unwrap_or_default(),
        graph_only: false,
    };
    let import = session.pending_import().map(|p| ImportView {
        source: p.source.clone(),
        format: p.format.name(),
        encoding: p.secret_encoding.map(encoding_name),
        count: p.candidates.len(),
        refused: p.refused.clone(),
        notes: p.notes.clone(),
    });
    let assign = session
        .pending_users()
        .map(|u| assign_view(u, session.batch()));
    CsvPage {
        rows,
        total,
        max_batch,
        page: at,
        pages,
        csv_rows,
        csv_left_out,
        graph_rows,
        graph_left_out,
        sha256_rows,
        form,
        errors: Errors::default(),
        clear_errors: Errors::default(),
        import,
        import_form: ImportFormView {
            from: "auto".into(),
            secret_encoding: "auto".into(),
            zip_entry: String::new(),
        },
        import_errors: Errors::default(),
        max_import_mib: state.config.max_import_bytes / (1024 * 1024),
        archive: session.pending_archive().map(|a| ArchiveView {
            source: a.source.clone(),
            entries: a
                .entries
                .iter()
                .map(|e| (e.name.clone(), describe_entry(e)))
                .collect(),
        }),
        transport: ctx.transport,
        encrypt: EncryptPanel::new(ctx.transport),
        assign,
        assign_errors: Errors::default(),
        assign_text: None,
        move_form: (String::new(), String::new()),
        move_errors: Errors::default(),
        pskc_errors: Errors::default(),
        bulk: bulk_panel::panel(session, state),
        layout: layout("csv", session, ctx),
    }
}

fn encoding_name(f: SeedFormat) -> &'static str {
    match f {
        SeedFormat::Auto => "decided per value",
        SeedFormat::Base32 => "base32",
        SeedFormat::Hex => "hex",
    }
}

fn refused_page(p: CsvPage) -> Response {
    (StatusCode::UNPROCESSABLE_ENTITY, p).into_response()
}

pub async fn view_csv_get(session: CurrentSession, RawQuery(query): RawQuery) -> Response {
    let at = page_number(query.as_deref());
    // `?edit=N` opens token N's user form (a link, so it works without JavaScript).
    let edit = query_value(query.as_deref(), "edit").and_then(|n| n.parse::<usize>().ok());
    session
        .with(|s| {
            let mut p = page(s, session.ctx, &session.state, at);
            for row in p.rows.iter_mut() {
                row.editing = Some(row.index) == edit;
            }
            p
        })
        .into_response()
}

pub async fn view_csv_rows_post(session: CurrentSession, Form(form): Form<RowForm>) -> Response {
    let now = session.now();
    let added = session.with(|s| {
        let input = RowInput {
            upn: &form.upn,
            serial: &form.serial,
            secret: form.secret.as_str(),
            interval: &form.interval,
            manufacturer: &form.manufacturer,
            model: &form.model,
            graph_only: form.graph_only == "yes",
        };
        let mut errors = Errors::default();
        let source = TokenSource {
            secret: s.current().secret(),
            params: s.current().params(),
        };
        match validate_record(&input, Some(source), now) {
            Ok(record) => {
                let flash = match &record.upn {
                    Some(upn) => format!("Added {upn} (serial {})", record.serial),
                    None => format!("Added serial {} (no user yet)", record.serial),
                };
                match s.add_record(record) {
                    Ok(number) => {
                        s.set_flash(format!("{flash} as row {number}."));
                        return Ok(number);
                    }
                    Err(c) => {
                        let name = match c.field {
                            crate::tokens::batch::field::SERIAL => "serial",
                            crate::tokens::batch::field::SECRET => "secret",
                            _ => "form",
                        };
                        let label = match name {
                            "serial" => "Serial number: ",
                            "secret" => "Secret key: ",
                            _ => "",
                        };
                        errors.push(name, format!("{label}{}", capitalised(&c.reason, label)));
                    }
                }
            }
            Err(field_errors) => {
                for e in field_errors {
                    errors.push(e.field.name(), e.message);
                }
            }
        }
        let mut p = page(s, session.ctx, &session.state, usize::MAX);
        p.form = FormView {
            upn: form.upn.clone(),
            serial: form.serial.clone(),
            secret: Zeroizing::new(form.secret.as_str().to_string()),
            interval: form.interval.clone(),
            manufacturer: form.manufacturer.clone(),
            model: form.model.clone(),
            graph_only: form.graph_only == "yes",
        };
        p.errors = errors;
        Err(Box::new(p))
    });
    match added {
        Ok(number) => Redirect::to(&page_of(number)).into_response(),
        Err(p) => refused_page(*p),
    }
}

/// The page of the batch showing its row `number` (from 1).
fn page_of(number: usize) -> String {
    let pages = number.div_ceil(PAGE_SIZE);
    if pages <= 1 {
        "/csv".into()
    } else {
        format!("/csv?page={pages}")
    }
}

/// A batch message on its own starts with a capital; after a field label it stays as is.
fn capitalised(reason: &str, label: &str) -> String {
    if !label.is_empty() {
        return reason.to_string();
    }
    let mut c = reason.chars();
    match c.next() {
        Some(first) => first.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

pub async fn view_csv_row_delete_post(
    session: CurrentSession,
    Path(index): Path<String>,
    Form(form): Form<DeleteForm>,
) -> Result<Response, AppError> {
    let index = index.parse::<usize>().ok();
    // The serial guards against deleting the wrong row when another tab changed the list.
    session.with(|s| {
        match index.and_then(|i| s.remove_row(i, &form.serial)) {
            Some(row) => {
                s.set_flash(format!("Deleted the row for serial {}.", row.serial));
                Ok(Redirect::to(&format!("/csv?page={}", index.unwrap_or(0) / PAGE_SIZE + 1))
                    .into_response())
            }
            None => Err(AppError::Conflict(
                "That row is not in the batch any more (it may have been changed in another tab). Nothing was deleted; reload the batch page to see it as it is.".into(),
            )),
        }
    })
}

pub async fn view_csv_clear_post(session: CurrentSession, Form(form): Form<ClearForm>) -> Response {
    let refused = session.with(|s| {
        if form.confirm == "yes" {
            let n = s.clear_rows();
            s.set_flash(format!("Cleared {n} row{}.", if n == 1 { "" } else { "s" }));
            return None;
        }
        let mut p = page(s, session.ctx, &session.state, 1);
        p.clear_errors.push(
            "confirm",
            "Tick the box to confirm: clearing deletes every row and its seed.",
        );
        Some(p)
    });
    match refused {
        Some(p) => refused_page(p),
        None => Redirect::to("/csv").into_response(),
    }
}

// ---------------------------------------------------------------------------------------
// Import

/// The import form as sent: a file or pasted text, and how to read it. Everything that may
/// hold a seed or a key is wiped on drop.
#[derive(Default)]
struct ImportForm {
    file: Zeroizing<Vec<u8>>,
    file_name: String,
    text: Zeroizing<Vec<u8>>,
    from: String,
    secret_encoding: String,
    psk: Zeroizing<String>,
    password: Zeroizing<String>,
    /// An OpenPGP private key file, its passphrase (or a symmetric message's), a signer's
    /// public key, and a ZIP archive's password and chosen file.
    pgp_key: Zeroizing<Vec<u8>>,
    pgp_passphrase: Zeroizing<String>,
    pgp_signer: Zeroizing<Vec<u8>>,
    zip_password: Zeroizing<String>,
    zip_entry: String,
}

async fn read_import_form(
    multipart: Result<Multipart, MultipartRejection>,
    max: usize,
) -> Result<ImportForm, AppError> {
    let mut form = ImportForm::default();
    for part in read_multipart(multipart, || AppError::ImportTooLarge(max)).await? {
        if part.name == "file"
            && let Some(n) = &part.file_name
        {
            form.file_name = n.clone();
        }
        match part.name.as_str() {
            "from" => form.from = part.text().to_string(),
            "secret_encoding" => form.secret_encoding = part.text().to_string(),
            "psk" => form.psk = part.text(),
            "password" => form.password = part.text(),
            "pgp_passphrase" => form.pgp_passphrase = part.text(),
            "zip_password" => form.zip_password = part.text(),
            "zip_entry" => form.zip_entry = crate::otp::excerpt(part.text().trim(), 255),
            "file" => form.file = part.value,
            "text" => form.text = part.value,
            "pgp_key" => form.pgp_key = part.value,
            "pgp_signer" => form.pgp_signer = part.value,
            // Unknown parts are ignored, as a form's unknown fields are.
            _ => {}
        }
    }
    Ok(form)
}

fn parse_from(from: &str) -> Result<Option<Format>, String> {
    Ok(Some(match from {
        "" | "auto" => return Ok(None),
        "csv" => Format::VendorCsv,
        "pskc" => Format::Pskc,
        "privacyidea" => Format::PrivacyIdea,
        "otpauth" => Format::OtpauthList,
        "graph-json" => Format::GraphJson,
        other => {
            return Err(format!(
                "Format: '{}' is not one of auto, csv, pskc, privacyidea, otpauth, graph-json",
                crate::otp::excerpt(other, 20)
            ));
        }
    }))
}

fn parse_encoding(e: &str) -> Result<SeedFormat, String> {
    match e {
        "" | "auto" => Ok(SeedFormat::Auto),
        "base32" => Ok(SeedFormat::Base32),
        "hex" => Ok(SeedFormat::Hex),
        other => Err(format!(
            "Secret encoding: '{}' is not one of auto, base32, hex",
            crate::otp::excerpt(other, 20)
        )),
    }
}

/// What reading the import form gave.
enum ImportRead {
    /// The file's tokens, for the preview, with the name of where they came from.
    Preview(String, formats::Import),
    /// A password-protected archive with several files: the admin picks one.
    Choose(String, Vec<ZipEntryInfo>),
}

/// The refusal of keys and passphrases sent over plain HTTP from another machine.
const CLEARTEXT_SECRETS: &str = "This server is reached over plain HTTP from another machine, so a private key or passphrase sent to it crosses the network in clear text: it was refused, and nothing was read. Use the server over HTTPS (serve --tls-self-signed, or --tls-cert and --tls-key), or open the file on the server's own machine.";

/// The form field a container failure belongs beside, and its label.
fn container_field(e: &ContainerError) -> (&'static str, &'static str) {
    match e {
        ContainerError::WrongPassphrase {
            what: "ZIP archive",
        }
        | ContainerError::SecretMissing {
            what: "ZIP archive",
        } => ("zip_password", "ZIP password"),
        ContainerError::WrongPassphrase { .. }
        | ContainerError::SecretMissing { .. }
        | ContainerError::NeedsPassphrase => ("pgp_passphrase", "OpenPGP passphrase"),
        ContainerError::NotForThisKey { .. }
        | ContainerError::NeedsPrivateKey { .. }
        | ContainerError::BadKey {
            which: "private", ..
        } => ("pgp_key", "Private key"),
        ContainerError::BadKey { .. }
        | ContainerError::NotSigned
        | ContainerError::SignedByOtherKey { .. }
        | ContainerError::BadSignature { .. }
        | ContainerError::NoSignatureToVerify { .. } => ("pgp_signer", "Signer key"),
        ContainerError::NoSuchEntry { .. } => ("zip_entry", "File in the archive"),
        _ => ("import", "The file was not read"),
    }
}

/// One line for an archive's file in the pick list.
fn describe_entry(e: &ZipEntryInfo) -> String {
    let how = match e.encryption {
        containers::ZipEncryption::None => "not encrypted".to_string(),
        containers::ZipEncryption::ZipCrypto => "ZipCrypto, weak".to_string(),
        containers::ZipEncryption::Aes { bits } => format!("AES-{bits}"),
    };
    format!("{} ({} bytes, {how})", crate::otp::clip(&e.name), e.size)
}

/// Opens an encrypted file in memory with the form's keys: `Ok(None)` for a plain file, which
/// is read as it is; `Err` with the form's errors, never a secret in them.
fn unwrap_container(
    form: &ImportForm,
    bytes: &[u8],
    transport: Transport,
) -> Result<Option<Unwrapped>, Errors> {
    let mut errors = Errors::default();
    let secrets_given = !form.pgp_key.is_empty()
        || !form.pgp_passphrase.is_empty()
        || !form.zip_password.is_empty();
    if secrets_given && !transport.secrets_allowed() {
        errors.push("import", CLEARTEXT_SECRETS);
        return Err(errors);
    }
    let container = containers::detect(bytes);
    if container == Container::Plain && form.pgp_signer.is_empty() {
        return Ok(None);
    }
    let is_pgp = matches!(container, Container::OpenPgp { .. });
    let key = match (is_pgp, form.pgp_key.is_empty()) {
        (true, false) => PgpSecretKey::parse(&form.pgp_key)
            .map(Some)
            .map_err(|e| errors.push("pgp_key", format!("Private key: {e}.")))
            .unwrap_or(None),
        _ => None,
    };
    let signer = match form.pgp_signer.is_empty() {
        false => PgpPublicKey::parse(&form.pgp_signer)
            .map(Some)
            .map_err(|e| errors.push("pgp_signer", format!("Signer key: {e}.")))
            .unwrap_or(None),
        true => None,
    };
    if !errors.is_empty() {
        return Err(errors);
    }
    let pgp_passphrase = Passphrase::new(form.pgp_passphrase.as_str());
    let zip_password = Passphrase::new(form.zip_password.as_str());
    let with = OpenWith {
        pgp_key: key.as_ref(),
        pgp_passphrase: (!pgp_passphrase.is_empty()).then_some(&pgp_passphrase),
        signer: signer.as_ref(),
        zip_password: (!zip_password.is_empty()).then_some(&zip_password),
        zip_entry: (!form.zip_entry.is_empty()).then_some(form.zip_entry.as_str()),
    };
    containers::open_any(bytes, with).map(Some).map_err(|e| {
        let (field, label) = container_field(&e);
        let mut message = format!("{label}: {e}");
        if e.is_wrong_secret() {
            message.push_str(". Nothing was read; the batch is unchanged");
        }
        message.push('.');
        errors.push(field, message);
        errors
    })
}

/// Reads the form's file (or text) into a preview, or names what is wrong with the form.
/// Runs without the session: parsing a large file must not hold the session's lock.
fn read_import(form: &ImportForm, now: u64, transport: Transport) -> Result<ImportRead, Errors> {
    let mut errors = Errors::default();
    let format = parse_from(&form.from).map_err(|m| errors.push("from", m));
    let encoding =
        parse_encoding(&form.secret_encoding).map_err(|m| errors.push("secret_encoding", m));
    let psk = match form.psk.trim() {
        "" => None,
        hex => {
            let compact: String = hex.chars().filter(|c| !c.is_whitespace()).collect();
            match data_encoding::HEXLOWER_PERMISSIVE.decode(compact.as_bytes()) {
                Ok(k) if matches!(k.len(), 16 | 24 | 32) => Some(Zeroizing::new(k)),
                Ok(k) => {
                    errors.push(
                        "psk",
                        format!(
                            "Pre-shared key: is {} bytes; an AES key is 16, 24 or 32 bytes (32, 48 or 64 hex digits)",
                            k.len()
                        ),
                    );
                    None
                }
                Err(_) => {
                    errors.push(
                        "psk",
                        "Pre-shared key: write it in hex (0-9, a-f): 32, 48 or 64 digits",
                    );
                    None
                }
            }
        }
    };
    let (bytes, source): (&[u8], String) = match (form.file.is_empty(), form.text.is_empty()) {
        (false, true) => (
            &form.file,
            if form.file_name.is_empty() {
                "the uploaded file".into()
            } else {
                form.file_name.clone()
            },
        ),
        (true, false) => (&form.text, "pasted text".into()),
        (false, false) => {
            errors.push(
                "import",
                "Give either a file or pasted text, not both: clear one of them.",
            );
            (&[], String::new())
        }
        (true, true) => {
            errors.push(
                "import",
                "Choose a file to upload, or paste the file's text.",
            );
            (&[], String::new())
        }
    };
    let (Ok(format), Ok(encoding), true) = (format, encoding, errors.is_empty()) else {
        return Err(errors);
    };
    let options = ReadOptions {
        secret_encoding: encoding,
        keys: Keys {
            psk,
            password: (!form.password.is_empty()).then(|| form.password.clone()),
        },
        added_at: now,
    };
    let (plaintext, container_notes) = match unwrap_container(form, bytes, transport)? {
        None => (None, Vec::new()),
        Some(Unwrapped::Choose(list)) => return Ok(ImportRead::Choose(source, list)),
        Some(Unwrapped::File {
            plaintext,
            notes,
            warnings,
            ..
        }) => {
            let warned = warnings.into_iter().map(|w| format!("Warning: {w}"));
            (Some(plaintext), warned.chain(notes).collect())
        }
    };
    let bytes = plaintext.as_deref().map_or(bytes, |p| p.as_slice());
    formats::read(bytes, format, &options)
        .map(|mut import| {
            import.notes.splice(0..0, container_notes);
            ImportRead::Preview(source, import)
        })
        .map_err(|e| {
            let mut errors = Errors::default();
            errors.push("import", format!("The file was not read: {}.", e.0));
            errors
        })
}

pub async fn view_csv_import_post(
    session: CurrentSession,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Response, AppError> {
    let form = read_import_form(multipart, session.state.config.max_import_bytes).await?;
    import_form(&session, form).await
}

/// Reads an import form off the session's lock, then keeps its preview (or its archive's
/// list of files), or shows the form again with its errors and its non-secret choices.
async fn import_form(session: &CurrentSession, form: ImportForm) -> Result<Response, AppError> {
    let now = session.now();
    let transport = session.ctx.transport;
    let (result, form) = tokio::task::spawn_blocking(move || {
        let result = read_import(&form, now, transport);
        (result, form)
    })
    .await
    .map_err(|e| AppError::Internal(Box::new(e)))?;
    let form_view = ImportFormView {
        from: form.from.clone(),
        secret_encoding: form.secret_encoding.clone(),
        zip_entry: form.zip_entry.clone(),
    };
    // Read, but the server has no room to keep it waiting: said beside the file field.
    let not_kept = |c: crate::tokens::Conflict| {
        let mut errors = Errors::default();
        errors.push(
            "import",
            format!("The file was read but cannot wait here: {}.", c.reason),
        );
        errors
    };
    Ok(session.with(|s| {
        let kept = match result {
            Ok(ImportRead::Preview(source, import)) => {
                let (accepted, mut refused) = s.batch().preview(import.candidates);
                refused.extend(import.refused);
                refused.sort_by_key(|r| r.line);
                s.set_pending_import(PendingImport {
                    source,
                    format: import.format,
                    secret_encoding: import.secret_encoding,
                    candidates: accepted,
                    refused,
                    notes: import.notes,
                })
                .map(|()| "/csv#import-preview")
                .map_err(not_kept)
            }
            Ok(ImportRead::Choose(source, entries)) => s
                .set_pending_archive(PendingArchive {
                    source,
                    entries,
                    archive: form.file,
                    password: Passphrase::new(form.zip_password.as_str()),
                    from: form.from,
                    secret_encoding: form.secret_encoding,
                    psk: form.psk,
                    pskc_password: form.password,
                })
                .map(|()| "/csv#import-choose")
                .map_err(not_kept),
            Err(errors) => Err(errors),
        };
        match kept {
            Ok(to) => Redirect::to(to).into_response(),
            Err(errors) => {
                let mut p = page(s, session.ctx, &session.state, 1);
                p.import_errors = errors;
                p.import_form = form_view;
                refused_page(p)
            }
        }
    }))
}

/// The file picked from an archive waiting in the session, read with the archive's password
/// and the import form's other choices.
pub async fn view_csv_import_entry_post(
    session: CurrentSession,
    Form(pick): Form<EntryForm>,
) -> Result<Response, AppError> {
    let form = session.with(|s| {
        s.pending_archive().map(|a| ImportForm {
            file: a.archive.clone(),
            file_name: a.source.clone(),
            from: a.from.clone(),
            secret_encoding: a.secret_encoding.clone(),
            psk: a.psk.clone(),
            password: a.pskc_password.clone(),
            zip_password: Zeroizing::new(a.password.expose().to_string()),
            zip_entry: pick.entry.clone(),
            ..ImportForm::default()
        })
    });
    let Some(form) = form else {
        return Err(AppError::Conflict(
            "There is no archive waiting for a file to be picked (it may have been read or discarded in another tab). Import it again from the batch page.".into(),
        ));
    };
    // An empty pick reads the archive again, which lists its files again.
    import_form(&session, form).await
}

pub async fn view_csv_import_add_post(
    session: CurrentSession,
    Form(_): Form<ButtonForm>,
) -> Result<Response, AppError> {
    session.with(|s| match s.commit_pending_import() {
        None => Err(AppError::Conflict(
            "There is no file waiting to be added (it may have been added or discarded in another tab). Import it again from the batch page.".into(),
        )),
        Some(Err(c)) => Err(AppError::Conflict(format!(
            "Nothing was added: {}. The preview is kept.",
            c.reason
        ))),
        Some(Ok(done)) => {
            let mut flash = format!(
                "Added {} token{} to the batch.",
                done.added,
                if done.added == 1 { "" } else { "s" }
            );
            if !done.refused.is_empty() {
                flash.push_str(&format!(
                    " {} could not join after all (the batch changed since the preview): ",
                    done.refused.len()
                ));
                let list: Vec<String> = done.refused.iter().take(10).map(|r| r.to_string()).collect();
                flash.push_str(&list.join("; "));
                flash.push('.');
            }
            s.set_flash(flash);
            Ok(Redirect::to("/csv").into_response())
        }
    })
}

pub async fn view_csv_import_discard_post(
    session: CurrentSession,
    Form(_): Form<ButtonForm>,
) -> Response {
    session.with(|s| {
        if s.discard_pending_import() {
            s.set_flash("Discarded the imported file; the batch is unchanged.".into());
        }
    });
    Redirect::to("/csv").into_response()
}

// ---------------------------------------------------------------------------------------
// Users

/// The user list as sent: pasted (a form, or the `users` part of a multipart form) or
/// uploaded (its `file` part). Refused when both or neither are given, or when the file is
/// not UTF-8 text; the pasted text is kept for the page either way.
async fn read_users_form(
    request: Request,
    max: usize,
) -> Result<Result<String, (String, Errors)>, AppError> {
    if is_form(request.headers()) {
        let Form(form) = Form::<UsersForm>::from_request(request, &()).await?;
        return Ok(Ok(form.users));
    }
    let multipart = Multipart::from_request(request, &()).await;
    let (mut pasted, mut file) = (String::new(), Vec::new());
    for part in read_multipart(multipart, || AppError::ImportTooLarge(max)).await? {
        match part.name.as_str() {
            "users" => pasted = part.text().to_string(),
            "file" => file = part.value.to_vec(),
            // Unknown parts are ignored, as a form's unknown fields are.
            _ => {}
        }
    }
    let mut errors = Errors::default();
    let users = match (pasted.trim().is_empty(), file.is_empty()) {
        (true, false) => match String::from_utf8(file) {
            Ok(text) => text,
            Err(_) => {
                errors.push(
                    "users",
                    "User list file: is not UTF-8 text; save it as UTF-8 text (or \"CSV UTF-8\") and upload it again.",
                );
                String::new()
            }
        },
        (false, true) => pasted.clone(),
        (false, false) => {
            errors.push(
                "users",
                "User list: give either a file or a pasted list, not both: clear one of them.",
            );
            String::new()
        }
        (true, true) => pasted.clone(),
    };
    Ok(if errors.is_empty() {
        Ok(users)
    } else {
        Err((pasted, errors))
    })
}

/// A user list pasted or uploaded: kept as the pending list and previewed. Takes the import
/// route's body limit (a list of 10,000 users is larger than a page's 16 KB).
pub async fn view_csv_users_post(
    session: CurrentSession,
    request: Request,
) -> Result<Response, AppError> {
    let read = read_users_form(request, session.state.config.max_import_bytes).await?;
    Ok(session.with(|s| {
        let users = match read {
            Ok(users) if !users.trim().is_empty() => users,
            Ok(blank) => {
                let mut p = page(s, session.ctx, &session.state, 1);
                p.assign_errors.push(
                    "users",
                    "User list: is empty; paste or upload one UPN per line, or serial,upn pairs.",
                );
                p.assign_text = Some(blank);
                return refused_page(p);
            }
            Err((pasted, errors)) => {
                let mut p = page(s, session.ctx, &session.state, 1);
                p.assign_errors = errors;
                p.assign_text = Some(pasted);
                return refused_page(p);
            }
        };
        match s.set_pending_users(users) {
            Ok(()) => Redirect::to("/csv#assign-preview").into_response(),
            Err((c, users)) => {
                let mut p = page(s, session.ctx, &session.state, 1);
                p.assign_errors.push(
                    "users",
                    format!("User list: cannot wait here to be applied: {}.", c.reason),
                );
                p.assign_text = Some(users);
                refused_page(p)
            }
        }
    }))
}

pub async fn view_csv_users_apply_post(
    session: CurrentSession,
    Form(_): Form<ButtonForm>,
) -> Result<Response, AppError> {
    session.with(|s| {
        let Some(report) = s.apply_pending_users() else {
            return Err(AppError::Conflict(
                "There is no user list waiting to be applied (it may have been applied in another tab). Paste it again on the batch page.".into(),
            ));
        };
        let n = report.assigned.len();
        let mut flash = format!("Assigned {n} user{}.", if n == 1 { "" } else { "s" });
        if !report.refused.is_empty() {
            flash.push_str(&format!(
                " {} line{} refused (shown in the preview).",
                report.refused.len(),
                if report.refused.len() == 1 { " was" } else { "s were" }
            ));
        }
        for w in report.warnings {
            flash.push_str(&format!(" Warning: {w}."));
        }
        s.set_flash(flash);
        Ok(Redirect::to("/csv").into_response())
    })
}

pub async fn view_csv_users_discard_post(
    session: CurrentSession,
    Form(_): Form<ButtonForm>,
) -> Response {
    session.with(|s| s.discard_pending_users());
    Redirect::to("/csv").into_response()
}

pub async fn view_csv_upn_post(session: CurrentSession, Form(form): Form<UpnForm>) -> Response {
    let at = form.page.parse::<usize>().unwrap_or(1);
    session.with(|s| match s.set_upn(form.serial.trim(), &form.upn) {
        Ok(warning) => {
            let upn = form.upn.trim();
            let mut flash = if upn.is_empty() {
                format!("Serial {} has no user now.", form.serial.trim())
            } else {
                format!("Serial {} now belongs to {upn}.", form.serial.trim())
            };
            if let Some(w) = warning {
                flash.push_str(&format!(" Warning: {w}."));
            }
            s.set_flash(flash);
            Redirect::to(&format!("/csv?page={at}")).into_response()
        }
        Err(c) => {
            let mut p = page(s, session.ctx, &session.state, at);
            let mut found = false;
            for row in p.rows.iter_mut() {
                if row.serial == form.serial.trim() {
                    row.upn = form.upn.clone();
                    row.upn_error = Some(format!("User: {}", c.reason));
                    row.editing = true;
                    found = true;
                }
            }
            if !found {
                p.move_errors
                    .push("from", format!("Serial number: {}", c.reason));
            }
            refused_page(p)
        }
    })
}

pub async fn view_csv_move_post(session: CurrentSession, Form(form): Form<MoveForm>) -> Response {
    session.with(|s| match s.move_upn(form.from.trim(), form.to.trim()) {
        Ok((upn, warning)) => {
            let mut flash = format!(
                "Moved {upn} from serial {} to serial {}; {} has no user now.",
                form.from.trim(),
                form.to.trim(),
                form.from.trim()
            );
            if let Some(w) = warning {
                flash.push_str(&format!(" Warning: {w}."));
            }
            s.set_flash(flash);
            Redirect::to("/csv").into_response()
        }
        Err(c) => {
            let mut p = page(s, session.ctx, &session.state, 1);
            let field = if c.reason.contains(form.to.trim()) && !form.to.trim().is_empty() {
                "to"
            } else {
                "from"
            };
            p.move_errors
                .push(field, format!("Serial number: {}", c.reason));
            p.move_form = (form.from.clone(), form.to.clone());
            refused_page(p)
        }
    })
}

// ---------------------------------------------------------------------------------------
// Exports

fn attachment(content_type: &'static str, filename: &'static str, body: &[u8]) -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (
                header::CONTENT_DISPOSITION,
                HeaderValue::from_static(filename),
            ),
        ],
        body.to_vec(),
    )
        .into_response()
}

/// Builds an export from the batch as it is; a file with nothing in it is refused with
/// `empty`. Files with seeds mark the batch saved.
fn export(
    session: &CurrentSession,
    empty: &'static str,
    seeds: bool,
    write: impl FnOnce(&[TokenRecord]) -> Result<Export, crate::tokens::TokensError>,
) -> Result<Export, AppError> {
    session.with(|s| {
        let file = write(s.batch().records())?;
        if file.included == 0 {
            return Err(AppError::Conflict(empty.into()));
        }
        if seeds {
            s.mark_rows_downloaded();
        }
        Ok(file)
    })
}

pub async fn view_csv_download_get(session: CurrentSession) -> Result<Response, AppError> {
    let file = export(
        &session,
        "There are no tokens for Entra's CSV yet: it takes assigned SHA-1 tokens with a manufacturer and model. Add or assign them on the batch page first (the page lists why each token is left out).",
        true,
        formats::entra_csv::write,
    )?;
    Ok(attachment(
        "text/csv; charset=utf-8",
        "attachment; filename=\"entra-oath-tokens.csv\"",
        &file.bytes,
    ))
}

pub async fn view_csv_graph_get(session: CurrentSession) -> Result<Response, AppError> {
    let file = export(
        &session,
        "There are no tokens for the Graph JSON yet. Add or import tokens on the batch page first.",
        true,
        formats::graph_json::write,
    )?;
    Ok(attachment(
        "application/json",
        "attachment; filename=\"hardware-oath-devices.json\"",
        &file.bytes,
    ))
}

const EMPTY_BATCH: &str = "The batch is empty. Add or import tokens on the batch page first.";

pub async fn view_csv_export_get(
    session: CurrentSession,
    Path(kind): Path<String>,
) -> Result<Response, AppError> {
    export_kind(&session, &kind)
}

/// The plain PSKC file (its path also takes the password form's POST).
pub async fn view_csv_export_get_pskc(session: CurrentSession) -> Result<Response, AppError> {
    export_kind(&session, "pskc")
}

fn export_kind(session: &CurrentSession, kind: &str) -> Result<Response, AppError> {
    match kind {
        "pskc" => {
            let file = export(session, EMPTY_BATCH, true, |r| pskc::write(r, None))?;
            Ok(attachment(
                "application/pskc+xml",
                "attachment; filename=\"tokens.pskc.xml\"",
                &file.bytes,
            ))
        }
        "privacyidea" => {
            let file = export(session, EMPTY_BATCH, true, formats::privacyidea::write)?;
            Ok(attachment(
                "text/csv; charset=utf-8",
                "attachment; filename=\"privacyidea-tokens.csv\"",
                &file.bytes,
            ))
        }
        "otpauth" => {
            let file = export(session, EMPTY_BATCH, true, formats::otpauth_list::write)?;
            Ok(attachment(
                "text/plain; charset=utf-8",
                "attachment; filename=\"otpauth-uris.txt\"",
                &file.bytes,
            ))
        }
        "inventory" => {
            // No seeds in it: it does not save the batch.
            let file = export(session, EMPTY_BATCH, false, formats::inventory::write)?;
            Ok(attachment(
                "text/csv; charset=utf-8",
                "attachment; filename=\"token-inventory.csv\"",
                &file.bytes,
            ))
        }
        _ => Err(AppError::NotFound),
    }
}

/// The PSKC file encrypted with a password (sent in the body, never in the URL).
pub async fn view_csv_pskc_post(
    session: CurrentSession,
    Form(form): Form<PskcForm>,
) -> Result<Response, AppError> {
    if form.password.as_str().chars().count() < 8 {
        return Ok(session.with(|s| {
            let mut p = page(s, session.ctx, &session.state, 1);
            p.pskc_errors.push(
                "password",
                "Password: write at least 8 characters; the file's seeds are only as safe as it.",
            );
            refused_page(p)
        }));
    }
    // PBKDF2 takes a while: copy the records out so the session's lock is not held for it
    // (the copies' seeds are wiped as they drop).
    let records: Vec<TokenRecord> = session.with(|s| s.batch().records().to_vec());
    if records.is_empty() {
        return Err(AppError::Conflict(EMPTY_BATCH.into()));
    }
    let file = tokio::task::spawn_blocking(move || {
        let password = pskc::PskcPassword {
            password: form.password.as_str(),
            iterations: pskc::DEFAULT_PBKDF2_ITERATIONS,
        };
        pskc::write(&records, Some(&password))
    })
    .await
    .map_err(|e| AppError::Internal(Box::new(e)))??;
    session.with(|s| s.mark_rows_downloaded());
    Ok(attachment(
        "application/pskc+xml",
        "attachment; filename=\"tokens-encrypted.pskc.xml\"",
        &file.bytes,
    ))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    const SEED: &str = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";

    proptest! {
        /// Whatever the import form holds, reading it never panics, and no message (a
        /// refused line, a note, a field error) repeats the seed in the file.
        #[test]
        fn import_forms_never_panic_or_echo_a_seed(
            text in any::<String>(),
            from in prop_oneof![Just("auto".to_string()), Just("csv".to_string()), any::<String>()],
            encoding in prop_oneof![Just("hex".to_string()), any::<String>()],
            psk in any::<String>(),
            page in any::<String>(),
        ) {
            let _ = page_number(Some(&page));
            let form = ImportForm {
                text: Zeroizing::new(format!("serial,secret\n1,{SEED}\n2,{SEED}x{text}\n{text}").into_bytes()),
                from,
                secret_encoding: encoding,
                psk: Zeroizing::new(psk),
                ..ImportForm::default()
            };
            let local = Transport { tls: false, local: true };
            match read_import(&form, 0, local) {
                Ok(ImportRead::Choose(..)) => prop_assert!(false, "plain text is no archive"),
                Ok(ImportRead::Preview(_, import)) => {
                    for r in &import.refused {
                        prop_assert!(!r.reason.contains(SEED), "{}", r.reason);
                    }
                    for n in &import.notes {
                        prop_assert!(!n.contains(SEED), "{}", n);
                    }
                }
                Err(errors) => {
                    for name in ["import", "from", "secret_encoding", "psk"] {
                        if let Some(m) = errors.get(name) {
                            prop_assert!(!m.contains(SEED), "{}", m);
                        }
                    }
                }
            }
        }
    }

    proptest! {
        /// Whatever an encrypted import holds (a broken message or archive, any key file,
        /// any passphrase), reading it never panics, and no message repeats the passphrase.
        #[test]
        fn encrypted_import_forms_never_panic_or_echo_a_secret(
            body in any::<String>(),
            head in prop_oneof![Just("-----BEGIN PGP MESSAGE-----\n\n"), Just("PK\u{3}\u{4}")],
            key in any::<String>(),
            signer in any::<String>(),
            word in "\\PC{8,30}",
        ) {
            let secret = format!("Pass{word}");
            let form = ImportForm {
                text: Zeroizing::new(format!("{head}{body}").into_bytes()),
                pgp_key: Zeroizing::new(key.into_bytes()),
                pgp_signer: Zeroizing::new(signer.into_bytes()),
                pgp_passphrase: Zeroizing::new(secret.clone()),
                zip_password: Zeroizing::new(secret.clone()),
                ..ImportForm::default()
            };
            let local = Transport { tls: true, local: false };
            if let Err(errors) = read_import(&form, 0, local) {
                for name in ["import", "pgp_key", "pgp_passphrase", "pgp_signer", "zip_password"] {
                    if let Some(m) = errors.get(name) {
                        prop_assert!(!m.contains(&secret), "{}", m);
                    }
                }
            }
        }
    }

    #[test]
    fn page_numbers_are_read_leniently() {
        assert_eq!(page_number(None), 1);
        assert_eq!(page_number(Some("page=3")), 3);
        assert_eq!(page_number(Some("x=1&page=last")), usize::MAX);
        assert_eq!(page_number(Some("page=-1")), 1);
        assert_eq!(page_number(Some("page=99999999999999999999999")), 1);
    }
}
