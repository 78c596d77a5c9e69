//! What changed between two versions of a model, in a process owner's terms: services, roles
//! and chains, segmentations, forms and marker rules, processes with their phases and steps,
//! what each segment's content adds, removes or changes, and workflows with their lanes and
//! tasks.
//!
//! [`diff`] compares two compiled [`Model`]s and returns one [`Change`] per thing added,
//! removed or changed, each with the attributes that changed and their old and new values as
//! the model writes them (`6 vk askeleesta th`). The order is fixed: by level (1 to 4), then by
//! the name of what changed. Where order means nothing to a reader (the roles of a step, the
//! services of a chain, the referrals) it is not compared; the order of the steps in a phase,
//! of the phases in a process and of the tasks in a workflow is.
//!
//! A segment's content is compared as what it does to the generic process: a step it now adds
//! or no longer removes, an attribute it now changes. A change of the generic process shows
//! once, at the generic step, not again in every segment that inherits it.
//!
//! [`report::human`] writes the changes for a person in Finnish or English, with the words of
//! [`words`]; the changes serialise to JSON as they are.

pub mod report;
pub mod words;

use std::collections::{BTreeMap, BTreeSet};

use polku_dsl::ast::Channel;
use serde::Serialize;

use crate::diagram::{Diagram, DiagramNode};
use crate::form::{Form, Kind as QuestionKind, Question, Scoring, Test};
use crate::markers::{Condition as MarkerCondition, MarkerRules};
use crate::model::{Model, Process, Segmentation, Workflow};
use crate::plan::{describe_deadline, describe_duration, Origin, Plan, PlannedStep};

/// Whether a thing is new, gone, or there in both versions but different.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Removed,
    Added,
    Changed,
}

/// What kind of thing changed. The order is the order of a report within a level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Subject {
    Organisation,
    Role,
    Fact,
    Service,
    Chain,
    Segmentation,
    Axis,
    Segment,
    Form,
    MarkerRules,
    Process,
    Phase,
    Step,
    /// A process's content for one segment as a whole (`segmentti S { … }` or `perii`).
    SegmentContent,
    /// A step that a segment's content adds (`lisää askel`).
    SegmentAddedStep,
    /// A generic step that a segment's content leaves out (`poista`).
    SegmentRemovedStep,
    /// A generic step whose attributes a segment's content changes (`muuta`).
    SegmentChangedStep,
    Workflow,
    Lane,
    Task,
}

impl Subject {
    /// The level of the model the thing belongs to: 1 catalogue, roles and chains, 2
    /// segmentations and what proposes a segment (forms, marker rules), 3 client processes,
    /// 4 workflows.
    pub fn level(self) -> u8 {
        use Subject::*;
        match self {
            Organisation | Role | Fact | Service | Chain => 1,
            Segmentation | Axis | Segment | Form | MarkerRules => 2,
            Process | Phase | Step | SegmentContent | SegmentAddedStep | SegmentRemovedStep
            | SegmentChangedStep => 3,
            Workflow | Lane | Task => 4,
        }
    }

    /// The kind of thing at the head of the path: a phase's changes are listed with its
    /// process, an axis's with its segmentation.
    fn group(self) -> Subject {
        use Subject::*;
        match self {
            Axis | Segment => Segmentation,
            Phase | Step | SegmentContent | SegmentAddedStep | SegmentRemovedStep
            | SegmentChangedStep => Process,
            Lane | Task => Workflow,
            other => other,
        }
    }
}

/// Which attribute of a thing changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Attribute {
    Title,
    Code,
    Law,
    Description,
    Provider,
    /// A role the client or the family plays (`asiakas`).
    ClientRole,
    /// A fact that is a number (`luku`).
    NumberFact,
    Segmentation,
    Units,
    Values,
    Position,
    BasicStrategy,
    Goal,
    Differences,
    ClientExperience,
    Emphases,
    Services,
    Paths,
    Referrals,
    Service,
    /// The order of phases, steps or tasks that follow each other one by one.
    Order,
    /// The arrows of a flow that branches, runs in parallel or repeats.
    Flow,
    /// A phase whose steps are all the client's own (`asiakas`).
    ClientPhase,
    Milestone,
    Phase,
    Roles,
    Duration,
    Count,
    Interval,
    Deadline,
    Earliest,
    Statutory,
    Channel,
    Required,
    Referral,
    Guidance,
    AssessesSegment,
    Condition,
    Per,
    Responsible,
    Reason,
    Lane,
    Step,
    Optional,
    Handoffs,
    Steps,
    Questions,
    /// The professional's part of a form (`arvio`).
    Items,
    Question,
    Scoring,
    Retention,
    AssessmentValid,
    Rules,
    Otherwise,
}

/// The attributes of a planned step, in the order a report lists them.
const STEP_ATTRIBUTES: &[Attribute] = &[
    Attribute::Title,
    Attribute::Phase,
    Attribute::Roles,
    Attribute::Duration,
    Attribute::Count,
    Attribute::Interval,
    Attribute::Earliest,
    Attribute::Deadline,
    Attribute::Statutory,
    Attribute::Channel,
    Attribute::Required,
    Attribute::Referral,
    Attribute::Condition,
    Attribute::Per,
    Attribute::AssessesSegment,
    Attribute::Description,
    Attribute::Guidance,
];

/// A value of an attribute, as the model writes it. In JSON a value is a plain string,
/// number, boolean or list.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Value {
    Flag(bool),
    Number(u32),
    /// Free text: a title, a description, a legal basis. Shown in quotes.
    Text(String),
    /// As the model writes it: a name, a duration, a deadline, a condition.
    Written(String),
    Channel(Channel),
    /// Names whose order means nothing (the roles of a step): compared as a set, shown as
    /// written.
    Names(Vec<String>),
    /// Names in an order that matters: the phases, steps or tasks one after another.
    Order(Vec<String>),
    /// A collection of things each written out (the referrals of a chain, the rules of a
    /// form's axis): shown as what was added and removed. Sorted.
    Set(Vec<String>),
    /// The arrows of a flow, shown as those added and removed. Sorted.
    Arrows(Vec<Arrow>),
}

/// One arrow of a flow between two elements, through whatever gateways lie between them.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Arrow {
    /// `None`: the start of the flow.
    pub from: Option<String>,
    /// `None`: the end of the flow.
    pub to: Option<String>,
    /// The condition of the branch taken (`kun "…"`, a fact), or the exit condition of a loop.
    pub condition: Option<String>,
    /// The segments whose clients take the branch (`kun segmentti …`).
    pub segments: Vec<String>,
    /// The branch taken when no condition holds (`muuten`).
    pub default: bool,
    /// The arrow splits into or joins parallel branches (`&`).
    pub parallel: bool,
    /// The arrow back to the start of a loop (`toista`).
    pub back: bool,
}

/// One changed attribute.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Detail {
    pub attribute: Attribute,
    /// Which one, for an attribute a thing has several of: the question of a form, the
    /// segment of a form's guidance, the axis of its scoring.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub item: Option<String>,
    /// `None`: the attribute was not given.
    pub old: Option<Value>,
    pub new: Option<Value>,
}

/// One thing added, removed or changed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    pub kind: Kind,
    pub subject: Subject,
    pub level: u8,
    /// The names that lead to the thing: a step's process, phase and own name; a task's
    /// workflow (`process.phase`) and own name.
    pub path: Vec<String>,
    /// The segment whose content changed, for the segment subjects.
    pub segment: Option<String>,
    pub old_title: Option<String>,
    pub new_title: Option<String>,
    pub details: Vec<Detail>,
}

impl Change {
    fn sort_key(&self) -> impl Ord + '_ {
        let (head, rest) = self.path.split_first().map_or(("", &[][..]), |(h, r)| (h.as_str(), r));
        (
            self.subject.level(),
            self.subject.group(),
            head,
            self.segment.as_deref(),
            self.subject,
            rest,
            self.kind,
        )
    }
}

/// Every difference between `old` and `new`, by level, then by name.
pub fn diff(old: &Model, new: &Model) -> Vec<Change> {
    let mut out = Changes::default();
    organisation(&mut out, old, new);
    for (name, o, n) in pairs(&old.roles, &new.roles) {
        out.compare(
            Subject::Role,
            vec![name.to_owned()],
            o,
            n,
            |r| &r.title,
            |d, o, n| {
                d.text(Attribute::Title, &o.title, &n.title);
                d.push(Attribute::ClientRole, flag(o.client), flag(n.client));
            },
        );
    }
    for (name, o, n) in pairs(&old.facts, &new.facts) {
        out.compare(
            Subject::Fact,
            vec![name.to_owned()],
            o,
            n,
            |f| &f.title,
            |d, o, n| {
                d.text(Attribute::Title, &o.title, &n.title);
                d.push(Attribute::NumberFact, flag(o.number), flag(n.number));
            },
        );
    }
    for (name, o, n) in pairs(&old.services, &new.services) {
        out.compare(
            Subject::Service,
            vec![name.to_owned()],
            o,
            n,
            |s| &s.title,
            |d, o, n| {
                d.text(Attribute::Title, &o.title, &n.title);
                d.push(Attribute::Code, text_opt(&o.code), text_opt(&n.code));
                d.push(Attribute::Law, text_opt(&o.law), text_opt(&n.law));
                d.push(Attribute::Description, text_opt(&o.description), text_opt(&n.description));
                d.push(Attribute::Provider, text_opt(&o.provider), text_opt(&n.provider));
            },
        );
    }
    for (name, o, n) in pairs(&old.chains, &new.chains) {
        out.compare(
            Subject::Chain,
            vec![name.to_owned()],
            o,
            n,
            |c| &c.title,
            |d, o, n| {
                d.text(Attribute::Title, &o.title, &n.title);
                d.push(
                    Attribute::Segmentation,
                    written_opt(&o.segmentation),
                    written_opt(&n.segmentation),
                );
                d.push(
                    Attribute::Services,
                    set(o.services.iter().cloned()),
                    set(n.services.iter().cloned()),
                );
                let paths = |c: &crate::model::Chain| set(c.paths.iter().map(|p| p.join(" -> ")));
                d.push(Attribute::Paths, paths(o), paths(n));
                let referrals = |c: &crate::model::Chain| {
                    set(c.referrals.iter().map(|r| {
                        let mut s = format!("{} -> {}", r.from, r.to);
                        if !r.segments.is_empty() {
                            s.push_str(&format!(" kun {}", r.segments.join(", ")));
                        }
                        if let Some(text) = &r.description {
                            s.push_str(&format!(" \"{text}\""));
                        }
                        s
                    }))
                };
                d.push(Attribute::Referrals, referrals(o), referrals(n));
            },
        );
    }
    for (name, o, n) in pairs(&old.segmentations, &new.segmentations) {
        segmentation(&mut out, name, o, n);
    }
    for (name, o, n) in pairs(&old.forms, &new.forms) {
        out.compare(Subject::Form, vec![name.to_owned()], o, n, |f| &f.title, form);
    }
    for (name, o, n) in pairs(&old.markers, &new.markers) {
        out.compare(Subject::MarkerRules, vec![name.to_owned()], o, n, |m| &m.title, markers);
    }
    for (name, o, n) in pairs(&old.processes, &new.processes) {
        process(&mut out, name, o, n);
    }
    for (target, o, n) in pairs(&old.workflows, &new.workflows) {
        workflow(&mut out, old, new, target, o, n);
    }
    let mut changes = out.list;
    changes.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    changes
}

/// The changes found so far.
#[derive(Default)]
struct Changes {
    list: Vec<Change>,
}

impl Changes {
    fn push(&mut self, kind: Kind, subject: Subject, path: Vec<String>) -> &mut Change {
        self.list.push(Change {
            kind,
            subject,
            level: subject.level(),
            path,
            segment: None,
            old_title: None,
            new_title: None,
            details: Vec::new(),
        });
        let last = self.list.len() - 1;
        &mut self.list[last]
    }

    /// A thing that may be in either version: added, removed, or changed when `details` finds
    /// a difference.
    fn compare<T>(
        &mut self,
        subject: Subject,
        path: Vec<String>,
        old: Option<&T>,
        new: Option<&T>,
        title: impl Fn(&T) -> &str,
        details: impl FnOnce(&mut Details, &T, &T),
    ) {
        let title_of = |t: Option<&T>| t.map(&title).filter(|t| !t.is_empty()).map(str::to_owned);
        match (old, new) {
            (Some(_), None) => self.push(Kind::Removed, subject, path).old_title = title_of(old),
            (None, Some(_)) => self.push(Kind::Added, subject, path).new_title = title_of(new),
            (Some(o), Some(n)) => {
                let mut found = Details::default();
                details(&mut found, o, n);
                if !found.0.is_empty() {
                    let change = self.push(Kind::Changed, subject, path);
                    change.old_title = title_of(old);
                    change.new_title = title_of(new);
                    change.details = found.0;
                }
            }
            (None, None) => {}
        }
    }
}

/// The attributes that differ.
#[derive(Default)]
struct Details(Vec<Detail>);

impl Details {
    fn push(&mut self, attribute: Attribute, old: Option<Value>, new: Option<Value>) {
        self.push_item(attribute, None, old, new);
    }

    fn push_item(
        &mut self,
        attribute: Attribute,
        item: Option<&str>,
        old: Option<Value>,
        new: Option<Value>,
    ) {
        if !same(&old, &new) {
            self.0.push(Detail { attribute, item: item.map(str::to_owned), old, new });
        }
    }

    fn text(&mut self, attribute: Attribute, old: &str, new: &str) {
        self.push(attribute, text(old), text(new));
    }
}

/// Whether two values mean the same: names whose order means nothing are compared as sets.
fn same(old: &Option<Value>, new: &Option<Value>) -> bool {
    match (old, new) {
        (Some(Value::Names(a)), Some(Value::Names(b))) => {
            a.iter().collect::<BTreeSet<_>>() == b.iter().collect::<BTreeSet<_>>()
        }
        _ => old == new,
    }
}

fn text(text: &str) -> Option<Value> {
    (!text.is_empty()).then(|| Value::Text(text.to_owned()))
}

fn text_opt(text: &Option<String>) -> Option<Value> {
    text.as_ref().map(|t| Value::Text(t.clone()))
}

fn written(text: impl Into<String>) -> Option<Value> {
    Some(Value::Written(text.into()))
}

fn written_opt(text: &Option<String>) -> Option<Value> {
    text.as_ref().map(|t| Value::Written(t.clone()))
}

fn flag(value: bool) -> Option<Value> {
    Some(Value::Flag(value))
}

fn names(names: &[String]) -> Option<Value> {
    (!names.is_empty()).then(|| Value::Names(names.to_vec()))
}

fn set(items: impl IntoIterator<Item = String>) -> Option<Value> {
    let items: BTreeSet<String> = items.into_iter().collect();
    (!items.is_empty()).then(|| Value::Set(items.into_iter().collect()))
}

/// Every name of either map with what each version has under it, in name order.
fn pairs<'a, T>(
    old: &'a BTreeMap<String, T>,
    new: &'a BTreeMap<String, T>,
) -> Vec<(&'a str, Option<&'a T>, Option<&'a T>)> {
    let mut both: BTreeMap<&str, (Option<&T>, Option<&T>)> = BTreeMap::new();
    for (name, value) in old {
        both.entry(name).or_default().0 = Some(value);
    }
    for (name, value) in new {
        both.entry(name).or_default().1 = Some(value);
    }
    both.into_iter().map(|(name, (o, n))| (name, o, n)).collect()
}

/// [`pairs`] for things listed with their names.
fn pairs_by<'a, T>(
    old: impl IntoIterator<Item = &'a T>,
    new: impl IntoIterator<Item = &'a T>,
    name: impl Fn(&T) -> &str,
) -> Vec<(String, Option<&'a T>, Option<&'a T>)> {
    let mut both: BTreeMap<String, (Option<&T>, Option<&T>)> = BTreeMap::new();
    for value in old {
        both.entry(name(value).to_owned()).or_default().0.get_or_insert(value);
    }
    for value in new {
        both.entry(name(value).to_owned()).or_default().1.get_or_insert(value);
    }
    both.into_iter().map(|(name, (o, n))| (name, o, n)).collect()
}

fn organisation(out: &mut Changes, old: &Model, new: &Model) {
    let (o, n) = (old.organisation.as_ref(), new.organisation.as_ref());
    if o.map(|o| &o.0) == n.map(|n| &n.0) {
        if let (Some(o), Some(n)) = (o, n) {
            let path = vec![o.0.clone()];
            out.compare(
                Subject::Organisation,
                path,
                Some(o),
                Some(n),
                |o| &o.1,
                |d, o, n| {
                    d.text(Attribute::Title, &o.1, &n.1);
                },
            );
        }
        return;
    }
    if let Some(o) = o {
        out.compare(
            Subject::Organisation,
            vec![o.0.clone()],
            Some(o),
            None,
            |o| &o.1,
            |_, _, _| {},
        );
    }
    if let Some(n) = n {
        out.compare(
            Subject::Organisation,
            vec![n.0.clone()],
            None,
            Some(n),
            |n| &n.1,
            |_, _, _| {},
        );
    }
}

fn segmentation(
    out: &mut Changes,
    name: &str,
    old: Option<&Segmentation>,
    new: Option<&Segmentation>,
) {
    out.compare(
        Subject::Segmentation,
        vec![name.to_owned()],
        old,
        new,
        |s| &s.title,
        |d, o, n| {
            d.text(Attribute::Title, &o.title, &n.title);
            d.push(Attribute::Units, set(o.units.iter().cloned()), set(n.units.iter().cloned()));
        },
    );
    let (Some(old), Some(new)) = (old, new) else { return };
    for (axis, o, n) in pairs_by(&old.axes, &new.axes, |a| &a.name) {
        let path = vec![name.to_owned(), axis];
        out.compare(
            Subject::Axis,
            path,
            o,
            n,
            |a| &a.title,
            |d, o, n| {
                d.text(Attribute::Title, &o.title, &n.title);
                d.push(Attribute::Values, names(&o.values), names(&n.values));
            },
        );
    }
    for (segment, o, n) in pairs_by(&old.profiles, &new.profiles, |p| &p.name) {
        let path = vec![name.to_owned(), segment];
        out.compare(
            Subject::Segment,
            path,
            o,
            n,
            |p| &p.title,
            |d, o, n| {
                d.text(Attribute::Title, &o.title, &n.title);
                let position = |p: &crate::model::SegmentProfile| {
                    let at: Vec<String> =
                        p.position.iter().map(|(a, v)| format!("{a} {v}")).collect();
                    names(&at)
                };
                d.push(Attribute::Position, position(o), position(n));
                let card = [
                    (Attribute::BasicStrategy, &o.basic_strategy, &n.basic_strategy),
                    (Attribute::Goal, &o.goal, &n.goal),
                    (Attribute::Differences, &o.differences, &n.differences),
                    (Attribute::ClientExperience, &o.client_experience, &n.client_experience),
                    (Attribute::Description, &o.description, &n.description),
                    (Attribute::Emphases, &o.emphases, &n.emphases),
                ];
                for (attribute, o, n) in card {
                    d.push(attribute, text_opt(o), text_opt(n));
                }
            },
        );
    }
}

/// An answer test as the form writes it: `kyllä`, `vähintään 3`, `arki, ilta`.
fn describe_test(question: Option<&Question>, test: Test) -> String {
    match test {
        Test::Yes => "kyllä".to_owned(),
        Test::No => "ei".to_owned(),
        Test::Exactly(n) => n.to_string(),
        Test::AtMost(n) => format!("enintään {n}"),
        Test::AtLeast(n) => format!("vähintään {n}"),
        Test::AnyOf(mask) => {
            let options = match question.map(|q| &q.kind) {
                Some(QuestionKind::Choice { options } | QuestionKind::Multiple { options }) => {
                    options.as_slice()
                }
                _ => &[],
            };
            let chosen: Vec<&str> = options
                .iter()
                .enumerate()
                .filter(|(i, _)| mask & (1 << (*i).min(63)) != 0)
                .map(|(_, o)| o.as_str())
                .collect();
            chosen.join(", ")
        }
    }
}

fn describe_condition(form: &Form, condition: &crate::form::Condition) -> String {
    let question = form.questions.get(condition.question);
    let name = question.map_or("?", |q| q.name.as_str());
    format!("{name} {}", describe_test(question, condition.test))
}

/// A question as the form writes it: its title, kind and options.
fn describe_question(form: &Form, question: &Question) -> String {
    let mut out = format!("\"{}\" ", question.title);
    out.push_str(&match &question.kind {
        QuestionKind::Scale { min, max } => format!("asteikko {min} {max}"),
        QuestionKind::YesNo => "kyllä_ei".to_owned(),
        QuestionKind::Text => "teksti".to_owned(),
        QuestionKind::Choice { options } => format!("valinta {}", options.join(" | ")),
        QuestionKind::Multiple { options } => format!("monivalinta {}", options.join(" | ")),
    });
    if question.informative {
        out.push_str(" tiedoksi");
    }
    if let Some(text) = &question.swedish {
        out.push_str(&format!(" sv \"{text}\""));
    }
    if let Some(text) = &question.english {
        out.push_str(&format!(" en \"{text}\""));
    }
    if let Some(condition) = &question.shown_if {
        out.push_str(&format!(" näytä kun {}", describe_condition(form, condition)));
    }
    out
}

/// An axis's scoring as the form writes it: each value with its conditions.
fn describe_scoring(form: &Form, scoring: &Scoring) -> String {
    let mut parts: Vec<String> = scoring
        .rules
        .iter()
        .map(|rule| {
            let conditions: Vec<String> =
                rule.conditions.iter().map(|c| describe_condition(form, c)).collect();
            format!("{} kun {}", rule.value, conditions.join(" ja "))
        })
        .collect();
    if let Some(value) = &scoring.missing {
        parts.push(format!("puuttuu {value}"));
    }
    if let Some(value) = &scoring.tie {
        parts.push(format!("tasapeli {value}"));
    }
    parts.join("; ")
}

fn form(d: &mut Details, old: &Form, new: &Form) {
    d.text(Attribute::Title, &old.title, &new.title);
    d.push(Attribute::Segmentation, written_opt(&old.segmentation), written_opt(&new.segmentation));
    d.push(Attribute::Steps, set(old.steps.iter().cloned()), set(new.steps.iter().cloned()));
    for (attribute, o, n) in [
        (Attribute::Questions, &old.questions, &new.questions),
        (Attribute::Items, &old.items, &new.items),
    ] {
        let listed = |questions: &[Question]| set(questions.iter().map(|q| q.name.clone()));
        d.push(attribute, listed(o), listed(n));
        for (name, o, n) in pairs_by(o, n, |q| &q.name) {
            if let (Some(o), Some(n)) = (o, n) {
                let (o, n) = (describe_question(old, o), describe_question(new, n));
                d.push_item(Attribute::Question, Some(&name), written(o), written(n));
            }
        }
    }
    for (segment, o, n) in pairs(&old.guidance, &new.guidance) {
        let text = |t: Option<&String>| t.map(|t| Value::Text(t.clone()));
        d.push_item(Attribute::Guidance, Some(segment), text(o), text(n));
    }
    for (axis, o, n) in pairs_by(&old.scoring, &new.scoring, |s| &s.axis) {
        let o = o.map(|s| Value::Written(describe_scoring(old, s)));
        let n = n.map(|s| Value::Written(describe_scoring(new, s)));
        d.push_item(Attribute::Scoring, Some(&axis), o, n);
    }
}

/// A number of days as the rules would write it: whole years, months (of 30 days, as the
/// rules count them) or weeks where it is that, else days.
fn describe_days(days: i64) -> String {
    match days {
        d if d > 0 && d % 365 == 0 => format!("{} v", d / 365),
        d if d > 0 && d % 30 == 0 => format!("{} kk", d / 30),
        d if d > 0 && d % 7 == 0 => format!("{} vk", d / 7),
        d => format!("{d} pv"),
    }
}

/// A marker condition as the rules write it.
fn describe_marker(condition: &MarkerCondition) -> String {
    let codes = condition.codes.join(", ");
    let what = if condition.system == "merkki" {
        format!("merkki {codes}")
    } else if condition.at_least > 1 {
        format!("käyntejä {} {codes} vähintään {}", condition.system, condition.at_least)
    } else {
        format!("koodi {} {codes}", condition.system)
    };
    format!("{what} ikkuna {}", describe_days(condition.days))
}

fn markers(d: &mut Details, old: &MarkerRules, new: &MarkerRules) {
    d.text(Attribute::Title, &old.title, &new.title);
    d.push(Attribute::Segmentation, written_opt(&old.segmentation), written_opt(&new.segmentation));
    let days = |m: &MarkerRules| written(describe_days(m.retention_days));
    d.push(Attribute::Retention, days(old), days(new));
    let valid = |m: &MarkerRules| {
        let mut parts = Vec::new();
        if m.assessment_months > 0 {
            parts.push(format!("{} kk", m.assessment_months));
        }
        if m.assessment_days > 0 || parts.is_empty() {
            parts.push(format!("{} pv", m.assessment_days));
        }
        written(parts.join(" "))
    };
    d.push(Attribute::AssessmentValid, valid(old), valid(new));
    let rules = |m: &MarkerRules| {
        set(m.rules.iter().map(|r| {
            let conditions: Vec<String> = r.conditions.iter().map(describe_marker).collect();
            let mut s = format!("segmentti {} kun {}", r.segment, conditions.join(" ja "));
            if let Some(priority) = r.priority {
                s.push_str(&format!(" etusija {priority}"));
            }
            s
        }))
    };
    d.push(Attribute::Rules, rules(old), rules(new));
    d.push(Attribute::Otherwise, written_opt(&old.otherwise), written_opt(&new.otherwise));
}

/// The element-level arrows of a diagram: each gateway walked through, so that two flows
/// drawn with different gateways but the same meaning compare equal.
fn arrows(diagram: &Diagram) -> Vec<Arrow> {
    let mut found = BTreeSet::new();
    for (from, node) in diagram.nodes.iter().enumerate() {
        let name = match node {
            DiagramNode::Start => None,
            DiagramNode::Element(name) => Some(name.clone()),
            _ => continue,
        };
        let first = Arrow {
            from: name,
            to: None,
            condition: None,
            segments: Vec::new(),
            default: false,
            parallel: false,
            back: false,
        };
        // Depth first through the gateways; each gateway once per starting element, so that
        // a loop of gateways ends.
        let mut seen = BTreeSet::new();
        let mut stack: Vec<(usize, Arrow)> = vec![(from, first)];
        while let Some((at, arrow)) = stack.pop() {
            for edge in diagram.successors(at) {
                let mut next = arrow.clone();
                if let Some(label) = &edge.label {
                    next.condition = Some(match next.condition {
                        Some(before) => format!("{before}, {label}"),
                        None => label.clone(),
                    });
                }
                next.segments.extend(edge.segments.iter().cloned());
                next.default |= edge.default;
                next.back |= edge.back;
                match diagram.nodes.get(edge.to) {
                    Some(DiagramNode::Element(to)) => {
                        next.to = Some(to.clone());
                        found.insert(next);
                    }
                    Some(DiagramNode::End) => {
                        found.insert(next);
                    }
                    Some(gateway) => {
                        next.parallel |= matches!(gateway, DiagramNode::Split | DiagramNode::Join);
                        if seen.insert(edge.to) {
                            stack.push((edge.to, next));
                        }
                    }
                    None => {}
                }
            }
        }
    }
    found.into_iter().collect()
}

/// The elements one after another, when the flow is nothing but that: every element once,
/// from the start to the end, without branches.
fn sequence(diagram: &Diagram, arrows: &[Arrow]) -> Option<Vec<String>> {
    let plain = |a: &Arrow| {
        a.condition.is_none() && a.segments.is_empty() && !a.default && !a.parallel && !a.back
    };
    if !arrows.iter().all(plain) {
        return None;
    }
    let elements = diagram.nodes.iter().filter(|n| matches!(n, DiagramNode::Element(_))).count();
    let mut order = Vec::new();
    let mut at: Option<&String> = None;
    loop {
        let mut next = arrows.iter().filter(|a| a.from.as_ref() == at);
        let arrow = next.next()?;
        if next.next().is_some() {
            return None;
        }
        match &arrow.to {
            Some(to) if !order.contains(to) => {
                order.push(to.clone());
                at = Some(to);
            }
            Some(_) => return None,
            None => break,
        }
    }
    (order.len() == elements && arrows.len() == elements + 1).then_some(order)
}

/// The order or flow of a block's elements, when it changed in a way the added and removed
/// elements alone do not tell: a sequence whose common elements keep their order is
/// reported by those elements.
fn flow(d: &mut Details, old: &Diagram, new: &Diagram) {
    let (old_arrows, new_arrows) = (arrows(old), arrows(new));
    if old_arrows == new_arrows {
        return;
    }
    match (sequence(old, &old_arrows), sequence(new, &new_arrows)) {
        (Some(o), Some(n)) => {
            let common = |a: &[String], b: &[String]| -> Vec<String> {
                a.iter().filter(|x| b.contains(x)).cloned().collect()
            };
            if common(&o, &n) != common(&n, &o) {
                d.push(Attribute::Order, Some(Value::Order(o)), Some(Value::Order(n)));
            }
        }
        _ => d.push(
            Attribute::Flow,
            Some(Value::Arrows(old_arrows)),
            Some(Value::Arrows(new_arrows)),
        ),
    }
}

/// One attribute of a planned step, as the model writes it.
fn step_value(step: &PlannedStep, attribute: Attribute) -> Option<Value> {
    match attribute {
        Attribute::Title => text(&step.title),
        Attribute::Phase => written(step.phase.clone()),
        Attribute::Roles => names(&step.roles),
        Attribute::Duration => step.duration.as_ref().map(|d| Value::Written(describe_duration(d))),
        Attribute::Count => Some(Value::Number(step.count)),
        Attribute::Interval => step.interval.as_ref().map(|d| Value::Written(describe_duration(d))),
        Attribute::Deadline => step.deadline.as_ref().map(|d| Value::Written(describe_deadline(d))),
        Attribute::Earliest => step.earliest.as_ref().map(|d| Value::Written(describe_deadline(d))),
        Attribute::Statutory => step.statutory.as_ref().map(|basis| {
            if basis.is_empty() {
                Value::Flag(true)
            } else {
                Value::Text(basis.clone())
            }
        }),
        Attribute::Channel => step.channel.map(Value::Channel),
        Attribute::Required => flag(step.required),
        Attribute::Referral => written_opt(&step.referral),
        Attribute::Condition => step.condition.as_ref().map(|c| Value::Written(c.describe())),
        Attribute::Per => written_opt(&step.per),
        Attribute::AssessesSegment => flag(step.assesses_segment),
        Attribute::Description => text_opt(&step.description),
        Attribute::Guidance => text_opt(&step.guidance),
        _ => None,
    }
}

/// The attributes of two versions of a step that differ.
fn step_details(d: &mut Details, old: &PlannedStep, new: &PlannedStep) {
    for &attribute in STEP_ATTRIBUTES {
        d.push(attribute, step_value(old, attribute), step_value(new, attribute));
    }
}

/// The attribute a segment's `muuta` names by its keyword (see `plan::apply`).
fn changed_attribute(keyword: &str) -> Option<Attribute> {
    Some(match keyword {
        "tekijä" => Attribute::Roles,
        "kesto" => Attribute::Duration,
        "määrä" => Attribute::Count,
        "väli" => Attribute::Interval,
        "määräaika" => Attribute::Deadline,
        "aikaisintaan" => Attribute::Earliest,
        "lakisääteinen" => Attribute::Statutory,
        "kanava" => Attribute::Channel,
        "pakollinen" | "valinnainen" => Attribute::Required,
        "ohjaus" => Attribute::Referral,
        "kuvaus" => Attribute::Description,
        "ohje" => Attribute::Guidance,
        "jos" => Attribute::Condition,
        "toistuu" => Attribute::Per,
        _ => return None,
    })
}

/// What a segment's content does to the generic process.
#[derive(Default)]
struct Content<'a> {
    added: BTreeMap<&'a str, &'a PlannedStep>,
    removed: BTreeMap<&'a str, Option<&'a str>>,
    /// The steps it changes, with the attributes it changes.
    changed: BTreeMap<&'a str, (&'a PlannedStep, BTreeSet<Attribute>)>,
}

impl<'a> Content<'a> {
    fn of(plan: Option<&'a Plan>) -> Content<'a> {
        let mut content = Content::default();
        let Some(plan) = plan else { return content };
        for step in &plan.steps {
            match &step.origin {
                Origin::Generic => {}
                Origin::Added => {
                    content.added.insert(&step.name, step);
                }
                Origin::Changed(keywords) => {
                    let attributes = keywords.iter().filter_map(|k| changed_attribute(k)).collect();
                    content.changed.insert(&step.name, (step, attributes));
                }
            }
        }
        for removed in &plan.removed {
            content.removed.insert(&removed.name, removed.reason.as_deref());
        }
        content
    }
}

fn process(out: &mut Changes, name: &str, old: Option<&Process>, new: Option<&Process>) {
    let path = |rest: &[&str]| -> Vec<String> {
        std::iter::once(name).chain(rest.iter().copied()).map(str::to_owned).collect()
    };
    out.compare(
        Subject::Process,
        path(&[]),
        old,
        new,
        |p| &p.title,
        |d, o, n| {
            d.text(Attribute::Title, &o.title, &n.title);
            d.push(Attribute::Service, written_opt(&o.service), written_opt(&n.service));
            d.push(
                Attribute::Segmentation,
                written_opt(&o.segmentation),
                written_opt(&n.segmentation),
            );
            flow(d, &o.phase_diagram, &n.phase_diagram);
        },
    );
    let (Some(old), Some(new)) = (old, new) else { return };
    for (phase, o, n) in pairs_by(&old.phases, &new.phases, |p| &p.name) {
        out.compare(
            Subject::Phase,
            path(&[&phase]),
            o,
            n,
            |p| &p.title,
            |d, o, n| {
                d.text(Attribute::Title, &o.title, &n.title);
                d.push(Attribute::ClientPhase, flag(o.client), flag(n.client));
                d.push(Attribute::Milestone, text_opt(&o.milestone), text_opt(&n.milestone));
                flow(d, &o.diagram, &n.diagram);
            },
        );
    }
    for (step, o, n) in pairs_by(&old.generic.steps, &new.generic.steps, |s| &s.name) {
        let phase = n.or(o).map_or("", |s| s.phase.as_str());
        out.compare(Subject::Step, path(&[phase, &step]), o, n, |s| &s.title, step_details);
    }
    let segments: BTreeSet<&String> = old.plans.keys().chain(new.plans.keys()).collect();
    for segment in segments {
        let (o, n) = (old.plans.get(segment), new.plans.get(segment));
        let at = out.list.len();
        out.compare(
            Subject::SegmentContent,
            path(&[]),
            o,
            n,
            |_| "",
            |d, o, n| {
                d.push(
                    Attribute::Responsible,
                    written_opt(&o.responsible),
                    written_opt(&n.responsible),
                );
            },
        );
        // Content added or removed as a whole is one change; what it holds is the new plan.
        if o.is_some() && n.is_some() {
            segment_content(out, old, new, segment, Content::of(o), Content::of(n));
        }
        for change in &mut out.list[at..] {
            change.segment = Some(segment.clone());
        }
    }
}

fn segment_content(
    out: &mut Changes,
    old: &Process,
    new: &Process,
    segment: &str,
    was: Content<'_>,
    is: Content<'_>,
) {
    let name = &new.name;
    let path = |phase: &str, step: &str| vec![name.clone(), phase.to_owned(), step.to_owned()];
    for (step, o, n) in
        pairs_by(was.added.values().copied(), is.added.values().copied(), |s| &s.name)
    {
        let phase = n.or(o).map_or("", |s| s.phase.as_str());
        out.compare(
            Subject::SegmentAddedStep,
            path(phase, &step),
            o,
            n,
            |s| &s.title,
            step_details,
        );
    }
    let removed: BTreeSet<&str> = was.removed.keys().chain(is.removed.keys()).copied().collect();
    for step in removed {
        let (o, n) = (was.removed.get(step), is.removed.get(step));
        // The generic step it leaves out, for its phase and title.
        let generic = match n {
            Some(_) => new.generic.step(step),
            None => old.generic.step(step),
        };
        let phase = generic.map_or("", |s| s.phase.as_str());
        let reason =
            |r: Option<&Option<&str>>| r.copied().flatten().map(|r| Value::Text(r.to_owned()));
        let title = generic.map(|s| s.title.clone()).filter(|t| !t.is_empty());
        let change = match (o, n) {
            (None, Some(_)) => Some((Kind::Added, None, title)),
            (Some(_), None) => Some((Kind::Removed, title, None)),
            (Some(a), Some(b)) if a != b => Some((Kind::Changed, title.clone(), title)),
            _ => None,
        };
        if let Some((kind, old_title, new_title)) = change {
            let mut d = Details::default();
            d.push(Attribute::Reason, reason(o), reason(n));
            let pushed = out.push(kind, Subject::SegmentRemovedStep, path(phase, step));
            pushed.old_title = old_title;
            pushed.new_title = new_title;
            pushed.details = d.0;
        }
    }
    let changed: BTreeSet<&str> = was.changed.keys().chain(is.changed.keys()).copied().collect();
    for step in changed {
        let (o, n) = (was.changed.get(step), is.changed.get(step));
        // Each attribute the segment changes in either version, as its clients get it: the
        // value before and after, whether the segment's own or the generic one.
        let attributes: BTreeSet<Attribute> =
            o.iter().chain(n.iter()).flat_map(|(_, a)| a.iter().copied()).collect();
        let (before, after) = (
            o.map(|(s, _)| *s).or_else(|| old.plan(Some(segment)).step(step)),
            n.map(|(s, _)| *s).or_else(|| new.plan(Some(segment)).step(step)),
        );
        let mut details = Vec::new();
        for &attribute in STEP_ATTRIBUTES.iter().filter(|a| attributes.contains(a)) {
            let was_changed = o.is_some_and(|(_, a)| a.contains(&attribute));
            let is_changed = n.is_some_and(|(_, a)| a.contains(&attribute));
            let (from, to) = (
                before.and_then(|s| step_value(s, attribute)),
                after.and_then(|s| step_value(s, attribute)),
            );
            if was_changed != is_changed || !same(&from, &to) {
                details.push(Detail { attribute, item: None, old: from, new: to });
            }
        }
        let kind = match (o, n) {
            (None, Some(_)) => Kind::Added,
            (Some(_), None) => Kind::Removed,
            _ if details.is_empty() => continue,
            _ => Kind::Changed,
        };
        let step_of = after.or(before);
        let phase = step_of.map_or("", |s| s.phase.as_str());
        let title = step_of.map(|s| s.title.clone()).filter(|t| !t.is_empty());
        let pushed = out.push(kind, Subject::SegmentChangedStep, path(phase, step));
        pushed.old_title = title.clone().filter(|_| kind != Kind::Added);
        pushed.new_title = title.filter(|_| kind != Kind::Removed);
        pushed.details = details;
    }
}

fn workflow(
    out: &mut Changes,
    old_model: &Model,
    new_model: &Model,
    target: &str,
    old: Option<&Workflow>,
    new: Option<&Workflow>,
) {
    out.compare(
        Subject::Workflow,
        vec![target.to_owned()],
        old,
        new,
        |w| &w.title,
        |d, o, n| {
            d.text(Attribute::Title, &o.title, &n.title);
            flow(d, &o.diagram, &n.diagram);
            let handoffs = |w: &Workflow| {
                set(w.handoffs.iter().map(|h| match &h.what {
                    Some(what) => format!("{} -> {} \"{what}\"", h.from, h.to),
                    None => format!("{} -> {}", h.from, h.to),
                }))
            };
            d.push(Attribute::Handoffs, handoffs(o), handoffs(n));
        },
    );
    let (Some(old), Some(new)) = (old, new) else { return };
    for (role, o, n) in pairs_by(&old.lanes, &new.lanes, |l| &l.role) {
        let title = |model: &Model| {
            model.roles.get(&role).map(|r| r.title.clone()).filter(|t| !t.is_empty())
        };
        let change = match (o, n) {
            (Some(_), None) => {
                out.push(Kind::Removed, Subject::Lane, vec![target.to_owned(), role.clone()])
            }
            (None, Some(_)) => {
                out.push(Kind::Added, Subject::Lane, vec![target.to_owned(), role.clone()])
            }
            _ => continue,
        };
        change.old_title = o.and_then(|_| title(old_model));
        change.new_title = n.and_then(|_| title(new_model));
    }
    let tasks = |w: &'_ Workflow| -> Vec<(String, crate::model::Task)> {
        w.lanes.iter().flat_map(|l| l.tasks.iter().map(|t| (l.role.clone(), t.clone()))).collect()
    };
    let (old_tasks, new_tasks) = (tasks(old), tasks(new));
    for (task, o, n) in pairs_by(&old_tasks, &new_tasks, |(_, t)| &t.name) {
        let path = vec![target.to_owned(), task];
        out.compare(
            Subject::Task,
            path,
            o,
            n,
            |(_, t)| &t.title,
            |d, (ol, o), (nl, n)| {
                d.text(Attribute::Title, &o.title, &n.title);
                d.push(Attribute::Lane, written(ol.clone()), written(nl.clone()));
                d.push(Attribute::Step, written_opt(&o.step), written_opt(&n.step));
                let duration = |t: &crate::model::Task| {
                    t.duration.as_ref().map(|d| Value::Written(describe_duration(d)))
                };
                d.push(Attribute::Duration, duration(o), duration(n));
                d.push(
                    Attribute::Channel,
                    o.channel.map(Value::Channel),
                    n.channel.map(Value::Channel),
                );
                d.push(Attribute::Optional, flag(o.optional), flag(n.optional));
            },
        );
    }
}

#[cfg(test)]
mod tests;
