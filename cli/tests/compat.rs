//! A database written by an earlier release opens under this one: every fixture in
//! `cli/tests/fixtures` (written by `scripts/compat-fixture` with the release it is named after)
//! is opened with today's shipped model. Its stored model versions still execute (compiled from
//! the sources kept with them, in the language version they were written in), so its cases keep
//! their plans, its chains verify, and its cases can be explained and migrated.

#![allow(clippy::unwrap_used)] // A test that cannot set up should fail loudly.

mod common;

use common::server::{model, polku};
use common::{scratch, workspace};
use serde_json::Value;

#[test]
fn databases_written_by_earlier_releases_open_and_keep_their_cases() {
    let fixtures = workspace().join("cli/tests/fixtures");
    let mut opened = 0;
    for entry in std::fs::read_dir(&fixtures).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("sqlite") {
            continue;
        }
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let dir = scratch("polku-compat", &name);
        let copy = dir.join("store.sqlite");
        std::fs::copy(&path, &copy).unwrap();
        std::fs::set_permissions(&copy, std::os::unix::fs::PermissionsExt::from_mode(0o600))
            .unwrap();
        let db = format!("sqlite://{}", copy.display());
        let m = model();
        let json = |args: &[&str]| common::server::json(&dir, args);

        let verify = polku(&["store", "verify", "--database", &db], &dir);
        assert!(verify.status.success(), "{name}: {}", String::from_utf8_lossy(&verify.stdout));
        let versions =
            json(&["store", "models", "--format", "json", "--model", &m, "--database", &db]);
        let versions = versions.as_array().unwrap();
        let noted = |note: &str| versions.iter().find(|v| v["note"] == note).unwrap().clone();
        let (first, second) =
            (noted("Ensimmäinen versio"), noted("Suun terveystarkastus raskausaikana"));
        assert!(second["open_cases"].as_u64().unwrap() > 10, "{name}: {second}");

        // Every event that was ingested is there: offered again, each is a repeat.
        let events = path.with_extension("events.jsonl");
        let out = polku(
            &[
                "ingest",
                &events.display().to_string(),
                "--model",
                &m,
                "--database",
                &db,
                "--format",
                "json",
            ],
            &dir,
        );
        let text = String::from_utf8_lossy(&out.stdout);
        let summary: Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
        assert_eq!(summary["summary"]["accepted"], 0, "{name}: {text}");

        // A case moved to the second version runs under it, with the step only it has.
        let lines = std::fs::read_to_string(&events).unwrap();
        let opened_here: Vec<Value> = lines
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .filter(|e| e["type"] == "case_opened" && e["process"] == "aitiysneuvola_raskaus")
            .collect();
        let moved = opened_here
            .iter()
            .find_map(|e| {
                let client = e["client"].as_str().unwrap();
                let status = json(&[
                    "status",
                    client,
                    "--model",
                    &m,
                    "--database",
                    &db,
                    "--format",
                    "json",
                    "--as-of",
                    "2026-03-31",
                ]);
                let case = status["cases"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|c| c["case"] == e["case"])?
                    .clone();
                (case["model_version"] == second["hash"]).then_some((client.to_owned(), case))
            })
            .expect("a maternity case on the second version");
        assert!(moved.1["steps"].to_string().contains("suun_terveys"), "{name}: {}", moved.1);
        assert_eq!(moved.1["migrations"][0]["from"], first["hash"]);
        let explained = json(&[
            "explain",
            &moved.0,
            "--date",
            "2099-12-31",
            "--step",
            "suun_terveys",
            "--model",
            &m,
            "--database",
            &db,
            "--format",
            "json",
        ]);
        assert_eq!(explained["explanation"]["cases"][0]["steps"][0]["generic"], true);
        let back = json(&[
            "migrate",
            "--dry-run",
            "--to",
            &format!("@{}", first["id"]),
            "--format",
            "json",
            "--model",
            &m,
            "--database",
            &db,
        ]);
        assert!(!back["preview"]["moves"].as_array().unwrap().is_empty(), "{name}: {back}");
        opened += 1;
    }
    assert!(opened >= 1, "no fixture in {}", fixtures.display());
}
