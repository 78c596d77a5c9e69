//! Every command that writes to standard output ends quietly when its reader goes away
//! (`polku plan … | head`): no panic, exit code 0, nothing on standard error.

#![allow(clippy::unwrap_used)] // A test that cannot set up should fail loudly.

mod common;

use std::io::Read;
use std::process::{Command, Stdio};

use common::{scratch, workspace};

#[test]
fn a_reader_that_closes_early_ends_every_command_quietly() {
    let dir = scratch("polku-pipes", "all");
    let model = workspace().join("processes/keusote").display().to_string();
    let database = format!("sqlite://{}", dir.join("p.sqlite").display());
    // The commands that read a store need one there.
    std::fs::write(dir.join("none.jsonl"), "").unwrap();
    let made = Command::new(env!("CARGO_BIN_EXE_polku"))
        .args(["ingest", "none.jsonl", "--model", &model, "--database", &database])
        .current_dir(&dir)
        .env("POLKU_PSEUDONYM_KEY", "22".repeat(32))
        .output()
        .unwrap();
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    let commands: Vec<Vec<&str>> = vec![
        vec!["plan", "kth_laaja_5lk", "--model", &model],
        vec!["plan", "kth_laaja_5lk", "--model", &model, "--format", "json"],
        vec!["check", "--format", "json", &model],
        vec!["render", "--level", "1", "--format", "dot", "--model", &model],
        vec!["render", "--level", "4", "--workflow", "kth_laaja_5lk.tarkastus", "--model", &model],
        vec!["simulate", "--model", &model, "--clients", "300"],
        vec![
            "report",
            "segments",
            "--date",
            "2026-06-30",
            "--model",
            &model,
            "--database",
            &database,
        ],
        vec!["store", "info", "--model", &model, "--database", &database],
        vec!["--help"],
    ];
    for args in commands {
        // Repeated, since whether the first write meets the closed pipe is a race.
        for _ in 0..3 {
            let mut child = Command::new(env!("CARGO_BIN_EXE_polku"))
                .args(&args)
                .current_dir(&dir)
                .env("POLKU_PSEUDONYM_KEY", "22".repeat(32))
                .env("LANG", "C.UTF-8")
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            drop(child.stdout.take());
            let mut stderr = String::new();
            child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
            let status = child.wait().unwrap();
            assert!(!stderr.contains("panicked"), "polku {args:?} panicked: {stderr}");
            assert!(
                status.success(),
                "polku {args:?} ended with {status:?} when its reader went away: {stderr}"
            );
        }
    }
}
