//! Lowers the statement tree to the typed syntax tree, one keyword at a time.
//!
//! Each construct reads its words through a [`Cursor`]; a word that does not fit gives a
//! diagnostic and the construct goes on with what it has, so one run reports every problem.

use crate::hash::FastMap as HashMap;

use crate::ast::*;
use crate::cst::{Block, Group, Node, Statement, Tree, Word};
use crate::diagnostic::{Code, Diagnostic, Note};
use crate::lexer::{text_value, Token, TokenKind};
use crate::span::{FileId, Span};
use crate::suggest::closest;

mod form;
mod markers;

/// Lowers one file's statement tree.
pub fn lower(file: FileId, text: &str, tree: &Tree) -> (File, Vec<Diagnostic>) {
    let mut lower = Lower { file, text, diagnostics: Vec::new() };
    let mut items = Vec::new();
    for statement in statements(&tree.nodes) {
        if let Some(item) = lower.item(statement) {
            items.push(item);
        }
    }
    (File { items }, lower.diagnostics)
}

const TOP_LEVEL: &[&str] = &[
    "organisaatio",
    "rooli",
    "tieto",
    "palvelu",
    "segmentointi",
    "palveluketju",
    "prosessi",
    "työnkulku",
    "lomake",
    "merkkisäännöt",
];
const SERVICE_MEMBERS: &[&str] = &["koodi", "laki", "kuvaus", "tuottaja"];
const SEGMENTATION_MEMBERS: &[&str] = &["yksikkö", "akseli", "segmentti", "kattavuus"];
const CARD_FIELDS: &[&str] =
    &["perusstrategia", "tavoite", "erot", "asiakaskokemus", "kuvaus", "painotukset"];
const CHAIN_MEMBERS: &[&str] = &["segmentointi", "palvelut", "polku", "ohjaus"];
const PROCESS_MEMBERS: &[&str] = &["palvelu", "segmentointi", "vaihe", "kulku", "segmentti"];
const PHASE_MEMBERS: &[&str] = &["askel", "kulku"];
const CHANGE_MEMBERS: &[&str] = &["muuta", "lisää", "poista", "vastuutyöntekijä"];
const WORKFLOW_MEMBERS: &[&str] = &["kaista", "kulku", "luovutus"];
const LANE_MEMBERS: &[&str] = &["tehtävä"];
const STEP_ATTRIBUTES: &[&str] = &[
    "tekijä",
    "tekijät",
    "kesto",
    "määrä",
    "väli",
    "määräaika",
    "aikaisintaan",
    "lakisääteinen",
    "kanava",
    "valinnainen",
    "pakollinen",
    "ohjaus",
    "kuvaus",
    "ohje",
    "arvioi",
    "jos",
    "toistuu",
];
const TASK_ATTRIBUTES: &[&str] = &["kesto", "kanava", "valinnainen", "askel"];

/// Where a keyword belongs, for "does not belong here" messages.
fn home_of(keyword: &str) -> Option<&'static str> {
    Some(match keyword {
        "koodi" | "laki" | "tuottaja" => "palvelu",
        "yksikkö" | "akseli" | "kattavuus" => "segmentointi",
        "perusstrategia" | "tavoite" | "erot" | "asiakaskokemus" | "painotukset" => "segmentti",
        "palvelut" | "polku" => "palveluketju",
        "vaihe" => "prosessi",
        "askel" => "vaihe",
        "muuta" | "lisää" | "poista" | "vastuutyöntekijä" => "segmentti",
        "kaista" | "luovutus" => "työnkulku",
        "tehtävä" => "kaista",
        "kulku" => "prosessi",
        "kysymys" | "tiedoksi" | "tasapeli" | "puuttuu" => "lomake",
        "organisaatio" | "rooli" | "tieto" | "palveluketju" | "prosessi" | "työnkulku"
        | "lomake" => "tiedoston ylätaso",
        _ => return None,
    })
}

fn statements(nodes: &[Node]) -> impl Iterator<Item = &Statement> {
    nodes.iter().filter_map(|node| match node {
        Node::Statement(statement) => Some(statement),
        _ => None,
    })
}

struct Lower<'a> {
    file: FileId,
    text: &'a str,
    diagnostics: Vec<Diagnostic>,
}

/// The words of a statement head (or of a group), without line breaks.
struct Cursor<'w> {
    words: Vec<&'w Word>,
    pos: usize,
    /// Where "missing" diagnostics point when the words run out.
    end: Span,
}

impl<'w> Cursor<'w> {
    fn new(words: &'w [Word], end: Span) -> Cursor<'w> {
        let words: Vec<&Word> = words.iter().filter(|w| !matches!(w, Word::Break(_))).collect();
        let end = words
            .last()
            .and_then(|w| w.span())
            .map_or(end, |s| Span::new(s.end as usize, s.end as usize));
        Cursor { words, pos: 0, end }
    }

    fn peek(&self) -> Option<&'w Word> {
        self.words.get(self.pos).copied()
    }

    fn peek_token(&self) -> Option<Token> {
        match self.peek() {
            Some(Word::Token(token)) => Some(*token),
            _ => None,
        }
    }

    fn at_end(&self) -> bool {
        self.pos >= self.words.len()
    }

    /// The span of the next word, or the end of the statement.
    fn here(&self) -> Span {
        self.peek().and_then(Word::span).unwrap_or(self.end)
    }
}

impl<'a> Lower<'a> {
    fn src(&self, span: Span) -> &'a str {
        &self.text[span.range()]
    }

    fn push(&mut self, diagnostic: Diagnostic) {
        self.diagnostics.push(diagnostic);
    }

    fn error(&mut self, code: Code, span: Span) -> &mut Diagnostic {
        self.diagnostics.push(Diagnostic::new(code, self.file, span));
        self.diagnostics.last_mut().expect("a diagnostic was just pushed")
    }

    fn word_text(&self, word: &Word) -> String {
        match word {
            Word::Token(token) => self.src(token.span).to_owned(),
            Word::Group(group) => {
                let span = group.span();
                let text = self.src(span);
                text.chars().take(24).collect()
            }
            Word::Break(_) => String::new(),
        }
    }

    /// Is the next word the name token `word`? If so, consumes it.
    fn eat_word(&self, cursor: &mut Cursor, word: &str) -> Option<Span> {
        let token = cursor.peek_token().filter(|t| t.kind == TokenKind::Name)?;
        if self.src(token.span) == word {
            cursor.pos += 1;
            Some(token.span)
        } else {
            None
        }
    }

    fn eat_kind(&self, cursor: &mut Cursor, kind: TokenKind) -> Option<Span> {
        let token = cursor.peek_token().filter(|t| t.kind == kind)?;
        cursor.pos += 1;
        Some(token.span)
    }

    /// A plain name (no dots).
    fn name(&mut self, cursor: &mut Cursor, keyword: &str) -> Option<Name> {
        let name = self.qualified(cursor, keyword)?;
        if name.text.contains('.') {
            let found = name.text.clone();
            self.push(
                Diagnostic::new(Code::QualifiedNotAllowed, self.file, name.span)
                    .arg("found", found),
            );
            return None;
        }
        Some(name)
    }

    fn qualified(&mut self, cursor: &mut Cursor, keyword: &str) -> Option<Name> {
        match cursor.peek_token() {
            Some(token) if token.kind == TokenKind::Name => {
                cursor.pos += 1;
                Some(Name { text: self.src(token.span).to_owned(), span: token.span })
            }
            _ => {
                let span = cursor.here();
                self.push(
                    Diagnostic::new(Code::ExpectedName, self.file, span).arg("keyword", keyword),
                );
                None
            }
        }
    }

    fn text_opt(&self, cursor: &mut Cursor) -> Option<Text> {
        let span = self.eat_kind(cursor, TokenKind::Text)?;
        Some(Text { value: text_value(self.src(span)), span })
    }

    fn text_req(&mut self, cursor: &mut Cursor, keyword: &str) -> Option<Text> {
        let text = self.text_opt(cursor);
        if text.is_none() {
            let span = cursor.here();
            self.push(Diagnostic::new(Code::ExpectedText, self.file, span).arg("keyword", keyword));
        }
        text
    }

    /// Names separated by commas: at least one.
    fn name_list(&mut self, cursor: &mut Cursor, keyword: &str) -> Vec<Name> {
        let mut names = Vec::new();
        while let Some(name) = self.name(cursor, keyword) {
            names.push(name);
            if self.eat_kind(cursor, TokenKind::Comma).is_none() {
                break;
            }
        }
        names
    }

    /// Names joined by arrows: at least two.
    fn arrow_list(&mut self, cursor: &mut Cursor, keyword: &str) -> Vec<Name> {
        let mut names = Vec::new();
        if let Some(first) = self.name(cursor, keyword) {
            names.push(first);
        }
        if self.eat_kind(cursor, TokenKind::Arrow).is_none() {
            let span = cursor.here();
            self.push(
                Diagnostic::new(Code::ExpectedArrow, self.file, span).arg("keyword", keyword),
            );
            return names;
        }
        while let Some(name) = self.name(cursor, keyword) {
            names.push(name);
            if self.eat_kind(cursor, TokenKind::Arrow).is_none() {
                break;
            }
        }
        names
    }

    /// Reports every word left in the statement head, once.
    fn finish(&mut self, cursor: &mut Cursor, keyword: &str) {
        if let Some(first) = cursor.peek() {
            let span = first.span().unwrap_or(cursor.end);
            let last = cursor.words.last().and_then(|w| w.span()).unwrap_or(span);
            let found = self.word_text(first);
            self.push(
                Diagnostic::new(Code::UnexpectedWord, self.file, span.to(last))
                    .arg("keyword", keyword)
                    .arg("found", found),
            );
            cursor.pos = cursor.words.len();
        }
    }

    fn number(&mut self, cursor: &mut Cursor, keyword: &str) -> Option<(u32, Span)> {
        let Some(span) = self.eat_kind(cursor, TokenKind::Number) else {
            let span = cursor.here();
            let found = cursor.peek().map(|w| self.word_text(w)).unwrap_or_default();
            self.push(
                Diagnostic::new(Code::UnexpectedWord, self.file, span)
                    .arg("keyword", keyword)
                    .arg("found", found),
            );
            return None;
        };
        match self.src(span).parse::<u32>() {
            Ok(value) => Some((value, span)),
            Err(_) => {
                let found = self.src(span).to_owned();
                self.push(
                    Diagnostic::new(Code::NumberTooLarge, self.file, span).arg("found", found),
                );
                None
            }
        }
    }

    fn duration(&mut self, cursor: &mut Cursor, keyword: &str) -> Option<Duration> {
        let mut parts = Vec::new();
        let start = cursor.here();
        let mut end = start;
        let mut failed = false;
        while let Some(token) = cursor.peek_token().filter(|t| t.kind == TokenKind::Number) {
            cursor.pos += 1;
            let amount = match self.src(token.span).parse::<u32>() {
                Ok(value) => value,
                Err(_) => {
                    let found = self.src(token.span).to_owned();
                    self.push(
                        Diagnostic::new(Code::NumberTooLarge, self.file, token.span)
                            .arg("found", found),
                    );
                    failed = true;
                    0
                }
            };
            let unit = cursor.peek_token().filter(|t| t.kind == TokenKind::Name);
            let Some(unit) = unit else {
                let span = cursor.here();
                self.push(
                    Diagnostic::new(Code::ExpectedDuration, self.file, token.span.to(span))
                        .arg("keyword", keyword),
                );
                return None;
            };
            let word = self.src(unit.span);
            match TimeUnit::parse(word) {
                Some(unit_value) => {
                    cursor.pos += 1;
                    parts.push((amount, unit_value));
                    end = unit.span;
                }
                None => {
                    cursor.pos += 1;
                    let suggestion = closest(word, TimeUnit::WORDS.iter().copied());
                    let d = Diagnostic::new(Code::UnknownUnit, self.file, unit.span)
                        .arg("found", word)
                        .did_you_mean(suggestion);
                    self.push(d);
                    return None;
                }
            }
        }
        if parts.is_empty() {
            self.push(
                Diagnostic::new(Code::ExpectedDuration, self.file, start).arg("keyword", keyword),
            );
            return None;
        }
        if failed {
            return None;
        }
        Some(Duration { parts, span: start.to(end) })
    }

    /// Reports a statement whose keyword is not allowed in this place.
    fn unknown_member(&mut self, statement: &Statement, allowed: &[&str]) {
        let span = statement.head_span();
        let Some(Word::Token(token)) = statement.words.first() else {
            let found = statement
                .words
                .first()
                .map(|w| self.word_text(w))
                .unwrap_or_else(|| "{".to_owned());
            let span = if span.is_empty() {
                statement.block.as_ref().map_or(span, |b| b.open)
            } else {
                span
            };
            self.push(Diagnostic::new(Code::UnknownKeyword, self.file, span).arg("found", found));
            return;
        };
        let word = self.src(token.span);
        if token.kind == TokenKind::Name {
            if let Some(home) = home_of(word) {
                self.push(
                    Diagnostic::new(Code::MisplacedKeyword, self.file, token.span)
                        .arg("found", word)
                        .arg("parent", home),
                );
                return;
            }
        }
        let suggestion = closest(word, allowed.iter().copied());
        self.push(
            Diagnostic::new(Code::UnknownKeyword, self.file, token.span)
                .arg("found", word)
                .did_you_mean(suggestion),
        );
    }

    fn keyword_of(&self, statement: &Statement) -> Option<(&'a str, Span)> {
        match statement.words.first() {
            Some(Word::Token(token)) if token.kind == TokenKind::Name => {
                Some((self.src(token.span), token.span))
            }
            _ => None,
        }
    }

    fn no_block(&mut self, statement: &Statement, keyword: &str) {
        if let Some(block) = &statement.block {
            self.push(
                Diagnostic::new(Code::UnexpectedBlock, self.file, block.open)
                    .arg("keyword", keyword),
            );
        }
    }

    fn need_block<'s>(&mut self, statement: &'s Statement, keyword: &str) -> Option<&'s Block> {
        if statement.block.is_none() {
            let span = statement.head_span();
            self.push(
                Diagnostic::new(Code::ExpectedBlock, self.file, span).arg("keyword", keyword),
            );
        }
        statement.block.as_ref()
    }

    fn head<'s>(&self, statement: &'s Statement) -> Cursor<'s> {
        let mut cursor = Cursor::new(&statement.words, statement.head_span());
        cursor.pos = 1;
        cursor
    }

    fn item(&mut self, statement: &Statement) -> Option<Item> {
        let Some((keyword, _)) = self.keyword_of(statement) else {
            self.unknown_member(statement, TOP_LEVEL);
            return None;
        };
        match keyword {
            "organisaatio" => self.organisation(statement).map(Item::Organisation),
            "rooli" => self.role(statement).map(Item::Role),
            "tieto" => self.fact(statement).map(Item::Fact),
            "palvelu" => self.service(statement).map(Item::Service),
            "segmentointi" => self.segmentation(statement).map(Item::Segmentation),
            "palveluketju" => self.chain(statement).map(Item::Chain),
            "prosessi" => self.process(statement).map(Item::Process),
            "työnkulku" => self.workflow(statement).map(Item::Workflow),
            "lomake" => self.form(statement).map(Item::Form),
            "merkkisäännöt" => self.markers(statement).map(Item::Markers),
            _ => {
                self.unknown_member(statement, TOP_LEVEL);
                None
            }
        }
    }

    fn organisation(&mut self, statement: &Statement) -> Option<Organisation> {
        let keyword = "organisaatio";
        let mut cursor = self.head(statement);
        let name = self.name(&mut cursor, keyword)?;
        let title = self.text_req(&mut cursor, keyword);
        self.finish(&mut cursor, keyword);
        self.no_block(statement, keyword);
        Some(Organisation { name, title })
    }

    fn role(&mut self, statement: &Statement) -> Option<Role> {
        let keyword = "rooli";
        let mut cursor = self.head(statement);
        let name = self.name(&mut cursor, keyword)?;
        let title = self.text_opt(&mut cursor);
        let client = self.eat_word(&mut cursor, "asiakas").is_some();
        self.finish(&mut cursor, keyword);
        self.no_block(statement, keyword);
        Some(Role { name, title, client })
    }

    fn fact(&mut self, statement: &Statement) -> Option<Fact> {
        let keyword = "tieto";
        let mut cursor = self.head(statement);
        let name = self.name(&mut cursor, keyword)?;
        let title = self.text_opt(&mut cursor);
        let number = self.eat_word(&mut cursor, "luku").is_some();
        self.finish(&mut cursor, keyword);
        self.no_block(statement, keyword);
        Some(Fact { name, title, number })
    }

    /// A member statement whose one argument is a text; reports repeats.
    fn text_member(
        &mut self,
        statement: &Statement,
        keyword: &str,
        slot: &mut Option<Text>,
        first: &mut HashMap<&'static str, Span>,
        key: &'static str,
    ) {
        let mut cursor = self.head(statement);
        let span = statement.head_span();
        let text = self.text_req(&mut cursor, keyword);
        if text.is_none() {
            // The word given instead of the text is that one mistake, not a second one.
            cursor.pos = cursor.words.len();
        }
        if let Some(text) = text {
            if let Some(previous) = first.get(key) {
                self.push(
                    Diagnostic::new(Code::RepeatedAttribute, self.file, span)
                        .arg("found", keyword)
                        .secondary(self.file, *previous, Note::FirstGivenHere),
                );
            } else {
                first.insert(key, span);
                *slot = Some(text);
            }
        }
        self.finish(&mut cursor, keyword);
        self.no_block(statement, keyword);
    }

    /// A member statement whose one argument is a name; reports repeats.
    fn name_member(
        &mut self,
        statement: &Statement,
        keyword: &str,
        slot: &mut Option<Name>,
        first: &mut HashMap<&'static str, Span>,
        key: &'static str,
    ) {
        let mut cursor = self.head(statement);
        let span = statement.head_span();
        if let Some(name) = self.name(&mut cursor, keyword) {
            if let Some(previous) = first.get(key) {
                self.push(
                    Diagnostic::new(Code::RepeatedAttribute, self.file, span)
                        .arg("found", keyword)
                        .secondary(self.file, *previous, Note::FirstGivenHere),
                );
            } else {
                first.insert(key, span);
                *slot = Some(name);
            }
        }
        self.finish(&mut cursor, keyword);
        self.no_block(statement, keyword);
    }

    fn service(&mut self, statement: &Statement) -> Option<Service> {
        let keyword = "palvelu";
        let mut cursor = self.head(statement);
        let name = self.name(&mut cursor, keyword)?;
        let title = self.text_req(&mut cursor, keyword);
        self.finish(&mut cursor, keyword);
        let mut service =
            Service { name, title, code: None, law: None, description: None, provider: None };
        let mut seen = HashMap::default();
        if let Some(block) = &statement.block {
            for member in statements(&block.nodes) {
                match self.keyword_of(member).map(|k| k.0) {
                    Some("koodi") => {
                        self.text_member(member, "koodi", &mut service.code, &mut seen, "koodi")
                    }
                    Some("laki") => {
                        self.text_member(member, "laki", &mut service.law, &mut seen, "laki")
                    }
                    Some("kuvaus") => self.text_member(
                        member,
                        "kuvaus",
                        &mut service.description,
                        &mut seen,
                        "kuvaus",
                    ),
                    Some("tuottaja") => self.text_member(
                        member,
                        "tuottaja",
                        &mut service.provider,
                        &mut seen,
                        "tuottaja",
                    ),
                    _ => self.unknown_member(member, SERVICE_MEMBERS),
                }
            }
        }
        Some(service)
    }

    fn segmentation(&mut self, statement: &Statement) -> Option<Segmentation> {
        let keyword = "segmentointi";
        let mut cursor = self.head(statement);
        let name = self.name(&mut cursor, keyword)?;
        let title = self.text_req(&mut cursor, keyword);
        self.finish(&mut cursor, keyword);
        let mut segmentation = Segmentation {
            name,
            title,
            units: Vec::new(),
            axes: Vec::new(),
            segments: Vec::new(),
            coverage: None,
        };
        let mut seen = HashMap::default();
        let block = self.need_block(statement, keyword)?;
        for member in statements(&block.nodes) {
            match self.keyword_of(member).map(|k| k.0) {
                Some("yksikkö") => {
                    let mut cursor = self.head(member);
                    let span = member.head_span();
                    let units = self.name_list(&mut cursor, "yksikkö");
                    self.finish(&mut cursor, "yksikkö");
                    self.no_block(member, "yksikkö");
                    if !units.is_empty() && !self.repeated(&mut seen, "yksikkö", span) {
                        segmentation.units = units;
                    }
                }
                Some("kattavuus") => self.text_member(
                    member,
                    "kattavuus",
                    &mut segmentation.coverage,
                    &mut seen,
                    "kattavuus",
                ),
                Some("akseli") => {
                    if let Some(axis) = self.axis(member) {
                        segmentation.axes.push(axis);
                    }
                }
                Some("segmentti") => {
                    if let Some(segment) = self.segment(member) {
                        segmentation.segments.push(segment);
                    }
                }
                _ => self.unknown_member(member, SEGMENTATION_MEMBERS),
            }
        }
        Some(segmentation)
    }

    fn axis(&mut self, statement: &Statement) -> Option<Axis> {
        let keyword = "akseli";
        let mut cursor = self.head(statement);
        let name = self.name(&mut cursor, keyword)?;
        let title = self.text_opt(&mut cursor);
        self.no_block(statement, keyword);
        if self.eat_kind(&mut cursor, TokenKind::Colon).is_none() {
            let span = cursor.here();
            self.push(Diagnostic::new(Code::ExpectedAxisValues, self.file, span));
            return Some(Axis { name, title, values: Vec::new() });
        }
        let mut values = Vec::new();
        while let Some(value) = self.name(&mut cursor, keyword) {
            values.push(value);
            if self.eat_kind(&mut cursor, TokenKind::Pipe).is_none() {
                break;
            }
        }
        self.finish(&mut cursor, keyword);
        Some(Axis { name, title, values })
    }

    fn segment(&mut self, statement: &Statement) -> Option<Segment> {
        let keyword = "segmentti";
        let mut cursor = self.head(statement);
        let name = self.name(&mut cursor, keyword)?;
        let title = self.text_req(&mut cursor, keyword);
        let mut position = Vec::new();
        if let Some(Word::Group(group)) = cursor.peek() {
            cursor.pos += 1;
            position = self.position(group);
        }
        self.finish(&mut cursor, keyword);
        let mut card = ProfileCard::default();
        let mut seen = HashMap::default();
        if let Some(block) = &statement.block {
            for member in statements(&block.nodes) {
                let field = self.keyword_of(member).map(|k| k.0);
                let (slot, key) = match field {
                    Some("perusstrategia") => (&mut card.basic_strategy, "perusstrategia"),
                    Some("tavoite") => (&mut card.goal, "tavoite"),
                    Some("erot") => (&mut card.differences, "erot"),
                    Some("asiakaskokemus") => (&mut card.client_experience, "asiakaskokemus"),
                    Some("kuvaus") => (&mut card.description, "kuvaus"),
                    Some("painotukset") => (&mut card.emphases, "painotukset"),
                    _ => {
                        self.unknown_member(member, CARD_FIELDS);
                        continue;
                    }
                };
                self.text_member(member, key, slot, &mut seen, key);
            }
        }
        Some(Segment { name, title, position, card })
    }

    /// `(tarve kevyt, voimavarat hyvät)`
    fn position(&mut self, group: &Group) -> Vec<(Name, Name)> {
        let keyword = "segmentti";
        let mut cursor = Cursor::new(&group.words, group.span());
        let mut pairs = Vec::new();
        while !cursor.at_end() {
            let Some(axis) = self.name(&mut cursor, keyword) else { break };
            let Some(value) = self.name(&mut cursor, keyword) else { break };
            pairs.push((axis, value));
            if self.eat_kind(&mut cursor, TokenKind::Comma).is_none() {
                break;
            }
        }
        self.finish(&mut cursor, keyword);
        pairs
    }

    fn chain(&mut self, statement: &Statement) -> Option<Chain> {
        let keyword = "palveluketju";
        let mut cursor = self.head(statement);
        let name = self.name(&mut cursor, keyword)?;
        let title = self.text_req(&mut cursor, keyword);
        self.finish(&mut cursor, keyword);
        let mut chain = Chain {
            name,
            title,
            segmentation: None,
            services: Vec::new(),
            paths: Vec::new(),
            referrals: Vec::new(),
        };
        let mut seen = HashMap::default();
        let block = self.need_block(statement, keyword)?;
        for member in statements(&block.nodes) {
            match self.keyword_of(member).map(|k| k.0) {
                Some("segmentointi") => self.name_member(
                    member,
                    "segmentointi",
                    &mut chain.segmentation,
                    &mut seen,
                    "segmentointi",
                ),
                Some("palvelut") => {
                    let mut cursor = self.head(member);
                    let names = self.name_list(&mut cursor, "palvelut");
                    chain.services.extend(names);
                    self.finish(&mut cursor, "palvelut");
                    self.no_block(member, "palvelut");
                }
                Some("polku") => {
                    let mut cursor = self.head(member);
                    let path = self.arrow_list(&mut cursor, "polku");
                    if !path.is_empty() {
                        chain.paths.push(path);
                    }
                    self.finish(&mut cursor, "polku");
                    self.no_block(member, "polku");
                }
                Some("ohjaus") => {
                    if let Some(referral) = self.referral(member) {
                        chain.referrals.push(referral);
                    }
                }
                _ => self.unknown_member(member, CHAIN_MEMBERS),
            }
        }
        Some(chain)
    }

    fn referral(&mut self, statement: &Statement) -> Option<Referral> {
        let keyword = "ohjaus";
        let mut cursor = self.head(statement);
        let from = self.name(&mut cursor, keyword)?;
        if self.eat_kind(&mut cursor, TokenKind::Arrow).is_none() {
            let span = cursor.here();
            self.push(
                Diagnostic::new(Code::ExpectedArrow, self.file, span).arg("keyword", keyword),
            );
            return None;
        }
        let to = self.name(&mut cursor, keyword)?;
        let mut segments = Vec::new();
        if self.eat_word(&mut cursor, "kun").is_some() {
            segments = self.name_list(&mut cursor, "kun");
        }
        let description = self.text_opt(&mut cursor);
        self.finish(&mut cursor, keyword);
        self.no_block(statement, keyword);
        Some(Referral { from, to, segments, description })
    }

    fn process(&mut self, statement: &Statement) -> Option<Process> {
        let keyword = "prosessi";
        let mut cursor = self.head(statement);
        let name = self.name(&mut cursor, keyword)?;
        let title = self.text_req(&mut cursor, keyword);
        self.finish(&mut cursor, keyword);
        let mut process = Process {
            name,
            title,
            service: None,
            segmentation: None,
            phases: Vec::new(),
            flows: Vec::new(),
            segments: Vec::new(),
        };
        let mut seen = HashMap::default();
        let block = self.need_block(statement, keyword)?;
        for member in statements(&block.nodes) {
            match self.keyword_of(member).map(|k| k.0) {
                Some("palvelu") => {
                    self.name_member(member, "palvelu", &mut process.service, &mut seen, "palvelu")
                }
                Some("segmentointi") => self.name_member(
                    member,
                    "segmentointi",
                    &mut process.segmentation,
                    &mut seen,
                    "segmentointi",
                ),
                Some("vaihe") => {
                    if let Some(phase) = self.phase(member) {
                        process.phases.push(phase);
                    }
                }
                Some("kulku") => self.flow_member(member, &mut process.flows),
                Some("segmentti") => {
                    if let Some(content) = self.segment_content(member) {
                        process.segments.push(content);
                    }
                }
                _ => self.unknown_member(member, PROCESS_MEMBERS),
            }
        }
        Some(process)
    }

    /// A `kulku` statement. A block may have several: together they describe one graph.
    fn flow_member(&mut self, statement: &Statement, flows: &mut Vec<Flow>) {
        let span = statement.head_span();
        self.no_block(statement, "kulku");
        let words: Vec<&Word> =
            statement.words.iter().skip(1).filter(|w| !matches!(w, Word::Break(_))).collect();
        let end = Span::new(span.end as usize, span.end as usize);
        if let Some(flow) = self.flow(&words, end) {
            flows.push(flow);
        }
    }

    fn phase(&mut self, statement: &Statement) -> Option<Phase> {
        let keyword = "vaihe";
        let mut cursor = self.head(statement);
        let name = self.name(&mut cursor, keyword)?;
        let title = self.text_req(&mut cursor, keyword);
        let mut client = false;
        let mut milestone = None;
        loop {
            if self.eat_word(&mut cursor, "asiakas").is_some() {
                client = true;
            } else if self.eat_word(&mut cursor, "valmis").is_some() {
                milestone = self.text_req(&mut cursor, "valmis");
            } else {
                break;
            }
        }
        self.finish(&mut cursor, keyword);
        let mut phase =
            Phase { name, title, client, milestone, steps: Vec::new(), flows: Vec::new() };
        if let Some(block) = &statement.block {
            for member in statements(&block.nodes) {
                match self.keyword_of(member).map(|k| k.0) {
                    Some("askel") => {
                        if let Some(step) = self.step(member) {
                            phase.steps.push(step);
                        }
                    }
                    Some("kulku") => self.flow_member(member, &mut phase.flows),
                    _ => self.unknown_member(member, PHASE_MEMBERS),
                }
            }
        }
        Some(phase)
    }

    fn step(&mut self, statement: &Statement) -> Option<Step> {
        let keyword = "askel";
        let mut cursor = self.head(statement);
        let name = self.name(&mut cursor, keyword)?;
        let title = self.text_req(&mut cursor, keyword);
        let mut attrs = StepAttrs::default();
        let mut seen = HashMap::default();
        self.step_attrs(&mut cursor, &mut attrs, &mut seen, None);
        self.attr_block(statement, |lower, cursor| {
            lower.step_attrs(cursor, &mut attrs, &mut seen, None)
        });
        Some(Step { name, title, attrs })
    }

    /// Runs `read` on each statement of the block of an attribute-carrying statement.
    fn attr_block(&mut self, statement: &Statement, mut read: impl FnMut(&mut Self, &mut Cursor)) {
        if let Some(block) = &statement.block {
            for member in statements(&block.nodes) {
                let mut cursor = Cursor::new(&member.words, member.head_span());
                read(self, &mut cursor);
                self.no_block(member, self.keyword_of(member).map_or("", |k| k.0));
            }
        }
    }

    fn repeated(
        &mut self,
        seen: &mut HashMap<&'static str, Span>,
        key: &'static str,
        span: Span,
    ) -> bool {
        if let Some(previous) = seen.get(key) {
            let found = self.src(span).to_owned();
            self.push(
                Diagnostic::new(Code::RepeatedAttribute, self.file, span)
                    .arg("found", found)
                    .secondary(self.file, *previous, Note::FirstGivenHere),
            );
            true
        } else {
            seen.insert(key, span);
            false
        }
    }

    /// Step attributes until the words run out. `phase` receives `vaiheeseen PHASE` and
    /// `ennen STEP` or `jälkeen STEP` where they are allowed (in `lisää askel`).
    fn step_attrs(
        &mut self,
        cursor: &mut Cursor,
        attrs: &mut StepAttrs,
        seen: &mut HashMap<&'static str, Span>,
        mut phase: Option<&mut (Option<Name>, Option<Placement>)>,
    ) {
        while let Some(word) = cursor.peek() {
            let Some(token) = cursor.peek_token().filter(|t| t.kind == TokenKind::Name) else {
                let span = word.span().unwrap_or(cursor.end);
                let found = self.word_text(word);
                self.push(
                    Diagnostic::new(Code::UnexpectedWord, self.file, span)
                        .arg("keyword", "askel")
                        .arg("found", found),
                );
                cursor.pos += 1;
                continue;
            };
            cursor.pos += 1;
            let span = token.span;
            let attribute = self.src(span);
            match attribute {
                "tekijä" | "tekijät" => {
                    let roles = self.name_list(cursor, attribute);
                    if !self.repeated(seen, "tekijä", span) {
                        attrs.roles = roles;
                    }
                }
                "kesto" => {
                    let duration = self.duration(cursor, attribute);
                    if !self.repeated(seen, "kesto", span) {
                        attrs.duration = duration;
                    }
                }
                "väli" => {
                    let duration = self.duration(cursor, attribute);
                    if !self.repeated(seen, "väli", span) {
                        attrs.interval = duration;
                    }
                }
                "määrä" => {
                    let count = self.number(cursor, attribute);
                    if let Some((value, number_span)) = count {
                        if value == 0 {
                            self.error(Code::ZeroAmount, number_span)
                                .args
                                .push(("keyword", crate::diagnostic::Arg::Text("määrä".into())));
                        } else if !self.repeated(seen, "määrä", span) {
                            attrs.count = Some(Count { value, span: number_span });
                        }
                    }
                }
                "määräaika" => {
                    let deadline = self.deadline(cursor, span);
                    if !self.repeated(seen, "määräaika", span) {
                        attrs.deadline = deadline;
                    }
                }
                "aikaisintaan" => {
                    let earliest = self.deadline(cursor, span);
                    if !self.repeated(seen, "aikaisintaan", span) {
                        attrs.earliest = earliest;
                    }
                }
                "lakisääteinen" => {
                    let basis = self.text_opt(cursor);
                    let full = basis.as_ref().map_or(span, |b| span.to(b.span));
                    if !self.repeated(seen, "lakisääteinen", span) {
                        attrs.statutory = Some(Statutory { basis, span: full });
                    }
                }
                "kanava" => {
                    let channel = self.channel(cursor);
                    if !self.repeated(seen, "kanava", span) {
                        attrs.channel = channel;
                    }
                }
                "valinnainen" | "pakollinen" => {
                    let requirement = if attribute == "valinnainen" {
                        Requirement::Optional
                    } else {
                        Requirement::Required
                    };
                    if !self.repeated(seen, "valinnainen", span) {
                        attrs.requirement = Some(RequirementAttr { requirement, span });
                    }
                }
                "ohjaus" => {
                    let target = self.name(cursor, attribute);
                    if !self.repeated(seen, "ohjaus", span) {
                        attrs.referral = target;
                    }
                }
                "kuvaus" => {
                    let text = self.text_req(cursor, attribute);
                    if !self.repeated(seen, "kuvaus", span) {
                        attrs.description = text;
                    }
                }
                "ohje" => {
                    let text = self.text_req(cursor, attribute);
                    if !self.repeated(seen, "ohje", span) {
                        attrs.guidance = text;
                    }
                }
                "arvioi" => {
                    let full = match self.eat_word(cursor, "segmentin") {
                        Some(word) => span.to(word),
                        None => {
                            let here = cursor.here();
                            let found =
                                cursor.peek().map(|w| self.word_text(w)).unwrap_or_default();
                            // The mistyped word is part of this attribute: it is not reported
                            // again as an attribute of its own.
                            if cursor.peek_token().is_some_and(|t| {
                                t.kind == TokenKind::Name
                                    && !STEP_ATTRIBUTES.contains(&self.src(t.span))
                            }) {
                                cursor.pos += 1;
                            }
                            self.push(
                                Diagnostic::new(Code::UnexpectedWord, self.file, here)
                                    .arg("keyword", "arvioi segmentin")
                                    .arg("found", found),
                            );
                            span
                        }
                    };
                    if !self.repeated(seen, "arvioi", span) {
                        attrs.assesses_segment = Some(full);
                    }
                }
                "jos" => {
                    let negated = self.eat_word(cursor, "ei").is_some();
                    let fact = self.name(cursor, attribute);
                    if !self.repeated(seen, "jos", span) {
                        attrs.condition =
                            fact.map(|fact| Condition { span: span.to(fact.span), fact, negated });
                    }
                }
                "toistuu" => {
                    let fact = self.name(cursor, attribute);
                    if !self.repeated(seen, "toistuu", span) {
                        attrs.per = fact;
                    }
                }
                "vaiheeseen" if phase.is_some() => {
                    let target = self.name(cursor, attribute);
                    if !self.repeated(seen, "vaiheeseen", span) {
                        if let Some(slot) = phase.as_deref_mut() {
                            slot.0 = target;
                        }
                    }
                }
                "ennen" | "jälkeen" if phase.is_some() => {
                    let target = self.name(cursor, attribute);
                    if !self.repeated(seen, "ennen", span) {
                        if let (Some(slot), Some(step)) = (phase.as_deref_mut(), target) {
                            slot.1 = Some(Placement { before: attribute == "ennen", step });
                        }
                    }
                }
                other => {
                    let mut known: Vec<&str> = STEP_ATTRIBUTES.to_vec();
                    if phase.is_some() {
                        known.extend(["vaiheeseen", "ennen", "jälkeen"]);
                    }
                    let suggestion = closest(other, known.iter().copied());
                    self.push(
                        Diagnostic::new(Code::UnknownAttribute, self.file, span)
                            .arg("found", other)
                            .arg("keyword", "askel")
                            .did_you_mean(suggestion),
                    );
                    self.skip_to_attribute(cursor, &known);
                }
            }
        }
    }

    /// After an unknown attribute, skips its value: the words up to the next known attribute.
    fn skip_to_attribute(&self, cursor: &mut Cursor, known: &[&str]) {
        while let Some(word) = cursor.peek() {
            if let Word::Token(token) = word {
                if token.kind == TokenKind::Name && known.contains(&self.src(token.span)) {
                    return;
                }
            }
            cursor.pos += 1;
        }
    }

    fn channel(&mut self, cursor: &mut Cursor) -> Option<ChannelAttr> {
        match cursor.peek_token().filter(|t| t.kind == TokenKind::Name) {
            Some(token) => {
                cursor.pos += 1;
                let word = self.src(token.span);
                match Channel::parse(word) {
                    Some(channel) => Some(ChannelAttr { channel, span: token.span }),
                    None => {
                        let suggestion = closest(word, Channel::WORDS.iter().copied());
                        self.push(
                            Diagnostic::new(Code::UnknownChannel, self.file, token.span)
                                .arg("found", word)
                                .did_you_mean(suggestion),
                        );
                        None
                    }
                }
            }
            None => {
                let span = cursor.here();
                self.push(Diagnostic::new(Code::UnknownChannel, self.file, span).arg("found", ""));
                None
            }
        }
    }

    fn deadline(&mut self, cursor: &mut Cursor, keyword_span: Span) -> Option<Deadline> {
        if let Some(word) = ["rv", "raskausviikko", "raskausviikolla"]
            .into_iter()
            .find_map(|w| self.eat_word(cursor, w))
        {
            let (weeks, number) = self.number(cursor, self.src(word))?;
            if weeks > 45 {
                self.push(
                    Diagnostic::new(Code::PregnancyWeekOutOfRange, self.file, number)
                        .arg("found", weeks.to_string()),
                );
                return None;
            }
            let after = Duration { parts: vec![(weeks, TimeUnit::Week)], span: number };
            return Some(Deadline {
                after,
                anchor: Anchor::PregnancyWeek,
                span: keyword_span.to(number),
            });
        }
        if self.eat_word(cursor, "ikä").is_some() {
            let after = self.duration(cursor, "määräaika")?;
            let span = keyword_span.to(after.span);
            return Some(Deadline { after, anchor: Anchor::Age, span });
        }
        let after = self.duration(cursor, "määräaika")?;
        let anchor_span = cursor.here();
        let anchor = if self.eat_word(cursor, "tapauksen").is_some()
            && self.eat_word(cursor, "alusta").is_some()
        {
            Some(Anchor::CaseStart)
        } else if self.eat_word(cursor, "vaiheen").is_some()
            && self.eat_word(cursor, "alusta").is_some()
        {
            Some(Anchor::PhaseStart)
        } else if self.eat_word(cursor, "edellisestä").is_some() {
            Some(Anchor::PreviousStep)
        } else if self.eat_word(cursor, "askeleesta").is_some() {
            self.name(cursor, "askeleesta").map(Anchor::Step)
        } else if self.eat_word(cursor, "syntymästä").is_some() {
            Some(Anchor::Age)
        } else if self.eat_word(cursor, "ennen").is_some() {
            match self.eat_word(cursor, "askelta") {
                Some(_) => self.name(cursor, "ennen askelta").map(Anchor::BeforeStep),
                None => {
                    let here = cursor.here();
                    let found = cursor.peek().map(|w| self.word_text(w)).unwrap_or_default();
                    self.push(
                        Diagnostic::new(Code::UnknownAnchor, self.file, here).arg("found", found),
                    );
                    None
                }
            }
        } else {
            let found = cursor.peek().map(|w| self.word_text(w)).unwrap_or_default();
            if cursor.peek().is_some() {
                cursor.pos += 1;
            }
            self.push(
                Diagnostic::new(Code::UnknownAnchor, self.file, anchor_span).arg("found", found),
            );
            None
        };
        let anchor = anchor?;
        let span = keyword_span.to(Span::new(
            anchor_span.start as usize,
            cursor.here().start.max(anchor_span.end) as usize,
        ));
        Some(Deadline { after, anchor, span: keyword_span.to(span) })
    }

    fn segment_content(&mut self, statement: &Statement) -> Option<SegmentContent> {
        let keyword = "segmentti";
        let mut cursor = self.head(statement);
        let segment = self.name(&mut cursor, keyword)?;
        let inherits = self.eat_word(&mut cursor, "perii").is_some();
        self.finish(&mut cursor, keyword);
        let mut content =
            SegmentContent { segment, inherits, responsible: None, changes: Vec::new() };
        if inherits {
            self.no_block(statement, "perii");
            return Some(content);
        }
        let block = self.need_block(statement, keyword)?;
        let mut seen = HashMap::default();
        for member in statements(&block.nodes) {
            match self.keyword_of(member).map(|k| k.0) {
                Some("vastuutyöntekijä") => self.name_member(
                    member,
                    "vastuutyöntekijä",
                    &mut content.responsible,
                    &mut seen,
                    "vastuutyöntekijä",
                ),
                Some("muuta") => {
                    let mut cursor = self.head(member);
                    let Some(step) = self.name(&mut cursor, "muuta") else { continue };
                    let mut attrs = StepAttrs::default();
                    let mut seen_attrs = HashMap::default();
                    self.step_attrs(&mut cursor, &mut attrs, &mut seen_attrs, None);
                    self.attr_block(member, |lower, cursor| {
                        lower.step_attrs(cursor, &mut attrs, &mut seen_attrs, None)
                    });
                    content.changes.push(Change::Modify { step, attrs });
                }
                Some("lisää") => {
                    if let Some(change) = self.add_step(member) {
                        content.changes.push(change);
                    }
                }
                Some("poista") => {
                    let mut cursor = self.head(member);
                    let Some(step) = self.name(&mut cursor, "poista") else { continue };
                    let reason = self.text_opt(&mut cursor);
                    self.finish(&mut cursor, "poista");
                    self.no_block(member, "poista");
                    content.changes.push(Change::Remove { step, reason });
                }
                _ => self.unknown_member(member, CHANGE_MEMBERS),
            }
        }
        Some(content)
    }

    fn add_step(&mut self, statement: &Statement) -> Option<Change> {
        let mut cursor = self.head(statement);
        if self.eat_word(&mut cursor, "askel").is_none() {
            let span = cursor.here();
            let found = cursor.peek().map(|w| self.word_text(w)).unwrap_or_default();
            self.push(
                Diagnostic::new(Code::UnexpectedWord, self.file, span)
                    .arg("keyword", "lisää")
                    .arg("found", found),
            );
            return None;
        }
        let name = self.name(&mut cursor, "askel")?;
        let title = self.text_req(&mut cursor, "askel");
        let mut attrs = StepAttrs::default();
        let mut seen = HashMap::default();
        let mut place = (None, None);
        self.step_attrs(&mut cursor, &mut attrs, &mut seen, Some(&mut place));
        self.attr_block(statement, |lower, cursor| {
            lower.step_attrs(cursor, &mut attrs, &mut seen, Some(&mut place))
        });
        let (phase, place) = place;
        if phase.is_none() && place.is_none() {
            let span = statement.head_span();
            self.push(Diagnostic::new(Code::MissingPhaseForAdd, self.file, span));
            return None;
        }
        Some(Change::Add { step: Step { name, title, attrs }, phase, place })
    }

    fn workflow(&mut self, statement: &Statement) -> Option<Workflow> {
        let keyword = "työnkulku";
        let mut cursor = self.head(statement);
        let target = self.qualified(&mut cursor, keyword)?;
        let title = self.text_req(&mut cursor, keyword);
        self.finish(&mut cursor, keyword);
        let parts: Vec<&str> = target.text.split('.').collect();
        if !(2..=3).contains(&parts.len()) {
            self.push(Diagnostic::new(Code::BadWorkflowTarget, self.file, target.span));
            return None;
        }
        let mut offset = target.span.start as usize;
        let mut names = Vec::new();
        for part in &parts {
            names.push(Name {
                text: (*part).to_owned(),
                span: Span::new(offset, offset + part.len()),
            });
            offset += part.len() + 1;
        }
        let step = if names.len() == 3 { names.pop() } else { None };
        let phase = names.pop().expect("two or three parts");
        let process = names.pop().expect("two or three parts");
        let mut workflow = Workflow {
            process,
            phase,
            step,
            target,
            title,
            lanes: Vec::new(),
            flows: Vec::new(),
            handoffs: Vec::new(),
        };
        let block = self.need_block(statement, keyword)?;
        for member in statements(&block.nodes) {
            match self.keyword_of(member).map(|k| k.0) {
                Some("kaista") => {
                    if let Some(lane) = self.lane(member) {
                        workflow.lanes.push(lane);
                    }
                }
                Some("kulku") => self.flow_member(member, &mut workflow.flows),
                Some("luovutus") => {
                    let mut cursor = self.head(member);
                    let Some(from) = self.name(&mut cursor, "luovutus") else { continue };
                    if self.eat_kind(&mut cursor, TokenKind::Arrow).is_none() {
                        let span = cursor.here();
                        self.push(
                            Diagnostic::new(Code::ExpectedArrow, self.file, span)
                                .arg("keyword", "luovutus"),
                        );
                        continue;
                    }
                    let Some(to) = self.name(&mut cursor, "luovutus") else { continue };
                    let what = self.text_opt(&mut cursor);
                    self.finish(&mut cursor, "luovutus");
                    self.no_block(member, "luovutus");
                    workflow.handoffs.push(Handoff { from, to, what });
                }
                _ => self.unknown_member(member, WORKFLOW_MEMBERS),
            }
        }
        Some(workflow)
    }

    fn lane(&mut self, statement: &Statement) -> Option<Lane> {
        let keyword = "kaista";
        let mut cursor = self.head(statement);
        let role = self.name(&mut cursor, keyword)?;
        self.finish(&mut cursor, keyword);
        let mut lane = Lane { role, tasks: Vec::new() };
        let block = self.need_block(statement, keyword)?;
        for member in statements(&block.nodes) {
            match self.keyword_of(member).map(|k| k.0) {
                Some("tehtävä") => {
                    if let Some(task) = self.task(member) {
                        lane.tasks.push(task);
                    }
                }
                _ => self.unknown_member(member, LANE_MEMBERS),
            }
        }
        Some(lane)
    }

    fn task(&mut self, statement: &Statement) -> Option<Task> {
        let keyword = "tehtävä";
        let mut cursor = self.head(statement);
        let name = self.name(&mut cursor, keyword)?;
        let title = self.text_req(&mut cursor, keyword);
        let mut task =
            Task { name, title, duration: None, channel: None, optional: false, step: None };
        let mut seen = HashMap::default();
        self.task_attrs(&mut cursor, &mut task, &mut seen);
        self.attr_block(statement, |lower, cursor| lower.task_attrs(cursor, &mut task, &mut seen));
        Some(task)
    }

    fn task_attrs(
        &mut self,
        cursor: &mut Cursor,
        task: &mut Task,
        seen: &mut HashMap<&'static str, Span>,
    ) {
        while let Some(word) = cursor.peek() {
            let Some(token) = cursor.peek_token().filter(|t| t.kind == TokenKind::Name) else {
                let span = word.span().unwrap_or(cursor.end);
                let found = self.word_text(word);
                self.push(
                    Diagnostic::new(Code::UnexpectedWord, self.file, span)
                        .arg("keyword", "tehtävä")
                        .arg("found", found),
                );
                cursor.pos += 1;
                continue;
            };
            cursor.pos += 1;
            let span = token.span;
            match self.src(span) {
                "kesto" => {
                    let duration = self.duration(cursor, "kesto");
                    if !self.repeated(seen, "kesto", span) {
                        task.duration = duration;
                    }
                }
                "kanava" => {
                    let channel = self.channel(cursor);
                    if !self.repeated(seen, "kanava", span) {
                        task.channel = channel;
                    }
                }
                "valinnainen" => {
                    if !self.repeated(seen, "valinnainen", span) {
                        task.optional = true;
                    }
                }
                "askel" => {
                    let step = self.name(cursor, "askel");
                    if !self.repeated(seen, "askel", span) {
                        task.step = step;
                    }
                }
                other => {
                    let suggestion = closest(other, TASK_ATTRIBUTES.iter().copied());
                    self.push(
                        Diagnostic::new(Code::UnknownAttribute, self.file, span)
                            .arg("found", other)
                            .arg("keyword", "tehtävä")
                            .did_you_mean(suggestion),
                    );
                    self.skip_to_attribute(cursor, TASK_ATTRIBUTES);
                }
            }
        }
    }

    /// A flow: terms joined by `->`.
    fn flow(&mut self, words: &[&Word], end: Span) -> Option<Flow> {
        let mut items = Vec::new();
        let mut failed = false;
        let mut start = 0;
        let mut pieces = Vec::new();
        for (i, word) in words.iter().enumerate() {
            if let Word::Token(Token { kind: TokenKind::Arrow, span }) = word {
                pieces.push((&words[start..i], *span));
                start = i + 1;
            }
        }
        pieces.push((&words[start..], end));
        for (piece, after) in pieces {
            match self.term(piece, after) {
                Some(flow) => items.push(flow),
                None => failed = true,
            }
        }
        if failed {
            return None;
        }
        if items.len() == 1 {
            items.pop()
        } else {
            Some(Flow::Sequence(items))
        }
    }

    fn term(&mut self, words: &[&Word], after: Span) -> Option<Flow> {
        match words {
            [] => {
                self.push(Diagnostic::new(Code::ExpectedFlowName, self.file, after));
                None
            }
            [Word::Token(token)] if token.kind == TokenKind::Name => {
                let text = self.src(token.span);
                if text.contains('.') {
                    self.push(
                        Diagnostic::new(Code::QualifiedNotAllowed, self.file, token.span)
                            .arg("found", text),
                    );
                    return None;
                }
                Some(Flow::Name(Name { text: text.to_owned(), span: token.span }))
            }
            [Word::Group(group)] => self.group(group),
            [Word::Token(first), Word::Group(group), rest @ ..]
                if first.kind == TokenKind::Name && self.src(first.span) == "toista" =>
            {
                let body = self.flow(&self.group_words(group), group.close.unwrap_or(group.open));
                let until = match rest {
                    [] => None,
                    [Word::Token(k), Word::Token(t)]
                        if self.src(k.span) == "kunnes" && t.kind == TokenKind::Text =>
                    {
                        Some(Text { value: text_value(self.src(t.span)), span: t.span })
                    }
                    [word, ..] => {
                        let span = word.span().unwrap_or(after);
                        let found = self.word_text(word);
                        self.push(
                            Diagnostic::new(Code::UnexpectedWord, self.file, span)
                                .arg("keyword", "toista")
                                .arg("found", found),
                        );
                        return None;
                    }
                };
                Some(Flow::Repeat { body: Box::new(body?), until })
            }
            [word, ..] => {
                let span = word.span().unwrap_or(after);
                let found = self.word_text(word);
                let code = match word {
                    Word::Token(t)
                        if t.kind == TokenKind::Name
                            && matches!(found.as_str(), "kun" | "muuten") =>
                    {
                        Code::ConditionOutsideChoice
                    }
                    _ => Code::UnexpectedWord,
                };
                self.push(
                    Diagnostic::new(code, self.file, span)
                        .arg("keyword", "kulku")
                        .arg("found", found),
                );
                None
            }
        }
    }

    fn group_words<'g>(&self, group: &'g Group) -> Vec<&'g Word> {
        group.words.iter().filter(|w| !matches!(w, Word::Break(_))).collect()
    }

    fn group(&mut self, group: &Group) -> Option<Flow> {
        let words = self.group_words(group);
        let close = group.close.unwrap_or(group.open);
        let mut parallel = Vec::new();
        let mut choice = Vec::new();
        for (i, word) in words.iter().enumerate() {
            if let Word::Token(token) = word {
                match token.kind {
                    TokenKind::Amp => parallel.push(i),
                    TokenKind::Pipe => choice.push(i),
                    _ => {}
                }
            }
        }
        if !parallel.is_empty() && !choice.is_empty() {
            let span = words[parallel[0]]
                .span()
                .unwrap_or(close)
                .to(words[choice[0]].span().unwrap_or(close));
            self.push(Diagnostic::new(Code::MixedFlowGroup, self.file, span));
            return None;
        }
        let splits = if parallel.is_empty() { &choice } else { &parallel };
        let mut parts = Vec::new();
        let mut start = 0;
        for &i in splits {
            parts.push((&words[start..i], words[i].span().unwrap_or(close)));
            start = i + 1;
        }
        parts.push((&words[start..], close));
        if splits.is_empty() {
            return self.flow(&words, close);
        }
        if !parallel.is_empty() {
            let mut branches = Vec::new();
            for (part, after) in parts {
                branches.push(self.flow(part, after));
            }
            let branches: Option<Vec<Flow>> = branches.into_iter().collect();
            return Some(Flow::Parallel(branches?));
        }
        let count = parts.len();
        let mut branches = Vec::new();
        let mut failed = false;
        for (index, (part, after)) in parts.into_iter().enumerate() {
            let mut part = part;
            let mut default = false;
            if let Some(Word::Token(token)) = part.first() {
                if token.kind == TokenKind::Name && self.src(token.span) == "muuten" {
                    if index + 1 != count {
                        self.push(Diagnostic::new(Code::MisplacedDefault, self.file, token.span));
                        failed = true;
                    }
                    default = true;
                    part = &part[1..];
                }
            }
            let mut condition = None;
            if let [rest @ .., Word::Token(kun), Word::Token(text)] = part {
                if self.src(kun.span) == "kun" && text.kind == TokenKind::Text {
                    condition =
                        Some(Text { value: text_value(self.src(text.span)), span: text.span });
                    part = rest;
                }
            }
            let mut segments = Vec::new();
            if condition.is_none() {
                if let Some((rest, names)) = self.segment_condition(part) {
                    segments = names;
                    part = rest;
                }
            }
            let mut fact = None;
            if condition.is_none() && segments.is_empty() {
                if let Some((rest, found)) = self.fact_condition(part) {
                    fact = Some(found);
                    part = rest;
                }
            }
            match self.flow(part, after) {
                Some(flow) => branches.push(Branch { flow, condition, segments, fact, default }),
                None => failed = true,
            }
        }
        if failed {
            return None;
        }
        Some(Flow::Choice(branches))
    }

    /// A branch's `kun tieto F` or `kun ei tieto F` at its end: the words before it and the
    /// condition.
    fn fact_condition<'w, 'x>(&self, part: &'w [&'x Word]) -> Option<(&'w [&'x Word], Condition)> {
        let name = |word: &Word| match word {
            Word::Token(t) if t.kind == TokenKind::Name => Some((self.src(t.span), t.span)),
            _ => None,
        };
        let n = part.len();
        let (fact, fact_span) = name(part.get(n.checked_sub(1)?)?)?;
        if name(part.get(n.checked_sub(2)?)?)?.0 != "tieto" {
            return None;
        }
        let before = name(part.get(n.checked_sub(3)?)?)?;
        let (negated, kun) = if before.0 == "ei" {
            let kun = name(part.get(n.checked_sub(4)?)?)?;
            (true, kun)
        } else {
            (false, before)
        };
        if kun.0 != "kun" {
            return None;
        }
        let used = if negated { 4 } else { 3 };
        let condition = Condition {
            fact: Name { text: fact.to_owned(), span: fact_span },
            negated,
            span: kun.1.to(fact_span),
        };
        Some((&part[..n - used], condition))
    }

    /// A branch's `kun segmentti A, B` at its end: the words before it and the segments.
    fn segment_condition<'w, 'x>(
        &mut self,
        part: &'w [&'x Word],
    ) -> Option<(&'w [&'x Word], Vec<Name>)> {
        let is_name = |lower: &Self, word: &&Word, text: &str| matches!(word, Word::Token(t) if t.kind == TokenKind::Name && lower.src(t.span) == text);
        let at = (0..part.len().saturating_sub(1)).rev().find(|&i| {
            is_name(self, &part[i], "kun") && is_name(self, &part[i + 1], "segmentti")
        })?;
        let mut names = Vec::new();
        let mut expect_name = true;
        for word in &part[at + 2..] {
            match *word {
                Word::Token(t) if expect_name && t.kind == TokenKind::Name => {
                    names.push(Name { text: self.src(t.span).to_owned(), span: t.span });
                    expect_name = false;
                }
                Word::Token(t) if !expect_name && t.kind == TokenKind::Comma => expect_name = true,
                other => {
                    let span = other.span().unwrap_or(Span::new(0, 0));
                    let found = self.word_text(other);
                    self.push(
                        Diagnostic::new(Code::UnexpectedWord, self.file, span)
                            .arg("keyword", "kun segmentti")
                            .arg("found", found),
                    );
                    return Some((&part[..at], names));
                }
            }
        }
        if names.is_empty() || expect_name {
            let span = part[at + 1].span().unwrap_or(Span::new(0, 0));
            self.push(
                Diagnostic::new(Code::ExpectedName, self.file, span)
                    .arg("keyword", "kun segmentti"),
            );
        }
        Some((&part[..at], names))
    }
}
