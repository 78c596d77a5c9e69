//! The HTTP API for staff and the region's record systems: `/api/v1`, JSON.
//!
//! Every handler is thin: it reads the request, asks [`auth::authorize`] (the one policy),
//! calls the tracker service and maps errors to one JSON shape:
//! `{"error": {"status": 400, "message": "...", "field": "client"}}`, with the request's id in
//! the `x-request-id` header. A client's mistake is a 4xx naming what is wrong; an internal
//! error is a 500 whose details go to the server's log under the request id, never to the
//! client. A personal identity code is accepted wherever a client is named in a body, is
//! pseudonymised at once, and is never stored or echoed.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use polku_dsl::Lang;
use polku_engine::pseudonym::{looks_like_identity_code, Pseudonym};
use polku_engine::time::Timestamp;
use polku_store::service::StatusNow;
use polku_store::tracker::{Actor, TrackerError};
use polku_store::{StoreError, TrackerService};
use serde::{Deserialize, Serialize};

use super::auth::{self, Action, Principal, TokenCache};
use super::{AppState, PageQuery};

/// The largest request body accepted: about 20,000 events.
pub const MAX_BODY: usize = 8 * 1024 * 1024;

/// What the API needs besides the model.
#[derive(Debug)]
pub struct Api {
    pub tracker: TrackerService,
    tokens: TokenCache,
    /// People sign in with the identity provider's JWTs, when one is configured.
    oidc: Option<super::oidc::Oidc>,
    pub sessions: super::staff::Sessions,
    /// Assessment-form links and answers waiting for the nurse, in memory only.
    pub forms: super::staff::assessment::FormLinks,
    pub metrics: super::metrics::Metrics,
    /// Keep a form's answers encrypted for this many days after the confirmation
    /// (`[privacy] keep_answers_days`); `None` discards them at once.
    pub keep_answers_days: Option<u32>,
    requests: AtomicU64,
    started: u64,
}

impl Api {
    pub fn new(tracker: TrackerService) -> Api {
        let started = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        Api {
            tracker,
            tokens: TokenCache::default(),
            oidc: None,
            sessions: super::staff::Sessions::default(),
            forms: super::staff::assessment::FormLinks::default(),
            metrics: super::metrics::Metrics::default(),
            keep_answers_days: None,
            requests: AtomicU64::new(0),
            started,
        }
    }

    /// Keeps a form's answers encrypted for `days` after the nurse confirms the segment.
    pub fn with_kept_answers(mut self, days: Option<u32>) -> Api {
        self.keep_answers_days = days.filter(|&d| d > 0);
        self
    }

    /// Accepts the JWTs of an identity provider besides the API tokens.
    pub fn with_oidc(mut self, oidc: super::oidc::Oidc) -> Api {
        self.oidc = Some(oidc);
        self
    }

    /// The identity provider, when one is configured.
    pub fn oidc(&self) -> Option<&super::oidc::Oidc> {
        self.oidc.as_ref()
    }

    fn request_id(&self) -> String {
        format!("{:x}-{:06x}", self.started, self.requests.fetch_add(1, Ordering::Relaxed))
    }

    /// The holder of a bearer token, from the cache or else off the runtime's threads: an API
    /// token not seen yet is read from the store, and a JWT's keys may have to be fetched from
    /// the identity provider, either of which may wait for seconds.
    async fn principal(self: &Arc<Self>, headers: &HeaderMap) -> Result<Arc<Principal>, ApiError> {
        let value = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| ApiError::unauthorized("sign in: send Authorization: Bearer TOKEN"))?;
        let token =
            value.strip_prefix("Bearer ").map(str::trim).filter(|t| !t.is_empty()).ok_or_else(
                || ApiError::unauthorized("the Authorization header must be Bearer TOKEN"),
            )?;
        if let Some(principal) = self.tokens.get(&auth::token_key(token)) {
            return Ok(principal);
        }
        let (api, token) = (self.clone(), token.to_owned());
        tokio::task::spawn_blocking(move || api.principal_of(&token))
            .await
            .map_err(ApiError::internal)?
    }

    /// The holder of a token, from the cache or the store.
    pub fn principal_of(&self, token: &str) -> Result<Arc<Principal>, ApiError> {
        if token.trim().is_empty() {
            return Err(ApiError::unauthorized("no token"));
        }
        // A JWT has three parts; an API token has none.
        if token.split('.').count() == 3 {
            return match &self.oidc {
                Some(oidc) => oidc.validate(token.trim()).map(Arc::new).map_err(|e| {
                    let status = if matches!(e, super::oidc::TokenError::Keys(_)) {
                        StatusCode::SERVICE_UNAVAILABLE
                    } else {
                        StatusCode::UNAUTHORIZED
                    };
                    ApiError::new(status, e.to_string())
                }),
                None => {
                    Err(ApiError::unauthorized("this server takes no identity provider's tokens"))
                }
            };
        }
        let key = auth::token_key(token);
        if let Some(principal) = self.tokens.get(&key) {
            return Ok(principal);
        }
        let stored = self.tracker.meta(&key).map_err(ApiError::internal)?;
        let principal: Arc<Principal> = stored
            .and_then(|text| serde_json::from_str(&text).ok())
            .map(Arc::new)
            .ok_or_else(|| ApiError::unauthorized("unknown or revoked token"))?;
        self.tokens.put(key, principal.clone());
        Ok(principal)
    }
}

/// Creates a token for `principal` in the store and returns it: the only time it is shown.
pub fn create_token(
    tracker: &TrackerService,
    principal: &Principal,
) -> Result<String, TrackerError> {
    let token = auth::new_token().map_err(|e| StoreError::Other(format!("no randomness: {e}")))?;
    let grant = serde_json::to_string(principal).map_err(|e| TrackerError::Model(e.to_string()))?;
    tracker.set_meta(&auth::token_key(&token), &grant)?;
    Ok(token)
}

/// One error shape for the whole API.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    message: String,
    field: Option<String>,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError { status, message: message.into(), field: None }
    }

    fn field(mut self, field: &str) -> ApiError {
        self.field = Some(field.to_owned());
        self
    }

    fn bad(field: &str, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, message).field(field)
    }

    fn unauthorized(message: &str) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, message)
    }

    fn not_found(field: &str, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, message).field(field)
    }

    /// An internal error: logged with the request id by the middleware, never shown.
    fn internal(error: impl std::fmt::Display) -> ApiError {
        ApiError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            message: error.to_string(),
            field: None,
        }
    }
}

impl From<auth::Denied> for ApiError {
    fn from(denied: auth::Denied) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, denied.to_string())
    }
}

impl From<TrackerError> for ApiError {
    fn from(error: TrackerError) -> ApiError {
        match error {
            TrackerError::Client(message) => ApiError::bad("client", message.to_string()),
            TrackerError::Store(polku_store::StoreError::MarkersMoved) => ApiError::new(
                StatusCode::CONFLICT,
                "other runs of the marker rules were stored meanwhile: send the extract again",
            ),
            // Other servers kept writing between this batch's validation and its commit,
            // time after time: nothing of it was stored, and it can be sent again.
            TrackerError::Store(polku_store::StoreError::Conflict { .. }) => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "other servers wrote to the database meanwhile, again and again: nothing of this batch was stored; send it again",
            ),
            // The database does not answer for now: nothing was read or stored. (Its own words
            // are in the server's log, from the follow, not in the answer.)
            TrackerError::Unavailable(_) => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "the database does not answer just now: nothing was read or stored; try again in a moment",
            ),
            other => ApiError::internal(other),
        }
    }
}

/// The internal message of a 500, for the middleware to log.
#[derive(Debug, Clone)]
struct Internal(String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let internal = self.status == StatusCode::INTERNAL_SERVER_ERROR;
        let message = if internal {
            "internal error: the server's log has the details under this request's id".to_owned()
        } else {
            self.message.clone()
        };
        let body = ErrorBody {
            error: ErrorDetail { status: self.status.as_u16(), message, field: self.field.clone() },
        };
        let mut response = (self.status, Json(body)).into_response();
        if internal {
            response.extensions_mut().insert(Internal(self.message));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

type ApiResult<T> = Result<Json<T>, ApiError>;

fn api(state: &AppState) -> Result<Arc<Api>, ApiError> {
    state.api().ok_or_else(|| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "this server has no store: start it with --database",
        )
    })
}

fn actor(principal: &Principal, headers: &HeaderMap, purpose: &str) -> Actor {
    let request = headers.get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or_default();
    principal.actor(purpose, request)
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

fn date(field: &str, text: Option<&str>, default: i64) -> Result<i64, ApiError> {
    match text {
        None => Ok(default),
        Some(text) => Timestamp::parse(text)
            .map(|t| t.0)
            .ok_or_else(|| ApiError::bad(field, "not a date: write it as 2026-06-30")),
    }
}

/// `from` and `to` of a report: by default the year up to today.
fn date_range(params: &std::collections::HashMap<String, String>) -> Result<(i64, i64), ApiError> {
    let to = date("to", params.get("to").map(String::as_str), now())?;
    let from = date("from", params.get("from").map(String::as_str), to - 365 * 86_400)?;
    if from > to {
        return Err(ApiError::bad("from", "from must not be after to"));
    }
    Ok((from, to))
}

fn lang_of(query: &PageQuery, headers: &HeaderMap) -> Lang {
    super::choose_lang(query, headers).lang
}

/// Every operation of `/api/v1`: method and path. The router is built from this list, and the
/// OpenAPI document describes exactly these (a test holds them together).
pub const OPERATIONS: &[(&str, &str)] = &[
    ("get", "/api/v1/model"),
    ("get", "/api/v1/model/processes/{process}/plan"),
    ("post", "/api/v1/events"),
    ("post", "/api/v1/client-status"),
    ("post", "/api/v1/explain"),
    ("get", "/api/v1/cases/{case}"),
    ("get", "/api/v1/reports/segments"),
    ("get", "/api/v1/reports/transitions"),
    ("get", "/api/v1/reports/completion"),
    ("post", "/api/v1/segment-daily"),
    ("get", "/api/v1/reports/client-segments"),
    ("get", "/api/v1/reports/client-transitions"),
    ("get", "/api/v1/audit"),
    ("post", "/api/v1/audit"),
    ("get", "/api/v1/openapi.json"),
];

/// The `/api/v1` routes, `/readyz` and `/metrics`.
pub fn routes() -> Router<AppState> {
    let mut router = Router::new();
    let mut audit = None;
    for (method, path) in OPERATIONS {
        let route = match (*method, *path) {
            ("get", "/api/v1/model") => get(model),
            ("get", "/api/v1/model/processes/{process}/plan") => get(plan),
            ("post", "/api/v1/events") => post(events),
            ("post", "/api/v1/client-status") => post(client_status),
            ("post", "/api/v1/explain") => post(explain),
            ("get", "/api/v1/cases/{case}") => get(case_status),
            ("get", "/api/v1/reports/segments") => get(report_segments),
            ("get", "/api/v1/reports/transitions") => get(report_transitions),
            ("get", "/api/v1/reports/completion") => get(report_completion),
            ("post", "/api/v1/segment-daily") => post(segment_daily),
            ("get", "/api/v1/reports/client-segments") => get(report_client_segments),
            ("get", "/api/v1/reports/client-transitions") => get(report_client_transitions),
            ("get", "/api/v1/audit") => {
                audit = Some(audit.unwrap_or_else(axum::routing::MethodRouter::new).get(audit_get));
                continue;
            }
            ("post", "/api/v1/audit") => {
                audit =
                    Some(audit.unwrap_or_else(axum::routing::MethodRouter::new).post(audit_post));
                continue;
            }
            ("get", "/api/v1/openapi.json") => get(super::openapi::document),
            _ => continue,
        };
        router = router.route(path, route);
    }
    if let Some(audit) = audit {
        router = router.route("/api/v1/audit", audit);
    }
    router.route("/readyz", get(readyz)).route("/metrics", get(metrics))
}

/// Runs tracker work (which waits for locks and the disk) off the runtime's threads.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, TrackerError> + Send + 'static,
) -> Result<T, ApiError> {
    Ok(tokio::task::spawn_blocking(work).await.map_err(ApiError::internal)??)
}

/// The body of every error.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct ErrorDetail {
    pub status: u16,
    pub message: String,
    /// The field or parameter at fault, where one is.
    pub field: Option<String>,
}

/// Gives every request an id (`x-request-id`), counts it for `/metrics`, and logs internal
/// errors with the id.
pub async fn observe(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let started = Instant::now();
    let api = state.api();
    let id = match &api {
        Some(api) => api.request_id(),
        None => String::new(),
    };
    if let Ok(value) = HeaderValue::from_str(&id) {
        request.headers_mut().insert("x-request-id", value);
    }
    let route = request.extensions().get::<axum::extract::MatchedPath>().cloned();
    let mut response = next.run(request).await;
    if let Some(Internal(message)) = response.extensions().get::<Internal>() {
        eprintln!("request {id}: internal error: {message}");
    }
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert("x-request-id", value);
    }
    if let Some(api) = api {
        let route = route.as_ref().map_or("unmatched", |p| p.as_str());
        api.metrics.observe(route, response.status().as_u16(), started.elapsed());
    }
    response
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct ModelSummary {
    pub name: Option<String>,
    pub version: String,
    pub services: Vec<Named>,
    pub chains: Vec<Named>,
    pub segmentations: Vec<NamedSegmentation>,
    pub processes: Vec<NamedProcess>,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct Named {
    pub name: String,
    pub title: String,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct NamedSegmentation {
    pub name: String,
    pub title: String,
    /// The units whose clients the segmentation groups; empty for the whole clientele.
    pub units: Vec<String>,
    pub segments: Vec<String>,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct NamedProcess {
    pub name: String,
    pub title: String,
    pub service: Option<String>,
    pub segmentation: Option<String>,
    pub segments: Vec<String>,
}

async fn model(State(state): State<AppState>, headers: HeaderMap) -> ApiResult<ModelSummary> {
    let api = api(&state)?;
    auth::authorize(&*api.principal(&headers).await?, Action::Model)?;
    let version = state.model();
    let m = &version.model;
    Ok(Json(ModelSummary {
        name: version.name.clone(),
        version: version.version.clone(),
        services: m
            .services
            .iter()
            .map(|(n, s)| Named { name: n.clone(), title: s.title.clone() })
            .collect(),
        chains: m
            .chains
            .iter()
            .map(|(n, c)| Named { name: n.clone(), title: c.title.clone() })
            .collect(),
        segmentations: m
            .segmentations
            .iter()
            .map(|(n, s)| NamedSegmentation {
                name: n.clone(),
                title: s.title.clone(),
                units: s.units.clone(),
                segments: s.segments.clone(),
            })
            .collect(),
        processes: m
            .processes
            .iter()
            .map(|(n, p)| NamedProcess {
                name: n.clone(),
                title: p.title.clone(),
                service: p.service.clone(),
                segmentation: p.segmentation.clone(),
                segments: p.plans.keys().cloned().collect(),
            })
            .collect(),
    }))
}

async fn plan(
    State(state): State<AppState>,
    Path(process): Path<String>,
    query: PageQuery,
    headers: HeaderMap,
) -> Result<Json<serde_json::Value>, ApiError> {
    let api = api(&state)?;
    auth::authorize(&*api.principal(&headers).await?, Action::Model)?;
    let version = state.model();
    let p = version
        .model
        .processes
        .get(&process)
        .ok_or_else(|| ApiError::not_found("process", format!("no process {process}")))?;
    let value = match query.segment.as_deref().filter(|s| !s.is_empty()) {
        Some(segment) => serde_json::to_value(p.plans.get(segment).ok_or_else(|| {
            ApiError::not_found("segment", format!("process {process} has no segment {segment}"))
        })?),
        None => serde_json::to_value(
            std::iter::once(&p.generic).chain(p.plans.values()).collect::<Vec<_>>(),
        ),
    };
    value.map(Json).map_err(ApiError::internal)
}

/// The answer to a batch: per event stored, repeat or refused, plus the lines that could not
/// be read at all.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct EventsAnswer {
    #[serde(flatten)]
    pub result: polku_store::service::BatchResult,
    pub unreadable: Vec<Unreadable>,
    /// Events kept, with something worth a look (a year outside the plausible window,
    /// `recorded` before `occurred`).
    pub warnings: Vec<Unreadable>,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct Unreadable {
    /// The event's place in the batch (1-based): its line in JSON Lines, its index + 1 in a
    /// JSON array.
    pub line: usize,
    pub field: String,
    pub reason: String,
}

/// JSON (one event or an array) or JSON Lines into lines of one event each. JSON Lines pass
/// as they are, so that a line that is not UTF-8 is refused alone, by its number.
fn event_lines(content_type: &str, body: &[u8]) -> Result<Vec<u8>, ApiError> {
    let kind = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    match kind.as_str() {
        "application/x-ndjson" | "application/jsonl" | "application/json-lines" => {
            Ok(body.to_vec())
        }
        "application/json" => {
            let text = std::str::from_utf8(body).map_err(|e| {
                ApiError::bad("body", format!("not UTF-8 (at byte {})", e.valid_up_to()))
            })?;
            let value: serde_json::Value = serde_json::from_str(text).map_err(|e| {
                ApiError::bad("body", format!("not JSON: line {} column {}", e.line(), e.column()))
            })?;
            let items = match value {
                serde_json::Value::Array(items) => items,
                other @ serde_json::Value::Object(_) => vec![other],
                _ => return Err(ApiError::bad("body", "send an event object or an array of them")),
            };
            if let Some(i) = items.iter().position(|item| !item.is_object()) {
                return Err(ApiError::bad(
                    "body",
                    format!("item {} of the array is not an event object", i + 1),
                ));
            }
            let mut out = String::new();
            for item in items {
                out.push_str(&item.to_string());
                out.push('\n');
            }
            Ok(out.into_bytes())
        }
        _ => Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "send application/json (an event or an array) or application/x-ndjson (JSON Lines)",
        )
        .field("content-type")),
    }
}

async fn events(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let api = api(&state)?;
    let principal = api.principal(&headers).await?;
    auth::authorize(&principal, Action::SendEvents)?;
    if body.len() > MAX_BODY {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("at most {MAX_BODY} bytes a request"),
        ));
    }
    let content_type =
        headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let lines = event_lines(content_type, &body)?;
    let tracker = api.tracker.clone();
    let who = actor(&principal, &headers, "");
    let answer = blocking(move || {
        let read = tracker.read_events(&lines);
        let split = |line: usize, text: &str| {
            let (field, reason) = match text.split_once(": ") {
                Some((f, r)) if !f.contains(' ') => (f.to_owned(), r.to_owned()),
                _ => ("event".to_owned(), text.to_owned()),
            };
            Unreadable { line, field, reason }
        };
        let warnings: Vec<Unreadable> =
            read.warnings.iter().map(|w| split(w.line, &w.warning.to_string())).collect();
        let events = read.events;
        let unreadable: Vec<Unreadable> = read
            .errors
            .into_iter()
            .map(|e| {
                let (field, reason) = match e.reason.en.split_once(": ") {
                    Some((f, r)) if !f.contains(' ') => (f.to_owned(), r.to_owned()),
                    _ => ("event".to_owned(), e.reason.en.clone()),
                };
                Unreadable { line: e.line, field, reason }
            })
            .collect();
        // An event may arrive before its case's opening (events are put in event-time order);
        // only a record system may send such, since no unit decides it yet.
        let allowed = |unit: Option<&str>| match unit {
            Some(unit) => auth::authorize(&principal, Action::RecordEvent { unit }).is_ok(),
            None => principal.role == auth::Role::System,
        };
        let result =
            tracker.append(events.into_iter().map(|(_, e)| e).collect(), &who, &allowed)?;
        Ok::<_, TrackerError>(EventsAnswer { result, unreadable, warnings })
    })
    .await?;
    api.metrics.events(answer.result.stored);
    // An id used again for another event is a conflict: the answer still says per event what
    // became of each.
    let status = if answer.result.conflicts > 0 { StatusCode::CONFLICT } else { StatusCode::OK };
    Ok((status, Json(answer)).into_response())
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ClientStatusRequest {
    /// A personal identity code or a pseudonym.
    #[schemars(length(min = 1))]
    pub client: String,
    /// Why the client's data is looked at; logged.
    #[schemars(length(min = 1))]
    pub purpose: String,
    /// Judge deadlines on this date (YYYY-MM-DD) instead of today.
    #[serde(default)]
    #[schemars(extend("format" = "date"))]
    pub as_of: Option<String>,
}

fn read_json<T: serde::de::DeserializeOwned>(
    headers: &HeaderMap,
    body: &[u8],
) -> Result<T, ApiError> {
    let kind = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    if !kind.trim_start().to_ascii_lowercase().starts_with("application/json") {
        return Err(ApiError::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "send application/json")
            .field("content-type"));
    }
    // A request is an object; serde would also read a struct from an array.
    if body.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(ApiError::bad("body", "send a JSON object"));
    }
    serde_json::from_slice(body).map_err(|e| {
        let text = e.to_string();
        // serde names the field in its message; a value shaped like an identity code is never
        // repeated.
        let field = text
            .split('`')
            .nth(1)
            .filter(|f| !looks_like_identity_code(f))
            .unwrap_or("body")
            .to_owned();
        // Only the kind of mistake, never the value sent.
        let what = if text.starts_with("missing field") {
            "missing"
        } else if text.starts_with("unknown field") {
            "not a field of this request"
        } else if text.starts_with("invalid type") || text.starts_with("invalid value") {
            "of the wrong type"
        } else {
            "not readable"
        };
        ApiError::bad(
            &field,
            format!("{field} is {what} (line {} column {})", e.line(), e.column()),
        )
    })
}

fn pseudonym_of(api: &Api, client: &str) -> Result<Pseudonym, ApiError> {
    api.tracker.pseudonym(client).map_err(|_| {
        ApiError::bad(
            "client",
            "neither a valid personal identity code nor a pseudonym (64 hexadecimal characters)",
        )
    })
}

async fn client_status(
    State(state): State<AppState>,
    query: PageQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let api = api(&state)?;
    let principal = api.principal(&headers).await?;
    let request: ClientStatusRequest = read_json(&headers, &body)?;
    let pseudonym = client_allowed(&api, &principal, &request.client, &request.purpose).await?;
    let at = date("as_of", request.as_of.as_deref(), now())?;
    let who = actor(&principal, &headers, &request.purpose);
    let lang = lang_of(&query, &headers);
    let tracker = api.tracker.clone();
    let scope = auth::client_scope(&principal);
    // The access row is awaited without holding a thread; a status kept ready is answered at
    // once, one to be made is made off the runtime's threads.
    let status = match tracker.client_status_json_now(&pseudonym, &who, at, lang, &scope).await? {
        StatusNow::Ready(json) => json,
        StatusNow::Make(work) => blocking(move || tracker.make_client_status_json(work)).await?,
    };
    // Answered as a `polku_engine::projection::ClientStatus` (the OpenAPI document says so).
    let json = status.ok_or_else(|| ApiError::not_found("client", "no cases of this client"))?;
    let body = axum::body::Body::from(axum::body::Bytes::from_owner(JsonText(json)));
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExplainRequest {
    /// A personal identity code or a pseudonym.
    #[schemars(length(min = 1))]
    pub client: String,
    /// Why the client's data is looked at; logged.
    #[schemars(length(min = 1))]
    pub purpose: String,
    /// The day (YYYY-MM-DD) as it ended; today by default.
    #[serde(default)]
    #[schemars(extend("format" = "date"))]
    pub date: Option<String>,
    /// Only this step, and only the cases whose process has it.
    #[serde(default)]
    pub step: Option<String>,
}

/// Why a client's service was planned as it was on a date: per case the model version, the
/// segment and who decided it, and per step the generic process, the segment's content and
/// the conditions.
async fn explain(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<polku_engine::explain::Explanation>, ApiError> {
    let api = api(&state)?;
    let principal = api.principal(&headers).await?;
    let request: ExplainRequest = read_json(&headers, &body)?;
    let pseudonym = client_allowed(&api, &principal, &request.client, &request.purpose).await?;
    let at = match request.date.as_deref() {
        Some(text) => Timestamp::parse(text)
            .map(|t| t.end_of_local_day().0)
            .ok_or_else(|| ApiError::bad("date", "not a date: write it as 2026-06-30"))?,
        None => now(),
    };
    let who = actor(&principal, &headers, &request.purpose);
    let tracker = api.tracker.clone();
    let step = request.step.clone();
    let scope = auth::client_scope(&principal);
    let explanation =
        blocking(move || tracker.explain(&pseudonym, &who, at, step.as_deref(), &scope))
            .await?
            .filter(|e| !e.cases.is_empty());
    match (explanation, &request.step) {
        (Some(explanation), _) => Ok(Json(explanation)),
        (None, Some(_)) => Err(ApiError::not_found(
            "step",
            "the client had no case on that date whose process has this step",
        )),
        (None, None) => Err(ApiError::not_found("date", "the client had no case on that date")),
    }
}

/// The pseudonym of the client a request names, once a purpose is given and the caller may
/// read the client's data (a case in one of their units). A client without cases, and one with
/// none in the caller's units, are the same 404, after the same check of the caller's role, so
/// that the answer tells an outsider nothing.
///
/// The units are looked up off the runtime's threads unless they are kept ready: the state's
/// lock may be held for seconds (a rebuild, a snapshot), and a runtime thread that waited for
/// it would stall every request it serves, pages and `/readyz` included.
async fn client_allowed(
    api: &Api,
    principal: &Principal,
    client: &str,
    purpose: &str,
) -> Result<polku_engine::pseudonym::Pseudonym, ApiError> {
    if purpose.trim().is_empty() {
        return Err(ApiError::bad("purpose", "say why you look at the client's data"));
    }
    let pseudonym = pseudonym_of(api, client)?;
    // The caller's own units first: a role that reads no client data is refused either way,
    // before anything is looked up.
    auth::authorize(principal, Action::ClientData { units: &principal.units })?;
    // Staff whose units have no case of the client are answered as if the client had none:
    // that a person is a client of another unit is itself what they may not learn.
    if in_care(api, principal, &pseudonym).await? {
        Ok(pseudonym)
    } else {
        Err(ApiError::not_found("client", "no cases of this client"))
    }
}

/// Whether `principal` may read the client's data: a case of the client in one of their
/// units (the care check of the API and the staff page alike). Units kept ready answer at once
/// only when they let the caller in; any other answer is looked up afresh off the runtime's
/// threads, and a refusal keeps nothing, so that a refusal takes the same way whether the
/// person is a client of another unit or of none.
pub(crate) async fn in_care(
    api: &Api,
    principal: &Principal,
    pseudonym: &Pseudonym,
) -> Result<bool, ApiError> {
    let lets_in = |asker: &Principal, units: &[String]| {
        auth::authorize(asker, Action::ClientData { units }).is_ok()
    };
    if api.tracker.kept_units(pseudonym).is_some_and(|units| lets_in(principal, &units)) {
        return Ok(true);
    }
    let (tracker, read, asker) = (api.tracker.clone(), pseudonym.clone(), principal.clone());
    blocking(move || {
        let units = tracker.client_units(&read, &|units| lets_in(&asker, units))?;
        Ok(lets_in(&asker, &units))
    })
    .await
}

/// JSON kept ready, as the owner of a response body's bytes.
struct JsonText(Arc<str>);

impl AsRef<[u8]> for JsonText {
    fn as_ref(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

#[derive(Debug, Deserialize, Default)]
pub struct CaseQuery {
    pub purpose: Option<String>,
    pub as_of: Option<String>,
}

async fn case_status(
    State(state): State<AppState>,
    Path(case): Path<String>,
    query: PageQuery,
    headers: HeaderMap,
    uri: axum::http::Uri,
) -> Result<Json<polku_engine::case::CaseStatus>, ApiError> {
    let api = api(&state)?;
    let principal = api.principal(&headers).await?;
    let params = query_pairs(uri.query());
    let purpose = params.get("purpose").cloned().unwrap_or_default();
    if purpose.trim().is_empty() {
        return Err(ApiError::bad("purpose", "say why you look at the case: ?purpose=…"));
    }
    auth::authorize(&principal, Action::ClientData { units: &principal.units })?;
    let (tracker, read) = (api.tracker.clone(), case.clone());
    let owner = blocking(move || tracker.case_owner(&read)).await?;
    // As for a client: a case of another unit is answered as one that does not exist.
    let allowed = owner.as_ref().map(|(_, unit)| {
        auth::authorize(&principal, Action::ClientData { units: std::slice::from_ref(unit) })
    });
    match allowed {
        Some(Ok(())) => {}
        None | Some(Err(auth::Denied::NoCareRelationship)) => {
            return Err(ApiError::not_found("case", "no such case"))
        }
        Some(Err(denied)) => return Err(denied.into()),
    }
    let at = date("as_of", params.get("as_of").map(String::as_str), now())?;
    let who = actor(&principal, &headers, &purpose);
    let lang = lang_of(&query, &headers);
    let tracker = api.tracker.clone();
    let status = blocking(move || tracker.case_status(&case, &who, at, lang)).await?;
    status.map(Json).ok_or_else(|| ApiError::not_found("case", "no such case"))
}

/// A query string's pairs, decoded; the first of a repeated key counts.
fn query_pairs(query: Option<&str>) -> std::collections::HashMap<String, String> {
    super::pairs(query.unwrap_or("").as_bytes())
}

async fn report_segments(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: axum::http::Uri,
) -> ApiResult<polku_engine::projection::SegmentReport> {
    let api = api(&state)?;
    let principal = api.principal(&headers).await?;
    auth::authorize(&principal, Action::Reports)?;
    let params = query_pairs(uri.query());
    let at = date("date", params.get("date").map(String::as_str), now())?;
    let who = actor(&principal, &headers, "");
    let tracker = api.tracker.clone();
    Ok(Json(blocking(move || tracker.segment_report(&who, at)).await?))
}

async fn report_transitions(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: axum::http::Uri,
) -> ApiResult<polku_engine::projection::TransitionReport> {
    let api = api(&state)?;
    let principal = api.principal(&headers).await?;
    auth::authorize(&principal, Action::Reports)?;
    let params = query_pairs(uri.query());
    let (from, to) = date_range(&params)?;
    let who = actor(&principal, &headers, "");
    let tracker = api.tracker.clone();
    Ok(Json(blocking(move || tracker.transition_report(&who, from, to)).await?))
}

async fn report_completion(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: axum::http::Uri,
) -> ApiResult<polku_engine::projection::CompletionReport> {
    let api = api(&state)?;
    let principal = api.principal(&headers).await?;
    auth::authorize(&principal, Action::Reports)?;
    let params = query_pairs(uri.query());
    let at = date("as_of", params.get("as_of").map(String::as_str), now())?;
    let who = actor(&principal, &headers, "");
    let tracker = api.tracker.clone();
    Ok(Json(blocking(move || tracker.completion_report(&who, at)).await?))
}

/// The largest extract `POST /api/v1/segment-daily` reads: it is read as a stream, and memory
/// grows with the clients, not with the bytes.
pub const MAX_EXTRACT: u64 = 16 * 1024 * 1024 * 1024;

/// A row of an extract that was refused, and why.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct RefusedRow {
    pub line: usize,
    pub reason: String,
}

/// The answer to a daily marker run.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct MarkerDayAnswer {
    pub date: String,
    pub markers: String,
    /// Clients the extract named.
    pub clients: u64,
    pub rows: u64,
    pub rows_outside_window: u64,
    pub refused: u64,
    /// The first thousand refused rows.
    pub refused_rows: Vec<RefusedRow>,
    /// Clients per proposed segment (`–` for none).
    pub distribution: std::collections::BTreeMap<String, u64>,
    /// What was stored, against the previous run day.
    pub stored: polku_store::markers::RecordedDay,
}

/// The marker rules a request names (`markers`), or the model's only ones.
fn marker_rules(
    state: &AppState,
    params: &std::collections::HashMap<String, String>,
) -> Result<polku_engine::markers::MarkerRules, ApiError> {
    let version = state.model();
    let all = &version.model.markers;
    let found = match params.get("markers") {
        Some(name) => all.get(name.as_str()),
        None if all.len() == 1 => all.values().next(),
        None => None,
    };
    found.cloned().ok_or_else(|| {
        let names: Vec<&str> = all.keys().map(String::as_str).collect();
        let list = if names.is_empty() { "none".to_owned() } else { names.join(", ") };
        if params.get("markers").is_none() && names.len() > 1 {
            return ApiError::bad(
                "markers",
                format!("name the marker rules: the model has {list}"),
            );
        }
        ApiError::new(StatusCode::NOT_FOUND, format!("no such marker rules: the model has {list}"))
            .field("markers")
    })
}

/// Reads what a channel of chunks carries, for a blocking reader of a request's body.
struct ChunkReader {
    chunks: tokio::sync::mpsc::Receiver<Bytes>,
    current: Bytes,
}

impl std::io::Read for ChunkReader {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        while self.current.is_empty() {
            match self.chunks.blocking_recv() {
                Some(chunk) => self.current = chunk,
                None => return Ok(0),
            }
        }
        let n = out.len().min(self.current.len());
        out[..n].copy_from_slice(&self.current[..n]);
        self.current = self.current.slice(n..);
        Ok(n)
    }
}

async fn segment_daily(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: axum::http::Uri,
    body: axum::body::Body,
) -> Result<Json<MarkerDayAnswer>, ApiError> {
    use axum::body::HttpBody as _;
    let api = api(&state)?;
    let principal = api.principal(&headers).await?;
    auth::authorize(&principal, Action::MarkerExtract)?;
    let content_type =
        headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let media = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    if !matches!(media.as_str(), "text/csv" | "application/x-ndjson" | "application/jsonl") {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "send text/csv (client,date,system,code) or application/x-ndjson (JSON Lines)",
        )
        .field("content-type"));
    }
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_EXTRACT) {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("at most {MAX_EXTRACT} bytes an extract"),
        ));
    }
    let params = query_pairs(uri.query());
    let allow_refused = params.get("allow_refused").is_some_and(|v| v == "true" || v == "1");
    let date_text = params.get("date").ok_or_else(|| ApiError::bad("date", "missing"))?.clone();
    let day = polku_engine::markers::extract::day_of(&date_text)
        .ok_or_else(|| ApiError::bad("date", "not a date: write it as 2026-06-30"))?;
    let rules = marker_rules(&state, &params)?;
    let tracker = api.tracker.clone();
    let who = actor(&principal, &headers, "");
    let (send, chunks) = tokio::sync::mpsc::channel::<Bytes>(16);
    // Set once the whole body has been handed over: a body cut short (a client gone, a body
    // too large) ends the reader the same way, and then nothing may be stored.
    let whole = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let read_whole = whole.clone();
    let work = tokio::task::spawn_blocking(move || {
        let reader = std::io::BufReader::with_capacity(
            1 << 20,
            ChunkReader { chunks, current: Bytes::new() },
        );
        let mut refused_rows = Vec::new();
        let counts = tracker
            .count_markers(reader, &rules, &[day], &mut |r| {
                if refused_rows.len() < 1000 {
                    refused_rows.push(RefusedRow { line: r.line, reason: r.reason });
                }
            })
            .map_err(|e| ApiError::bad("body", e.to_string()))?;
        let mut distribution = std::collections::BTreeMap::new();
        let mut proposals = polku_dsl::hash::FastMap::default();
        for (client, c) in &counts.clients {
            let proposed = counts.proposal(c, 0);
            *distribution.entry(proposed.unwrap_or("–").to_owned()).or_insert(0u64) += 1;
            proposals.insert(*client, proposed.map(str::to_owned));
        }
        let (clients, rows, outside, refused) =
            (counts.clients.len() as u64, counts.rows, counts.outside_window, counts.refused);
        drop(counts);
        if !read_whole.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(ApiError::bad(
                "body",
                "the extract ended before its end: nothing was stored",
            ));
        }
        if rows == 0 {
            return Err(ApiError::bad("body", "the extract has no rows: nothing was stored"));
        }
        if refused > 0 && !allow_refused {
            let first = refused_rows
                .first()
                .map_or(String::new(), |r| format!(" (the first, line {}: {})", r.line, r.reason));
            return Err(ApiError::bad(
                "body",
                format!(
                    "{refused} rows were refused{first}; nothing was stored: correct them, or send allow_refused=true to store the good rows"
                ),
            ));
        }
        let run = polku_store::markers::MarkerRun {
            day,
            segmentation: rules.segmentation.clone().unwrap_or_default(),
            clients: proposals.values().filter(|p| p.is_some()).count() as u64,
            rows,
            recorded: Timestamp(now()).local_text(),
        };
        let stored = tracker.record_markers(&who, &rules, run, proposals)?;
        Ok::<_, ApiError>(MarkerDayAnswer {
            date: date_text.trim().to_owned(),
            markers: rules.name.clone(),
            clients,
            rows,
            rows_outside_window: outside,
            refused,
            refused_rows,
            distribution,
            stored,
        })
    });
    // The body is handed over a chunk at a time; memory holds at most a few chunks.
    let mut body = body;
    let mut read = 0u64;
    let mut failed = None;
    while let Some(frame) =
        std::future::poll_fn(|cx| std::pin::Pin::new(&mut body).poll_frame(cx)).await
    {
        let Ok(frame) = frame else {
            failed = Some(ApiError::bad("body", "the request's body could not be read"));
            break;
        };
        let Ok(data) = frame.into_data() else { continue };
        read += data.len() as u64;
        if read > MAX_EXTRACT {
            failed = Some(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("at most {MAX_EXTRACT} bytes an extract"),
            ));
            break;
        }
        if send.send(data).await.is_err() {
            break;
        }
    }
    if let Some(error) = failed {
        // The reader sees the end of the channel, but not the flag: it stores nothing.
        drop(send);
        let _ = work.await;
        return Err(error);
    }
    whole.store(true, std::sync::atomic::Ordering::SeqCst);
    drop(send);
    Ok(Json(work.await.map_err(ApiError::internal)??))
}

async fn report_client_segments(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: axum::http::Uri,
) -> ApiResult<polku_store::markers::ClientSegmentReport> {
    let api = api(&state)?;
    let principal = api.principal(&headers).await?;
    auth::authorize(&principal, Action::Reports)?;
    let params = query_pairs(uri.query());
    let at = date("date", params.get("date").map(String::as_str), now())?;
    let rules = marker_rules(&state, &params)?;
    let who = actor(&principal, &headers, "");
    let tracker = api.tracker.clone();
    Ok(Json(blocking(move || tracker.client_segment_report(&who, &rules, at)).await?))
}

async fn report_client_transitions(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: axum::http::Uri,
) -> ApiResult<polku_store::markers::ClientTransitionReport> {
    let api = api(&state)?;
    let principal = api.principal(&headers).await?;
    auth::authorize(&principal, Action::Reports)?;
    let params = query_pairs(uri.query());
    let (from, to) = date_range(&params)?;
    let rules = marker_rules(&state, &params)?;
    let who = actor(&principal, &headers, "");
    let tracker = api.tracker.clone();
    Ok(Json(blocking(move || tracker.client_transition_report(&who, &rules, from, to)).await?))
}

/// One access, as the audit answers it.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct AccessRecord {
    pub at: String,
    pub actor: String,
    pub role: String,
    pub unit: String,
    pub action: String,
    pub client: Option<String>,
    pub purpose: String,
    pub request: String,
    pub detail: String,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AuditRequest {
    /// A personal identity code or a pseudonym; none for every access.
    #[serde(default)]
    pub client: Option<String>,
    #[serde(default)]
    #[schemars(range(min = 1, max = 10000))]
    pub limit: Option<usize>,
}

fn audit(
    api: &Api,
    principal: &Principal,
    headers: &HeaderMap,
    request: AuditRequest,
) -> Result<Json<Vec<AccessRecord>>, ApiError> {
    auth::authorize(principal, Action::Audit)?;
    let pseudonym = request.client.as_deref().map(|c| pseudonym_of(api, c)).transpose()?;
    let limit = request.limit.unwrap_or(100);
    if !(1..=10_000).contains(&limit) {
        return Err(ApiError::bad("limit", "a number from 1 to 10000"));
    }
    let who = actor(principal, headers, "audit");
    let rows = api.tracker.access_log(pseudonym.as_ref(), &who, limit)?;
    Ok(Json(
        rows.into_iter()
            .map(|a| AccessRecord {
                at: a.at,
                actor: a.actor,
                role: a.role,
                unit: a.unit,
                action: a.action,
                client: a.client,
                purpose: a.purpose,
                request: a.request,
                detail: a.detail,
            })
            .collect(),
    ))
}

async fn audit_get(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: axum::http::Uri,
) -> Result<Json<Vec<AccessRecord>>, ApiError> {
    let api = api(&state)?;
    let principal = api.principal(&headers).await?;
    let params = query_pairs(uri.query());
    let client = params.get("client").cloned();
    if client.as_deref().is_some_and(|c| Pseudonym::parse(c).is_none()) {
        return Err(ApiError::bad(
            "client",
            "give a pseudonym here; an identity code never goes in an address: POST it to /api/v1/audit",
        ));
    }
    let limit = match params.get("limit").filter(|l| !l.is_empty()) {
        Some(l) => match l.parse::<usize>() {
            Ok(n) if (1..=10_000).contains(&n) => Some(n),
            _ => return Err(ApiError::bad("limit", "a number from 1 to 10000")),
        },
        None => None,
    };
    let api2 = api.clone();
    tokio::task::spawn_blocking(move || {
        audit(&api2, &principal, &headers, AuditRequest { client, limit })
    })
    .await
    .map_err(ApiError::internal)?
}

async fn audit_post(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Vec<AccessRecord>>, ApiError> {
    let api = api(&state)?;
    let principal = api.principal(&headers).await?;
    let request: AuditRequest = read_json(&headers, &body)?;
    let api2 = api.clone();
    tokio::task::spawn_blocking(move || audit(&api2, &principal, &headers, request))
        .await
        .map_err(ApiError::internal)?
}

async fn readyz(State(state): State<AppState>) -> Response {
    match state.api() {
        Some(api) => match tokio::task::spawn_blocking(move || api.tracker.info()).await {
            Ok(Ok(_)) => (StatusCode::OK, "ready").into_response(),
            _ => (StatusCode::SERVICE_UNAVAILABLE, "the store does not answer").into_response(),
        },
        None => (StatusCode::SERVICE_UNAVAILABLE, "no store").into_response(),
    }
}

async fn metrics(State(state): State<AppState>) -> Response {
    let text = match state.api() {
        // Counting the open cases takes the state's lock: off the runtime's threads.
        Some(api) => match tokio::task::spawn_blocking(move || {
            let open = api.tracker.with(|t| t.projection.open_cases());
            api.metrics.render(open)
        })
        .await
        {
            Ok(text) => text,
            Err(_) => return StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        },
        None => String::new(),
    };
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response()
}
