//! One client's case: its events in event time, the state they lead to, and its status.
//!
//! A case keeps its events in a compact form (names interned, the sender's id hashed), sorted
//! by when they happened. An event that arrives late, earlier than events already applied, is
//! put in its place and the case is replayed, so the state always follows event time. The
//! state is what the hot path needs: the position on the flow, the segment and plan, and which
//! steps are done. Everything else a status shows (deadlines, when a phase began, what deviated)
//! comes from replaying the case's few events with a [`Detail`] collecting along the way.

use serde::Serialize;

use polku_dsl::ast::{Anchor, Duration, TimeUnit};
use polku_dsl::Lang;

use crate::exec::{Machine, Move, StepSet};
use crate::names::{Names, NONE};
use crate::time::Timestamp;

/// What an event is, in compact form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[repr(u8)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    CaseOpened,
    StepStarted,
    StepCompleted,
    StepCancelled,
    StepNotNeeded,
    PhaseCompleted,
    SegmentAssessed,
    SegmentChanged,
    ReferralSent,
    ReferralAccepted,
    ReferralDeclined,
    CaseClosed,
    FactRecorded,
    /// `a` the version moved to, `b` the version left (content hashes).
    CaseMigrated,
}

impl Kind {
    /// Every kind, in the order of its number (`kind as u8`), for reading stored numbers back.
    pub const ALL: [Kind; 14] = [
        Kind::CaseOpened,
        Kind::StepStarted,
        Kind::StepCompleted,
        Kind::StepCancelled,
        Kind::StepNotNeeded,
        Kind::PhaseCompleted,
        Kind::SegmentAssessed,
        Kind::SegmentChanged,
        Kind::ReferralSent,
        Kind::ReferralAccepted,
        Kind::ReferralDeclined,
        Kind::CaseClosed,
        Kind::FactRecorded,
        Kind::CaseMigrated,
    ];

    /// The kind of a stored number.
    pub fn from_u8(number: u8) -> Option<Kind> {
        Kind::ALL.get(usize::from(number)).copied()
    }
}

/// An event as a case keeps it. The meaning of `a`, `b` and `c` (interned names) depends on
/// the kind: the step, phase, new segment, referral or fact in `a`; the reason, previous segment
/// or target process in `b` (of a fact, its value as a number: 0 or 1 for no or yes; of an
/// opening, its facts as one text); a reason code or the assessment's reason in `c`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Compact {
    pub occurred: i64,
    /// A hash of the sender's id, for idempotency within the case.
    pub id: u64,
    pub kind: Kind,
    pub a: u32,
    pub b: u32,
    pub c: u32,
}

/// A named way in which real work deviated from the plan. The event still counts.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum DeviationKind {
    /// The step was not enabled: steps before it on the flow are still to do.
    OutOfOrder,
    /// The step is in the process but not in the plan of the case's segment.
    NotInPlan,
    /// The step was already done as many times as planned and the flow does not come back to it.
    Repeated,
    /// The process has no step (or phase, segment or referral) of that name.
    UnknownStep,
    UnknownPhase,
    UnknownSegment,
    UnknownReferral,
    /// A statutory step marked not needed without a reason code: it stays required.
    StatutoryWithoutReasonCode,
    /// The event happened before the case was opened.
    BeforeOpen,
    /// The event happened after the case was closed.
    AfterClose,
    /// A segment change whose `from` is not the case's segment at that time.
    SegmentMismatch,
}

impl DeviationKind {
    pub fn describe(self, lang: Lang) -> &'static str {
        match (self, lang) {
            (DeviationKind::OutOfOrder, Lang::Fi) => "tehty ennen edeltäviä askelia",
            (DeviationKind::OutOfOrder, Lang::En) => "done before the steps that precede it",
            (DeviationKind::NotInPlan, Lang::Fi) => "ei kuulu segmentin suunnitelmaan",
            (DeviationKind::NotInPlan, Lang::En) => "not in the segment's plan",
            (DeviationKind::Repeated, Lang::Fi) => "toistettu suunniteltua useammin",
            (DeviationKind::Repeated, Lang::En) => "repeated more often than planned",
            (DeviationKind::UnknownStep, Lang::Fi) => "prosessissa ei ole tämän nimistä askelta",
            (DeviationKind::UnknownStep, Lang::En) => "the process has no step of this name",
            (DeviationKind::UnknownPhase, Lang::Fi) => "prosessissa ei ole tämän nimistä vaihetta",
            (DeviationKind::UnknownPhase, Lang::En) => "the process has no phase of this name",
            (DeviationKind::UnknownSegment, Lang::Fi) => "segmentointi ei tunne segmenttiä",
            (DeviationKind::UnknownSegment, Lang::En) => "the segmentation has no such segment",
            (DeviationKind::UnknownReferral, Lang::Fi) => "tapauksella ei ole tätä ohjausta",
            (DeviationKind::UnknownReferral, Lang::En) => "the case sent no such referral",
            (DeviationKind::StatutoryWithoutReasonCode, Lang::Fi) => {
                "lakisääteinen askel merkitty tarpeettomaksi ilman syykoodia; askel on yhä pakollinen"
            }
            (DeviationKind::StatutoryWithoutReasonCode, Lang::En) => {
                "statutory step marked not needed without a reason code; it stays required"
            }
            (DeviationKind::BeforeOpen, Lang::Fi) => "tapahtui ennen tapauksen avaamista",
            (DeviationKind::BeforeOpen, Lang::En) => "happened before the case was opened",
            (DeviationKind::AfterClose, Lang::Fi) => "tapahtui tapauksen sulkemisen jälkeen",
            (DeviationKind::AfterClose, Lang::En) => "happened after the case was closed",
            (DeviationKind::SegmentMismatch, Lang::Fi) => {
                "muutoksen lähtösegmentti ei ole tapauksen segmentti"
            }
            (DeviationKind::SegmentMismatch, Lang::En) => {
                "the change's `from` is not the case's segment"
            }
        }
    }
}

/// The state of a case after its events, as the hot path keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Runtime {
    pub position: u32,
    /// The segment (interned).
    pub segment: u32,
    /// The plan in use: an index into the machine's plans.
    pub plan: u16,
    /// Every step some plan of the case has held: those left out by a later segment stay as
    /// optional.
    pub planned_ever: StepSet,
    /// Steps marked not needed.
    pub skipped: StepSet,
    /// Steps whose transition has fired.
    pub fired: StepSet,
    /// Steps started and not yet completed or cancelled.
    pub open: StepSet,
    /// Steps done as many times as planned.
    pub satisfied: StepSet,
    /// How many times each step has been completed.
    pub done: Box<[u8]>,
    pub closed: Option<i64>,
}

impl Runtime {
    pub fn new(machine: &Machine, segment: u32, plan: u16) -> Runtime {
        Runtime {
            position: Machine::START,
            segment,
            plan,
            planned_ever: machine.masks(plan).planned,
            skipped: 0,
            fired: 0,
            open: 0,
            satisfied: 0,
            done: vec![0; machine.steps.len()].into_boxed_slice(),
            closed: None,
        }
    }

    /// The required steps of the current plan not yet satisfied.
    pub fn missing(&self, machine: &Machine) -> StepSet {
        machine.masks(self.plan).required & !self.skipped & !self.satisfied
    }

    pub fn complete(&self, machine: &Machine) -> bool {
        self.missing(machine) == 0
    }

    /// The steps that move silently: everything but the required steps still to do.
    pub fn silent(&self, machine: &Machine) -> StepSet {
        !(machine.masks(self.plan).required & !self.skipped)
    }
}

/// The names a machine resolves: interned name → index.
#[derive(Debug, Clone, Default)]
pub struct Resolver {
    pub steps: std::collections::HashMap<u32, u16, crate::net::FxBuild>,
    pub phases: std::collections::HashMap<u32, u16, crate::net::FxBuild>,
    /// Segment (interned) → plan index; a segment of the segmentation without content of its own
    /// maps to the generic plan.
    pub plans: std::collections::HashMap<u32, u16, crate::net::FxBuild>,
    /// Fact (interned) → its name, for the facts the plans depend on.
    pub facts: std::collections::HashMap<u32, String, crate::net::FxBuild>,
}

/// A machine with its names resolved.
#[derive(Debug, Clone)]
pub struct Exec {
    pub machine: Machine,
    pub resolver: Resolver,
    /// The process's segments (interned), from its segmentation.
    pub segments: Vec<u32>,
    /// The segmentation (interned), or [`NONE`].
    pub segmentation: u32,
}

impl Exec {
    pub fn new(
        machine: Machine,
        segments: &[String],
        segmentation: Option<&str>,
        names: &mut Names,
    ) -> Exec {
        let mut resolver = Resolver::default();
        for (i, step) in machine.steps.iter().enumerate() {
            resolver.steps.insert(names.intern(&step.name), i as u16);
        }
        for (i, (phase, _)) in machine.phases.iter().enumerate() {
            resolver.phases.insert(names.intern(phase), i as u16);
        }
        let mut interned = Vec::new();
        for segment in segments {
            let id = names.intern(segment);
            interned.push(id);
            resolver.plans.insert(id, machine.plan_index(Some(segment)));
        }
        for (segment, _) in &machine.plans {
            if let Some(segment) = segment {
                let id = names.intern(segment);
                resolver.plans.entry(id).or_insert_with(|| machine.plan_index(Some(segment)));
            }
        }
        for fact in machine.facts.flags.iter().chain(&machine.facts.number) {
            resolver.facts.insert(names.intern(fact), fact.clone());
        }
        let segmentation = segmentation.map_or(NONE, |s| names.intern(s));
        Exec { machine, resolver, segments: interned, segmentation }
    }
}

/// A deviation found while replaying a case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deviation {
    /// Index into the case's events.
    pub event: usize,
    pub kind: DeviationKind,
}

/// What a detailed replay collects for a status.
#[derive(Debug, Clone, Default)]
pub struct Detail {
    /// When each step was done as many times as planned.
    pub satisfied_at: Vec<Option<i64>>,
    /// The last cancellation or "not needed" of each step, with its reason.
    pub note: Vec<Option<(Kind, u32)>>,
    pub phase_entered: Vec<Option<i64>>,
    pub deviations: Vec<Deviation>,
    /// (when, from, to, reason) in interned names.
    pub transitions: Vec<(i64, u32, u32, u32)>,
    /// (referral, target process, state, when) with state 0 sent, 1 accepted, 2 declined.
    pub referrals: Vec<(u32, u32, u8, i64)>,
    pub closed_reason: u32,
}

impl Detail {
    pub fn new(machine: &Machine) -> Detail {
        Detail {
            satisfied_at: vec![None; machine.steps.len()],
            note: vec![None; machine.steps.len()],
            phase_entered: vec![None; machine.phases.len()],
            ..Detail::default()
        }
    }
}

/// Applies one event to a case's state. Returns the deviation, if the event deviated.
pub fn apply(
    exec: &mut Exec,
    rt: &mut Runtime,
    opened: i64,
    event: &Compact,
    index: usize,
    mut detail: Option<&mut Detail>,
) -> Option<DeviationKind> {
    let mut deviation = None;
    if event.kind != Kind::CaseOpened {
        if event.occurred < opened {
            deviation = Some(DeviationKind::BeforeOpen);
        } else if rt.closed.is_some_and(|closed| event.occurred > closed) {
            deviation = Some(DeviationKind::AfterClose);
        }
    }
    let found = match event.kind {
        // The move itself changes nothing in the replay: the replay already runs under the
        // version moved to.
        Kind::CaseOpened | Kind::CaseMigrated => None,
        Kind::StepStarted | Kind::StepCompleted | Kind::StepCancelled | Kind::StepNotNeeded => {
            match exec.resolver.steps.get(&event.a).copied() {
                None => Some(DeviationKind::UnknownStep),
                Some(step) => step_event(exec, rt, event, step, detail.as_deref_mut()),
            }
        }
        Kind::PhaseCompleted => match exec.resolver.phases.get(&event.a).copied() {
            None => Some(DeviationKind::UnknownPhase),
            Some(phase) => {
                let silent = rt.silent(&exec.machine);
                let (position, moved) = exec.machine.complete_phase(rt.position, silent, phase);
                rt.position = position;
                (moved == Move::NotEnabled).then_some(DeviationKind::OutOfOrder)
            }
        },
        Kind::SegmentAssessed | Kind::SegmentChanged => {
            let to = event.a;
            let mismatch = event.kind == Kind::SegmentChanged && event.b != rt.segment;
            let from = rt.segment;
            let result = match exec.resolver.plans.get(&to).copied() {
                None if !exec.segments.is_empty() => Some(DeviationKind::UnknownSegment),
                plan => {
                    if to != rt.segment {
                        rt.segment = to;
                        let valuation = exec.machine.valuation(rt.plan);
                        rt.plan = exec.machine.with_valuation(plan.unwrap_or(0), valuation);
                        rt.planned_ever |= exec.machine.masks(rt.plan).planned;
                        rt.satisfied = satisfied(exec, rt);
                        if let Some(d) = detail.as_deref_mut() {
                            d.transitions.push((event.occurred, from, to, event.c));
                        }
                    }
                    mismatch.then_some(DeviationKind::SegmentMismatch)
                }
            };
            result
        }
        Kind::ReferralSent => {
            if let Some(d) = detail.as_deref_mut() {
                d.referrals.push((event.a, event.b, 0, event.occurred));
            }
            None
        }
        Kind::ReferralAccepted | Kind::ReferralDeclined => {
            // Whether the case sent it is known only from its own events.
            if let Some(d) = detail.as_deref_mut() {
                let state = if event.kind == Kind::ReferralAccepted { 1 } else { 2 };
                match d.referrals.iter_mut().find(|r| r.0 == event.a) {
                    Some(r) => {
                        r.2 = state;
                        r.3 = event.occurred;
                        None
                    }
                    None => Some(DeviationKind::UnknownReferral),
                }
            } else {
                None
            }
        }
        Kind::FactRecorded => {
            // A fact the plans do not depend on changes nothing here.
            let machine = &exec.machine;
            let valuation = machine.valuation(rt.plan);
            let next = exec
                .resolver
                .facts
                .get(&event.a)
                .and_then(|fact| machine.facts.set(valuation, fact, event.b));
            if let Some(next) = next.filter(|&n| n != valuation) {
                rt.plan = machine.with_valuation(rt.plan, next);
                rt.planned_ever |= machine.masks(rt.plan).planned;
                rt.satisfied = satisfied(exec, rt);
            }
            None
        }
        Kind::CaseClosed => {
            rt.closed = Some(event.occurred);
            if let Some(d) = detail.as_deref_mut() {
                d.closed_reason = event.b;
            }
            None
        }
    };
    let deviation = found.or(deviation);
    if let Some(kind) = deviation {
        if let Some(d) = detail.as_deref_mut() {
            d.deviations.push(Deviation { event: index, kind });
        }
    }
    if let Some(d) = detail {
        enter_phases(exec, rt, d, event.occurred);
    }
    deviation
}

/// Steps done as many times as the current plan says.
fn satisfied(exec: &Exec, rt: &Runtime) -> StepSet {
    let count = &exec.machine.masks(rt.plan).count;
    let mut out = 0;
    for (i, &done) in rt.done.iter().enumerate() {
        if done >= count[i] {
            out |= 1 << i;
        }
    }
    out
}

/// Moves the tokens for a step (or, with `commit` false, only looks whether it could move) and
/// names the deviation if the flow did not allow it.
fn flow_move(
    exec: &mut Exec,
    rt: &mut Runtime,
    step: u16,
    count: u8,
    commit: bool,
) -> Option<DeviationKind> {
    let i = usize::from(step);
    if !exec.machine.steps[i].on_flow {
        return (rt.done[i] >= count).then_some(DeviationKind::Repeated);
    }
    let silent = rt.silent(&exec.machine);
    let (position, moved) = exec.machine.step(rt.position, silent, step);
    if commit {
        rt.position = position;
    }
    match moved {
        Move::InOrder => None,
        Move::Forced => Some(DeviationKind::OutOfOrder),
        Move::NotEnabled if rt.done[i] >= count => Some(DeviationKind::Repeated),
        Move::NotEnabled => Some(DeviationKind::OutOfOrder),
    }
}

fn step_event(
    exec: &mut Exec,
    rt: &mut Runtime,
    event: &Compact,
    step: u16,
    mut detail: Option<&mut Detail>,
) -> Option<DeviationKind> {
    let bit: StepSet = 1 << step;
    let plan = &exec.machine.masks(rt.plan);
    let in_plan = rt.planned_ever & bit != 0;
    let statutory = plan.statutory & bit != 0;
    let count = plan.count[usize::from(step)];
    let i = usize::from(step);
    let mut deviation = (!in_plan).then_some(DeviationKind::NotInPlan);
    match event.kind {
        Kind::StepNotNeeded => {
            if statutory && event.c == NONE {
                deviation = deviation.or(Some(DeviationKind::StatutoryWithoutReasonCode));
            } else {
                rt.skipped |= bit;
                rt.open &= !bit;
            }
        }
        Kind::StepCancelled => {
            rt.open &= !bit;
        }
        Kind::StepStarted => {
            let open = rt.open & bit != 0;
            let again_within_count = rt.fired & bit != 0 && rt.done[i] < count;
            if !open && !again_within_count {
                // A new occurrence must be allowed by the flow; the tokens move only when it
                // is completed (a start may still be cancelled).
                deviation = deviation.or(flow_move(exec, rt, step, count, false));
            }
            rt.open |= bit;
        }
        Kind::StepCompleted => {
            let open = rt.open & bit != 0;
            let again_within_count = rt.fired & bit != 0 && rt.done[i] < count;
            if !again_within_count {
                let moved = flow_move(exec, rt, step, count, true);
                // A started step's deviation was told when it started.
                if !open {
                    deviation = deviation.or(moved);
                }
                rt.fired |= bit;
            }
            rt.open &= !bit;
            rt.done[i] = rt.done[i].saturating_add(1);
            if rt.done[i] >= count {
                rt.satisfied |= bit;
                if let Some(d) = detail.as_deref_mut() {
                    if rt.done[i] == count {
                        d.satisfied_at[i] = Some(event.occurred);
                    }
                }
            }
        }
        _ => {}
    }
    if let Some(d) = detail {
        if matches!(event.kind, Kind::StepCancelled | Kind::StepNotNeeded) {
            d.note[i] = Some((event.kind, event.b));
        }
    }
    deviation
}

/// Records when phases first had work enabled or going on.
fn enter_phases(exec: &Exec, rt: &Runtime, detail: &mut Detail, at: i64) {
    let machine = &exec.machine;
    let active = machine.enabled_steps(rt.position, rt.silent(machine)) | rt.open;
    for (i, step) in machine.steps.iter().enumerate() {
        if active & (1 << i) != 0 {
            let slot = &mut detail.phase_entered[usize::from(step.phase)];
            slot.get_or_insert(at);
        }
    }
}

/// Adds a duration to a time: minutes and hours as elapsed time; days, weeks, months and years
/// on the Finnish calendar (the same time of day); working days skipping weekends.
pub fn add_duration(at: Timestamp, duration: &Duration) -> Timestamp {
    let mut t = at;
    for &(amount, unit) in &duration.parts {
        let n = i64::from(amount);
        t = match unit {
            TimeUnit::Minute => Timestamp(t.0 + n * 60),
            TimeUnit::Hour => Timestamp(t.0 + n * 3600),
            TimeUnit::Day => t.add_days(n),
            TimeUnit::Week => t.add_days(n * 7),
            TimeUnit::WorkingDay => t.add_working_days(n),
            TimeUnit::Month => t.add_months(n),
            TimeUnit::Year => t.add_months(12 * n),
        };
    }
    t
}

/// The state of one planned step in a status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum StepState {
    Done,
    InProgress,
    Pending,
    Overdue,
    NotNeeded,
}

impl StepState {
    pub fn word(self, lang: Lang) -> &'static str {
        match (self, lang) {
            (StepState::Done, Lang::Fi) => "tehty",
            (StepState::Done, Lang::En) => "done",
            (StepState::InProgress, Lang::Fi) => "kesken",
            (StepState::InProgress, Lang::En) => "in progress",
            (StepState::Pending, Lang::Fi) => "odottaa",
            (StepState::Pending, Lang::En) => "pending",
            (StepState::Overdue, Lang::Fi) => "myöhässä",
            (StepState::Overdue, Lang::En) => "overdue",
            (StepState::NotNeeded, Lang::Fi) => "ei tarpeen",
            (StepState::NotNeeded, Lang::En) => "not needed",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct StepStatus {
    pub step: String,
    pub title: String,
    pub phase: String,
    pub state: StepState,
    pub required: bool,
    pub statutory: bool,
    /// From a plan of an earlier segment: kept, no longer required.
    pub earlier_plan: bool,
    pub done: u32,
    pub count: u32,
    pub roles: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deadline: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deadline_rule: Option<String>,
    /// When the step's time window opens (`aikaisintaan`): it is not due before.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub opens: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct TransitionRecord {
    pub at: String,
    pub from: String,
    pub to: String,
    pub reason: String,
}

/// A move of the case to another model version (`polku migrate`): when, and the versions'
/// content hashes.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct MigrationRecord {
    pub at: String,
    pub from: String,
    pub to: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct DeviationRecord {
    pub event: String,
    pub at: String,
    pub kind: DeviationKind,
    pub subject: String,
    pub explanation: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct ReferralRecord {
    pub referral: String,
    pub to_process: String,
    pub state: &'static str,
    pub at: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct PhaseRef {
    pub phase: String,
    pub title: String,
}

/// Everything staff need to know of one case.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct CaseStatus {
    pub case: String,
    pub process: String,
    pub process_title: String,
    pub unit: String,
    pub model_version: String,
    pub opened: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub closed: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub closed_reason: Option<String>,
    pub segment: String,
    /// The facts the case's plan depends on, as the case now has them (none when its process
    /// names no facts).
    pub facts: Vec<CaseFact>,
    /// The week of pregnancy as of the status's time, as `14+3` (weeks and days), where the
    /// case carries a pregnancy.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pregnancy_week: Option<String>,
    pub current_phases: Vec<PhaseRef>,
    pub steps: Vec<StepStatus>,
    pub next: Vec<String>,
    pub complete: bool,
    /// In plain words, what is still missing.
    pub missing: Vec<String>,
    pub transitions: Vec<TransitionRecord>,
    pub referrals: Vec<ReferralRecord>,
    pub deviations: Vec<DeviationRecord>,
    /// Each move to another model version, oldest first.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub migrations: Vec<MigrationRecord>,
    pub events: usize,
}

/// A fact of a case: its name and value.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct CaseFact {
    pub fact: String,
    pub value: crate::event::FactValue,
}

/// The fixed facts of a case, from its opening event.
#[derive(Debug, Clone, Copy)]
pub struct Opening {
    pub opened: i64,
    pub born: Option<i64>,
    /// The start of the pregnancy (the expected due date less 40 weeks), for deadlines by
    /// pregnancy week.
    pub pregnancy: Option<i64>,
    pub segment: u32,
    /// The valuation of the facts given on opening (see [`crate::exec::FactSpace`]).
    pub facts: u16,
}

impl Opening {
    /// A case opened at `opened` with `segment` and nothing else known.
    pub fn new(opened: i64, segment: u32) -> Opening {
        Opening { opened, born: None, pregnancy: None, segment, facts: 0 }
    }
}

/// Replays a case from its events.
pub fn replay(
    exec: &mut Exec,
    opening: Opening,
    events: &[Compact],
    detail: Option<&mut Detail>,
) -> Runtime {
    replay_watching(exec, opening, events, detail, usize::MAX).0
}

/// Replays a case and tells the deviation of the event at index `watch` (an event that arrived
/// late and was put in its place).
pub fn replay_watching(
    exec: &mut Exec,
    opening: Opening,
    events: &[Compact],
    mut detail: Option<&mut Detail>,
    watch: usize,
) -> (Runtime, Option<DeviationKind>) {
    let plan = exec.resolver.plans.get(&opening.segment).copied().unwrap_or(0);
    let plan = exec.machine.with_valuation(plan, opening.facts);
    let mut rt = Runtime::new(&exec.machine, opening.segment, plan);
    if let Some(d) = detail.as_deref_mut() {
        enter_phases(exec, &rt, d, opening.opened);
    }
    let mut watched = None;
    for (i, event) in events.iter().enumerate() {
        let deviation = apply(exec, &mut rt, opening.opened, event, i, detail.as_deref_mut());
        if i == watch {
            watched = deviation;
        }
    }
    (rt, watched)
}

/// The deadline of each step of the current plan, where its anchor has happened.
pub fn deadlines(exec: &Exec, rt: &Runtime, opening: Opening, detail: &Detail) -> Vec<Option<i64>> {
    windows(exec, rt, opening, detail).into_iter().map(|(_, latest)| latest).collect()
}

/// The time window of each step of the current plan, where its anchors have happened: when it
/// opens (`aikaisintaan`) and its deadline (`määräaika`). A lead time (`ennen askelta S`)
/// counts back from the deadline of `S`.
pub fn windows(
    exec: &Exec,
    rt: &Runtime,
    opening: Opening,
    detail: &Detail,
) -> Vec<(Option<i64>, Option<i64>)> {
    let machine = &exec.machine;
    let masks = &machine.masks(rt.plan);
    let mut out = vec![(None, None); machine.steps.len()];
    let mut leads: Vec<(usize, bool, &Duration, u16)> = Vec::new();
    // The previous step: the nearest earlier one of the plan that was not passed over (an
    // optional step not done, or one marked not needed, does not count).
    let mut previous: Option<Option<i64>> = None;
    for step in &masks.plan.steps {
        let Some(&i) = machine.step_index.get(&step.name) else { continue };
        let at = usize::from(i);
        for (end, bound) in [(false, &step.earliest), (true, &step.deadline)] {
            let Some(bound) = bound else { continue };
            let anchor = match &bound.anchor {
                Anchor::CaseStart => Some(opening.opened),
                Anchor::PhaseStart => detail.phase_entered[usize::from(machine.steps[at].phase)],
                Anchor::PreviousStep => previous.flatten(),
                Anchor::Step(name) => machine
                    .step_index
                    .get(&name.text)
                    .and_then(|&s| detail.satisfied_at[usize::from(s)]),
                Anchor::Age => opening.born,
                Anchor::PregnancyWeek => opening.pregnancy,
                Anchor::BeforeStep(name) => {
                    if let Some(&other) = machine.step_index.get(&name.text) {
                        leads.push((at, end, &bound.after, other));
                    }
                    None
                }
            };
            let mut time = anchor.map(|a| add_duration(Timestamp(a), &bound.after).0);
            // A week of pregnancy opens at its start and closes at its end.
            if end && bound.anchor == Anchor::PregnancyWeek {
                time = time.map(|t| Timestamp(t).add_days(6).0);
            }
            if end {
                out[at].1 = time;
            } else {
                out[at].0 = time;
            }
        }
        let bit: StepSet = 1 << i;
        let passed_over =
            rt.skipped & bit != 0 || (masks.required & bit == 0 && rt.satisfied & bit == 0);
        if !passed_over {
            previous = Some(detail.satisfied_at[at]);
        }
    }
    // Lead times, once the deadlines they count back from are known.
    for (at, end, lead, other) in leads {
        let time = out[usize::from(other)].1.map(|d| subtract_duration(Timestamp(d), lead).0);
        if end {
            out[at].1 = time;
        } else {
            out[at].0 = time;
        }
    }
    out
}

/// Goes back a duration from a time, as [`add_duration`] goes forward.
pub fn subtract_duration(at: Timestamp, duration: &Duration) -> Timestamp {
    let mut t = at;
    for &(amount, unit) in &duration.parts {
        let n = i64::from(amount);
        t = match unit {
            TimeUnit::Minute => Timestamp(t.0 - n * 60),
            TimeUnit::Hour => Timestamp(t.0 - n * 3600),
            TimeUnit::Day => t.add_days(-n),
            TimeUnit::Week => t.add_days(-n * 7),
            TimeUnit::WorkingDay => t.subtract_working_days(n),
            TimeUnit::Month => t.add_months(-n),
            TimeUnit::Year => t.add_months(-12 * n),
        };
    }
    t
}

/// Where an open case stands: the steps that come next (enabled on the flow and planned, or
/// added by the segment in a phase already reached, and neither done, passed over nor under
/// way) and the phases those steps and the ones under way belong to. `enabled` is
/// `machine.enabled_steps` at the case's position.
pub fn standing(machine: &Machine, rt: &Runtime, enabled: StepSet) -> (StepSet, Vec<u16>) {
    let masks = &machine.masks(rt.plan);
    // A step a segment adds is off the flow: it comes next once its phase has been reached,
    // that is once a step of that phase or a later one is enabled or done.
    let reached = machine
        .steps
        .iter()
        .enumerate()
        .filter(|(i, d)| d.on_flow && (enabled | rt.fired) & (1 << i) != 0)
        .map(|(_, d)| d.phase)
        .max();
    let added_reached = machine
        .steps
        .iter()
        .enumerate()
        .filter(|(_, d)| !d.on_flow && reached.is_some_and(|r| d.phase <= r))
        .fold(0 as StepSet, |acc, (i, _)| acc | (1 << i));
    let next_steps: StepSet = if rt.closed.is_some() {
        0
    } else {
        ((enabled & rt.planned_ever) | (masks.planned & added_reached))
            & !rt.satisfied
            & !rt.skipped
            & !rt.open
    };
    let mut phases: Vec<u16> = (0..machine.steps.len())
        .filter(|&i| (next_steps | rt.open) & (1 << i) != 0)
        .map(|i| machine.steps[i].phase)
        .collect();
    phases.sort_unstable();
    phases.dedup();
    (next_steps, phases)
}

/// The status of a case as of `now`.
#[allow(clippy::too_many_arguments)]
pub fn status(
    exec: &mut Exec,
    names: &Names,
    case: &str,
    unit: u32,
    model_version: &str,
    opening: Opening,
    events: &[Compact],
    now: i64,
    lang: Lang,
) -> CaseStatus {
    let mut detail = Detail::new(&exec.machine);
    let rt = replay(exec, opening, events, Some(&mut detail));
    let due = windows(exec, &rt, opening, &detail);
    let machine = &exec.machine;
    let masks = &machine.masks(rt.plan);
    let silent = rt.silent(machine);
    let enabled = machine.enabled_steps(rt.position, silent);
    let mut steps = Vec::new();
    let mut missing = Vec::new();
    // Times for staff: Finnish time, with its offset.
    let time = |t: i64| Timestamp(t).local_text();
    for (i, def) in machine.steps.iter().enumerate() {
        let bit: StepSet = 1 << i;
        if rt.planned_ever & bit == 0 && rt.done[i] == 0 && rt.open & bit == 0 {
            continue;
        }
        let planned = masks.plan.step(&def.name);
        let required = masks.required & bit != 0;
        let count = u32::from(masks.count[i]);
        let done = u32::from(rt.done[i]);
        let (opens, deadline) = due[i];
        let state = if rt.skipped & bit != 0 {
            StepState::NotNeeded
        } else if rt.satisfied & bit != 0 {
            StepState::Done
        } else if deadline.is_some_and(|d| Timestamp(d).end_of_local_day().0 < now)
            && (required || rt.open & bit != 0)
        {
            StepState::Overdue
        } else if rt.open & bit != 0 || done > 0 {
            StepState::InProgress
        } else {
            StepState::Pending
        };
        // A cancellation explains a step still to do; once the step is done it is history.
        let note = detail.note[i].filter(|_| state != StepState::Done).map(|(kind, reason)| {
            let word = match (kind, lang) {
                (Kind::StepCancelled, Lang::Fi) => "peruttu",
                (Kind::StepCancelled, Lang::En) => "cancelled",
                (_, Lang::Fi) => "ei tarpeen",
                (_, Lang::En) => "not needed",
            };
            format!("{word}: {}", names.get(reason))
        });
        let title = if def.title.is_empty() { def.name.clone() } else { def.title.clone() };
        if required && rt.skipped & bit == 0 && rt.satisfied & bit == 0 {
            let mut words = match lang {
                Lang::Fi if count > 1 => format!("{title}: {done}/{count} tehty"),
                Lang::En if count > 1 => format!("{title}: {done} of {count} done"),
                Lang::Fi => format!("{title}: ei vielä tehty"),
                Lang::En => format!("{title}: not done yet"),
            };
            if let Some(o) = opens.filter(|&o| o > now) {
                let date = Timestamp(o).local_date_text();
                words += &match lang {
                    Lang::Fi => format!(", aikaisintaan {date}"),
                    Lang::En => format!(", not before {date}"),
                };
            }
            if let Some(d) = deadline {
                let date = Timestamp(d).local_date_text();
                words += &match (state == StepState::Overdue, lang) {
                    (true, Lang::Fi) => format!(", myöhässä (määräaika {date})"),
                    (true, Lang::En) => format!(", overdue (deadline {date})"),
                    (false, Lang::Fi) => format!(", määräaika {date}"),
                    (false, Lang::En) => format!(", deadline {date}"),
                };
            }
            if masks.statutory & bit != 0 {
                words += match lang {
                    Lang::Fi => " (lakisääteinen)",
                    Lang::En => " (statutory)",
                };
            }
            missing.push(words);
        }
        steps.push(StepStatus {
            step: def.name.clone(),
            title,
            phase: machine.phases[usize::from(def.phase)].0.clone(),
            state,
            required,
            statutory: masks.statutory & bit != 0,
            earlier_plan: masks.planned & bit == 0,
            done,
            count,
            roles: planned.map(|p| p.roles.clone()).unwrap_or_default(),
            deadline: deadline.map(time),
            deadline_rule: planned
                .and_then(|p| p.deadline.as_ref())
                .map(crate::plan::describe_deadline),
            opens: opens.map(time),
            note,
        });
    }
    let (next_steps, phases) = standing(machine, &rt, enabled);
    let next: Vec<String> = (0..machine.steps.len())
        .filter(|i| next_steps & (1 << i) != 0)
        .map(|i| machine.steps[i].name.clone())
        .collect();
    let complete = rt.complete(machine);
    CaseStatus {
        case: case.to_owned(),
        process: machine.process.clone(),
        process_title: machine.title.clone(),
        unit: names.get(unit).to_owned(),
        model_version: model_version.to_owned(),
        opened: time(opening.opened),
        closed: rt.closed.map(time),
        closed_reason: rt.closed.map(|_| names.get(detail.closed_reason).to_owned()),
        segment: names.get(rt.segment).to_owned(),
        facts: {
            let space = &machine.facts;
            space
                .values(machine.valuation(rt.plan))
                .into_iter()
                .map(|(fact, value)| CaseFact {
                    fact: fact.to_owned(),
                    value: if space.number.as_deref() == Some(fact) {
                        crate::event::FactValue::Number(value)
                    } else {
                        crate::event::FactValue::Flag(value != 0)
                    },
                })
                .collect()
        },
        pregnancy_week: opening.pregnancy.filter(|&p| p <= now).map(|p| {
            let day = |t: i64| {
                let (y, m, d) = Timestamp(t).local_date();
                crate::time::days_from_civil(y, m, d)
            };
            let days = (day(now) - day(p)).max(0);
            format!("{}+{}", days / 7, days % 7)
        }),
        current_phases: if rt.closed.is_some() {
            Vec::new()
        } else {
            phases
                .into_iter()
                .map(|p| {
                    let (phase, title) = &machine.phases[usize::from(p)];
                    PhaseRef { phase: phase.clone(), title: title.clone() }
                })
                .collect()
        },
        steps,
        next,
        complete,
        missing,
        transitions: detail
            .transitions
            .iter()
            .map(|&(at, from, to, reason)| TransitionRecord {
                at: time(at),
                from: names.get(from).to_owned(),
                to: names.get(to).to_owned(),
                reason: crate::explain::reason_and_by(names.get(reason)).0.to_owned(),
            })
            .collect(),
        referrals: detail
            .referrals
            .iter()
            .map(|&(referral, to, state, at)| ReferralRecord {
                referral: names.get(referral).to_owned(),
                to_process: names.get(to).to_owned(),
                state: ["sent", "accepted", "declined"][usize::from(state)],
                at: time(at),
            })
            .collect(),
        migrations: events
            .iter()
            .filter(|e| e.kind == Kind::CaseMigrated)
            .map(|e| MigrationRecord {
                at: time(e.occurred),
                from: names.get(e.b).to_owned(),
                to: names.get(e.a).to_owned(),
            })
            .collect(),
        deviations: detail
            .deviations
            .iter()
            .map(|d| {
                let e = &events[d.event];
                DeviationRecord {
                    event: format!("#{}", d.event + 1),
                    at: time(e.occurred),
                    kind: d.kind,
                    subject: names.get(e.a).to_owned(),
                    explanation: d.kind.describe(lang).to_owned(),
                }
            })
            .collect(),
        events: events.len(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_reads_back_from_its_number() {
        for kind in Kind::ALL {
            assert_eq!(Kind::from_u8(kind as u8), Some(kind));
        }
        assert_eq!(Kind::from_u8(Kind::ALL.len() as u8), None);
    }
}
