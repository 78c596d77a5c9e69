//! Crash safety: a real `polku ingest` is killed (SIGKILL) at random moments, again and again.
//! After each kill the database must hold every acknowledged event, nothing that is not in the
//! file, in the file's order, and a restart must recover exactly the state those events give.
//! Re-running the same ingest then carries on where the log ends: repeated ids are skipped.

#![allow(clippy::unwrap_used)] // A test that cannot set up should fail loudly.

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

use common::workspace;
use polku_engine::projection::Projection;
use polku_engine::pseudonym::{from_hex, PseudonymKey};
use polku_engine::simulate::Rng;

const KEY: &str = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0";

fn polku(dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_polku"));
    command
        .current_dir(dir)
        .env("POLKU_PSEUDONYM_KEY", KEY)
        .env("LANG", "C.UTF-8")
        .arg("--lang")
        .arg("en");
    command
}

fn run(dir: &Path, args: &[&str]) -> String {
    let output = polku(dir).args(args).stderr(Stdio::inherit()).output().unwrap();
    assert!(output.status.success() || output.status.code() == Some(1), "polku {args:?}");
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn killing_ingest_at_any_moment_loses_no_acknowledged_event() {
    let dir = std::env::temp_dir().join(format!("polku-crash-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let database = format!("sqlite://{}", dir.join("data/polku.sqlite").display());
    kill_ingest_again_and_again(&dir, &database);
}

#[test]
fn killing_ingest_into_postgresql_at_any_moment_loses_no_acknowledged_event() {
    let Some(database) = common::server::postgres_database("crash") else { return };
    let dir = std::env::temp_dir().join(format!("polku-crash-pg-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    kill_ingest_again_and_again(&dir, &database);
}

fn kill_ingest_again_and_again(dir: &Path, database: &str) {
    let dir = dir.to_path_buf();
    let database = database.to_owned();
    let model = workspace().join("processes/keusote");
    let model_arg = model.to_str().unwrap();
    let events = dir.join("events.jsonl");
    run(
        &dir,
        &[
            "simulate",
            "--model",
            model_arg,
            "--clients",
            "2500",
            "--days",
            "365",
            "--seed",
            "21",
            "--out",
            events.to_str().unwrap(),
        ],
    );
    let text = std::fs::read_to_string(&events).unwrap();
    let key = PseudonymKey::new(from_hex(KEY).unwrap()).unwrap();
    let (parsed, bad) = polku_engine::event::parse_numbered_lines(&text, &key);
    assert!(bad.is_empty());
    let info = || -> serde_json::Value {
        serde_json::from_str(&run(
            &dir,
            &["store", "info", "--model", model_arg, "--database", &database],
        ))
        .unwrap()
    };
    let sources = polku_store::tracker::ModelSources::new(
        std::fs::read_dir(&model)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "polku"))
            .map(|p| {
                (
                    p.file_name().unwrap().to_string_lossy().into_owned(),
                    std::fs::read_to_string(&p).unwrap(),
                )
            })
            .collect(),
    );
    let compiled = sources.compile().unwrap();
    // The state the first `n` stored events give, computed here without the store.
    let expected = |n: u64| -> (String, usize) {
        let mut p = Projection::new(&sources.hash(), &compiled).unwrap();
        let mut last_line = 0;
        for (line, e) in &parsed {
            if p.events == n {
                break;
            }
            if p.check(e) == Ok(true) {
                p.apply(e, 0);
                last_line = *line;
            }
        }
        (format!("{:016x}", p.digest()), last_line)
    };

    let rounds: u64 =
        std::env::var("POLKU_CRASH_ROUNDS").ok().and_then(|v| v.parse().ok()).unwrap_or(8);
    let mut rng = Rng::new(u64::from(std::process::id()));
    let mut kills = 0;
    for round in 0..rounds {
        // Small batches kill between many commits; large ones give long transactions to kill.
        let batch = ["50", "500", "2000"][rng.below(3) as usize];
        let mut child = polku(&dir)
            .args([
                "ingest",
                events.to_str().unwrap(),
                "--model",
                model_arg,
                "--database",
                &database,
            ])
            .args(["--batch", batch, "--format", "json"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let wait_for = 1 + rng.below(20);
        let mut acknowledged = (0usize, 0u64);
        let mut reader = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        let mut seen = 0;
        let mut finished = false;
        while reader.read_line(&mut line).unwrap() > 0 {
            let value: serde_json::Value = serde_json::from_str(line.trim()).unwrap();
            line.clear();
            if let Some(ack) = value.get("acknowledged") {
                acknowledged =
                    (ack["line"].as_u64().unwrap() as usize, ack["seq"].as_u64().unwrap());
                seen += 1;
                if seen == wait_for {
                    // Mostly at once, sometimes a moment later.
                    if rng.below(2) == 0 {
                        std::thread::sleep(std::time::Duration::from_micros(rng.below(3000)));
                    }
                    child.kill().unwrap();
                    kills += 1;
                    break;
                }
            } else {
                finished = true;
            }
        }
        let _ = child.wait();
        let state = info();
        let stored = state["log_seq"].as_u64().unwrap();
        assert!(
            stored >= acknowledged.1,
            "round {round}: {stored} stored, {} acknowledged",
            acknowledged.1
        );
        let (digest, last_line) = expected(stored);
        assert!(
            last_line >= acknowledged.0 || finished,
            "round {round}: acknowledged line {} lost",
            acknowledged.0
        );
        assert_eq!(state["events"].as_u64().unwrap(), stored, "round {round}");
        assert_eq!(
            state["state_digest"].as_str().unwrap(),
            digest,
            "round {round}: recovered state differs"
        );
        if finished {
            break;
        }
    }
    assert!(kills >= 1);
    // Finally the whole file: every good line stored once.
    let summary = run(
        &dir,
        &[
            "ingest",
            events.to_str().unwrap(),
            "--model",
            model_arg,
            "--database",
            &database,
            "--format",
            "json",
        ],
    );
    assert!(summary.contains("\"summary\""));
    let state = info();
    let total = {
        let mut p = Projection::new(&sources.hash(), &compiled).unwrap();
        for (_, e) in &parsed {
            if p.check(e) == Ok(true) {
                p.apply(e, 0);
            }
        }
        p.events
    };
    assert_eq!(state["log_seq"].as_u64().unwrap(), total);
    assert_eq!(state["state_digest"].as_str().unwrap(), expected(total).0);
    let _ = std::fs::remove_dir_all(&dir);
}
