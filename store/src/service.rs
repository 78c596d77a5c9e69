//! The tracker as a service that many requests share.
//!
//! [`TrackerService`] is a cheap, `Clone + Send + Sync` handle. Behind it, one long-lived
//! writer owns the store, so the batches of concurrent requests meet in its queue and share
//! commits. The projection sits behind a lock that is held only while events are applied or a
//! status is computed, never while a commit is awaited: a request hands its batch to the
//! writer, lets go of the projection, and waits for its own ticket. Reads therefore never wait
//! for another request's commit.
//!
//! The invariants of the tracker hold: an event is acknowledged only once its batch is
//! durable; every read of one client's data is logged (durably) before the data is computed
//! and returned; a writer whose state is stale is stopped by the store; after a failed commit
//! the projection is rebuilt from the log before anything else is read. A batch that has been
//! applied but is still waiting for the disk is visible to reads in that window; if its commit
//! fails the rebuild takes it back.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use polku_dsl::Lang;
use polku_engine::event::{Event, EventKind};
use polku_engine::projection::{
    ClientStatus, CompletionReport, MultiUnitReport, Outcome, Rejection, SegmentReport,
    StandingReport, TransitionReport, UnitScope,
};
use polku_engine::pseudonym::Pseudonym;
use serde::Serialize;

use crate::committer::Committer;
use crate::tracker::{Actor, Info, Tracker, TrackerError};
use crate::{markers, ClientKey};
use crate::{Access, StoreError};
use polku_dsl::hash::FastMap;
use polku_engine::markers::MarkerRules;

/// What became of one event of a batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum EventResult {
    /// Durable in the log.
    Stored { id: String },
    /// The case already had this event: acknowledged, not applied again.
    Repeat { id: String },
    /// Not stored: the field at fault and why.
    Refused { id: String, field: String, reason: String },
    /// Not stored: the case has another event of this id.
    Conflict { id: String, reason: String },
}

/// The answer to one batch, in the order of its events.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct BatchResult {
    pub stored: u64,
    pub repeats: u64,
    pub refused: u64,
    /// Events refused because their id was used for another event of the case.
    pub conflicts: u64,
    pub deviations: u64,
    /// The log's sequence number after the batch.
    pub seq: u64,
    pub events: Vec<EventResult>,
}

/// How often a server brings its state up to date with other servers' writes to the same
/// database ([`TrackerService::catch_up`]): the bound, beside the time to apply them, on how
/// long another server's write stays unseen here.
pub const FOLLOW_EVERY: std::time::Duration = std::time::Duration::from_millis(200);

/// When the service writes a snapshot: after this many events since the last one.
pub const SNAPSHOT_EVERY: u64 = 200_000;

struct Shared {
    tracker: Mutex<Tracker>,
    /// The tracker's key, so that events are read and clients pseudonymised without holding
    /// the projection.
    key: polku_engine::pseudonym::PseudonymKey,
    writer: Mutex<Arc<Committer>>,
    /// A connection of the store's own for the access log's look-ups ([`EventStore::reader`]),
    /// opened at the first: a look-up that reads pages from all over the file (one seek in each
    /// run, with a cold cache) would otherwise hold up every write queued behind it on the
    /// writer, and with them every status read waiting for its access row.
    reader: Mutex<Option<Box<dyn crate::EventStore>>>,
    snapshot_every: u64,
    /// What is kept ready per client, by pseudonym: statuses as JSON and the units of the
    /// client's cases. An event of the client drops its entry.
    statuses: Mutex<FastMap<String, Kept>>,
    /// The snapshot being written in the background, if one is.
    snapshot: Mutex<Option<std::thread::JoinHandle<()>>>,
    /// Batches applied to the projection and handed to the writer but not yet answered;
    /// changed only with the tracker locked. While there are any, the state is not brought
    /// up to date with other processes' writes ([`TrackerService::catch_up`]).
    in_flight: AtomicUsize,
}

/// How many times a batch is tried again after another process appended to the log between
/// its validation and its commit.
const CONFLICT_RETRIES: usize = 8;

/// A rebuild's failure as the reader is told it: the database not answering (or refusing) is
/// the database being unavailable for now; a log found changed, a wrong key or model stay what
/// they are.
fn unavailable(e: TrackerError) -> TrackerError {
    match e {
        TrackerError::Store(StoreError::Backend(_) | StoreError::Other(_)) => {
            TrackerError::Unavailable(e.to_string())
        }
        other => other,
    }
}

/// A client's statuses kept ready, by language ([`lang_slot`]), each with the time (in
/// seconds) it was made for and the time it answers until ([`fresh_until`]).
type KeptStatus = [Option<(i64, i64, Arc<str>)>; 2];

/// What is kept ready for a client: its statuses, and the units of its cases, which decide
/// who may read them (looked up for every read, before the status). All are made and kept
/// under the projection's lock, under which an event of the client drops them.
#[derive(Debug, Default)]
struct Kept {
    statuses: KeptStatus,
    units: Option<Arc<[String]>>,
    /// The statuses as readers who see only some of the client's units see them, by the units
    /// they see: kept as the whole one is, so that a second read takes the same way (and time)
    /// whether or not the client has cases beyond the reader's units.
    seen: Vec<(Vec<String>, KeptStatus)>,
}

/// The units of `units` that `scope` sees, when it does not see them all.
fn seen_part(units: &[String], scope: &UnitScope) -> Option<Vec<String>> {
    (!scope.sees_all(units)).then(|| units.iter().filter(|u| scope.sees(u)).cloned().collect())
}

/// Until when a client's (by pseudonym) status made for time `made` answers: 30 to 59 seconds
/// after it, by client. A status changes with the clock too (deadlines pass, the week of
/// pregnancy turns), so it is never kept for a minute; the spread keeps the kept statuses from
/// expiring all at once, which made every client's next read wait for the ones before it to be
/// made again (a stall of 0.2–6 s at 10,000 reads a second, when they expired together as the
/// minute turned).
fn fresh_until(pseudonym: &str, made: i64) -> i64 {
    use std::hash::BuildHasher;
    let hash = polku_dsl::hash::FxBuild::default().hash_one(pseudonym);
    made + 30 + ((hash >> 32) % 30) as i64
}

/// Where a status in `lang` is kept in a [`KeptStatus`].
fn lang_slot(lang: Lang) -> usize {
    usize::from(lang == Lang::En)
}

/// What is kept ready for at most this many clients.
const STATUSES_KEPT: usize = 100_000;

/// The client's entry of what is kept ready, made if need be (all are dropped when
/// [`STATUSES_KEPT`] clients have one). Only under the projection's lock.
fn keep<'a>(statuses: &'a mut FastMap<String, Kept>, pseudonym: &Pseudonym) -> &'a mut Kept {
    if statuses.len() >= STATUSES_KEPT && !statuses.contains_key(pseudonym.as_str()) {
        // Freed (and overwritten) on a thread of its own, not under the lock that a server's
        // runtime threads take to read a kept status.
        let full = std::mem::take(statuses);
        let _ = std::thread::Builder::new().name("polku-statuses".into()).spawn(move || drop(full));
    }
    statuses.entry(pseudonym.as_str().to_owned()).or_default()
}

/// What [`TrackerService::client_status_json_now`] found once the access was logged.
#[derive(Debug)]
pub enum StatusNow {
    /// The status kept ready.
    Ready(Option<Arc<str>>),
    /// None kept ready: [`TrackerService::make_client_status_json`] makes it.
    Make(StatusWork),
}

/// A client's status still to be made. Only the service makes one, so that no status is made
/// for a request whose access it has not logged (or will not log first).
#[derive(Debug)]
pub struct StatusWork {
    pseudonym: Pseudonym,
    actor: Actor,
    now: i64,
    lang: Lang,
    /// Whose cases the reader sees.
    scope: UnitScope,
    /// The access row is durable already.
    logged: bool,
}

/// The tracker, shared by the requests of a server.
#[derive(Clone)]
pub struct TrackerService(Arc<Shared>);

impl std::fmt::Debug for TrackerService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TrackerService")
    }
}

impl TrackerService {
    pub fn new(tracker: Tracker) -> TrackerService {
        TrackerService::with_snapshots(tracker, SNAPSHOT_EVERY)
    }

    /// A service that writes a snapshot after `every` events.
    pub fn with_snapshots(tracker: Tracker, every: u64) -> TrackerService {
        let writer = tracker.writer();
        let key = tracker.key().clone();
        TrackerService(Arc::new(Shared {
            key,
            tracker: Mutex::new(tracker),
            writer: Mutex::new(writer),
            reader: Mutex::new(None),
            snapshot_every: every.max(1),
            statuses: Mutex::new(FastMap::default()),
            snapshot: Mutex::new(None),
            in_flight: AtomicUsize::new(0),
        }))
    }

    fn tracker(&self) -> MutexGuard<'_, Tracker> {
        self.0.tracker.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The tracker, for a read of its state, after [`TrackerService::rebuild_if_awaited`].
    fn state(&self) -> Result<MutexGuard<'_, Tracker>, TrackerError> {
        let mut tracker = self.tracker();
        self.rebuild_if_awaited(&mut tracker)?;
        Ok(tracker)
    }

    /// When the last rebuild failed (the database did not answer), tries it again, unless the
    /// last try was too recent ([`Tracker::rebuild_refusal`]): until one succeeds the state may
    /// hold batches that were not written, and is not read ([`TrackerError::Unavailable`]).
    /// Answers whether it rebuilt.
    fn rebuild_if_awaited(&self, tracker: &mut Tracker) -> Result<bool, TrackerError> {
        if tracker.awaiting_rebuild().is_none() {
            return Ok(false);
        }
        if let Some(refusal) = tracker.rebuild_refusal() {
            return Err(refusal);
        }
        self.rebuild(tracker).map_err(unavailable)?;
        Ok(true)
    }

    /// Rebuilds the state from the log ([`Tracker::reload`]): the writer is new, and the
    /// statuses kept ready are of the old state. When it fails, the tracker holds its store
    /// behind a writer that writes nothing, and the next read or write tries again.
    fn rebuild(&self, tracker: &mut Tracker) -> Result<(), TrackerError> {
        let result = tracker.reload();
        *self.0.writer.lock().unwrap_or_else(|e| e.into_inner()) = tracker.writer();
        self.forget_kept();
        result
    }

    /// Drops every status and unit set kept ready (the state they were made from is gone),
    /// freed after the lock, which a server's runtime threads take to read a kept status.
    fn forget_kept(&self) {
        let kept = std::mem::take(&mut *self.0.statuses.lock().unwrap_or_else(|e| e.into_inner()));
        drop(kept);
    }

    fn writer(&self) -> Arc<Committer> {
        self.0.writer.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Runs `work` with the tracker locked: for what the service does not offer itself.
    pub fn with<T>(&self, work: impl FnOnce(&mut Tracker) -> T) -> T {
        work(&mut self.tracker())
    }

    fn log(
        &self,
        actor: &Actor,
        action: &str,
        client: Option<&str>,
        detail: &str,
    ) -> Result<(), StoreError> {
        let access = Access::by(actor, action, client, detail);
        self.on_writer(|writer| writer.log_access(access.clone()))
    }

    /// Runs `work` with the writer, again with the new one when the writer was replaced
    /// meanwhile (the state was rebuilt after another server's write): a request must not fail
    /// because it met the writer being changed. Not to be called with the tracker locked.
    fn on_writer<T>(
        &self,
        work: impl Fn(&Committer) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        loop {
            let writer = self.writer();
            match work(&writer) {
                Err(StoreError::WriterGone) => {
                    // A rebuild replaces the writer with the tracker locked: once the lock is
                    // free, the new one is in place.
                    drop(self.tracker());
                    if Arc::ptr_eq(&writer, &self.writer()) {
                        return Err(StoreError::WriterGone);
                    }
                }
                other => return other,
            }
        }
    }

    /// Runs `work` on the writer thread ([`Committer::run`]), as [`TrackerService::on_writer`].
    fn run<T: Send + 'static>(
        &self,
        work: impl Fn(&mut dyn crate::EventStore) -> Result<T, StoreError> + Clone + Send + 'static,
    ) -> Result<T, StoreError> {
        self.on_writer(|writer| writer.run(work.clone()))
    }

    /// Appends a batch of events (clients already pseudonymised) and answers per event once
    /// the stored ones are durable. `allowed` is asked for each event's unit (the opening
    /// event's, or the case's; `None` for an event of a case whose opening has not arrived)
    /// and refuses the event when it says no.
    ///
    /// With several servers on one database, another may append between this batch's
    /// validation and its commit; the store then refuses the commit, the state is rebuilt from
    /// the log (which now holds the other's events) and the batch is validated and committed
    /// again, so that an event sent to both is stored once and answered `repeat` by one.
    pub fn append(
        &self,
        events: Vec<Event>,
        actor: &Actor,
        allowed: &dyn Fn(Option<&str>) -> bool,
    ) -> Result<BatchResult, TrackerError> {
        let mut tries = 0;
        loop {
            match self.append_once(&events, actor, allowed) {
                Err(TrackerError::Store(StoreError::Conflict { .. }))
                    if tries < CONFLICT_RETRIES =>
                {
                    tries += 1;
                }
                other => return other,
            }
        }
    }

    fn append_once(
        &self,
        events: &[Event],
        actor: &Actor,
        allowed: &dyn Fn(Option<&str>) -> bool,
    ) -> Result<BatchResult, TrackerError> {
        let mut result = BatchResult::default();
        let submitted = {
            let mut tracker = self.state()?;
            let mut rows = Vec::with_capacity(events.len());
            let mut applied: Vec<&Event> = Vec::with_capacity(events.len());
            result.events.reserve(events.len());
            let model = tracker.current_model();
            // Events are stored under the model loaded now, which must be a stored version.
            if model == 0 {
                let blocked = crate::tracker::Blocked::StoreEvents;
                return Err(if tracker.writable() {
                    TrackerError::NotStored(blocked)
                } else {
                    TrackerError::ReadOnly(blocked)
                });
            }
            for event in events {
                let id = event.id.clone();
                let unit = match &event.kind {
                    EventKind::CaseOpened { unit, .. } => Some(unit.as_str()),
                    _ => tracker.projection.case_unit(&event.case),
                };
                if !allowed(unit) {
                    result.refused += 1;
                    // An opening names its unit itself; of a case of another unit, the answer
                    // is the one for a case never opened, so that it tells the sender neither
                    // that the case exists nor where.
                    let reason = match (&event.kind, &unit) {
                        (EventKind::CaseOpened { .. }, Some(unit)) => {
                            format!("the unit {unit} is not one you may record for")
                        }
                        _ => format!(
                            "no case {} has been opened in a unit you may record for",
                            event.case
                        ),
                    };
                    let field = if matches!(event.kind, EventKind::CaseOpened { .. }) {
                        "unit"
                    } else {
                        "case"
                    };
                    result.events.push(EventResult::Refused {
                        id,
                        field: field.to_owned(),
                        reason,
                    });
                    continue;
                }
                let current = tracker.projection.current;
                match tracker.projection.accept(event, current) {
                    Err(Rejection::Conflict(_)) | Ok(Outcome::Conflict) => {
                        result.conflicts += 1;
                        let reason = Rejection::Conflict(id.clone()).to_string();
                        let reason =
                            reason.split_once(": ").map_or(reason.clone(), |(_, r)| r.to_owned());
                        result.events.push(EventResult::Conflict { id, reason });
                    }
                    Err(rejection) => {
                        let text = rejection.to_string();
                        let (field, reason) = text
                            .split_once(": ")
                            .map(|(f, r)| (f.to_owned(), r.to_owned()))
                            .unwrap_or_else(|| ("event".to_owned(), text.clone()));
                        result.refused += 1;
                        result.events.push(EventResult::Refused { id, field, reason });
                    }
                    Ok(Outcome::Duplicate) => {
                        result.repeats += 1;
                        result.events.push(EventResult::Repeat { id });
                    }
                    Ok(Outcome::Applied(deviation)) => {
                        applied.push(event);
                        result.deviations += u64::from(deviation.is_some());
                        let body = polku_engine::event::to_json(event);
                        rows.push(crate::NewRecord { model, body });
                        result.stored += 1;
                        result.events.push(EventResult::Stored { id });
                    }
                }
            }
            // The clients' statuses changed: statuses kept ready are stale now (dropped under
            // the projection's lock, under which they are made).
            self.forget_statuses(&tracker, &applied);
            if rows.is_empty() && result.repeats == 0 {
                result.seq = tracker.log_seq();
                None
            } else {
                // A repeat may be of an event whose batch still waits for the disk (or is
                // about to fail): it is answered only once everything handed over before it
                // is durable, through an append of no events in the writer's turn, which
                // fails when one of them did.
                self.0.in_flight.fetch_add(1, Ordering::SeqCst);
                let writer = tracker.writer();
                // The access row that records the batch goes in the batch's transaction.
                let access =
                    Access::by(actor, "ingest", None, &format!("{} events", result.stored));
                Some((writer.submit_logged(rows, access), writer))
            }
        };
        let Some((ticket, writer)) = submitted else { return Ok(result) };
        match ticket.wait() {
            Ok(seq) => {
                result.seq = seq;
                let mut tracker = self.tracker();
                self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
                tracker.advance(seq);
                let due = tracker.unsnapshotted() >= self.0.snapshot_every;
                drop(tracker);
                if due {
                    self.snapshot_in_background();
                }
                Ok(result)
            }
            Err(e) => {
                // What was applied but not stored must go: rebuild from the log, once for all
                // the batches that failed with this writer.
                if !matches!(e, StoreError::Conflict { .. }) {
                    let _ = self.log(actor, "ingest", None, &format!("failed: {e}"));
                }
                let mut tracker = self.tracker();
                self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
                if Arc::ptr_eq(&tracker.writer(), &writer) {
                    self.rebuild(&mut tracker).map_err(unavailable)?;
                }
                Err(e.into())
            }
        }
    }

    /// Brings the state up to date with what other processes (other servers on the same
    /// database) appended, and answers how many events that was. A server calls it every
    /// [`FOLLOW_EVERY`]; it does nothing while a batch of this process waits for the disk (that
    /// batch meets the other's writes as a conflict, and the rebuild after it catches up).
    pub fn catch_up(&self) -> Result<u64, TrackerError> {
        let mut tracker = self.tracker();
        if self.0.in_flight.load(Ordering::SeqCst) > 0 {
            return Ok(0);
        }
        // After a failed rebuild, the next (once its pause is over) is the catching up.
        if self.rebuild_if_awaited(&mut tracker)? {
            return Ok(0);
        }
        let applied = match tracker.catch_up() {
            Ok(applied) => applied,
            Err(e) => {
                // The writer may have stopped: start again from the log.
                self.rebuild(&mut tracker).map_err(unavailable)?;
                return Err(e);
            }
        };
        if applied > 0 {
            *self.0.writer.lock().unwrap_or_else(|e| e.into_inner()) = tracker.writer();
            self.forget_kept();
        }
        Ok(applied)
    }

    /// Writes a snapshot on a thread of its own, so that the batch that made it due is answered
    /// at once; one at a time. A snapshot only shortens the next start: its failure loses
    /// nothing, and the next batch past the threshold tries again. The state is held only
    /// while the snapshot is taken ([`Tracker::snapshot_later`], a reference per chunk of
    /// cases), not while it is encoded and written; on PostgreSQL the appends go on meanwhile
    /// too ([`crate::EventStore::snapshot_writer`]).
    fn snapshot_in_background(&self) {
        let mut running = self.0.snapshot.lock().unwrap_or_else(|e| e.into_inner());
        if running.as_ref().is_some_and(|thread| !thread.is_finished()) {
            return;
        }
        let service = self.clone();
        *running = Some(std::thread::spawn(move || {
            let Ok(pending) = service.tracker().snapshot_later() else { return };
            if let Ok(stored) = pending.store() {
                service.tracker().snapshot_stored(&stored);
            }
        }));
    }

    /// Waits until a snapshot being written in the background (if any) is written or failed.
    pub fn wait_for_snapshot(&self) {
        let running = self.0.snapshot.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(thread) = running {
            let _ = thread.join();
        }
    }

    /// Reads events (JSON Lines, as bytes) and pseudonymises their clients at once.
    pub fn read_events(&self, bytes: &[u8]) -> polku_engine::event::ReadLines {
        crate::tracker::read_events(bytes, &self.0.key)
    }

    /// A setting kept with the data.
    pub fn meta(&self, key: &str) -> Result<Option<String>, TrackerError> {
        let key = key.to_owned();
        Ok(self.run(move |store| store.meta(&key))?)
    }

    /// Keeps a setting with the data, durably.
    pub fn set_meta(&self, key: &str, value: &str) -> Result<(), TrackerError> {
        let (key, value) = (key.to_owned(), value.to_owned());
        Ok(self.run(move |store| store.set_meta(&key, &value))?)
    }

    /// Turns what was typed (a personal identity code or a pseudonym) into a pseudonym.
    pub fn pseudonym(&self, client: &str) -> Result<Pseudonym, TrackerError> {
        crate::tracker::pseudonym_of(client, &self.0.key)
    }

    /// The units in which a client has cases: what decides whether staff of a unit may see
    /// the client. They are kept ready ([`TrackerService::kept_units`]) only when `grants` says
    /// they let the asker in: a refusal keeps nothing, so that the next refusal takes the same
    /// way (and time) whether or not the person is a client of another unit.
    /// Takes the state's lock, which a rebuild or a snapshot may hold for seconds: a server
    /// asks it off its runtime's threads.
    pub fn client_units(
        &self,
        pseudonym: &Pseudonym,
        grants: &dyn Fn(&[String]) -> bool,
    ) -> Result<Arc<[String]>, TrackerError> {
        let tracker = self.state()?;
        let units: Arc<[String]> = tracker.projection.client_units(pseudonym.as_str()).into();
        // Kept under the state's lock, under which an event that changes them drops them.
        if !units.is_empty() && grants(&units) {
            let mut statuses = self.0.statuses.lock().unwrap_or_else(|e| e.into_inner());
            keep(&mut statuses, pseudonym).units = Some(units.clone());
        }
        drop(tracker);
        Ok(units)
    }

    /// The units of a client as [`TrackerService::client_units`] kept them, when it did; `None`
    /// otherwise. It waits for no lock but the kept statuses' own (held only to look one up or
    /// drop some), so a server's runtime thread may ask it. A caller trusts them only when they
    /// let it in, and asks [`TrackerService::client_units`] otherwise.
    pub fn kept_units(&self, pseudonym: &Pseudonym) -> Option<Arc<[String]>> {
        let statuses = self.0.statuses.lock().unwrap_or_else(|e| e.into_inner());
        statuses.get(pseudonym.as_str()).and_then(|k| k.units.clone())
    }

    /// Where a case stands at `now` (its process, segment and steps, named in Finnish), for
    /// what staff do with it next: the segment an event changes, the form a link is made for.
    /// Not logged here (the caller records what was done); read as the other reads are
    /// ([`TrackerService::state`]). `None` for an unknown case.
    pub fn case_now(
        &self,
        case: &str,
        now: i64,
    ) -> Result<Option<polku_engine::case::CaseStatus>, TrackerError> {
        Ok(self.state()?.projection.case_status(case, now, Lang::Fi))
    }

    /// The client and unit of a case.
    pub fn case_owner(&self, case: &str) -> Result<Option<(String, String)>, TrackerError> {
        Ok(self.state()?.projection.case_owner(case))
    }

    /// Every case of a client that `scope` sees, as of `now`, after logging the access durably;
    /// `None` when it sees none.
    pub fn client_status(
        &self,
        pseudonym: &Pseudonym,
        actor: &Actor,
        now: i64,
        lang: Lang,
        scope: &UnitScope,
    ) -> Result<Option<ClientStatus>, TrackerError> {
        self.log(actor, "status", Some(pseudonym.as_str()), "")?;
        let status = self.state()?.projection.client_status(pseudonym.as_str(), now, lang);
        Ok(status.and_then(|s| s.seen_by(scope)))
    }

    /// Why the client's service was planned as it was at `at`, for the cases that `scope` sees
    /// (see [`polku_engine::projection::Projection::explain`]); logged before it is worked out.
    pub fn explain(
        &self,
        pseudonym: &Pseudonym,
        actor: &Actor,
        at: i64,
        step: Option<&str>,
        scope: &UnitScope,
    ) -> Result<Option<polku_engine::explain::Explanation>, TrackerError> {
        self.log(actor, "explain", Some(pseudonym.as_str()), step.unwrap_or(""))?;
        Ok(self.state()?.projection.explain_in(pseudonym.as_str(), at, step, scope))
    }

    /// Drops the statuses kept ready for the clients of the `applied` events; looks nothing
    /// up when none is kept (a bulk load with no one reading).
    fn forget_statuses(&self, tracker: &Tracker, applied: &[&Event]) {
        let mut statuses = self.0.statuses.lock().unwrap_or_else(|e| e.into_inner());
        if statuses.is_empty() {
            return;
        }
        for event in applied {
            let client = match &event.kind {
                EventKind::CaseOpened { client, .. } => Some(client.clone()),
                _ => tracker.projection.case_owner(&event.case).map(|(c, _)| c),
            };
            if let Some(client) = client {
                statuses.remove(&client);
            }
        }
    }

    /// Every case of a client that `scope` sees as of `now`, as JSON, after logging the access
    /// durably. A status made in the same minute since the client's last event is answered as
    /// it was.
    pub fn client_status_json(
        &self,
        pseudonym: &Pseudonym,
        actor: &Actor,
        now: i64,
        lang: Lang,
        scope: &UnitScope,
    ) -> Result<Option<Arc<str>>, TrackerError> {
        self.log(actor, "status", Some(pseudonym.as_str()), "")?;
        if let Some(json) = self.kept_status(pseudonym, now, lang, scope) {
            return Ok(Some(json));
        }
        self.make_status(pseudonym, now, lang, scope)
    }

    /// [`TrackerService::client_status_json`] for a request served on an async runtime: the
    /// access row is awaited, holding no thread while the disk works, and a status kept ready
    /// is answered at once. A status to be made (which waits for the projection's lock) comes
    /// back as work for [`TrackerService::make_client_status_json`], to be run off the
    /// runtime's threads.
    pub async fn client_status_json_now(
        &self,
        pseudonym: &Pseudonym,
        actor: &Actor,
        now: i64,
        lang: Lang,
        scope: &UnitScope,
    ) -> Result<StatusNow, TrackerError> {
        let access = Access::by(actor, "status", Some(pseudonym.as_str()), "");
        let writer = self.writer();
        let work = |logged| StatusWork {
            pseudonym: pseudonym.clone(),
            actor: actor.clone(),
            now,
            lang,
            scope: scope.clone(),
            logged,
        };
        match crate::committer::access_result(writer.log_access_later(access).await) {
            Ok(()) => {}
            // The writer was being replaced: logged the waiting way, with the new one.
            Err(StoreError::WriterGone) => return Ok(StatusNow::Make(work(false))),
            Err(e) => return Err(e.into()),
        }
        Ok(match self.kept_status(pseudonym, now, lang, scope) {
            Some(json) => StatusNow::Ready(Some(json)),
            None => StatusNow::Make(work(true)),
        })
    }

    /// Makes a status that [`TrackerService::client_status_json_now`] did not have ready,
    /// logging the access first where it could not.
    pub fn make_client_status_json(
        &self,
        work: StatusWork,
    ) -> Result<Option<Arc<str>>, TrackerError> {
        let StatusWork { pseudonym, actor, now, lang, scope, logged } = work;
        if !logged {
            return self.client_status_json(&pseudonym, &actor, now, lang, &scope);
        }
        self.make_status(&pseudonym, now, lang, &scope)
    }

    /// The status kept ready for the client, if one is still fresh at `now` ([`fresh_until`])
    /// and `scope` sees every case in it. Only for a caller that has logged the access.
    fn kept_status(
        &self,
        pseudonym: &Pseudonym,
        now: i64,
        lang: Lang,
        scope: &UnitScope,
    ) -> Option<Arc<str>> {
        let statuses = self.0.statuses.lock().unwrap_or_else(|e| e.into_inner());
        let kept = statuses.get(pseudonym.as_str())?;
        // The whole status to a reader who sees every unit of it, else the part they see.
        let slot = match (scope, &kept.units) {
            (UnitScope::All, _) => &kept.statuses,
            (_, None) => return None,
            (_, Some(units)) => match seen_part(units, scope) {
                None => &kept.statuses,
                Some(part) => &kept.seen.iter().find(|(seen, _)| *seen == part)?.1,
            },
        };
        match slot.get(lang_slot(lang))? {
            Some((made, until, json)) if (*made..*until).contains(&now) => Some(json.clone()),
            _ => None,
        }
    }

    /// Makes the client's status and keeps it ready; answers it as `scope` sees it. Only for a
    /// caller that has logged the access.
    fn make_status(
        &self,
        pseudonym: &Pseudonym,
        now: i64,
        lang: Lang,
        scope: &UnitScope,
    ) -> Result<Option<Arc<str>>, TrackerError> {
        let to_json = |status: &ClientStatus| -> Result<Arc<str>, TrackerError> {
            let text =
                serde_json::to_string(status).map_err(|e| StoreError::Other(e.to_string()))?;
            Ok(Arc::from(text))
        };
        // The status is made and kept under the projection's lock, so that an event applied
        // meanwhile (which drops the kept status under the same lock) cannot be missed.
        let mut tracker = self.state()?;
        // Made meanwhile by a request that held the lock first: a client read by many at once
        // has its status made once, not once per waiting request.
        if let Some(json) = self.kept_status(pseudonym, now, lang, scope) {
            return Ok(Some(json));
        }
        let Some(status) = tracker.projection.client_status(pseudonym.as_str(), now, lang) else {
            return Ok(None);
        };
        let units: Arc<[String]> = tracker.projection.client_units(pseudonym.as_str()).into();
        let json = to_json(&status)?;
        // Read by staff of some of the client's units: the cases of the others are left out,
        // and that part is kept by the units it shows.
        let seen = match seen_part(&units, scope) {
            None => None,
            Some(part) => match status.seen_by(scope) {
                Some(seen) => Some((part, to_json(&seen)?)),
                None => return Ok(None),
            },
        };
        let fresh = (now, fresh_until(pseudonym.as_str(), now));
        let mut statuses = self.0.statuses.lock().unwrap_or_else(|e| e.into_inner());
        let kept = keep(&mut statuses, pseudonym);
        kept.statuses[lang_slot(lang)] = Some((fresh.0, fresh.1, json.clone()));
        kept.units = Some(units);
        if let Some((part, seen)) = &seen {
            // Parts no longer fresh in either language go first, so that they do not gather.
            kept.seen.retain(|(_, slots)| slots.iter().flatten().any(|(_, until, _)| *until > now));
            let at = match kept.seen.iter().position(|(units, _)| units == part) {
                Some(at) => at,
                None => {
                    kept.seen.push((part.clone(), KeptStatus::default()));
                    kept.seen.len() - 1
                }
            };
            kept.seen[at].1[lang_slot(lang)] = Some((fresh.0, fresh.1, seen.clone()));
        }
        drop(statuses);
        drop(tracker);
        Ok(Some(seen.map_or(json, |(_, seen)| seen)))
    }

    /// One case as of `now`, after logging the access to its client durably.
    pub fn case_status(
        &self,
        case: &str,
        actor: &Actor,
        now: i64,
        lang: Lang,
    ) -> Result<Option<polku_engine::case::CaseStatus>, TrackerError> {
        let Some((client, _)) = self.case_owner(case)? else { return Ok(None) };
        self.log(actor, "case", Some(&client), case)?;
        Ok(self.state()?.projection.case_status(case, now, lang))
    }

    pub fn segment_report(&self, actor: &Actor, date: i64) -> Result<SegmentReport, TrackerError> {
        self.log(actor, "report", None, "segments")?;
        Ok(self.state()?.projection.segment_report(date))
    }

    pub fn transition_report(
        &self,
        actor: &Actor,
        from: i64,
        to: i64,
    ) -> Result<TransitionReport, TrackerError> {
        self.log(actor, "report", None, "transitions")?;
        Ok(self.state()?.projection.transition_report(from, to))
    }

    /// Keeps an assessment's answers (serialised in `plain`) encrypted until `expires`; the
    /// access is logged.
    pub fn keep_answers(
        &self,
        actor: &Actor,
        case: &str,
        form: &str,
        plain: &[u8],
        (now, expires): (i64, i64),
    ) -> Result<(), TrackerError> {
        let kept = crate::answers::seal(&self.0.key, case, form, plain, now, expires)?;
        let client = self.case_owner(case)?.map(|(c, _)| c);
        self.log(actor, "answers_kept", client.as_deref(), case)?;
        Ok(self.run(move |store| store.keep_answers(&kept))?)
    }

    /// The answer sets kept for a case that have not expired, opened (`None` for one that does
    /// not open), with when each was kept and when it goes; the access is logged before they
    /// are returned.
    pub fn kept_answers(
        &self,
        actor: &Actor,
        case: &str,
        now: i64,
    ) -> Result<Vec<crate::answers::Opened>, TrackerError> {
        let wanted = case.to_owned();
        let rows = self.run(move |store| store.kept_answers(&wanted, now))?;
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let client = self.case_owner(case)?.map(|(c, _)| c);
        self.log(actor, "answers", client.as_deref(), case)?;
        // A set that does not open (another key, a changed row) is shown as such; the others
        // still are.
        Ok(rows
            .into_iter()
            .map(|row| {
                let plain = crate::answers::open(&self.0.key, &row).ok();
                (row, plain)
            })
            .collect())
    }

    /// Whether a case has kept answers that have not expired, and when the last of them goes.
    pub fn answers_kept_until(&self, case: &str, now: i64) -> Result<Option<i64>, TrackerError> {
        let wanted = case.to_owned();
        let rows = self.run(move |store| store.kept_answers(&wanted, now))?;
        Ok(rows.iter().map(|r| r.expires).max())
    }

    /// Deletes the kept answers that have expired; how many.
    pub fn forget_answers(&self, now: i64) -> Result<u64, TrackerError> {
        Ok(self.run(move |store| store.forget_answers(now))?)
    }

    /// Reads an extract of markers for `rules` on `days` (see
    /// [`polku_engine::markers::extract::count`]), pseudonymising its clients with the store's key.
    pub fn count_markers<'r>(
        &self,
        reader: impl std::io::BufRead,
        rules: &'r MarkerRules,
        days: &[i64],
        refused: &mut dyn FnMut(polku_engine::markers::extract::Refused),
    ) -> std::io::Result<polku_engine::markers::extract::Counts<'r>> {
        polku_engine::markers::extract::count(
            reader,
            rules,
            days,
            &self.0.key,
            refused,
            &mut |_| {},
        )
    }

    /// Stores the marker rules' proposals for a day (see [`crate::markers::record_day`]).
    pub fn record_markers(
        &self,
        actor: &Actor,
        rules: &MarkerRules,
        run: markers::MarkerRun,
        proposals: FastMap<ClientKey, Option<String>>,
    ) -> Result<markers::RecordedDay, TrackerError> {
        let detail = format!("{} {}", rules.name, markers::day_text(run.day));
        self.log(actor, "segment_daily", None, &detail)?;
        Ok(markers::record(&self.writer(), rules, run, proposals, None)?)
    }

    /// Clients per segment on a day, by where the segment came from.
    pub fn client_segment_report(
        &self,
        actor: &Actor,
        rules: &MarkerRules,
        date: i64,
    ) -> Result<markers::ClientSegmentReport, TrackerError> {
        self.log(actor, "report", None, "client_segments")?;
        // Read only from a state that may be read (see `TrackerService::state`).
        drop(self.state()?);
        Ok(markers::segment_report(
            &self.writer(),
            |s, at| self.tracker().projection.staff_decisions(s, at),
            rules,
            date,
        )?)
    }

    /// How clients moved between segments from one day to another, by source.
    pub fn client_transition_report(
        &self,
        actor: &Actor,
        rules: &MarkerRules,
        from: i64,
        to: i64,
    ) -> Result<markers::ClientTransitionReport, TrackerError> {
        self.log(actor, "report", None, "client_transitions")?;
        // Read only from a state that may be read (see `TrackerService::state`).
        drop(self.state()?);
        Ok(markers::transition_report(
            &self.writer(),
            |s, at| self.tracker().projection.staff_decisions(s, at),
            rules,
            from,
            to,
        )?)
    }

    pub fn completion_report(
        &self,
        actor: &Actor,
        now: i64,
    ) -> Result<CompletionReport, TrackerError> {
        self.log(actor, "report", None, "completion")?;
        Ok(self.state()?.projection.completion_report(now))
    }

    /// Where open cases of a process stand: aggregates only, not logged.
    pub fn standing_report(
        &self,
        process: &str,
        segment: Option<&str>,
    ) -> Result<StandingReport, TrackerError> {
        Ok(self.state()?.projection.standing_report(process, segment))
    }

    /// Clients served by several units at once: aggregates only, not logged.
    pub fn multi_unit_report(&self) -> Result<MultiUnitReport, TrackerError> {
        Ok(self.state()?.projection.multi_unit_report())
    }

    /// The access log, of one client (pseudonym) or of all; reading it is itself logged.
    pub fn access_log(
        &self,
        client: Option<&Pseudonym>,
        actor: &Actor,
        limit: usize,
    ) -> Result<Vec<Access>, TrackerError> {
        let client = client.map(|c| c.as_str().to_owned());
        self.log(actor, "audit", client.as_deref(), "")?;
        let mut reader = self.0.reader.lock().unwrap_or_else(|e| e.into_inner());
        if reader.is_none() {
            // Where no second connection can be had, the writer's own answers.
            *reader = self.run(|store| store.reader()).ok().flatten();
        }
        match reader.as_mut() {
            Some(store) => {
                let found = store.access_log(client.as_deref(), limit);
                if found.is_err() {
                    // A connection lost (a restarted database) is opened anew next time.
                    *reader = None;
                }
                Ok(found?)
            }
            None => Ok(self.run(move |store| store.access_log(client.as_deref(), limit))?),
        }
    }

    pub fn info(&self) -> Result<Info, TrackerError> {
        self.state()?.info()
    }

    /// A hash of the whole state, to compare two ways of building it.
    pub fn digest(&self) -> u64 {
        self.tracker().projection.digest()
    }
}

#[cfg(test)]
mod tests {
    use super::fresh_until;

    /// A kept status answers from the time it was made for, for 30 to 59 seconds by client,
    /// never for an earlier time; and the clients' times are spread, so that kept statuses do
    /// not all expire in the same second.
    #[test]
    fn a_kept_status_is_fresh_for_under_a_minute_spread_by_client() {
        let made = 1_796_000_000;
        let mut lasts = std::collections::BTreeSet::new();
        for n in 0..1000 {
            let client = format!("{:064x}", (n as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15));
            let fresh = made..fresh_until(&client, made);
            assert!(!fresh.contains(&(made - 1)), "not before it was made for");
            assert!(fresh.contains(&made), "fresh when made");
            assert!(fresh.contains(&(made + 29)), "fresh for 30 seconds at least");
            assert!(!fresh.contains(&(made + 60)), "never a minute or more");
            lasts.insert(fresh.end - 1 - made);
        }
        assert_eq!(lasts.len(), 30, "each of the 30 lengths is some client's: {lasts:?}");
    }
}
