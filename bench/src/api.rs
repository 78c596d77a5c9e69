//! `polku-bench api`: `polku serve` on a store of about a million cases, against peers in the
//! same run.
//!
//! 1. Start-up: the real binary, from launch until it prints its address.
//! 2. Client status over HTTP under wrk (64 connections, 2 threads), the access-log write
//!    included, against a bare axum handler that returns the same JSON from a `HashMap`.
//! 3. Client status at fixed rates (an open loop, [`crate::rate`]): the latencies at a stated
//!    load rather than at saturation, for both servers; then, for Polku, 10,000 clients not
//!    read before, once each at 1,000 a second (each status made, none kept ready).
//! 4. Events over HTTP in batches of 100 (4 senders) against `polku ingest` of the same events,
//!    each into a fresh store.

use std::io::{BufRead, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

/// The key the benchmark stores were pseudonymised with (`tracking::key`), in hexadecimal.
const KEY_HEX: &str = "2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a";

struct Served {
    child: Child,
    address: String,
    tokens: Vec<(String, String)>,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `polku serve --demo` on `database` (for its sign-in tokens); returns it and how long
/// it took to listen. An empty store is filled with the demo's simulated year unless `empty`
/// says to leave it empty (`--demo-clients 0`).
fn serve(polku: &Path, model: &Path, database: &str, empty: bool) -> Result<(Served, Duration)> {
    let started = Instant::now();
    let mut child = Command::new(polku)
        .args(["serve", "--model"])
        .arg(model)
        .args([
            "--database",
            database,
            "--listen",
            "127.0.0.1:0",
            "--demo",
            "--renderer",
            "browser",
        ])
        .args(if empty { &["--demo-clients", "0"][..] } else { &[] })
        .env("POLKU_PSEUDONYM_KEY", KEY_HEX)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot start {}", polku.display()))?;
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().context("stdout")?).read_line(&mut line)?;
    let took = started.elapsed();
    let address = line
        .split("http://")
        .nth(1)
        .map(|r| r.trim().trim_end_matches('/').to_owned())
        .with_context(|| format!("no address printed: {line}"))?;
    let mut stderr = String::new();
    let mut err = child.stderr.take().context("stderr")?;
    // The tokens come before the address; read what is there without waiting for the end.
    std::thread::sleep(Duration::from_millis(200));
    let mut buffer = [0u8; 8192];
    if let Ok(n) = err.read(&mut buffer) {
        stderr.push_str(&String::from_utf8_lossy(&buffer[..n]));
    }
    let tokens = stderr
        .lines()
        .filter_map(|l| {
            let mut words = l.split_whitespace();
            let role = words.next()?;
            let token = words.next()?;
            token.starts_with("polku_").then(|| (role.to_owned(), token.to_owned()))
        })
        .collect();
    Ok((Served { child, address, tokens }, took))
}

fn post(address: &str, path: &str, token: &str, kind: &str, body: &str) -> Result<(u16, String)> {
    let mut stream = TcpStream::connect(address)?;
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {token}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response)?;
    let text = String::from_utf8_lossy(&response).into_owned();
    let status = text.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    Ok((status, text.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default()))
}

/// wrk's figures: requests per second, and the 50th and 99th percentile latencies.
fn wrk(url: &str, script: &Path) -> Result<(String, String, String)> {
    let out = Command::new("wrk")
        .args(["-t2", "-c64", "-d10s", "--latency", "-s"])
        .arg(script)
        .arg(url)
        .output()
        .context("wrk is needed: apt-get install wrk")?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let find = |key: &str| {
        text.lines()
            .find(|l| l.trim_start().starts_with(key))
            .and_then(|l| l.split_whitespace().nth(1))
            .unwrap_or("?")
            .to_owned()
    };
    if text.contains("Non-2xx") {
        bail!("wrk saw errors:\n{text}");
    }
    Ok((find("Requests/sec:"), find("50%"), find("99%")))
}

/// A wrk script that posts `bodies` in turn with `token`.
fn script(dir: &Path, name: &str, path: &str, token: &str, bodies: &[String]) -> Result<PathBuf> {
    let file = dir.join(format!("{name}.lua"));
    let mut lua = String::from("local bodies = {\n");
    for body in bodies {
        lua.push_str(&format!("  [[{body}]],\n"));
    }
    lua.push_str(&format!(
        "}}\nlocal i = 0\nrequest = function()\n  i = i + 1\n  return wrk.format(\"POST\", \"{path}\", {{[\"Authorization\"] = \"Bearer {token}\", [\"Content-Type\"] = \"application/json\"}}, bodies[(i % #bodies) + 1])\nend\n"
    ));
    std::fs::write(&file, lua)?;
    Ok(file)
}

/// The pseudonyms of `count` clients in a store.
fn clients(db: &Path, count: usize) -> Result<Vec<String>> {
    let conn = rusqlite::Connection::open(db)?;
    let mut select = conn
        .prepare("SELECT body FROM events WHERE body LIKE '%\"type\":\"case_opened\"%' LIMIT ?1")?;
    let rows = select.query_map([count as i64 * 3], |r| r.get::<_, String>(0))?;
    let mut out = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for body in rows {
        let value: serde_json::Value = serde_json::from_str(&body?)?;
        if let Some(client) = value["client"].as_str() {
            if seen.insert(client.to_owned()) {
                out.push(client.to_owned());
            }
        }
        if out.len() >= count {
            break;
        }
    }
    Ok(out)
}

/// A bare axum server answering POST /status from a map, in a thread of its own.
fn bare_peer(answers: std::collections::HashMap<String, String>) -> Result<String> {
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))?;
    let address = listener.local_addr()?.to_string();
    let answers = std::sync::Arc::new(answers);
    let router = axum::Router::new().route(
        "/status",
        axum::routing::post(move |body: axum::body::Bytes| {
            let answers = answers.clone();
            async move {
                let request: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
                let client = request["client"].as_str().unwrap_or_default();
                match answers.get(client) {
                    Some(json) => (
                        axum::http::StatusCode::OK,
                        [(axum::http::header::CONTENT_TYPE, "application/json")],
                        json.clone(),
                    ),
                    None => (
                        axum::http::StatusCode::NOT_FOUND,
                        [(axum::http::header::CONTENT_TYPE, "application/json")],
                        String::new(),
                    ),
                }
            }
        }),
    );
    std::thread::spawn(move || {
        runtime.block_on(async move {
            let _ = axum::serve(listener, router).await;
        });
    });
    Ok(address)
}

pub fn run(corpus: &Path, db: &Path, polku: &Path, work: &Path, rates: &[f64]) -> Result<()> {
    std::fs::create_dir_all(work)?;
    let database = format!("sqlite://{}", db.display());
    println!("store: {}", db.display());
    // 1. Start-up, twice (the first also stores this model version).
    let (first, took1) = serve(polku, corpus, &database, false)?;
    drop(first);
    let (served, took) = serve(polku, corpus, &database, false)?;
    println!("| start-up of polku serve on the store, until it listens | {:.2} s (first start {:.2} s) |", took.as_secs_f64(), took1.as_secs_f64());
    let staff = served
        .tokens
        .iter()
        .find(|(r, _)| r == "staff")
        .map(|(_, t)| t.clone())
        .context("no staff token printed")?;
    // 2. Client status against a bare handler with the same answers.
    // 2,000 clients read in turn, and 10,000 others read once each at a fixed rate (below).
    let mut pseudonyms = clients(db, 12_000)?;
    let unread = pseudonyms.split_off(2000.min(pseudonyms.len()));
    let body_of = |p: &String| format!(r#"{{"client":"{p}","purpose":"benchmark"}}"#);
    let bodies: Vec<String> = pseudonyms.iter().map(body_of).collect();
    let mut answers = std::collections::HashMap::new();
    // Each client's first read, one at a time: the status is made, not kept.
    let mut first_reads = Vec::with_capacity(pseudonyms.len());
    for (p, body) in pseudonyms.iter().zip(&bodies) {
        let asked = Instant::now();
        let (status, json) =
            post(&served.address, "/api/v1/client-status", &staff, "application/json", body)?;
        first_reads.push(asked.elapsed());
        if status != 200 {
            bail!("status of {p}: {status} {json}");
        }
        answers.insert(p.clone(), json);
    }
    first_reads.sort_unstable();
    let at =
        |q: f64| first_reads[((first_reads.len() as f64 * q) as usize).min(first_reads.len() - 1)];
    println!(
        "| each client's first read, one at a time (a new connection each) | p50 {:.2} ms, p99 {:.2} ms |",
        at(0.5).as_secs_f64() * 1000.0,
        at(0.99).as_secs_f64() * 1000.0
    );
    let ours = script(work, "status", "/api/v1/client-status", &staff, &bodies)?;
    let peer_address = bare_peer(answers)?;
    let theirs = script(work, "peer", "/status", "x", &bodies)?;
    let (peer_rps, peer_p50, peer_p99) = wrk(&format!("http://{peer_address}/status"), &theirs)?;
    let (rps, p50, p99) = wrk(&format!("http://{}/api/v1/client-status", served.address), &ours)?;
    let ratio = rps.parse::<f64>().unwrap_or(0.0) / peer_rps.parse::<f64>().unwrap_or(1.0);
    println!("| client status, wrk -t2 -c64 -d10s, {} clients in turn | {rps} req/s, p50 {p50}, p99 {p99} |", pseudonyms.len());
    println!("| the same JSON from a HashMap in a bare axum handler | {peer_rps} req/s, p50 {peer_p50}, p99 {peer_p99} |");
    println!("| ratio | **{ratio:.2}×** |");

    // 3. The same requests at fixed rates, 10 s each, the two servers in turn at each rate.
    let ours: Vec<Vec<u8>> = bodies
        .iter()
        .map(|b| crate::rate::request(&served.address, "/api/v1/client-status", &staff, b))
        .collect();
    let theirs: Vec<Vec<u8>> =
        bodies.iter().map(|b| crate::rate::request(&peer_address, "/status", "x", b)).collect();
    for &rate in rates {
        let peer = crate::rate::run(&peer_address, &theirs, rate, 10.0, 64)?;
        let polku = crate::rate::run(&served.address, &ours, rate, 10.0, 64)?;
        println!("| client status at a fixed rate | {} |", polku.row());
        println!("| the bare handler at the same rate | {} |", peer.row());
    }
    // What staff mostly do: read a client not read before, whose status is made, not kept.
    // 1,000 a second for 10 s, each request a client of its own.
    let firsts: Vec<Vec<u8>> = unread
        .iter()
        .map(|p| {
            crate::rate::request(&served.address, "/api/v1/client-status", &staff, &body_of(p))
        })
        .collect();
    if !firsts.is_empty() {
        let seconds = (firsts.len() as f64 / 1000.0).min(10.0);
        let first = crate::rate::run(&served.address, &firsts, 1000.0, seconds, 64)?;
        println!(
            "| client status at a fixed rate, {} clients each read once (nothing kept) | {} |",
            first.answered,
            first.row()
        );
    }
    drop(served);

    // 4. Events over HTTP against polku ingest, each into a fresh store.
    let events = work.join("events.jsonl");
    let out = Command::new(polku)
        .args(["simulate", "--model"])
        .arg(corpus)
        .args(["--clients", "10000", "--seed", "9", "--out"])
        .arg(&events)
        .output()?;
    if !out.status.success() {
        bail!("simulate failed");
    }
    let lines: Vec<String> = std::fs::read_to_string(&events)?.lines().map(str::to_owned).collect();
    let fresh = |name: &str| -> String {
        let path = work.join(name);
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
        format!("sqlite://{}", path.display())
    };
    let cli_db = fresh("cli.sqlite");
    let started = Instant::now();
    let out = Command::new(polku)
        .args(["ingest"])
        .arg(&events)
        .args(["--model"])
        .arg(corpus)
        .args(["--database", &cli_db])
        .env("POLKU_PSEUDONYM_KEY", KEY_HEX)
        .output()?;
    let cli_time = started.elapsed();
    if !out.status.success() {
        bail!("polku ingest failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    let http_db = fresh("http.sqlite");
    // Empty, as `polku ingest` had it: the demo's year would share the simulated events' ids.
    let (served, _) = serve(polku, corpus, &http_db, true)?;
    let system = served
        .tokens
        .iter()
        .find(|(r, _)| r == "system")
        .map(|(_, t)| t.clone())
        .context("no system token")?;
    // Four senders, each a share of the cases, in batches of 100 events in order.
    let mut parts: Vec<Vec<String>> = vec![Vec::new(); 4];
    for line in &lines {
        let value: serde_json::Value = serde_json::from_str(line)?;
        let case = value["case"].as_str().unwrap_or_default();
        let part =
            case.bytes().fold(0usize, |h, b| h.wrapping_mul(31).wrapping_add(b as usize)) % 4;
        parts[part].push(line.clone());
    }
    let started = Instant::now();
    let handles: Vec<_> = parts
        .into_iter()
        .map(|part| {
            let (address, token) = (served.address.clone(), system.clone());
            std::thread::spawn(move || -> Result<()> {
                for batch in part.chunks(100) {
                    let (status, text) = post(
                        &address,
                        "/api/v1/events",
                        &token,
                        "application/x-ndjson",
                        &batch.join("\n"),
                    )?;
                    if status != 200 {
                        bail!("{status} {text}");
                    }
                }
                Ok(())
            })
        })
        .collect();
    for h in handles {
        h.join().map_err(|_| anyhow::anyhow!("sender panicked"))??;
    }
    let http_time = started.elapsed();
    let n = lines.len() as f64;
    println!(
        "| {} events: polku ingest | {:.0} events/s |",
        lines.len(),
        n / cli_time.as_secs_f64()
    );
    println!(
        "| the same over HTTP, batches of 100, 4 senders | {:.0} events/s, **{:.2}×** polku ingest |",
        n / http_time.as_secs_f64(),
        cli_time.as_secs_f64() / http_time.as_secs_f64()
    );
    Ok(())
}
