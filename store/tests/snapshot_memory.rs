//! A snapshot written into SQLite is not held whole in memory by SQLite either. In a test
//! binary of its own: it reads the process's peak resident size, which other tests running
//! beside it would move.

#![allow(clippy::unwrap_used)] // A test that cannot set up should fail loudly.

mod common;

use polku_store::sqlite::SqliteStore;
use polku_store::{EventStore, NewRecord};

/// A line of `/proc/self/status`, in KiB.
fn status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|line| line.strip_prefix(field))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap()
}

#[test]
fn sqlite_writes_a_large_snapshot_without_holding_it_in_memory() {
    // The peak resident size is read and reset through Linux's `/proc`.
    if !std::path::Path::new("/proc/self/clear_refs").exists() {
        eprintln!("no /proc/self/clear_refs: the test needs Linux and is skipped");
        return;
    }
    let dir = common::temp("snapmem", "large");
    let path = dir.join("s.sqlite");
    let mut store = SqliteStore::open(&path).unwrap();
    let model = store.put_model("h", "{}").unwrap();
    store.append(0, &[NewRecord { model, body: "e".into() }]).unwrap();
    const PIECES: usize = 96;
    let piece = vec![7u8; 1 << 20];
    let len = (PIECES * piece.len()) as u64;
    std::fs::write("/proc/self/clear_refs", "5").expect("resetting the peak resident size");
    let before = status_kib("VmHWM:");
    store
        .save_snapshot_with(1, len, &mut |out| {
            for _ in 0..PIECES {
                out.write_all(&piece).unwrap();
            }
            Ok(())
        })
        .unwrap();
    let grown = status_kib("VmHWM:").saturating_sub(before);
    // Twice the snapshot (192 MiB) when SQLite made its blob in memory before writing it.
    assert!(grown < 32 << 10, "the peak grew by {grown} KiB writing a snapshot of {len} bytes");
    // It reads back whole, with the chain's hash at its row.
    let mut read = None;
    store
        .read_snapshot(&mut |seq, chain, data| {
            let mut bytes = Vec::new();
            data.read_to_end(&mut bytes).unwrap();
            read = Some((seq, chain.is_some(), bytes.len() as u64, bytes.iter().all(|&b| b == 7)));
            Ok(())
        })
        .unwrap();
    assert_eq!(read, Some((1, true, len, true)));
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
}
