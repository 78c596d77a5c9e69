//! The validation rules: one coherent model across the four levels.
//!
//! Each rule reports under its own stable code (`V001` …), documented in `docs/rules.md`; its
//! default severity is in the diagnostic catalogue and a model's `polku.toml` may change it.
//! Rules run only on a model whose names resolve: a broken reference would make every rule
//! after it guess.

use std::collections::BTreeSet;

use polku_dsl::hash::{FastMap as HashMap, FastSet as HashSet};

use polku_dsl::ast::{
    Anchor, Branch, Chain, Change, Duration, File, Flow, Item, Name, Process, Requirement,
    Segmentation, StepAttrs, Workflow,
};
use polku_dsl::diagnostic::NameKind;
use polku_dsl::diagnostic::Note;
use polku_dsl::{Code, Diagnostic, FileId, Span};

use crate::flow::{build, FlowNet};
use crate::net::{check_soundness, Finding, Limits, TransitionKind, Verdict};
use crate::plan::{approximate_days, describe_deadline};

/// What a flow net describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetKind {
    /// The phases of a process.
    Process,
    /// The steps of one phase.
    Phase,
    /// The tasks of a workflow.
    Workflow,
}

impl NetKind {
    /// The word used in export file names.
    pub fn as_str(self) -> &'static str {
        match self {
            NetKind::Process => "process",
            NetKind::Phase => "phase",
            NetKind::Workflow => "workflow",
        }
    }
}

impl CheckedNet {
    pub fn entry(&self) -> crate::pnml::Entry<'_> {
        crate::pnml::Entry {
            name: &self.name,
            kind: self.kind.as_str(),
            net: &self.flow.net,
            verdict: &self.verdict,
        }
    }
}

/// One checked flow: its net and verdict, for the check's report and for export.
#[derive(Debug, Clone)]
pub struct CheckedNet {
    /// `process`, `process.phase` or the workflow's target.
    pub name: String,
    pub kind: NetKind,
    pub flow: FlowNet,
    pub verdict: Verdict,
}

#[derive(Debug, Default)]
pub struct Validation {
    pub diagnostics: Vec<Diagnostic>,
    pub nets: Vec<CheckedNet>,
}

/// The tasks a client of `segment` passes on every path through `flow` (first) and on some path
/// (second), as bit sets over `index` (a task's position in the workflow). A choice keyed on
/// segments lets the segment through its own branches (or the default one when none names it);
/// a free-text choice may take any branch.
fn tasks_on_path(
    flow: &Flow,
    segment: &str,
    facts: &dyn Fn(&str) -> Option<bool>,
    index: &HashMap<&str, u32>,
) -> (u128, u128) {
    match flow {
        Flow::Name(name) => {
            let bit = index.get(name.text.as_str()).map_or(0, |&i| 1u128 << i);
            (bit, bit)
        }
        Flow::Sequence(items) | Flow::Parallel(items) => {
            items.iter().fold((0, 0), |(must, may), item| {
                let (m, y) = tasks_on_path(item, segment, facts, index);
                (must | m, may | y)
            })
        }
        Flow::Repeat { body, .. } => tasks_on_path(body, segment, facts, index),
        Flow::Choice(branches) => {
            // A branch keyed on the segment or on a fact is taken by the cases it names; one
            // with a free-text condition may be taken by anyone; the default when no keyed
            // branch is.
            let keyed = |b: &Branch| !b.segments.is_empty() || b.fact.is_some();
            let matches = |b: &Branch| {
                (b.segments.is_empty() || b.segments.iter().any(|s| s.text == segment))
                    && b.fact
                        .as_ref()
                        .is_none_or(|c| facts(&c.fact.text).is_none_or(|value| value != c.negated))
            };
            let free = |b: &Branch| !keyed(b) && !b.default;
            let own: Vec<&Branch> = if !branches.iter().any(keyed) {
                branches.iter().collect()
            } else if branches.iter().any(|b| keyed(b) && matches(b)) {
                branches.iter().filter(|b| (keyed(b) && matches(b)) || free(b)).collect()
            } else {
                branches.iter().filter(|b| b.default || free(b)).collect()
            };
            let mut must: Option<u128> = None;
            let mut may = 0;
            for branch in own {
                let (m, y) = tasks_on_path(&branch.flow, segment, facts, index);
                must = Some(must.map_or(m, |previous| previous & m));
                may |= y;
            }
            (must.unwrap_or(0), may)
        }
    }
}

/// The facts the branches of a flow are keyed on (`kun tieto F`), each once.
fn branch_facts(flow: &Flow) -> Vec<&str> {
    let mut out: Vec<&str> = Vec::new();
    let mut stack = vec![flow];
    while let Some(f) = stack.pop() {
        match f {
            Flow::Name(_) => {}
            Flow::Sequence(items) | Flow::Parallel(items) => stack.extend(items),
            Flow::Repeat { body, .. } => stack.push(body),
            Flow::Choice(branches) => {
                for b in branches {
                    if let Some(c) = &b.fact {
                        if !out.contains(&c.fact.text.as_str()) {
                            out.push(&c.fact.text);
                        }
                    }
                    stack.push(&b.flow);
                }
            }
        }
    }
    out.sort_unstable();
    out
}

/// The steps of a phase in one segment's plan (the generic plan for `None`), with whether
/// each is required and its condition on a fact, as [`crate::plan::segment_plan`] makes them
/// but without building the plan: the generic steps the segment keeps, with its `muuta …
/// valinnainen | pakollinen | jos`, and the steps it adds to the phase.
fn phase_steps<'p>(
    process: &'p Process,
    phase: &'p polku_dsl::ast::Phase,
    content: Option<&'p polku_dsl::ast::SegmentContent>,
) -> Vec<(&'p str, bool, Option<&'p polku_dsl::ast::Condition>)> {
    let required = |attrs: &polku_dsl::ast::StepAttrs| {
        !matches!(attrs.requirement.as_ref().map(|r| r.requirement), Some(Requirement::Optional))
    };
    let mut out: Vec<(&str, bool, Option<&polku_dsl::ast::Condition>)> = phase
        .steps
        .iter()
        .map(|s| (s.name.text.as_str(), required(&s.attrs), s.attrs.condition.as_ref()))
        .collect();
    for change in content.iter().flat_map(|c| &c.changes) {
        match change {
            Change::Add { step, .. } => {
                if process.phase_of(&step.name.text) == Some(phase.name.text.as_str()) {
                    out.push((
                        &step.name.text,
                        required(&step.attrs),
                        step.attrs.condition.as_ref(),
                    ));
                }
            }
            Change::Modify { step, attrs } => {
                if let Some(entry) = out.iter_mut().find(|(s, _, _)| *s == step.text) {
                    if let Some(r) = &attrs.requirement {
                        entry.1 = r.requirement == Requirement::Required;
                    }
                    if let Some(c) = &attrs.condition {
                        entry.2 = Some(c);
                    }
                }
            }
            Change::Remove { step, .. } => out.retain(|(s, _, _)| *s != step.text),
        }
    }
    out
}

/// Does a flow choose anywhere?
fn has_choice(flow: &Flow) -> bool {
    match flow {
        Flow::Name(_) => false,
        Flow::Sequence(items) | Flow::Parallel(items) => items.iter().any(has_choice),
        Flow::Repeat { body, .. } => has_choice(body),
        Flow::Choice(_) => true,
    }
}

/// Who performs each step of each phase, in any segment's plan: the step's own performers,
/// those of steps a segment adds to the phase, and those a segment's `muuta` gives, in the
/// order written, by phase.
fn performers(process: &Process) -> HashMap<&str, Vec<(&str, Vec<&str>)>> {
    type ByPhase<'p> = HashMap<&'p str, Vec<(&'p str, Vec<&'p str>)>>;
    let mut out: ByPhase<'_> = HashMap::default();
    // The phase of every step, generic or added, found once.
    let mut phase_of: HashMap<&str, &str> = HashMap::default();
    for phase in &process.phases {
        for step in &phase.steps {
            phase_of.entry(step.name.text.as_str()).or_insert(phase.name.text.as_str());
        }
    }
    let added: Vec<(&polku_dsl::ast::Step, Option<&str>)> = process.added_steps().collect();
    for (step, at) in &added {
        if let Some(at) = at {
            phase_of.entry(step.name.text.as_str()).or_insert(at);
        }
    }
    fn record<'p>(out: &mut ByPhase<'p>, phase: &'p str, step: &'p str, roles: &'p [Name]) {
        let list = out.entry(phase).or_default();
        let roles = roles.iter().map(|r| r.text.as_str());
        match list.iter_mut().find(|(s, _)| *s == step) {
            Some((_, known)) => {
                for role in roles {
                    if !known.contains(&role) {
                        known.push(role);
                    }
                }
            }
            None => list.push((step, roles.collect())),
        }
    }
    for phase in &process.phases {
        for step in &phase.steps {
            record(&mut out, &phase.name.text, &step.name.text, &step.attrs.roles);
        }
    }
    for (step, at) in &added {
        if let Some(at) = at {
            record(&mut out, at, &step.name.text, &step.attrs.roles);
        }
    }
    for change in process.segments.iter().flat_map(|c| &c.changes) {
        if let Change::Modify { step, attrs } = change {
            if let (false, Some(phase)) = (attrs.roles.is_empty(), phase_of.get(step.text.as_str()))
            {
                record(&mut out, phase, &step.text, &attrs.roles);
            }
        }
    }
    out
}

/// The workflows of each phase, by process and phase name.
type PhaseWorkflows<'m> = HashMap<(&'m str, &'m str), Vec<&'m Workflow>>;

/// Runs every rule over a model whose names resolve.
pub fn validate(files: &[(FileId, File)], limits: Limits) -> Validation {
    let mut v = Validator { files, limits, out: Validation::default() };
    v.unused();
    let client_roles: HashSet<&str> = v
        .items()
        .filter_map(|(_, item)| match item {
            Item::Role(r) if r.client => Some(r.name.text.as_str()),
            _ => None,
        })
        .collect();
    let workflows: Vec<(FileId, &Workflow)> = v
        .items()
        .filter_map(|(f, item)| match item {
            Item::Workflow(w) => Some((f, w)),
            _ => None,
        })
        .collect();
    let processes: Vec<(FileId, &Process)> = v
        .items()
        .filter_map(|(f, item)| match item {
            Item::Process(p) => Some((f, p)),
            _ => None,
        })
        .collect();
    v.referrals_in_chains(&processes);
    // The workflows of each phase, found once rather than by a search per phase.
    let mut by_phase: PhaseWorkflows = HashMap::default();
    for (_, w) in &workflows {
        by_phase.entry((w.process.text.as_str(), w.phase.text.as_str())).or_default().push(*w);
    }
    for (file, item) in v.items().collect::<Vec<_>>() {
        match item {
            Item::Segmentation(s) => v.segmentation(file, s),
            Item::Chain(c) => v.chain(c, &processes),
            Item::Process(p) => v.process(file, p, &by_phase, &client_roles),
            Item::Workflow(w) => v.workflow(file, w, &processes),
            Item::Form(f) => v.form(file, f),
            Item::Markers(m) => v.markers(file, m),
            _ => {}
        }
    }
    v.out
}

struct Validator<'m> {
    files: &'m [(FileId, File)],
    limits: Limits,
    out: Validation,
}

impl<'m> Validator<'m> {
    fn items(&self) -> impl Iterator<Item = (FileId, &'m Item)> {
        self.files.iter().flat_map(|(f, file)| file.items.iter().map(move |i| (*f, i)))
    }

    fn push(&mut self, d: Diagnostic) {
        self.out.diagnostics.push(d);
    }

    /// V020: a step's referral from the process's service to another service is one that a
    /// service chain agrees on (`ohjaus A -> B`). Judged only in a model that has chains.
    fn referrals_in_chains(&mut self, processes: &[(FileId, &'m Process)]) {
        let chains: Vec<&Chain> = self
            .items()
            .filter_map(|(_, item)| match item {
                Item::Chain(c) => Some(c),
                _ => None,
            })
            .collect();
        if chains.is_empty() {
            return;
        }
        let agreed: HashSet<(&str, &str)> = chains
            .iter()
            .flat_map(|c| &c.referrals)
            .map(|r| (r.from.text.as_str(), r.to.text.as_str()))
            .collect();
        let service_of: HashMap<&str, &str> = processes
            .iter()
            .filter_map(|(_, p)| Some((p.name.text.as_str(), p.service.as_ref()?.text.as_str())))
            .collect();
        for (file, process) in processes {
            let Some(from) = process.service.as_ref().map(|s| s.text.as_str()) else { continue };
            let steps = process.phases.iter().flat_map(|p| &p.steps).map(|s| (&s.name, &s.attrs));
            let changes =
                process.segments.iter().flat_map(|c| &c.changes).filter_map(|c| match c {
                    Change::Add { step, .. } => Some((&step.name, &step.attrs)),
                    Change::Modify { step, attrs } => Some((step, attrs)),
                    Change::Remove { .. } => None,
                });
            let mut seen: HashSet<(&str, &str)> = HashSet::default();
            for (step, attrs) in steps.chain(changes) {
                let Some(target) = &attrs.referral else { continue };
                let to = service_of.get(target.text.as_str()).copied().unwrap_or(&target.text);
                if to == from || agreed.contains(&(from, to)) || !seen.insert((from, to)) {
                    continue;
                }
                self.push(
                    Diagnostic::new(Code::ReferralOutsideChain, *file, target.span)
                        .arg("step", step.text.as_str())
                        .arg("from", from)
                        .arg("to", to),
                );
            }
        }
    }

    /// V001: roles, services and segmentations that nothing uses.
    fn unused(&mut self) {
        let mut used: HashSet<(NameKind, &str)> = HashSet::default();
        let mut role = |n: &'m Name| (NameKind::Role, n.text.as_str());
        let mut uses = Vec::new();
        for (_, item) in self.items() {
            match item {
                Item::Segmentation(s) => {
                    uses.extend(s.units.iter().map(|u| (NameKind::Service, u.text.as_str())))
                }
                Item::Chain(c) => {
                    uses.extend(
                        c.segmentation.iter().map(|s| (NameKind::Segmentation, s.text.as_str())),
                    );
                    let services = c.services.iter().chain(c.paths.iter().flatten());
                    uses.extend(services.map(|s| (NameKind::Service, s.text.as_str())));
                    for r in &c.referrals {
                        uses.push((NameKind::Service, r.from.text.as_str()));
                        uses.push((NameKind::Service, r.to.text.as_str()));
                    }
                }
                Item::Process(p) => {
                    uses.extend(p.service.iter().map(|s| (NameKind::Service, s.text.as_str())));
                    uses.extend(
                        p.segmentation.iter().map(|s| (NameKind::Segmentation, s.text.as_str())),
                    );
                    let mut attrs: Vec<&'m StepAttrs> =
                        p.phases.iter().flat_map(|ph| &ph.steps).map(|s| &s.attrs).collect();
                    for content in &p.segments {
                        uses.extend(content.responsible.iter().map(&mut role));
                        for change in &content.changes {
                            match change {
                                Change::Modify { attrs: a, .. } => attrs.push(a),
                                Change::Add { step, .. } => attrs.push(&step.attrs),
                                Change::Remove { .. } => {}
                            }
                        }
                    }
                    for flow in p.flows.iter().chain(p.phases.iter().flat_map(|ph| &ph.flows)) {
                        uses.extend(branch_facts(flow).into_iter().map(|f| (NameKind::Fact, f)));
                    }
                    for a in attrs {
                        uses.extend(a.roles.iter().map(&mut role));
                        let facts = a.condition.iter().map(|c| &c.fact).chain(&a.per);
                        uses.extend(facts.map(|f| (NameKind::Fact, f.text.as_str())));
                    }
                }
                Item::Markers(m) => uses.extend(
                    m.segmentation.iter().map(|s| (NameKind::Segmentation, s.text.as_str())),
                ),
                Item::Form(f) => uses.extend(
                    f.segmentation.iter().map(|s| (NameKind::Segmentation, s.text.as_str())),
                ),
                Item::Workflow(w) => {
                    uses.extend(w.lanes.iter().map(|l| role(&l.role)));
                    for flow in &w.flows {
                        uses.extend(branch_facts(flow).into_iter().map(|f| (NameKind::Fact, f)));
                    }
                }
                _ => {}
            }
        }
        used.extend(uses);
        let mut found = Vec::new();
        for (file, item) in self.items() {
            let (kind, name) = match item {
                Item::Role(r) => (NameKind::Role, &r.name),
                Item::Service(s) => (NameKind::Service, &s.name),
                Item::Segmentation(s) => (NameKind::Segmentation, &s.name),
                Item::Fact(f) => (NameKind::Fact, &f.name),
                _ => continue,
            };
            if !used.contains(&(kind, name.text.as_str())) {
                found.push(
                    Diagnostic::new(Code::Unused, file, name.span)
                        .kind(kind)
                        .arg("name", name.text.as_str()),
                );
            }
        }
        self.out.diagnostics.extend(found);
    }

    /// V014 and V015: profile cards and coverage of the axes.
    fn segmentation(&mut self, file: FileId, s: &Segmentation) {
        for segment in &s.segments {
            let card = &segment.card;
            let fields = [
                ("perusstrategia", &card.basic_strategy),
                ("tavoite", &card.goal),
                ("erot", &card.differences),
                ("asiakaskokemus", &card.client_experience),
                ("kuvaus", &card.description),
                ("painotukset", &card.emphases),
            ];
            let missing: Vec<&str> = fields
                .iter()
                .filter(|(_, v)| v.as_ref().is_none_or(|t| t.value.trim().is_empty()))
                .map(|(k, _)| *k)
                .collect();
            if !missing.is_empty() {
                self.push(
                    Diagnostic::new(Code::IncompleteCard, file, segment.name.span)
                        .arg("name", segment.name.text.as_str())
                        .arg("fields", missing.join(", ")),
                );
            }
        }
        // Listing the combinations is only sensible for a handful of axes and values.
        let combinations_count =
            s.axes.iter().fold(1usize, |n, a| n.saturating_mul(a.values.len().max(1)));
        if s.axes.is_empty() || s.coverage.is_some() || combinations_count > 10_000 {
            return;
        }
        let mut combinations: Vec<Vec<(&str, &str)>> = vec![Vec::new()];
        for axis in &s.axes {
            combinations = combinations
                .into_iter()
                .flat_map(|prefix| {
                    axis.values.iter().map(move |v| {
                        let mut next = prefix.clone();
                        next.push((axis.name.text.as_str(), v.text.as_str()));
                        next
                    })
                })
                .collect();
        }
        let covered: Vec<HashSet<(&str, &str)>> = s
            .segments
            .iter()
            .map(|seg| {
                seg.position.iter().map(|(a, v)| (a.text.as_str(), v.text.as_str())).collect()
            })
            .collect();
        let missing: Vec<String> = combinations
            .iter()
            .filter(|combo| !covered.iter().any(|c| combo.iter().all(|pair| c.contains(pair))))
            .map(|combo| {
                combo.iter().map(|(a, v)| format!("{a} {v}")).collect::<Vec<_>>().join(", ")
            })
            .collect();
        if !missing.is_empty() {
            self.push(
                Diagnostic::new(Code::QuadrantsUncovered, file, s.name.span)
                    .arg("name", s.name.text.as_str())
                    .arg("missing", format!("({})", missing.join("; "))),
            );
        }
    }

    /// V010: a chain's processes say something of every segment of the chain's segmentation.
    fn chain(&mut self, chain: &Chain, processes: &[(FileId, &Process)]) {
        let Some(segmentation_name) = &chain.segmentation else { return };
        let Some(segmentation) = self.items().find_map(|(_, i)| match i {
            Item::Segmentation(s) if s.name.text == segmentation_name.text => Some(s),
            _ => None,
        }) else {
            return;
        };
        let services: HashSet<&str> = chain
            .services
            .iter()
            .chain(chain.paths.iter().flatten())
            .chain(chain.referrals.iter().flat_map(|r| [&r.from, &r.to]))
            .map(|n| n.text.as_str())
            .collect();
        for (process_file, process) in processes {
            let in_chain =
                process.service.as_ref().is_some_and(|s| services.contains(s.text.as_str()));
            let same =
                process.segmentation.as_ref().is_some_and(|s| s.text == segmentation_name.text);
            if !(in_chain && same) {
                continue;
            }
            for segment in &segmentation.segments {
                if !process.segments.iter().any(|c| c.segment.text == segment.name.text) {
                    self.push(
                        Diagnostic::new(
                            Code::SegmentWithoutContent,
                            *process_file,
                            process.name.span,
                        )
                        .arg("name", process.name.text.as_str())
                        .arg("chain", chain.name.text.as_str())
                        .arg("segment", segment.name.text.as_str()),
                    );
                }
            }
        }
    }

    fn process(
        &mut self,
        file: FileId,
        process: &Process,
        workflows: &PhaseWorkflows,
        client_roles: &HashSet<&str>,
    ) {
        let phases: Vec<&Name> = process.phases.iter().map(|p| &p.name).collect();
        let spans: HashMap<&str, Span> = phases.iter().map(|n| (n.text.as_str(), n.span)).collect();
        let flows: Vec<&Flow> = process.flows.iter().collect();
        self.net(
            file,
            process.name.text.clone(),
            NetKind::Process,
            &phases,
            &flows,
            &spans,
            process.name.span,
        );
        for phase in &process.phases {
            let steps: Vec<&Name> = phase.steps.iter().map(|s| &s.name).collect();
            if steps.is_empty() {
                continue;
            }
            let spans: HashMap<&str, Span> =
                steps.iter().map(|n| (n.text.as_str(), n.span)).collect();
            let flows: Vec<&Flow> = phase.flows.iter().collect();
            let name = format!("{}.{}", process.name.text, phase.name.text);
            self.net(file, name, NetKind::Phase, &steps, &flows, &spans, phase.name.span);
        }
        self.staff_phases(file, process, workflows, client_roles);
        self.generic_statutory(file, process, workflows, client_roles);
        self.statutory_kept(file, process);
        self.durations(file, process);
        self.deadline_order(file, process);
        self.facts(file, process);
    }

    /// V026: the facts a process's plans depend on fit execution (at most
    /// [`crate::exec::MAX_FLAGS`] yes-or-no facts and one number fact).
    fn facts(&mut self, file: FileId, process: &Process) {
        let mut attrs: Vec<&StepAttrs> =
            process.phases.iter().flat_map(|p| &p.steps).map(|s| &s.attrs).collect();
        for change in process.segments.iter().flat_map(|c| &c.changes) {
            match change {
                Change::Modify { attrs: a, .. } => attrs.push(a),
                Change::Add { step, .. } => attrs.push(&step.attrs),
                Change::Remove { .. } => {}
            }
        }
        let flags: BTreeSet<&str> = attrs
            .iter()
            .filter_map(|a| a.condition.as_ref())
            .map(|c| c.fact.text.as_str())
            .collect();
        let numbers: BTreeSet<&str> =
            attrs.iter().filter_map(|a| a.per.as_ref()).map(|p| p.text.as_str()).collect();
        if flags.len() <= crate::exec::MAX_FLAGS && numbers.len() <= 1 {
            return;
        }
        self.push(
            Diagnostic::new(Code::TooManyFacts, file, process.name.span)
                .arg("process", process.name.text.as_str())
                .arg("flags", flags.len().to_string())
                .arg("numbers", numbers.len().to_string()),
        );
    }

    /// V021, V022, V023: a statutory step is required in the generic process; a client's phase
    /// holds no staff step; and each statutory step of a phase with workflows is carried out
    /// by a task of one of them.
    fn generic_statutory(
        &mut self,
        file: FileId,
        process: &Process,
        workflows: &PhaseWorkflows,
        client_roles: &HashSet<&str>,
    ) {
        for phase in &process.phases {
            let phase_workflows: &[&Workflow] = workflows
                .get(&(process.name.text.as_str(), phase.name.text.as_str()))
                .map_or(&[], Vec::as_slice);
            let carried: HashSet<&str> = phase_workflows
                .iter()
                .flat_map(|w| w.lanes.iter().flat_map(|l| &l.tasks))
                .filter_map(|t| t.step.as_ref().map(|s| s.text.as_str()))
                .chain(
                    phase_workflows.iter().filter_map(|w| w.step.as_ref().map(|s| s.text.as_str())),
                )
                .collect();
            for step in &phase.steps {
                let statutory = step.attrs.statutory.as_ref();
                if let (Some(_), Some(requirement)) = (statutory, &step.attrs.requirement) {
                    if requirement.requirement == Requirement::Optional {
                        self.push(
                            Diagnostic::new(
                                Code::StatutoryOptionalInGeneric,
                                file,
                                requirement.span,
                            )
                            .arg("name", step.name.text.as_str()),
                        );
                    }
                }
                if phase.client {
                    if let Some(role) =
                        step.attrs.roles.iter().find(|r| !client_roles.contains(r.text.as_str()))
                    {
                        self.push(
                            Diagnostic::new(Code::StaffStepInClientPhase, file, role.span)
                                .arg("phase", phase.name.text.as_str())
                                .arg("step", step.name.text.as_str())
                                .arg("role", role.text.as_str()),
                        );
                    }
                }
                if statutory.is_some()
                    && !phase_workflows.is_empty()
                    && !carried.contains(step.name.text.as_str())
                {
                    self.push(
                        Diagnostic::new(Code::StatutoryWithoutTask, file, step.name.span)
                            .arg("phase", phase.name.text.as_str())
                            .arg("step", step.name.text.as_str()),
                    );
                }
            }
        }
    }

    /// V011: a phase whose steps staff perform has a workflow.
    fn staff_phases(
        &mut self,
        file: FileId,
        process: &Process,
        workflows: &PhaseWorkflows,
        client_roles: &HashSet<&str>,
    ) {
        let by_phase = performers(process);
        for phase in &process.phases {
            if phase.client {
                continue;
            }
            // Staff work of the phase: in its steps, in steps a segment adds to it, and in
            // performers a segment gives one of its steps (`muuta STEP tekijät …`).
            let staff_steps: Vec<&str> = by_phase
                .get(phase.name.text.as_str())
                .into_iter()
                .flatten()
                .filter(|(_, roles)| roles.iter().any(|r| !client_roles.contains(r)))
                .map(|(step, _)| *step)
                .collect();
            if staff_steps.is_empty() {
                continue;
            }
            let targets: &[&Workflow] = workflows
                .get(&(process.name.text.as_str(), phase.name.text.as_str()))
                .map_or(&[], Vec::as_slice);
            let whole_phase = targets.iter().any(|w| w.step.is_none());
            let every_step = staff_steps
                .iter()
                .all(|s| targets.iter().any(|w| w.step.as_ref().is_some_and(|t| t.text == *s)));
            if !whole_phase && !every_step {
                self.push(
                    Diagnostic::new(Code::PhaseWithoutWorkflow, file, phase.name.span)
                        .arg("name", phase.name.text.as_str())
                        .arg("process", process.name.text.as_str()),
                );
            }
        }
    }

    /// V013: no segment makes a statutory step optional.
    fn statutory_kept(&mut self, file: FileId, process: &Process) {
        let statutory: HashSet<&str> = process
            .phases
            .iter()
            .flat_map(|p| &p.steps)
            .filter(|s| s.attrs.statutory.is_some())
            .map(|s| s.name.text.as_str())
            .collect();
        for content in &process.segments {
            for change in &content.changes {
                if let Change::Modify { step, attrs } = change {
                    if let Some(r) = &attrs.requirement {
                        if r.requirement == Requirement::Optional
                            && statutory.contains(step.text.as_str())
                        {
                            self.push(
                                Diagnostic::new(Code::StatutoryMadeOptional, file, r.span)
                                    .arg("segment", content.segment.text.as_str())
                                    .arg("name", step.text.as_str()),
                            );
                        }
                    }
                }
            }
        }
    }

    /// V016: durations, intervals and deadlines longer than zero.
    fn durations(&mut self, file: FileId, process: &Process) {
        let mut attrs = Vec::new();
        for step in process.phases.iter().flat_map(|p| &p.steps) {
            attrs.push(&step.attrs);
        }
        for change in process.segments.iter().flat_map(|c| &c.changes) {
            match change {
                Change::Modify { attrs: a, .. } => attrs.push(a),
                Change::Add { step, .. } => attrs.push(&step.attrs),
                Change::Remove { .. } => {}
            }
        }
        let zero = |d: &Duration| d.parts.iter().all(|(amount, _)| *amount == 0);
        let mut found = Vec::new();
        for a in attrs {
            let candidates = [
                ("kesto", a.duration.as_ref()),
                ("väli", a.interval.as_ref()),
                (
                    "määräaika",
                    a.deadline.as_ref().filter(|d| d.anchor == Anchor::Age).map(|d| &d.after),
                ),
            ];
            for (keyword, duration) in candidates {
                if let Some(d) = duration.filter(|d| zero(d)) {
                    found.push(
                        Diagnostic::new(Code::NotPositive, file, d.span).arg("keyword", keyword),
                    );
                }
            }
        }
        self.out.diagnostics.extend(found);
    }

    /// V017: in the order written, a step's deadline from the case start is not after a later
    /// step's. Deadlines relative to the phase start or the client's age are not compared.
    fn deadline_order(&mut self, file: FileId, process: &Process) {
        let steps: Vec<&polku_dsl::ast::Step> =
            process.phases.iter().flat_map(|p| &p.steps).collect();
        let mut offset: HashMap<&str, f64> = HashMap::default();
        let mut timed: Vec<(usize, f64)> = Vec::new();
        for (i, step) in steps.iter().enumerate() {
            let Some(deadline) = &step.attrs.deadline else { continue };
            let base = match &deadline.anchor {
                Anchor::CaseStart => Some(0.0),
                Anchor::Step(s) => offset.get(s.text.as_str()).copied(),
                Anchor::PreviousStep => {
                    i.checked_sub(1).and_then(|p| offset.get(steps[p].name.text.as_str()).copied())
                }
                Anchor::PhaseStart
                | Anchor::Age
                | Anchor::BeforeStep(_)
                | Anchor::PregnancyWeek => None,
            };
            if let Some(base) = base {
                let at = base + approximate_days(&deadline.after);
                offset.insert(step.name.text.as_str(), at);
                timed.push((i, at));
            }
        }
        let mut found = Vec::new();
        // V025: a time window that closes before it opens (both ends from the same anchor).
        let windows = steps.iter().map(|s| (&s.name, &s.attrs)).chain(
            process.segments.iter().flat_map(|c| &c.changes).filter_map(|c| match c {
                Change::Add { step, .. } => Some((&step.name, &step.attrs)),
                Change::Modify { step, attrs } => Some((step, attrs)),
                Change::Remove { .. } => None,
            }),
        );
        for (name, attrs) in windows {
            let (Some(earliest), Some(latest)) = (&attrs.earliest, &attrs.deadline) else {
                continue;
            };
            if earliest.anchor == latest.anchor
                && approximate_days(&earliest.after) > approximate_days(&latest.after)
            {
                found.push(
                    Diagnostic::new(Code::WindowClosesBeforeOpening, file, earliest.span)
                        .arg("name", name.text.as_str())
                        .arg("first", describe_deadline(earliest))
                        .arg("second", describe_deadline(latest)),
                );
            }
        }
        for (k, &(i, at)) in timed.iter().enumerate() {
            if let Some(&(j, _)) = timed[k + 1..].iter().find(|(_, later)| *later < at) {
                let (a, b) = (steps[i], steps[j]);
                let (Some(da), Some(db)) = (&a.attrs.deadline, &b.attrs.deadline) else { continue };
                found.push(
                    Diagnostic::new(Code::DeadlineOrder, file, da.span)
                        .arg("name", a.name.text.as_str())
                        .arg("first", describe_deadline(da))
                        .arg("later", b.name.text.as_str())
                        .arg("second", describe_deadline(db)),
                );
            }
        }
        self.out.diagnostics.extend(found);
    }

    /// V012: a workflow has a lane for every role its steps name.
    fn workflow(&mut self, file: FileId, workflow: &Workflow, processes: &[(FileId, &Process)]) {
        let tasks: Vec<&Name> =
            workflow.lanes.iter().flat_map(|l| l.tasks.iter().map(|t| &t.name)).collect();
        let spans: HashMap<&str, Span> = tasks.iter().map(|n| (n.text.as_str(), n.span)).collect();
        let flows: Vec<&Flow> = workflow.flows.iter().collect();
        if !tasks.is_empty() {
            self.net(
                file,
                workflow.target.text.clone(),
                NetKind::Workflow,
                &tasks,
                &flows,
                &spans,
                workflow.target.span,
            );
        }
        let Some((_, process)) =
            processes.iter().find(|(_, p)| p.name.text == workflow.process.text)
        else {
            return;
        };
        let Some(phase) = process.phases.iter().find(|p| p.name.text == workflow.phase.text) else {
            return;
        };
        let lanes: HashSet<&str> = workflow.lanes.iter().map(|l| l.role.text.as_str()).collect();
        let mut missing: BTreeSet<(String, String)> = BTreeSet::new();
        let by_phase = performers(process);
        for (step, roles) in by_phase.get(phase.name.text.as_str()).into_iter().flatten() {
            if workflow.step.as_ref().is_some_and(|s| s.text != *step) {
                continue;
            }
            for &role in roles {
                if !lanes.contains(role) {
                    missing.insert((role.to_owned(), (*step).to_owned()));
                }
            }
        }
        for (role, step) in missing {
            self.push(
                Diagnostic::new(Code::LaneMissing, file, workflow.target.span)
                    .arg("role", role)
                    .arg("step", step),
            );
        }
        self.segment_paths(file, workflow, process, phase);
        // V024: a task carries out a step of a role that performs it.
        let roles_of: HashMap<&str, Vec<&str>> = phase
            .steps
            .iter()
            .chain(
                process
                    .added_steps()
                    .filter(|(_, p)| *p == Some(phase.name.text.as_str()))
                    .map(|(s, _)| s),
            )
            .map(|s| {
                (s.name.text.as_str(), s.attrs.roles.iter().map(|r| r.text.as_str()).collect())
            })
            .collect();
        for lane in &workflow.lanes {
            for task in &lane.tasks {
                let Some(step) = &task.step else { continue };
                let Some(roles) = roles_of.get(step.text.as_str()) else { continue };
                // A role with no lane at all is V012's finding, not a second one here.
                if roles.is_empty()
                    || roles.contains(&lane.role.text.as_str())
                    || !roles.iter().any(|r| lanes.contains(r))
                {
                    continue;
                }
                let names: Vec<String> = roles.iter().map(|r| format!("`{r}`")).collect();
                self.push(
                    Diagnostic::new(Code::TaskRoleMismatch, file, step.span)
                        .arg("task", task.name.text.as_str())
                        .arg("role", lane.role.text.as_str())
                        .arg("step", step.text.as_str())
                        .arg("roles", names.join(", ")),
                );
            }
        }
    }

    /// V018, V019: each segment's planned steps of the phase lie on the path the segment takes
    /// through the phase's workflow. Only steps that some task of the workflow carries out are
    /// judged (a step without any task is a different question), and only in a workflow whose
    /// order is one `kulku` (or the order written).
    fn segment_paths(
        &mut self,
        file: FileId,
        workflow: &Workflow,
        process: &Process,
        phase: &polku_dsl::ast::Phase,
    ) {
        // Without a choice every task lies on every path: nothing to find. Bit sets hold up
        // to 128 tasks; a larger workflow is not judged.
        let tasks: Vec<&polku_dsl::ast::Task> =
            workflow.lanes.iter().flat_map(|l| &l.tasks).collect();
        let Some(flow) = workflow.flows.first() else { return };
        if workflow.step.is_some()
            || workflow.flows.len() > 1
            || !has_choice(flow)
            || tasks.len() > 128
        {
            return;
        }
        let index: HashMap<&str, u32> =
            tasks.iter().enumerate().map(|(i, t)| (t.name.text.as_str(), i as u32)).collect();
        let mut carriers: HashMap<&str, u128> = HashMap::default();
        for (i, task) in tasks.iter().enumerate() {
            if let Some(step) = &task.step {
                *carriers.entry(step.text.as_str()).or_default() |= 1u128 << i;
            }
        }
        // One finding per step and kind, naming every segment (and combination of the facts
        // the choices are keyed on) it concerns. A process without segment content is judged
        // by its generic plan.
        let facts = branch_facts(flow);
        if process.segments.is_empty() && facts.is_empty() {
            return;
        }
        let combinations: u32 =
            if facts.len() <= crate::exec::MAX_FLAGS { 1 << facts.len() } else { 1 };
        let contents: Vec<Option<&polku_dsl::ast::SegmentContent>> = if process.segments.is_empty()
        {
            vec![None]
        } else {
            process.segments.iter().map(Some).collect()
        };
        let mut found: Vec<(Code, String, Vec<String>)> = Vec::new();
        for content in contents {
            let segment = content.map_or("", |c| c.segment.text.as_str());
            for combination in 0..combinations {
                let value = |fact: &str| {
                    let at = facts.iter().position(|f| *f == fact)?;
                    (combinations > 1).then_some(combination >> at & 1 == 1)
                };
                let (must, may) = tasks_on_path(flow, segment, &value, &index);
                let mut who: Vec<String> = Vec::new();
                if !segment.is_empty() {
                    who.push(format!("`{segment}`"));
                }
                if combinations > 1 {
                    let holds: Vec<String> = facts
                        .iter()
                        .enumerate()
                        .map(|(i, f)| {
                            if combination >> i & 1 == 1 {
                                format!("`kun tieto {f}`")
                            } else {
                                format!("`kun ei tieto {f}`")
                            }
                        })
                        .collect();
                    who.push(holds.join(" "));
                }
                let who = who.join(" ");
                for (step, required, condition) in phase_steps(process, phase, content) {
                    // A step planned on a fact is planned only where the fact holds.
                    if condition
                        .is_some_and(|c| value(&c.fact.text).is_some_and(|v| v == c.negated))
                    {
                        continue;
                    }
                    let Some(&tasks) = carriers.get(step) else { continue };
                    let code = if tasks & may == 0 {
                        Code::StepOffSegmentPath
                    } else if required && tasks & must == 0 {
                        Code::StepOnFreeTextBranch
                    } else {
                        continue;
                    };
                    match found.iter_mut().find(|(c, s, _)| *c == code && *s == step) {
                        Some((_, _, names)) => {
                            if !names.contains(&who) {
                                names.push(who.clone())
                            }
                        }
                        None => found.push((code, step.to_owned(), vec![who.clone()])),
                    }
                }
            }
        }
        for (code, step, names) in found {
            self.push(
                Diagnostic::new(code, file, workflow.target.span)
                    .arg("segments", names.join(", "))
                    .arg("step", step),
            );
        }
    }

    /// Builds a flow's net, decides soundness, and reports what is wrong in the model's words.
    #[allow(clippy::too_many_arguments)]
    fn net(
        &mut self,
        file: FileId,
        name: String,
        kind: NetKind,
        elements: &[&Name],
        flows: &[&Flow],
        spans: &HashMap<&str, Span>,
        container: Span,
    ) {
        for flow in flows {
            self.choices(file, flow);
        }
        // Findings about the flow as a whole point at its first `kulku`, or at the block when the
        // order is the order written.
        let container = flows
            .first()
            .map(|f| f.names())
            .and_then(|names| Some(names.first()?.span.to(names.last()?.span)))
            .unwrap_or(container);
        let flow_net = build(elements, flows);
        let verdict = check_soundness(&flow_net.net, self.limits);
        let net = &flow_net.net;
        let label = |t| net.kind(t).label().unwrap_or("").to_owned();
        let path = |p: &[crate::net::TransitionId]| {
            if p.is_empty() {
                "(alku)".to_owned()
            } else {
                p.iter().map(|t| format!("`{}`", label(*t))).collect::<Vec<_>>().join(" → ")
            }
        };
        let at = |element: &str| spans.get(element).copied().unwrap_or(container);
        let mut found = Vec::new();
        let mut loops_reported: Vec<Vec<crate::net::TransitionId>> = Vec::new();
        match &verdict {
            Verdict::Sound { .. } => {}
            Verdict::Undecided { .. } => found.push(
                Diagnostic::new(Code::StateLimit, file, container)
                    .arg("name", name.as_str())
                    .arg("limit", self.limits.states_for(net.place_count()).to_string()),
            ),
            Verdict::Unsound { findings, .. } => {
                for finding in findings {
                    match finding {
                        Finding::NotWorkflowNet => found.push(
                            Diagnostic::new(Code::NoEnd, file, container)
                                .arg("name", name.as_str()),
                        ),
                        Finding::Unreachable { transition } => {
                            if let Some(l) = net.kind(*transition).label() {
                                found.push(
                                    Diagnostic::new(Code::Unreachable, file, at(l)).arg("name", l),
                                );
                            }
                        }
                        Finding::NoEnd { transition, cycle } => {
                            if let Some(l) = net.kind(*transition).label() {
                                let d = if *cycle {
                                    let members = net.loop_members(*transition);
                                    // A loop is reported once, at its first element.
                                    if loops_reported.contains(&members) {
                                        continue;
                                    }
                                    loops_reported.push(members.clone());
                                    let names: Vec<String> =
                                        members.iter().map(|t| label(*t)).collect();
                                    // Underlined at the arrow that closes the loop, in the
                                    // latest `kulku` that draws one of its arrows, with the
                                    // closing arrow in the path.
                                    match closing_arrow(flows, &names) {
                                        Some((cycle, arrow)) => {
                                            let cycle: Vec<String> =
                                                cycle.iter().map(|n| format!("`{n}`")).collect();
                                            Diagnostic::new(Code::LoopWithoutExit, file, arrow)
                                                .arg("name", l)
                                                .arg("path", cycle.join(" → "))
                                                .secondary(file, at(l), Note::DefinedHere)
                                        }
                                        None => Diagnostic::new(Code::LoopWithoutExit, file, at(l))
                                            .arg("name", l)
                                            .arg("path", path(&members)),
                                    }
                                } else {
                                    Diagnostic::new(Code::NoEnd, file, at(l)).arg("name", l)
                                };
                                found.push(d);
                            }
                        }
                        Finding::ImproperCompletion { path: p, left } => {
                            // Name the elements the open work waits in front of: follow silent
                            // transitions (arrows, splits, choices) forward to the next elements.
                            let mut open: Vec<String> = Vec::new();
                            let mut seen = vec![false; net.place_count()];
                            let mut stack: Vec<crate::net::PlaceId> = left.clone();
                            while let Some(place) = stack.pop() {
                                if std::mem::replace(&mut seen[place.index()], true) {
                                    continue;
                                }
                                for t in net.transitions().filter(|t| net.pre(*t).contains(&place))
                                {
                                    match net.kind(t) {
                                        TransitionKind::Element(n) => open.push(format!("`{n}`")),
                                        TransitionKind::Join(_) => {
                                            if let Some(inputs) = flow_net.join_inputs.get(&t) {
                                                open.extend(
                                                    inputs
                                                        .iter()
                                                        .filter(|(pl, _)| *pl == place)
                                                        .map(|(_, n)| format!("`{n}`")),
                                                );
                                            }
                                        }
                                        TransitionKind::End => {}
                                        _ => stack.extend(net.post(t)),
                                    }
                                }
                            }
                            open.sort();
                            open.dedup();
                            found.push(
                                Diagnostic::new(Code::SplitWithoutJoin, file, container)
                                    .arg("open", open.join(", "))
                                    .arg("path", path(p)),
                            );
                        }
                        Finding::Deadlock { path: p, waiting } => {
                            let d = match waiting {
                                Some((join, empty)) => {
                                    let inputs =
                                        flow_net.join_inputs.get(join).cloned().unwrap_or_default();
                                    let branches = inputs
                                        .iter()
                                        .map(|(_, n)| format!("`{n}`"))
                                        .collect::<Vec<_>>()
                                        .join(" & ");
                                    let missing = inputs
                                        .iter()
                                        .filter(|(pl, _)| empty.contains(pl))
                                        .map(|(_, n)| n.clone())
                                        .collect::<Vec<_>>()
                                        .join("`, `");
                                    Diagnostic::new(Code::JoinNeverCompletes, file, container)
                                        .arg("path", path(p))
                                        .arg("branches", branches)
                                        .arg("missing", missing)
                                }
                                None => {
                                    let last =
                                        p.last().map(|t| label(*t)).unwrap_or_else(|| name.clone());
                                    Diagnostic::new(Code::NoEnd, file, at(&last)).arg("name", last)
                                }
                            };
                            found.push(d);
                        }
                        Finding::Livelock { path: p } => {
                            let last = p.last().map(|t| label(*t)).unwrap_or_else(|| name.clone());
                            found.push(
                                Diagnostic::new(Code::LoopWithoutExit, file, at(&last))
                                    .arg("name", last.as_str())
                                    .arg("path", path(p)),
                            );
                        }
                        Finding::Unbounded { path: p, .. } => found.push(
                            Diagnostic::new(Code::Unbounded, file, container)
                                .arg("name", name.as_str())
                                .arg("path", path(p)),
                        ),
                        // In a net built from Polku flows a dead element is one the flow never
                        // reaches; the rule says so in the same words.
                        Finding::Dead { transition } => {
                            if let Some(l) = net.kind(*transition).label() {
                                found.push(
                                    Diagnostic::new(Code::Unreachable, file, at(l)).arg("name", l),
                                );
                            }
                        }
                    }
                }
            }
        }
        self.out.diagnostics.extend(found);
        self.out.nets.push(CheckedNet { name, kind, flow: flow_net, verdict });
    }

    /// V027–V031: a form's scoring covers every combination of answers once, reaches every
    /// segment, and reads every question that is not `tiedoksi`.
    fn form(&mut self, file: FileId, form: &polku_dsl::ast::Form) {
        let profiles: Vec<(String, Vec<(String, String)>)> = form
            .segmentation
            .as_ref()
            .and_then(|name| {
                self.items().find_map(|(_, item)| match item {
                    Item::Segmentation(s) if s.name.text == name.text => Some(s),
                    _ => None,
                })
            })
            .map(|s| {
                s.segments
                    .iter()
                    .map(|g| {
                        let at = g.position.iter().map(|(a, v)| (a.text.clone(), v.text.clone()));
                        (g.name.text.clone(), at.collect())
                    })
                    .collect()
            })
            .unwrap_or_default();
        let compiled = crate::form::Form::compile(form, &profiles);
        for i in compiled.unused() {
            let q = &form.questions[i];
            self.push(
                Diagnostic::new(Code::QuestionUnused, file, q.name.span)
                    .arg("name", q.name.text.as_str())
                    .arg("form", form.name.text.as_str()),
            );
        }
        if form.scoring.is_empty() {
            return;
        }
        let Some(check) = compiled.check() else {
            let count = form
                .questions
                .iter()
                .map(|q| match &q.kind {
                    polku_dsl::ast::QuestionKind::Scale { min, max } => u128::from(max - min + 1),
                    polku_dsl::ast::QuestionKind::YesNo => 2,
                    polku_dsl::ast::QuestionKind::Choice(o) => o.len() as u128,
                    polku_dsl::ast::QuestionKind::Multiple(o) => 1u128 << o.len().min(100),
                    polku_dsl::ast::QuestionKind::Text => 1,
                })
                .fold(1u128, u128::saturating_mul);
            self.push(
                Diagnostic::new(Code::ScoringTooLarge, file, form.name.span)
                    .arg("form", form.name.text.as_str())
                    .arg("count", grouped(count)),
            );
            return;
        };
        for (at, scoring) in form.scoring.iter().enumerate() {
            if let Some(example) = &check.gaps[at] {
                self.push(
                    Diagnostic::new(Code::ScoringGap, file, scoring.axis.span)
                        .arg("axis", scoring.axis.text.as_str())
                        .arg("form", form.name.text.as_str())
                        .arg("example", example.as_str()),
                );
            }
            if let Some((first, second, example)) = &check.overlaps[at] {
                self.push(
                    Diagnostic::new(Code::ScoringOverlap, file, scoring.axis.span)
                        .arg("axis", scoring.axis.text.as_str())
                        .arg("form", form.name.text.as_str())
                        .arg("first", first.as_str())
                        .arg("second", second.as_str())
                        .arg("example", example.as_str()),
                );
            }
        }
        // Only a form that scores every axis of its segmentation can reach its segments.
        let complete = profiles.iter().all(|(_, at)| {
            at.iter().all(|(axis, _)| form.scoring.iter().any(|s| s.axis.text == *axis))
        });
        if complete && check.gaps.iter().all(Option::is_none) {
            for (segment, _) in &profiles {
                if !check.reached.contains(segment) {
                    self.push(
                        Diagnostic::new(Code::SegmentNotProposed, file, form.name.span)
                            .arg("form", form.name.text.as_str())
                            .arg("segment", segment.as_str()),
                    );
                }
            }
        }
    }

    /// V032–V034: marker rules for different segments have different priorities, every segment
    /// is proposed by some rule, and no window is longer than the rows are kept.
    fn markers(&mut self, file: FileId, markers: &polku_dsl::ast::Markers) {
        let rules = &markers.rules;
        let count: usize = rules.iter().map(|r| r.conditions.len()).sum();
        if count > 64 {
            self.push(
                Diagnostic::new(Code::TooManyMarkerConditions, file, markers.name.span)
                    .arg("markers", markers.name.text.as_str())
                    .arg("count", count.to_string()),
            );
        }
        for (i, a) in rules.iter().enumerate() {
            if let Some(b) = rules[i + 1..]
                .iter()
                .find(|b| b.segment.text != a.segment.text && b.priority == a.priority)
            {
                self.push(
                    Diagnostic::new(Code::MarkerRulesWithoutPriority, file, b.span)
                        .arg("first", a.segment.text.as_str())
                        .arg("second", b.segment.text.as_str()),
                );
                break;
            }
        }
        let segments: Vec<&str> = markers
            .segmentation
            .as_ref()
            .and_then(|name| {
                self.items().find_map(|(_, item)| match item {
                    Item::Segmentation(s) if s.name.text == name.text => Some(s),
                    _ => None,
                })
            })
            .map(|s| s.segments.iter().map(|g| g.name.text.as_str()).collect())
            .unwrap_or_default();
        for segment in segments {
            let proposed = rules.iter().any(|r| r.segment.text == segment)
                || markers.otherwise.as_ref().is_some_and(|o| o.text == segment);
            if !proposed {
                self.push(
                    Diagnostic::new(Code::MarkerSegmentUnreached, file, markers.name.span)
                        .arg("markers", markers.name.text.as_str())
                        .arg("segment", segment),
                );
            }
        }
        let retention = markers
            .retention
            .as_ref()
            .map_or(crate::markers::DEFAULT_RETENTION_DAYS as f64, approximate_days);
        for condition in rules.iter().flat_map(|r| &r.conditions) {
            let window = match condition {
                polku_dsl::ast::MarkerCondition::Code { window, .. }
                | polku_dsl::ast::MarkerCondition::Marker { window, .. }
                | polku_dsl::ast::MarkerCondition::Visits { window, .. } => window,
            };
            if let Some(w) = window.as_ref().filter(|w| approximate_days(w) > retention) {
                let kept = markers
                    .retention
                    .as_ref()
                    .map_or_else(|| "730 pv".to_owned(), crate::plan::describe_duration);
                self.push(
                    Diagnostic::new(Code::WindowLongerThanRetention, file, w.span)
                        .arg("window", crate::plan::describe_duration(w))
                        .arg("retention", kept),
                );
            }
        }
    }

    /// V007: every choice has a default branch.
    fn choices(&mut self, file: FileId, flow: &Flow) {
        let mut stack = vec![flow];
        while let Some(f) = stack.pop() {
            match f {
                Flow::Name(_) => {}
                Flow::Sequence(items) | Flow::Parallel(items) => stack.extend(items),
                Flow::Repeat { body, .. } => stack.push(body),
                Flow::Choice(branches) => {
                    // A fact and its negation between them take every case.
                    let complementary = branches.iter().any(|a| {
                        a.fact.as_ref().is_some_and(|x| {
                            branches.iter().any(|b| {
                                b.fact.as_ref().is_some_and(|y| {
                                    y.fact.text == x.fact.text && y.negated != x.negated
                                })
                            })
                        })
                    });
                    if !complementary && !branches.iter().any(|b: &Branch| b.default) {
                        if let Some(first) =
                            branches.first().and_then(|b| b.flow.names().first().copied())
                        {
                            self.push(
                                Diagnostic::new(Code::ChoiceWithoutDefault, file, first.span)
                                    .arg("name", first.text.as_str()),
                            );
                        }
                    }
                    stack.extend(branches.iter().map(|b| &b.flow));
                }
            }
        }
    }
}

/// A large number with its thousands apart (`5 368 709 120`), as people read it.
fn grouped(n: u128) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(' ');
        }
        out.push(c);
    }
    out
}

/// The arrows a flow draws: (from, to, the span from the one name to the other). An arrow
/// leaves the last elements of what precedes it and enters the first elements of what follows.
fn arrows(flow: &Flow) -> Vec<(&Name, &Name, Span)> {
    fn ends(flow: &Flow, last: bool) -> Vec<&Name> {
        match flow {
            Flow::Name(n) => vec![n],
            Flow::Sequence(items) => {
                let item = if last { items.last() } else { items.first() };
                item.map(|i| ends(i, last)).unwrap_or_default()
            }
            Flow::Parallel(items) => items.iter().flat_map(|i| ends(i, last)).collect(),
            Flow::Choice(branches) => branches.iter().flat_map(|b| ends(&b.flow, last)).collect(),
            Flow::Repeat { body, .. } => ends(body, last),
        }
    }
    let mut out = Vec::new();
    let mut stack = vec![flow];
    while let Some(f) = stack.pop() {
        match f {
            Flow::Name(_) => {}
            Flow::Sequence(items) => {
                for pair in items.windows(2) {
                    for from in ends(&pair[0], true) {
                        for to in ends(&pair[1], false) {
                            out.push((from, to, from.span.to(to.span)));
                        }
                    }
                }
                stack.extend(items);
            }
            Flow::Parallel(items) => stack.extend(items),
            Flow::Choice(branches) => stack.extend(branches.iter().map(|b| &b.flow)),
            Flow::Repeat { body, .. } => stack.push(body),
        }
    }
    out
}

/// A loop through `members` as the flows draw it: its elements in order, back to the first,
/// and the span of the arrow that closes it, taken from the latest `kulku` that draws an
/// arrow of the loop (the statement that made the loop, when a later `kulku` adds a way back).
fn closing_arrow(flows: &[&Flow], members: &[String]) -> Option<(Vec<String>, Span)> {
    let inside = |n: &Name| members.contains(&n.text);
    let drawn: Vec<(usize, &Name, &Name, Span)> = flows
        .iter()
        .enumerate()
        .flat_map(|(i, f)| arrows(f).into_iter().map(move |(a, b, s)| (i, a, b, s)))
        .filter(|(_, a, b, _)| inside(a) && inside(b))
        .collect();
    let start = members.first()?;
    // Follow the drawn arrows from the first member until they come back to it.
    let mut cycle = vec![start.clone()];
    let mut used = Vec::new();
    let mut at = start.clone();
    for _ in 0..=members.len() {
        let (index, _, to, span) = drawn
            .iter()
            .filter(|(_, a, b, _)| a.text == at && (b.text == *start || !cycle.contains(&b.text)))
            .max_by_key(|(_, _, b, _)| b.text == *start)?;
        used.push((*index, *span));
        cycle.push(to.text.clone());
        if to.text == *start {
            let (_, span) = used.iter().max_by_key(|(i, _)| *i)?;
            return Some((cycle, *span));
        }
        at = to.text.clone();
    }
    None
}
