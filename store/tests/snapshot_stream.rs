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
    /// The parts of snapshots written in parts, and the appends, in the order written:
    /// "part N", "finish", "append".
    writes: Vec<String>,
}

/// The real SQLite store, watching how snapshots reach it and, when `gate` is set, holding
/// each snapshot until the test lets it through.
struct Watched {
    inner: SqliteStore,
    seen: Arc<Mutex<Seen>>,
    gate: Option<Receiver<()>>,
    /// The part of a snapshot written in parts that waits at the gate.
    gate_at: u32,
    /// Told when a snapshot reaches the gate.
    reached: Option<std::sync::mpsc::Sender<()>>,
}

impl Watched {
    /// Once: a snapshot after the first goes through.
    fn wait_at_gate(&mut self) {
        if let Some(reached) = self.reached.take() {
            let _ = reached.send(());
        }
        if let Some(gate) = self.gate.take() {
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
        if !records.is_empty() {
            self.seen.lock().unwrap().writes.push("append".into());
        }
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
        *self.seen.lock().unwrap() =
            Seen { largest_piece: data.len(), total: data.len(), writes: Vec::new() };
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
    fn save_snapshot_part(
        &mut self,
        build: Option<u64>,
        part: u32,
        data: &[u8],
    ) -> Result<u64, StoreError> {
        if part == self.gate_at {
            self.wait_at_gate();
        }
        {
            let mut seen = self.seen.lock().unwrap();
            if part == 0 {
                seen.largest_piece = 0;
                seen.total = 0;
            }
            seen.largest_piece = seen.largest_piece.max(data.len());
            seen.total += data.len();
            seen.writes.push(format!("part {part}"));
        }
        self.inner.save_snapshot_part(build, part, data)
    }
    fn finish_snapshot(
        &mut self,
        build: u64,
        parts: u32,
        seq: u64,
        len: u64,
        chain: &polku_store::chain::Hash,
    ) -> Result<(), StoreError> {
        self.seen.lock().unwrap().writes.push("finish".into());
        self.inner.finish_snapshot(build, parts, seq, len, chain)
    }
    fn chain_at(&mut self, seq: u64) -> Result<polku_store::chain::Hash, StoreError> {
        self.inner.chain_at(seq)
    }
    fn abandon_snapshot(&mut self, build: u64) -> Result<(), StoreError> {
        self.inner.abandon_snapshot(build)
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
    let store = Watched {
        inner: SqliteStore::open(path).unwrap(),
        seen: seen.clone(),
        gate,
        gate_at: 0,
        reached: None,
    };
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
    tracker.set_snapshot_part(1 << 20);
    tracker.save_snapshot().unwrap();
    let seen = std::mem::take(&mut *seen.lock().unwrap());
    let size = polku_store::snapshot::encoded_len(&tracker.projection) as usize;
    assert_eq!(seen.total, size, "the whole snapshot was written");
    // Several parts of at most a mebibyte each, each a write of its own: never the snapshot
    // whole.
    assert!(size > 2 << 20, "the snapshot is large enough to tell ({size} bytes)");
    assert!(seen.largest_piece <= 1 << 20, "a part of {} bytes", seen.largest_piece);
    let parts = seen.writes.iter().filter(|w| w.starts_with("part")).count();
    assert_eq!(parts, size.div_ceil(1 << 20), "{:?}", seen.writes);
    assert_eq!(seen.writes.last().map(String::as_str), Some("finish"));
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

/// Runs `work` on a thread of its own and answers what it returned, or `None` when it took
/// longer than `limit` (it may still be running then).
fn within<T: Send + 'static>(
    limit: Duration,
    work: impl FnOnce() -> T + Send + 'static,
) -> Option<T> {
    let (answer, answered) = channel();
    std::thread::spawn(move || {
        let _ = answer.send(work());
    });
    answered.recv_timeout(limit).ok()
}

/// The state's last record and digest, read on a thread of its own; `None` when that took
/// longer than `limit` (the state was held).
fn state_within(service: &TrackerService, limit: Duration) -> Option<(u64, u64)> {
    let reader = service.clone();
    within(limit, move || reader.with(|t| (t.log_seq(), t.projection.digest())))
}

/// The newest snapshot in `store`: the record it was taken after, and the state it holds.
fn stored_snapshot(store: &mut dyn EventStore) -> (u64, polku_engine::projection::Projection) {
    let model = corpus().compile().unwrap();
    let mut found = None;
    store
        .read_snapshot(&mut |seq, _, data| {
            let projection =
                polku_store::snapshot::decode(data, &mut |_| Ok(model.clone())).unwrap();
            found = Some((seq, projection));
            Ok(())
        })
        .unwrap();
    found.expect("a snapshot was stored")
}

/// Sends `batch` on a thread of its own and waits until the state has applied it (its digest is
/// no longer `digest`); the thread answers the batch once it is acknowledged.
fn send_until_applied(
    service: &TrackerService,
    batch: Vec<Event>,
    digest: u64,
) -> std::thread::JoinHandle<
    Result<polku_store::service::BatchResult, polku_store::tracker::TrackerError>,
> {
    let sender = service.clone();
    let answer = std::thread::spawn(move || {
        sender.append(batch, &Actor::new("testi", "järjestelmä"), &|_| true)
    });
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while service.with(|t| t.projection.digest()) == digest {
        assert!(std::time::Instant::now() < deadline, "the batch was never applied");
        std::thread::sleep(Duration::from_millis(5));
    }
    answer
}

/// The state is held only while a snapshot is taken, not while it is encoded and written: a
/// request that needs the state is answered, and a batch is applied, while the snapshot waits
/// for the store. The snapshot still holds the state as it was when taken: after the record it
/// names, without the batch applied since.
#[test]
fn the_state_is_not_held_while_its_snapshot_is_written_and_the_snapshot_is_of_when_it_was_taken() {
    let dir = temp("not-held");
    let db = dir.join("p.sqlite");
    let sources = corpus();
    let (gate_open, gate) = channel();
    let (reached, at_gate) = channel();
    let store = Watched {
        inner: SqliteStore::open(&db).unwrap(),
        seen: Arc::default(),
        gate: Some(gate),
        gate_at: 0,
        reached: Some(reached),
    };
    let tracker =
        Tracker::open(Box::new(store), &sources, &sources.compile().unwrap(), key()).unwrap();
    let service = TrackerService::with_snapshots(tracker, 40);
    let actor = Actor::new("testi", "järjestelmä");
    // The first batch makes a snapshot due; the second, smaller, does not make another.
    let all: Vec<Event> = events(20, 8).into_iter().map(|(_, e)| e).collect();
    let (first, second) = (all[..60].to_vec(), all[60..90].to_vec());
    let stored = service.append(first, &actor, &|_| true).unwrap();
    assert!(stored.stored >= 40, "{stored:?}");
    // The snapshot that batch made due has reached the store, and waits there.
    at_gate.recv_timeout(Duration::from_secs(20)).expect("the snapshot reached the store");
    let (seq, digest) = state_within(&service, Duration::from_secs(5))
        .expect("the state was held while its snapshot waited for the store");
    assert_eq!(seq, stored.seq);
    // A batch is applied meanwhile (its answer waits for the writer, which the snapshot holds
    // here: SQLite writes one thing at a time).
    let second_answer = send_until_applied(&service, second, digest);
    gate_open.send(()).unwrap();
    let second = second_answer.join().unwrap().unwrap();
    assert!(second.stored > 0 && second.seq > seq, "{second:?}");
    service.wait_for_snapshot();
    let final_digest = service.with(|t| t.projection.digest());
    drop(service);
    let mut store = SqliteStore::open(&db).unwrap();
    let (snapshot_seq, state) = stored_snapshot(&mut store);
    assert_eq!(snapshot_seq, seq, "the snapshot names the record it was taken after");
    assert_eq!(state.digest(), digest, "the snapshot holds the state as it was when taken");
    assert_eq!(state.events, seq);
    // Opened again: the snapshot and the log after it make the state as it ended.
    let mut tracker =
        Tracker::open(Box::new(store), &sources, &sources.compile().unwrap(), key()).unwrap();
    assert_eq!(tracker.info().unwrap().snapshot_seq, seq);
    assert_eq!(tracker.projection.digest(), final_digest);
    let _ = std::fs::remove_dir_all(&dir);
}

/// On SQLite a snapshot is written a part at a time through the writer, each part a write of
/// its own: a batch that reaches the writer while a part is being written is written before the
/// next part, not after the whole snapshot. The snapshot kept is whole, and of the state when it
/// was taken.
#[test]
fn sqlite_a_batch_is_written_between_the_parts_of_a_snapshot() {
    let dir = temp("parts");
    let db = dir.join("p.sqlite");
    let sources = corpus();
    let (gate_open, gate) = channel();
    let (reached, at_gate) = channel();
    let seen = Arc::new(Mutex::new(Seen::default()));
    let store = Watched {
        inner: SqliteStore::open(&db).unwrap(),
        seen: seen.clone(),
        gate: Some(gate),
        gate_at: 1,
        reached: Some(reached),
    };
    let mut tracker =
        Tracker::open(Box::new(store), &sources, &sources.compile().unwrap(), key()).unwrap();
    // Parts small enough for the snapshot of a few dozen events to take several.
    tracker.set_snapshot_part(4 << 10);
    let service = TrackerService::with_snapshots(tracker, 40);
    let actor = Actor::new("testi", "järjestelmä");
    let all: Vec<Event> = events(20, 8).into_iter().map(|(_, e)| e).collect();
    let (first, second) = (all[..60].to_vec(), all[60..90].to_vec());
    let stored = service.append(first, &actor, &|_| true).unwrap();
    assert!(stored.stored >= 40, "{stored:?}");
    let digest = service.with(|t| t.projection.digest());
    // The snapshot's second part waits at the gate, on the writer thread.
    at_gate.recv_timeout(Duration::from_secs(20)).expect("the snapshot's second part was written");
    // A batch meanwhile: checked, applied and handed to the writer, behind that part.
    let second_answer = send_until_applied(&service, second, digest);
    gate_open.send(()).unwrap();
    let second = second_answer.join().unwrap().unwrap();
    assert!(second.stored > 0 && second.seq > stored.seq, "{second:?}");
    service.wait_for_snapshot();
    let final_digest = service.with(|t| t.projection.digest());
    drop(service);
    let writes = std::mem::take(&mut seen.lock().unwrap().writes);
    let at =
        |w: &str| writes.iter().position(|x| x == w).unwrap_or_else(|| panic!("{w}: {writes:?}"));
    assert!(at("part 2") < at("finish"), "{writes:?}");
    let second_append = writes.iter().rposition(|w| w == "append").unwrap();
    assert!(
        at("part 1") < second_append && second_append < at("part 2"),
        "the batch was written between the snapshot's parts: {writes:?}"
    );
    let mut store = SqliteStore::open(&db).unwrap();
    let (snapshot_seq, state) = stored_snapshot(&mut store);
    assert_eq!(snapshot_seq, stored.seq, "the snapshot names the record it was taken after");
    assert_eq!(state.digest(), digest, "the snapshot holds the state as it was when taken");
    let mut tracker =
        Tracker::open(Box::new(store), &sources, &sources.compile().unwrap(), key()).unwrap();
    assert_eq!(tracker.info().unwrap().snapshot_seq, stored.seq);
    assert_eq!(tracker.projection.digest(), final_digest);
    let _ = std::fs::remove_dir_all(&dir);
}

/// On PostgreSQL a snapshot is written on a connection of its own: while it waits for the
/// database, the appends after it are answered, and the state can be read. It is stored once it
/// may be, and holds the state it was taken from.
#[test]
fn postgresql_a_snapshot_stops_no_append_while_it_is_written() {
    let Ok(server) = std::env::var("POLKU_TEST_POSTGRES_URL") else {
        eprintln!("POLKU_TEST_POSTGRES_URL is not set: the PostgreSQL test is skipped");
        return;
    };
    let url = common::postgres_database(&server, "snapstream", "beside");
    let sources = corpus();
    let open = || {
        Tracker::open(
            polku_store::open(&url).unwrap(),
            &sources,
            &sources.compile().unwrap(),
            key(),
        )
        .unwrap()
    };
    let service = TrackerService::with_snapshots(open(), 40);
    let actor = Actor::new("testi", "järjestelmä");
    // The first batch makes a snapshot due; the second, smaller, does not make another.
    let all: Vec<Event> = events(20, 9).into_iter().map(|(_, e)| e).collect();
    let (first, second) = (all[..60].to_vec(), all[60..90].to_vec());
    // Snapshot writers take this lock first (the store's advisory lock number for snapshots):
    // held here, the snapshot waits for the database.
    let mut holder = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    let mut held = holder.transaction().unwrap();
    held.execute("SELECT pg_advisory_xact_lock($1)", &[&0x706f_6c6b_7504_i64]).unwrap();
    let stored = service.append(first, &actor, &|_| true).unwrap();
    assert!(stored.stored >= 40, "{stored:?}");
    let mut watch = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    let since = std::time::Instant::now();
    while watch
        .query_one(
            // The snapshots' lock, in this test's database: 0x706f_6c6b_7504 as its two halves.
            "SELECT COUNT(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted
             AND classid = 28783 AND objid = 1818981636
             AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
            &[],
        )
        .unwrap()
        .get::<_, i64>(0)
        == 0
    {
        assert!(since.elapsed() < Duration::from_secs(30), "the snapshot never waited");
        std::thread::sleep(Duration::from_millis(20));
    }
    let (seq, digest) = state_within(&service, Duration::from_secs(5))
        .expect("the state was held while its snapshot waited for the database");
    assert_eq!(seq, stored.seq);
    let sender = service.clone();
    let second = within(Duration::from_secs(10), move || {
        sender.append(second, &Actor::new("testi", "järjestelmä"), &|_| true)
    })
    .expect("an append waited for the snapshot")
    .unwrap();
    assert!(second.stored > 0 && second.seq > seq, "{second:?}");
    held.commit().unwrap();
    service.wait_for_snapshot();
    let final_digest = service.with(|t| t.projection.digest());
    drop(service);
    let mut store = polku_store::open(&url).unwrap();
    let (snapshot_seq, state) = stored_snapshot(store.as_mut());
    assert_eq!(snapshot_seq, seq, "the snapshot names the record it was taken after");
    assert_eq!(state.digest(), digest, "the snapshot holds the state as it was when taken");
    let mut tracker = open();
    assert_eq!(tracker.info().unwrap().snapshot_seq, seq);
    assert_eq!(tracker.projection.digest(), final_digest);
}

/// A tracker on a new database of the server `POLKU_TEST_POSTGRES_URL` names, with 200 events
/// of a simulated year (`seed`) stored; `None` when no server is named.
fn postgres_tracker(name: &str, seed: u64) -> Option<(String, Tracker)> {
    let Ok(server) = std::env::var("POLKU_TEST_POSTGRES_URL") else {
        eprintln!("POLKU_TEST_POSTGRES_URL is not set: the PostgreSQL test is skipped");
        return None;
    };
    let url = common::postgres_database(&server, "snapstream", name);
    let sources = corpus();
    let mut tracker = Tracker::open(
        polku_store::open(&url).unwrap(),
        &sources,
        &sources.compile().unwrap(),
        key(),
    )
    .unwrap();
    let actor = Actor::new("testi", "järjestelmä");
    tracker
        .ingest(
            events(20, seed).into_iter().take(200).map(|(l, e)| (l, e, None)),
            100,
            &actor,
            &mut |_| {},
        )
        .unwrap();
    Some((url, tracker))
}

/// Asserts that a snapshot's store was refused because the log was rewritten since it was
/// taken (`stored` says so otherwise), and that the database at `url` keeps no snapshot.
fn refused_as_rewritten(
    url: &str,
    refused: Result<polku_store::tracker::StoredSnapshot, polku_store::tracker::TrackerError>,
    stored: &str,
) {
    assert!(
        refused.as_ref().is_err_and(|e| e.to_string().contains("rewritten")),
        "{stored}: {refused:?}"
    );
    let mut store = polku_store::open(url).unwrap();
    assert!(!store.read_snapshot(&mut |_, _, _| Ok(())).unwrap(), "no snapshot is kept");
}

/// A snapshot written beside the writer is stored only while the log holds, at its row, the
/// chain's hash the state has there: here the row is changed after the snapshot was taken (as
/// when the database lost it in a restart and another server wrote that row anew), and the
/// snapshot is refused instead of being stored over a log it does not describe.
#[test]
fn postgresql_a_snapshot_is_not_stored_over_a_row_that_no_longer_holds_the_state_s_chain() {
    let Some((url, mut tracker)) = postgres_tracker("anchor", 10) else { return };
    let pending = tracker.snapshot_later().unwrap();
    let seq = pending.seq();
    assert!(seq > 0);
    // A request of the writer's after the snapshot's: the writer has read the row's hash.
    tracker.info().unwrap();
    let mut other = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    other
        .execute(
            "UPDATE events SET hash = decode(repeat('ab', 32), 'hex') WHERE seq = $1",
            &[&(seq as i64)],
        )
        .unwrap();
    refused_as_rewritten(&url, pending.store(), "the snapshot was stored over a changed row");
}

/// On PostgreSQL a snapshot taken before another process compacts the log is not stored after
/// it: the expired clients' data it holds would outlive the compaction, over a log it no longer
/// describes.
#[test]
fn postgresql_a_snapshot_taken_before_another_process_s_compaction_is_not_stored() {
    let Some((url, mut tracker)) = postgres_tracker("compacted", 11) else { return };
    let pending = tracker.snapshot_later().unwrap();
    assert!(pending.seq() > 0);
    // Another process removes expired data before the snapshot is stored.
    let mut other = polku_store::open(&url).unwrap();
    let last = other.last_seq().unwrap();
    let at = other.chain_at(last).unwrap();
    let mut kept = Vec::new();
    other
        .scan(0, &mut |r| {
            if kept.len() < 10 {
                kept.push(NewRecord { model: r.model, body: r.body });
            }
            Ok(())
        })
        .unwrap();
    other
        .compact(&polku_store::Compaction {
            at: "2026-12-04T00:00:00Z".into(),
            after: (last, polku_store::chain::hex(&at)),
            keep: kept,
            ..Default::default()
        })
        .unwrap();
    refused_as_rewritten(&url, pending.store(), "a snapshot from before the compaction was stored");
}
