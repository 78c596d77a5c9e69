//! The pages, server-rendered with maud (checked when compiled). Each map comes with its text
//! alternative: the same content as a list of links, for keyboards and screen readers.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{Html, IntoResponse, Response};
use maud::{html, Markup, PreEscaped, DOCTYPE};
use polku_dsl::Lang;
use polku_engine::model::{Process, SegmentProfile, Segmentation};
use polku_engine::plan::Origin;
use polku_engine::Model;

use super::{
    choose_lang, with_lang_cookie, AppState, Choice, ModelVersion, Name, PageQuery, Renderer,
};
use crate::maps::level3::step_details;
use crate::maps::{self, paths, process_title, role_title, say, service_title, MapKind, Word};

/// What every page needs to know besides its content.
pub(super) struct Frame<'a> {
    pub choice: Choice,
    pub title: String,
    pub crumbs: Vec<(String, Option<String>)>,
    /// The page's own address without `lang`, for the language switch.
    pub uri: &'a Uri,
    pub state: &'a AppState,
}

fn lang_switch(uri: &Uri, lang: Lang) -> String {
    let other = match lang {
        Lang::Fi => "en",
        Lang::En => "fi",
    };
    let kept: Vec<&str> = uri
        .query()
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty() && !p.starts_with("lang="))
        .collect();
    let mut query = kept.join("&");
    if !query.is_empty() {
        query.push('&');
    }
    format!("{}?{query}lang={other}", uri.path())
}

pub(super) fn page(frame: Frame<'_>, body: Markup) -> Response {
    let lang = frame.choice.lang;
    let code = match lang {
        Lang::Fi => "fi",
        Lang::En => "en",
    };
    let browser = frame.state.renderer() == Renderer::Browser;
    let model = frame.state.model();
    let markup = html! {
        (DOCTYPE)
        html lang=(code) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (frame.title) " – " (say(Word::AppName, lang)) }
                link rel="stylesheet" href="/assets/style.css";
                link rel="icon" href="data:,";
            }
            body data-renderer=(if browser { "browser" } else { "server" }) {
                a.skip href="#main" { (match lang { Lang::Fi => "Siirry sisältöön", Lang::En => "Skip to content" }) }
                header.top {
                    a.brand href="/" { "Polku" }
                    @if let Some(name) = &model.name { span.model-name { (name) } }
                    @if frame.state.0.demo { span.demo { "(" (say(Word::Demo, lang)) ")" } }
                    form.search role="search" action="/search" method="get" {
                        label for="q" { (say(Word::Search, lang)) }
                        input #q type="search" name="q" placeholder=(say(Word::SearchLabel, lang));
                        button type="submit" { (say(Word::Search, lang)) }
                    }
                    a #lang-switch href=(lang_switch(frame.uri, lang)) lang=(match lang { Lang::Fi => "en", Lang::En => "fi" }) {
                        (say(Word::Language, lang))
                    }
                }
                nav.breadcrumbs aria-label=(match lang { Lang::Fi => "Murupolku", Lang::En => "Breadcrumbs" }) {
                    ol {
                        @for (i, (text, href)) in frame.crumbs.iter().enumerate() {
                            li {
                                @match href {
                                    Some(href) if i + 1 < frame.crumbs.len() => a href=(href) { (text) },
                                    _ => span aria-current="page" { (text) },
                                }
                            }
                        }
                    }
                }
                main #main {
                    @if let Some(problems) = frame.state.problems() {
                        section.problems role="alert" {
                            h2 { (say(Word::ModelErrors, lang)) }
                            pre { (match lang { Lang::Fi => &problems.fi, Lang::En => &problems.en }) }
                        }
                    }
                    (body)
                }
                script src="/assets/app.js" defer {}
            }
        }
    };
    with_lang_cookie(frame.choice, Html(markup.into_string()).into_response())
}

pub(super) fn home(lang: Lang) -> (String, Option<String>) {
    (say(Word::ServiceMap, lang).to_owned(), Some(paths::services()))
}

/// The chain a process belongs to: the first chain that holds its service.
fn chain_of<'a>(
    model: &'a Model,
    process: &Process,
) -> Option<(&'a String, &'a polku_engine::model::Chain)> {
    let service = process.service.as_ref()?;
    model
        .chains
        .iter()
        .find(|(_, c)| c.services.contains(service) || c.paths.iter().any(|p| p.contains(service)))
}

/// The figure that holds a map: finished SVG when the server lays maps out, or the address of
/// its DOT for the browser to lay out.
async fn figure(
    state: &AppState,
    version: &ModelVersion,
    kind: &MapKind,
    lang: Lang,
    dot_url: &str,
    caption: &str,
    overlay_url: Option<String>,
) -> Markup {
    if state.problems().is_some() {
        return html! {};
    }
    let drawing = maps::draw(&version.model, kind, lang);
    let (rendered, inner): (&str, Markup) = match drawing {
        Ok(maps::Drawing::Svg(svg)) => ("server", html! { (PreEscaped(svg)) }),
        Ok(maps::Drawing::Dot(dot)) => match state.renderer() {
            Renderer::Server => match state.server_svg(version, kind, lang, dot).await {
                Ok(svg) => ("server", html! { (PreEscaped(svg.to_string())) }),
                // Without a working `dot` the browser lays the map out instead.
                Err(_) => ("pending", html! { p.map-loading { (say(Word::Rendering, lang)) } }),
            },
            Renderer::Browser => {
                ("pending", html! { p.map-loading { (say(Word::Rendering, lang)) } })
            }
        },
        Err(e) => ("failed", html! { p { (e.to_string()) } }),
    };
    html! {
        // Focusable, so that a map wider than the window can be scrolled from the keyboard.
        figure.map #map tabindex="0" aria-label=(caption) data-rendered=(rendered) data-dot-url=(dot_url) data-overlay-url=[overlay_url]
            data-failed-text=(say(Word::RenderFailed, lang)) {
            // Shown by the page's script when the map is wider than the page.
            button.fit-width type="button" aria-pressed="false" hidden { (say(Word::FitWidth, lang)) }
            div.map-drawing { (inner) }
            figcaption { (caption) }
        }
    }
}

fn with_lang(url: &str, lang: Lang) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    match lang {
        Lang::Fi => format!("{url}{sep}lang=fi"),
        Lang::En => format!("{url}{sep}lang=en"),
    }
}

pub async fn services(
    State(state): State<AppState>,
    query: PageQuery,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let choice = choose_lang(&query, &headers);
    let lang = choice.lang;
    let version = state.model();
    let model = &version.model;
    let map = figure(
        &state,
        &version,
        &MapKind::Services,
        lang,
        &with_lang("/map/services?format=dot", lang),
        say(Word::ServiceMap, lang),
        None,
    )
    .await;
    let multi = match &state.0.overlay {
        Some(overlay) => {
            let overlay = overlay.clone();
            tokio::task::spawn_blocking(move || overlay.multi_unit()).await.ok().flatten()
        }
        None => None,
    };
    let referrals = maps::level1::step_referrals(model);
    let body = html! {
        h1 { (say(Word::ServiceMap, lang)) }
        (map)
        section.map-text aria-labelledby="text-title" {
            h2 #text-title { (say(Word::TextAlternative, lang)) }
            h3 { (say(Word::Chains, lang)) }
            ul {
                @for (name, chain) in &model.chains {
                    li {
                        a href=(paths::chain(name)) { (chain.title) }
                        ul {
                            @for path in &chain.paths {
                                li { (path.iter().map(|s| service_title(model, s)).collect::<Vec<_>>().join(" → ")) }
                            }
                            @for service in &chain.services {
                                li { a href=(paths::service(service)) { (service_title(model, service)) } }
                            }
                            @for r in &chain.referrals {
                                li {
                                    (say(Word::Referral, lang)) ": "
                                    (service_title(model, &r.from)) " → " (service_title(model, &r.to))
                                    @if !r.segments.is_empty() { " (" (r.segments.join(", ")) ")" }
                                }
                            }
                        }
                    }
                }
            }
            h3 { (say(Word::Catalogue, lang)) }
            ul {
                @for (name, service) in &model.services {
                    li { a href=(paths::service(name)) { (if service.title.is_empty() { name.as_str() } else { service.title.as_str() }) } }
                }
            }
            @if !referrals.is_empty() {
                h3 { (say(Word::Referrals, lang)) }
                ul {
                    @for r in &referrals {
                        li { (service_title(model, &r.from_service)) " → " (service_title(model, &r.to_service)) " (" (r.steps.join(", ")) ")" }
                    }
                }
            }
        }
        section #multi-unit aria-labelledby="multi-title" {
            h2 #multi-title { (say(Word::MultiUnit, lang)) }
            @match &multi {
                Some(report) if !report.pairs.is_empty() => {
                    p { (say(Word::Clients, lang)) ": " strong.multi-total { (report.clients) } }
                    table {
                        thead { tr { th scope="col" { (say(Word::UnitPair, lang)) } th scope="col" { (say(Word::Clients, lang)) } } }
                        tbody {
                            @for pair in report.pairs.iter().take(15) {
                                tr {
                                    td { (service_title(model, &pair.units[0])) " + " (service_title(model, &pair.units[1])) }
                                    td.num { (pair.clients) }
                                }
                            }
                        }
                    }
                }
                _ => p { (say(Word::OpenCasesNone, lang)) },
            }
        }
    };
    page(
        Frame {
            choice,
            title: say(Word::ServiceMap, lang).to_owned(),
            crumbs: vec![(say(Word::ServiceMap, lang).to_owned(), None)],
            uri: &uri,
            state: &state,
        },
        body,
    )
}

fn profile_cards(segmentation: &Segmentation, lang: Lang) -> Markup {
    let field = |word: Word, text: &Option<String>| {
        html! { @if let Some(t) = text { dt { (say(word, lang)) } dd { (t) } } }
    };
    let card = |p: &SegmentProfile| {
        html! {
            article.profile-card #{"segment-" (p.name)} {
                h3 { (if p.title.is_empty() { p.name.as_str() } else { p.title.as_str() }) }
                @if !p.position.is_empty() {
                    p.position { (p.position.iter().map(|(a, v)| format!("{a}: {v}")).collect::<Vec<_>>().join(", ")) }
                }
                dl {
                    (field(Word::BasicStrategy, &p.basic_strategy))
                    (field(Word::Goal, &p.goal))
                    (field(Word::Differences, &p.differences))
                    (field(Word::ClientExperience, &p.client_experience))
                    (field(Word::Description, &p.description))
                    (field(Word::Emphases, &p.emphases))
                }
            }
        }
    };
    html! { div.cards { @for p in &segmentation.profiles { (card(p)) } } }
}

fn not_found(state: &AppState, choice: Choice, uri: &Uri, what: Word, name: &str) -> Response {
    let lang = choice.lang;
    let body = html! {
        h1 { (say(Word::NotFoundTitle, lang)) }
        p.not-found { (say(what, lang)) " " code { (name) } " " (match lang { Lang::Fi => "ei löydy mallista.", Lang::En => "is not in the model." }) }
        p { a href=(paths::search(name)) { (say(Word::NotFoundSearch, lang)) } }
    };
    let mut response = page(
        Frame {
            choice,
            title: say(Word::NotFoundTitle, lang).to_owned(),
            crumbs: vec![home(lang), (say(Word::NotFoundTitle, lang).to_owned(), None)],
            uri,
            state,
        },
        body,
    );
    *response.status_mut() = StatusCode::NOT_FOUND;
    response
}

pub async fn not_found_fallback(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let query = PageQuery::parse(uri.query().unwrap_or(""));
    let choice = choose_lang(&query, &headers);
    let path = uri.path().to_owned();
    not_found(&state, choice, &uri, Word::NotFoundTitle, &path)
}

pub async fn chain(
    State(state): State<AppState>,
    Name(name): Name,
    query: PageQuery,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let choice = choose_lang(&query, &headers);
    let lang = choice.lang;
    let version = state.model();
    let model = &version.model;
    let Some(chain) = model.chains.get(&name) else {
        return not_found(&state, choice, &uri, Word::Chain, &name);
    };
    let services: Vec<&String> = {
        let mut all: Vec<&String> = chain.paths.iter().flatten().chain(&chain.services).collect();
        let mut seen = std::collections::BTreeSet::new();
        all.retain(|s| seen.insert(s.as_str()));
        all
    };
    let segmentation =
        chain.segmentation.as_ref().and_then(|s| model.segmentations.get(s).map(|g| (s, g)));
    let map = match segmentation {
        Some((s, _)) => Some(
            figure(
                &state,
                &version,
                &MapKind::Segmentation(s.clone()),
                lang,
                &with_lang(&format!("/map/segmentation/{}?format=dot", paths::encode(s)), lang),
                say(Word::Segmentation, lang),
                None,
            )
            .await,
        ),
        None => None,
    };
    let processes: Vec<&Process> = model
        .processes
        .values()
        .filter(|p| p.service.as_ref().is_some_and(|s| services.contains(&s)))
        .collect();
    let body = html! {
        h1 { (chain.title) }
        p { (say(Word::Chain, lang)) " · " (services.len()) " " (say(Word::Services, lang).to_lowercase()) }
        @if let Some((s, g)) = segmentation {
            h2 { (say(Word::Segmentation, lang)) ": " a href=(paths::segmentation(s)) { (g.title) } }
            @if let Some(map) = map { (map) }
        }
        section.map-text aria-labelledby="text-title" {
            h2 #text-title { (say(Word::Processes, lang)) }
            ul.processes {
                @for p in &processes {
                    li {
                        a.process-link href=(paths::process(&p.name, None)) { (process_title(model, &p.name)) }
                        @if let Some(s) = &p.service { " (" (service_title(model, s)) ")" }
                        @if !p.plans.is_empty() {
                            ul.segments {
                                @for (segment, title) in segments_in_order(model, p) {
                                    li { a href=(paths::process(&p.name, Some(&segment))) { (title) } }
                                }
                            }
                        }
                    }
                }
            }
            @if let Some((_, g)) = segmentation {
                h2 { (say(Word::Segments, lang)) }
                (profile_cards(g, lang))
            }
        }
    };
    page(
        Frame {
            choice,
            title: chain.title.clone(),
            crumbs: vec![home(lang), (chain.title.clone(), None)],
            uri: &uri,
            state: &state,
        },
        body,
    )
}

/// A process's segments with content, in the order its segmentation lists them, with titles.
fn segments_in_order(model: &Model, process: &Process) -> Vec<(String, String)> {
    let segmentation = process.segmentation.as_ref().and_then(|s| model.segmentations.get(s));
    let mut names: Vec<&String> = match segmentation {
        Some(g) => g.segments.iter().filter(|s| process.plans.contains_key(*s)).collect(),
        None => Vec::new(),
    };
    names.extend(process.plans.keys().filter(|s| !names.contains(s)).collect::<Vec<_>>());
    names
        .into_iter()
        .map(|s| {
            let title = segmentation
                .and_then(|g| g.profile(s))
                .map(|p| p.title.clone())
                .filter(|t| !t.is_empty())
                .unwrap_or_else(|| s.clone());
            (s.clone(), title)
        })
        .collect()
}

pub async fn service(
    State(state): State<AppState>,
    Name(name): Name,
    query: PageQuery,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let choice = choose_lang(&query, &headers);
    let lang = choice.lang;
    let version = state.model();
    let model = &version.model;
    let Some(service) = model.services.get(&name) else {
        return not_found(&state, choice, &uri, Word::Service, &name);
    };
    let title = service_title(model, &name).to_owned();
    let chains: Vec<(&String, &polku_engine::model::Chain)> = model
        .chains
        .iter()
        .filter(|(_, c)| c.services.contains(&name) || c.paths.iter().any(|p| p.contains(&name)))
        .collect();
    let body = html! {
        h1 { (title) }
        @if let Some(code) = &service.code { p { "SPAT / " (code) } }
        @if let Some(law) = &service.law { p { "§ " (law) } }
        @if let Some(d) = &service.description { p { (d) } }
        section.map-text aria-labelledby="text-title" {
            h2 #text-title { (say(Word::Processes, lang)) }
            ul {
                @for p in model.processes.values().filter(|p| p.service.as_deref() == Some(name.as_str())) {
                    li { a.process-link href=(paths::process(&p.name, None)) { (process_title(model, &p.name)) } }
                }
            }
            h2 { (say(Word::Chains, lang)) }
            ul { @for (c, chain) in &chains { li { a href=(paths::chain(c)) { (chain.title) } } } }
            h2 { (say(Word::Segmentations, lang)) }
            ul {
                @for (s, g) in model.segmentations.iter().filter(|(_, g)| g.units.contains(&name)) {
                    li { a href=(paths::segmentation(s)) { (g.title) } }
                }
            }
        }
    };
    let mut crumbs = vec![home(lang)];
    if let Some((c, chain)) = chains.first() {
        crumbs.push((chain.title.clone(), Some(paths::chain(c))));
    }
    crumbs.push((title.clone(), None));
    page(Frame { choice, title, crumbs, uri: &uri, state: &state }, body)
}

pub async fn segmentation(
    State(state): State<AppState>,
    Name(name): Name,
    query: PageQuery,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let choice = choose_lang(&query, &headers);
    let lang = choice.lang;
    let version = state.model();
    let model = &version.model;
    let Some(g) = model.segmentations.get(&name) else {
        return not_found(&state, choice, &uri, Word::Segmentation, &name);
    };
    let map = figure(
        &state,
        &version,
        &MapKind::Segmentation(name.clone()),
        lang,
        &with_lang(&format!("/map/segmentation/{}?format=dot", paths::encode(&name)), lang),
        say(Word::Segmentation, lang),
        None,
    )
    .await;
    let body = html! {
        h1 { (g.title) }
        @if !g.units.is_empty() {
            p { (say(Word::Service, lang)) ": "
                @for (i, unit) in g.units.iter().enumerate() {
                    @if i > 0 { ", " }
                    a href=(paths::service(unit)) { (service_title(model, unit)) }
                }
            }
        }
        (map)
        section.map-text aria-labelledby="text-title" {
            h2 #text-title { (say(Word::Segments, lang)) }
            (profile_cards(g, lang))
            h2 { (say(Word::Processes, lang)) }
            ul {
                @for p in model.processes.values().filter(|p| p.segmentation.as_deref() == Some(name.as_str())) {
                    li { a.process-link href=(paths::process(&p.name, None)) { (process_title(model, &p.name)) } }
                }
            }
        }
    };
    let mut crumbs = vec![home(lang)];
    if let Some((c, chain)) =
        model.chains.iter().find(|(_, c)| c.segmentation.as_deref() == Some(name.as_str()))
    {
        crumbs.push((chain.title.clone(), Some(paths::chain(c))));
    }
    crumbs.push((g.title.clone(), None));
    page(Frame { choice, title: g.title.clone(), crumbs, uri: &uri, state: &state }, body)
}

pub async fn process(
    State(state): State<AppState>,
    Name(name): Name,
    query: PageQuery,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let choice = choose_lang(&query, &headers);
    let lang = choice.lang;
    let version = state.model();
    let model = &version.model;
    let Some(process) = model.processes.get(&name) else {
        return not_found(&state, choice, &uri, Word::Process, &name);
    };
    let segment = query.segment.clone().filter(|s| !s.is_empty());
    if let Some(s) = &segment {
        if !process.plans.contains_key(s) {
            return not_found(&state, choice, &uri, Word::Segment, s);
        }
    }
    let title = process_title(model, &name).to_owned();
    let plan = process.plan(segment.as_deref());
    let order: Vec<&String> = process
        .segmentation
        .as_ref()
        .and_then(|s| model.segmentations.get(s))
        .map(|g| g.segments.iter().filter(|s| process.plans.contains_key(*s)).collect())
        .unwrap_or_else(|| process.plans.keys().collect());
    let map_url = format!(
        "/map/process/{}?{}format=dot",
        paths::encode(&name),
        segment.as_ref().map(|s| format!("segment={}&", paths::encode(s))).unwrap_or_default()
    );
    let overlay_url = format!(
        "/overlay/{}{}",
        paths::encode(&name),
        segment.as_ref().map(|s| format!("?segment={}", paths::encode(s))).unwrap_or_default()
    );
    let map = figure(
        &state,
        &version,
        &MapKind::Process { process: name.clone(), segment: segment.clone() },
        lang,
        &with_lang(&map_url, lang),
        &title,
        Some(overlay_url),
    )
    .await;
    let segment_title = |s: &str| -> String {
        process
            .segmentation
            .as_ref()
            .and_then(|g| model.segmentations.get(g))
            .and_then(|g| g.profile(s))
            .map(|p| p.title.clone())
            .filter(|t| !t.is_empty())
            .unwrap_or_else(|| s.to_owned())
    };
    let body = html! {
        h1 { (title) }
        @if let Some(s) = &process.service { p { (say(Word::Service, lang)) ": " a href=(paths::service(s)) { (service_title(model, s)) } } }
        @if !order.is_empty() {
            form #segment-form method="get" action=(paths::process(&name, None)) {
                label for="segment" { (say(Word::Segment, lang)) }
                select #segment name="segment" {
                    option value="" selected[segment.is_none()] { (say(Word::Generic, lang)) }
                    @for s in &order {
                        option value=(s) selected[segment.as_deref() == Some(s.as_str())] { (segment_title(s)) }
                    }
                }
                button type="submit" { (say(Word::Show, lang)) }
            }
            p.segment-links {
                a.segment-link href=(paths::process(&name, None)) aria-current=[segment.is_none().then_some("page")] { (say(Word::Generic, lang)) }
                @for s in &order {
                    " · "
                    a.segment-link href=(paths::process(&name, Some(s))) aria-current=[(segment.as_deref() == Some(s.as_str())).then_some("page")] { (segment_title(s)) }
                }
            }
        }
        @if let Some(s) = &segment {
            p #responsible {
                (say(Word::Responsible, lang)) ": "
                strong { (plan.responsible.as_deref().map(|r| role_title(model, r)).unwrap_or("–")) }
                " · " (say(Word::Segment, lang)) ": " (segment_title(s))
            }
        }
        div.legend #heat-legend {
            span.key.added { (say(Word::Added, lang)) }
            span.key.changed { (say(Word::Changed, lang)) }
            span.key.removed { (say(Word::Removed, lang)) }
            span.key.optional { (say(Word::Optional, lang)) }
            span.key.statutory { "§ " (say(Word::Statutory, lang)) }
            span.key.heat { (say(Word::OpenCases, lang)) ": " span #heat-total { "–" } }
        }
        (map)
        section.map-text aria-labelledby="text-title" {
            h2 #text-title { (say(Word::TextAlternative, lang)) }
            ol.phases {
                @for phase in &process.phases {
                    @let target = format!("{}.{}", name, phase.name);
                    li #{"text-phase-" (phase.name)} {
                        strong { (phase.title) }
                        @if phase.client { " (" (say(Word::ClientPhase, lang)) ")" }
                        @if model.workflows.contains_key(&target) {
                            " – " a.workflow-link href=(paths::workflow(&target)) { (say(Word::Workflow, lang)) ": " (model.workflows[&target].title) }
                        }
                        ul {
                            @for step in plan.steps.iter().filter(|s| s.phase == phase.name) {
                                li #{"text-step-" (step.name)} class=(match (&step.origin, segment.is_some()) { (Origin::Added, true) => "added", (Origin::Changed(_), true) => "changed", _ => "" }) {
                                    (if step.title.is_empty() { step.name.as_str() } else { step.title.as_str() })
                                    @if let (Origin::Added, true) = (&step.origin, segment.is_some()) { " [" (say(Word::Added, lang)) "]" }
                                    @if let (Origin::Changed(_), true) = (&step.origin, segment.is_some()) { " [" (say(Word::Changed, lang)) "]" }
                                    @let details = step_details(model, step, lang);
                                    @if !details.is_empty() { span.details { " — " (details.join("; ")) } }
                                }
                            }
                            @for removed in plan.removed.iter().filter(|r| process.generic.step(&r.name).is_some_and(|s| s.phase == phase.name)) {
                                li.removed { del { (process.generic.step(&removed.name).map(|s| s.title.as_str()).unwrap_or(&removed.name)) } " [" (say(Word::Removed, lang)) "]" }
                            }
                        }
                    }
                }
            }
        }
    };
    let mut crumbs = vec![home(lang)];
    if let Some((c, chain)) = chain_of(model, process) {
        crumbs.push((chain.title.clone(), Some(paths::chain(c))));
    }
    crumbs.push((title.clone(), None));
    page(Frame { choice, title, crumbs, uri: &uri, state: &state }, body)
}

pub async fn workflow(
    State(state): State<AppState>,
    Name(target): Name,
    query: PageQuery,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let choice = choose_lang(&query, &headers);
    let lang = choice.lang;
    let version = state.model();
    let model = &version.model;
    let Some(w) = model.workflows.get(&target) else {
        return not_found(&state, choice, &uri, Word::Workflow, &target);
    };
    let map = figure(
        &state,
        &version,
        &MapKind::Workflow(target.clone()),
        lang,
        &with_lang(&format!("/map/workflow/{}", paths::encode(&target)), lang),
        &w.title,
        None,
    )
    .await;
    let process_name = process_title(model, &w.process).to_owned();
    let phase_title = model
        .processes
        .get(&w.process)
        .and_then(|p| p.phases.iter().find(|ph| ph.name == w.phase))
        .map(|ph| ph.title.clone())
        .unwrap_or_else(|| w.phase.clone());
    let body = html! {
        h1 { (w.title) }
        p {
            (say(Word::Process, lang)) ": " a href=(paths::process(&w.process, None)) { (process_name) }
            " · " (say(Word::Phase, lang)) ": " (phase_title)
        }
        (map)
        section.map-text aria-labelledby="text-title" {
            h2 #text-title { (say(Word::TextAlternative, lang)) }
            ul.lanes {
                @for lane in &w.lanes {
                    li {
                        strong { (role_title(model, &lane.role)) }
                        ul {
                            @for task in &lane.tasks {
                                li {
                                    (if task.title.is_empty() { task.name.as_str() } else { task.title.as_str() })
                                    @if let Some(step) = &task.step {
                                        " – " a href=(format!("{}#text-step-{step}", paths::process(&w.process, None))) { (say(Word::PerformsStep, lang)) ": " (step) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            @if !w.handoffs.is_empty() {
                h3 { (say(Word::Handoffs, lang)) }
                ol {
                    @for h in &w.handoffs {
                        li { (h.from) " → " (h.to) @if let Some(what) = &h.what { ": " (what) } }
                    }
                }
            }
        }
    };
    let mut crumbs = vec![home(lang)];
    if let Some(process) = model.processes.get(&w.process) {
        if let Some((c, chain)) = chain_of(model, process) {
            crumbs.push((chain.title.clone(), Some(paths::chain(c))));
        }
    }
    crumbs.push((process_name, Some(paths::process(&w.process, None))));
    crumbs.push((w.title.clone(), None));
    page(Frame { choice, title: w.title.clone(), crumbs, uri: &uri, state: &state }, body)
}

/// One search hit: what it is, its words and where it leads.
struct Hit {
    kind: Word,
    title: String,
    name: String,
    href: String,
}

fn fold(text: &str) -> String {
    text.to_lowercase().replace(['ä', 'å'], "a").replace('ö', "o")
}

fn search_model(model: &Model, query: &str) -> Vec<Hit> {
    let q = fold(query.trim());
    if q.is_empty() {
        return Vec::new();
    }
    let matches = |name: &str, title: &str| fold(name).contains(&q) || fold(title).contains(&q);
    let mut hits = Vec::new();
    for (name, c) in &model.chains {
        if matches(name, &c.title) {
            hits.push(Hit {
                kind: Word::Chain,
                title: c.title.clone(),
                name: name.clone(),
                href: paths::chain(name),
            });
        }
    }
    for (name, s) in &model.services {
        if matches(name, &s.title) {
            hits.push(Hit {
                kind: Word::Service,
                title: s.title.clone(),
                name: name.clone(),
                href: paths::service(name),
            });
        }
    }
    for (name, g) in &model.segmentations {
        if matches(name, &g.title) {
            hits.push(Hit {
                kind: Word::Segmentation,
                title: g.title.clone(),
                name: name.clone(),
                href: paths::segmentation(name),
            });
        }
        for p in &g.profiles {
            if matches(&p.name, &p.title) {
                hits.push(Hit {
                    kind: Word::Segment,
                    title: p.title.clone(),
                    name: p.name.clone(),
                    href: format!("{}#segment-{}", paths::segmentation(name), p.name),
                });
            }
        }
    }
    for (name, p) in &model.processes {
        if matches(name, &p.title) {
            hits.push(Hit {
                kind: Word::Process,
                title: p.title.clone(),
                name: name.clone(),
                href: paths::process(name, None),
            });
        }
        for phase in &p.phases {
            if matches(&phase.name, &phase.title) {
                hits.push(Hit {
                    kind: Word::Phase,
                    title: format!("{} – {}", phase.title, p.title),
                    name: phase.name.clone(),
                    href: format!("{}#text-phase-{}", paths::process(name, None), phase.name),
                });
            }
        }
        let mut seen = std::collections::BTreeSet::new();
        for (segment, step) in std::iter::once((None, &p.generic))
            .chain(p.plans.iter().map(|(s, plan)| (Some(s.as_str()), plan)))
            .flat_map(|(s, plan)| plan.steps.iter().map(move |step| (s, step)))
        {
            if matches(&step.name, &step.title) && seen.insert(step.name.clone()) {
                let segment = if matches!(step.origin, Origin::Added) { segment } else { None };
                hits.push(Hit {
                    kind: Word::Step,
                    title: format!("{} – {}", step.title, p.title),
                    name: step.name.clone(),
                    href: format!("{}#text-step-{}", paths::process(name, segment), step.name),
                });
            }
        }
    }
    for (target, w) in &model.workflows {
        if matches(target, &w.title) {
            hits.push(Hit {
                kind: Word::Workflow,
                title: w.title.clone(),
                name: target.clone(),
                href: paths::workflow(target),
            });
        }
        for task in w.lanes.iter().flat_map(|l| &l.tasks) {
            if matches(&task.name, &task.title) {
                hits.push(Hit {
                    kind: Word::Task,
                    title: format!("{} – {}", task.title, w.title),
                    name: task.name.clone(),
                    href: paths::workflow(target),
                });
            }
        }
    }
    hits
}

pub async fn search(
    State(state): State<AppState>,
    query: PageQuery,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let choice = choose_lang(&query, &headers);
    let lang = choice.lang;
    let version = state.model();
    let q = query.q.clone().unwrap_or_default();
    let hits = search_model(&version.model, &q);
    let body = html! {
        h1 { (say(Word::SearchResults, lang)) @if !q.is_empty() { ": " q { (q) } } }
        @if hits.is_empty() {
            p.no-results { (say(Word::NoResults, lang)) }
        } @else {
            ul.results {
                @for hit in hits.iter().take(200) {
                    li { span.kind { (say(hit.kind, lang)) } ": " a href=(hit.href) { (if hit.title.is_empty() { hit.name.as_str() } else { hit.title.as_str() }) } " " code { (hit.name) } }
                }
            }
        }
    };
    page(
        Frame {
            choice,
            title: say(Word::SearchResults, lang).to_owned(),
            crumbs: vec![home(lang), (say(Word::SearchResults, lang).to_owned(), None)],
            uri: &uri,
            state: &state,
        },
        body,
    )
}
