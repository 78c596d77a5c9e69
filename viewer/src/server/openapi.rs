//! `GET /api/v1/openapi.json`: the OpenAPI 3.1 document of the API, generated from the types
//! the handlers read and answer (their `JsonSchema`), for exactly the operations the router
//! serves ([`super::api::OPERATIONS`]). A golden copy is kept in `viewer/tests/openapi.json`
//! and a test fails when the two differ.

use axum::response::{IntoResponse, Response};
use schemars::generate::{SchemaGenerator, SchemaSettings};
use schemars::JsonSchema;
use serde_json::{json, Map, Value};

use super::api::{
    AccessRecord, AuditRequest, ClientStatusRequest, ErrorBody, EventsAnswer, ExplainRequest,
    MarkerDayAnswer, ModelSummary, OPERATIONS,
};

/// What the document says of one operation.
struct Operation {
    summary: &'static str,
    description: &'static str,
    tag: &'static str,
    parameters: Vec<Value>,
    body: Option<Value>,
    ok: Value,
    errors: &'static [u16],
}

fn schema<T: JsonSchema>(generator: &mut SchemaGenerator) -> Value {
    generator.subschema_for::<T>().to_value()
}

fn query(name: &str, description: &str, required: bool) -> Value {
    json!({"name": name, "in": "query", "required": required, "description": description,
           "schema": {"type": "string"}})
}

fn required_text(name: &str, description: &str) -> Value {
    json!({"name": name, "in": "query", "required": true, "description": description,
           "schema": {"type": "string", "minLength": 1}})
}

fn date_query(name: &str, description: &str) -> Value {
    json!({"name": name, "in": "query", "required": false, "description": description,
           "schema": {"type": "string", "format": "date"}})
}

fn limit() -> Value {
    json!({"name": "limit", "in": "query", "required": false,
           "description": "At most this many, newest first (default 100)",
           "schema": {"type": "integer", "minimum": 1, "maximum": 10000}})
}

fn path(name: &str, description: &str) -> Value {
    json!({"name": name, "in": "path", "required": true, "description": description,
           "schema": {"type": "string"}})
}

fn json_body(schema: Value) -> Value {
    json!({"required": true, "content": {"application/json": {"schema": schema}}})
}

fn json_ok(schema: Value) -> Value {
    json!({"description": "OK", "content": {"application/json": {"schema": schema}}})
}

fn operation(method: &str, route: &str, g: &mut SchemaGenerator) -> Option<Operation> {
    use polku_engine::case::CaseStatus;
    use polku_engine::plan::Plan;
    use polku_engine::projection::{
        ClientStatus, CompletionReport, SegmentReport, TransitionReport,
    };
    let lang = json!({"name": "lang", "in": "query", "required": false,
        "description": "The language of the status texts", "schema": {"enum": ["fi", "en"]}});
    Some(match (method, route) {
        ("get", "/api/v1/model") => Operation {
            summary: "The model: services, chains, segmentations, processes",
            description: "Roles: staff, process owner, viewer.",
            tag: "model",
            parameters: vec![],
            body: None,
            ok: json_ok(schema::<ModelSummary>(g)),
            errors: &[401, 403],
        },
        ("get", "/api/v1/model/processes/{process}/plan") => Operation {
            summary: "A process's plan: one segment's, or the generic plan and every segment's",
            description: "The same content as `polku plan --format json`. Roles: staff, process owner, viewer.",
            tag: "model",
            parameters: vec![path("process", "The process's name"), query("segment", "One segment's plan", false)],
            body: None,
            ok: json!({"description": "OK", "content": {"application/json": {"schema": {
                "oneOf": [schema::<Plan>(g), {"type": "array", "items": schema::<Plan>(g)}]}}}}),
            errors: &[401, 403, 404],
        },
        ("post", "/api/v1/events") => Operation {
            summary: "Append events: one, an array, or JSON Lines",
            description: "Idempotent by event id; answered once the stored events are durable, per event: stored, repeat, or refused with the field and the reason. A personal identity code in `client` is pseudonymised at once and never stored or echoed. The event format is described in docs/tracking.md. Roles: staff and systems, for their units.",
            tag: "events",
            parameters: vec![],
            body: Some(json!({"required": true, "content": {
                "application/json": {"schema": {"oneOf": [{"type": "object"}, {"type": "array", "items": {"type": "object"}}]}},
                "application/x-ndjson": {"schema": {"type": "string"}}}})),
            ok: json_ok(schema::<EventsAnswer>(g)),
            errors: &[400, 401, 403, 409, 413, 415],
        },
        ("post", "/api/v1/client-status") => Operation {
            summary: "A client's status: every case, its plan, what is done and missing",
            description: "The same content as `polku status --format json`. The client is named in the body (a personal identity code or a pseudonym), never in the address. The access is logged with its purpose before the answer. Role: staff of a unit where the client has a case; they see the cases (and `units`) of their own units only, not what the client has in other units.",
            tag: "clients",
            parameters: vec![lang.clone()],
            body: Some(json_body(schema::<ClientStatusRequest>(g))),
            ok: json_ok(schema::<ClientStatus>(g)),
            errors: &[400, 401, 403, 404, 415],
        },
        ("post", "/api/v1/explain") => Operation {
            summary: "Why a client's service was planned as it was on a date",
            description: "The same content as `polku explain --format json`: for each case the client had on the date, the model version it ran under, the segment and who decided it, and for each step (or the one named) whether it was planned, whether the generic process has it, what the segment's content did to it and which condition on the case's facts held. The client is named in the body, never in the address; the access is logged with its purpose before the answer. Role: staff of a unit where the client has a case; only the cases of their own units are explained.",
            tag: "clients",
            parameters: vec![],
            body: Some(json_body(schema::<ExplainRequest>(g))),
            ok: json_ok(schema::<polku_engine::explain::Explanation>(g)),
            errors: &[400, 401, 403, 404, 415],
        },
        ("get", "/api/v1/cases/{case}") => Operation {
            summary: "One case's status",
            description: "The access is logged with its purpose before the answer. Role: staff of the case's unit.",
            tag: "clients",
            parameters: vec![
                path("case", "The case id"),
                required_text("purpose", "Why the case is looked at"),
                date_query("as_of", "Judge deadlines on this date (YYYY-MM-DD)"),
                lang,
            ],
            body: None,
            ok: json_ok(schema::<CaseStatus>(g)),
            errors: &[400, 401, 403, 404],
        },
        ("get", "/api/v1/reports/segments") => Operation {
            summary: "How many cases are in each segment on a date",
            description: "Roles: process owner, viewer.",
            tag: "reports",
            parameters: vec![date_query("date", "YYYY-MM-DD (default today)")],
            body: None,
            ok: json_ok(schema::<SegmentReport>(g)),
            errors: &[400, 401, 403],
        },
        ("get", "/api/v1/reports/transitions") => Operation {
            summary: "Transitions between segments between two dates",
            description: "Roles: process owner, viewer.",
            tag: "reports",
            parameters: vec![
                date_query("from", "YYYY-MM-DD (default a year before to)"),
                date_query("to", "YYYY-MM-DD (default today)"),
            ],
            body: None,
            ok: json_ok(schema::<TransitionReport>(g)),
            errors: &[400, 401, 403],
        },
        ("get", "/api/v1/reports/completion") => Operation {
            summary: "The share of cases whose planned service is complete",
            description: "Roles: process owner, viewer.",
            tag: "reports",
            parameters: vec![date_query("as_of", "YYYY-MM-DD (default today)")],
            body: None,
            ok: json_ok(schema::<CompletionReport>(g)),
            errors: &[400, 401, 403],
        },
        ("post", "/api/v1/segment-daily") => Operation {
            summary: "A day's marker extract: the segment the marker rules propose for each client",
            description: "The body is the extract, read as a stream: CSV (`client,date,system,code`) or JSON Lines with those fields; a client is a personal identity code (pseudonymised at once, never stored or echoed) or a pseudonym. Bad rows are refused with their line and reason, good rows are kept. The proposals are stored by day: the same day sent again changes nothing, and days sent in any order leave the same proposals. Role: system.",
            tag: "markers",
            parameters: vec![
                json!({"name": "date", "in": "query", "required": true, "description": "The day (YYYY-MM-DD)",
                       "schema": {"type": "string", "format": "date"}}),
                query("markers", "The marker rules' name (needed when the model has several)", false),
            ],
            body: Some(json!({"required": true, "content": {
                "text/csv": {"schema": {"type": "string"}},
                "application/x-ndjson": {"schema": {"type": "string"}}}})),
            ok: json_ok(schema::<MarkerDayAnswer>(g)),
            errors: &[400, 401, 403, 404, 413, 415],
        },
        ("get", "/api/v1/reports/client-segments") => Operation {
            summary: "Clients per segment on a date, by where the segment came from",
            description: "A professional's decision (assessment or set by hand) while it is younger than the marker rules' `arvio voimassa`, else the marker rules' proposal. Roles: process owner, viewer.",
            tag: "reports",
            parameters: vec![
                date_query("date", "YYYY-MM-DD (default today)"),
                query("markers", "The marker rules' name (needed when the model has several)", false),
            ],
            body: None,
            ok: json_ok(schema::<polku_store::markers::ClientSegmentReport>(g)),
            errors: &[400, 401, 403, 404],
        },
        ("get", "/api/v1/reports/client-transitions") => Operation {
            summary: "How clients moved between segments between two dates, by source",
            description: "Counted per pair of segments and the source of the segment on the second date (assessment, markers, manual). Roles: process owner, viewer.",
            tag: "reports",
            parameters: vec![
                date_query("from", "YYYY-MM-DD (default a year before to)"),
                date_query("to", "YYYY-MM-DD (default today)"),
                query("markers", "The marker rules' name (needed when the model has several)", false),
            ],
            body: None,
            ok: json_ok(schema::<polku_store::markers::ClientTransitionReport>(g)),
            errors: &[400, 401, 403, 404],
        },
        ("get", "/api/v1/audit") => Operation {
            summary: "The access log: who has looked at whose data",
            description: "Of one client by pseudonym, or of all. An identity code never goes in an address: POST it instead. Role: auditor.",
            tag: "audit",
            parameters: vec![
                json!({"name": "client", "in": "query", "required": false, "description": "A pseudonym",
                       "schema": {"type": "string", "pattern": "^[0-9a-fA-F]{64}$"}}),
                limit(),
            ],
            body: None,
            ok: json_ok(json!({"type": "array", "items": schema::<AccessRecord>(g)})),
            errors: &[400, 401, 403],
        },
        ("post", "/api/v1/audit") => Operation {
            summary: "The access log of one client named by identity code or pseudonym",
            description: "Role: auditor.",
            tag: "audit",
            parameters: vec![],
            body: Some(json_body(schema::<AuditRequest>(g))),
            ok: json_ok(json!({"type": "array", "items": schema::<AccessRecord>(g)})),
            errors: &[400, 401, 403, 415],
        },
        ("get", "/api/v1/openapi.json") => Operation {
            summary: "This document",
            description: "",
            tag: "meta",
            parameters: vec![],
            body: None,
            ok: json!({"description": "OK", "content": {"application/json": {"schema": {"type": "object"}}}}),
            errors: &[],
        },
        _ => return None,
    })
}

/// The whole document.
pub fn build() -> Value {
    let mut settings = SchemaSettings::draft2020_12();
    settings.definitions_path = "/components/schemas".into();
    settings.meta_schema = None;
    let mut g = SchemaGenerator::new(settings);
    let error = schema::<ErrorBody>(&mut g);
    let mut paths: Map<String, Value> = Map::new();
    for (method, route) in OPERATIONS {
        let Some(op) = operation(method, route, &mut g) else { continue };
        let mut responses = Map::new();
        let ok_schema = op.ok["content"]["application/json"]["schema"].clone();
        responses.insert("200".into(), op.ok);
        for status in op.errors {
            if *status == 409 {
                // A conflict answers as a batch does, per event.
                responses.insert(
                    "409".into(),
                    json!({"description": "An event's id was used before for another event of its case; the answer says per event what became of each",
                           "content": {"application/json": {"schema": ok_schema}}}),
                );
                continue;
            }
            let text = match status {
                400 => "A field of the request is wrong: the error names it",
                401 => "No valid bearer token",
                403 => "The role or the units do not allow it",
                404 => "Not found: the error names what",
                413 => "The body is too large",
                415 => "The content type is not one this operation reads",
                _ => "Error",
            };
            responses.insert(
                status.to_string(),
                json!({"description": text, "content": {"application/json": {"schema": error}}}),
            );
        }
        let mut entry = json!({
            "summary": op.summary,
            "tags": [op.tag],
            "parameters": op.parameters,
            "responses": responses,
        });
        if !op.description.is_empty() {
            entry["description"] = json!(op.description);
        }
        if *route != "/api/v1/openapi.json" {
            entry["security"] = json!([{"bearer": []}]);
        }
        if let Some(body) = op.body {
            entry["requestBody"] = body;
        }
        let item = paths.entry(route.to_string()).or_insert_with(|| json!({}));
        item[*method] = entry;
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Polku API",
            "version": "1",
            "description": "Client cases of family-centre services: events in, planned-service status and reports out. Every read of one client's data is logged before it is answered.",
        },
        "paths": paths,
        "components": {
            "schemas": g.take_definitions(true),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    })
}

pub async fn document() -> Response {
    axum::Json(build()).into_response()
}
