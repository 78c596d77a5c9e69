//! pm4py as an independent oracle for soundness: every flow of the shipped model and 200 random
//! nets (sound and unsound) are exported as PNML, and `pm4py.check_soundness` must agree with
//! Polku's verdict on each.
//!
//! pm4py is AGPL, so it runs as a separate program and is never linked. The test needs a Python
//! with pm4py: `POLKU_PYTHON` names it (`scripts/test` sets it up). Without it the test says so
//! and passes, unless `POLKU_REQUIRE_ORACLE=1`, as in CI, where a missing oracle fails.

#![allow(clippy::unwrap_used)] // A test that cannot set up should fail loudly.

use std::path::{Path, PathBuf};
use std::process::Command;

use polku_engine::pnml::{export, Entry};
use polku_tests::{load, polku_files, workspace_dir};

fn python() -> Option<String> {
    match std::env::var("POLKU_PYTHON") {
        Ok(python) if !python.is_empty() => Some(python),
        _ => {
            assert!(
                std::env::var("POLKU_REQUIRE_ORACLE").as_deref() != Ok("1"),
                "POLKU_REQUIRE_ORACLE=1 but POLKU_PYTHON does not name a Python with pm4py"
            );
            eprintln!("soundness oracle skipped: set POLKU_PYTHON to a Python with pm4py (scripts/test does)");
            None
        }
    }
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("polku-oracle-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn write(dir: &Path, entries: &[Entry]) {
    for (file, content) in export(entries) {
        std::fs::write(dir.join(file), content).unwrap();
    }
}

/// Runs the oracle script on a folder; returns the number of nets pm4py checked.
fn oracle(python: &str, dir: &Path) -> u64 {
    let script = workspace_dir().join("tests/oracle/pm4py_soundness.py");
    let output = Command::new(python).arg(script).arg(dir).output().expect("python runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout.lines().rev().find(|l| l.starts_with('{')).unwrap_or_else(|| {
        panic!("no result from the oracle:\n{stdout}\n{}", String::from_utf8_lossy(&output.stderr))
    });
    assert!(output.status.success(), "pm4py disagrees with Polku: {line}");
    let nets = line
        .split("\"nets\": ")
        .nth(1)
        .and_then(|r| r.split(',').next())
        .and_then(|n| n.parse().ok());
    nets.unwrap_or(0)
}

#[test]
fn pm4py_agrees_on_every_flow_of_the_shipped_model() {
    let Some(python) = python() else { return };
    let files = polku_files(&workspace_dir().join("processes/keusote"));
    let (sources, _, _) = load(&files, &workspace_dir());
    let checked = polku_dsl::check(&sources, &[]);
    assert!(!checked.has_errors());
    let validation = polku_engine::validate(&checked.files, polku_engine::Limits::default());
    let entries: Vec<Entry> = validation.nets.iter().map(|n| n.entry()).collect();
    assert!(entries.len() >= 90, "{} nets", entries.len());
    let dir = scratch("corpus");
    write(&dir, &entries);
    assert_eq!(oracle(&python, &dir), entries.len() as u64);
}

#[test]
fn pm4py_agrees_on_200_random_nets_sound_and_unsound() {
    let Some(python) = python() else { return };
    let mut rng = polku_bench::nets::Rng::new(2026);
    let mut nets = Vec::new();
    for i in 0..200 {
        let (_, _, flow) = polku_bench::nets::random_net(&mut rng);
        let verdict =
            polku_engine::net::check_soundness(&flow.net, polku_engine::Limits::default());
        nets.push((format!("random{i:03}"), flow, verdict));
    }
    let sound = nets.iter().filter(|(_, _, v)| v.is_sound()).count();
    assert!(
        sound >= 50 && 200 - sound >= 50,
        "{sound} of 200 sound: the sample must hold both kinds"
    );
    let entries: Vec<Entry> = nets
        .iter()
        .map(|(name, flow, verdict)| Entry { name, kind: "random", net: &flow.net, verdict })
        .collect();
    let dir = scratch("random");
    write(&dir, &entries);
    assert_eq!(oracle(&python, &dir), 200);
}
