//! The typed syntax tree: the second layer of the grammar, one type per construct.
//!
//! Every node a diagnostic can blame carries its byte span. Spans are left out of the serde
//! form, so two trees serialise equal exactly when they mean the same; the formatter uses that
//! to prove it changed nothing but layout.

use serde::Serialize;

use crate::span::Span;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Name {
    pub text: String,
    #[serde(skip)]
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Text {
    pub value: String,
    #[serde(skip)]
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TimeUnit {
    Minute,
    Hour,
    Day,
    WorkingDay,
    Week,
    Month,
    Year,
}

impl TimeUnit {
    /// Reads a unit word in any of its accepted forms.
    pub fn parse(word: &str) -> Option<TimeUnit> {
        Some(match word {
            "min" => TimeUnit::Minute,
            "h" | "tunti" | "tuntia" => TimeUnit::Hour,
            "pv" | "päivä" | "päivää" => TimeUnit::Day,
            "arkipäivä" | "arkipäivää" => TimeUnit::WorkingDay,
            "vk" | "viikko" | "viikkoa" => TimeUnit::Week,
            "kk" | "kuukausi" | "kuukautta" => TimeUnit::Month,
            "v" | "vuosi" | "vuotta" => TimeUnit::Year,
            _ => return None,
        })
    }

    pub const WORDS: &'static [&'static str] = &[
        "min",
        "h",
        "tunti",
        "tuntia",
        "pv",
        "päivä",
        "päivää",
        "arkipäivä",
        "arkipäivää",
        "vk",
        "viikko",
        "viikkoa",
        "kk",
        "kuukausi",
        "kuukautta",
        "v",
        "vuosi",
        "vuotta",
    ];
}

/// A duration as written: one or more amounts with units, such as `1 h 30 min`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Duration {
    pub parts: Vec<(u32, TimeUnit)>,
    #[serde(skip)]
    pub span: Span,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct File {
    pub items: Vec<Item>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Item {
    Organisation(Organisation),
    Role(Role),
    Fact(Fact),
    Service(Service),
    Segmentation(Segmentation),
    Chain(Chain),
    Process(Process),
    Workflow(Workflow),
    Form(Form),
    Markers(Markers),
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Organisation {
    pub name: Name,
    pub title: Option<Text>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Role {
    pub name: Name,
    pub title: Option<Text>,
    /// The role is played by the client or the family.
    pub client: bool,
}

/// A declared case fact (`tieto ensisynnyttäjä "Ensimmäinen raskaus"`): something known of a
/// case that is not its segment, given when the case is opened or recorded later, and named by
/// the conditions of steps (`jos ensisynnyttäjä`) and by per-child repetition (`toistuu lapsia`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Fact {
    pub name: Name,
    pub title: Option<Text>,
    /// `luku`: the fact is a number (how many children); otherwise yes or no.
    pub number: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Service {
    pub name: Name,
    pub title: Option<Text>,
    pub code: Option<Text>,
    pub law: Option<Text>,
    pub description: Option<Text>,
    /// `tuottaja "…"`: another organisation provides the service (a hospital's clinic, the
    /// municipality's day care); the region refers clients to it but runs no process of it.
    pub provider: Option<Text>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Segmentation {
    pub name: Name,
    pub title: Option<Text>,
    /// The services of a unit-level segmentation (one tool may serve several units, such as
    /// maternity and child health clinics); empty for the whole family-centre clientele.
    pub units: Vec<Name>,
    pub axes: Vec<Axis>,
    pub segments: Vec<Segment>,
    pub coverage: Option<Text>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Axis {
    pub name: Name,
    pub title: Option<Text>,
    pub values: Vec<Name>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Segment {
    pub name: Name,
    pub title: Option<Text>,
    /// Pairs of axis and value.
    pub position: Vec<(Name, Name)>,
    pub card: ProfileCard,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ProfileCard {
    pub basic_strategy: Option<Text>,
    pub goal: Option<Text>,
    pub differences: Option<Text>,
    pub client_experience: Option<Text>,
    pub description: Option<Text>,
    pub emphases: Option<Text>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Chain {
    pub name: Name,
    pub title: Option<Text>,
    pub segmentation: Option<Name>,
    pub services: Vec<Name>,
    pub paths: Vec<Vec<Name>>,
    pub referrals: Vec<Referral>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Referral {
    pub from: Name,
    pub to: Name,
    /// The segments the referral is for; empty means all.
    pub segments: Vec<Name>,
    pub description: Option<Text>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Process {
    pub name: Name,
    pub title: Option<Text>,
    pub service: Option<Name>,
    pub segmentation: Option<Name>,
    pub phases: Vec<Phase>,
    /// The order of the phases: every `kulku` statement; none means the order written.
    pub flows: Vec<Flow>,
    pub segments: Vec<SegmentContent>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Phase {
    pub name: Name,
    pub title: Option<Text>,
    /// Every step of the phase is the client's own.
    pub client: bool,
    /// The outcome that completes the phase.
    pub milestone: Option<Text>,
    pub steps: Vec<Step>,
    pub flows: Vec<Flow>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Step {
    pub name: Name,
    pub title: Option<Text>,
    pub attrs: StepAttrs,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct StepAttrs {
    pub roles: Vec<Name>,
    pub duration: Option<Duration>,
    pub count: Option<Count>,
    pub interval: Option<Duration>,
    pub deadline: Option<Deadline>,
    /// The start of the step's time window (`aikaisintaan ikä 3 kk`): not due before it.
    pub earliest: Option<Deadline>,
    pub statutory: Option<Statutory>,
    pub channel: Option<ChannelAttr>,
    pub requirement: Option<RequirementAttr>,
    pub referral: Option<Name>,
    /// What the step is, for anyone reading the plan (`kuvaus "…"`).
    pub description: Option<Text>,
    /// Guidance for the professional who does the step (`ohje "…"`); a segment's `muuta`
    /// gives its own.
    pub guidance: Option<Text>,
    /// The step in which the client's segment is assessed (`arvioi segmentin`): segment
    /// content applies from the steps after it on. Its span is where it is written; the
    /// serde form says only whether it is.
    #[serde(serialize_with = "serialize_given")]
    pub assesses_segment: Option<Span>,
    /// `jos FACT` / `jos ei FACT`: the step is planned only when a yes-or-no fact of the case
    /// holds (or does not).
    pub condition: Option<Condition>,
    /// `toistuu FACT`: the step is done once per unit of a number fact, such as once for each
    /// child of a multiple birth.
    pub per: Option<Name>,
}

/// A condition on a declared fact: `jos ensisynnyttäjä`, `jos ei kielituki`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Condition {
    pub fact: Name,
    /// `jos ei FACT`: the step is planned when the fact does not hold.
    pub negated: bool,
    #[serde(skip)]
    pub span: Span,
}

fn serialize_given<S: serde::Serializer>(span: &Option<Span>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_bool(span.is_some())
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Count {
    pub value: u32,
    #[serde(skip)]
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Statutory {
    pub basis: Option<Text>,
    #[serde(skip)]
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Visit,
    Phone,
    Digital,
    HomeVisit,
    Group,
    Video,
}

impl Channel {
    pub fn parse(word: &str) -> Option<Channel> {
        Some(match word {
            "käynti" => Channel::Visit,
            "puhelin" => Channel::Phone,
            "sähköinen" => Channel::Digital,
            "kotikäynti" => Channel::HomeVisit,
            "ryhmä" => Channel::Group,
            "video" => Channel::Video,
            _ => return None,
        })
    }

    pub const WORDS: &'static [&'static str] =
        &["käynti", "puhelin", "sähköinen", "kotikäynti", "ryhmä", "video"];

    /// The keyword that names the channel in the language.
    pub fn keyword(self) -> &'static str {
        match self {
            Channel::Visit => "käynti",
            Channel::Phone => "puhelin",
            Channel::Digital => "sähköinen",
            Channel::HomeVisit => "kotikäynti",
            Channel::Group => "ryhmä",
            Channel::Video => "video",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChannelAttr {
    pub channel: Channel,
    #[serde(skip)]
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Requirement {
    Required,
    Optional,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RequirementAttr {
    pub requirement: Requirement,
    #[serde(skip)]
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Deadline {
    pub after: Duration,
    pub anchor: Anchor,
    #[serde(skip)]
    pub span: Span,
}

/// What a deadline is counted from.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Anchor {
    CaseStart,
    PhaseStart,
    PreviousStep,
    Step(Name),
    /// The deadline is the client's age (`ikä 4 kk`, or `4 kk syntymästä`).
    Age,
    /// A lead time: so long before the deadline of another step (`2 arkipäivää ennen askelta
    /// th`), such as a form due before the check it prepares.
    BeforeStep(Name),
    /// A week of pregnancy (`rv 12`), counted from the start of the pregnancy the case carries
    /// (its expected due date less 40 weeks): a window opens at the start of the week and a
    /// deadline falls at its end. `after` holds the weeks.
    PregnancyWeek,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SegmentContent {
    pub segment: Name,
    /// `perii`: the segment gets the generic content as it is.
    pub inherits: bool,
    pub responsible: Option<Name>,
    pub changes: Vec<Change>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    Modify {
        step: Name,
        attrs: StepAttrs,
    },
    /// `lisää askel`: to the end of a phase (`vaiheeseen PHASE`), or before or after a step
    /// (`ennen STEP`, `jälkeen STEP`), whose phase it then joins.
    Add {
        step: Step,
        phase: Option<Name>,
        place: Option<Placement>,
    },
    Remove {
        step: Name,
        reason: Option<Text>,
    },
}

/// Where an added step goes relative to another step.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Placement {
    /// `ennen` (before) when true, `jälkeen` (after) when false.
    pub before: bool,
    pub step: Name,
}

impl Process {
    /// The phase a step belongs to: a generic step's own phase, or the phase a segment adds
    /// it to (named with `vaiheeseen`, or that of the step it is placed before or after).
    pub fn phase_of(&self, step: &str) -> Option<&str> {
        let mut step = step;
        // A chain of placements is followed at most as far as there are additions (a loop of
        // placements has no phase).
        for _ in 0..=self.segments.iter().map(|c| c.changes.len()).sum::<usize>() {
            if let Some(phase) =
                self.phases.iter().find(|p| p.steps.iter().any(|s| s.name.text == step))
            {
                return Some(&phase.name.text);
            }
            let (phase, place) =
                self.segments.iter().flat_map(|c| &c.changes).find_map(|c| match c {
                    Change::Add { step: s, phase, place } if s.name.text == step => {
                        Some((phase, place))
                    }
                    _ => None,
                })?;
            match (phase, place) {
                (Some(phase), _) => return Some(&phase.text),
                (None, Some(place)) => step = &place.step.text,
                (None, None) => return None,
            }
        }
        None
    }

    /// Every step that a segment adds, with the phase it goes to where that is known.
    pub fn added_steps(&self) -> impl Iterator<Item = (&Step, Option<&str>)> {
        self.segments.iter().flat_map(|c| &c.changes).filter_map(move |c| match c {
            Change::Add { step, .. } => Some((step, self.phase_of(&step.name.text))),
            _ => None,
        })
    }

    /// The step marked `arvioi segmentin`, if any.
    pub fn assessing_step(&self) -> Option<&Step> {
        self.phases.iter().flat_map(|p| &p.steps).find(|s| s.attrs.assesses_segment.is_some())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Workflow {
    pub process: Name,
    pub phase: Name,
    pub step: Option<Name>,
    /// The whole target as written, for messages.
    pub target: Name,
    pub title: Option<Text>,
    pub lanes: Vec<Lane>,
    pub flows: Vec<Flow>,
    pub handoffs: Vec<Handoff>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Lane {
    pub role: Name,
    pub tasks: Vec<Task>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Task {
    pub name: Name,
    pub title: Option<Text>,
    pub duration: Option<Duration>,
    pub channel: Option<ChannelAttr>,
    pub optional: bool,
    pub step: Option<Name>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Handoff {
    pub from: Name,
    pub to: Name,
    pub what: Option<Text>,
}

/// An order among phases, steps or tasks.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Flow {
    Name(Name),
    Sequence(Vec<Flow>),
    Parallel(Vec<Flow>),
    Choice(Vec<Branch>),
    Repeat { body: Box<Flow>, until: Option<Text> },
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Branch {
    pub flow: Flow,
    pub condition: Option<Text>,
    /// `kun segmentti A, B`: the branch the clients of these segments take. The rules check
    /// such choices: every segment's planned steps must lie on the path it takes.
    pub segments: Vec<Name>,
    /// `kun tieto F` / `kun ei tieto F`: the branch the cases take whose declared fact holds (or
    /// does not). Checked like segments: a step planned `jos F` must lie on the path where F
    /// holds.
    pub fact: Option<Condition>,
    pub default: bool,
}

impl Flow {
    /// Every name in the flow, in the order written.
    pub fn names(&self) -> Vec<&Name> {
        let mut out = Vec::new();
        let mut stack = vec![self];
        while let Some(flow) = stack.pop() {
            match flow {
                Flow::Name(name) => out.push(name),
                Flow::Sequence(items) | Flow::Parallel(items) => stack.extend(items.iter().rev()),
                Flow::Choice(branches) => stack.extend(branches.iter().rev().map(|b| &b.flow)),
                Flow::Repeat { body, .. } => stack.push(body),
            }
        }
        out
    }
}

/// An assessment form (`lomake`): the client's questions, the professional's part with guidance
/// per segment, and the rules that score the answers onto the axes of a segmentation, so that
/// the form proposes a segment. It belongs to the steps that assess the segment.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Form {
    pub name: Name,
    pub title: Option<Text>,
    pub segmentation: Option<Name>,
    /// The steps (`PROCESS.STEP`) in which the form is gone through: steps marked
    /// `arvioi segmentin`.
    pub steps: Vec<Name>,
    /// The client's part, in the order asked.
    pub questions: Vec<Question>,
    /// The professional's part (`arvio`): what the professional assesses.
    pub items: Vec<Question>,
    /// Guidance per segment (`ohje SEGMENT "…"`): the knowledge bank.
    pub guidance: Vec<(Name, Text)>,
    /// How the answers give each axis its value.
    pub scoring: Vec<AxisScoring>,
}

/// One question of a form (or one item of the professional's part).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Question {
    pub name: Name,
    pub title: Option<Text>,
    pub kind: QuestionKind,
    /// The label in Swedish and in English (`sv "…"`, `en "…"`).
    pub swedish: Option<Text>,
    pub english: Option<Text>,
    /// Asked only when an earlier answer calls for it (`näytä kun huolia kyllä`).
    pub shown_if: Option<AnswerCondition>,
    /// `tiedoksi`: for the conversation only, used by no scoring rule.
    pub informative: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum QuestionKind {
    /// `asteikko 1 5`: a whole number from the first to the second.
    Scale { min: u32, max: u32 },
    /// `kyllä_ei`.
    YesNo,
    /// `valinta a | b | c`: one of the options.
    Choice(Vec<Name>),
    /// `monivalinta a | b | c`: any of the options.
    Multiple(Vec<Name>),
    /// `teksti`: free text.
    Text,
}

/// A condition on an answer: `huolia kyllä`, `jaksaminen enintään 2`, `tuki läheisiltä, monelta`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AnswerCondition {
    pub question: Name,
    pub test: AnswerTest,
    #[serde(skip)]
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AnswerTest {
    Yes,
    No,
    Exactly(u32),
    AtMost(u32),
    AtLeast(u32),
    /// One of these options was chosen (of a multiple choice: any of them among those chosen).
    AnyOf(Vec<Name>),
}

/// The rules that give one axis its value (`akseli tarve { runsas kun … }`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AxisScoring {
    pub axis: Name,
    pub rules: Vec<ScoreRule>,
    /// `puuttuu VALUE`: the value when an answer the rules need is missing and no rule holds.
    pub missing: Option<Name>,
    /// `tasapeli VALUE`: the value when rules giving different values hold at once.
    pub tie: Option<Name>,
}

/// `VALUE kun CONDITION ja CONDITION …`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScoreRule {
    pub value: Name,
    pub conditions: Vec<AnswerCondition>,
    #[serde(skip)]
    pub span: Span,
}

/// Marker rules (`merkkisäännöt`): how markers recorded in the client and patient record systems
/// (diagnoses, visit codes, service codes, named markers) propose a segment each day.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Markers {
    pub name: Name,
    pub title: Option<Text>,
    pub segmentation: Option<Name>,
    /// How long the extract's rows are kept (`säilytys 24 kk`): no window may be longer.
    pub retention: Option<Duration>,
    /// How long a segment a professional decided (an assessment, a change, the segment a case
    /// was opened with) outranks the markers' proposal (`arvio voimassa 12 kk`).
    pub assessment_valid: Option<Duration>,
    pub rules: Vec<MarkerRule>,
    /// `muuten SEGMENT`: the segment when no rule holds.
    pub otherwise: Option<Name>,
}

/// `segmentti SEGMENT kun CONDITION ja … [etusija N]`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MarkerRule {
    pub segment: Name,
    pub conditions: Vec<MarkerCondition>,
    /// A smaller number wins when rules for different segments hold at once.
    pub priority: Option<u32>,
    #[serde(skip)]
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MarkerCondition {
    /// `koodi SYSTEM CODE, …`: a row with one of these codes (or a code under one), within the
    /// retention time or the window.
    Code { system: Name, codes: Vec<Name>, window: Option<Duration> },
    /// `merkki NAME, …`: a named marker.
    Marker { names: Vec<Name>, window: Option<Duration> },
    /// `käyntejä SYSTEM CODE, … vähintään N ikkuna DURATION`: at least N such rows in the window.
    Visits { system: Name, codes: Vec<Name>, at_least: u32, window: Option<Duration> },
}
