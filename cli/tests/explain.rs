//! `polku explain`: why a client's service was planned as it was on a date, on the Keski-Suomi
//! model, whose family training (`perhevalmennus`) is planned only for a first pregnancy
//! (`jos ensisynnyttäjä`) and which the segment pärjääjä changes, while the segment tuki adds
//! extra visits before it.

#![allow(clippy::unwrap_used)] // A test that cannot set up should fail loudly.

mod common;

use std::path::Path;

use common::server::polku;
use common::{scratch, workspace};
use serde_json::Value;

const CLIENT: &str = "251208A9362";

fn model() -> String {
    workspace().join("processes/keski-suomi").display().to_string()
}

fn explain(dir: &Path, db: &str, date: &str, step: Option<&str>, lang: &str) -> (Value, String) {
    let m = model();
    let mut args = vec!["--lang", lang, "explain", CLIENT, "--date", date, "--model", &m];
    args.extend(["--database", db]);
    if let Some(step) = step {
        args.extend(["--step", step]);
    }
    let human = polku(&args, dir);
    assert!(human.status.success(), "{}", String::from_utf8_lossy(&human.stderr));
    args.extend(["--format", "json"]);
    let out = polku(&args, dir);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    (serde_json::from_slice(&out.stdout).unwrap(), String::from_utf8(human.stdout).unwrap())
}

#[test]
fn explain_names_the_version_the_segment_its_decider_the_content_and_the_condition() {
    let dir = scratch("polku-explain", "conditions");
    let db = format!("sqlite://{}", dir.join("db.sqlite").display());
    let line = |id: &str, date: &str, rest: &str| {
        format!(
            r#"{{"id":"{id}","case":"c1","occurred":"{date}","recorded":"{date}","role":"terveydenhoitaja",{rest}}}"#
        )
    };
    let events = [
        line(
            "e1",
            "2026-01-07",
            &format!(
                r#""type":"case_opened","client":"{CLIENT}","process":"aitiysneuvola_laaja","unit":"äitiysneuvola","segment":"pärjääjä","facts":{{"ensisynnyttäjä":false}}"#
            ),
        ),
        line("e2", "2026-02-10", r#""type":"fact_recorded","fact":"ensisynnyttäjä","value":true"#),
        line(
            "e3",
            "2026-03-10",
            r#""type":"segment_assessed","segment":"tuki","by":"th Virtanen","reason":"uupumus""#,
        ),
    ];
    std::fs::write(dir.join("events.jsonl"), events.join("\n")).unwrap();
    let ingest = |note: &str| {
        let m = model();
        let args = [
            "--lang",
            "en",
            "ingest",
            "events.jsonl",
            "--model",
            &m,
            "--database",
            &db,
            "--note",
            note,
        ];
        polku(&args, &dir)
    };
    let first = ingest("Vuoden 2026 malli");
    assert!(first.status.success(), "{}", String::from_utf8_lossy(&first.stderr));
    // A note given later for the same version is not kept, and the command says so.
    let again = ingest("Toinen");
    assert!(again.status.success());
    let warned = String::from_utf8_lossy(&again.stderr);
    assert!(
        warned.contains("is stored already, with the note \"Vuoden 2026 malli\"; the note given now is not kept"),
        "{warned}"
    );

    // Before the fact: not a first pregnancy, so no family training; pärjääjä since opening.
    let (before, text) = explain(&dir, &db, "2026-02-01", Some("perhevalmennus"), "fi");
    let case = &before["explanation"]["cases"][0];
    assert_eq!(case["segment"], "pärjääjä");
    assert_eq!(case["decided"]["how"], "opened");
    let step = &case["steps"][0];
    assert_eq!(step["step"], "perhevalmennus");
    assert_eq!(step["planned"], false);
    assert_eq!(step["generic"], true);
    assert_eq!(
        step["condition"],
        serde_json::json!({"fact": "ensisynnyttäjä", "negated": false, "value": 0, "holds": false})
    );
    assert_eq!(step["segment_content"]["content"], "changed");
    assert!(step["segment_content"]["attributes"].to_string().contains("kanava"), "{step}");
    let version = &before["versions"][0];
    assert_eq!(version["note"], "Vuoden 2026 malli");
    assert_eq!(case["model_version"], version["hash"]);
    // The fact's value in words, and the segment's changes by their Finnish names.
    assert!(text.contains("ehto: jos ensisynnyttäjä: ensisynnyttäjä = ei → ei päde"), "{text}");
    assert!(text.contains("muuttaa kanava"), "{text}");
    assert!(text.contains("Vuoden 2026 malli"), "{text}");
    assert!(!text.contains(CLIENT), "the identity code is not echoed: {text}");

    // After the fact, before the assessment: planned, as pärjääjä changes it.
    let (between, text) = explain(&dir, &db, "2026-03-01", Some("perhevalmennus"), "en");
    let step = &between["explanation"]["cases"][0]["steps"][0];
    assert_eq!(step["planned"], true);
    assert_eq!(step["condition"]["holds"], true);
    // In English: the value and the changed attributes in English words, not the keywords.
    assert!(
        text.contains("condition: only if ensisynnyttäjä: ensisynnyttäjä = yes → holds"),
        "{text}"
    );
    assert!(text.contains("the segment's content: changes channel"), "{text}");
    assert!(!text.contains("kanava"), "{text}");

    // After the assessment: tuki, decided by the nurse; tuki adds the extra visits.
    let (after, text) = explain(&dir, &db, "2026-04-01", None, "en");
    let case = &after["explanation"]["cases"][0];
    assert_eq!(case["segment"], "tuki");
    assert_eq!(case["decided"]["how"], "assessed");
    assert_eq!(case["decided"]["by"], "th Virtanen");
    assert_eq!(case["decided"]["reason"], "uupumus");
    let steps = case["steps"].as_array().unwrap();
    let extra = steps.iter().find(|s| s["step"] == "lisäkäynnit").unwrap();
    assert_eq!(extra["segment_content"]["content"], "added");
    assert_eq!(extra["generic"], false);
    assert_eq!(extra["planned"], true);
    let training = steps.iter().find(|s| s["step"] == "perhevalmennus").unwrap();
    assert_eq!(training["segment_content"]["content"], "none", "tuki does not change it");
    assert!(text.contains("assessed 2026-03-10"), "{text}");
    assert!(text.contains("by th Virtanen (reason: uupumus)"), "{text}");

    // Each explanation is an access to the client's data, logged.
    let log = polku(
        &["store", "access-log", "--model", &model(), "--database", &db, "--client", CLIENT],
        &dir,
    );
    let log = String::from_utf8_lossy(&log.stdout);
    assert!(log.matches(" explain ").count() >= 6, "{log}");

    // A step no case of the client's has, and a client without cases.
    let out = polku(
        &[
            "explain",
            CLIENT,
            "--date",
            "2026-04-01",
            "--step",
            "ei_ole",
            "--model",
            &model(),
            "--database",
            &db,
        ],
        &dir,
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("ei_ole"));
    let out = polku(
        &["explain", CLIENT, "--date", "2025-12-31", "--model", &model(), "--database", &db],
        &dir,
    );
    assert_eq!(out.status.code(), Some(1), "no case yet on that date");
    let out = polku(
        &["explain", CLIENT, "--date", "31.12.2025", "--model", &model(), "--database", &db],
        &dir,
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--date"));
}

/// An identity code typed where something else belongs (the date, the step, a version, the
/// purpose, the role, a model version's note) is never repeated in a message, and never kept in
/// the access log or with a model version.
#[test]
fn an_identity_code_typed_in_the_wrong_place_is_neither_echoed_nor_kept() {
    let dir = scratch("polku-explain", "misplaced");
    let db = format!("sqlite://{}", dir.join("db.sqlite").display());
    let m = model();
    let opening = format!(
        r#"{{"id":"e1","case":"c1","occurred":"2026-01-07","recorded":"2026-01-07","role":"terveydenhoitaja","type":"case_opened","client":"{CLIENT}","process":"aitiysneuvola_laaja","unit":"äitiysneuvola","segment":"pärjääjä"}}"#
    );
    std::fs::write(dir.join("events.jsonl"), opening).unwrap();
    let ingest = polku(&["ingest", "events.jsonl", "--model", &m, "--database", &db], &dir);
    assert!(ingest.status.success(), "{}", String::from_utf8_lossy(&ingest.stderr));
    let db = db.as_str();
    let refused: [&[&str]; 6] = [
        &["explain", CLIENT, "--date", CLIENT],
        &["explain", CLIENT, "--date", "2026-02-01", "--step", CLIENT],
        &["status", CLIENT, "--as-of", CLIENT],
        &["migrate", "--to", CLIENT, "--dry-run"],
        &["diff", CLIENT, "@1"],
        &["--lang", CLIENT, "check"],
    ];
    for args in refused {
        let mut args = args.to_vec();
        if args[0] != "--lang" {
            args.extend(["--model", &m, "--database", db]);
        }
        let out = polku(&args, &dir);
        let said = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!said.contains(CLIENT), "{args:?} repeated the identity code: {said}");
        assert!(!said.trim().is_empty(), "{args:?} said nothing");
    }
    // Typed into what the access log keeps: the rest is kept, the code is not.
    let purpose = format!("puhelu koskien {CLIENT}");
    let role = format!("th {CLIENT}");
    let out = polku(
        &[
            "status",
            CLIENT,
            "--purpose",
            &purpose,
            "--role",
            &role,
            "--model",
            &m,
            "--database",
            db,
        ],
        &dir,
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let log = polku(&["store", "access-log", "--model", &m, "--database", db], &dir);
    let log = String::from_utf8_lossy(&log.stdout);
    assert!(log.contains("puhelu koskien …"), "{log}");
    assert!(!log.contains(CLIENT), "{log}");
    let bytes = std::fs::read(dir.join("db.sqlite")).unwrap();
    assert!(!bytes.windows(CLIENT.len()).any(|w| w == CLIENT.as_bytes()));
    // A version's note is kept for good: one with a code is refused, and nothing is stored.
    let note = format!("asiakkaan {CLIENT} vuoksi");
    let out = polku(&["store", "models", "--note", &note, "--model", &m, "--database", db], &dir);
    assert_eq!(out.status.code(), Some(2));
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("personal identity code") || said.contains("henkilötunnus"), "{said}");
    assert!(!said.contains(CLIENT), "{said}");
}

/// A command that reads a store does not make one where `--database` names none (a mistyped
/// path): it says so, and leaves neither a database nor a key behind.
#[test]
fn a_mistyped_database_is_reported_not_made() {
    let dir = scratch("polku-explain", "mistyped");
    let m = model();
    let db = format!("sqlite://{}", dir.join("typo").join("db.sqlite").display());
    let reading: [&[&str]; 5] = [
        &["status", CLIENT],
        &["explain", CLIENT, "--date", "2026-02-01"],
        &["report", "segments", "--date", "2026-02-01"],
        &["migrate", "--to", "@1", "--dry-run"],
        &["store", "info"],
    ];
    for args in reading {
        let mut args = args.to_vec();
        args.extend(["--model", &m, "--database", &db, "--lang", "en"]);
        let out = polku(&args, &dir);
        let said = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {said}");
        assert!(said.contains("there is no database"), "{args:?}: {said}");
        assert!(!dir.join("typo").exists(), "{args:?} made the folder");
    }
}
