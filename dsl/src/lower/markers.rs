//! `merkkisäännöt`: marker rules that propose a segment from the record systems' markers.

use super::{statements, Cursor, Lower};
use crate::ast::*;
use crate::cst::{Statement, Word};
use crate::diagnostic::{Code, Diagnostic};
use crate::lexer::TokenKind;

pub(super) const MARKER_MEMBERS: &[&str] =
    &["segmentointi", "säilytys", "arvio", "segmentti", "muuten"];

impl Lower<'_> {
    pub(super) fn markers(&mut self, statement: &Statement) -> Option<Markers> {
        let keyword = "merkkisäännöt";
        let mut cursor = self.head(statement);
        let name = self.name(&mut cursor, keyword)?;
        let title = self.text_req(&mut cursor, keyword);
        self.finish(&mut cursor, keyword);
        let mut markers = Markers {
            name,
            title,
            segmentation: None,
            retention: None,
            assessment_valid: None,
            rules: Vec::new(),
            otherwise: None,
        };
        let block = self.need_block(statement, keyword)?;
        let mut first = crate::hash::FastMap::default();
        for member in statements(&block.nodes) {
            match self.keyword_of(member).map(|k| k.0) {
                Some("segmentointi") => {
                    let mut slot = markers.segmentation.take();
                    self.name_member(member, "segmentointi", &mut slot, &mut first, "segmentointi");
                    markers.segmentation = slot;
                }
                Some("säilytys") => {
                    let mut cursor = self.head(member);
                    markers.retention = self.duration(&mut cursor, "säilytys");
                    self.finish(&mut cursor, "säilytys");
                    self.no_block(member, "säilytys");
                }
                Some("arvio") => {
                    let mut cursor = self.head(member);
                    if self.eat_word(&mut cursor, "voimassa").is_none() {
                        let here = cursor.here();
                        let found = cursor.peek().map(|w| self.word_text(w)).unwrap_or_default();
                        self.push(
                            Diagnostic::new(Code::UnexpectedWord, self.file, here)
                                .arg("keyword", "arvio voimassa")
                                .arg("found", found),
                        );
                    } else {
                        markers.assessment_valid = self.duration(&mut cursor, "arvio voimassa");
                        self.finish(&mut cursor, "arvio");
                    }
                    self.no_block(member, "arvio");
                }
                Some("muuten") => {
                    let mut cursor = self.head(member);
                    markers.otherwise = self.name(&mut cursor, "muuten");
                    self.finish(&mut cursor, "muuten");
                    self.no_block(member, "muuten");
                }
                Some("segmentti") => {
                    if let Some(rule) = self.marker_rule(member) {
                        markers.rules.push(rule);
                    }
                }
                _ => self.unknown_member(member, MARKER_MEMBERS),
            }
        }
        Some(markers)
    }

    fn marker_rule(&mut self, statement: &Statement) -> Option<MarkerRule> {
        let mut cursor = self.head(statement);
        let segment = self.name(&mut cursor, "segmentti")?;
        if self.eat_word(&mut cursor, "kun").is_none() {
            let here = cursor.here();
            let found = cursor.peek().map(|w| self.word_text(w)).unwrap_or_default();
            self.push(
                Diagnostic::new(Code::UnexpectedWord, self.file, here)
                    .arg("keyword", "segmentti … kun")
                    .arg("found", found),
            );
            return None;
        }
        let mut conditions = Vec::new();
        loop {
            conditions.push(self.marker_condition(&mut cursor)?);
            if self.eat_word(&mut cursor, "ja").is_none() {
                break;
            }
        }
        let mut priority = None;
        if self.eat_word(&mut cursor, "etusija").is_some() {
            priority = self.number(&mut cursor, "etusija").map(|(n, _)| n);
        }
        self.finish(&mut cursor, "segmentti");
        self.no_block(statement, "segmentti");
        let span = statement.head_span();
        Some(MarkerRule { segment, conditions, priority, span })
    }

    /// Codes: names or numbers, joined by commas.
    fn codes(&mut self, cursor: &mut Cursor, keyword: &str) -> Vec<Name> {
        let mut codes = Vec::new();
        while let Some(Word::Token(t)) = cursor.peek() {
            if !matches!(t.kind, TokenKind::Name | TokenKind::Number) {
                break;
            }
            let text = self.src(t.span);
            if codes.is_empty() || !["ja", "etusija", "vähintään", "ikkuna"].contains(&text) {
                cursor.pos += 1;
                codes.push(Name { text: text.to_owned(), span: t.span });
            } else {
                break;
            }
            if self.eat_kind(cursor, TokenKind::Comma).is_none() {
                break;
            }
        }
        if codes.is_empty() {
            let here = cursor.here();
            self.push(Diagnostic::new(Code::ExpectedName, self.file, here).arg("keyword", keyword));
        }
        codes
    }

    fn window(&mut self, cursor: &mut Cursor) -> Option<Duration> {
        self.eat_word(cursor, "ikkuna")?;
        self.duration(cursor, "ikkuna")
    }

    fn marker_condition(&mut self, cursor: &mut Cursor) -> Option<MarkerCondition> {
        if self.eat_word(cursor, "koodi").is_some() {
            let system = self.name(cursor, "koodi")?;
            let codes = self.codes(cursor, "koodi");
            let window = self.window(cursor);
            return Some(MarkerCondition::Code { system, codes, window });
        }
        if self.eat_word(cursor, "merkki").is_some() {
            let names = self.codes(cursor, "merkki");
            let window = self.window(cursor);
            return Some(MarkerCondition::Marker { names, window });
        }
        if self.eat_word(cursor, "käyntejä").is_some() {
            let system = self.name(cursor, "käyntejä")?;
            let codes = self.codes(cursor, "käyntejä");
            if self.eat_word(cursor, "vähintään").is_none() {
                let here = cursor.here();
                let found = cursor.peek().map(|w| self.word_text(w)).unwrap_or_default();
                self.push(
                    Diagnostic::new(Code::UnexpectedWord, self.file, here)
                        .arg("keyword", "käyntejä … vähintään")
                        .arg("found", found),
                );
                return None;
            }
            let (at_least, _) = self.number(cursor, "vähintään")?;
            let window = self.window(cursor);
            return Some(MarkerCondition::Visits { system, codes, at_least, window });
        }
        let here = cursor.here();
        let found = cursor.peek().map(|w| self.word_text(w)).unwrap_or_default();
        self.push(
            Diagnostic::new(Code::UnknownMarkerCondition, self.file, here).arg("found", found),
        );
        None
    }
}
