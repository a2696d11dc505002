//! The batch page's "Bulk burn" panel: start a run (settings and a queue of users), burn
//! token after token through the NFC agent (one step per request: the page script repeats
//! them; without it, one button press per token), decide about a token tapped twice, stop,
//! resume, end; and "Set the token's clock" (read its offset, set it, or on models that
//! erase their seed on a config write, burn a new seed that updates its row).
//!
//! A row is written only after the agent reports the whole burn done, with exactly the seed
//! sent, and a serial never gets a second row. Each step waits for a token for less than
//! the request timeout that bounds every route, and runs in a task of its own: a step cut
//! off by that timeout (or a closed tab) still records what the agent did. Seeds come from
//! the OS CSPRNG, travel only in the body sent to the agent, and are never shown or logged.

use askama::Template;
use askama_web::WebTemplate;
use axum::Json;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use crate::agent::api::{BurnRequest, BurnResponse, CompareCodes, ErrorKind, TimeSyncRequest};
use crate::agent::client::{AgentClient, AgentClientError};
use crate::nfc::DisplayTimeout;
use crate::otp::{Algorithm, Params, Secret, clip};
use crate::tokens::{Source, TokenRecord, check_interval, parse_user_list};
use crate::web::AppError;
use crate::web::bulk_run::{BulkRun, BulkSettings, ClockReading, Outcome, StepPlan, TapResult};
use crate::web::extract::CurrentSession;
use crate::web::form::{Errors, Form, choice};
use crate::web::session::Session;
use crate::web::views::bulk_panel::{BulkPanel, StartFormView, panel, step_wait, unassigned_users};
use crate::web::views::{Layout, layout};

/// Seed sizes a run may burn, in bytes (Token2 tokens take 1 to 63; Entra and most apps
/// expect 20, some 32).
const SEED_SIZES: [usize; 3] = [10, 20, 32];

/// The start form.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct StartForm {
    algorithm: String,
    period: String,
    display_timeout: String,
    seed_bytes: String,
    manufacturer: String,
    model: String,
    count: String,
    users_from: String,
    users: String,
}

/// Forms that are only a button.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ButtonForm {}

/// Stop, resume or end a run.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct RunForm {
    action: String,
}

/// Re-burn or skip the token tapped twice.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct SameForm {
    action: String,
}

/// Setting a clock, or re-burning for it: the seed's algorithm and period when the token
/// has no row to say them.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ClockForm {
    /// `read`, `set` or `reburn`.
    action: String,
    algorithm: String,
    period: String,
}

/// The panel on a page of its own: the answer to a refused start form.
#[derive(Template, WebTemplate)]
#[template(path = "bulk.html")]
pub struct BulkPage {
    layout: Layout,
    bulk: BulkPanel,
}

/// The panel alone, for the page script.
#[derive(Template)]
#[template(path = "partials/bulk.html")]
struct BulkPartial {
    bulk: BulkPanel,
}

fn wants_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/json"))
}

/// The answer to a panel action: for the page script, the panel as it is now and whether
/// to go on with the next step; for a form, back to the panel.
fn answer(session: &CurrentSession, headers: &HeaderMap) -> Result<Response, AppError> {
    if !wants_json(headers) {
        return Ok(Redirect::to("/csv#bulk").into_response());
    }
    let bulk = session.with(|s| panel(s, &session.state));
    let state = bulk.run.as_ref().map_or("idle", |r| r.state);
    let go_on = bulk.run.as_ref().is_some_and(|r| r.state == "running");
    let html = BulkPartial { bulk }
        .render()
        .map_err(|e| AppError::Internal(format!("bulk panel: {e}").into()))?;
    Ok(Json(serde_json::json!({"state": state, "continue": go_on, "panel": html})).into_response())
}

fn parse_algorithm(s: &str) -> Option<Algorithm> {
    match s {
        "SHA1" => Some(Algorithm::Sha1),
        "SHA256" => Some(Algorithm::Sha256),
        _ => None,
    }
}

/// Reads the start form: the settings, the users and the count, or every field's error.
fn read_start(
    form: &StartForm,
    session: &Session,
) -> Result<(BulkSettings, Vec<String>, Option<usize>), Errors> {
    let mut errors = Errors::default();
    let algorithm = parse_algorithm(&form.algorithm);
    if algorithm.is_none() {
        errors.push(
            "algorithm",
            "Algorithm: choose SHA-1 or SHA-256 (what these tokens can do).",
        );
    }
    let period = check_interval(&form.period).ok();
    if period.is_none() {
        errors.push("period", "Period: choose 30 or 60 seconds.");
    }
    let display_timeout = form.display_timeout.parse::<DisplayTimeout>().ok();
    if display_timeout.is_none() {
        errors.push(
            "display_timeout",
            format!("Display timeout: choose {}.", DisplayTimeout::CHOICES),
        );
    }
    let seed_bytes = choice(&form.seed_bytes, &SEED_SIZES);
    if seed_bytes.is_none() {
        errors.push(
            "seed_bytes",
            "Seed size: choose 80, 160 or 256 bits (10, 20 or 32 bytes).",
        );
    }
    let manufacturer = form.manufacturer.trim().to_string();
    if manufacturer.is_empty() {
        errors.push(
            "manufacturer",
            "Manufacturer: Entra needs one (Token2 for these tokens).",
        );
    } else if let Err(m) = crate::tokens::check_text(&manufacturer) {
        errors.push("manufacturer", format!("Manufacturer: {m}."));
    }
    let model = form.model.trim().to_string();
    if let (false, Err(m)) = (model.is_empty(), crate::tokens::check_text(&model)) {
        errors.push("model", format!("Model: {m}."));
    }
    let count = match form.count.trim() {
        "" => None,
        c => match c.parse::<usize>() {
            Ok(n) if (1..=session.batch().limit().max).contains(&n) => Some(n),
            _ => {
                errors.push(
                    "count",
                    format!(
                        "Tokens: a whole number from 1 to {} (the batch's limit), or empty to go on until you stop.",
                        session.batch().limit().max
                    ),
                );
                None
            }
        },
    };
    let users = match form.users_from.as_str() {
        "none" | "" => Vec::new(),
        "assign" => {
            let users = unassigned_users(session);
            if users.is_empty() {
                errors.push(
                    "users_from",
                    "Users: the Assign users form has no pending list with users who have no token yet; paste one there (Preview) or below.",
                );
            }
            users
        }
        "pasted" => match parse_user_list(&form.users) {
            Ok(users) if users.is_empty() => {
                errors.push(
                    "users",
                    "Users: the list is empty; paste one UPN per line, or choose no users.",
                );
                users
            }
            Ok(users) => users,
            Err(bad) => {
                let shown: Vec<String> = bad.iter().take(5).map(|e| e.to_string()).collect();
                let more = bad.len().saturating_sub(5);
                errors.push(
                    "users",
                    format!(
                        "Users: {}{}. Nothing was started; fix the list and start again.",
                        shown.join("; "),
                        if more > 0 {
                            format!("; and {more} more")
                        } else {
                            String::new()
                        }
                    ),
                );
                Vec::new()
            }
        },
        _ => {
            errors.push(
                "users_from",
                "Users: choose none, the pasted list or the Assign users list.",
            );
            Vec::new()
        }
    };
    match (
        algorithm,
        period,
        display_timeout,
        seed_bytes,
        errors.is_empty(),
    ) {
        (Some(algorithm), Some(period), Some(display_timeout), Some(seed_bytes), true) => Ok((
            BulkSettings {
                algorithm,
                period,
                display_timeout,
                seed_bytes,
                manufacturer,
                model,
            },
            users,
            count,
        )),
        _ => Err(errors),
    }
}

pub async fn view_csv_bulk_start_post(
    session: CurrentSession,
    Form(form): Form<StartForm>,
) -> Response {
    let refused = session.with(|s| match read_start(&form, s) {
        Ok((settings, users, count)) => {
            s.bulk_mut().run = Some(BulkRun::new(settings, users, count));
            None
        }
        Err(errors) => {
            let mut bulk = panel(s, &session.state);
            bulk.form = StartFormView {
                algorithm: form.algorithm.clone(),
                period: form.period.clone(),
                display_timeout: form.display_timeout.clone(),
                seed_bytes: form.seed_bytes.clone(),
                manufacturer: form.manufacturer.clone(),
                model: form.model.clone(),
                count: form.count.clone(),
                users_from: form.users_from.clone(),
                users: form.users.clone(),
            };
            bulk.errors = errors;
            Some(BulkPage {
                layout: layout("csv", s, session.ctx),
                bulk,
            })
        }
    });
    match refused {
        Some(page) => (StatusCode::UNPROCESSABLE_ENTITY, page).into_response(),
        None => Redirect::to("/csv#bulk").into_response(),
    }
}

/// What a burn was for: a step of the run, or setting a token's clock by a re-burn.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Purpose {
    Run,
    Clock,
}

/// Failures no further tap can fix: the run stops and says why.
fn stops_the_run(e: &AgentClientError) -> bool {
    !matches!(
        e.agent_kind(),
        Some(
            ErrorKind::NoCard
                | ErrorKind::NoCardInTime
                | ErrorKind::CardLiftedMidWrite
                | ErrorKind::CardRemoved
                | ErrorKind::UnknownModel
                | ErrorKind::FidoKey
                | ErrorKind::OathApplet
                | ErrorKind::NotToken2
                | ErrorKind::WrongKey
                | ErrorKind::TokenStatus
                | ErrorKind::BadReply
                | ErrorKind::SameToken
        )
    )
}

/// The agent's sentence and what it means for the run.
fn failure_message(e: &AgentClientError) -> String {
    let said = e.to_string();
    let stop = if said.ends_with(['.', '?', '!']) {
        ""
    } else {
        "."
    };
    let then = match e.agent_kind() {
        Some(ErrorKind::CardLiftedMidWrite | ErrorKind::CardRemoved) => {
            " Lifted mid-write — burn it again: no row was added; tap it again and it gets a new seed."
        }
        Some(ErrorKind::UnknownModel) => {
            " A model we do not know is left as it was; the run waits for the next token."
        }
        Some(ErrorKind::FidoKey | ErrorKind::OathApplet) => {
            " Take it away and tap a Token2 programmable token; the run waits for the next token."
        }
        Some(ErrorKind::WrongKey) => {
            " The token refused our key, so nothing was written; the run waits for the next token."
        }
        _ if stops_the_run(e) => " The run is stopped: fix this, then resume.",
        _ => " No row was added; the run waits for the next token.",
    };
    format!("{said}{stop}{then} No user was skipped.")
}

/// Which serial of the plan the agent's `same_token` answer is about.
fn same_serial(plan: &StepPlan, message: &str) -> String {
    plan.not_serial
        .iter()
        .chain(plan.not_serials.iter())
        .filter(|s| message.contains(s.as_str()))
        .max_by_key(|s| s.len())
        .cloned()
        .unwrap_or_default()
}

/// Writes what the agent did into the session: the row (only after its success, with
/// exactly the seed it wrote), then the run's or the clock reading's account of it.
fn settle(
    s: &mut Session,
    purpose: Purpose,
    (plan, wait): (&StepPlan, u64),
    secret: Secret,
    result: Result<BurnResponse, AgentClientError>,
    now: u64,
) {
    let settings = &plan.settings;
    let done = match result {
        Ok(done) => done,
        Err(e) => {
            let message = failure_message(&e);
            match (purpose, s.bulk_mut().run.as_mut()) {
                (Purpose::Clock, _) => s.bulk_mut().clock_error = Some(message),
                (Purpose::Run, None) => {}
                (Purpose::Run, Some(run)) => match e.agent_kind() {
                    Some(ErrorKind::SameToken) => {
                        run.same_token(same_serial(plan, &e.to_string()));
                    }
                    Some(ErrorKind::NoCard | ErrorKind::NoCardInTime) => run.no_token(format!(
                        "No token came within {} s. Press its button and hold it on the reader{}.",
                        wait,
                        " (the page keeps waiting; without JavaScript, press Burn the next token)"
                    )),
                    _ => {
                        let stop = stops_the_run(&e);
                        run.failed(TapResult::failed(e.kind().to_string(), message), stop);
                    }
                },
            }
            return;
        }
    };
    let serial = done.token.serial.clone();
    let model = if settings.model.is_empty() {
        done.token.model.clone().unwrap_or_default()
    } else {
        settings.model.clone()
    };
    let codes = CompareCodes::new(&secret, settings.algorithm, settings.period, done.clock_set);
    let codes = [codes.previous, codes.current, codes.next];
    let upn = match (purpose, s.bulk().run.as_ref()) {
        (Purpose::Run, Some(run)) if s.batch().get(&serial).is_none() => {
            run.next_upn().map(str::to_string)
        }
        _ => None,
    };
    let params = Params::new(
        settings.algorithm,
        crate::nfc::protocol::DIGITS,
        settings.period,
    )
    .unwrap_or_default();
    let record = TokenRecord {
        serial: serial.clone(),
        secret,
        params,
        manufacturer: settings.manufacturer.clone(),
        model: model.clone(),
        upn: upn.clone(),
        source: Source::Burned,
        added_at: now,
    };
    let recorded = s.record_burned_token(record);
    tracing::info!(serial = %serial, "bulk panel: token burned");
    let shown = clip(&serial);
    let (outcome, message, replaced) = match &recorded {
        Ok((row, false)) => (
            Outcome::Added(*row),
            format!("Burned {shown}: row {row} added. Lift it, tap the next one."),
            false,
        ),
        Ok((row, true)) => (
            Outcome::Reburned(*row),
            format!(
                "Burned {shown} again: row {row} now carries the new seed. Lift it, tap the next one."
            ),
            true,
        ),
        Err(c) => (
            Outcome::Failed("no_row".into()),
            format!(
                "Burned {shown}, but its row could not be written ({}): make room, then burn it again.",
                c.reason
            ),
            false,
        ),
    };
    if purpose == Purpose::Clock {
        let bulk = s.bulk_mut();
        bulk.clock_error = recorded.is_err().then(|| message.clone());
        if let Some(c) = bulk.clock.as_mut() {
            c.done = recorded.is_ok().then(|| {
                format!(
                    "{message} Its clock is set to this server's; codes now {} {} {}.",
                    codes[0], codes[1], codes[2]
                )
            });
            c.offset_seconds = 0;
        }
        return;
    }
    let Some(run) = s.bulk_mut().run.as_mut() else {
        return;
    };
    let result = TapResult {
        serial: Some(serial),
        model: Some(model),
        upn,
        outcome,
        message,
        codes: Some(codes),
    };
    if recorded.is_ok() {
        run.burned(result, replaced);
    } else {
        run.failed(result, true);
    }
}

/// Burns one token through the agent in a task of its own and settles the result into the
/// session, even when this request is cut off meanwhile.
async fn burn_step(
    session: &CurrentSession,
    agent: AgentClient,
    purpose: Purpose,
    plan: StepPlan,
    wait: u64,
) {
    let secret = match Secret::generate(plan.settings.seed_bytes) {
        Ok(secret) => secret,
        Err(e) => {
            // No seed, no burn: say so and stop, as no tap can help.
            session.with(|s| {
                let message = format!("No seed could be drawn from the system's random source ({e}); nothing was burned.");
                match (purpose, s.bulk_mut().run.as_mut()) {
                    (Purpose::Run, Some(run)) => {
                        run.failed(TapResult::failed("no_seed", message), true)
                    }
                    _ => s.bulk_mut().clock_error = Some(message),
                }
            });
            return;
        }
    };
    let mut request = BurnRequest::new(&secret);
    request.algorithm = Some(plan.settings.algorithm.uri_name().to_string());
    request.period = Some(plan.settings.period);
    request.display_timeout = Some(plan.settings.display_timeout.seconds());
    request.wait_seconds = Some(wait);
    request.wait_for_new_card = plan.new_card;
    request.not_serial = plan.not_serial.clone();
    request.not_serials = plan.not_serials.clone();
    let sessions = session.state.sessions.clone();
    let clock = session.state.clock.clone();
    let id = session.ctx.id;
    let task = tokio::spawn(async move {
        let result = agent.burn(&request).await;
        drop(request);
        let now = clock();
        // A session that ended meanwhile took its rows with it: nothing to settle.
        let _ = sessions.with(id, |s| {
            settle(s, purpose, (&plan, wait), secret, result, now)
        });
    });
    let _ = task.await;
}

fn no_agent() -> AppError {
    AppError::Conflict(
        "No NFC agent is configured: start `totp-toolset agent --token-file FILE` on this machine, then start the server with `--agent-url http://127.0.0.1:PORT --agent-token-file FILE`.".into(),
    )
}

/// Runs `change` on the session's run; a conflict saying why not (no run, or the run's
/// own refusal) with `what` was asked.
fn with_run<T>(
    session: &CurrentSession,
    what: &str,
    change: impl FnOnce(&mut BulkRun) -> Result<T, String>,
) -> Result<T, AppError> {
    session
        .with(|s| s.bulk_mut().run.as_mut().map(change))
        .unwrap_or_else(|| Err("no bulk run is going: start one on the batch page".into()))
        .map_err(|why| AppError::Conflict(format!("Cannot {what}: {why}.")))
}

/// Burns the next token of the run, or (`begin_reburn`) the token tapped twice again.
/// While another step is at the agent (a page reloaded meanwhile) it only answers, and the
/// page script asks again.
async fn run_burn(
    session: &CurrentSession,
    what: &str,
    begin: fn(&mut BulkRun) -> Result<StepPlan, String>,
) -> Result<(), AppError> {
    let agent = session.state.config.agent.clone().ok_or_else(no_agent)?;
    // Checked under the same lock that begins the step, so a request racing this one
    // either begins it or only answers, never is refused for it.
    let plan = with_run(session, what, |run| {
        if run.is_busy() {
            Ok(None)
        } else {
            begin(run).map(Some)
        }
    })?;
    let Some(plan) = plan else {
        return Ok(());
    };
    burn_step(
        session,
        agent,
        Purpose::Run,
        plan,
        step_wait(&session.state),
    )
    .await;
    Ok(())
}

pub async fn view_csv_bulk_step_post(
    session: CurrentSession,
    headers: HeaderMap,
    Form(_): Form<ButtonForm>,
) -> Result<Response, AppError> {
    run_burn(&session, "burn now", BulkRun::begin_step).await?;
    answer(&session, &headers)
}

pub async fn view_csv_bulk_same_post(
    session: CurrentSession,
    headers: HeaderMap,
    Form(form): Form<SameForm>,
) -> Result<Response, AppError> {
    match form.action.as_str() {
        "skip" => with_run(&session, "skip", |run| run.skip().map(drop))?,
        "reburn" => run_burn(&session, "burn it again", BulkRun::begin_reburn).await?,
        _ => {
            return Err(AppError::BadRequest(
                "Choose \"burn it again\" or \"skip it\".".into(),
            ));
        }
    }
    answer(&session, &headers)
}

/// Stop, resume or end the run (ending keeps every row; it only clears the panel, and
/// waits for a step still at the agent).
pub async fn view_csv_bulk_run_post(
    session: CurrentSession,
    headers: HeaderMap,
    Form(form): Form<RunForm>,
) -> Result<Response, AppError> {
    let change: fn(&mut Option<BulkRun>) = match form.action.as_str() {
        "stop" => |run| run.iter_mut().for_each(BulkRun::stop),
        "resume" => |run| run.iter_mut().for_each(BulkRun::resume),
        "end" => |run| {
            if run.as_ref().is_none_or(|r| !r.is_busy()) {
                *run = None;
            }
        },
        _ => {
            return Err(AppError::BadRequest(
                "Choose to stop, resume or end the run.".into(),
            ));
        }
    };
    session.with(|s| change(&mut s.bulk_mut().run));
    answer(&session, &headers)
}

// ---------------------------------------------------------------------------------------
// Set the token's clock

/// The algorithm and period a clock action uses: the token's row's, else the form's.
fn clock_params(session: &CurrentSession, form: &ClockForm) -> Result<(Algorithm, u32), AppError> {
    let reading = session
        .with(|s| s.bulk().clock.clone())
        .ok_or_else(|| AppError::Conflict("Read the token's clock first.".into()))?;
    if let Some((_, algorithm, period)) = reading.row {
        return Ok((algorithm, period));
    }
    match (parse_algorithm(&form.algorithm), check_interval(&form.period).ok()) {
        (Some(a), Some(p)) => Ok((a, p)),
        _ => Err(AppError::BadRequest(
            "This token has no row in the batch: choose the algorithm (SHA-1 or SHA-256) and period (30 or 60 s) its seed was burned with.".into(),
        )),
    }
}

/// "Set the token's clock": `read` its clock, `set` it, or `reburn` it with a new seed
/// (restricted models).
pub async fn view_csv_clock_post(
    session: CurrentSession,
    headers: HeaderMap,
    Form(form): Form<ClockForm>,
) -> Result<Response, AppError> {
    let agent = session.state.config.agent.clone().ok_or_else(no_agent)?;
    match form.action.as_str() {
        "read" => read_clock(&session, agent).await,
        "set" => set_clock(&session, agent, &form).await?,
        "reburn" => reburn_for_clock(&session, agent, &form).await?,
        _ => {
            return Err(AppError::BadRequest(
                "Choose to read the clock, set it, or burn a new seed.".into(),
            ));
        }
    }
    answer(&session, &headers)
}

async fn read_clock(session: &CurrentSession, agent: AgentClient) {
    let read = agent.identify(step_wait(&session.state)).await;
    session.with(|s| {
        let row = |serial: &str| {
            let records = s.batch().records();
            records
                .iter()
                .position(|r| r.serial.eq_ignore_ascii_case(serial))
                .map(|i| (i + 1, records[i].algorithm(), records[i].period()))
        };
        let (clock, error) = match read {
            Ok(id) => (
                Some(ClockReading {
                    row: row(&id.token.serial),
                    serial: id.token.serial,
                    model: id.token.model,
                    restricted: id.token.restricted,
                    offset_seconds: id.token.offset_seconds,
                    clock_utc: id.token.clock_utc,
                    done: None,
                }),
                None,
            ),
            Err(e) => (None, Some(failure_message(&e))),
        };
        let bulk = s.bulk_mut();
        bulk.clock = clock;
        bulk.clock_error = error;
    });
}

async fn set_clock(
    session: &CurrentSession,
    agent: AgentClient,
    form: &ClockForm,
) -> Result<(), AppError> {
    let (algorithm, period) = clock_params(session, form)?;
    let request = TimeSyncRequest {
        confirm: true,
        // Never: a model that erases its seed is offered a re-burn instead.
        confirm_seed_loss: false,
        algorithm: Some(algorithm.uri_name().to_string()),
        period: Some(period),
        wait_seconds: Some(step_wait(&session.state)),
        ..TimeSyncRequest::default()
    };
    let result = agent.time_sync(&request).await;
    session.with(|s| {
        let bulk = s.bulk_mut();
        bulk.clock_error = None;
        let Some(c) = bulk.clock.as_mut() else {
            return;
        };
        match result {
            Ok(done) if done.token.serial == c.serial => {
                c.offset_seconds = 0;
                c.done = Some(format!(
                    "Clock set: it was {}; it now keeps this server's time, and its seed is unchanged.",
                    offset_words(done.token.offset_seconds)
                ));
            }
            Ok(done) => {
                c.done = Some(format!(
                    "The token on the reader was {}, not {}: its clock was set (it was {}). Read the clock again for the token you meant.",
                    clip(&done.token.serial),
                    clip(&c.serial),
                    offset_words(done.token.offset_seconds)
                ));
            }
            Err(e) if e.agent_kind() == Some(ErrorKind::SeedLossUnconfirmed) => {
                c.restricted = true;
                c.done = Some(
                    "Refused: on this model setting the clock erases the seed. Burn a new seed instead (it sets the clock too) and its row gets the new seed.".into(),
                );
            }
            Err(e) => bulk.clock_error = Some(failure_message(&e)),
        }
    });
    Ok(())
}

fn offset_words(offset: i64) -> String {
    match offset {
        0 => "in step".into(),
        o if o > 0 => format!("{o} s ahead"),
        o => format!("{} s behind", o.unsigned_abs()),
    }
}

async fn reburn_for_clock(
    session: &CurrentSession,
    agent: AgentClient,
    form: &ClockForm,
) -> Result<(), AppError> {
    let (algorithm, period) = clock_params(session, form)?;
    let plan = StepPlan {
        settings: BulkSettings {
            algorithm,
            period,
            display_timeout: DisplayTimeout::S30,
            seed_bytes: 20,
            manufacturer: "Token2".into(),
            model: String::new(),
        },
        new_card: false,
        not_serial: None,
        not_serials: Vec::new(),
    };
    burn_step(
        session,
        agent,
        Purpose::Clock,
        plan,
        step_wait(&session.state),
    )
    .await;
    Ok(())
}
