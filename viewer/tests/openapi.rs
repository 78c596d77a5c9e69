//! The OpenAPI document cannot drift: it is generated from the handlers' types, it must equal
//! the golden copy `tests/openapi.json` (`UPDATE_EXPECT=1` rewrites it, to be read before
//! committing), and it documents exactly the operations the router serves.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use polku_viewer::server::api::OPERATIONS;
use polku_viewer::server::{app, openapi, AppState, ModelVersion, Renderer};
use tower::ServiceExt;

#[test]
fn the_document_equals_its_golden_copy() {
    let path = package_dir().join("tests/openapi.json");
    let text = serde_json::to_string_pretty(&openapi::build()).expect("json") + "\n";
    if std::env::var_os("UPDATE_EXPECT").is_some() {
        std::fs::write(&path, &text).expect("write");
    }
    let golden = std::fs::read_to_string(&path).expect("tests/openapi.json");
    assert!(golden == text, "the API changed: UPDATE_EXPECT=1 rewrites tests/openapi.json");
}

#[test]
fn every_operation_is_documented_and_nothing_else() {
    let doc = openapi::build();
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = doc["paths"].as_object().expect("paths");
    let mut documented = Vec::new();
    for (path, item) in paths {
        for method in item.as_object().expect("path item").keys() {
            documented.push((method.clone(), path.clone()));
        }
    }
    let mut served: Vec<(String, String)> =
        OPERATIONS.iter().map(|(m, p)| (m.to_string(), p.to_string())).collect();
    documented.sort();
    served.sort();
    assert_eq!(documented, served);
    // Every schema a reference names is defined.
    let text = doc.to_string();
    let schemas = doc["components"]["schemas"].as_object().expect("schemas");
    for part in text.split("\"$ref\":\"#/components/schemas/").skip(1) {
        let name = part.split('"').next().expect("name");
        assert!(schemas.contains_key(name), "undefined schema {name}");
    }
}

#[tokio::test]
async fn every_documented_operation_is_routed() {
    let model = polku_engine::Model::default();
    let state = AppState::new(
        ModelVersion { version: "v".into(), name: None, model },
        Renderer::Browser,
        None,
        false,
    );
    for (method, path) in OPERATIONS {
        let uri = path.replace("{process}", "p").replace("{case}", "c");
        let request = Request::builder()
            .method(method.to_uppercase().as_str())
            .uri(&uri)
            .body(Body::empty())
            .expect("request");
        let status = app(state.clone()).oneshot(request).await.expect("response").status();
        // Without a store the API answers 503; an unrouted one would be 404 or 405.
        assert!(
            status == StatusCode::SERVICE_UNAVAILABLE || status == StatusCode::OK,
            "{method} {path}: {status}"
        );
    }
}

/// This package's folder as `cargo test` names it when it runs the test: a test binary reused
/// from a shared target folder may have been built in a checkout at another path.
fn package_dir() -> std::path::PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")))
}
