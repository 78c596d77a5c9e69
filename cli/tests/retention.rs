//! `polku store retain`: the client data of cases closed longer ago than `[retention]` keeps
//! it is removed, while the segment distributions and transitions the reports give stay exactly
//! as they were. A simulated year of the shipped model from 2019, judged as of 2026-12-01: cases
//! closed in 2019 go after five years, except the child-health clinic's (`neuvola`), which its
//! own time keeps; the access log keeps three years, so this run's rows stay. A removal as of a
//! day still to come is refused (a dry run may look ahead), as are rules that cannot be meant.

#![allow(clippy::unwrap_used)] // A test that cannot set up should fail loudly.

mod common;

use std::path::Path;

use common::scratch;
use common::server::{json, model, polku, simulated_store};
use rusqlite::OptionalExtension as _;
use serde_json::Value;

/// Every report the retention must leave as it was: the distribution on days through the year
/// and the transitions between consecutive days and over longer spans.
fn reports(dir: &Path, m: &str, db: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let day = |n: u32| {
        let (month, day) = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
            .iter()
            .enumerate()
            .fold((1, n), |(month, left), (i, len)| {
                if month == i + 1 && left > *len {
                    (month + 1, left - len)
                } else {
                    (month, left)
                }
            });
        format!("2019-{month:02}-{day:02}")
    };
    for n in (1..=365).step_by(17).chain([365]) {
        out.push(json(
            dir,
            &[
                "report",
                "segments",
                "--date",
                &day(n),
                "--model",
                m,
                "--database",
                db,
                "--format",
                "json",
            ],
        ));
    }
    for (from, to) in
        [(30, 31), (100, 101), (200, 201), (250, 251), (1, 120), (60, 300), (1, 365), (180, 365)]
    {
        out.push(json(
            dir,
            &[
                "report",
                "transitions",
                "--from",
                &day(from),
                "--to",
                &day(to),
                "--model",
                m,
                "--database",
                db,
                "--format",
                "json",
            ],
        ));
    }
    out
}

/// A copy of the shipped model in `dir`, whose `polku.toml` a test may change.
fn model_copy(dir: &Path) -> std::path::PathBuf {
    let m = dir.join("malli");
    std::fs::create_dir_all(&m).unwrap();
    for entry in std::fs::read_dir(model()).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, m.join(path.file_name().unwrap())).unwrap();
    }
    m
}

#[test]
fn expired_client_data_goes_and_the_reports_stay_exactly() {
    let dir = scratch("polku-retention", "year");
    let m = model_copy(&dir);
    let toml = m.join("polku.toml");
    let mut config = std::fs::read_to_string(&toml).unwrap();
    config.push_str("\n[retention]\nclosed_case_years = 5\naccess_log_years = 3\n\n[retention.unit_years]\nneuvola = 10\n");
    std::fs::write(&toml, config).unwrap();
    let m = m.display().to_string();
    let file = dir.join("db.sqlite");
    let db = format!("sqlite://{}", file.display());
    let lines = simulated_store(
        &dir,
        &m,
        &db,
        &["--clients", "500", "--seed", "4", "--start", "2019-01-01"],
    );
    let closed: std::collections::HashSet<&str> = lines
        .iter()
        .filter(|e| e["type"] == "case_closed")
        .map(|e| e["case"].as_str().unwrap())
        .collect();
    let opening = |case: &str| {
        lines.iter().find(|e| e["type"] == "case_opened" && e["case"] == case).unwrap()
    };
    let clients_cases = |client: &str| -> Vec<&str> {
        lines
            .iter()
            .filter(|e| e["type"] == "case_opened" && e["client"] == client)
            .map(|e| e["case"].as_str().unwrap())
            .collect()
    };
    // A client whose every case closed outside the clinic goes; a clinic case stays.
    let gone = lines
        .iter()
        .filter(|e| e["type"] == "case_opened" && e["unit"] != "neuvola")
        .map(|e| e["client"].as_str().unwrap())
        .find(|c| {
            clients_cases(c)
                .iter()
                .all(|case| closed.contains(case) && opening(case)["unit"] != "neuvola")
        })
        .expect("a client whose cases all closed outside neuvola")
        .to_owned();
    let clinic = closed
        .iter()
        .map(|case| opening(case))
        .find(|o| o["unit"] == "neuvola")
        .expect("a closed neuvola case");
    let (clinic_client, clinic_case) = (
        clinic["client"].as_str().unwrap().to_owned(),
        clinic["case"].as_str().unwrap().to_owned(),
    );
    let status = |client: &str| {
        polku(&["status", client, "--model", &m, "--database", &db, "--format", "json"], &dir)
    };
    let before_status = status(&gone);
    assert!(before_status.status.success());
    let pseudonym = serde_json::from_slice::<Value>(&before_status.stdout).unwrap()["client"]
        .as_str()
        .unwrap()
        .to_owned();
    let before = reports(&dir, &m, &db);
    let info_before = json(&dir, &["store", "info", "--model", &m, "--database", &db]);

    // The dry run counts and changes nothing.
    let dry = json(
        &dir,
        &[
            "store",
            "retain",
            "--as-of",
            "2026-12-01",
            "--dry-run",
            "--format",
            "json",
            "--model",
            &m,
            "--database",
            &db,
        ],
    );
    assert!(dry["cases"].as_u64().unwrap() > 20, "{dry}");
    assert!(dry["clients"].as_u64().unwrap() >= 1, "{dry}");
    assert_eq!(
        json(&dir, &["store", "info", "--model", &m, "--database", &db])["events"],
        info_before["events"]
    );

    // Looking ahead counts; removing as of a day still to come is refused, and removes nothing.
    let ahead = |dry: bool| {
        let mut args = vec!["store", "retain", "--as-of", "2099-01-01", "--format", "json"];
        if dry {
            args.push("--dry-run");
        }
        args.extend(["--model", &m, "--database", &db]);
        polku(&args, &dir)
    };
    let looked = ahead(true);
    assert!(looked.status.success(), "{}", String::from_utf8_lossy(&looked.stderr));
    let refused = ahead(false);
    assert_eq!(refused.status.code(), Some(2));
    let message = String::from_utf8_lossy(&refused.stderr);
    assert!(message.contains("--as-of 2099-01-01 is after today"), "{message}");
    assert_eq!(
        json(&dir, &["store", "info", "--model", &m, "--database", &db])["events"],
        info_before["events"]
    );

    let done = json(
        &dir,
        &[
            "store",
            "retain",
            "--as-of",
            "2026-12-01",
            "--format",
            "json",
            "--model",
            &m,
            "--database",
            &db,
        ],
    );
    for key in ["cases", "events", "clients"] {
        assert_eq!(done[key], dry[key], "the dry run counted what went: {key}");
    }
    let info_after = json(&dir, &["store", "info", "--model", &m, "--database", &db]);
    assert_eq!(
        info_after["events"].as_u64().unwrap(),
        info_before["events"].as_u64().unwrap() - done["events"].as_u64().unwrap()
    );
    assert_eq!(done["access_rows"], 0, "this run's access rows stay three years: {done}");

    // The reports count exactly what they counted.
    let after = reports(&dir, &m, &db);
    for (b, a) in before.iter().zip(&after) {
        assert_eq!(b, a, "a report changed");
    }
    // The client is gone from the file's bytes, free pages and the write-ahead log included,
    // but for the pages of the access log, whose rows of this run keep it their own three years.
    let mut bytes = std::fs::read(&file).unwrap();
    let in_file = bytes.len();
    if let Ok(wal) = std::fs::read(dir.join("db.sqlite-wal")) {
        bytes.extend(wal);
    }
    let holds = |needle: &[u8]| bytes.windows(needle.len()).any(|w| w == needle);
    {
        let conn = rusqlite::Connection::open(&file).unwrap();
        let logged: i64 = conn
            .query_row("SELECT count(*) FROM access_log WHERE client = ?1", [&pseudonym], |r| {
                r.get(0)
            })
            .unwrap();
        assert!(logged >= 1, "the status read above was logged");
        let page_size: usize = conn.query_row("PRAGMA page_size", [], |r| r.get(0)).unwrap();
        let needle = pseudonym.as_bytes();
        for (at, _) in bytes.windows(needle.len()).enumerate().filter(|(_, w)| *w == needle) {
            assert!(at < in_file, "the removed client's pseudonym is in the write-ahead log");
            let page = (at / page_size + 1) as i64;
            let table: Option<String> = conn
                .query_row("SELECT name FROM dbstat WHERE pageno = ?1", [page], |r| r.get(0))
                .optional()
                .unwrap();
            assert!(
                matches!(table.as_deref(), Some("access_log" | "access_by_client")),
                "the removed client's pseudonym is on page {page} ({table:?}), outside the access log"
            );
        }
    }
    assert!(holds(clinic_case.as_bytes()), "the control: a kept case's id is in the file");
    // The client is gone from the answers (asking is logged, with the pseudonym asked for);
    // the clinic's case stays.
    let out = status(&gone);
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stdout));
    let stayed = json(
        &dir,
        &["status", &clinic_client, "--model", &m, "--database", &db, "--format", "json"],
    );
    assert!(stayed["cases"].as_array().unwrap().iter().any(|c| c["case"] == clinic_case.as_str()));

    // Both logs verify, and the compaction names the heads before and after.
    let verify = json(&dir, &["store", "verify", "--database", &db, "--format", "json"]);
    assert_eq!(verify["intact"], true, "{verify}");
    assert_eq!(verify["compactions"][0]["removed_events"], done["events"]);
    assert_eq!(verify["compactions"][0]["events_before"][0], info_before["log_seq"]);

    // Again: nothing more goes, the reports stay; a restart reads the same.
    let again = json(
        &dir,
        &[
            "store",
            "retain",
            "--as-of",
            "2026-12-01",
            "--format",
            "json",
            "--model",
            &m,
            "--database",
            &db,
        ],
    );
    assert_eq!(again["cases"], 0);
    assert_eq!(reports(&dir, &m, &db), before);
}

/// Rules that cannot be meant are refused before anything is counted or removed: a unit the
/// model does not have (a misspelt name would leave its cases to the general time) and a time
/// of zero years.
#[test]
fn retention_rules_that_cannot_be_meant_are_refused() {
    let dir = scratch("polku-retention", "rules");
    let m = model_copy(&dir);
    let toml = m.join("polku.toml");
    let config = std::fs::read_to_string(&toml).unwrap();
    let db = format!("sqlite://{}", dir.join("db.sqlite").display());
    let ms = m.display().to_string();
    std::fs::write(dir.join("none.jsonl"), "").unwrap();
    let made = polku(&["ingest", "none.jsonl", "--model", &ms, "--database", &db], &dir);
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    let try_rules = |rules: &str| {
        std::fs::write(&toml, format!("{config}\n[retention]\n{rules}")).unwrap();
        let out = polku(
            &["store", "retain", "--dry-run", "--model", &ms, "--database", &db, "--lang", "en"],
            &dir,
        );
        (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
    };
    let (code, message) =
        try_rules("closed_case_years = 5\n\n[retention.unit_years]\nneuvolaa = 10\n");
    assert_eq!(code, Some(2), "{message}");
    assert!(message.contains("`neuvolaa`") && message.contains("neuvola,"), "{message}");
    let (code, message) = try_rules("closed_case_years = 0\n");
    assert_eq!(code, Some(2), "{message}");
    assert!(message.contains("closed_case_years = 0"), "{message}");
    let (code, message) =
        try_rules("closed_case_years = 5\n\n[retention.unit_years]\nneuvola = 10\n");
    assert_eq!(code, Some(0), "{message}");
}
