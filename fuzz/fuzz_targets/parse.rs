//! Feeds arbitrary bytes to what `polku check` and `polku fmt` do with a model of several
//! files: the bytes are split into files at NUL bytes (which no model holds), each is checked
//! for UTF-8, lexed, parsed and lowered, names are resolved across the files, and when the
//! model has no errors the engine's rules run (soundness included, with a smaller state limit
//! so that each run stays fast). Every diagnostic is rendered in Finnish and English and as
//! JSON, and every file is formatted.
//!
//! What must hold: nothing panics; every span of every diagnostic lies in its own file with
//! both ends on character boundaries; a formatted file formats to itself and has the same
//! typed tree as the original (compared as serialised data, which must succeed); a file that
//! does not format is refused only for errors.
#![no_main]

use libfuzzer_sys::fuzz_target;
use polku_dsl::{diagnostic, Diagnostic, FileId, Lang, SourceSet};

/// At most this many files; the last one takes the rest of the bytes.
const MAX_FILES: usize = 4;

fuzz_target!(|data: &[u8]| {
    let mut sources = SourceSet::new();
    let mut unreadable = Vec::new();
    let mut diagnostics: Vec<Diagnostic> = Vec::new();
    for (index, bytes) in data.splitn(MAX_FILES, |&b| b == 0).enumerate() {
        let path = format!("malli/{index}.polku");
        let (id, problem) = polku_dsl::add_source_bytes(&mut sources, &path, bytes.to_vec());
        if let Some(problem) = problem {
            unreadable.push(id);
            diagnostics.push(problem);
        }
    }
    let checked = polku_dsl::check(&sources, &unreadable);
    let clean = !checked.has_errors() && unreadable.is_empty();
    diagnostics.extend(checked.diagnostics.iter().cloned());
    if clean {
        let limits = polku_engine::Limits { states: 2_000, cells: 200_000 };
        let validation = polku_engine::validate(&checked.files, limits);
        diagnostics.extend(validation.diagnostics);
        let _ = polku_engine::compile(&checked.files);
    }
    polku_dsl::sort(&mut diagnostics);
    for d in &diagnostics {
        assert_span(&sources, d.file, d.span);
        for secondary in &d.secondary {
            assert_span(&sources, secondary.file, secondary.span);
        }
    }
    for lang in [Lang::Fi, Lang::En] {
        let _ = diagnostic::render(&diagnostics, &sources, lang);
        let json = diagnostic::to_json(&diagnostics, &sources, lang);
        serde_json::to_string(&json).expect("diagnostics serialise as JSON");
    }
    for id in sources.ids().filter(|id| !unreadable.contains(id)) {
        check_format(id, &sources.get(id).text);
    }
});

fn assert_span(sources: &SourceSet, file: FileId, span: polku_dsl::Span) {
    let text = &sources.get(file).text;
    let (start, end) = (span.start as usize, span.end as usize);
    assert!(start <= end && end <= text.len(), "span {start}..{end} outside {} bytes", text.len());
    assert!(
        text.is_char_boundary(start) && text.is_char_boundary(end),
        "span {start}..{end} splits a character"
    );
}

fn check_format(id: FileId, text: &str) {
    match polku_dsl::format_source(id, text) {
        Ok(formatted) => {
            let again = polku_dsl::format_source(id, &formatted).expect("formatted text parses");
            assert_eq!(again, formatted, "formatting is not a fixed point");
            let meaning = |text: &str| {
                serde_json::to_value(polku_dsl::parse_file(id, text).ast)
                    .expect("the typed tree serialises")
            };
            assert_eq!(meaning(text), meaning(&formatted), "formatting changed the meaning");
        }
        Err(errors) => {
            assert!(!errors.is_empty() && errors.iter().all(Diagnostic::is_error));
        }
    }
}
