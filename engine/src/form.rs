//! Assessment forms (`lomake`): scoring a set of answers onto the axes of a segmentation, so
//! that the form proposes a segment and names the answers that drove it, and checking the
//! scoring rules for gaps, overlaps and segments no answers reach.
//!
//! Answers are kept as numbers so that scoring is a few comparisons per rule: a scale's value,
//! 1 or 0 for yes or no, and a bit set of the options chosen. Free text is never scored.

use std::collections::BTreeMap;

use polku_dsl::{ast, Lang};
use serde::Serialize;

/// The most options a multiple choice may have for its subsets to be checked.
const MAX_OPTIONS_CHECKED: usize = 10;

/// The most combinations of answers the checker goes through.
pub const MAX_COMBINATIONS: u64 = 500_000;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Kind {
    Scale { min: u32, max: u32 },
    YesNo,
    Choice { options: Vec<String> },
    Multiple { options: Vec<String> },
    Text,
}

/// A condition on one answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Test {
    Yes,
    No,
    Exactly(u32),
    AtMost(u32),
    AtLeast(u32),
    /// Any of these options (bits).
    AnyOf(u64),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Condition {
    /// Index into the form's questions.
    pub question: usize,
    pub test: Test,
}

impl Condition {
    fn holds(&self, answers: &[Option<u64>]) -> bool {
        let Some(Some(a)) = answers.get(self.question) else { return false };
        match self.test {
            Test::Yes => *a == 1,
            Test::No => *a == 0,
            Test::Exactly(n) => *a == u64::from(n),
            Test::AtMost(n) => *a <= u64::from(n),
            Test::AtLeast(n) => *a >= u64::from(n),
            Test::AnyOf(mask) => a & mask != 0,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Question {
    pub name: String,
    pub title: String,
    pub swedish: Option<String>,
    pub english: Option<String>,
    #[serde(flatten)]
    pub kind: Kind,
    /// Asked only when this answer was given.
    pub shown_if: Option<Condition>,
    pub informative: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rule {
    pub value: String,
    pub conditions: Vec<Condition>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Scoring {
    pub axis: String,
    pub rules: Vec<Rule>,
    pub missing: Option<String>,
    pub tie: Option<String>,
}

/// The segments of a segmentation with their values on the axes, as [`Form::compile`] takes
/// them.
pub fn profiles(segmentation: &crate::model::Segmentation) -> Vec<(String, Vec<(String, String)>)> {
    segmentation.profiles.iter().map(|p| (p.name.clone(), p.position.clone())).collect()
}

/// A compiled form.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Form {
    pub name: String,
    pub title: String,
    pub segmentation: Option<String>,
    pub steps: Vec<String>,
    pub questions: Vec<Question>,
    /// The professional's part.
    pub items: Vec<Question>,
    /// Guidance per segment.
    pub guidance: BTreeMap<String, String>,
    pub scoring: Vec<Scoring>,
    /// Each segment's value on the scored axes, from the segmentation's profile cards.
    pub positions: Vec<(String, Vec<Option<String>>)>,
}

/// How one axis got its value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct AxisValue {
    pub axis: String,
    /// `None` when the answers decide nothing: the professional decides.
    pub value: Option<String>,
    /// `rule`, `tie` (several rules held and `tasapeli` chose), `missing` (an answer was missing
    /// and `puuttuu` chose), `undecided`.
    pub how: &'static str,
    /// The questions whose answers drove the value.
    pub driven_by: Vec<String>,
}

/// What a form proposes for one set of answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Proposal {
    pub form: String,
    pub axes: Vec<AxisValue>,
    /// The segment at those axis values, when every axis has one.
    pub segment: Option<String>,
}

fn text(t: &Option<ast::Text>) -> String {
    t.as_ref().map(|t| t.value.clone()).unwrap_or_default()
}

fn kind(k: &ast::QuestionKind) -> Kind {
    let names = |o: &[ast::Name]| o.iter().map(|n| n.text.clone()).collect();
    match k {
        ast::QuestionKind::Scale { min, max } => Kind::Scale { min: *min, max: *max },
        ast::QuestionKind::YesNo => Kind::YesNo,
        ast::QuestionKind::Choice(o) => Kind::Choice { options: names(o) },
        ast::QuestionKind::Multiple(o) => Kind::Multiple { options: names(o) },
        ast::QuestionKind::Text => Kind::Text,
    }
}

fn condition(questions: &[Question], c: &ast::AnswerCondition) -> Option<Condition> {
    let question = questions.iter().position(|q| q.name == c.question.text)?;
    let options = match &questions[question].kind {
        Kind::Choice { options } | Kind::Multiple { options } => Some(options),
        _ => None,
    };
    let test = match &c.test {
        // An option named `kyllä` or `ei`.
        ast::AnswerTest::Yes | ast::AnswerTest::No if options.is_some() => {
            let word = if c.test == ast::AnswerTest::Yes { "kyllä" } else { "ei" };
            let at = options?.iter().position(|o| o == word)?;
            Test::AnyOf(1 << at.min(63))
        }
        ast::AnswerTest::Yes => Test::Yes,
        ast::AnswerTest::No => Test::No,
        ast::AnswerTest::Exactly(n) => Test::Exactly(*n),
        ast::AnswerTest::AtMost(n) => Test::AtMost(*n),
        ast::AnswerTest::AtLeast(n) => Test::AtLeast(*n),
        ast::AnswerTest::AnyOf(chosen) => {
            let (Kind::Choice { options } | Kind::Multiple { options }) = &questions[question].kind
            else {
                return None;
            };
            let mut mask = 0u64;
            for c in chosen {
                let at = options.iter().position(|o| *o == c.text)?;
                mask |= 1 << at.min(63);
            }
            Test::AnyOf(mask)
        }
    };
    Some(Condition { question, test })
}

impl Form {
    /// Compiles a form whose names resolve, with the segments of the segmentation it scores
    /// and their values on the axes (`(segment, [(axis, value)])`).
    pub fn compile(form: &ast::Form, profiles: &[(String, Vec<(String, String)>)]) -> Form {
        let mut questions: Vec<Question> = Vec::new();
        for q in &form.questions {
            let shown_if = q.shown_if.as_ref().and_then(|c| condition(&questions, c));
            questions.push(Question {
                name: q.name.text.clone(),
                title: text(&q.title),
                swedish: q.swedish.as_ref().map(|t| t.value.clone()),
                english: q.english.as_ref().map(|t| t.value.clone()),
                kind: kind(&q.kind),
                shown_if,
                informative: q.informative,
            });
        }
        let items = form
            .items
            .iter()
            .map(|q| Question {
                name: q.name.text.clone(),
                title: text(&q.title),
                swedish: q.swedish.as_ref().map(|t| t.value.clone()),
                english: q.english.as_ref().map(|t| t.value.clone()),
                kind: kind(&q.kind),
                shown_if: None,
                informative: true,
            })
            .collect();
        let scoring: Vec<Scoring> = form
            .scoring
            .iter()
            .map(|s| Scoring {
                axis: s.axis.text.clone(),
                rules: s
                    .rules
                    .iter()
                    .map(|r| Rule {
                        value: r.value.text.clone(),
                        conditions: r
                            .conditions
                            .iter()
                            .filter_map(|c| condition(&questions, c))
                            .collect(),
                    })
                    .collect(),
                missing: s.missing.as_ref().map(|v| v.text.clone()),
                tie: s.tie.as_ref().map(|v| v.text.clone()),
            })
            .collect();
        // A segment can be proposed only when the form scores every axis it is placed on.
        let scores_all = profiles.iter().all(|(_, position)| {
            position.iter().all(|(axis, _)| scoring.iter().any(|s| s.axis == *axis))
        });
        let positions = profiles
            .iter()
            .filter(|_| scores_all)
            .map(|(segment, position)| {
                let at = scoring
                    .iter()
                    .map(|s| position.iter().find(|(a, _)| *a == s.axis).map(|(_, v)| v.clone()))
                    .collect();
                (segment.clone(), at)
            })
            .collect();
        Form {
            name: form.name.text.clone(),
            title: text(&form.title),
            segmentation: form.segmentation.as_ref().map(|s| s.text.clone()),
            steps: form.steps.iter().map(|s| s.text.clone()).collect(),
            questions,
            items,
            guidance: form
                .guidance
                .iter()
                .map(|(s, t)| (s.text.clone(), t.value.clone()))
                .collect(),
            scoring,
            positions,
        }
    }

    /// Sets the answers of questions that were not to be asked (their `näytä kun` does not
    /// hold) to no answer, in the order asked, as the check takes them.
    pub fn drop_unasked(&self, answers: &mut [Option<u64>]) {
        for q in 0..self.questions.len().min(answers.len()) {
            if !self.asked(q, answers) {
                answers[q] = None;
            }
        }
    }

    /// Whether a question is asked, given the answers before it.
    fn asked(&self, question: usize, answers: &[Option<u64>]) -> bool {
        self.questions[question].shown_if.is_none_or(|c| c.holds(answers))
    }

    /// The value of each axis for a set of answers (by question, as numbers), with how it was
    /// reached and the questions that drove it.
    pub fn score(&self, answers: &[Option<u64>]) -> Proposal {
        let mut axes = Vec::with_capacity(self.scoring.len());
        for s in &self.scoring {
            let mut value: Option<&str> = None;
            let mut several = false;
            let mut driven: u64 = 0;
            for rule in &s.rules {
                if rule.conditions.iter().all(|c| c.holds(answers)) {
                    match value {
                        None => value = Some(&rule.value),
                        Some(v) if v != rule.value => several = true,
                        Some(_) => {}
                    }
                    for c in &rule.conditions {
                        driven |= 1 << c.question.min(63);
                    }
                }
            }
            let unanswered = s
                .rules
                .iter()
                .flat_map(|r| &r.conditions)
                .any(|c| answers.get(c.question).is_none_or(|a| a.is_none()));
            let (value, how) = match (value, several) {
                (Some(_), true) => {
                    (s.tie.clone(), if s.tie.is_some() { "tie" } else { "undecided" })
                }
                (Some(v), false) => (Some(v.to_owned()), "rule"),
                (None, _) if unanswered && s.missing.is_some() => (s.missing.clone(), "missing"),
                (None, _) => (None, "undecided"),
            };
            let driven_by = (0..self.questions.len())
                .filter(|&i| driven & (1 << i.min(63)) != 0)
                .map(|i| self.questions[i].name.clone())
                .collect();
            axes.push(AxisValue { axis: s.axis.clone(), value, how, driven_by });
        }
        let segment = self
            .positions
            .iter()
            .find(|(_, at)| {
                !at.is_empty()
                    && at.iter().zip(&axes).all(|(p, a)| a.value.is_some() && *p == a.value)
            })
            .map(|(s, _)| s.clone());
        Proposal { form: self.name.clone(), axes, segment }
    }

    /// Reads answers as JSON (`{"jaksaminen": 2, "huolia": true, "huolet": ["talous"]}`) into
    /// numbers by question. An error names the field and what is wrong.
    pub fn read_answers(&self, json: &serde_json::Value) -> Result<Vec<Option<u64>>, FormError> {
        let object = json.as_object().ok_or_else(|| FormError {
            field: "answers".into(),
            problem: FormProblem::NotAnObject,
        })?;
        let mut answers = vec![None; self.questions.len()];
        for (name, value) in object {
            let field = format!("answers.{}", crate::pseudonym::redact_identity_codes(name));
            let Some(at) = self.questions.iter().position(|q| q.name == *name) else {
                let known: Vec<&str> = self.questions.iter().map(|q| q.name.as_str()).collect();
                return Err(FormError {
                    field,
                    problem: FormProblem::NoSuchQuestion {
                        form: self.name.clone(),
                        known: known.join(", "),
                    },
                });
            };
            if value.is_null() {
                continue;
            }
            let wrong = |problem: FormProblem| FormError { field: field.clone(), problem };
            let option = |options: &[String], v: &serde_json::Value| -> Result<u64, FormError> {
                let text = v
                    .as_str()
                    .ok_or_else(|| wrong(FormProblem::OptionNotText(options.join(", "))))?;
                let i = options.iter().position(|o| o == text).ok_or_else(|| {
                    wrong(FormProblem::NotAnOption {
                        given: crate::pseudonym::redact_identity_codes(text),
                        options: options.join(", "),
                    })
                })?;
                Ok(1 << i.min(63))
            };
            answers[at] = match &self.questions[at].kind {
                Kind::Scale { min, max } => {
                    let n = value
                        .as_u64()
                        .filter(|n| *n >= u64::from(*min) && *n <= u64::from(*max))
                        .ok_or_else(|| wrong(FormProblem::Scale { min: *min, max: *max }))?;
                    Some(n)
                }
                Kind::YesNo => {
                    Some(u64::from(value.as_bool().ok_or_else(|| wrong(FormProblem::YesNo))?))
                }
                Kind::Choice { options } => Some(option(options, value)?),
                Kind::Multiple { options } => {
                    let list = value.as_array().ok_or_else(|| wrong(FormProblem::List))?;
                    let mut mask = 0;
                    for v in list {
                        mask |= option(options, v)?;
                    }
                    Some(mask)
                }
                // Free text is for the conversation; it is never scored or kept.
                Kind::Text => None,
            };
        }
        self.drop_unasked(&mut answers);
        Ok(answers)
    }

    /// Goes through every combination of answers the scoring reads (questions not asked left
    /// unanswered) and reports the first gap and the first overlap of each axis and the
    /// segments no combination reaches. `None` when there are more than [`MAX_COMBINATIONS`].
    pub fn check(&self) -> Option<Check> {
        let used: Vec<usize> = (0..self.questions.len())
            .filter(|&i| {
                self.scoring
                    .iter()
                    .flat_map(|s| &s.rules)
                    .flat_map(|r| &r.conditions)
                    .any(|c| c.question == i)
                    || self.questions.iter().any(|q| q.shown_if.is_some_and(|c| c.question == i))
            })
            .collect();
        let domains: Vec<Vec<u64>> = used
            .iter()
            .map(|&i| match &self.questions[i].kind {
                Kind::Scale { min, max } => (u64::from(*min)..=u64::from(*max)).collect(),
                Kind::YesNo => vec![0, 1],
                Kind::Choice { options } => (0..options.len().min(63)).map(|b| 1u64 << b).collect(),
                Kind::Multiple { options } => {
                    let n = options.len().min(MAX_OPTIONS_CHECKED);
                    (0..(1u64 << n)).collect()
                }
                Kind::Text => vec![0],
            })
            .collect();
        let total = domains.iter().try_fold(1u64, |n, d| n.checked_mul(d.len() as u64))?;
        if total > MAX_COMBINATIONS {
            return None;
        }
        let mut check = Check {
            combinations: total,
            gaps: vec![None; self.scoring.len()],
            overlaps: vec![None; self.scoring.len()],
            reached: Vec::new(),
        };
        let mut answers = vec![None; self.questions.len()];
        let mut index = vec![0usize; used.len()];
        loop {
            for (k, &q) in used.iter().enumerate() {
                answers[q] = Some(domains[k][index[k]]);
            }
            // A question not asked has no answer.
            for q in 0..self.questions.len() {
                if !self.asked(q, &answers) {
                    answers[q] = None;
                }
            }
            let proposal = self.score(&answers);
            for (a, s) in proposal.axes.iter().zip(&self.scoring) {
                let at = self.scoring.iter().position(|x| std::ptr::eq(x, s)).unwrap_or(0);
                if a.value.is_none() {
                    let matched: Vec<&str> = s
                        .rules
                        .iter()
                        .filter(|r| r.conditions.iter().all(|c| c.holds(&answers)))
                        .map(|r| r.value.as_str())
                        .collect();
                    let example = self.describe(&answers, &used);
                    if matched.is_empty() {
                        check.gaps[at].get_or_insert(example);
                    } else if check.overlaps[at].is_none() {
                        let first = matched[0].to_owned();
                        let second = matched
                            .iter()
                            .find(|v| **v != first)
                            .map(|v| (*v).to_owned())
                            .unwrap_or_default();
                        check.overlaps[at] = Some((first, second, example));
                    }
                }
            }
            if let Some(segment) = proposal.segment {
                if !check.reached.contains(&segment) {
                    check.reached.push(segment);
                }
            }
            // The next combination.
            let mut k = 0;
            loop {
                if k == used.len() {
                    return Some(check);
                }
                index[k] += 1;
                if index[k] < domains[k].len() {
                    break;
                }
                index[k] = 0;
                k += 1;
            }
        }
    }

    /// A set of answers in the form's own words: `jaksaminen 3, huolia ei, huolet –`.
    pub fn describe(&self, answers: &[Option<u64>], which: &[usize]) -> String {
        which
            .iter()
            .map(|&i| {
                let q = &self.questions[i];
                let value = match (answers[i], &q.kind) {
                    (None, _) => "(ei kysytty)".to_owned(),
                    (Some(v), Kind::YesNo) => if v == 1 { "kyllä" } else { "ei" }.to_owned(),
                    (Some(v), Kind::Choice { options } | Kind::Multiple { options }) => {
                        let chosen: Vec<&str> = options
                            .iter()
                            .enumerate()
                            .filter(|(b, _)| v & (1 << (*b).min(63)) != 0)
                            .map(|(_, o)| o.as_str())
                            .collect();
                        if chosen.is_empty() {
                            "–".to_owned()
                        } else {
                            chosen.join("+")
                        }
                    }
                    (Some(v), _) => v.to_string(),
                };
                format!("{} {value}", q.name)
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The questions no scoring rule and no `näytä kun` reads, and not marked `tiedoksi`.
    pub fn unused(&self) -> Vec<usize> {
        (0..self.questions.len())
            .filter(|&i| {
                let q = &self.questions[i];
                let scored = self
                    .scoring
                    .iter()
                    .flat_map(|s| &s.rules)
                    .flat_map(|r| &r.conditions)
                    .any(|c| c.question == i);
                let shows =
                    self.questions.iter().any(|o| o.shown_if.is_some_and(|c| c.question == i));
                !q.informative && q.kind != Kind::Text && !scored && !shows
            })
            .collect()
    }
}

/// What [`Form::check`] found.
#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    pub combinations: u64,
    /// By axis: an example of answers no rule covers.
    pub gaps: Vec<Option<String>>,
    /// By axis: two values and an example of answers for which rules give both.
    pub overlaps: Vec<Option<(String, String, String)>>,
    /// The segments some answers lead to.
    pub reached: Vec<String>,
}

/// Answers that do not fit their form: the field (`answers.QUESTION`) and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {}", problem.say(Lang::En))]
pub struct FormError {
    pub field: String,
    pub problem: FormProblem,
}

impl FormError {
    /// The message in `lang`, the field first.
    pub fn say(&self, lang: Lang) -> String {
        format!("{}: {}", self.field, self.problem.say(lang))
    }
}

/// What is wrong with an answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FormProblem {
    NotAnObject,
    /// The form (by name) has no such question; `known` lists its questions.
    NoSuchQuestion {
        form: String,
        known: String,
    },
    /// An option given as something else than text; `options` lists them.
    OptionNotText(String),
    NotAnOption {
        given: String,
        options: String,
    },
    Scale {
        min: u32,
        max: u32,
    },
    YesNo,
    List,
}

impl FormProblem {
    pub fn say(&self, lang: Lang) -> String {
        let fi = lang == Lang::Fi;
        match self {
            FormProblem::NotAnObject if fi => {
                "pitää olla JSON-olio, jossa on kysymysten nimet ja vastaukset".to_owned()
            }
            FormProblem::NotAnObject => {
                "must be a JSON object of question names and answers".to_owned()
            }
            FormProblem::NoSuchQuestion { form, known } if fi => {
                format!("lomakkeella {form} ei ole tällaista kysymystä (sen kysymykset: {known})")
            }
            FormProblem::NoSuchQuestion { form, known } => {
                format!("form {form} has no such question (its questions: {known})")
            }
            FormProblem::OptionNotText(options) if fi => {
                format!("vaihtoehto annetaan tekstinä: jokin näistä: {options}")
            }
            FormProblem::OptionNotText(options) => {
                format!("an option is text: one of {options}")
            }
            FormProblem::NotAnOption { given, options } if fi => {
                format!("`{given}` ei ole vaihtoehto (vaihtoehdot: {options})")
            }
            FormProblem::NotAnOption { given, options } => {
                format!("`{given}` is not an option (options: {options})")
            }
            FormProblem::Scale { min, max } if fi => format!("kokonaisluku {min}–{max}"),
            FormProblem::Scale { min, max } => format!("a whole number from {min} to {max}"),
            FormProblem::YesNo if fi => "true tai false".to_owned(),
            FormProblem::YesNo => "true or false".to_owned(),
            FormProblem::List if fi => "luettelo vaihtoehtoja".to_owned(),
            FormProblem::List => "a list of options".to_owned(),
        }
    }
}
