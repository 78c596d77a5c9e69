//! Why a client's service was planned as it was on a date: the model version each case ran
//! under, the segment it had and who decided it, and for each step whether it was planned, what
//! the generic process says of it, what the segment's content did to it (added, changed,
//! removed), and which condition on the case's facts held.

use serde::Serialize;

use crate::case::{self, Exec, Kind, Runtime};
use crate::names::NONE;
use crate::plan::{Origin, Plan};
use crate::projection::{CaseEntry, Projection, UnitScope};
use crate::time::Timestamp;

/// How the segment a case had on the date was decided.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct SegmentDecision {
    /// `opened` (the segment the case was opened with), `assessed` or `changed`.
    pub how: &'static str,
    pub at: String,
    /// The professional (as the event named them), where the event names one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// What the segment's content did to a step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(tag = "content", rename_all = "snake_case")]
pub enum SegmentContent {
    /// Nothing: the step is as the generic process has it.
    None,
    /// `lisää askel`: the segment adds the step.
    Added,
    /// `muuta`: the segment changes these attributes.
    Changed { attributes: Vec<String> },
    /// `poista`: the segment leaves the step out.
    Removed {
        #[serde(skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
}

/// A condition on a fact of the case (`jos F`, `jos ei F`) and how it stood on the date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct ConditionHeld {
    pub fact: String,
    pub negated: bool,
    /// The fact's value on the date (0 or 1 for yes-or-no).
    pub value: u32,
    pub holds: bool,
}

/// One step of a case's process, and why it was or was not planned on the date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct StepReason {
    pub step: String,
    pub title: String,
    pub phase: String,
    pub planned: bool,
    /// Planned as required (not `valinnainen`).
    pub required: bool,
    /// The generic process has the step.
    pub generic: bool,
    pub segment_content: SegmentContent,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub condition: Option<ConditionHeld>,
    /// How many times it had been completed by the date.
    pub done: u32,
}

/// One case of the client on the date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct CaseReason {
    pub case: String,
    pub process: String,
    pub process_title: String,
    /// The model version the case ran under on the date (content hash).
    pub model_version: String,
    /// The segment on the date; none for a process without a segmentation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub segment: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decided: Option<SegmentDecision>,
    pub steps: Vec<StepReason>,
}

/// Why a client's service was planned as it was on a date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Explanation {
    /// The day (YYYY-MM-DD, Finnish time), as it ended.
    pub date: String,
    pub cases: Vec<CaseReason>,
}

/// The version a case ran under at `at`: the one its last move before then went to, else the one
/// its first later move left, else its own.
fn version_at(p: &Projection, case: &CaseEntry, at: i64) -> u16 {
    let moves: Vec<_> = case.events.iter().filter(|e| e.kind == Kind::CaseMigrated).collect();
    let hash = match moves.iter().rev().find(|e| e.occurred <= at) {
        Some(e) => Some(e.a),
        None => moves.first().map(|e| e.b),
    };
    hash.and_then(|h| p.version_index(p.names.get(h))).unwrap_or(case.version)
}

/// Splits a stored segment change's reason from the professional it names (see
/// [`crate::projection`]'s compact form of `segment_changed`).
pub fn reason_and_by(text: &str) -> (&str, Option<&str>) {
    match text.split_once('\u{1f}') {
        Some((reason, by)) => (reason, Some(by)),
        None => (text, None),
    }
}

impl Projection {
    /// Why each case of the client (by pseudonym) opened by `at` was planned as it was then;
    /// with `step`, that step only, and only the cases whose process has it. `None` for an
    /// unknown client.
    pub fn explain(&self, pseudonym: &str, at: i64, step: Option<&str>) -> Option<Explanation> {
        self.explain_in(pseudonym, at, step, &UnitScope::All)
    }

    /// [`Projection::explain`] for a reader who sees only the cases of `scope`'s units.
    pub fn explain_in(
        &self,
        pseudonym: &str,
        at: i64,
        step: Option<&str>,
        scope: &UnitScope,
    ) -> Option<Explanation> {
        let client = self.client_of(pseudonym)?;
        let mut cases = Vec::new();
        for &i in &self.client_cases[client as usize] {
            let case = &self.cases[i as usize];
            if case.rt.is_none()
                || case.opening.opened > at
                || !scope.sees(self.names.get(case.unit))
            {
                continue;
            }
            let version = version_at(self, case, at);
            let process = &self.versions[usize::from(case.version)].execs[usize::from(case.exec)]
                .machine
                .process;
            let Some(&exec) = self.versions[usize::from(version)].by_process.get(process) else {
                continue;
            };
            let exec = &self.versions[usize::from(version)].execs[usize::from(exec)];
            if let Some(reason) = self.case_reason(case, exec, version, at, step) {
                cases.push(reason);
            }
        }
        let (y, m, d) = Timestamp(at).local_date();
        Some(Explanation { date: format!("{y:04}-{m:02}-{d:02}"), cases })
    }

    fn case_reason(
        &self,
        case: &CaseEntry,
        exec: &Exec,
        version: u16,
        at: i64,
        only: Option<&str>,
    ) -> Option<CaseReason> {
        let machine = &exec.machine;
        let upto: Vec<case::Compact> =
            case.events.iter().filter(|e| e.occurred <= at).copied().collect();
        let mut replayed = exec.clone();
        let rt: Runtime = case::replay(&mut replayed, case.opening, &upto, None);
        let size = machine.facts.size();
        let base = usize::from(rt.plan) / size;
        let plan: &Plan = &machine.plans.get(base)?.1.plan;
        let generic: &Plan = &machine.plans.first()?.1.plan;
        let values = machine.facts.values(machine.valuation(rt.plan));
        let mut names: Vec<&str> = generic.steps.iter().map(|s| s.name.as_str()).collect();
        for s in &plan.steps {
            if !names.contains(&s.name.as_str()) {
                names.push(&s.name);
            }
        }
        if let Some(only) = only {
            if !names.contains(&only) {
                return None;
            }
            names.retain(|n| *n == only);
        }
        let steps = names
            .into_iter()
            .map(|name| {
                let removed = plan.removed.iter().find(|r| r.name == name);
                let own = plan.step(name);
                let defined = own.or_else(|| generic.step(name));
                let content = match (removed, own.map(|s| &s.origin)) {
                    (Some(r), _) => SegmentContent::Removed { reason: r.reason.clone() },
                    (None, Some(Origin::Added)) => SegmentContent::Added,
                    (None, Some(Origin::Changed(attrs))) => SegmentContent::Changed {
                        attributes: attrs.iter().map(|a| (*a).to_owned()).collect(),
                    },
                    _ => SegmentContent::None,
                };
                let condition = defined.and_then(|s| s.condition.as_ref()).map(|c| {
                    let value = values.iter().find(|(f, _)| *f == c.fact).map_or(0, |(_, v)| *v);
                    ConditionHeld {
                        fact: c.fact.clone(),
                        negated: c.negated,
                        value,
                        holds: c.holds(value != 0),
                    }
                });
                let index = machine.step_index.get(name).copied();
                StepReason {
                    step: name.to_owned(),
                    title: defined.map(|s| s.title.clone()).unwrap_or_default(),
                    phase: defined.map(|s| s.phase.clone()).unwrap_or_default(),
                    planned: own.is_some()
                        && removed.is_none()
                        && condition.as_ref().is_none_or(|c| c.holds),
                    required: own.is_some_and(|s| s.required),
                    generic: generic.step(name).is_some(),
                    segment_content: content,
                    condition,
                    done: index.map_or(0, |i| u32::from(rt.done[usize::from(i)])),
                }
            })
            .collect();
        let segmented = exec.segmentation != NONE;
        Some(CaseReason {
            case: case.id.to_string(),
            process: machine.process.clone(),
            process_title: machine.title.clone(),
            model_version: self.versions[usize::from(version)].hash.clone(),
            segment: segmented.then(|| self.names.get(rt.segment).to_owned()),
            decided: segmented.then(|| self.decision(case, &upto, rt.segment)),
            steps,
        })
    }

    /// The event that gave the case `segment` last among `events`, or its opening.
    fn decision(
        &self,
        case: &CaseEntry,
        events: &[case::Compact],
        segment: u32,
    ) -> SegmentDecision {
        let text = |id: u32| (id != NONE).then(|| self.names.get(id).to_owned());
        let last = events.iter().rev().find(|e| {
            matches!(e.kind, Kind::SegmentAssessed | Kind::SegmentChanged) && e.a == segment
        });
        match last {
            Some(e) if e.kind == Kind::SegmentAssessed => SegmentDecision {
                how: "assessed",
                at: Timestamp(e.occurred).local_text(),
                by: text(e.b),
                reason: text(e.c),
            },
            Some(e) => {
                let (reason, by) = reason_and_by(self.names.get(e.c));
                SegmentDecision {
                    how: "changed",
                    at: Timestamp(e.occurred).local_text(),
                    by: by.map(str::to_owned),
                    reason: Some(reason.to_owned()).filter(|r| !r.is_empty()),
                }
            }
            None => SegmentDecision {
                how: "opened",
                at: Timestamp(case.opening.opened).local_text(),
                by: None,
                reason: None,
            },
        }
    }
}
