//! Durable storage for Polku: the append-only event log that is the truth of every case, and the
//! tracker that keeps the in-memory projection in step with it.
//!
//! What it owns: [`EventStore`], the trait every backend implements (SQLite here, PostgreSQL
//! as a second implementation); [`sqlite`], the embedded default; [`committer`], group commit
//! on a writer thread; [`snapshot`], the binary image of the projection that makes start-up
//! fast; [`tracker`], the one way in for commands and the HTTP API: ingest, status, reports,
//! with every access to client data logged; [`project`], the application layer the commands
//! and the server share: finding and checking a model, its `polku.toml`, database and key;
//! [`chain`], the hash chains that make a changed, missing or moved row of the event log or the
//! access log evident.
//!
//! What it must not do: hold a personal identity code or the pseudonym key. Events reach it
//! with the client already pseudonymised.

pub mod answers;
pub mod chain;
pub mod committer;
pub mod markers;
pub mod postgres;
pub mod project;
pub mod service;
pub mod snapshot;
pub mod sqlite;
pub mod tracker;

pub use service::TrackerService;
pub use tracker::Tracker;

/// One stored event: its place in the log, the model version it was accepted under, the
/// event as JSON (client pseudonymised), and its hash in the chain ([`chain::event_hash`];
/// `None` when the stored value is not a hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub seq: u64,
    pub model: i64,
    pub body: String,
    pub hash: Option<chain::Hash>,
}

/// An event to append: the model version it was accepted under and its body as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRecord {
    pub model: i64,
    pub body: String,
}

/// A stored model version: its id in the store, its content hash and its sources (JSON).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelRecord {
    pub id: i64,
    pub hash: String,
    pub sources: String,
}

/// One access to client data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Access {
    /// When, RFC 3339.
    pub at: String,
    /// Who: the operating-system user or the HTTP user, and the role they acted in.
    pub actor: String,
    pub role: String,
    /// What was done: `status`, `ingest`, `report`.
    pub action: String,
    /// The client's pseudonym, where one client was accessed.
    pub client: Option<String>,
    pub detail: String,
    /// The unit the actor acted for, where known.
    pub unit: String,
    /// Why the data was looked at, as the actor stated it.
    pub purpose: String,
    /// The request that did it (HTTP request id), empty for a command.
    pub request: String,
}

/// Why a store refused. [`StoreError::say`] gives the message in either language (what the
/// database or the operating system reported stays in its words); `Display` is the English one.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database {url}: {message}")]
    Open { url: String, message: String },
    /// A database URL of a kind Polku does not know.
    #[error("{}", self.say(polku_dsl::Lang::En))]
    UnknownKind { url: String, scheme: String },
    /// No database file where one was to be read (a backup's source).
    #[error("{}", self.say(polku_dsl::Lang::En))]
    NoDatabase { path: String },
    /// A backup's file exists: a backup never overwrites one.
    #[error("{}", self.say(polku_dsl::Lang::En))]
    BackupExists { path: String },
    /// The file opens for reading only (a read-only file system, or a file this user may not
    /// write).
    #[error("{}", self.say(polku_dsl::Lang::En))]
    ReadOnly { url: String },
    #[error("the database was written by a newer Polku (schema {found}, this one knows {known})")]
    TooNew { found: i64, known: i64 },
    /// What the database itself reported, in its words (no backend's error type crosses the
    /// trait).
    #[error("database: {0}")]
    Backend(String),
    #[error("snapshot: {0}")]
    Snapshot(String),
    /// The log is not where the writer read it to end: another process appended, or
    /// compacted it (`found == expected` when it has grown back to the same length).
    #[error("{}", self.say(polku_dsl::Lang::En))]
    Conflict { expected: u64, found: u64 },
    #[error("the writer thread stopped")]
    WriterGone,
    /// A hash chain is broken: a stored row was changed, removed or moved.
    #[error("{0}; the database was changed outside Polku (polku store verify walks both logs)")]
    Broken(chain::Break),
    /// Another run of the same marker rules was stored while this one was worked out.
    #[error("another run of the marker rules was stored meanwhile: run it again")]
    MarkersMoved,
    #[error("{0}")]
    Other(String),
}

impl StoreError {
    /// The message in `lang`.
    pub fn say(&self, lang: polku_dsl::Lang) -> String {
        let fi = lang == polku_dsl::Lang::Fi;
        match self {
            StoreError::Open { url, message } if fi => format!("tietokanta {url}: {message}"),
            StoreError::UnknownKind { url, scheme } => match fi {
                false => format!(
                    "database {url}: unknown kind of database `{scheme}`: write sqlite://PATH or postgres://USER@HOST:PORT/DATABASE"
                ),
                true => format!(
                    "tietokanta {url}: tuntematon tietokannan laji `{scheme}`: kirjoita sqlite://POLKU tai postgres://KÄYTTÄJÄ@PALVELIN:PORTTI/KANTA"
                ),
            },
            StoreError::NoDatabase { path } => match fi {
                false => format!("database {path}: there is no database here"),
                true => format!("tietokanta {path}: tässä ei ole tietokantaa"),
            },
            StoreError::BackupExists { path } => match fi {
                false => format!("{path}: the file exists: a backup never overwrites one"),
                true => format!("{path}: tiedosto on jo olemassa: varmuuskopio ei koskaan kirjoita toisen päälle"),
            },
            StoreError::ReadOnly { url } => match fi {
                false => format!(
                    "database {url} cannot be written: it opens for reading only (a read-only file system, or a file this user may not write)"
                ),
                true => format!(
                    "tietokantaan {url} ei voi kirjoittaa: se aukeaa vain luettavaksi (vain luettava tiedostojärjestelmä tai tiedosto, johon tällä käyttäjällä ei ole kirjoitusoikeutta)"
                ),
            },
            StoreError::TooNew { found, known } if fi => format!(
                "tietokannan on kirjoittanut uudempi Polku (skeema {found}, tämä tuntee {known})"
            ),
            StoreError::Backend(message) if fi => format!("tietokanta: {message}"),
            StoreError::Snapshot(message) if fi => format!("tilannevedos: {message}"),
            StoreError::Conflict { expected, found } => {
                let what = match (fi, found == expected) {
                    (false, false) => format!("wrote to the database meanwhile (log at {found}, expected {expected})"),
                    (false, true) => format!("compacted the event log meanwhile (its rows up to {found} are others now)"),
                    (true, false) => format!("kirjoitti tietokantaan samaan aikaan (loki kohdassa {found}, odotettiin {expected})"),
                    (true, true) => format!("tiivisti tapahtumalokin samaan aikaan (sen rivit kohtaan {found} asti ovat nyt toiset)"),
                };
                match fi {
                    false => format!("another process {what}; this run's later batches were not written: run the command again"),
                    true => format!("toinen prosessi {what}; tämän ajon myöhempiä eriä ei kirjoitettu: aja komento uudelleen"),
                }
            }
            StoreError::WriterGone if fi => "kirjoittava säie pysähtyi".to_owned(),
            StoreError::Broken(at) if fi => format!(
                "{at}; tietokantaa on muutettu Polkun ulkopuolelta (polku store verify käy läpi molemmat lokit)"
            ),
            StoreError::MarkersMoved if fi => {
                "toinen merkkisääntöjen ajo tallennettiin samaan aikaan: aja se uudelleen".to_owned()
            }
            other => other.to_string(),
        }
    }
}

/// Reads a snapshot: the sequence number it was taken after, the event chain's hash recorded
/// there (`None` when it has none), and its bytes.
pub type SnapshotReader<'a> =
    dyn FnMut(u64, Option<chain::Hash>, &mut dyn std::io::Read) -> Result<(), StoreError> + 'a;

/// Reads access-log rows: the row's id, the row, and its stored hash.
pub type AccessRows<'a> =
    dyn FnMut(u64, Access, Option<chain::Hash>) -> Result<(), StoreError> + 'a;

/// Why a snapshot was not stored when the log was rewritten under it.
pub(crate) const REWRITTEN: &str = "not stored: the log was rewritten (a compaction by another process, or a restart of the database) since the state was read; the next snapshot will be";

/// Told once an append made by [`EventStore::append_deferred`] is durable, or why that is not
/// known.
pub type Durable = Box<dyn FnOnce(Result<(), WriteFailed>) + Send>;

/// Why a write was not made durable, in the words of the database or the writer thread; every
/// batch and access row that waited on it gets a copy.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct WriteFailed(pub String);

/// Opens another store on the same database ([`EventStore::snapshot_writer`]).
#[derive(Clone)]
pub struct StoreOpener(
    pub std::sync::Arc<dyn Fn() -> Result<Box<dyn EventStore>, StoreError> + Send + Sync>,
);

impl StoreOpener {
    pub fn open(&self) -> Result<Box<dyn EventStore>, StoreError> {
        (self.0)()
    }
}

impl std::fmt::Debug for StoreOpener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StoreOpener")
    }
}

/// Storage of the event log, model versions, snapshots and the access log.
pub trait EventStore: Send {
    /// Whether this store can be written (false when it was opened read-only).
    fn writable(&self) -> bool {
        true
    }
    /// A connection of its own to the same database, for long reads (an auditor's look-up in
    /// the access log) that should neither wait for this store's writes nor hold them up. It
    /// sees what was committed when each of its reads begins. `None` where the store has no
    /// such thing (a database in memory).
    fn reader(&self) -> Result<Option<Box<dyn EventStore>>, StoreError> {
        Ok(None)
    }
    /// How to open a connection of its own to the same database that writes a snapshot while
    /// this store goes on appending, so that a snapshot stops no append. `None` where writes go
    /// one at a time (SQLite): a snapshot is then written by this store a part at a time,
    /// between its appends, so such a store keeps snapshots in parts
    /// ([`EventStore::save_snapshot_part`], [`EventStore::finish_snapshot`],
    /// [`EventStore::chain_at`]).
    fn snapshot_writer(&self) -> Option<StoreOpener> {
        None
    }
    /// Appends the records' bodies in order, durably: when this returns `Ok`, a crash loses
    /// none of them. Returns the sequence number of the last. `after` is the sequence number
    /// the caller believes is last: when another writer has appended since, nothing is
    /// written and the answer is [`StoreError::Conflict`], since the caller's state is stale.
    /// Each row is stored with its chain hash ([`chain::event_hash`]), computed in the same
    /// transaction. A broken chain at the log's end does not stop it: see
    /// [`EventStore::take_chain_breaks`].
    fn append(&mut self, after: u64, records: &[NewRecord]) -> Result<u64, StoreError>;
    /// Calls `f` for every record after `after`, in order, with its stored hash.
    fn scan(
        &mut self,
        after: u64,
        f: &mut dyn FnMut(Record) -> Result<(), StoreError>,
    ) -> Result<(), StoreError>;
    /// The sequence number of the last record (0 for none).
    fn last_seq(&mut self) -> Result<u64, StoreError>;
    /// Stores a model version's sources (once per hash) and returns its id.
    fn put_model(&mut self, hash: &str, sources: &str) -> Result<i64, StoreError>;
    /// Every model version: (id, hash, sources).
    fn models(&mut self) -> Result<Vec<ModelRecord>, StoreError>;
    /// Keeps a snapshot of the projection after record `seq`, with the event chain's hash at
    /// `seq`; older ones are dropped.
    fn save_snapshot(&mut self, seq: u64, data: &[u8]) -> Result<(), StoreError>;
    /// Keeps a snapshot of `len` bytes after record `seq`, which `write` writes as a stream
    /// (all `len` bytes, else nothing is kept); older ones are dropped. A backend that cannot
    /// take a stream collects it first.
    fn save_snapshot_with(
        &mut self,
        seq: u64,
        len: u64,
        write: &mut dyn FnMut(&mut dyn std::io::Write) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let mut data = Vec::new();
        write(&mut data)?;
        if data.len() as u64 != len {
            return Err(StoreError::Snapshot(format!(
                "the snapshot is {} bytes, not the {len} announced",
                data.len()
            )));
        }
        self.save_snapshot(seq, &data)
    }
    /// Writes part `part` (numbered from 0) of a snapshot kept in parts, each part a write of
    /// its own, so that a store whose writes go one at a time ([`EventStore::snapshot_writer`]
    /// `None`) goes on with other writes between the parts. Part 0 starts a new build and
    /// answers its number; the later parts name it. Nothing is a snapshot before
    /// [`EventStore::finish_snapshot`].
    fn save_snapshot_part(
        &mut self,
        build: Option<u64>,
        part: u32,
        data: &[u8],
    ) -> Result<u64, StoreError> {
        let _ = (build, part, data);
        Err(StoreError::Other("this store does not keep snapshots in parts".into()))
    }
    /// Keeps build `build`, its `parts` parts and `len` bytes in all, as the snapshot after
    /// record `seq`, whose chain's hash is `chain` ([`EventStore::chain_at`] in the writer's
    /// turn when the snapshot was taken); older ones are dropped. Refused when the log no
    /// longer holds `chain` at `seq`, or its epoch moved ([`EventStore::expect_epoch`]), or the
    /// build's parts are not all there (their count or total length differs: a compaction, or
    /// another process's snapshot, removed them meanwhile).
    fn finish_snapshot(
        &mut self,
        build: u64,
        parts: u32,
        seq: u64,
        len: u64,
        chain: &chain::Hash,
    ) -> Result<(), StoreError> {
        let _ = (build, parts, seq, len, chain);
        Err(StoreError::Other("this store does not keep snapshots in parts".into()))
    }
    /// Removes the parts of build `build`, a snapshot that will not be finished (a part or the
    /// encoding failed, or [`EventStore::finish_snapshot`] refused it).
    fn abandon_snapshot(&mut self, build: u64) -> Result<(), StoreError> {
        let _ = build;
        Ok(())
    }
    /// Reads the newest snapshot, if any, through `f` (with the sequence number it was taken
    /// after and the chain hash recorded there), without holding it all in memory. Returns
    /// whether there was one.
    fn read_snapshot(&mut self, f: &mut SnapshotReader<'_>) -> Result<bool, StoreError>;
    /// Writes one access-log row, chained to the row before it (as stored, even when that row
    /// was changed: see [`EventStore::take_chain_breaks`]).
    fn log_access(&mut self, access: &Access) -> Result<(), StoreError>;
    /// The breaks in a chain that the writes since the last call met at a log's end, oldest
    /// first. A write does not fail on them (a changed row must not stop the logging of every
    /// later access): its rows follow the changed row as stored ([`chain::append_point`]), so
    /// that the change stays evident to [`chain::verify`]. The caller reports them.
    fn take_chain_breaks(&mut self) -> Vec<chain::Break> {
        Vec::new()
    }
    /// Upkeep that no answer should wait for, one short step at a time (a millisecond or so):
    /// the writer calls it after it has answered a group, and again while it is idle as long
    /// as it returns true (a step was taken and more may follow). Once a store has been asked,
    /// it may leave such work out of its writes. The default has none.
    fn tidy(&mut self) -> Result<bool, StoreError> {
        Ok(false)
    }
    /// Calls `f` for every access-log row after id `after`, oldest first, with its id and its
    /// stored hash ([`chain::access_hash`]).
    fn scan_access_log(&mut self, after: u64, f: &mut AccessRows<'_>) -> Result<(), StoreError>;
    /// Appends records and writes access-log rows in one transaction: one commit for both.
    fn append_logged(
        &mut self,
        after: u64,
        records: &[NewRecord],
        accesses: &[Access],
    ) -> Result<u64, StoreError> {
        let last = self.append(after, records)?;
        self.log_accesses(accesses)?;
        Ok(last)
    }
    /// Like [`EventStore::append_logged`], except that it may return once the rows are
    /// written, before they are durable: `durable` is told later, from another thread, when
    /// they are (or why that is not known), and after it has been told of every earlier
    /// append. Until then other readers of the store may see the rows; a crash of the
    /// database loses them, and every later row with them, so the log stays without gaps. A
    /// backend whose appends are durable when they return tells `durable` at once.
    fn append_deferred(
        &mut self,
        after: u64,
        records: &[NewRecord],
        accesses: &[Access],
        durable: Durable,
    ) -> Result<u64, StoreError> {
        let last = self.append_logged(after, records, accesses)?;
        durable(Ok(()));
        Ok(last)
    }
    /// Writes several access-log rows in one transaction.
    fn log_accesses(&mut self, accesses: &[Access]) -> Result<(), StoreError> {
        for access in accesses {
            self.log_access(access)?;
        }
        Ok(())
    }
    /// The newest `limit` accesses, of one client (by pseudonym) or of all.
    fn access_log(&mut self, client: Option<&str>, limit: usize)
        -> Result<Vec<Access>, StoreError>;
    /// The schema version.
    fn schema_version(&mut self) -> Result<i64, StoreError>;
    /// A setting kept with the data (such as the pseudonym key's fingerprint).
    fn meta(&mut self, key: &str) -> Result<Option<String>, StoreError>;
    fn set_meta(&mut self, key: &str, value: &str) -> Result<(), StoreError>;
    /// The days a rule set's marker proposals were stored for, in order
    /// (see [`markers::record_day`]).
    fn marker_runs(&mut self, rules: &str) -> Result<Vec<markers::MarkerRun>, StoreError>;
    /// How many times a rule set's proposals were written: [`EventStore::write_markers`]
    /// counts one up each time (0 before the first).
    fn marker_generation(&mut self, rules: &str) -> Result<i64, StoreError>;
    /// Each client's newest stored proposal row of a rule set on or before `day` (the empty
    /// segment for "no proposal").
    fn marker_as_of(
        &mut self,
        rules: &str,
        day: i64,
        f: &mut dyn FnMut(ClientKey, &str),
    ) -> Result<(), StoreError>;
    /// The proposal rows stored exactly on `day`.
    fn marker_changes_on(
        &mut self,
        rules: &str,
        day: i64,
        f: &mut dyn FnMut(ClientKey, &str),
    ) -> Result<(), StoreError>;
    /// Writes a day's run and proposal rows in one transaction.
    fn write_markers(&mut self, write: &markers::MarkerWrite) -> Result<(), StoreError>;
    /// Keeps an encrypted answer set (see [`answers`]).
    fn keep_answers(&mut self, kept: &answers::KeptAnswers) -> Result<(), StoreError>;
    /// The answer sets kept for a case that have not expired at `now`, oldest first.
    fn kept_answers(
        &mut self,
        case: &str,
        now: i64,
    ) -> Result<Vec<answers::KeptAnswers>, StoreError>;
    /// Deletes the answer sets expired at `now`, overwriting what they took; how many.
    fn forget_answers(&mut self, now: i64) -> Result<u64, StoreError>;
    /// Removes expired client data in one transaction ([`Compaction`]): the event log is
    /// replaced by the events kept, renumbered from 1 and chained anew; the histories the
    /// removed cases left are added to those kept; snapshots are dropped (the state must be
    /// rebuilt); access-log rows older than the cut-off go the same way. The heads before and
    /// after are recorded ([`EventStore::compactions`]), so that a head recorded elsewhere
    /// before can still be matched.
    fn compact(&mut self, compaction: &Compaction) -> Result<CompactionRecord, StoreError> {
        let _ = compaction;
        Err(StoreError::Other("this store cannot remove client data".to_owned()))
    }
    /// The histories removed cases left (JSON of
    /// [`polku_engine::retention::RetainedHistory`]) with how many cases left each.
    fn retained(&mut self) -> Result<Vec<(String, u64)>, StoreError> {
        Ok(Vec::new())
    }
    /// Every compaction, oldest first.
    fn compactions(&mut self) -> Result<Vec<CompactionRecord>, StoreError> {
        Ok(Vec::new())
    }
    /// The log's epoch ([`LogEpoch`]) now; read it before the log, so that a change while the
    /// log is read shows when it is read again.
    fn log_epoch(&mut self) -> Result<LogEpoch, StoreError>;
    /// From now on, an append is refused as a [`StoreError::Conflict`] (nothing written), and
    /// a snapshot is not stored, when the log's epoch is no longer `epoch`: the caller read the
    /// position it writes after in that epoch, and rows there may be others now whatever the
    /// log's length. `None`, as opened, does not look.
    fn expect_epoch(&mut self, epoch: Option<LogEpoch>);
    /// The event chain's hash at row `seq` (its genesis for 0), as this store wrote or reads it.
    fn chain_at(&mut self, seq: u64) -> Result<chain::Hash, StoreError> {
        let _ = seq;
        Err(StoreError::Other("this store does not tell a row's chain hash".into()))
    }
    /// From now on, a snapshot after row `seq` is stored only while the log holds `hash` there:
    /// the chain's hash at that row as the state the snapshot was taken from has it (read by
    /// the writer, [`EventStore::chain_at`]). For a store that writes snapshots beside the
    /// writer ([`EventStore::snapshot_writer`]); one without that needs it not.
    fn expect_chain_at(&mut self, seq: u64, hash: chain::Hash) {
        let _ = (seq, hash);
    }
}

/// What a position in the event log holds to, beyond its row number. A compaction renumbers
/// the log, and a database server that restarts may have lost the rows committed without
/// waiting for its disk ([`EventStore::append_deferred`]): in either case a row number read
/// before names other rows after, even once the log has grown back past it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LogEpoch {
    /// The compactions the log has had (0 before the first), as every process sees them.
    pub compactions: u64,
    /// This store's connection to its database: one more each time it is made again (a server
    /// that restarted, or cut it). Always 0 for a store whose committed rows cannot be lost.
    pub connection: u64,
}

/// What removing expired client data writes ([`EventStore::compact`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Compaction {
    /// When (RFC 3339).
    pub at: String,
    /// The event log's last row and its stored hash (hex, empty for none) when `keep` was
    /// chosen: the compaction is refused ([`StoreError::Conflict`]) and changes nothing if the
    /// log no longer ends there (another process appended, or compacted, since), so that no
    /// event written meanwhile is removed with the rest.
    pub after: (u64, String),
    /// The events kept, in their order.
    pub keep: Vec<NewRecord>,
    /// The histories the removed cases left, as JSON, with their counts.
    pub retained: Vec<(String, u64)>,
    pub removed_cases: u64,
    /// Access-log rows written before this moment (RFC 3339, as the rows' `at`) are removed;
    /// `None` keeps them all.
    pub access_before: Option<String>,
}

/// A compaction as recorded: what went, and each log's head before and after (row, hash in
/// hex; row 0 for an empty log).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CompactionRecord {
    pub at: String,
    pub removed_cases: u64,
    pub removed_events: u64,
    pub removed_access_rows: u64,
    pub events_before: (u64, String),
    pub events_after: (u64, String),
    pub access_before: (u64, String),
    pub access_after: (u64, String),
}

impl CompactionRecord {
    /// The record of `compaction`, from the logs' heads before and after and the access rows
    /// it removed.
    pub fn of(
        compaction: &Compaction,
        events: ((u64, String), (u64, String)),
        access: ((u64, String), (u64, String)),
        removed_access_rows: u64,
    ) -> CompactionRecord {
        CompactionRecord {
            at: compaction.at.clone(),
            removed_cases: compaction.removed_cases,
            removed_events: events.0 .0.saturating_sub(compaction.keep.len() as u64),
            removed_access_rows,
            events_before: events.0,
            events_after: events.1,
            access_before: access.0,
            access_after: access.1,
        }
    }
}

pub use polku_engine::markers::extract::ClientKey;

/// A database as a user names it, as a URL: one with a scheme (`sqlite://`, `postgres://`, or
/// one [`open`] will name as unknown) as it is, anything else as the path of an SQLite file.
pub fn database_url(named: &str) -> String {
    if named.contains("://") {
        named.to_owned()
    } else {
        format!("sqlite://{named}")
    }
}

/// Opens the store a URL names: `sqlite://PATH` (created on first use) or
/// `postgres://USER@HOST:PORT/DATABASE` (the schema created on first use).
pub fn open(url: &str) -> Result<Box<dyn EventStore>, StoreError> {
    if let Some(path) = url.strip_prefix("sqlite://") {
        return Ok(Box::new(sqlite::SqliteStore::open(std::path::Path::new(path))?));
    }
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok(Box::new(postgres::PostgresStore::open(url)?));
    }
    Err(unknown_kind(url))
}

/// Opens the store a URL names for reading: for writing as [`open`] does when it can be
/// written, else read-only ([`StoreError::ReadOnly`] is the only failure that falls back).
/// A read-only store answers reads and fails every write: see [`EventStore::writable`].
pub fn open_for_reading(url: &str) -> Result<Box<dyn EventStore>, StoreError> {
    match open(url) {
        Err(StoreError::ReadOnly { .. }) => match url.strip_prefix("sqlite://") {
            Some(path) => {
                Ok(Box::new(sqlite::SqliteStore::open_read_only(std::path::Path::new(path))?))
            }
            None => Err(unknown_kind(url)),
        },
        other => other,
    }
}

fn unknown_kind(url: &str) -> StoreError {
    let scheme = url.split("://").next().unwrap_or(url);
    StoreError::UnknownKind { url: postgres::redacted(url), scheme: scheme.to_owned() }
}
