//! Assessment forms: scoring answers onto the axes, the proposal and what drove it, answers
//! read from JSON, and the check that finds gaps, overlaps and segments never proposed.

#![allow(clippy::unwrap_used)] // A test that cannot set up should fail loudly.

use polku_dsl::SourceSet;
use polku_engine::form::Form;
use serde_json::json;

const MODEL: &str = r#"
rooli th "Terveydenhoitaja"
segmentointi s "S" {
  akseli tarve "Tarve": kevyt | runsas
  akseli voimavarat "Voimavarat": hyvät | heikot
  segmentti pärjääjä "P" (tarve kevyt, voimavarat hyvät)
  segmentti tuki "T" (tarve kevyt, voimavarat heikot)
  segmentti yhteistyö "Y" (tarve runsas, voimavarat hyvät)
  segmentti huolenpito "H" (tarve runsas, voimavarat heikot)
}
prosessi p "P" {
  segmentointi s
  vaihe v "V" {
    askel tarkastus "Tarkastus" tekijä th arvioi segmentin
  }
}
lomake l "Lomake" {
  segmentointi s
  askel p.tarkastus
  kysymys jaksaminen "Miten jaksat?" asteikko 1 5
  kysymys huolia "Onko huolia?" kyllä_ei
  kysymys huolet "Mistä?" monivalinta talous | päihteet | terveys {
    näytä kun huolia kyllä
  }
  kysymys tuki "Keneltä saat apua?" valinta ei_keneltäkään | läheisiltä
  kysymys kerro "Kerro lisää" teksti
  ohje huolenpito "Nimeä vastuutyöntekijä."
  akseli tarve {
    runsas kun huolet päihteet
    runsas kun jaksaminen enintään 2
    kevyt kun jaksaminen vähintään 3
    tasapeli runsas
    puuttuu runsas
  }
  akseli voimavarat {
    heikot kun tuki ei_keneltäkään
    heikot kun huolet talous
    hyvät kun tuki läheisiltä
    tasapeli heikot
  }
}
"#;

fn form() -> Form {
    let mut sources = SourceSet::new();
    sources.add("l.polku", MODEL);
    let checked = polku_dsl::check(&sources, &[]);
    assert!(!checked.has_errors(), "{:?}", checked.diagnostics);
    let validation = polku_engine::validate(&checked.files, polku_engine::net::Limits::default());
    let codes: Vec<&str> = validation.diagnostics.iter().map(|d| d.code.as_str()).collect();
    assert!(!codes.iter().any(|c| c.starts_with("V02") || c.starts_with("V03")), "{codes:?}");
    polku_engine::compile(&checked.files).forms["l"].clone()
}

#[test]
fn answers_propose_a_segment_and_name_what_drove_it() {
    let form = form();
    let answers = form
        .read_answers(&json!({
            "jaksaminen": 4, "huolia": true, "huolet": ["talous"], "tuki": "läheisiltä",
            "kerro": "arki on raskasta"
        }))
        .unwrap();
    let proposal = form.score(&answers);
    let axes: Vec<(&str, Option<&str>, &str)> =
        proposal.axes.iter().map(|a| (a.axis.as_str(), a.value.as_deref(), a.how)).collect();
    // Worries about money and help from close ones: two rules, the tie goes to `heikot`.
    assert_eq!(axes, [("tarve", Some("kevyt"), "rule"), ("voimavarat", Some("heikot"), "tie")]);
    assert_eq!(proposal.axes[0].driven_by, ["jaksaminen"]);
    assert_eq!(proposal.axes[1].driven_by, ["huolet", "tuki"]);
    assert_eq!(proposal.segment.as_deref(), Some("tuki"));

    // Substance worries outrank coping well.
    let answers = form
        .read_answers(&json!({"jaksaminen": 5, "huolia": true, "huolet": ["päihteet"], "tuki": "ei_keneltäkään"}))
        .unwrap();
    let proposal = form.score(&answers);
    assert_eq!(proposal.segment.as_deref(), Some("huolenpito"));
    assert_eq!(proposal.axes[0].how, "tie");

    // An answer to a question that was not to be asked (worries, after no worries) counts for
    // nothing, as in the check.
    let answers = form
        .read_answers(&json!({"jaksaminen": 4, "huolia": false, "huolet": ["päihteet"], "tuki": "läheisiltä"}))
        .unwrap();
    let proposal = form.score(&answers);
    assert_eq!((proposal.axes[0].how, proposal.segment.as_deref()), ("rule", Some("pärjääjä")));

    // No answers at all: `puuttuu` decides the need; the resources stay undecided.
    let proposal = form.score(&form.read_answers(&json!({})).unwrap());
    assert_eq!(proposal.axes[0].value.as_deref(), Some("runsas"));
    assert_eq!(proposal.axes[0].how, "missing");
    assert_eq!(proposal.axes[1].value, None);
    assert_eq!(proposal.segment, None, "the professional decides");
}

#[test]
fn answers_that_do_not_fit_name_their_field() {
    let form = form();
    let error = |value: serde_json::Value| form.read_answers(&value).unwrap_err().to_string();
    assert!(error(json!({"jaksaminen": 6}))
        .starts_with("answers.jaksaminen: a whole number from 1 to 5"));
    assert!(error(json!({"huolia": "joo"})).starts_with("answers.huolia: true or false"));
    assert!(error(json!({"tuki": "naapurilta"})).contains("`naapurilta` is not an option"));
    assert!(error(json!({"huolet": "talous"})).starts_with("answers.huolet: a list of options"));
    assert!(error(json!({"uni": true})).starts_with("answers.uni: form l has no such question"));
    assert!(error(json!([1, 2])).starts_with("answers: must be a JSON object"));
    // An identity code typed as an option is not repeated.
    assert!(!error(json!({"tuki": "131052-308T"})).contains("131052"));
}

#[test]
fn the_check_goes_through_every_combination_and_reaches_every_segment() {
    let form = form();
    let check = form.check().unwrap();
    // 5 × 2 × (8 subsets, or not asked) × 2, with the worries asked only after a yes.
    assert_eq!(check.combinations, 5 * 2 * 8 * 2);
    assert!(check.gaps.iter().all(Option::is_none), "{:?}", check.gaps);
    assert!(check.overlaps.iter().all(Option::is_none), "{:?}", check.overlaps);
    let mut reached = check.reached.clone();
    reached.sort();
    assert_eq!(reached, ["huolenpito", "pärjääjä", "tuki", "yhteistyö"]);
}

#[test]
fn a_gap_and_an_overlap_are_found_with_an_example() {
    let source = MODEL
        .replace("    kevyt kun jaksaminen vähintään 3\n", "    kevyt kun jaksaminen vähintään 4\n")
        .replace("    tasapeli heikot\n", "");
    let mut sources = SourceSet::new();
    sources.add("l.polku", &source);
    let checked = polku_dsl::check(&sources, &[]);
    let form = polku_engine::compile(&checked.files).forms["l"].clone();
    let check = form.check().unwrap();
    let gap = check.gaps[0].as_deref().unwrap();
    assert!(gap.starts_with("jaksaminen 3"), "{gap}");
    let (first, second, example) = check.overlaps[1].clone().unwrap();
    assert_eq!((first.as_str(), second.as_str()), ("heikot", "hyvät"));
    assert!(example.contains("huolet talous") && example.contains("tuki läheisiltä"), "{example}");
}

#[test]
fn a_form_that_leaves_an_axis_unscored_proposes_no_segment() {
    let source = MODEL.replace(
        "  akseli voimavarat {\n    heikot kun tuki ei_keneltäkään\n    heikot kun huolet talous\n    hyvät kun tuki läheisiltä\n    tasapeli heikot\n  }\n",
        "",
    );
    assert_ne!(source, MODEL);
    let mut sources = SourceSet::new();
    sources.add("l.polku", &source);
    let checked = polku_dsl::check(&sources, &[]);
    let form = polku_engine::compile(&checked.files).forms["l"].clone();
    let proposal = form.score(&form.read_answers(&json!({"jaksaminen": 5})).unwrap());
    assert_eq!(proposal.axes[0].value.as_deref(), Some("kevyt"));
    assert_eq!(proposal.segment, None, "the resources are not scored: the professional decides");
}
