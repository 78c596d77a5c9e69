//! The shipped Keusote model (`processes/keusote`) is the fixture of every later feature. These
//! tests hold it to what it must contain and keep it clean and canonically laid out.

#![allow(clippy::unwrap_used)] // A test that cannot set up should fail loudly.

use std::collections::{BTreeSet, HashMap};

use polku_dsl::ast::{Item, Process, Segmentation, Workflow};
use polku_dsl::{diagnostic, Lang};
use polku_tests::{load, polku_files, workspace_dir};

struct Corpus {
    checked: polku_dsl::Checked,
    sources: polku_dsl::SourceSet,
}

fn corpus() -> Corpus {
    let dir = workspace_dir().join("processes").join("keusote");
    let files = polku_files(&dir);
    let (sources, unreadable, problems) = load(&files, &workspace_dir());
    assert!(unreadable.is_empty() && problems.is_empty());
    let checked = polku_dsl::check(&sources, &[]);
    Corpus { checked, sources }
}

fn items(corpus: &Corpus) -> impl Iterator<Item = &Item> {
    corpus.checked.files.iter().flat_map(|(_, file)| &file.items)
}

#[test]
fn corpus_checks_without_diagnostics() {
    let corpus = corpus();
    let rendered = diagnostic::render(&corpus.checked.diagnostics, &corpus.sources, Lang::En);
    assert!(corpus.checked.diagnostics.is_empty(), "{rendered}");
}

#[test]
fn corpus_is_in_canonical_layout() {
    let corpus = corpus();
    for id in corpus.sources.ids() {
        let file = corpus.sources.get(id);
        let formatted = polku_dsl::format_source(id, &file.text).expect("corpus parses");
        assert!(
            formatted == file.text,
            "{} is not formatted: run `polku fmt processes`",
            file.path
        );
    }
}

#[test]
fn catalogue_has_the_ten_family_centre_services() {
    let corpus = corpus();
    let services: BTreeSet<&str> = items(&corpus)
        .filter_map(|item| match item {
            Item::Service(s) => Some(s.name.text.as_str()),
            _ => None,
        })
        .collect();
    for expected in [
        "neuvola",
        "kouluterveydenhuolto",
        "opiskeluterveydenhuolto",
        "perhesosiaalityö",
        "lapsiperheiden_kotipalvelu",
        "perheneuvola",
        "neuvolapsykologit",
        "perhetyö",
        "perheoikeudellinen_yksikkö",
        "nuorisoasema",
    ] {
        assert!(services.contains(expected), "missing service {expected}: {services:?}");
    }
}

fn segmentations(corpus: &Corpus) -> Vec<&Segmentation> {
    items(corpus)
        .filter_map(|item| match item {
            Item::Segmentation(s) => Some(s),
            _ => None,
        })
        .collect()
}

#[test]
fn segmentations_have_four_segments_with_complete_profile_cards() {
    let corpus = corpus();
    let all = segmentations(&corpus);
    let family_centre =
        all.iter().find(|s| s.units.is_empty()).expect("a family-centre-wide segmentation");
    let names: Vec<&str> = family_centre.segments.iter().map(|s| s.name.text.as_str()).collect();
    assert_eq!(names.len(), 4);
    for expected in ["pärjääjä", "tuki", "yhteistyö", "huolenpito"] {
        assert!(names.contains(&expected), "{names:?}");
    }
    for segmentation in &all {
        for segment in &segmentation.segments {
            let card = &segment.card;
            let fields = [
                &card.basic_strategy,
                &card.goal,
                &card.differences,
                &card.client_experience,
                &card.description,
                &card.emphases,
            ];
            assert!(
                fields.iter().all(|f| f.as_ref().is_some_and(|t| !t.value.trim().is_empty())),
                "{}.{} has an incomplete profile card",
                segmentation.name.text,
                segment.name.text
            );
        }
    }
    let units: BTreeSet<&str> =
        all.iter().flat_map(|s| &s.units).map(|u| u.text.as_str()).collect();
    for unit in ["kouluterveydenhuolto", "perheneuvola", "nuorisoasema"] {
        assert!(units.contains(unit), "no unit-level segmentation for {unit}: {units:?}");
    }
}

#[test]
fn chain_runs_from_neuvola_to_student_health_care_with_referrals() {
    let corpus = corpus();
    let chain = items(&corpus)
        .find_map(|item| match item {
            Item::Chain(c) => Some(c),
            _ => None,
        })
        .expect("a service chain");
    let path: Vec<Vec<&str>> =
        chain.paths.iter().map(|p| p.iter().map(|n| n.text.as_str()).collect()).collect();
    assert!(
        path.contains(&vec!["neuvola", "kouluterveydenhuolto", "opiskeluterveydenhuolto"]),
        "{path:?}"
    );
    let targets: BTreeSet<&str> = chain.referrals.iter().map(|r| r.to.text.as_str()).collect();
    for target in ["perheneuvola", "nuorisoasema", "perhesosiaalityö", "perhetyö"] {
        assert!(targets.contains(target), "no referral to {target}: {targets:?}");
    }
}

fn processes(corpus: &Corpus) -> Vec<&Process> {
    items(corpus)
        .filter_map(|item| match item {
            Item::Process(p) => Some(p),
            _ => None,
        })
        .collect()
}

#[test]
fn processes_have_content_for_every_segment() {
    let corpus = corpus();
    let all = processes(&corpus);
    assert!(all.len() >= 6, "{} processes", all.len());
    for name in [
        "kth_laaja_5lk",
        "lnla_laaja_4v",
        "aitiysneuvola_raskaus",
        "perheneuvola_asiakasprosessi",
        "nuorisoasema_asiakasprosessi",
        "kotipalvelu_perhetyo",
    ] {
        assert!(all.iter().any(|p| p.name.text == name), "missing process {name}");
    }
    let segmentations = segmentations(&corpus);
    for process in &all {
        let segmentation_name =
            process.segmentation.as_ref().expect("every process names its segmentation");
        let segmentation = segmentations
            .iter()
            .find(|s| s.name.text == segmentation_name.text)
            .expect("it resolves");
        for segment in &segmentation.segments {
            assert!(
                process.segments.iter().any(|c| c.segment.text == segment.name.text),
                "{} says nothing of segment {}",
                process.name.text,
                segment.name.text
            );
        }
        // Per-segment content means at least one segment differs from the generic process.
        assert!(process.segments.iter().any(|c| !c.changes.is_empty() || c.responsible.is_some()));
    }
}

#[test]
fn every_phase_that_staff_perform_has_a_workflow() {
    let corpus = corpus();
    let client_roles: BTreeSet<&str> = items(&corpus)
        .filter_map(|item| match item {
            Item::Role(r) if r.client => Some(r.name.text.as_str()),
            _ => None,
        })
        .collect();
    let workflows: HashMap<(&str, &str), &Workflow> = items(&corpus)
        .filter_map(|item| match item {
            Item::Workflow(w) => Some(((w.process.text.as_str(), w.phase.text.as_str()), w)),
            _ => None,
        })
        .collect();
    for process in processes(&corpus) {
        for phase in &process.phases {
            let staff = phase
                .steps
                .iter()
                .flat_map(|s| &s.attrs.roles)
                .any(|role| !client_roles.contains(role.text.as_str()));
            if staff {
                assert!(
                    workflows.contains_key(&(process.name.text.as_str(), phase.name.text.as_str())),
                    "{}.{} is performed by staff but has no workflow",
                    process.name.text,
                    phase.name.text
                );
            }
        }
    }
}

/// The second shipped model, Keski-Suomi's neuvola (`processes/keski-suomi`), written with the
/// constructs a second region needs: one segmentation for two units, the step that assesses the
/// segment, guidance, and steps placed before or after others.
fn keski_suomi() -> (polku_dsl::Checked, polku_dsl::SourceSet) {
    let dir = workspace_dir().join("processes").join("keski-suomi");
    let files = polku_files(&dir);
    let (sources, unreadable, problems) = load(&files, &workspace_dir());
    assert!(unreadable.is_empty() && problems.is_empty());
    (polku_dsl::check(&sources, &[]), sources)
}

#[test]
fn the_keski_suomi_model_checks_clean_with_every_rule() {
    let (checked, sources) = keski_suomi();
    let mut all = checked.diagnostics.clone();
    all.extend(polku_engine::validate(&checked.files, polku_engine::Limits::default()).diagnostics);
    let rendered = diagnostic::render(&all, &sources, Lang::En);
    assert!(all.is_empty(), "{rendered}");
    for id in sources.ids() {
        let file = sources.get(id);
        let formatted = polku_dsl::format_source(id, &file.text).expect("the model parses");
        assert!(formatted == file.text, "{} is not formatted", file.path);
    }
}

#[test]
fn the_keski_suomi_model_has_its_checks_and_one_segmentation_for_both_clinics() {
    let (checked, _) = keski_suomi();
    let model = polku_engine::compile(&checked.files);
    assert_eq!(
        model.segmentations["neuvola"].units,
        ["äitiysneuvola".to_owned(), "lastenneuvola".to_owned()]
    );
    for name in [
        "aitiysneuvola_laaja",
        "lastenneuvola_laaja_4kk",
        "lastenneuvola_laaja_18kk",
        "lastenneuvola_laaja_4v",
    ] {
        let process = &model.processes[name];
        let assessing: Vec<&str> = process
            .generic
            .steps
            .iter()
            .filter(|s| s.assesses_segment)
            .map(|s| s.name.as_str())
            .collect();
        assert_eq!(assessing, ["th_tarkastus"], "{name} assesses the segment in its check");
        for segment in ["pärjääjä", "tuki", "yhteistyö", "huolenpito"] {
            let plan = &process.plans[segment];
            // The segment's content starts after the assessing step: the steps up to it are
            // the generic ones, unchanged.
            let upto = plan.steps.iter().position(|s| s.assesses_segment).unwrap();
            assert!(
                plan.steps[..=upto].iter().all(|s| s.origin == polku_engine::plan::Origin::Generic),
                "{name}/{segment}"
            );
        }
        // Seed 003's central outcome: more support for those who need it.
        let visits = |segment: &str| -> u32 {
            process.plans[segment]
                .steps
                .iter()
                .filter(|s| s.roles.iter().any(|r| r == "terveydenhoitaja"))
                .map(|s| s.count)
                .sum()
        };
        assert!(visits("huolenpito") > visits("pärjääjä"), "{name}");
        assert!(visits("tuki") > visits("pärjääjä"), "{name}");
    }
}
