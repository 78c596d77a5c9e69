//! The files the pages load, compiled into the binary so that nothing is fetched from
//! elsewhere: the style sheet, the page script, and the WebAssembly build of Graphviz
//! (`@viz-js/viz`, MIT, unmodified) with its licence.

use axum::extract::Path;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

const STYLE: &str = include_str!("../../assets/style.css");
const SCRIPT: &str = include_str!("../../assets/app.js");
const VIZ: &str = include_str!("../../assets/viz-global.js");
const VIZ_LICENCE: &str = include_str!("../../assets/viz-global.LICENSE.txt");

pub async fn asset(Path(file): Path<String>) -> Response {
    let (body, kind, cache): (&'static str, &str, &str) = match file.as_str() {
        "style.css" => (STYLE, "text/css; charset=utf-8", "no-cache"),
        "app.js" => (SCRIPT, "text/javascript; charset=utf-8", "no-cache"),
        "viz-global.js" => (VIZ, "text/javascript; charset=utf-8", "public, max-age=86400"),
        "viz-global.LICENSE.txt" => {
            (VIZ_LICENCE, "text/plain; charset=utf-8", "public, max-age=86400")
        }
        _ => return (StatusCode::NOT_FOUND, "no such asset").into_response(),
    };
    (StatusCode::OK, [(header::CONTENT_TYPE, kind), (header::CACHE_CONTROL, cache)], body)
        .into_response()
}
