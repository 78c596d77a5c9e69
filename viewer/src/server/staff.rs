//! The staff page: sign in, look a client up with a stated purpose, see the planned service at
//! a glance, record what was done.
//!
//! Sign-in is by token (`polku token create --role staff`, or the demo's); the session is a
//! random id in an HttpOnly, SameSite=Strict cookie (Secure when the request came over TLS)
//! and every form carries the session's CSRF token. The client is entered in a POST form, so an
//! identity code never reaches an address, the browser's history or a log line; the page shows
//! only the pseudonym. Every status shown is read through the tracker service, which writes the
//! access log first.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{html, Markup, PreEscaped};
use polku_dsl::Lang;
use polku_engine::case::{CaseStatus, StepState};
use polku_engine::event::{Event, EventKind};
use polku_engine::pseudonym::Pseudonym;
use polku_engine::time::Timestamp;

use super::auth::{self, Action, Principal, Role};
use super::oidc::{SignInError, TokenError};
use super::pages::{home, page, Frame};
use super::{choose_lang, AppState, PageQuery, Renderer};
use crate::maps::level3::{dot_with_states, States};
use crate::maps::{role_title, say, service_title, Word};

pub mod assessment;
pub mod explain;

const COOKIE: &str = "polku_session";
/// A session ends after this long without use.
const IDLE: Duration = Duration::from_secs(30 * 60);

#[derive(Debug, Clone)]
struct Session {
    principal: Principal,
    csrf: String,
    used: Instant,
}

/// Signed-in staff, by session id.
#[derive(Debug, Default)]
pub struct Sessions(Mutex<HashMap<String, Session>>);

impl Sessions {
    fn get(&self, id: &str) -> Option<Session> {
        let mut sessions = self.0.lock().unwrap_or_else(|e| e.into_inner());
        sessions.retain(|_, s| s.used.elapsed() < IDLE);
        let session = sessions.get_mut(id)?;
        session.used = Instant::now();
        Some(session.clone())
    }

    fn start(&self, principal: Principal) -> std::io::Result<(String, String)> {
        let id = auth::new_token()?;
        let csrf = auth::new_token()?;
        let session = Session { principal, csrf: csrf.clone(), used: Instant::now() };
        self.0.lock().unwrap_or_else(|e| e.into_inner()).insert(id.clone(), session);
        Ok((id, csrf))
    }

    fn end(&self, id: &str) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).remove(id);
    }
}

/// The value of the cookie `name` that the request carries.
fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| {
            let (key, value) = pair.trim().split_once('=')?;
            (key == name).then(|| value.to_owned())
        })
}

fn session_id(headers: &HeaderMap) -> Option<String> {
    cookie(headers, COOKIE)
}

/// Was the request made over TLS (directly or through a proxy that says so)?
fn over_tls(headers: &HeaderMap) -> bool {
    headers.get("x-forwarded-proto").and_then(|v| v.to_str().ok()) == Some("https")
}

fn form(body: &[u8]) -> HashMap<String, String> {
    super::pairs(body)
}

fn frame<'a>(state: &'a AppState, uri: &'a Uri, lang: Lang, choice: super::Choice) -> Frame<'a> {
    let _ = lang;
    Frame {
        choice,
        title: say(Word::StaffPage, choice.lang).to_owned(),
        crumbs: vec![home(choice.lang), (say(Word::StaffPage, choice.lang).to_owned(), None)],
        uri,
        state,
    }
}

/// Pages of client data are never cached or kept by the browser.
fn private(mut response: Response) -> Response {
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn sign_in_form(state: &AppState, lang: Lang, problem: Option<Word>) -> Markup {
    let provider = state.api().is_some_and(|api| api.oidc().is_some_and(|o| o.signs_in()));
    html! {
        h1 { (say(Word::StaffPage, lang)) }
        @if let Some(problem) = problem { p.problem role="alert" { (say(problem, lang)) } }
        @if provider {
            p { a.button #sign-in-provider href="/staff/oidc/login" { (say(Word::SignInWithProvider, lang)) } }
            h2.or { (say(Word::OrWithToken, lang)) }
        }
        form #sign-in method="post" action="/staff/login" {
            p { (say(Word::SignInHelp, lang)) }
            label for="token" { (say(Word::TokenLabel, lang)) }
            input #token type="password" name="token" autocomplete="off" required;
            button type="submit" { (say(Word::SignIn, lang)) }
        }
    }
}

fn look_up_form(session: &Session, lang: Lang, problem: Option<Word>) -> Markup {
    html! {
        form #look-up method="post" action="/staff/client" autocomplete="off" {
            input type="hidden" name="csrf" value=(session.csrf);
            @if let Some(problem) = problem { p.problem role="alert" { (say(problem, lang)) } }
            p {
                label for="client" { (say(Word::ClientLabel, lang)) }
                // A password field: the code is not shown over a shoulder nor kept by autofill.
                input #client type="password" name="client" autocomplete="off" required spellcheck="false";
            }
            p {
                label for="purpose" { (say(Word::PurposeLabel, lang)) }
                input #purpose type="text" name="purpose" required;
            }
            button type="submit" { (say(Word::LookUp, lang)) }
        }
    }
}

fn signed_in_bar(session: &Session, lang: Lang) -> Markup {
    html! {
        form.signed-in method="post" action="/staff/logout" {
            input type="hidden" name="csrf" value=(session.csrf);
            span { (say(Word::SignedInAs, lang)) ": " strong { (session.principal.name) } }
            " "
            button type="submit" { (say(Word::SignOut, lang)) }
        }
    }
}

pub async fn staff(
    State(state): State<AppState>,
    query: PageQuery,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let choice = choose_lang(&query, &headers);
    let lang = choice.lang;
    let session =
        state.api().and_then(|api| session_id(&headers).and_then(|id| api.sessions.get(&id)));
    let body = match &session {
        Some(session) => html! {
            (signed_in_bar(session, lang))
            h1 { (say(Word::StaffPage, lang)) }
            (look_up_form(session, lang, None))
        },
        None => sign_in_form(&state, lang, None),
    };
    private(page(frame(&state, &uri, lang, choice), body))
}

pub async fn login(
    State(state): State<AppState>,
    query: PageQuery,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Response {
    let choice = choose_lang(&query, &headers);
    let lang = choice.lang;
    let Some(api) = state.api() else {
        return (StatusCode::SERVICE_UNAVAILABLE, "no store").into_response();
    };
    let fields = form(&body);
    let token = fields.get("token").map(String::as_str).unwrap_or("");
    let (read, token) = (api.clone(), token.to_owned());
    let principal = tokio::task::spawn_blocking(move || read.principal_of(&token))
        .await
        .ok()
        .and_then(Result::ok)
        .filter(|p| p.role == Role::Staff);
    let Some(principal) = principal else {
        let mut response = page(
            frame(&state, &uri, lang, choice),
            sign_in_form(&state, lang, Some(Word::SignInFailed)),
        );
        *response.status_mut() = StatusCode::UNAUTHORIZED;
        return private(response);
    };
    let Ok((id, _)) = api.sessions.start(Principal::clone(&principal)) else {
        return (StatusCode::SERVICE_UNAVAILABLE, "no randomness").into_response();
    };
    let mut response = Redirect::to("/staff").into_response();
    set_cookie(&mut response, &session_cookie(&id, &headers));
    response
}

fn session_cookie(id: &str, headers: &HeaderMap) -> String {
    let secure = if over_tls(headers) { "; Secure" } else { "" };
    format!("{COOKIE}={id}; Path=/staff; HttpOnly; SameSite=Strict{secure}")
}

fn set_cookie(response: &mut Response, cookie: &str) {
    if let Ok(value) = HeaderValue::from_str(cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
}

/// The cookie that binds a sign-in at the provider to the browser that started it. It must be
/// `SameSite=Lax`: the provider sends the browser back with a cross-site navigation, on which
/// a `Strict` cookie would not be sent.
const SIGN_IN_COOKIE: &str = "polku_sign_in";

fn sign_in_problem(
    state: &AppState,
    uri: &Uri,
    choice: super::Choice,
    problem: Word,
    status: StatusCode,
) -> Response {
    let mut response = page(
        frame(state, uri, choice.lang, choice),
        sign_in_form(state, choice.lang, Some(problem)),
    );
    *response.status_mut() = status;
    private(response)
}

/// Starts a sign-in at the identity provider (authorization code with PKCE).
pub async fn provider_login(
    State(state): State<AppState>,
    query: PageQuery,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let choice = choose_lang(&query, &headers);
    let Some(api) = state.api() else {
        return (StatusCode::SERVICE_UNAVAILABLE, "no store").into_response();
    };
    if !api.oidc().is_some_and(|o| o.signs_in()) {
        return sign_in_problem(&state, &uri, choice, Word::ProviderFailed, StatusCode::NOT_FOUND);
    }
    // Reading the provider's discovery document may wait for the network.
    let begun = {
        let api = api.clone();
        tokio::task::spawn_blocking(move || api.oidc().map(|o| o.begin())).await
    };
    let authorization = match begun {
        Ok(Some(Ok(authorization))) => authorization,
        Ok(Some(Err(SignInError::Unreachable(e)))) => {
            eprintln!("polku: sign-in: {e}");
            return sign_in_problem(
                &state,
                &uri,
                choice,
                Word::ProviderUnreachable,
                StatusCode::SERVICE_UNAVAILABLE,
            );
        }
        other => {
            if let Ok(Some(Err(e))) = other {
                eprintln!("polku: sign-in: {e}");
            }
            return sign_in_problem(
                &state,
                &uri,
                choice,
                Word::ProviderFailed,
                StatusCode::SERVICE_UNAVAILABLE,
            );
        }
    };
    let secure = if over_tls(&headers) { "; Secure" } else { "" };
    let mut response = Redirect::to(&authorization.url).into_response();
    set_cookie(
        &mut response,
        &format!(
            "{SIGN_IN_COOKIE}={}; Path=/staff/oidc; HttpOnly; SameSite=Lax; Max-Age=600{secure}",
            authorization.state
        ),
    );
    private(response)
}

/// The provider sends the browser back here with `code` and `state` (or `error`).
pub async fn provider_callback(
    State(state): State<AppState>,
    query: PageQuery,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let choice = choose_lang(&query, &headers);
    let lang = choice.lang;
    let Some(api) = state.api() else {
        return (StatusCode::SERVICE_UNAVAILABLE, "no store").into_response();
    };
    let fields = super::pairs(uri.query().unwrap_or("").as_bytes());
    let started_here = cookie(&headers, SIGN_IN_COOKIE);
    let returned = fields.get("state").cloned().unwrap_or_default();
    // The state must come back to the browser that started the sign-in: a sign-in started by
    // someone else and completed in this browser (login CSRF) is refused.
    if returned.is_empty() || started_here.as_deref() != Some(returned.as_str()) {
        return sign_in_problem(&state, &uri, choice, Word::SignInExpired, StatusCode::BAD_REQUEST);
    }
    if let Some(error) = fields.get("error") {
        eprintln!(
            "polku: sign-in: the identity provider answered {}",
            polku_engine::pseudonym::redact_identity_codes(error)
        );
        return sign_in_problem(
            &state,
            &uri,
            choice,
            Word::ProviderFailed,
            StatusCode::UNAUTHORIZED,
        );
    }
    let code = fields.get("code").cloned().unwrap_or_default();
    if code.is_empty() {
        return sign_in_problem(
            &state,
            &uri,
            choice,
            Word::ProviderFailed,
            StatusCode::BAD_REQUEST,
        );
    }
    let finished = {
        let api = api.clone();
        tokio::task::spawn_blocking(move || api.oidc().map(|o| o.finish(&returned, &code))).await
    };
    let principal = match finished {
        Ok(Some(Ok(principal))) => principal,
        Ok(Some(Err(e))) => {
            eprintln!(
                "polku: sign-in: {}",
                polku_engine::pseudonym::redact_identity_codes(&e.to_string())
            );
            let (problem, status) = match e {
                SignInError::UnknownState => (Word::SignInExpired, StatusCode::BAD_REQUEST),
                SignInError::Unreachable(_) => {
                    (Word::ProviderUnreachable, StatusCode::SERVICE_UNAVAILABLE)
                }
                SignInError::Token(TokenError::NoRole) => (Word::NotStaff, StatusCode::FORBIDDEN),
                _ => (Word::ProviderFailed, StatusCode::UNAUTHORIZED),
            };
            return sign_in_problem(&state, &uri, choice, problem, status);
        }
        _ => {
            return sign_in_problem(
                &state,
                &uri,
                choice,
                Word::ProviderFailed,
                StatusCode::SERVICE_UNAVAILABLE,
            )
        }
    };
    if principal.role != Role::Staff {
        return sign_in_problem(&state, &uri, choice, Word::NotStaff, StatusCode::FORBIDDEN);
    }
    let Ok((id, _)) = api.sessions.start(principal) else {
        return (StatusCode::SERVICE_UNAVAILABLE, "no randomness").into_response();
    };
    // The browser arrived here from the provider's site, so a redirect now would still be
    // cross-site and the new SameSite=Strict session cookie would not be sent with it: this
    // page moves on to the staff page itself, which makes the next request same-site.
    let body = html! {
        h1 { (say(Word::StaffPage, lang)) }
        p { a #continue href="/staff" { (say(Word::SignedInContinue, lang)) } }
    };
    let mut response = page(frame(&state, &uri, lang, choice), body);
    response.headers_mut().insert(header::REFRESH, HeaderValue::from_static("0; url=/staff"));
    set_cookie(&mut response, &session_cookie(&id, &headers));
    set_cookie(
        &mut response,
        &format!("{SIGN_IN_COOKIE}=; Path=/staff/oidc; HttpOnly; SameSite=Lax; Max-Age=0"),
    );
    private(response)
}

/// The session a form comes from, with its CSRF token checked.
fn checked_session(
    state: &AppState,
    headers: &HeaderMap,
    fields: &HashMap<String, String>,
) -> Option<Session> {
    let api = state.api()?;
    let session = api.sessions.get(&session_id(headers)?)?;
    (fields.get("csrf") == Some(&session.csrf)).then_some(session)
}

pub async fn logout(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let fields = form(&body);
    if let (Some(api), Some(session), Some(id)) =
        (state.api(), checked_session(&state, &headers, &fields), session_id(&headers))
    {
        let _ = session;
        api.sessions.end(&id);
    }
    let mut response = Redirect::to("/staff").into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static(
            "polku_session=; Path=/staff; HttpOnly; SameSite=Strict; Max-Age=0",
        ),
    );
    response
}

/// A staff form's post: the language chosen, the form's fields and the signed-in session
/// (its CSRF token checked), or the page that refuses it.
fn signed_in_post(
    state: &AppState,
    query: &PageQuery,
    headers: &HeaderMap,
    uri: &Uri,
    body: &[u8],
) -> Result<(super::Choice, HashMap<String, String>, Session), Box<Response>> {
    let choice = choose_lang(query, headers);
    let fields = form(body);
    match checked_session(state, headers, &fields) {
        Some(session) => Ok((choice, fields, session)),
        None => Err(Box::new(forbidden_page(state, uri, choice))),
    }
}

/// Why [`case_allowed`] said no.
enum NotAllowed {
    /// Not a case of the person's units (or no such case, or no store).
    Forbidden,
    /// The state is not to be read just now (the database does not answer).
    Unavailable,
}

/// The store and the pseudonym of a case's client, when the signed-in person may read the
/// case's data (a case of one of their units). The case is looked up off the runtime's threads.
async fn case_allowed(
    state: &AppState,
    session: &Session,
    case: &str,
) -> Result<(Arc<super::api::Api>, String), NotAllowed> {
    let api = state.api().ok_or(NotAllowed::Forbidden)?;
    let (tracker, read) = (api.tracker.clone(), case.to_owned());
    let (owner, unit) = tokio::task::spawn_blocking(move || tracker.case_owner(&read))
        .await
        .map_err(|_| NotAllowed::Unavailable)?
        .map_err(|_| NotAllowed::Unavailable)?
        .ok_or(NotAllowed::Forbidden)?;
    auth::authorize(&session.principal, Action::ClientData { units: &[unit] })
        .map_err(|_| NotAllowed::Forbidden)?;
    Ok((api, owner))
}

fn forbidden_page(state: &AppState, uri: &Uri, choice: super::Choice) -> Response {
    let lang = choice.lang;
    let mut response =
        page(frame(state, uri, lang, choice), sign_in_form(state, lang, Some(Word::SessionOver)));
    *response.status_mut() = StatusCode::FORBIDDEN;
    private(response)
}

pub async fn client(
    State(state): State<AppState>,
    query: PageQuery,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Response {
    let (choice, fields, session) = match signed_in_post(&state, &query, &headers, &uri, &body) {
        Ok(post) => post,
        Err(refused) => return *refused,
    };
    let client = fields.get("client").map(String::as_str).unwrap_or("").trim().to_owned();
    let purpose = fields.get("purpose").map(String::as_str).unwrap_or("").trim().to_owned();
    show_client(&state, &uri, choice, &session, &client, &purpose, None).await
}

/// Looks a client up and renders the status, or the form again with what is wrong.
async fn show_client(
    state: &AppState,
    uri: &Uri,
    choice: super::Choice,
    session: &Session,
    client: &str,
    purpose: &str,
    notice: Option<(bool, String)>,
) -> Response {
    let lang = choice.lang;
    let Some(api) = state.api() else {
        return (StatusCode::SERVICE_UNAVAILABLE, "no store").into_response();
    };
    let again = |problem: Word, status: StatusCode| {
        let body = html! {
            (signed_in_bar(session, lang))
            h1 { (say(Word::StaffPage, lang)) }
            (look_up_form(session, lang, Some(problem)))
        };
        let mut response = page(frame(state, uri, lang, choice), body);
        *response.status_mut() = status;
        private(response)
    };
    if purpose.is_empty() {
        return again(Word::PurposeNeeded, StatusCode::BAD_REQUEST);
    }
    let Ok(pseudonym) = api.tracker.pseudonym(client) else {
        return again(Word::BadClient, StatusCode::BAD_REQUEST);
    };
    match super::api::in_care(&api, &session.principal, &pseudonym).await {
        Ok(true) => {}
        Ok(false) => return again(Word::NoCases, StatusCode::FORBIDDEN),
        Err(_) => return again(Word::StoreUnavailable, StatusCode::SERVICE_UNAVAILABLE),
    }
    let actor = session.principal.actor(purpose, "");
    let now = now();
    let tracker = api.tracker.clone();
    let read = pseudonym.clone();
    let scope = auth::client_scope(&session.principal);
    let status = tokio::task::spawn_blocking(move || {
        tracker.client_status(&read, &actor, now, lang, &scope)
    })
    .await;
    let status = match status {
        Ok(Ok(Some(status))) => status,
        Ok(Ok(None)) => return again(Word::NoCases, StatusCode::NOT_FOUND),
        // The access could not be logged, or the state is to be read again: nothing shown.
        Ok(Err(_)) | Err(_) => {
            return again(Word::StoreUnavailable, StatusCode::SERVICE_UNAVAILABLE)
        }
    };
    let version = state.model();
    let mut cases = Vec::new();
    // Cut to the person's units by the service already; checked here again, as it costs
    // nothing.
    for case in status.cases.iter().filter(|c| session.principal.units.contains(&c.unit)) {
        cases.push(case_view(state, &version, case, session, &pseudonym, purpose, lang).await);
    }
    let body = html! {
        (signed_in_bar(session, lang))
        h1 { (say(Word::StaffPage, lang)) }
        @if let Some((ok, text)) = &notice {
            p.notice.ok[*ok] .failed[!*ok] role="status" { (text) }
        }
        p.client-id { (say(Word::Pseudonym, lang)) ": " code { (&pseudonym.as_str()[..12]) "…" } }
        @for case in &cases { (case) }
        details {
            summary { (say(Word::LookUp, lang)) }
            (look_up_form(session, lang, None))
        }
    };
    private(page(frame(state, uri, lang, choice), body))
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

async fn case_view(
    state: &AppState,
    version: &super::ModelVersion,
    case: &CaseStatus,
    session: &Session,
    pseudonym: &Pseudonym,
    purpose: &str,
    lang: Lang,
) -> Markup {
    let model = &version.model;
    let process = model.processes.get(&case.process);
    let profile = process
        .and_then(|p| p.segmentation.as_ref())
        .and_then(|g| model.segmentations.get(g))
        .and_then(|g| g.profile(&case.segment));
    let segment_title = profile
        .map(|p| p.title.clone())
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| case.segment.clone());
    let states: States = case.steps.iter().map(|s| (s.step.clone(), s.state)).collect();
    let map = match process {
        Some(p) => {
            let dot = dot_with_states(
                model,
                p,
                Some(&case.segment).filter(|s| p.plans.contains_key(*s)).map(String::as_str),
                Some(&states),
                lang,
            );
            match state.renderer() {
                Renderer::Server => {
                    match tokio::task::spawn_blocking(move || crate::render::dot_to_svg(&dot)).await
                    {
                        Ok(Ok(svg)) => {
                            html! { figure.map.case-map data-rendered="server" tabindex="0" aria-label=(case.process_title) { div.map-drawing { (PreEscaped(svg)) } } }
                        }
                        _ => html! {},
                    }
                }
                Renderer::Browser => html! {
                    figure.map.case-map data-rendered="pending" tabindex="0" aria-label=(case.process_title) data-failed-text=(say(Word::RenderFailed, lang)) {
                        div.map-drawing { p.map-loading { (say(Word::Rendering, lang)) } }
                        script type="text/vnd.graphviz" class="dot-source" { (PreEscaped(dot.replace("</", "<\\/"))) }
                    }
                },
            }
        }
        None => html! {},
    };
    let segments: Vec<String> = process
        .and_then(|p| p.segmentation.as_ref())
        .and_then(|g| model.segmentations.get(g))
        .map(|g| g.segments.clone())
        .unwrap_or_default();
    // Answers kept for the case (`[privacy] keep_answers_days`), read off the runtime's threads.
    let kept_until = match state.api() {
        Some(api) => {
            let (tracker, id, at) = (api.tracker.clone(), case.case.clone(), now());
            tokio::task::spawn_blocking(move || tracker.answers_kept_until(&id, at).ok().flatten())
                .await
                .ok()
                .flatten()
        }
        None => None,
    };
    let state_class = |s: StepState| match s {
        StepState::Done => "state-done",
        StepState::InProgress => "state-in-progress",
        StepState::Pending => "state-pending",
        StepState::Overdue => "state-overdue",
        StepState::NotNeeded => "state-not-needed",
    };
    html! {
        article.case id=(format!("case-{}", case.case)) {
            h2 { (case.process_title) " — " (service_title(model, &case.unit)) }
            p.complete class=(if case.complete { "complete-yes" } else { "complete-no" }) {
                (say(Word::PlannedComplete, lang)) ": "
                strong { (say(if case.complete { Word::Yes } else { Word::No }, lang)) }
            }
            dl.case-facts {
                dt { (say(Word::Segment, lang)) } dd.segment { (segment_title) }
                @if let Some(strategy) = profile.and_then(|p| p.basic_strategy.as_ref()) {
                    dt { (say(Word::BasicStrategy, lang)) } dd { (strategy) }
                }
                @if let Some(week) = &case.pregnancy_week {
                    dt { (say(Word::PregnancyWeek, lang)) } dd.pregnancy-week { (week) }
                }
                @if !case.facts.is_empty() {
                    dt { (say(Word::CaseFacts, lang)) }
                    dd.case-fact-list {
                        (case.facts.iter().map(|f| {
                            let title = model.facts.get(&f.fact).map(|d| d.title.as_str()).filter(|t| !t.is_empty()).unwrap_or(&f.fact);
                            let value = match f.value {
                                polku_engine::event::FactValue::Flag(b) => say(if b { Word::Yes } else { Word::No }, lang).to_lowercase(),
                                polku_engine::event::FactValue::Number(n) => n.to_string(),
                            };
                            format!("{title}: {value}")
                        }).collect::<Vec<_>>().join(", "))
                    }
                }
                dt { (say(Word::Case, lang)) } dd { code { (case.case) } }
                dt { (say(Word::Opened, lang)) } dd { (case.opened) }
                dt { (say(Word::ModelVersion, lang)) } dd { code { (&case.model_version[..case.model_version.len().min(12)]) } }
                @for m in &case.migrations {
                    dt { (say(Word::Migrated, lang)) }
                    dd { (m.at) " " code { (&m.from[..m.from.len().min(12)]) } " → " code { (&m.to[..m.to.len().min(12)]) } }
                }
                @if !case.current_phases.is_empty() {
                    dt { (say(Word::NowIn, lang)) }
                    dd { (case.current_phases.iter().map(|p| p.title.as_str()).collect::<Vec<_>>().join(", ")) }
                }
            }
            h3 { (say(Word::Missing, lang)) }
            @if case.missing.is_empty() { p { (say(Word::NothingMissing, lang)) } }
            @else { ul.missing { @for m in &case.missing { li { (m) } } } }
            table.steps {
                caption { (say(Word::Steps, lang)) }
                thead { tr {
                    th scope="col" { (say(Word::Step, lang)) }
                    th scope="col" { (say(Word::Phase, lang)) }
                    th scope="col" { (say(Word::State, lang)) }
                    th scope="col" { (say(Word::DeadlineTitle, lang)) }
                    th scope="col" { (say(Word::By, lang)) }
                } }
                tbody {
                    @for step in &case.steps {
                        tr class=(state_class(step.state)) {
                            td { (step.title) @if step.statutory { " §" } @if step.count > 1 { " (" (step.done) "/" (step.count) ")" } }
                            td { (process.and_then(|p| p.phases.iter().find(|ph| ph.name == step.phase)).map(|ph| ph.title.as_str()).unwrap_or(&step.phase)) }
                            td.state { (step.state.word(lang)) }
                            td {
                                @if let Some(opens) = &step.opens {
                                    (say(Word::NotBefore, lang)) " " (opens) br;
                                }
                                (step.deadline.as_deref().unwrap_or("–"))
                            }
                            td { (step.roles.iter().map(|r| role_title(model, r)).collect::<Vec<_>>().join(", ")) }
                        }
                    }
                }
            }
            form.explain method="post" action="/staff/explain" {
                input type="hidden" name="csrf" value=(session.csrf);
                input type="hidden" name="client" value=(pseudonym.as_str());
                input type="hidden" name="purpose" value=(purpose);
                input type="hidden" name="case" value=(case.case);
                button type="submit" { (say(Word::WhyThisPlan, lang)) }
            }
            @if let Some(until) = kept_until {
                form.kept-answers method="post" action="/staff/form-kept" {
                    input type="hidden" name="csrf" value=(session.csrf);
                    input type="hidden" name="client" value=(pseudonym.as_str());
                    input type="hidden" name="purpose" value=(purpose);
                    input type="hidden" name="case" value=(case.case);
                    button type="submit" {
                        (say(Word::KeptAnswers, lang)) " (" (say(Word::KeptUntil, lang)) " "
                        (polku_engine::time::Timestamp(until).local_date_text()) ")"
                    }
                }
            }
            @if let (true, Some(_)) = (case.closed.is_none(), assessment::form_of_process(model, &case.process)) {
                @let waiting = state.api().and_then(|a| a.forms.state_of(&case.case));
                section.assessment-form {
                    h3 { (say(Word::AssessmentForm, lang)) }
                    @if waiting == Some(false) { p { (say(Word::AwaitingAnswers, lang)) } }
                    @if waiting == Some(true) {
                        form method="post" action="/staff/form-review" {
                            input type="hidden" name="csrf" value=(session.csrf);
                            input type="hidden" name="client" value=(pseudonym.as_str());
                            input type="hidden" name="purpose" value=(purpose);
                            input type="hidden" name="case" value=(case.case);
                            button type="submit" { (say(Word::ReviewAnswers, lang)) }
                        }
                    } @else {
                        form method="post" action="/staff/form-link" {
                            input type="hidden" name="csrf" value=(session.csrf);
                            input type="hidden" name="client" value=(pseudonym.as_str());
                            input type="hidden" name="purpose" value=(purpose);
                            input type="hidden" name="case" value=(case.case);
                            button type="submit" { (say(Word::CreateLink, lang)) }
                        }
                    }
                }
            }
            @if case.closed.is_none() {
                form.record method="post" action="/staff/event" {
                    fieldset {
                        legend { (say(Word::RecordEvent, lang)) }
                        input type="hidden" name="csrf" value=(session.csrf);
                        input type="hidden" name="client" value=(pseudonym.as_str());
                        input type="hidden" name="purpose" value=(purpose);
                        input type="hidden" name="case" value=(case.case);
                        p {
                            label for=(format!("kind-{}", case.case)) { (say(Word::WhatHappened, lang)) }
                            select id=(format!("kind-{}", case.case)) name="kind" {
                                option value="step_completed" { (say(Word::StepDone, lang)) }
                                option value="step_not_needed" { (say(Word::StepNotNeeded, lang)) }
                                option value="segment_changed" { (say(Word::SegmentChanged, lang)) }
                            }
                        }
                        p {
                            label for=(format!("step-{}", case.case)) { (say(Word::Step, lang)) }
                            select id=(format!("step-{}", case.case)) name="step" {
                                @for step in case.steps.iter().filter(|s| !matches!(s.state, StepState::Done | StepState::NotNeeded)) {
                                    option value=(step.step) { (step.title) }
                                }
                            }
                        }
                        p {
                            label for=(format!("segment-{}", case.case)) { (say(Word::NewSegment, lang)) }
                            select id=(format!("segment-{}", case.case)) name="segment" {
                                @for s in &segments { option value=(s) selected[*s == case.segment] { (s) } }
                            }
                        }
                        p {
                            label for=(format!("reason-{}", case.case)) { (say(Word::Reason, lang)) }
                            input id=(format!("reason-{}", case.case)) type="text" name="reason";
                        }
                        p {
                            label for=(format!("code-{}", case.case)) { (say(Word::ReasonCode, lang)) }
                            input id=(format!("code-{}", case.case)) type="text" name="reason_code";
                        }
                        button type="submit" { (say(Word::Save, lang)) }
                    }
                }
            }
            (map)
        }
    }
}

/// Records one event of a case as the signed-in staff member, with the unit check of every
/// write; `Err` with the reason the store gave when it was refused.
async fn record_as(
    state: &AppState,
    session: &Session,
    purpose: &str,
    case: &str,
    kind: EventKind,
    prefix: &str,
) -> Result<(), Option<String>> {
    let api = state.api().ok_or(None)?;
    let at = Timestamp(now());
    let id = auth::new_token().map(|t| format!("{prefix}-{}", &t[6..30])).map_err(|_| None)?;
    let event = Event {
        id,
        case: case.to_owned(),
        occurred: at,
        recorded: at,
        role: session.principal.role.as_str().to_owned(),
        kind,
    };
    let actor = session.principal.actor(purpose, "");
    let principal = session.principal.clone();
    let tracker = api.tracker.clone();
    let outcome = tokio::task::spawn_blocking(move || {
        let allowed = |u: Option<&str>| {
            u.is_some_and(|unit| auth::authorize(&principal, Action::RecordEvent { unit }).is_ok())
        };
        tracker.append(vec![event], &actor, &allowed)
    })
    .await;
    match outcome {
        Ok(Ok(result)) => match result.events.first() {
            Some(polku_store::service::EventResult::Stored { .. }) => Ok(()),
            Some(polku_store::service::EventResult::Refused { reason, .. }) => {
                Err(Some(reason.clone()))
            }
            _ => Err(None),
        },
        _ => Err(None),
    }
}

pub async fn record(
    State(state): State<AppState>,
    query: PageQuery,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Response {
    let (choice, fields, session) = match signed_in_post(&state, &query, &headers, &uri, &body) {
        Ok(post) => post,
        Err(refused) => return *refused,
    };
    let lang = choice.lang;
    let Some(api) = state.api() else {
        return (StatusCode::SERVICE_UNAVAILABLE, "no store").into_response();
    };
    let get = |k: &str| fields.get(k).map(|v| v.trim().to_owned()).unwrap_or_default();
    let (client, purpose, case) = (get("client"), get("purpose"), get("case"));
    let tracker = api.tracker.clone();
    let read = case.clone();
    let at = now();
    let asker = session.principal.clone();
    // The owner and the segment in one turn off the runtime's threads; a case of another unit
    // is answered as one that does not exist, and nothing more of it is read.
    let found = tokio::task::spawn_blocking(move || {
        let owner = tracker.case_owner(&read)?.filter(|(_, unit)| {
            auth::authorize(&asker, Action::ClientData { units: std::slice::from_ref(unit) })
                .is_ok()
        });
        Ok::<_, polku_store::tracker::TrackerError>(
            owner.map(|_| tracker.case_now(&read, at)).transpose()?.map(|s| s.map(|s| s.segment)),
        )
    })
    .await;
    let Ok(Ok(Some(current))) = found else {
        return show_client(
            &state,
            &uri,
            choice,
            &session,
            &client,
            &purpose,
            Some((false, say(Word::NotRecorded, lang).to_owned())),
        )
        .await;
    };
    let kind = match get("kind").as_str() {
        "step_completed" => EventKind::StepCompleted { step: get("step") },
        "step_not_needed" => EventKind::StepNotNeeded {
            step: get("step"),
            reason: get("reason"),
            reason_code: Some(get("reason_code")).filter(|c| !c.is_empty()),
        },
        "segment_changed" => EventKind::SegmentChanged {
            from: current.unwrap_or_default(),
            to: get("segment"),
            reason: get("reason"),
            by: session.principal.name.clone(),
        },
        _ => {
            return show_client(
                &state,
                &uri,
                choice,
                &session,
                &client,
                &purpose,
                Some((false, say(Word::NotRecorded, lang).to_owned())),
            )
            .await
        }
    };
    let notice = match record_as(&state, &session, &purpose, &case, kind, "staff").await {
        Ok(()) => (true, say(Word::Recorded, lang).to_owned()),
        Err(Some(reason)) => (false, format!("{}: {reason}", say(Word::NotRecorded, lang))),
        Err(None) => (false, say(Word::NotRecorded, lang).to_owned()),
    };
    show_client(&state, &uri, choice, &session, &client, &purpose, Some(notice)).await
}
