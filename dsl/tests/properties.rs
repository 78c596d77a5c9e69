//! Properties that hold for every input: parsing never panics, every span lies inside the file
//! on character boundaries, and for input without errors the formatter is a fixed point that
//! keeps the meaning.

#![allow(clippy::unwrap_used)]
// A test that cannot set up should fail loudly.
// The crate does no IO; its tests read the shipped corpus as fixtures.
#![allow(clippy::disallowed_methods)]

use polku_dsl::{ast, format_source, parse_file, same_meaning, Diagnostic, FileId};
use proptest::prelude::*;

/// Every span that the typed tree carries.
fn ast_spans(file: &ast::File) -> Vec<polku_dsl::Span> {
    // The serde form leaves spans out, so walk the spans through the debug form instead:
    // `Span { start: N, end: M }` appears for every one of them.
    let debug = format!("{file:?}");
    let mut spans = Vec::new();
    let mut rest = debug.as_str();
    while let Some(at) = rest.find("Span { start: ") {
        rest = &rest[at + 14..];
        let start: u32 = rest[..rest.find(',').unwrap_or(0)].parse().unwrap_or(0);
        let at_end = rest.find("end: ").map_or(0, |i| i + 5);
        rest = &rest[at_end..];
        let end: u32 = rest[..rest.find(' ').unwrap_or(0)].parse().unwrap_or(0);
        spans.push(polku_dsl::Span { start, end });
    }
    spans
}

fn assert_spans_valid(text: &str, diagnostics: &[Diagnostic], file: &ast::File) {
    let spans = diagnostics
        .iter()
        .flat_map(|d| std::iter::once(d.span).chain(d.secondary.iter().map(|s| s.span)))
        .chain(ast_spans(file));
    for span in spans {
        let (start, end) = (span.start as usize, span.end as usize);
        assert!(
            start <= end && end <= text.len(),
            "span {start}..{end} outside {} bytes",
            text.len()
        );
        assert!(
            text.is_char_boundary(start) && text.is_char_boundary(end),
            "span {start}..{end} splits a character"
        );
    }
}

fn check_text(text: &str) {
    let parsed = parse_file(FileId(0), text);
    assert_spans_valid(text, &parsed.diagnostics, &parsed.ast);
    // Rendering must not panic either.
    let mut sources = polku_dsl::SourceSet::new();
    sources.add("x.polku", text);
    let _ = polku_dsl::diagnostic::render(&parsed.diagnostics, &sources, polku_dsl::Lang::Fi);
    let checked = polku_dsl::check(&sources, &[]);
    let _ = polku_dsl::diagnostic::render(&checked.diagnostics, &sources, polku_dsl::Lang::En);
    if let Ok(formatted) = format_source(FileId(0), text) {
        let again = format_source(FileId(0), &formatted).expect("formatted text parses");
        assert_eq!(again, formatted, "format is not a fixed point for {text:?}");
        let after = parse_file(FileId(0), &formatted);
        assert!(same_meaning(&parsed.ast, &after.ast), "format changed the meaning of {text:?}");
    }
}

/// Pieces that look like the language, so that random input reaches deep into the parser.
fn piece() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "organisaatio",
            "rooli",
            "palvelu",
            "segmentointi",
            "palveluketju",
            "prosessi",
            "työnkulku",
            "vaihe",
            "askel",
            "kulku",
            "segmentti",
            "akseli",
            "kaista",
            "tehtävä",
            "tekijä",
            "kesto",
            "määrä",
            "väli",
            "määräaika",
            "lakisääteinen",
            "kanava",
            "käynti",
            "valinnainen",
            "ohjaus",
            "muuta",
            "lisää",
            "poista",
            "perii",
            "vaiheeseen",
            "toista",
            "kunnes",
            "kun",
            "muuten",
            "luovutus",
            "yksikkö",
            "polku",
            "asiakas",
            "ikä",
            "tapauksen",
            "alusta",
            "edellisestä",
            "askeleesta",
            "min",
            "kk",
            "v",
            "a",
            "b",
            "c",
            "p.a",
            "p.a.b",
            "ä",
            "45",
            "0",
            "99999999999",
            "{",
            "}",
            "(",
            ")",
            ",",
            ";",
            ":",
            "|",
            "&",
            "->",
            "\n",
            "\n\n",
            " ",
            "\"teksti\"",
            "\"auki",
            "\"a\\\"b\"",
            "\"\\x\"",
            "// kommentti\n",
            "@",
            "\t",
            "\r\n",
            "é",
            "\u{0}",
            "-",
            "/",
            ".",
        ])
        .prop_map(str::to_owned),
        "[a-zäö_]{1,6}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn language_like_input_never_panics(pieces in prop::collection::vec(piece(), 0..60), glue in prop::collection::vec(prop::bool::ANY, 60)) {
        let mut text = String::new();
        for (i, piece) in pieces.iter().enumerate() {
            text.push_str(piece);
            if glue.get(i).copied().unwrap_or(false) {
                text.push(' ');
            }
        }
        check_text(&text);
    }

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,200}") {
        check_text(&text);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        let mut sources = polku_dsl::SourceSet::new();
        let (id, problem) = polku_dsl::add_source_bytes(&mut sources, "x.polku", bytes);
        let text = sources.get(id).text.clone();
        if let Some(problem) = problem {
            let _ = polku_dsl::diagnostic::render(&[problem], &sources, polku_dsl::Lang::Fi);
        } else {
            check_text(&text);
        }
    }
}

/// The shipped corpus is in canonical layout, so any change of layout that keeps the meaning
/// (indentation, runs of spaces and tabs, trailing blanks, several blank lines where there is
/// one) must format back to it. Single blank lines are the author's grouping and are kept.
mod canonical {
    use super::*;

    fn corpus() -> Vec<String> {
        let dir = (std::env::var_os("CARGO_MANIFEST_DIR")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))))
        .join("../processes/keusote");
        let mut texts: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "polku"))
            .map(|p| std::fs::read_to_string(p).unwrap())
            .collect();
        texts.sort();
        texts
    }

    /// Perturbs the layout of one line: indentation, spacing between tokens outside texts and
    /// comments, and trailing blanks.
    fn perturb_line(line: &str, choices: &mut impl Iterator<Item = u8>) -> String {
        let mut out = String::new();
        let indent = choices.next().unwrap_or(0) % 4;
        out.push_str(&" ".repeat(indent as usize * 3));
        let mut in_text = false;
        let mut chars = line.trim_start().chars().peekable();
        while let Some(c) = chars.next() {
            if c == '"' {
                in_text = !in_text;
            }
            if !in_text && c == '/' && chars.peek() == Some(&'/') {
                out.push(c);
                out.extend(chars.by_ref());
                break;
            }
            if !in_text && c == ' ' {
                match choices.next().unwrap_or(0) % 3 {
                    0 => out.push(' '),
                    1 => out.push_str("   "),
                    _ => out.push_str(" \t "),
                }
            } else {
                out.push(c);
            }
        }
        if choices.next().unwrap_or(0) % 2 == 0 {
            out.push_str("  ");
        }
        out
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

        #[test]
        fn any_layout_of_the_corpus_formats_back_to_it(
            file in 0usize..13,
            choices in prop::collection::vec(any::<u8>(), 4096),
        ) {
            let texts = corpus();
            let original = &texts[file % texts.len()];
            let mut choices = choices.into_iter().cycle();
            let mut perturbed = String::new();
            for line in original.lines() {
                perturbed.push_str(&perturb_line(line, &mut choices));
                perturbed.push('\n');
                // Where there is a blank line, sometimes more, which the formatter folds to one.
                if line.trim().is_empty() && choices.next().unwrap_or(0) % 2 == 0 {
                    perturbed.push_str(" \n\t\n");
                }
            }
            let formatted = format_source(FileId(0), &perturbed).expect("a perturbed corpus file parses");
            let reformatted_original = format_source(FileId(0), original).expect("the corpus parses");
            prop_assert_eq!(&reformatted_original, original);
            prop_assert_eq!(formatted, reformatted_original.clone());
        }
    }
}
