//! Golden tests as data.
//!
//! - `golden/ok/NAME.polku`: a valid file. It must check without any diagnostic, and its
//!   canonical layout is in `NAME.polku.formatted`; formatting that again changes nothing and
//!   the meaning stays the same.
//! - `golden/err/NAME.polku`, or a folder `golden/err/NAME/` for a model of several files: an
//!   invalid model. `NAME.expected` holds its rendered diagnostics, English then Finnish.
//!
//! Adding a case is adding a file; `UPDATE_EXPECT=1 cargo test -p polku-tests --test golden`
//! writes the expected output of new cases, which is then read and committed.

#![allow(clippy::unwrap_used)] // A test that cannot set up should fail loudly.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use expect_test::expect_file;
use polku_dsl::{diagnostic, Code, Lang};
use polku_tests::{load, polku_files, tests_dir};

fn golden_dir(kind: &str) -> PathBuf {
    tests_dir().join("golden").join(kind)
}

/// The cases of `golden/err`: single files and folders.
fn error_cases() -> Vec<PathBuf> {
    let mut cases: Vec<PathBuf> = std::fs::read_dir(golden_dir("err"))
        .expect("golden/err exists")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir() || p.extension().is_some_and(|e| e == "polku"))
        .collect();
    cases.sort();
    cases
}

fn render_case(case: &Path) -> (String, Vec<Code>) {
    let files = if case.is_dir() { polku_files(case) } else { vec![case.to_path_buf()] };
    let base = golden_dir("err");
    let (sources, unreadable, mut diagnostics) = load(&files, &base);
    let checked = polku_dsl::check(&sources, &unreadable);
    diagnostics.extend(checked.diagnostics);
    polku_dsl::sort(&mut diagnostics);
    let codes = diagnostics.iter().map(|d| d.code).collect();
    let mut out = String::from("--- en ---\n");
    out.push_str(&diagnostic::render(&diagnostics, &sources, Lang::En));
    out.push_str("--- fi ---\n");
    out.push_str(&diagnostic::render(&diagnostics, &sources, Lang::Fi));
    (out, codes)
}

#[test]
fn invalid_models_give_their_expected_diagnostics() {
    let mut covered = BTreeSet::new();
    let cases = error_cases();
    for case in &cases {
        let (rendered, codes) = render_case(case);
        assert!(!codes.is_empty(), "{} produced no diagnostic", case.display());
        covered.extend(codes);
        let expected = case.with_extension("expected");
        expect_file![expected].assert_eq(&rendered);
    }
    assert!(cases.len() >= 40, "only {} error cases", cases.len());
    // The validation rules (`V…`) have their own fixtures in golden/rules, checked by rules.rs.
    let missing: Vec<&str> = Code::ALL
        .iter()
        .filter(|c| !c.as_str().starts_with('V') && !covered.contains(c))
        .map(|c| c.as_str())
        .collect();
    assert!(missing.is_empty(), "no golden case produces {missing:?}");
}

#[test]
fn valid_files_format_to_their_expected_layout() {
    let files = polku_files(&golden_dir("ok"));
    assert!(!files.is_empty());
    for file in files {
        let (sources, unreadable, _) = load(std::slice::from_ref(&file), &golden_dir("ok"));
        assert!(unreadable.is_empty());
        let checked = polku_dsl::check(&sources, &[]);
        let rendered = diagnostic::render(&checked.diagnostics, &sources, Lang::En);
        assert!(checked.diagnostics.is_empty(), "{}:\n{rendered}", file.display());
        let id = polku_dsl::FileId(0);
        let text = &sources.get(id).text;
        let formatted = polku_dsl::format_source(id, text).expect("a valid file formats");
        let mut expected = file.clone().into_os_string();
        expected.push(".formatted");
        expect_file![PathBuf::from(expected)].assert_eq(&formatted);
        let again = polku_dsl::format_source(id, &formatted).expect("formatted output parses");
        assert_eq!(again, formatted, "formatting {} twice changes it", file.display());
        let before = polku_dsl::parse_file(id, text).ast;
        let after = polku_dsl::parse_file(id, &formatted).ast;
        assert!(
            polku_dsl::same_meaning(&before, &after),
            "formatting changed the meaning of {}",
            file.display()
        );
    }
}

#[test]
fn placed_steps_guidance_and_the_assessing_step_reach_the_plan() {
    let file = golden_dir("ok").join("neuvolan_rakenteet.polku");
    let (sources, _, _) = load(std::slice::from_ref(&file), &golden_dir("ok"));
    let checked = polku_dsl::check(&sources, &[]);
    let model = polku_engine::compile(&checked.files);
    assert_eq!(
        model.segmentations["neuvola"].units,
        vec!["äitiysneuvola".to_owned(), "lastenneuvola".to_owned()]
    );
    let process = &model.processes["laaja"];
    let order = |segment: &str| -> Vec<String> {
        process.plans[segment].steps.iter().map(|s| s.name.clone()).collect()
    };
    // `jälkeen th` lands right after the assessing step, `ennen kirjaus` right before the record
    // (not at the end of its phase).
    assert_eq!(
        order("tuki"),
        [
            "lomake",
            "th",
            "jatko",
            "lääkäri",
            "lähete",
            "sydänäänet",
            "ohjaus_ryhmään",
            "kirjaus",
            "valmennus"
        ]
    );
    // Conditions on the case's facts, a repetition per fetus, and weeks of pregnancy.
    let tuki = &process.plans["tuki"];
    let condition = |step: &str| tuki.step(step).unwrap().condition.clone().unwrap();
    assert_eq!(condition("ohjaus_ryhmään").describe(), "jos ei ensisynnyttäjä");
    assert_eq!(condition("valmennus").describe(), "jos ensisynnyttäjä");
    assert_eq!(tuki.step("sydänäänet").unwrap().per.as_deref(), Some("sikiöitä"));
    let lääkäri = tuki.step("lääkäri").unwrap();
    let describe = |d: &Option<polku_dsl::ast::Deadline>| {
        d.as_ref().map(polku_engine::plan::describe_deadline).unwrap_or_default()
    };
    assert_eq!(
        (describe(&lääkäri.earliest), describe(&lääkäri.deadline)),
        ("rv 13".into(), "rv 18".into())
    );
    assert!(model.facts["sikiöitä"].number && !model.facts["ensisynnyttäjä"].number);
    // A referral to a service of another provider.
    assert_eq!(model.services["äitiyspoliklinikka"].provider.as_deref(), Some("Keskussairaala"));
    assert_eq!(
        process.plans["tuki"].step("lähete").unwrap().referral.as_deref(),
        Some("äitiyspoliklinikka")
    );
    assert_eq!(
        order("pärjääjä"),
        ["lomake", "th", "lääkäri", "sydänäänet", "kirjaus", "valmennus"]
    );
    let tuki = &process.plans["tuki"];
    let th = tuki.step("th").unwrap();
    assert!(th.assesses_segment);
    assert_eq!(th.guidance.as_deref(), Some("Käy lomake läpi yhdessä perheen kanssa."));
    assert_eq!(
        tuki.step("lomake").unwrap().description.as_deref(),
        Some("Perheen voimavarat ja huolet")
    );
    // The segment's own guidance replaces the generic one (none here) for its clients only.
    assert_eq!(
        tuki.step("lääkäri").unwrap().guidance.as_deref(),
        Some("Varaa aikaa perheen kysymyksille.")
    );
    assert_eq!(process.plans["pärjääjä"].step("lääkäri").unwrap().guidance, None);
    // A step added in the block can be changed later in the same block.
    assert_eq!(
        tuki.step("jatko")
            .unwrap()
            .duration
            .as_ref()
            .map(polku_engine::plan::describe_duration)
            .as_deref(),
        Some("15 min")
    );
}
