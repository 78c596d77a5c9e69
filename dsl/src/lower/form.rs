//! `lomake`: an assessment form, its questions, the professional's part and the scoring rules.

use super::{statements, Cursor, Lower};
use crate::ast::*;
use crate::cst::Statement;
use crate::diagnostic::{Code, Diagnostic};
use crate::lexer::TokenKind;

pub(super) const FORM_MEMBERS: &[&str] =
    &["segmentointi", "askel", "kysymys", "arvio", "ohje", "akseli"];
const QUESTION_MEMBERS: &[&str] = &["sv", "en", "näytä"];
pub(super) const QUESTION_KINDS: &[&str] =
    &["asteikko", "kyllä_ei", "valinta", "monivalinta", "teksti"];

impl Lower<'_> {
    pub(super) fn form(&mut self, statement: &Statement) -> Option<Form> {
        let keyword = "lomake";
        let mut cursor = self.head(statement);
        let name = self.name(&mut cursor, keyword)?;
        let title = self.text_req(&mut cursor, keyword);
        self.finish(&mut cursor, keyword);
        let mut form = Form {
            name,
            title,
            segmentation: None,
            steps: Vec::new(),
            questions: Vec::new(),
            items: Vec::new(),
            guidance: Vec::new(),
            scoring: Vec::new(),
        };
        let block = self.need_block(statement, keyword)?;
        let mut first = crate::hash::FastMap::default();
        for member in statements(&block.nodes) {
            match self.keyword_of(member).map(|k| k.0) {
                Some("segmentointi") => {
                    let mut slot = form.segmentation.take();
                    self.name_member(member, "segmentointi", &mut slot, &mut first, "segmentointi");
                    form.segmentation = slot;
                }
                Some("askel") => {
                    let mut cursor = self.head(member);
                    while let Some(step) = self.qualified(&mut cursor, "askel") {
                        form.steps.push(step);
                        if self.eat_kind(&mut cursor, TokenKind::Comma).is_none() {
                            break;
                        }
                    }
                    self.finish(&mut cursor, "askel");
                    self.no_block(member, "askel");
                }
                Some(word @ ("kysymys" | "arvio")) => {
                    if let Some(question) = self.question(member, word) {
                        if word == "kysymys" {
                            form.questions.push(question);
                        } else {
                            form.items.push(question);
                        }
                    }
                }
                Some("ohje") => {
                    let mut cursor = self.head(member);
                    let Some(segment) = self.name(&mut cursor, "ohje") else { continue };
                    let Some(text) = self.text_req(&mut cursor, "ohje") else { continue };
                    self.finish(&mut cursor, "ohje");
                    self.no_block(member, "ohje");
                    form.guidance.push((segment, text));
                }
                Some("akseli") => {
                    if let Some(scoring) = self.scoring(member) {
                        form.scoring.push(scoring);
                    }
                }
                _ => self.unknown_member(member, FORM_MEMBERS),
            }
        }
        Some(form)
    }

    /// `kysymys NAME "…" KIND [tiedoksi] [{ sv "…" en "…" näytä kun CONDITION }]`.
    fn question(&mut self, statement: &Statement, keyword: &str) -> Option<Question> {
        let mut cursor = self.head(statement);
        let name = self.name(&mut cursor, keyword)?;
        let title = self.text_req(&mut cursor, keyword);
        let kind = self.question_kind(&mut cursor)?;
        let informative = self.eat_word(&mut cursor, "tiedoksi").is_some();
        self.finish(&mut cursor, keyword);
        let mut question = Question {
            name,
            title,
            kind,
            swedish: None,
            english: None,
            shown_if: None,
            informative,
        };
        if let Some(block) = &statement.block {
            let mut first = crate::hash::FastMap::default();
            for member in statements(&block.nodes) {
                match self.keyword_of(member).map(|k| k.0) {
                    Some("sv") => {
                        let mut slot = question.swedish.take();
                        self.text_member(member, "sv", &mut slot, &mut first, "sv");
                        question.swedish = slot;
                    }
                    Some("en") => {
                        let mut slot = question.english.take();
                        self.text_member(member, "en", &mut slot, &mut first, "en");
                        question.english = slot;
                    }
                    Some("näytä") => {
                        let mut cursor = self.head(member);
                        if self.eat_word(&mut cursor, "kun").is_none() {
                            let here = cursor.here();
                            self.push(
                                Diagnostic::new(Code::ExpectedName, self.file, here)
                                    .arg("keyword", "näytä kun"),
                            );
                            continue;
                        }
                        question.shown_if = self.answer_condition(&mut cursor, "näytä kun");
                        self.finish(&mut cursor, "näytä kun");
                        self.no_block(member, "näytä");
                    }
                    _ => self.unknown_member(member, QUESTION_MEMBERS),
                }
            }
        }
        Some(question)
    }

    fn question_kind(&mut self, cursor: &mut Cursor) -> Option<QuestionKind> {
        let token = cursor.peek_token().filter(|t| t.kind == TokenKind::Name);
        let word = token.map(|t| self.src(t.span)).unwrap_or("");
        let kind = match word {
            "asteikko" => {
                cursor.pos += 1;
                let (min, _) = self.number(cursor, "asteikko")?;
                let (max, span) = self.number(cursor, "asteikko")?;
                if max <= min || max - min > 20 {
                    self.push(
                        Diagnostic::new(Code::BadScale, self.file, span)
                            .arg("found", format!("{min} {max}")),
                    );
                    return None;
                }
                QuestionKind::Scale { min, max }
            }
            "kyllä_ei" => {
                cursor.pos += 1;
                QuestionKind::YesNo
            }
            "teksti" => {
                cursor.pos += 1;
                QuestionKind::Text
            }
            "valinta" | "monivalinta" => {
                cursor.pos += 1;
                let mut options = Vec::new();
                while let Some(option) = self.name(cursor, word) {
                    options.push(option);
                    if self.eat_kind(cursor, TokenKind::Pipe).is_none() {
                        break;
                    }
                }
                if options.is_empty() {
                    return None;
                }
                if word == "valinta" {
                    QuestionKind::Choice(options)
                } else {
                    QuestionKind::Multiple(options)
                }
            }
            _ => {
                let span = cursor.here();
                let suggestion = crate::suggest::closest(word, QUESTION_KINDS.iter().copied());
                self.push(
                    Diagnostic::new(Code::UnknownQuestionKind, self.file, span)
                        .arg("found", word)
                        .did_you_mean(suggestion),
                );
                cursor.pos = cursor.words.len();
                return None;
            }
        };
        Some(kind)
    }

    /// `QUESTION kyllä | ei | N | enintään N | vähintään N | OPTION, OPTION …`.
    fn answer_condition(&mut self, cursor: &mut Cursor, keyword: &str) -> Option<AnswerCondition> {
        let question = self.name(cursor, keyword)?;
        let start = question.span;
        // `kyllä` or `ei` followed by a comma starts a list of options of those names.
        let listed = matches!(cursor.words.get(cursor.pos + 1), Some(crate::cst::Word::Token(t)) if t.kind == TokenKind::Comma);
        let test = if listed {
            (AnswerTest::AnyOf(Vec::new()), start)
        } else if let Some(span) = self.eat_word(cursor, "kyllä") {
            (AnswerTest::Yes, span)
        } else if let Some(span) = self.eat_word(cursor, "ei") {
            (AnswerTest::No, span)
        } else if self.eat_word(cursor, "enintään").is_some() {
            let (n, span) = self.number(cursor, "enintään")?;
            (AnswerTest::AtMost(n), span)
        } else if self.eat_word(cursor, "vähintään").is_some() {
            let (n, span) = self.number(cursor, "vähintään")?;
            (AnswerTest::AtLeast(n), span)
        } else if cursor.peek_token().is_some_and(|t| t.kind == TokenKind::Number) {
            let (n, span) = self.number(cursor, keyword)?;
            (AnswerTest::Exactly(n), span)
        } else {
            (AnswerTest::AnyOf(Vec::new()), start)
        };
        let test = if test.0 != AnswerTest::AnyOf(Vec::new()) {
            test
        } else {
            let mut options = Vec::new();
            while let Some(token) = cursor.peek_token().filter(|t| t.kind == TokenKind::Name) {
                if self.src(token.span) == "ja" {
                    break;
                }
                let option = self.name(cursor, keyword)?;
                options.push(option);
                if self.eat_kind(cursor, TokenKind::Comma).is_none() {
                    break;
                }
            }
            let Some(last) = options.last().map(|o| o.span) else {
                let here = cursor.here();
                self.push(
                    Diagnostic::new(Code::ExpectedAnswer, self.file, here)
                        .arg("question", question.text.as_str()),
                );
                return None;
            };
            (AnswerTest::AnyOf(options), last)
        };
        Some(AnswerCondition { question, test: test.0, span: start.to(test.1) })
    }

    /// `akseli AXIS { VALUE kun CONDITION ja … ; puuttuu VALUE ; tasapeli VALUE }`.
    fn scoring(&mut self, statement: &Statement) -> Option<AxisScoring> {
        let mut cursor = self.head(statement);
        let axis = self.name(&mut cursor, "akseli")?;
        self.finish(&mut cursor, "akseli");
        let block = self.need_block(statement, "akseli")?;
        let mut scoring = AxisScoring { axis, rules: Vec::new(), missing: None, tie: None };
        let mut first = crate::hash::FastMap::default();
        for member in statements(&block.nodes) {
            // The statement's first word is the value (or `puuttuu`, `tasapeli`).
            let mut cursor = self.head(member);
            let Some((word, span)) = self.keyword_of(member) else { continue };
            let value = Name { text: word.to_owned(), span };
            match value.text.as_str() {
                word @ ("puuttuu" | "tasapeli") => {
                    let Some(v) = self.name(&mut cursor, word) else { continue };
                    self.finish(&mut cursor, word);
                    if let Some(previous) = first.get(word) {
                        self.push(
                            Diagnostic::new(Code::RepeatedAttribute, self.file, value.span)
                                .arg("found", word)
                                .secondary(
                                    self.file,
                                    *previous,
                                    crate::diagnostic::Note::FirstGivenHere,
                                ),
                        );
                        continue;
                    }
                    first
                        .insert(if word == "puuttuu" { "puuttuu" } else { "tasapeli" }, value.span);
                    if word == "puuttuu" {
                        scoring.missing = Some(v);
                    } else {
                        scoring.tie = Some(v);
                    }
                }
                _ => {
                    if self.eat_word(&mut cursor, "kun").is_none() {
                        let here = cursor.here();
                        let found = cursor.peek().map(|w| self.word_text(w)).unwrap_or_default();
                        self.push(
                            Diagnostic::new(Code::UnexpectedWord, self.file, here)
                                .arg("keyword", format!("{} kun", value.text))
                                .arg("found", found),
                        );
                        continue;
                    }
                    let mut conditions = Vec::new();
                    while let Some(c) = self.answer_condition(&mut cursor, "kun") {
                        conditions.push(c);
                        if self.eat_word(&mut cursor, "ja").is_none() {
                            break;
                        }
                    }
                    self.finish(&mut cursor, "kun");
                    let span = conditions.last().map_or(value.span, |c| value.span.to(c.span));
                    if !conditions.is_empty() {
                        scoring.rules.push(ScoreRule { value, conditions, span });
                    }
                }
            }
            self.no_block(member, "akseli");
        }
        Some(scoring)
    }
}
