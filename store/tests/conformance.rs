//! The store's contract, once, for every backend: append and scan with the hash chain, a stale
//! writer refused, model versions, snapshots, the access log, settings, marker proposals,
//! kept answers, what survives closing and reopening, and idempotent ingest through the
//! tracker. Each backend instantiates the suite with a function that opens a fresh database
//! and one that opens it again (another connection, as another process would).
//!
//! SQLite always runs. PostgreSQL runs when `POLKU_TEST_POSTGRES_URL` names a server
//! (`postgres://user@127.0.0.1:PORT/postgres`): each test makes a database of its own there.
//! Under CI (`CI=true`) the PostgreSQL tests fail rather than skip when the variable is unset.

#![allow(clippy::unwrap_used)] // A test that cannot set up should fail loudly.

mod common;

use polku_dsl::hash::FastMap;
use polku_engine::pseudonym::PseudonymKey;
use polku_store::chain::{self, GENESIS};
use polku_store::markers::{proposals_on, record_day, MarkerRun};
use polku_store::tracker::{Actor, Tracker};

use polku_store::{Access, ClientKey, EventStore, NewRecord, StoreError};

/// Opens the same database again, as another writer would.
type Reopen = Box<dyn Fn() -> Box<dyn EventStore>>;

/// A backend's fresh database, and how to open it again.
struct Fresh {
    store: Box<dyn EventStore>,
    reopen: Reopen,
}

fn records(model: i64, from: usize, n: usize) -> Vec<NewRecord> {
    (from..from + n).map(|i| NewRecord { model, body: format!("{{\"n\":{i}}}") }).collect()
}

fn access(action: &str, client: Option<&str>) -> Access {
    Access::by(&Actor::new("th-1", "terveydenhoitaja"), action, client, "detail")
}

/// The log's last row and its stored hash in hex, as a compaction names where it was chosen.
fn end(store: &mut dyn EventStore) -> (u64, String) {
    let last = store.last_seq().unwrap();
    let mut end = (0, String::new());
    store
        .scan(last.saturating_sub(1), &mut |r| {
            end = (r.seq, r.hash.map(|h| polku_engine::pseudonym::to_hex(&h)).unwrap_or_default());
            Ok(())
        })
        .unwrap();
    end
}

/// A compaction chosen at `after` that keeps `keep`, with no histories and the access log kept.
fn keeping(
    after: (u64, String),
    keep: Vec<NewRecord>,
    removed_cases: u64,
) -> polku_store::Compaction {
    polku_store::Compaction {
        at: "2033-01-01T00:00:00Z".into(),
        after,
        keep,
        retained: Vec::new(),
        removed_cases,
        access_before: None,
    }
}

fn append_and_scan_keep_order_and_chain(mut f: Fresh) {
    let model = f.store.put_model("h1", "{}").unwrap();
    assert_eq!(f.store.last_seq().unwrap(), 0);
    assert_eq!(f.store.append(0, &records(model, 1, 3)).unwrap(), 3);
    assert_eq!(f.store.append(3, &records(model, 4, 2)).unwrap(), 5);
    assert_eq!(f.store.append(5, &[]).unwrap(), 5, "an empty append changes nothing");
    // A large batch (a backend may write it another way) chains the same.
    assert_eq!(f.store.append(5, &records(model, 6, 40)).unwrap(), 45);
    let mut seen = Vec::new();
    f.store
        .scan(0, &mut |r| {
            seen.push(r);
            Ok(())
        })
        .unwrap();
    assert_eq!(seen.iter().map(|r| r.seq).collect::<Vec<_>>(), (1..=45).collect::<Vec<_>>());
    assert_eq!(seen[3].body, "{\"n\":4}");
    let mut prev = GENESIS;
    for r in &seen {
        prev = chain::event_hash(&prev, r.seq, r.model, r.body.as_bytes());
        assert_eq!(r.hash, Some(prev), "event {} carries its chain hash", r.seq);
    }
    let mut after_three = Vec::new();
    f.store
        .scan(3, &mut |r| {
            after_three.push(r.seq);
            Ok(())
        })
        .unwrap();
    assert_eq!(after_three, (4..=45).collect::<Vec<_>>());
    // What was appended survives closing, and reads the same from another connection.
    drop(f.store);
    let mut again = (f.reopen)();
    assert_eq!(again.last_seq().unwrap(), 45);
    let verified = chain::verify(again.as_mut()).unwrap();
    assert!(verified.intact(), "{verified:?}");
}

fn a_stale_writer_is_refused_and_writes_nothing(mut f: Fresh) {
    let model = f.store.put_model("h1", "{}").unwrap();
    let mut other = (f.reopen)();
    assert_eq!(f.store.append(0, &records(model, 1, 2)).unwrap(), 2);
    // The other writer still believes the log is empty.
    match other.append(0, &records(model, 10, 1)) {
        Err(StoreError::Conflict { expected: 0, found: 2 }) => {}
        other => panic!("a stale writer must be refused: {other:?}"),
    }
    assert_eq!(other.append(2, &records(model, 3, 1)).unwrap(), 3, "once it knows, it writes");
    assert_eq!(f.store.last_seq().unwrap(), 3);
}

fn an_unknown_model_version_is_refused_and_writes_nothing(mut f: Fresh) {
    let model = f.store.put_model("h1", "{}").unwrap();
    assert_eq!(f.store.append(0, &records(model, 1, 2)).unwrap(), 2);
    // One row and many (a backend may write many another way), the unknown version last.
    for n in [1, 40] {
        let mut batch = records(model, 3, n);
        batch.last_mut().unwrap().model = model + 100;
        assert!(f.store.append(2, &batch).is_err(), "{n} rows naming a version not stored");
    }
    assert_eq!(f.store.last_seq().unwrap(), 2);
    assert_eq!(f.store.append(2, &records(model, 3, 1)).unwrap(), 3, "the log goes on");
    assert!(chain::verify(f.store.as_mut()).unwrap().intact());
}

fn deferred_appends_are_told_durable_in_order_and_a_stale_one_is_not_written(mut f: Fresh) {
    let model = f.store.put_model("h1", "{}").unwrap();
    let (told, heard) = std::sync::mpsc::channel();
    let mut after = 0;
    // Small and large appends (a backend may write them another way), each with an access row.
    for (i, n) in [3, 40, 1, 2500, 5].into_iter().enumerate() {
        let told = told.clone();
        let durable: polku_store::Durable = Box::new(move |result| told.send((i, result)).unwrap());
        let last = f
            .store
            .append_deferred(
                after,
                &records(model, after as usize + 1, n),
                &[access("ingest", None)],
                durable,
            )
            .unwrap();
        assert_eq!(last, after + n as u64);
        after = last;
    }
    // Stale: refused, nothing written, and never told durable.
    let stale: polku_store::Durable = Box::new(move |result| told.send((99, result)).unwrap());
    match f.store.append_deferred(3, &records(model, 1, 2), &[], stale) {
        Err(StoreError::Conflict { expected: 3, found }) => assert_eq!(found, after),
        other => panic!("a stale writer must be refused: {other:?}"),
    }
    // Closing the store waits until every append handed over is durable and told.
    drop(f.store);
    let order: Vec<(usize, Result<(), polku_store::WriteFailed>)> = heard.iter().collect();
    assert_eq!(order, (0..5).map(|i| (i, Ok(()))).collect::<Vec<_>>());
    let mut again = (f.reopen)();
    assert_eq!(again.last_seq().unwrap(), after);
    assert_eq!(again.access_log(None, 100).unwrap().len(), 5);
    let verified = chain::verify(again.as_mut()).unwrap();
    assert!(verified.intact(), "{verified:?}");
}

fn two_writers_at_once_lose_nothing_and_double_nothing(mut f: Fresh) {
    let model = f.store.put_model("h1", "{}").unwrap();
    let writers: Vec<_> = (0..2)
        .map(|w| {
            let mut store = (f.reopen)();
            std::thread::spawn(move || {
                let mut written = 0;
                while written < 60 {
                    let after = store.last_seq().unwrap();
                    let body = format!("{{\"writer\":{w},\"n\":{written}}}");
                    match store.append(after, &[NewRecord { model, body }]) {
                        Ok(_) => written += 1,
                        // Another wrote first: read the end again and retry.
                        Err(StoreError::Conflict { .. }) => {}
                        Err(e) => panic!("{e}"),
                    }
                }
            })
        })
        .collect();
    for w in writers {
        w.join().unwrap();
    }
    let mut bodies = Vec::new();
    f.store
        .scan(0, &mut |r| {
            bodies.push(r.body);
            Ok(())
        })
        .unwrap();
    assert_eq!(bodies.len(), 120);
    bodies.sort();
    bodies.dedup();
    assert_eq!(bodies.len(), 120, "nothing doubled");
    assert!(chain::verify(f.store.as_mut()).unwrap().intact());
}

fn model_versions_are_kept_once_in_order(mut f: Fresh) {
    let a = f.store.put_model("h1", "{\"a\":1}").unwrap();
    let b = f.store.put_model("h2", "{\"b\":2}").unwrap();
    assert_ne!(a, b);
    assert_eq!(f.store.put_model("h1", "{\"a\":1}").unwrap(), a, "the same version, the same id");
    let models = f.store.models().unwrap();
    assert_eq!(models.iter().map(|m| m.hash.as_str()).collect::<Vec<_>>(), ["h1", "h2"]);
    assert_eq!(models[1].sources, "{\"b\":2}");
    assert_eq!(models[0].id, a);
}

fn snapshots_replace_older_ones_and_record_the_chain(mut f: Fresh) {
    let model = f.store.put_model("h1", "{}").unwrap();
    let mut found = false;
    assert!(!f.store.read_snapshot(&mut |_, _, _| Ok(())).unwrap(), "none yet");
    f.store.append(0, &records(model, 1, 4)).unwrap();
    f.store.save_snapshot(2, b"two").unwrap();
    f.store.save_snapshot(4, b"four").unwrap();
    let mut last = GENESIS;
    f.store
        .scan(0, &mut |r| {
            last = r.hash.unwrap();
            Ok(())
        })
        .unwrap();
    let had = f
        .store
        .read_snapshot(&mut |seq, at, data| {
            let mut bytes = Vec::new();
            data.read_to_end(&mut bytes).unwrap();
            assert_eq!((seq, bytes.as_slice()), (4, &b"four"[..]));
            assert_eq!(at, Some(last), "the chain's hash at the snapshot");
            found = true;
            Ok(())
        })
        .unwrap();
    assert!(had && found);
    // A stream of a stated length.
    f.store
        .save_snapshot_with(4, 5, &mut |w| {
            w.write_all(b"fi").unwrap();
            w.write_all(b"ve").unwrap();
            w.write_all(b"!").unwrap();
            Ok(())
        })
        .unwrap();
    f.store
        .read_snapshot(&mut |_, _, data| {
            let mut bytes = Vec::new();
            data.read_to_end(&mut bytes).unwrap();
            assert_eq!(bytes, b"five!");
            Ok(())
        })
        .unwrap();
    // A large one, written and read as a stream (PostgreSQL keeps it in parts of 16 MiB).
    let len = 40 << 20;
    let byte = |i: usize| (i.wrapping_mul(2_654_435_761) >> 13) as u8;
    f.store
        .save_snapshot_with(4, len as u64, &mut |w| {
            let block: Vec<u8> = (0..len).map(byte).collect();
            for piece in block.chunks(1 << 16) {
                w.write_all(piece).unwrap();
            }
            Ok(())
        })
        .unwrap();
    f.store
        .read_snapshot(&mut |seq, _, data| {
            assert_eq!(seq, 4);
            let mut bytes = Vec::new();
            data.read_to_end(&mut bytes).unwrap();
            assert_eq!(bytes.len(), len);
            assert!(bytes.iter().enumerate().all(|(i, b)| *b == byte(i)), "the bytes as written");
            Ok(())
        })
        .unwrap();
    // One that ends short of its announced length is refused, and the one before stays.
    let short = f.store.save_snapshot_with(5, 10, &mut |w| {
        w.write_all(b"short").unwrap();
        Ok(())
    });
    assert!(short.is_err());
    let mut kept = 0;
    f.store
        .read_snapshot(&mut |seq, _, _| {
            kept = seq;
            Ok(())
        })
        .unwrap();
    assert_eq!(kept, 4, "a failed snapshot leaves the one before");
}

fn the_access_log_is_chained_filtered_and_newest_first(mut f: Fresh) {
    f.store.log_access(&access("status", Some("aa"))).unwrap();
    f.store.log_accesses(&[access("report", None), access("status", Some("bb"))]).unwrap();
    let model = f.store.put_model("h1", "{}").unwrap();
    f.store.append_logged(0, &records(model, 1, 1), &[access("event", Some("aa"))]).unwrap();
    let all = f.store.access_log(None, 10).unwrap();
    assert_eq!(
        all.iter().map(|a| a.action.as_str()).collect::<Vec<_>>(),
        ["event", "status", "report", "status"]
    );
    let of_aa = f.store.access_log(Some("aa"), 10).unwrap();
    assert_eq!(of_aa.len(), 2);
    assert_eq!(f.store.access_log(None, 1).unwrap().len(), 1);
    let mut prev = GENESIS;
    let mut ids = Vec::new();
    f.store
        .scan_access_log(0, &mut |id, a, hash| {
            prev = chain::access_hash(&prev, id, &a);
            assert_eq!(hash, Some(prev));
            ids.push(id);
            Ok(())
        })
        .unwrap();
    assert_eq!(ids, [1, 2, 3, 4]);
    drop(f.store);
    let verified = chain::verify((f.reopen)().as_mut()).unwrap();
    assert!(verified.intact(), "{verified:?}");
}

/// The store's reader ([`EventStore::reader`]) is a connection of its own: it answers the
/// access log as the writer does, and sees what the writer, or another connection, commits
/// after it was opened.
fn the_reader_answers_the_access_log_beside_the_writer(mut f: Fresh) {
    f.store.log_accesses(&[access("status", Some("aa")), access("report", None)]).unwrap();
    let mut reader = f.store.reader().unwrap().expect("a database on disk has a reader");
    let actions = |store: &mut dyn EventStore, client: Option<&str>| -> Vec<String> {
        store.access_log(client, 10).unwrap().into_iter().map(|a| a.action).collect()
    };
    assert_eq!(actions(reader.as_mut(), None), ["report", "status"]);
    // Committed after the reader was opened.
    let model = f.store.put_model("h1", "{}").unwrap();
    f.store.append_logged(0, &records(model, 1, 1), &[access("event", Some("aa"))]).unwrap();
    assert_eq!(actions(reader.as_mut(), Some("aa")), actions(f.store.as_mut(), Some("aa")));
    assert_eq!(actions(reader.as_mut(), Some("aa")), ["event", "status"]);
    // Another connection (another server) appends: the reader sees that too.
    let mut other = (f.reopen)();
    other.append_logged(1, &records(model, 2, 1), &[access("event", Some("bb"))]).unwrap();
    assert_eq!(actions(reader.as_mut(), Some("bb")), ["event"]);
    assert_eq!(actions(reader.as_mut(), None), actions(other.as_mut(), None));
}

fn settings_are_kept_and_replaced(mut f: Fresh) {
    assert_eq!(f.store.meta("k").unwrap(), None);
    f.store.set_meta("k", "1").unwrap();
    f.store.set_meta("k", "2").unwrap();
    assert_eq!(f.store.meta("k").unwrap().as_deref(), Some("2"));
    assert!(f.store.schema_version().unwrap() >= 1);
}

fn client(n: u8) -> ClientKey {
    let mut key = [n; 32];
    key[0] = 0xC0;
    key
}

fn marker_days_in_any_order_leave_the_same_proposals(mut f: Fresh) {
    let day = |d: i64, pairs: &[(u8, Option<&str>)]| {
        let map: FastMap<ClientKey, Option<String>> =
            pairs.iter().map(|(c, s)| (client(*c), s.map(str::to_owned))).collect();
        let run = MarkerRun {
            day: d,
            segmentation: "neuvola".into(),
            clients: map.len() as u64,
            rows: 0,
            recorded: "2026-10-15T06:00:00+03:00".into(),
        };
        (run, map)
    };
    let days = [
        day(100, &[(1, Some("tuki")), (2, Some("pärjääjä"))]),
        day(105, &[(1, Some("huolenpito")), (2, Some("pärjääjä")), (3, None)]),
        day(110, &[(1, Some("tuki")), (3, Some("tuki"))]),
    ];
    for i in [2, 0, 1, 2] {
        let (run, map) = &days[i];
        record_day(f.store.as_mut(), "m", run.clone(), map, None).unwrap();
    }
    let runs = f.store.marker_runs("m").unwrap();
    assert_eq!(runs.iter().map(|r| r.day).collect::<Vec<_>>(), [100, 105, 110]);
    let on = |store: &mut dyn EventStore, d: i64| {
        let mut v: Vec<(u8, String)> =
            proposals_on(store, "m", d).unwrap().into_iter().map(|(c, s)| (c[1], s)).collect();
        v.sort();
        v
    };
    assert_eq!(on(f.store.as_mut(), 100), [(1, "tuki".into()), (2, "pärjääjä".into())]);
    assert_eq!(on(f.store.as_mut(), 107), [(1, "huolenpito".into()), (2, "pärjääjä".into())]);
    assert_eq!(on(f.store.as_mut(), 110), [(1, "tuki".into()), (3, "tuki".into())]);
}

fn kept_answers_open_until_they_expire(mut f: Fresh) {
    let key = PseudonymKey::new(vec![4; 32]).unwrap();
    let kept = polku_store::answers::seal(&key, "c-1", "l", b"vastaus", 10, 20).unwrap();
    f.store.keep_answers(&kept).unwrap();
    let found = f.store.kept_answers("c-1", 15).unwrap();
    assert_eq!(found.len(), 1);
    assert!(found[0] == kept, "read back as kept");
    assert_eq!(polku_store::answers::open(&key, &found[0]).unwrap(), b"vastaus");
    assert!(f.store.kept_answers("c-1", 20).unwrap().is_empty(), "expired at its time");
    assert!(f.store.kept_answers("c-2", 15).unwrap().is_empty());
    assert_eq!(f.store.forget_answers(19).unwrap(), 0);
    assert_eq!(f.store.forget_answers(20).unwrap(), 1);
}

fn a_compaction_keeps_the_chosen_events_chained_anew_and_records_the_heads(mut f: Fresh) {
    let model = f.store.put_model("h1", "{}").unwrap();
    f.store.append(0, &records(model, 1, 12)).unwrap();
    f.store.save_snapshot(12, b"old").unwrap();
    f.store.log_access(&access("status", Some("aa"))).unwrap();
    f.store.log_access(&access("status", Some("bb"))).unwrap();
    let keep: Vec<NewRecord> =
        records(model, 1, 12).into_iter().filter(|r| !r.body.contains('3')).collect();
    let after = end(f.store.as_mut());
    let record = f
        .store
        .compact(&polku_store::Compaction {
            at: "2033-01-01T00:00:00Z".into(),
            after,
            keep: keep.clone(),
            retained: vec![("{\"h\":1}".into(), 2), ("{\"h\":2}".into(), 1)],
            removed_cases: 3,
            access_before: Some("9999-01-01T00:00:00Z".into()),
        })
        .unwrap();
    assert_eq!(record.removed_events, 12 - keep.len() as u64);
    assert_eq!(record.removed_access_rows, 2);
    assert_eq!(record.events_before.0, 12);
    assert_eq!(record.events_after.0, keep.len() as u64);
    let mut bodies = Vec::new();
    f.store
        .scan(0, &mut |r| {
            bodies.push((r.seq, r.body));
            Ok(())
        })
        .unwrap();
    let want: Vec<(u64, String)> =
        keep.iter().enumerate().map(|(i, r)| (i as u64 + 1, r.body.clone())).collect();
    assert_eq!(bodies, want, "the kept events, renumbered from 1");
    assert!(!f.store.read_snapshot(&mut |_, _, _| Ok(())).unwrap(), "the snapshot is gone");
    assert_eq!(
        f.store.retained().unwrap(),
        vec![("{\"h\":1}".to_owned(), 2), ("{\"h\":2}".to_owned(), 1)]
    );
    let verified = chain::verify(f.store.as_mut()).unwrap();
    assert!(verified.intact(), "{verified:?}");
    assert_eq!(verified.access_log.rows, 0);
    // Appending goes on after the kept events, and so does a reopened store.
    let n = keep.len() as u64;
    assert_eq!(f.store.append(n, &records(model, 100, 2)).unwrap(), n + 2);
    let mut again = (f.reopen)();
    assert_eq!(again.append(n + 2, &records(model, 200, 1)).unwrap(), n + 3);
    assert!(chain::verify(again.as_mut()).unwrap().intact());
    // A second compaction adds to the histories and is recorded after the first.
    let after = end(again.as_mut());
    again
        .compact(&polku_store::Compaction {
            at: "2034-01-01T00:00:00Z".into(),
            after,
            keep: records(model, 1, 1),
            retained: vec![("{\"h\":1}".into(), 5)],
            removed_cases: 1,
            access_before: None,
        })
        .unwrap();
    assert_eq!(again.retained().unwrap()[0], ("{\"h\":1}".to_owned(), 7));
    let all = again.compactions().unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(all[1].events_before.0, n + 3);
    assert!(chain::verify(again.as_mut()).unwrap().intact());
}

fn many_access_rows_at_once_are_chained_and_kept_by_a_compaction(mut f: Fresh) {
    // More rows than a backend may write with one statement.
    let rows: Vec<Access> =
        (0..25_001).map(|i| access("status", Some(&format!("{i:064x}")))).collect();
    f.store.log_accesses(&rows).unwrap();
    let after = end(f.store.as_mut());
    f.store
        .compact(&polku_store::Compaction {
            at: "2033-01-01T00:00:00Z".into(),
            after,
            keep: Vec::new(),
            retained: Vec::new(),
            removed_cases: 0,
            access_before: Some("1970-01-01T00:00:00Z".into()),
        })
        .unwrap();
    f.store.log_access(&access("status", None)).unwrap();
    let verified = chain::verify(f.store.as_mut()).unwrap();
    assert!(verified.intact(), "{verified:?}");
    assert_eq!(verified.access_log.rows, 25_002);
}

fn a_writer_goes_on_after_another_writers_compaction(mut f: Fresh) {
    let model = f.store.put_model("h1", "{}").unwrap();
    // This writer knows the log's end as it wrote it.
    f.store.append_logged(0, &records(model, 1, 10), &[access("ingest", None)]).unwrap();
    // Another writer adds five, then keeps ten others: the log ends at ten again, with other
    // rows there.
    let mut other = (f.reopen)();
    assert_eq!(other.append(10, &records(model, 11, 5)).unwrap(), 15);
    let after = end(other.as_mut());
    other.compact(&keeping(after, records(model, 6, 10), 0)).unwrap();
    // The first writer chains after the rows as they are now, not as it wrote them.
    assert_eq!(
        f.store.append_logged(10, &records(model, 100, 2), &[access("ingest", None)]).unwrap(),
        12
    );
    let verified = chain::verify(f.store.as_mut()).unwrap();
    assert!(verified.intact(), "{verified:?}");
}

fn an_append_after_another_writers_compaction_to_the_same_length_is_refused(mut f: Fresh) {
    let model = f.store.put_model("h1", "{}").unwrap();
    f.store.append(0, &records(model, 1, 10)).unwrap();
    // This writer's state is of these ten rows, read before any compaction.
    let epoch = f.store.log_epoch().unwrap();
    assert_eq!(epoch.compactions, 0);
    f.store.expect_epoch(Some(epoch));
    // Another writer compacts them to four and appends six: the log ends at ten again, with
    // other rows there.
    let mut other = (f.reopen)();
    let after = end(other.as_mut());
    other.compact(&keeping(after, records(model, 1, 4), 6)).unwrap();
    assert_eq!(other.append(4, &records(model, 50, 6)).unwrap(), 10);
    let before = end(other.as_mut());
    match f.store.append_logged(10, &records(model, 100, 2), &[access("ingest", None)]) {
        Err(StoreError::Conflict { expected: 10, found: 10 }) => {}
        other => {
            panic!("an append from before another writer's compaction must be refused: {other:?}")
        }
    }
    assert!(
        matches!(
            f.store.append_deferred(10, &records(model, 100, 2), &[], Box::new(|_| {})),
            Err(StoreError::Conflict { expected: 10, found: 10 })
        ),
        "a deferred append is refused the same way"
    );
    assert_eq!(end(f.store.as_mut()), before, "nothing was written");
    // Once the state is read again under the compaction, the writer goes on.
    let epoch = f.store.log_epoch().unwrap();
    assert_eq!(epoch.compactions, 1);
    f.store.expect_epoch(Some(epoch));
    assert_eq!(f.store.append(10, &records(model, 100, 2)).unwrap(), 12);
    let verified = chain::verify(f.store.as_mut()).unwrap();
    assert!(verified.intact(), "{verified:?}");
}

fn a_compaction_chosen_before_another_append_is_refused_and_changes_nothing(mut f: Fresh) {
    let model = f.store.put_model("h1", "{}").unwrap();
    f.store.append(0, &records(model, 1, 10)).unwrap();
    // The rows to keep are chosen from the log as it ends now...
    let after = end(f.store.as_mut());
    // ...then another writer appends three.
    let mut other = (f.reopen)();
    assert_eq!(other.append(10, &records(model, 11, 3)).unwrap(), 13);
    let compaction = keeping(after, records(model, 1, 5), 1);
    match f.store.compact(&compaction) {
        Err(StoreError::Conflict { expected: 10, found: 13 }) => {}
        other => panic!("a compaction chosen before another append must be refused: {other:?}"),
    }
    assert_eq!(f.store.last_seq().unwrap(), 13, "nothing was removed");
    assert!(f.store.compactions().unwrap().is_empty());
    assert!(chain::verify(f.store.as_mut()).unwrap().intact());
    // Chosen again from the log as it is, it is written.
    let after = end(f.store.as_mut());
    let record = f.store.compact(&polku_store::Compaction { after, ..compaction }).unwrap();
    assert_eq!(record.events_before.0, 13);
    assert_eq!(f.store.last_seq().unwrap(), 5);
}

fn a_snapshot_of_the_log_before_another_writers_compaction_is_not_stored(mut f: Fresh) {
    let model = f.store.put_model("h1", "{}").unwrap();
    // This writer's state is of these twelve rows.
    f.store.append(0, &records(model, 1, 12)).unwrap();
    // Another writer compacts the log to five rows, then appends seven: it ends at row twelve
    // again, with other rows.
    let mut other = (f.reopen)();
    let after = end(other.as_mut());
    other.compact(&keeping(after, records(model, 1, 5), 1)).unwrap();
    assert_eq!(other.append(5, &records(model, 20, 7)).unwrap(), 12);
    // The first writer's snapshot of its state is refused, and nothing of it is kept.
    assert!(f.store.save_snapshot(12, b"the state before the compaction").is_err());
    let mut again = (f.reopen)();
    let mut found = None;
    again
        .read_snapshot(&mut |seq, _, _| {
            found = Some(seq);
            Ok(())
        })
        .unwrap();
    assert_eq!(found, None, "a snapshot of the log before the compaction was stored");
    let verified = chain::verify(again.as_mut()).unwrap();
    assert!(verified.intact(), "{verified:?}");
}

fn an_append_of_no_events_is_written_whatever_the_log_s_end(mut f: Fresh) {
    let model = f.store.put_model("h1", "{}").unwrap();
    f.store.append(0, &records(model, 1, 4)).unwrap();
    let mut other = (f.reopen)();
    assert_eq!(other.append(4, &records(model, 5, 2)).unwrap(), 6);
    // This writer's view ends at four: an append of no events (a batch of repeats) is not
    // refused for it, writes its access row, and leaves the event log as it is.
    let (told, heard) = std::sync::mpsc::channel();
    let durable: polku_store::Durable = Box::new(move |result| told.send(result).unwrap());
    let last = f.store.append_deferred(4, &[], &[access("ingest", None)], durable).unwrap();
    assert_eq!(last, 4);
    assert_eq!(heard.recv().unwrap(), Ok(()));
    assert_eq!(f.store.last_seq().unwrap(), 6);
    assert_eq!(f.store.access_log(None, 10).unwrap().len(), 1);
    // Events from that view are still refused.
    match f.store.append(4, &records(model, 7, 1)) {
        Err(StoreError::Conflict { expected: 4, found: 6 }) => {}
        other => panic!("a stale writer must be refused: {other:?}"),
    }
    assert_eq!(f.store.append(6, &records(model, 7, 1)).unwrap(), 7);
    let verified = chain::verify(f.store.as_mut()).unwrap();
    assert!(verified.intact(), "{verified:?}");
}

fn access_rows_another_writer_adds_between_two_appends_are_chained_after(mut f: Fresh) {
    let model = f.store.put_model("h1", "{}").unwrap();
    let mut other = (f.reopen)();
    let mut after = 0;
    // This writer knows both logs' ends as it wrote them (a backend may then write with fewer
    // reads); another adds access rows of its own between its appends, with events and without.
    for round in 0..3 {
        for _ in 0..2 {
            after = f
                .store
                .append_logged(
                    after,
                    &records(model, after as usize + 1, 3),
                    &[access("ingest", None), access("read", Some("c1"))],
                )
                .unwrap();
        }
        match round {
            0 => other.log_access(&access("read", Some("c2"))).unwrap(),
            1 => {
                after = other
                    .append_logged(after, &records(model, 900, 1), &[access("ingest", None)])
                    .unwrap()
            }
            _ => other
                .log_accesses(&[access("read", Some("c3")), access("read", Some("c4"))])
                .unwrap(),
        }
    }
    // And access rows alone, after the other's.
    assert_eq!(f.store.append_logged(after, &[], &[access("read", Some("c5"))]).unwrap(), after);
    assert_eq!(f.store.last_seq().unwrap(), 3 * 2 * 3 + 1);
    assert_eq!(f.store.access_log(None, 100).unwrap().len(), 3 * 2 * 2 + 1 + 1 + 2 + 1);
    let verified = chain::verify(f.store.as_mut()).unwrap();
    assert!(verified.intact(), "{verified:?}");
}

fn ingest_through_the_tracker_is_idempotent_across_connections(f: Fresh) {
    let sources = common::corpus();
    let model = sources.compile().unwrap();
    let key = || PseudonymKey::new(vec![6; 32]).unwrap();
    let opts = polku_engine::simulate::Options {
        clients: 40,
        days: 120,
        seed: 3,
        start: polku_engine::time::Timestamp::parse("2026-01-01").unwrap(),
    };
    let parsed = common::simulated(&model, "s", &opts, &key());
    let actor = Actor::new("system", "järjestelmä");
    let mut first = Tracker::open(f.store, &sources, &model, key()).unwrap();
    let (ack, refused) = first
        .ingest(parsed.iter().cloned().map(|(l, e)| (l, e, None)), 50, &actor, &mut |_| {})
        .unwrap();
    assert!(refused.is_empty(), "{refused:?}");
    assert_eq!((ack.accepted + ack.duplicates + ack.refused) as usize, parsed.len(), "{ack:?}");
    assert!(ack.accepted as usize > parsed.len() / 2, "{ack:?}");
    let digest = first.projection.digest();
    drop(first);
    // Another process sends the same stream again: every event is a repeat.
    let mut second = Tracker::open((f.reopen)(), &sources, &model, key()).unwrap();
    assert_eq!(second.projection.digest(), digest, "the same state from the store");
    let (ack, _) = second
        .ingest(parsed.iter().cloned().map(|(l, e)| (l, e, None)), 50, &actor, &mut |_| {})
        .unwrap();
    assert_eq!((ack.accepted, ack.duplicates as usize), (0, parsed.len()));
    assert_eq!(second.projection.digest(), digest);
}

/// The suite, for one backend: `fresh(name)` opens a new, empty database for test `name`.
macro_rules! conformance {
    ($backend:ident, $fresh:expr) => {
        mod $backend {
            use super::*;

            fn fresh(name: &str) -> Option<Fresh> {
                ($fresh)(name)
            }

            #[test]
            fn append_and_scan() {
                if let Some(f) = fresh("append") {
                    append_and_scan_keep_order_and_chain(f);
                }
            }
            #[test]
            fn stale_writer() {
                if let Some(f) = fresh("stale") {
                    a_stale_writer_is_refused_and_writes_nothing(f);
                }
            }
            #[test]
            fn unknown_model() {
                if let Some(f) = fresh("unknown_model") {
                    an_unknown_model_version_is_refused_and_writes_nothing(f);
                }
            }
            #[test]
            fn deferred_appends() {
                if let Some(f) = fresh("deferred") {
                    deferred_appends_are_told_durable_in_order_and_a_stale_one_is_not_written(f);
                }
            }
            #[test]
            fn snapshot_after_another_compaction() {
                if let Some(f) = fresh("snapshot_compacted") {
                    a_snapshot_of_the_log_before_another_writers_compaction_is_not_stored(f);
                }
            }
            #[test]
            fn no_events_after_another_append() {
                if let Some(f) = fresh("no_events") {
                    an_append_of_no_events_is_written_whatever_the_log_s_end(f);
                }
            }
            #[test]
            fn access_rows_between_appends() {
                if let Some(f) = fresh("access_between") {
                    access_rows_another_writer_adds_between_two_appends_are_chained_after(f);
                }
            }
            #[test]
            fn append_after_another_compaction() {
                if let Some(f) = fresh("append_compacted") {
                    an_append_after_another_writers_compaction_to_the_same_length_is_refused(f);
                }
            }
            #[test]
            fn compaction_after_another_append() {
                if let Some(f) = fresh("compaction_moved") {
                    a_compaction_chosen_before_another_append_is_refused_and_changes_nothing(f);
                }
            }
            #[test]
            fn two_writers() {
                if let Some(f) = fresh("writers") {
                    two_writers_at_once_lose_nothing_and_double_nothing(f);
                }
            }
            #[test]
            fn model_versions() {
                if let Some(f) = fresh("models") {
                    model_versions_are_kept_once_in_order(f);
                }
            }
            #[test]
            fn snapshots() {
                if let Some(f) = fresh("snapshots") {
                    snapshots_replace_older_ones_and_record_the_chain(f);
                }
            }
            #[test]
            fn access_log() {
                if let Some(f) = fresh("access") {
                    the_access_log_is_chained_filtered_and_newest_first(f);
                }
            }
            #[test]
            fn reader() {
                if let Some(f) = fresh("reader") {
                    the_reader_answers_the_access_log_beside_the_writer(f);
                }
            }
            #[test]
            fn settings() {
                if let Some(f) = fresh("settings") {
                    settings_are_kept_and_replaced(f);
                }
            }
            #[test]
            fn markers() {
                if let Some(f) = fresh("markers") {
                    marker_days_in_any_order_leave_the_same_proposals(f);
                }
            }
            #[test]
            fn compaction() {
                if let Some(f) = fresh("compaction") {
                    a_compaction_keeps_the_chosen_events_chained_anew_and_records_the_heads(f);
                }
            }
            #[test]
            fn many_access_rows() {
                if let Some(f) = fresh("many_access") {
                    many_access_rows_at_once_are_chained_and_kept_by_a_compaction(f);
                }
            }
            #[test]
            fn compaction_by_another() {
                if let Some(f) = fresh("compaction_other") {
                    a_writer_goes_on_after_another_writers_compaction(f);
                }
            }
            #[test]
            fn kept_answers() {
                if let Some(f) = fresh("answers") {
                    kept_answers_open_until_they_expire(f);
                }
            }
            #[test]
            fn idempotent_ingest() {
                if let Some(f) = fresh("ingest") {
                    ingest_through_the_tracker_is_idempotent_across_connections(f);
                }
            }
        }
    };
}

conformance!(sqlite, |name: &str| {
    let dir = common::temp("conformance", name);
    let url = format!("sqlite://{}", dir.join("c.sqlite").display());
    let store = polku_store::open(&url).unwrap();
    Some(Fresh { store, reopen: Box::new(move || polku_store::open(&url).unwrap()) })
});

/// A database of its own on the server `POLKU_TEST_POSTGRES_URL` names, for one test.
fn postgres_fresh(name: &str) -> Option<Fresh> {
    let url = postgres_database(name)?;
    let store = polku_store::open(&url).unwrap();
    Some(Fresh { store, reopen: Box::new(move || polku_store::open(&url).unwrap()) })
}

/// The URL of a new, empty database for test `name`; `None` when no server is named.
fn postgres_database(name: &str) -> Option<String> {
    let Ok(server) = std::env::var("POLKU_TEST_POSTGRES_URL") else {
        assert!(
            std::env::var("CI").is_err(),
            "CI runs the PostgreSQL conformance tests: set POLKU_TEST_POSTGRES_URL (scripts/test does)"
        );
        eprintln!(
            "POLKU_TEST_POSTGRES_URL is not set: the PostgreSQL conformance tests do not run"
        );
        return None;
    };
    Some(common::postgres_database(&server, "conformance", name))
}

conformance!(postgresql, postgres_fresh);

/// A snapshot written again for the row it was written for before (its rows are replaced, and
/// locked for that) while a compaction runs: the compaction takes the log's lock and then the
/// snapshots' rows, so the snapshot takes them in that order too, and waits for the compaction
/// instead of the two waiting for each other until PostgreSQL aborts one of them.
#[test]
fn postgresql_a_snapshot_written_again_waits_for_a_compaction_and_neither_is_aborted() {
    let Some(url) = postgres_database("resnapshot") else { return };
    let mut store = polku_store::open(&url).unwrap();
    let model = store.put_model("h1", "{}").unwrap();
    store.append(0, &records(model, 1, 30)).unwrap();
    store.save_snapshot(30, b"first").unwrap();
    // What a compaction does first, on a connection of its own: the log's lock (the store's
    // advisory lock number for the event log).
    let mut compaction = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    let mut tx = compaction.transaction().unwrap();
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&0x706f_6c6b_7501_i64]).unwrap();
    let again = std::thread::spawn(move || {
        let written = store.save_snapshot(30, b"again");
        (store, written)
    });
    // The snapshot is under way, waiting for the log's lock (and, written in the wrong order,
    // holding the rows it replaces by then).
    let mut watch = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    let since = std::time::Instant::now();
    loop {
        let waiting: i64 = watch
            .query_one(
                "SELECT COUNT(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted
                 AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
                &[],
            )
            .unwrap()
            .get(0);
        if waiting > 0 {
            break;
        }
        assert!(since.elapsed() < std::time::Duration::from_secs(30), "the snapshot never waited");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let dropped = tx
        .execute("DELETE FROM snapshot_parts", &[])
        .and_then(|_| tx.execute("DELETE FROM snapshots", &[]));
    assert!(dropped.is_ok(), "the compaction was aborted: {dropped:?}");
    tx.commit().unwrap();
    let (mut store, written) = again.join().unwrap();
    assert!(written.is_ok(), "the snapshot was aborted: {written:?}");
    let mut kept = None;
    store
        .read_snapshot(&mut |seq, _, data| {
            let mut bytes = Vec::new();
            data.read_to_end(&mut bytes).unwrap();
            kept = Some((seq, bytes));
            Ok(())
        })
        .unwrap();
    assert_eq!(kept, Some((30, b"again".to_vec())), "the snapshot written after the compaction");
}

/// A database written by an earlier release (PostgreSQL schema 3, whose events had a foreign key
/// to their model version) opens under this one: migrated, with its events, and the key gone.
#[test]
fn postgresql_a_database_of_the_schema_before_is_migrated_with_its_events() {
    let Some(url) = postgres_database("upgrade") else { return };
    let mut store = polku_store::open(&url).unwrap();
    let model = store.put_model("h1", "{}").unwrap();
    store.append(0, &records(model, 1, 30)).unwrap();
    drop(store);
    let mut server = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    let foreign_keys = |server: &mut postgres::Client| -> i64 {
        server
            .query_one(
                "SELECT COUNT(*) FROM pg_constraint WHERE conrelid = 'events'::regclass AND contype = 'f'",
                &[],
            )
            .unwrap()
            .get(0)
    };
    assert_eq!(foreign_keys(&mut server), 0, "a new database has no foreign key on events");
    // As the release before left it.
    server
        .batch_execute(
            "UPDATE polku_schema SET version = 3;
             DROP FUNCTION polku_append;
             ALTER TABLE events ADD CONSTRAINT events_model_fkey FOREIGN KEY (model) REFERENCES models(id);",
        )
        .unwrap();
    let mut store = polku_store::open(&url).unwrap();
    assert_eq!(store.schema_version().unwrap(), polku_store::postgres::SCHEMA_VERSION);
    assert_eq!(foreign_keys(&mut server), 0);
    assert_eq!(store.last_seq().unwrap(), 30);
    assert_eq!(store.append(30, &records(model, 31, 2)).unwrap(), 32);
    assert_eq!(store.append(32, &records(model, 33, 2)).unwrap(), 34, "from the ends it wrote");
    assert!(chain::verify(store.as_mut()).unwrap().intact());
}

/// A position in the server's log: `f` is `pg_current_wal_insert_lsn` (written) or
/// `pg_current_wal_flush_lsn` (on the disk).
fn lsn(client: &mut postgres::Client, f: &str) -> u64 {
    let text: String = client.query_one(&format!("SELECT {f}()::TEXT"), &[]).unwrap().get(0);
    let (high, low) = text.split_once('/').unwrap();
    (u64::from_str_radix(high, 16).unwrap() << 32) | u64::from_str_radix(low, 16).unwrap()
}

/// PostgreSQL commits a deferred append without waiting for the disk; it may tell the append
/// durable only once the server's log is flushed past the append's commit.
#[test]
fn postgresql_tells_a_deferred_append_durable_only_after_the_log_is_flushed_past_it() {
    let Some(url) = postgres_database("flushed") else { return };
    let mut store = polku_store::open(&url).unwrap();
    let mut server = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    let model = store.put_model("h1", "{}").unwrap();
    let mut after = 0;
    for round in 0..20 {
        let (told, heard) = std::sync::mpsc::channel();
        let durable: polku_store::Durable = Box::new(move |result| told.send(result).unwrap());
        let rows = records(model, round * 200, 200);
        // The append's commit ends past the log's end before it by at least its rows' bytes
        // (other databases of the server may write to the log too, so no more is known).
        let before = lsn(&mut server, "pg_current_wal_insert_lsn");
        let written = before + rows.iter().map(|r| r.body.len() as u64).sum::<u64>();
        after = store.append_deferred(after, &rows, &[access("ingest", None)], durable).unwrap();
        heard.recv().unwrap().unwrap();
        let flushed = lsn(&mut server, "pg_current_wal_flush_lsn");
        assert!(
            flushed >= written,
            "round {round}: told durable at {flushed:x}, written to {written:x}"
        );
    }
}

/// An append that is not deferred returns only once PostgreSQL's log is flushed past its
/// commit, whether it goes as one call of `polku_append` or the long way.
#[test]
fn postgresql_a_synchronous_append_returns_only_after_the_log_is_flushed_past_it() {
    let Some(url) = postgres_database("synchronous") else { return };
    let mut store = polku_store::open(&url).unwrap();
    let mut server = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    let model = store.put_model("h1", "{}").unwrap();
    let mut after = 0;
    for round in 0..20 {
        let rows = records(model, round * 50, 50);
        let before = lsn(&mut server, "pg_current_wal_insert_lsn");
        let written = before + rows.iter().map(|r| r.body.len() as u64).sum::<u64>();
        after = store.append_logged(after, &rows, &[access("ingest", None)]).unwrap();
        let flushed = lsn(&mut server, "pg_current_wal_flush_lsn");
        assert!(
            flushed >= written,
            "round {round}: returned at {flushed:x}, written to {written:x}"
        );
    }
}

/// When the connection that makes deferred appends durable is cut, the batches waiting on it are
/// answered with an error (the writer is rebuilt from the log), a sender that tries again is
/// answered, and in the end the log holds every event once and the state is the state of the
/// log.
#[test]
fn postgresql_a_cut_flushing_connection_loses_nothing_and_doubles_nothing() {
    let Some(url) = postgres_database("flusher_cut") else { return };
    let sources = common::corpus();
    let model = sources.compile().unwrap();
    let key = || PseudonymKey::new(vec![6; 32]).unwrap();
    let opts = polku_engine::simulate::Options {
        clients: 60,
        days: 120,
        seed: 5,
        start: polku_engine::time::Timestamp::parse("2026-01-01").unwrap(),
    };
    let parsed = common::simulated(&model, "s", &opts, &key());
    let tracker = Tracker::open(polku_store::open(&url).unwrap(), &sources, &model, key()).unwrap();
    let service = polku_store::TrackerService::new(tracker);
    let actor = Actor::new("system", "järjestelmä");
    let mut server = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    let (mut errors, mut cuts) = (0, 0);
    let batches: Vec<Vec<_>> =
        parsed.chunks(40).map(|c| c.iter().map(|(_, e)| e.clone()).collect()).collect();
    for (i, batch) in batches.iter().enumerate() {
        if i % 5 == 2 {
            // The flushing connection is the one whose last statement wrote the message.
            let cut: i64 = server
                .query_one(
                    "SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity
                     WHERE datname = current_database() AND pid <> pg_backend_pid()
                       AND query LIKE '%pg_logical_emit_message%'",
                    &[],
                )
                .unwrap()
                .get(0);
            cuts += cut;
        }
        let mut tries = 0;
        loop {
            match service.append(batch.clone(), &actor, &|_| true) {
                Ok(result) => {
                    assert_eq!(result.refused + result.conflicts, 0, "batch {i}: {result:?}");
                    break;
                }
                Err(e) => {
                    errors += 1;
                    tries += 1;
                    assert!(tries < 5, "batch {i} still fails: {e}");
                }
            }
        }
    }
    assert!(cuts > 0, "no flushing connection was found to cut");
    eprintln!("{cuts} flushing connections cut, {errors} batches answered with an error");
    let digest = service.digest();
    let stored = service.info().unwrap().log_seq;
    drop(service);
    let ids: std::collections::BTreeSet<&str> = parsed.iter().map(|(_, e)| e.id.as_str()).collect();
    assert_eq!(stored, ids.len() as u64, "every event once");
    let again = Tracker::open(polku_store::open(&url).unwrap(), &sources, &model, key()).unwrap();
    assert_eq!(again.projection.digest(), digest, "the state is the state of the log");
    let mut store = polku_store::open(&url).unwrap();
    assert!(chain::verify(store.as_mut()).unwrap().intact());
}

/// An append from the ends of the logs the store wrote itself is one call of the database's
/// `polku_append` (the locks, the check of the ends and the inserts in one round trip), and
/// one from ends it does not know, or that moved, is written the long way.
#[test]
fn postgresql_an_append_from_the_ends_the_store_wrote_is_one_call() {
    let Some(url) = postgres_database("one_call") else { return };
    let mut server = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    let name: String = server.query_one("SELECT current_database()", &[]).unwrap().get(0);
    server.batch_execute(&format!("ALTER DATABASE {name} SET track_functions = 'pl'")).unwrap();
    let mut store = polku_store::open(&url).unwrap();
    let model = store.put_model("h1", "{}").unwrap();
    // The first append reads the ends; the next four know them.
    let mut after = 0;
    for _ in 0..5 {
        after = store
            .append_logged(after, &records(model, after as usize + 1, 4), &[access("ingest", None)])
            .unwrap();
    }
    // Another server appends: this store's next append is refused (it is stale), not written
    // over the other's rows by the call.
    let mut other = polku_store::open(&url).unwrap();
    assert_eq!(other.append(after, &records(model, 100, 2)).unwrap(), after + 2);
    match store.append(after, &records(model, 200, 1)) {
        Err(StoreError::Conflict { expected, found }) => {
            assert_eq!((expected, found), (after, after + 2))
        }
        other => panic!("a stale append must be refused: {other:?}"),
    }
    drop((store, other));
    let since = std::time::Instant::now();
    let calls = loop {
        // A backend hands its counts over within a second or so of going idle.
        let calls: Option<i64> = server
            .query_opt(
                "SELECT calls FROM pg_stat_user_functions WHERE funcname = 'polku_append'",
                &[],
            )
            .unwrap()
            .map(|r| r.get(0));
        match calls {
            Some(calls) if calls >= 5 => break calls,
            _ if since.elapsed() > std::time::Duration::from_secs(30) => {
                panic!("polku_append was called {calls:?} times, not at least 5")
            }
            _ => std::thread::sleep(std::time::Duration::from_millis(200)),
        }
    };
    // Four appends that knew the ends, and the stale one, which the call found moved.
    assert_eq!(calls, 5);
    let mut store = polku_store::open(&url).unwrap();
    assert_eq!(store.last_seq().unwrap(), 5 * 4 + 2);
    let verified = chain::verify(store.as_mut()).unwrap();
    assert!(verified.intact(), "{verified:?}");
}

/// A role that may not call `polku_append` (EXECUTE revoked) still appends, the long way.
#[test]
fn postgresql_a_role_that_may_not_call_the_one_call_append_appends_the_long_way() {
    let Some(url) = postgres_database("no_execute") else { return };
    let mut store = polku_store::open(&url).unwrap();
    let model = store.put_model("h1", "{}").unwrap();
    drop(store);
    let mut server = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    let role = format!("polku_no_execute_{}", std::process::id());
    server
        .batch_execute(&format!(
            "DROP ROLE IF EXISTS {role};
             CREATE ROLE {role} LOGIN;
             GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role};
             GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO {role};
             REVOKE EXECUTE ON FUNCTION polku_append FROM PUBLIC;"
        ))
        .unwrap();
    let mut config: postgres::Config = url.parse().unwrap();
    config.user(&role);
    let (host, port) = match (&config.get_hosts()[0], config.get_ports().first()) {
        (postgres::config::Host::Tcp(host), Some(port)) => (host.clone(), *port),
        other => panic!("a TCP server is named: {other:?}"),
    };
    let database = config.get_dbname().unwrap().to_owned();
    let limited = format!("postgres://{role}@{host}:{port}/{database}");
    let mut store = polku_store::open(&limited).unwrap();
    let mut after = 0;
    for _ in 0..4 {
        after = store
            .append_logged(after, &records(model, after as usize + 1, 3), &[access("ingest", None)])
            .unwrap();
    }
    assert_eq!(after, 12);
    assert!(chain::verify(store.as_mut()).unwrap().intact());
    drop(store);
    server.batch_execute(&format!("DROP OWNED BY {role}; DROP ROLE {role};")).unwrap();
}
