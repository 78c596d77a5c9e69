//! The tracker over a real SQLite file: ingest, restart from the log and from a snapshot,
//! model versions, the access log, and no personal identity code anywhere on disk.

#![allow(clippy::unwrap_used)] // A test that cannot set up should fail loudly.

mod common;

use std::path::{Path, PathBuf};

use polku_dsl::Lang;
use polku_engine::event::Event;
use polku_engine::model::Model;
use polku_engine::projection::Projection;
use polku_engine::pseudonym::PseudonymKey;
use polku_engine::simulate::{simulate, Options};
use polku_engine::time::Timestamp;
use polku_store::tracker::{Actor, ModelSources, Tracker};

use common::corpus;

fn key() -> PseudonymKey {
    PseudonymKey::new(vec![7; 32]).unwrap()
}

fn temp(name: &str) -> PathBuf {
    common::temp("tracker", name)
}

fn actor() -> Actor {
    Actor::new("testi", "terveydenhoitaja")
}

/// A simulated stream as `polku ingest` would read it: clients pseudonymised on the way in.
fn stream(model: &Model, clients: u32, seed: u64) -> (Vec<(usize, Event)>, Vec<String>) {
    let options =
        Options { clients, days: 365, seed, start: Timestamp::parse("2026-01-01").unwrap() };
    let events = simulate(model, "sim", &options).unwrap();
    let text: String = events.iter().map(|e| serde_json::to_string(e).unwrap() + "\n").collect();
    let codes = events
        .iter()
        .filter_map(|e| match &e.kind {
            polku_engine::event::EventKind::CaseOpened { client, .. } => Some(client.clone()),
            _ => None,
        })
        .collect();
    let (parsed, bad) = polku_engine::event::parse_numbered_lines(&text, &key());
    assert!(bad.is_empty(), "{bad:?}");
    (parsed, codes)
}

/// `sources` with `from` replaced by `to` in the 5th-grade check's file (where it must be).
fn edited(sources: &ModelSources, from: &str, to: &str) -> ModelSources {
    let mut files = sources.files.clone();
    for (name, text) in &mut files {
        if name == "kth_laaja_5lk.polku" {
            assert!(text.contains(from), "{from}");
            *text = text.replacen(from, to, 1);
        }
    }
    ModelSources::new(files)
}

fn open(path: &Path, sources: &ModelSources) -> Tracker {
    let model = sources.compile().unwrap();
    let store = polku_store::open(&format!("sqlite://{}", path.display())).unwrap();
    Tracker::open(store, sources, &model, key()).unwrap()
}

/// The ids of the events the log at `db` holds after row `after`, in order.
fn logged_ids(db: &Path, after: u64) -> Vec<String> {
    let mut store = polku_store::open(&format!("sqlite://{}", db.display())).unwrap();
    let mut ids = Vec::new();
    store
        .scan(after, &mut |r| {
            let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
            ids.push(v["id"].as_str().unwrap().to_owned());
            Ok(())
        })
        .unwrap();
    ids
}

/// Retention rules that remove the cases closed more than a year before 2026-12-01, and that
/// day.
fn closed_a_year() -> (polku_store::tracker::Retention, i64) {
    let rules = polku_store::tracker::Retention {
        closed_case_years: Some(1),
        unit_years: Default::default(),
        access_log_years: None,
    };
    (rules, Timestamp::parse("2026-12-01").unwrap().0)
}

/// The state of `events` applied one after another to a fresh projection, those it refuses
/// left out: what a log of exactly them rebuilds.
fn replay<'a>(
    sources: &ModelSources,
    model: &Model,
    events: impl IntoIterator<Item = &'a (usize, Event)>,
) -> Projection {
    let mut direct = Projection::new(&sources.hash(), model).unwrap();
    for (_, e) in events {
        if direct.check(e) == Ok(true) {
            direct.apply(e, 0);
        }
    }
    direct
}

#[test]
fn restart_from_the_log_or_a_snapshot_recovers_the_same_state() {
    let sources = corpus();
    let model = sources.compile().unwrap();
    let (events, codes) = stream(&model, 300, 11);
    let dir = temp("restart");
    let db = dir.join("p.sqlite");
    let mut tracker = open(&db, &sources);
    let (first, rest) = events.split_at(events.len() / 2);
    let mut acks = Vec::new();
    let (ack, refusals) = tracker
        .ingest(first.iter().cloned().map(|(l, e)| (l, e, None)), 100, &actor(), &mut |a| {
            acks.push(*a)
        })
        .unwrap();
    assert!(refusals.is_empty(), "{refusals:?}");
    assert!(acks.windows(2).all(|w| w[0].line < w[1].line && w[0].seq <= w[1].seq));
    assert_eq!(acks.last().copied(), Some(ack));
    let digest = tracker.projection.digest();
    drop(tracker);

    // From the log alone.
    let mut tracker = open(&db, &sources);
    assert_eq!(tracker.projection.digest(), digest);
    assert_eq!(tracker.info().unwrap().log_seq, ack.seq);
    tracker.save_snapshot().unwrap();
    tracker
        .ingest(rest.iter().cloned().map(|(l, e)| (l, e, None)), 100, &actor(), &mut |_| {})
        .unwrap();
    let digest = tracker.projection.digest();
    // The same events straight into a projection, without the store.
    let mut direct = replay(&sources, &model, &events);
    assert_eq!(direct.digest(), digest);
    drop(tracker);

    // From the snapshot and the log after it.
    let mut tracker = open(&db, &sources);
    let info = tracker.info().unwrap();
    assert!(info.snapshot_seq > 0 && info.snapshot_seq < info.log_seq, "{info:?}");
    assert_eq!(tracker.projection.digest(), digest);
    // Statuses agree too, case by case.
    for case in direct.cases.iter().take(50).map(|c| c.id.clone()).collect::<Vec<_>>() {
        let now = Timestamp::parse("2026-12-31").unwrap().0;
        assert_eq!(
            tracker.projection.case_status(&case, now, Lang::Fi),
            direct.case_status(&case, now, Lang::Fi)
        );
    }
    // A damaged snapshot is not trusted: the log rebuilds the state.
    let conn_path = db.clone();
    drop(tracker);
    {
        let mut store = polku_store::sqlite::SqliteStore::open(&conn_path).unwrap();
        use polku_store::EventStore;
        store.save_snapshot(info.log_seq, b"POLKUSN3 broken").unwrap();
    }
    let tracker = open(&db, &sources);
    assert_eq!(tracker.projection.digest(), digest);

    // No personal identity code is anywhere on disk.
    drop(tracker);
    for entry in std::fs::read_dir(&dir).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        for code in codes.iter().take(200) {
            assert!(!text.contains(code.as_str()), "{code} found on disk");
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn incremental_state_equals_a_replay_of_each_case() {
    let sources = corpus();
    let model = sources.compile().unwrap();
    let (events, _) = stream(&model, 400, 5);
    let mut p = Projection::new("v", &model).unwrap();
    for (_, e) in &events {
        if p.check(e) == Ok(true) {
            p.apply(e, 0);
        }
    }
    let mut compared = 0;
    for i in 0..p.cases.len() {
        let case = p.cases[i].clone();
        let Some(rt) = &case.rt else { continue };
        let exec = &mut p.versions[usize::from(case.version)].execs[usize::from(case.exec)];
        let replayed = polku_engine::case::replay(exec, case.opening, &case.events, None);
        assert_eq!(&replayed, rt, "case {}", case.id);
        compared += 1;
    }
    assert!(compared > 400, "{compared}");
}

#[test]
fn cases_stay_on_the_model_version_they_started_under() {
    let sources = corpus();
    let model = sources.compile().unwrap();
    let (events, codes) = stream(&model, 20, 2);
    let dir = temp("versions");
    let db = dir.join("p.sqlite");
    let mut tracker = open(&db, &sources);
    tracker
        .ingest(events.into_iter().map(|(l, e)| (l, e, None)), 50, &actor(), &mut |_| {})
        .unwrap();
    drop(tracker);
    // A new version of the model: one step's duration changed.
    let v2 = edited(&sources, "kesto 45 min", "kesto 50 min");
    assert_ne!(v2.hash(), sources.hash());
    let mut tracker = open(&db, &v2);
    let status = tracker
        .client_status(&codes[0], &actor(), Timestamp::parse("2026-12-31").unwrap().0, Lang::En)
        .unwrap()
        .unwrap();
    assert!(status.cases.iter().all(|c| c.model_version == sources.hash()));
    assert_eq!(tracker.info().unwrap().model_versions, 2);
    // Every access to the client was logged, with the pseudonym and never the code.
    let log = tracker.access_log(None, 10).unwrap();
    assert_eq!(log[0].action, "status");
    assert_eq!(log[0].client.as_deref(), Some(status.client.as_str()));
    assert_eq!(log[0].role, "terveydenhoitaja");
    assert!(log.iter().all(|a| a.client.as_deref() != Some(codes[0].as_str())));
    // An invalid code is refused clearly, without repeating it.
    let error = tracker.client_status("131052-308U", &actor(), 0, Lang::En).unwrap_err();
    assert!(error.to_string().contains("check character"), "{error}");
    assert!(!error.to_string().contains("131052"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_second_writer_with_a_stale_state_is_stopped_before_it_writes() {
    let sources = corpus();
    let model = sources.compile().unwrap();
    let (events, _) = stream(&model, 10, 3);
    let dir = temp("writers");
    let db = dir.join("p.sqlite");
    let mut first = open(&db, &sources);
    let mut second = open(&db, &sources);
    let (half, rest) = events.split_at(events.len() / 2);
    let items = |part: &[(usize, Event)]| -> Vec<(usize, Event, Option<String>)> {
        part.iter().cloned().map(|(l, e)| (l, e, None)).collect()
    };
    let (ack, _) = second.ingest(items(half), 20, &actor(), &mut |_| {}).unwrap();
    assert!(ack.accepted > 0);
    let error = first.ingest(items(rest), 20, &actor(), &mut |_| {}).unwrap_err();
    assert!(error.to_string().contains("another process wrote to the database"), "{error}");
    drop((first, second));
    // Nothing of the stale writer's reached the log; the state is exactly the first half.
    let mut reopened = open(&db, &sources);
    assert_eq!(reopened.info().unwrap().log_seq, ack.seq);
    let direct = replay(&sources, &model, half);
    assert_eq!(reopened.projection.digest(), direct.digest());
    let _ = std::fs::remove_dir_all(&dir);
}

/// A snapshot taken while a batch waits for the writer holds that batch's events: when the
/// batch is then refused (another server appended first), the snapshot must not be stored, or
/// the state rebuilt from it (as the server rebuilds after the refusal, or as any server starts)
/// would hold events the log does not, and the batch sent again would be taken for a repeat.
#[test]
fn a_snapshot_taken_beside_a_refused_batch_is_not_stored() {
    let sources = corpus();
    let model = sources.compile().unwrap();
    let (events, _) = stream(&model, 10, 3);
    let (other, _) = stream(&model, 3, 99);
    let dir = temp("snapshot_beside_refused");
    let db = dir.join("p.sqlite");
    let mut first = open(&db, &sources);
    let mut second = open(&db, &sources);
    let items: Vec<(usize, Event, Option<String>)> =
        events.iter().cloned().map(|(l, e)| (l, e, None)).collect();
    let (ack, _) = second.ingest(items, 20, &actor(), &mut |_| {}).unwrap();
    assert!(ack.accepted > 0);
    // The first server, stale, applies a batch and hands it to its writer, as a request does.
    let current = first.projection.current;
    let mut rows = Vec::new();
    for (_, event) in other.iter().take(5) {
        first.projection.accept(event, current).unwrap();
        rows.push(polku_store::NewRecord {
            model: first.current_model(),
            body: polku_engine::event::to_json(event),
        });
    }
    let ticket = first.writer().submit(rows);
    // A snapshot is due meanwhile: it encodes the state with the batch in it.
    let snapshot = first.save_snapshot();
    let refused = ticket.wait().unwrap_err();
    assert!(refused.to_string().contains("another process wrote"), "{refused}");
    assert!(snapshot.is_err(), "a snapshot behind a refused batch was stored");
    drop((first, second));
    // Started again, the state is the log's: the refused batch is nowhere.
    let reopened = open(&db, &sources);
    let direct = replay(&sources, &model, &events);
    assert_eq!(reopened.projection.digest(), direct.digest());
    let _ = std::fs::remove_dir_all(&dir);
}

/// Two services on one database, as two servers, one of them taking a snapshot after every
/// batch, with twelve systems posting to both: the batches one server has refused because the
/// other appended first meet snapshots being taken. Every event answered stored or repeat is
/// in the log, once, and the state started again from the database is the log's. (The race of
/// `a_snapshot_taken_beside_a_refused_batch_is_not_stored` is made there step by step; here the
/// timing decides, and the whole holds.)
#[test]
fn two_services_snapshotting_often_lose_no_answered_event() {
    let sources = corpus();
    let model = sources.compile().unwrap();
    let (events, _) = stream(&model, 60, 11);
    let dir = temp("two_services");
    let db = dir.join("p.sqlite");
    // Only one of them takes snapshots, so that its snapshot is the newest when it rebuilds.
    let services = [
        polku_store::TrackerService::with_snapshots(open(&db, &sources), u64::MAX),
        polku_store::TrackerService::with_snapshots(open(&db, &sources), 1),
    ];
    const WRITERS: usize = 12;
    let mut parts = vec![Vec::new(); WRITERS];
    for (_, e) in &events {
        parts[polku_engine::projection::id_hash(&e.case) as usize % WRITERS].push(e.clone());
    }
    let answered = std::sync::atomic::AtomicU64::new(0);
    std::thread::scope(|scope| {
        for (w, part) in parts.iter().enumerate() {
            let (services, answered) = (&services, &answered);
            scope.spawn(move || {
                let system = Actor::new("testi", "järjestelmä");
                for (k, batch) in part.chunks(20).enumerate() {
                    // A system tries again (on the same server) until it has an answer.
                    let mut tries = 0;
                    let result = loop {
                        match services[(w + k) % 2].append(batch.to_vec(), &system, &|_| true) {
                            Ok(result) => break result,
                            Err(e) => {
                                tries += 1;
                                assert!(tries < 50, "no answer after {tries} tries: {e}");
                            }
                        }
                    };
                    assert_eq!(result.refused + result.conflicts, 0, "{result:?}");
                    assert_eq!(result.stored + result.repeats, batch.len() as u64);
                    answered.fetch_add(batch.len() as u64, std::sync::atomic::Ordering::SeqCst);
                }
            });
        }
    });
    for service in &services {
        service.wait_for_snapshot();
    }
    drop(services);
    let direct = replay(&sources, &model, &events);
    assert_eq!(answered.into_inner(), events.len() as u64);
    // The log holds every event once: as many rows as events taken.
    let mut reopened = open(&db, &sources);
    assert_eq!(
        reopened.info().unwrap().log_seq,
        direct.events,
        "an answered event is not in the log"
    );
    assert_eq!(reopened.projection.digest(), direct.digest());
    let _ = std::fs::remove_dir_all(&dir);
}

/// A hook run once, right after the store's next whole read of the log.
type AfterScan = std::sync::Arc<std::sync::Mutex<Option<Box<dyn FnOnce() + Send>>>>;

/// The real SQLite store, made to fail its `n`-th append (a disk that fills up mid-ingest), or
/// to let another writer append right after it read the whole log.
struct FailingAppend {
    inner: polku_store::sqlite::SqliteStore,
    appends: usize,
    fail_at: usize,
    after_scan: AfterScan,
    /// When given, each append waits for a word on it (or for its sender to be gone).
    hold: Option<std::sync::mpsc::Receiver<()>>,
}

impl polku_store::EventStore for FailingAppend {
    fn append(
        &mut self,
        after: u64,
        records: &[polku_store::NewRecord],
    ) -> Result<u64, polku_store::StoreError> {
        if let Some(hold) = &self.hold {
            let _ = hold.recv();
        }
        self.appends += 1;
        if self.appends == self.fail_at {
            return Err(polku_store::StoreError::Other("disk full".to_owned()));
        }
        self.inner.append(after, records)
    }
    fn scan(
        &mut self,
        after: u64,
        f: &mut dyn FnMut(polku_store::Record) -> Result<(), polku_store::StoreError>,
    ) -> Result<(), polku_store::StoreError> {
        self.inner.scan(after, f)?;
        if after == 0 {
            if let Some(hook) = self.after_scan.lock().unwrap().take() {
                hook();
            }
        }
        Ok(())
    }
    fn last_seq(&mut self) -> Result<u64, polku_store::StoreError> {
        self.inner.last_seq()
    }
    fn compact(
        &mut self,
        c: &polku_store::Compaction,
    ) -> Result<polku_store::CompactionRecord, polku_store::StoreError> {
        self.inner.compact(c)
    }
    fn retained(&mut self) -> Result<Vec<(String, u64)>, polku_store::StoreError> {
        self.inner.retained()
    }
    fn compactions(
        &mut self,
    ) -> Result<Vec<polku_store::CompactionRecord>, polku_store::StoreError> {
        self.inner.compactions()
    }
    fn log_epoch(&mut self) -> Result<polku_store::LogEpoch, polku_store::StoreError> {
        self.inner.log_epoch()
    }
    fn expect_epoch(&mut self, epoch: Option<polku_store::LogEpoch>) {
        self.inner.expect_epoch(epoch)
    }
    fn put_model(&mut self, hash: &str, sources: &str) -> Result<i64, polku_store::StoreError> {
        self.inner.put_model(hash, sources)
    }
    fn models(&mut self) -> Result<Vec<polku_store::ModelRecord>, polku_store::StoreError> {
        self.inner.models()
    }
    fn save_snapshot(&mut self, seq: u64, data: &[u8]) -> Result<(), polku_store::StoreError> {
        self.inner.save_snapshot(seq, data)
    }
    fn read_snapshot(
        &mut self,
        f: &mut polku_store::SnapshotReader<'_>,
    ) -> Result<bool, polku_store::StoreError> {
        self.inner.read_snapshot(f)
    }
    fn save_snapshot_part(
        &mut self,
        build: Option<u64>,
        part: u32,
        data: &[u8],
    ) -> Result<u64, polku_store::StoreError> {
        self.inner.save_snapshot_part(build, part, data)
    }
    fn finish_snapshot(
        &mut self,
        build: u64,
        parts: u32,
        seq: u64,
        len: u64,
        chain: &polku_store::chain::Hash,
    ) -> Result<(), polku_store::StoreError> {
        self.inner.finish_snapshot(build, parts, seq, len, chain)
    }
    fn chain_at(&mut self, seq: u64) -> Result<polku_store::chain::Hash, polku_store::StoreError> {
        self.inner.chain_at(seq)
    }
    fn abandon_snapshot(&mut self, build: u64) -> Result<(), polku_store::StoreError> {
        self.inner.abandon_snapshot(build)
    }
    fn log_access(&mut self, access: &polku_store::Access) -> Result<(), polku_store::StoreError> {
        self.inner.log_access(access)
    }
    fn scan_access_log(
        &mut self,
        after: u64,
        f: &mut polku_store::AccessRows<'_>,
    ) -> Result<(), polku_store::StoreError> {
        self.inner.scan_access_log(after, f)
    }
    fn access_log(
        &mut self,
        client: Option<&str>,
        limit: usize,
    ) -> Result<Vec<polku_store::Access>, polku_store::StoreError> {
        self.inner.access_log(client, limit)
    }
    fn schema_version(&mut self) -> Result<i64, polku_store::StoreError> {
        self.inner.schema_version()
    }
    fn meta(&mut self, key: &str) -> Result<Option<String>, polku_store::StoreError> {
        self.inner.meta(key)
    }
    fn set_meta(&mut self, key: &str, value: &str) -> Result<(), polku_store::StoreError> {
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

#[test]
fn after_a_failed_commit_the_state_is_the_log_and_a_retry_stores_everything() {
    let sources = corpus();
    let model = sources.compile().unwrap();
    let (events, _) = stream(&model, 40, 6);
    let dir = temp("failing");
    let db = dir.join("p.sqlite");
    let store = FailingAppend {
        inner: polku_store::sqlite::SqliteStore::open(&db).unwrap(),
        appends: 0,
        fail_at: 2,
        after_scan: AfterScan::default(),
        hold: None,
    };
    let mut tracker = Tracker::open(Box::new(store), &sources, &model, key()).unwrap();
    let items = || events.iter().cloned().map(|(l, e)| (l, e, None)).collect::<Vec<_>>();
    let mut acked = 0;
    let error = tracker.ingest(items(), 10, &actor(), &mut |a| acked = a.line).unwrap_err();
    assert!(error.to_string().contains("disk full"), "{error}");
    // The projection is what the log holds, nothing more.
    let stored = tracker.info().unwrap().log_seq;
    let mut direct = Projection::new(&sources.hash(), &model).unwrap();
    for (_, e) in &events {
        if direct.events == stored {
            break;
        }
        if direct.check(e) == Ok(true) {
            direct.apply(e, 0);
        }
    }
    assert_eq!(tracker.projection.digest(), direct.digest());
    assert!(acked > 0 && stored > 0);
    // The same events again: what was lost is stored now, nothing twice.
    tracker.ingest(items(), 10, &actor(), &mut |_| {}).unwrap();
    let whole = replay(&sources, &model, &events);
    assert_eq!(tracker.projection.digest(), whole.digest());
    drop(tracker);
    assert_eq!(open(&db, &sources).projection.digest(), whole.digest());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_database_refuses_another_pseudonym_key() {
    let sources = corpus();
    let model = sources.compile().unwrap();
    let dir = temp("key");
    let db = dir.join("p.sqlite");
    drop(open(&db, &sources));
    let store = polku_store::open(&format!("sqlite://{}", db.display())).unwrap();
    let other = PseudonymKey::new(vec![8; 32]).unwrap();
    let error = Tracker::open(store, &sources, &model, other).unwrap_err();
    assert!(error.to_string().contains("pseudonym key is not the one"), "{error}");
    drop(open(&db, &sources));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_model_version_keeps_its_language_version_and_a_newer_one_is_refused_by_name() {
    let sources = common::corpus();
    assert_eq!(sources.language, polku_dsl::LANGUAGE_VERSION);
    // Stored before the language version was kept: the first.
    let old: ModelSources = serde_json::from_str(r#"{"files":[]}"#).unwrap();
    assert_eq!((old.language, old.note.as_str(), old.stored.as_str()), (1, "", ""));
    let newer = ModelSources { language: polku_dsl::LANGUAGE_VERSION + 1, ..sources.clone() };
    let refused = newer.compile().unwrap_err().to_string();
    assert!(
        refused.contains(&format!("language version {}", polku_dsl::LANGUAGE_VERSION + 1)),
        "{refused}"
    );
    // The note and the time are not content: the hash stays.
    let noted = ModelSources {
        note: "uusi".into(),
        stored: "2026-12-02T10:00:00Z".into(),
        ..sources.clone()
    };
    assert_eq!(noted.hash(), sources.hash());
}

/// Retention reads the whole log without holding its lock: events another server appends
/// before the compaction is written are kept (read after it, under the check that they go on
/// from the rows read), never removed with the expired cases.
#[test]
fn retention_keeps_the_events_another_server_appends_while_it_reads() {
    let sources = corpus();
    let model = sources.compile().unwrap();
    let simulated = |prefix: &str, start: &str, seed: u64| {
        let options =
            Options { clients: 12, days: 200, seed, start: Timestamp::parse(start).unwrap() };
        let parsed = common::simulated(&model, prefix, &options, &key());
        parsed.into_iter().map(|(l, e)| (l, e, None)).collect::<Vec<_>>()
    };
    // Cases of 2023, closed long enough ago to go, and another server's of this year.
    let old = simulated("vanha", "2023-01-01", 4);
    let new = simulated("uusi", "2026-06-01", 5);
    let dir = temp("retention_meanwhile");
    let db = dir.join("p.sqlite");
    let after_scan = AfterScan::default();
    let store = FailingAppend {
        inner: polku_store::sqlite::SqliteStore::open(&db).unwrap(),
        appends: 0,
        fail_at: 0,
        after_scan: after_scan.clone(),
        hold: None,
    };
    let mut tracker = Tracker::open(Box::new(store), &sources, &model, key()).unwrap();
    tracker.ingest(old, 50, &actor(), &mut |_| {}).unwrap();
    // The ids of the events the other server stored (and was answered for).
    let stored = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let (db_path, sources_copy, written) = (db.clone(), sources.clone(), stored.clone());
    *after_scan.lock().unwrap() = Some(Box::new(move || {
        let mut other = open(&db_path, &sources_copy);
        let before = other.info().unwrap().log_seq;
        let (ack, _) = other.ingest(new.into_iter().take(40), 20, &actor(), &mut |_| {}).unwrap();
        assert!(ack.accepted > 0 && ack.seq > before);
        written.lock().unwrap().extend(logged_ids(&db_path, before));
    }));
    let (rules, now) = closed_a_year();
    let report = tracker.retain(&rules, now, false, &actor()).unwrap();
    assert!(report.cases > 0 && report.compaction.is_some(), "{report:?}");
    assert!(after_scan.lock().unwrap().is_none(), "the other server wrote during the run");
    drop(tracker);
    // Every event the other server was answered for is in the log.
    let ids: std::collections::HashSet<String> = logged_ids(&db, 0).into_iter().collect();
    let stored = stored.lock().unwrap().clone();
    assert!(!stored.is_empty());
    let missing: Vec<&String> = stored.iter().filter(|id| !ids.contains(*id)).collect();
    assert!(missing.is_empty(), "removed by the retention run: {missing:?}");
    let mut store = polku_store::open(&format!("sqlite://{}", db.display())).unwrap();
    assert!(polku_store::chain::verify(store.as_mut()).unwrap().intact());
    let _ = std::fs::remove_dir_all(&dir);
}

/// Three servers read the log; another removes the closed cases (a compaction) and stores new
/// events until the log has grown back to where the three read it to end, and past it. None
/// writes, follows or removes from the rewritten log as if it were the one it read: the
/// first's append is refused as stale and its state rebuilt before it is tried again; the
/// second's catching up fails and rebuilds; the third's retention run reads the state again
/// and finds nothing more to remove. They then hold the log's state.
#[test]
fn servers_from_before_another_s_compaction_rebuild_when_the_log_grows_back() {
    let sources = corpus();
    let model = sources.compile().unwrap();
    let simulated = |prefix: &str, start: &str, clients: u32, seed: u64| {
        let options = Options { clients, days: 200, seed, start: Timestamp::parse(start).unwrap() };
        let parsed = common::simulated(&model, prefix, &options, &key());
        parsed.into_iter().map(|(l, e)| (l, e, None)).collect::<Vec<_>>()
    };
    // Cases of 2023, closed long enough ago to go; new ones of this year.
    let old = simulated("vanha", "2023-01-01", 12, 4);
    let new = simulated("uusi", "2026-06-01", 40, 5);
    let dir = temp("compacted_grown_back");
    let db = dir.join("p.sqlite");
    let mut first = open(&db, &sources);
    first.ingest(old, 50, &actor(), &mut |_| {}).unwrap();
    let read_to = first.info().unwrap().log_seq;
    let first = polku_store::TrackerService::new(first);
    let second = polku_store::TrackerService::new(open(&db, &sources));
    let mut fourth = open(&db, &sources);
    // The third server's retention run.
    let mut third = open(&db, &sources);
    let (rules, now) = closed_a_year();
    let report = third.retain(&rules, now, false, &actor()).unwrap();
    assert!(report.compaction.is_some(), "{report:?}");
    assert!(third.info().unwrap().log_seq < read_to);
    // New events one at a time, until the log ends where the two read it to.
    let mut new = new.into_iter();
    while third.info().unwrap().log_seq < read_to {
        let event = new.next().expect("enough new events to grow the log back");
        third.ingest([event], 1, &actor(), &mut |_| {}).unwrap();
    }
    assert_eq!(third.info().unwrap().log_seq, read_to);
    drop(third);
    // A retention run on a fourth server would choose the cases to remove from its state,
    // which is not of this log: it reads the state again, and finds nothing more to remove.
    let again = fourth.retain(&rules, now, false, &actor()).unwrap();
    assert_eq!(again.cases, 0, "a retention run chose its cases from a stale state: {again:?}");
    assert_eq!(open(&db, &sources).info().unwrap().log_seq, read_to, "nothing was removed");
    // The first server's batch: refused by the store, the state rebuilt, and written.
    let batch: Vec<Event> = new.by_ref().take(20).map(|(_, e, _)| e).collect();
    let result = first.append(batch, &Actor::new("testi", "järjestelmä"), &|_| true).unwrap();
    assert!(result.seq > read_to, "{result:?}");
    let fresh = open(&db, &sources);
    assert_eq!(first.digest(), fresh.projection.digest(), "the first server's state is the log's");
    // The second server, catching up past where it read to, finds the log rewritten.
    let caught = second.catch_up();
    assert!(
        caught.as_ref().is_err_and(|e| e.to_string().contains("rewritten")),
        "catching up into a rewritten log: {caught:?}"
    );
    assert_eq!(
        second.digest(),
        fresh.projection.digest(),
        "the second server's state is the log's"
    );
    drop((first, second, fourth, fresh));
    let _ = std::fs::remove_dir_all(&dir);
}

/// A server starting while another removes the closed cases: the compaction lands right after
/// the start read the log, so the state read is of a log that is gone. The start reads it
/// again, and holds the log's state as it now is.
#[test]
fn a_start_during_another_s_compaction_reads_the_state_again() {
    let sources = corpus();
    let model = sources.compile().unwrap();
    let options =
        Options { clients: 12, days: 200, seed: 4, start: Timestamp::parse("2023-01-01").unwrap() };
    let events = simulate(&model, "vanha", &options).unwrap();
    let dir = temp("start_during_compaction");
    let db = dir.join("p.sqlite");
    let mut writer = open(&db, &sources);
    let items = events.into_iter().enumerate().map(|(l, e)| (l, e, None));
    writer.ingest(items, 50, &actor(), &mut |_| {}).unwrap();
    let read_to = writer.info().unwrap().log_seq;
    let after_scan = AfterScan::default();
    *after_scan.lock().unwrap() = Some(Box::new(move || {
        let (rules, now) = closed_a_year();
        let report = writer.retain(&rules, now, false, &actor()).unwrap();
        assert!(report.compaction.is_some(), "{report:?}");
    }));
    let store = FailingAppend {
        inner: polku_store::sqlite::SqliteStore::open(&db).unwrap(),
        appends: 0,
        fail_at: 0,
        after_scan: after_scan.clone(),
        hold: None,
    };
    let mut started = Tracker::open(Box::new(store), &sources, &model, key()).unwrap();
    assert!(after_scan.lock().unwrap().is_none(), "the compaction ran during the start");
    let fresh = open(&db, &sources);
    assert!(fresh.projection.events < read_to);
    assert_eq!(started.info().unwrap().log_seq, fresh.projection.events);
    assert_eq!(started.projection.digest(), fresh.projection.digest());
    let _ = std::fs::remove_dir_all(&dir);
}

/// A batch whose events were all sent before (a system that sends again after a timeout) is
/// answered `repeat` only once the batch that holds them is durable; when that one fails, so
/// does the repeat, and nothing is answered for events the log does not have.
#[test]
fn a_repeat_waits_for_the_batch_it_repeats_and_fails_with_it() {
    let sources = corpus();
    let model = sources.compile().unwrap();
    let (events, _) = stream(&model, 5, 8);
    let batch: Vec<Event> = events.iter().map(|(_, e)| e.clone()).take(10).collect();
    let dir = temp("repeat_durable");
    let db = dir.join("p.sqlite");
    let (release, hold) = std::sync::mpsc::channel();
    let store = FailingAppend {
        inner: polku_store::sqlite::SqliteStore::open(&db).unwrap(),
        appends: 0,
        fail_at: 1,
        after_scan: AfterScan::default(),
        hold: Some(hold),
    };
    let tracker = Tracker::open(Box::new(store), &sources, &model, key()).unwrap();
    let service = polku_store::TrackerService::new(tracker);
    let send = |service: &polku_store::TrackerService, batch: &[Event]| {
        let (service, batch) = (service.clone(), batch.to_vec());
        std::thread::spawn(move || {
            service.append(batch, &Actor::new("testi", "järjestelmä"), &|_| true)
        })
    };
    // The first sending is applied and waits in the writer (whose disk then fails).
    let first = send(&service, &batch);
    std::thread::sleep(std::time::Duration::from_millis(300));
    // The same events again: repeats of events not yet durable.
    let second = send(&service, &batch);
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert!(
        !second.is_finished(),
        "a repeat was answered while the events it repeats waited for the disk"
    );
    release.send(()).unwrap();
    drop(release);
    assert!(first.join().unwrap().is_err(), "the first batch's disk failed");
    let second = second.join().unwrap();
    // Answered or not, nothing is answered stored or repeat that the log does not hold.
    let ids: std::collections::HashSet<String> = logged_ids(&db, 0).into_iter().collect();
    if let Ok(result) = &second {
        for e in &batch {
            assert!(ids.contains(&e.id), "answered {result:?}, but {} is not in the log", e.id);
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// An edit of comments and layout alone (as `polku fmt` makes) changes no plan: the files are
/// the stored version they mean, and no new version is stored. A change of meaning is one.
#[test]
fn files_that_differ_only_in_comments_and_layout_are_the_stored_version() {
    let sources = corpus();
    let model = sources.compile().unwrap();
    let (events, codes) = stream(&model, 5, 4);
    let dir = temp("same-meaning");
    let db = dir.join("p.sqlite");
    let mut tracker = open(&db, &sources);
    tracker
        .ingest(events.into_iter().map(|(l, e)| (l, e, None)), 50, &actor(), &mut |_| {})
        .unwrap();
    let first = tracker.current_model();
    drop(tracker);
    // Comments added, removed and changed; a blank line and indentation changed.
    let comments = edited(&sources, "// Taso 4:", "// Taso neljä:");
    let comments = edited(&comments, "  vaihe esitiedot", "\n\n  // Alku.\n    vaihe   esitiedot");
    let comments = edited(&comments, "kesto 45 min", "kesto 45 min // ennallaan");
    assert_ne!(comments.hash(), sources.hash());
    assert_eq!(comments.meaning(), sources.meaning());
    let mut tracker = open(&db, &comments);
    assert_eq!(tracker.current_model(), first);
    let versions = tracker.stored_versions().unwrap();
    assert_eq!(versions.len(), 1, "{versions:?}");
    assert!(versions[0].current && versions[0].hash == sources.hash());
    // Cases opened now are on that version too.
    let (more, _) = stream(&model, 3, 5);
    let more: Vec<_> = more
        .into_iter()
        .map(|(l, mut e)| {
            e.id = format!("again-{}", e.id);
            e.case = format!("again-{}", e.case);
            (l, e, None)
        })
        .collect();
    let (ack, refused) = tracker.ingest(more, 50, &actor(), &mut |_| {}).unwrap();
    assert!(ack.accepted > 0 && refused.is_empty(), "{ack:?} {refused:?}");
    assert_eq!(tracker.info().unwrap().model_versions, 1);
    drop(tracker);
    // A text changed, even inside quotes, is a change of meaning: a new version.
    let retitled = edited(&comments, "\"Esitiedot\"", "\"Esitiedot ja kyselyt\"");
    assert_ne!(retitled.meaning(), sources.meaning());
    let mut tracker = open(&db, &retitled);
    let versions = tracker.stored_versions().unwrap();
    assert_eq!(versions.len(), 2, "{versions:?}");
    assert!(versions[1].current && versions[1].hash == retitled.hash());
    // Back to the first files' meaning, in yet another layout: the first version again.
    drop(tracker);
    let back = edited(&sources, "// Taso 4:", "//Taso 4:");
    let mut tracker = open(&db, &back);
    assert_eq!(tracker.current_model(), first);
    assert_eq!(tracker.stored_versions().unwrap().len(), 2);
    let status = tracker
        .client_status(&codes[0], &actor(), Timestamp::parse("2026-12-31").unwrap().0, Lang::En)
        .unwrap()
        .unwrap();
    assert!(status.cases.iter().all(|c| c.model_version == sources.hash()));
    let _ = std::fs::remove_dir_all(&dir);
}

/// A model opened only to read with (`polku status`, `explain`, `report`, a dry run) is not
/// stored: reading a store with edited files leaves its versions as they were, and nothing is
/// written under a model that is no stored version.
#[test]
fn a_model_only_consulted_is_not_stored_and_nothing_is_written_under_it() {
    use polku_store::tracker::{ModelUse, TrackerError};
    let sources = corpus();
    let model = sources.compile().unwrap();
    let (events, codes) = stream(&model, 5, 6);
    let dir = temp("consulted");
    let db = dir.join("p.sqlite");
    let url = format!("sqlite://{}", db.display());
    let mut tracker = open(&db, &sources);
    let (stored, _) = tracker
        .ingest(events.clone().into_iter().map(|(l, e)| (l, e, None)), 50, &actor(), &mut |_| {})
        .unwrap();
    drop(tracker);
    let changed = edited(&sources, "kesto 45 min", "kesto 50 min");
    let changed_model = changed.compile().unwrap();
    let consult = || {
        let store = polku_store::open(&url).unwrap();
        Tracker::open_with(store, &changed, &changed_model, key(), ModelUse::Consult).unwrap()
    };
    let mut tracker = consult();
    assert_eq!(tracker.current_model(), 0);
    // Reads work, and are logged.
    let at = Timestamp::parse("2026-12-31").unwrap().0;
    let status = tracker.client_status(&codes[0], &actor(), at, Lang::En).unwrap().unwrap();
    assert!(status.cases.iter().all(|c| c.model_version == sources.hash()));
    assert_eq!(tracker.access_log(None, 10).unwrap()[0].action, "status");
    // Nothing is written under the model: no event, no snapshot, no migration.
    let new_case = events
        .iter()
        .find(|(_, e)| matches!(e.kind, polku_engine::event::EventKind::CaseOpened { .. }))
        .map(|(l, e)| {
            let mut e = e.clone();
            e.id = "consulted-1".to_owned();
            e.case = "consulted-case".to_owned();
            (*l, e, None)
        })
        .unwrap();
    let refused = tracker.ingest(vec![new_case.clone()], 50, &actor(), &mut |_| {}).unwrap_err();
    assert!(matches!(refused, TrackerError::NotStored(_)), "{refused}");
    assert!(refused.to_string().contains("not a stored model version"), "{refused}");
    assert!(matches!(tracker.save_snapshot(), Err(TrackerError::NotStored(_))));
    let current = tracker.find_version(None).unwrap();
    assert!(matches!(tracker.migrate(current, &actor(), at), Err(TrackerError::NotStored(_))));
    // What moving to it would do can still be seen.
    assert!(tracker.migration_preview(current, &actor()).is_ok());
    assert_eq!(tracker.stored_versions().unwrap().len(), 1);
    assert_eq!(tracker.info().unwrap().log_seq, stored.seq);
    drop(tracker);
    // Files that mean the stored version are it, consulted or not: writes go as usual.
    let store = polku_store::open(&url).unwrap();
    let same = edited(&sources, "// Taso 4:", "// Taso neljä:");
    let mut tracker = Tracker::open_with(store, &same, &model, key(), ModelUse::Consult).unwrap();
    assert_eq!(tracker.current_model(), 1);
    let (ack, _) = tracker.ingest(vec![new_case], 50, &actor(), &mut |_| {}).unwrap();
    assert_eq!(ack.accepted, 1);
    assert_eq!(tracker.stored_versions().unwrap().len(), 1);
    drop(tracker);
    // Executed, the changed model is stored.
    let mut tracker = open(&db, &changed);
    assert_eq!(tracker.stored_versions().unwrap().len(), 2);
    assert_eq!(tracker.current_model(), 2);
    let _ = std::fs::remove_dir_all(&dir);
}
