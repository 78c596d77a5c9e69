//! `polku store retain`: the client data of cases closed longer ago than `[retention]` keeps
//! it is removed, while the segment distributions and transitions the reports give stay exactly
//! as they were. A simulated year of the shipped model, judged as of 2033: cases closed in 2026
//! go after five years, except the child-health clinic's (`neuvola`), which its own time keeps;
//! the access log keeps three years.

#![allow(clippy::unwrap_used)] // A test that cannot set up should fail loudly.

mod common;

use std::path::Path;

use common::scratch;
use common::server::{json, model, polku};
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
        format!("2026-{month:02}-{day:02}")
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

#[test]
fn expired_client_data_goes_and_the_reports_stay_exactly() {
    let dir = scratch("polku-retention", "year");
    let m = dir.join("malli");
    std::fs::create_dir_all(&m).unwrap();
    for entry in std::fs::read_dir(model()).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, m.join(path.file_name().unwrap())).unwrap();
    }
    let toml = m.join("polku.toml");
    let mut config = std::fs::read_to_string(&toml).unwrap();
    config.push_str("\n[retention]\nclosed_case_years = 5\naccess_log_years = 3\n\n[retention.unit_years]\nneuvola = 10\n");
    std::fs::write(&toml, config).unwrap();
    let m = m.display().to_string();
    let file = dir.join("db.sqlite");
    let db = format!("sqlite://{}", file.display());
    let events = dir.join("events.jsonl").display().to_string();
    let out = polku(
        &["simulate", "--model", &m, "--clients", "500", "--seed", "4", "--out", &events],
        &dir,
    );
    assert!(out.status.success());
    let out = polku(&["ingest", &events, "--model", &m, "--database", &db], &dir);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let lines: Vec<Value> = std::fs::read_to_string(&events)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
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
            "2033-01-01",
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

    let done = json(
        &dir,
        &[
            "store",
            "retain",
            "--as-of",
            "2033-01-01",
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
    assert!(done["access_rows"].as_u64().unwrap() >= 1, "the old access rows went: {done}");

    // The reports count exactly what they counted.
    let after = reports(&dir, &m, &db);
    for (b, a) in before.iter().zip(&after) {
        assert_eq!(b, a, "a report changed");
    }
    // The client is gone from the file's bytes.
    let mut bytes = std::fs::read(&file).unwrap();
    if let Ok(wal) = std::fs::read(dir.join("db.sqlite-wal")) {
        bytes.extend(wal);
    }
    let holds = |needle: &[u8]| bytes.windows(needle.len()).any(|w| w == needle);
    assert!(!holds(pseudonym.as_bytes()), "the removed client's pseudonym is still in the file");
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
            "2033-01-01",
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
