//! The assessment form in the product: the nurse makes a one-time link for a case, the client
//! fills the form in on a phone, and the nurse goes through the answers, sees the proposed
//! segment and what drove it, and confirms or overrides it (an override needs a reason). The
//! confirmed segment becomes a `segment_assessed` event.
//!
//! Privacy as seed 003 has it: the answers live only in this server's memory, never in the
//! store, a log, the access log or the metrics. They are overwritten and dropped as soon as the
//! nurse confirms, and a link or answers left waiting expire and are wiped the same way.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{Html, IntoResponse, Response};
use maud::{html, Markup, DOCTYPE};
use polku_dsl::Lang;
use polku_engine::event::EventKind;
use polku_engine::form::{Form, Kind, Proposal};

use super::super::auth::{self, Action};
use super::super::{choose_lang, AppState, PageQuery};
use super::{
    case_allowed, forbidden_page, now, private, show_client, signed_in_post, NotAllowed, Session,
};
use crate::maps::{say, Word};

/// How long a link waits for the client.
const OPEN_FOR: Duration = Duration::from_secs(30 * 60);
/// How long answers wait for the nurse.
const KEPT_FOR: Duration = Duration::from_secs(2 * 60 * 60);

/// Answers, wiped when dropped.
struct Answers {
    numbers: Vec<Option<u64>>,
    /// Free-text answers by question, as UTF-8 bytes so that they can be overwritten.
    texts: Vec<(String, Vec<u8>)>,
}

impl Drop for Answers {
    fn drop(&mut self) {
        for slot in &mut self.numbers {
            *slot = None;
        }
        for (_, text) in &mut self.texts {
            text.fill(0);
            // The writes must happen although the bytes are freed right after.
            std::hint::black_box(&text);
        }
    }
}

struct Pending {
    case: String,
    /// The form as it was when the link was made: the answers are read and scored against it
    /// even if the model changes meanwhile.
    form: Arc<Form>,
    expires: Instant,
    /// The browser that opened the link first (a random value in its cookie): only it may
    /// answer, so a forwarded link is of no use to anyone else.
    browser: Option<String>,
    answers: Option<Answers>,
}

/// A case's form, its answers as numbers by question, and the free-text answers.
type Held = (Arc<Form>, Vec<Option<u64>>, Vec<(String, String)>);

/// The cookie that binds a link to the browser that opened it.
const BROWSER_COOKIE: &str = "polku_form";

/// Links handed out and answers waiting for the nurse, by link token; in memory only.
pub struct FormLinks {
    links: Mutex<HashMap<String, Pending>>,
    /// How long a link waits for the client, and answers for the nurse.
    open_for: Duration,
    kept_for: Duration,
}

impl Default for FormLinks {
    fn default() -> Self {
        FormLinks::with_lifetimes(OPEN_FOR, KEPT_FOR)
    }
}

impl std::fmt::Debug for FormLinks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FormLinks")
    }
}

impl FormLinks {
    /// Links that wait `open_for` for the client and answers that wait `kept_for` for the nurse.
    pub fn with_lifetimes(open_for: Duration, kept_for: Duration) -> FormLinks {
        FormLinks { links: Mutex::new(HashMap::new()), open_for, kept_for }
    }

    fn with<T>(&self, work: impl FnOnce(&mut HashMap<String, Pending>) -> T) -> T {
        let mut links = self.links.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        // Expired links and abandoned answers go (their answers wiped on drop).
        links.retain(|_, p| p.expires > now);
        work(&mut links)
    }

    /// A new link for a case; an earlier one of the same case is withdrawn.
    fn create(&self, case: &str, form: Arc<Form>) -> std::io::Result<String> {
        let token = auth::new_token()?;
        let open_for = self.open_for;
        self.with(|links| {
            links.retain(|_, p| p.case != case);
            links.insert(
                token.clone(),
                Pending {
                    case: case.to_owned(),
                    form,
                    expires: Instant::now() + open_for,
                    browser: None,
                    answers: None,
                },
            );
        });
        Ok(token)
    }

    /// The form of a link that still waits for answers, opened in the browser whose cookie is
    /// `browser`. The first browser to open it gets a new cookie value (returned) and is the
    /// only one the link opens for from then on.
    fn open(&self, token: &str, browser: Option<&str>) -> Option<(Arc<Form>, Option<String>)> {
        let fresh = auth::new_token().ok()?;
        self.with(|links| {
            let p = links.get_mut(token).filter(|p| p.answers.is_none())?;
            match &p.browser {
                None => {
                    p.browser = Some(fresh.clone());
                    Some((p.form.clone(), Some(fresh)))
                }
                Some(b) if Some(b.as_str()) == browser => Some((p.form.clone(), None)),
                Some(_) => None,
            }
        })
    }

    /// Keeps the answers of a link sent from the browser that opened it; the link is used up.
    fn answer(&self, token: &str, browser: Option<&str>, answers: Answers) -> bool {
        let kept_for = self.kept_for;
        self.with(|links| match links.get_mut(token) {
            Some(p)
                if p.answers.is_none()
                    && p.browser.is_some()
                    && p.browser.as_deref() == browser =>
            {
                p.answers = Some(answers);
                p.expires = Instant::now() + kept_for;
                true
            }
            _ => false,
        })
    }

    /// Whether a case has a link out (`Some(false)`) or answers waiting (`Some(true)`).
    pub fn state_of(&self, case: &str) -> Option<bool> {
        self.with(|links| links.values().find(|p| p.case == case).map(|p| p.answers.is_some()))
    }

    /// The answers of a case, as the form scores them, with the free-text ones.
    fn answers_of(&self, case: &str) -> Option<Held> {
        self.with(|links| {
            let p = links.values().find(|p| p.case == case)?;
            let a = p.answers.as_ref()?;
            // The same form the answers were given to.
            let texts =
                a.texts.iter().map(|(q, t)| (q.clone(), String::from_utf8_lossy(t).into_owned()));
            Some((p.form.clone(), a.numbers.clone(), texts.collect()))
        })
    }

    /// Drops a case's link and answers (wiped on drop).
    fn discard(&self, case: &str) {
        self.with(|links| links.retain(|_, p| p.case != case));
    }

    /// How many links and answers are held (for tests).
    pub fn held(&self) -> usize {
        self.with(|links| links.len())
    }
}

/// The form gone through in the assessing step of a process.
pub fn form_of_process<'m>(model: &'m polku_engine::Model, process: &str) -> Option<&'m Form> {
    let prefix = format!("{process}.");
    model.forms.values().find(|f| f.steps.iter().any(|s| s.starts_with(&prefix)))
}

fn label(question: &polku_engine::form::Question, lang: Lang) -> &str {
    match lang {
        Lang::En => question.english.as_deref().unwrap_or(&question.title),
        Lang::Fi => &question.title,
    }
}

/// The fields of a staff form: client, purpose and case.
pub(super) fn who(fields: &HashMap<String, String>) -> (String, String, String) {
    let get = |k: &str| fields.get(k).map(|v| v.trim().to_owned()).unwrap_or_default();
    (get("client"), get("purpose"), get("case"))
}

/// `POST /staff/form-link`: a one-time link to the form of a case's process.
pub async fn make_link(
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
    let (client, purpose, case) = who(&fields);
    let notice = match link_for(&state, &session, &case).await {
        Ok(token) => {
            let host = headers
                .get(axum::http::header::HOST)
                .and_then(|h| h.to_str().ok())
                .unwrap_or("localhost");
            let scheme = if super::over_tls(&headers) { "https" } else { "http" };
            (true, format!("{} {scheme}://{host}/lomake/{token}", say(Word::LinkMade, lang)))
        }
        Err(word) => (false, say(word, lang).to_owned()),
    };
    show_client(&state, &uri, choice, &session, &client, &purpose, Some(notice)).await
}

/// A link to the form of the case's process, when the signed-in person may see the case. The
/// case is looked up off the runtime's threads.
async fn link_for(state: &AppState, session: &Session, case: &str) -> Result<String, Word> {
    let api = state.api().ok_or(Word::NotRecorded)?;
    let (tracker, read, at) = (api.tracker.clone(), case.to_owned(), now());
    let principal = session.principal.clone();
    // The case's unit first: nothing more of a case the person may not see is read.
    let found = tokio::task::spawn_blocking(move || {
        let Some((_, unit)) = tracker.case_owner(&read).map_err(|_| Word::StoreUnavailable)? else {
            return Err(Word::NoCases);
        };
        auth::authorize(&principal, Action::ClientData { units: &[unit] })
            .map_err(|_| Word::NoCases)?;
        let status = tracker.case_now(&read, at).map_err(|_| Word::StoreUnavailable)?;
        status.map(|status| status.process).ok_or(Word::NoCases)
    })
    .await;
    let process = found.map_err(|_| Word::StoreUnavailable)??;
    let version = state.model();
    let form = form_of_process(&version.model, &process).ok_or(Word::NoForm)?;
    api.forms.create(case, Arc::new(form.clone())).map_err(|_| Word::NotRecorded)
}

/// A page of the client's form: its own, without the staff's navigation.
fn client_page(lang: Lang, title: &str, body: Markup) -> Response {
    let code = if lang == Lang::Fi { "fi" } else { "en" };
    let markup = html! {
        (DOCTYPE)
        html lang=(code) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="referrer" content="no-referrer";
                title { (title) " – Polku" }
                link rel="stylesheet" href="/assets/style.css";
                link rel="icon" href="data:,";
            }
            body.client-form {
                main #main { (body) }
            }
        }
    };
    private(Html(markup.into_string()).into_response())
}

fn gone(lang: Lang) -> Response {
    let mut response = client_page(
        lang,
        say(Word::AssessmentForm, lang),
        html! { h1 { (say(Word::AssessmentForm, lang)) } p { (say(Word::LinkGone, lang)) } },
    );
    *response.status_mut() = StatusCode::NOT_FOUND;
    response
}

/// The questions as a form; `errors` by question name.
fn questions_form(form: &Form, token: &str, lang: Lang, errors: &HashMap<String, Word>) -> Markup {
    html! {
        form.assessment method="post" action=(format!("/lomake/{token}")) novalidate {
            @for q in &form.questions {
                @let id = format!("q-{}", q.name);
                @let error = errors.get(&q.name);
                @let error_id = format!("{id}-error");
                @let shown_if = q.shown_if.map(|c| {
                    let earlier = &form.questions[c.question];
                    format!("{} {}", say(Word::AnswerIf, lang), label(earlier, lang))
                });
                @match &q.kind {
                    Kind::Text => {
                        div.question {
                            label for=(id) { (label(q, lang)) }
                            @if let Some(hint) = &shown_if { p.hint id=(format!("{id}-hint")) { (hint) } }
                            textarea id=(id) name=(q.name) rows="3" {}
                        }
                    }
                    kind => {
                        fieldset.question aria-describedby=[error.map(|_| error_id.clone())] aria-invalid=[error.map(|_| "true")] {
                            legend { (label(q, lang)) }
                            @if let Some(hint) = &shown_if { p.hint { (hint) } }
                            @if error.is_some() {
                                p.error id=(error_id) { (say(Word::NotAnAnswer, lang)) }
                            }
                            @let (kind_of, options) = choices(kind, lang);
                            @for (i, (value, text)) in options.iter().enumerate() {
                                @let option_id = format!("{id}-{i}");
                                div.option {
                                    input type=(kind_of) id=(option_id) name=(q.name) value=(value);
                                    label for=(option_id) { (text) }
                                }
                            }
                        }
                    }
                }
            }
            button type="submit" { (say(Word::Send, lang)) }
        }
    }
}

/// The input type and the (value, label) options of a question.
fn choices(kind: &Kind, lang: Lang) -> (&'static str, Vec<(String, String)>) {
    match kind {
        Kind::Scale { min, max } => {
            ("radio", (*min..=*max).map(|n| (n.to_string(), n.to_string())).collect())
        }
        Kind::YesNo => (
            "radio",
            vec![
                ("kyllä".to_owned(), say(Word::Yes, lang).to_owned()),
                ("ei".to_owned(), say(Word::No, lang).to_owned()),
            ],
        ),
        Kind::Choice { options } => {
            ("radio", options.iter().map(|o| (o.clone(), o.replace('_', " "))).collect())
        }
        Kind::Multiple { options } => {
            ("checkbox", options.iter().map(|o| (o.clone(), o.replace('_', " "))).collect())
        }
        Kind::Text => ("text", Vec::new()),
    }
}

/// `GET /lomake/{token}`: the client's form, in the browser that opened the link first.
pub async fn client_form(
    State(state): State<AppState>,
    axum::extract::Path(token): axum::extract::Path<String>,
    query: PageQuery,
    headers: HeaderMap,
) -> Response {
    let lang = choose_lang(&query, &headers).lang;
    let Some(api) = state.api() else { return gone(lang) };
    let browser = super::cookie(&headers, BROWSER_COOKIE);
    let Some((form, fresh)) = api.forms.open(&token, browser.as_deref()) else { return gone(lang) };
    let title = if form.title.is_empty() { form.name.clone() } else { form.title.clone() };
    let mut response = client_page(
        lang,
        &title,
        html! {
            h1 { (title) }
            p { (say(Word::FormIntro, lang)) }
            (questions_form(&form, &token, lang, &HashMap::new()))
        },
    );
    if let Some(value) = fresh {
        let secure = if super::over_tls(&headers) { "; Secure" } else { "" };
        let cookie = format!(
            "{BROWSER_COOKIE}={value}; Path=/lomake/{token}; HttpOnly; SameSite=Strict; Max-Age={}{secure}",
            OPEN_FOR.as_secs()
        );
        if let Ok(value) = axum::http::HeaderValue::from_str(&cookie) {
            response.headers_mut().insert(axum::http::header::SET_COOKIE, value);
        }
    }
    response
}

/// Reads the posted answers: numbers by question as the form scores them, and free text.
fn read_posted(form: &Form, body: &[u8]) -> Result<Answers, HashMap<String, Word>> {
    let mut numbers = vec![None; form.questions.len()];
    let mut texts = Vec::new();
    let mut errors = HashMap::new();
    for (key, value) in form_urlencoded::parse(body) {
        let Some(at) = form.questions.iter().position(|q| q.name == key) else { continue };
        let q = &form.questions[at];
        let value = value.trim();
        if value.is_empty() {
            continue;
        }
        let read: Option<u64> = match &q.kind {
            Kind::Scale { min, max } => {
                value.parse::<u64>().ok().filter(|n| *n >= u64::from(*min) && *n <= u64::from(*max))
            }
            Kind::YesNo => match value {
                "kyllä" => Some(1),
                "ei" => Some(0),
                _ => None,
            },
            Kind::Choice { options } => {
                options.iter().position(|o| o == value).map(|i| 1 << i.min(63))
            }
            Kind::Multiple { options } => options
                .iter()
                .position(|o| o == value)
                .map(|i| numbers[at].unwrap_or(0) | 1 << i.min(63)),
            Kind::Text => {
                texts.push((q.name.clone(), value.as_bytes().to_vec()));
                continue;
            }
        };
        match read {
            Some(n) => numbers[at] = Some(n),
            None => {
                errors.insert(q.name.clone(), Word::NotAnAnswer);
            }
        }
    }
    if errors.is_empty() {
        form.drop_unasked(&mut numbers);
        Ok(Answers { numbers, texts })
    } else {
        Err(errors)
    }
}

/// `POST /lomake/{token}`: the client's answers, kept in memory for the nurse.
pub async fn client_answers(
    State(state): State<AppState>,
    axum::extract::Path(token): axum::extract::Path<String>,
    query: PageQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let lang = choose_lang(&query, &headers).lang;
    let Some(api) = state.api() else { return gone(lang) };
    let browser = super::cookie(&headers, BROWSER_COOKIE);
    // Only the browser that opened the link (it has the cookie by now) may answer.
    let Some((form, None)) = browser.as_deref().and_then(|b| api.forms.open(&token, Some(b)))
    else {
        return gone(lang);
    };
    let title = if form.title.is_empty() { form.name.clone() } else { form.title.clone() };
    match read_posted(&form, &body) {
        Ok(answers) => {
            if !api.forms.answer(&token, browser.as_deref(), answers) {
                return gone(lang);
            }
            client_page(
                lang,
                &title,
                html! { h1 { (title) } p role="status" { (say(Word::Thanks, lang)) } },
            )
        }
        Err(errors) => {
            let mut response = client_page(
                lang,
                &title,
                html! {
                    h1 { (title) }
                    p.error role="alert" { (say(Word::FormErrors, lang)) }
                    (questions_form(&form, &token, lang, &errors))
                },
            );
            *response.status_mut() = StatusCode::BAD_REQUEST;
            response
        }
    }
}

/// The case's form, answers and proposal, after logging the nurse's access to the client.
struct Review {
    form: Arc<Form>,
    numbers: Vec<Option<u64>>,
    texts: Vec<(String, String)>,
    proposal: Proposal,
    segments: Vec<String>,
}

/// The case's review, when the nurse may see the case and its answers are kept: looked up,
/// and the access logged, off the runtime's threads.
async fn review_of(
    state: &AppState,
    session: &Session,
    case: &str,
    purpose: &str,
) -> Option<Review> {
    let api = state.api()?;
    let (principal, case, purpose) =
        (session.principal.clone(), case.to_owned(), purpose.to_owned());
    let (form, numbers, texts) = tokio::task::spawn_blocking(move || {
        let (_, unit) = api.tracker.case_owner(&case).ok().flatten()?;
        auth::authorize(&principal, Action::ClientData { units: &[unit] }).ok()?;
        let found = api.forms.answers_of(&case)?;
        // The access to the client's data is logged before anything of it is shown.
        let actor = principal.actor(&purpose, "");
        api.tracker.case_status(&case, &actor, now(), Lang::Fi).ok()??;
        Some(found)
    })
    .await
    .ok()??;
    let version = state.model();
    let segments = form
        .segmentation
        .as_ref()
        .and_then(|s| version.model.segmentations.get(s))
        .map(|s| s.segments.clone())
        .unwrap_or_default();
    let proposal = form.score(&numbers);
    Some(Review { form, numbers, texts, proposal, segments })
}

fn answer_text(form: &Form, at: usize, value: Option<u64>, lang: Lang) -> String {
    let Some(v) = value else { return say(Word::NoAnswer, lang).to_owned() };
    match &form.questions[at].kind {
        Kind::YesNo => say(if v == 1 { Word::Yes } else { Word::No }, lang).to_owned(),
        Kind::Choice { options } | Kind::Multiple { options } => options
            .iter()
            .enumerate()
            .filter(|(i, _)| v & (1 << (*i).min(63)) != 0)
            .map(|(_, o)| o.replace('_', " "))
            .collect::<Vec<_>>()
            .join(", "),
        _ => v.to_string(),
    }
}

/// The client's answers beside the questions.
fn answers_list(
    form: &Form,
    numbers: &[Option<u64>],
    texts: &[(String, String)],
    lang: Lang,
) -> Markup {
    html! {
        dl {
            @for (i, q) in form.questions.iter().enumerate() {
                dt { (label(q, lang)) }
                @if q.kind == Kind::Text {
                    dd { (texts.iter().find(|(n, _)| *n == q.name).map_or(say(Word::NoAnswer, lang), |(_, t)| t.as_str())) }
                } @else {
                    dd { (answer_text(form, i, numbers.get(i).copied().flatten(), lang)) }
                }
            }
        }
    }
}

/// An answer set as it is kept when `[privacy] keep_answers_days` asks for it: serialised,
/// then encrypted by the store.
#[derive(serde::Serialize, serde::Deserialize)]
struct KeptForm {
    form: String,
    /// The form's questions by name, in order, so that a changed form is noticed.
    questions: Vec<String>,
    numbers: Vec<Option<u64>>,
    texts: Vec<(String, String)>,
}

fn review_page(
    review: &Review,
    session: &Session,
    (client, purpose, case): (&str, &str, &str),
    lang: Lang,
    problem: Option<Word>,
) -> Markup {
    let form = &review.form;
    let proposed = review.proposal.segment.clone().unwrap_or_default();
    html! {
        h1 { (say(Word::AssessmentForm, lang)) ": " (form.title) }
        @if let Some(problem) = problem { p.notice.failed role="alert" { (say(problem, lang)) } }
        div.review {
            section {
                h2 { (say(Word::ClientAnswers, lang)) }
                (answers_list(form, &review.numbers, &review.texts, lang))
            }
            section {
                h2 { (say(Word::ProfessionalPart, lang)) }
                ul { @for item in &form.items { li { (label(item, lang)) } } }
                h3 { (say(Word::Proposal, lang)) ": " strong.proposed { (if proposed.is_empty() { say(Word::Undecided, lang) } else { &proposed }) } }
                ul.axes {
                    @for axis in &review.proposal.axes {
                        li {
                            (axis.axis) ": " (axis.value.as_deref().unwrap_or(say(Word::Undecided, lang)))
                            @if !axis.driven_by.is_empty() { " (" (say(Word::DrivenBy, lang)) ": " (axis.driven_by.join(", ")) ")" }
                        }
                    }
                }
                @if let Some(guidance) = form.guidance.get(&proposed) {
                    p.guidance { strong { (say(Word::Guidance, lang)) ": " } (guidance) }
                }
            }
        }
        form.confirm method="post" action="/staff/form-confirm" {
            fieldset {
                legend { (say(Word::ConfirmSegment, lang)) }
                input type="hidden" name="csrf" value=(session.csrf);
                input type="hidden" name="client" value=(client);
                input type="hidden" name="purpose" value=(purpose);
                input type="hidden" name="case" value=(case);
                p {
                    label for="confirm-segment" { (say(Word::Segment, lang)) }
                    select #confirm-segment name="segment" {
                        @for s in &review.segments { option value=(s) selected[*s == proposed] { (s) } }
                    }
                }
                p {
                    label for="confirm-reason" { (say(Word::OverrideReason, lang)) }
                    input #confirm-reason type="text" name="reason";
                }
                button type="submit" { (say(Word::ConfirmSegment, lang)) }
            }
        }
    }
}

/// `POST /staff/form-review`: the answers beside the professional's part, the proposal and
/// what drove it.
pub async fn review(
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
    let (client, purpose, case) = who(&fields);
    let lang = choice.lang;
    if purpose.trim().is_empty() {
        return show_client(&state, &uri, choice, &session, &client, &purpose, None).await;
    }
    let Some(found) = review_of(&state, &session, &case, &purpose).await else {
        let notice = (false, say(Word::NoForm, lang).to_owned());
        return show_client(&state, &uri, choice, &session, &client, &purpose, Some(notice)).await;
    };
    let body = review_page(&found, &session, (&client, &purpose, &case), lang, None);
    private(super::super::pages::page(super::frame(&state, &uri, lang, choice), body))
}

/// `POST /staff/form-confirm`: the confirmed segment becomes a `segment_assessed` event and
/// the answers are discarded.
pub async fn confirm(
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
    let (client, purpose, case) = who(&fields);
    if purpose.trim().is_empty() {
        return show_client(&state, &uri, choice, &session, &client, &purpose, None).await;
    }
    let segment = fields.get("segment").map(|s| s.trim().to_owned()).unwrap_or_default();
    let reason = fields.get("reason").map(|s| s.trim().to_owned()).unwrap_or_default();
    let Some(found) = review_of(&state, &session, &case, &purpose).await else {
        let notice = (false, say(Word::NoForm, lang).to_owned());
        return show_client(&state, &uri, choice, &session, &client, &purpose, Some(notice)).await;
    };
    let proposed = found.proposal.segment.clone();
    let known = found.segments.contains(&segment);
    if !known || (proposed.as_deref() != Some(segment.as_str()) && reason.is_empty()) {
        let body = review_page(
            &found,
            &session,
            (&client, &purpose, &case),
            lang,
            Some(if known { Word::OverrideNeedsReason } else { Word::NotRecorded }),
        );
        let mut response =
            super::super::pages::page(super::frame(&state, &uri, lang, choice), body);
        *response.status_mut() = StatusCode::BAD_REQUEST;
        return private(response);
    }
    // With `keep_answers_days`, the answers are kept encrypted once the segment is recorded.
    let keep = api.keep_answers_days.map(|days| {
        let kept = KeptForm {
            form: found.form.name.clone(),
            questions: found.form.questions.iter().map(|q| q.name.clone()).collect(),
            numbers: found.numbers.clone(),
            texts: found.texts.clone(),
        };
        (serde_json::to_vec(&kept), kept.form.clone(), days)
    });
    // The axis values stay with the segment; the answers that gave them do not.
    let axes = found
        .proposal
        .axes
        .iter()
        .filter_map(|a| Some((a.axis.clone(), a.value.clone()?)))
        .collect();
    drop(found);
    let kind = EventKind::SegmentAssessed {
        segment,
        by: session.principal.name.clone(),
        reason: Some(if reason.is_empty() {
            format!("{}: {}", say(Word::Proposal, Lang::Fi), proposed.unwrap_or_default())
        } else {
            reason
        }),
        axes,
    };
    let stored = super::record_as(&state, &session, &purpose, &case, kind, "form").await.is_ok();
    let notice = if stored {
        let kept = match keep {
            Some((Ok(plain), form_name, days)) => {
                let at = now();
                let until = at + i64::from(days) * 86_400;
                let actor = session.principal.actor(&purpose, "");
                let (tracker, id) = (api.tracker.clone(), case.clone());
                let kept = tokio::task::spawn_blocking(move || {
                    tracker.keep_answers(&actor, &id, &form_name, &plain, (at, until))
                })
                .await;
                match kept {
                    Ok(Ok(())) => Some(until),
                    _ => {
                        eprintln!(
                            "the answers of an assessment could not be kept: they were discarded"
                        );
                        None
                    }
                }
            }
            _ => None,
        };
        api.forms.discard(&case);
        match kept {
            Some(until) => (
                true,
                format!(
                    "{} {}",
                    say(Word::AnswersKept, lang),
                    polku_engine::time::Timestamp(until).local_date_text()
                ),
            ),
            None => (true, say(Word::AnswersWiped, lang).to_owned()),
        }
    } else {
        (false, say(Word::NotRecorded, lang).to_owned())
    };
    show_client(&state, &uri, choice, &session, &client, &purpose, Some(notice)).await
}

/// `POST /staff/form-kept`: the answers kept for a case (`[privacy] keep_answers_days`),
/// opened after the access is logged.
pub async fn kept(
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
    let (client, purpose, case) = who(&fields);
    if purpose.trim().is_empty() {
        // The client's page says that a purpose is needed.
        return show_client(&state, &uri, choice, &session, &client, &purpose, None).await;
    }
    let (api, client) = match case_allowed(&state, &session, &case).await {
        Ok(allowed) => allowed,
        Err(NotAllowed::Forbidden) => return forbidden_page(&state, &uri, choice),
        // The client's page says that the database does not answer (or shows the client, if
        // it answers again).
        Err(NotAllowed::Unavailable) => {
            return show_client(&state, &uri, choice, &session, &client, &purpose, None).await
        }
    };
    let actor = session.principal.actor(&purpose, "");
    let (tracker, id, at) = (api.tracker.clone(), case.clone(), now());
    let sets = tokio::task::spawn_blocking(move || tracker.kept_answers(&actor, &id, at)).await;
    let sets = match sets {
        Ok(Ok(sets)) if !sets.is_empty() => sets,
        _ => {
            let notice = (false, say(Word::NoForm, lang).to_owned());
            return show_client(&state, &uri, choice, &session, &client, &purpose, Some(notice))
                .await;
        }
    };
    let version = state.model();
    let body = html! {
        h1 { (say(Word::KeptAnswers, lang)) }
        @for (row, plain) in &sets {
            @let kept: Option<KeptForm> = plain.as_deref().and_then(|p| serde_json::from_slice(p).ok());
            @let form = version.model.forms.get(&row.form);
            section.kept {
                h2 {
                    (form.map_or(row.form.as_str(), |f| f.title.as_str())) " – "
                    (say(Word::KeptUntil, lang)) " "
                    (polku_engine::time::Timestamp(row.expires).local_date_text())
                }
                @if plain.is_none() {
                    p.notice.failed { (say(Word::AnswersUnreadable, lang)) }
                } @else {
                @match (kept, form) {
                    (Some(k), Some(f)) if k.questions.iter().eq(f.questions.iter().map(|q| &q.name)) => {
                        (answers_list(f, &k.numbers, &k.texts, lang))
                    }
                    _ => { p.notice.failed { (say(Word::FormChanged, lang)) } }
                }
                }
            }
        }
        form method="post" action="/staff/client" {
            input type="hidden" name="csrf" value=(session.csrf);
            input type="hidden" name="client" value=(client);
            input type="hidden" name="purpose" value=(purpose);
            button type="submit" { (say(Word::BackToClient, lang)) }
        }
    };
    private(super::super::pages::page(super::frame(&state, &uri, lang, choice), body))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form() -> Arc<Form> {
        let mut sources = polku_dsl::SourceSet::new();
        sources.add(
            "l.polku",
            r#"
segmentointi s "S" {
  segmentti a "A"
}
lomake l "L" {
  segmentointi s
  kysymys jaksaminen "J" asteikko 1 5
  kysymys kerro "K" teksti
}
"#,
        );
        let checked = polku_dsl::check(&sources, &[]);
        Arc::new(polku_engine::compile(&checked.files).forms["l"].clone())
    }

    fn answers(text: &str) -> Answers {
        Answers {
            numbers: vec![Some(2), None],
            texts: vec![("kerro".into(), text.as_bytes().to_vec())],
        }
    }

    #[test]
    fn a_link_opens_in_one_browser_works_once_and_answers_wait_only_until_confirmed() {
        let links = FormLinks::default();
        let token = links.create("c-1", form()).unwrap();
        assert_eq!(links.state_of("c-1"), Some(false));
        // The first browser gets a cookie; another browser is refused from then on.
        let (opened, cookie) = links.open(&token, None).unwrap();
        assert_eq!(opened.name, "l");
        let cookie = cookie.unwrap();
        assert!(links.open(&token, None).is_none(), "a forwarded link opens for no one else");
        assert!(links.open(&token, Some("other")).is_none());
        assert!(links.open(&token, Some(&cookie)).is_some_and(|(_, fresh)| fresh.is_none()));
        assert!(!links.answer(&token, Some("other"), answers("väärä")));
        assert!(links.answer(&token, Some(&cookie), answers("salaisuus")));
        // Used up: neither opened nor answered again.
        assert!(links.open(&token, Some(&cookie)).is_none());
        assert!(!links.answer(&token, Some(&cookie), answers("toinen")));
        assert_eq!(links.state_of("c-1"), Some(true));
        let (form, numbers, texts) = links.answers_of("c-1").unwrap();
        assert_eq!((form.name.as_str(), numbers[0]), ("l", Some(2)));
        assert_eq!(texts, [("kerro".to_owned(), "salaisuus".to_owned())]);
        links.discard("c-1");
        assert_eq!(links.held(), 0);
        assert!(links.answers_of("c-1").is_none());
    }

    #[test]
    fn a_new_link_withdraws_the_old_one_and_abandoned_forms_expire() {
        let links = FormLinks::with_lifetimes(Duration::from_millis(30), Duration::from_millis(30));
        let first = links.create("c-1", form()).unwrap();
        let second = links.create("c-1", form()).unwrap();
        assert!(links.open(&first, None).is_none(), "the earlier link is withdrawn");
        let (_, cookie) = links.open(&second, None).unwrap();
        assert!(links.answer(&second, cookie.as_deref(), answers("hylätty")));
        std::thread::sleep(Duration::from_millis(60));
        assert!(
            links.answers_of("c-1").is_none(),
            "answers the nurse never went through are wiped"
        );
        assert_eq!(links.held(), 0);
        let late = links.create("c-2", form()).unwrap();
        std::thread::sleep(Duration::from_millis(60));
        assert!(links.open(&late, None).is_none(), "a link not opened in time expires");
    }
}
