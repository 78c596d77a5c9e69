//! `polku serve` under concurrent load, and killed: 16 systems post events while 16 staff
//! read client status, for a minute (`POLKU_SOAK_SECONDS` changes it); afterwards the state
//! recovered from the log equals a sequential `polku ingest` of the same events. Then a server
//! is killed with SIGKILL in the middle of posting, and every event it acknowledged is found in
//! the store.

#![allow(clippy::unwrap_used)] // A test that cannot set up should fail loudly.

mod common;

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::scratch;
use common::server::{digest, events, model, polku, request, serve, token};

const WRITERS: usize = 16;
const READERS: usize = 16;

/// Posts a stream in batches of 100; records the ids the server acknowledged as durable.
fn post_all(
    address: &str,
    token: &str,
    part: &[String],
    acked: &Mutex<HashSet<String>>,
    stop: &AtomicBool,
) {
    for batch in part.chunks(100) {
        if stop.load(Ordering::Relaxed) {
            return;
        }
        let body = batch.join("\n");
        let Some((status, text)) =
            request(address, "POST", "/api/v1/events", token, "application/x-ndjson", &body)
        else {
            return;
        };
        assert_eq!(status, 200, "{text}");
        let answer: serde_json::Value = serde_json::from_str(&text).unwrap();
        let mut acked = acked.lock().unwrap();
        for event in answer["events"].as_array().unwrap() {
            match event["result"].as_str() {
                Some("stored" | "repeat") => {
                    acked.insert(event["id"].as_str().unwrap().to_owned());
                }
                other => panic!("event refused: {other:?} {event}"),
            }
        }
    }
}

#[test]
fn concurrent_writers_and_readers_then_recovery_equals_sequential_ingest() {
    let dir = scratch("polku-load", "soak");
    let seconds: u64 =
        std::env::var("POLKU_SOAK_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(60);
    let (lines, parts, codes) = events(&dir, 1500, WRITERS);
    let database = format!("sqlite://{}", dir.join("served.sqlite").display());
    let system = token(&dir, &database, "system");
    let staff = token(&dir, &database, "staff");
    let mut server = serve(&dir, &database);
    let address = server.address.clone();
    let acked = Arc::new(Mutex::new(HashSet::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let reads = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut writers = Vec::new();
    // The writers pace themselves over the soak so that reads meet writes throughout.
    for part in parts {
        let (address, system, acked, stop) =
            (address.clone(), system.clone(), acked.clone(), stop.clone());
        let pause =
            Duration::from_millis((seconds * 1000 / (part.len() as u64 / 100 + 1)).min(2000) / 2);
        writers.push(std::thread::spawn(move || {
            for chunk in part.chunks(100) {
                post_all(&address, &system, chunk, &acked, &stop);
                std::thread::sleep(pause);
            }
        }));
    }
    let codes = Arc::new(codes);
    let mut readers = Vec::new();
    for r in 0..READERS {
        let (address, staff, codes, reads) =
            (address.clone(), staff.clone(), codes.clone(), reads.clone());
        readers.push(std::thread::spawn(move || {
            let mut i = r;
            while started.elapsed() < Duration::from_secs(seconds) {
                let code = &codes[i % codes.len()];
                i += READERS;
                let body = format!(r#"{{"client":"{code}","purpose":"kuormitustesti"}}"#);
                if let Some((status, text)) = request(
                    &address,
                    "POST",
                    "/api/v1/client-status",
                    &staff,
                    "application/json",
                    &body,
                ) {
                    // A client whose opening has not arrived yet is not found.
                    assert!(status == 200 || status == 404, "{status}: {text}");
                    assert!(!text.contains(code.as_str()), "a status echoed the identity code");
                    reads.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    for w in writers {
        w.join().unwrap();
    }
    for r in readers {
        r.join().unwrap();
    }
    let ids: HashSet<String> = lines
        .iter()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["id"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(*acked.lock().unwrap(), ids, "every event was acknowledged");
    assert!(reads.load(Ordering::Relaxed) > 100, "the readers read");
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    let served = digest(&dir, &database);

    let sequential = format!("sqlite://{}", dir.join("sequential.sqlite").display());
    let file = dir.join("events.jsonl").display().to_string();
    let out = polku(&["ingest", &file, "--model", &model(), "--database", &sequential], &dir);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(served, digest(&dir, &sequential), "concurrent serving gave another state");
}

#[test]
fn every_acknowledged_event_survives_a_sigkill_of_the_server() {
    let dir = scratch("polku-load", "kill");
    let (_, parts, _) = events(&dir, 800, WRITERS);
    let database = format!("sqlite://{}", dir.join("killed.sqlite").display());
    let system = token(&dir, &database, "system");
    let mut server = serve(&dir, &database);
    let acked = Arc::new(Mutex::new(HashSet::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let mut writers = Vec::new();
    for part in parts {
        let (address, system, acked, stop) =
            (server.address.clone(), system.clone(), acked.clone(), stop.clone());
        writers.push(std::thread::spawn(move || post_all(&address, &system, &part, &acked, &stop)));
    }
    // Kill it while batches are in flight.
    let deadline = Instant::now() + Duration::from_secs(20);
    while acked.lock().unwrap().len() < 2000 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        let _ = w.join();
    }
    let acked = acked.lock().unwrap().clone();
    assert!(acked.len() >= 1000, "only {} events were acknowledged before the kill", acked.len());
    // Offer exactly the acknowledged events again: every one must be a repeat.
    let all = std::fs::read_to_string(dir.join("events.jsonl")).unwrap();
    // The simulation repeats some events on purpose: offer each acknowledged id once.
    let mut seen = HashSet::new();
    let again: Vec<&str> = all
        .lines()
        .filter(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            let id = v["id"].as_str().unwrap().to_owned();
            acked.contains(&id) && seen.insert(id)
        })
        .collect();
    assert_eq!(again.len(), acked.len());
    let file = dir.join("acked.jsonl");
    std::fs::write(&file, again.join("\n") + "\n").unwrap();
    let out = polku(
        &[
            "ingest",
            &file.display().to_string(),
            "--model",
            &model(),
            "--database",
            &database,
            "--format",
            "json",
        ],
        &dir,
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    let summary: serde_json::Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    assert_eq!(summary["summary"]["accepted"], 0, "an acknowledged event was missing: {text}");
    assert_eq!(summary["summary"]["duplicates"], acked.len() as u64);
}
