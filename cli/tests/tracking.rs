//! The tracking commands as staff and administrators run them: simulate, ingest (with bad
//! lines), status, reports, the store, in both languages and as JSON.

#![allow(clippy::unwrap_used)] // A test that cannot set up should fail loudly.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::server::postgres_database;
use common::{err, finish, out, workspace};

const KEY: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

fn model() -> String {
    workspace().join("processes/keusote").to_string_lossy().into_owned()
}

fn scratch(name: &str) -> PathBuf {
    common::scratch("polku-tracking", name)
}

/// Runs the binary in `dir` with a fixed key.
fn polku(dir: &Path, args: &[&str]) -> Output {
    common::polku_in(dir, KEY, args)
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

/// Runs the binary (in `dir`, with the fixed key) with the folder `mount` bind-mounted
/// read-only over itself in a mount namespace of its own. That is what a read-only mount is,
/// for root too: root writes any file whatever its mode, so a chmod would prove nothing on CI
/// (which runs as root), but no one writes on a read-only file system. `None` where this system
/// gives no mount namespace (no unshare(1), or no privilege for one): the caller skips.
fn polku_on_read_only_mount(dir: &Path, mount: &Path, args: &[&str]) -> Option<Output> {
    // The script checks that the mount really refuses writes before running polku.
    let script = r#"mount --bind -o ro "$1" "$1" || exit 96
        if touch "$1/.probe" 2>/dev/null; then exit 97; fi
        shift; exec "$@""#;
    for how in [&["--mount"][..], &["--user", "--map-root-user", "--mount"][..]] {
        let ready = Command::new("unshare")
            .args(how)
            .args(["sh", "-c", script, "sh"])
            .arg(mount)
            .arg("true")
            .output();
        if !ready.is_ok_and(|o| o.status.success()) {
            continue;
        }
        let mut command = Command::new("unshare");
        command
            .args(how)
            .args(["sh", "-c", script, "sh"])
            .arg(mount)
            .arg(env!("CARGO_BIN_EXE_polku"))
            .args(args)
            .current_dir(dir)
            .env("POLKU_PSEUDONYM_KEY", KEY)
            .env("LANG", "C.UTF-8")
            .env_remove("LC_ALL")
            .env_remove("LC_MESSAGES");
        return Some(finish(command, &format!("polku {args:?} on a read-only mount")));
    }
    eprintln!("SKIPPED: this system gives no mount namespace (unshare --mount) to make a read-only mount in");
    None
}

#[test]
fn a_store_on_a_read_only_mount_is_inspected_but_client_data_is_refused() {
    let dir = scratch("read-only");
    let m = model();
    let db = dir.join("ro");
    let database = format!("sqlite://{}", db.join("p.sqlite").display());
    let text = format!(
        "{OPENED}\n{}\n",
        line("e2", "2026-01-10", r#""type":"step_completed","step":"lomake""#)
    );
    std::fs::write(dir.join("e.jsonl"), text).unwrap();
    let o = polku(&dir, &["ingest", "e.jsonl", "--model", &m, "--database", &database]);
    assert!(o.status.success(), "{}", err(&o));
    let files = |db: &Path| {
        let mut names: Vec<_> = std::fs::read_dir(db)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    };
    let before = std::fs::read(db.join("p.sqlite")).unwrap();
    // Cleanly closed, so the folder holds the database alone: no -wal or -shm to read it
    // through, and none can be made.
    assert_eq!(files(&db), ["p.sqlite"]);
    let ro = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend(["--model", &m, "--database", &database]);
        polku_on_read_only_mount(&dir, &db, &all)
    };
    let Some(o) = ro(&["store", "info"]) else { return };
    assert!(o.status.success(), "{}", err(&o));
    let info: serde_json::Value = serde_json::from_str(&out(&o)).unwrap();
    assert_eq!(info["events"], 2);
    let o = ro(&["report", "segments", "--date", "2026-01-31", "--format", "json"]).unwrap();
    assert!(o.status.success(), "{}", err(&o));
    let report: serde_json::Value = serde_json::from_str(&out(&o)).unwrap();
    assert_eq!(report["cases"], 1);
    let o = ro(&["store", "access-log"]).unwrap();
    assert!(o.status.success() && out(&o).contains("ingest"), "{}", err(&o));
    // A client's data is not shown when the access cannot be logged.
    let o = ro(&["status", "131052-308T"]).unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", out(&o));
    assert!(out(&o).is_empty(), "{}", out(&o));
    assert!(err(&o).contains("read-only") && err(&o).contains("access log"), "{}", err(&o));
    assert!(!err(&o).contains("131052"), "{}", err(&o));
    // Nor a look at the open cases: a migration's preview is refused the same way.
    let o = ro(&["migrate", "--dry-run"]).unwrap();
    assert!(!o.status.success() && out(&o).is_empty(), "{}", out(&o));
    assert!(
        err(&o).contains("read-only") && err(&o).contains("the preview is not shown"),
        "{}",
        err(&o)
    );
    // Writes are refused, naming why.
    let o = ro(&["ingest", "e.jsonl"]).unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(
        err(&o).contains("cannot be written: it opens for reading only (a read-only file system"),
        "{}",
        err(&o)
    );
    assert_eq!(files(&db), ["p.sqlite"]);
    assert_eq!(std::fs::read(db.join("p.sqlite")).unwrap(), before);

    // With a writer holding the database open elsewhere, its -wal and -shm are there and are
    // read through: the newest commits are seen.
    let writer =
        polku_store::sqlite::SqliteStore::open(&db.join("p.sqlite")).expect("a second opener");
    let more = line("e3", "2026-01-12", r#""type":"step_completed","step":"hyvinvointikysely""#);
    std::fs::write(dir.join("more.jsonl"), format!("{more}\n")).unwrap();
    let o = polku(&dir, &["ingest", "more.jsonl", "--model", &m, "--database", &database]);
    assert!(o.status.success(), "{}", err(&o));
    assert!(db.join("p.sqlite-wal").exists() && db.join("p.sqlite-shm").exists());
    let o = ro(&["store", "info"]).unwrap();
    assert!(o.status.success(), "{}", err(&o));
    let info: serde_json::Value = serde_json::from_str(&out(&o)).unwrap();
    assert_eq!(info["events"], 3);
    drop(writer);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_snapshot_that_cannot_be_written_is_a_warning_and_every_event_is_stored() {
    let dir = scratch("snapshot-fails");
    let m = model();
    // Enough events for ingest to write a snapshot after them (over 50,000).
    let o = polku(
        &dir,
        &["simulate", "--model", &m, "--clients", "2600", "--days", "365", "--out", "e.jsonl"],
    );
    assert!(o.status.success(), "{}", err(&o));
    // The snapshot's write fails inside SQLite, on the snapshot's own path, as a full disk
    // fails it: its second part, or the row that would keep it once its parts are written.
    for (name, table, when) in
        [("part", "snapshot_parts", "WHEN NEW.part = 1"), ("row", "snapshots", "")]
    {
        let db = dir.join(format!("{name}.sqlite"));
        no_room_for_the_snapshot(&dir, &m, &db, table, when);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

fn no_room_for_the_snapshot(
    dir: &std::path::Path,
    m: &str,
    db: &std::path::Path,
    table: &str,
    when: &str,
) {
    let database = format!("sqlite://{}", db.display());
    drop(polku_store::sqlite::SqliteStore::open(db).unwrap());
    rusqlite::Connection::open(db)
        .unwrap()
        .execute_batch(&format!(
            "CREATE TRIGGER no_room BEFORE INSERT ON {table} {when}
             BEGIN SELECT RAISE(FAIL, 'database or disk is full'); END;"
        ))
        .unwrap();
    let o = polku(dir, &["ingest", "e.jsonl", "--model", m, "--database", &database]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    assert!(
        err(&o).contains("warning: no snapshot written") && err(&o).contains("disk is full"),
        "{}",
        err(&o)
    );
    let summary = out(&o);
    let stored: u64 = summary.split(" events stored").next().unwrap().trim().parse().unwrap();
    assert!(stored > 50_000, "{summary}");
    let o = polku(dir, &["store", "info", "--model", m, "--database", &database]);
    assert!(o.status.success(), "{}", err(&o));
    let info: serde_json::Value = serde_json::from_str(&out(&o)).unwrap();
    assert_eq!(info["events"], stored, "every acknowledged event is stored");
    assert_eq!(info["log_seq"], stored);
    assert_eq!(info["snapshot_seq"], 0, "no snapshot was written");
    let parts: i64 = rusqlite::Connection::open(db)
        .unwrap()
        .query_row("SELECT COUNT(*) FROM snapshot_parts", [], |r| r.get(0))
        .unwrap();
    assert_eq!(parts, 0, "the parts of the snapshot not kept are removed");
}

#[test]
fn ingest_acknowledges_events_while_its_input_is_still_coming() {
    use std::io::{BufRead, Write};
    let dir = scratch("streaming");
    let m = model();
    let o = polku(
        &dir,
        &["simulate", "--model", &m, "--clients", "100", "--days", "365", "--out", "e.jsonl"],
    );
    assert!(o.status.success(), "{}", err(&o));
    let text = std::fs::read_to_string(dir.join("e.jsonl")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let (first, rest) = lines.split_at(500);
    let mut child = Command::new(env!("CARGO_BIN_EXE_polku"))
        .args(["ingest", "-", "--model", &m, "--format", "json"])
        .current_dir(&dir)
        .env("POLKU_PSEUDONYM_KEY", KEY)
        .env("LANG", "C.UTF-8")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (said, heard) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines() {
            if said.send(line.unwrap()).is_err() {
                break;
            }
        }
    });
    let mut stdin = child.stdin.take().unwrap();
    for line in first {
        writeln!(stdin, "{line}").unwrap();
    }
    stdin.flush().unwrap();
    // The input has not ended, and the first 500 lines are acknowledged all the same.
    let mut acknowledged = 0;
    while acknowledged < 500 {
        let Ok(line) = heard.recv_timeout(std::time::Duration::from_secs(30)) else {
            let _ = child.kill();
            panic!("no acknowledgement of the first 500 lines while the input was open");
        };
        let ack: serde_json::Value = serde_json::from_str(&line).unwrap();
        acknowledged = ack["acknowledged"]["line"].as_u64().unwrap() as usize;
        assert!(acknowledged <= 500, "{line}");
    }
    for line in rest {
        writeln!(stdin, "{line}").unwrap();
    }
    drop(stdin);
    let status = child.wait().unwrap();
    assert!(status.success());
    let said: Vec<String> = heard.iter().collect();
    let summary: serde_json::Value = serde_json::from_str(said.last().unwrap()).unwrap();
    let stored = summary["summary"]["accepted"].as_u64().unwrap();
    let repeats = summary["summary"]["duplicates"].as_u64().unwrap();
    assert_eq!(stored + repeats, lines.len() as u64, "{summary}");
    assert_eq!(summary["summary"]["line"], lines.len());
    let o = polku(&dir, &["store", "info", "--model", &m]);
    let info: serde_json::Value = serde_json::from_str(&out(&o)).unwrap();
    assert_eq!(info["events"], stored);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_line_too_long_for_an_event_is_refused_by_number_and_a_folder_is_not_read() {
    let dir = scratch("long-line");
    let m = model();
    let long = format!(r#"{{"id":"e9","case":"c1","reason":"{}"}}"#, "x".repeat(2 << 20));
    let text = format!(
        "{OPENED}\n{long}\n{}\n",
        line("e2", "2026-01-10", r#""type":"step_completed","step":"lomake""#)
    );
    std::fs::write(dir.join("long.jsonl"), text).unwrap();
    let o = polku(&dir, &["ingest", "long.jsonl", "--model", &m]);
    assert_eq!(o.status.code(), Some(1), "{}", err(&o));
    assert!(err(&o).contains("long.jsonl:2: the line is"), "{}", err(&o));
    assert!(err(&o).len() < 2000, "the line is not repeated");
    assert!(out(&o).contains("2 events stored"), "{}", out(&o));
    std::fs::create_dir_all(dir.join("folder")).unwrap();
    let o = polku(&dir, &["ingest", "folder", "--model", &m, "--database", "sqlite://f.sqlite"]);
    assert_eq!(o.status.code(), Some(2), "{}", err(&o));
    assert!(err(&o).contains("folder: it is a folder"), "{}", err(&o));
    assert!(!dir.join("f.sqlite").exists(), "no database was made");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_maternity_case_shows_its_week_of_pregnancy_and_facts_and_a_later_fact_changes_its_plan() {
    let dir = scratch("facts");
    let m = workspace().join("processes/keski-suomi").to_string_lossy().into_owned();
    let database = format!("sqlite://{}", dir.join("facts.sqlite").display());
    let opened = r#"{"id":"f-1","type":"case_opened","case":"r-1","occurred":"2026-01-05T09:00:00+02:00","recorded":"2026-01-05T09:00:00+02:00","role":"terveydenhoitaja","client":"131052-308T","process":"aitiysneuvola_laaja","unit":"äitiysneuvola","segment":"tuki","due":"2026-08-03","facts":{"ensisynnyttäjä":true,"sikiöitä":2}}"#;
    let interpreter = r#"{"id":"f-2","type":"fact_recorded","case":"r-1","occurred":"2026-01-20T09:00:00+02:00","recorded":"2026-01-20T09:00:00+02:00","role":"terveydenhoitaja","fact":"tulkki","value":true}"#;
    let unknown = r#"{"id":"f-3","type":"fact_recorded","case":"r-1","occurred":"2026-01-21T09:00:00+02:00","recorded":"2026-01-21T09:00:00+02:00","role":"terveydenhoitaja","fact":"kaksoset","value":true}"#;
    std::fs::write(dir.join("first.jsonl"), format!("{opened}\n")).unwrap();
    let o = polku(&dir, &["ingest", "first.jsonl", "--model", &m, "--database", &database]);
    assert!(o.status.success(), "{}", err(&o));
    let status = |as_of: &str| {
        let o = polku(
            &dir,
            &[
                "--lang",
                "fi",
                "status",
                "131052-308T",
                "--purpose",
                "neuvola",
                "--as-of",
                as_of,
                "--model",
                &m,
                "--database",
                &database,
            ],
        );
        assert!(o.status.success(), "{}", err(&o));
        out(&o)
    };
    let text = status("2026-01-12");
    // Due on 3 August: the pregnancy started on 27 October, and 12 January is day 77.
    assert!(text.contains("Raskausviikko: 11+0"), "{text}");
    assert!(text.contains("Tiedot: ensisynnyttäjä kyllä, tulkki ei, sikiöitä 2"), "{text}");
    assert!(!text.contains("Tulkin varaaminen"), "no interpreter yet: {text}");
    assert!(text.contains("Perhevalmennus"), "coaching for a first pregnancy: {text}");
    // The extensive check is in weeks 13 to 18: from 26 January to 8 March.
    assert!(text.contains("aikaisintaan 2026-01-26") && text.contains("2026-03-08"), "{text}");

    std::fs::write(dir.join("later.jsonl"), format!("{interpreter}\n{unknown}\n")).unwrap();
    let o = polku(&dir, &["ingest", "later.jsonl", "--model", &m, "--database", &database]);
    assert_eq!(o.status.code(), Some(1), "one line refused: {}", err(&o));
    assert!(
        err(&o).contains("later.jsonl:2: fact: the model declares no fact kaksoset"),
        "{}",
        err(&o)
    );
    let text = status("2026-01-22");
    assert!(text.contains("tulkki kyllä") && text.contains("Tulkin varaaminen"), "{text}");
}

#[test]
fn segment_daily_proposes_each_clients_segment_from_an_extract_and_names_bad_rows() {
    let dir = scratch("daily");
    let m = workspace().join("processes/keski-suomi").to_string_lossy().into_owned();
    // Identity codes with their check characters, of seven clients.
    let codes = [
        "131052-308T",
        "010120A123K",
        "020220A234L",
        "030320A345M",
        "040420A456N",
        "050520A567P",
        "060620A678R",
    ];
    let rows = [
        (0, "2026-03-01", "SPAT", "SPAT1331"),
        (0, "2026-05-01", "SPAT", "SPAT1331"),
        (0, "2026-09-01", "SPAT", "SPAT1331"),
        (1, "2026-09-20", "ICD10", "F10.2"),
        (2, "2026-09-20", "ICD10", "F32"),
        (3, "2026-10-01", "merkki", "lastensuojeluilmoitus"),
        (4, "2025-01-01", "ICD10", "F10"),
        (5, "2026-09-01", "SHPT", "1071"),
        (5, "2026-10-01", "SHPT", "1071"),
        (6, "2026-10-02", "ICD10", "J06"),
        (6, "2026-10-20", "ICD10", "F10"),
    ];
    let mut csv = String::from("client,date,system,code\n");
    for (client, date, system, code) in rows {
        csv += &format!("{},{date},{system},{code}\n", codes[client]);
    }
    csv += "131052-308U,2026-10-01,ICD10,F10\nbad,line\n";
    std::fs::write(dir.join("poiminta.csv"), &csv).unwrap();
    let run = || {
        polku(
            &dir,
            &[
                "segment-daily",
                "poiminta.csv",
                "--date",
                "2026-10-15",
                "--allow-refused",
                "--model",
                &m,
                "--format",
                "json",
            ],
        )
    };
    // Refused rows: by default nothing is stored.
    let o = polku(
        &dir,
        &[
            "segment-daily",
            "poiminta.csv",
            "--date",
            "2026-10-15",
            "--model",
            &m,
            "--format",
            "json",
        ],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(err(&o).contains("2 rows were refused: nothing was stored"), "{}", err(&o));
    let refused: serde_json::Value = serde_json::from_str(&out(&o)).unwrap();
    assert_eq!(refused["stored"], serde_json::Value::Null, "{refused}");
    let o = run();
    assert_eq!(o.status.code(), Some(1), "two rows refused: {}", err(&o));
    let json: serde_json::Value = serde_json::from_str(&out(&o)).unwrap();
    // Three visits in a year; substance use and a child-protection notice; depression and two
    // home-help decisions; nothing recent, or only after the day.
    assert_eq!(
        json["distribution"],
        serde_json::json!({"huolenpito": 2, "pärjääjä": 2, "tuki": 2, "yhteistyö": 1}),
        "{json}"
    );
    assert_eq!((json["clients"].as_u64(), json["refused"].as_u64()), (Some(7), Some(2)));
    let e = err(&o);
    assert!(
        e.contains("poiminta.csv:13: client: ") && e.contains("poiminta.csv:14: 2 fields"),
        "{e}"
    );
    assert!(!e.contains("131052"), "no identity code is repeated: {e}");
    // The same day again gives the same answer, and stores nothing new.
    let again: serde_json::Value = serde_json::from_str(&out(&run())).unwrap();
    assert_eq!(again["distribution"], json["distribution"]);
    assert_eq!(
        (again["stored"]["written"].as_u64(), again["stored"]["removed"].as_u64()),
        (Some(0), Some(0)),
        "{again}"
    );
    assert_eq!(json["stored"]["written"].as_u64(), Some(7), "{json}");
    // Who moved between two days: the first client reached three visits on 1 September.
    let o = polku(
        &dir,
        &[
            "segment-daily",
            "poiminta.csv",
            "--date",
            "2026-10-15",
            "--from",
            "2026-08-15",
            "--model",
            &m,
            "--format",
            "json",
        ],
    );
    let json: serde_json::Value = serde_json::from_str(&out(&o)).unwrap();
    let moved: Vec<(String, String, u64)> = json["transitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["from"].as_str().unwrap().to_owned(),
                t["to"].as_str().unwrap().to_owned(),
                t["clients"].as_u64().unwrap(),
            )
        })
        .collect();
    assert!(moved.contains(&("pärjääjä".into(), "yhteistyö".into(), 1)), "{json}");
    assert!(moved.contains(&("pärjääjä".into(), "huolenpito".into(), 2)), "{json}");
    assert_eq!(json["transitions"][0]["source"], "markers");
}

/// An opening or an assessment in the Keski-Suomi model, for the marker tests.
fn ks_event(id: &str, case: &str, day: &str, body: &str) -> String {
    format!(
        r#"{{"id":"{id}","case":"{case}","occurred":"{day}T09:00:00+02:00","recorded":"{day}T09:00:00+02:00","role":"terveydenhoitaja",{body}}}"#
    )
}

#[test]
fn the_daily_marker_run_moves_clients_and_the_report_shows_it_by_source() {
    let dir = scratch("daily-source");
    let m = workspace().join("processes/keski-suomi").to_string_lossy().into_owned();
    let database = format!("sqlite://{}", dir.join("d.sqlite").display());
    let (a, b, c) = ("010120A123K", "020220A234L", "030320A345M");
    // A: no case; reaches three visits in a year on 1 September (yhteistyö by markers).
    // B: a case opened in 2024 as pärjääjä, long ago; a substance-use diagnosis in September.
    // C: a case opened in June as pärjääjä; a depression diagnosis in September would make
    //    it tuki, but the nurse assessed yhteistyö on 1 October, which outranks the markers
    //    for the 12 months of `arvio voimassa`.
    let csv = format!(
        "client,date,system,code\n{a},2026-03-01,SPAT,SPAT1331\n{a},2026-05-01,SPAT,SPAT1331\n\
         {a},2026-09-01,SPAT,SPAT1331\n{b},2026-09-20,ICD10,F10.2\n{b},2026-07-01,ICD10,J06\n\
         {c},2026-09-20,ICD10,F32\n{c},2026-06-01,ICD10,J06\n"
    );
    std::fs::write(dir.join("poiminta.csv"), csv).unwrap();
    let opening = |id: &str, case: &str, day: &str, client: &str| {
        ks_event(
            id,
            case,
            day,
            &format!(
                r#""type":"case_opened","client":"{client}","process":"aitiysneuvola_laaja","unit":"äitiysneuvola","segment":"pärjääjä""#
            ),
        )
    };
    let events = [
        opening("o-b", "k-b", "2024-02-01", b),
        opening("o-c", "k-c", "2026-06-01", c),
        ks_event(
            "s-c",
            "k-c",
            "2026-10-01",
            r#""type":"segment_assessed","segment":"yhteistyö","by":"terveydenhoitaja","reason":"laaja terveystarkastus""#,
        ),
    ];
    std::fs::write(dir.join("events.jsonl"), events.join("\n") + "\n").unwrap();
    let o = polku(&dir, &["ingest", "events.jsonl", "--model", &m, "--database", &database]);
    assert!(o.status.success(), "{}", err(&o));
    let daily = |date: &str| {
        let o = polku(
            &dir,
            &[
                "segment-daily",
                "poiminta.csv",
                "--date",
                date,
                "--model",
                &m,
                "--database",
                &database,
                "--format",
                "json",
            ],
        );
        assert!(o.status.success(), "{}", err(&o));
        serde_json::from_str::<serde_json::Value>(&out(&o)).unwrap()
    };
    // A dry run stores nothing.
    let o = polku(
        &dir,
        &[
            "segment-daily",
            "poiminta.csv",
            "--date",
            "2026-08-15",
            "--dry-run",
            "--model",
            &m,
            "--database",
            &database,
            "--format",
            "json",
        ],
    );
    assert!(o.status.success(), "{}", err(&o));
    let dry: serde_json::Value = serde_json::from_str(&out(&o)).unwrap();
    assert_eq!(dry["stored"], serde_json::Value::Null, "{dry}");
    assert_eq!(dry["distribution"], serde_json::json!({"pärjääjä": 3}), "{dry}");
    // The later day first, then the earlier one: the order does not matter.
    let late = daily("2026-10-15");
    assert_eq!(late["stored"]["previous"], serde_json::Value::Null, "{late}");
    let early = daily("2026-08-15");
    assert_eq!(early["stored"]["next"].as_i64(), late["stored"]["day"].as_i64(), "{early}");
    assert_eq!(early["distribution"], serde_json::json!({"pärjääjä": 3}), "{early}");
    // Run again, the later day stores nothing new: it was already right.
    let again = daily("2026-10-15");
    assert_eq!(
        (again["stored"]["written"].as_u64(), again["stored"]["removed"].as_u64()),
        (Some(0), Some(0)),
        "{again}"
    );
    assert_eq!(
        again["stored"]["moves"],
        serde_json::json!({"pärjääjä": {"huolenpito": 1, "tuki": 1, "yhteistyö": 1}}),
        "{again}"
    );
    let report = |args: &[&str]| {
        let mut all = vec!["report"];
        all.extend_from_slice(args);
        all.extend_from_slice(&[
            "--by-source",
            "--model",
            &m,
            "--database",
            &database,
            "--format",
            "json",
        ]);
        let o = polku(&dir, &all);
        assert!(o.status.success(), "{}", err(&o));
        serde_json::from_str::<serde_json::Value>(&out(&o)).unwrap()
    };
    let moved = report(&["transitions", "--from", "2026-08-15", "--to", "2026-10-15"]);
    let rows: Vec<(String, String, String, u64)> = moved["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["from"].as_str().unwrap().to_owned(),
                r["to"].as_str().unwrap().to_owned(),
                r["source"].as_str().unwrap_or("").to_owned(),
                r["clients"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        vec![
            ("pärjääjä".into(), "huolenpito".into(), "markers".into(), 1),
            ("pärjääjä".into(), "yhteistyö".into(), "assessment".into(), 1),
            ("pärjääjä".into(), "yhteistyö".into(), "markers".into(), 1),
        ],
        "{moved}"
    );
    let on = report(&["segments", "--date", "2026-08-15"]);
    assert_eq!(
        on["rows"],
        serde_json::json!([
            {"segment": "pärjääjä", "source": "markers", "clients": 2},
            {"segment": "pärjääjä", "source": "manual", "clients": 1},
        ]),
        "{on}"
    );
    // Twelve calendar months after the assessment, the markers' proposal counts again; on the
    // day before, the assessment still holds.
    let held = report(&["segments", "--date", "2027-09-30"]);
    assert!(held["rows"].as_array().unwrap().iter().any(|r| r["source"] == "assessment"), "{held}");
    let later = report(&["segments", "--date", "2027-10-01"]);
    assert!(later["rows"].as_array().unwrap().iter().all(|r| r["source"] == "markers"), "{later}");
    // In Finnish, the table names the sources.
    let o = polku(
        &dir,
        &[
            "--lang",
            "fi",
            "report",
            "transitions",
            "--from",
            "2026-08-15",
            "--to",
            "2026-10-15",
            "--by-source",
            "--model",
            &m,
            "--database",
            &database,
        ],
    );
    assert!(out(&o).contains("arvio") && out(&o).contains("merkit"), "{}", out(&o));
    assert!(!err(&o).contains(c) && !out(&o).contains(c));
}

#[test]
fn segment_daily_draws_a_progress_bar_on_a_terminal_and_none_in_a_pipe() {
    let dir = scratch("daily-progress");
    let m = workspace().join("processes/keski-suomi").to_string_lossy().into_owned();
    let mut csv = String::from("client,date,system,code\n");
    for n in 0..70_000u32 {
        csv += &format!("{:064x},2026-09-{:02},SPAT,SPAT1331\n", n % 5_000, 1 + n % 28);
    }
    std::fs::write(dir.join("poiminta.csv"), csv).unwrap();
    let args = ["segment-daily", "poiminta.csv", "--date", "2026-10-15", "--model", &m];
    // In a pipe: no bar.
    let o = polku(&dir, &args);
    assert!(o.status.success(), "{}", err(&o));
    assert!(!err(&o).contains('%'), "{}", err(&o));
    // On a terminal (util-linux `script` gives the command one): the bar, then cleared.
    let command = format!("{} {}", env!("CARGO_BIN_EXE_polku"), args.join(" "));
    let o = Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .current_dir(&dir)
        .env("POLKU_PSEUDONYM_KEY", KEY)
        .env("LANG", "C.UTF-8")
        .output()
        .expect("script from util-linux");
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{text}");
    assert!(text.contains("100 %") && text.contains("MB"), "{text}");
    assert!(text.contains("5000 clients"), "{text}");
}

#[test]
fn ingest_status_and_reports_run_the_same_on_postgresql() {
    let Some(database) = postgres_database("ingest") else { return };
    let dir = scratch("postgres");
    let m = model();
    let lines = [
        OPENED.to_owned(),
        line("e2", "2026-01-10", r#""type":"step_completed","step":"lomake""#),
        line("e3", "2026-01-11", r#""type":"step_completed""#),
    ];
    std::fs::write(dir.join("events.jsonl"), lines.join("\n")).unwrap();
    let ingest =
        || polku(&dir, &["ingest", "events.jsonl", "--model", &m, "--database", &database]);
    let o = ingest();
    assert_eq!(o.status.code(), Some(1), "one bad line: {}", err(&o));
    assert!(out(&o).contains("2 events stored, 0 repeats skipped, 1 bad lines"), "{}", out(&o));
    assert!(err(&o).contains("events.jsonl:3: missing field `step`"), "{}", err(&o));
    // Idempotent across runs, as on SQLite.
    let o = ingest();
    assert!(out(&o).contains("0 events stored, 2 repeats skipped"), "{}", out(&o));
    let o = polku(
        &dir,
        &[
            "status",
            "131052-308T",
            "--purpose",
            "tarkistus",
            "--model",
            &m,
            "--database",
            &database,
            "--format",
            "json",
        ],
    );
    assert!(o.status.success(), "{}", err(&o));
    let status: serde_json::Value = serde_json::from_str(&out(&o)).unwrap();
    assert_eq!(status["cases"][0]["case"], "c1", "{status}");
    assert!(!out(&o).contains("131052"), "the identity code is not echoed");
    let o = polku(&dir, &["store", "verify", "--model", &m, "--database", &database]);
    assert!(o.status.success(), "{} {}", out(&o), err(&o));
    let o = polku(
        &dir,
        &["report", "segments", "--date", "2026-02-01", "--model", &m, "--database", &database],
    );
    assert!(out(&o).contains("tuki"), "{}", out(&o));
    // A password file others can read is refused, and its content never shown.
    std::fs::write(dir.join("salasana"), "tiedoston-salasana-77\n").unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir.join("salasana"), std::fs::Permissions::from_mode(0o644))
            .unwrap();
    }
    let o = Command::new(env!("CARGO_BIN_EXE_polku"))
        .args(["status", "131052-308T", "--purpose", "x", "--model", &m, "--database", &database])
        .current_dir(&dir)
        .env("POLKU_PSEUDONYM_KEY", KEY)
        .env("POLKU_DATABASE_PASSWORD_FILE", dir.join("salasana"))
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(err(&o).contains("chmod 600"), "{}", err(&o));
    assert!(!err(&o).contains("tiedoston-salasana"), "{}", err(&o));
    // A password is never shown: a wrong one is refused by naming the server without it.
    let wrong = database.replacen("postgres@", "postgres:salasana-123@", 1).replacen(
        "127.0.0.1",
        "127.0.0.2",
        1,
    );
    let o = polku(
        &dir,
        &["status", "131052-308T", "--purpose", "x", "--model", &m, "--database", &wrong],
    );
    assert!(!o.status.success());
    assert!(!err(&o).contains("salasana-123"), "{}", err(&o));
    // Not on this machine: refused without TLS, unless the network is said to be trusted.
    let remote = database.replacen("127.0.0.1", "db.example.invalid", 1);
    let o = polku(
        &dir,
        &["status", "131052-308T", "--purpose", "x", "--model", &m, "--database", &remote],
    );
    assert!(err(&o).contains("without TLS"), "{}", err(&o));
}

#[test]
fn a_backup_restores_to_the_same_state() {
    let dir = scratch("backup");
    let m = model();
    let o = polku(
        &dir,
        &["simulate", "--model", &m, "--clients", "60", "--days", "90", "--out", "events.jsonl"],
    );
    assert!(o.status.success(), "{}", err(&o));
    let o = polku(&dir, &["ingest", "events.jsonl", "--model", &m]);
    assert!(o.status.success(), "{}", err(&o));
    let o = polku(&dir, &["store", "backup", "--out", "kopio.sqlite", "--model", &m]);
    assert!(o.status.success(), "{}", err(&o));
    assert!(out(&o).contains("the pseudonym key is not in it"), "{}", out(&o));
    let info = |database: &str| -> serde_json::Value {
        let o = polku(&dir, &["store", "info", "--model", &m, "--database", database]);
        assert!(o.status.success(), "{}", err(&o));
        serde_json::from_str(&out(&o)).unwrap()
    };
    let original = info("sqlite://data/polku.sqlite");
    // Restored: the copy put where a database goes.
    std::fs::create_dir_all(dir.join("palautus")).unwrap();
    std::fs::rename(dir.join("kopio.sqlite"), dir.join("palautus/polku.sqlite")).unwrap();
    let restored = info("sqlite://palautus/polku.sqlite");
    assert!(
        original["state_digest"].is_string() && original["events"].as_u64() > Some(100),
        "{original}"
    );
    assert_eq!(restored["state_digest"], original["state_digest"], "{restored} {original}");
    assert_eq!(restored["events"], original["events"]);
    // A second backup to a file that exists is refused.
    std::fs::write(dir.join("varattu.sqlite"), b"x").unwrap();
    let o = polku(&dir, &["store", "backup", "--out", "varattu.sqlite", "--model", &m]);
    assert!(!o.status.success());
    assert!(err(&o).contains("never overwrites"), "{}", err(&o));
    assert_eq!(std::fs::read(dir.join("varattu.sqlite")).unwrap(), b"x");
}

/// Every refusal a person meets in the store's commands reads in the language they chose, and
/// `--database` takes a bare path for an SQLite file.
#[test]
fn refusals_read_in_finnish_and_a_bare_path_names_an_sqlite_file() {
    let dir = scratch("finnish");
    std::fs::write(dir.join("one.jsonl"), OPENED).unwrap();
    let m = model();
    // A bare path: the same database as sqlite://PATH.
    let o = polku(&dir, &["ingest", "one.jsonl", "--model", &m, "--database", "kanta.sqlite"]);
    assert!(o.status.success(), "{}", err(&o));
    assert!(dir.join("kanta.sqlite").is_file());
    let o = polku(
        &dir,
        &["status", "131052-308T", "--model", &m, "--database", "sqlite://kanta.sqlite"],
    );
    assert!(o.status.success() && out(&o).contains("Case c1"), "{}", err(&o));

    let fi = |args: &[&str]| {
        let mut all = vec!["--lang", "fi"];
        all.extend_from_slice(args);
        let o = polku(&dir, &all);
        assert!(!o.status.success(), "{args:?}");
        err(&o)
    };
    let db = ["--model", m.as_str(), "--database", "kanta.sqlite"];
    fn with<'a>(args: &[&'a str], db: &[&'a str]) -> Vec<&'a str> {
        [args, db].concat()
    }
    let with_db = |args: &[&'static str]| with(args, &db);
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            with_db(&["status", "131052-308X"]),
            "asiakas: henkilötunnuksen tarkistusmerkki ei täsmää",
        ),
        (with_db(&["status", "ei-asiakas"]), "asiakas: ei henkilötunnus eikä pseudonyymi"),
        (
            with_db(&["report", "segments", "--date", "2026-13-01"]),
            "--date: `2026-13-01` ei ole päivämäärä",
        ),
        (
            with_db(&["report", "transitions", "--from", "2026-05-01", "--to", "2026-01-01"]),
            "--from ei saa olla --to:n jälkeen",
        ),
        (with_db(&["migrate", "--to", "@9"]), "tallennettua malliversiota @9 ei ole"),
        (
            vec!["status", "x", "--model", &m, "--database", "mysql://kanta"],
            "tuntematon tietokannan laji `mysql`",
        ),
        (vec!["status", "x", "--model", "ei_mallia"], "ei_mallia ei ole olemassa"),
        (with_db(&["ingest", "."]), "se on kansio eikä tapahtumatiedosto"),
        (with_db(&["ingest", "puuttuu.jsonl"]), "tiedostoa tai kansiota ei ole"),
        (vec!["status"], "virhe: seuraavat pakolliset argumentit puuttuvat:"),
        (vec!["report", "segments", "--dat", "2026-01-01"], "odottamaton argumentti '--dat'"),
    ];
    for (args, wanted) in cases {
        let text = fi(&args);
        assert!(text.contains(wanted), "{args:?}: {text}");
        for english in ["error:", "Usage:", "not a date", "neither", "cannot read", "unknown kind"]
        {
            assert!(!text.contains(english), "{args:?}: {text}");
        }
    }
    // An event file's bad lines and warnings, named by line, in Finnish too.
    std::fs::write(
        dir.join("huonot.jsonl"),
        [
            "{\"a\":1}",
            &line("x1", "2026-13-01", r#""type":"step_completed","step":"th""#),
            &line("x2", "2026-02-01", r#""type":"step_completed","step":"th","bogus":1"#),
            r#"{"id":"x3","case":"c1","occurred":1,"recorded":"2026-02-01","role":"r","type":"step_completed","step":"th"}"#,
            &line("x4", "1800-01-01", r#""type":"step_completed","step":"th""#),
            "{\"id\":",
        ]
        .join("\n"),
    )
    .unwrap();
    let o = polku(
        &dir,
        &["--lang", "fi", "ingest", "huonot.jsonl", "--model", &m, "--database", "kanta.sqlite"],
    );
    let text = err(&o);
    for wanted in [
        "huonot.jsonl:1: type: puuttuu; tapahtumien lajit ovat case_opened",
        "huonot.jsonl:2: occurred: ei päivämäärä: kuukausi on 01–12",
        "huonot.jsonl:3: tuntematon kenttä `bogus`",
        "huonot.jsonl:4: occurred: väärä tyyppi: kokonaisluku `1`, odotettiin: merkkijono",
        "huonot.jsonl:5: varoitus: occurred: vuosi 1800 on uskottavien vuosien 1900–2100 ulkopuolella",
        "huonot.jsonl:6: ei JSON-olio yhdellä rivillä",
    ] {
        assert!(text.contains(wanted), "{wanted}: {text}");
    }
    for english in ["missing", "not a date", "unknown field", "invalid type", "expected", "year"] {
        assert!(!text.contains(english), "{english}: {text}");
    }
    // A server on an address another program holds.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = taken.local_addr().unwrap().to_string();
    let text = fi(&["serve", "--listen", &address, "--model", &m, "--database", "kanta.sqlite"]);
    assert!(
        text.contains(&format!(
            "ei voi palvella osoitteessa {address}: osoite on toisen ohjelman käytössä"
        )),
        "{text}"
    );
    // A migration event from a record system names the version the case left; another is refused
    // by its field, and an unknown case by `case`.
    let moved = |case: &str, from: &str| {
        format!(
            r#"{{"id":"m-{case}","type":"case_migrated","case":"{case}","occurred":"2026-02-01","recorded":"2026-02-01","role":"järjestelmä","from":"{from}","to":"{from}"}}"#
        )
    };
    let info: serde_json::Value = serde_json::from_slice(
        &polku(&dir, &["store", "info", "--model", &m, "--database", "kanta.sqlite"]).stdout,
    )
    .unwrap();
    let current = info["current_model"].as_str().unwrap();
    std::fs::write(
        dir.join("moves.jsonl"),
        [moved("c1", &"0".repeat(64)), moved("c9", current)].join("\n"),
    )
    .unwrap();
    let o = polku(&dir, &["ingest", "moves.jsonl", "--model", &m, "--database", "kanta.sqlite"]);
    let text = err(&o);
    assert!(text.contains("moves.jsonl:1: from: the case runs under model version"), "{text}");
    assert!(text.contains("moves.jsonl:2: case: no case c9 has been opened"), "{text}");
}
