//! Running `polku serve` in tests: starting servers, making tokens, posting over HTTP, and
//! the simulated events they are given.

#![allow(clippy::unwrap_used)] // A test that cannot set up should fail loudly.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::{finish, workspace};

pub fn polku(args: &[&str], dir: &Path) -> std::process::Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_polku"));
    command.args(args).current_dir(dir).env("POLKU_PSEUDONYM_KEY", "11".repeat(32));
    finish(command, &format!("polku {args:?}"))
}

/// Runs `polku` and reads its output as JSON; fails the test when it does not succeed.
pub fn json(dir: &Path, args: &[&str]) -> serde_json::Value {
    let out = polku(args, dir);
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Simulates events of the model `m` into `dir/events.jsonl` (with `simulate`, the options of
/// `polku simulate`), ingests them into `db`, and returns the lines as JSON.
pub fn simulated_store(dir: &Path, m: &str, db: &str, simulate: &[&str]) -> Vec<serde_json::Value> {
    let events = dir.join("events.jsonl").display().to_string();
    let mut args = vec!["simulate", "--model", m, "--out", &events];
    args.extend(simulate);
    let out = polku(&args, dir);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = polku(&["ingest", &events, "--model", m, "--database", db], dir);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    std::fs::read_to_string(&events)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

pub fn model() -> String {
    workspace().join("processes/keusote").display().to_string()
}

/// One HTTP request; returns the status and the body.
pub fn request(
    address: &str,
    method: &str,
    path: &str,
    token: &str,
    kind: &str,
    body: &str,
) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect(address).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(60))).ok()?;
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {token}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .ok()?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).ok()?;
    let text = String::from_utf8_lossy(&response).into_owned();
    let status = text.split(' ').nth(1)?.parse().ok()?;
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default();
    Some((status, body))
}

pub struct Server {
    pub child: Child,
    pub address: String,
}

/// Starts `polku serve`; what it writes to its standard error goes to a `server-N.log` file in
/// `dir`, for a failing test to be read.
pub fn serve(dir: &Path, database: &str) -> Server {
    let n = (0..).find(|n| !dir.join(format!("server-{n}.log")).exists()).unwrap();
    let log = std::fs::File::create(dir.join(format!("server-{n}.log"))).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_polku"))
        .args([
            "serve",
            "--model",
            &model(),
            "--database",
            database,
            "--listen",
            "127.0.0.1:0",
            "--renderer",
            "browser",
        ])
        .current_dir(dir)
        .env("POLKU_PSEUDONYM_KEY", "11".repeat(32))
        .stdout(Stdio::piped())
        .stderr(log)
        .spawn()
        .unwrap();
    let mut line = String::new();
    let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
    std::io::BufRead::read_line(&mut out, &mut line).unwrap();
    let address = line.split("http://").nth(1).unwrap().trim().trim_end_matches('/').to_owned();
    Server { child, address }
}

pub fn token(dir: &Path, database: &str, role: &str) -> String {
    let mut args = vec!["token", "create", "--role", role, "--model"];
    let model = model();
    args.push(&model);
    args.extend(["--database", database]);
    let units = [
        "neuvola",
        "kouluterveydenhuolto",
        "opiskeluterveydenhuolto",
        "perheneuvola",
        "perhetyö",
        "perhesosiaalityö",
        "nuorisoasema",
        "neuvolapsykologit",
        "lapsiperheiden_kotipalvelu",
        "perheoikeudellinen_yksikkö",
    ];
    for unit in &units {
        args.extend(["--unit", unit]);
    }
    let out = polku(&args, dir);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

pub fn digest(dir: &Path, database: &str) -> String {
    let out = polku(&["store", "info", "--model", &model(), "--database", database], dir);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let info: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    info["state_digest"].as_str().unwrap().to_owned()
}

/// The simulated events, split by case into `parts` streams (a case's events stay in order in
/// one stream), and the identity codes of the clients.
pub fn events(
    dir: &Path,
    clients: u32,
    parts: usize,
) -> (Vec<String>, Vec<Vec<String>>, Vec<String>) {
    let file = dir.join("events.jsonl");
    let out = polku(
        &[
            "simulate",
            "--model",
            &model(),
            "--clients",
            &clients.to_string(),
            "--seed",
            "5",
            "--out",
            &file.display().to_string(),
        ],
        dir,
    );
    assert!(out.status.success());
    let lines: Vec<String> =
        std::fs::read_to_string(&file).unwrap().lines().map(str::to_owned).collect();
    let mut streams = vec![Vec::new(); parts];
    let mut codes = Vec::new();
    for line in &lines {
        let value: serde_json::Value = serde_json::from_str(line).unwrap();
        let case = value["case"].as_str().unwrap();
        let part =
            case.bytes().fold(0usize, |h, b| h.wrapping_mul(31).wrapping_add(b as usize)) % parts;
        streams[part].push(line.clone());
        if let Some(client) = value["client"].as_str() {
            codes.push(client.to_owned());
        }
    }
    (lines, streams, codes)
}

/// A database of its own on the PostgreSQL server `POLKU_TEST_POSTGRES_URL` names (CI starts
/// one), made with `psql`; `None` outside CI when no server is named.
pub fn postgres_database(name: &str) -> Option<String> {
    let Ok(server) = std::env::var("POLKU_TEST_POSTGRES_URL") else {
        assert!(std::env::var("CI").is_err(), "CI sets POLKU_TEST_POSTGRES_URL (scripts/test)");
        return None;
    };
    let database = format!("polku_cli_{name}_{}", std::process::id());
    // The databases that test processes now ended left are dropped first, so that a server the
    // tests are run against again and again does not gather one for every test of every run.
    let listed = Command::new("psql")
        .args([
            server.as_str(),
            "-qAtc",
            "SELECT datname FROM pg_database WHERE starts_with(datname, 'polku_cli_')",
        ])
        .output()
        .unwrap();
    // Only names of that form, only when no session uses them (a test on another machine may
    // have a process of the same id), each as well as it goes.
    for old in String::from_utf8_lossy(&listed.stdout).lines() {
        let plain = old.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        let pid = old.rsplit('_').next().and_then(|p| p.parse::<u32>().ok());
        let running = |pid: u32| {
            pid == std::process::id()
                || !std::path::Path::new("/proc/self").exists()
                || std::path::Path::new(&format!("/proc/{pid}")).exists()
        };
        if plain && pid.is_some_and(|pid| !running(pid)) {
            let sql = format!("DROP DATABASE IF EXISTS {old}");
            let _ = Command::new("psql").args([server.as_str(), "-qc", &sql]).output();
        }
    }
    for sql in
        [format!("DROP DATABASE IF EXISTS {database}"), format!("CREATE DATABASE {database}")]
    {
        let o = Command::new("psql").args([server.as_str(), "-qc", &sql]).output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    let (base, _) = server.rsplit_once('/').unwrap();
    Some(format!("{base}/{database}"))
}
