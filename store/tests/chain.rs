//! Tamper evidence: a stored event or access-log row changed with raw SQL on the file, a row
//! removed or moved, is named by `chain::verify` (which row, what is wrong), and start-up
//! refuses a log whose events after the snapshot were changed. A database of the schema before
//! the chains is chained when it is migrated and verifies intact.

#![allow(clippy::unwrap_used)] // A test that cannot set up should fail loudly.

mod common;

use std::path::{Path, PathBuf};

use polku_engine::pseudonym::PseudonymKey;
use polku_engine::simulate::Options;
use polku_engine::time::Timestamp;
use polku_store::chain::{self, Break, Log, Problem};
use polku_store::sqlite::SqliteStore;
use polku_store::tracker::{Actor, Tracker, TrackerError};
use polku_store::{EventStore, StoreError};
use rusqlite::Connection;

use common::corpus;

fn key() -> PseudonymKey {
    PseudonymKey::new(vec![5; 32]).unwrap()
}

fn temp(name: &str) -> PathBuf {
    common::temp("chain", name)
}

fn open(db: &Path) -> Result<Tracker, TrackerError> {
    let sources = corpus();
    let model = sources.compile().unwrap();
    let store = polku_store::open(&format!("sqlite://{}", db.display())).unwrap();
    Tracker::open(store, &sources, &model, key())
}

/// A store with `clients` simulated clients' events, a few accesses logged, and (with
/// `snapshot_at`) a snapshot after that share of the events. Returns the log's length.
fn filled(db: &Path, clients: u32, snapshot_at: Option<f64>) -> u64 {
    let model = corpus().compile().unwrap();
    let options =
        Options { clients, days: 200, seed: 9, start: Timestamp::parse("2026-01-01").unwrap() };
    let events = common::simulated(&model, "chain", &options, &key());
    let split = snapshot_at.map_or(events.len(), |share| (events.len() as f64 * share) as usize);
    let (first, rest) = events.split_at(split);
    let actor = Actor::new("testi", "terveydenhoitaja");
    let mut tracker = open(db).unwrap();
    let items = |part: &[(usize, polku_engine::event::Event)]| {
        part.iter().cloned().map(|(l, e)| (l, e, None)).collect::<Vec<_>>()
    };
    tracker.ingest(items(first), 50, &actor, &mut |_| {}).unwrap();
    if snapshot_at.is_some() {
        tracker.save_snapshot().unwrap();
        tracker.ingest(items(rest), 50, &actor, &mut |_| {}).unwrap();
    }
    tracker.segment_report(&actor, 0).unwrap();
    tracker.completion_report(&actor, 0).unwrap();
    let seq = tracker.log_seq();
    drop(tracker);
    seq
}

fn verify(db: &Path) -> chain::Verification {
    let mut store = SqliteStore::open(db).unwrap();
    chain::verify(&mut store).unwrap()
}

fn sql(db: &Path, statement: &str) {
    let conn = Connection::open(db).unwrap();
    let changed = conn.execute(statement, []).unwrap();
    assert!(changed > 0, "{statement} changed nothing");
}

/// Changes one letter of event `seq`'s body on the file.
fn change_a_letter(db: &Path, seq: u64) {
    let conn = Connection::open(db).unwrap();
    let body: String = conn
        .query_row("SELECT body FROM events WHERE seq = ?1", [seq as i64], |r| r.get(0))
        .unwrap();
    let at = body.find("\"case\":\"").unwrap() + 8;
    let mut bytes = body.into_bytes();
    bytes[at] = if bytes[at] == b'x' { b'y' } else { b'x' };
    let body = String::from_utf8(bytes).unwrap();
    conn.execute("UPDATE events SET body = ?2 WHERE seq = ?1", rusqlite::params![seq as i64, body])
        .unwrap();
}

fn events_break(db: &Path) -> Option<Break> {
    verify(db).events.broken
}

#[test]
fn an_untouched_store_verifies_intact_to_its_head() {
    let dir = temp("intact");
    let db = dir.join("p.sqlite");
    let last = filled(&db, 20, Some(0.5));
    let v = verify(&db);
    assert!(v.intact(), "{v:?}");
    assert_eq!(v.events.rows, last);
    assert_eq!(v.events.last.row, last);
    assert!(v.access_log.rows >= 3, "{v:?}");
    assert!(v.snapshot.is_some_and(|s| s > 0 && s < last), "{v:?}");
    // The head is the stored hash of the last event.
    let conn = Connection::open(&db).unwrap();
    let head: Vec<u8> = conn
        .query_row("SELECT hash FROM events WHERE seq = ?1", [last as i64], |r| r.get(0))
        .unwrap();
    assert_eq!(head, v.events.last.hash);
    // Opening, appending and verifying again keeps it intact.
    drop(open(&db).unwrap());
    assert!(verify(&db).intact());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn one_changed_letter_of_an_event_is_named_by_its_seq() {
    let dir = temp("letter");
    let db = dir.join("p.sqlite");
    let last = filled(&db, 20, None);
    assert!(last > 40);
    let copy = dir.join("copy.sqlite");
    std::fs::copy(&db, &copy).unwrap();
    change_a_letter(&copy, 17);
    assert_eq!(
        events_break(&copy),
        Some(Break { log: Log::Events, row: 17, problem: Problem::ContentChanged })
    );
    // A second change further on: the first is named.
    change_a_letter(&copy, 30);
    assert_eq!(events_break(&copy).map(|b| b.row), Some(17));
    // The same change to the last event cannot tell content from hash.
    std::fs::copy(&db, &copy).unwrap();
    change_a_letter(&copy, last);
    assert_eq!(
        events_break(&copy),
        Some(Break { log: Log::Events, row: last, problem: Problem::ContentOrHashChanged })
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_changed_hash_a_deleted_row_and_swapped_rows_are_each_named() {
    let dir = temp("kinds");
    let db = dir.join("p.sqlite");
    let last = filled(&db, 20, None);
    let copy = dir.join("copy.sqlite");
    let fresh = || {
        std::fs::copy(&db, &copy).unwrap();
        copy.clone()
    };

    let c = fresh();
    sql(&c, "UPDATE events SET hash = zeroblob(32) WHERE seq = 9");
    assert_eq!(
        events_break(&c),
        Some(Break { log: Log::Events, row: 9, problem: Problem::HashChanged })
    );

    let c = fresh();
    sql(&c, "DELETE FROM events WHERE seq = 12");
    assert_eq!(
        events_break(&c),
        Some(Break { log: Log::Events, row: 12, problem: Problem::Missing { next: Some(13) } })
    );

    let c = fresh();
    sql(&c, "DELETE FROM events WHERE seq = 1");
    assert_eq!(events_break(&c).map(|b| b.row), Some(1));

    let c = fresh();
    sql(&c, "UPDATE events SET seq = CASE seq WHEN 20 THEN -21 ELSE -20 END WHERE seq IN (20, 21)");
    sql(&c, "UPDATE events SET seq = -seq WHERE seq < 0");
    assert_eq!(
        events_break(&c),
        Some(Break { log: Log::Events, row: 20, problem: Problem::OutOfPlace })
    );

    // Rows cut off the end, down to before the snapshot: the chain alone cannot tell, the
    // snapshot's record of it does.
    let c = fresh();
    {
        let mut store = SqliteStore::open(&c).unwrap();
        store.save_snapshot(last - 2, b"not a real snapshot").unwrap();
    }
    sql(&c, &format!("DELETE FROM events WHERE seq > {}", last - 5));
    assert_eq!(
        events_break(&c),
        Some(Break { log: Log::Events, row: last - 4, problem: Problem::Missing { next: None } })
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_changed_access_log_row_is_named_by_its_id() {
    let dir = temp("access");
    let db = dir.join("p.sqlite");
    filled(&db, 5, None);
    sql(&db, "UPDATE access_log SET actor = 'joku muu' WHERE id = 2");
    let v = verify(&db);
    assert_eq!(v.events.broken, None);
    assert_eq!(
        v.access_log.broken,
        Some(Break { log: Log::AccessLog, row: 2, problem: Problem::ContentChanged })
    );
    // A row removed from the access log.
    sql(&db, "UPDATE access_log SET actor = 'testi' WHERE id = 2");
    assert!(verify(&db).intact());
    sql(&db, "DELETE FROM access_log WHERE id = 2");
    assert_eq!(
        verify(&db).access_log.broken,
        Some(Break { log: Log::AccessLog, row: 2, problem: Problem::Missing { next: Some(3) } })
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn start_up_refuses_a_changed_event_after_the_snapshot_and_not_one_before_it() {
    let dir = temp("startup");
    let db = dir.join("p.sqlite");
    let last = filled(&db, 20, Some(0.5));
    let snapshot = verify(&db).snapshot.unwrap();
    assert!(snapshot > 2 && snapshot + 2 < last);
    let copy = dir.join("after.sqlite");
    std::fs::copy(&db, &copy).unwrap();

    // After the snapshot: start-up reads it, and refuses, naming the event.
    change_a_letter(&copy, snapshot + 2);
    let error = open(&copy).unwrap_err();
    let TrackerError::Store(StoreError::Broken(broken)) = &error else {
        panic!("not a broken chain: {error}")
    };
    assert_eq!(
        *broken,
        Break { log: Log::Events, row: snapshot + 2, problem: Problem::ContentChanged }
    );
    let message = error.to_string();
    assert!(message.contains(&format!("event {}", snapshot + 2)), "{message}");
    assert!(message.contains("content was changed"), "{message}");

    // The event the snapshot was taken at, with its hash changed.
    std::fs::copy(&db, &copy).unwrap();
    sql(&copy, &format!("UPDATE events SET hash = zeroblob(32) WHERE seq = {snapshot}"));
    let error = open(&copy).unwrap_err();
    assert!(error.to_string().contains(&format!("event {snapshot}")), "{error}");

    // The log cut off below the snapshot: named from the first row cut off.
    std::fs::copy(&db, &copy).unwrap();
    sql(&copy, &format!("DELETE FROM events WHERE seq >= {}", snapshot - 2));
    let error = open(&copy).unwrap_err();
    assert!(
        error
            .to_string()
            .contains(&format!("event {}: it is missing, with every row", snapshot - 2)),
        "{error}"
    );

    // Before the snapshot: start-up does not walk there (that is `verify`'s whole walk).
    std::fs::copy(&db, &copy).unwrap();
    change_a_letter(&copy, 2);
    assert!(open(&copy).is_ok());
    assert_eq!(
        events_break(&copy),
        Some(Break { log: Log::Events, row: 2, problem: Problem::ContentChanged })
    );

    // A snapshot that does not say where the chain stood is not used: the whole log is read,
    // and checked.
    sql(&copy, "DELETE FROM snapshot_chains");
    let error = open(&copy).unwrap_err();
    assert!(error.to_string().contains("event 2:"), "{error}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_database_of_the_schema_before_the_chains_is_chained_and_verifies_intact() {
    let dir = temp("migrate");
    let db = dir.join("old.sqlite");
    {
        // A database as schema 3 left it: events, accesses and a snapshot, no hashes.
        let mut conn = Connection::open(&db).unwrap();
        let conn = conn.transaction().unwrap();
        for migration in &polku_store::sqlite::MIGRATIONS[..3] {
            conn.execute_batch(migration.sql).unwrap();
        }
        conn.execute_batch("INSERT INTO models (hash, sources) VALUES ('h', '{}');").unwrap();
        for i in 1..=25_000 {
            conn.execute(
                "INSERT INTO events (model, body) VALUES (1, ?1)",
                [format!("{{\"id\":\"e{i}\"}}")],
            )
            .unwrap();
        }
        for i in 1..=30 {
            conn.execute(
                "INSERT INTO access_log (at, actor, role, action, client, detail)
                 VALUES ('2026-01-01T00:00:00Z', 'a', 'r', 'status', ?1, '')",
                [(i % 2 == 0).then(|| format!("{i:064x}"))],
            )
            .unwrap();
        }
        conn.execute_batch(
            "INSERT INTO snapshots (seq, data) VALUES (24000, x'00');
             PRAGMA user_version = 3;",
        )
        .unwrap();
        conn.commit().unwrap();
    }
    let v = verify(&db);
    assert!(v.intact(), "{v:?}");
    assert_eq!((v.events.rows, v.access_log.rows, v.snapshot), (25_000, 30, Some(24_000)));
    // New rows follow the migrated ones.
    let mut store = SqliteStore::open(&db).unwrap();
    assert_eq!(store.schema_version().unwrap(), polku_store::sqlite::SCHEMA_VERSION);
    store.append(25_000, &[polku_store::NewRecord { model: 1, body: "uusi".into() }]).unwrap();
    drop(store);
    let v = verify(&db);
    assert!(v.intact() && v.events.rows == 25_001, "{v:?}");
    // And a letter changed in a migrated row is found like any other.
    change_a_letter_plain(&db, 12_345);
    assert_eq!(
        events_break(&db),
        Some(Break { log: Log::Events, row: 12_345, problem: Problem::ContentChanged })
    );
    let _ = std::fs::remove_dir_all(&dir);
}

fn change_a_letter_plain(db: &Path, seq: u64) {
    sql(
        db,
        &format!("UPDATE events SET body = replace(body, '\"id\"', '\"ix\"') WHERE seq = {seq}"),
    );
}

fn scalar(db: &Path, query: &str) -> i64 {
    let conn = Connection::open(db).unwrap();
    conn.query_row(query, [], |r| r.get(0)).unwrap()
}

/// A client of the store, by pseudonym (as stored in its events).
fn a_client(db: &Path) -> String {
    let conn = Connection::open(db).unwrap();
    conn.query_row(
        "SELECT json_extract(body, '$.client') FROM events
         WHERE json_extract(body, '$.client') IS NOT NULL LIMIT 1",
        [],
        |r| r.get(0),
    )
    .unwrap()
}

/// Damage to the last access-log row: the SQL that does it, what the writer warns of when it
/// logs the next access, and what verify says about the row once that access is logged.
const ACCESS_DAMAGE: &[(&str, Problem, Problem)] = &[
    // Not a hash at all: the next row follows the hash the row's content gives.
    (
        "UPDATE access_log SET hash = x'00' WHERE id = {last}",
        Problem::HashChanged,
        Problem::HashChanged,
    ),
    (
        "UPDATE access_log SET hash = NULL WHERE id = {last}",
        Problem::HashChanged,
        Problem::HashChanged,
    ),
    // A hash, but not the row's: the next row follows it as stored.
    (
        "UPDATE access_log SET hash = zeroblob(32) WHERE id = {last}",
        Problem::ContentOrHashChanged,
        Problem::ContentChanged,
    ),
    (
        "UPDATE access_log SET purpose = 'uteliaisuus' WHERE id = {last}",
        Problem::ContentOrHashChanged,
        Problem::ContentChanged,
    ),
];

/// The tracker on `db`, with the chain breaks its writer warns of collected.
fn open_warned(db: &Path) -> (Tracker, std::sync::Arc<std::sync::Mutex<Vec<Break>>>) {
    let mut tracker = open(db).unwrap();
    let warned = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let into = warned.clone();
    tracker.on_chain_break(move |broken| into.lock().unwrap().push(*broken));
    (tracker, warned)
}

#[test]
fn a_damaged_last_access_log_row_does_not_stop_the_next_access_and_stays_evident() {
    let dir = temp("access-head");
    let db = dir.join("p.sqlite");
    filled(&db, 5, None);
    let client = a_client(&db);
    let last = scalar(&db, "SELECT MAX(id) FROM access_log") as u64;
    let actor = Actor::new("testi", "terveydenhoitaja");
    let copy = dir.join("copy.sqlite");
    // An intact log: nothing to warn of.
    std::fs::copy(&db, &copy).unwrap();
    let (mut tracker, warned) = open_warned(&copy);
    tracker.client_status(&client, &actor, 0, polku_dsl::Lang::En).unwrap();
    drop(tracker);
    assert_eq!(*warned.lock().unwrap(), []);
    for (damage, warning, problem) in ACCESS_DAMAGE {
        std::fs::copy(&db, &copy).unwrap();
        sql(&copy, &damage.replace("{last}", &last.to_string()));
        let (mut tracker, warned) = open_warned(&copy);
        // Staff can still read a client's status, and the access is logged.
        let status = tracker.client_status(&client, &actor, 0, polku_dsl::Lang::En);
        assert!(matches!(status, Ok(Some(_))), "{damage}: {status:?}");
        // The writer warned of the row, once: the next access finds the log's end intact.
        tracker.client_status(&client, &actor, 0, polku_dsl::Lang::En).unwrap();
        drop(tracker);
        assert_eq!(
            *warned.lock().unwrap(),
            [Break { log: Log::AccessLog, row: last, problem: *warning }],
            "{damage}"
        );
        assert_eq!(scalar(&copy, "SELECT MAX(id) FROM access_log") as u64, last + 2, "{damage}");
        assert_eq!(
            scalar(
                &copy,
                &format!("SELECT count(*) FROM access_log WHERE id > {last} AND action = 'status'")
            ),
            2
        );
        // The damage stays evident: the whole walk names the row.
        let v = verify(&copy);
        assert_eq!(v.events.broken, None, "{damage}");
        assert_eq!(
            v.access_log.broken,
            Some(Break { log: Log::AccessLog, row: last, problem: *problem }),
            "{damage}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_damaged_hash_on_the_last_event_does_not_stop_the_next_append_and_stays_evident() {
    let dir = temp("event-head");
    let db = dir.join("p.sqlite");
    let last = filled(&db, 5, None);
    let model = scalar(&db, &format!("SELECT model FROM events WHERE seq = {last}"));
    sql(&db, &format!("UPDATE events SET hash = x'00' WHERE seq = {last}"));
    // Start-up refuses a log whose events after the snapshot were changed, as always.
    let error = open(&db).unwrap_err();
    assert!(error.to_string().contains(&format!("event {last}")), "{error}");
    // The store's own appender does not fail on it.
    let mut store = SqliteStore::open(&db).unwrap();
    assert_eq!(
        store.append(last, &[polku_store::NewRecord { model, body: "{}".into() }]).unwrap(),
        last + 1
    );
    assert_eq!(
        store.take_chain_breaks(),
        [Break { log: Log::Events, row: last, problem: Problem::HashChanged }]
    );
    assert_eq!(
        store.append(last + 1, &[polku_store::NewRecord { model, body: "{}".into() }]).unwrap(),
        last + 2
    );
    assert_eq!(store.take_chain_breaks(), []);
    drop(store);
    // A store opened afresh finds the log's end intact: the new rows follow the changed one.
    let mut store = SqliteStore::open(&db).unwrap();
    assert_eq!(
        store.append(last + 2, &[polku_store::NewRecord { model, body: "{}".into() }]).unwrap(),
        last + 3
    );
    assert_eq!(store.take_chain_breaks(), []);
    drop(store);
    assert_eq!(
        events_break(&db),
        Some(Break { log: Log::Events, row: last, problem: Problem::HashChanged })
    );
    let _ = std::fs::remove_dir_all(&dir);
}
