//! Opening a new database from several processes (here: threads with their own connections)
//! at once: the schema is created once, and every opener finds it whole.

use std::sync::{Arc, Barrier};

use polku_store::sqlite::{SqliteStore, SCHEMA_VERSION};
use polku_store::EventStore;

#[test]
fn concurrent_openers_of_a_new_database_all_succeed() {
    for round in 0..20 {
        let dir = std::env::temp_dir().join(format!("polku-schema-{}-{round}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("new.sqlite");
        let barrier = Arc::new(Barrier::new(8));
        let openers: Vec<_> = (0..8)
            .map(|_| {
                let (path, barrier) = (path.clone(), barrier.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    SqliteStore::open(&path).map(|mut s| s.schema_version())
                })
            })
            .collect();
        for opener in openers {
            match opener.join().expect("thread") {
                Ok(Ok(version)) => assert_eq!(version, SCHEMA_VERSION),
                Ok(Err(e)) | Err(e) => panic!("round {round}: an opener failed: {e}"),
            }
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
