//! Inputs that break naive parsers: nothing, garbage, huge files, deep nesting and unclosed
//! constructs. Each must give diagnostics, never a panic, a stack overflow or a hang.

#![allow(clippy::unwrap_used)] // A test that cannot set up should fail loudly.

use std::time::{Duration, Instant};

use polku_dsl::{parse_file, Code, FileId};

fn codes(text: &str) -> Vec<Code> {
    parse_file(FileId(0), text).diagnostics.iter().map(|d| d.code).collect()
}

#[test]
fn empty_and_blank_files_are_fine() {
    assert!(codes("").is_empty());
    assert!(codes("\n\n   \n").is_empty());
    assert!(codes("// vain kommentti").is_empty());
}

#[test]
fn ten_thousand_open_braces_are_reported_not_recursed() {
    let text = format!("prosessi p \"P\" {}", "{".repeat(10_000));
    let found = codes(&text);
    assert!(found.contains(&Code::TooDeep), "{found:?}");
    assert!(found.contains(&Code::UnclosedBlock), "{found:?}");
}

#[test]
fn ten_thousand_nested_parentheses_are_reported_not_recursed() {
    let text =
        format!("prosessi p \"P\" {{\n  kulku {}a{}\n}}", "(".repeat(10_000), ")".repeat(10_000));
    let found = codes(&text);
    assert!(found.contains(&Code::TooDeep), "{found:?}");
    let text = format!("prosessi p \"P\" {{ kulku {} }}", "(".repeat(10_000));
    assert!(codes(&text).contains(&Code::TooDeep));
}

#[test]
fn balanced_deep_blocks_are_skipped_and_parsing_goes_on() {
    let text =
        format!("rooli a \"A\"\n{}{}\nrooli b \"B\" @\n", "{".repeat(5_000), "}".repeat(5_000));
    let found = codes(&text);
    assert!(found.contains(&Code::TooDeep));
    // The error after the deep part is still found.
    assert!(found.contains(&Code::UnexpectedChar), "{found:?}");
}

#[test]
fn unterminated_text_and_block_are_reported_once_each() {
    let found = codes("prosessi p \"P {\n  vaihe a \"A\"\n");
    assert_eq!(found.iter().filter(|c| **c == Code::UnterminatedText).count(), 1, "{found:?}");
    let found = codes("prosessi p \"P\" {\n  vaihe a \"A\" {\n");
    assert_eq!(found.iter().filter(|c| **c == Code::UnclosedBlock).count(), 2, "{found:?}");
}

#[test]
fn binary_garbage_gives_diagnostics() {
    let garbage: String =
        (0u32..5000).filter_map(|i| char::from_u32((i * 7919) % 0x2FFF)).collect();
    let parsed = parse_file(FileId(0), &garbage);
    assert!(!parsed.diagnostics.is_empty());
    let mut sources = polku_dsl::SourceSet::new();
    sources.add("garbage.polku", garbage);
    let checked = polku_dsl::check(&sources, &[]);
    assert!(checked.diagnostics.len() <= polku_dsl::MAX_FILE_DIAGNOSTICS + 1 + 50);
}

#[test]
fn invalid_utf8_is_a_diagnostic_with_its_position() {
    let mut sources = polku_dsl::SourceSet::new();
    let (id, problem) =
        polku_dsl::add_source_bytes(&mut sources, "x.polku", b"rooli a \"A\"\nrooli \xff".to_vec());
    let problem = problem.expect("invalid UTF-8 is reported");
    assert_eq!(problem.code, Code::InvalidUtf8);
    let position = sources.get(id).line_column(problem.span.start);
    assert_eq!((position.line, position.column), (2, 7));
}

#[test]
fn a_ten_megabyte_file_parses_in_linear_time() {
    let unit =
        "prosessi p \"P\" {\n  vaihe a \"A\" {\n    askel x \"X\" tekijä t kesto 45 min\n  }\n}\n";
    let mut text = String::with_capacity(10 << 20);
    let mut n = 0;
    while text.len() < 10 << 20 {
        text.push_str(&unit.replace("prosessi p ", &format!("prosessi p{n} ")));
        n += 1;
    }
    let started = Instant::now();
    let parsed = parse_file(FileId(0), &text);
    assert_eq!(parsed.ast.items.len(), n);
    // Generous bound for an unoptimised build on a slow machine; the benchmark measures speed.
    assert!(started.elapsed() < Duration::from_secs(60));
    let line = "x".repeat(10 << 20);
    let found = codes(&format!("rooli {line} \"A\""));
    assert!(found.is_empty(), "{found:?}");
}
