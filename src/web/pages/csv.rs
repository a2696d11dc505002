//! The CSV page: the session's token rows, the form that appends one (checked against
//! Entra's rules), delete and clear, and the two downloads (Entra CSV and Graph JSON).
//!
//! A refused row never disturbs the rows already entered, and downloads are sent only to
//! the session that owns them, never cached.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use zeroize::Zeroizing;

use crate::otp::SecretText;
use crate::tokens::{EntraCsv, GraphJson, RowInput, TokenSource, validate_row};
use crate::web::AppError;
use crate::web::extract::CurrentSession;
use crate::web::form::{Errors, Form};
use crate::web::session::{Session, SessionCtx};
use crate::web::views::{Layout, layout};

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

pub struct RowView {
    index: usize,
    number: usize,
    upn: String,
    serial: String,
    secret_hint: String,
    bits: usize,
    interval: u32,
    manufacturer: String,
    model: String,
    graph_only: bool,
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

#[derive(Template, WebTemplate)]
#[template(path = "csv.html")]
pub struct CsvPage {
    layout: Layout,
    rows: Vec<RowView>,
    csv_rows: usize,
    graph_only_rows: usize,
    max_rows: usize,
    form: FormView,
    errors: Errors,
    clear_errors: Errors,
}

fn page(session: &mut Session, ctx: SessionCtx, max_rows: usize) -> CsvPage {
    let rows: Vec<RowView> = session
        .rows()
        .iter()
        .enumerate()
        .map(|(i, r)| RowView {
            index: i,
            number: i + 1,
            upn: r.upn.clone(),
            serial: r.serial.clone(),
            // Enough to tell rows apart on screen; the whole seed is on the seed page.
            secret_hint: format!(
                "{}…",
                r.secret.to_base32().chars().take(4).collect::<String>()
            ),
            bits: r.secret.bits(),
            interval: r.interval,
            manufacturer: r.manufacturer.clone(),
            model: r.model.clone(),
            graph_only: r.graph_only,
        })
        .collect();
    let graph_only_rows = rows.iter().filter(|r| r.graph_only).count();
    // Convenient defaults: the current token's interval, the last row's make and model,
    // and the serial a burn just read.
    let last = session.rows().last();
    let period = session.current().params().period();
    // A token just burned and not yet in the list: its maker and model are known.
    let burned = session
        .last_burn()
        .filter(|b| session.pending_serial() == Some(b.serial.as_str()));
    let form = FormView {
        upn: String::new(),
        serial: session.pending_serial().unwrap_or_default().to_string(),
        secret: Zeroizing::new(String::new()),
        interval: if period == 60 { "60" } else { "30" }.to_string(),
        manufacturer: burned
            .map(|_| "Token2".to_string())
            .or_else(|| last.map(|r| r.manufacturer.clone()))
            .unwrap_or_default(),
        model: burned
            .and_then(|b| b.model.clone())
            .or_else(|| last.map(|r| r.model.clone()))
            .unwrap_or_default(),
        graph_only: false,
    };
    CsvPage {
        csv_rows: rows.len() - graph_only_rows,
        graph_only_rows,
        rows,
        max_rows,
        form,
        errors: Errors::default(),
        clear_errors: Errors::default(),
        layout: layout("csv", session, ctx),
    }
}

pub async fn view_csv_get(session: CurrentSession) -> Response {
    let max_rows = session.state.sessions.config().max_rows;
    session
        .with(|s| page(s, session.ctx, max_rows))
        .into_response()
}

pub async fn view_csv_rows_post(session: CurrentSession, Form(form): Form<RowForm>) -> Response {
    let max_rows = session.state.sessions.config().max_rows;
    let refused = session.with(|s| {
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
        if s.rows().len() >= max_rows {
            errors.push(
                "form",
                format!("The list already holds {max_rows} rows, the most one session may; download it and clear it to start another."),
            );
        } else {
            let source = TokenSource {
                secret: s.current().secret(),
                params: s.current().params(),
            };
            match validate_row(&input, Some(source), s.rows()) {
                Ok(row) => {
                    let flash = format!("Added {} (serial {}) as row", row.upn, row.serial);
                    let number = s.add_row(row);
                    s.set_flash(format!("{flash} {number}."));
                    return None;
                }
                Err(field_errors) => {
                    for e in field_errors {
                        errors.push(e.field.name(), e.message);
                    }
                }
            }
        }
        let mut p = page(s, session.ctx, max_rows);
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
        Some(p)
    });
    match refused {
        Some(p) => (StatusCode::UNPROCESSABLE_ENTITY, p).into_response(),
        None => Redirect::to("/csv").into_response(),
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
                Ok(Redirect::to("/csv").into_response())
            }
            None => Err(AppError::Conflict(
                "That row is not in the list any more (it may have been changed in another tab). Nothing was deleted; reload the CSV page to see the list as it is.".into(),
            )),
        }
    })
}

pub async fn view_csv_clear_post(session: CurrentSession, Form(form): Form<ClearForm>) -> Response {
    let max_rows = session.state.sessions.config().max_rows;
    let refused = session.with(|s| {
        if form.confirm == "yes" {
            let n = s.clear_rows();
            s.set_flash(format!("Cleared {n} row{}.", if n == 1 { "" } else { "s" }));
            return None;
        }
        let mut p = page(s, session.ctx, max_rows);
        p.clear_errors.push(
            "confirm",
            "Tick the box to confirm: clearing deletes every row and its seed.",
        );
        Some(p)
    });
    match refused {
        Some(p) => (StatusCode::UNPROCESSABLE_ENTITY, p).into_response(),
        None => Redirect::to("/csv").into_response(),
    }
}

fn attachment(content_type: &'static str, filename: &'static str, body: Vec<u8>) -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (
                header::CONTENT_DISPOSITION,
                HeaderValue::from_static(filename),
            ),
        ],
        body,
    )
        .into_response()
}

pub async fn view_csv_download_get(session: CurrentSession) -> Result<Response, AppError> {
    let bytes = session.with(|s| {
        if !s.rows().iter().any(|r| r.in_csv()) {
            return Err(AppError::Conflict(
                "There are no rows for Entra's CSV yet. Add rows on the CSV page first (rows marked Graph JSON only are in the JSON export).".into(),
            ));
        }
        let bytes = EntraCsv::write(s.rows())?;
        s.mark_rows_downloaded();
        Ok(bytes)
    })?;
    Ok(attachment(
        "text/csv; charset=utf-8",
        "attachment; filename=\"entra-oath-tokens.csv\"",
        bytes.to_vec(),
    ))
}

pub async fn view_csv_graph_get(session: CurrentSession) -> Result<Response, AppError> {
    let json = session.with(|s| {
        if s.rows().is_empty() {
            return Err(AppError::Conflict(
                "There are no rows yet. Add rows on the CSV page first.".into(),
            ));
        }
        let json = GraphJson::write(s.rows())?;
        s.mark_rows_downloaded();
        Ok(json)
    })?;
    Ok(attachment(
        "application/json",
        "attachment; filename=\"hardware-oath-devices.json\"",
        json.as_bytes().to_vec(),
    ))
}
