//! `polku migrate`: a model change with running cases, previewed, carried out and taken back.
//! The shipped model runs a simulated year; the new version adds a step to the maternity
//! clinic's process and removes one that some cases have already done. The preview counts the
//! moves per process and segment with the steps gained and lost, and names the cases that
//! cannot move; the migration stores one event per moved case, shown in its history; moving
//! back gives every case the plan and step states it had.

#![allow(clippy::unwrap_used)] // A test that cannot set up should fail loudly.

mod common;

use std::path::{Path, PathBuf};

use common::scratch;
use common::server::{json, model, polku, simulated_store};
use serde_json::Value;

const PROCESS: &str = "aitiysneuvola_raskaus";

/// A copy of the shipped model with `raskausajan_kotikäynti` removed (and what names it) and
/// `suun_terveys` added after `seulonnat`.
fn changed_model(dir: &Path) -> PathBuf {
    let to = dir.join("uusi");
    std::fs::create_dir_all(&to).unwrap();
    for entry in std::fs::read_dir(model()).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, to.join(path.file_name().unwrap())).unwrap();
    }
    let file = to.join(format!("{PROCESS}.polku"));
    let text = std::fs::read_to_string(&file).unwrap();
    let mut out = String::new();
    for line in text.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("askel raskausajan_kotikäynti ")
            || trimmed == "muuta raskausajan_kotikäynti pakollinen"
        {
            continue;
        }
        out.push_str(line.trim_end_matches(" askel raskausajan_kotikäynti"));
        out.push('\n');
        if trimmed.starts_with("askel seulonnat ") {
            out.push_str("    askel suun_terveys \"Suun terveystarkastus\" tekijä terveydenhoitaja kesto 30 min\n");
        }
    }
    assert_ne!(out, text, "the shipped process changed: update this test");
    std::fs::write(&file, out).unwrap();
    let check = polku(&["check", &to.display().to_string()], dir);
    assert!(check.status.success(), "{}", String::from_utf8_lossy(&check.stdout));
    to
}

/// The identity code of the client of `case`, from the simulated events.
fn client_of(events: &str, case: &str) -> String {
    events
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|e| e["case"] == case && e["type"] == "case_opened")
        .unwrap()["client"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn case_status(dir: &Path, m: &str, db: &str, client: &str, case: &str) -> Value {
    let status = json(
        dir,
        &[
            "status",
            client,
            "--model",
            m,
            "--database",
            db,
            "--format",
            "json",
            "--as-of",
            "2026-12-31",
        ],
    );
    status["cases"].as_array().unwrap().iter().find(|c| c["case"] == case).unwrap().clone()
}

/// A case's status without what a migration adds: the plan and its states.
fn plan_of(mut status: Value) -> Value {
    let object = status.as_object_mut().unwrap();
    for key in ["migrations", "events", "model_version"] {
        object.remove(key);
    }
    status
}

#[test]
fn a_model_change_is_previewed_migrated_and_migrated_back() {
    let dir = scratch("polku-migrate", "round");
    let old = model();
    let db = format!("sqlite://{}", dir.join("db.sqlite").display());
    let events = dir.join("events.jsonl");
    let e = events.display().to_string();
    let out =
        polku(&["simulate", "--model", &old, "--clients", "300", "--seed", "3", "--out", &e], &dir);
    assert!(out.status.success());
    let out = polku(&["ingest", &e, "--model", &old, "--database", &db], &dir);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let lines = std::fs::read_to_string(&events).unwrap();
    let new = changed_model(&dir).display().to_string();
    let info = |m: &str| json(&dir, &["store", "info", "--model", m, "--database", &db]);
    let before = info(&old);

    // The preview: nothing stored.
    let preview = json(
        &dir,
        &["migrate", "--dry-run", "--format", "json", "--model", &new, "--database", &db],
    );
    assert_eq!(preview["moved"], Value::Null);
    let p = &preview["preview"];
    assert_eq!(info(&new)["events"], before["events"], "a dry run stored nothing");
    let moves = p["moves"].as_array().unwrap();
    let blocked = p["blocked"].as_array().unwrap();
    let moving: u64 = moves.iter().map(|m| m["cases"].as_u64().unwrap()).sum();
    assert!(moving > 100 && !blocked.is_empty(), "{p}");
    for m in moves {
        let (gained, lost) = (&m["gained"], &m["lost"]);
        if m["process"] == PROCESS {
            assert_eq!(gained, &serde_json::json!(["suun_terveys"]), "{m}");
            assert_eq!(lost, &serde_json::json!(["raskausajan_kotikäynti"]), "{m}");
        } else {
            assert_eq!((gained, lost), (&serde_json::json!([]), &serde_json::json!([])), "{m}");
        }
    }
    for b in blocked {
        assert_eq!(b["process"], PROCESS);
        assert_eq!(
            b["reason"],
            serde_json::json!({"missing": "step", "name": "raskausajan_kotikäynti"})
        );
        let case = b["case"].as_str().unwrap();
        assert!(
            lines.lines().any(|l| l.contains(&format!("\"case\":\"{case}\""))
                && l.contains("raskausajan_kotikäynti")),
            "{case} has no event of the removed step"
        );
    }
    // A moving case of the changed process, and a blocked one.
    let moved_case = {
        let v = json(
            &dir,
            &["migrate", "--dry-run", "--format", "json", "--model", &new, "--database", &db],
        );
        assert_eq!(v["preview"], *p, "a dry run changed nothing");
        lines
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .filter(|e| e["type"] == "case_opened" && e["process"] == PROCESS)
            .map(|e| e["case"].as_str().unwrap().to_owned())
            .find(|c| {
                !blocked.iter().any(|b| b["case"] == c.as_str())
                    && !lines.lines().any(|l| {
                        l.contains(&format!("\"case\":\"{c}\"")) && l.contains("case_closed")
                    })
            })
            .unwrap()
    };
    let blocked_case = blocked[0]["case"].as_str().unwrap().to_owned();
    let (moved_client, blocked_client) =
        (client_of(&lines, &moved_case), client_of(&lines, &blocked_case));
    let original = case_status(&dir, &new, &db, &moved_client, &moved_case);
    assert!(original.get("migrations").is_none());
    assert!(!original["steps"].to_string().contains("suun_terveys"));

    // The migration.
    let done = json(&dir, &["migrate", "--format", "json", "--model", &new, "--database", &db]);
    assert_eq!(done["moved"].as_u64().unwrap(), moving);
    let after = info(&new);
    assert_eq!(
        after["events"].as_u64().unwrap(),
        before["events"].as_u64().unwrap() + moving,
        "one event per moved case"
    );
    let new_hash = after["current_model"].as_str().unwrap().to_owned();
    let moved = case_status(&dir, &new, &db, &moved_client, &moved_case);
    assert_eq!(moved["model_version"], new_hash.as_str());
    assert_eq!(moved["migrations"].as_array().unwrap().len(), 1);
    assert_eq!(moved["migrations"][0]["to"], new_hash.as_str());
    assert!(moved["steps"].to_string().contains("suun_terveys"), "the moved case has the new step");
    // Which version applied on a date: the one left before the move, the one moved to after.
    let version_on = |date: &str| {
        let e = json(
            &dir,
            &[
                "explain",
                &moved_client,
                "--date",
                date,
                "--model",
                &new,
                "--database",
                &db,
                "--format",
                "json",
            ],
        );
        let case = e["explanation"]["cases"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["case"] == moved_case.as_str())
            .unwrap()
            .clone();
        case["model_version"].as_str().unwrap().to_owned()
    };
    let opened = original["opened"].as_str().unwrap()[..10].to_owned();
    assert_eq!(version_on(&opened), original["model_version"].as_str().unwrap());
    assert_eq!(version_on("2099-01-01"), new_hash);
    let stayed = case_status(&dir, &new, &db, &blocked_client, &blocked_case);
    assert_ne!(stayed["model_version"], new_hash.as_str(), "a blocked case stays");
    assert!(stayed.get("migrations").is_none());
    // Run again: nothing more moves (the blocked cases still cannot).
    let again = json(&dir, &["migrate", "--format", "json", "--model", &new, "--database", &db]);
    assert_eq!(again["moved"], 0);
    assert_eq!(again["preview"]["already"].as_u64().unwrap(), moving);

    // Back to the version left: the same plan and states as before any move.
    let old_id = format!("@{}", 1);
    let back = json(
        &dir,
        &["migrate", "--to", &old_id, "--format", "json", "--model", &new, "--database", &db],
    );
    assert_eq!(back["moved"].as_u64().unwrap(), moving);
    let returned = case_status(&dir, &new, &db, &moved_client, &moved_case);
    assert_eq!(returned["model_version"], original["model_version"]);
    assert_eq!(
        returned["migrations"].as_array().unwrap().len(),
        2,
        "both moves are in the history"
    );
    let old_short = original["model_version"].as_str().unwrap()[..12].to_owned();
    assert_eq!(plan_of(returned), plan_of(original), "moving back restores the plan");
    // The history a person reads shows the version and both moves, in either language.
    let human = |lang: &str| {
        let out = polku(
            &["--lang", lang, "status", &moved_client, "--model", &new, "--database", &db],
            &dir,
        );
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    let new_short = &new_hash[..12];
    let text = human("en");
    assert!(text.contains(&format!("Model version: @1 ({old_short})")), "{text}");
    assert!(
        text.contains(&format!(
            "Moved to model version: {} @1 ({old_short}) → @2 ({new_short})",
            &today()
        )),
        "{text}"
    );
    assert!(text.contains(&format!("@2 ({new_short}) → @1 ({old_short})")), "{text}");
    let text = human("fi");
    let case = text.split(&format!("Tapaus {moved_case}:")).nth(1).unwrap();
    let case = case.split("\nTapaus ").next().unwrap();
    assert!(case.contains(&format!("Malliversio: @1 ({old_short})")), "{text}");
    assert_eq!(case.matches("Siirretty mallin versioon: ").count(), 2, "{text}");
    // The log replays to the same state in a fresh process, and both chains hold.
    assert_eq!(info(&new)["state_digest"], info(&new)["state_digest"]);
    let verify = polku(&["store", "verify", "--database", &db], &dir);
    assert!(verify.status.success());
}

#[test]
fn an_unknown_version_is_refused_by_name() {
    let dir = scratch("polku-migrate", "unknown");
    let db = format!("sqlite://{}", dir.join("db.sqlite").display());
    std::fs::write(dir.join("none.jsonl"), "").unwrap();
    let out = polku(&["ingest", "none.jsonl", "--model", &model(), "--database", &db], &dir);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = polku(
        &["migrate", "--to", "@7", "--dry-run", "--model", &model(), "--database", &db],
        &dir,
    );
    assert_eq!(out.status.code(), Some(2));
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(text.contains("--to: no stored model version @7 (stored: @1 ("), "{text}");
    let out = polku(&["migrate", "--to", "abc", "--model", &model(), "--database", &db], &dir);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("six or more characters"));
    // In Finnish, the same refusals.
    let out = polku(
        &["--lang", "fi", "migrate", "--to", "@7", "--model", &model(), "--database", &db],
        &dir,
    );
    assert_eq!(out.status.code(), Some(2));
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(
        text.contains("--to: tallennettua malliversiota @7 ei ole (tallennetut: @1 ("),
        "{text}"
    );
    // A version by its hash as `polku diff` takes it too: with `@`, in capitals.
    let hash = json(&dir, &["store", "info", "--model", &model(), "--database", &db])
        ["current_model"]
        .as_str()
        .unwrap()
        .to_owned();
    for spec in [format!("@{}", &hash[..8]), hash[..10].to_uppercase()] {
        let out = polku(
            &["migrate", "--to", &spec, "--dry-run", "--model", &model(), "--database", &db],
            &dir,
        );
        assert!(out.status.success(), "{spec}: {}", String::from_utf8_lossy(&out.stderr));
    }
}

/// Today in Finnish time, as a move's date shows.
fn today() -> String {
    let out = std::process::Command::new("date")
        .args(["+%Y-%m-%d"])
        .env("TZ", "Europe/Helsinki")
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// A step that the case's own version does not have either (an event with a misspelt step,
/// kept as a deviation) does not keep the case from moving.
#[test]
fn a_step_unknown_to_both_versions_does_not_block_a_move() {
    let dir = scratch("polku-migrate", "misspelt");
    let old = model();
    let db = format!("sqlite://{}", dir.join("db.sqlite").display());
    let lines = simulated_store(&dir, &old, &db, &["--clients", "100", "--seed", "5"]);
    let case = lines
        .iter()
        .filter(|e| e["type"] == "case_opened" && e["process"] == PROCESS)
        .map(|e| e["case"].as_str().unwrap())
        .find(|case| {
            !lines.iter().any(|e| {
                e["case"] == *case
                    && (e["type"] == "case_closed"
                        || e.to_string().contains("raskausajan_kotikäynti"))
            })
        })
        .expect("an open case of the process that did not do the removed step")
        .to_owned();
    let typo = dir.join("typo.jsonl");
    std::fs::write(
        &typo,
        format!(
            r#"{{"id":"typo-1","case":"{case}","occurred":"2026-12-31","recorded":"2026-12-31","role":"terveydenhoitaja","type":"step_completed","step":"seulonnat_kirjoitusvirhe"}}"#
        ),
    )
    .unwrap();
    let out =
        polku(&["ingest", &typo.display().to_string(), "--model", &old, "--database", &db], &dir);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let new = changed_model(&dir).display().to_string();
    let preview = json(
        &dir,
        &["migrate", "--dry-run", "--format", "json", "--model", &new, "--database", &db],
    );
    let blocked = preview["preview"]["blocked"].as_array().unwrap();
    assert!(
        !blocked.iter().any(|b| b["case"] == case.as_str()),
        "{case} blocked by a step neither version has: {blocked:?}"
    );
}

/// Only what executes a model stores it as a version: reading a store with changed files
/// (status, explain, a report, the store's facts, a dry run) leaves its versions as they were,
/// and files that differ from a stored version in comments and layout alone are that version.
#[test]
fn reading_stores_no_version_and_a_layout_edit_is_no_version() {
    let dir = scratch("polku-migrate", "reading");
    let old = model();
    let db = format!("sqlite://{}", dir.join("db.sqlite").display());
    let lines = simulated_store(&dir, &old, &db, &["--clients", "40", "--seed", "5"]);
    let client = lines.iter().find(|e| e["type"] == "case_opened").unwrap()["client"]
        .as_str()
        .unwrap()
        .to_owned();
    let changed = changed_model(&dir);
    let toml = changed.join("polku.toml");
    let config = std::fs::read_to_string(&toml).unwrap_or_default();
    std::fs::write(&toml, format!("{config}\n[retention]\nclosed_case_years = 12\n")).unwrap();
    let new = changed.display().to_string();
    let versions = |m: &str| {
        json(&dir, &["store", "models", "--format", "json", "--model", m, "--database", &db])
            .as_array()
            .unwrap()
            .clone()
    };
    let base = ["--model", new.as_str(), "--database", db.as_str()];
    for args in [
        &["status", &client, "--format", "json"][..],
        &["explain", &client, "--date", "2026-06-30", "--format", "json"],
        &["report", "segments", "--date", "2026-06-30", "--format", "json"],
        &["migrate", "--dry-run", "--format", "json"],
        &["store", "info"],
        &["store", "access-log"],
        &["store", "retain", "--dry-run"],
    ] {
        let out = polku(&[args, &base[..]].concat(), &dir);
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(versions(&new).len(), 1, "{args:?} stored the model it only read with");
    }
    let listed =
        polku(&["--lang", "en", "store", "models", "--model", &new, "--database", &db], &dir);
    let text = String::from_utf8_lossy(&listed.stdout);
    assert!(
        text.contains("The model's files are no stored version") && !text.contains(" *"),
        "{text}"
    );

    // The shipped model with its comments changed and laid out anew.
    let edited = dir.join("kommentoitu");
    std::fs::create_dir_all(&edited).unwrap();
    for entry in std::fs::read_dir(&old).unwrap() {
        let path = entry.unwrap().path();
        let to = edited.join(path.file_name().unwrap());
        let text = std::fs::read_to_string(&path).unwrap();
        let text = if path.extension().is_some_and(|e| e == "polku") {
            format!("// Tarkistettu 2026.\n\n{}", text.replace("\n  ", "\n      "))
        } else {
            text
        };
        std::fs::write(to, text).unwrap();
    }
    let e = edited.display().to_string();
    let empty = dir.join("empty.jsonl");
    std::fs::write(&empty, "").unwrap();
    let empty = empty.display().to_string();
    let out = polku(
        &[
            "--lang",
            "en",
            "ingest",
            &empty,
            "--model",
            &e,
            "--database",
            &db,
            "--note",
            "Kommentit",
        ],
        &dir,
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("differ from stored model version @1 only in how they are written"),
        "{said}"
    );
    assert!(said.contains("model version @1 is stored already, with no note"), "{said}");
    let listed = versions(&e);
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0]["current"], true);
    // The changed files, executed, are a new version.
    let out = polku(&["ingest", &empty, "--model", &new, "--database", &db], &dir);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(versions(&new).len(), 2);
}
