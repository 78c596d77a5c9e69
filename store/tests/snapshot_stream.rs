//! A snapshot is written as a stream, a bounded piece at a time, never whole in memory; and
//! the service writes it after answering the batch that made it due, not before.

#![allow(clippy::unwrap_used)] // A test that cannot set up should fail loudly.

mod common;

use std::path::PathBuf;
use std::sync::mpsc::{channel, Receiver};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use polku_engine::event::Event;
use polku_engine::pseudonym::PseudonymKey;
use polku_engine::simulate::{simulate, Options};
use polku_engine::time::Timestamp;
use polku_store::sqlite::SqliteStore;
use polku_store::tracker::{Actor, Tracker};
use polku_store::{Access, EventStore, NewRecord, Record, StoreError, TrackerService};

use common::corpus;

fn key() -> PseudonymKey {
    PseudonymKey::new(vec![7; 32]).unwrap()
}

fn temp(name: &str) -> PathBuf {
    common::temp("snapstream", name)
}

fn events(clients: u32, seed: u64) -> Vec<(usize, Event)> {
    let model = corpus().compile().unwrap();
    let options =
        Options { clients, days: 365, seed, start: Timestamp::parse("2026-01-01").unwrap() };
    let text: String = simulate(&model, "sim", &options)
        .unwrap()
        .iter()
        .map(|e| serde_json::to_string(e).unwrap() + "\n")
        .collect();
    polku_engine::event::parse_numbered_lines(&text, &key()).0
}

/// What the store saw of the snapshots written to it.
#[derive(Debug, Default)]
struct Seen {
    /// The largest piece of a snapshot handed over at once.
    largest_piece: usize,
    /// The bytes of the last snapshot.
    total: usize,
}

/// The real SQLite store, watching how snapshots reach it and, when `gate` is set, holding
/// each snapshot until the test lets it through.
struct Watched {
    inner: SqliteStore,
    seen: Arc<Mutex<Seen>>,
    gate: Option<Receiver<()>>,
}

impl Watched {
    fn wait_at_gate(&mut self) {
        if let Some(gate) = &self.gate {
            let _ = gate.recv();
        }
    }
}

/// Passes writes on, noting their sizes.
struct Counting<'a> {
    out: &'a mut dyn std::io::Write,
    seen: &'a Mutex<Seen>,
}

impl std::io::Write for Counting<'_> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        let n = self.out.write(bytes)?;
        let mut seen = self.seen.lock().unwrap();
        seen.largest_piece = seen.largest_piece.max(n);
        seen.total += n;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

impl EventStore for Watched {
    fn append(&mut self, after: u64, records: &[NewRecord]) -> Result<u64, StoreError> {
        self.inner.append(after, records)
    }
    fn append_logged(
        &mut self,
        after: u64,
        records: &[NewRecord],
        accesses: &[Access],
    ) -> Result<u64, StoreError> {
        self.inner.append_logged(after, records, accesses)
    }
    fn scan(
        &mut self,
        after: u64,
        f: &mut dyn FnMut(Record) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        self.inner.scan(after, f)
    }
    fn last_seq(&mut self) -> Result<u64, StoreError> {
        self.inner.last_seq()
    }
    fn log_epoch(&mut self) -> Result<polku_store::LogEpoch, StoreError> {
        self.inner.log_epoch()
    }
    fn expect_epoch(&mut self, epoch: Option<polku_store::LogEpoch>) {
        self.inner.expect_epoch(epoch)
    }
    fn put_model(&mut self, hash: &str, sources: &str) -> Result<i64, StoreError> {
        self.inner.put_model(hash, sources)
    }
    fn models(&mut self) -> Result<Vec<polku_store::ModelRecord>, StoreError> {
        self.inner.models()
    }
    fn save_snapshot(&mut self, seq: u64, data: &[u8]) -> Result<(), StoreError> {
        // The whole snapshot at once: one piece of its full size.
        self.wait_at_gate();
        *self.seen.lock().unwrap() = Seen { largest_piece: data.len(), total: data.len() };
        self.inner.save_snapshot(seq, data)
    }
    fn save_snapshot_with(
        &mut self,
        seq: u64,
        len: u64,
        write: &mut dyn FnMut(&mut dyn std::io::Write) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        self.wait_at_gate();
        *self.seen.lock().unwrap() = Seen::default();
        let seen = self.seen.clone();
        self.inner
            .save_snapshot_with(seq, len, &mut |out| write(&mut Counting { out, seen: &seen }))
    }
    fn read_snapshot(
        &mut self,
        f: &mut polku_store::SnapshotReader<'_>,
    ) -> Result<bool, StoreError> {
        self.inner.read_snapshot(f)
    }
    fn scan_access_log(
        &mut self,
        after: u64,
        f: &mut polku_store::AccessRows<'_>,
    ) -> Result<(), StoreError> {
        self.inner.scan_access_log(after, f)
    }
    fn log_access(&mut self, access: &Access) -> Result<(), StoreError> {
        self.inner.log_access(access)
    }
    fn log_accesses(&mut self, accesses: &[Access]) -> Result<(), StoreError> {
        self.inner.log_accesses(accesses)
    }
    fn access_log(
        &mut self,
        client: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Access>, StoreError> {
        self.inner.access_log(client, limit)
    }
    fn schema_version(&mut self) -> Result<i64, StoreError> {
        self.inner.schema_version()
    }
    fn meta(&mut self, key: &str) -> Result<Option<String>, StoreError> {
        self.inner.meta(key)
    }
    fn set_meta(&mut self, key: &str, value: &str) -> Result<(), StoreError> {
        self.inner.set_meta(key, value)
    }
    fn marker_runs(
        &mut self,
        rules: &str,
    ) -> Result<Vec<polku_store::markers::MarkerRun>, polku_store::StoreError> {
        self.inner.marker_runs(rules)
    }
    fn marker_generation(&mut self, rules: &str) -> Result<i64, polku_store::StoreError> {
        self.inner.marker_generation(rules)
    }
    fn marker_as_of(
        &mut self,
        rules: &str,
        day: i64,
        f: &mut dyn FnMut(polku_store::ClientKey, &str),
    ) -> Result<(), polku_store::StoreError> {
        self.inner.marker_as_of(rules, day, f)
    }
    fn marker_changes_on(
        &mut self,
        rules: &str,
        day: i64,
        f: &mut dyn FnMut(polku_store::ClientKey, &str),
    ) -> Result<(), polku_store::StoreError> {
        self.inner.marker_changes_on(rules, day, f)
    }
    fn write_markers(
        &mut self,
        write: &polku_store::markers::MarkerWrite,
    ) -> Result<(), polku_store::StoreError> {
        self.inner.write_markers(write)
    }

    fn keep_answers(
        &mut self,
        kept: &polku_store::answers::KeptAnswers,
    ) -> Result<(), polku_store::StoreError> {
        self.inner.keep_answers(kept)
    }
    fn kept_answers(
        &mut self,
        case: &str,
        now: i64,
    ) -> Result<Vec<polku_store::answers::KeptAnswers>, polku_store::StoreError> {
        self.inner.kept_answers(case, now)
    }
    fn forget_answers(&mut self, now: i64) -> Result<u64, polku_store::StoreError> {
        self.inner.forget_answers(now)
    }
}

fn open_watched(path: &std::path::Path, gate: Option<Receiver<()>>) -> (Tracker, Arc<Mutex<Seen>>) {
    let sources = corpus();
    let model = sources.compile().unwrap();
    let seen = Arc::new(Mutex::new(Seen::default()));
    let store = Watched { inner: SqliteStore::open(path).unwrap(), seen: seen.clone(), gate };
    (Tracker::open(Box::new(store), &sources, &model, key()).unwrap(), seen)
}

#[test]
fn a_snapshot_reaches_the_store_in_bounded_pieces_and_reads_back() {
    let dir = temp("pieces");
    let db = dir.join("p.sqlite");
    let (mut tracker, seen) = open_watched(&db, None);
    let actor = Actor::new("testi", "järjestelmä");
    let events = events(3000, 5);
    tracker
        .ingest(events.into_iter().map(|(l, e)| (l, e, None)), 1000, &actor, &mut |_| {})
        .unwrap();
    let digest = tracker.projection.digest();
    tracker.save_snapshot().unwrap();
    let seen = std::mem::take(&mut *seen.lock().unwrap());
    let size = polku_store::snapshot::encoded_len(&tracker.projection) as usize;
    assert_eq!(seen.total, size, "the whole snapshot was written");
    // Several pieces of at most about a mebibyte each: never the snapshot whole.
    assert!(size > 2 << 20, "the snapshot is large enough to tell ({size} bytes)");
    assert!(seen.largest_piece <= 1 << 20, "a piece of {} bytes", seen.largest_piece);
    drop(tracker);
    // It reads back to the same state, from the snapshot alone.
    let sources = corpus();
    let store = polku_store::open(&format!("sqlite://{}", db.display())).unwrap();
    let mut tracker = Tracker::open(store, &sources, &sources.compile().unwrap(), key()).unwrap();
    let info = tracker.info().unwrap();
    assert_eq!(info.snapshot_seq, info.log_seq);
    assert_eq!(tracker.projection.digest(), digest);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_service_answers_the_batch_that_makes_a_snapshot_due_before_writing_it() {
    let dir = temp("service");
    let (gate_open, gate) = channel();
    let (tracker, _) = open_watched(&dir.join("p.sqlite"), Some(gate));
    let service = TrackerService::with_snapshots(tracker, 10);
    let actor = Actor::new("testi", "järjestelmä");
    let batch: Vec<Event> = events(20, 6).into_iter().map(|(_, e)| e).take(50).collect();
    // The snapshot is held at the gate: the batch must be answered all the same.
    let (answer, answered) = channel();
    let sender = service.clone();
    std::thread::spawn(move || {
        let _ = answer.send(sender.append(batch, &Actor::new("testi", "järjestelmä"), &|_| true));
    });
    let result = answered
        .recv_timeout(Duration::from_secs(20))
        .expect("the batch was answered while its snapshot waited")
        .unwrap();
    assert!(result.stored >= 10, "{result:?}");
    // Then the snapshot is written, after the batch.
    gate_open.send(()).unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let info = service.info().unwrap();
        if info.snapshot_seq == result.seq {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "no snapshot was written: {info:?}");
        std::thread::sleep(Duration::from_millis(10));
    }
    drop(actor);
    let _ = std::fs::remove_dir_all(&dir);
}
