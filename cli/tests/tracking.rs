//! The tracking commands as staff and administrators run them: simulate, ingest (with bad
//! lines), status, reports, the store, in both languages and as JSON.

#![allow(clippy::unwrap_used)] // A test that cannot set up should fail loudly.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{finish, workspace};

const KEY: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

fn model() -> String {
    workspace().join("processes/keusote").to_string_lossy().into_owned()
}

fn scratch(name: &str) -> PathBuf {
    common::scratch("polku-tracking", name)
}

/// Runs the binary in `dir` with a fixed key.
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

const OPENED: &str = r#"{"id":"e1","type":"case_opened","case":"c1","occurred":"2026-01-05T09:00:00+02:00","recorded":"2026-01-05T09:01:00+02:00","role":"terveydenhoitaja","client":"131052-308T","process":"kth_laaja_5lk","unit":"kouluterveydenhuolto","segment":"tuki"}"#;

fn line(id: &str, day: &str, kind: &str) -> String {
    format!(
        r#"{{"id":"{id}","case":"c1","occurred":"{day}","recorded":"{day}","role":"terveydenhoitaja",{kind}}}"#
    )
}

#[test]
fn ingest_keeps_good_lines_names_bad_ones_and_skips_repeats() {
    let dir = scratch("ingest");
    let lines = [
        OPENED.to_owned(),
        line("e2", "2026-01-10", r#""type":"step_completed","step":"lomake""#),
        "{broken".to_owned(),
        line("e3", "2026-01-11", r#""type":"step_completed""#),
        OPENED.replace("131052-308T", "131052-308U").replace("\"c1\"", "\"c2\""),
        OPENED.replace("kth_laaja_5lk", "kth_laaja_9lk").replace("\"c1\"", "\"c3\""),
        line("e2", "2026-01-10", r#""type":"step_completed","step":"lomake""#),
        String::new(),
        line("e4", "2026-01-12", r#""type":"step_completed","step":"hyvinvointikysely""#),
    ];
    std::fs::write(dir.join("events.jsonl"), lines.join("\n")).unwrap();
    let m = model();
    let o = polku(&dir, &["ingest", "events.jsonl", "--model", &m]);
    assert_eq!(o.status.code(), Some(1), "{}", err(&o));
    let e = err(&o);
    assert!(e.contains("events.jsonl:3:"), "{e}");
    assert!(e.contains("events.jsonl:4: missing field `step`"), "{e}");
    assert!(e.contains("events.jsonl:5: client:") && e.contains("check character"), "{e}");
    assert!(!e.contains("131052"), "an identity code was repeated: {e}");
    assert!(e.contains("events.jsonl:6: process: the model has no process kth_laaja_9lk"), "{e}");
    assert!(out(&o).contains("3 events stored, 1 repeats skipped, 4 bad lines"), "{}", out(&o));
    assert!(dir.join("data/polku.sqlite").exists());
    // The key came from the environment: no key file was made.
    assert!(!dir.join("data/pseudonym.key").exists());

    // Again: everything is a repeat now, nothing stored twice.
    let o = polku(&dir, &["ingest", "events.jsonl", "--model", &m, "--format", "json"]);
    let last = out(&o).lines().last().unwrap().to_owned();
    let summary: serde_json::Value = serde_json::from_str(&last).unwrap();
    assert_eq!(summary["summary"]["accepted"], 0);
    assert_eq!(summary["summary"]["duplicates"], 4);
    assert_eq!(summary["bad_lines"].as_array().unwrap().len(), 4);
    assert_eq!(summary["bad_lines"][0]["line"], 3);

    // The client's status, by identity code or by pseudonym, in Finnish and as JSON.
    let o = polku(
        &dir,
        &["status", "131052-308T", "--model", &m, "--as-of", "2026-01-20", "--lang", "fi"],
    );
    assert!(o.status.success(), "{}", err(&o));
    let text = out(&o);
    assert!(text.contains("Tapaus c1: ") && text.contains("Segmentti: tuki"), "{text}");
    assert!(text.contains("Suunniteltu palvelu: kesken"), "{text}");
    assert!(text.contains("Puuttuu:"), "{text}");
    assert!(text.contains("tehty       Huoltajan esitietolomake"), "{text}");
    let o = polku(
        &dir,
        &["status", "131052-308T", "--model", &m, "--format", "json", "--as-of", "2026-03-01"],
    );
    let status: serde_json::Value = serde_json::from_str(&out(&o)).unwrap();
    let pseudonym = status["client"].as_str().unwrap().to_owned();
    assert_eq!(pseudonym.len(), 64);
    let case = &status["cases"][0];
    assert_eq!(case["process"], "kth_laaja_5lk");
    assert_eq!(case["complete"], false);
    let steps = case["steps"].as_array().unwrap();
    let state = |name: &str| steps.iter().find(|s| s["step"] == name).unwrap()["state"].clone();
    assert_eq!(state("lomake"), "done");
    assert_eq!(state("hyvinvointikysely"), "done");
    let o = polku(
        &dir,
        &["status", &pseudonym, "--model", &m, "--format", "json", "--as-of", "2026-03-01"],
    );
    let again: serde_json::Value = serde_json::from_str(&out(&o)).unwrap();
    assert_eq!(again, status);
    // A step the tuki segment adds to a later phase is not next before its phase is reached.
    assert!(case["next"].as_array().unwrap().iter().all(|s| s != "seurantakäynti"), "{case}");
    // Unknown and invalid clients.
    let o = polku(&dir, &["status", "010101A900B", "--model", &m]);
    assert_eq!(o.status.code(), Some(1));
    let o = polku(&dir, &["status", "010101A900X", "--model", &m]);
    assert_eq!(o.status.code(), Some(1));
    assert!(err(&o).contains("check character") && !err(&o).contains("010101"), "{}", err(&o));

    // Every access is in the access log, by pseudonym.
    let o = polku(&dir, &["store", "access-log", "--model", &m, "--role", "tietosuojavastaava"]);
    let log = out(&o);
    assert!(log.contains(&pseudonym) && log.contains("status"), "{log}");
    assert!(!log.contains("131052"), "{log}");
    let o = polku(&dir, &["store", "info", "--model", &m]);
    let info: serde_json::Value = serde_json::from_str(&out(&o)).unwrap();
    assert_eq!(info["events"], 3);
    assert_eq!(info["schema_version"], polku_store::sqlite::SCHEMA_VERSION);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn simulate_is_deterministic_and_its_stream_runs_end_to_end() {
    let dir = scratch("simulate");
    let m = model();
    let args = ["simulate", "--model", &m, "--clients", "150", "--days", "200", "--seed", "4"];
    let a = polku(&dir, &args);
    let b = polku(&dir, &args);
    assert!(a.status.success(), "{}", err(&a));
    assert_eq!(out(&a), out(&b));
    let c = polku(
        &dir,
        &["simulate", "--model", &m, "--clients", "150", "--days", "200", "--seed", "5"],
    );
    assert_ne!(out(&a), out(&c));
    std::fs::write(dir.join("sim.jsonl"), out(&a)).unwrap();
    let database = format!("sqlite://{}", dir.join("elsewhere/tracking.sqlite").display());
    let o = polku(
        &dir,
        &["ingest", "sim.jsonl", "--model", &m, "--database", &database, "--format", "json"],
    );
    assert!(o.status.success(), "{}", err(&o));
    assert!(dir.join("elsewhere/tracking.sqlite").exists());
    let o = polku(
        &dir,
        &[
            "report",
            "segments",
            "--date",
            "2026-04-30",
            "--model",
            &m,
            "--database",
            &database,
            "--format",
            "json",
        ],
    );
    let report: serde_json::Value = serde_json::from_str(&out(&o)).unwrap();
    let rows = report["rows"].as_array().unwrap();
    assert!(rows.iter().any(|r| r["segment"] == "pärjääjä"), "{report}");
    let total: u64 = rows.iter().map(|r| r["cases"].as_u64().unwrap()).sum();
    assert_eq!(total, report["cases"].as_u64().unwrap());
    let o = polku(
        &dir,
        &[
            "report",
            "transitions",
            "--from",
            "2026-02-28",
            "--to",
            "2026-07-31",
            "--model",
            &m,
            "--database",
            &database,
            "--format",
            "json",
        ],
    );
    let report: serde_json::Value = serde_json::from_str(&out(&o)).unwrap();
    assert!(report["rows"].as_array().unwrap().iter().any(|r| r["from"] == "uusi"), "{report}");
    let o = polku(
        &dir,
        &[
            "report",
            "completion",
            "--as-of",
            "2026-07-31",
            "--model",
            &m,
            "--database",
            &database,
            "--lang",
            "fi",
        ],
    );
    assert!(out(&o).contains("Suunnitellun palvelun toteutuminen"), "{}", out(&o));
    assert!(out(&o).contains("Myöhässä olevat askeleet rooleittain"), "{}", out(&o));
    // A database URL of an unknown kind is named.
    let o = polku(&dir, &["report", "completion", "--model", &m, "--database", "mysql://x"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(err(&o).contains("unknown kind of database `mysql`"), "{}", err(&o));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn polku_toml_names_the_database_and_the_key_file() {
    let dir = scratch("config");
    let model = dir.join("malli");
    std::fs::create_dir_all(&model).unwrap();
    std::fs::write(
        model.join("polku.toml"),
        "[model]\nname = \"Testi\"\n\n[database]\nurl = \"sqlite://tila/polku.sqlite\"\n\n[privacy]\nkey_file = \"avain/pseudonym.key\"\n",
    )
    .unwrap();
    std::fs::write(
        model.join("p.polku"),
        "rooli th \"Terveydenhoitaja\"\nprosessi p \"P\" {\n  vaihe a \"A\" {\n    askel x \"X\" tekijä th\n  }\n}\n\
         työnkulku p.a \"A\" {\n  kaista th {\n    tehtävä t \"T\" askel x\n  }\n}\n",
    )
    .unwrap();
    let events = r#"{"id":"1","type":"case_opened","case":"c","occurred":"2026-02-02","recorded":"2026-02-02","role":"th","client":"131052-308T","process":"p","unit":"u","segment":"-"}"#;
    std::fs::write(dir.join("e.jsonl"), events).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_polku"))
        .args(["ingest", "e.jsonl", "--model", "malli", "--lang", "en"])
        .current_dir(&dir)
        .env_remove("POLKU_PSEUDONYM_KEY")
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", err(&output));
    assert!(model.join("tila/polku.sqlite").exists());
    let key = model.join("avain/pseudonym.key");
    assert!(key.exists());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&key).unwrap().permissions().mode() & 0o777, 0o600);
    }
    assert!(!dir.join("data").exists(), "nothing is written to the default place");
    // The same key is used the next time: the client is found by identity code.
    let output = Command::new(env!("CARGO_BIN_EXE_polku"))
        .args(["status", "131052-308T", "--model", "malli", "--format", "json"])
        .current_dir(&dir)
        .env_remove("POLKU_PSEUDONYM_KEY")
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", err(&output));
    let _ = std::fs::remove_dir_all(&dir);
}

/// Runs the binary with `input` on standard input.
fn polku_stdin(dir: &Path, args: &[&str], input: &[u8]) -> Output {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_polku"))
        .args(args)
        .current_dir(dir)
        .env("POLKU_PSEUDONYM_KEY", KEY)
        .env("LANG", "C.UTF-8")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn a_byte_order_mark_is_read_and_never_stored() {
    let dir = scratch("bom");
    let m = model();
    // The first line is not the opening, so the line is stored as sent: without the mark.
    let text = format!(
        "\u{feff}{}\n{OPENED}\n",
        line("e2", "2026-01-10", r#""type":"step_completed","step":"lomake""#)
    );
    std::fs::write(dir.join("bom.jsonl"), text).unwrap();
    let o = polku(&dir, &["ingest", "bom.jsonl", "--model", &m]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    assert!(out(&o).contains("2 events stored"), "{}", out(&o));
    // The store opens again: every stored record reads back.
    let o = polku(&dir, &["store", "info", "--model", &m]);
    assert!(o.status.success(), "{}", err(&o));
    let info: serde_json::Value = serde_json::from_str(&out(&o)).unwrap();
    assert_eq!(info["events"], 2);
}

#[test]
fn invalid_utf8_is_refused_by_line_the_same_from_a_file_and_standard_input() {
    let dir = scratch("utf8");
    let m = model();
    let mut bytes = format!("{OPENED}\n").into_bytes();
    bytes.extend_from_slice(b"{\"id\":\"e2\",\"case\":\"c1\",\"role\":\"\xff\"}\n");
    bytes.extend_from_slice(
        format!("{}\n", line("e3", "2026-01-10", r#""type":"step_completed","step":"lomake""#))
            .as_bytes(),
    );
    std::fs::write(dir.join("bad.jsonl"), &bytes).unwrap();
    let from_file =
        polku(&dir, &["ingest", "bad.jsonl", "--model", &m, "--database", "sqlite://a.sqlite"]);
    let from_stdin = polku_stdin(
        &dir,
        &["ingest", "-", "--model", &m, "--database", "sqlite://b.sqlite"],
        &bytes,
    );
    for (o, name) in [(&from_file, "bad.jsonl"), (&from_stdin, "-")] {
        assert_eq!(o.status.code(), Some(1), "{}", err(o));
        assert!(err(o).contains(&format!("{name}:2:")), "line 2 is named: {}", err(o));
        assert!(err(o).contains("UTF-8"), "{}", err(o));
        assert!(out(o).contains("2 events stored"), "{}", out(o));
    }
}

#[test]
fn implausible_times_are_counted_as_warnings_and_kept() {
    let dir = scratch("warnings");
    let m = model();
    let text = format!(
        "{OPENED}\n{}\n",
        r#"{"id":"e2","case":"c1","occurred":"2026-01-10T10:00:00+02:00","recorded":"2026-01-09T10:00:00+02:00","role":"terveydenhoitaja","type":"step_completed","step":"lomake"}"#
    );
    std::fs::write(dir.join("w.jsonl"), text).unwrap();
    let o = polku(&dir, &["ingest", "w.jsonl", "--model", &m]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    assert!(out(&o).contains("2 events stored") && out(&o).contains("1 warnings"), "{}", out(&o));
    assert!(err(&o).contains("w.jsonl:2: warning"), "{}", err(&o));
}

/// Runs the binary with the key in a file, as an administrator would.
fn polku_with_key_file(dir: &Path, args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_polku"));
    command.args(args).current_dir(dir).env_remove("POLKU_PSEUDONYM_KEY").env("LANG", "C.UTF-8");
    finish(command, &format!("polku {args:?}"))
}

#[cfg(unix)]
#[test]
fn the_database_and_key_are_private_and_a_lost_key_is_named() {
    use std::os::unix::fs::PermissionsExt;
    let dir = scratch("permissions");
    let m = model();
    std::fs::write(dir.join("e.jsonl"), format!("{OPENED}\n")).unwrap();
    let o = polku_with_key_file(&dir, &["ingest", "e.jsonl", "--model", &m]);
    assert!(o.status.success(), "{}", err(&o));
    let mode = |p: &str| std::fs::metadata(dir.join(p)).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode("data/polku.sqlite"), 0o600, "the database is its owner's only");
    // SQLite removes the -wal file when the last connection closes; while it is there it has
    // the database's permissions.
    if dir.join("data/polku.sqlite-wal").exists() {
        assert_eq!(mode("data/polku.sqlite-wal"), 0o600, "so is its log");
    }
    assert_eq!(mode("data/pseudonym.key"), 0o600, "and the key");

    // A key others can read is refused unless asked for.
    let key = dir.join("data/pseudonym.key");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let o = polku_with_key_file(&dir, &["store", "info", "--model", &m]);
    assert_eq!(o.status.code(), Some(2), "{}", err(&o));
    assert!(
        err(&o).contains("other users") && err(&o).contains("--allow-insecure-key"),
        "{}",
        err(&o)
    );
    let o = polku_with_key_file(&dir, &["store", "info", "--model", &m, "--allow-insecure-key"]);
    assert!(o.status.success(), "{}", err(&o));

    // A database readable by others is warned about.
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    std::fs::set_permissions(dir.join("data/polku.sqlite"), std::fs::Permissions::from_mode(0o644))
        .unwrap();
    let o = polku_with_key_file(&dir, &["store", "info", "--model", &m]);
    assert!(o.status.success() && err(&o).contains("can be read by other users"), "{}", err(&o));

    // A lost key is never silently replaced by a new one.
    std::fs::remove_file(&key).unwrap();
    let o = polku_with_key_file(&dir, &["store", "info", "--model", &m]);
    assert_eq!(o.status.code(), Some(2), "{}", err(&o));
    assert!(
        err(&o).contains("pseudonym key is missing") && err(&o).contains("pseudonym.key"),
        "{}",
        err(&o)
    );
    assert!(!key.exists(), "no new key was made");
}

#[test]
fn another_event_under_a_used_id_is_refused_as_a_conflict_not_skipped() {
    let dir = scratch("conflict");
    let m = model();
    let text = format!(
        "{OPENED}\n{}\n{}\n",
        line("e2", "2026-01-10", r#""type":"step_completed","step":"lomake""#),
        line("e2", "2026-01-11", r#""type":"case_closed","reason":"valmis""#)
    );
    std::fs::write(dir.join("c.jsonl"), text).unwrap();
    let o = polku(&dir, &["ingest", "c.jsonl", "--model", &m]);
    assert_eq!(o.status.code(), Some(1), "{}", out(&o));
    assert!(err(&o).contains("c.jsonl:3: id: e2 was already used"), "{}", err(&o));
    assert!(out(&o).contains("2 events stored, 0 repeats skipped"), "{}", out(&o));
    let o = polku(&dir, &["status", "131052-308T", "--model", &m, "--format", "json"]);
    let status: serde_json::Value = serde_json::from_str(&out(&o)).unwrap();
    assert!(status["cases"][0]["closed"].is_null(), "the case stays open");
}
