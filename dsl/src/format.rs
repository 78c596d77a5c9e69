//! The formatter: one canonical layout for a statement tree, keeping every comment.
//!
//! The layout: two spaces of indentation per block; one statement per line; words separated by
//! one space, except none inside parentheses and before `,` and `:`; at most one blank line
//! between statements and none at the start or end of a block; an empty block as `{}`. A line
//! break the author made inside a statement (after `->`, `,`, `|`, `&`, `:` or inside
//! parentheses) is kept, and the continuation is indented four spaces past the statement.
//! Texts are copied verbatim.

use crate::cst::{Block, Node, Statement, Tree, Word};
use crate::lexer::TokenKind;
use crate::span::Span;

const INDENT: &str = "  ";
const CONTINUATION: &str = "    ";

/// Lays out a statement tree. The tree must come from `text`.
pub fn format_tree(text: &str, tree: &Tree) -> String {
    let mut out = Formatter { text, out: String::with_capacity(text.len() + text.len() / 8) };
    out.nodes(&tree.nodes, 0);
    out.out
}

struct Formatter<'a> {
    text: &'a str,
    out: String,
}

impl Formatter<'_> {
    fn src(&self, span: Span) -> &str {
        &self.text[span.range()]
    }

    fn indent(&mut self, depth: usize) {
        for _ in 0..depth {
            self.out.push_str(INDENT);
        }
    }

    fn nodes(&mut self, nodes: &[Node], depth: usize) {
        for node in nodes {
            match node {
                Node::Blank => self.out.push('\n'),
                Node::Comment(span) => {
                    self.indent(depth);
                    let comment = self.src(*span).trim_end().to_owned();
                    self.out.push_str(&comment);
                    self.out.push('\n');
                }
                Node::Statement(statement) => self.statement(statement, depth),
            }
        }
    }

    fn statement(&mut self, statement: &Statement, depth: usize) {
        self.indent(depth);
        let mut previous = None;
        self.words(&statement.words, depth, &mut previous);
        if let Some(block) = &statement.block {
            if previous.is_some() {
                self.out.push(' ');
            }
            self.block(block, depth);
        }
        if let Some(comment) = statement.trailing {
            self.out.push(' ');
            let comment = self.src(comment).trim_end().to_owned();
            self.out.push_str(&comment);
        }
        self.out.push('\n');
    }

    fn block(&mut self, block: &Block, depth: usize) {
        if block.nodes.is_empty() {
            self.out.push_str("{}");
            return;
        }
        self.out.push_str("{\n");
        self.nodes(&block.nodes, depth + 1);
        self.indent(depth);
        self.out.push('}');
    }

    /// Writes words; `previous` is the kind of the last thing written on the current line, `None`
    /// at the start of a line or right after `(`.
    fn words(&mut self, words: &[Word], depth: usize, previous: &mut Option<TokenKind>) {
        for word in words {
            match word {
                Word::Break(comment) => {
                    if let Some(comment) = comment {
                        if previous.is_some() {
                            self.out.push(' ');
                        }
                        let comment = self.src(*comment).trim_end().to_owned();
                        self.out.push_str(&comment);
                    }
                    self.out.push('\n');
                    self.indent(depth);
                    self.out.push_str(CONTINUATION);
                    *previous = None;
                }
                Word::Token(token) => {
                    let tight = matches!(token.kind, TokenKind::Comma | TokenKind::Colon);
                    if previous.is_some() && !tight {
                        self.out.push(' ');
                    }
                    let text = self.src(token.span).to_owned();
                    self.out.push_str(&text);
                    *previous = Some(token.kind);
                }
                Word::Group(group) => {
                    if previous.is_some() {
                        self.out.push(' ');
                    }
                    self.out.push('(');
                    let mut inner = None;
                    self.words(&group.words, depth, &mut inner);
                    self.out.push(')');
                    *previous = Some(TokenKind::RParen);
                }
            }
        }
    }
}
