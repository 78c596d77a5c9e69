//! Name resolution across the files of one model: every name is defined once and every
//! reference points at a definition of the right kind.
//!
//! Top-level names (roles, services, segmentations, chains, processes) are global in the model;
//! phases and steps belong to their process; tasks and lanes to their workflow. A segment may add
//! a step under a name that another segment also adds: each segment's plan is its own.

use crate::hash::FastMap as HashMap;

use crate::ast::*;
use crate::diagnostic::{Code, Diagnostic, NameKind, Note};
use crate::span::{FileId, Span};
use crate::suggest::closest;

/// A definition: the file it is in and the node.
#[derive(Debug)]
pub struct Def<'m, T> {
    pub file: FileId,
    pub node: &'m T,
}

impl<T> Clone for Def<'_, T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for Def<'_, T> {}

/// The model's global names.
#[derive(Debug, Default)]
pub struct Index<'m> {
    pub organisation: Option<Def<'m, Organisation>>,
    pub roles: HashMap<&'m str, Def<'m, Role>>,
    pub facts: HashMap<&'m str, Def<'m, Fact>>,
    pub services: HashMap<&'m str, Def<'m, Service>>,
    pub segmentations: HashMap<&'m str, Def<'m, Segmentation>>,
    pub chains: HashMap<&'m str, Def<'m, Chain>>,
    pub processes: HashMap<&'m str, Def<'m, Process>>,
    pub workflows: HashMap<&'m str, Def<'m, Workflow>>,
    pub forms: HashMap<&'m str, Def<'m, Form>>,
    pub markers: HashMap<&'m str, Def<'m, Markers>>,
}

/// Builds the index and checks every reference. The index holds the first definition of each
/// name; later duplicates are reported.
pub fn resolve<'m>(files: &'m [(FileId, File)]) -> (Index<'m>, Vec<Diagnostic>) {
    let mut resolver = Resolver { index: Index::default(), diagnostics: Vec::new() };
    for (file, ast) in files {
        for item in &ast.items {
            resolver.define(*file, item);
        }
    }
    for (file, ast) in files {
        for item in &ast.items {
            resolver.check(*file, item);
        }
    }
    (resolver.index, resolver.diagnostics)
}

struct Resolver<'m> {
    index: Index<'m>,
    diagnostics: Vec<Diagnostic>,
}

/// Inserts a definition into a table, reporting a duplicate against the first one.
fn insert<'m, T>(
    table: &mut HashMap<&'m str, Def<'m, T>>,
    name: &'m Name,
    def: Def<'m, T>,
    kind: NameKind,
    first_span: impl Fn(&T) -> Span,
    diagnostics: &mut Vec<Diagnostic>,
) {
    match table.get(name.text.as_str()) {
        Some(first) => diagnostics.push(
            Diagnostic::new(Code::DuplicateName, def.file, name.span)
                .kind(kind)
                .arg("name", name.text.as_str())
                .secondary(first.file, first_span(first.node), Note::FirstDefinedHere),
        ),
        None => {
            table.insert(name.text.as_str(), def);
        }
    }
}

/// Checks names for uniqueness within a local scope.
struct Scope<'m> {
    kind: NameKind,
    names: HashMap<&'m str, Span>,
}

impl<'m> Scope<'m> {
    fn new(kind: NameKind) -> Scope<'m> {
        Scope { kind, names: HashMap::default() }
    }

    fn define(&mut self, file: FileId, name: &'m Name, diagnostics: &mut Vec<Diagnostic>) {
        if let Some(first) = self.names.get(name.text.as_str()) {
            diagnostics.push(
                Diagnostic::new(Code::DuplicateName, file, name.span)
                    .kind(self.kind)
                    .arg("name", name.text.as_str())
                    .secondary(file, *first, Note::FirstDefinedHere),
            );
        } else {
            self.names.insert(name.text.as_str(), name.span);
        }
    }

    fn contains(&self, name: &str) -> bool {
        self.names.contains_key(name)
    }

    fn keys(&self) -> impl Iterator<Item = &str> {
        self.names.keys().copied()
    }
}

fn unknown<'c>(
    file: FileId,
    kind: NameKind,
    name: &Name,
    candidates: impl IntoIterator<Item = &'c str>,
) -> Diagnostic {
    let mut sorted: Vec<&str> = candidates.into_iter().collect();
    sorted.sort_unstable();
    Diagnostic::new(Code::UnknownName, file, name.span)
        .kind(kind)
        .arg("name", name.text.as_str())
        .did_you_mean(closest(&name.text, sorted))
}

impl<'m> Resolver<'m> {
    fn define(&mut self, file: FileId, item: &'m Item) {
        let d = &mut self.diagnostics;
        match item {
            Item::Organisation(org) => match self.index.organisation {
                Some(first) if first.node.name.text == org.name.text => d.push(
                    Diagnostic::new(Code::DuplicateName, file, org.name.span)
                        .kind(NameKind::Organisation)
                        .arg("name", org.name.text.as_str())
                        .secondary(first.file, first.node.name.span, Note::FirstDefinedHere),
                ),
                Some(first) => d.push(
                    Diagnostic::new(Code::SecondOrganisation, file, org.name.span)
                        .arg("name", org.name.text.as_str())
                        .secondary(first.file, first.node.name.span, Note::FirstDefinedHere),
                ),
                None => self.index.organisation = Some(Def { file, node: org }),
            },
            Item::Role(role) => {
                let def = Def { file, node: role };
                insert(&mut self.index.roles, &role.name, def, NameKind::Role, |r| r.name.span, d);
            }
            Item::Fact(fact) => {
                let def = Def { file, node: fact };
                insert(&mut self.index.facts, &fact.name, def, NameKind::Fact, |f| f.name.span, d);
            }
            Item::Service(service) => {
                let def = Def { file, node: service };
                insert(
                    &mut self.index.services,
                    &service.name,
                    def,
                    NameKind::Service,
                    |s| s.name.span,
                    d,
                );
            }
            Item::Segmentation(seg) => {
                let def = Def { file, node: seg };
                insert(
                    &mut self.index.segmentations,
                    &seg.name,
                    def,
                    NameKind::Segmentation,
                    |s| s.name.span,
                    d,
                );
            }
            Item::Chain(chain) => {
                let def = Def { file, node: chain };
                insert(
                    &mut self.index.chains,
                    &chain.name,
                    def,
                    NameKind::Chain,
                    |c| c.name.span,
                    d,
                );
            }
            Item::Process(process) => {
                let def = Def { file, node: process };
                insert(
                    &mut self.index.processes,
                    &process.name,
                    def,
                    NameKind::Process,
                    |p| p.name.span,
                    d,
                );
            }
            Item::Markers(markers) => {
                let def = Def { file, node: markers };
                insert(
                    &mut self.index.markers,
                    &markers.name,
                    def,
                    NameKind::Markers,
                    |m| m.name.span,
                    d,
                );
            }
            Item::Form(form) => {
                let def = Def { file, node: form };
                insert(&mut self.index.forms, &form.name, def, NameKind::Form, |f| f.name.span, d);
            }
            Item::Workflow(workflow) => {
                let def = Def { file, node: workflow };
                insert(
                    &mut self.index.workflows,
                    &workflow.target,
                    def,
                    NameKind::Workflow,
                    |w| w.target.span,
                    d,
                );
            }
        }
    }

    fn check(&mut self, file: FileId, item: &'m Item) {
        match item {
            Item::Organisation(_) | Item::Role(_) | Item::Fact(_) | Item::Service(_) => {}
            Item::Segmentation(seg) => self.segmentation(file, seg),
            Item::Chain(chain) => self.chain(file, chain),
            Item::Process(process) => self.process(file, process),
            Item::Workflow(workflow) => self.workflow(file, workflow),
            Item::Form(form) => self.form(file, form),
            Item::Markers(markers) => self.markers(file, markers),
        }
    }

    /// Marker rules: their segmentation and segments, known code systems and well-formed codes.
    fn markers(&mut self, file: FileId, markers: &'m Markers) {
        let segmentation =
            markers.segmentation.as_ref().and_then(|name| self.segmentation_ref(file, name));
        for segment in markers.rules.iter().map(|r| &r.segment).chain(&markers.otherwise) {
            self.segment_ref(file, segment, markers.segmentation.as_ref(), segmentation);
        }
        for condition in markers.rules.iter().flat_map(|r| &r.conditions) {
            let (system, codes) = match condition {
                MarkerCondition::Code { system, codes, .. }
                | MarkerCondition::Visits { system, codes, .. } => (system, codes),
                MarkerCondition::Marker { .. } => continue,
            };
            let Some(shape) = crate::markers::code_shape(&system.text) else {
                let suggestion = closest(&system.text, crate::markers::SYSTEMS.iter().copied());
                self.diagnostics.push(
                    Diagnostic::new(Code::UnknownCodeSystem, file, system.span)
                        .arg("found", system.text.as_str())
                        .did_you_mean(suggestion),
                );
                continue;
            };
            for code in codes {
                if !crate::markers::code_fits(&system.text, &code.text) {
                    self.diagnostics.push(
                        Diagnostic::new(Code::MalformedCode, file, code.span)
                            .arg("found", code.text.as_str())
                            .arg("system", system.text.as_str())
                            .arg("shape", shape),
                    );
                }
            }
        }
    }

    /// A form's names: its segmentation, the assessing steps it is gone through in, its
    /// questions and the answers its conditions name, the axes and values it scores.
    fn form(&mut self, file: FileId, form: &'m Form) {
        let segmentation =
            form.segmentation.as_ref().and_then(|name| self.segmentation_ref(file, name));
        for target in &form.steps {
            let parts: Vec<&str> = target.text.split('.').collect();
            let [process_name, step_name] = parts[..] else {
                self.diagnostics.push(
                    Diagnostic::new(Code::UnknownName, file, target.span)
                        .kind(NameKind::Step)
                        .arg("name", target.text.as_str()),
                );
                continue;
            };
            let Some(process) = self.index.processes.get(process_name).map(|d| d.node) else {
                let name = Name { text: process_name.to_owned(), span: target.span };
                self.process_ref(file, &name);
                continue;
            };
            let step =
                process.phases.iter().flat_map(|p| &p.steps).find(|s| s.name.text == step_name);
            let Some(step) = step else {
                let names =
                    process.phases.iter().flat_map(|p| &p.steps).map(|s| s.name.text.as_str());
                let name = Name { text: step_name.to_owned(), span: target.span };
                self.diagnostics.push(unknown(file, NameKind::Step, &name, names));
                continue;
            };
            if step.attrs.assesses_segment.is_none() {
                self.diagnostics.push(
                    Diagnostic::new(Code::NotAssessingStep, file, target.span)
                        .arg("form", form.name.text.as_str())
                        .arg("name", target.text.as_str()),
                );
            }
            if let (Some(ours), Some(theirs)) = (&form.segmentation, &process.segmentation) {
                if ours.text != theirs.text {
                    self.diagnostics.push(
                        Diagnostic::new(Code::FormSegmentationMismatch, file, target.span)
                            .arg("form", form.name.text.as_str())
                            .arg("segmentation", ours.text.as_str())
                            .arg("process", process_name)
                            .arg("other", theirs.text.as_str()),
                    );
                }
            }
        }
        let mut names = Scope::new(NameKind::Question);
        let mut asked: Vec<&Question> = Vec::new();
        for question in form.questions.iter().chain(&form.items) {
            names.define(file, &question.name, &mut self.diagnostics);
            if let Some(condition) = &question.shown_if {
                match asked.iter().find(|q| q.name.text == condition.question.text) {
                    Some(earlier) => self.answer_fits(file, earlier, condition),
                    None => self.diagnostics.push(
                        Diagnostic::new(Code::ShownBeforeAsked, file, condition.question.span)
                            .arg("name", question.name.text.as_str())
                            .arg("question", condition.question.text.as_str()),
                    ),
                }
            }
            asked.push(question);
        }
        for (segment, _) in &form.guidance {
            self.segment_ref(file, segment, form.segmentation.as_ref(), segmentation);
        }
        for scoring in &form.scoring {
            let axis =
                segmentation.map(|s| s.axes.iter().find(|a| a.name.text == scoring.axis.text));
            let axis = match axis {
                Some(None) => {
                    let names = segmentation
                        .into_iter()
                        .flat_map(|s| &s.axes)
                        .map(|a| a.name.text.as_str());
                    self.diagnostics.push(unknown(file, NameKind::Axis, &scoring.axis, names));
                    None
                }
                Some(Some(axis)) => Some(axis),
                None => None,
            };
            let values =
                scoring.rules.iter().map(|r| &r.value).chain(&scoring.missing).chain(&scoring.tie);
            for value in values {
                if let Some(axis) = axis {
                    if !axis.values.iter().any(|v| v.text == value.text) {
                        let names = axis.values.iter().map(|v| v.text.as_str());
                        self.diagnostics.push(unknown(file, NameKind::AxisValue, value, names));
                    }
                }
            }
            for condition in scoring.rules.iter().flat_map(|r| &r.conditions) {
                match form.questions.iter().find(|q| q.name.text == condition.question.text) {
                    Some(question) => self.answer_fits(file, question, condition),
                    None => {
                        let names = form.questions.iter().map(|q| q.name.text.as_str());
                        self.diagnostics.push(unknown(
                            file,
                            NameKind::Question,
                            &condition.question,
                            names,
                        ));
                    }
                }
            }
        }
    }

    /// R016: a condition names an answer the question can have.
    fn answer_fits(&mut self, file: FileId, question: &Question, condition: &AnswerCondition) {
        let (fits, found, answers): (bool, String, String) = match (&question.kind, &condition.test)
        {
            (QuestionKind::YesNo, AnswerTest::Yes | AnswerTest::No) => {
                (true, String::new(), String::new())
            }
            // An option named `kyllä` or `ei`.
            (
                QuestionKind::Choice(options) | QuestionKind::Multiple(options),
                test @ (AnswerTest::Yes | AnswerTest::No),
            ) if options
                .iter()
                .any(|o| o.text == if *test == AnswerTest::Yes { "kyllä" } else { "ei" }) =>
            {
                (true, String::new(), String::new())
            }
            (
                QuestionKind::Scale { min, max },
                AnswerTest::Exactly(n) | AnswerTest::AtMost(n) | AnswerTest::AtLeast(n),
            ) => (n >= min && n <= max, n.to_string(), format!("{min}–{max}")),
            (
                QuestionKind::Choice(options) | QuestionKind::Multiple(options),
                AnswerTest::AnyOf(chosen),
            ) => {
                let wrong = chosen.iter().find(|c| !options.iter().any(|o| o.text == c.text));
                let list = options.iter().map(|o| o.text.as_str()).collect::<Vec<_>>().join(", ");
                (wrong.is_none(), wrong.map(|w| w.text.clone()).unwrap_or_default(), list)
            }
            (kind, test) => {
                let found = match test {
                    AnswerTest::Yes => "kyllä".to_owned(),
                    AnswerTest::No => "ei".to_owned(),
                    AnswerTest::Exactly(n) => n.to_string(),
                    AnswerTest::AtMost(n) => format!("enintään {n}"),
                    AnswerTest::AtLeast(n) => format!("vähintään {n}"),
                    AnswerTest::AnyOf(o) => {
                        o.iter().map(|o| o.text.as_str()).collect::<Vec<_>>().join(", ")
                    }
                };
                let answers = match kind {
                    QuestionKind::Scale { min, max } => format!("{min}–{max}"),
                    QuestionKind::YesNo => "kyllä, ei".to_owned(),
                    QuestionKind::Choice(o) | QuestionKind::Multiple(o) => {
                        o.iter().map(|o| o.text.as_str()).collect::<Vec<_>>().join(", ")
                    }
                    QuestionKind::Text => "teksti".to_owned(),
                };
                (false, found, answers)
            }
        };
        if !fits {
            self.diagnostics.push(
                Diagnostic::new(Code::AnswerDoesNotFit, file, condition.span)
                    .arg("found", found)
                    .arg("question", question.name.text.as_str())
                    .arg("answers", answers),
            );
        }
    }

    fn role(&mut self, file: FileId, name: &Name) {
        if !self.index.roles.contains_key(name.text.as_str()) {
            let d = unknown(file, NameKind::Role, name, self.index.roles.keys().copied());
            self.diagnostics.push(d);
        }
    }

    fn service(&mut self, file: FileId, name: &Name) {
        if !self.index.services.contains_key(name.text.as_str()) {
            let d = unknown(file, NameKind::Service, name, self.index.services.keys().copied());
            self.diagnostics.push(d);
        }
    }

    fn process_ref(&mut self, file: FileId, name: &Name) {
        if !self.index.processes.contains_key(name.text.as_str()) {
            let d = unknown(file, NameKind::Process, name, self.index.processes.keys().copied());
            self.diagnostics.push(d);
        }
    }

    fn segmentation_ref(&mut self, file: FileId, name: &Name) -> Option<&'m Segmentation> {
        match self.index.segmentations.get(name.text.as_str()) {
            Some(def) => Some(def.node),
            None => {
                let d = unknown(
                    file,
                    NameKind::Segmentation,
                    name,
                    self.index.segmentations.keys().copied(),
                );
                self.diagnostics.push(d);
                None
            }
        }
    }

    /// Checks that `segment` is a segment of the segmentation `of` (when that resolved).
    fn segment_ref(
        &mut self,
        file: FileId,
        segment: &Name,
        of: Option<&Name>,
        segmentation: Option<&Segmentation>,
    ) {
        match (of, segmentation) {
            (None, _) => self.diagnostics.push(
                Diagnostic::new(Code::SegmentsWithoutSegmentation, file, segment.span)
                    .arg("name", segment.text.as_str()),
            ),
            (Some(_), None) => {}
            (Some(_), Some(seg)) => {
                if !seg.segments.iter().any(|s| s.name.text == segment.text) {
                    let names = seg.segments.iter().map(|s| s.name.text.as_str());
                    self.diagnostics.push(unknown(file, NameKind::Segment, segment, names));
                }
            }
        }
    }

    fn segmentation(&mut self, file: FileId, seg: &'m Segmentation) {
        for unit in &seg.units {
            self.service(file, unit);
        }
        let mut axes = Scope::new(NameKind::Axis);
        for axis in &seg.axes {
            axes.define(file, &axis.name, &mut self.diagnostics);
            let mut values = Scope::new(NameKind::AxisValue);
            for value in &axis.values {
                values.define(file, value, &mut self.diagnostics);
            }
        }
        let mut segments = Scope::new(NameKind::Segment);
        for segment in &seg.segments {
            segments.define(file, &segment.name, &mut self.diagnostics);
            let mut placed: HashMap<&str, Span> = HashMap::default();
            for (axis_name, value) in &segment.position {
                let Some(axis) = seg.axes.iter().find(|a| a.name.text == axis_name.text) else {
                    let names = seg.axes.iter().map(|a| a.name.text.as_str());
                    self.diagnostics.push(unknown(file, NameKind::Axis, axis_name, names));
                    continue;
                };
                if let Some(first) = placed.insert(axis_name.text.as_str(), axis_name.span) {
                    self.diagnostics.push(
                        Diagnostic::new(Code::RepeatedAttribute, file, axis_name.span)
                            .arg("found", axis_name.text.as_str())
                            .secondary(file, first, Note::FirstGivenHere),
                    );
                }
                if !axis.values.iter().any(|v| v.text == value.text) {
                    let names = axis.values.iter().map(|v| v.text.as_str());
                    self.diagnostics.push(unknown(file, NameKind::AxisValue, value, names));
                }
            }
        }
    }

    fn chain(&mut self, file: FileId, chain: &'m Chain) {
        let segmentation =
            chain.segmentation.as_ref().and_then(|name| self.segmentation_ref(file, name));
        let services = chain.services.iter().chain(chain.paths.iter().flatten());
        for name in services {
            self.service(file, name);
        }
        for referral in &chain.referrals {
            self.service(file, &referral.from);
            self.service(file, &referral.to);
            for segment in &referral.segments {
                self.segment_ref(file, segment, chain.segmentation.as_ref(), segmentation);
            }
        }
    }

    /// A fact named by `jos` (a yes-or-no fact) or `toistuu` (a number).
    fn fact(&mut self, file: FileId, name: &Name, number: bool) {
        match self.index.facts.get(name.text.as_str()) {
            None => {
                let d = unknown(file, NameKind::Fact, name, self.index.facts.keys().copied());
                self.diagnostics.push(d);
            }
            Some(def) if def.node.number != number => {
                let code = if number { Code::RepeatOnYesNo } else { Code::ConditionOnNumber };
                self.diagnostics.push(
                    Diagnostic::new(code, file, name.span)
                        .arg("name", name.text.as_str())
                        .secondary(def.file, def.node.name.span, Note::DefinedHere),
                );
            }
            Some(_) => {}
        }
    }

    fn step_attrs(&mut self, file: FileId, attrs: &StepAttrs, steps: &Scope) {
        for role in &attrs.roles {
            self.role(file, role);
        }
        if let Some(condition) = &attrs.condition {
            self.fact(file, &condition.fact, false);
        }
        if let Some(per) = &attrs.per {
            self.fact(file, per, true);
        }
        if let Some(target) = &attrs.referral {
            // A referral goes to another unit's process or to a service of the catalogue (one
            // provided by another organisation included).
            let known = self.index.processes.contains_key(target.text.as_str())
                || self.index.services.contains_key(target.text.as_str());
            if !known {
                let names = self.index.processes.keys().chain(self.index.services.keys()).copied();
                self.diagnostics.push(unknown(file, NameKind::ReferralTarget, target, names));
            }
        }
        for deadline in attrs.deadline.iter().chain(&attrs.earliest) {
            if let Anchor::Step(step) | Anchor::BeforeStep(step) = &deadline.anchor {
                if !steps.contains(&step.text) {
                    self.diagnostics.push(unknown(file, NameKind::Step, step, steps.keys()));
                }
            }
        }
    }

    /// The segments of every `kun segmentti …` branch in a flow are segments of the process's
    /// segmentation.
    fn branch_segments(
        &mut self,
        file: FileId,
        flow: &Flow,
        of: Option<&Name>,
        segmentation: Option<&Segmentation>,
    ) {
        let mut stack = vec![flow];
        while let Some(flow) = stack.pop() {
            match flow {
                Flow::Name(_) => {}
                Flow::Sequence(items) | Flow::Parallel(items) => stack.extend(items),
                Flow::Choice(branches) => {
                    for branch in branches {
                        for segment in &branch.segments {
                            self.segment_ref(file, segment, of, segmentation);
                        }
                        if let Some(condition) = &branch.fact {
                            self.fact(file, &condition.fact, false);
                        }
                        stack.push(&branch.flow);
                    }
                }
                Flow::Repeat { body, .. } => stack.push(body),
            }
        }
    }

    /// Reports names used twice in a flow.
    fn flow_names<'f>(&mut self, file: FileId, flow: &'f Flow) -> Vec<&'f Name> {
        let names = flow.names();
        let mut seen: HashMap<&str, Span> = HashMap::default();
        for name in &names {
            if let Some(first) = seen.insert(name.text.as_str(), name.span) {
                self.diagnostics.push(
                    Diagnostic::new(Code::RepeatedInFlow, file, name.span)
                        .arg("name", name.text.as_str())
                        .secondary(file, first, Note::FirstGivenHere),
                );
            }
        }
        names
    }

    fn process(&mut self, file: FileId, process: &'m Process) {
        if let Some(service) = &process.service {
            self.service(file, service);
        }
        let segmentation =
            process.segmentation.as_ref().and_then(|name| self.segmentation_ref(file, name));
        let mut phases = Scope::new(NameKind::Phase);
        let mut steps = Scope::new(NameKind::Step);
        let mut step_phase: HashMap<&str, &str> = HashMap::default();
        for phase in &process.phases {
            phases.define(file, &phase.name, &mut self.diagnostics);
            for step in &phase.steps {
                steps.define(file, &step.name, &mut self.diagnostics);
                step_phase.entry(step.name.text.as_str()).or_insert(phase.name.text.as_str());
            }
        }
        for phase in &process.phases {
            for step in &phase.steps {
                self.step_attrs(file, &step.attrs, &steps);
            }
            for flow in &phase.flows {
                for name in self.flow_names(file, flow) {
                    match step_phase.get(name.text.as_str()) {
                        Some(owner) if *owner == phase.name.text => {}
                        Some(_) => self.diagnostics.push(
                            Diagnostic::new(Code::StepNotInPhase, file, name.span)
                                .arg("name", name.text.as_str())
                                .arg("phase", phase.name.text.as_str()),
                        ),
                        None => {
                            let names = phase.steps.iter().map(|s| s.name.text.as_str());
                            self.diagnostics.push(unknown(file, NameKind::Step, name, names));
                        }
                    }
                }
            }
        }
        for flow in &process.flows {
            for name in self.flow_names(file, flow) {
                if !phases.contains(&name.text) {
                    self.diagnostics.push(unknown(file, NameKind::Phase, name, phases.keys()));
                }
            }
        }
        // The written order of the generic steps, and the step that assesses the segment:
        // segment content applies only after it.
        let mut order: HashMap<&str, (usize, usize)> = HashMap::default();
        let mut assessing: Option<&Step> = None;
        for (at, phase) in process.phases.iter().enumerate() {
            for (within, step) in phase.steps.iter().enumerate() {
                order.entry(step.name.text.as_str()).or_insert((at, within));
                let Some(span) = step.attrs.assesses_segment else { continue };
                match assessing {
                    None => assessing = Some(step),
                    Some(first) => self.diagnostics.push(
                        Diagnostic::new(Code::SecondAssessingStep, file, span)
                            .arg("process", process.name.text.as_str())
                            .arg("first", first.name.text.as_str())
                            .arg("name", step.name.text.as_str())
                            .secondary(
                                file,
                                first.attrs.assesses_segment.unwrap_or(first.name.span),
                                Note::AssessedHere,
                            ),
                    ),
                }
            }
        }
        if let (Some(step), None) = (assessing, &process.segmentation) {
            self.diagnostics.push(
                Diagnostic::new(
                    Code::AssessmentWithoutSegmentation,
                    file,
                    step.attrs.assesses_segment.unwrap_or(step.name.span),
                )
                .arg("name", step.name.text.as_str())
                .arg("process", process.name.text.as_str()),
            );
        }
        let assessed_at = assessing.and_then(|s| order.get(s.name.text.as_str()).copied());
        let phase_at = |name: &str| process.phases.iter().position(|p| p.name.text == name);
        for flow in process.flows.iter().chain(process.phases.iter().flat_map(|p| &p.flows)) {
            self.branch_segments(file, flow, process.segmentation.as_ref(), segmentation);
        }
        let mut contents = Scope::new(NameKind::SegmentContent);
        for content in &process.segments {
            contents.define(file, &content.segment, &mut self.diagnostics);
            self.segment_ref(file, &content.segment, process.segmentation.as_ref(), segmentation);
            if let Some(role) = &content.responsible {
                self.role(file, role);
            }
            // Segment content that would apply before the segment is known.
            let before_assessment = |lower: &mut Self, name: &Name, at: Option<(usize, usize)>| {
                let (Some(step), Some(assessed), Some(at)) = (assessing, assessed_at, at) else {
                    return;
                };
                if at <= assessed {
                    lower.diagnostics.push(
                        Diagnostic::new(Code::ContentBeforeAssessment, file, name.span)
                            .arg("segment", content.segment.text.as_str())
                            .arg("name", name.text.as_str())
                            .arg("assessing", step.name.text.as_str())
                            .secondary(
                                file,
                                step.attrs.assesses_segment.unwrap_or(step.name.span),
                                Note::AssessedHere,
                            ),
                    );
                }
            };
            let mut added = Scope::new(NameKind::Step);
            for change in &content.changes {
                match change {
                    Change::Modify { step, attrs } => {
                        // A step added earlier in the same block can be changed too.
                        if !steps.contains(&step.text) && !added.contains(&step.text) {
                            let names = steps.keys().chain(added.keys());
                            self.diagnostics.push(unknown(file, NameKind::Step, step, names));
                        }
                        before_assessment(self, step, order.get(step.text.as_str()).copied());
                        self.step_attrs(file, attrs, &steps);
                    }
                    Change::Add { step, phase, place } => {
                        if let Some(phase) = phase {
                            if !phases.contains(&phase.text) {
                                self.diagnostics.push(unknown(
                                    file,
                                    NameKind::Phase,
                                    phase,
                                    phases.keys(),
                                ));
                            }
                        }
                        if let Some(place) = place {
                            let anchor = place.step.text.as_str();
                            if !steps.contains(anchor) && !added.contains(anchor) {
                                let names = steps.keys().chain(added.keys());
                                self.diagnostics.push(unknown(
                                    file,
                                    NameKind::Step,
                                    &place.step,
                                    names,
                                ));
                            } else if let (Some(phase), Some(other)) =
                                (phase, process.phase_of(anchor))
                            {
                                if phase.text != other && phases.contains(&phase.text) {
                                    self.diagnostics.push(
                                        Diagnostic::new(
                                            Code::PlacementOutsidePhase,
                                            file,
                                            place.step.span,
                                        )
                                        .arg("name", step.name.text.as_str())
                                        .arg("phase", phase.text.as_str())
                                        .arg("anchor", anchor)
                                        .arg("other", other),
                                    );
                                }
                            }
                            // Just before the assessing step is before the assessment; just
                            // after it is not.
                            let anchor_at = order.get(anchor).copied();
                            let before = anchor_at.filter(|at| {
                                place.before || assessed_at.is_some_and(|assessed| *at < assessed)
                            });
                            before_assessment(self, &step.name, before);
                        } else if let Some(phase) = phase {
                            // At the end of a phase that ends before the assessing step's.
                            if let (Some(at), Some((assessed, _))) =
                                (phase_at(&phase.text), assessed_at)
                            {
                                if at < assessed {
                                    before_assessment(self, &step.name, Some((at, 0)));
                                }
                            }
                        }
                        if let Some(first) = steps.names.get(step.name.text.as_str()) {
                            self.diagnostics.push(
                                Diagnostic::new(Code::DuplicateName, file, step.name.span)
                                    .kind(NameKind::Step)
                                    .arg("name", step.name.text.as_str())
                                    .secondary(file, *first, Note::FirstDefinedHere),
                            );
                        } else {
                            added.define(file, &step.name, &mut self.diagnostics);
                        }
                        self.step_attrs(file, &step.attrs, &steps);
                    }
                    Change::Remove { step, .. } => {
                        let generic = process
                            .phases
                            .iter()
                            .flat_map(|p| &p.steps)
                            .find(|s| s.name.text == step.text);
                        match generic {
                            None => self.diagnostics.push(unknown(
                                file,
                                NameKind::Step,
                                step,
                                steps.keys(),
                            )),
                            Some(generic) => {
                                if let Some(statutory) = &generic.attrs.statutory {
                                    self.diagnostics.push(
                                        Diagnostic::new(Code::RemovesStatutory, file, step.span)
                                            .arg("segment", content.segment.text.as_str())
                                            .arg("name", step.text.as_str())
                                            .secondary(file, statutory.span, Note::StatutoryHere),
                                    );
                                } else {
                                    before_assessment(
                                        self,
                                        step,
                                        order.get(step.text.as_str()).copied(),
                                    );
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    fn workflow(&mut self, file: FileId, workflow: &'m Workflow) {
        match self.index.processes.get(workflow.process.text.as_str()).copied() {
            None => self.process_ref(file, &workflow.process),
            Some(def) => {
                let process = def.node;
                match process.phases.iter().find(|p| p.name.text == workflow.phase.text) {
                    None => {
                        let names = process.phases.iter().map(|p| p.name.text.as_str());
                        self.diagnostics.push(unknown(
                            file,
                            NameKind::Phase,
                            &workflow.phase,
                            names,
                        ));
                    }
                    Some(phase) => {
                        if let Some(step) = &workflow.step {
                            // A step of the phase, generic or added to it by a segment.
                            let added = process.added_steps().any(|(s, p)| {
                                s.name.text == step.text && p == Some(phase.name.text.as_str())
                            });
                            if !added && !phase.steps.iter().any(|s| s.name.text == step.text) {
                                self.diagnostics.push(
                                    Diagnostic::new(Code::StepNotInPhase, file, step.span)
                                        .arg("name", step.text.as_str())
                                        .arg("phase", phase.name.text.as_str()),
                                );
                            }
                        }
                    }
                }
                self.task_steps(file, workflow, process);
                let segmentation = process
                    .segmentation
                    .as_ref()
                    .and_then(|name| self.index.segmentations.get(name.text.as_str()))
                    .map(|def| def.node);
                for flow in &workflow.flows {
                    self.branch_segments(file, flow, process.segmentation.as_ref(), segmentation);
                }
            }
        }
        let mut lanes = Scope::new(NameKind::Lane);
        let mut tasks = Scope::new(NameKind::Task);
        for lane in &workflow.lanes {
            lanes.define(file, &lane.role, &mut self.diagnostics);
            self.role(file, &lane.role);
            for task in &lane.tasks {
                tasks.define(file, &task.name, &mut self.diagnostics);
            }
        }
        let mut referenced: Vec<&Name> = Vec::new();
        for flow in &workflow.flows {
            referenced.extend(self.flow_names(file, flow));
        }
        for handoff in &workflow.handoffs {
            referenced.push(&handoff.from);
            referenced.push(&handoff.to);
        }
        for name in referenced {
            if !tasks.contains(&name.text) {
                self.diagnostics.push(unknown(file, NameKind::Task, name, tasks.keys()));
            }
        }
    }

    /// A task's `askel` names a step of the workflow's process: generic, or added by a segment.
    fn task_steps(&mut self, file: FileId, workflow: &Workflow, process: &'m Process) {
        let mut names: Vec<&str> =
            process.phases.iter().flat_map(|p| &p.steps).map(|s| s.name.text.as_str()).collect();
        for content in &process.segments {
            for change in &content.changes {
                if let Change::Add { step, .. } = change {
                    names.push(step.name.text.as_str());
                }
            }
        }
        for task in workflow.lanes.iter().flat_map(|l| &l.tasks) {
            if let Some(step) = &task.step {
                if !names.contains(&step.text.as_str()) {
                    self.diagnostics.push(unknown(
                        file,
                        NameKind::Step,
                        step,
                        names.iter().copied(),
                    ));
                }
            }
        }
    }
}
