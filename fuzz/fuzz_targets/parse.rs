//! Feeds arbitrary bytes to the whole front end: UTF-8 check, lexer, parser, lowering, name
//! resolution, rendering, and the formatter with its fixed-point and meaning checks.
#![no_main]

use libfuzzer_sys::fuzz_target;
use polku_dsl::{diagnostic, FileId, Lang, SourceSet};

fuzz_target!(|data: &[u8]| {
    let mut sources = SourceSet::new();
    let (id, problem) = polku_dsl::add_source_bytes(&mut sources, "fuzz.polku", data.to_vec());
    if let Some(problem) = problem {
        let _ = diagnostic::render(&[problem], &sources, Lang::Fi);
        return;
    }
    let checked = polku_dsl::check(&sources, &[]);
    let text = &sources.get(id).text;
    for d in &checked.diagnostics {
        assert!(d.span.end as usize <= text.len() && text.is_char_boundary(d.span.start as usize));
    }
    let _ = diagnostic::render(&checked.diagnostics, &sources, Lang::En);
    if let Ok(formatted) = polku_dsl::format_source(FileId(0), text) {
        let again = polku_dsl::format_source(FileId(0), &formatted).expect("formatted text parses");
        assert_eq!(again, formatted);
        let before = polku_dsl::parse_file(FileId(0), text).ast;
        let after = polku_dsl::parse_file(FileId(0), &formatted).ast;
        assert!(polku_dsl::same_meaning(&before, &after));
    }
});
