//! Tamper evidence: the event log and the access log are each a hash chain. Every row carries
//! the SHA-256 of its own content and of the hash of the row before it (the first row follows
//! [`GENESIS`]), computed by the one writer inside the transaction that stores the row.
//! Changing a letter of a stored row, removing a row, or moving one breaks the chain from that
//! row on, and [`verify`] names the first row where it breaks and what is wrong there.
//!
//! What a chain cannot show on its own: a log rewritten from some row to its end with every
//! hash recomputed, or rows cut off its end. Both change the hash of the last row (the head);
//! comparing the head with one recorded elsewhere (`polku store verify` prints it) shows them.
//! A snapshot records the hash at its sequence number, so start-up also notices a log whose
//! rows up to the snapshot were cut off or rewritten.

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::{Access, EventStore, Record, StoreError};

/// A chain hash: SHA-256.
pub type Hash = [u8; 32];

/// What the first row of a chain follows.
pub const GENESIS: Hash = [0; 32];

/// The hash of an event row: `prev`, then its sequence number and model version (eight bytes
/// each), then its body as stored. The fields before the body have fixed lengths, so no two
/// different rows hash the same bytes; nothing else is added, since every 64 bytes hashed is
/// work in the writer's transaction.
pub fn event_hash(prev: &Hash, seq: u64, model: i64, body: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update(prev);
    h.update(seq.to_le_bytes());
    h.update(model.to_le_bytes());
    h.update(body);
    h.finalize().into()
}

/// The hash of an access-log row: `A`, `prev`, its id and every field, length-prefixed.
pub fn access_hash(prev: &Hash, id: u64, a: &Access) -> Hash {
    let mut h = Sha256::new();
    h.update(b"A");
    h.update(prev);
    h.update(id.to_le_bytes());
    let mut text = |t: &str| {
        h.update((t.len() as u64).to_le_bytes());
        h.update(t.as_bytes());
    };
    text(&a.at);
    text(&a.actor);
    text(&a.role);
    text(&a.action);
    text(&a.detail);
    text(&a.unit);
    text(&a.purpose);
    text(&a.request);
    match &a.client {
        None => h.update([0]),
        Some(client) => {
            h.update([1]);
            h.update((client.len() as u64).to_le_bytes());
            h.update(client.as_bytes());
        }
    }
    h.finalize().into()
}

/// A stored hash as read back: `None` when the value is not 32 bytes (missing or altered).
pub fn stored_hash(value: rusqlite::types::ValueRef<'_>) -> Option<Hash> {
    match value {
        rusqlite::types::ValueRef::Blob(b) => b.try_into().ok(),
        _ => None,
    }
}

/// Hexadecimal, for people and JSON.
pub fn hex(hash: &Hash) -> String {
    polku_engine::pseudonym::to_hex(hash)
}

/// Which chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Log {
    Events,
    AccessLog,
}

/// What is wrong at the row where a chain breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Problem {
    /// Its content no longer gives its hash, while the row after it still follows that hash:
    /// the content was changed after it was written.
    ContentChanged,
    /// Its hash was changed: its content still gives the hash the row after it follows.
    HashChanged,
    /// It is the last row and no longer matches its hash: its content or its hash was changed
    /// (there is no row after it to tell which).
    ContentOrHashChanged,
    /// The row is not there: the log goes on at `next` (or, with `None`, ends before it).
    Missing { next: Option<u64> },
    /// It does not follow the row before it: rows were removed, inserted or reordered.
    OutOfPlace,
    /// Its hash is not the one the snapshot taken at it recorded.
    SnapshotDiffers,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Problem::ContentChanged => f.write_str(
                "its content was changed after it was written (the row after it still follows its hash)",
            ),
            Problem::HashChanged => f.write_str(
                "its stored hash was changed (its content still gives the hash the row after it follows)",
            ),
            Problem::ContentOrHashChanged => f.write_str(
                "its content or its stored hash was changed (it is the last row, so nothing tells which)",
            ),
            Problem::Missing { next: Some(next) } => {
                write!(f, "it is missing: the log goes on at {next}")
            }
            Problem::Missing { next: None } => f.write_str(
                "it is missing, with every row after it: the log ends before it",
            ),
            Problem::OutOfPlace => f.write_str(
                "it does not follow the row before it: rows were removed, inserted or reordered",
            ),
            Problem::SnapshotDiffers => f.write_str(
                "its stored hash is not the one the snapshot taken at it recorded",
            ),
        }
    }
}

/// The first row where a chain breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{}: {problem}", match log {
    Log::Events => format!("the event log was altered at event {row}"),
    Log::AccessLog => format!("the access log was altered at row {row}"),
})]
pub struct Break {
    pub log: Log,
    /// The event's sequence number, or the access-log row's id.
    pub row: u64,
    pub problem: Problem,
}

/// Where a walk starts: the last row taken as good and its hash (0 and [`GENESIS`] for the
/// whole chain).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Anchor {
    pub row: u64,
    pub hash: Hash,
}

impl Anchor {
    pub const START: Anchor = Anchor { row: 0, hash: GENESIS };
}

/// Walks one chain row by row, in order, and finds the first break. A row that does not
/// match its hash is judged by the row after it (was its content changed, or its hash?), so
/// the walk looks one row ahead before it reports.
#[derive(Debug)]
pub struct Walk {
    log: Log,
    prev: Hash,
    last: u64,
    rows: u64,
    pending: Option<Pending>,
    broken: Option<Break>,
}

#[derive(Debug)]
struct Pending {
    row: u64,
    recomputed: Hash,
    stored: Option<Hash>,
}

/// What a walk found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Walked {
    /// Rows that matched their hashes.
    pub rows: u64,
    /// The last row that matched, and its hash: the head when nothing is broken.
    pub last: Anchor,
    pub broken: Option<Break>,
}

impl Walk {
    pub fn new(log: Log, from: Anchor) -> Walk {
        Walk { log, prev: from.hash, last: from.row, rows: 0, pending: None, broken: None }
    }

    /// Takes the next row: its key (sequence number or id), its stored hash, and how its hash
    /// is computed after a given previous hash. Returns `false` once the chain is broken.
    pub fn row(&mut self, key: u64, stored: Option<Hash>, hash: impl Fn(&Hash) -> Hash) -> bool {
        if self.broken.is_some() {
            return false;
        }
        if let Some(p) = self.pending.take() {
            let problem = if p.stored.is_some_and(|s| Some(hash(&s)) == stored) {
                Problem::ContentChanged
            } else if Some(hash(&p.recomputed)) == stored {
                Problem::HashChanged
            } else {
                Problem::OutOfPlace
            };
            self.broken = Some(Break { log: self.log, row: p.row, problem });
            return false;
        }
        let recomputed = hash(&self.prev);
        if Some(recomputed) == stored {
            self.prev = recomputed;
            self.last = key;
            self.rows += 1;
            return true;
        }
        if key != self.last + 1 {
            let problem = Problem::Missing { next: Some(key) };
            self.broken = Some(Break { log: self.log, row: self.last + 1, problem });
            return false;
        }
        self.pending = Some(Pending { row: key, recomputed, stored });
        true
    }

    /// Ends the walk.
    pub fn finish(mut self) -> Walked {
        if let Some(p) = self.pending.take() {
            self.broken.get_or_insert(Break {
                log: self.log,
                row: p.row,
                problem: Problem::ContentOrHashChanged,
            });
        }
        Walked {
            rows: self.rows,
            last: Anchor { row: self.last, hash: self.prev },
            broken: self.broken,
        }
    }
}

/// Where a writer chains the next row of a log that is not empty, and the break it met at the
/// log's end, if any. `last` is the log's last row (its key and stored hash), `before` the row
/// stored before it (`None` when `last` is the first), and `hash` computes `last`'s hash after
/// a given previous hash.
///
/// The next row follows the last row **as stored**: its stored hash, even when the row no
/// longer matches it, so that the change stays at the row where it was made and [`verify`]
/// still names that row. When the stored value is not a hash at all (removed, or not 32
/// bytes), the next row follows the hash the last row's content gives after the hash stored
/// before it: the hash the row should have, so that [`verify`] finds its hash changed. Either
/// way the writer writes: a broken chain is evidence to keep and to report, never a reason to
/// stop logging (which would let one changed row stop every access to client data).
///
/// Only the last row is checked, against the hash stored before it: the whole walk is
/// [`verify`]'s. A row whose predecessor's hash is not a hash (a writer already went past it
/// and reported it) is not checked again.
pub fn append_point(
    log: Log,
    last: (u64, Option<Hash>),
    before: Option<(u64, Option<Hash>)>,
    hash: impl Fn(&Hash) -> Hash,
) -> (Hash, Option<Break>) {
    let (row, stored) = last;
    let (before_row, before_hash) = before.unwrap_or((0, Some(GENESIS)));
    let missing = (before_row + 1 != row).then_some(Break {
        log,
        row: before_row + 1,
        problem: Problem::Missing { next: Some(row) },
    });
    let expected = before_hash.map(|h| hash(&h));
    match stored {
        Some(stored) => {
            let changed = expected.filter(|e| *e != stored).map(|_| Break {
                log,
                row,
                problem: Problem::ContentOrHashChanged,
            });
            (stored, missing.or(changed))
        }
        None => {
            let hash_changed = Break { log, row, problem: Problem::HashChanged };
            (expected.unwrap_or_else(|| hash(&GENESIS)), Some(missing.unwrap_or(hash_changed)))
        }
    }
}

/// Walks the event log after `from`, handing each record to `f` (also the one at which the
/// chain breaks, before the break is known). When `from` is not the start, the row at
/// `from.row` must be there with `from.hash` as its stored hash (a snapshot's record of it).
pub fn walk_events(
    store: &mut dyn EventStore,
    from: Anchor,
    f: &mut dyn FnMut(&Record) -> Result<(), StoreError>,
) -> Result<Walked, StoreError> {
    let mut walk = Walk::new(Log::Events, from);
    // The row the walk starts from is read first, to check it against the anchor.
    let mut anchored = from.row == 0;
    let mut anchor_break = None;
    let mut stop = false;
    store.scan(from.row.saturating_sub(1), &mut |record| {
        if stop {
            return Ok(());
        }
        if !anchored {
            anchored = true;
            let problem = if record.seq != from.row {
                Some(Problem::Missing { next: Some(record.seq) })
            } else if record.hash != Some(from.hash) {
                Some(Problem::SnapshotDiffers)
            } else {
                None
            };
            if let Some(problem) = problem {
                anchor_break = Some(Break { log: Log::Events, row: from.row, problem });
                stop = true;
            }
            return Ok(());
        }
        f(&record)?;
        let body = record.body.as_bytes();
        if !walk
            .row(record.seq, record.hash, |prev| event_hash(prev, record.seq, record.model, body))
        {
            stop = true;
        }
        Ok(())
    })?;
    if !anchored {
        // The log ends before the anchor: it is missing from the row after its last on.
        let row = store.last_seq()?.min(from.row - 1) + 1;
        anchor_break =
            Some(Break { log: Log::Events, row, problem: Problem::Missing { next: None } });
    }
    let mut walked = walk.finish();
    if anchor_break.is_some() {
        walked.broken = anchor_break;
    }
    Ok(walked)
}

/// The whole walk of both chains, and the snapshot checked against the event chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verification {
    pub events: Walked,
    pub access_log: Walked,
    /// The snapshot's sequence number, when there is one.
    pub snapshot: Option<u64>,
}

impl Verification {
    pub fn intact(&self) -> bool {
        self.events.broken.is_none() && self.access_log.broken.is_none()
    }
}

/// Walks both chains from their first rows to their ends, and checks that the snapshot's
/// record of the event chain is the hash stored at its sequence number.
pub fn verify(store: &mut dyn EventStore) -> Result<Verification, StoreError> {
    let mut snapshot = None;
    store.read_snapshot(&mut |seq, chain, _| {
        snapshot = Some((seq, chain));
        Ok(())
    })?;
    let at = snapshot.map(|(seq, _)| seq).filter(|&seq| seq > 0);
    let mut stored_at_snapshot = None;
    let mut events = walk_events(store, Anchor::START, &mut |record| {
        if Some(record.seq) == at {
            stored_at_snapshot = Some(record.hash);
        }
        Ok(())
    })?;
    if let (None, Some((seq, chain))) = (events.broken, snapshot) {
        let problem = if seq > events.last.row {
            Some(Problem::Missing { next: None })
        } else if seq == 0 {
            (chain != Some(GENESIS)).then_some(Problem::SnapshotDiffers)
        } else {
            (chain.is_none() || stored_at_snapshot != Some(chain))
                .then_some(Problem::SnapshotDiffers)
        };
        let row = if seq > events.last.row { events.last.row + 1 } else { seq };
        events.broken = problem.map(|problem| Break { log: Log::Events, row, problem });
    }
    let mut walk = Walk::new(Log::AccessLog, Anchor::START);
    store.scan_access_log(0, &mut |id, access, stored| {
        walk.row(id, stored, |prev| access_hash(prev, id, &access));
        Ok(())
    })?;
    Ok(Verification { events, access_log: walk.finish(), snapshot: snapshot.map(|(s, _)| s) })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(n: u64) -> Vec<(u64, Vec<u8>, Option<Hash>)> {
        let mut prev = GENESIS;
        (1..=n)
            .map(|seq| {
                let body = format!("event {seq}").into_bytes();
                prev = event_hash(&prev, seq, 1, &body);
                (seq, body, Some(prev))
            })
            .collect()
    }

    fn walk(rows: &[(u64, Vec<u8>, Option<Hash>)]) -> Walked {
        let mut w = Walk::new(Log::Events, Anchor::START);
        for (seq, body, stored) in rows {
            if !w.row(*seq, *stored, |p| event_hash(p, *seq, 1, body)) {
                break;
            }
        }
        w.finish()
    }

    fn broken(rows: &[(u64, Vec<u8>, Option<Hash>)]) -> (u64, Problem) {
        let b = walk(rows).broken.expect("a break");
        (b.row, b.problem)
    }

    #[test]
    fn an_intact_chain_ends_at_its_head() {
        let rows = chain(5);
        let walked = walk(&rows);
        assert_eq!(walked.broken, None);
        assert_eq!(walked.rows, 5);
        assert_eq!(walked.last, Anchor { row: 5, hash: rows[4].2.expect("hash") });
    }

    #[test]
    fn each_kind_of_change_is_named_at_its_row() {
        let mut rows = chain(6);
        rows[2].1[0] = b'E';
        assert_eq!(broken(&rows), (3, Problem::ContentChanged));

        let mut rows = chain(6);
        rows[2].2 = Some([9; 32]);
        assert_eq!(broken(&rows), (3, Problem::HashChanged));
        rows[2].2 = None;
        assert_eq!(broken(&rows), (3, Problem::HashChanged));

        let mut rows = chain(6);
        rows[5].1.push(b'!');
        assert_eq!(broken(&rows), (6, Problem::ContentOrHashChanged));

        let mut rows = chain(6);
        rows.remove(3);
        assert_eq!(broken(&rows), (4, Problem::Missing { next: Some(5) }));
        let mut rows = chain(6);
        rows.remove(0);
        assert_eq!(broken(&rows), (1, Problem::Missing { next: Some(2) }));

        // Two rows swapped, each keeping its sequence number: the first out of place.
        let mut rows = chain(6);
        let (a, b) = (rows[2].clone(), rows[3].clone());
        rows[2] = (3, b.1, b.2);
        rows[3] = (4, a.1, a.2);
        assert_eq!(broken(&rows), (3, Problem::OutOfPlace));

        // A row removed and the rest renumbered to close the gap.
        let mut rows = chain(6);
        rows.remove(2);
        for (i, row) in rows.iter_mut().enumerate() {
            row.0 = i as u64 + 1;
        }
        assert_eq!(broken(&rows), (3, Problem::OutOfPlace));
    }

    #[test]
    fn an_append_follows_the_last_row_as_stored_and_names_a_break_there() {
        let rows = chain(3);
        let hash = |seq: u64| {
            let body = rows[seq as usize - 1].1.clone();
            move |p: &Hash| event_hash(p, seq, 1, &body)
        };
        let (h2, h3) = (rows[1].2, rows[2].2.expect("hash"));
        let point =
            |stored: Option<Hash>, before| append_point(Log::Events, (3, stored), before, hash(3));
        // Intact: the next row follows the last one's hash.
        assert_eq!(point(Some(h3), Some((2, h2))), (h3, None));
        let first = rows[0].2.expect("hash");
        assert_eq!(append_point(Log::Events, (1, Some(first)), None, hash(1)), (first, None));
        // A hash that is not the row's: followed as stored, and named.
        let other = [7; 32];
        let changed = Break { log: Log::Events, row: 3, problem: Problem::ContentOrHashChanged };
        assert_eq!(point(Some(other), Some((2, h2))), (other, Some(changed)));
        // No hash at all: the hash the row's content gives, and named.
        let removed = Break { log: Log::Events, row: 3, problem: Problem::HashChanged };
        assert_eq!(point(None, Some((2, h2))), (h3, Some(removed)));
        // After a row with no hash (a writer went past it already): not checked again.
        assert_eq!(point(Some(other), Some((2, None))), (other, None));
        // Rows missing before the last: the first of them is named.
        let missing =
            Break { log: Log::Events, row: 2, problem: Problem::Missing { next: Some(3) } };
        assert_eq!(point(Some(h3), Some((1, Some(first)))), (h3, Some(missing)));
    }

    #[test]
    fn access_rows_hash_every_field() {
        let a = Access {
            at: "2026-01-01T00:00:00Z".into(),
            actor: "u".into(),
            role: "r".into(),
            action: "status".into(),
            client: None,
            detail: String::new(),
            unit: String::new(),
            purpose: String::new(),
            request: String::new(),
        };
        let base = access_hash(&GENESIS, 1, &a);
        let mut b = a.clone();
        b.client = Some(String::new());
        assert_ne!(access_hash(&GENESIS, 1, &b), base);
        let mut b = a.clone();
        b.detail = "x".into();
        assert_ne!(access_hash(&GENESIS, 1, &b), base);
        // Text moved from one field to the next is another row.
        let mut b = a.clone();
        b.actor = "ur".into();
        b.role = String::new();
        assert_ne!(access_hash(&GENESIS, 1, &b), base);
        assert_ne!(access_hash(&GENESIS, 2, &a), base);
    }
}
