//! The production store: PostgreSQL, with exactly the semantics of the SQLite store (the
//! conformance suite in `store/tests/conformance.rs` runs on both).
//!
//! Every write is one transaction that takes the log's advisory lock first (readers go on,
//! writers queue), then reads the log's end, so that a writer
//! whose view is stale is refused ([`StoreError::Conflict`]) and rows are numbered and chained
//! without gaps. A commit returns once PostgreSQL has made it durable (`synchronous_commit` at
//! its default, `on`), except the appends of [`EventStore::append_deferred`]: they commit
//! without waiting for the disk, and a second connection (the [`Flusher`]) makes them durable
//! with a commit of its own that waits, while the writer goes on with the next append; each is
//! told durable only then. Until then other servers may read such rows; a crash of the database
//! loses them with every row after them, so no server is ever answered for a row that is not
//! durable, and the log stays without gaps. The schema is versioned in the table
//! `polku_schema` and migrated on open under a transaction-level advisory lock, so that
//! servers starting together migrate once.
//!
//! The password is never part of an error or a log line: it comes from the URL, from
//! `POLKU_DATABASE_PASSWORD`, or from the file `POLKU_DATABASE_PASSWORD_FILE` names, and
//! every message shows the URL with the password left out.

use postgres::{Client, NoTls, Transaction};

use crate::chain::{self, Hash, GENESIS};
use crate::{
    Access, AccessRows, EventStore, ModelRecord, NewRecord, Record, SnapshotReader, StoreError,
};

impl From<postgres::Error> for StoreError {
    fn from(e: postgres::Error) -> StoreError {
        // The error's own text, with the server's detail when there is one; never the URL.
        match e.as_db_error() {
            Some(db) => StoreError::Backend(format!("{} ({})", db.message(), db.code().code())),
            None => {
                // The kind, then its causes (an I/O error, an option's name): never a password.
                let mut text = e.to_string();
                let mut cause = std::error::Error::source(&e);
                while let Some(c) = cause {
                    text.push_str(": ");
                    text.push_str(&c.to_string());
                    cause = c.source();
                }
                StoreError::Backend(text)
            }
        }
    }
}

/// The migrations, in order: migration `i` takes the schema from version `i` to `i + 1`.
/// The same tables as the SQLite store's, in one step (PostgreSQL came with schema 6).
const MIGRATIONS: &[&str] = &[
    "CREATE TABLE models (
        id BIGSERIAL PRIMARY KEY,
        hash TEXT NOT NULL UNIQUE,
        sources TEXT NOT NULL
    );
    CREATE TABLE events (
        seq BIGINT PRIMARY KEY,
        model BIGINT NOT NULL REFERENCES models(id),
        body TEXT NOT NULL,
        hash BYTEA
    );
    CREATE TABLE snapshots (
        seq BIGINT PRIMARY KEY,
        data BYTEA NOT NULL,
        chain BYTEA
    );
    CREATE TABLE access_log (
        id BIGINT PRIMARY KEY,
        at TEXT NOT NULL,
        actor TEXT NOT NULL,
        role TEXT NOT NULL,
        action TEXT NOT NULL,
        client TEXT,
        detail TEXT NOT NULL,
        unit TEXT NOT NULL DEFAULT '',
        purpose TEXT NOT NULL DEFAULT '',
        request TEXT NOT NULL DEFAULT '',
        hash BYTEA
    );
    CREATE INDEX access_log_client ON access_log (client);
    CREATE TABLE meta (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    CREATE TABLE marker_runs (
        rules TEXT NOT NULL,
        day BIGINT NOT NULL,
        segmentation TEXT NOT NULL,
        clients BIGINT NOT NULL,
        rows BIGINT NOT NULL,
        recorded TEXT NOT NULL,
        PRIMARY KEY (rules, day)
    );
    CREATE TABLE marker_proposals (
        rules TEXT NOT NULL,
        client BYTEA NOT NULL,
        day BIGINT NOT NULL,
        segment TEXT NOT NULL,
        PRIMARY KEY (rules, client, day)
    );
    CREATE TABLE marker_rule_sets (
        rules TEXT PRIMARY KEY,
        generation BIGINT NOT NULL
    );
    CREATE TABLE kept_answers (
        id BIGSERIAL PRIMARY KEY,
        case_id TEXT NOT NULL,
        form TEXT NOT NULL,
        kept BIGINT NOT NULL,
        expires BIGINT NOT NULL,
        nonce BYTEA NOT NULL,
        sealed BYTEA NOT NULL
    );
    CREATE INDEX kept_answers_case ON kept_answers (case_id);
    CREATE INDEX kept_answers_expires ON kept_answers (expires);",
    // 2: snapshots in parts, written and read as a stream: never whole in memory, and past
    // the 1 GB a single value may hold. (A snapshot row whose `parts` is 0 holds its data in
    // `data`, as before.) The parts are not compressed: the data is dense already.
    "ALTER TABLE snapshots ADD COLUMN parts INTEGER NOT NULL DEFAULT 0;
    CREATE TABLE snapshot_parts (
        seq BIGINT NOT NULL,
        part INTEGER NOT NULL,
        data BYTEA NOT NULL,
        PRIMARY KEY (seq, part)
    );
    ALTER TABLE snapshot_parts ALTER COLUMN data SET STORAGE EXTERNAL;",
    // 3: retention: what removed cases left for the reports, and each compaction's heads.
    "CREATE TABLE retained (
        history TEXT PRIMARY KEY,
        cases BIGINT NOT NULL
    );
    CREATE TABLE compactions (
        id BIGSERIAL PRIMARY KEY,
        record TEXT NOT NULL
    );",
    // 4: an event's model version is checked once per append (`known_models`), not by a
    // foreign key: its trigger looked the model up again for every row, which doubled the
    // server's work of an append.
    "ALTER TABLE events DROP CONSTRAINT IF EXISTS events_model_fkey;",
    // 5: an append whose log ends this server knows (it wrote the last rows) is one call: the
    // locks, the check of the ends and the inserts run in the database, in one round trip and
    // one implicit transaction, where the same steps as statements of their own took five.
    // The numbers are `EVENTS_LOCK` and `ACCESS_LOCK` (a test holds them to it).
    "CREATE OR REPLACE FUNCTION polku_append(
        p_after BIGINT, p_access_after BIGINT, p_compactions BIGINT, p_synchronous BOOLEAN,
        p_seqs BIGINT[], p_models BIGINT[], p_bodies TEXT[], p_hashes BYTEA[],
        p_ids BIGINT[], p_ats TEXT[], p_actors TEXT[], p_roles TEXT[], p_actions TEXT[],
        p_clients TEXT[], p_details TEXT[], p_units TEXT[], p_purposes TEXT[],
        p_requests TEXT[], p_access_hashes BYTEA[]
    ) RETURNS BIGINT[] LANGUAGE plpgsql AS $polku$
    DECLARE
        ends BIGINT[];
        logged BOOLEAN := cardinality(p_ids) > 0;
    BEGIN
        IF NOT p_synchronous THEN
            PERFORM set_config('synchronous_commit', 'off', true);
        END IF;
        PERFORM pg_advisory_xact_lock(123623862662401);
        IF logged THEN
            PERFORM pg_advisory_xact_lock(123623862662402);
        END IF;
        ends := ARRAY[(SELECT COALESCE(MAX(seq), 0) FROM events),
                      (SELECT COALESCE(MAX(id), 0) FROM access_log),
                      (SELECT COALESCE(MAX(id), 0) FROM compactions)];
        IF ends[3] <> p_compactions
           OR (cardinality(p_seqs) > 0 AND ends[1] <> p_after)
           OR ends[1] < p_after
           OR (logged AND ends[2] <> p_access_after) THEN
            RETURN ends;
        END IF;
        INSERT INTO events (seq, model, body, hash)
            SELECT * FROM UNNEST(p_seqs, p_models, p_bodies, p_hashes);
        IF logged THEN
            INSERT INTO access_log
                (id, at, actor, role, action, client, detail, unit, purpose, request, hash)
                SELECT * FROM UNNEST(p_ids, p_ats, p_actors, p_roles, p_actions, p_clients,
                                     p_details, p_units, p_purposes, p_requests,
                                     p_access_hashes);
        END IF;
        RETURN ends || 1::BIGINT;
    END
    $polku$;",
];

/// The bytes of one stored part of a snapshot.
const SNAPSHOT_PART: usize = 16 << 20;

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// The advisory locks that serialise migrations and the writers of each log (numbers of
/// Polku's own). Advisory locks, not table locks: they never wait for autovacuum, and the
/// role needs no more than SELECT and INSERT on the logs (and EXECUTE on `polku_append`, or
/// its appends all go the long way).
const MIGRATION_LOCK: i64 = 0x706f_6c6b_7500;
const EVENTS_LOCK: i64 = 0x706f_6c6b_7501;
const ACCESS_LOCK: i64 = 0x706f_6c6b_7502;
const MARKERS_LOCK: i64 = 0x706f_6c6b_7503;
/// Serialises the writers of snapshots, so that whether a snapshot of a row exists stays what
/// one of them read until it commits (only they add snapshots; a compaction only removes
/// them, and never takes this lock).
const SNAPSHOTS_LOCK: i64 = 0x706f_6c6b_7504;

/// The start of PostgreSQL's binary COPY format: signature, flags, no header extension.
const COPY_HEADER: &[u8] = b"PGCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0";

/// From this many events an append goes by `COPY` rather than by one `INSERT` of arrays:
/// `COPY` sets up more per call (a slot per buffered row) and saves more per row.
const COPY_FROM: usize = 2_000;

/// Rows read per query while the log is scanned.
const SCAN_CHUNK: i64 = 10_000;

/// The database a URL names, for messages: user, hosts, ports and database as PostgreSQL reads
/// them, and nothing else (no password, wherever the URL put it). A URL that does not parse is
/// shown only when it cannot hold a password.
pub fn redacted(url: &str) -> String {
    // A second `@` is part of a password that was not percent-encoded: PostgreSQL splits at
    // the first, so the rest would show as the host.
    if url.matches('@').count() > 1 {
        return "postgres://… (not shown: its password holds an @; percent-encode it as %40)"
            .to_owned();
    }
    match url.parse::<postgres::Config>() {
        Ok(config) => {
            let hosts: Vec<String> = config
                .get_hosts()
                .iter()
                .zip(config.get_ports().iter().chain(std::iter::repeat(&5432)))
                .map(|(host, port)| match host {
                    postgres::config::Host::Tcp(name) => format!("{name}:{port}"),
                    #[cfg(unix)]
                    postgres::config::Host::Unix(path) => path.display().to_string(),
                })
                .collect();
            format!(
                "postgres://{}@{}/{}",
                config.get_user().unwrap_or(""),
                hosts.join(","),
                config.get_dbname().unwrap_or("")
            )
        }
        Err(_) if url.contains('@') || url.contains("password") => {
            "postgres://… (a URL that does not parse; not shown, since it may hold a password)"
                .to_owned()
        }
        Err(_) => url.to_owned(),
    }
}

/// Whether every host is this machine (or a Unix socket): the only connections this build makes
/// without TLS unless `POLKU_DATABASE_PLAINTEXT=1` says the network is trusted.
fn local_only(config: &postgres::Config) -> bool {
    config.get_hosts().iter().all(|host| match host {
        postgres::config::Host::Tcp(name) => {
            name == "localhost" || name.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
        }
        #[cfg(unix)]
        postgres::config::Host::Unix(_) => true,
    })
}

pub struct PostgresStore {
    client: Client,
    /// The event log's last sequence number and hash as this store last wrote them, so that
    /// an append chains its rows without reading the head back.
    head: Option<(u64, Hash)>,
    /// The same for the access log.
    access_head: Option<(u64, Hash)>,
    /// The compactions recorded when the heads above were kept: a compaction (by any server)
    /// chains both logs anew, and heads kept from before it are void.
    compactions: i64,
    /// The epoch the owner's position was read in ([`EventStore::expect_epoch`]).
    expected: Option<crate::LogEpoch>,
    /// How many times the connection was made again ([`crate::LogEpoch::connection`]).
    connection: u64,
    /// Model versions found stored: an append naming only these needs no look-up.
    models: Vec<i64>,
    /// The statements of a write, prepared once per connection.
    statements: Option<Statements>,
    /// Breaks in a chain met at a log's end by the writes since they were last taken.
    noticed: Vec<chain::Break>,
    /// How to connect again: the flusher's connection.
    config: postgres::Config,
    /// Makes deferred appends durable, on a connection of its own (started on first use).
    flusher: Option<Flusher>,
    /// The chain's hash a snapshot's row must hold ([`EventStore::expect_chain_at`]).
    snapshot_anchor: Option<(u64, Hash)>,
    /// Whether appends may go as one call of `polku_append` (not when the role may not).
    one_call: bool,
}

/// What the flusher is told of an append committed without waiting for the disk: whom to
/// tell, and each log's last row (number, hash) as the append left it, which the flush must
/// find stored. (A flush on a server that restarted since, with a connection of its own that
/// only now broke, or none, would succeed; the rows committed before the restart may be gone
/// with it.)
struct Flush {
    durable: crate::Durable,
    events: Option<(u64, Hash)>,
    access: Option<(u64, Hash)>,
}

/// A transaction that writes to PostgreSQL's log (a message of no content, which any role may
/// write) and reads the hashes of the rows named (in their order, NULL for a row not there),
/// so that its commit, with `synchronous_commit` on, waits until the log is durable up to it,
/// and so up to every commit it saw. (A transaction that writes nothing commits without
/// waiting, even with a transaction id.)
const FLUSH: &str = "SELECT pg_logical_emit_message(true, 'polku', ''),
    ARRAY(SELECT e.hash FROM unnest($1::bigint[]) WITH ORDINALITY AS w(seq, i)
          LEFT JOIN events e ON e.seq = w.seq ORDER BY w.i),
    ARRAY(SELECT a.hash FROM unnest($2::bigint[]) WITH ORDINALITY AS w(id, i)
          LEFT JOIN access_log a ON a.id = w.id ORDER BY w.i)";

/// A thread with a connection of its own that makes appends committed without waiting for the
/// disk (`synchronous_commit` off) durable, and tells each one's `Durable` in order. It
/// commits a transaction of its own that waits for the disk: PostgreSQL writes its log in
/// order, so that commit is durable only once every commit before it is. While it waits, the
/// writer's connection goes on with the next append, and one flush serves every append
/// committed meanwhile. The flush also reads back the last row each log had after the last of
/// those appends: found with the hash written, the chain holds every row before it too; not
/// found (the server crashed and restarted, losing what was not yet on its disk), none of
/// them is told durable.
struct Flusher {
    jobs: Option<std::sync::mpsc::Sender<Flush>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// Makes the appends `waiting` tells of durable on `client`, and checks for each that the rows
/// it wrote last are stored as written: the answer for each, or why the flush failed. (Each
/// is checked, not only the last: an append written after a restart of the server does not
/// vouch for one written before it.)
fn flush<S: postgres::ToStatement + ?Sized>(
    client: &mut Client,
    statement: &S,
    waiting: &[Flush],
) -> Result<Vec<Result<(), String>>, StoreError> {
    let rows = |pick: fn(&Flush) -> Option<(u64, Hash)>| -> Vec<i64> {
        waiting.iter().filter_map(pick).map(|(row, _)| row as i64).collect()
    };
    let (event_rows, access_rows) = (rows(|f| f.events), rows(|f| f.access));
    let found = client.query_one(statement, &[&event_rows, &access_rows])?;
    // Each row's stored hash, in the order asked; `None` for a row not there.
    let events: Vec<Option<Vec<u8>>> = found.get(1);
    let access: Vec<Option<Vec<u8>>> = found.get(2);
    let (mut events, mut access) = (events.into_iter(), access.into_iter());
    let check = |log: &str,
                 written: Option<(u64, Hash)>,
                 stored: &mut dyn Iterator<Item = Option<Vec<u8>>>| {
        let Some((row, hash)) = written else { return Ok(()) };
        match hash_of(stored.next().flatten()) == Some(hash) {
            true => Ok(()),
            false => Err(format!(
                "the {log} log's row {row} is not stored as written (the database restarted and lost it, or another server compacted the log)"
            )),
        }
    };
    Ok(waiting
        .iter()
        .map(|job| {
            let events = check("event", job.events, &mut events);
            let access = check("access", job.access, &mut access);
            events.and(access)
        })
        .collect())
}

impl Flusher {
    fn start(config: postgres::Config) -> Flusher {
        let (jobs, inbox) = std::sync::mpsc::channel::<Flush>();
        let thread =
            std::thread::spawn(move || {
                // The connection, with the flush prepared on it.
                let mut client: Option<(Client, postgres::Statement)> = None;
                while let Ok(first) = inbox.recv() {
                    let mut waiting = vec![first];
                    waiting.extend(inbox.try_iter());
                    let result = (|| -> Result<Vec<Result<(), String>>, StoreError> {
                        loop {
                            let (connected, fresh) = match client.take() {
                                Some((c, statement)) if !c.is_closed() => ((c, statement), false),
                                _ => {
                                    let mut c = connect_within(&config)?;
                                    let statement = c.prepare(FLUSH)?;
                                    ((c, statement), true)
                                }
                            };
                            let (c, statement) = client.insert(connected);
                            match flush(c, &*statement, &waiting) {
                                // A connection found cut only now (the database went away and
                                // came back while nothing was flushed): once more on a new one,
                                // which finds the rows stored, or says they are not.
                                Err(_) if !fresh && c.is_closed() => client = None,
                                other => return other,
                            }
                        }
                    })();
                    let answers = match result {
                        Ok(answers) => answers,
                        Err(e) => {
                            client = None;
                            vec![Err(e.to_string()); waiting.len()]
                        }
                    };
                    for (Flush { durable, .. }, answer) in waiting.into_iter().zip(answers) {
                        durable(answer.map_err(|e| {
                            crate::WriteFailed(format!("not known to be durable: {e}"))
                        }));
                    }
                }
            });
        Flusher { jobs: Some(jobs), thread: Some(thread) }
    }
}

impl Drop for Flusher {
    /// Makes every append handed over durable, then stops.
    fn drop(&mut self) {
        drop(self.jobs.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore").finish_non_exhaustive()
    }
}

/// How long a connection may take to be made when the URL sets no `connect_timeout`.
const CONNECT_WITHIN: std::time::Duration = std::time::Duration::from_secs(10);

/// Connections being made that their callers gave up waiting for, at most: past it a new one
/// is refused at once rather than started, so that a server that takes connections and says
/// nothing cannot gather threads and sockets here.
const CONNECTS_LEFT_WAITING: usize = 4;

/// Connections being made on threads of their own, the given-up ones included.
static CONNECTING: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// A new connection, made within the config's connect time-out as a whole (for each host the
/// URL names). The driver bounds only the socket's connection by it: a server (or something in
/// its place) that takes the connection and then says nothing would hold the caller for good,
/// and with it every write and answer waiting behind it. The connection is made on a thread of
/// its own; one that is late is left to end by itself (a connection made late is closed, the
/// server ends an unauthenticated one after its `authentication_timeout`, and keepalives end a
/// dead one), and no more than [`CONNECTS_LEFT_WAITING`] are left so.
fn connect_within(config: &postgres::Config) -> Result<Client, StoreError> {
    use std::sync::atomic::Ordering;
    let hosts = config.get_hosts().len().max(1) as u32;
    let within = *config.get_connect_timeout().unwrap_or(&CONNECT_WITHIN) * hosts;
    if CONNECTING.fetch_add(1, Ordering::SeqCst) > CONNECTS_LEFT_WAITING {
        CONNECTING.fetch_sub(1, Ordering::SeqCst);
        return Err(StoreError::Backend(
            "the database did not complete the connections asked for before; not asked again until one ends".into(),
        ));
    }
    let (answer, answered) = std::sync::mpsc::sync_channel(1);
    let config = config.clone();
    let started = std::thread::Builder::new().name("polku-pg-connect".into()).spawn(move || {
        let connected = config.connect(NoTls);
        CONNECTING.fetch_sub(1, Ordering::SeqCst);
        let _ = answer.send(connected);
    });
    if let Err(e) = started {
        CONNECTING.fetch_sub(1, Ordering::SeqCst);
        return Err(StoreError::Backend(format!("no thread to connect on: {e}")));
    }
    match answered.recv_timeout(within) {
        Ok(connected) => Ok(connected?),
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => Err(StoreError::Backend(format!(
            "the database did not complete the connection within {} s",
            within.as_secs_f64()
        ))),
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
            Err(StoreError::Backend("the connection's thread ended without an answer".into()))
        }
    }
}

impl PostgresStore {
    /// Connects to `url` (`postgres://user[:password]@host[:port]/database`) and brings the
    /// schema up to date.
    pub fn open(url: &str) -> Result<PostgresStore, StoreError> {
        let fail = |message: String| StoreError::Open { url: redacted(url), message };
        let mut config: postgres::Config =
            url.parse().map_err(|e: postgres::Error| fail(e.to_string()))?;
        if config.get_password().is_none() {
            if let Some(password) = password_from_environment(&fail)? {
                config.password(password);
            }
        }
        if !local_only(&config) && std::env::var("POLKU_DATABASE_PLAINTEXT").as_deref() != Ok("1") {
            return Err(fail(
                "this build connects to PostgreSQL without TLS, so only on this machine (localhost or a Unix socket): reach a remote server through a TLS tunnel on loopback, or set POLKU_DATABASE_PLAINTEXT=1 on a network you trust".into(),
            ));
        }
        config.application_name("polku");
        // Durable acknowledgements and bounded waits, whatever the server's defaults.
        config.options(
            "-c synchronous_commit=on -c lock_timeout=10s -c idle_in_transaction_session_timeout=60s -c default_transaction_isolation=read\\ committed",
        );
        // A connection (the socket, TLS, the start-up and the password) is made within the
        // URL's `connect_timeout` in seconds, ten unless it gives a positive number (libpq's
        // 0 for "wait for ever" is read as unset by the driver, and means ten here too).
        let within = *config.get_connect_timeout().unwrap_or(&CONNECT_WITHIN);
        config.connect_timeout(within);
        // A server or a network gone silent is noticed within about half a minute (a waiting
        // flush holds every answer behind it): probes after 10 s of quiet, then every 5 s,
        // three unanswered; data unacknowledged for 30 s ends the connection too.
        config.keepalives(true);
        config.keepalives_idle(std::time::Duration::from_secs(10));
        config.keepalives_interval(std::time::Duration::from_secs(5));
        config.keepalives_retries(3);
        config.tcp_user_timeout(std::time::Duration::from_secs(30));
        let mut store = PostgresStore::connect(config).map_err(|e| fail(e.to_string()))?;
        store.migrate()?;
        Ok(store)
    }

    /// A store on a new connection made with `config`, with nothing kept yet.
    fn connect(config: postgres::Config) -> Result<PostgresStore, StoreError> {
        Ok(PostgresStore {
            client: connect_within(&config)?,
            head: None,
            access_head: None,
            compactions: 0,
            expected: None,
            connection: 0,
            models: Vec::new(),
            statements: None,
            noticed: Vec::new(),
            config,
            flusher: None,
            snapshot_anchor: None,
            one_call: true,
        })
    }

    /// Appends, with the access rows, in one transaction; its commit waits for the disk when
    /// `synchronous` (else see [`Flusher`]).
    fn write_append(
        &mut self,
        after: u64,
        records: &[NewRecord],
        accesses: &[Access],
        synchronous: bool,
    ) -> Result<u64, StoreError> {
        self.live()?;
        let statements = self.statements()?;
        if let Some(append) = statements.append.as_ref().filter(|_| self.one_call) {
            if let Some(seq) = self.append_known(append, after, records, accesses, synchronous)? {
                return Ok(seq);
            }
        }
        let mut tx = self.client.transaction()?;
        // The locks first, then the ends of the logs: read after the locks are held, they are
        // the ends no one else moves until this transaction ends. (In the same order as every
        // writer that takes both.)
        let asynchronous = if synchronous { "" } else { "SET LOCAL synchronous_commit = off; " };
        tx.batch_execute(&if accesses.is_empty() {
            format!("{asynchronous}SELECT pg_advisory_xact_lock({EVENTS_LOCK})")
        } else {
            format!(
                "{asynchronous}SELECT pg_advisory_xact_lock({EVENTS_LOCK}), pg_advisory_xact_lock({ACCESS_LOCK})"
            )
        })?;
        let ends = tx.query_one(&statements.ends, &[])?;
        let (found, access_last, compactions): (i64, i64, i64) =
            (ends.get(0), ends.get(1), ends.get(2));
        // A log compacted, or a server restarted, since the owner read the log is stale even
        // when the log has grown back to the same length: its rows there may be others. No
        // events (a batch of repeats, waiting for those before it): nothing is written from a
        // state that could be stale, so another process's append since does not refuse it; a
        // shorter or a stale log does (the events repeated may be gone).
        let epoch =
            crate::LogEpoch { compactions: compactions as u64, connection: self.connection };
        let moved = self.expected.is_some_and(|e| e != epoch);
        let refused = match records.is_empty() {
            false => found as u64 != after || moved,
            true => (found as u64) < after || moved,
        };
        if refused {
            return Err(StoreError::Conflict { expected: after, found: found as u64 });
        }
        if compactions != self.compactions {
            // The logs were chained anew since the heads were kept.
            self.head = None;
            self.access_head = None;
            self.compactions = compactions;
        }
        // No one else appended since (the lock and the check above): when this store wrote
        // the last row, its hash is known.
        let (mut prev, events_broken) = match self.head {
            _ if records.is_empty() => (GENESIS, None),
            Some((at, hash)) if at == after => (hash, None),
            _ if after == 0 => (GENESIS, None),
            _ => event_append_point(&mut tx, after)?,
        };
        known_models(&mut tx, &mut self.models, records)?;
        if records.len() >= COPY_FROM {
            prev = copy_events(&mut tx, after, prev, records)?;
        } else if !records.is_empty() {
            prev = insert_events(&mut tx, &statements.insert_events, after, prev, records)?;
        }
        let seq = after + records.len() as u64;
        let (access_head, access_broken) = if accesses.is_empty() {
            (self.access_head, None)
        } else {
            let last = access_last as u64;
            let (at, broken) = access_append_point(&mut tx, last, self.access_head)?;
            (
                Some(write_accesses(&mut tx, &statements.insert_accesses, (last, at), accesses)?),
                broken,
            )
        };
        tx.commit()?;
        if !records.is_empty() {
            self.head = Some((seq, prev));
        }
        self.access_head = access_head;
        self.noticed.extend(events_broken);
        self.noticed.extend(access_broken);
        Ok(seq)
    }

    /// The append as one call ([`APPEND`]), when this store wrote the last rows of the logs
    /// it appends to and knows every model version named: the database checks under the
    /// locks that the logs end where this store left them (no other writer since, no
    /// compaction), which is all [`Self::write_append`]'s reads would find out. `None` when
    /// the store does not know the ends, or the database found them moved and wrote nothing:
    /// then the append is written the long way, which reads them and refuses or goes on.
    fn append_known(
        &mut self,
        append: &postgres::Statement,
        after: u64,
        records: &[NewRecord],
        accesses: &[Access],
        synchronous: bool,
    ) -> Result<Option<u64>, StoreError> {
        let epoch =
            crate::LogEpoch { compactions: self.compactions as u64, connection: self.connection };
        if self.expected.is_some_and(|e| e != epoch)
            || records.len() >= COPY_FROM
            || accesses.len() > ACCESS_ROWS_PER_INSERT
            || records.iter().any(|r| !self.models.contains(&r.model))
        {
            return Ok(None);
        }
        let prev = match self.head {
            _ if records.is_empty() => GENESIS,
            Some((at, hash)) if at == after => hash,
            _ => return Ok(None),
        };
        let access_head = match self.access_head {
            _ if accesses.is_empty() => self.access_head.unwrap_or((0, GENESIS)),
            Some(head) => head,
            None => return Ok(None),
        };
        let events = EventColumns::new(after, prev, records);
        let access = AccessColumns::new(access_head, accesses);
        let [ids, at, actor, role, action, client, detail, unit, purpose, request, hashes] =
            access.params();
        let called = self.client.query_one(
            append,
            &[
                &(after as i64),
                &(access_head.0 as i64),
                &self.compactions,
                &synchronous,
                &events.seqs,
                &events.models,
                &events.bodies,
                &events.hash_slices(),
                ids,
                at,
                actor,
                role,
                action,
                client,
                detail,
                unit,
                purpose,
                request,
                hashes,
            ],
        );
        let ends: Vec<i64> = match called {
            Ok(row) => row.get(0),
            // A role that may not call it (EXECUTE revoked), or the function dropped since the
            // statement was prepared: nothing was written, and every append goes the long way.
            Err(e)
                if [
                    postgres::error::SqlState::INSUFFICIENT_PRIVILEGE,
                    postgres::error::SqlState::UNDEFINED_FUNCTION,
                ]
                .iter()
                .any(|code| e.code() == Some(code)) =>
            {
                self.one_call = false;
                return Ok(None);
            }
            Err(e) => return Err(e.into()),
        };
        if ends.len() < 4 {
            return Ok(None);
        }
        if let Some(last) = events.last() {
            self.head = Some((after + records.len() as u64, last));
        }
        if !accesses.is_empty() {
            self.access_head = Some(access.head);
        }
        Ok(Some(after + records.len() as u64))
    }

    /// Connects again when the connection is lost (the server restarted, or cut it). Every
    /// write is a transaction of its own that reads the logs' ends under their locks, so
    /// nothing more is needed than to forget what was kept of the old connection: its
    /// statements and the heads (which a restart may have taken back with what it lost).
    fn live(&mut self) -> Result<(), StoreError> {
        if self.client.is_closed() {
            self.client = connect_within(&self.config)?;
            // Rows committed on the old connection without waiting for the disk may be gone
            // (the server restarted): a position read before is stale ([`crate::LogEpoch`]).
            self.connection += 1;
            self.statements = None;
            self.head = None;
            self.access_head = None;
        }
        Ok(())
    }

    /// The statements of a write, prepared on first use: planned once per connection.
    fn statements(&mut self) -> Result<Statements, StoreError> {
        if let Some(statements) = &self.statements {
            return Ok(statements.clone());
        }
        let statements = Statements {
            insert_events: self.client.prepare(INSERT_EVENTS)?,
            insert_accesses: self.client.prepare(INSERT_ACCESSES)?,
            append: match self.client.prepare(APPEND) {
                Ok(statement) => Some(statement),
                // A database without the function (changed by hand): the long way.
                Err(e) if e.code() == Some(&postgres::error::SqlState::UNDEFINED_FUNCTION) => None,
                Err(e) => return Err(e.into()),
            },
            ends: self.client.prepare(
                "SELECT (SELECT COALESCE(MAX(seq), 0) FROM events),
                        (SELECT COALESCE(MAX(id), 0) FROM access_log),
                        (SELECT COALESCE(MAX(id), 0) FROM compactions)",
            )?,
        };
        self.statements = Some(statements.clone());
        Ok(statements)
    }

    fn migrate(&mut self) -> Result<(), StoreError> {
        // A database at this build's schema is opened without DDL (which needs rights a
        // reading role or a replica does not have).
        let exists: bool =
            self.client.query_one("SELECT to_regclass('polku_schema') IS NOT NULL", &[])?.get(0);
        if exists {
            let current: Option<i64> =
                self.client.query_opt("SELECT version FROM polku_schema", &[])?.map(|r| r.get(0));
            if current == Some(SCHEMA_VERSION) {
                return Ok(());
            }
        }
        let mut tx = self.client.transaction()?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])?;
        tx.batch_execute("CREATE TABLE IF NOT EXISTS polku_schema (version BIGINT NOT NULL)")?;
        let found: Option<i64> =
            tx.query_opt("SELECT version FROM polku_schema", &[])?.map(|r| r.get(0));
        let found = found.unwrap_or(0);
        if found > SCHEMA_VERSION {
            return Err(StoreError::TooNew { found, known: SCHEMA_VERSION });
        }
        for sql in &MIGRATIONS[found as usize..] {
            tx.batch_execute(sql)?;
        }
        if found == 0 {
            tx.execute("INSERT INTO polku_schema (version) VALUES ($1)", &[&SCHEMA_VERSION])?;
        } else if found < SCHEMA_VERSION {
            tx.execute("UPDATE polku_schema SET version = $1", &[&SCHEMA_VERSION])?;
        }
        tx.commit()?;
        Ok(())
    }
}

/// `POLKU_DATABASE_PASSWORD`, else the first line of the file `POLKU_DATABASE_PASSWORD_FILE`
/// names; `fail` says what is wrong with them as the store's error.
fn password_from_environment(
    fail: &dyn Fn(String) -> StoreError,
) -> Result<Option<String>, StoreError> {
    if let Ok(password) = std::env::var("POLKU_DATABASE_PASSWORD") {
        return Ok(Some(password));
    }
    match std::env::var_os("POLKU_DATABASE_PASSWORD_FILE") {
        Some(file) => {
            if crate::project::readable_by_others(std::path::Path::new(&file)) {
                return Err(fail(format!(
                    "POLKU_DATABASE_PASSWORD_FILE {} can be read by other users: make it readable by its owner only (chmod 600)",
                    file.to_string_lossy()
                )));
            }
            let text = std::fs::read_to_string(&file).map_err(|e| {
                fail(format!("POLKU_DATABASE_PASSWORD_FILE {}: {e}", file.to_string_lossy()))
            })?;
            Ok(Some(text.lines().next().unwrap_or("").to_owned()))
        }
        None => Ok(None),
    }
}

fn hash_of(bytes: Option<Vec<u8>>) -> Option<Hash> {
    bytes.and_then(|b| <Hash>::try_from(b.as_slice()).ok())
}

/// Where the event chain goes on after row `last`, and a break found there (see
/// [`chain::append_point`]).
fn event_append_point(
    tx: &mut Transaction<'_>,
    last: u64,
) -> Result<(Hash, Option<chain::Break>), StoreError> {
    let rows = tx.query(
        "SELECT seq, model, body, hash FROM events WHERE seq <= $1 ORDER BY seq DESC LIMIT 2",
        &[&(last as i64)],
    )?;
    let tail: Vec<(u64, i64, String, Option<Hash>)> = rows
        .iter()
        .map(|r| (r.get::<_, i64>(0) as u64, r.get(1), r.get(2), hash_of(r.get(3))))
        .collect();
    Ok(match tail.as_slice() {
        [] => (GENESIS, None),
        [(seq, model, body, stored), before @ ..] => {
            let before = before.first().map(|(seq, _, _, hash)| (*seq, *hash));
            chain::append_point(chain::Log::Events, (*seq, *stored), before, |p| {
                chain::event_hash(p, *seq, *model, body.as_bytes())
            })
        }
    })
}

const ACCESS_FIELDS: &str = "at, actor, role, action, client, detail, unit, purpose, request";

fn access(r: &postgres::Row, first: usize) -> Access {
    Access {
        at: r.get(first),
        actor: r.get(first + 1),
        role: r.get(first + 2),
        action: r.get(first + 3),
        client: r.get(first + 4),
        detail: r.get(first + 5),
        unit: r.get(first + 6),
        purpose: r.get(first + 7),
        request: r.get(first + 8),
    }
}

/// Where the access log goes on after row `last`: its hash (from `known`, this store's own
/// last write, when that is row `last`), and a break found there.
fn access_append_point(
    tx: &mut Transaction<'_>,
    last: u64,
    known: Option<(u64, Hash)>,
) -> Result<(Hash, Option<chain::Break>), StoreError> {
    match known {
        Some((at, hash)) if at == last => return Ok((hash, None)),
        _ if last == 0 => return Ok((GENESIS, None)),
        _ => {}
    }
    let rows = tx.query(
        &format!(
            "SELECT id, hash, {ACCESS_FIELDS} FROM access_log WHERE id <= $1 ORDER BY id DESC LIMIT 2"
        ),
        &[&(last as i64)],
    )?;
    let tail: Vec<(u64, Option<Hash>, Access)> =
        rows.iter().map(|r| (r.get::<_, i64>(0) as u64, hash_of(r.get(1)), access(r, 2))).collect();
    Ok(match tail.as_slice() {
        [] => (GENESIS, None),
        [(last, stored, a), before @ ..] => {
            let before = before.first().map(|(id, hash, _)| (*id, *hash));
            chain::append_point(chain::Log::AccessLog, (*last, *stored), before, |p| {
                chain::access_hash(p, *last, a)
            })
        }
    })
}

/// Access-log rows written by one statement at most (a compaction may keep millions).
const ACCESS_ROWS_PER_INSERT: usize = 10_000;

/// The access-log rows after row `last` (whose hash is `prev`), a statement for each
/// [`ACCESS_ROWS_PER_INSERT`]; the new head. The caller holds the access log's lock.
fn write_accesses(
    tx: &mut Transaction<'_>,
    insert: &postgres::Statement,
    mut head: (u64, Hash),
    accesses: &[Access],
) -> Result<(u64, Hash), StoreError> {
    for accesses in accesses.chunks(ACCESS_ROWS_PER_INSERT) {
        let columns = AccessColumns::new(head, accesses);
        tx.execute(insert, &columns.params())?;
        head = columns.head;
    }
    Ok(head)
}

/// Events numbered and chained after row `after` (whose hash is `prev`), as the columns of
/// one insert of arrays.
struct EventColumns<'a> {
    seqs: Vec<i64>,
    models: Vec<i64>,
    bodies: Vec<&'a str>,
    hashes: Vec<Hash>,
}

impl<'a> EventColumns<'a> {
    fn new(mut seq: u64, mut prev: Hash, records: &'a [NewRecord]) -> EventColumns<'a> {
        let n = records.len();
        let mut columns = EventColumns {
            seqs: Vec::with_capacity(n),
            models: Vec::with_capacity(n),
            bodies: Vec::with_capacity(n),
            hashes: Vec::with_capacity(n),
        };
        for NewRecord { model, body } in records {
            seq += 1;
            prev = chain::event_hash(&prev, seq, *model, body.as_bytes());
            columns.seqs.push(seq as i64);
            columns.models.push(*model);
            columns.bodies.push(body.as_str());
            columns.hashes.push(prev);
        }
        columns
    }

    /// The last row's hash, `None` for no rows.
    fn last(&self) -> Option<Hash> {
        self.hashes.last().copied()
    }

    /// The hashes as the driver takes them.
    fn hash_slices(&self) -> Vec<&[u8]> {
        self.hashes.iter().map(|h| &h[..]).collect()
    }
}

/// Access-log rows numbered and chained after `head` (row, hash), as the columns of one
/// insert of arrays, and the head they leave.
struct AccessColumns<'a> {
    ids: Vec<i64>,
    /// `at`, `actor`, `role`, `action`, `detail`, `unit`, `purpose`, `request`.
    text: [Vec<&'a str>; 8],
    clients: Vec<Option<&'a str>>,
    hashes: Vec<Vec<u8>>,
    head: (u64, Hash),
}

impl<'a> AccessColumns<'a> {
    fn new((mut id, mut prev): (u64, Hash), accesses: &'a [Access]) -> AccessColumns<'a> {
        let mut ids = Vec::with_capacity(accesses.len());
        let mut hashes = Vec::with_capacity(accesses.len());
        for a in accesses {
            id += 1;
            prev = chain::access_hash(&prev, id, a);
            ids.push(id as i64);
            hashes.push(prev.to_vec());
        }
        let column = |f: fn(&'a Access) -> &'a str| accesses.iter().map(f).collect::<Vec<_>>();
        AccessColumns {
            ids,
            text: [
                column(|a| &a.at),
                column(|a| &a.actor),
                column(|a| &a.role),
                column(|a| &a.action),
                column(|a| &a.detail),
                column(|a| &a.unit),
                column(|a| &a.purpose),
                column(|a| &a.request),
            ],
            clients: accesses.iter().map(|a| a.client.as_deref()).collect(),
            hashes,
            head: (id, prev),
        }
    }

    /// The columns in the order of `access_log`'s (and of [`INSERT_ACCESSES`]'s parameters).
    fn params(&self) -> [&(dyn postgres::types::ToSql + Sync); 11] {
        let [at, actor, role, action, detail, unit, purpose, request] = &self.text;
        [
            &self.ids,
            at,
            actor,
            role,
            action,
            &self.clients,
            detail,
            unit,
            purpose,
            request,
            &self.hashes,
        ]
    }
}

/// The prepared statements of an append.
#[derive(Clone)]
struct Statements {
    insert_events: postgres::Statement,
    insert_accesses: postgres::Statement,
    /// The last event, the last access-log row and the last compaction.
    ends: postgres::Statement,
    /// [`APPEND`], when the database has the function.
    append: Option<postgres::Statement>,
}

/// An append in one call of the database's `polku_append` (migration 5): it takes the locks,
/// reads the logs' ends and writes the rows only when the ends are those given; it answers the
/// ends (last event, last access-log row, last compaction), with a fourth element when it
/// wrote.
const APPEND: &str =
    "SELECT polku_append($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14,
                                      $15, $16, $17, $18, $19)";

const INSERT_EVENTS: &str = "INSERT INTO events (seq, model, body, hash)
     SELECT * FROM UNNEST($1::BIGINT[], $2::BIGINT[], $3::TEXT[], $4::BYTEA[])";

/// Appends `records` after row `after` (whose hash is `prev`) in one statement; the last
/// row's hash.
fn insert_events(
    tx: &mut Transaction<'_>,
    insert: &postgres::Statement,
    after: u64,
    prev: Hash,
    records: &[NewRecord],
) -> Result<Hash, StoreError> {
    let columns = EventColumns::new(after, prev, records);
    tx.execute(insert, &[&columns.seqs, &columns.models, &columns.bodies, &columns.hash_slices()])?;
    Ok(columns.last().unwrap_or(prev))
}

const INSERT_ACCESSES: &str =
    "INSERT INTO access_log (id, at, actor, role, action, client, detail, unit, purpose, request, hash)
     SELECT * FROM UNNEST($1::BIGINT[], $2::TEXT[], $3::TEXT[], $4::TEXT[], $5::TEXT[], $6::TEXT[],
                          $7::TEXT[], $8::TEXT[], $9::TEXT[], $10::TEXT[], $11::BYTEA[])";

fn marker_runs(
    client: &mut impl postgres::GenericClient,
    rules: &str,
) -> Result<Vec<crate::markers::MarkerRun>, StoreError> {
    let rows = client.query(
        "SELECT day, segmentation, clients, rows, recorded FROM marker_runs
         WHERE rules = $1 ORDER BY day",
        &[&rules],
    )?;
    Ok(rows
        .iter()
        .map(|r| crate::markers::MarkerRun {
            day: r.get(0),
            segmentation: r.get(1),
            clients: r.get::<_, i64>(2) as u64,
            rows: r.get::<_, i64>(3) as u64,
            recorded: r.get(4),
        })
        .collect())
}

fn marker_generation(
    client: &mut impl postgres::GenericClient,
    rules: &str,
) -> Result<i64, StoreError> {
    Ok(client
        .query_opt("SELECT generation FROM marker_rule_sets WHERE rules = $1", &[&rules])?
        .map_or(0, |r| r.get(0)))
}

fn client_key(bytes: &[u8]) -> Result<crate::ClientKey, StoreError> {
    <[u8; 32]>::try_from(bytes)
        .map_err(|_| StoreError::Other("marker_proposals: a client that is not 32 bytes".into()))
}

/// Refuses an append that names a model version the store does not hold: one look-up for
/// the whole append (its records share one or two versions), where a foreign key would look
/// the version up again for every row.
fn known_models(
    tx: &mut Transaction<'_>,
    known: &mut Vec<i64>,
    records: &[NewRecord],
) -> Result<(), StoreError> {
    let mut models: Vec<i64> =
        records.iter().map(|r| r.model).filter(|m| !known.contains(m)).collect();
    models.sort_unstable();
    models.dedup();
    if models.is_empty() {
        return Ok(());
    }
    let found: Vec<i64> = tx
        .query("SELECT id FROM models WHERE id = ANY($1)", &[&models])?
        .iter()
        .map(|r| r.get(0))
        .collect();
    match models.iter().find(|m| !found.contains(m)) {
        Some(missing) => Err(StoreError::Other(format!(
            "no model version {missing} is stored: the events naming it are not written"
        ))),
        None => {
            // Versions are never removed: once found, always there.
            known.extend(models);
            Ok(())
        }
    }
}

/// Appends `records` after row `after` (whose hash is `prev`) with one binary `COPY`, encoded
/// here and handed over in one piece, with no round trip per row; the last row's hash.
fn copy_events(
    tx: &mut Transaction<'_>,
    after: u64,
    mut prev: Hash,
    records: &[NewRecord],
) -> Result<Hash, StoreError> {
    let mut seq = after;
    let mut data = Vec::with_capacity(
        COPY_HEADER.len() + records.iter().map(|r| r.body.len() + 64).sum::<usize>() + 2,
    );
    data.extend_from_slice(COPY_HEADER);
    for NewRecord { model, body } in records {
        seq += 1;
        prev = chain::event_hash(&prev, seq, *model, body.as_bytes());
        data.extend_from_slice(&4i16.to_be_bytes());
        for field in
            [&(seq as i64).to_be_bytes()[..], &model.to_be_bytes()[..], body.as_bytes(), &prev[..]]
        {
            let length = i32::try_from(field.len())
                .map_err(|_| StoreError::Other(format!("event {seq} is too large to store")))?;
            data.extend_from_slice(&length.to_be_bytes());
            data.extend_from_slice(field);
        }
    }
    data.extend_from_slice(&(-1i16).to_be_bytes());
    let mut sink = tx.copy_in("COPY events (seq, model, body, hash) FROM STDIN BINARY")?;
    std::io::Write::write_all(&mut sink, &data)
        .map_err(|e| StoreError::Backend(format!("COPY: {e}")))?;
    sink.finish()?;
    Ok(prev)
}

impl EventStore for PostgresStore {
    fn reader(&self) -> Result<Option<Box<dyn EventStore>>, StoreError> {
        // The schema is this store's, brought up to date when it was opened.
        Ok(Some(Box::new(PostgresStore::connect(self.config.clone())?)))
    }

    fn snapshot_writer(&self) -> Option<crate::StoreOpener> {
        // Its transaction takes the log's lock only at its end, for the checks before its
        // commit: the appends go on meanwhile.
        let config = self.config.clone();
        Some(crate::StoreOpener(std::sync::Arc::new(move || {
            Ok(Box::new(PostgresStore::connect(config.clone())?) as Box<dyn EventStore>)
        })))
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
        self.write_append(after, records, accesses, true)
    }

    fn append_deferred(
        &mut self,
        after: u64,
        records: &[NewRecord],
        accesses: &[Access],
        durable: crate::Durable,
    ) -> Result<u64, StoreError> {
        let last = self.write_append(after, records, accesses, false)?;
        let job = Flush {
            durable,
            events: self.head.filter(|_| !records.is_empty()),
            access: self.access_head.filter(|_| !accesses.is_empty()),
        };
        let config = &self.config;
        let flusher = self.flusher.get_or_insert_with(|| Flusher::start(config.clone()));
        if let Some(Err(std::sync::mpsc::SendError(job))) =
            flusher.jobs.as_ref().map(|jobs| jobs.send(job))
        {
            // No flusher any more: made durable here.
            let answer = flush(&mut self.client, FLUSH, std::slice::from_ref(&job))
                .map_err(|e| e.to_string())
                .and_then(|mut answers| answers.pop().unwrap_or(Ok(())));
            (job.durable)(
                answer.map_err(|e| crate::WriteFailed(format!("not known to be durable: {e}"))),
            );
        }
        Ok(last)
    }

    fn scan(
        &mut self,
        after: u64,
        f: &mut dyn FnMut(Record) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        self.live()?;
        let mut from = after as i64;
        loop {
            let rows = self.client.query(
                "SELECT seq, model, body, hash FROM events WHERE seq > $1 ORDER BY seq LIMIT $2",
                &[&from, &SCAN_CHUNK],
            )?;
            let Some(last) = rows.last() else { break };
            from = last.get(0);
            let full = rows.len() as i64 == SCAN_CHUNK;
            for r in rows {
                f(Record {
                    seq: r.get::<_, i64>(0) as u64,
                    model: r.get(1),
                    body: r.get(2),
                    hash: hash_of(r.get(3)),
                })?;
            }
            if !full {
                break;
            }
        }
        Ok(())
    }

    fn last_seq(&mut self) -> Result<u64, StoreError> {
        self.live()?;
        let found: i64 =
            self.client.query_one("SELECT COALESCE(MAX(seq), 0) FROM events", &[])?.get(0);
        Ok(found as u64)
    }

    fn put_model(&mut self, hash: &str, sources: &str) -> Result<i64, StoreError> {
        self.live()?;
        self.client.execute(
            "INSERT INTO models (hash, sources) VALUES ($1, $2) ON CONFLICT (hash) DO NOTHING",
            &[&hash, &sources],
        )?;
        Ok(self.client.query_one("SELECT id FROM models WHERE hash = $1", &[&hash])?.get(0))
    }

    fn models(&mut self) -> Result<Vec<ModelRecord>, StoreError> {
        self.live()?;
        let rows = self.client.query("SELECT id, hash, sources FROM models ORDER BY id", &[])?;
        Ok(rows
            .iter()
            .map(|r| ModelRecord { id: r.get(0), hash: r.get(1), sources: r.get(2) })
            .collect())
    }

    fn save_snapshot(&mut self, seq: u64, data: &[u8]) -> Result<(), StoreError> {
        self.live()?;
        self.save_snapshot_with(seq, data.len() as u64, &mut |out| {
            out.write_all(data).map_err(|e| StoreError::Snapshot(e.to_string()))
        })
    }

    /// Writes the snapshot as it is encoded, in parts of [`SNAPSHOT_PART`] bytes, in the one
    /// transaction that also drops the older ones: at most one part is held in memory.
    fn save_snapshot_with(
        &mut self,
        seq: u64,
        len: u64,
        write: &mut dyn FnMut(&mut dyn std::io::Write) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        self.live()?;
        // The hash the state has at the row (told by the writer when written beside it), else
        // the row's as this store knows it.
        let chain = match self.snapshot_anchor {
            Some((at, hash)) if at == seq => hash,
            _ => self.chain_at(seq)?,
        };
        let mut tx = self.client.transaction()?;
        let at = seq as i64;
        // A snapshot of this row written before is replaced, and its rows are locked for that:
        // the log's lock is taken first then, in the order a compaction takes them (the log's,
        // then the snapshots' rows), or each would wait for the other. Another server's
        // snapshot of the same row cannot appear meanwhile: snapshot writers go one at a time.
        // (Writing the same row again is rare; the other servers' appends wait for it.)
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&SNAPSHOTS_LOCK])?;
        if tx.query_opt("SELECT 1 FROM snapshots WHERE seq = $1", &[&at])?.is_some() {
            tx.execute("SELECT pg_advisory_xact_lock($1)", &[&EVENTS_LOCK])?;
        }
        tx.execute("DELETE FROM snapshot_parts WHERE seq = $1", &[&at])?;
        let mut parts = Parts { tx: &mut tx, seq: at, part: 0, buffer: Vec::new(), written: 0 };
        write(&mut parts)?;
        parts.flush_part()?;
        let (count, written) = (parts.part, parts.written);
        if written != len {
            return Err(StoreError::Snapshot(format!(
                "the snapshot is {written} bytes, not the {len} announced"
            )));
        }
        tx.execute(
            "INSERT INTO snapshots (seq, data, chain, parts) VALUES ($1, ''::bytea, $2, $3)
             ON CONFLICT (seq) DO UPDATE SET data = excluded.data, chain = excluded.chain,
                 parts = excluded.parts",
            &[&at, &&chain[..], &count],
        )?;
        // Under the log's lock, taken only now unless taken above (the rows above are new, so a
        // compaction never waits for them): the row the snapshot stands on must still be the one its state was
        // read to. Another server's compaction may have rewritten the log since; a snapshot of
        // the state before it would hold removed data and name a row the log no longer has, and
        // every start would refuse the log.
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&EVENTS_LOCK])?;
        // So must the epoch: a server restarted since (this connection made again) may have
        // lost rows the state holds, whose hash was read back from the log as it is now.
        if let Some(epoch) = self.expected {
            let compactions: i64 =
                tx.query_one("SELECT COALESCE(MAX(id), 0) FROM compactions", &[])?.get(0);
            let now =
                crate::LogEpoch { compactions: compactions as u64, connection: self.connection };
            if now != epoch {
                return Err(StoreError::Snapshot(crate::REWRITTEN.to_owned()));
            }
        }
        if seq > 0 {
            let stored = tx
                .query_opt("SELECT hash FROM events WHERE seq = $1", &[&at])?
                .and_then(|r| r.get::<_, Option<Vec<u8>>>(0));
            if stored.as_deref() != Some(&chain[..]) {
                return Err(StoreError::Snapshot(crate::REWRITTEN.to_owned()));
            }
        }
        tx.execute("DELETE FROM snapshots WHERE seq < $1", &[&at])?;
        tx.execute("DELETE FROM snapshot_parts WHERE seq < $1", &[&at])?;
        tx.commit()?;
        Ok(())
    }

    /// Reads the newest snapshot a part at a time, as the reader asks for more.
    fn read_snapshot(&mut self, f: &mut SnapshotReader<'_>) -> Result<bool, StoreError> {
        self.live()?;
        let Some(row) = self.client.query_opt(
            "SELECT seq, chain, parts, CASE WHEN parts = 0 THEN data END
             FROM snapshots ORDER BY seq DESC LIMIT 1",
            &[],
        )?
        else {
            return Ok(false);
        };
        let seq: i64 = row.get(0);
        let chain = hash_of(row.get(1));
        let parts: i32 = row.get(2);
        if parts == 0 {
            let data: Vec<u8> = row.get(3);
            f(seq as u64, chain, &mut data.as_slice())?;
            return Ok(true);
        }
        let mut reader =
            PartReader { client: &mut self.client, seq, next: 0, parts, data: Vec::new(), at: 0 };
        f(seq as u64, chain, &mut reader)?;
        Ok(true)
    }

    fn compact(&mut self, c: &crate::Compaction) -> Result<crate::CompactionRecord, StoreError> {
        self.live()?;
        let hex = |h: &[u8]| polku_engine::pseudonym::to_hex(h);
        let mut tx = self.client.transaction()?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&EVENTS_LOCK])?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&ACCESS_LOCK])?;
        let head = |tx: &mut Transaction<'_>, sql: &str| -> Result<(u64, String), StoreError> {
            Ok(tx.query_opt(sql, &[])?.map_or((0, String::new()), |r| {
                (
                    r.get::<_, i64>(0) as u64,
                    r.get::<_, Option<Vec<u8>>>(1).map(|h| hex(&h)).unwrap_or_default(),
                )
            }))
        };
        let events_before =
            head(&mut tx, "SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1")?;
        if events_before != c.after {
            return Err(StoreError::Conflict { expected: c.after.0, found: events_before.0 });
        }
        let access_before =
            head(&mut tx, "SELECT id, hash FROM access_log ORDER BY id DESC LIMIT 1")?;
        tx.execute("DELETE FROM events", &[])?;
        let last =
            if c.keep.is_empty() { GENESIS } else { copy_events(&mut tx, 0, GENESIS, &c.keep)? };
        let events_after =
            if c.keep.is_empty() { (0, String::new()) } else { (c.keep.len() as u64, hex(&last)) };
        let add = tx.prepare(
            "INSERT INTO retained (history, cases) VALUES ($1, $2)
             ON CONFLICT (history) DO UPDATE SET cases = retained.cases + excluded.cases",
        )?;
        for (history, cases) in &c.retained {
            tx.execute(&add, &[history, &(*cases as i64)])?;
        }
        tx.execute("DELETE FROM snapshot_parts", &[])?;
        tx.execute("DELETE FROM snapshots", &[])?;
        let mut removed_access = 0;
        if let Some(cutoff) = &c.access_before {
            let kept: Vec<Access> = tx
                .query(
                    &format!("SELECT {ACCESS_FIELDS} FROM access_log WHERE at >= $1 ORDER BY id"),
                    &[cutoff],
                )?
                .iter()
                .map(|r| access(r, 0))
                .collect();
            removed_access = access_before.0.saturating_sub(kept.len() as u64);
            tx.execute("DELETE FROM access_log", &[])?;
            if !kept.is_empty() {
                let insert = tx.prepare(INSERT_ACCESSES)?;
                write_accesses(&mut tx, &insert, (0, GENESIS), &kept)?;
            }
        }
        let access_after =
            head(&mut tx, "SELECT id, hash FROM access_log ORDER BY id DESC LIMIT 1")?;
        let record = crate::CompactionRecord::of(
            c,
            (events_before, events_after),
            (access_before, access_after),
            removed_access,
        );
        let text = serde_json::to_string(&record).map_err(|e| StoreError::Other(e.to_string()))?;
        tx.execute("INSERT INTO compactions (record) VALUES ($1)", &[&text])?;
        tx.commit()?;
        // The heads are read again at the next write, which sees this compaction recorded.
        self.head = None;
        self.access_head = None;
        Ok(record)
    }

    fn retained(&mut self) -> Result<Vec<(String, u64)>, StoreError> {
        self.live()?;
        Ok(self
            .client
            .query("SELECT history, cases FROM retained ORDER BY history", &[])?
            .iter()
            .map(|r| (r.get(0), r.get::<_, i64>(1) as u64))
            .collect())
    }

    fn compactions(&mut self) -> Result<Vec<crate::CompactionRecord>, StoreError> {
        self.live()?;
        self.client
            .query("SELECT record FROM compactions ORDER BY id", &[])?
            .iter()
            .map(|r| {
                serde_json::from_str(r.get::<_, &str>(0))
                    .map_err(|e| StoreError::Other(e.to_string()))
            })
            .collect()
    }

    fn log_epoch(&mut self) -> Result<crate::LogEpoch, StoreError> {
        self.live()?;
        let row = self.client.query_one("SELECT COALESCE(MAX(id), 0) FROM compactions", &[])?;
        Ok(crate::LogEpoch {
            compactions: row.get::<_, i64>(0) as u64,
            connection: self.connection,
        })
    }

    fn expect_epoch(&mut self, epoch: Option<crate::LogEpoch>) {
        self.expected = epoch;
    }

    fn chain_at(&mut self, seq: u64) -> Result<Hash, StoreError> {
        match self.head {
            _ if seq == 0 => return Ok(GENESIS),
            Some((at, hash)) if at == seq => return Ok(hash),
            _ => {}
        }
        self.live()?;
        let stored = self
            .client
            .query_opt("SELECT hash FROM events WHERE seq = $1", &[&(seq as i64)])?
            .map(|r| hash_of(r.get(0)));
        let problem = match stored {
            Some(Some(hash)) => return Ok(hash),
            Some(None) => chain::Problem::HashChanged,
            None => chain::Problem::Missing { next: None },
        };
        Err(StoreError::Broken(chain::Break { log: chain::Log::Events, row: seq, problem }))
    }

    fn expect_chain_at(&mut self, seq: u64, hash: Hash) {
        self.snapshot_anchor = Some((seq, hash));
    }

    fn log_access(&mut self, access: &Access) -> Result<(), StoreError> {
        self.log_accesses(std::slice::from_ref(access))
    }

    fn log_accesses(&mut self, accesses: &[Access]) -> Result<(), StoreError> {
        self.live()?;
        if accesses.is_empty() {
            return Ok(());
        }
        let statements = self.statements()?;
        let mut tx = self.client.transaction()?;
        tx.batch_execute(&format!("SELECT pg_advisory_xact_lock({ACCESS_LOCK})"))?;
        let ends = tx.query_one(
            "SELECT (SELECT COALESCE(MAX(id), 0) FROM access_log),
                    (SELECT COALESCE(MAX(id), 0) FROM compactions)",
            &[],
        )?;
        let (last, compactions): (i64, i64) = (ends.get(0), ends.get(1));
        if compactions != self.compactions {
            self.head = None;
            self.access_head = None;
            self.compactions = compactions;
        }
        let (at, broken) = access_append_point(&mut tx, last as u64, self.access_head)?;
        let head =
            write_accesses(&mut tx, &statements.insert_accesses, (last as u64, at), accesses)?;
        tx.commit()?;
        self.access_head = Some(head);
        self.noticed.extend(broken);
        Ok(())
    }

    fn take_chain_breaks(&mut self) -> Vec<chain::Break> {
        std::mem::take(&mut self.noticed)
    }

    fn scan_access_log(&mut self, after: u64, f: &mut AccessRows<'_>) -> Result<(), StoreError> {
        self.live()?;
        let mut from = after as i64;
        loop {
            let rows = self.client.query(
                &format!(
                    "SELECT id, hash, {ACCESS_FIELDS} FROM access_log WHERE id > $1 ORDER BY id LIMIT $2"
                ),
                &[&from, &SCAN_CHUNK],
            )?;
            let Some(last) = rows.last() else { break };
            from = last.get(0);
            let full = rows.len() as i64 == SCAN_CHUNK;
            for r in &rows {
                f(r.get::<_, i64>(0) as u64, access(r, 2), hash_of(r.get(1)))?;
            }
            if !full {
                break;
            }
        }
        Ok(())
    }

    fn access_log(
        &mut self,
        client: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Access>, StoreError> {
        self.live()?;
        let rows = self.client.query(
            &format!(
                "SELECT {ACCESS_FIELDS} FROM access_log
                 WHERE $1::TEXT IS NULL OR client = $1 ORDER BY id DESC LIMIT $2"
            ),
            &[&client, &(limit as i64)],
        )?;
        Ok(rows.iter().map(|r| access(r, 0)).collect())
    }

    fn schema_version(&mut self) -> Result<i64, StoreError> {
        self.live()?;
        Ok(self.client.query_one("SELECT version FROM polku_schema", &[])?.get(0))
    }

    fn meta(&mut self, key: &str) -> Result<Option<String>, StoreError> {
        self.live()?;
        Ok(self
            .client
            .query_opt("SELECT value FROM meta WHERE key = $1", &[&key])?
            .map(|r| r.get(0)))
    }

    fn set_meta(&mut self, key: &str, value: &str) -> Result<(), StoreError> {
        self.live()?;
        self.client.execute(
            "INSERT INTO meta (key, value) VALUES ($1, $2)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            &[&key, &value],
        )?;
        Ok(())
    }

    fn marker_runs(&mut self, rules: &str) -> Result<Vec<crate::markers::MarkerRun>, StoreError> {
        self.live()?;
        marker_runs(&mut self.client, rules)
    }

    fn marker_generation(&mut self, rules: &str) -> Result<i64, StoreError> {
        self.live()?;
        marker_generation(&mut self.client, rules)
    }

    fn marker_as_of(
        &mut self,
        rules: &str,
        day: i64,
        f: &mut dyn FnMut(crate::ClientKey, &str),
    ) -> Result<(), StoreError> {
        self.live()?;
        let rows = self.client.query(
            "SELECT DISTINCT ON (client) client, segment FROM marker_proposals
             WHERE rules = $1 AND day <= $2 ORDER BY client, day DESC",
            &[&rules, &day],
        )?;
        for r in &rows {
            f(client_key(r.get(0))?, r.get(1));
        }
        Ok(())
    }

    fn marker_changes_on(
        &mut self,
        rules: &str,
        day: i64,
        f: &mut dyn FnMut(crate::ClientKey, &str),
    ) -> Result<(), StoreError> {
        self.live()?;
        let rows = self.client.query(
            "SELECT client, segment FROM marker_proposals WHERE rules = $1 AND day = $2",
            &[&rules, &day],
        )?;
        for r in &rows {
            f(client_key(r.get(0))?, r.get(1));
        }
        Ok(())
    }

    fn write_markers(&mut self, write: &crate::markers::MarkerWrite) -> Result<(), StoreError> {
        self.live()?;
        let mut tx = self.client.transaction()?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MARKERS_LOCK])?;
        let generation = marker_generation(&mut tx, &write.rules)?;
        if write.expect_generation.is_some_and(|g| g != generation) {
            return Err(StoreError::MarkersMoved);
        }
        tx.execute(
            "INSERT INTO marker_rule_sets (rules, generation) VALUES ($1, $2)
             ON CONFLICT (rules) DO UPDATE SET generation = excluded.generation",
            &[&write.rules, &(generation + 1)],
        )?;
        let set = tx.prepare(
            "INSERT INTO marker_proposals (rules, client, day, segment) VALUES ($1, $2, $3, $4)
             ON CONFLICT (rules, client, day) DO UPDATE SET segment = excluded.segment",
        )?;
        for (client, day, segment) in &write.set {
            tx.execute(&set, &[&write.rules, &&client[..], day, segment])?;
        }
        let delete = tx.prepare(
            "DELETE FROM marker_proposals WHERE rules = $1 AND client = $2 AND day = $3",
        )?;
        for (client, day) in &write.delete {
            tx.execute(&delete, &[&write.rules, &&client[..], day])?;
        }
        if let Some(run) = &write.run {
            tx.execute(
                "INSERT INTO marker_runs (rules, day, segmentation, clients, rows, recorded)
                 VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (rules, day) DO UPDATE SET segmentation = excluded.segmentation,
                   clients = excluded.clients, rows = excluded.rows, recorded = excluded.recorded",
                &[
                    &write.rules,
                    &run.day,
                    &run.segmentation,
                    &(run.clients as i64),
                    &(run.rows as i64),
                    &run.recorded,
                ],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    fn keep_answers(&mut self, kept: &crate::answers::KeptAnswers) -> Result<(), StoreError> {
        self.live()?;
        self.client.execute(
            "INSERT INTO kept_answers (case_id, form, kept, expires, nonce, sealed)
             VALUES ($1, $2, $3, $4, $5, $6)",
            &[&kept.case, &kept.form, &kept.kept, &kept.expires, &&kept.nonce[..], &kept.sealed],
        )?;
        Ok(())
    }

    fn kept_answers(
        &mut self,
        case: &str,
        now: i64,
    ) -> Result<Vec<crate::answers::KeptAnswers>, StoreError> {
        self.live()?;
        let rows = self.client.query(
            "SELECT case_id, form, kept, expires, nonce, sealed FROM kept_answers
             WHERE case_id = $1 AND expires > $2 ORDER BY id",
            &[&case, &now],
        )?;
        Ok(rows
            .iter()
            .map(|r| {
                let nonce: Vec<u8> = r.get(4);
                crate::answers::KeptAnswers {
                    case: r.get(0),
                    form: r.get(1),
                    kept: r.get(2),
                    expires: r.get(3),
                    nonce: <[u8; 12]>::try_from(nonce.as_slice()).unwrap_or_default(),
                    sealed: r.get(5),
                }
            })
            .collect())
    }

    fn forget_answers(&mut self, now: i64) -> Result<u64, StoreError> {
        self.live()?;
        // The rows' space is reclaimed by PostgreSQL's vacuum; the sets are encrypted under a
        // key the database never holds.
        Ok(self.client.execute("DELETE FROM kept_answers WHERE expires <= $1", &[&now])?)
    }
}

/// Writes a snapshot's bytes as parts of [`SNAPSHOT_PART`] bytes in a transaction.
struct Parts<'a, 'b> {
    tx: &'a mut postgres::Transaction<'b>,
    seq: i64,
    part: i32,
    buffer: Vec<u8>,
    written: u64,
}

impl Parts<'_, '_> {
    fn flush_part(&mut self) -> Result<(), StoreError> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        self.tx.execute(
            "INSERT INTO snapshot_parts (seq, part, data) VALUES ($1, $2, $3)",
            &[&self.seq, &self.part, &self.buffer],
        )?;
        self.part += 1;
        self.buffer.clear();
        Ok(())
    }
}

impl std::io::Write for Parts<'_, '_> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        if self.buffer.capacity() == 0 {
            self.buffer.reserve_exact(SNAPSHOT_PART);
        }
        let room = SNAPSHOT_PART - self.buffer.len();
        let taken = bytes.len().min(room);
        self.buffer.extend_from_slice(&bytes[..taken]);
        self.written += taken as u64;
        if self.buffer.len() == SNAPSHOT_PART {
            self.flush_part().map_err(std::io::Error::other)?;
        }
        Ok(taken)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Reads a snapshot's parts in order, one query a part.
struct PartReader<'a> {
    client: &'a mut postgres::Client,
    seq: i64,
    next: i32,
    parts: i32,
    data: Vec<u8>,
    at: usize,
}

impl std::io::Read for PartReader<'_> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        if self.at == self.data.len() {
            if self.next == self.parts {
                return Ok(0);
            }
            let row = self
                .client
                .query_opt(
                    "SELECT data FROM snapshot_parts WHERE seq = $1 AND part = $2",
                    &[&self.seq, &self.next],
                )
                .map_err(std::io::Error::other)?
                .ok_or_else(|| {
                    std::io::Error::other(format!("snapshot part {} is missing", self.next))
                })?;
            self.data = row.get(0);
            self.at = 0;
            self.next += 1;
        }
        let n = out.len().min(self.data.len() - self.at);
        out[..n].copy_from_slice(&self.data[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_one_call_append_takes_the_logs_own_locks() {
        let append = MIGRATIONS[4];
        assert!(append.contains("FUNCTION polku_append"));
        for lock in [EVENTS_LOCK, ACCESS_LOCK] {
            assert!(append.contains(&format!("pg_advisory_xact_lock({lock})")), "{lock}");
        }
    }

    #[test]
    fn only_this_machine_is_reached_without_tls() {
        let local = |url: &str| local_only(&url.parse().unwrap_or_else(|e| panic!("{e}")));
        assert!(local("postgres://u@127.0.0.1:5432/d"));
        assert!(local("postgres://u@localhost/d"));
        assert!(local("postgres://u@[::1]:5432/d"));
        assert!(!local("postgres://u@db.example/d"));
        assert!(!local("postgres://u@10.0.0.5/d"));
    }

    #[test]
    fn a_url_is_shown_without_its_password() {
        assert_eq!(
            redacted("postgres://polku:salasana@db.example:5432/polku"),
            "postgres://polku@db.example:5432/polku"
        );
        assert_eq!(redacted("postgres://polku@db/polku"), "postgres://polku@db:5432/polku");
        assert_eq!(
            redacted("postgres://polku@db/polku?password=s3cret&sslmode=disable"),
            "postgres://polku@db:5432/polku"
        );
        assert!(!redacted("postgres:/u:s3cret@h").contains("s3cret"));
        assert!(!redacted("postgres://u:se@cret@h/d").contains("cret"));
    }

    /// A server that takes the connection and then says nothing (stalled, or something else on
    /// its port) is given up on within the connect time-out, not waited for; and tried again and
    /// again, it does not gather connections being made here: past a few, a new one is refused
    /// at once.
    #[test]
    fn a_server_that_takes_the_connection_and_says_nothing_is_given_up_on() {
        use std::time::{Duration, Instant};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.set_nonblocking(true).expect("nonblocking");
        let port = listener.local_addr().expect("address").port();
        // Takes connections and keeps them open, answering nothing, until the test is done.
        let (done, wait) = std::sync::mpsc::channel::<()>();
        let held = std::thread::spawn(move || {
            let mut kept = Vec::new();
            while let Err(std::sync::mpsc::TryRecvError::Empty) = wait.try_recv() {
                match listener.accept() {
                    Ok((stream, _)) => kept.push(stream),
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
            kept.len()
        });
        let url = format!("postgres://polku:salasana@127.0.0.1:{port}/polku?connect_timeout=1");
        let mut given_up = 0;
        loop {
            let started = Instant::now();
            let error = PostgresStore::open(&url).expect_err("nothing answered");
            let took = started.elapsed();
            let text = error.to_string();
            assert!(!text.contains("salasana"), "{text}");
            if text.contains("within 1 s") {
                assert!(took < Duration::from_secs(3), "gave up after {took:?}");
                given_up += 1;
                assert!(given_up <= CONNECTS_LEFT_WAITING + 1, "{given_up} left connecting");
            } else {
                assert!(text.contains("not asked again"), "{text}");
                assert!(took < Duration::from_millis(500), "refused after {took:?}");
                break;
            }
        }
        assert!(given_up >= 1);
        drop(done);
        let kept = held.join().expect("the silent server");
        assert_eq!(kept, given_up, "one connection for each try given up");
        // Once the server lets them go, the threads end and connecting is tried again.
        let ended = Instant::now();
        while CONNECTING.load(std::sync::atomic::Ordering::SeqCst) > 0 {
            assert!(ended.elapsed() < Duration::from_secs(10), "the connecting threads ended");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}
