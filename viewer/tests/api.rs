//! The HTTP API with a real tracker on a real SQLite file: every endpoint with every role,
//! every error path, the access log written before client data leaves, idempotent events, and
//! no identity code echoed.

use std::path::PathBuf;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use polku_store::tracker::{Actor, Tracker};
use polku_store::TrackerService;
use polku_viewer::server::api::create_token;
use polku_viewer::server::auth::{Principal, Role};
use polku_viewer::server::{app, AppState, ModelVersion, Renderer};
use tower::ServiceExt;

struct Fixture {
    state: AppState,
    tracker: TrackerService,
    tokens: Vec<(Role, String)>,
    outsider: String,
    /// The outsider's unit, and the event that opened the client's case.
    other: String,
    opened: polku_engine::event::Event,
    /// An identity code of a simulated client, its case and the case's unit.
    code: String,
    case: String,
    dir: PathBuf,
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn fixture(name: &str) -> Fixture {
    fixture_in(name, "keusote", |_| true)
}

/// A fixture of a shipped model whose client is the first one opened by an event that `pick`
/// accepts.
fn fixture_in(
    name: &str,
    model: &str,
    pick: impl Fn(&polku_engine::event::Event) -> bool,
) -> Fixture {
    let root = package_dir().join("../processes").join(model);
    let checked = polku_store::project::checked_model(Some(&root), false)
        .expect("model readable")
        .expect("model checks");
    let model = polku_engine::compile(&checked.files);
    let sources = checked.model_sources();
    let dir = std::env::temp_dir().join(format!("polku-api-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    let store = polku_store::open(&format!("sqlite://{}", dir.join("polku.sqlite").display()))
        .expect("store");
    let key = polku_engine::pseudonym::PseudonymKey::new(vec![7u8; 32]).expect("key");
    let mut tracker = Tracker::open(store, &sources, &model, key).expect("tracker");
    let options = polku_engine::simulate::Options {
        clients: 60,
        days: 200,
        seed: 3,
        start: polku_engine::time::Timestamp::parse("2026-01-01").expect("date"),
    };
    let events = polku_engine::simulate::simulate(&model, "t", &options).expect("simulate");
    let text: String =
        events.iter().map(|e| serde_json::to_string(e).expect("json") + "\n").collect();
    let first = events
        .iter()
        .find(|e| matches!(e.kind, polku_engine::event::EventKind::CaseOpened { .. }) && pick(e))
        .expect("a case to look at");
    let code = match &first.kind {
        polku_engine::event::EventKind::CaseOpened { client, .. } => client.clone(),
        _ => panic!("the first event opens a case"),
    };
    let case = first.case.clone();
    let opened = first.clone();
    let read = tracker.read_events(text.as_bytes());
    assert!(read.errors.is_empty());
    let parsed = read.events;
    tracker
        .ingest(
            parsed.into_iter().map(|(l, e)| (l, e, None)),
            500,
            &Actor::new("t", "t"),
            &mut |_| {},
        )
        .expect("ingest");
    let service = TrackerService::new(tracker);
    let (_, unit) = service.case_owner(&case).expect("the state reads").expect("the case exists");
    let mut tokens = Vec::new();
    for role in Role::ALL {
        let units =
            if matches!(role, Role::Staff | Role::System) { vec![unit.clone()] } else { vec![] };
        let principal = Principal { name: format!("test-{}", role.as_str()), role, units };
        tokens.push((role, create_token(&service, &principal).expect("token")));
    }
    // Staff of a unit where the client has no case.
    let other = model.services.keys().find(|s| **s != unit).expect("another unit").clone();
    let outsider = create_token(
        &service,
        &Principal { name: "outsider".into(), role: Role::Staff, units: vec![other.clone()] },
    )
    .expect("token");
    let version = ModelVersion { version: sources.hash(), name: None, model };
    let state = AppState::with_tracker(version, Renderer::Browser, service.clone(), false);
    Fixture { state, tracker: service, tokens, outsider, other, opened, code, case, dir }
}

impl Fixture {
    fn token(&self, role: Role) -> &str {
        &self.tokens.iter().find(|(r, _)| *r == role).expect("a token per role").1
    }

    async fn call(
        &self,
        method: &str,
        uri: &str,
        token: Option<&str>,
        content_type: Option<&str>,
        body: &str,
    ) -> (StatusCode, String) {
        let mut request = Request::builder().method(method).uri(uri);
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        if let Some(kind) = content_type {
            request = request.header("content-type", kind);
        }
        let response = app(self.state.clone())
            .oneshot(request.body(Body::from(body.to_owned())).expect("request"))
            .await
            .expect("response");
        let status = response.status();
        let bytes =
            axum::body::to_bytes(response.into_body(), 64 * 1024 * 1024).await.expect("body");
        (status, String::from_utf8_lossy(&bytes).into_owned())
    }

    fn access_rows(&self, client: Option<&str>) -> usize {
        self.tracker.with(|t| t.access_log(client, 100_000).expect("access log").len())
    }
}

/// An endpoint: method, address, content type, body and the roles that may call it.
type Endpoint<'a> = (&'a str, String, Option<&'a str>, String, Vec<Role>);

/// An error case: method, address, content type, body, who asks, the status and the field.
type ErrorCase<'a> =
    (&'a str, String, Option<&'a str>, String, &'a str, StatusCode, Option<&'a str>);

fn status_body(code: &str) -> String {
    format!(r#"{{"client":"{code}","purpose":"neuvolakäynti"}}"#)
}

#[tokio::test]
async fn every_endpoint_with_every_role() {
    let f = fixture("matrix");
    let event = format!(
        r#"{{"id":"m-1","case":"{}","occurred":"2026-11-01T10:00:00+02:00","recorded":"2026-11-01T10:05:00+02:00","role":"terveydenhoitaja","type":"step_started","step":"x"}}"#,
        f.case
    );
    let status = status_body(&f.code);
    let case_uri = format!("/api/v1/cases/{}?purpose=tarkistus", f.case);
    // (method, uri, content type, body, roles allowed)
    let endpoints: Vec<Endpoint> = vec![
        (
            "GET",
            "/api/v1/model".into(),
            None,
            String::new(),
            vec![Role::Staff, Role::ProcessOwner, Role::Viewer],
        ),
        (
            "GET",
            "/api/v1/model/processes/kth_laaja_5lk/plan?segment=tuki".into(),
            None,
            String::new(),
            vec![Role::Staff, Role::ProcessOwner, Role::Viewer],
        ),
        (
            "POST",
            "/api/v1/events".into(),
            Some("application/json"),
            event,
            vec![Role::Staff, Role::System],
        ),
        (
            "POST",
            "/api/v1/client-status".into(),
            Some("application/json"),
            status,
            vec![Role::Staff],
        ),
        (
            "POST",
            "/api/v1/explain".into(),
            Some("application/json"),
            format!(r#"{{"client":"{}","purpose":"miksi","date":"2026-12-31"}}"#, f.code),
            vec![Role::Staff],
        ),
        ("GET", case_uri, None, String::new(), vec![Role::Staff]),
        (
            "GET",
            "/api/v1/reports/segments?date=2026-06-30".into(),
            None,
            String::new(),
            vec![Role::ProcessOwner, Role::Viewer],
        ),
        (
            "GET",
            "/api/v1/reports/transitions?from=2026-01-01&to=2026-06-30".into(),
            None,
            String::new(),
            vec![Role::ProcessOwner, Role::Viewer],
        ),
        (
            "GET",
            "/api/v1/reports/completion?as_of=2026-06-30".into(),
            None,
            String::new(),
            vec![Role::ProcessOwner, Role::Viewer],
        ),
        ("GET", "/api/v1/audit?limit=5".into(), None, String::new(), vec![Role::Auditor]),
    ];
    for (method, uri, kind, body, allowed) in &endpoints {
        let (anonymous, _) = f.call(method, uri, None, *kind, body).await;
        assert_eq!(anonymous, StatusCode::UNAUTHORIZED, "{method} {uri} without a token");
        let (forged, _) = f.call(method, uri, Some("polku_00"), *kind, body).await;
        assert_eq!(forged, StatusCode::UNAUTHORIZED, "{method} {uri} with an unknown token");
        for role in Role::ALL {
            let (got, text) = f.call(method, uri, Some(f.token(role)), *kind, body).await;
            let want = if allowed.contains(&role) { StatusCode::OK } else { StatusCode::FORBIDDEN };
            assert_eq!(got, want, "{method} {uri} as {role:?}: {text}");
            assert!(!text.contains(&f.code), "{method} {uri} echoed the identity code");
        }
    }
}

#[tokio::test]
async fn client_data_needs_a_care_relationship_and_is_logged_first() {
    let f = fixture("care");
    let staff = f.token(Role::Staff).to_owned();
    let pseudonym = f.tracker.pseudonym(&f.code).expect("pseudonym").as_str().to_owned();
    let before = f.access_rows(Some(&pseudonym));
    let (status, body) = f
        .call(
            "POST",
            "/api/v1/client-status",
            Some(&staff),
            Some("application/json"),
            &status_body(&f.code),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains(&pseudonym) && !body.contains(&f.code));
    assert_eq!(f.access_rows(Some(&pseudonym)), before + 1, "the status read is in the access log");

    let (status, _) = f
        .call("GET", &format!("/api/v1/cases/{}?purpose=tarkistus", f.case), Some(&staff), None, "")
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(f.access_rows(Some(&pseudonym)), before + 2, "the case read is in the access log");

    // Why the plan is as it is: the version, the segment and each step; logged first.
    let explain = |body: String| {
        let staff = staff.clone();
        let f = &f;
        async move {
            f.call("POST", "/api/v1/explain", Some(&staff), Some("application/json"), &body).await
        }
    };
    let (status, body) =
        explain(format!(r#"{{"client":"{}","purpose":"miksi","date":"2026-12-31"}}"#, f.code))
            .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let all: serde_json::Value = serde_json::from_str(&body).unwrap();
    let case =
        all["cases"].as_array().unwrap().iter().find(|c| c["case"] == f.case.as_str()).unwrap();
    assert!(case["model_version"].as_str().is_some_and(|h| h.len() == 64));
    let step = case["steps"][0]["step"].as_str().unwrap().to_owned();
    let (status, body) = explain(format!(
        r#"{{"client":"{}","purpose":"miksi","date":"2026-12-31","step":"{step}"}}"#,
        f.code
    ))
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let one: serde_json::Value = serde_json::from_str(&body).unwrap();
    let case =
        one["cases"].as_array().unwrap().iter().find(|c| c["case"] == f.case.as_str()).unwrap();
    assert_eq!(case["steps"].as_array().unwrap().len(), 1, "{body}");
    assert_eq!(case["steps"][0]["step"], step.as_str());
    assert!(!body.contains(&f.code));
    assert_eq!(
        f.access_rows(Some(&pseudonym)),
        before + 4,
        "each explanation is in the access log"
    );
    for (body, field, want) in [
        (format!(r#"{{"client":"{}","purpose":"","step":"th"}}"#, f.code), "purpose", 400),
        (format!(r#"{{"client":"{}","purpose":"m","date":"1.1.2026"}}"#, f.code), "date", 400),
        (format!(r#"{{"client":"{}","purpose":"m","step":"ei_ole"}}"#, f.code), "step", 404),
    ] {
        let (status, text) =
            f.call("POST", "/api/v1/explain", Some(&staff), Some("application/json"), &body).await;
        assert_eq!(status.as_u16(), want, "{text}");
        assert!(text.contains(&format!(r#""field":"{field}""#)), "{text}");
        assert!(!text.contains(&f.code));
    }
    // Staff of another unit: answered as for a person who is nobody's client, so that the
    // answer does not tell them the person is a client elsewhere; nothing of the client is
    // returned and nothing is read. A client id of the same form with no cases at all (a
    // pseudonym nobody has) is the comparison.
    let nobody = "0".repeat(64);
    let asked = |client: &str, uri: &'static str, body: fn(&str) -> String| {
        let (f, body) = (&f, body(client));
        async move { f.call("POST", uri, Some(&f.outsider), Some("application/json"), &body).await }
    };
    let why = |client: &str| format!(r#"{{"client":"{client}","purpose":"miksi"}}"#);
    let logged = f.access_rows(Some(&pseudonym));
    for (uri, body) in
        [("/api/v1/explain", why as fn(&str) -> String), ("/api/v1/client-status", status_body)]
    {
        let (status, text) = asked(&f.code, uri, body).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{uri}: {text}");
        assert!(!text.contains(&pseudonym) && !text.contains(&f.code), "{text}");
        assert_eq!((status, text), asked(&nobody, uri, body).await, "{uri} tells the two apart");
    }
    assert_eq!(f.access_rows(Some(&pseudonym)), logged, "a refused read reads nothing");
    // The same for a case of another unit, against a case that does not exist.
    let case_read = |case: String| {
        let f = &f;
        async move {
            let uri = format!("/api/v1/cases/{case}?purpose=tarkistus");
            f.call("GET", &uri, Some(&f.outsider), None, "").await
        }
    };
    let (status, text) = case_read(f.case.clone()).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{text}");
    assert_eq!((status, text), case_read("ei-ole-olemassa".into()).await);
    // What the outsider is answered for one event it sends (the first event's answer).
    let outsider_sends = |event: serde_json::Value| {
        let f = &f;
        async move {
            let (status, text) = f
                .call(
                    "POST",
                    "/api/v1/events",
                    Some(&f.outsider),
                    Some("application/json"),
                    &event.to_string(),
                )
                .await;
            assert_eq!(status, StatusCode::OK, "{text}");
            let answer: serde_json::Value = serde_json::from_str(&text).expect("json");
            answer["events"][0].clone()
        }
    };
    // An event the outsider sends for the case is refused as one for a case never opened:
    // the answer names neither the case's unit nor that it exists.
    let send = |case: String| {
        let event = serde_json::json!({
            "id": "outsider-1", "type": "step_completed", "case": case, "step": "x",
            "occurred": "2026-11-03T10:00:00+02:00", "recorded": "2026-11-03T10:00:00+02:00",
            "role": "terveydenhoitaja",
        });
        let answer = outsider_sends(event);
        async move { answer.await["reason"].as_str().expect("a refusal").replace(&case, "CASE") }
    };
    let refused = send(f.case.clone()).await;
    let (_, unit) = f.tracker.case_owner(&f.case).expect("reads").expect("a case");
    assert!(!refused.contains(&unit), "{refused}");
    assert_eq!(refused, send("ei-ole-olemassa".into()).await);
    // An opening in a unit not the outsider's is refused by its unit, which it names itself.
    let mut opening = serde_json::to_value(&f.opened).expect("json");
    opening["id"] = "outsider-2".into();
    opening["case"] = "outsider-case".into();
    let answer = outsider_sends(opening).await;
    assert_eq!(answer["field"], "unit", "{answer}");

    // The auditor answers "who has looked at my data", by code in a body.
    let (status, body) = f
        .call(
            "POST",
            "/api/v1/audit",
            Some(f.token(Role::Auditor)),
            Some("application/json"),
            &format!(r#"{{"client":"{}"}}"#, f.code),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains("test-staff") && body.contains("neuvolakäynti"));
    assert!(!body.contains(&f.code));
    // An identity code never goes into an address.
    let (status, body) = f
        .call(
            "GET",
            &format!("/api/v1/audit?client={}", f.code),
            Some(f.token(Role::Auditor)),
            None,
            "",
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(!body.contains(&f.code));
}

#[tokio::test]
async fn errors_name_the_field_and_never_are_500() {
    let f = fixture("errors");
    let staff = f.token(Role::Staff).to_owned();
    let po = f.token(Role::ProcessOwner).to_owned();
    let cases: Vec<ErrorCase> = vec![
        (
            "POST",
            "/api/v1/client-status".into(),
            Some("application/json"),
            format!(r#"{{"client":"{}"}}"#, f.code),
            "staff",
            StatusCode::BAD_REQUEST,
            Some("purpose"),
        ),
        (
            "POST",
            "/api/v1/client-status".into(),
            Some("application/json"),
            r#"{"client":"131052-308U","purpose":"x"}"#.into(),
            "staff",
            StatusCode::BAD_REQUEST,
            Some("client"),
        ),
        (
            "POST",
            "/api/v1/client-status".into(),
            Some("application/json"),
            format!("{{\"client\":\"{}\",\"purpose\":\"x\"}}", "0".repeat(64)),
            "staff",
            StatusCode::NOT_FOUND,
            Some("client"),
        ),
        (
            "POST",
            "/api/v1/client-status".into(),
            Some("text/plain"),
            status_body(&f.code),
            "staff",
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Some("content-type"),
        ),
        (
            "POST",
            "/api/v1/client-status".into(),
            Some("application/json"),
            "{not json".into(),
            "staff",
            StatusCode::BAD_REQUEST,
            None,
        ),
        (
            "GET",
            "/api/v1/cases/ei_ole?purpose=x".into(),
            None,
            String::new(),
            "staff",
            StatusCode::NOT_FOUND,
            Some("case"),
        ),
        (
            "GET",
            format!("/api/v1/cases/{}", f.case),
            None,
            String::new(),
            "staff",
            StatusCode::BAD_REQUEST,
            Some("purpose"),
        ),
        (
            "GET",
            "/api/v1/reports/segments?date=kesäkuu".into(),
            None,
            String::new(),
            "po",
            StatusCode::BAD_REQUEST,
            Some("date"),
        ),
        (
            "GET",
            "/api/v1/reports/transitions?from=2026-12-01&to=2026-01-01".into(),
            None,
            String::new(),
            "po",
            StatusCode::BAD_REQUEST,
            Some("from"),
        ),
        (
            "GET",
            "/api/v1/model/processes/ei_ole/plan".into(),
            None,
            String::new(),
            "po",
            StatusCode::NOT_FOUND,
            Some("process"),
        ),
        (
            "GET",
            "/api/v1/model/processes/kth_laaja_5lk/plan?segment=ei_ole".into(),
            None,
            String::new(),
            "po",
            StatusCode::NOT_FOUND,
            Some("segment"),
        ),
        (
            "POST",
            "/api/v1/events".into(),
            Some("application/json"),
            "[1, 2".into(),
            "staff",
            StatusCode::BAD_REQUEST,
            Some("body"),
        ),
        (
            "POST",
            "/api/v1/events".into(),
            Some("application/xml"),
            "<x/>".into(),
            "staff",
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Some("content-type"),
        ),
    ];
    for (method, uri, kind, body, who, want, field) in cases {
        let token = if who == "staff" { &staff } else { &po };
        let (got, text) = f.call(method, &uri, Some(token), kind, &body).await;
        assert_eq!(got, want, "{method} {uri} {body}: {text}");
        let json: serde_json::Value = serde_json::from_str(&text).expect("a JSON error");
        assert_eq!(json["error"]["status"], want.as_u16(), "{text}");
        if let Some(field) = field {
            assert_eq!(json["error"]["field"], field, "{method} {uri}: {text}");
        }
        assert!(!text.contains("131052-308U") && !text.contains(&f.code), "{text}");
    }
    // An oversized body is refused before it is read.
    let big = "x".repeat(polku_viewer::server::api::MAX_BODY + 10);
    let (got, _) =
        f.call("POST", "/api/v1/events", Some(&staff), Some("application/x-ndjson"), &big).await;
    assert_eq!(got, StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn events_are_idempotent_and_answered_per_event() {
    let f = fixture("events");
    let system = f.token(Role::System).to_owned();
    let lines = format!(
        "{}\n{}\nnot json\n",
        format_args!(
            r#"{{"id":"e-1","case":"{}","occurred":"2026-11-02T10:00:00+02:00","recorded":"2026-11-02T10:00:00+02:00","role":"terveydenhoitaja","type":"step_started","step":"x"}}"#,
            f.case
        ),
        r#"{"id":"e-2","case":"ei-avattu","occurred":"2026-11-02T10:00:00+02:00","recorded":"2026-11-02T10:00:00+02:00","role":"terveydenhoitaja","type":"step_started","step":"x"}"#
    );
    let digest = f.tracker.digest();
    let ingests = |f: &Fixture| {
        f.tracker
            .with(|t| t.access_log(None, 100_000).expect("access log"))
            .into_iter()
            .filter(|a| a.action == "ingest")
            .map(|a| a.detail)
            .collect::<Vec<_>>()
    };
    let logged = ingests(&f).len();
    let (status, body) =
        f.call("POST", "/api/v1/events", Some(&system), Some("application/x-ndjson"), &lines).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let json: serde_json::Value = serde_json::from_str(&body).expect("json");
    // A record system may send an event before its case's opening (it is put in its place
    // when the opening arrives).
    assert_eq!(json["stored"], 2, "{body}");
    // The batch's access row is written with it.
    let after_batch = ingests(&f);
    assert_eq!(after_batch.len(), logged + 1, "{after_batch:?}");
    assert!(after_batch.contains(&"2 events".to_owned()), "{after_batch:?}");
    assert_eq!(json["unreadable"][0]["line"], 3, "{body}");
    assert_ne!(f.tracker.digest(), digest);
    let after = f.tracker.digest();
    let (_, body) =
        f.call("POST", "/api/v1/events", Some(&system), Some("application/x-ndjson"), &lines).await;
    let json: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(json["repeats"], 2, "{body}");
    assert_eq!(json["stored"], 0, "{body}");
    assert_eq!(f.tracker.digest(), after, "a repeat changes nothing");
    // Staff record only for cases of their units that are open.
    let staff = f.token(Role::Staff).to_owned();
    let early = r#"{"id":"e-3","case":"ei-avattu-2","occurred":"2026-11-02T10:00:00+02:00","recorded":"2026-11-02T10:00:00+02:00","role":"terveydenhoitaja","type":"step_started","step":"x"}"#;
    let (_, body) =
        f.call("POST", "/api/v1/events", Some(&staff), Some("application/json"), early).await;
    let json: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(json["refused"], 1, "{body}");
    assert_eq!(json["events"][0]["field"], "case", "{body}");
}

#[tokio::test]
async fn facts_and_weeks_of_pregnancy_reach_the_status_and_a_fact_the_model_lacks_is_refused() {
    // A maternity case of the Keski-Suomi model: its plan follows the case's facts and its
    // due date.
    let f = fixture_in("facts", "keski-suomi", |e| {
        matches!(&e.kind, polku_engine::event::EventKind::CaseOpened { due: Some(_), .. })
    });
    let staff = f.token(Role::Staff).to_owned();
    let (status, body) = f
        .call(
            "GET",
            &format!("/api/v1/cases/{}?purpose=neuvolakäynti", f.case),
            Some(&staff),
            None,
            "",
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let json: serde_json::Value = serde_json::from_str(&body).expect("json");
    let facts: Vec<&str> = json["facts"]
        .as_array()
        .expect("facts")
        .iter()
        .filter_map(|f| f["fact"].as_str())
        .collect();
    assert_eq!(facts, ["ensisynnyttäjä", "tulkki", "sikiöitä"], "{body}");
    assert!(json["pregnancy_week"].as_str().is_some_and(|w| w.contains('+')), "{body}");
    let check = json["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .find(|s| s["step"] == "th_tarkastus")
        .expect("the extensive check");
    assert_eq!(check["deadline_rule"], "rv 18", "{body}");

    let system = f.token(Role::System).to_owned();
    let line = |id: &str, fact: &str, value: &str| {
        format!(
            r#"{{"id":"{id}","case":"{}","occurred":"2026-11-02T10:00:00+02:00","recorded":"2026-11-02T10:00:00+02:00","role":"terveydenhoitaja","type":"fact_recorded","fact":"{fact}","value":{value}}}"#,
            f.case
        )
    };
    let body = [
        line("f-1", "kaksoset", "true"),
        line("f-2", "sikiöitä", "true"),
        line("f-3", "tulkki", "true"),
    ]
    .join("\n");
    let (status, reply) =
        f.call("POST", "/api/v1/events", Some(&system), Some("application/x-ndjson"), &body).await;
    assert_eq!(status, StatusCode::OK, "{reply}");
    let json: serde_json::Value = serde_json::from_str(&reply).expect("json");
    assert_eq!(json["refused"], 2, "{reply}");
    assert_eq!(json["stored"], 1, "{reply}");
    assert_eq!(json["events"][0]["field"], "fact", "{reply}");
    assert!(json["events"][0]["reason"]
        .as_str()
        .unwrap_or("")
        .contains("declares no fact kaksoset"));
    assert!(json["events"][1]["reason"].as_str().unwrap_or("").contains("number fact"));
    let (_, body) = f
        .call("GET", &format!("/api/v1/cases/{}?purpose=tarkistus", f.case), Some(&staff), None, "")
        .await;
    assert!(body.contains(r#"{"fact":"tulkki","value":true}"#), "{body}");
}

#[tokio::test]
async fn health_readiness_and_metrics() {
    let f = fixture("health");
    assert_eq!(f.call("GET", "/healthz", None, None, "").await.0, StatusCode::OK);
    assert_eq!(f.call("GET", "/readyz", None, None, "").await.0, StatusCode::OK);
    let _ = f.call("GET", "/api/v1/model", None, None, "").await;
    let (status, text) = f.call("GET", "/metrics", None, None, "").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        text.contains("polku_http_requests_total{route=\"/api/v1/model\",status=\"401\"} 1"),
        "{text}"
    );
    assert!(text.contains("polku_open_cases "));
    assert!(text.contains("polku_http_request_seconds_bucket"));
}

#[tokio::test]
async fn a_status_kept_ready_is_never_stale_after_an_event() {
    let f = fixture("fresh");
    let staff = f.token(Role::Staff).to_owned();
    let body = status_body(&f.code);
    let read =
        || f.call("POST", "/api/v1/client-status", Some(&staff), Some("application/json"), &body);
    let events_of_case = |text: &str| -> u64 {
        let json: serde_json::Value = serde_json::from_str(text).expect("json");
        json["cases"]
            .as_array()
            .expect("cases")
            .iter()
            .find(|c| c["case"] == f.case.as_str())
            .map(|c| c["events"].as_u64().expect("events"))
            .expect("the case")
    };
    let read_en = || {
        f.call(
            "POST",
            "/api/v1/client-status?lang=en",
            Some(&staff),
            Some("application/json"),
            &body,
        )
    };
    let (_, first) = read().await;
    let (_, first_en) = read_en().await;
    assert_ne!(first, first_en, "each language's status is kept apart");
    let (_, again) = read().await;
    assert_eq!(first, again, "the same minute, no event: the same answer");
    assert_eq!(read_en().await.1, first_en, "and the same in English");
    let event = format!(
        r#"{{"id":"fresh-1","case":"{}","occurred":"2026-11-03T10:00:00+02:00","recorded":"2026-11-03T10:00:00+02:00","role":"terveydenhoitaja","type":"step_started","step":"x"}}"#,
        f.case
    );
    let (status, body) =
        f.call("POST", "/api/v1/events", Some(&staff), Some("application/json"), &event).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, after) = read().await;
    assert_eq!(events_of_case(&after), events_of_case(&first) + 1, "the new event shows at once");
    let (_, after_en) = read_en().await;
    assert_eq!(events_of_case(&after_en), events_of_case(&first_en) + 1, "in English too");
}

/// Opens a case `units-case` of the fixture's client in the outsider's unit, sent by a system
/// of that unit; answers the unit of the fixture's own case.
async fn open_in_the_outsiders_unit(f: &Fixture) -> String {
    let system = create_token(
        &f.tracker,
        &Principal {
            name: "other-system".into(),
            role: Role::System,
            units: vec![f.other.clone()],
        },
    )
    .expect("token");
    let polku_engine::event::EventKind::CaseOpened { process, segment, unit, .. } = &f.opened.kind
    else {
        panic!("the fixture's event opens a case");
    };
    let event = serde_json::json!({
        "id": "units-1", "type": "case_opened", "case": "units-case",
        "occurred": "2026-11-03T10:00:00+02:00", "recorded": "2026-11-03T10:00:00+02:00",
        "role": "terveydenhoitaja", "client": f.code, "process": process,
        "unit": f.other, "segment": segment,
    });
    let (status, answer) = f
        .call("POST", "/api/v1/events", Some(&system), Some("application/json"), &event.to_string())
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert!(answer.contains("stored"), "{answer}");
    unit.clone()
}

/// A staff page form post (`application/x-www-form-urlencoded`) with the session's cookie;
/// the status, the `Set-Cookie` header and the page.
async fn staff_post(
    f: &Fixture,
    uri: &str,
    cookie: Option<&str>,
    fields: &[(&str, &str)],
) -> (StatusCode, Option<String>, String) {
    let body: String = fields
        .iter()
        .map(|(k, v)| {
            let value: String = v
                .bytes()
                .map(|b| match b {
                    b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                        char::from(b).to_string()
                    }
                    _ => format!("%{b:02X}"),
                })
                .collect();
            format!("{k}={value}")
        })
        .collect::<Vec<_>>()
        .join("&");
    let mut request = Request::builder()
        .method("POST")
        .uri(uri)
        .header("content-type", "application/x-www-form-urlencoded");
    if let Some(cookie) = cookie {
        request = request.header("cookie", cookie);
    }
    let response = app(f.state.clone())
        .oneshot(request.body(Body::from(body)).expect("request"))
        .await
        .expect("response");
    let status = response.status();
    let set = response
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or("").to_owned());
    let bytes = axum::body::to_bytes(response.into_body(), 64 * 1024 * 1024).await.expect("body");
    (status, set, String::from_utf8_lossy(&bytes).into_owned())
}

/// Signs in on the staff page with `token`: the session's cookie and its forms' `csrf` field.
async fn staff_session(f: &Fixture, token: &str) -> (String, String) {
    let (status, cookie, _) = staff_post(f, "/staff/login", None, &[("token", token)]).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "signed in");
    let cookie = cookie.expect("a session cookie");
    let request = Request::builder()
        .uri("/staff")
        .header("cookie", &cookie)
        .body(Body::empty())
        .expect("request");
    let response = app(f.state.clone()).oneshot(request).await.expect("response");
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 24).await.expect("body");
    let page = String::from_utf8_lossy(&bytes).into_owned();
    let csrf = page
        .split(r#"name="csrf" value=""#)
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the form's csrf field")
        .to_owned();
    (cookie, csrf)
}

/// The staff page as the API: a person of one unit looking up a client with cases in two sees
/// the case of their unit only.
#[tokio::test]
async fn the_staff_page_shows_the_cases_of_the_persons_units_only() {
    let f = fixture("page-units");
    open_in_the_outsiders_unit(&f).await;
    for (token, shown, hidden) in [
        (f.outsider.clone(), "units-case".to_owned(), f.case.clone()),
        (f.token(Role::Staff).to_owned(), f.case.clone(), "units-case".to_owned()),
    ] {
        let (cookie, csrf) = staff_session(&f, &token).await;
        for round in 0..2 {
            let fields =
                [("client", f.code.as_str()), ("purpose", "tarkistus"), ("csrf", csrf.as_str())];
            let (status, _, page) = staff_post(&f, "/staff/client", Some(&cookie), &fields).await;
            assert_eq!(status, StatusCode::OK, "round {round}: {page}");
            assert!(page.contains(&shown), "round {round}: {shown} not shown");
            assert!(!page.contains(&hidden), "round {round}: {hidden} shown to another unit");
        }
    }
}

/// The units kept ready for the care check follow the client's cases: staff of a unit where
/// the client has no case are refused, and let in as soon as a case of the client opens there,
/// to that case only.
#[tokio::test]
async fn the_care_check_follows_a_case_opened_in_another_unit() {
    let f = fixture("units");
    let body = status_body(&f.code);
    let read = || {
        f.call("POST", "/api/v1/client-status", Some(&f.outsider), Some("application/json"), &body)
    };
    let staff = f.token(Role::Staff).to_owned();
    let pseudonym = f.tracker.pseudonym(&f.code).expect("pseudonym");
    // A refusal keeps nothing ready: the next one is looked up again, as for a person who is
    // nobody's client.
    assert_eq!(read().await.0, StatusCode::NOT_FOUND, "no case in the outsider's unit");
    assert!(f.tracker.kept_units(&pseudonym).is_none(), "a refusal kept the units");
    let (status, _) = f
        .call("POST", "/api/v1/client-status", Some(&staff), Some("application/json"), &body)
        .await;
    assert_eq!(status, StatusCode::OK, "the client's own unit reads the status");
    assert!(f.tracker.kept_units(&pseudonym).is_some(), "units kept for the next read");
    for _ in 0..2 {
        assert_eq!(read().await.0, StatusCode::NOT_FOUND, "no case in the outsider's unit");
    }
    let unit = open_in_the_outsiders_unit(&f).await;
    // The new case lets the outsider's unit in, to that case only: what the client has in
    // other units is not theirs to read, whether the status is made for them or kept ready
    // (after the client's own unit read it whole), and the same for the explanation.
    let cases_in = |answer: &str| -> (Vec<String>, serde_json::Value) {
        let json: serde_json::Value = serde_json::from_str(answer).expect("json");
        let cases = json["cases"].as_array().expect("cases").iter();
        (
            cases.map(|c| c["case"].as_str().expect("case").to_owned()).collect(),
            json["units"].clone(),
        )
    };
    for round in 0..3 {
        let (status, answer) = read().await;
        assert_eq!(status, StatusCode::OK, "round {round}: {answer}");
        let (cases, units) = cases_in(&answer);
        assert_eq!(cases, ["units-case"], "round {round}: the outsider read {answer}");
        assert_eq!(units, serde_json::json!([f.other]), "round {round}: {answer}");
        let (status, answer) = f
            .call("POST", "/api/v1/client-status", Some(&staff), Some("application/json"), &body)
            .await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        assert_eq!(
            cases_in(&answer).0,
            std::slice::from_ref(&f.case),
            "round {round}: the own unit read {answer}"
        );
        assert!(!answer.contains(&f.other), "round {round}: the own unit read {answer}");
        for (token, case) in [(&f.outsider, "units-case"), (&staff, f.case.as_str())] {
            let (status, answer) = f
                .call("POST", "/api/v1/explain", Some(token), Some("application/json"), &body)
                .await;
            assert_eq!(status, StatusCode::OK, "{answer}");
            assert_eq!(cases_in(&answer).0, [case], "round {round}: explained {answer}");
        }
    }
    // What the outsider sees is kept ready as the whole status is: a second read does not wait
    // for the state (held here for two seconds, as a snapshot or a rebuild holds it), just as
    // for a client of theirs alone, so that its time does not tell that the client has cases
    // elsewhere.
    let (held, holding) = std::sync::mpsc::channel();
    let service = f.tracker.clone();
    let holder = std::thread::spawn(move || {
        service.with(|_| {
            held.send(()).expect("the test waits");
            std::thread::sleep(std::time::Duration::from_secs(2));
        })
    });
    holding.recv().expect("the lock is held");
    let asked = std::time::Instant::now();
    let (status, answer) = read().await;
    let took = asked.elapsed();
    holder.join().expect("holder");
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(cases_in(&answer).0, ["units-case"], "{answer}");
    assert!(took < std::time::Duration::from_secs(1), "the outsider's read waited {took:?}");
    // Staff of both units see both cases, kept ready or not.
    let both = create_token(
        &f.tracker,
        &Principal {
            name: "both-units".into(),
            role: Role::Staff,
            units: vec![f.other.clone(), unit.clone()],
        },
    )
    .expect("token");
    for round in 0..2 {
        let (status, answer) = f
            .call("POST", "/api/v1/client-status", Some(&both), Some("application/json"), &body)
            .await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        let (mut cases, _) = cases_in(&answer);
        cases.sort();
        let mut expected = vec![f.case.clone(), "units-case".to_owned()];
        expected.sort();
        assert_eq!(cases, expected, "round {round}: {answer}");
    }
}

#[tokio::test]
async fn an_id_used_for_another_event_is_a_409_conflict() {
    let f = fixture("conflict");
    let system = f.token(Role::System).to_owned();
    let first = format!(
        r#"{{"id":"x-1","case":"{}","occurred":"2026-11-04T10:00:00+02:00","recorded":"2026-11-04T10:00:00+02:00","role":"terveydenhoitaja","type":"step_started","step":"x"}}"#,
        f.case
    );
    let (status, _) =
        f.call("POST", "/api/v1/events", Some(&system), Some("application/json"), &first).await;
    assert_eq!(status, StatusCode::OK);
    let other = first.replace(
        r#""type":"step_started","step":"x""#,
        r#""type":"case_closed","reason":"valmis""#,
    );
    let (status, body) =
        f.call("POST", "/api/v1/events", Some(&system), Some("application/json"), &other).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let json: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(json["conflicts"], 1, "{body}");
    assert_eq!(json["events"][0]["result"], "conflict", "{body}");
    // The same event again is still a repeat.
    let (status, body) =
        f.call("POST", "/api/v1/events", Some(&system), Some("application/json"), &first).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains(r#""repeats":1"#), "{body}");
}

#[tokio::test]
async fn a_system_sends_the_daily_marker_extract_and_the_report_shows_the_moves_by_source() {
    let f = fixture_in("markers", "keski-suomi", |e| {
        matches!(&e.kind, polku_engine::event::EventKind::CaseOpened { .. })
    });
    // A system token of one unit may send events of that unit, but not the region's extract.
    let of_a_unit = f.token(Role::System).to_owned();
    let system = create_token(
        &f.tracker,
        &Principal { name: "alueen-poiminta".into(), role: Role::System, units: vec![] },
    )
    .expect("token");
    let staff = f.token(Role::Staff).to_owned();
    let viewer = f.token(Role::Viewer).to_owned();
    // Two clients without cases: one reaches three visits in a year, one has a diagnosis
    // of substance use; a third row is bad and names an identity code.
    let extract = "client,date,system,code\n\
        010120A123K,2026-03-01,SPAT,SPAT1331\n010120A123K,2026-05-01,SPAT,SPAT1331\n\
        010120A123K,2026-09-01,SPAT,SPAT1331\n020220A234L,2026-09-20,ICD10,F10.2\n\
        020220A234L,2026-07-01,ICD10,J06\n020220A234X,2026-09-01,ICD10,F10\n";
    let send = |date: &str, who: &str, kind: &str| {
        let uri = format!("/api/v1/segment-daily?date={date}&allow_refused=true");
        let (who, kind) = (who.to_owned(), kind.to_owned());
        let f = &f;
        async move { f.call("POST", &uri, Some(&who), Some(&kind), extract).await }
    };
    let (status, body) = send("2026-10-15", &staff, "text/csv").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "only a system sends extracts: {body}");
    let (status, body) = send("2026-10-15", &of_a_unit, "text/csv").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "only for the whole region: {body}");
    assert!(body.contains("whole region"), "{body}");
    // A body cut short stores nothing, though its first rows were read.
    let cut = Request::builder()
        .method("POST")
        .uri("/api/v1/segment-daily?date=2026-10-15&allow_refused=true")
        .header("authorization", format!("Bearer {system}"))
        .header("content-type", "text/csv")
        .body(Body::new(CutShort(0)))
        .expect("request");
    let response = app(f.state.clone()).oneshot(cut).await.expect("response");
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let (_, body) = f
        .call("GET", "/api/v1/reports/client-segments?date=2026-10-15", Some(&viewer), None, "")
        .await;
    assert!(
        !body.contains(r#""source":"markers""#),
        "nothing of the cut extract was stored: {body}"
    );
    let (status, body) = send("2026-10-15", &system, "application/json").await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{body}");
    let (status, body) = send("15.10.2026", &system, "text/csv").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains(r#""field":"date""#), "{body}");

    // A refused row: nothing is stored unless the good rows are asked for.
    let (status, body) = f
        .call(
            "POST",
            "/api/v1/segment-daily?date=2026-10-15",
            Some(&system),
            Some("Text/CSV"),
            extract,
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("1 rows were refused (the first, line 7: client:"), "{body}");
    assert!(!body.contains("020220A234"), "{body}");
    let (status, body) = f
        .call(
            "POST",
            "/api/v1/segment-daily?date=2026-10-15",
            Some(&system),
            Some("text/csv"),
            "client,date,system,code\n",
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "no rows: {body}");
    let (status, body) = send("2026-10-15", &system, "text/csv").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let json: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(
        json["stored"]["previous"],
        serde_json::Value::Null,
        "the refused runs stored nothing: {body}"
    );
    assert_eq!(json["refused"], 1, "{body}");
    assert_eq!(json["refused_rows"][0]["line"], 7, "{body}");
    assert!(!body.contains("020220A234"), "no identity code is echoed: {body}");
    assert_eq!(json["distribution"], serde_json::json!({"huolenpito": 1, "yhteistyö": 1}));
    let (status, body) = send("2026-08-15", &system, "text/csv").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // The later day again, after the earlier one: nothing changes.
    let (_, body) = send("2026-10-15", &system, "application/x-ndjson; charset=utf-8").await;
    let json: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(
        (json["stored"]["written"].as_u64(), json["stored"]["removed"].as_u64()),
        (Some(0), Some(0)),
        "{body}"
    );

    let (status, body) = f
        .call(
            "GET",
            "/api/v1/reports/client-transitions?from=2026-08-15&to=2026-10-15",
            Some(&viewer),
            None,
            "",
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let json: serde_json::Value = serde_json::from_str(&body).expect("json");
    let markers: Vec<(String, String)> = json["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .filter(|r| r["source"] == "markers" && r["from"] != r["to"])
        .map(|r| {
            (r["from"].as_str().unwrap_or("").to_owned(), r["to"].as_str().unwrap_or("").to_owned())
        })
        .collect();
    assert_eq!(
        markers,
        [
            ("pärjääjä".to_owned(), "huolenpito".to_owned()),
            ("pärjääjä".to_owned(), "yhteistyö".to_owned())
        ],
        "{body}"
    );
    let (status, body) = f
        .call(
            "GET",
            "/api/v1/reports/client-segments?date=2026-10-15&markers=ei_ole",
            Some(&viewer),
            None,
            "",
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert!(body.contains(r#""field":"markers""#), "{body}");
}

/// A request body that sends a few rows of an extract and then fails, as a client that goes
/// away mid-upload.
struct CutShort(u8);

impl http_body::Body for CutShort {
    type Data = axum::body::Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        self.0 += 1;
        std::task::Poll::Ready(match self.0 {
            1 => Some(Ok(http_body::Frame::data(axum::body::Bytes::from_static(
                b"client,date,system,code\n010120A123K,2026-09-01,SPAT,SPAT1331\n",
            )))),
            2 => Some(Err(std::io::Error::other("the client went away"))),
            _ => None,
        })
    }
}

/// While the state's lock is held for seconds (as a rebuild after the database came back, or a
/// snapshot being encoded, holds it), requests that need the state wait for it off the
/// runtime's threads: a request that needs nothing of the state is answered at once, even with
/// more waiting requests than the runtime has threads, and the waiting ones are answered when
/// the lock is free. The API's reads and the staff page's client view alike.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_waiting_for_the_state_do_not_stall_the_server() {
    use std::sync::Arc;
    use std::time::{Duration, Instant};
    let f = Arc::new(fixture("stall"));
    let staff = f.token(Role::Staff).to_owned();
    let owner = f.token(Role::ProcessOwner).to_owned();
    // Both tokens are known to the server before the lock is taken.
    assert_eq!(f.call("GET", "/api/v1/model", Some(&owner), None, "").await.0, StatusCode::OK);
    assert_eq!(f.call("GET", "/api/v1/model", Some(&staff), None, "").await.0, StatusCode::OK);

    // And a session on the staff page, whose reads wait for the state as the API's do. The
    // client's units are kept ready by a read before, so that the page's care check lets the
    // person in at once and its read of the status is what waits.
    let session = Arc::new(staff_session(&f, &staff).await);
    let body = status_body(&f.code);
    let (status, _) = f
        .call("POST", "/api/v1/client-status", Some(&staff), Some("application/json"), &body)
        .await;
    assert_eq!(status, StatusCode::OK);

    let (held, holding) = std::sync::mpsc::channel();
    let service = f.tracker.clone();
    let holder = std::thread::spawn(move || {
        service.with(|_| {
            held.send(()).expect("the test waits");
            std::thread::sleep(Duration::from_secs(3));
        })
    });
    holding.recv().expect("the lock is held");
    let started = Instant::now();
    let mut waiting = Vec::new();
    for i in 0..8 {
        let (f, staff, session) = (f.clone(), staff.clone(), session.clone());
        waiting.push(tokio::spawn(async move {
            if i >= 6 {
                // The client's page, twice: as many as the runtime has threads.
                let (cookie, csrf) = &*session;
                let fields = [
                    ("client", f.code.as_str()),
                    ("purpose", "tarkistus"),
                    ("csrf", csrf.as_str()),
                ];
                let (status, _, page) =
                    staff_post(&f, "/staff/client", Some(cookie), &fields).await;
                (status, page)
            } else if i % 3 == 0 {
                let uri = format!("/api/v1/cases/{}?purpose=tarkistus", f.case);
                f.call("GET", &uri, Some(&staff), None, "").await
            } else {
                let body = status_body(&f.code);
                f.call(
                    "POST",
                    "/api/v1/client-status",
                    Some(&staff),
                    Some("application/json"),
                    &body,
                )
                .await
            }
        }));
    }
    // Not the runtime's timer: with its threads stalled, that would not fire either.
    std::thread::sleep(Duration::from_millis(300));
    // Spawned, so that it is served by the runtime's threads as a request is.
    let asked = Instant::now();
    let other = {
        let (f, owner) = (f.clone(), owner.clone());
        tokio::spawn(async move { f.call("GET", "/api/v1/model", Some(&owner), None, "").await })
    };
    let (status, _) = other.await.expect("the model request");
    let took = asked.elapsed();
    assert_eq!(status, StatusCode::OK);
    assert!(
        took < Duration::from_millis(1500),
        "the model, which needs nothing of the state, took {took:?} while the lock was held"
    );
    for request in waiting {
        let (status, body) = request.await.expect("a waiting request");
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    assert!(started.elapsed() >= Duration::from_millis(2500), "they waited for the lock");
    holder.join().expect("the holder");
}

/// This package's folder as `cargo test` names it when it runs the test: a test binary reused
/// from a shared target folder may have been built in a checkout at another path.
fn package_dir() -> std::path::PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")))
}
