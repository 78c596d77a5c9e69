//! Tamper evidence as an operator meets it: `polku store verify` on an intact store and on
//! stores changed with raw SQL (an event's letter, an access-log row), and every command
//! refusing to start on a store whose events after the snapshot were changed.

#![allow(clippy::unwrap_used)] // A test that cannot set up should fail loudly.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{finish, workspace};

const KEY: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

fn model() -> String {
    workspace().join("processes/keusote").to_string_lossy().into_owned()
}

fn polku(dir: &Path, args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_polku"));
    command
        .args(args)
        .current_dir(dir)
        .env("POLKU_PSEUDONYM_KEY", KEY)
        .env("LANG", "C.UTF-8")
        .env_remove("LC_ALL")
        .env_remove("LC_MESSAGES");
    finish(command, &format!("polku {args:?}"))
}

fn out(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A simulated stream of `clients` clients, its first `share` ingested, a snapshot written,
/// then the rest ingested and a status read (an access-log row). Returns the database file.
fn store_with_snapshot(dir: &Path, m: &str) -> PathBuf {
    let o = polku(dir, &["simulate", "--model", m, "--clients", "30", "--days", "200"]);
    assert!(o.status.success(), "{}", err(&o));
    let lines: Vec<String> = out(&o).lines().map(str::to_owned).collect();
    let half = lines.len() / 2;
    std::fs::write(dir.join("first.jsonl"), lines[..half].join("\n")).unwrap();
    std::fs::write(dir.join("rest.jsonl"), lines[half..].join("\n")).unwrap();
    for args in [
        &["ingest", "first.jsonl", "--model", m][..],
        &["store", "snapshot", "--model", m],
        &["ingest", "rest.jsonl", "--model", m],
        &["report", "segments", "--date", "2026-03-01", "--model", m],
    ] {
        let o = polku(dir, args);
        assert!(o.status.code().is_some_and(|c| c <= 1), "{args:?}: {}", err(&o));
    }
    dir.join("data/polku.sqlite")
}

fn scalar(db: &Path, query: &str) -> i64 {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.query_row(query, [], |r| r.get(0)).unwrap()
}

fn execute(db: &Path, statement: &str) {
    let conn = rusqlite::Connection::open(db).unwrap();
    assert!(conn.execute(statement, []).unwrap() > 0, "{statement}");
}

/// Changes one letter of event `seq`: the first letter of its case id.
fn change_a_letter(db: &Path, seq: i64) {
    let conn = rusqlite::Connection::open(db).unwrap();
    let body: String =
        conn.query_row("SELECT body FROM events WHERE seq = ?1", [seq], |r| r.get(0)).unwrap();
    let at = body.find("\"case\":\"").unwrap() + 8;
    let mut bytes = body.into_bytes();
    bytes[at] = if bytes[at] == b'x' { b'y' } else { b'x' };
    let body = String::from_utf8(bytes).unwrap();
    conn.execute("UPDATE events SET body = ?2 WHERE seq = ?1", rusqlite::params![seq, body])
        .unwrap();
}

fn verify_json(dir: &Path, database: &str) -> (Option<i32>, serde_json::Value) {
    let o = polku(dir, &["store", "verify", "--database", database, "--format", "json"]);
    let value = serde_json::from_str(&out(&o)).unwrap_or_else(|_| panic!("{}", err(&o)));
    (o.status.code(), value)
}

#[test]
fn store_verify_reports_intact_and_tampered_stores() {
    let dir = common::scratch("polku-chain", "verify");
    let m = model();
    let db = store_with_snapshot(&dir, &m);
    let database = format!("sqlite://{}", db.display());

    // Intact: exit 0, both heads printed.
    let o = polku(&dir, &["store", "verify", "--model", &m, "--lang", "fi"]);
    assert_eq!(o.status.code(), Some(0), "{}{}", out(&o), err(&o));
    let text = out(&o);
    assert!(text.contains("Tapahtumaloki: ") && text.contains("ketju ehjä"), "{text}");
    let head: String = {
        let conn = rusqlite::Connection::open(&db).unwrap();
        let hash: Vec<u8> = conn
            .query_row("SELECT hash FROM events ORDER BY seq DESC LIMIT 1", [], |r| r.get(0))
            .unwrap();
        hash.iter().map(|b| format!("{b:02x}")).collect()
    };
    assert!(text.contains(&head), "{text}");
    let (code, json) = verify_json(&dir, &database);
    assert_eq!(code, Some(0));
    assert_eq!(json["intact"], true);
    assert_eq!(json["events"]["head"], head.as_str());
    assert_eq!(json["access_log"]["rows"], 3, "{json}");
    assert!(json["snapshot"].as_u64().unwrap() > 0, "{json}");

    // One letter of an event changed: exit 1, the event named with what is wrong.
    let copy = dir.join("letter.sqlite");
    std::fs::copy(&db, &copy).unwrap();
    change_a_letter(&copy, 17);
    let copy_url = format!("sqlite://{}", copy.display());
    let o = polku(&dir, &["store", "verify", "--database", &copy_url, "--lang", "en"]);
    assert_eq!(o.status.code(), Some(1), "{}", err(&o));
    assert!(out(&o).contains("BROKEN at event 17: its content was changed"), "{}", out(&o));
    let (code, json) = verify_json(&dir, &copy_url);
    assert_eq!(code, Some(1));
    assert_eq!(json["intact"], false);
    assert_eq!(json["events"]["broken"]["seq"], 17);
    assert_eq!(json["events"]["broken"]["problem"]["kind"], "content_changed");
    assert_eq!(json["events"]["head"], serde_json::Value::Null);
    assert_eq!(json["access_log"]["intact"], true);

    // A row deleted.
    std::fs::copy(&db, &copy).unwrap();
    execute(&copy, "DELETE FROM events WHERE seq = 40");
    let (code, json) = verify_json(&dir, &copy_url);
    assert_eq!(code, Some(1));
    assert_eq!(json["events"]["broken"]["seq"], 40);
    assert_eq!(json["events"]["broken"]["problem"]["kind"], "missing");

    // An access-log row changed: named by its id.
    std::fs::copy(&db, &copy).unwrap();
    execute(&copy, "UPDATE access_log SET purpose = 'uteliaisuus' WHERE id = 2");
    let o = polku(&dir, &["store", "verify", "--database", &copy_url, "--lang", "fi"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(out(&o).contains("Käyttöloki: RIKKI"), "{}", out(&o));
    assert!(out(&o).contains("käyttölokin rivi 2: sen sisältöä on muutettu"), "{}", out(&o));
    let (_, json) = verify_json(&dir, &copy_url);
    assert_eq!(json["access_log"]["broken"]["id"], 2);
    assert_eq!(json["events"]["intact"], true);

    // A stored model version's files changed: the plans of its cases change with them.
    std::fs::copy(&db, &copy).unwrap();
    let (_, json) = verify_json(&dir, &copy_url);
    assert_eq!(json["models"]["intact"], true, "{json}");
    execute(
        &copy,
        "UPDATE models SET sources = replace(sources, 'neuvola', 'neuvolx') WHERE id = 1",
    );
    let o = polku(&dir, &["store", "verify", "--database", &copy_url, "--lang", "en"]);
    assert_eq!(o.status.code(), Some(1), "{}", err(&o));
    assert!(out(&o).contains("Model version @1: CHANGED"), "{}", out(&o));
    let (code, json) = verify_json(&dir, &copy_url);
    assert_eq!(code, Some(1));
    assert_eq!(
        (&json["intact"], &json["models"]["changed"]),
        (&false.into(), &serde_json::json!([1]))
    );
    assert_eq!(json["events"]["intact"], true);
    // Nothing opens such a store: start-up refuses it, and writes nothing (not even the model
    // loaded now as a version of its own).
    let versions = scalar(&copy, "SELECT count(*) FROM models");
    let events = scalar(&copy, "SELECT count(*) FROM events");
    let o = polku(
        &dir,
        &["report", "segments", "--date", "2026-03-01", "--model", &m, "--database", &copy_url],
    );
    assert_eq!(o.status.code(), Some(2), "{}", out(&o));
    assert!(
        err(&o).contains("the sources of model version @1 no longer give the content hash"),
        "{}",
        err(&o)
    );
    let o = polku(&dir, &["--lang", "fi", "store", "info", "--model", &m, "--database", &copy_url]);
    assert_eq!(o.status.code(), Some(2));
    assert!(err(&o).contains("malliversion @1 lähteistä ei enää saada"), "{}", err(&o));
    assert_eq!(scalar(&copy, "SELECT count(*) FROM models"), versions);
    assert_eq!(scalar(&copy, "SELECT count(*) FROM events"), events);

    // No database there: an error, not a new empty store that verifies.
    let missing = format!("sqlite://{}", dir.join("nowhere.sqlite").display());
    let o = polku(&dir, &["store", "verify", "--database", &missing]);
    assert_eq!(o.status.code(), Some(2));
    assert!(err(&o).contains("there is no database"), "{}", err(&o));
    assert!(!dir.join("nowhere.sqlite").exists());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn start_up_refuses_an_event_changed_after_the_snapshot() {
    let dir = common::scratch("polku-chain", "startup");
    let m = model();
    let db = store_with_snapshot(&dir, &m);
    let snapshot = scalar(&db, "SELECT seq FROM snapshots");
    let last = scalar(&db, "SELECT MAX(seq) FROM events");
    assert!(snapshot > 10 && snapshot + 5 < last, "{snapshot} {last}");
    let pristine = dir.join("pristine.sqlite");
    std::fs::copy(&db, &pristine).unwrap();

    // Before the change every command opens the store.
    let o = polku(&dir, &["store", "info", "--model", &m]);
    assert!(o.status.success(), "{}", err(&o));

    let changed = snapshot + 3;
    change_a_letter(&db, changed);
    for lang in ["en", "fi"] {
        for args in [
            &["store", "info", "--model", &m, "--lang", lang][..],
            &["report", "completion", "--model", &m, "--lang", lang],
            &["ingest", "rest.jsonl", "--model", &m, "--lang", lang],
        ] {
            let o = polku(&dir, args);
            assert_eq!(o.status.code(), Some(2), "{args:?}: {}", out(&o));
            let e = err(&o);
            match lang {
                "en" => assert!(
                    e.contains("changed outside Polku")
                        && e.contains(&format!("event {changed}: its content was changed")),
                    "{e}"
                ),
                _ => assert!(
                    e.contains("muutettu Polkun ulkopuolelta")
                        && e.contains(&format!("tapahtuma {changed}: sen sisältöä")),
                    "{e}"
                ),
            }
        }
    }
    // Nothing was written meanwhile: the log is as it was.
    assert_eq!(scalar(&db, "SELECT MAX(seq) FROM events"), last);

    // A change before the snapshot is not start-up's to find (it reads from the snapshot on),
    // but the whole walk finds it.
    std::fs::copy(&pristine, &db).unwrap();
    change_a_letter(&db, snapshot - 3);
    let o = polku(&dir, &["store", "info", "--model", &m]);
    assert!(o.status.success(), "{}", err(&o));
    let o = polku(&dir, &["store", "verify", "--model", &m, "--lang", "en"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(out(&o).contains(&format!("event {}", snapshot - 3)), "{}", out(&o));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_changed_last_access_log_row_is_warned_of_and_staff_still_read_a_status() {
    let dir = common::scratch("polku-chain", "access-head");
    let m = model();
    let db = store_with_snapshot(&dir, &m);
    // A client as staff type it: the identity code of the first case opened.
    let first = std::fs::read_to_string(dir.join("first.jsonl")).unwrap();
    let client = first
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .find_map(|event| event["client"].as_str().map(str::to_owned))
        .unwrap();
    let last = scalar(&db, "SELECT MAX(id) FROM access_log");
    let pristine = dir.join("pristine.sqlite");
    std::fs::copy(&db, &pristine).unwrap();
    let database = format!("sqlite://{}", db.display());
    for lang in ["en", "fi"] {
        std::fs::copy(&pristine, &db).unwrap();
        execute(&db, &format!("UPDATE access_log SET hash = x'00' WHERE id = {last}"));
        let o = polku(&dir, &["status", &client, "--model", &m, "--lang", lang]);
        assert_eq!(o.status.code(), Some(0), "{lang}: {}", err(&o));
        assert!(!out(&o).trim().is_empty());
        let e = err(&o);
        let warning = match lang {
            "en" => format!(
                "warning: the hash chain is broken at access-log row {last}: its stored hash was changed"
            ),
            _ => format!(
                "varoitus: tiivisteketju on rikki: käyttölokin rivi {last}: sen tallennettua tiivistettä on muutettu"
            ),
        };
        assert!(e.contains(&warning), "{lang}: {e}");
        // No client data in the warning: neither the code typed nor a pseudonym (or any hash).
        assert!(!e.contains(&client), "{e}");
        assert!(!e.split(|c: char| !c.is_ascii_hexdigit()).any(|word| word.len() >= 16), "{e}");
        // The access was logged after the changed row.
        assert_eq!(
            scalar(
                &db,
                &format!("SELECT count(*) FROM access_log WHERE id > {last} AND action = 'status'")
            ),
            1
        );
        // The next command finds the log's end intact again: no warning.
        let o = polku(&dir, &["status", &client, "--model", &m, "--lang", lang]);
        assert_eq!(o.status.code(), Some(0), "{}", err(&o));
        assert!(err(&o).is_empty(), "{}", err(&o));
        // And the change stays evident: verify names the row.
        let (code, json) = verify_json(&dir, &database);
        assert_eq!(code, Some(1));
        assert_eq!(json["events"]["intact"], true, "{json}");
        assert_eq!(json["access_log"]["broken"]["id"], last, "{json}");
        assert_eq!(json["access_log"]["broken"]["problem"]["kind"], "hash_changed", "{json}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
