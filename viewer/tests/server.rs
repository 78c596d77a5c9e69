//! The router of `polku serve`, called without a socket (`tower::ServiceExt::oneshot`) on the
//! shipped model `processes/keusote`.
//!
//! Most tests lay maps out in the browser (`Renderer::Browser`), so that no Graphviz is needed
//! and pages come back at once; one test lays them out on the server and is skipped when `dot`
//! is not on the path. The overlay of open cases is [`FixedCountsOverlay`], a test double for
//! the store's aggregates (the store is tested in its own crate): it answers fixed counts.
//!
//! Besides the examples, a property test walks the URL space with arbitrary names, `%`
//! sequences (valid and not), Finnish letters, `..`, very long strings and arbitrary query
//! strings and cookies: no request may panic a handler or end in a 5xx other than the
//! documented 503 of a `/map/...` SVG under the browser renderer.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use axum::body::Body;
use axum::http::{header, HeaderValue, Request, StatusCode, Uri};
use polku_dsl::SourceSet;
use polku_engine::plan::Origin;
use polku_engine::projection::{MultiUnitReport, StandingReport, UnitPair};
use polku_engine::Model;
use polku_viewer::maps::paths;
use polku_viewer::server::{app, AppState, ModelVersion, Overlay, Problems, Renderer};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use tower::ServiceExt;

// ---------------------------------------------------------------------------------------------
// The model, the state and the fake overlay
// ---------------------------------------------------------------------------------------------

fn model_dir() -> PathBuf {
    package_dir().join("../processes/keusote")
}

/// The shipped model, loaded and checked as `tests/golden.rs` does.
fn load_model() -> Model {
    let dir = model_dir();
    let mut sources = SourceSet::new();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("the shipped model folder processes/keusote")
        .map(|e| e.expect("a directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "polku"))
        .collect();
    files.sort();
    for file in files {
        let text = std::fs::read_to_string(&file).expect("a readable model file");
        sources.add(file.display().to_string(), text);
    }
    let checked = polku_dsl::check(&sources, &[]);
    assert!(!checked.has_errors(), "{} does not check: {:?}", dir.display(), checked.diagnostics);
    polku_engine::compile(&checked.files)
}

/// The model, loaded once per test binary (its names drive the tests).
fn model() -> &'static Model {
    static MODEL: OnceLock<Model> = OnceLock::new();
    MODEL.get_or_init(load_model)
}

fn version(tag: &str) -> ModelVersion {
    ModelVersion {
        version: tag.to_owned(),
        name: Some("Keusote perhekeskuspalvelut".to_owned()),
        model: load_model(),
    }
}

const FAKE_TOTAL: u64 = 7;
const FAKE_MULTI_CLIENTS: u64 = 5;

/// A test double for the store's aggregates: whatever the process, it answers the same fixed
/// counts (and echoes the process and segment it was asked about).
#[derive(Debug)]
struct FixedCountsOverlay;

impl Overlay for FixedCountsOverlay {
    fn standing(&self, process: &str, segment: Option<&str>) -> Option<StandingReport> {
        Some(StandingReport {
            process: process.to_owned(),
            segment: segment.map(str::to_owned),
            total: FAKE_TOTAL,
            phases: BTreeMap::from([("tarkastus".to_owned(), 4), ("suunnitelma".to_owned(), 3)]),
            steps: BTreeMap::from([("lääkäri".to_owned(), 4), ("kirjaus".to_owned(), 3)]),
        })
    }

    fn multi_unit(&self) -> Option<MultiUnitReport> {
        Some(MultiUnitReport {
            clients: FAKE_MULTI_CLIENTS,
            pairs: vec![UnitPair {
                units: ["neuvola".to_owned(), "perheneuvola".to_owned()],
                clients: FAKE_MULTI_CLIENTS,
            }],
        })
    }
}

fn state_with(renderer: Renderer) -> AppState {
    let overlay: Arc<dyn Overlay> = Arc::new(FixedCountsOverlay);
    AppState::new(version("v1"), renderer, Some(overlay), false)
}

fn browser_state() -> AppState {
    state_with(Renderer::Browser)
}

// ---------------------------------------------------------------------------------------------
// Requests
// ---------------------------------------------------------------------------------------------

/// What came back: the status, the headers that matter here and the body as text.
#[derive(Debug)]
struct Reply {
    status: StatusCode,
    content_type: String,
    set_cookie: Option<String>,
    body: String,
}

async fn send(state: &AppState, request: Request<Body>) -> Reply {
    let response = app(state.clone()).oneshot(request).await.expect("the router is infallible");
    let status = response.status();
    let header_text = |name: header::HeaderName| {
        response.headers().get(name).map(|v| v.to_str().expect("an ASCII header").to_owned())
    };
    let content_type = header_text(header::CONTENT_TYPE).unwrap_or_default();
    let set_cookie = header_text(header::SET_COOKIE);
    let bytes =
        axum::body::to_bytes(response.into_body(), usize::MAX).await.expect("the whole body");
    let body = String::from_utf8_lossy(&bytes).into_owned();
    Reply { status, content_type, set_cookie, body }
}

async fn get(state: &AppState, uri: &str) -> Reply {
    let request = Request::get(uri).body(Body::empty()).expect("a valid request");
    send(state, request).await
}

async fn get_with_cookie(state: &AppState, uri: &str, cookie: &str) -> Reply {
    let request = Request::get(uri)
        .header(header::COOKIE, cookie)
        .body(Body::empty())
        .expect("a valid request");
    send(state, request).await
}

/// Every page, whatever it shows, has the frame: the language, the language switch, the search
/// form and exactly one main heading.
fn assert_page_frame(uri: &str, reply: &Reply, lang: &str) {
    assert!(
        reply.content_type.starts_with("text/html"),
        "{uri}: content type {}",
        reply.content_type
    );
    assert!(reply.body.contains(&format!("<html lang=\"{lang}\">")), "{uri}: not lang={lang}");
    assert!(reply.body.contains("<a id=\"lang-switch\" href=\"/"), "{uri}: no #lang-switch link");
    assert!(reply.body.contains("role=\"search\""), "{uri}: no search form");
    assert_eq!(reply.body.matches("<h1").count(), 1, "{uri}: not exactly one <h1");
}

/// The addresses of every map page of the model (each with its text alternative).
fn map_pages(model: &Model) -> Vec<String> {
    let mut out = vec![paths::services()];
    out.extend(model.chains.keys().map(|c| paths::chain(c)));
    out.extend(model.services.keys().map(|s| paths::service(s)));
    out.extend(model.segmentations.keys().map(|s| paths::segmentation(s)));
    for (name, process) in &model.processes {
        out.push(paths::process(name, None));
        out.extend(process.plans.keys().map(|s| paths::process(name, Some(s))));
    }
    out.extend(model.workflows.keys().map(|w| paths::workflow(w)));
    out
}

// ---------------------------------------------------------------------------------------------
// 1. Every page of the URL space
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn every_page_of_the_model_is_a_finnish_html_page_with_its_text_alternative() {
    let state = browser_state();
    let model = model();
    let pages = map_pages(model);
    // The shipped model is not trivial: every kind of page is there, names with Finnish
    // letters among them (which must arrive percent-encoded and be decoded back).
    assert!(pages.contains(&"/chain/lnp".to_owned()));
    assert!(pages.iter().any(|p| p.contains("%C3%B6")), "no name with ö: {pages:?}");
    assert!(model.workflows.len() >= 3 && model.processes.values().any(|p| !p.plans.is_empty()));
    for uri in &pages {
        let reply = get(&state, uri).await;
        assert_eq!(reply.status, StatusCode::OK, "{uri}: {}", reply.body);
        assert_page_frame(uri, &reply, "fi");
        assert!(reply.body.contains("class=\"map-text\""), "{uri}: no text alternative");
        assert!(reply.set_cookie.is_none(), "{uri}: a cookie nobody asked for");
        assert!(!reply.body.contains("role=\"alert\""), "{uri}: problems shown for a clean model");
    }
    // The maps of the pages that draw one wait for the browser, with the address of their DOT.
    let reply = get(&state, &paths::process("kth_laaja_5lk", None)).await;
    assert!(reply.body.contains("data-rendered=\"pending\""));
    assert!(reply
        .body
        .contains("data-dot-url=\"/map/process/kth_laaja_5lk?format=dot&amp;lang=fi\""));
    assert!(reply.body.contains("data-overlay-url=\"/overlay/kth_laaja_5lk\""));

    let reply = get(&state, "/search?q=neuvola").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_page_frame("/search?q=neuvola", &reply, "fi");
    assert!(reply.body.contains("href=\"/service/neuvola\""), "search finds the service");
    assert!(!reply.body.contains("class=\"no-results\""));

    // Search folds the Finnish letters: "laakari" finds "Lääkärin tarkastus".
    let reply = get(&state, "/search?q=laakarin").await;
    assert!(reply.body.contains("Lääkärin tarkastus"), "{}", reply.body);

    // An empty search and one that finds nothing are pages too.
    for uri in ["/search", "/search?q=", "/search?q=zzzzqqq"] {
        let reply = get(&state, uri).await;
        assert_eq!(reply.status, StatusCode::OK, "{uri}");
        assert_page_frame(uri, &reply, "fi");
        assert!(reply.body.contains("class=\"no-results\""), "{uri}");
    }
}

#[tokio::test]
async fn every_segment_page_marks_its_own_segment_as_current() {
    let state = browser_state();
    for (name, process) in &model().processes {
        for segment in process.plans.keys() {
            let uri = paths::process(name, Some(segment));
            let reply = get(&state, &uri).await;
            assert!(
                reply.body.contains(&format!("<option value=\"{segment}\" selected>")),
                "{uri}: the segment is not selected"
            );
            assert!(reply.body.contains("id=\"responsible\""), "{uri}");
        }
    }
}

#[tokio::test]
async fn the_service_map_shows_the_overlay_of_clients_in_several_units() {
    let state = browser_state();
    let reply = get(&state, "/").await;
    assert!(
        reply
            .body
            .contains(&format!("<strong class=\"multi-total\">{FAKE_MULTI_CLIENTS}</strong>")),
        "{}",
        reply.body
    );
    // Without an overlay the section says there are no open cases.
    let bare = AppState::new(version("v1"), Renderer::Browser, None, false);
    let reply = get(&bare, "/").await;
    assert!(!reply.body.contains("multi-total"));
    assert!(reply.body.contains("id=\"multi-unit\""));
}

// ---------------------------------------------------------------------------------------------
// 2. Language
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn lang_in_the_query_chooses_english_and_remembers_it_in_a_cookie() {
    let state = browser_state();
    for uri in ["/?lang=en", "/process/kth_laaja_5lk?segment=tuki&lang=en", "/nothing?lang=en"] {
        let reply = get(&state, uri).await;
        assert_page_frame(uri, &reply, "en");
        let cookie = reply.set_cookie.as_deref().expect("a Set-Cookie for ?lang=en");
        assert!(cookie.starts_with("lang=en"), "{uri}: {cookie}");
        assert!(cookie.contains("Path=/"), "{uri}: {cookie}");
    }
    // The switch leads back to Finnish, keeping the rest of the query.
    let reply = get(&state, "/process/kth_laaja_5lk?segment=tuki&lang=en").await;
    assert!(
        reply.body.contains("href=\"/process/kth_laaja_5lk?segment=tuki&amp;lang=fi\""),
        "{}",
        reply.body
    );
    // An unknown language is ignored: Finnish, no cookie.
    let reply = get(&state, "/?lang=sv").await;
    assert_page_frame("/?lang=sv", &reply, "fi");
    assert!(reply.set_cookie.is_none());
}

#[tokio::test]
async fn the_lang_cookie_gives_english_without_setting_it_again() {
    let state = browser_state();
    for cookie in ["lang=en", "theme=dark; lang=en", "lang=xx; lang=en"] {
        let reply = get_with_cookie(&state, "/chain/lnp", cookie).await;
        assert_eq!(reply.status, StatusCode::OK);
        assert_page_frame(cookie, &reply, "en");
        assert!(reply.set_cookie.is_none(), "{cookie}: {:?}", reply.set_cookie);
        // The switch offers Finnish.
        assert!(reply.body.contains("href=\"/chain/lnp?lang=fi\""), "{cookie}");
    }
    // The query wins over the cookie, and is then remembered.
    let reply = get_with_cookie(&state, "/chain/lnp?lang=fi", "lang=en").await;
    assert_page_frame("?lang=fi with cookie en", &reply, "fi");
    assert!(reply.set_cookie.as_deref().is_some_and(|c| c.starts_with("lang=fi")));
}

// ---------------------------------------------------------------------------------------------
// 3. Unknown names
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn unknown_names_are_404_pages_that_name_them_and_link_to_search() {
    let state = browser_state();
    let cases = [
        ("/process/ei_ole", "ei_ole"),
        ("/process/kth_laaja_5lk?segment=ei_ole", "ei_ole"),
        ("/chain/x", "x"),
        ("/segmentation/x", "x"),
        ("/workflow/x.y", "x.y"),
        ("/service/x", "x"),
        ("/nothing/here", "/nothing/here"),
        // A percent-encoded unknown name is named decoded.
        ("/process/p%C3%A4rj%C3%A4%C3%A4j%C3%A4", "pärjääjä"),
    ];
    for (uri, name) in cases {
        let reply = get(&state, uri).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{uri}");
        assert_page_frame(uri, &reply, "fi");
        assert!(reply.body.contains(&format!("<code>{name}</code>")), "{uri}: {}", reply.body);
        assert!(
            reply.body.contains(&format!("href=\"{}\"", paths::search(name))),
            "{uri}: no link to search for {name}: {}",
            reply.body
        );
    }
    // In English too.
    let reply = get(&state, "/service/x?lang=en").await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert_page_frame("/service/x?lang=en", &reply, "en");
    assert!(reply.body.contains("is not in the model."));
}

// ---------------------------------------------------------------------------------------------
// 4. Maps and the overlay
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn maps_come_as_dot_or_svg_and_svg_of_dot_maps_is_503_in_the_browser_renderer() {
    let state = browser_state();

    let reply = get(&state, "/map/process/kth_laaja_5lk?format=dot").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert!(reply.content_type.starts_with("text/vnd.graphviz"), "{}", reply.content_type);
    assert!(reply.body.contains("digraph"));
    assert!(reply.body.contains("Lääkärin tarkastus"));

    let reply = get(&state, "/map/workflow/kth_laaja_5lk.tarkastus").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.content_type, "image/svg+xml");
    assert!(reply.body.contains("<svg"));
    assert!(reply.body.contains("class=\"lane"));

    for uri in ["/map/services?format=svg", "/map/services", "/map/segmentation/perhekeskus"] {
        let reply = get(&state, uri).await;
        assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE, "{uri}");
        assert!(reply.body.contains("format=dot"), "{uri}: {}", reply.body);
    }

    // Levels 1 and 2 as DOT; English words with ?lang=en.
    let reply = get(&state, "/map/services?format=dot").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(reply.body.contains("digraph"));
    let reply = get(&state, "/map/segmentation/perhekeskus?format=dot&lang=en").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(reply.body.contains("digraph"));

    // What the maps do not have is a 404, not a 500.
    for uri in [
        "/map/process/ei_ole?format=dot",
        "/map/process/kth_laaja_5lk?segment=ei_ole&format=dot",
        "/map/segmentation/x?format=dot",
        "/map/workflow/x.y",
        // Level 4 is SVG only.
        "/map/workflow/kth_laaja_5lk.tarkastus?format=dot",
    ] {
        let reply = get(&state, uri).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{uri}: {}", reply.body);
    }
}

#[tokio::test]
async fn the_overlay_is_json_of_the_stores_aggregates() {
    let state = browser_state();

    let reply = get(&state, "/overlay/kth_laaja_5lk").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(reply.content_type.starts_with("application/json"), "{}", reply.content_type);
    let json: serde_json::Value = serde_json::from_str(&reply.body).expect("JSON");
    assert_eq!(json["total"], FAKE_TOTAL);
    assert_eq!(json["process"], "kth_laaja_5lk");
    assert_eq!(json["segment"], serde_json::Value::Null);
    assert_eq!(json["steps"]["lääkäri"], 4);

    let reply = get(&state, "/overlay/kth_laaja_5lk?segment=huolenpito").await;
    let json: serde_json::Value = serde_json::from_str(&reply.body).expect("JSON");
    assert_eq!(json["segment"], "huolenpito");

    let reply = get(&state, "/overlay").await;
    assert_eq!(reply.status, StatusCode::OK);
    let json: serde_json::Value = serde_json::from_str(&reply.body).expect("JSON");
    assert_eq!(json["clients"], FAKE_MULTI_CLIENTS);

    let reply = get(&state, "/overlay/ei_ole").await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert!(reply.content_type.starts_with("application/json"), "{}", reply.content_type);
    let json: serde_json::Value = serde_json::from_str(&reply.body).expect("JSON");
    assert!(json["error"].as_str().is_some_and(|e| e.contains("ei_ole")), "{json}");
    assert_eq!(json["field"], "process");

    // Without an overlay: the process and zero counts.
    let bare = AppState::new(version("v1"), Renderer::Browser, None, false);
    let reply = get(&bare, "/overlay/kth_laaja_5lk").await;
    let json: serde_json::Value = serde_json::from_str(&reply.body).expect("JSON");
    assert_eq!(json["total"], 0);
    assert_eq!(json["process"], "kth_laaja_5lk");
}

// ---------------------------------------------------------------------------------------------
// 5. A segment's plan
// ---------------------------------------------------------------------------------------------

/// The DOT statement of the node `step:{name}`: from its name up to the next statement.
fn node_statement<'a>(dot: &'a str, step: &str) -> Option<&'a str> {
    let start = dot.find(&format!("\"step:{step}\"["))?;
    let rest = &dot[start..];
    let end = rest.find("]\n").map_or(rest.len(), |e| e + 1);
    Some(&rest[..end])
}

#[tokio::test]
async fn a_segment_adds_steps_to_the_map_and_names_who_is_responsible() {
    let state = browser_state();
    let process = &model().processes["kth_laaja_5lk"];
    let added: Vec<String> = process
        .plan(Some("huolenpito"))
        .steps
        .iter()
        .filter(|s| matches!(s.origin, Origin::Added))
        .map(|s| s.name.clone())
        .collect();
    assert_eq!(added, ["monialainen_ryhmä", "perheneuvolaan", "tiivis_seuranta"]);

    let reply = get(&state, "/map/process/kth_laaja_5lk?segment=huolenpito&format=dot").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let dot = &reply.body;
    for step in &added {
        let statement = node_statement(dot, step).unwrap_or_else(|| panic!("{step} not drawn"));
        assert!(statement.contains("class=\"step added\""), "{step}: {statement}");
    }
    // A step the segment does not add is not marked; the generic map marks nothing.
    let kept = node_statement(dot, "kirjaus").expect("kirjaus is drawn");
    assert!(!kept.contains("added"), "{kept}");
    let generic = get(&state, "/map/process/kth_laaja_5lk?format=dot").await;
    assert!(!generic.body.contains("class=\"step added\""));

    // The segment as a query value in percent-encoded form is the same segment.
    let encoded = get(&state, "/map/process/kth_laaja_5lk?segment=%68uolenpito&format=dot").await;
    assert_eq!(encoded.body, reply.body);

    let uri = paths::process("kth_laaja_5lk", Some("huolenpito"));
    let page = get(&state, &uri).await;
    assert_eq!(page.status, StatusCode::OK);
    let start = page.body.find("id=\"responsible\"").expect("a #responsible paragraph");
    let paragraph = &page.body[start..start + page.body[start..].find("</p>").expect("its end")];
    assert!(paragraph.contains("Terveydenhoitaja"), "{paragraph}");
    // The text alternative marks the added steps too.
    for step in &added {
        assert!(
            page.body.contains(&format!("id=\"text-step-{step}\" class=\"added\"")),
            "{step} not marked in the text alternative"
        );
    }
    // The map asks for the segment's DOT and overlay.
    assert!(page.body.contains("/map/process/kth_laaja_5lk?segment=huolenpito&amp;format=dot"));
    assert!(page.body.contains("data-overlay-url=\"/overlay/kth_laaja_5lk?segment=huolenpito\""));
}

// ---------------------------------------------------------------------------------------------
// 6. Reloading the model
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn problems_of_a_reload_are_shown_until_the_model_checks_again() {
    let state = browser_state();
    let problems = Problems {
        fi: "kth_laaja_5lk.polku:12:3: virhe: tuntematon rooli `hoitaja`".to_owned(),
        en: "kth_laaja_5lk.polku:12:3: error: unknown role `hoitaja`".to_owned(),
    };
    state.reload(Err(problems.clone()));
    assert!(state.problems().is_some());
    // The last clean model is still served.
    assert_eq!(state.model().version, "v1");

    for uri in ["/", "/process/kth_laaja_5lk", "/workflow/kth_laaja_5lk.tarkastus", "/search"] {
        let reply = get(&state, uri).await;
        assert_eq!(reply.status, StatusCode::OK, "{uri}");
        assert_page_frame(uri, &reply, "fi");
        assert!(reply.body.contains("role=\"alert\""), "{uri}: no alert");
        assert!(reply.body.contains(&problems.fi), "{uri}: the problems are not shown");
        // Instead of a stale map.
        assert!(!reply.body.contains("id=\"map\""), "{uri}: a stale map");
    }
    let reply = get(&state, "/process/kth_laaja_5lk?lang=en").await;
    assert!(reply.body.contains(&problems.en), "the English problems");
    assert!(!reply.body.contains(&problems.fi));

    // The files check again: the alert goes and the maps come back.
    state.reload(Ok(version("v2")));
    assert!(state.problems().is_none());
    assert_eq!(state.model().version, "v2");
    for uri in ["/", "/process/kth_laaja_5lk", "/workflow/kth_laaja_5lk.tarkastus"] {
        let reply = get(&state, uri).await;
        assert_eq!(reply.status, StatusCode::OK, "{uri}");
        assert!(!reply.body.contains("role=\"alert\""), "{uri}: the alert stays");
        assert!(!reply.body.contains(&problems.fi), "{uri}");
        assert!(reply.body.contains("id=\"map\""), "{uri}: no map");
    }
}

// ---------------------------------------------------------------------------------------------
// The server renderer
// ---------------------------------------------------------------------------------------------

fn dot_works() -> bool {
    std::process::Command::new("dot").arg("-V").output().is_ok_and(|o| o.status.success())
}

#[tokio::test]
async fn the_server_renderer_lays_maps_out_with_dot() {
    if !dot_works() {
        eprintln!("skipped: `dot -V` fails, so Graphviz cannot lay maps out on the server");
        return;
    }
    let state = state_with(Renderer::Server);
    assert_eq!(state.renderer(), Renderer::Server);

    for uri in [
        "/map/services?format=svg",
        "/map/segmentation/perhekeskus",
        "/map/process/kth_laaja_5lk?segment=huolenpito",
    ] {
        let reply = get(&state, uri).await;
        assert_eq!(reply.status, StatusCode::OK, "{uri}: {}", reply.body);
        assert_eq!(reply.content_type, "image/svg+xml", "{uri}");
        assert!(reply.body.contains("<svg"), "{uri}");
    }
    // The second time from the cache, the same drawing.
    let first = get(&state, "/map/services").await;
    let second = get(&state, "/map/services").await;
    assert_eq!(first.body, second.body);

    let reply = get(&state, "/process/kth_laaja_5lk").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_page_frame("/process/kth_laaja_5lk", &reply, "fi");
    assert!(reply.body.contains("data-renderer=\"server\""));
    assert!(reply.body.contains("data-rendered=\"server\""), "the map is not laid out");
    assert!(reply.body.contains("<svg"));
    assert!(reply.body.contains("Lääkärin tarkastus"));
    assert_eq!(reply.body.matches("<h1").count(), 1);
}

// ---------------------------------------------------------------------------------------------
// 7. The whole URL space: never a 5xx, never a panic
// ---------------------------------------------------------------------------------------------

const PREFIXES: &[&str] = &[
    "/",
    "/chain/",
    "/service/",
    "/segmentation/",
    "/process/",
    "/workflow/",
    "/map/services",
    "/map/process/",
    "/map/workflow/",
    "/map/segmentation/",
    "/overlay/",
    "/search",
    "/assets/",
];

/// Every name of the model: processes, segments, services, chains, segmentations, workflows,
/// phases and steps.
fn real_names(model: &Model) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    names.extend(model.chains.keys().cloned());
    names.extend(model.services.keys().cloned());
    names.extend(model.segmentations.keys().cloned());
    names.extend(model.workflows.keys().cloned());
    for (name, p) in &model.processes {
        names.push(name.clone());
        names.extend(p.plans.keys().cloned());
        names.extend(p.phases.iter().map(|ph| ph.name.clone()));
        names.extend(p.generic.steps.iter().map(|s| s.name.clone()));
    }
    names.extend(
        ["style.css", "app.js", "viz-global.js", "viz-global.LICENSE.txt"].map(String::from),
    );
    names.sort();
    names.dedup();
    names
}

/// Every address the model has: its pages, their maps (as DOT and as SVG) and overlays.
fn real_addresses(model: &Model) -> Vec<String> {
    let mut out = map_pages(model);
    out.extend(["/search?q=neuvola".to_owned(), "/overlay".to_owned(), "/healthz".to_owned()]);
    out.push("/map/services?format=dot".to_owned());
    out.extend(model.segmentations.keys().map(|s| format!("/map{}", paths::segmentation(s))));
    for (name, process) in &model.processes {
        out.push(format!("/map{}", paths::process(name, None)));
        out.push(format!("/overlay/{}", paths::encode(name)));
        for segment in process.plans.keys() {
            out.push(format!("/map{}&format=dot", paths::process(name, Some(segment))));
            out.push(format!(
                "/overlay/{}?segment={}",
                paths::encode(name),
                paths::encode(segment)
            ));
        }
    }
    out.extend(model.workflows.keys().map(|w| format!("/map{}", paths::workflow(w))));
    out
}

/// One piece of a path segment or query value, raw (so `%ZZ` stays invalid) or encoded.
fn piece(names: Vec<String>) -> impl Strategy<Value = String> {
    let raw = prop_oneof![
        4 => proptest::sample::select(names),
        2 => "[a-zA-Z0-9_.äöåÄÖÅ-]{0,16}",
        2 => proptest::sample::select(vec![
            "%ZZ", "%C3", "%C3%A4", "%", "%%", "%2", "%2F", "%2f", "%00", "%FF", "%E2%82",
            "%C3%28", "%F0%9F%98%80", "%25", "%3F", "%23", "%26", "%3D", "%20", "+",
        ])
        .prop_map(str::to_owned),
        1 => proptest::sample::select(vec!["..", "../..", ".", "/", "//", "./.", "..%2F.."])
            .prop_map(str::to_owned),
        1 => "[a-z%]{500,4000}",
        1 => (1usize..20_000).prop_map(|n| "ä".repeat(n)),
        2 => any::<String>(),
        1 => "[ -~]{0,24}",
    ];
    (raw, any::<bool>()).prop_map(|(text, encode)| if encode { paths::encode(&text) } else { text })
}

/// What follows the prefix: often exactly a real name (so that pages are found and drawn),
/// else up to three pieces run together.
fn suffix(names: Vec<String>) -> impl Strategy<Value = String> {
    prop_oneof![
        1 => proptest::sample::select(names.clone()).prop_map(|n| paths::encode(&n)),
        1 => prop::collection::vec(piece(names), 0..4).prop_map(|pieces| pieces.concat()),
    ]
}

fn query(names: Vec<String>) -> impl Strategy<Value = Option<String>> {
    let key = prop_oneof![
        proptest::sample::select(vec!["lang", "segment", "format", "q"]).prop_map(str::to_owned),
        "[a-z=&%]{0,6}",
    ];
    let value = prop_oneof![
        proptest::sample::select(vec!["en", "fi", "EN", " en", "dot", "svg", "", "%ZZ", "%C3"])
            .prop_map(str::to_owned),
        piece(names),
    ];
    proptest::option::weighted(
        0.7,
        prop::collection::vec((key, value), 0..5).prop_map(|pairs| {
            pairs.into_iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&")
        }),
    )
}

/// Statuses a request may end in; a 5xx is only the documented 503 of a `/map/...` drawing that
/// this server leaves to the browser.
fn check_reply(uri: &Uri, reply: &Reply) -> Result<(), TestCaseError> {
    let status = reply.status;
    if status.is_server_error() {
        prop_assert!(
            status == StatusCode::SERVICE_UNAVAILABLE && uri.path().starts_with("/map/"),
            "{uri}: {status} {}",
            reply.body.chars().take(300).collect::<String>()
        );
    }
    if reply.content_type.starts_with("text/html") {
        prop_assert!(
            reply.body.contains("<html lang=\"fi\">") || reply.body.contains("<html lang=\"en\">"),
            "{uri}: no <html lang>"
        );
        prop_assert_eq!(reply.body.matches("<h1").count(), 1, "{}: not exactly one <h1", uri);
        prop_assert!(reply.body.contains("role=\"search\""), "{uri}: no search form");
    }
    Ok(())
}

#[test]
fn no_request_of_the_url_space_panics_or_ends_in_a_server_error() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a Tokio runtime for the router");
    let state = browser_state();
    let names = real_names(model());
    let cookie = prop_oneof![
        Just(None),
        proptest::sample::select(vec!["lang=en", "lang=fi", "lang=", "lang=en; lang=fi", ";;;"])
            .prop_map(|c| Some(c.to_owned())),
        "[ -~]{0,40}".prop_map(Some),
    ];
    // A path is a prefix of the URL space followed by anything, or (a third of the time) an
    // address the model really has, so that found pages and drawn maps are walked too.
    let path = prop_oneof![
        2 => (proptest::sample::select(PREFIXES.to_vec()), suffix(names.clone()))
            .prop_map(|(prefix, suffix)| format!("{prefix}{suffix}")),
        1 => proptest::sample::select(real_addresses(model())),
    ];
    let strategy = (path, query(names), cookie);
    let mut runner = TestRunner::new(Config {
        cases: 400,
        failure_persistence: None,
        max_global_rejects: 4096,
        ..Config::default()
    });
    let statuses: RefCell<BTreeMap<u16, u32>> = RefCell::new(BTreeMap::new());
    let result = runner.run(&strategy, |(mut text, query, cookie)| {
        if let Some(q) = query {
            text.push(if text.contains('?') { '&' } else { '?' });
            text.push_str(&q);
        }
        let Ok(uri) = Uri::try_from(text.as_str()) else {
            return Err(TestCaseError::reject("not a valid URI"));
        };
        let mut request = Request::get(uri.clone());
        if let Some(value) = cookie.as_deref().and_then(|c| HeaderValue::from_str(c).ok()) {
            request = request.header(header::COOKIE, value);
        }
        let request = request.body(Body::empty()).expect("a request of a valid URI");
        // A panic in a handler unwinds out of `block_on` and fails the case.
        let reply = runtime.block_on(send(&state, request));
        *statuses.borrow_mut().entry(reply.status.as_u16()).or_default() += 1;
        check_reply(&uri, &reply)
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    let statuses = statuses.into_inner();
    eprintln!("statuses over the URL space: {statuses:?}");
    assert!(statuses.values().sum::<u32>() >= 400);
    assert!(statuses.contains_key(&200) && statuses.contains_key(&404), "{statuses:?}");
}

/// `--watch` sees an edit made as soon as the server has told its address: the files are
/// fingerprinted before the address goes out, not whenever the watching task first runs.
#[tokio::test]
async fn an_edit_right_after_the_address_is_told_is_seen() {
    use std::sync::atomic::{AtomicU64, Ordering};
    let files = Arc::new(AtomicU64::new(1));
    let (heard, mut reloads) = tokio::sync::mpsc::unbounded_channel();
    let watch = polku_viewer::server::Watch {
        fingerprint: Box::new({
            let files = files.clone();
            move || files.load(Ordering::SeqCst)
        }),
        reload: Arc::new(|| Err(Problems { fi: "virhe".into(), en: "error".into() })),
        on_reload: Box::new(move |_| {
            let _ = heard.send(());
        }),
        interval: std::time::Duration::from_millis(20),
    };
    let state = AppState::new(version("v1"), Renderer::Browser, None, false);
    let edited = files.clone();
    let server = tokio::spawn(polku_viewer::server::serve(
        state,
        "127.0.0.1:0".parse().unwrap(),
        // The author saves a file the moment the address is printed.
        move |_| edited.store(2, Ordering::SeqCst),
        Some(watch),
    ));
    let seen = tokio::time::timeout(std::time::Duration::from_secs(5), reloads.recv()).await;
    server.abort();
    assert!(matches!(seen, Ok(Some(()))), "the edit was never taken in");
}

/// This package's folder as `cargo test` names it when it runs the test: a test binary reused
/// from a shared target folder may have been built in a checkout at another path.
fn package_dir() -> std::path::PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")))
}
