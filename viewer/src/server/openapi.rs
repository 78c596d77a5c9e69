//! `GET /api/v1/openapi.json`: the OpenAPI 3.1 document of the API.

use axum::response::{IntoResponse, Response};

pub async fn document() -> Response {
    axum::Json(serde_json::json!({"openapi": "3.1.0"})).into_response()
}
