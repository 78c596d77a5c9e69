//! The Polku process language: the text in which process owners write the four architecture
//! levels of their services (catalogue and chains, segments, generic client processes,
//! workflows).
//!
//! This crate owns everything between text and a name-resolved syntax tree:
//!
//! - [`lexer`] turns text into tokens with byte spans (nom);
//! - [`cst`] builds the statement tree that is the same for every keyword, recovering from
//!   errors so that one run reports them all;
//! - [`lower`] gives each keyword its meaning and builds the typed tree in [`ast`];
//! - [`resolve`] checks names across the files of one model;
//! - [`format`] lays a file out in the canonical form;
//! - [`diagnostic`] holds every message in Finnish and English under a stable code, and renders.
//!
//! What it must not do: read or write files (the caller passes sources in; `clippy.toml`
//! forbids `std::fs` here), build graphs or judge whether a flow is sound (that is the engine's
//! work), or panic on any input.
//!
//! Entry points: [`check`] for a whole model, [`parse_file`] for one file, [`format_source`] to
//! format one file.

pub mod ast;
pub mod cst;
pub mod diagnostic;
pub mod format;
pub mod hash;
pub mod lexer;
pub mod lower;
pub mod markers;
pub mod resolve;
pub mod span;

/// The version of the language this build reads. A stored model version records the version
/// it was written in; a change to the language that would read an older model differently
/// raises it, and reads models of the older version as they were written.
pub const LANGUAGE_VERSION: u32 = 1;
pub mod suggest;

pub use diagnostic::{Bilingual, Code, Diagnostic, Lang, Severity};
pub use span::{FileId, SourceFile, SourceSet, Span};

/// At most this many diagnostics are reported for one file; garbage input would otherwise
/// bury the useful ones.
pub const MAX_FILE_DIAGNOSTICS: usize = 100;

/// One parsed file: its statement tree, its typed tree and the diagnostics of both.
#[derive(Debug)]
pub struct ParsedFile {
    pub tree: cst::Tree,
    pub ast: ast::File,
    pub diagnostics: Vec<Diagnostic>,
}

/// Lexes, parses and lowers one file.
pub fn parse_file(file: FileId, text: &str) -> ParsedFile {
    let lexed = lexer::lex(file, text);
    let (tree, mut diagnostics) = cst::parse(file, &lexed.tokens);
    diagnostics.extend(lexed.diagnostics);
    let (ast, lower_diagnostics) = lower::lower(file, text, &tree);
    diagnostics.extend(lower_diagnostics);
    ParsedFile { tree, ast, diagnostics }
}

/// Adds a file given as bytes. Text that is not UTF-8 is kept (with replacement characters) so
/// that the diagnostic can show the line, and the diagnostic is returned.
pub fn add_source_bytes(
    sources: &mut SourceSet,
    path: &str,
    bytes: Vec<u8>,
) -> (FileId, Option<Diagnostic>) {
    match String::from_utf8(bytes) {
        Ok(text) => (sources.add(path, text), None),
        Err(error) => {
            let valid = error.utf8_error().valid_up_to();
            let text = String::from_utf8_lossy(error.as_bytes()).into_owned();
            let id = sources.add(path, text);
            let end = valid + '\u{fffd}'.len_utf8();
            (id, Some(Diagnostic::new(Code::InvalidUtf8, id, Span::new(valid, end))))
        }
    }
}

/// A model checked as a whole: the typed trees of its files and every diagnostic, sorted by
/// file and position.
#[derive(Debug, Default)]
pub struct Checked {
    pub files: Vec<(FileId, ast::File)>,
    pub diagnostics: Vec<Diagnostic>,
}

impl Checked {
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }

    pub fn index(&self) -> (resolve::Index<'_>, Vec<Diagnostic>) {
        resolve::resolve(&self.files)
    }
}

/// Parses every file of the set (except `skip`, files that could not be read as text) and
/// resolves names across them.
pub fn check(sources: &SourceSet, skip: &[FileId]) -> Checked {
    let mut checked = Checked::default();
    for id in sources.ids() {
        if skip.contains(&id) {
            continue;
        }
        let parsed = parse_file(id, &sources.get(id).text);
        checked.diagnostics.extend(cap(parsed.diagnostics));
        checked.files.push((id, parsed.ast));
    }
    let (_, diagnostics) = resolve::resolve(&checked.files);
    checked.diagnostics.extend(diagnostics);
    sort(&mut checked.diagnostics);
    checked
}

/// Sorts diagnostics by file and position, so output is stable and reads top to bottom.
pub fn sort(diagnostics: &mut [Diagnostic]) {
    diagnostics.sort_by_key(|d| (d.file, d.span.start, d.code));
}

fn cap(mut diagnostics: Vec<Diagnostic>) -> Vec<Diagnostic> {
    if diagnostics.len() > MAX_FILE_DIAGNOSTICS {
        sort(&mut diagnostics);
        let next = &diagnostics[MAX_FILE_DIAGNOSTICS];
        let notice = Diagnostic::new(Code::TooManyErrors, next.file, next.span);
        diagnostics.truncate(MAX_FILE_DIAGNOSTICS);
        diagnostics.push(notice);
    }
    diagnostics
}

/// Formats one file's text. A file with syntax errors is not formatted: its diagnostics are
/// returned instead, since a layout of text that does not parse could change its meaning.
pub fn format_source(file: FileId, text: &str) -> Result<String, Vec<Diagnostic>> {
    let parsed = parse_file(file, text);
    let errors: Vec<Diagnostic> =
        parsed.diagnostics.into_iter().filter(Diagnostic::is_error).collect();
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(format::format_tree(text, &parsed.tree))
}

/// Whether two files mean the same: their typed trees are equal when spans are ignored.
pub fn same_meaning(a: &ast::File, b: &ast::File) -> bool {
    serde_json::to_value(a).ok() == serde_json::to_value(b).ok()
}
