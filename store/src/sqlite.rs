//! The embedded default: one SQLite file in WAL mode, created on first use, its schema
//! versioned in `PRAGMA user_version` and migrated on open. Every commit is synchronous
//! (`synchronous = FULL`), so a returned append survives a crash of the process or the machine.
//! Checkpoints run beside the commits, on a thread of their own.

use std::path::Path;

use rusqlite::{params, Connection, OptionalExtension};

use crate::{Access, EventStore, Record, StoreError};

mod read_only;

/// The migrations, in order: migration `i` takes the schema from version `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[
    // 1: the event log, model versions, snapshots and the access log.
    "CREATE TABLE models (
        id INTEGER PRIMARY KEY,
        hash TEXT NOT NULL UNIQUE,
        sources TEXT NOT NULL
    );
    CREATE TABLE events (
        seq INTEGER PRIMARY KEY,
        model INTEGER NOT NULL REFERENCES models(id),
        body TEXT NOT NULL
    );
    CREATE TABLE snapshots (
        seq INTEGER PRIMARY KEY,
        data BLOB NOT NULL
    );
    CREATE TABLE access_log (
        id INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        actor TEXT NOT NULL,
        role TEXT NOT NULL,
        action TEXT NOT NULL,
        client TEXT,
        detail TEXT NOT NULL
    );",
    // 2: settings kept with the data.
    "CREATE TABLE meta (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );",
    // 3: the access log says from which unit, for what purpose and in which request, and
    // answers "who has looked at my data" by client.
    "ALTER TABLE access_log ADD COLUMN unit TEXT NOT NULL DEFAULT '';
    ALTER TABLE access_log ADD COLUMN purpose TEXT NOT NULL DEFAULT '';
    ALTER TABLE access_log ADD COLUMN request TEXT NOT NULL DEFAULT '';
    CREATE INDEX access_log_client ON access_log (client);",
];

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

#[derive(Debug)]
pub struct SqliteStore {
    conn: Connection,
    checkpointer: Option<Checkpointer>,
    /// False when opened with [`SqliteStore::open_read_only`].
    writable: bool,
}

/// Copies the write-ahead log into the database on its own thread and connection, so that
/// commits never wait for it (SQLite would otherwise do it inside the commit that crosses
/// its threshold, and every acknowledgement queued behind that commit would wait too).
#[derive(Debug)]
struct Checkpointer {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: std::thread::JoinHandle<()>,
}

impl Checkpointer {
    fn start(path: &Path) -> Result<Checkpointer, StoreError> {
        let conn = Connection::open(path)?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            use std::sync::atomic::Ordering;
            let checkpoint = |mode: &str| {
                let _ = conn.query_row(&format!("PRAGMA wal_checkpoint({mode})"), [], |_| Ok(()));
            };
            let mut ticks = 0u32;
            while !flag.load(Ordering::Acquire) {
                std::thread::sleep(std::time::Duration::from_millis(20));
                ticks += 1;
                if ticks % 5 == 0 {
                    checkpoint("PASSIVE");
                }
            }
            checkpoint("TRUNCATE");
        });
        Ok(Checkpointer { stop, thread })
    }
}

impl Drop for SqliteStore {
    fn drop(&mut self) {
        if let Some(c) = self.checkpointer.take() {
            c.stop.store(true, std::sync::atomic::Ordering::Release);
            let _ = c.thread.join();
        }
    }
}

impl SqliteStore {
    /// Opens (creating when missing) the database file and migrates its schema.
    pub fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        let url = format!("sqlite://{}", path.display());
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)
                .map_err(|e| StoreError::Open { url: url.clone(), message: e.to_string() })?;
        }
        // A new database is created readable by its owner only; SQLite gives its -wal and -shm
        // files the same permissions. Client data is not for other local users.
        #[cfg(unix)]
        if !path.exists() {
            use std::os::unix::fs::OpenOptionsExt;
            std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(path)
                .or_else(|e| match e.kind() {
                    std::io::ErrorKind::AlreadyExists => Ok(std::fs::File::open(path)?),
                    _ => Err(e),
                })
                .map_err(|e| StoreError::Open { url: url.clone(), message: e.to_string() })?;
        }
        let conn = Connection::open(path)
            .map_err(|e| StoreError::Open { url: url.clone(), message: e.to_string() })?;
        // SQLite opens a file it may not write for reading only: say so before anything fails.
        if conn.is_readonly(rusqlite::MAIN_DB)? {
            return Err(StoreError::ReadOnly { url, reason: read_only::REASON });
        }
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        // Switching a new file to WAL needs the file to itself, and SQLite answers "busy" at
        // once rather than waiting when another opener has it: wait and try again.
        let started = std::time::Instant::now();
        let mode: String = loop {
            match conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0)) {
                Err(rusqlite::Error::SqliteFailure(e, _))
                    if e.code == rusqlite::ErrorCode::DatabaseBusy
                        && started.elapsed() < std::time::Duration::from_secs(10) =>
                {
                    std::thread::sleep(std::time::Duration::from_millis(5));
                }
                other => break other?,
            }
        };
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::Open {
                url,
                message: format!("could not use WAL (got {mode})"),
            });
        }
        conn.execute_batch(
            "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; PRAGMA wal_autocheckpoint = 0;",
        )?;
        let mut store = SqliteStore { conn, checkpointer: None, writable: true };
        store.migrate()?;
        store.checkpointer = Some(Checkpointer::start(path)?);
        Ok(store)
    }

    /// Reads the schema version and applies the migrations after it in one immediate
    /// transaction, so that two processes opening a new database at once cannot both create
    /// the schema: the second waits for the first and then finds it done.
    fn migrate(&mut self) -> Result<(), StoreError> {
        let tx = self.conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let found: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if found > SCHEMA_VERSION {
            return Err(StoreError::TooNew { found, known: SCHEMA_VERSION });
        }
        if found == SCHEMA_VERSION {
            return Ok(());
        }
        for sql in MIGRATIONS.iter().skip(found as usize) {
            tx.execute_batch(sql)?;
        }
        tx.execute_batch(&format!("PRAGMA user_version = {SCHEMA_VERSION}"))?;
        tx.commit()?;
        Ok(())
    }
}

fn insert_accesses(tx: &rusqlite::Transaction<'_>, accesses: &[Access]) -> Result<(), StoreError> {
    let mut insert = tx.prepare_cached(
        "INSERT INTO access_log (at, actor, role, action, client, detail, unit, purpose, request)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?;
    for a in accesses {
        insert.execute(params![
            a.at, a.actor, a.role, a.action, a.client, a.detail, a.unit, a.purpose, a.request
        ])?;
    }
    Ok(())
}

impl EventStore for SqliteStore {
    fn writable(&self) -> bool {
        self.writable
    }

    fn append(&mut self, after: u64, records: &[(i64, String)]) -> Result<u64, StoreError> {
        self.append_logged(after, records, &[])
    }

    fn append_logged(
        &mut self,
        after: u64,
        records: &[(i64, String)],
        accesses: &[Access],
    ) -> Result<u64, StoreError> {
        // Take the write lock first, then look: no other writer can slip in between.
        let tx = self.conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let found: i64 =
            tx.query_row("SELECT COALESCE(MAX(seq), 0) FROM events", [], |r| r.get(0))?;
        if found as u64 != after {
            return Err(StoreError::Conflict { expected: after, found: found as u64 });
        }
        {
            let mut insert =
                tx.prepare_cached("INSERT INTO events (model, body) VALUES (?1, ?2)")?;
            for (model, body) in records {
                insert.execute(params![model, body])?;
            }
        }
        insert_accesses(&tx, accesses)?;
        let last: i64 =
            tx.query_row("SELECT COALESCE(MAX(seq), 0) FROM events", [], |r| r.get(0))?;
        tx.commit()?;
        Ok(last as u64)
    }

    fn scan(
        &mut self,
        after: u64,
        f: &mut dyn FnMut(Record) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let mut select =
            self.conn.prepare("SELECT seq, model, body FROM events WHERE seq > ?1 ORDER BY seq")?;
        let mut rows = select.query([after as i64])?;
        while let Some(row) = rows.next()? {
            let seq: i64 = row.get(0)?;
            f(Record { seq: seq as u64, model: row.get(1)?, body: row.get(2)? })?;
        }
        Ok(())
    }

    fn last_seq(&mut self) -> Result<u64, StoreError> {
        let last: i64 =
            self.conn.query_row("SELECT COALESCE(MAX(seq), 0) FROM events", [], |r| r.get(0))?;
        Ok(last as u64)
    }

    fn put_model(&mut self, hash: &str, sources: &str) -> Result<i64, StoreError> {
        self.conn.execute(
            "INSERT INTO models (hash, sources) VALUES (?1, ?2) ON CONFLICT(hash) DO NOTHING",
            params![hash, sources],
        )?;
        Ok(self.conn.query_row("SELECT id FROM models WHERE hash = ?1", [hash], |r| r.get(0))?)
    }

    fn models(&mut self) -> Result<Vec<(i64, String, String)>, StoreError> {
        let mut select = self.conn.prepare("SELECT id, hash, sources FROM models ORDER BY id")?;
        let rows = select.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn save_snapshot(&mut self, seq: u64, data: &[u8]) -> Result<(), StoreError> {
        let tx = self.conn.transaction()?;
        tx.execute(
            "INSERT OR REPLACE INTO snapshots (seq, data) VALUES (?1, ?2)",
            params![seq as i64, data],
        )?;
        tx.execute("DELETE FROM snapshots WHERE seq < ?1", [seq as i64])?;
        tx.commit()?;
        Ok(())
    }

    /// The snapshot goes straight into its row: a blob of its length is made (zeroblob, which
    /// takes no memory) and written through incremental blob I/O, in the one transaction that
    /// also drops the older ones.
    fn save_snapshot_with(
        &mut self,
        seq: u64,
        len: u64,
        write: &mut dyn FnMut(&mut dyn std::io::Write) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let size = i64::try_from(len)
            .map_err(|_| StoreError::Snapshot(format!("a snapshot of {len} bytes")))?;
        let tx = self.conn.transaction()?;
        tx.execute(
            "INSERT OR REPLACE INTO snapshots (seq, data) VALUES (?1, zeroblob(?2))",
            params![seq as i64, size],
        )?;
        let rowid = tx.last_insert_rowid();
        {
            let blob = tx.blob_open(rusqlite::MAIN_DB, "snapshots", "data", rowid, false)?;
            let mut out = std::io::BufWriter::with_capacity(1 << 20, blob);
            write(&mut out)?;
            let mut blob = out.into_inner().map_err(|e| StoreError::Snapshot(e.to_string()))?;
            // A blob is written in place: all of it, or the row holds zeros at its end.
            let written = std::io::Seek::stream_position(&mut blob)
                .map_err(|e| StoreError::Snapshot(e.to_string()))?;
            if written != len {
                return Err(StoreError::Snapshot(
                    "the snapshot ended before its announced length".to_owned(),
                ));
            }
        }
        tx.execute("DELETE FROM snapshots WHERE seq < ?1", [seq as i64])?;
        tx.commit()?;
        Ok(())
    }

    fn read_snapshot(
        &mut self,
        f: &mut dyn FnMut(u64, &mut dyn std::io::Read) -> Result<(), StoreError>,
    ) -> Result<bool, StoreError> {
        let newest: Option<(i64, i64)> = self
            .conn
            .query_row("SELECT rowid, seq FROM snapshots ORDER BY seq DESC LIMIT 1", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()?;
        let Some((rowid, seq)) = newest else { return Ok(false) };
        let mut blob = self.conn.blob_open(rusqlite::MAIN_DB, "snapshots", "data", rowid, true)?;
        f(seq as u64, &mut blob)?;
        Ok(true)
    }

    fn log_access(&mut self, a: &Access) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT INTO access_log (at, actor, role, action, client, detail, unit, purpose, request)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![a.at, a.actor, a.role, a.action, a.client, a.detail, a.unit, a.purpose, a.request],
        )?;
        Ok(())
    }

    fn log_accesses(&mut self, accesses: &[Access]) -> Result<(), StoreError> {
        let tx = self.conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        {
            let mut insert = tx.prepare_cached(
                "INSERT INTO access_log (at, actor, role, action, client, detail, unit, purpose, request)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )?;
            for a in accesses {
                insert.execute(params![
                    a.at, a.actor, a.role, a.action, a.client, a.detail, a.unit, a.purpose,
                    a.request
                ])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    fn access_log(
        &mut self,
        client: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Access>, StoreError> {
        let mut select = self.conn.prepare(
            "SELECT at, actor, role, action, client, detail, unit, purpose, request FROM access_log
             WHERE ?1 IS NULL OR client = ?1 ORDER BY id DESC LIMIT ?2",
        )?;
        let rows = select.query_map(params![client, limit as i64], |r| {
            Ok(Access {
                at: r.get(0)?,
                actor: r.get(1)?,
                role: r.get(2)?,
                action: r.get(3)?,
                client: r.get(4)?,
                detail: r.get(5)?,
                unit: r.get(6)?,
                purpose: r.get(7)?,
                request: r.get(8)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn schema_version(&mut self) -> Result<i64, StoreError> {
        Ok(self.conn.query_row("PRAGMA user_version", [], |r| r.get(0))?)
    }

    fn meta(&mut self, key: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .conn
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()?)
    }

    fn set_meta(&mut self, key: &str, value: &str) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT INTO meta (key, value) VALUES (?1, ?2)
             ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            params![key, value],
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creates_migrates_appends_and_reopens() {
        let dir = std::env::temp_dir().join(format!("polku-store-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let path = dir.join("sub").join("p.sqlite");
        let mut store = SqliteStore::open(&path).unwrap();
        assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
        let model = store.put_model("h1", "{}").unwrap();
        assert_eq!(store.put_model("h1", "{}").unwrap(), model);
        assert_eq!(store.append(0, &[(model, "a".into()), (model, "b".into())]).unwrap(), 2);
        assert_eq!(store.append(2, &[(model, "c".into())]).unwrap(), 3);
        // A writer whose idea of the log is stale writes nothing.
        assert!(matches!(
            store.append(2, &[(model, "x".into())]),
            Err(StoreError::Conflict { expected: 2, found: 3 })
        ));
        assert_eq!(store.last_seq().unwrap(), 3);
        store.save_snapshot(2, b"snap").unwrap();
        drop(store);
        let mut store = SqliteStore::open(&path).unwrap();
        let mut seen = Vec::new();
        store
            .scan(1, &mut |r| {
                seen.push(r.body);
                Ok(())
            })
            .unwrap();
        assert_eq!(seen, ["b", "c"]);
        let mut read = None;
        let found = store
            .read_snapshot(&mut |seq, r| {
                let mut data = Vec::new();
                r.read_to_end(&mut data).map_err(|e| StoreError::Snapshot(e.to_string()))?;
                read = Some((seq, data));
                Ok(())
            })
            .unwrap();
        assert!(found);
        assert_eq!(read, Some((2, b"snap".to_vec())));
        let journal: String =
            store.conn.query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap();
        assert_eq!(journal, "wal");
        // A database from a newer build is refused, not damaged.
        store.conn.execute_batch("PRAGMA user_version = 99").unwrap();
        drop(store);
        assert!(matches!(SqliteStore::open(&path), Err(StoreError::TooNew { found: 99, .. })));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn an_older_schema_is_migrated_keeping_its_events() {
        let dir = std::env::temp_dir().join(format!("polku-migrate-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("old.sqlite");
        {
            // A database as the first schema left it, with one event.
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(MIGRATIONS[0]).unwrap();
            conn.execute_batch(
                "INSERT INTO models (hash, sources) VALUES ('h', '{}');
                 INSERT INTO events (model, body) VALUES (1, 'e');
                 PRAGMA user_version = 1;",
            )
            .unwrap();
        }
        let mut store = SqliteStore::open(&path).unwrap();
        assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
        assert_eq!(store.last_seq().unwrap(), 1);
        assert_eq!(store.meta("k").unwrap(), None);
        store.set_meta("k", "v").unwrap();
        store.set_meta("k", "w").unwrap();
        assert_eq!(store.meta("k").unwrap().as_deref(), Some("w"));
        drop(store);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
