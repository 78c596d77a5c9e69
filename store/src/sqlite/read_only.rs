//! Opening a database that cannot be written here: a read-only mount, a backup handed over on
//! read-only media, a file this user may read but not write. Nothing is created, migrated or
//! checkpointed; the store answers reads, and a write fails.
//!
//! A WAL database needs its `-shm` file to be read safely. SQLite reads a read-only WAL
//! database when the `-shm` and `-wal` files are there (a writer elsewhere has it open, or
//! was stopped) or can be created. When neither holds (the last writer closed the database,
//! which removed them, and the folder cannot be written) and there is no `-wal` with content,
//! everything committed is in the database file itself: it is then read as immutable.

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags};

use super::{SqliteStore, SCHEMA_VERSION};
use crate::StoreError;

/// The file beside the database with `suffix` appended to its name (`-wal`, `-shm`).
fn beside(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// `path` as an SQLite URI with `query`: every byte but the unreserved ones escaped, so that
/// a `?`, `#` or `%` in a folder's name is read as part of the name.
fn uri(path: &Path, query: &str) -> String {
    let mut out = String::from("file:");
    for &b in path.as_os_str().as_encoded_bytes() {
        if b.is_ascii_alphanumeric() || b"/-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out.push('?');
    out.push_str(query);
    out
}

impl SqliteStore {
    /// Opens an existing database for reading only. Its schema must be this build's: an older
    /// one cannot be migrated without writing, and a newer one is refused as always.
    pub fn open_read_only(path: &Path) -> Result<SqliteStore, StoreError> {
        let url = format!("sqlite://{}", path.display());
        let failed = |message: String| StoreError::Open { url: url.clone(), message };
        let path = std::fs::canonicalize(path).map_err(|e| failed(e.to_string()))?;
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY
            | OpenFlags::SQLITE_OPEN_URI
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let open = |query: &str| -> Result<(Connection, i64), rusqlite::Error> {
            let conn = Connection::open_with_flags(uri(&path, query), flags)?;
            conn.busy_timeout(std::time::Duration::from_secs(10))?;
            // The first read is where SQLite finds (or fails to make) the -shm file.
            let version = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
            Ok((conn, version))
        };
        let (conn, found) = match open("mode=ro") {
            Ok(opened) => opened,
            Err(first) => {
                let wal = std::fs::metadata(beside(&path, "-wal")).map_or(0, |m| m.len());
                if wal > 0 {
                    return Err(failed(format!(
                        "{first}: its write-ahead log ({}-wal) holds commits that cannot be read without the -shm file, which cannot be made here: copy the database with its -wal file to a folder that can be written",
                        path.display()
                    )));
                }
                // No log with content: the file holds every commit, and nobody writes it here.
                open("immutable=1").map_err(|e| failed(e.to_string()))?
            }
        };
        if found > SCHEMA_VERSION {
            return Err(StoreError::TooNew { found, known: SCHEMA_VERSION });
        }
        if found < SCHEMA_VERSION {
            return Err(failed(format!(
                "its schema ({found}) is older than this build's ({SCHEMA_VERSION}) and cannot be brought up to date without writing: open it once where it can be written"
            )));
        }
        Ok(SqliteStore {
            conn,
            checkpointer: None,
            writable: false,
            head: None,
            compactions: 0,
            expected: None,
            noticed: Vec::new(),
            unindexed: 0,
            tidied: false,
            making: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::{EventStore, NewRecord};

    #[test]
    fn a_read_only_store_reads_and_refuses_every_write() {
        let dir = std::env::temp_dir().join(format!("polku-read-only-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let path = dir.join("p.sqlite");
        {
            let mut store = SqliteStore::open(&path).expect("a new store");
            let model = store.put_model("h", "{}").expect("a model");
            store.append(0, &[NewRecord { model, body: "a".into() }]).expect("an append");
        }
        let mut store = SqliteStore::open_read_only(&path).expect("opened read-only");
        assert!(!store.writable());
        assert_eq!(store.last_seq().expect("read"), 1);
        assert!(store.append(1, &[NewRecord { model: 1, body: "b".into() }]).is_err());
        assert!(store.set_meta("k", "v").is_err());
        drop(store);
        assert_eq!(SqliteStore::open(&path).expect("reopened").last_seq().expect("read"), 1);
        // An older schema is not migrated by a reader.
        let conn = Connection::open(&path).expect("raw");
        conn.execute_batch("PRAGMA user_version = 1").expect("older");
        drop(conn);
        let refused = SqliteStore::open_read_only(&path).map(|_| ());
        assert!(
            matches!(&refused, Err(StoreError::Open { message, .. }) if message.contains("older")),
            "{refused:?}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_uri_keeps_odd_folder_names_as_names() {
        assert_eq!(
            uri(Path::new("/data/a b?c#d%e/p.sqlite"), "mode=ro"),
            "file:/data/a%20b%3Fc%23d%25e/p.sqlite?mode=ro"
        );
    }
}
