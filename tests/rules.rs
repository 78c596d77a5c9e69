//! Each validation rule has an invalid fixture in `golden/rules/`, named after the rule's code:
//! `V007_choice_without_default.polku` must produce exactly one finding, the rule's own, with
//! the spans and words in `V007_choice_without_default.expected` (English, then Finnish). A
//! fixture may declare on its first line, as `// myös: V004`, a finding that cannot be had
//! without its own in the language, and then produces exactly those.
//!
//! `UPDATE_EXPECT=1 cargo test -p polku-tests --test rules` writes new expected files.

#![allow(clippy::unwrap_used)] // A test that cannot set up should fail loudly.

use std::collections::BTreeSet;
use std::path::PathBuf;

use expect_test::expect_file;
use polku_dsl::{diagnostic, Code, Lang};
use polku_tests::{load, tests_dir};

fn fixtures() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(tests_dir().join("golden/rules"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "polku"))
        .collect();
    files.sort();
    files
}

#[test]
fn every_rule_fixture_gives_exactly_its_finding() {
    let mut covered = BTreeSet::new();
    for fixture in fixtures() {
        let stem = fixture.file_stem().unwrap().to_string_lossy().into_owned();
        let own = stem.split('_').next().unwrap().to_owned();
        let text = std::fs::read_to_string(&fixture).unwrap();
        let mut expected: BTreeSet<String> = BTreeSet::from([own.clone()]);
        if let Some(also) = text.lines().next().and_then(|l| l.strip_prefix("// myös:")) {
            expected.extend(also.split(',').map(|c| c.trim().to_owned()));
        }
        let (sources, unreadable, _) =
            load(std::slice::from_ref(&fixture), &tests_dir().join("golden/rules"));
        let checked = polku_dsl::check(&sources, &unreadable);
        let rendered = diagnostic::render(&checked.diagnostics, &sources, Lang::En);
        assert!(checked.diagnostics.is_empty(), "{stem} must be valid language:\n{rendered}");
        let mut diagnostics =
            polku_engine::validate(&checked.files, polku_engine::Limits::default()).diagnostics;
        polku_dsl::sort(&mut diagnostics);
        let codes: Vec<&str> = diagnostics.iter().map(|d| d.code.as_str()).collect();
        let distinct: BTreeSet<String> = codes.iter().map(|c| (*c).to_owned()).collect();
        assert_eq!(distinct, expected, "{stem}: {codes:?}");
        assert_eq!(codes.len(), expected.len(), "{stem} gives each finding once: {codes:?}");
        covered.insert(own);
        let mut out = String::from("--- en ---\n");
        out.push_str(&diagnostic::render(&diagnostics, &sources, Lang::En));
        out.push_str("--- fi ---\n");
        out.push_str(&diagnostic::render(&diagnostics, &sources, Lang::Fi));
        expect_file![fixture.with_extension("expected")].assert_eq(&out);
    }
    let rules: BTreeSet<String> = Code::ALL
        .iter()
        .map(|c| c.as_str())
        .filter(|c| c.starts_with('V'))
        .map(str::to_owned)
        .collect();
    let missing: Vec<&String> = rules.difference(&covered).collect();
    assert!(missing.is_empty(), "rules without a fixture: {missing:?}");
}

#[test]
fn every_rule_has_a_section_in_the_rules_document() {
    let document =
        std::fs::read_to_string(polku_tests::workspace_dir().join("docs/rules.md")).unwrap();
    for code in Code::ALL.iter().map(|c| c.as_str()).filter(|c| c.starts_with('V')) {
        assert!(
            document.contains(&format!("## {code}")),
            "docs/rules.md has no section for {code}"
        );
    }
}
