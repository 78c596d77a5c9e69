//! `polku serve`: the process maps in the browser.
//!
//! [`app`] builds the router from an [`AppState`]; tests call it with `oneshot`, [`serve`]
//! binds it to a socket. Handlers are thin: they parse the request, look the model up, draw
//! (or take from the cache) and render a page. A name the model does not have is a 404 page
//! that says what was not found and links to search; nothing a client sends leads to a 500.
//!
//! The model is held as the last version that checked clean, plus the problems of the files
//! as they are now when they do not check (`--watch`): the pages then show the problems
//! instead of stale maps. Drawn maps are cached per model version, map and language.

pub mod api;
mod assets;
pub mod auth;
mod metrics;
pub mod oidc;
pub mod openapi;
mod pages;
mod staff;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use polku_dsl::Lang;
use polku_engine::projection::{MultiUnitReport, StandingReport};
use polku_engine::Model;

use crate::maps::{self, Drawing, MapKind};
use crate::render;

/// Where DOT is laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Renderer {
    /// By Graphviz's `dot` on the server; pages carry finished SVG.
    Server,
    /// In the browser, by the WebAssembly build of Graphviz that the server ships.
    Browser,
}

impl Renderer {
    /// `dot` when it is on the path, else the browser.
    pub fn detect() -> Renderer {
        if render::dot_available() {
            Renderer::Server
        } else {
            Renderer::Browser
        }
    }
}

/// One model version that checked clean.
#[derive(Debug)]
pub struct ModelVersion {
    /// The content hash of the model's sources; drawn maps are cached under it.
    pub version: String,
    pub name: Option<String>,
    pub model: Model,
}

/// The model's problems as `polku check` prints them, in both languages.
pub type Problems = polku_dsl::Bilingual;

/// What reloading the model from its files gives.
pub type Reload = Result<ModelVersion, Problems>;

/// The aggregates of open cases the maps overlay; never a client's own data. `None` while the
/// state is not to be read (the database does not answer).
pub trait Overlay: Send + Sync {
    fn standing(&self, process: &str, segment: Option<&str>) -> Option<StandingReport>;
    fn multi_unit(&self) -> Option<MultiUnitReport>;
}

impl Overlay for polku_store::TrackerService {
    fn standing(&self, process: &str, segment: Option<&str>) -> Option<StandingReport> {
        self.standing_report(process, segment).ok()
    }

    fn multi_unit(&self) -> Option<MultiUnitReport> {
        self.multi_unit_report().ok()
    }
}

/// The model version, the map and whether it is in English.
type CacheKey = (String, MapKind, bool);

struct Shared {
    current: RwLock<Arc<ModelVersion>>,
    problems: RwLock<Option<Problems>>,
    renderer: Renderer,
    overlay: Option<Arc<dyn Overlay>>,
    svg_cache: Mutex<HashMap<CacheKey, Arc<str>>>,
    demo: bool,
    api: Option<Arc<api::Api>>,
}

/// The state every handler shares; cheap to clone.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState").field("renderer", &self.0.renderer).finish_non_exhaustive()
    }
}

impl AppState {
    pub fn new(
        model: ModelVersion,
        renderer: Renderer,
        overlay: Option<Arc<dyn Overlay>>,
        demo: bool,
    ) -> AppState {
        AppState(Arc::new(Shared {
            current: RwLock::new(Arc::new(model)),
            problems: RwLock::new(None),
            renderer,
            overlay,
            svg_cache: Mutex::new(HashMap::new()),
            demo,
            api: None,
        }))
    }

    /// A server with the tracker behind it: the maps' overlay reads its aggregates and the
    /// API (`/api/v1`) answers from it.
    pub fn with_tracker(
        model: ModelVersion,
        renderer: Renderer,
        tracker: polku_store::TrackerService,
        demo: bool,
    ) -> AppState {
        AppState::with_api(model, renderer, api::Api::new(tracker), demo)
    }

    /// A server with the API given, for one that signs people in with an identity provider.
    pub fn with_api(
        model: ModelVersion,
        renderer: Renderer,
        api: api::Api,
        demo: bool,
    ) -> AppState {
        let tracker = api.tracker.clone();
        let overlay: Arc<dyn Overlay> = Arc::new(tracker.clone());
        AppState(Arc::new(Shared {
            current: RwLock::new(Arc::new(model)),
            problems: RwLock::new(None),
            renderer,
            overlay: Some(overlay),
            svg_cache: Mutex::new(HashMap::new()),
            demo,
            api: Some(Arc::new(api)),
        }))
    }

    /// The API's side of the state, when the server has a store.
    pub fn api(&self) -> Option<Arc<api::Api>> {
        self.0.api.clone()
    }

    /// The last model version that checked clean.
    pub fn model(&self) -> Arc<ModelVersion> {
        self.0.current.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn problems(&self) -> Option<Problems> {
        self.0.problems.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn renderer(&self) -> Renderer {
        self.0.renderer
    }

    /// Takes in a reloaded model: a clean one replaces the current version (and its cached
    /// maps go with it); problems are shown until the files check again.
    pub fn reload(&self, reload: Reload) {
        match reload {
            Ok(version) => {
                let changed = self.model().version != version.version;
                *self.0.current.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(version);
                *self.0.problems.write().unwrap_or_else(|e| e.into_inner()) = None;
                if changed {
                    self.0.svg_cache.lock().unwrap_or_else(|e| e.into_inner()).clear();
                }
            }
            Err(problems) => {
                *self.0.problems.write().unwrap_or_else(|e| e.into_inner()) = Some(problems)
            }
        }
    }

    /// The SVG of a DOT map laid out by `dot` on the server, from the cache when it has been
    /// drawn for this model version before.
    async fn server_svg(
        &self,
        version: &ModelVersion,
        kind: &MapKind,
        lang: Lang,
        dot: String,
    ) -> Result<Arc<str>, render::RenderError> {
        let key = (version.version.clone(), kind.clone(), lang == Lang::En);
        if let Some(svg) = self.0.svg_cache.lock().unwrap_or_else(|e| e.into_inner()).get(&key) {
            return Ok(svg.clone());
        }
        let svg = tokio::task::spawn_blocking(move || render::dot_to_svg(&dot))
            .await
            .map_err(|e| render::RenderError::Failed(e.to_string()))??;
        let svg: Arc<str> = Arc::from(svg);
        self.0.svg_cache.lock().unwrap_or_else(|e| e.into_inner()).insert(key, svg.clone());
        Ok(svg)
    }
}

/// The router of `polku serve`.
pub fn app(state: AppState) -> Router {
    Router::new()
        .route("/", get(pages::services))
        .route("/chain/{name}", get(pages::chain))
        .route("/service/{name}", get(pages::service))
        .route("/segmentation/{name}", get(pages::segmentation))
        .route("/process/{name}", get(pages::process))
        .route("/workflow/{target}", get(pages::workflow))
        .route("/search", get(pages::search))
        .route("/map/services", get(map_services))
        .route("/map/segmentation/{name}", get(map_segmentation))
        .route("/map/process/{name}", get(map_process))
        .route("/map/workflow/{target}", get(map_workflow))
        .route("/overlay/{process}", get(overlay))
        .route("/overlay", get(overlay_multi_unit))
        .route("/assets/{file}", get(assets::asset))
        .route("/healthz", get(|| async { "ok" }))
        .route("/staff", get(staff::staff))
        .route("/staff/login", axum::routing::post(staff::login))
        .route("/staff/oidc/login", get(staff::provider_login))
        .route("/staff/oidc/callback", get(staff::provider_callback))
        .route("/staff/logout", axum::routing::post(staff::logout))
        .route("/staff/client", axum::routing::post(staff::client))
        .route("/staff/event", axum::routing::post(staff::record))
        .route("/staff/form-link", axum::routing::post(staff::assessment::make_link))
        .route("/staff/form-review", axum::routing::post(staff::assessment::review))
        .route("/staff/form-confirm", axum::routing::post(staff::assessment::confirm))
        .route("/staff/form-kept", axum::routing::post(staff::assessment::kept))
        .route("/staff/explain", axum::routing::post(staff::explain::explain))
        .route(
            "/lomake/{token}",
            get(staff::assessment::client_form).post(staff::assessment::client_answers),
        )
        .merge(api::routes())
        .fallback(pages::not_found_fallback)
        .layer(axum::middleware::from_fn_with_state(state.clone(), api::observe))
        .layer(axum::extract::DefaultBodyLimit::max(api::MAX_BODY))
        .with_state(state)
}

/// The page language: `?lang=` first (and then remembered in a cookie), else the cookie,
/// else Finnish.
#[derive(Debug, Clone, Copy)]
pub struct Choice {
    pub lang: Lang,
    /// `?lang=` chose it now: the response sets the cookie.
    pub remember: bool,
}

/// The query every page takes. Read leniently: an unknown key is ignored, a repeated one
/// counts once (the first), and text that is not UTF-8 is read with replacement characters,
/// so that no query string makes a page fail.
#[derive(Debug, Default)]
pub struct PageQuery {
    pub lang: Option<String>,
    pub segment: Option<String>,
    pub q: Option<String>,
    pub format: Option<String>,
}

impl PageQuery {
    pub fn parse(raw: &str) -> PageQuery {
        let mut pairs = pairs(raw.as_bytes());
        PageQuery {
            lang: pairs.remove("lang"),
            segment: pairs.remove("segment"),
            q: pairs.remove("q"),
            format: pairs.remove("format"),
        }
    }
}

/// The pairs of a query string or a form body, decoded; of a repeated key the first counts.
pub(crate) fn pairs(encoded: &[u8]) -> HashMap<String, String> {
    let mut out = HashMap::new();
    for (key, value) in form_urlencoded::parse(encoded) {
        out.entry(key.into_owned()).or_insert_with(|| value.into_owned());
    }
    out
}

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for PageQuery {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _state: &S,
    ) -> Result<Self, Self::Rejection> {
        Ok(PageQuery::parse(parts.uri.query().unwrap_or("")))
    }
}

/// The one name a route captures (`/process/{name}`), percent-decoded; bytes that are not
/// UTF-8 become replacement characters, which no model name contains, so the page is a 404
/// that names what was asked for.
#[derive(Debug)]
pub struct Name(pub String);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Name {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        match Path::<String>::from_request_parts(parts, state).await {
            Ok(Path(name)) => Ok(Name(name)),
            Err(_) => {
                let raw = parts.uri.path().rsplit('/').next().unwrap_or("");
                let bytes: Vec<u8> = percent_decode(raw);
                Ok(Name(String::from_utf8_lossy(&bytes).into_owned()))
            }
        }
    }
}

fn percent_decode(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    out
}

pub fn choose_lang(query: &PageQuery, headers: &HeaderMap) -> Choice {
    let parse = |v: &str| match v.trim() {
        "en" => Some(Lang::En),
        "fi" => Some(Lang::Fi),
        _ => None,
    };
    if let Some(lang) = query.lang.as_deref().and_then(parse) {
        return Choice { lang, remember: true };
    }
    let cookie = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().strip_prefix("lang="))
        .find_map(parse);
    Choice { lang: cookie.unwrap_or(Lang::Fi), remember: false }
}

/// Adds the language cookie when the page was asked for in a language by `?lang=`.
pub fn with_lang_cookie(choice: Choice, mut response: Response) -> Response {
    if choice.remember {
        let value = match choice.lang {
            Lang::En => "lang=en; Path=/; Max-Age=31536000; SameSite=Lax",
            Lang::Fi => "lang=fi; Path=/; Max-Age=31536000; SameSite=Lax",
        };
        response.headers_mut().insert(header::SET_COOKIE, HeaderValue::from_static(value));
    }
    response
}

/// A cached SVG: the body shares the cache's bytes, nothing is copied.
fn svg_response(svg: Arc<str>) -> Response {
    let body = axum::body::Body::from(axum::body::Bytes::from_owner(ArcText(svg)));
    ([(header::CONTENT_TYPE, "image/svg+xml")], body).into_response()
}

/// An `Arc<str>` as the owner of a response body's bytes.
struct ArcText(Arc<str>);

impl AsRef<[u8]> for ArcText {
    fn as_ref(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

fn text_response(status: StatusCode, content_type: &'static str, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, content_type)], body).into_response()
}

/// A drawing in the format asked for: `?format=dot` for the DOT of levels 1–3, SVG otherwise.
async fn drawing_response(
    state: &AppState,
    kind: MapKind,
    query: &PageQuery,
    lang: Lang,
) -> Response {
    let version = state.model();
    let want_dot = query.format.as_deref() == Some("dot");
    // A map laid out before is answered from the cache without drawing anything.
    if !want_dot && state.renderer() == Renderer::Server {
        let key = (version.version.clone(), kind.clone(), lang == Lang::En);
        let cached = state.0.svg_cache.lock().unwrap_or_else(|e| e.into_inner()).get(&key).cloned();
        if let Some(svg) = cached {
            return svg_response(svg);
        }
    }
    let drawing = match maps::draw(&version.model, &kind, lang) {
        Ok(d) => d,
        Err(e) => {
            return text_response(StatusCode::NOT_FOUND, "text/plain; charset=utf-8", e.to_string())
        }
    };
    match drawing {
        Drawing::Svg(svg) if !want_dot => text_response(StatusCode::OK, "image/svg+xml", svg),
        Drawing::Svg(_) => text_response(
            StatusCode::NOT_FOUND,
            "text/plain; charset=utf-8",
            "level 4 is drawn as SVG only: leave out ?format=dot".to_owned(),
        ),
        Drawing::Dot(dot) if want_dot => {
            text_response(StatusCode::OK, "text/vnd.graphviz; charset=utf-8", dot)
        }
        Drawing::Dot(dot) => match state.renderer() {
            Renderer::Browser => text_response(
                StatusCode::SERVICE_UNAVAILABLE,
                "text/plain; charset=utf-8",
                "this server lays maps out in the browser: ask for ?format=dot".to_owned(),
            ),
            Renderer::Server => match state.server_svg(&version, &kind, lang, dot).await {
                Ok(svg) => svg_response(svg),
                Err(e) => text_response(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "text/plain; charset=utf-8",
                    e.to_string(),
                ),
            },
        },
    }
}

async fn map_services(
    State(state): State<AppState>,
    query: PageQuery,
    headers: HeaderMap,
) -> Response {
    let lang = choose_lang(&query, &headers).lang;
    drawing_response(&state, MapKind::Services, &query, lang).await
}

async fn map_segmentation(
    State(state): State<AppState>,
    Name(name): Name,
    query: PageQuery,
    headers: HeaderMap,
) -> Response {
    let lang = choose_lang(&query, &headers).lang;
    drawing_response(&state, MapKind::Segmentation(name), &query, lang).await
}

async fn map_process(
    State(state): State<AppState>,
    Name(name): Name,
    query: PageQuery,
    headers: HeaderMap,
) -> Response {
    let lang = choose_lang(&query, &headers).lang;
    let segment = query.segment.clone().filter(|s| !s.is_empty());
    drawing_response(&state, MapKind::Process { process: name, segment }, &query, lang).await
}

async fn map_workflow(
    State(state): State<AppState>,
    Name(target): Name,
    query: PageQuery,
    headers: HeaderMap,
) -> Response {
    let lang = choose_lang(&query, &headers).lang;
    drawing_response(&state, MapKind::Workflow(target), &query, lang).await
}

async fn overlay(State(state): State<AppState>, Name(process): Name, query: PageQuery) -> Response {
    let version = state.model();
    if !version.model.processes.contains_key(&process) {
        return text_response(
            StatusCode::NOT_FOUND,
            "application/json",
            serde_json::json!({ "error": format!("no process `{process}`"), "field": "process" })
                .to_string(),
        );
    }
    let segment = query.segment.as_deref().filter(|s| !s.is_empty());
    if let Some(segment) = segment {
        if !version.model.processes[&process].plans.contains_key(segment) {
            return text_response(
                StatusCode::NOT_FOUND,
                "application/json",
                serde_json::json!({
                    "error": format!("process `{process}` has no segment `{segment}`"),
                    "field": "segment"
                })
                .to_string(),
            );
        }
    }
    let report = match &state.0.overlay {
        Some(overlay) => {
            let overlay = overlay.clone();
            let (p, s) = (process.clone(), segment.map(str::to_owned));
            match tokio::task::spawn_blocking(move || overlay.standing(&p, s.as_deref())).await {
                Ok(Some(report)) => report,
                _ => return overlay_unavailable(),
            }
        }
        None => StandingReport {
            process,
            segment: segment.map(str::to_owned),
            ..StandingReport::default()
        },
    };
    axum::Json(report).into_response()
}

async fn overlay_multi_unit(State(state): State<AppState>) -> Response {
    let report = match &state.0.overlay {
        Some(overlay) => {
            let overlay = overlay.clone();
            match tokio::task::spawn_blocking(move || overlay.multi_unit()).await {
                Ok(Some(report)) => report,
                _ => return overlay_unavailable(),
            }
        }
        None => MultiUnitReport::default(),
    };
    axum::Json(report).into_response()
}

/// The overlay's answer while the state is not to be read.
fn overlay_unavailable() -> Response {
    text_response(
        StatusCode::SERVICE_UNAVAILABLE,
        "application/json",
        serde_json::json!({ "error": "the database does not answer just now: try again in a moment" })
            .to_string(),
    )
}

/// Binds `listen` and serves until Ctrl-C. `ready` hears the address actually bound (the
/// port may have been 0). With `watch`, `reload` is called whenever `changed` says the model's
/// files changed, polled every `interval`.
pub async fn serve(
    state: AppState,
    listen: SocketAddr,
    ready: impl FnOnce(SocketAddr),
    watch: Option<Watch>,
) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(listen).await?;
    // The files as they are before the address is told: an edit made as soon as the server
    // answers is a change, whenever the watching task first runs.
    let watched = watch.map(|watch| ((watch.fingerprint)(), watch));
    ready(listener.local_addr()?);
    if let Some((mut last, watch)) = watched {
        let state = state.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(watch.interval).await;
                let now = (watch.fingerprint)();
                if now != last {
                    last = now;
                    let reload = watch.reload.clone();
                    if let Ok(result) = tokio::task::spawn_blocking(move || reload()).await {
                        (watch.on_reload)(&result);
                        state.reload(result);
                    }
                }
            }
        });
    }
    axum::serve(listener, app(state))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
}

/// How `--watch` notices and takes in changes of the model's files.
pub struct Watch {
    /// A value that changes when the files change (their names, sizes and times).
    pub fingerprint: Box<dyn Fn() -> u64 + Send + Sync>,
    pub reload: Arc<dyn Fn() -> Reload + Send + Sync>,
    /// Hears every reload, to tell the author on the terminal.
    pub on_reload: Box<dyn Fn(&Reload) + Send + Sync>,
    pub interval: Duration,
}

impl std::fmt::Debug for Watch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Watch").field("interval", &self.interval).finish_non_exhaustive()
    }
}
