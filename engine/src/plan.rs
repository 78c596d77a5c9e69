//! Segment plans: the concrete planned service a client of one segment gets from one process.
//!
//! A plan starts from the generic process (every step of every phase, in the order written)
//! and applies the segment's content: `muuta` overrides the attributes it names, `lisää askel`
//! puts a step before or after another (`ennen`, `jälkeen`) or at the end of a phase, `poista` leaves a step out (never a statutory one: the language
//! rejects that), and `vastuutyöntekijä` names the responsible worker's role. The runtime
//! executes exactly this plan.

use serde::Serialize;

use polku_dsl::ast::{self, Anchor, Change, Channel, Process, Requirement, StepAttrs, TimeUnit};

/// Where a planned step comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    Generic,
    /// Generic, with these attributes changed by the segment.
    Changed(Vec<&'static str>),
    /// Added by the segment.
    Added,
}

#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct PlannedStep {
    pub name: String,
    pub title: String,
    pub phase: String,
    pub roles: Vec<String>,
    pub duration: Option<ast::Duration>,
    pub count: u32,
    pub interval: Option<ast::Duration>,
    pub deadline: Option<ast::Deadline>,
    /// The start of the step's time window: not due before it.
    pub earliest: Option<ast::Deadline>,
    /// The legal basis of a statutory step; `Some("")` when statutory without a basis given.
    pub statutory: Option<String>,
    pub channel: Option<Channel>,
    pub required: bool,
    /// The process a referral step starts a case in.
    pub referral: Option<String>,
    /// What the step is.
    pub description: Option<String>,
    /// Guidance for the professional, the segment's own where it gives one.
    pub guidance: Option<String>,
    /// The client's segment is assessed in this step; segment content applies after it.
    pub assesses_segment: bool,
    /// The step is planned only when this fact of the case holds (or, negated, does not).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub condition: Option<StepCondition>,
    /// The step is done once per unit of this number fact (once for each child).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub per: Option<String>,
    pub origin: Origin,
}

/// A condition on a declared fact: `jos ensisynnyttäjä` or `jos ei kielituki`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct StepCondition {
    pub fact: String,
    /// The step is planned when the fact does not hold.
    pub negated: bool,
}

impl StepCondition {
    /// As written: `jos F` or `jos ei F`.
    pub fn describe(&self) -> String {
        if self.negated {
            format!("jos ei {}", self.fact)
        } else {
            format!("jos {}", self.fact)
        }
    }

    /// Whether the condition holds when the fact has `value`.
    pub fn holds(&self, value: bool) -> bool {
        value != self.negated
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct RemovedStep {
    pub name: String,
    pub reason: Option<String>,
}

/// The plan of one segment (or of the generic process when `segment` is `None`).
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Plan {
    pub process: String,
    pub segment: Option<String>,
    pub inherits: bool,
    pub responsible: Option<String>,
    pub steps: Vec<PlannedStep>,
    pub removed: Vec<RemovedStep>,
}

impl Plan {
    pub fn step(&self, name: &str) -> Option<&PlannedStep> {
        self.steps.iter().find(|s| s.name == name)
    }
}

fn planned(step: &ast::Step, phase: &str) -> PlannedStep {
    let a = &step.attrs;
    PlannedStep {
        name: step.name.text.clone(),
        title: step.title.as_ref().map(|t| t.value.clone()).unwrap_or_default(),
        phase: phase.to_owned(),
        roles: a.roles.iter().map(|r| r.text.clone()).collect(),
        duration: a.duration.clone(),
        count: a.count.as_ref().map_or(1, |c| c.value),
        interval: a.interval.clone(),
        deadline: a.deadline.clone(),
        earliest: a.earliest.clone(),
        statutory: a
            .statutory
            .as_ref()
            .map(|s| s.basis.as_ref().map(|b| b.value.clone()).unwrap_or_default()),
        channel: a.channel.as_ref().map(|c| c.channel),
        required: !matches!(
            a.requirement.as_ref().map(|r| r.requirement),
            Some(Requirement::Optional)
        ),
        referral: a.referral.as_ref().map(|r| r.text.clone()),
        description: a.description.as_ref().map(|t| t.value.clone()),
        guidance: a.guidance.as_ref().map(|t| t.value.clone()),
        assesses_segment: a.assesses_segment.is_some(),
        condition: a.condition.as_ref().map(condition),
        per: a.per.as_ref().map(|p| p.text.clone()),
        origin: Origin::Generic,
    }
}

fn condition(c: &ast::Condition) -> StepCondition {
    StepCondition { fact: c.fact.text.clone(), negated: c.negated }
}

/// Overrides the attributes that `changes` names; returns their keywords.
fn apply(step: &mut PlannedStep, changes: &StepAttrs) -> Vec<&'static str> {
    let mut changed = Vec::new();
    if !changes.roles.is_empty() {
        step.roles = changes.roles.iter().map(|r| r.text.clone()).collect();
        changed.push("tekijä");
    }
    if let Some(d) = &changes.duration {
        step.duration = Some(d.clone());
        changed.push("kesto");
    }
    if let Some(c) = &changes.count {
        step.count = c.value;
        changed.push("määrä");
    }
    if let Some(i) = &changes.interval {
        step.interval = Some(i.clone());
        changed.push("väli");
    }
    if let Some(d) = &changes.deadline {
        step.deadline = Some(d.clone());
        changed.push("määräaika");
    }
    if let Some(d) = &changes.earliest {
        step.earliest = Some(d.clone());
        changed.push("aikaisintaan");
    }
    if let Some(s) = &changes.statutory {
        step.statutory = Some(s.basis.as_ref().map(|b| b.value.clone()).unwrap_or_default());
        changed.push("lakisääteinen");
    }
    if let Some(c) = &changes.channel {
        step.channel = Some(c.channel);
        changed.push("kanava");
    }
    if let Some(r) = &changes.requirement {
        step.required = r.requirement == Requirement::Required;
        changed.push(if step.required { "pakollinen" } else { "valinnainen" });
    }
    if let Some(r) = &changes.referral {
        step.referral = Some(r.text.clone());
        changed.push("ohjaus");
    }
    if let Some(d) = &changes.description {
        step.description = Some(d.value.clone());
        changed.push("kuvaus");
    }
    if let Some(g) = &changes.guidance {
        step.guidance = Some(g.value.clone());
        changed.push("ohje");
    }
    if let Some(c) = &changes.condition {
        step.condition = Some(condition(c));
        changed.push("jos");
    }
    if let Some(p) = &changes.per {
        step.per = Some(p.text.clone());
        changed.push("toistuu");
    }
    changed
}

/// The generic plan of a process: every step as written.
pub fn generic_plan(process: &Process) -> Plan {
    let steps = process
        .phases
        .iter()
        .flat_map(|phase| phase.steps.iter().map(move |step| planned(step, &phase.name.text)))
        .collect();
    Plan {
        process: process.name.text.clone(),
        segment: None,
        inherits: true,
        responsible: None,
        steps,
        removed: Vec::new(),
    }
}

/// The plan of one segment, or `None` when the process says nothing of that segment.
pub fn segment_plan(process: &Process, segment: &str) -> Option<Plan> {
    let content = process.segments.iter().find(|c| c.segment.text == segment)?;
    let mut plan = generic_plan(process);
    plan.segment = Some(segment.to_owned());
    plan.inherits = content.inherits;
    plan.responsible = content.responsible.as_ref().map(|r| r.text.clone());
    for change in &content.changes {
        match change {
            Change::Modify { step, attrs } => {
                if let Some(planned_step) = plan.steps.iter_mut().find(|s| s.name == step.text) {
                    let changed = apply(planned_step, attrs);
                    match &mut planned_step.origin {
                        Origin::Changed(previous) => previous.extend(changed),
                        origin @ Origin::Generic => *origin = Origin::Changed(changed),
                        Origin::Added => {}
                    }
                }
            }
            Change::Add { step, place, .. } => {
                let phase = process.phase_of(&step.name.text).unwrap_or_default();
                let mut added = planned(step, phase);
                added.origin = Origin::Added;
                // Before or after the step it is placed next to, where the plan has that step.
                let next_to = place.as_ref().and_then(|place| {
                    let at = plan.steps.iter().position(|s| s.name == place.step.text)?;
                    Some(if place.before { at } else { at + 1 })
                });
                // Otherwise after the phase's last step, or, for a phase with none, after the
                // steps of the phases written before it.
                let phase_order: Vec<&str> =
                    process.phases.iter().map(|p| p.name.text.as_str()).collect();
                let rank =
                    |name: &str| phase_order.iter().position(|p| *p == name).unwrap_or(usize::MAX);
                let target = rank(phase);
                let at = next_to.unwrap_or_else(|| {
                    plan.steps.iter().rposition(|s| rank(&s.phase) <= target).map_or(0, |i| i + 1)
                });
                plan.steps.insert(at, added);
            }
            Change::Remove { step, reason } => {
                if let Some(at) = plan.steps.iter().position(|s| s.name == step.text) {
                    plan.steps.remove(at);
                    plan.removed.push(RemovedStep {
                        name: step.text.clone(),
                        reason: reason.as_ref().map(|r| r.value.clone()),
                    });
                }
            }
        }
    }
    Some(plan)
}

/// A duration in days, for comparing deadlines: a month is 30 days, a year 365, a working
/// week five of seven days.
pub fn approximate_days(duration: &ast::Duration) -> f64 {
    duration
        .parts
        .iter()
        .map(|(amount, unit)| {
            let per = match unit {
                TimeUnit::Minute => 1.0 / 1440.0,
                TimeUnit::Hour => 1.0 / 24.0,
                TimeUnit::Day => 1.0,
                TimeUnit::WorkingDay => 7.0 / 5.0,
                TimeUnit::Week => 7.0,
                TimeUnit::Month => 30.0,
                TimeUnit::Year => 365.0,
            };
            f64::from(*amount) * per
        })
        .sum()
}

/// A duration as it is written: `1 h 30 min`.
pub fn describe_duration(duration: &ast::Duration) -> String {
    duration
        .parts
        .iter()
        .map(|(amount, unit)| {
            let word = match unit {
                TimeUnit::Minute => "min",
                TimeUnit::Hour => "h",
                TimeUnit::Day => "pv",
                TimeUnit::WorkingDay => "arkipäivää",
                TimeUnit::Week => "vk",
                TimeUnit::Month => "kk",
                TimeUnit::Year => "v",
            };
            format!("{amount} {word}")
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The weeks of a pregnancy-week anchor (`rv 12`).
pub fn weeks(duration: &ast::Duration) -> u32 {
    duration.parts.iter().filter(|(_, u)| *u == TimeUnit::Week).map(|(n, _)| *n).sum()
}

/// A deadline as it is written: `7 arkipäivää tapauksen alusta`.
pub fn describe_deadline(deadline: &ast::Deadline) -> String {
    let after = describe_duration(&deadline.after);
    match &deadline.anchor {
        Anchor::CaseStart => format!("{after} tapauksen alusta"),
        Anchor::PhaseStart => format!("{after} vaiheen alusta"),
        Anchor::PreviousStep => format!("{after} edellisestä"),
        Anchor::Step(step) => format!("{after} askeleesta {}", step.text),
        Anchor::Age => format!("ikä {after}"),
        Anchor::BeforeStep(step) => format!("{after} ennen askelta {}", step.text),
        Anchor::PregnancyWeek => format!("rv {}", weeks(&deadline.after)),
    }
}
