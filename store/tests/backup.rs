//! `polku store backup`: a copy taken while another writer goes on appending is the database as
//! it stood at one commit (a prefix of the log, chains intact), and an existing file is never
//! overwritten.

#![allow(clippy::unwrap_used)] // A test that cannot set up should fail loudly.

#[allow(dead_code)] // The corpus is for the other tests.
mod common;

use polku_store::chain;
use polku_store::sqlite::{backup, SqliteStore};
use polku_store::{EventStore, NewRecord};

#[test]
fn a_backup_taken_during_writes_is_a_consistent_prefix() {
    let dir = common::temp("backup", "during");
    let source = dir.join("s.sqlite");
    let mut store = SqliteStore::open(&source).unwrap();
    let model = store.put_model("h", "{}").unwrap();
    store.append(0, &[NewRecord { model, body: "{\"n\":0}".into() }]).unwrap();
    let writer = std::thread::spawn(move || {
        let mut after = 1;
        for n in 1..3_000u64 {
            let body = format!("{{\"n\":{n},\"pad\":\"{}\"}}", "x".repeat(200));
            after = store.append(after, &[NewRecord { model, body }]).unwrap();
        }
        after
    });
    let mut copies = Vec::new();
    for i in 0..5 {
        std::thread::sleep(std::time::Duration::from_millis(40));
        let to = dir.join(format!("copy-{i}.sqlite"));
        let last = backup(&source, &to).unwrap();
        copies.push((to, last));
    }
    let last = writer.join().unwrap();
    assert_eq!(last, 3_000);
    assert!(
        copies.iter().any(|(_, l)| *l > 1 && *l < 3_000),
        "copies taken mid-stream: {copies:?}"
    );
    let mut whole = Vec::new();
    SqliteStore::open(&source)
        .unwrap()
        .scan(0, &mut |r| {
            whole.push(r.body);
            Ok(())
        })
        .unwrap();
    for (to, last) in &copies {
        let mut copy = SqliteStore::open(to).unwrap();
        assert!(chain::verify(&mut copy).unwrap().intact(), "{}", to.display());
        let mut bodies = Vec::new();
        copy.scan(0, &mut |r| {
            bodies.push(r.body);
            Ok(())
        })
        .unwrap();
        assert_eq!(bodies.len() as u64, *last);
        assert_eq!(bodies[..], whole[..bodies.len()], "a prefix of the log");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(to).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "readable by its owner only");
        }
    }
    // Never over an existing file.
    let taken = &copies[0].0;
    let before = std::fs::read(taken).unwrap();
    let refused = backup(&source, taken).unwrap_err().to_string();
    assert!(refused.contains("never overwrites"), "{refused}");
    assert_eq!(std::fs::read(taken).unwrap(), before);
    let _ = std::fs::remove_dir_all(&dir);
}
