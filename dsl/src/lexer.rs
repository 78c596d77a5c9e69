//! Turns text into tokens with byte spans. Lexing never fails: characters that cannot start a
//! token become one [`Diagnostic`] per run, and an unterminated text ends at its line's end so
//! that the rest of the file is still read.

use nom::bytes::complete::{tag, take_while, take_while1};
use nom::character::complete::{char as one_char, satisfy};
use nom::combinator::recognize;
use nom::multi::many0;
use nom::sequence::pair;
use nom::{IResult, Parser};

use crate::diagnostic::{Code, Diagnostic};
use crate::span::{FileId, Span};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenKind {
    /// A name, possibly qualified with dots: `kth_laaja_5lk.tarkastus`.
    Name,
    Number,
    /// A text in double quotes; the span includes the quotes.
    Text,
    LBrace,
    RBrace,
    LParen,
    RParen,
    Comma,
    Semi,
    Colon,
    Pipe,
    Amp,
    Arrow,
    Newline,
    /// `// …` up to, not including, the line end.
    Comment,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Token {
    pub kind: TokenKind,
    pub span: Span,
}

/// The tokens of one file, with the lexical diagnostics.
#[derive(Debug, Default)]
pub struct Lexed {
    pub tokens: Vec<Token>,
    pub diagnostics: Vec<Diagnostic>,
}

fn is_name_start(c: char) -> bool {
    c.is_alphabetic() || c == '_'
}

fn is_name_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

fn name(input: &str) -> IResult<&str, &str> {
    recognize(pair(
        pair(satisfy(is_name_start), take_while(is_name_char)),
        many0(pair(one_char('.'), take_while1(is_name_char))),
    ))
    .parse(input)
}

fn number(input: &str) -> IResult<&str, &str> {
    take_while1(|c: char| c.is_ascii_digit()).parse(input)
}

fn comment(input: &str) -> IResult<&str, &str> {
    recognize(pair(tag("//"), take_while(|c| c != '\n'))).parse(input)
}

fn blank(input: &str) -> IResult<&str, &str> {
    take_while(|c: char| c == ' ' || c == '\t' || c == '\r' || c == '\u{feff}').parse(input)
}

/// Lexes a whole file.
pub fn lex(file: FileId, text: &str) -> Lexed {
    let mut lexed = Lexed { tokens: Vec::with_capacity(text.len() / 5), diagnostics: Vec::new() };
    let mut rest = text;
    let offset = |rest: &str| text.len() - rest.len();
    let mut unexpected: Option<Span> = None;
    loop {
        if let Ok((after, _)) = blank(rest) {
            rest = after;
        }
        let Some(first) = rest.chars().next() else { break };
        let start = offset(rest);
        let single = |kind| Some((kind, first.len_utf8()));
        let simple = match first {
            '{' => single(TokenKind::LBrace),
            '}' => single(TokenKind::RBrace),
            '(' => single(TokenKind::LParen),
            ')' => single(TokenKind::RParen),
            ',' => single(TokenKind::Comma),
            ';' => single(TokenKind::Semi),
            ':' => single(TokenKind::Colon),
            '|' => single(TokenKind::Pipe),
            '&' => single(TokenKind::Amp),
            '\n' => single(TokenKind::Newline),
            '-' if rest.starts_with("->") => Some((TokenKind::Arrow, 2)),
            '/' if rest.starts_with("//") => {
                comment(rest).ok().map(|(after, _)| (TokenKind::Comment, rest.len() - after.len()))
            }
            '"' => {
                let (kind, len) = lex_text(file, text, start, &mut lexed.diagnostics);
                Some((kind, len))
            }
            c if c.is_ascii_digit() => {
                number(rest).ok().map(|(after, _)| (TokenKind::Number, rest.len() - after.len()))
            }
            c if is_name_start(c) => {
                name(rest).ok().map(|(after, _)| (TokenKind::Name, rest.len() - after.len()))
            }
            _ => None,
        };
        match simple {
            Some((kind, len)) => {
                flush_unexpected(file, text, &mut unexpected, &mut lexed.diagnostics);
                lexed.tokens.push(Token { kind, span: Span::new(start, start + len) });
                rest = &rest[len..];
            }
            None => {
                let end = start + first.len_utf8();
                unexpected = Some(match unexpected {
                    Some(span) if span.end as usize == start => Span::new(span.start as usize, end),
                    _ => {
                        flush_unexpected(file, text, &mut unexpected, &mut lexed.diagnostics);
                        Span::new(start, end)
                    }
                });
                rest = &rest[first.len_utf8()..];
            }
        }
    }
    flush_unexpected(file, text, &mut unexpected, &mut lexed.diagnostics);
    lexed
}

fn flush_unexpected(
    file: FileId,
    text: &str,
    pending: &mut Option<Span>,
    diagnostics: &mut Vec<Diagnostic>,
) {
    if let Some(span) = pending.take() {
        let found: String = text[span.range()].chars().take(12).collect();
        let shown: String =
            found.chars().map(|c| if c.is_control() { '\u{fffd}' } else { c }).collect();
        diagnostics.push(Diagnostic::new(Code::UnexpectedChar, file, span).arg("found", shown));
    }
}

/// Lexes a text starting at `start` (at the opening quote). Returns the token kind and length.
/// A text with no closing quote on its line ends at the line's end, after a diagnostic.
fn lex_text(
    file: FileId,
    text: &str,
    start: usize,
    diagnostics: &mut Vec<Diagnostic>,
) -> (TokenKind, usize) {
    let bytes = text.as_bytes();
    let mut i = start + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => return (TokenKind::Text, i + 1 - start),
            // A text ends on its own line; `\n` writes a line break inside it. Were texts allowed
            // to span lines, one missing quote would swallow the file up to the next quote.
            b'\n' => break,
            b'\\' => {
                let next = text[i + 1..].chars().next();
                match next {
                    Some('"' | '\\' | 'n') => i += 2,
                    Some(c) => {
                        if c == '\n' {
                            i += 1;
                            continue;
                        }
                        let span = Span::new(i, i + 1 + c.len_utf8());
                        diagnostics.push(
                            Diagnostic::new(Code::InvalidEscape, file, span)
                                .arg("found", format!("\\{c}")),
                        );
                        i += 1 + c.len_utf8();
                    }
                    None => i += 1,
                }
            }
            _ => i += 1,
        }
    }
    let line_end = text[start..].find('\n').map_or(text.len(), |n| start + n);
    diagnostics.push(Diagnostic::new(Code::UnterminatedText, file, Span::new(start, line_end)));
    (TokenKind::Text, line_end - start)
}

/// The value of a text token: without quotes and with escapes resolved.
pub fn text_value(raw: &str) -> String {
    let inner = raw.strip_prefix('"').unwrap_or(raw);
    let inner = inner.strip_suffix('"').unwrap_or(inner);
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('n') => out.push('\n'),
                Some(other) => out.push(other),
                None => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<TokenKind> {
        lex(FileId(0), text).tokens.iter().map(|t| t.kind).collect()
    }

    #[test]
    fn lexes_finnish_names_and_arrows() {
        use TokenKind::*;
        assert_eq!(
            kinds("kulku pärjääjä -> kth.tarkastus // x\n\"a\\\"b\" 45"),
            vec![Name, Name, Arrow, Name, Comment, Newline, Text, Number]
        );
    }

    #[test]
    fn unterminated_text_stops_at_line_end() {
        let lexed = lex(FileId(0), "a \"open\nb");
        assert_eq!(lexed.diagnostics.len(), 1);
        assert_eq!(lexed.tokens.last().map(|t| t.kind), Some(TokenKind::Name));
    }

    #[test]
    fn unexpected_characters_are_grouped() {
        let lexed = lex(FileId(0), "a @@@ b $");
        assert_eq!(lexed.diagnostics.len(), 2);
    }

    #[test]
    fn text_value_resolves_escapes() {
        assert_eq!(text_value(r#""a\"b\\c\nd""#), "a\"b\\c\nd");
    }
}
