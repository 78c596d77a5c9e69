//! The compiled model: every name of the four levels resolved into one structure that speaks in
//! domain terms, with each flow as a workflow net and each segment's plan derived. This is what
//! the runtime executes and the viewer draws.

use std::collections::BTreeMap;

use polku_dsl::ast::{File, Item};
use polku_dsl::FileId;
use serde::Serialize;

use crate::diagram::Diagram;
use crate::flow::{build, FlowNet};
use crate::plan::{generic_plan, segment_plan, Plan};

#[derive(Debug, Clone, Serialize)]
pub struct Role {
    pub title: String,
    /// Played by the client or the family.
    pub client: bool,
}

/// A declared case fact (`tieto`): yes or no, or a number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Fact {
    pub title: String,
    /// A number (`luku`), such as how many children; otherwise yes or no.
    pub number: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Service {
    pub title: String,
    pub code: Option<String>,
    pub law: Option<String>,
    pub description: Option<String>,
    /// Another organisation that provides the service; `None` for the region's own.
    pub provider: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Segmentation {
    pub title: String,
    /// The services of a unit-level segmentation; empty for the whole family-centre clientele.
    pub units: Vec<String>,
    pub segments: Vec<String>,
    pub axes: Vec<Axis>,
    /// Each segment's title, place on the axes and profile card, in the order written.
    pub profiles: Vec<SegmentProfile>,
}

/// An axis of a segmentation (`akseli tarve "Avun tarve": kevyt | runsas`).
#[derive(Debug, Clone, Serialize)]
pub struct Axis {
    pub name: String,
    pub title: String,
    pub values: Vec<String>,
}

/// A segment as its profile card describes it.
#[derive(Debug, Clone, Serialize)]
pub struct SegmentProfile {
    pub name: String,
    pub title: String,
    /// The segment's value on each axis: `(axis, value)`.
    pub position: Vec<(String, String)>,
    pub basic_strategy: Option<String>,
    pub goal: Option<String>,
    pub differences: Option<String>,
    pub client_experience: Option<String>,
    pub description: Option<String>,
    pub emphases: Option<String>,
}

impl Segmentation {
    pub fn profile(&self, segment: &str) -> Option<&SegmentProfile> {
        self.profiles.iter().find(|p| p.name == segment)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Referral {
    pub from: String,
    pub to: String,
    /// Empty means every segment.
    pub segments: Vec<String>,
    pub description: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Chain {
    pub title: String,
    pub segmentation: Option<String>,
    pub services: Vec<String>,
    pub paths: Vec<Vec<String>>,
    pub referrals: Vec<Referral>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Phase {
    pub name: String,
    pub title: String,
    pub client: bool,
    pub milestone: Option<String>,
    pub steps: Vec<String>,
    /// The step flow as written, for drawing.
    pub diagram: Diagram,
}

/// A level-3 process: its phases, the net of its phase flow and of each phase's step flow, and
/// the plan of every segment it names.
#[derive(Debug, Clone)]
pub struct Process {
    pub name: String,
    pub title: String,
    pub service: Option<String>,
    pub segmentation: Option<String>,
    pub phases: Vec<Phase>,
    pub phase_flow: FlowNet,
    /// The phase flow as written, for drawing.
    pub phase_diagram: Diagram,
    pub step_flows: BTreeMap<String, FlowNet>,
    pub generic: Plan,
    pub plans: BTreeMap<String, Plan>,
}

impl Process {
    /// The plan a client of `segment` gets; the generic plan when the process has no content
    /// for that segment.
    pub fn plan(&self, segment: Option<&str>) -> &Plan {
        segment.and_then(|s| self.plans.get(s)).unwrap_or(&self.generic)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Task {
    pub name: String,
    pub title: String,
    /// The level-3 step the task carries out.
    pub step: Option<String>,
    pub optional: bool,
    pub duration: Option<polku_dsl::ast::Duration>,
    pub channel: Option<polku_dsl::ast::Channel>,
}

/// What one task hands to the next (`luovutus a -> b "…"`).
#[derive(Debug, Clone, Serialize)]
pub struct Handoff {
    pub from: String,
    pub to: String,
    pub what: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Lane {
    pub role: String,
    pub tasks: Vec<Task>,
}

/// A level-4 workflow: lanes of tasks and the net of the task flow.
#[derive(Debug, Clone)]
pub struct Workflow {
    pub process: String,
    pub phase: String,
    pub step: Option<String>,
    pub title: String,
    pub lanes: Vec<Lane>,
    pub task_flow: FlowNet,
    /// The task flow as written, for drawing.
    pub diagram: Diagram,
    pub handoffs: Vec<Handoff>,
}

impl Workflow {
    /// The lane of a task, by the task's name.
    pub fn lane_of(&self, task: &str) -> Option<usize> {
        self.lanes.iter().position(|l| l.tasks.iter().any(|t| t.name == task))
    }

    pub fn task(&self, name: &str) -> Option<&Task> {
        self.lanes.iter().flat_map(|l| &l.tasks).find(|t| t.name == name)
    }
}

/// The whole model of one region.
#[derive(Debug, Clone, Default)]
pub struct Model {
    pub organisation: Option<(String, String)>,
    pub roles: BTreeMap<String, Role>,
    /// The declared case facts.
    pub facts: BTreeMap<String, Fact>,
    pub services: BTreeMap<String, Service>,
    pub segmentations: BTreeMap<String, Segmentation>,
    pub chains: BTreeMap<String, Chain>,
    pub processes: BTreeMap<String, Process>,
    /// By target: `process.phase` or `process.phase.step`.
    pub workflows: BTreeMap<String, Workflow>,
    /// The assessment forms.
    pub forms: BTreeMap<String, crate::form::Form>,
    /// The marker rules.
    pub markers: BTreeMap<String, crate::markers::MarkerRules>,
}

fn text(t: &Option<polku_dsl::ast::Text>) -> String {
    t.as_ref().map(|t| t.value.clone()).unwrap_or_default()
}

fn texts(t: &Option<polku_dsl::ast::Text>) -> Option<String> {
    t.as_ref().map(|t| t.value.clone())
}

/// Compiles the typed trees of a model whose names resolve. Where a name is defined twice, the
/// first definition counts, as in name resolution.
pub fn compile(files: &[(FileId, File)]) -> Model {
    let mut model = Model::default();
    for item in files.iter().flat_map(|(_, f)| &f.items) {
        match item {
            Item::Organisation(o) => {
                model.organisation.get_or_insert((o.name.text.clone(), text(&o.title)));
            }
            Item::Role(r) => {
                model
                    .roles
                    .entry(r.name.text.clone())
                    .or_insert(Role { title: text(&r.title), client: r.client });
            }
            Item::Fact(f) => {
                model
                    .facts
                    .entry(f.name.text.clone())
                    .or_insert(Fact { title: text(&f.title), number: f.number });
            }
            Item::Service(s) => {
                model.services.entry(s.name.text.clone()).or_insert(Service {
                    title: text(&s.title),
                    code: texts(&s.code),
                    law: texts(&s.law),
                    description: texts(&s.description),
                    provider: texts(&s.provider),
                });
            }
            Item::Segmentation(s) => {
                model.segmentations.entry(s.name.text.clone()).or_insert(Segmentation {
                    title: text(&s.title),
                    units: s.units.iter().map(|u| u.text.clone()).collect(),
                    segments: s.segments.iter().map(|g| g.name.text.clone()).collect(),
                    axes: s
                        .axes
                        .iter()
                        .map(|a| Axis {
                            name: a.name.text.clone(),
                            title: text(&a.title),
                            values: a.values.iter().map(|v| v.text.clone()).collect(),
                        })
                        .collect(),
                    profiles: s
                        .segments
                        .iter()
                        .map(|g| SegmentProfile {
                            name: g.name.text.clone(),
                            title: text(&g.title),
                            position: g
                                .position
                                .iter()
                                .map(|(a, v)| (a.text.clone(), v.text.clone()))
                                .collect(),
                            basic_strategy: texts(&g.card.basic_strategy),
                            goal: texts(&g.card.goal),
                            differences: texts(&g.card.differences),
                            client_experience: texts(&g.card.client_experience),
                            description: texts(&g.card.description),
                            emphases: texts(&g.card.emphases),
                        })
                        .collect(),
                });
            }
            Item::Chain(c) => {
                let names = |v: &[polku_dsl::ast::Name]| {
                    v.iter().map(|n| n.text.clone()).collect::<Vec<_>>()
                };
                model.chains.entry(c.name.text.clone()).or_insert(Chain {
                    title: text(&c.title),
                    segmentation: c.segmentation.as_ref().map(|s| s.text.clone()),
                    services: names(&c.services),
                    paths: c.paths.iter().map(|p| names(p)).collect(),
                    referrals: c
                        .referrals
                        .iter()
                        .map(|r| Referral {
                            from: r.from.text.clone(),
                            to: r.to.text.clone(),
                            segments: names(&r.segments),
                            description: texts(&r.description),
                        })
                        .collect(),
                });
            }
            Item::Process(p) => {
                if model.processes.contains_key(&p.name.text) {
                    continue;
                }
                let phase_names: Vec<&polku_dsl::ast::Name> =
                    p.phases.iter().map(|ph| &ph.name).collect();
                let phase_flows: Vec<&polku_dsl::ast::Flow> = p.flows.iter().collect();
                let phase_flow = build(&phase_names, &phase_flows);
                let phase_diagram = Diagram::build(&phase_names, &phase_flows);
                let step_flows = p
                    .phases
                    .iter()
                    .map(|ph| {
                        let steps: Vec<&polku_dsl::ast::Name> =
                            ph.steps.iter().map(|s| &s.name).collect();
                        (ph.name.text.clone(), build(&steps, &ph.flows.iter().collect::<Vec<_>>()))
                    })
                    .collect();
                let plans = p
                    .segments
                    .iter()
                    .filter_map(|c| {
                        segment_plan(p, &c.segment.text).map(|plan| (c.segment.text.clone(), plan))
                    })
                    .collect();
                model.processes.insert(
                    p.name.text.clone(),
                    Process {
                        name: p.name.text.clone(),
                        title: text(&p.title),
                        service: p.service.as_ref().map(|s| s.text.clone()),
                        segmentation: p.segmentation.as_ref().map(|s| s.text.clone()),
                        phases: p
                            .phases
                            .iter()
                            .map(|ph| Phase {
                                name: ph.name.text.clone(),
                                title: text(&ph.title),
                                client: ph.client,
                                milestone: texts(&ph.milestone),
                                steps: ph.steps.iter().map(|s| s.name.text.clone()).collect(),
                                diagram: Diagram::build(
                                    &ph.steps.iter().map(|s| &s.name).collect::<Vec<_>>(),
                                    &ph.flows.iter().collect::<Vec<_>>(),
                                ),
                            })
                            .collect(),
                        phase_flow,
                        phase_diagram,
                        step_flows,
                        generic: generic_plan(p),
                        plans,
                    },
                );
            }
            // Compiled after every segmentation is known, below.
            Item::Form(_) => {}
            Item::Markers(m) => {
                model
                    .markers
                    .entry(m.name.text.clone())
                    .or_insert_with(|| crate::markers::MarkerRules::compile(m));
            }
            Item::Workflow(w) => {
                if model.workflows.contains_key(&w.target.text) {
                    continue;
                }
                let tasks: Vec<&polku_dsl::ast::Name> =
                    w.lanes.iter().flat_map(|l| l.tasks.iter().map(|t| &t.name)).collect();
                model.workflows.insert(
                    w.target.text.clone(),
                    Workflow {
                        process: w.process.text.clone(),
                        phase: w.phase.text.clone(),
                        step: w.step.as_ref().map(|s| s.text.clone()),
                        title: text(&w.title),
                        lanes: w
                            .lanes
                            .iter()
                            .map(|l| Lane {
                                role: l.role.text.clone(),
                                tasks: l
                                    .tasks
                                    .iter()
                                    .map(|t| Task {
                                        name: t.name.text.clone(),
                                        title: text(&t.title),
                                        step: t.step.as_ref().map(|s| s.text.clone()),
                                        optional: t.optional,
                                        duration: t.duration.clone(),
                                        channel: t.channel.as_ref().map(|c| c.channel),
                                    })
                                    .collect(),
                            })
                            .collect(),
                        task_flow: build(&tasks, &w.flows.iter().collect::<Vec<_>>()),
                        diagram: Diagram::build(&tasks, &w.flows.iter().collect::<Vec<_>>()),
                        handoffs: w
                            .handoffs
                            .iter()
                            .map(|h| Handoff {
                                from: h.from.text.clone(),
                                to: h.to.text.clone(),
                                what: texts(&h.what),
                            })
                            .collect(),
                    },
                );
            }
        }
    }
    // Forms last: they read their segmentation's profile cards, wherever it is written.
    for item in files.iter().flat_map(|(_, f)| &f.items) {
        if let Item::Form(f) = item {
            let profiles = f
                .segmentation
                .as_ref()
                .and_then(|s| model.segmentations.get(&s.text))
                .map(crate::form::profiles)
                .unwrap_or_default();
            model
                .forms
                .entry(f.name.text.clone())
                .or_insert_with(|| crate::form::Form::compile(f, &profiles));
        }
    }
    model
}

#[cfg(test)]
mod tests {
    use super::*;
    use polku_dsl::SourceSet;

    const MODEL: &str = r#"
rooli th "Terveydenhoitaja"
rooli huoltaja "Huoltaja" asiakas
palvelu neuvola "Neuvola" { koodi "SPAT1" }
segmentointi s "S" {
  segmentti a "A"
  segmentti b "B"
}
prosessi p "P" {
  palvelu neuvola
  segmentointi s
  vaihe v1 "V1" asiakas { askel lomake "Lomake" tekijä huoltaja }
  vaihe v2 "V2" { askel käynti "Käynti" tekijä th kesto 30 min }
  segmentti a perii
  segmentti b { muuta käynti kesto 60 min }
}
työnkulku p.v2 "Työnjako" { kaista th { tehtävä t "T" askel käynti } }
"#;

    #[test]
    fn compiles_every_level_into_domain_terms() {
        let mut sources = SourceSet::new();
        sources.add("m.polku", MODEL);
        let checked = polku_dsl::check(&sources, &[]);
        assert!(!checked.has_errors(), "{:?}", checked.diagnostics);
        let model = compile(&checked.files);
        assert!(model.roles["huoltaja"].client);
        assert_eq!(model.services["neuvola"].code.as_deref(), Some("SPAT1"));
        assert_eq!(model.segmentations["s"].segments, ["a", "b"]);
        let process = &model.processes["p"];
        assert_eq!(process.phases.len(), 2);
        assert!(process.phase_flow.elements.contains_key("v2"));
        assert!(process.step_flows["v2"].elements.contains_key("käynti"));
        let minutes = |plan: &Plan| {
            plan.step("käynti").and_then(|s| s.duration.clone()).map(|d| d.parts[0].0)
        };
        assert_eq!(minutes(process.plan(Some("a"))), Some(30));
        assert_eq!(minutes(process.plan(Some("b"))), Some(60));
        assert_eq!(minutes(process.plan(Some("unknown"))), Some(30));
        let workflow = &model.workflows["p.v2"];
        assert_eq!(workflow.lanes[0].tasks[0].step.as_deref(), Some("käynti"));
        assert!(workflow.task_flow.net.verify().is_ok());
    }
}
