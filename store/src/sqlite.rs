//! The embedded default: one SQLite file in WAL mode, created on first use, its schema
//! versioned in `PRAGMA user_version` and migrated on open. Every commit is synchronous
//! (`synchronous = FULL`), so a returned append survives a crash of the process or the machine.
//! Checkpoints run beside the commits, on a thread of their own.

use std::path::Path;

use rusqlite::{params, Connection, OptionalExtension};

use crate::chain::{self, Hash, GENESIS};
use crate::{
    Access, AccessRows, EventStore, ModelRecord, NewRecord, Record, SnapshotReader, StoreError,
};

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> StoreError {
        StoreError::Backend(e.to_string())
    }
}

/// Code that fills in what a migration's SQL added, inside its transaction.
pub type FillIn = fn(&Connection) -> Result<(), StoreError>;

/// One step of the schema: SQL, then (where the data must be filled in) code, both inside the
/// transaction that sets the new version.
pub struct Migration {
    pub sql: &'static str,
    pub then: Option<FillIn>,
}

impl std::fmt::Debug for Migration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Migration").field("sql", &self.sql).finish_non_exhaustive()
    }
}

const fn sql(sql: &'static str) -> Migration {
    Migration { sql, then: None }
}

mod read_only;

/// The `meta` key of the last snapshot build numbered ([`EventStore::save_snapshot_part`]).
const SNAPSHOT_BUILDS: &str = "snapshot_builds";

/// The migrations, in order: migration `i` takes the schema from version `i` to `i + 1`.
pub const MIGRATIONS: &[Migration] = &[
    // 1: the event log, model versions, snapshots and the access log.
    sql("CREATE TABLE models (
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
    );"),
    // 2: settings kept with the data.
    sql("CREATE TABLE meta (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );"),
    // 3: the access log says from which unit, for what purpose and in which request, and
    // answers "who has looked at my data" by client.
    sql("ALTER TABLE access_log ADD COLUMN unit TEXT NOT NULL DEFAULT '';
    ALTER TABLE access_log ADD COLUMN purpose TEXT NOT NULL DEFAULT '';
    ALTER TABLE access_log ADD COLUMN request TEXT NOT NULL DEFAULT '';
    CREATE INDEX access_log_client ON access_log (client);"),
    // 4: tamper evidence. Every event and every access-log row carries its hash in its log's
    // chain, and a snapshot the event chain's hash at its sequence number. The rows already
    // stored are chained as they are.
    Migration {
        sql: "ALTER TABLE events ADD COLUMN hash BLOB;
        ALTER TABLE access_log ADD COLUMN hash BLOB;
        ALTER TABLE snapshots ADD COLUMN chain BLOB;",
        then: Some(chain_existing_rows),
    },
    // 5: the segments marker rules proposed, as changes by client and day, and the days run.
    sql("CREATE TABLE marker_runs (
        rules TEXT NOT NULL,
        day INTEGER NOT NULL,
        segmentation TEXT NOT NULL,
        clients INTEGER NOT NULL,
        rows INTEGER NOT NULL,
        recorded TEXT NOT NULL,
        PRIMARY KEY (rules, day)
    ) WITHOUT ROWID;
    CREATE TABLE marker_proposals (
        rules TEXT NOT NULL,
        client BLOB NOT NULL,
        day INTEGER NOT NULL,
        segment TEXT NOT NULL,
        PRIMARY KEY (rules, client, day)
    ) WITHOUT ROWID;
    CREATE TABLE marker_rule_sets (
        rules TEXT PRIMARY KEY,
        generation INTEGER NOT NULL
    );"),
    // 6: assessment answers kept encrypted for a set time, when so configured.
    sql("CREATE TABLE kept_answers (
        id INTEGER PRIMARY KEY,
        case_id TEXT NOT NULL,
        form TEXT NOT NULL,
        kept INTEGER NOT NULL,
        expires INTEGER NOT NULL,
        nonce BLOB NOT NULL,
        sealed BLOB NOT NULL
    );
    CREATE INDEX kept_answers_case ON kept_answers (case_id);
    CREATE INDEX kept_answers_expires ON kept_answers (expires);"),
    // 7: retention: what removed cases left for the reports, and each compaction's heads.
    sql("CREATE TABLE retained (
        history TEXT PRIMARY KEY,
        cases INTEGER NOT NULL
    );
    CREATE TABLE compactions (
        id INTEGER PRIMARY KEY,
        record TEXT NOT NULL
    );"),
    // 8: the access log's look-up by client in sorted runs written after the rows, not in an
    // index that every read's row changes at a page of its own (see `index_access_runs`).
    Migration {
        sql: "DROP INDEX access_log_client;
        CREATE TABLE access_runs (
            run INTEGER PRIMARY KEY,
            last INTEGER NOT NULL
        );
        CREATE TABLE access_by_client (
            run INTEGER NOT NULL,
            client TEXT NOT NULL,
            id INTEGER NOT NULL,
            PRIMARY KEY (run, client, id)
        ) WITHOUT ROWID;",
        then: Some(index_access_runs),
    },
    // 9: a snapshot's chain hash in a table of its own. In `snapshots` it came after the image
    // in the row, and SQLite makes a blob that a later value follows whole in memory (the
    // zeros, then the row: twice its size) before it can be written a piece at a time; it also
    // reads past the whole image to reach the hash.
    sql("CREATE TABLE snapshot_chains (
        seq INTEGER PRIMARY KEY,
        chain BLOB NOT NULL
    );
    INSERT INTO snapshot_chains (seq, chain)
        SELECT seq, chain FROM snapshots WHERE chain IS NOT NULL;"),
    // 10: a snapshot written in parts, each part a write of its own, so that the writer goes on
    // with its appends between them ([`EventStore::save_snapshot_part`]). The parts of one
    // snapshot share a build number; `snapshot_chains.build` names the build of a snapshot
    // kept that way (its `snapshots.data` is then empty), NULL for one kept whole.
    sql("CREATE TABLE snapshot_parts (
        build INTEGER NOT NULL,
        part INTEGER NOT NULL,
        data BLOB NOT NULL,
        PRIMARY KEY (build, part)
    );
    ALTER TABLE snapshot_chains ADD COLUMN build INTEGER;"),
];

/// How many access-log rows one run of the look-up by client covers.
const RUN_ROWS: i64 = if cfg!(test) { 16 } else { 16_384 };

/// Indexes the access log's rows by client, [`RUN_ROWS`] at a time, while that many are not
/// yet indexed. A run is one range of row ids, its entries sorted by client and written
/// together: a few pages per run, where an index by client changed one page of its own for
/// nearly every row, in the commit that had to be durable before the read was answered. A
/// look-up by client ([`EventStore::access_log`]) seeks once in each run and reads the rows
/// after the last run (fewer than [`RUN_ROWS`]) in order.
fn index_access_runs(conn: &Connection) -> Result<(), StoreError> {
    loop {
        let (from, last) = access_index_state(conn)?;
        if last - from < RUN_ROWS {
            return Ok(());
        }
        let to = from + RUN_ROWS;
        // A run written in part before (see `SqliteStore::tidy`) is completed: its entries are
        // the same ones.
        conn.execute(
            "INSERT OR IGNORE INTO access_by_client (run, client, id)
             SELECT ?1, client, id FROM access_log
             WHERE id > ?1 AND id <= ?2 AND client IS NOT NULL ORDER BY client, id",
            params![from, to],
        )?;
        conn.execute("INSERT INTO access_runs (run, last) VALUES (?1, ?2)", params![from, to])?;
    }
}

/// How many access-log rows one step of [`SqliteStore::tidy`] reads, or how many entries of a
/// run it writes: about a millisecond's work, so that no commit waits longer behind it.
const RUN_SLICE: usize = if cfg!(test) { 4 } else { 512 };

/// A run of the look-up by client being made a slice at a time by [`SqliteStore::tidy`]: its
/// rows are read in order of id, sorted by client, and written in that order, so that each
/// slice adds to the run's end. Readers ignore the run until its row in `access_runs` is
/// written with its last slice.
#[derive(Debug)]
struct RunInMaking {
    /// The run covers the row ids after `from`, up to `to`.
    from: i64,
    to: i64,
    /// The compactions recorded when it was begun: a compaction renumbers the rows.
    compactions: i64,
    /// The rows read so far end here.
    read: i64,
    /// The entries (client, id), sorted once every row is read.
    entries: Vec<(String, i64)>,
    /// How many entries are written.
    written: usize,
}

/// The last compaction's number (0 before the first).
fn compactions_recorded(conn: &Connection) -> Result<i64, StoreError> {
    Ok(conn.query_row("SELECT COALESCE(MAX(id), 0) FROM compactions", [], |r| r.get(0))?)
}

/// The last access-log row id the runs cover, and the last row's id.
fn access_index_state(conn: &Connection) -> Result<(i64, i64), StoreError> {
    Ok(conn.query_row(
        "SELECT (SELECT COALESCE(MAX(last), 0) FROM access_runs),
                (SELECT COALESCE(MAX(id), 0) FROM access_log)",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?)
}

/// Rows hashed per read while an existing log is chained.
const CHAIN_CHUNK: i64 = 10_000;

/// Computes the chains of the rows stored before the logs were chained.
fn chain_existing_rows(conn: &Connection) -> Result<(), StoreError> {
    let mut prev = GENESIS;
    let mut after = 0i64;
    loop {
        let rows: Vec<(i64, i64, Vec<u8>)> = {
            let mut select = conn.prepare_cached(
                "SELECT seq, model, body FROM events WHERE seq > ?1 ORDER BY seq LIMIT ?2",
            )?;
            let rows = select.query_map(params![after, CHAIN_CHUNK], |r| {
                Ok((r.get(0)?, r.get(1)?, text_bytes(r.get_ref(2)?)))
            })?;
            rows.collect::<Result<_, _>>()?
        };
        let Some(&(last, _, _)) = rows.last() else { break };
        let mut update = conn.prepare_cached("UPDATE events SET hash = ?2 WHERE seq = ?1")?;
        for (seq, model, body) in &rows {
            prev = chain::event_hash(&prev, *seq as u64, *model, body);
            update.execute(params![seq, &prev[..]])?;
        }
        after = last;
    }
    let mut prev = GENESIS;
    let mut after = 0i64;
    loop {
        let rows: Vec<(i64, Access)> = {
            let mut select = conn.prepare_cached(&format!(
                "SELECT id, {ACCESS_FIELDS} FROM access_log WHERE id > ?1 ORDER BY id LIMIT ?2"
            ))?;
            let rows = select
                .query_map(params![after, CHAIN_CHUNK], |r| Ok((r.get(0)?, access(r, 1)?)))?;
            rows.collect::<Result<_, _>>()?
        };
        let Some(&(last, _)) = rows.last() else { break };
        let mut update = conn.prepare_cached("UPDATE access_log SET hash = ?2 WHERE id = ?1")?;
        for (id, a) in &rows {
            prev = chain::access_hash(&prev, *id as u64, a);
            update.execute(params![id, &prev[..]])?;
        }
        after = last;
    }
    conn.execute(
        "UPDATE snapshots SET chain = CASE WHEN seq = 0 THEN ?1
         ELSE (SELECT hash FROM events WHERE events.seq = snapshots.seq) END",
        [&GENESIS[..]],
    )?;
    Ok(())
}

/// The access-log columns in the order [`access`] reads them.
const ACCESS_FIELDS: &str = "at, actor, role, action, client, detail, unit, purpose, request";

/// An access-log row from the columns [`ACCESS_FIELDS`] starting at `first`. A value that is
/// not text (only a change outside Polku makes one) is read as the text SQLite would give it,
/// so that the chain, not a type error, reports it.
fn access(r: &rusqlite::Row<'_>, first: usize) -> rusqlite::Result<Access> {
    let text = |i: usize| -> rusqlite::Result<String> { Ok(text_of(r.get_ref(first + i)?)) };
    Ok(Access {
        at: text(0)?,
        actor: text(1)?,
        role: text(2)?,
        action: text(3)?,
        client: match r.get_ref(first + 4)? {
            rusqlite::types::ValueRef::Null => None,
            v => Some(text_of(v)),
        },
        detail: text(5)?,
        unit: text(6)?,
        purpose: text(7)?,
        request: text(8)?,
    })
}

/// A stored text's bytes as stored, whatever the value's type.
fn text_bytes(value: rusqlite::types::ValueRef<'_>) -> Vec<u8> {
    use rusqlite::types::ValueRef;
    match value {
        ValueRef::Text(b) | ValueRef::Blob(b) => b.to_vec(),
        ValueRef::Integer(i) => i.to_string().into_bytes(),
        ValueRef::Real(x) => x.to_string().into_bytes(),
        ValueRef::Null => Vec::new(),
    }
}

/// A stored text as a string; bytes that are not UTF-8 are replaced, which no longer matches
/// the row's hash.
fn text_of(value: rusqlite::types::ValueRef<'_>) -> String {
    match String::from_utf8(text_bytes(value)) {
        Ok(text) => text,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    }
}

/// How long a statement waits for another connection's lock.
const BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// How often a compaction tries to empty the write-ahead log, 50 ms apart
/// ([`SqliteStore::empty_log`]): as long as the busy timeout.
const TRUNCATE_TRIES: u32 = 200;

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

#[derive(Debug)]
pub struct SqliteStore {
    conn: Connection,
    checkpointer: Option<Checkpointer>,
    /// False when opened with [`SqliteStore::open_read_only`].
    writable: bool,
    /// The event log's last sequence number and hash as this store last wrote them, so that
    /// an append chains its rows without reading the head back.
    head: Option<(u64, Hash)>,
    /// The compactions recorded when `head` was kept: a compaction (by any connection) chains
    /// the log anew, and a head kept from before it is void.
    compactions: i64,
    /// The epoch the owner's position was read in ([`EventStore::expect_epoch`]).
    expected: Option<crate::LogEpoch>,
    /// Breaks in a chain met at a log's end by the writes since [`EventStore::take_chain_breaks`]
    /// was last called.
    noticed: Vec<chain::Break>,
    /// Access-log rows not yet in a run of the look-up by client, as far as this connection
    /// knows ([`SqliteStore::index_accesses_when_due`]).
    unindexed: i64,
    /// Set once [`EventStore::tidy`] is called: the owner then does the upkeep (the runs, the
    /// log's restart) after its answers, and the writes leave it to it.
    tidied: bool,
    /// The run [`EventStore::tidy`] is making, if any.
    making: Option<RunInMaking>,
}

/// Copies the write-ahead log into the database on its own thread and connection, so that
/// commits never wait for it (SQLite would otherwise do it inside the commit that crosses
/// its threshold, and every acknowledgement queued behind that commit would wait too).
///
/// Under constant writes its checkpoint never finds the log's end still: commits land while
/// it copies, so the log is never begun again and grows without bound (seen: 1.2 GB in 12 s
/// of status reads, and a start-up that then read it all). When the log is past
/// [`RESTART_FRAMES`] it asks the writer ([`SqliteStore::restart_log_if_asked`]) to finish
/// the copy itself between two commits, when nothing can land meanwhile; the writer's next
/// commit then begins the log again, and the file is cut back to [`LOG_SIZE_LIMIT`].
#[derive(Debug)]
struct Checkpointer {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    /// The log is long: the writer is asked to finish a checkpoint.
    asked: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: std::thread::JoinHandle<()>,
}

/// How long (in pages) the write-ahead log may grow before the writer finishes a checkpoint
/// so that it begins again: 64 MiB of 4 KiB pages.
const RESTART_FRAMES: i64 = if cfg!(test) { 256 } else { 16_384 };

/// The size the log file is cut back to when it begins again (`journal_size_limit`).
const LOG_SIZE_LIMIT: i64 = RESTART_FRAMES * 4096;

impl Checkpointer {
    fn start(path: &Path) -> Result<Checkpointer, StoreError> {
        let conn = Connection::open(path)?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let asked = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (flag, ask) = (stop.clone(), asked.clone());
        let thread = std::thread::spawn(move || {
            use std::sync::atomic::Ordering;
            // The log's length in pages after the checkpoint, when it could be done.
            let checkpoint = |mode: &str| -> Option<i64> {
                conn.query_row(&format!("PRAGMA wal_checkpoint({mode})"), [], |r| r.get(1)).ok()
            };
            let mut ticks = 0u32;
            while !flag.load(Ordering::Acquire) {
                std::thread::sleep(std::time::Duration::from_millis(20));
                ticks += 1;
                if ticks % 5 == 0 && checkpoint("PASSIVE").is_some_and(|n| n >= RESTART_FRAMES) {
                    // Once more at once, so that the writer is left only the pages of the
                    // last few milliseconds to copy while its commits wait.
                    checkpoint("PASSIVE");
                    ask.store(true, Ordering::Release);
                }
            }
            checkpoint("TRUNCATE");
        });
        Ok(Checkpointer { stop, asked, thread })
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
    /// When the checkpointer asked ([`Checkpointer`]), finishes its checkpoint here, between
    /// two commits of this, the only writer, so that the next commit begins the log again.
    /// The few pages written since its last copy are copied now; a failure only leaves the
    /// log long until the next time.
    ///
    /// A store whose owner calls [`EventStore::tidy`] leaves this to it; true when done.
    fn restart_log_if_asked(&self, tidying: bool) -> bool {
        use std::sync::atomic::Ordering;
        if self.tidied != tidying {
            return false;
        }
        if self.checkpointer.as_ref().is_some_and(|c| c.asked.swap(false, Ordering::AcqRel)) {
            let _ = self.conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
            return true;
        }
        false
    }

    /// One step of the look-up by client's next run, when [`RUN_ROWS`] rows are not in a run:
    /// read a slice of its rows, or write a slice of its sorted entries (the last with the
    /// run's row in `access_runs`). True when a step was taken. A run left in part by a crash
    /// or a failure is harmless (readers ignore it) and completed later.
    fn make_run_step(&mut self) -> Result<bool, StoreError> {
        if self.making.is_none() {
            if self.unindexed < RUN_ROWS {
                return Ok(false);
            }
            let (from, last) = access_index_state(&self.conn)?;
            self.unindexed = last - from;
            if self.unindexed < RUN_ROWS {
                return Ok(false);
            }
            let compactions = compactions_recorded(&self.conn)?;
            self.making = Some(RunInMaking {
                from,
                to: from + RUN_ROWS,
                compactions,
                read: from,
                entries: Vec::with_capacity(RUN_ROWS as usize),
                written: 0,
            });
        }
        let Some(run) = self.making.as_mut() else { return Ok(false) };
        if run.read < run.to {
            let until = (run.read + RUN_SLICE as i64).min(run.to);
            let mut select = self.conn.prepare_cached(
                "SELECT client, id FROM access_log
                 WHERE id > ?1 AND id <= ?2 AND client IS NOT NULL ORDER BY id",
            )?;
            let rows =
                select.query_map(params![run.read, until], |r| Ok((r.get(0)?, r.get(1)?)))?;
            for row in rows {
                run.entries.push(row?);
            }
            run.read = until;
            if run.read == run.to {
                run.entries.sort_unstable();
            }
            return Ok(true);
        }
        let tx = self.conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        // Another connection may have written this run, or compacted the log, meanwhile.
        if access_index_state(&tx)?.0 != run.from || compactions_recorded(&tx)? != run.compactions {
            drop(tx);
            self.making = None;
            return Ok(true);
        }
        let end = (run.written + RUN_SLICE).min(run.entries.len());
        {
            let mut insert = tx.prepare_cached(
                "INSERT OR IGNORE INTO access_by_client (run, client, id) VALUES (?1, ?2, ?3)",
            )?;
            for (client, id) in &run.entries[run.written..end] {
                insert.execute(params![run.from, client, id])?;
            }
        }
        let done = end == run.entries.len();
        if done {
            tx.execute(
                "INSERT INTO access_runs (run, last) VALUES (?1, ?2)",
                params![run.from, run.to],
            )?;
        }
        tx.commit()?;
        run.written = end;
        if done {
            self.making = None;
            self.unindexed -= RUN_ROWS;
        }
        Ok(true)
    }

    /// Empties the write-ahead log (a `TRUNCATE` checkpoint), trying up to `tries` times 50 ms
    /// apart. Only one checkpoint runs at a time: while another connection's (the
    /// [`Checkpointer`]'s) runs, this one answers "busy" at once, without the busy timeout.
    /// True when the log was emptied.
    fn empty_log(&self, tries: u32) -> bool {
        for attempt in 0..tries {
            if attempt > 0 {
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            let busy: i64 = self
                .conn
                .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get(0))
                .unwrap_or(1);
            if busy == 0 {
                return true;
            }
        }
        false
    }

    /// Counts `written` access-log rows and, once [`RUN_ROWS`] are not in a run, writes their
    /// runs ([`index_access_runs`]) in a transaction of their own after the rows' commit. A
    /// failure leaves the rows to be found by reading them in order until the next try.
    ///
    /// A store whose owner calls [`EventStore::tidy`] leaves the runs to it, unless it has
    /// fallen [`RUN_ROWS`] times four behind.
    fn index_accesses_when_due(&mut self, written: usize) {
        self.unindexed += written as i64;
        if self.unindexed < if self.tidied { 4 * RUN_ROWS } else { RUN_ROWS } {
            return;
        }
        self.making = None;
        let indexed = (|| -> Result<i64, StoreError> {
            let tx =
                self.conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            index_access_runs(&tx)?;
            let (indexed, last) = access_index_state(&tx)?;
            tx.commit()?;
            Ok(last - indexed)
        })();
        self.unindexed = indexed.unwrap_or(0);
    }

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
            return Err(StoreError::ReadOnly { url });
        }
        conn.busy_timeout(BUSY_TIMEOUT)?;
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
        conn.execute_batch(&format!("PRAGMA journal_size_limit = {LOG_SIZE_LIMIT}"))?;
        let mut store = SqliteStore {
            conn,
            checkpointer: None,
            writable: true,
            head: None,
            compactions: 0,
            expected: None,
            noticed: Vec::new(),
            unindexed: 0,
            tidied: false,
            making: None,
        };
        store.migrate()?;
        let (indexed, last) = access_index_state(&store.conn)?;
        store.unindexed = last - indexed;
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
        for migration in MIGRATIONS.iter().skip(found as usize) {
            tx.execute_batch(migration.sql)?;
            if let Some(then) = migration.then {
                then(&tx)?;
            }
        }
        tx.execute_batch(&format!("PRAGMA user_version = {SCHEMA_VERSION}"))?;
        tx.commit()?;
        Ok(())
    }
}

/// Writes access-log rows inside `tx`, each chained to the one before. The last rows are read in
/// the same transaction rather than remembered: other processes (a command beside a running
/// server) write access rows too. A break met at the log's end does not stop the write: the
/// rows follow the last row as stored ([`chain::append_point`]), and the break is returned
/// to be reported.
fn insert_accesses(
    tx: &rusqlite::Transaction<'_>,
    accesses: &[Access],
) -> Result<Option<chain::Break>, StoreError> {
    if accesses.is_empty() {
        return Ok(None);
    }
    let tail: Vec<(u64, Option<Hash>, Access)> = {
        let mut select = tx.prepare_cached(&format!(
            "SELECT id, hash, {ACCESS_FIELDS} FROM access_log ORDER BY id DESC LIMIT 2"
        ))?;
        let rows = select.query_map([], |r| {
            Ok((r.get::<_, i64>(0)? as u64, chain::stored_hash(r.get_ref(1)?), access(r, 2)?))
        })?;
        rows.collect::<Result<_, _>>()?
    };
    let (mut id, mut prev, broken) = match tail.as_slice() {
        [] => (0, GENESIS, None),
        [(last, stored, a), before @ ..] => {
            let before = before.first().map(|(id, hash, _)| (*id, *hash));
            let (prev, broken) =
                chain::append_point(chain::Log::AccessLog, (*last, *stored), before, |p| {
                    chain::access_hash(p, *last, a)
                });
            (*last, prev, broken)
        }
    };
    let mut insert = tx.prepare_cached(
        "INSERT INTO access_log (id, at, actor, role, action, client, detail, unit, purpose, request, hash)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    )?;
    for a in accesses {
        id += 1;
        prev = chain::access_hash(&prev, id, a);
        insert.execute(params![
            id as i64,
            a.at,
            a.actor,
            a.role,
            a.action,
            a.client,
            a.detail,
            a.unit,
            a.purpose,
            a.request,
            &prev[..]
        ])?;
    }
    Ok(broken)
}

/// Event rows written by one statement when a batch has that many left.
const ROWS_PER_INSERT: usize = 32;

/// The statement that writes [`ROWS_PER_INSERT`] event rows.
fn insert_many() -> &'static str {
    static SQL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    SQL.get_or_init(|| {
        let values = vec!["(?, ?, ?)"; ROWS_PER_INSERT].join(", ");
        format!("INSERT INTO events (model, body, hash) VALUES {values}")
    })
}

/// Where the next event chains on, after the log's last event `last` (not 0) as stored, and
/// the break met there, if any ([`chain::append_point`]).
fn event_append_point(
    conn: &Connection,
    last: u64,
) -> Result<(Hash, Option<chain::Break>), StoreError> {
    let tail: Vec<(u64, i64, Vec<u8>, Option<Hash>)> = {
        let mut select = conn.prepare_cached(
            "SELECT seq, model, body, hash FROM events WHERE seq <= ?1 ORDER BY seq DESC LIMIT 2",
        )?;
        let rows = select.query_map([last as i64], |r| {
            Ok((
                r.get::<_, i64>(0)? as u64,
                r.get(1)?,
                text_bytes(r.get_ref(2)?),
                chain::stored_hash(r.get_ref(3)?),
            ))
        })?;
        rows.collect::<Result<_, _>>()?
    };
    Ok(match tail.as_slice() {
        [] => (GENESIS, None),
        [(seq, model, body, stored), before @ ..] => {
            let before = before.first().map(|(seq, _, _, hash)| (*seq, *hash));
            chain::append_point(chain::Log::Events, (*seq, *stored), before, |p| {
                chain::event_hash(p, *seq, *model, body)
            })
        }
    })
}

/// Refuses a snapshot whose row no longer has the hash its state was read to, or whose log was
/// compacted since the `expected` epoch: another process's compaction rewrote the log since.
/// Stored, it would hold removed data and name a row the log no longer has, and every start
/// would refuse the log. Called under the write lock.
fn snapshot_still_stands(
    tx: &rusqlite::Transaction<'_>,
    expected: Option<crate::LogEpoch>,
    seq: u64,
    chain: &Hash,
) -> Result<(), StoreError> {
    if let Some(epoch) = expected {
        if compactions_recorded(tx)? as u64 != epoch.compactions {
            return Err(StoreError::Snapshot(crate::REWRITTEN.to_owned()));
        }
    }
    if seq == 0 {
        return Ok(());
    }
    let stored: Option<Option<Vec<u8>>> = tx
        .query_row("SELECT hash FROM events WHERE seq = ?1", [seq as i64], |r| r.get(0))
        .optional()?;
    if stored.flatten().as_deref() != Some(&chain[..]) {
        return Err(StoreError::Snapshot(crate::REWRITTEN.to_owned()));
    }
    Ok(())
}

/// Keeps the chain hash of the snapshot after record `seq` (and the build of its parts, for
/// one kept in parts) and drops the snapshots before it, with the parts of those it drops or
/// replaces. One kept in parts also drops the parts no snapshot names of builds numbered
/// before its own: left by a crash, or by a failure whose parts could not be removed. (A build
/// of another process numbered before it and still under way loses its parts too, and is
/// refused when it finishes; later builds are left alone.)
fn keep_chain_drop_older(
    tx: &rusqlite::Transaction<'_>,
    seq: u64,
    chain: &Hash,
    build: Option<u64>,
) -> Result<(), StoreError> {
    tx.execute(
        "DELETE FROM snapshot_parts WHERE build IN
           (SELECT build FROM snapshot_chains WHERE seq <= ?1 AND build IS NOT NULL)",
        [seq as i64],
    )?;
    tx.execute(
        "INSERT OR REPLACE INTO snapshot_chains (seq, chain, build) VALUES (?1, ?2, ?3)",
        params![seq as i64, &chain[..], build.map(|b| b as i64)],
    )?;
    tx.execute("DELETE FROM snapshots WHERE seq < ?1", [seq as i64])?;
    tx.execute("DELETE FROM snapshot_chains WHERE seq < ?1", [seq as i64])?;
    if let Some(build) = build {
        tx.execute(
            "DELETE FROM snapshot_parts WHERE build < ?1
               AND build NOT IN (SELECT build FROM snapshot_chains WHERE build IS NOT NULL)",
            [build as i64],
        )?;
    }
    Ok(())
}

/// Reads a snapshot kept in parts, one part after another, each through incremental blob I/O.
struct PartsReader<'c> {
    conn: &'c Connection,
    /// The rows of the parts still to read, in order.
    rows: std::vec::IntoIter<i64>,
    part: Option<rusqlite::blob::Blob<'c>>,
}

impl std::io::Read for PartsReader<'_> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        loop {
            if self.part.is_none() {
                let Some(row) = self.rows.next() else { return Ok(0) };
                let blob = self
                    .conn
                    .blob_open(rusqlite::MAIN_DB, "snapshot_parts", "data", row, true)
                    .map_err(std::io::Error::other)?;
                self.part = Some(blob);
            }
            let read = self.part.as_mut().map_or(Ok(0), |part| std::io::Read::read(part, out))?;
            if read > 0 || out.is_empty() {
                return Ok(read);
            }
            self.part = None;
        }
    }
}

/// The event chain's hash at `seq`: from `head` (what this store wrote last) when it is
/// there, else as stored.
fn hash_at(conn: &Connection, head: Option<(u64, Hash)>, seq: u64) -> Result<Hash, StoreError> {
    match head {
        _ if seq == 0 => return Ok(GENESIS),
        Some((at, hash)) if at == seq => return Ok(hash),
        _ => {}
    }
    let stored = conn
        .prepare_cached("SELECT hash FROM events WHERE seq = ?1")?
        .query_row([seq as i64], |r| Ok(chain::stored_hash(r.get_ref(0)?)))
        .optional()?;
    let problem = match stored {
        Some(Some(hash)) => return Ok(hash),
        Some(None) => chain::Problem::HashChanged,
        None => chain::Problem::Missing { next: None },
    };
    Err(StoreError::Broken(chain::Break { log: chain::Log::Events, row: seq, problem }))
}

impl EventStore for SqliteStore {
    fn reader(&self) -> Result<Option<Box<dyn EventStore>>, StoreError> {
        match self.conn.path().filter(|p| !p.is_empty()) {
            Some(path) => Ok(Some(Box::new(SqliteStore::open_read_only(Path::new(path))?))),
            None => Ok(None),
        }
    }

    fn writable(&self) -> bool {
        self.writable
    }

    fn append(&mut self, after: u64, records: &[NewRecord]) -> Result<u64, StoreError> {
        self.append_logged(after, records, &[])
    }

    fn append_logged(
        &mut self,
        after: u64,
        records: &[NewRecord],
        accesses: &[Access],
    ) -> Result<u64, StoreError> {
        // Take the write lock first, then look: no other writer can slip in between.
        let tx = self.conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let (found, compactions): (i64, i64) = tx.query_row(
            "SELECT COALESCE(MAX(seq), 0), (SELECT COALESCE(MAX(id), 0) FROM compactions) FROM events",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        // A log compacted since the owner read it is stale even when it has grown back to
        // the same length: its rows there are others.
        let moved = self.expected.is_some_and(|e| e.compactions != compactions as u64);
        if records.is_empty() {
            // No events (a batch of repeats, waiting for those before it): nothing is written
            // from a state that could be stale, so another process's append since does not
            // refuse it. A log shorter, or compacted, does: the events repeated may be gone.
            // Its access rows go after the access log's end; the event log is untouched.
            if (found as u64) < after || moved {
                return Err(StoreError::Conflict { expected: after, found: found as u64 });
            }
            let access_broken = insert_accesses(&tx, accesses)?;
            tx.commit()?;
            self.restart_log_if_asked(false);
            self.noticed.extend(access_broken);
            self.index_accesses_when_due(accesses.len());
            return Ok(after);
        }
        if found as u64 != after || moved {
            return Err(StoreError::Conflict { expected: after, found: found as u64 });
        }
        if compactions != self.compactions {
            // The log was chained anew since the head was kept.
            self.head = None;
            self.compactions = compactions;
        }
        let head = self.head;
        // Each row's hash follows the one before, starting from the log's head: the hash this
        // store wrote last, else the last event as stored (a break there is reported, and the
        // rows are written all the same). Rows go in [`ROWS_PER_INSERT`] to a statement: fewer
        // statements to run pays for the hashing.
        let (mut prev, events_broken) = match head {
            Some((at, hash)) if at == after => (hash, None),
            _ if after == 0 => (GENESIS, None),
            _ => event_append_point(&tx, after)?,
        };
        let mut seq = after;
        {
            let mut many = tx.prepare_cached(insert_many())?;
            let mut one =
                tx.prepare_cached("INSERT INTO events (model, body, hash) VALUES (?1, ?2, ?3)")?;
            for group in records.chunks(ROWS_PER_INSERT) {
                if group.len() == ROWS_PER_INSERT {
                    for (i, NewRecord { model, body }) in group.iter().enumerate() {
                        seq += 1;
                        prev = chain::event_hash(&prev, seq, *model, body.as_bytes());
                        many.raw_bind_parameter(3 * i + 1, model)?;
                        many.raw_bind_parameter(3 * i + 2, body.as_str())?;
                        many.raw_bind_parameter(3 * i + 3, &prev[..])?;
                    }
                    many.raw_execute()?;
                } else {
                    for NewRecord { model, body } in group {
                        seq += 1;
                        prev = chain::event_hash(&prev, seq, *model, body.as_bytes());
                        one.execute(params![model, body, &prev[..]])?;
                    }
                }
            }
        }
        // The hashes cover the sequence numbers SQLite gives the rows: the next after the
        // last, as nothing else can write while this transaction holds the lock.
        if !records.is_empty() && tx.last_insert_rowid() != seq as i64 {
            return Err(StoreError::Other(format!(
                "events {}–{seq} were not stored under their sequence numbers (the last is {})",
                after + 1,
                tx.last_insert_rowid()
            )));
        }
        let access_broken = insert_accesses(&tx, accesses)?;
        tx.commit()?;
        self.restart_log_if_asked(false);
        self.head = Some((seq, prev));
        self.noticed.extend(events_broken.into_iter().chain(access_broken));
        self.index_accesses_when_due(accesses.len());
        Ok(seq)
    }

    fn scan(
        &mut self,
        after: u64,
        f: &mut dyn FnMut(Record) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let mut select = self
            .conn
            .prepare("SELECT seq, model, body, hash FROM events WHERE seq > ?1 ORDER BY seq")?;
        let mut rows = select.query([after as i64])?;
        while let Some(row) = rows.next()? {
            let seq: i64 = row.get(0)?;
            f(Record {
                seq: seq as u64,
                model: row.get(1)?,
                body: text_of(row.get_ref(2)?),
                hash: chain::stored_hash(row.get_ref(3)?),
            })?;
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

    fn models(&mut self) -> Result<Vec<ModelRecord>, StoreError> {
        let mut select = self.conn.prepare("SELECT id, hash, sources FROM models ORDER BY id")?;
        let rows = select.query_map([], |r| {
            Ok(ModelRecord { id: r.get(0)?, hash: r.get(1)?, sources: r.get(2)? })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn save_snapshot(&mut self, seq: u64, data: &[u8]) -> Result<(), StoreError> {
        let chain = hash_at(&self.conn, self.head, seq)?;
        let tx = self.conn.transaction()?;
        tx.execute(
            "INSERT OR REPLACE INTO snapshots (seq, data) VALUES (?1, ?2)",
            params![seq as i64, data],
        )?;
        // Under the write lock, taken by the insert.
        snapshot_still_stands(&tx, self.expected, seq, &chain)?;
        keep_chain_drop_older(&tx, seq, &chain, None)?;
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
        let chain = hash_at(&self.conn, self.head, seq)?;
        let tx = self.conn.transaction()?;
        // The image is the row's last value (its `chain` is left NULL, see migration 9), so
        // the zeroblob is never made in memory.
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
        // Under the write lock, taken by the insert.
        snapshot_still_stands(&tx, self.expected, seq, &chain)?;
        keep_chain_drop_older(&tx, seq, &chain, None)?;
        tx.commit()?;
        Ok(())
    }

    fn save_snapshot_part(
        &mut self,
        build: Option<u64>,
        part: u32,
        data: &[u8],
    ) -> Result<u64, StoreError> {
        let tx = self.conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        // Not a part more of a state from before a compaction: the compaction removed the
        // parts written before it (with the expired clients' data in them), and none is written
        // after it.
        if let Some(epoch) = self.expected {
            if compactions_recorded(&tx)? as u64 != epoch.compactions {
                return Err(StoreError::Snapshot(crate::REWRITTEN.to_owned()));
            }
        }
        let build = match build {
            Some(build) => build,
            // Numbered under the write lock, from a counter that never goes back (a compaction
            // empties the parts, and a process may still hold a number from before it).
            None => {
                let counted: Option<String> = tx
                    .query_row("SELECT value FROM meta WHERE key = ?1", [SNAPSHOT_BUILDS], |r| {
                        r.get(0)
                    })
                    .optional()?;
                let stored: i64 =
                    tx.query_row("SELECT COALESCE(MAX(build), 0) FROM snapshot_parts", [], |r| {
                        r.get(0)
                    })?;
                let next = counted.and_then(|c| c.parse::<i64>().ok()).unwrap_or(0).max(stored) + 1;
                tx.execute(
                    "INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)",
                    params![SNAPSHOT_BUILDS, next.to_string()],
                )?;
                next as u64
            }
        };
        tx.execute(
            "INSERT INTO snapshot_parts (build, part, data) VALUES (?1, ?2, ?3)",
            params![build as i64, part, data],
        )?;
        tx.commit()?;
        Ok(build)
    }

    fn abandon_snapshot(&mut self, build: u64) -> Result<(), StoreError> {
        let tx = self.conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        tx.execute(
            "DELETE FROM snapshot_parts WHERE build = ?1
               AND build NOT IN (SELECT build FROM snapshot_chains WHERE build IS NOT NULL)",
            [build as i64],
        )?;
        tx.commit()?;
        Ok(())
    }

    fn finish_snapshot(
        &mut self,
        build: u64,
        parts: u32,
        seq: u64,
        len: u64,
        chain: &Hash,
    ) -> Result<(), StoreError> {
        let tx = self.conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        // Every part, as written: a compaction, or another process's snapshot, may have
        // removed them meanwhile.
        let (found, bytes): (i64, i64) = tx.query_row(
            "SELECT COUNT(*), COALESCE(SUM(length(data)), 0) FROM snapshot_parts WHERE build = ?1",
            [build as i64],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        if found != i64::from(parts) || bytes as u64 != len {
            return Err(StoreError::Snapshot(format!(
                "the snapshot's parts were removed while it was written ({found} of {parts} parts, {bytes} of {len} bytes found)"
            )));
        }
        tx.execute("INSERT OR REPLACE INTO snapshots (seq, data) VALUES (?1, X'')", [seq as i64])?;
        snapshot_still_stands(&tx, self.expected, seq, chain)?;
        keep_chain_drop_older(&tx, seq, chain, Some(build))?;
        tx.commit()?;
        Ok(())
    }

    fn chain_at(&mut self, seq: u64) -> Result<Hash, StoreError> {
        hash_at(&self.conn, self.head, seq)
    }

    fn read_snapshot(&mut self, f: &mut SnapshotReader<'_>) -> Result<bool, StoreError> {
        // One read transaction: every part, and the rows naming them, as of one moment,
        // whatever another process keeps or compacts meanwhile.
        let read = self.conn.transaction()?;
        let newest: Option<(i64, i64, Option<Hash>, Option<i64>)> = read
            .query_row(
                "SELECT s.rowid, s.seq, c.chain, c.build FROM snapshots s
                 LEFT JOIN snapshot_chains c ON c.seq = s.seq ORDER BY s.seq DESC LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, chain::stored_hash(r.get_ref(2)?), r.get(3)?)),
            )
            .optional()?;
        let Some((rowid, seq, chain, build)) = newest else { return Ok(false) };
        match build {
            Some(build) => {
                let rows = {
                    let mut select = read.prepare(
                        "SELECT rowid FROM snapshot_parts WHERE build = ?1 ORDER BY part",
                    )?;
                    let rows = select.query_map([build], |r| r.get::<_, i64>(0))?;
                    rows.collect::<Result<Vec<i64>, _>>()?
                };
                let mut parts = PartsReader { conn: &read, rows: rows.into_iter(), part: None };
                f(seq as u64, chain, &mut parts)?;
            }
            None => {
                let mut blob =
                    read.blob_open(rusqlite::MAIN_DB, "snapshots", "data", rowid, true)?;
                f(seq as u64, chain, &mut blob)?;
            }
        }
        Ok(true)
    }

    fn log_access(&mut self, a: &Access) -> Result<(), StoreError> {
        self.log_accesses(std::slice::from_ref(a))
    }

    fn log_accesses(&mut self, accesses: &[Access]) -> Result<(), StoreError> {
        let tx = self.conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let broken = insert_accesses(&tx, accesses)?;
        tx.commit()?;
        self.restart_log_if_asked(false);
        self.noticed.extend(broken);
        self.index_accesses_when_due(accesses.len());
        Ok(())
    }

    fn take_chain_breaks(&mut self) -> Vec<chain::Break> {
        std::mem::take(&mut self.noticed)
    }

    /// Finishes the checkpointer's checkpoint when it asked, or else takes one step of the
    /// next run of the access log's look-up by client.
    fn tidy(&mut self) -> Result<bool, StoreError> {
        if !self.writable {
            return Ok(false);
        }
        self.tidied = true;
        if self.restart_log_if_asked(true) {
            return Ok(true);
        }
        self.make_run_step()
    }

    fn scan_access_log(&mut self, after: u64, f: &mut AccessRows<'_>) -> Result<(), StoreError> {
        let mut select = self.conn.prepare(&format!(
            "SELECT id, hash, {ACCESS_FIELDS} FROM access_log WHERE id > ?1 ORDER BY id"
        ))?;
        let mut rows = select.query([after as i64])?;
        while let Some(row) = rows.next()? {
            let id: i64 = row.get(0)?;
            f(id as u64, access(row, 2)?, chain::stored_hash(row.get_ref(1)?))?;
        }
        Ok(())
    }

    fn access_log(
        &mut self,
        client: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Access>, StoreError> {
        let tx = self.conn.transaction()?;
        let Some(client) = client else {
            let mut select = tx.prepare(&format!(
                "SELECT {ACCESS_FIELDS} FROM access_log ORDER BY id DESC LIMIT ?1"
            ))?;
            let rows = select.query_map([limit as i64], |r| access(r, 0))?;
            return Ok(rows.collect::<Result<_, _>>()?);
        };
        // The client's rows in the runs (one seek in each), and after them in order.
        let (indexed, _) = access_index_state(&tx)?;
        let mut ids: Vec<i64> = {
            let mut select = tx.prepare(
                "SELECT id FROM access_by_client
                 WHERE run IN (SELECT run FROM access_runs) AND client = ?1
                 UNION ALL
                 SELECT id FROM access_log WHERE id > ?2 AND client = ?1",
            )?;
            let rows = select.query_map(params![client, indexed], |r| r.get(0))?;
            rows.collect::<Result<_, _>>()?
        };
        ids.sort_unstable_by(|a, b| b.cmp(a));
        ids.dedup();
        ids.truncate(limit);
        let mut select =
            tx.prepare(&format!("SELECT {ACCESS_FIELDS} FROM access_log WHERE id = ?1"))?;
        let mut found = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(row) = select.query_row([id], |r| access(r, 0)).optional()? {
                found.push(row);
            }
        }
        Ok(found)
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

    fn marker_runs(&mut self, rules: &str) -> Result<Vec<crate::markers::MarkerRun>, StoreError> {
        marker_runs(&self.conn, rules)
    }

    fn marker_generation(&mut self, rules: &str) -> Result<i64, StoreError> {
        marker_generation(&self.conn, rules)
    }

    fn marker_as_of(
        &mut self,
        rules: &str,
        day: i64,
        f: &mut dyn FnMut(crate::ClientKey, &str),
    ) -> Result<(), StoreError> {
        // SQLite gives the bare column `segment` from the row where MAX(day) is found.
        let mut select = self.conn.prepare_cached(
            "SELECT client, segment, MAX(day) FROM marker_proposals
             WHERE rules = ?1 AND day <= ?2 GROUP BY client",
        )?;
        let mut rows = select.query(params![rules, day])?;
        while let Some(r) = rows.next()? {
            f(client_key(r.get_ref(0)?)?, r.get_ref(1)?.as_str().unwrap_or(""));
        }
        Ok(())
    }

    fn marker_changes_on(
        &mut self,
        rules: &str,
        day: i64,
        f: &mut dyn FnMut(crate::ClientKey, &str),
    ) -> Result<(), StoreError> {
        let mut select = self.conn.prepare_cached(
            "SELECT client, segment FROM marker_proposals WHERE rules = ?1 AND day = ?2",
        )?;
        let mut rows = select.query(params![rules, day])?;
        while let Some(r) = rows.next()? {
            f(client_key(r.get_ref(0)?)?, r.get_ref(1)?.as_str().unwrap_or(""));
        }
        Ok(())
    }

    fn keep_answers(&mut self, kept: &crate::answers::KeptAnswers) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT INTO kept_answers (case_id, form, kept, expires, nonce, sealed)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![kept.case, kept.form, kept.kept, kept.expires, &kept.nonce[..], kept.sealed],
        )?;
        Ok(())
    }

    fn kept_answers(
        &mut self,
        case: &str,
        now: i64,
    ) -> Result<Vec<crate::answers::KeptAnswers>, StoreError> {
        let mut select = self.conn.prepare_cached(
            "SELECT case_id, form, kept, expires, nonce, sealed FROM kept_answers
             WHERE case_id = ?1 AND expires > ?2 ORDER BY id",
        )?;
        let rows = select.query_map(params![case, now], |r| {
            let nonce: Vec<u8> = r.get(4)?;
            Ok(crate::answers::KeptAnswers {
                case: r.get(0)?,
                form: r.get(1)?,
                kept: r.get(2)?,
                expires: r.get(3)?,
                // A nonce of another length does not open: the row then reports itself.
                nonce: <[u8; 12]>::try_from(nonce.as_slice()).unwrap_or_default(),
                sealed: r.get(5)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn compact(&mut self, c: &crate::Compaction) -> Result<crate::CompactionRecord, StoreError> {
        let hex = |h: &Hash| polku_engine::pseudonym::to_hex(h);
        let head = |tx: &rusqlite::Transaction<'_>,
                    table: &str,
                    key: &str|
         -> Result<(u64, String), StoreError> {
            let row: Option<(i64, Option<Vec<u8>>)> = tx
                .query_row(
                    &format!("SELECT {key}, hash FROM {table} ORDER BY {key} DESC LIMIT 1"),
                    [],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?;
            Ok(row.map_or((0, String::new()), |(k, h)| {
                (k as u64, h.map(|h| polku_engine::pseudonym::to_hex(&h)).unwrap_or_default())
            }))
        };
        // What is deleted is overwritten in the file.
        self.conn.execute_batch("PRAGMA secure_delete = ON")?;
        let result = (|| -> Result<crate::CompactionRecord, StoreError> {
            let tx =
                self.conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let events_before = head(&tx, "events", "seq")?;
            if events_before != c.after {
                return Err(StoreError::Conflict { expected: c.after.0, found: events_before.0 });
            }
            let access_before = head(&tx, "access_log", "id")?;
            tx.execute("DELETE FROM events", [])?;
            let mut prev = GENESIS;
            {
                let mut insert = tx.prepare(
                    "INSERT INTO events (seq, model, body, hash) VALUES (?1, ?2, ?3, ?4)",
                )?;
                for (i, NewRecord { model, body }) in c.keep.iter().enumerate() {
                    let seq = i as u64 + 1;
                    prev = chain::event_hash(&prev, seq, *model, body.as_bytes());
                    insert.execute(params![seq as i64, model, body, &prev[..]])?;
                }
            }
            let events_after = if c.keep.is_empty() {
                (0, String::new())
            } else {
                (c.keep.len() as u64, hex(&prev))
            };
            {
                let mut add = tx.prepare(
                    "INSERT INTO retained (history, cases) VALUES (?1, ?2)
                     ON CONFLICT (history) DO UPDATE SET cases = cases + excluded.cases",
                )?;
                for (history, cases) in &c.retained {
                    add.execute(params![history, *cases as i64])?;
                }
            }
            tx.execute("DELETE FROM snapshots", [])?;
            tx.execute("DELETE FROM snapshot_chains", [])?;
            tx.execute("DELETE FROM snapshot_parts", [])?;
            let mut removed_access = 0;
            if let Some(cutoff) = &c.access_before {
                let kept: Vec<Access> = {
                    let mut select = tx.prepare(&format!(
                        "SELECT {ACCESS_FIELDS} FROM access_log WHERE at >= ?1 ORDER BY id"
                    ))?;
                    let rows = select.query_map([cutoff], |r| access(r, 0))?;
                    rows.collect::<Result<_, _>>()?
                };
                removed_access = access_before.0.saturating_sub(kept.len() as u64);
                tx.execute("DELETE FROM access_log", [])?;
                tx.execute_batch("DELETE FROM access_by_client; DELETE FROM access_runs;")?;
                insert_accesses(&tx, &kept)?;
                index_access_runs(&tx)?;
            }
            let access_after = head(&tx, "access_log", "id")?;
            let record = crate::CompactionRecord::of(
                c,
                (events_before, events_after),
                (access_before, access_after),
                removed_access,
            );
            let text =
                serde_json::to_string(&record).map_err(|e| StoreError::Other(e.to_string()))?;
            tx.execute("INSERT INTO compactions (record) VALUES (?1)", [text])?;
            tx.commit()?;
            Ok(record)
        })();
        self.conn.execute_batch("PRAGMA secure_delete = OFF")?;
        let record = result?;
        self.head = None;
        self.making = None;
        let (indexed, last) = access_index_state(&self.conn)?;
        self.unindexed = last - indexed;
        // The write-ahead log still holds the deleted pages: empty it. A reader on an older
        // snapshot is waited for (the busy timeout); a checkpoint running at the same moment
        // (the checkpointer's, copying the pages this compaction wrote) is not, so try again.
        if !self.empty_log(TRUNCATE_TRIES) {
            return Err(StoreError::Other(
                "the client data was removed, but a reader kept the write-ahead log from being emptied: the removed bytes stay in it until the next checkpoint".to_owned(),
            ));
        }
        Ok(record)
    }

    fn retained(&mut self) -> Result<Vec<(String, u64)>, StoreError> {
        let mut select =
            self.conn.prepare("SELECT history, cases FROM retained ORDER BY history")?;
        let rows =
            select.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn compactions(&mut self) -> Result<Vec<crate::CompactionRecord>, StoreError> {
        let mut select = self.conn.prepare("SELECT record FROM compactions ORDER BY id")?;
        let rows = select.query_map([], |r| r.get::<_, String>(0))?;
        let mut out = Vec::new();
        for text in rows {
            out.push(serde_json::from_str(&text?).map_err(|e| StoreError::Other(e.to_string()))?);
        }
        Ok(out)
    }

    fn log_epoch(&mut self) -> Result<crate::LogEpoch, StoreError> {
        // A commit here is durable when it returns: no connection's loss loses one.
        Ok(crate::LogEpoch { compactions: compactions_recorded(&self.conn)? as u64, connection: 0 })
    }

    fn expect_epoch(&mut self, epoch: Option<crate::LogEpoch>) {
        self.expected = epoch;
    }

    fn forget_answers(&mut self, now: i64) -> Result<u64, StoreError> {
        // The deleted rows' bytes are overwritten in the file, and the log that still holds
        // the pages is emptied.
        self.conn.execute_batch("PRAGMA secure_delete = ON")?;
        let gone = self.conn.execute("DELETE FROM kept_answers WHERE expires <= ?1", [now]);
        self.conn.execute_batch("PRAGMA secure_delete = OFF")?;
        let gone = gone?;
        if gone > 0 {
            // A reader still on the log keeps it from being emptied now: try a few times, and
            // say so when it stays.
            // This runs on the writer's thread: it must not wait for a long reader (a backup)
            // while acknowledgements queue behind it.
            self.conn.busy_timeout(std::time::Duration::ZERO)?;
            let emptied = self.empty_log(3);
            self.conn.busy_timeout(BUSY_TIMEOUT)?;
            if !emptied {
                return Err(StoreError::Other(format!(
                    "{gone} expired answer sets were deleted, but a reader kept the write-ahead log from being emptied: their encrypted bytes stay in it until the next checkpoint"
                )));
            }
        }
        Ok(gone as u64)
    }

    fn write_markers(&mut self, write: &crate::markers::MarkerWrite) -> Result<(), StoreError> {
        let tx = self.conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let generation = marker_generation(&tx, &write.rules)?;
        if write.expect_generation.is_some_and(|g| g != generation) {
            return Err(StoreError::MarkersMoved);
        }
        tx.execute(
            "INSERT INTO marker_rule_sets (rules, generation) VALUES (?1, ?2)
             ON CONFLICT(rules) DO UPDATE SET generation = excluded.generation",
            params![write.rules, generation + 1],
        )?;
        {
            let mut set = tx.prepare_cached(
                "INSERT OR REPLACE INTO marker_proposals (rules, client, day, segment)
                 VALUES (?1, ?2, ?3, ?4)",
            )?;
            for (client, day, segment) in &write.set {
                set.execute(params![write.rules, &client[..], day, segment])?;
            }
            let mut delete = tx.prepare_cached(
                "DELETE FROM marker_proposals WHERE rules = ?1 AND client = ?2 AND day = ?3",
            )?;
            for (client, day) in &write.delete {
                delete.execute(params![write.rules, &client[..], day])?;
            }
            if let Some(run) = &write.run {
                tx.execute(
                    "INSERT OR REPLACE INTO marker_runs
                     (rules, day, segmentation, clients, rows, recorded)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    params![
                        write.rules,
                        run.day,
                        run.segmentation,
                        run.clients as i64,
                        run.rows as i64,
                        run.recorded
                    ],
                )?;
            }
        }
        tx.commit()?;
        Ok(())
    }
}

/// How many times a rule set's proposals were written.
fn marker_generation(conn: &Connection, rules: &str) -> Result<i64, StoreError> {
    Ok(conn
        .query_row("SELECT generation FROM marker_rule_sets WHERE rules = ?1", [rules], |r| {
            r.get(0)
        })
        .optional()?
        .unwrap_or(0))
}

/// The stored runs of a rule set, by day.
fn marker_runs(
    conn: &Connection,
    rules: &str,
) -> Result<Vec<crate::markers::MarkerRun>, StoreError> {
    let mut select = conn.prepare_cached(
        "SELECT day, segmentation, clients, rows, recorded FROM marker_runs
         WHERE rules = ?1 ORDER BY day",
    )?;
    let runs = select.query_map([rules], |r| {
        Ok(crate::markers::MarkerRun {
            day: r.get(0)?,
            segmentation: r.get(1)?,
            clients: r.get::<_, i64>(2)? as u64,
            rows: r.get::<_, i64>(3)? as u64,
            recorded: r.get(4)?,
        })
    })?;
    Ok(runs.collect::<Result<_, _>>()?)
}

/// Copies the database at `source` to the new file `to` while others go on writing to it: one
/// read transaction of SQLite's online backup, so the copy is the database as it stood at one
/// commit. The copy is made readable by its owner only; an existing file is never overwritten.
/// Returns the copy's last event sequence number.
pub fn backup(source: &Path, to: &Path) -> Result<u64, StoreError> {
    let fail = |message: String| StoreError::Open { url: to.display().to_string(), message };
    let exists = || StoreError::BackupExists { path: to.display().to_string() };
    if to.exists() {
        return Err(exists());
    }
    // Written beside it under another name, then linked into place (which fails rather than
    // replace a file that appeared meanwhile): a failed backup leaves nothing at `to`.
    let name = to.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let partial = to.with_file_name(format!(".{name}.partial-{}", std::process::id()));
    let result = backup_into(source, &partial, &fail).and_then(|last| {
        std::fs::hard_link(&partial, to).map_err(|e| match e.kind() {
            std::io::ErrorKind::AlreadyExists => exists(),
            _ => fail(e.to_string()),
        })?;
        Ok(last)
    });
    let _ = std::fs::remove_file(&partial);
    result
}

fn backup_into(
    source: &Path,
    to: &Path,
    fail: &dyn Fn(String) -> StoreError,
) -> Result<u64, StoreError> {
    if !source.is_file() {
        return Err(StoreError::NoDatabase { path: source.display().to_string() });
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(to).map_err(|e| match e.kind() {
        std::io::ErrorKind::AlreadyExists => {
            StoreError::BackupExists { path: to.display().to_string() }
        }
        _ => fail(e.to_string()),
    })?;
    let from = Connection::open_with_flags(source, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    from.busy_timeout(std::time::Duration::from_secs(30))?;
    let mut copy = Connection::open_with_flags(to, rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE)?;
    {
        use rusqlite::backup::StepResult;
        let backup = rusqlite::backup::Backup::new(&from, &mut copy)?;
        // All pages in one step (-1): one read transaction, one consistent state.
        let mut tries = 0;
        loop {
            match backup.step(-1)? {
                StepResult::Done => break,
                StepResult::More => {}
                StepResult::Busy | StepResult::Locked if tries < 600 => {
                    tries += 1;
                    std::thread::sleep(std::time::Duration::from_millis(50));
                }
                _ => return Err(fail("the database stayed locked for 30 s".into())),
            }
        }
    }
    let last: i64 = copy.query_row("SELECT COALESCE(MAX(seq), 0) FROM events", [], |r| r.get(0))?;
    copy.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")?;
    drop(copy);
    std::fs::File::open(to).and_then(|f| f.sync_all()).map_err(|e| fail(e.to_string()))?;
    Ok(last as u64)
}

/// A stored client key: 32 bytes.
fn client_key(value: rusqlite::types::ValueRef<'_>) -> Result<crate::ClientKey, StoreError> {
    value
        .as_blob()
        .ok()
        .and_then(|b| <[u8; 32]>::try_from(b).ok())
        .ok_or_else(|| StoreError::Other("marker_proposals: a client that is not 32 bytes".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_snapshot_in_parts_is_kept_whole_or_not_at_all() {
        let dir = std::env::temp_dir().join(format!("polku-parts-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let mut store = SqliteStore::open(&dir.join("p.sqlite")).unwrap();
        let model = store.put_model("h1", "{}").unwrap();
        let rows: Vec<NewRecord> =
            (0..6).map(|i| NewRecord { model, body: format!("e{i}") }).collect();
        store.append(0, &rows[..3]).unwrap();
        let chain = store.chain_at(3).unwrap();
        let read = |store: &mut SqliteStore| {
            let mut found = None;
            store
                .read_snapshot(&mut |seq, stored, data| {
                    let mut bytes = Vec::new();
                    data.read_to_end(&mut bytes).map_err(|e| StoreError::Other(e.to_string()))?;
                    found = Some((seq, stored, bytes));
                    Ok(())
                })
                .unwrap();
            found
        };
        let parts_left = |store: &SqliteStore| -> i64 {
            store.conn.query_row("SELECT COUNT(*) FROM snapshot_parts", [], |r| r.get(0)).unwrap()
        };
        // Parts with an append between them, then kept: read back whole, in order.
        let build = store.save_snapshot_part(None, 0, b"abc").unwrap();
        store.append(3, &rows[3..4]).unwrap();
        assert_eq!(store.save_snapshot_part(Some(build), 1, b"defg").unwrap(), build);
        assert_eq!(store.save_snapshot_part(Some(build), 2, b"h").unwrap(), build);
        assert_eq!(read(&mut store), None, "nothing is a snapshot before it is finished");
        store.finish_snapshot(build, 3, 3, 8, &chain).unwrap();
        assert_eq!(read(&mut store), Some((3, Some(chain), b"abcdefgh".to_vec())));
        // A later build with a part missing, or a chain the log does not hold, is not kept,
        // and the snapshot before it stays.
        let later = store.save_snapshot_part(None, 0, b"xy").unwrap();
        assert!(later > build);
        let at_four = store.chain_at(4).unwrap();
        assert!(matches!(
            store.finish_snapshot(later, 2, 4, 4, &at_four),
            Err(StoreError::Snapshot(_))
        ));
        store.save_snapshot_part(Some(later), 1, b"zw").unwrap();
        assert!(matches!(
            store.finish_snapshot(later, 2, 4, 4, &chain),
            Err(StoreError::Snapshot(_))
        ));
        assert_eq!(read(&mut store), Some((3, Some(chain), b"abcdefgh".to_vec())));
        // Kept: the older snapshot's parts go with it.
        store.finish_snapshot(later, 2, 4, 4, &at_four).unwrap();
        assert_eq!(read(&mut store), Some((4, Some(at_four), b"xyzw".to_vec())));
        assert_eq!(parts_left(&store), 2);
        // A snapshot kept whole over it drops its parts, not those of a build under way; a
        // compaction drops every part.
        let under_way = store.save_snapshot_part(None, 0, b"u").unwrap();
        store.save_snapshot(4, b"whole").unwrap();
        assert_eq!(read(&mut store), Some((4, Some(at_four), b"whole".to_vec())));
        assert_eq!(parts_left(&store), 1, "{under_way}");
        let compaction = crate::Compaction {
            at: "2026-12-04T00:00:00Z".into(),
            after: (4, chain::hex(&at_four)),
            keep: rows[..2].to_vec(),
            ..Default::default()
        };
        store.compact(&compaction).unwrap();
        assert_eq!(read(&mut store), None);
        assert_eq!(parts_left(&store), 0);
        // No build number is given again, though the parts that had them are gone; a build
        // abandoned leaves nothing.
        let after_compaction = store.save_snapshot_part(None, 0, b"n").unwrap();
        assert!(after_compaction > under_way, "{after_compaction} {under_way}");
        store.abandon_snapshot(after_compaction).unwrap();
        assert_eq!(parts_left(&store), 0);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn no_part_of_a_state_from_before_another_process_s_compaction_is_written() {
        let dir = std::env::temp_dir().join(format!("polku-parts-epoch-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let path = dir.join("p.sqlite");
        let mut store = SqliteStore::open(&path).unwrap();
        let model = store.put_model("h1", "{}").unwrap();
        let rows: Vec<NewRecord> =
            (0..3).map(|i| NewRecord { model, body: format!("e{i}") }).collect();
        store.append(0, &rows).unwrap();
        let epoch = store.log_epoch().unwrap();
        store.expect_epoch(Some(epoch));
        let build = store.save_snapshot_part(None, 0, b"before").unwrap();
        // Another process removes expired data meanwhile: the part written before goes with it.
        let mut other = SqliteStore::open(&path).unwrap();
        let at = other.chain_at(3).unwrap();
        other
            .compact(&crate::Compaction {
                at: "2026-12-04T00:00:00Z".into(),
                after: (3, chain::hex(&at)),
                keep: rows[..1].to_vec(),
                ..Default::default()
            })
            .unwrap();
        let parts = |s: &SqliteStore| -> i64 {
            s.conn.query_row("SELECT COUNT(*) FROM snapshot_parts", [], |r| r.get(0)).unwrap()
        };
        assert_eq!(parts(&store), 0);
        // No part more of the state from before it: neither of this build nor of a new one.
        assert!(matches!(
            store.save_snapshot_part(Some(build), 1, b"after"),
            Err(StoreError::Snapshot(_))
        ));
        assert!(matches!(
            store.save_snapshot_part(None, 0, b"after"),
            Err(StoreError::Snapshot(_))
        ));
        assert_eq!(parts(&store), 0);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn creates_migrates_appends_and_reopens() {
        let dir = std::env::temp_dir().join(format!("polku-store-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let path = dir.join("sub").join("p.sqlite");
        let mut store = SqliteStore::open(&path).unwrap();
        assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
        let model = store.put_model("h1", "{}").unwrap();
        assert_eq!(store.put_model("h1", "{}").unwrap(), model);
        assert_eq!(
            store
                .append(
                    0,
                    &[NewRecord { model, body: "a".into() }, NewRecord { model, body: "b".into() }]
                )
                .unwrap(),
            2
        );
        assert_eq!(store.append(2, &[NewRecord { model, body: "c".into() }]).unwrap(), 3);
        // A writer whose idea of the log is stale writes nothing.
        assert!(matches!(
            store.append(2, &[NewRecord { model, body: "x".into() }]),
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
            .read_snapshot(&mut |seq, _, r| {
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

    /// Access rows one to a commit, back to back, as status reads write them: the log is
    /// begun again and its file stays short. Without the writer's own checkpoint it grew by
    /// every page written.
    #[test]
    fn the_write_ahead_log_begins_again_under_constant_writes() {
        wal_begins_again(false);
    }

    /// The same, with the checkpoint finished by [`EventStore::tidy`] after each commit, as
    /// the writer of a server does.
    #[test]
    fn the_write_ahead_log_begins_again_under_constant_writes_when_tidied() {
        wal_begins_again(true);
    }

    fn wal_begins_again(tidied: bool) {
        let dir = std::env::temp_dir().join(format!("polku-wal-{}-{tidied}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let path = dir.join("s.sqlite");
        let mut store = SqliteStore::open(&path).unwrap();
        let wal = dir.join("s.sqlite-wal");
        let reader = crate::tracker::Actor::new("t", "staff");
        let (mut largest, started) = (0, std::time::Instant::now());
        let mut i = 0u64;
        // Long enough for the checkpointer to ask several times.
        while started.elapsed() < std::time::Duration::from_secs(3) {
            i += 1;
            let client = format!("{:064x}", i.wrapping_mul(0x9e37_79b9_7f4a_7c15));
            let access = Access::by(&reader, "status", Some(&client), "");
            store.log_accesses(&[access]).unwrap();
            if tidied {
                store.tidy().unwrap();
            }
            largest = largest.max(std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0));
        }
        let pages = (largest / 4096) as i64;
        assert!(i > 2_000, "only {i} commits");
        assert!(
            pages < 8 * RESTART_FRAMES,
            "the log grew to {pages} pages in {i} commits (asked to begin again at {RESTART_FRAMES})"
        );
        drop(store);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn rows_written_many_to_a_statement_are_chained_one_by_one() {
        let dir = std::env::temp_dir().join(format!("polku-many-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let mut store = SqliteStore::open(&dir.join("m.sqlite")).unwrap();
        let model = store.put_model("h", "{}").unwrap();
        let rows = |from: usize, n: usize| -> Vec<NewRecord> {
            (from..from + n).map(|i| NewRecord { model, body: format!("event {i}") }).collect()
        };
        let n = 2 * ROWS_PER_INSERT + 5;
        assert_eq!(store.append(0, &rows(1, n)).unwrap(), n as u64);
        assert_eq!(store.append(n as u64, &rows(n + 1, 3)).unwrap(), n as u64 + 3);
        let mut prev = GENESIS;
        let mut seen = 0;
        store
            .scan(0, &mut |r| {
                seen += 1;
                assert_eq!((r.seq, r.body.as_str()), (seen, format!("event {seen}").as_str()));
                prev = chain::event_hash(&prev, r.seq, model, r.body.as_bytes());
                assert_eq!(r.hash, Some(prev), "event {}", r.seq);
                Ok(())
            })
            .unwrap();
        assert_eq!(seen, n as u64 + 3);
        drop(store);
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// The log's last row and its hash in hex, as a compaction names where it was chosen.
    fn events_end(store: &SqliteStore) -> (u64, String) {
        let row: Option<(i64, Option<Vec<u8>>)> = store
            .conn
            .query_row("SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()
            .unwrap();
        row.map_or((0, String::new()), |(seq, hash)| {
            (seq as u64, hash.map(|h| polku_engine::pseudonym::to_hex(&h)).unwrap_or_default())
        })
    }

    /// An access-log row of `client` (or of none), told apart by its request id.
    fn read_row(n: usize, client: Option<usize>) -> Access {
        Access {
            at: format!("2026-12-02T10:{:02}:{:02}Z", n / 60, n % 60),
            actor: "hoitaja".into(),
            role: "staff".into(),
            action: "status".into(),
            client: client.map(|c| format!("client-{c}")),
            detail: String::new(),
            unit: "neuvola".into(),
            purpose: "tarkistus".into(),
            request: format!("r{n}"),
        }
    }

    /// Each client's rows as a look-up must give them: newest first, at most `limit`.
    fn expected(rows: &[Access], client: &str, limit: usize) -> Vec<String> {
        let mut of: Vec<String> = rows
            .iter()
            .filter(|a| a.client.as_deref() == Some(client))
            .map(|a| a.request.clone())
            .collect();
        of.reverse();
        of.truncate(limit);
        of
    }

    /// How many runs the look-up by client has.
    fn runs(store: &SqliteStore) -> i64 {
        store.conn.query_row("SELECT COUNT(*) FROM access_runs", [], |r| r.get(0)).unwrap()
    }

    fn looked_up(store: &mut SqliteStore, client: &str, limit: usize) -> Vec<String> {
        let rows = store.access_log(Some(client), limit).unwrap();
        rows.into_iter().map(|a| a.request).collect()
    }

    /// The look-up by client finds every row, in the runs and after them, newest first, on
    /// the open store, after reopening it, and after retention removed the older rows.
    #[test]
    fn the_access_log_is_looked_up_by_client_across_runs_and_the_rows_after_them() {
        let dir = std::env::temp_dir().join(format!("polku-runs-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("runs.sqlite");
        let mut store = SqliteStore::open(&path).unwrap();
        // 103 rows of 5 clients and of none, in commits of 1 to 7 rows: six runs and 7 after.
        let rows: Vec<Access> =
            (0..103).map(|n| read_row(n, (n % 6 != 5).then_some(n * 7 % 5))).collect();
        let mut at = 0;
        for size in (1..=7).cycle() {
            if at == rows.len() {
                break;
            }
            let end = (at + size).min(rows.len());
            store.log_accesses(&rows[at..end]).unwrap();
            at = end;
        }
        assert_eq!(runs(&store), 103 / RUN_ROWS);
        let check = |store: &mut SqliteStore, rows: &[Access]| {
            for client in 0..6 {
                let client = format!("client-{client}");
                for limit in [1, 3, 1000] {
                    assert_eq!(
                        looked_up(store, &client, limit),
                        expected(rows, &client, limit),
                        "{client}, {limit}"
                    );
                }
            }
            let all: Vec<String> =
                store.access_log(None, 5).unwrap().into_iter().map(|a| a.request).collect();
            let newest: Vec<String> =
                rows.iter().rev().take(5).map(|a| a.request.clone()).collect();
            assert_eq!(all, newest);
        };
        check(&mut store, &rows);
        drop(store);
        let mut store = SqliteStore::open(&path).unwrap();
        check(&mut store, &rows);
        // Retention keeps the rows from the 40th on, numbered anew: the runs are written anew.
        let compaction = crate::Compaction {
            at: "2026-12-02T12:00:00Z".into(),
            after: events_end(&store),
            keep: Vec::new(),
            retained: Vec::new(),
            removed_cases: 0,
            access_before: Some(rows[40].at.clone()),
        };
        store.compact(&compaction).unwrap();
        check(&mut store, &rows[40..]);
        assert_eq!(runs(&store), 63 / RUN_ROWS);
        // Writing goes on after it, into new runs.
        let more: Vec<Access> = (103..140).map(|n| read_row(n, Some(n % 5))).collect();
        store.log_accesses(&more).unwrap();
        let all: Vec<Access> = rows[40..].iter().chain(&more).cloned().collect();
        check(&mut store, &all);
        drop(store);
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// A store whose owner tidies it makes the runs a slice at a time, never in the commit
    /// of the rows: each step reads or writes at most [`RUN_SLICE`] rows or entries, every
    /// look-up between two steps finds every row, and a run left half made (a crash) is
    /// ignored by the look-ups and completed after reopening, by a step or by a write.
    #[test]
    fn runs_are_made_a_slice_at_a_time_after_the_answers() {
        let dir = std::env::temp_dir().join(format!("polku-slices-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("slices.sqlite");
        let mut store = SqliteStore::open(&path).unwrap();
        assert!(!store.tidy().unwrap(), "nothing to do yet");
        let rows: Vec<Access> =
            (0..40).map(|n| read_row(n, (n % 6 != 5).then_some(n * 7 % 5))).collect();
        for chunk in rows.chunks(3) {
            store.log_accesses(chunk).unwrap();
        }
        assert_eq!(runs(&store), 0, "the writes leave the runs to the steps");
        let entries = |store: &SqliteStore| -> usize {
            store
                .conn
                .query_row("SELECT COUNT(*) FROM access_by_client", [], |r| r.get::<_, i64>(0))
                .unwrap() as usize
        };
        let check = |store: &mut SqliteStore, rows: &[Access]| {
            for client in 0..5 {
                let client = format!("client-{client}");
                assert_eq!(looked_up(store, &client, 1000), expected(rows, &client, 1000));
            }
        };
        let mut steps = 0;
        let mut before = entries(&store);
        while store.tidy().unwrap() {
            steps += 1;
            let now = entries(&store);
            assert!(now - before <= RUN_SLICE, "a step wrote {} entries", now - before);
            before = now;
            check(&mut store, &rows);
            assert!(steps < 100);
        }
        assert_eq!(runs(&store), 2);
        assert!(steps >= 2 * (RUN_ROWS as usize / RUN_SLICE), "{steps} steps");
        // 16 more rows: a third run, left half made.
        let more: Vec<Access> = (40..56).map(|n| read_row(n, Some(n % 5))).collect();
        store.log_accesses(&more).unwrap();
        let all: Vec<Access> = rows.iter().chain(&more).cloned().collect();
        let half = entries(&store) + RUN_SLICE;
        while entries(&store) < half {
            assert!(store.tidy().unwrap());
        }
        assert_eq!(runs(&store), 2);
        check(&mut store, &all);
        drop(store);
        // Completed by the steps after reopening…
        let copy = dir.join("copy.sqlite");
        std::fs::copy(&path, &copy).unwrap();
        let mut store = SqliteStore::open(&path).unwrap();
        check(&mut store, &all);
        while store.tidy().unwrap() {}
        assert_eq!(runs(&store), 3);
        check(&mut store, &all);
        // …or by the next write of a store that is not tidied.
        let mut store = SqliteStore::open(&copy).unwrap();
        store.log_accesses(&[read_row(56, Some(1))]).unwrap();
        assert_eq!(runs(&store), 3);
        let mut all = all;
        all.push(read_row(56, Some(1)));
        check(&mut store, &all);
        drop(store);
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// A tidied store whose owner stopped tidying still gets its runs, from its writes, once
    /// it is four runs behind.
    #[test]
    fn a_store_left_untidied_makes_its_runs_when_far_behind() {
        let dir = std::env::temp_dir().join(format!("polku-behind-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let mut store = SqliteStore::open(&dir.join("behind.sqlite")).unwrap();
        store.tidy().unwrap();
        let rows: Vec<Access> =
            (0..4 * RUN_ROWS as usize).map(|n| read_row(n, Some(n % 3))).collect();
        store.log_accesses(&rows[..rows.len() - 1]).unwrap();
        assert_eq!(runs(&store), 0);
        store.log_accesses(&rows[rows.len() - 1..]).unwrap();
        assert_eq!(runs(&store), 4);
        drop(store);
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// Only one checkpoint runs at a time, and one that meets another answers "busy" at once:
    /// a compaction whose emptying of the log meets another connection's checkpoint (the
    /// checkpointer's, every 100 ms) tries again instead of failing.
    #[test]
    fn a_compaction_meeting_another_checkpoint_still_empties_the_log() {
        let dir = std::env::temp_dir().join(format!("polku-ckptrace-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let path = dir.join("c.sqlite");
        let mut store = SqliteStore::open(&path).unwrap();
        let model = store.put_model("h", "{}").unwrap();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let other = {
            let (path, stop) = (path.clone(), stop.clone());
            std::thread::spawn(move || {
                let conn = Connection::open(&path).unwrap();
                let mut copies = 0u32;
                while !stop.load(std::sync::atomic::Ordering::Acquire) {
                    let _ = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
                    copies += 1;
                }
                copies
            })
        };
        let body = "x".repeat(2000);
        let keep: Vec<NewRecord> =
            (0..400).map(|_| NewRecord { model, body: body.clone() }).collect();
        for round in 0..10 {
            let after = events_end(&store);
            let compaction = crate::Compaction {
                at: format!("2026-12-02T12:00:{round:02}Z"),
                after,
                keep: keep.clone(),
                retained: Vec::new(),
                removed_cases: 0,
                access_before: None,
            };
            store.compact(&compaction).expect("the log is emptied once the other copy ends");
        }
        stop.store(true, std::sync::atomic::Ordering::Release);
        assert!(other.join().unwrap() > 0);
        drop(store);
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// A store whose access log was indexed by client the old way gets its runs on opening.
    #[test]
    fn an_access_log_indexed_the_old_way_gets_its_runs() {
        let dir = std::env::temp_dir().join(format!("polku-oldruns-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("old.sqlite");
        let rows: Vec<Access> = (0..40).map(|n| read_row(n, Some(n % 3))).collect();
        {
            // The schema as migration 7 left it, with rows written through it.
            let conn = Connection::open(&path).unwrap();
            for m in &MIGRATIONS[..7] {
                conn.execute_batch(m.sql).unwrap();
                if let Some(then) = m.then {
                    then(&conn).unwrap();
                }
            }
            conn.execute_batch("PRAGMA user_version = 7").unwrap();
            let tx = rusqlite::Transaction::new_unchecked(
                &conn,
                rusqlite::TransactionBehavior::Immediate,
            )
            .unwrap();
            insert_accesses(&tx, &rows).unwrap();
            tx.commit().unwrap();
        }
        let mut store = SqliteStore::open(&path).unwrap();
        assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
        assert_eq!(runs(&store), 40 / RUN_ROWS);
        for client in 0..3 {
            let client = format!("client-{client}");
            assert_eq!(looked_up(&mut store, &client, 100), expected(&rows, &client, 100));
        }
        assert!(crate::chain::verify(&mut store).unwrap().intact(), "the chain is untouched");
        drop(store);
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
            conn.execute_batch(MIGRATIONS[0].sql).unwrap();
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
