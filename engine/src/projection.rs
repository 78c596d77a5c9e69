//! The current state of every case: the projection of the event log.
//!
//! The log is the truth; this is rebuilt from it (or from a snapshot and the log after it). It
//! answers the questions staff ask: one client's cases and their status, and the reports over
//! all cases. Each case is pinned to the model version under which it was opened: the
//! projection holds every version a case uses.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use polku_dsl::Lang;

use crate::case::{self, CaseStatus, Compact, DeviationKind, Exec, Kind, Opening, Runtime};
use crate::chunks::Chunks;
use crate::event::{Event, EventKind, FactValue};
use crate::exec::{Machine, MachineError};
use crate::model::Model;
use crate::names::{Key, Names, NONE};
use crate::net::FxBuild;
use crate::time::Timestamp;

/// One model version the projection executes.
#[derive(Debug, Clone)]
pub struct Version {
    /// The model's content hash.
    pub hash: String,
    pub execs: Vec<Exec>,
    pub by_process: HashMap<String, u16>,
    /// Segmentation name → title, for reports.
    pub segmentations: BTreeMap<String, String>,
    /// The declared facts: name → whether it is a number (`luku`).
    pub facts: BTreeMap<String, bool>,
}

impl Version {
    pub fn new(hash: &str, model: &Model, names: &mut Names) -> Result<Version, MachineError> {
        let mut execs = Vec::new();
        let mut by_process = HashMap::new();
        for (name, process) in &model.processes {
            let machine = Machine::new(process)?;
            let segmentation = process.segmentation.as_deref();
            let segments = segmentation
                .and_then(|s| model.segmentations.get(s))
                .map(|s| s.segments.clone())
                .unwrap_or_default();
            by_process.insert(name.clone(), execs.len() as u16);
            execs.push(Exec::new(machine, &segments, segmentation, names));
        }
        let segmentations =
            model.segmentations.iter().map(|(k, v)| (k.clone(), v.title.clone())).collect();
        let facts = model.facts.iter().map(|(k, f)| (k.clone(), f.number)).collect();
        Ok(Version { hash: hash.to_owned(), execs, by_process, segmentations, facts })
    }
}

/// Why a case cannot move to another model version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(tag = "missing", content = "name", rename_all = "snake_case")]
pub enum MigrationBlock {
    /// The version has no process of the case's.
    Process(String),
    /// The case's segment (or one it had) is not a segment of the process there.
    Segment(String),
    /// A step the case's events name is not in the process there.
    Step(String),
    /// A phase the case completed is not in the process there.
    Phase(String),
}

impl MigrationBlock {
    pub fn describe(&self, lang: Lang) -> String {
        match (self, lang) {
            (MigrationBlock::Process(p), Lang::Fi) => format!("versiossa ei ole prosessia {p}"),
            (MigrationBlock::Process(p), Lang::En) => format!("the version has no process {p}"),
            (MigrationBlock::Segment(s), Lang::Fi) => {
                format!("prosessilla ei ole siinä versiossa segmenttiä {s}")
            }
            (MigrationBlock::Segment(s), Lang::En) => {
                format!("the process has no segment {s} in that version")
            }
            (MigrationBlock::Step(s), Lang::Fi) => {
                format!("tapauksen tapahtumien askelta {s} ei ole siinä versiossa")
            }
            (MigrationBlock::Step(s), Lang::En) => {
                format!("the step {s} the case's events name is not in that version")
            }
            (MigrationBlock::Phase(p), Lang::Fi) => {
                format!("tapauksen päättämää vaihetta {p} ei ole siinä versiossa")
            }
            (MigrationBlock::Phase(p), Lang::En) => {
                format!("the phase {p} the case completed is not in that version")
            }
        }
    }
}

/// Cases that would move alike: same process, segment and version left, same steps gained and
/// lost.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct MoveKey {
    process: String,
    segment: String,
    from: String,
    gained: Vec<String>,
    lost: Vec<String>,
}

/// Open cases that would move alike ([`Projection::migration_preview`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct MoveGroup {
    pub process: String,
    pub segment: String,
    /// The model version they leave (content hash).
    pub from: String,
    pub cases: u64,
    /// Planned steps they would have that they do not have now.
    pub gained: Vec<String>,
    /// Planned steps they have now that they would no longer have.
    pub lost: Vec<String>,
}

/// An open case that cannot move, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct BlockedCase {
    pub case: String,
    pub process: String,
    pub segment: String,
    pub reason: MigrationBlock,
}

/// What moving the open cases to a model version would do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct MigrationPreview {
    /// The version moved to (content hash).
    pub to: String,
    pub moves: Vec<MoveGroup>,
    pub blocked: Vec<BlockedCase>,
    /// Open cases already on that version.
    pub already: u64,
}

/// One case as the projection keeps it.
#[derive(Debug, Clone)]
pub struct CaseEntry {
    pub id: Box<str>,
    /// Index into the clients; [`NONE`] until the case is opened.
    pub client: u32,
    /// Model version and process; [`NONE`] until opened.
    pub version: u16,
    pub exec: u16,
    pub unit: u32,
    pub opening: Opening,
    /// Sorted by when they happened; equal times in arrival order.
    pub events: Vec<Compact>,
    pub rt: Option<Runtime>,
}

impl CaseEntry {
    pub fn is_open_at(&self, at: i64) -> bool {
        self.rt.is_some()
            && self.opening.opened <= at
            && !self.events.iter().any(|e| e.kind == Kind::CaseClosed && e.occurred <= at)
    }
}

/// Why an event cannot be accepted; the field at fault comes first.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    #[error("process: the model has no process {0}")]
    UnknownProcess(String),
    #[error("segment: process {process} has no segment {segment} (segments: {known})")]
    UnknownSegment { process: String, segment: String, known: String },
    #[error("case: {0} was already opened by another event")]
    OpenedTwice(String),
    #[error("{field}: the model declares no fact {fact} (facts: {known})")]
    UnknownFact { field: String, fact: String, known: String },
    #[error("{field}: {fact} is a number fact: give a whole number")]
    NumberExpected { field: String, fact: String },
    #[error("{field}: {fact} is a yes-or-no fact: give true or false")]
    FlagExpected { field: String, fact: String },
    /// A `case_migrated` of a case never opened.
    #[error("{}", self.say(Lang::En))]
    MigrateUnknownCase(String),
    /// A `case_migrated` whose `from` is not the version the case runs under.
    #[error("{}", self.say(Lang::En))]
    MigrateFrom { from: String, runs: String },
    /// A `case_migrated` to a version the store does not have.
    #[error("{}", self.say(Lang::En))]
    MigrateToUnknown(String),
    /// A `case_migrated` the case cannot make.
    #[error("{}", self.say(Lang::En))]
    CannotMigrate(MigrationBlock),
    /// The id was used before in the case for an event with other content.
    #[error(
        "id: {0} was already used for another event of this case (a repeat must be the same event)"
    )]
    Conflict(String),
}

impl Rejection {
    /// The message in `lang`, the field at fault first (`Display` is the English one).
    pub fn say(&self, lang: Lang) -> String {
        // `from` is as the sender wrote it: cut by characters, never inside one.
        let short = |hash: &str| hash.chars().take(12).collect::<String>();
        match (self, lang) {
            (Rejection::UnknownProcess(p), Lang::Fi) => {
                format!("process: mallissa ei ole prosessia {p}")
            }
            (Rejection::UnknownSegment { process, segment, known }, Lang::Fi) => format!(
                "segment: prosessissa {process} ei ole segmenttiä {segment} (segmentit: {known})"
            ),
            (Rejection::OpenedTwice(case), Lang::Fi) => {
                format!("case: {case} on jo avattu toisella tapahtumalla")
            }
            (Rejection::UnknownFact { field, fact, known }, Lang::Fi) => {
                format!("{field}: malli ei määrittele tietoa {fact} (tiedot: {known})")
            }
            (Rejection::NumberExpected { field, fact }, Lang::Fi) => {
                format!("{field}: {fact} on lukuarvoinen tieto: anna kokonaisluku")
            }
            (Rejection::FlagExpected { field, fact }, Lang::Fi) => {
                format!("{field}: {fact} on kyllä/ei-tieto: anna true tai false")
            }
            (Rejection::MigrateUnknownCase(case), Lang::Fi) => {
                format!("case: tapausta {case} ei ole avattu")
            }
            (Rejection::MigrateUnknownCase(case), Lang::En) => {
                format!("case: no case {case} has been opened")
            }
            (Rejection::MigrateFrom { from, runs }, Lang::Fi) => format!(
                "from: tapaus on malliversiolla {}, ei versiolla {}",
                short(runs),
                short(from)
            ),
            (Rejection::MigrateFrom { from, runs }, Lang::En) => format!(
                "from: the case runs under model version {}, not {}",
                short(runs),
                short(from)
            ),
            (Rejection::MigrateToUnknown(to), Lang::Fi) => {
                format!("to: tallennettua malliversiota {to} ei ole")
            }
            (Rejection::MigrateToUnknown(to), Lang::En) => {
                format!("to: no stored model version {to}")
            }
            (Rejection::CannotMigrate(block), lang) => format!("to: {}", block.describe(lang)),
            (Rejection::Conflict(id), Lang::Fi) => format!(
                "id: {id} on jo käytetty tämän tapauksen toiseen tapahtumaan (toiston on oltava sama tapahtuma)"
            ),
            (other, _) => other.to_string(),
        }
    }
}

/// What applying an event did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Applied(Option<DeviationKind>),
    /// The case already has this event (same id, same content): acknowledged, not applied
    /// again.
    Duplicate,
    /// The case already has an event of this id with other content: not applied.
    Conflict,
}

/// The start of a pregnancy from an opening's `due` date (40 weeks before it) or its
/// `pregnancy_start`.
pub fn pregnancy(due: &Option<String>, start: &Option<String>) -> Option<i64> {
    let date = |d: &Option<String>| d.as_deref().and_then(Timestamp::parse);
    date(start).or_else(|| date(due).map(|d| d.add_days(-280))).map(|t| t.0)
}

/// A stable 64-bit hash of an event id (FNV-1a with a final mix), the same on every run.
pub fn id_hash(id: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in id.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^ (h >> 33)
}

/// All cases, clients and model versions.
#[derive(Debug, Clone, Default)]
pub struct Projection {
    pub names: Names,
    pub versions: Vec<Version>,
    pub current: u16,
    pub cases: Chunks<CaseEntry>,
    pub case_index: HashMap<Key, u32, FxBuild>,
    pub clients: Chunks<[u8; 32]>,
    pub client_index: HashMap<[u8; 32], u32, FxBuild>,
    pub client_cases: Vec<Vec<u32>>,
    pub events: u64,
    /// What the cases whose client data was removed left for the reports, with how many cases
    /// left each ([`crate::retention`]); loaded from the store, not kept in snapshots.
    pub retained: Vec<(crate::retention::RetainedHistory, u64)>,
}

fn pseudonym_bytes(text: &str) -> [u8; 32] {
    let mut out = [0u8; 32];
    let hex = |c: u8| match c {
        b'0'..=b'9' => c - b'0',
        b'a'..=b'f' => c - b'a' + 10,
        b'A'..=b'F' => c - b'A' + 10,
        _ => 0,
    };
    for (i, pair) in text.as_bytes().chunks(2).take(32).enumerate() {
        out[i] = (hex(pair[0]) << 4) | pair.get(1).map_or(0, |&c| hex(c));
    }
    out
}

fn pseudonym_text(bytes: &[u8; 32]) -> String {
    crate::pseudonym::to_hex(bytes)
}

/// Where the open cases of one process stand: per phase and per step, how many cases have it
/// next or under way.
#[derive(Debug, Clone, Default, PartialEq, Serialize, schemars::JsonSchema)]
pub struct StandingReport {
    pub process: String,
    pub segment: Option<String>,
    pub total: u64,
    pub phases: BTreeMap<String, u64>,
    pub steps: BTreeMap<String, u64>,
}

/// Two units that serve the same clients at once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct UnitPair {
    pub units: [String; 2],
    pub clients: u64,
}

/// Clients served by several units at once.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct MultiUnitReport {
    pub clients: u64,
    pub pairs: Vec<UnitPair>,
}

/// The segment of every segmentation in a report.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct SegmentCount {
    pub segmentation: String,
    pub unit: String,
    pub segment: String,
    pub cases: u64,
}

/// How a professional decided a case's segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecisionKind {
    /// The segment the case was opened with.
    Opened,
    /// `segment_assessed`.
    Assessed,
    /// `segment_changed`.
    Changed,
}

/// A client's latest decision on a segment (see [`Projection::staff_decisions`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffDecision {
    pub client: [u8; 32],
    pub segment: String,
    pub kind: DecisionKind,
    /// When it was made (a timestamp).
    pub at: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct SegmentReport {
    pub date: String,
    pub cases: u64,
    pub rows: Vec<SegmentCount>,
}

#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct TransitionCount {
    pub segmentation: String,
    /// The segment on the first date; `uusi` for a case opened between the dates.
    pub from: String,
    /// The segment on the second date; `päättynyt` for a case closed between the dates.
    pub to: String,
    pub cases: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct TransitionReport {
    pub from: String,
    pub to: String,
    pub rows: Vec<TransitionCount>,
}

#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct CompletionRow {
    pub process: String,
    pub segment: String,
    pub unit: String,
    pub cases: u64,
    pub complete: u64,
    pub share: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct OverdueRow {
    pub role: String,
    pub steps: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct CompletionReport {
    pub as_of: String,
    pub cases: u64,
    pub events: u64,
    pub rows: Vec<CompletionRow>,
    pub overdue: Vec<OverdueRow>,
}

/// A client's status: every case, with the units involved.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct ClientStatus {
    pub client: String,
    pub units: Vec<String>,
    pub cases: Vec<CaseStatus>,
}

/// Whose cases a reader of a client's data sees: every unit's (the region's own tools), or only
/// those of some units (staff see the cases of their units, not what the client has elsewhere).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UnitScope {
    All,
    Only(std::sync::Arc<[String]>),
}

impl UnitScope {
    /// Whether a case of `unit` is seen.
    pub fn sees(&self, unit: &str) -> bool {
        match self {
            UnitScope::All => true,
            UnitScope::Only(units) => units.iter().any(|u| u == unit),
        }
    }

    /// Whether the cases of every one of `units` are seen.
    pub fn sees_all(&self, units: &[String]) -> bool {
        units.iter().all(|u| self.sees(u))
    }
}

impl ClientStatus {
    /// The status as a reader with `scope` sees it: only the cases (and units) it sees; `None`
    /// when it sees none.
    pub fn seen_by(mut self, scope: &UnitScope) -> Option<ClientStatus> {
        self.cases.retain(|c| scope.sees(&c.unit));
        self.units.retain(|u| scope.sees(u));
        (!self.cases.is_empty()).then_some(self)
    }
}

/// The label of a case opened between two dates.
pub const NEW: &str = "uusi";
/// The label of a case closed between two dates.
pub const CLOSED: &str = "päättynyt";

impl Projection {
    /// A projection executing `model` as its current version.
    pub fn new(hash: &str, model: &Model) -> Result<Projection, MachineError> {
        let mut projection = Projection::default();
        projection.add_version(hash, model)?;
        Ok(projection)
    }

    /// Adds a model version (or finds it by hash) and makes it current.
    pub fn add_version(&mut self, hash: &str, model: &Model) -> Result<u16, MachineError> {
        if let Some(i) = self.versions.iter().position(|v| v.hash == hash) {
            self.current = i as u16;
            return Ok(self.current);
        }
        let version = Version::new(hash, model, &mut self.names)?;
        self.versions.push(version);
        self.current = (self.versions.len() - 1) as u16;
        Ok(self.current)
    }

    pub fn version_index(&self, hash: &str) -> Option<u16> {
        self.versions.iter().position(|v| v.hash == hash).map(|i| i as u16)
    }

    fn case(&self, id: &str) -> Option<&CaseEntry> {
        self.case_index.get(id).map(|&i| &self.cases[i as usize])
    }

    /// The pseudonym of the client a case belongs to, and the case's unit; `None` for an
    /// unknown or not yet opened case.
    pub fn case_owner(&self, id: &str) -> Option<(String, String)> {
        let case = self.case(id)?;
        case.rt.as_ref()?;
        let client = pseudonym_text(self.clients.get(case.client as usize)?);
        Some((client, self.names.get(case.unit).to_owned()))
    }

    /// The unit of a case; `None` for an unknown or not yet opened case.
    pub fn case_unit(&self, id: &str) -> Option<&str> {
        let case = self.case(id)?;
        case.rt.as_ref()?;
        Some(self.names.get(case.unit))
    }

    /// How many cases are open now.
    pub fn open_cases(&self) -> u64 {
        self.cases.iter().filter(|c| c.rt.as_ref().is_some_and(|rt| rt.closed.is_none())).count()
            as u64
    }

    /// The units in which a client (by pseudonym) has a case, open or closed.
    pub fn client_units(&self, pseudonym: &str) -> Vec<String> {
        let Some(&client) = self.client_index.get(&pseudonym_bytes(pseudonym)) else {
            return Vec::new();
        };
        let mut ids: Vec<_> = self.client_cases[client as usize]
            .iter()
            .map(|&i| self.cases[i as usize].unit)
            .collect();
        ids.sort_unstable();
        ids.dedup();
        let mut units: Vec<String> =
            ids.into_iter().map(|u| self.names.get(u).to_owned()).collect();
        units.sort_unstable();
        units
    }

    /// Checks an event before it is stored: `Ok(true)` when it is new, `Ok(false)` when the
    /// case already has an event of its id.
    pub fn check(&self, event: &Event) -> Result<bool, Rejection> {
        let existing = self.case(&event.case);
        if let Some(case) = existing {
            let hash = id_hash(&event.id);
            if case.events.iter().any(|e| e.id == hash) {
                return Ok(false);
            }
        }
        if let EventKind::CaseOpened { process, segment, .. } = &event.kind {
            let version = &self.versions[usize::from(self.current)];
            let Some(&exec) = version.by_process.get(process) else {
                return Err(Rejection::UnknownProcess(process.clone()));
            };
            let exec = &version.execs[usize::from(exec)];
            let known = self.names.find(segment).is_some_and(|s| exec.segments.contains(&s));
            if !exec.segments.is_empty() && !known {
                return Err(Rejection::UnknownSegment {
                    process: process.clone(),
                    segment: segment.clone(),
                    known: exec
                        .segments
                        .iter()
                        .map(|&s| self.names.get(s))
                        .collect::<Vec<_>>()
                        .join(", "),
                });
            }
            if let Some(case) = existing {
                if case.rt.is_some() {
                    return Err(Rejection::OpenedTwice(event.case.clone()));
                }
            }
        }
        if let EventKind::CaseMigrated { from, to } = &event.kind {
            let case = existing
                .filter(|c| c.rt.is_some())
                .ok_or_else(|| Rejection::MigrateUnknownCase(event.case.clone()))?;
            let runs = &self.versions[usize::from(case.version)].hash;
            if from != runs {
                return Err(Rejection::MigrateFrom { from: from.clone(), runs: runs.clone() });
            }
            let version =
                self.version_index(to).ok_or_else(|| Rejection::MigrateToUnknown(to.clone()))?;
            self.migration_target(case, version).map_err(Rejection::CannotMigrate)?;
        }
        self.check_facts(event, existing)?;
        Ok(true)
    }

    /// The process (exec) of `version` a case would run under after moving there, or why it
    /// cannot move: its process, its segment, or a step or phase its events name is not in
    /// that version.
    pub fn migration_target(&self, case: &CaseEntry, version: u16) -> Result<u16, MigrationBlock> {
        let process = self.versions[usize::from(case.version)].execs[usize::from(case.exec)]
            .machine
            .process
            .clone();
        let target = &self.versions[usize::from(version)];
        let Some(&exec) = target.by_process.get(&process) else {
            return Err(MigrationBlock::Process(process));
        };
        let to = &target.execs[usize::from(exec)];
        // A step or phase the case's own version does not know either (an event that named a
        // step the process has not, kept as a deviation) means the same there as here.
        let from = &self.versions[usize::from(case.version)].execs[usize::from(case.exec)];
        let segment = case.rt.as_ref().map_or(case.opening.segment, |rt| rt.segment);
        if !to.segments.is_empty() && !to.segments.contains(&segment) {
            return Err(MigrationBlock::Segment(self.names.get(segment).to_owned()));
        }
        for event in &case.events {
            match event.kind {
                Kind::StepStarted
                | Kind::StepCompleted
                | Kind::StepCancelled
                | Kind::StepNotNeeded
                    if !to.resolver.steps.contains_key(&event.a)
                        && from.resolver.steps.contains_key(&event.a) =>
                {
                    return Err(MigrationBlock::Step(self.names.get(event.a).to_owned()));
                }
                Kind::PhaseCompleted
                    if !to.resolver.phases.contains_key(&event.a)
                        && from.resolver.phases.contains_key(&event.a) =>
                {
                    return Err(MigrationBlock::Phase(self.names.get(event.a).to_owned()));
                }
                Kind::SegmentAssessed | Kind::SegmentChanged
                    if !to.segments.is_empty() && !to.segments.contains(&event.a) =>
                {
                    return Err(MigrationBlock::Segment(self.names.get(event.a).to_owned()));
                }
                _ => {}
            }
        }
        Ok(exec)
    }

    /// Replays a case under another version's process (`to`, a copy of an exec of that
    /// version, whose caches the replay fills), as it would run after moving there: its runtime
    /// and opening there.
    fn replay_under(names: &Names, case: &CaseEntry, to: &mut Exec) -> (Runtime, Opening) {
        let mut opening = case.opening;
        // The opening's facts, valued anew: the facts the plans depend on may differ.
        let facts = case.events.iter().find(|e| e.kind == Kind::CaseOpened).map(|e| e.b);
        let given: Vec<(String, u32)> = match facts {
            Some(text) if text != NONE => names
                .get(text)
                .split(';')
                .filter_map(|pair| pair.split_once('='))
                .map(|(f, v)| {
                    let value = match v {
                        "true" => 1,
                        "false" => 0,
                        n => n.parse().unwrap_or(0),
                    };
                    (f.to_owned(), value)
                })
                .collect(),
            _ => Vec::new(),
        };
        opening.facts = to
            .machine
            .facts
            .valuation(|f| given.iter().find(|(name, _)| name == f).map(|(_, v)| *v));
        let rt = case::replay(to, opening, &case.events, None);
        (rt, opening)
    }

    /// What moving every open case that is not on `version` to it would do, without doing it:
    /// per process, segment and version left, how many cases move and which planned steps
    /// they gain and lose; and each case that cannot move, with why.
    pub fn migration_preview(&self, version: u16) -> MigrationPreview {
        let mut groups: BTreeMap<MoveKey, u64> = BTreeMap::new();
        // One working copy of each target process, its caches shared by the cases replayed.
        let mut targets: HashMap<u16, Exec> = HashMap::new();
        let mut blocked = Vec::new();
        let mut already = 0;
        for case in &self.cases {
            let Some(rt) = case.rt.as_ref() else { continue };
            if rt.closed.is_some() {
                continue;
            }
            if case.version == version {
                already += 1;
                continue;
            }
            let from = &self.versions[usize::from(case.version)].execs[usize::from(case.exec)];
            let process = from.machine.process.clone();
            let segment = self.names.get(rt.segment).to_owned();
            match self.migration_target(case, version) {
                Err(reason) => blocked.push(BlockedCase {
                    case: case.id.to_string(),
                    process,
                    segment,
                    reason,
                }),
                Ok(exec) => {
                    let target = targets.entry(exec).or_insert_with(|| {
                        self.versions[usize::from(version)].execs[usize::from(exec)].clone()
                    });
                    let (moved, _) = Projection::replay_under(&self.names, case, target);
                    let to = &self.versions[usize::from(version)].execs[usize::from(exec)];
                    let names = |machine: &crate::exec::Machine, set: crate::exec::StepSet| {
                        machine
                            .steps
                            .iter()
                            .enumerate()
                            .filter(|(i, _)| set & (1 << i) != 0)
                            .map(|(_, s)| s.name.clone())
                            .collect::<std::collections::BTreeSet<String>>()
                    };
                    let before = names(&from.machine, from.machine.masks(rt.plan).planned);
                    let after = names(&to.machine, to.machine.masks(moved.plan).planned);
                    let key = MoveKey {
                        process,
                        segment,
                        from: self.versions[usize::from(case.version)].hash.clone(),
                        gained: after.difference(&before).cloned().collect(),
                        lost: before.difference(&after).cloned().collect(),
                    };
                    *groups.entry(key).or_default() += 1;
                }
            }
        }
        blocked.sort_by(|a, b| {
            (&a.process, &a.segment, &a.case).cmp(&(&b.process, &b.segment, &b.case))
        });
        MigrationPreview {
            to: self.versions[usize::from(version)].hash.clone(),
            moves: groups
                .into_iter()
                .map(|(k, cases)| MoveGroup {
                    process: k.process,
                    segment: k.segment,
                    from: k.from,
                    cases,
                    gained: k.gained,
                    lost: k.lost,
                })
                .collect(),
            blocked,
            already,
        }
    }

    /// The open cases that can move to `version` and are not on it: (case id, the version
    /// they leave).
    pub fn movable_cases(&self, version: u16) -> Vec<(String, String)> {
        self.cases
            .iter()
            .filter(|c| c.rt.as_ref().is_some_and(|rt| rt.closed.is_none()))
            .filter(|c| c.version != version && self.migration_target(c, version).is_ok())
            .map(|c| (c.id.to_string(), self.versions[usize::from(c.version)].hash.clone()))
            .collect()
    }

    /// The facts an event gives are facts the model declares, of the right kind: those of the
    /// version the case runs under, or of the current one for a case not yet opened.
    fn check_facts(&self, event: &Event, case: Option<&CaseEntry>) -> Result<(), Rejection> {
        let given: Vec<(String, &str, FactValue)> = match &event.kind {
            EventKind::CaseOpened { facts, .. } => {
                facts.iter().map(|(f, v)| (format!("facts.{f}"), f.as_str(), *v)).collect()
            }
            EventKind::FactRecorded { fact, value } => vec![("fact".to_owned(), fact, *value)],
            _ => return Ok(()),
        };
        let version = match (&event.kind, case) {
            (EventKind::FactRecorded { .. }, Some(case)) if case.rt.is_some() => case.version,
            _ => self.current,
        };
        let declared = &self.versions[usize::from(version)].facts;
        for (field, fact, value) in given {
            let fact = fact.to_owned();
            match (declared.get(&fact), value) {
                (None, _) => {
                    let known: Vec<&str> = declared.keys().map(String::as_str).collect();
                    let known = if known.is_empty() { "none".to_owned() } else { known.join(", ") };
                    return Err(Rejection::UnknownFact { field, fact, known });
                }
                (Some(true), FactValue::Flag(_)) => {
                    return Err(Rejection::NumberExpected { field, fact });
                }
                (Some(false), FactValue::Number(_)) => {
                    return Err(Rejection::FlagExpected { field, fact });
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn compact(&mut self, event: &Event) -> Compact {
        let n = &mut self.names;
        let (kind, a, b, c) = match &event.kind {
            EventKind::CaseOpened { segment, facts, .. } => {
                // The facts as one text, so that a repeat is known by them too.
                let facts = if facts.is_empty() {
                    NONE
                } else {
                    let text: Vec<String> =
                        facts.iter().map(|(f, v)| format!("{f}={}", v.text())).collect();
                    n.intern(&text.join(";"))
                };
                (Kind::CaseOpened, n.intern(segment), facts, NONE)
            }
            EventKind::FactRecorded { fact, value } => {
                (Kind::FactRecorded, n.intern(fact), value.as_number(), NONE)
            }
            EventKind::StepStarted { step } => (Kind::StepStarted, n.intern(step), NONE, NONE),
            EventKind::StepCompleted { step } => (Kind::StepCompleted, n.intern(step), NONE, NONE),
            EventKind::StepCancelled { step, reason } => {
                (Kind::StepCancelled, n.intern(step), n.intern(reason), NONE)
            }
            EventKind::StepNotNeeded { step, reason, reason_code } => {
                // A blank reason code is no reason code.
                let code = reason_code
                    .as_deref()
                    .filter(|c| !c.trim().is_empty())
                    .map_or(NONE, |c| n.intern(c));
                (Kind::StepNotNeeded, n.intern(step), n.intern(reason), code)
            }
            EventKind::PhaseCompleted { phase } => {
                (Kind::PhaseCompleted, n.intern(phase), NONE, NONE)
            }
            EventKind::SegmentAssessed { segment, reason, by, .. } => {
                let reason = reason.as_deref().map_or(NONE, |r| n.intern(r));
                let by = if by.is_empty() { NONE } else { n.intern(by) };
                (Kind::SegmentAssessed, n.intern(segment), by, reason)
            }
            EventKind::SegmentChanged { from, to, reason, by } => {
                // Who decided goes with the reason, for `polku explain`
                // ([`crate::explain::reason_and_by`]).
                let reason =
                    if by.is_empty() { reason.clone() } else { format!("{reason}\u{1f}{by}") };
                (Kind::SegmentChanged, n.intern(to), n.intern(from), n.intern(&reason))
            }
            EventKind::ReferralSent { referral, to_process } => {
                (Kind::ReferralSent, n.intern(referral), n.intern(to_process), NONE)
            }
            EventKind::ReferralAccepted { referral } => {
                (Kind::ReferralAccepted, n.intern(referral), NONE, NONE)
            }
            EventKind::ReferralDeclined { referral, reason } => {
                (Kind::ReferralDeclined, n.intern(referral), n.intern(reason), NONE)
            }
            EventKind::CaseClosed { reason } => (Kind::CaseClosed, NONE, n.intern(reason), NONE),
            EventKind::CaseMigrated { from, to } => {
                (Kind::CaseMigrated, n.intern(to), n.intern(from), NONE)
            }
        };
        Compact { occurred: event.occurred.0, id: id_hash(&event.id), kind, a, b, c }
    }

    /// Checks and applies an event in one go, as ingest does: only an opening can be refused,
    /// so other events go straight to [`Projection::apply`], which spots repeats itself.
    pub fn accept(&mut self, event: &Event, version: u16) -> Result<Outcome, Rejection> {
        if matches!(
            event.kind,
            EventKind::CaseOpened { .. }
                | EventKind::FactRecorded { .. }
                | EventKind::CaseMigrated { .. }
        ) {
            // A repeat (or a conflict) is decided by `apply`, which compares the content.
            self.check(event)?;
        }
        match self.apply(event, version) {
            Outcome::Conflict => Err(Rejection::Conflict(event.id.clone())),
            outcome => Ok(outcome),
        }
    }

    /// Is `event` (whose compact form is `compact`) the event `stored` of case `index` again?
    /// The kind, the time and every name it carries must be the same; of an opening, also the
    /// client, process, unit and date of birth. `recorded` and `role` may differ: a record
    /// system that sends an event again may stamp it anew.
    fn same_event(&self, index: usize, stored: &Compact, compact: &Compact, event: &Event) -> bool {
        // Who decided a segment is not part of what makes an event the same (a store written
        // before it was kept has none).
        let reason = |c: u32| crate::explain::reason_and_by(self.names.get(c)).0;
        let same = stored.kind == compact.kind
            && stored.occurred == compact.occurred
            && stored.a == compact.a
            && (stored.b == compact.b || compact.kind == Kind::SegmentAssessed)
            && (stored.c == compact.c
                || compact.kind == Kind::SegmentChanged && reason(stored.c) == reason(compact.c));
        if !same {
            return false;
        }
        let EventKind::CaseOpened { client, process, unit, born, due, pregnancy_start, .. } =
            &event.kind
        else {
            return true;
        };
        let case = &self.cases[index];
        let known_client = self.client_index.get(&pseudonym_bytes(client)) == Some(&case.client);
        let known_unit = self.names.find(unit) == Some(case.unit);
        let known_process =
            self.versions.get(usize::from(case.version)).and_then(|v| v.by_process.get(process))
                == Some(&case.exec);
        let known_born =
            born.as_deref().and_then(Timestamp::parse).map(|t| t.0) == case.opening.born;
        let known_pregnancy = pregnancy(due, pregnancy_start) == case.opening.pregnancy;
        known_client && known_unit && known_process && known_born && known_pregnancy
    }

    /// Applies an event that [`Projection::check`] accepted. `version` is the model version
    /// current when the event was accepted: a case opened by it is pinned to that version.
    pub fn apply(&mut self, event: &Event, version: u16) -> Outcome {
        let compact = self.compact(event);
        let index = match self.case_index.get(event.case.as_str()) {
            Some(&i) => i as usize,
            None => {
                let i = self.cases.len();
                self.cases.push(CaseEntry {
                    id: event.case.as_str().into(),
                    client: NONE,
                    version: 0,
                    exec: 0,
                    unit: NONE,
                    opening: Opening::new(0, NONE),
                    // Room for a typical case's events, so that they rarely move.
                    events: Vec::with_capacity(16),
                    rt: None,
                });
                self.case_index.insert(Key::new(&event.case), i as u32);
                i
            }
        };
        if let Some(stored) = self.cases[index].events.iter().find(|e| e.id == compact.id) {
            return if self.same_event(index, stored, &compact, event) {
                Outcome::Duplicate
            } else {
                Outcome::Conflict
            };
        }
        self.events += 1;
        if let EventKind::CaseOpened {
            client,
            process,
            unit,
            segment,
            born,
            due,
            pregnancy_start,
            facts,
        } = &event.kind
        {
            let version = version.min(self.versions.len().saturating_sub(1) as u16);
            let Some(&exec) = self.versions[usize::from(version)].by_process.get(process) else {
                // Checked before; an unknown process is kept in the case's events only.
                self.cases[index].events.push(compact);
                return Outcome::Applied(None);
            };
            let client = self.client(client);
            let unit = self.names.intern(unit);
            let segment = self.names.intern(segment);
            let valuation = self.versions[usize::from(version)].execs[usize::from(exec)]
                .machine
                .facts
                .valuation(|f| facts.get(f).map(|v| v.as_number()));
            let case = &mut self.cases[index];
            case.client = client;
            case.version = version;
            case.exec = exec;
            case.unit = unit;
            case.opening = Opening {
                opened: event.occurred.0,
                born: born.as_deref().and_then(Timestamp::parse).map(|t| t.0),
                pregnancy: pregnancy(due, pregnancy_start),
                segment,
                facts: valuation,
            };
            // Kept in case order, as a snapshot restores them.
            let list = &mut self.client_cases[client as usize];
            let at = list.partition_point(|&c| c < index as u32);
            list.insert(at, index as u32);
        }
        let migrated = match &event.kind {
            EventKind::CaseMigrated { to, .. } if self.cases[index].rt.is_some() => self
                .version_index(to)
                .and_then(|v| self.migration_target(&self.cases[index], v).ok().map(|e| (v, e))),
            _ => None,
        };
        if let Some((version, exec)) = migrated {
            // From now on the whole history is read under the version moved to.
            let case = &mut self.cases[index];
            let at = case.events.partition_point(|e| e.occurred <= compact.occurred);
            case.events.insert(at, compact);
            let Projection { names, cases, versions, .. } = self;
            let to = &mut versions[usize::from(version)].execs[usize::from(exec)];
            let (rt, opening) = Projection::replay_under(names, &cases[index], to);
            let case = &mut self.cases[index];
            case.version = version;
            case.exec = exec;
            case.opening = opening;
            case.rt = Some(rt);
            return Outcome::Applied(None);
        }
        let case = &mut self.cases[index];
        // Event time; at the same moment the opening comes first and the closing last, and
        // otherwise the order of arrival.
        let rank = |e: &Compact| {
            let kind = match e.kind {
                Kind::CaseOpened => 0,
                Kind::CaseClosed => 2,
                _ => 1,
            };
            (e.occurred, kind)
        };
        let at = case.events.partition_point(|e| rank(e) <= rank(&compact));
        let in_order = at == case.events.len();
        case.events.insert(at, compact);
        let Some(exec) = self
            .versions
            .get_mut(usize::from(case.version))
            .and_then(|v| v.execs.get_mut(usize::from(case.exec)))
        else {
            return Outcome::Applied(None);
        };
        if case.opening.segment == NONE {
            // Not opened yet: the events wait for the opening event.
            return Outcome::Applied(None);
        }
        match (&mut case.rt, in_order && compact.kind != Kind::CaseOpened) {
            (Some(rt), true) => {
                let i = case.events.len() - 1;
                Outcome::Applied(case::apply(exec, rt, case.opening.opened, &compact, i, None))
            }
            _ => {
                let (rt, deviation) =
                    case::replay_watching(exec, case.opening, &case.events, None, at);
                case.rt = Some(rt);
                Outcome::Applied(deviation)
            }
        }
    }

    fn client(&mut self, pseudonym: &str) -> u32 {
        let bytes = pseudonym_bytes(pseudonym);
        if let Some(&i) = self.client_index.get(&bytes) {
            return i;
        }
        let i = self.clients.len() as u32;
        self.clients.push(bytes);
        self.client_index.insert(bytes, i);
        self.client_cases.push(Vec::new());
        i
    }

    /// The number of cases opened.
    pub fn opened_cases(&self) -> u64 {
        self.cases.iter().filter(|c| c.rt.is_some()).count() as u64
    }

    fn exec_of(&self, case: &CaseEntry) -> Option<&Exec> {
        case.rt.as_ref()?;
        self.versions.get(usize::from(case.version))?.execs.get(usize::from(case.exec))
    }

    /// The status of one case as of `now`.
    pub fn case_status(&mut self, id: &str, now: i64, lang: Lang) -> Option<CaseStatus> {
        let &index = self.case_index.get(id)?;
        let case = &self.cases[index as usize];
        case.rt.as_ref()?;
        let version = self.versions.get_mut(usize::from(case.version))?;
        let hash = version.hash.clone();
        let exec = version.execs.get_mut(usize::from(case.exec))?;
        Some(case::status(
            exec,
            &self.names,
            &case.id,
            case.unit,
            &hash,
            case.opening,
            &case.events,
            now,
            lang,
        ))
    }

    /// Every case of a client (by pseudonym), as of `now`; `None` for an unknown client.
    pub fn client_status(&mut self, pseudonym: &str, now: i64, lang: Lang) -> Option<ClientStatus> {
        let &client = self.client_index.get(&pseudonym_bytes(pseudonym))?;
        let ids: Vec<Box<str>> = self.client_cases[client as usize]
            .iter()
            .map(|&i| self.cases[i as usize].id.clone())
            .collect();
        let cases: Vec<CaseStatus> =
            ids.iter().filter_map(|id| self.case_status(id, now, lang)).collect();
        let mut units: Vec<String> = cases.iter().map(|c| c.unit.clone()).collect();
        units.sort();
        units.dedup();
        Some(ClientStatus { client: pseudonym_text(&self.clients[client as usize]), units, cases })
    }

    /// A client's index, by pseudonym.
    pub fn client_of(&self, pseudonym: &str) -> Option<u32> {
        self.client_index.get(&pseudonym_bytes(pseudonym)).copied()
    }

    /// The segment of a case at a time.
    fn segment_at(&self, case: &CaseEntry, exec: &Exec, at: i64) -> u32 {
        let mut segment = case.opening.segment;
        for e in &case.events {
            if e.occurred > at {
                break;
            }
            if matches!(e.kind, Kind::SegmentAssessed | Kind::SegmentChanged)
                && (exec.segments.is_empty() || exec.segments.contains(&e.a))
            {
                segment = e.a;
            }
        }
        segment
    }

    /// Each client's latest decision by a professional on a segment of `segmentation`, made at
    /// or before `at`: the segment a case was opened with, an assessment or a change. A client
    /// with several cases in the segmentation has the latest of their decisions.
    pub fn staff_decisions(&self, segmentation: &str, at: i64) -> Vec<StaffDecision> {
        let mut latest: HashMap<u32, StaffDecision> = HashMap::new();
        for case in &self.cases {
            let Some(exec) = self.exec_of(case) else { continue };
            // A closed case's decisions no longer speak for the client.
            if !case.is_open_at(at)
                || exec.segmentation == NONE
                || self.names.get(exec.segmentation) != segmentation
            {
                continue;
            }
            let mut decision = (case.opening.opened, case.opening.segment, DecisionKind::Opened);
            for e in &case.events {
                if e.occurred > at {
                    break;
                }
                let kind = match e.kind {
                    Kind::SegmentAssessed => DecisionKind::Assessed,
                    Kind::SegmentChanged => DecisionKind::Changed,
                    _ => continue,
                };
                if exec.segments.is_empty() || exec.segments.contains(&e.a) {
                    decision = (e.occurred, e.a, kind);
                }
            }
            let (when, segment, kind) = decision;
            let entry = StaffDecision {
                client: self.clients[case.client as usize],
                segment: self.names.get(segment).to_owned(),
                kind,
                at: when,
            };
            match latest.get(&case.client) {
                Some(known) if known.at > when => {}
                _ => {
                    latest.insert(case.client, entry);
                }
            }
        }
        let mut out: Vec<StaffDecision> = latest.into_values().collect();
        out.sort_by_key(|d| d.client);
        out
    }

    /// The segment distribution on a date (at its end), per segmentation and unit.
    pub fn segment_report(&self, date: i64) -> SegmentReport {
        let at = end_of_day(date);
        let mut counts: HashMap<(u32, u32, u32), u64> = HashMap::new();
        let mut total = 0;
        for case in &self.cases {
            let Some(exec) = self.exec_of(case) else { continue };
            if !case.is_open_at(at) {
                continue;
            }
            total += 1;
            let segment = self.segment_at(case, exec, at);
            *counts.entry((exec.segmentation, case.unit, segment)).or_default() += 1;
        }
        let mut named: HashMap<(String, String, String), u64> = HashMap::new();
        for ((segmentation, unit, segment), cases) in counts {
            let key = (
                self.names.get(segmentation).to_owned(),
                self.names.get(unit).to_owned(),
                self.names.get(segment).to_owned(),
            );
            *named.entry(key).or_default() += cases;
        }
        // The cases whose client data was removed, as they left their histories.
        let day = crate::retention::local_day(at);
        for (history, cases) in &self.retained {
            if history.open_on(day) {
                total += cases;
                let key = (
                    history.segmentation.clone(),
                    history.unit.clone(),
                    history.segment_on(day).to_owned(),
                );
                *named.entry(key).or_default() += cases;
            }
        }
        let mut rows: Vec<SegmentCount> = named
            .into_iter()
            .map(|((segmentation, unit, segment), cases)| SegmentCount {
                segmentation,
                unit,
                segment,
                cases,
            })
            .collect();
        rows.sort_by(|a, b| {
            (&a.segmentation, &a.unit, &a.segment).cmp(&(&b.segmentation, &b.unit, &b.segment))
        });
        SegmentReport { date: date_text(date), cases: total, rows }
    }

    /// How cases moved between segments from the end of one date to the end of another.
    pub fn transition_report(&self, from: i64, to: i64) -> TransitionReport {
        let (start, end) = (end_of_day(from), end_of_day(to));
        let mut counts: HashMap<(u32, String, String), u64> = HashMap::new();
        for case in &self.cases {
            let Some(exec) = self.exec_of(case) else { continue };
            if case.opening.opened > end {
                continue;
            }
            let before = if case.opening.opened > start {
                NEW.to_owned()
            } else if !case.is_open_at(start) {
                continue;
            } else {
                self.names.get(self.segment_at(case, exec, start)).to_owned()
            };
            let after = if case.is_open_at(end) {
                self.names.get(self.segment_at(case, exec, end)).to_owned()
            } else {
                CLOSED.to_owned()
            };
            *counts.entry((exec.segmentation, before, after)).or_default() += 1;
        }
        let mut named: HashMap<(String, String, String), u64> = HashMap::new();
        for ((segmentation, from, to), cases) in counts {
            *named.entry((self.names.get(segmentation).to_owned(), from, to)).or_default() += cases;
        }
        // The cases whose client data was removed, as they left their histories.
        let (first, last) = (crate::retention::local_day(start), crate::retention::local_day(end));
        for (history, cases) in &self.retained {
            if history.opened > last {
                continue;
            }
            let before = if history.opened > first {
                NEW.to_owned()
            } else if !history.open_on(first) {
                continue;
            } else {
                history.segment_on(first).to_owned()
            };
            let after = if history.open_on(last) {
                history.segment_on(last).to_owned()
            } else {
                CLOSED.to_owned()
            };
            *named.entry((history.segmentation.clone(), before, after)).or_default() += cases;
        }
        let mut rows: Vec<TransitionCount> = named
            .into_iter()
            .map(|((segmentation, from, to), cases)| TransitionCount {
                segmentation,
                from,
                to,
                cases,
            })
            .collect();
        rows.sort_by(|a, b| {
            (&a.segmentation, &a.from, &a.to).cmp(&(&b.segmentation, &b.from, &b.to))
        });
        TransitionReport { from: date_text(from), to: date_text(to), rows }
    }

    /// How many open cases of `process` stand in each phase and at each step now, counting
    /// only cases in `segment` when one is given. Aggregates only: no case or client is named.
    pub fn standing_report(&self, process: &str, segment: Option<&str>) -> StandingReport {
        let mut report = StandingReport {
            process: process.to_owned(),
            segment: segment.map(str::to_owned),
            ..StandingReport::default()
        };
        let wanted = segment.map(|s| self.names.find(s));
        if wanted == Some(None) {
            return report;
        }
        for case in &self.cases {
            let Some(rt) = &case.rt else { continue };
            if rt.closed.is_some() || wanted.is_some_and(|w| w != Some(rt.segment)) {
                continue;
            }
            let Some(exec) = self.exec_of(case) else { continue };
            let machine = &exec.machine;
            if machine.process != process {
                continue;
            }
            let enabled = machine.enabled_steps(rt.position, rt.silent(machine));
            let (next, phases) = case::standing(machine, rt, enabled);
            report.total += 1;
            for phase in phases {
                *report.phases.entry(machine.phases[usize::from(phase)].0.clone()).or_default() +=
                    1;
            }
            for (i, def) in machine.steps.iter().enumerate() {
                if (next | rt.open) & (1 << i) != 0 {
                    *report.steps.entry(def.name.clone()).or_default() += 1;
                }
            }
        }
        report
    }

    /// Clients with open cases in more than one unit at once, and how many of them each pair
    /// of units shares. Aggregates only.
    pub fn multi_unit_report(&self) -> MultiUnitReport {
        let mut pairs: BTreeMap<(String, String), u64> = BTreeMap::new();
        let mut clients = 0;
        for cases in &self.client_cases {
            let mut units: Vec<u32> = cases
                .iter()
                .map(|&i| &self.cases[i as usize])
                .filter(|c| c.rt.as_ref().is_some_and(|rt| rt.closed.is_none()))
                .map(|c| c.unit)
                .collect();
            units.sort_unstable();
            units.dedup();
            if units.len() < 2 {
                continue;
            }
            clients += 1;
            for (i, &a) in units.iter().enumerate() {
                for &b in &units[i + 1..] {
                    let mut pair = [self.names.get(a).to_owned(), self.names.get(b).to_owned()];
                    pair.sort();
                    let [a, b] = pair;
                    *pairs.entry((a, b)).or_default() += 1;
                }
            }
        }
        let mut rows: Vec<UnitPair> = pairs
            .into_iter()
            .map(|((a, b), clients)| UnitPair { units: [a, b], clients })
            .collect();
        rows.sort_by(|x, y| y.clients.cmp(&x.clients).then_with(|| x.units.cmp(&y.units)));
        MultiUnitReport { clients, pairs: rows }
    }

    /// The share of cases whose planned service is complete, per process, segment and unit,
    /// and the overdue required steps of open cases per role, as of `now`.
    pub fn completion_report(&mut self, now: i64) -> CompletionReport {
        let mut counts: HashMap<(String, u32, u32), (u64, u64)> = HashMap::new();
        let mut overdue: HashMap<String, u64> = HashMap::new();
        let mut total = 0;
        for case in &self.cases {
            let Some(rt) = &case.rt else { continue };
            let Some(exec) = self
                .versions
                .get_mut(usize::from(case.version))
                .and_then(|v| v.execs.get_mut(usize::from(case.exec)))
            else {
                continue;
            };
            total += 1;
            let complete = rt.complete(&exec.machine);
            // Cases of one process count together whatever model version they run on.
            let process = exec.machine.process.clone();
            let entry = counts.entry((process, rt.segment, case.unit)).or_default();
            entry.0 += 1;
            entry.1 += u64::from(complete);
            if complete || rt.closed.is_some() {
                continue;
            }
            let mut detail = case::Detail::new(&exec.machine);
            let rt = case::replay(exec, case.opening, &case.events, Some(&mut detail));
            let due = case::deadlines(exec, &rt, case.opening, &detail);
            let missing = rt.missing(&exec.machine);
            let plan = &exec.machine.masks(rt.plan).plan;
            for (i, deadline) in due.iter().enumerate() {
                let late = deadline.is_some_and(|d| Timestamp(d).end_of_local_day().0 < now);
                if missing & (1 << i) == 0 || !late {
                    continue;
                }
                if let Some(step) = plan.step(&exec.machine.steps[i].name) {
                    for role in &step.roles {
                        *overdue.entry(role.clone()).or_default() += 1;
                    }
                }
            }
        }
        let mut rows: Vec<CompletionRow> = counts
            .into_iter()
            .map(|((process, segment, unit), (cases, complete))| CompletionRow {
                process,
                segment: self.names.get(segment).to_owned(),
                unit: self.names.get(unit).to_owned(),
                cases,
                complete,
                share: if cases == 0 { 0.0 } else { complete as f64 / cases as f64 },
            })
            .collect();
        rows.sort_by(|a, b| {
            (&a.process, &a.segment, &a.unit).cmp(&(&b.process, &b.segment, &b.unit))
        });
        let mut overdue: Vec<OverdueRow> =
            overdue.into_iter().map(|(role, steps)| OverdueRow { role, steps }).collect();
        overdue.sort_by(|a, b| b.steps.cmp(&a.steps).then(a.role.cmp(&b.role)));
        CompletionReport {
            as_of: Timestamp(now).local_text(),
            cases: total,
            events: self.events,
            rows,
            overdue,
        }
    }
}

/// A streaming FNV-1a hash for digests.
struct Fnv(u64);

impl Fnv {
    fn bytes(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }
    fn str(&mut self, s: &str) {
        self.bytes(&(s.len() as u64).to_le_bytes());
        self.bytes(s.as_bytes());
    }
}

impl Projection {
    /// A digest of the whole state in terms of names, not of internal numbering: two
    /// projections built from the same events in any way (replay, snapshot, incrementally)
    /// have the same digest.
    pub fn digest(&self) -> u64 {
        let mut h = Fnv(0xcbf2_9ce4_8422_2325);
        let mut order: Vec<&CaseEntry> = self.cases.iter().collect();
        order.sort_by(|a, b| a.id.cmp(&b.id));
        let name = |id: u32| self.names.get(id);
        for case in order {
            h.str(&case.id);
            h.bytes(&case.events.len().to_le_bytes());
            for e in &case.events {
                h.bytes(&e.occurred.to_le_bytes());
                h.bytes(&e.id.to_le_bytes());
                h.bytes(&[e.kind as u8]);
                // A fact's value is a number, not a name.
                let b_is_name = e.kind != Kind::FactRecorded;
                for (k, x) in [e.a, e.b, e.c].into_iter().enumerate() {
                    if k == 1 && !b_is_name {
                        h.bytes(&x.to_le_bytes());
                    } else {
                        h.str(name(x));
                    }
                }
            }
            let Some(rt) = &case.rt else { continue };
            if let Some(client) = self.clients.get(case.client as usize) {
                h.bytes(client);
            }
            if let Some(exec) = self.exec_of(case) {
                h.str(&exec.machine.process);
            }
            h.str(&self.versions[usize::from(case.version)].hash);
            h.str(name(case.unit));
            h.bytes(&case.opening.opened.to_le_bytes());
            h.bytes(&case.opening.born.unwrap_or(i64::MIN).to_le_bytes());
            h.bytes(&case.opening.pregnancy.unwrap_or(i64::MIN).to_le_bytes());
            h.bytes(&case.opening.facts.to_le_bytes());
            h.str(name(case.opening.segment));
            h.str(name(rt.segment));
            h.bytes(&rt.plan.to_le_bytes());
            for set in [rt.planned_ever, rt.skipped, rt.fired, rt.open, rt.satisfied] {
                h.bytes(&set.to_le_bytes());
            }
            h.bytes(&rt.done);
            h.bytes(&rt.closed.unwrap_or(i64::MIN).to_le_bytes());
        }
        h.bytes(&self.events.to_le_bytes());
        let mut retained: Vec<&(crate::retention::RetainedHistory, u64)> =
            self.retained.iter().collect();
        retained.sort();
        for (history, cases) in retained {
            h.str(&serde_json::to_string(history).unwrap_or_default());
            h.bytes(&cases.to_le_bytes());
        }
        h.0
    }
}

/// The end of a date's day in Finnish time: reports count what is true when that day is over.
fn end_of_day(date: i64) -> i64 {
    Timestamp(date).end_of_local_day().0
}

fn date_text(date: i64) -> String {
    Timestamp(date).local_date_text()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_migrations_from_is_cut_by_characters_in_either_language() {
        // 13 bytes, whose 12th is inside the last character.
        let from = "a€€€€".to_owned();
        let rejection = Rejection::MigrateFrom { from, runs: "0123456789abcdef".into() };
        assert_eq!(
            rejection.say(Lang::En),
            "from: the case runs under model version 0123456789ab, not a€€€€"
        );
        assert!(rejection.say(Lang::Fi).starts_with("from: tapaus on malliversiolla 0123456789ab"));
        assert_eq!(rejection.to_string(), rejection.say(Lang::En));
    }
}
