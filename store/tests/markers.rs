//! Marker proposals stored by day: whatever the order the days are run in, and however often,
//! the stored proposals are those of the last run of each day, and each run day's proposals
//! read back exactly as they were given.

#![allow(clippy::unwrap_used)] // A test that cannot set up should fail loudly.

#[allow(dead_code)] // The corpus is for the other tests.
mod common;

use std::collections::BTreeMap;

use polku_dsl::hash::FastMap;
use polku_store::markers::{proposals_on, record_day, MarkerRun};
use polku_store::sqlite::SqliteStore;
use polku_store::{ClientKey, EventStore};
use proptest::prelude::*;

const SEGMENTS: &[&str] = &["pärjääjä", "tuki", "yhteistyö", "huolenpito"];

fn client(n: u8) -> ClientKey {
    let mut key = [0u8; 32];
    key[0] = n;
    key[31] = 7;
    key
}

/// A day's proposals: client → segment index, or `None` for "named, but no rule held"; a
/// client left out was not in the extract.
type Day = BTreeMap<u8, Option<usize>>;

fn run(store: &mut dyn EventStore, day: i64, proposals: &Day) -> polku_store::markers::RecordedDay {
    let map: FastMap<ClientKey, Option<String>> =
        proposals.iter().map(|(c, s)| (client(*c), s.map(|i| SEGMENTS[i].to_owned()))).collect();
    let run = MarkerRun {
        day,
        segmentation: "neuvola".into(),
        clients: map.len() as u64,
        rows: 0,
        recorded: "2026-10-15T06:00:00+03:00".into(),
    };
    record_day(store, "merkit", run, &map, None).unwrap()
}

/// Every stored row, as `(client, day, segment)`.
fn rows(store: &mut dyn EventStore, days: &[i64]) -> Vec<(ClientKey, i64, String)> {
    let mut out = Vec::new();
    for &day in days {
        store
            .marker_changes_on("merkit", day, &mut |c, s| out.push((c, day, s.to_owned())))
            .unwrap();
    }
    out.sort();
    out
}

fn day_strategy() -> impl Strategy<Value = Day> {
    prop::collection::btree_map(0u8..12, prop::option::weighted(0.8, 0usize..4), 0..12)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn days_in_any_order_and_run_again_leave_what_days_in_order_leave(
        days in prop::collection::vec(day_strategy(), 1..6),
        order in prop::collection::vec(0usize..100, 1..12),
    ) {
        let dir = common::temp("markers", "order");
        let mut in_order = SqliteStore::open(&dir.join("a.sqlite")).unwrap();
        let mut shuffled = SqliteStore::open(&dir.join("b.sqlite")).unwrap();
        let numbers: Vec<i64> = (0..days.len() as i64).map(|d| 20_000 + 3 * d).collect();
        for (d, proposals) in numbers.iter().zip(&days) {
            run(&mut in_order, *d, proposals);
        }
        // Every day at least once, in the order drawn, some twice.
        let mut sequence: Vec<usize> = order.iter().map(|i| i % days.len()).collect();
        sequence.extend(0..days.len());
        for &i in &sequence {
            run(&mut shuffled, numbers[i], &days[i]);
        }
        prop_assert_eq!(rows(&mut in_order, &numbers), rows(&mut shuffled, &numbers));
        // Each run day reads back as given, and a day between runs as the run before it.
        for (k, (d, proposals)) in numbers.iter().zip(&days).enumerate() {
            let expected: FastMap<ClientKey, String> = proposals
                .iter()
                .filter_map(|(c, s)| s.map(|i| (client(*c), SEGMENTS[i].to_owned())))
                .collect();
            prop_assert_eq!(&proposals_on(&mut shuffled, "merkit", *d).unwrap(), &expected, "day {}", k);
            prop_assert_eq!(&proposals_on(&mut shuffled, "merkit", *d + 1).unwrap(), &expected);
        }
        // A day run again writes and removes nothing.
        let last = days.len() - 1;
        let again = run(&mut shuffled, numbers[last], &days[last]);
        prop_assert_eq!((again.written, again.removed), (0, 0));
        let runs = shuffled.marker_runs("merkit").unwrap();
        prop_assert_eq!(runs.iter().map(|r| r.day).collect::<Vec<_>>(), numbers);
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[test]
fn a_run_reports_who_moved_since_the_run_day_before() {
    let dir = common::temp("markers", "moves");
    let mut store = SqliteStore::open(&dir.join("m.sqlite")).unwrap();
    let first: Day = [(1, Some(0)), (2, Some(0)), (3, Some(1))].into_iter().collect();
    let second: Day = [(1, Some(2)), (2, Some(0)), (4, Some(3))].into_iter().collect();
    let recorded = run(&mut store, 100, &first);
    assert_eq!(recorded.previous, None);
    assert_eq!(recorded.written, 3);
    let recorded = run(&mut store, 110, &second);
    assert_eq!(recorded.previous, Some(100));
    let moves: Vec<(String, String, u64)> = recorded
        .moves
        .iter()
        .flat_map(|(a, to)| to.iter().map(move |(b, n)| (a.clone(), b.clone(), *n)))
        .collect();
    // Client 3 was not in the second extract: it has no proposal there.
    assert_eq!(
        moves,
        vec![
            ("pärjääjä".into(), "yhteistyö".into(), 1),
            ("tuki".into(), "–".into(), 1),
            ("–".into(), "huolenpito".into(), 1),
        ]
    );
    // A run between the two, later: the second day's moves are now counted from it.
    let between: Day =
        [(1, Some(2)), (2, Some(1)), (3, Some(1)), (4, Some(3))].into_iter().collect();
    let recorded = run(&mut store, 105, &between);
    assert_eq!((recorded.previous, recorded.next), (Some(100), Some(110)));
    let on = proposals_on(&mut store, "merkit", 110).unwrap();
    assert_eq!(on.get(&client(2)).map(String::as_str), Some("pärjääjä"));
    assert_eq!(on.get(&client(3)), None);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_run_worked_out_before_another_was_stored_is_worked_out_again() {
    let dir = common::temp("markers", "stale");
    let days: Vec<Day> = vec![
        [(1, Some(0)), (2, Some(1))].into_iter().collect(),
        [(1, Some(1)), (2, Some(1)), (3, Some(2))].into_iter().collect(),
        [(1, Some(1)), (3, None)].into_iter().collect(),
    ];
    let mut in_order = SqliteStore::open(&dir.join("a.sqlite")).unwrap();
    for (d, p) in [100, 105, 110].into_iter().zip(&days) {
        run(&mut in_order, d, p);
    }
    let mut store = SqliteStore::open(&dir.join("b.sqlite")).unwrap();
    run(&mut store, 100, &days[0]);
    // Day 110 is worked out from what is stored now; day 105 comes in before it is written.
    let stale = polku_store::markers::neighbours(&mut store, "merkit", 110).unwrap();
    run(&mut store, 105, &days[1]);
    let map: FastMap<ClientKey, Option<String>> =
        days[2].iter().map(|(c, s)| (client(*c), s.map(|i| SEGMENTS[i].to_owned()))).collect();
    let late = MarkerRun {
        day: 110,
        segmentation: "neuvola".into(),
        clients: 2,
        rows: 0,
        recorded: "2026-10-15T06:00:00+03:00".into(),
    };
    let recorded = record_day(&mut store, "merkit", late, &map, Some(stale)).unwrap();
    assert_eq!(recorded.previous, Some(105), "worked out again after day 105 came in");
    assert_eq!(rows(&mut store, &[100, 105, 110]), rows(&mut in_order, &[100, 105, 110]));
    let _ = std::fs::remove_dir_all(&dir);
}
