//! The segments that marker rules proposed, kept by day, and the client-level segment report
//! that weighs them against the professionals' decisions.
//!
//! A run of `polku segment-daily` for a day stores, per client, the segment the rules proposed
//! on that day, as changes only: a client has a row on a run day when its proposal differs
//! from the one on the run day before (no proposal before the first). The proposal on any day
//! is then the client's newest row on or before it. Storing a day keeps that invariant for the
//! days around it too, so that the stored state depends only on which days were run with which
//! extracts: a day run twice changes nothing the second time, and days run out of order leave
//! the same rows as in order.
//!
//! Only the store's primitives differ per backend ([`EventStore::marker_runs`] and the rest);
//! the rest is here, once.

use std::collections::BTreeMap;

use polku_dsl::hash::FastMap;
use polku_engine::markers::extract::{day_of, ClientKey};
use polku_engine::markers::MarkerRules;
use polku_engine::projection::{DecisionKind, StaffDecision};
use polku_engine::time::Timestamp;
use serde::Serialize;

use crate::committer::Committer;
use crate::{EventStore, StoreError};

/// One stored day of a rule set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct MarkerRun {
    /// Days since 1970.
    pub day: i64,
    pub segmentation: String,
    /// Clients with a proposal on the day, and the extract's rows that were read.
    pub clients: u64,
    pub rows: u64,
    /// When the run was stored (RFC 3339).
    pub recorded: String,
}

/// What storing one day writes: the run, and the proposal rows to set and to remove.
#[derive(Debug, Clone, Default)]
pub struct MarkerWrite {
    pub rules: String,
    pub run: Option<MarkerRun>,
    /// `(client, day, segment)`; the empty segment stands for "no proposal".
    pub set: Vec<(ClientKey, i64, String)>,
    pub delete: Vec<(ClientKey, i64)>,
    /// The rule set's generation ([`EventStore::marker_generation`]) when the rows were worked
    /// out: when the store's differs, nothing is written and the answer is
    /// [`StoreError::MarkersMoved`]. Every write counts the generation up.
    pub expect_generation: Option<i64>,
}

/// What a stored day changed, against the run day before it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct RecordedDay {
    pub day: i64,
    /// The run day before and after this one, when there are such.
    pub previous: Option<i64>,
    pub next: Option<i64>,
    /// Clients whose proposal differs from the one on the previous run day, by pair of
    /// segments (`–` for no proposal).
    pub moves: BTreeMap<String, BTreeMap<String, u64>>,
    /// Proposal rows written and removed.
    pub written: u64,
    pub removed: u64,
}

/// The mark for "no proposal" in reports.
pub const NONE: &str = "–";

/// Segment names numbered for the maps below: 0 is "no proposal".
#[derive(Debug, Clone)]
struct Segments(Vec<String>);

impl Segments {
    fn new() -> Segments {
        Segments(vec![String::new()])
    }

    fn number(&mut self, name: &str) -> u16 {
        match self.0.iter().position(|s| s == name) {
            Some(i) => i as u16,
            None => {
                self.0.push(name.to_owned());
                (self.0.len() - 1) as u16
            }
        }
    }

    fn name(&self, number: u16) -> &str {
        &self.0[usize::from(number)]
    }
}

/// What is stored around a day, as [`record_day`] needs it: the run days, and the proposals
/// on the run day before it, on it and on the run day after it. Loading it can go on while the
/// extract is read; the write then checks that no other run came in between.
#[derive(Debug, Clone)]
pub struct Neighbours {
    rules: String,
    day: i64,
    generation: i64,
    previous: Option<i64>,
    next: Option<i64>,
    segments: Segments,
    before: FastMap<ClientKey, u16>,
    here: FastMap<ClientKey, u16>,
    after: FastMap<ClientKey, u16>,
    at_next: FastMap<ClientKey, u16>,
}

/// Loads what is stored around `day` for `rules`.
pub fn neighbours(
    store: &mut dyn EventStore,
    rules: &str,
    day: i64,
) -> Result<Neighbours, StoreError> {
    // The generation first: a write that lands while the rest is read counts it up, and the
    // write of this run then finds it moved.
    let generation = store.marker_generation(rules)?;
    let runs = store.marker_runs(rules)?;
    let previous = runs.iter().map(|r| r.day).filter(|&d| d < day).max();
    let next = runs.iter().map(|r| r.day).filter(|&d| d > day).min();
    let mut n = Neighbours {
        rules: rules.to_owned(),
        day,
        generation,
        previous,
        next,
        segments: Segments::new(),
        before: FastMap::default(),
        here: FastMap::default(),
        after: FastMap::default(),
        at_next: FastMap::default(),
    };
    let segments = &mut n.segments;
    if let Some(p) = previous {
        store.marker_as_of(rules, p, &mut |c, s| {
            n.before.insert(c, segments.number(s));
        })?;
    }
    // The rows this day has now (from an earlier run of it), to be replaced.
    store.marker_changes_on(rules, day, &mut |c, s| {
        n.here.insert(c, segments.number(s));
    })?;
    if let Some(next) = next {
        store.marker_as_of(rules, next, &mut |c, s| {
            n.after.insert(c, segments.number(s));
        })?;
        store.marker_changes_on(rules, next, &mut |c, s| {
            n.at_next.insert(c, segments.number(s));
        })?;
    }
    Ok(n)
}

/// Stores the proposals of one day: `proposals` maps each client the extract named to the
/// segment proposed (`None` when no rule held and there is no `muuten`). A client stored
/// before and not named now has no proposal on this day. One transaction: a crash leaves the
/// day stored whole or not at all. `loaded` is what [`neighbours`] read before, if anything;
/// when another run was stored since, it is read again.
pub fn record_day(
    store: &mut dyn EventStore,
    rules: &str,
    run: MarkerRun,
    proposals: &FastMap<ClientKey, Option<String>>,
    mut loaded: Option<Neighbours>,
) -> Result<RecordedDay, StoreError> {
    let mut attempts = 0;
    loop {
        let n = match loaded.take() {
            Some(n) if n.rules == rules && n.day == run.day => n,
            _ => neighbours(store, rules, run.day)?,
        };
        let (write, recorded) = plan(n, run.clone(), proposals);
        match store.write_markers(&write) {
            Err(StoreError::MarkersMoved) if attempts < 5 => attempts += 1,
            Err(e) => return Err(e),
            Ok(()) => return Ok(recorded),
        }
    }
}

/// The rows to write and remove so that the stored proposals are those of `proposals` on the
/// day, and every other run day keeps its own.
fn plan(
    mut n: Neighbours,
    run: MarkerRun,
    proposals: &FastMap<ClientKey, Option<String>>,
) -> (MarkerWrite, RecordedDay) {
    let day = run.day;
    let mut now_of: FastMap<ClientKey, u16> = FastMap::default();
    now_of.reserve(proposals.len());
    for (client, p) in proposals {
        now_of.insert(*client, p.as_deref().map_or(0, |s| n.segments.number(s)));
    }
    let segments = &n.segments;
    let mut write = MarkerWrite {
        rules: n.rules.clone(),
        run: Some(run),
        expect_generation: Some(n.generation),
        ..Default::default()
    };
    let mut moves: FastMap<(u16, u16), u64> = FastMap::default();
    let mut everyone: Vec<ClientKey> = n
        .before
        .keys()
        .chain(now_of.keys())
        .chain(n.here.keys())
        .chain(n.after.keys())
        .copied()
        .collect();
    everyone.sort_unstable();
    everyone.dedup();
    for client in &everyone {
        let now = now_of.get(client).copied().unwrap_or(0);
        let was = n.before.get(client).copied().unwrap_or(0);
        if now != was {
            if n.here.get(client) != Some(&now) {
                write.set.push((*client, day, segments.name(now).to_owned()));
            }
            *moves.entry((was, now)).or_default() += 1;
        } else if n.here.contains_key(client) {
            write.delete.push((*client, day));
        }
        if let Some(next) = n.next {
            // The next run day keeps its proposal: it has a row exactly when that differs
            // from this day's.
            let then = n.after.get(client).copied().unwrap_or(0);
            let has_row = n.at_next.contains_key(client);
            if then != now && !has_row {
                write.set.push((*client, next, segments.name(then).to_owned()));
            } else if then == now && has_row {
                write.delete.push((*client, next));
            }
        }
    }
    let shown = |s: u16| if s == 0 { NONE.to_owned() } else { segments.name(s).to_owned() };
    let mut by_name: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
    for ((was, now), count) in moves {
        *by_name.entry(shown(was)).or_default().entry(shown(now)).or_default() += count;
    }
    let (written, removed) = (write.set.len() as u64, write.delete.len() as u64);
    let recorded =
        RecordedDay { day, previous: n.previous, next: n.next, moves: by_name, written, removed };
    (write, recorded)
}

/// Every client's proposal on `day` (the newest stored one on or before it); clients without
/// one are left out.
pub fn proposals_on(
    store: &mut dyn EventStore,
    rules: &str,
    day: i64,
) -> Result<FastMap<ClientKey, String>, StoreError> {
    let mut out = FastMap::default();
    store.marker_as_of(rules, day, &mut |c, s| {
        if !s.is_empty() {
            out.insert(c, s.to_owned());
        }
    })?;
    Ok(out)
}

/// Where a client's segment came from.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// A professional's assessment (`segment_assessed`, a confirmed form).
    Assessment,
    /// The marker rules' proposal.
    Markers,
    /// Set by hand: the segment a case was opened with, or a `segment_changed`.
    Manual,
}

impl Source {
    pub fn word(self, lang: polku_dsl::Lang) -> &'static str {
        let fi = lang == polku_dsl::Lang::Fi;
        match self {
            Source::Assessment => {
                if fi {
                    "arvio"
                } else {
                    "assessment"
                }
            }
            Source::Markers => {
                if fi {
                    "merkit"
                } else {
                    "markers"
                }
            }
            Source::Manual => {
                if fi {
                    "käsin"
                } else {
                    "manual"
                }
            }
        }
    }
}

/// A professional's latest decision on a client's segment as of a day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub segment: String,
    pub source: Source,
    /// When it was made (a timestamp).
    pub at: i64,
}

/// A client's segment on a day and where it came from: the professional's decision until
/// `expires(decision.at)`, else the markers' proposal, else the older decision.
pub fn effective(
    decision: Option<&Decision>,
    proposal: Option<&String>,
    end_of_day: i64,
    expires: &dyn Fn(i64) -> i64,
) -> Option<(String, Source)> {
    match (decision, proposal) {
        (Some(d), _) if end_of_day < expires(d.at) => Some((d.segment.clone(), d.source)),
        (_, Some(p)) => Some((p.clone(), Source::Markers)),
        (Some(d), None) => Some((d.segment.clone(), d.source)),
        (None, None) => None,
    }
}

/// Clients per segment and source on a day, for one segmentation.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct ClientSegmentReport {
    pub date: String,
    pub markers: String,
    pub segmentation: String,
    /// How long a professional's decision outranks the markers: calendar months and days.
    pub assessment_months: u32,
    pub assessment_days: i64,
    pub clients: u64,
    pub rows: Vec<ClientSegmentCount>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct ClientSegmentCount {
    pub segment: String,
    pub source: Source,
    pub clients: u64,
}

/// How clients moved between segments from one day to another, by the source of the segment
/// on the second day.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct ClientTransitionReport {
    pub from: String,
    pub to: String,
    pub markers: String,
    pub segmentation: String,
    pub assessment_months: u32,
    pub assessment_days: i64,
    pub rows: Vec<ClientTransitionCount>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct ClientTransitionCount {
    /// The segment on the first day; `–` when the client had none.
    pub from: String,
    /// The segment on the second day; `–` when the client has none.
    pub to: String,
    /// Where the segment on the second day came from; absent when there is none.
    pub source: Option<Source>,
    pub clients: u64,
}

/// Counts clients per segment and source.
pub fn distribution(
    segments: &FastMap<ClientKey, (String, Source)>,
) -> (u64, Vec<ClientSegmentCount>) {
    let mut counts: BTreeMap<(String, Source), u64> = BTreeMap::new();
    for (segment, source) in segments.values() {
        *counts.entry((segment.clone(), *source)).or_default() += 1;
    }
    let rows = counts
        .into_iter()
        .map(|((segment, source), clients)| ClientSegmentCount { segment, source, clients })
        .collect();
    (segments.len() as u64, rows)
}

/// Counts clients per pair of segments, by the source of the second.
pub fn moves(
    first: &FastMap<ClientKey, (String, Source)>,
    second: &FastMap<ClientKey, (String, Source)>,
) -> Vec<ClientTransitionCount> {
    let mut counts: BTreeMap<(String, String, Option<Source>), u64> = BTreeMap::new();
    for client in first.keys().chain(second.keys().filter(|c| !first.contains_key(*c))) {
        let from = first.get(client).map_or(NONE.to_owned(), |(s, _)| s.clone());
        let (to, source) = match second.get(client) {
            Some((s, source)) => (s.clone(), Some(*source)),
            None => (NONE.to_owned(), None),
        };
        *counts.entry((from, to, source)).or_default() += 1;
    }
    counts
        .into_iter()
        .map(|((from, to, source), clients)| ClientTransitionCount { from, to, source, clients })
        .collect()
}

/// A client's segment on the day that ends at `end_of_day`, for every client with a decision
/// or a proposal: see [`effective`].
pub fn segments_on(
    decisions: Vec<StaffDecision>,
    proposals: FastMap<ClientKey, String>,
    end_of_day: i64,
    expires: &dyn Fn(i64) -> i64,
) -> FastMap<ClientKey, (String, Source)> {
    let mut out: FastMap<ClientKey, (String, Source)> = FastMap::default();
    let mut decided: FastMap<ClientKey, Decision> = FastMap::default();
    for d in decisions {
        let source = match d.kind {
            DecisionKind::Assessed => Source::Assessment,
            DecisionKind::Opened | DecisionKind::Changed => Source::Manual,
        };
        decided.insert(d.client, Decision { segment: d.segment, source, at: d.at });
    }
    for (client, decision) in &decided {
        if let Some(s) = effective(Some(decision), proposals.get(client), end_of_day, expires) {
            out.insert(*client, s);
        }
    }
    for (client, proposal) in &proposals {
        if !decided.contains_key(client) {
            out.insert(*client, (proposal.clone(), Source::Markers));
        }
    }
    out
}

/// The segment of every client on the day of `date` (a timestamp) under `rules`: the
/// proposals from the store, the decisions from `decisions(segmentation, end_of_day)`.
pub(crate) fn client_segments(
    writer: &Committer,
    decisions: impl FnOnce(&str, i64) -> Vec<StaffDecision>,
    rules: &MarkerRules,
    date: i64,
) -> Result<FastMap<ClientKey, (String, Source)>, StoreError> {
    let end = Timestamp(date).end_of_local_day().0;
    let day = local_day(date);
    let name = rules.name.clone();
    let proposals = writer.run(move |store| proposals_on(store, &name, day))?;
    let decisions = decisions(rules.segmentation.as_deref().unwrap_or(""), end);
    Ok(segments_on(decisions, proposals, end, &|at| rules.decision_expires(at)))
}

/// The Finnish day of a timestamp, as days since 1970.
pub fn local_day(at: i64) -> i64 {
    day_of(&Timestamp(at).local_date_text()).unwrap_or(at.div_euclid(86_400))
}

/// A day (days since 1970) as `YYYY-MM-DD`.
pub fn day_text(day: i64) -> String {
    let (y, m, d) = polku_engine::time::civil_from_days(day);
    format!("{y:04}-{m:02}-{d:02}")
}

/// The report of clients per segment and source on the day of `date`.
pub(crate) fn segment_report(
    writer: &Committer,
    decisions: impl FnOnce(&str, i64) -> Vec<StaffDecision>,
    rules: &MarkerRules,
    date: i64,
) -> Result<ClientSegmentReport, StoreError> {
    let segments = client_segments(writer, decisions, rules, date)?;
    let (clients, rows) = distribution(&segments);
    Ok(ClientSegmentReport {
        date: day_text(local_day(date)),
        markers: rules.name.clone(),
        segmentation: rules.segmentation.clone().unwrap_or_default(),
        assessment_months: rules.assessment_months,
        assessment_days: rules.assessment_days,
        clients,
        rows,
    })
}

/// The report of how clients moved from the day of `from` to the day of `to`.
pub(crate) fn transition_report(
    writer: &Committer,
    mut decisions: impl FnMut(&str, i64) -> Vec<StaffDecision>,
    rules: &MarkerRules,
    from: i64,
    to: i64,
) -> Result<ClientTransitionReport, StoreError> {
    let first = client_segments(writer, &mut decisions, rules, from)?;
    let second = client_segments(writer, &mut decisions, rules, to)?;
    Ok(ClientTransitionReport {
        from: day_text(local_day(from)),
        to: day_text(local_day(to)),
        markers: rules.name.clone(),
        segmentation: rules.segmentation.clone().unwrap_or_default(),
        assessment_months: rules.assessment_months,
        assessment_days: rules.assessment_days,
        rows: moves(&first, &second),
    })
}

/// Stores a day's proposals on the writer thread.
pub(crate) fn record(
    writer: &Committer,
    rules: &MarkerRules,
    run: MarkerRun,
    proposals: FastMap<ClientKey, Option<String>>,
    loaded: Option<Neighbours>,
) -> Result<RecordedDay, StoreError> {
    let name = rules.name.clone();
    writer.run(move |store| record_day(store, &name, run, &proposals, loaded))
}
