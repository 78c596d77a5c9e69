//! Two `polku serve` processes on one database, on SQLite and on PostgreSQL: systems post to
//! both at once (some batches to both at the same moment), staff read from both, and one server
//! is killed with SIGKILL in the middle of the posting, after which its systems send to the
//! other. Nothing acknowledged is lost, nothing is stored twice, the state equals a sequential
//! `polku ingest` of the same events, both hash chains hold, and a write to one server is seen
//! by the other within the stated bound.

#![allow(clippy::unwrap_used)] // A test that cannot set up should fail loudly.

mod common;

use std::collections::HashSet;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::scratch;
use common::server::{
    digest, events, model, polku, postgres_database, request, serve, token, Server,
};

const WRITERS: usize = 8;
const BATCH: usize = 50;

/// Posts one batch; the ids the server acknowledged, or `None` when the server did not answer.
fn post(address: &str, token: &str, batch: &[String]) -> Option<Vec<String>> {
    let (status, text) = request(
        address,
        "POST",
        "/api/v1/events",
        token,
        "application/x-ndjson",
        &batch.join("\n"),
    )?;
    assert_eq!(status, 200, "{text}");
    let answer: serde_json::Value = serde_json::from_str(&text).unwrap();
    let mut ids = Vec::new();
    for event in answer["events"].as_array().unwrap() {
        match event["result"].as_str() {
            Some("stored" | "repeat") => ids.push(event["id"].as_str().unwrap().to_owned()),
            other => panic!("event refused: {other:?} {event}"),
        }
    }
    Some(ids)
}

fn info(dir: &Path, database: &str) -> serde_json::Value {
    let out = polku(&["store", "info", "--model", &model(), "--database", database], dir);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// How long the other server takes to show a client whose case was opened on the first.
fn seen_by_the_other(first: &Server, other: &Server, system: &str, staff: &str, lines: &[String]) {
    let opening = lines.iter().position(|l| l.contains("\"case_opened\"")).unwrap();
    let client = serde_json::from_str::<serde_json::Value>(&lines[opening]).unwrap()["client"]
        .as_str()
        .unwrap()
        .to_owned();
    let body = format!(r#"{{"client":"{client}","purpose":"rinnakkaisten palvelimien testi"}}"#);
    let status = |server: &Server| {
        request(&server.address, "POST", "/api/v1/client-status", staff, "application/json", &body)
            .unwrap()
            .0
    };
    assert_eq!(status(other), 404, "the client is not known before the opening is posted");
    assert!(post(&first.address, system, &lines[..=opening]).is_some());
    let posted = Instant::now();
    while status(other) != 200 {
        assert!(
            posted.elapsed() < Duration::from_secs(3),
            "the other server did not see the opening within 3 s"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let waited = posted.elapsed();
    eprintln!("the other server showed the new client after {} ms", waited.as_millis());
    // The bound is FOLLOW_EVERY (200 ms) and the time to apply; the test allows for a slow
    // machine.
    assert!(waited < Duration::from_millis(1500), "seen only after {waited:?}");
}

fn two_servers(dir: &Path, database: &str) {
    let (lines, parts, codes) = events(dir, 1000, WRITERS);
    let system = token(dir, database, "system");
    let staff = token(dir, database, "staff");
    let mut a = serve(dir, database);
    let b = serve(dir, database);
    seen_by_the_other(&a, &b, &system, &staff, &parts[0]);

    let total: usize = parts.iter().map(Vec::len).sum();
    let acked = Arc::new(Mutex::new(HashSet::new()));
    let posted = Arc::new(AtomicU64::new(0));
    let a_dead = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicBool::new(false));
    let addresses = [a.address.clone(), b.address.clone()];
    let mut writers = Vec::new();
    for (w, part) in parts.into_iter().enumerate() {
        let (addresses, system, acked, posted, a_dead) =
            (addresses.clone(), system.clone(), acked.clone(), posted.clone(), a_dead.clone());
        writers.push(std::thread::spawn(move || {
            for (k, batch) in part.chunks(BATCH).enumerate() {
                let mut to = (w + k) % 2;
                if a_dead.load(Ordering::SeqCst) {
                    to = 1;
                }
                // Every fourth batch goes to both servers at the same moment, as a record
                // system that retries on another server would send it.
                let twice = k % 4 == 3 && !a_dead.load(Ordering::SeqCst);
                let again = twice.then(|| {
                    let (address, system, batch) =
                        (addresses[1 - to].clone(), system.clone(), batch.to_vec());
                    std::thread::spawn(move || post(&address, &system, &batch))
                });
                let mut ids = post(&addresses[to], &system, batch);
                if ids.is_none() {
                    // The server died under the request: the batch goes to the other, which
                    // answers `repeat` for whatever the dead one made durable.
                    assert_eq!(to, 0, "the surviving server stopped answering");
                    ids = post(&addresses[1], &system, batch);
                }
                let mut acked = acked.lock().unwrap();
                acked.extend(ids.expect("the surviving server answers"));
                if let Some(again) = again {
                    if let Some(ids) = again.join().unwrap() {
                        assert_eq!(ids.len(), batch.len(), "both servers answer every event");
                        acked.extend(ids);
                    }
                }
                posted.fetch_add(batch.len() as u64, Ordering::SeqCst);
            }
        }));
    }
    let codes = Arc::new(codes);
    let mut readers = Vec::new();
    for r in 0..4 {
        let (addresses, staff, codes, done, a_dead) =
            (addresses.clone(), staff.clone(), codes.clone(), done.clone(), a_dead.clone());
        readers.push(std::thread::spawn(move || {
            let mut i = r;
            while !done.load(Ordering::SeqCst) {
                let code = &codes[i % codes.len()];
                i += 4;
                let to = if a_dead.load(Ordering::SeqCst) { 1 } else { r % 2 };
                let body =
                    format!(r#"{{"client":"{code}","purpose":"rinnakkaisten palvelimien testi"}}"#);
                if let Some((status, text)) = request(
                    &addresses[to],
                    "POST",
                    "/api/v1/client-status",
                    &staff,
                    "application/json",
                    &body,
                ) {
                    assert!(status == 200 || status == 404, "{status}: {text}");
                }
            }
        }));
    }
    // Kill the first server with batches in flight, about halfway.
    let deadline = Instant::now() + Duration::from_secs(60);
    while (posted.load(Ordering::SeqCst) as usize) < total / 2 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    a_dead.store(true, Ordering::SeqCst);
    a.child.kill().unwrap();
    a.child.wait().unwrap();
    for w in writers {
        w.join().unwrap();
    }
    done.store(true, Ordering::SeqCst);
    for r in readers {
        r.join().unwrap();
    }
    let mut b = b;
    b.child.kill().unwrap();
    b.child.wait().unwrap();

    let ids: HashSet<String> = lines
        .iter()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["id"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(*acked.lock().unwrap(), ids, "every event was acknowledged");

    // The same events, one after another, into a database of their own.
    let sequential = format!("sqlite://{}", dir.join("sequential.sqlite").display());
    let file = dir.join("events.jsonl").display().to_string();
    let out = polku(&["ingest", &file, "--model", &model(), "--database", &sequential], dir);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let (served, alone) = (info(dir, database), info(dir, &sequential));
    assert_eq!(served["events"], alone["events"], "an event was lost or stored twice");
    assert_eq!(served["state_digest"], alone["state_digest"], "two servers gave another state");
    assert_eq!(digest(dir, database), digest(dir, &sequential));

    let out = polku(&["store", "verify", "--database", database], dir);
    assert!(
        out.status.success(),
        "a hash chain broke: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn two_servers_on_one_sqlite_database_lose_nothing_and_store_nothing_twice() {
    let dir = scratch("polku-servers", "sqlite");
    let database = format!("sqlite://{}", dir.join("shared.sqlite").display());
    two_servers(&dir, &database);
}

#[test]
fn two_servers_on_one_postgresql_database_lose_nothing_and_store_nothing_twice() {
    let Some(database) = postgres_database("servers") else { return };
    let dir = scratch("polku-servers", "postgres");
    two_servers(&dir, &database);
}
