//! The statement tree: the first layer of the grammar, the same for every keyword.
//!
//! A file is a list of statements; a statement is a list of words, optionally followed by a
//! block of further statements. Comments and blank lines are kept as nodes so that the
//! formatter can reproduce them. Parsing never fails: it returns a tree and diagnostics, and
//! recovers at the next line, `;` or `}`. Nesting deeper than [`MAX_DEPTH`] is reported once and
//! skipped without recursion, so no input can exhaust the stack.

use crate::diagnostic::{Code, Diagnostic};
use crate::lexer::{Token, TokenKind};
use crate::span::{FileId, Span};

/// Blocks and parentheses nest at most this deep.
pub const MAX_DEPTH: usize = 64;

#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    Statement(Statement),
    /// A comment on a line of its own.
    Comment(Span),
    /// One or more blank lines between two nodes.
    Blank,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    pub words: Vec<Word>,
    pub block: Option<Block>,
    /// A comment after the statement on its last line.
    pub trailing: Option<Span>,
}

impl Statement {
    /// The span of the statement's head words.
    pub fn head_span(&self) -> Span {
        let first = self.words.iter().find_map(Word::span);
        let last = self.words.iter().rev().find_map(Word::span);
        match (first, last) {
            (Some(a), Some(b)) => a.to(b),
            _ => Span::default(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Word {
    Token(Token),
    Group(Group),
    /// A line break inside a statement (after `->`, `,`, `|`, `&`, `:` or inside parentheses),
    /// with the comment that ended the line, if any.
    Break(Option<Span>),
}

impl Word {
    pub fn span(&self) -> Option<Span> {
        match self {
            Word::Token(token) => Some(token.span),
            Word::Group(group) => Some(group.span()),
            Word::Break(_) => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    pub open: Span,
    pub words: Vec<Word>,
    pub close: Option<Span>,
}

impl Group {
    pub fn span(&self) -> Span {
        let end = self
            .close
            .or_else(|| self.words.iter().rev().find_map(Word::span))
            .unwrap_or(self.open);
        self.open.to(end)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Block {
    pub open: Span,
    pub nodes: Vec<Node>,
    pub close: Option<Span>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Tree {
    pub nodes: Vec<Node>,
}

/// Parses a file's tokens into a statement tree.
pub fn parse(file: FileId, tokens: &[Token]) -> (Tree, Vec<Diagnostic>) {
    let mut parser = Parser { file, tokens, pos: 0, depth: 0, diagnostics: Vec::new() };
    let nodes = parser.nodes(None);
    (Tree { nodes }, parser.diagnostics)
}

struct Parser<'t> {
    file: FileId,
    tokens: &'t [Token],
    pos: usize,
    depth: usize,
    diagnostics: Vec<Diagnostic>,
}

fn continues(word: Option<&Word>) -> bool {
    matches!(
        word,
        Some(Word::Token(Token {
            kind: TokenKind::Arrow
                | TokenKind::Comma
                | TokenKind::Pipe
                | TokenKind::Amp
                | TokenKind::Colon,
            ..
        }))
    )
}

impl Parser<'_> {
    fn peek(&self) -> Option<Token> {
        self.tokens.get(self.pos).copied()
    }

    fn peek_kind(&self) -> Option<TokenKind> {
        self.peek().map(|t| t.kind)
    }

    fn error(&mut self, code: Code, span: Span) {
        self.diagnostics.push(Diagnostic::new(code, self.file, span));
    }

    /// Statements until EOF, or until the `}` that closes the block opened at `open`.
    fn nodes(&mut self, open: Option<Span>) -> Vec<Node> {
        let mut nodes = Vec::new();
        let mut newlines = 0usize;
        loop {
            let Some(token) = self.peek() else {
                if let Some(open) = open {
                    self.error(Code::UnclosedBlock, open);
                }
                return nodes;
            };
            match token.kind {
                TokenKind::Newline => {
                    newlines += 1;
                    self.pos += 1;
                    continue;
                }
                TokenKind::Semi => {
                    self.pos += 1;
                    continue;
                }
                TokenKind::RBrace => {
                    if open.is_some() {
                        return nodes;
                    }
                    self.error(Code::UnexpectedCloseBrace, token.span);
                    self.pos += 1;
                    continue;
                }
                TokenKind::RParen => {
                    self.error(Code::UnexpectedCloseParen, token.span);
                    self.pos += 1;
                    continue;
                }
                _ => {}
            }
            if newlines >= 2 && !nodes.is_empty() {
                nodes.push(Node::Blank);
            }
            newlines = 0;
            if token.kind == TokenKind::Comment {
                nodes.push(Node::Comment(token.span));
                self.pos += 1;
                continue;
            }
            let statement = self.statement();
            nodes.push(Node::Statement(statement));
        }
    }

    fn statement(&mut self) -> Statement {
        let mut words = Vec::new();
        let mut block = None;
        let mut trailing = None;
        while let Some(token) = self.peek() {
            match token.kind {
                TokenKind::Newline => {
                    if continues(words.last()) && self.continuation_follows() {
                        self.skip_newlines();
                        // Comment lines between the operator and the continuation stay with
                        // the statement.
                        let mut broke = false;
                        while let Some(comment) =
                            self.peek().filter(|t| t.kind == TokenKind::Comment)
                        {
                            self.pos += 1;
                            self.skip_newlines();
                            words.push(Word::Break(Some(comment.span)));
                            broke = true;
                        }
                        if !broke {
                            words.push(Word::Break(None));
                        }
                        continue;
                    }
                    break;
                }
                TokenKind::Comment => {
                    self.pos += 1;
                    if continues(words.last()) && self.continuation_follows() {
                        self.skip_newlines();
                        words.push(Word::Break(Some(token.span)));
                        continue;
                    }
                    trailing = Some(token.span);
                    break;
                }
                TokenKind::Semi => {
                    self.pos += 1;
                    break;
                }
                TokenKind::RBrace => break,
                TokenKind::RParen => {
                    self.error(Code::UnexpectedCloseParen, token.span);
                    self.pos += 1;
                }
                TokenKind::LParen => {
                    let group = self.group();
                    words.push(Word::Group(group));
                }
                TokenKind::LBrace => {
                    block = Some(self.block());
                    if self.peek_kind() == Some(TokenKind::Comment) {
                        trailing = self.peek().map(|t| t.span);
                        self.pos += 1;
                    }
                    break;
                }
                _ => {
                    words.push(Word::Token(token));
                    self.pos += 1;
                }
            }
        }
        Statement { words, block, trailing }
    }

    /// After a continuation operator and a line break: does the statement go on, or does the
    /// file or block end first?
    fn continuation_follows(&self) -> bool {
        let next = self.tokens[self.pos..]
            .iter()
            .find(|t| !matches!(t.kind, TokenKind::Newline | TokenKind::Comment));
        !matches!(next.map(|t| t.kind), None | Some(TokenKind::RBrace))
    }

    fn skip_newlines(&mut self) {
        while self.peek_kind() == Some(TokenKind::Newline) {
            self.pos += 1;
        }
    }

    fn block(&mut self) -> Block {
        let open = self.tokens[self.pos].span;
        self.pos += 1;
        if self.depth >= MAX_DEPTH {
            self.too_deep(open, TokenKind::LBrace, TokenKind::RBrace);
            let close = self.take_if(TokenKind::RBrace);
            return Block { open, nodes: Vec::new(), close };
        }
        self.depth += 1;
        let nodes = self.nodes(Some(open));
        self.depth -= 1;
        let close = self.take_if(TokenKind::RBrace);
        Block { open, nodes, close }
    }

    fn group(&mut self) -> Group {
        let open = self.tokens[self.pos].span;
        self.pos += 1;
        if self.depth >= MAX_DEPTH {
            self.too_deep(open, TokenKind::LParen, TokenKind::RParen);
            let close = self.take_if(TokenKind::RParen);
            return Group { open, words: Vec::new(), close };
        }
        self.depth += 1;
        let mut words = Vec::new();
        let mut close = None;
        while let Some(token) = self.peek() {
            match token.kind {
                TokenKind::RParen => {
                    close = Some(token.span);
                    self.pos += 1;
                    break;
                }
                TokenKind::Newline => {
                    self.skip_newlines();
                    if !matches!(words.last(), Some(Word::Break(_)) | None) {
                        words.push(Word::Break(None));
                    }
                }
                TokenKind::Comment => {
                    self.pos += 1;
                    self.skip_newlines();
                    words.push(Word::Break(Some(token.span)));
                }
                TokenKind::LBrace | TokenKind::RBrace | TokenKind::Semi => break,
                TokenKind::LParen => {
                    let inner = self.group();
                    words.push(Word::Group(inner));
                }
                _ => {
                    words.push(Word::Token(token));
                    self.pos += 1;
                }
            }
        }
        // A trailing break before `)` carries no comment worth a line of its own unless it has one.
        if matches!(words.last(), Some(Word::Break(None))) {
            words.pop();
        }
        if close.is_none() {
            self.error(Code::UnclosedParen, open);
        }
        self.depth -= 1;
        Group { open, words, close }
    }

    /// Reports nesting beyond the limit and skips to the matching closer without recursion.
    fn too_deep(&mut self, open: Span, opener: TokenKind, closer: TokenKind) {
        self.diagnostics.push(
            Diagnostic::new(Code::TooDeep, self.file, open).arg("limit", MAX_DEPTH.to_string()),
        );
        let mut level = 1usize;
        while let Some(token) = self.peek() {
            if token.kind == opener {
                level += 1;
            } else if token.kind == closer {
                level -= 1;
                if level == 0 {
                    return;
                }
            }
            self.pos += 1;
        }
    }

    fn take_if(&mut self, kind: TokenKind) -> Option<Span> {
        let token = self.peek().filter(|t| t.kind == kind)?;
        self.pos += 1;
        Some(token.span)
    }
}
