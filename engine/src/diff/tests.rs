use polku_dsl::{Lang, SourceSet};

use super::report::human;
use super::*;

fn model(text: &str) -> Model {
    let mut sources = SourceSet::new();
    sources.add("m.polku", text);
    let checked = polku_dsl::check(&sources, &[]);
    assert!(!checked.has_errors(), "{:?}", checked.diagnostics);
    crate::compile(&checked.files)
}

const BASE: &str = r#"
rooli th "Terveydenhoitaja"
rooli lääkäri "Lääkäri"
rooli huoltaja "Huoltaja" asiakas
tieto tulkki "Perhe tarvitsee tulkin"
palvelu neuvola "Neuvola" { koodi "SPAT1" }
palvelu perheneuvola "Perheneuvola"
segmentointi s "S" {
  akseli tarve "Avun tarve": kevyt | runsas
  segmentti a "A" (tarve kevyt)
  segmentti b "B" (tarve runsas)
}
prosessi p "P" {
  palvelu neuvola
  segmentointi s
  vaihe v1 "V1" asiakas { askel lomake "Lomake" tekijä huoltaja kanava sähköinen }
  vaihe v2 "V2" {
    askel käynti "Käynti" tekijät th, lääkäri kesto 30 min määräaika 4 vk tapauksen alusta
    askel lääkäri "Lääkärin käynti" tekijä lääkäri kesto 15 min
  }
  segmentti a perii
  segmentti b {
    muuta käynti kesto 60 min
    poista lääkäri "Ei tarvita"
  }
}
työnkulku p.v2 "Työnjako" {
  kaista th { tehtävä t "T" askel käynti }
  kaista lääkäri { tehtävä l "L" askel lääkäri }
}
"#;

/// The base model with each `(from, to)` replaced.
fn edited(edits: &[(&str, &str)]) -> Model {
    let mut text = BASE.to_owned();
    for (from, to) in edits {
        assert!(text.contains(from), "the base model has no `{from}`");
        text = text.replacen(from, to, 1);
    }
    model(&text)
}

/// The changes between the base model and the base model edited.
fn changes(edits: &[(&str, &str)]) -> Vec<Change> {
    diff(&model(BASE), &edited(edits))
}

fn written(text: &str) -> Option<Value> {
    Some(Value::Written(text.to_owned()))
}

fn lines(changes: &[Change], lang: Lang) -> Vec<String> {
    human(changes, lang).lines().map(str::to_owned).collect()
}

#[test]
fn the_same_model_has_no_differences() {
    assert_eq!(diff(&model(BASE), &model(BASE)), []);
    assert_eq!(human(&[], Lang::Fi), "ei eroja\n");
    assert_eq!(human(&[], Lang::En), "no differences\n");
}

#[test]
fn a_changed_deadline_is_one_change_of_the_step_with_both_values_as_written() {
    let found = changes(&[("määräaika 4 vk", "määräaika 6 vk")]);
    assert_eq!(found.len(), 1, "{found:#?}");
    let change = &found[0];
    assert_eq!((change.kind, change.subject, change.level), (Kind::Changed, Subject::Step, 3));
    assert_eq!(change.path, ["p", "v2", "käynti"]);
    assert_eq!(change.new_title.as_deref(), Some("Käynti"));
    assert_eq!(
        change.details,
        [Detail {
            attribute: Attribute::Deadline,
            item: None,
            old: written("4 vk tapauksen alusta"),
            new: written("6 vk tapauksen alusta"),
        }]
    );
    assert_eq!(
        lines(&found, Lang::Fi),
        [
            "Taso 3: asiakasprosessit",
            "  Muutettu askel  p.v2.käynti: määräaika 4 vk tapauksen alusta → 6 vk tapauksen alusta",
            "",
            "1 muutos",
        ]
    );
}

#[test]
fn every_attribute_of_a_step_is_compared_and_named_in_both_languages() {
    let found = changes(&[(
        r#"askel lomake "Lomake" tekijä huoltaja kanava sähköinen"#,
        r#"askel lomake "Esitietolomake" tekijä huoltaja kanava kotikäynti valinnainen jos tulkki määrä 2 väli 1 kk lakisääteinen "L 1 §" kuvaus "Perheen esitiedot""#,
    )]);
    assert_eq!(found.len(), 1, "{found:#?}");
    let attributes: Vec<Attribute> = found[0].details.iter().map(|d| d.attribute).collect();
    assert_eq!(
        attributes,
        [
            Attribute::Title,
            Attribute::Count,
            Attribute::Interval,
            Attribute::Statutory,
            Attribute::Channel,
            Attribute::Required,
            Attribute::Condition,
            Attribute::Description,
        ]
    );
    assert_eq!(
        lines(&found, Lang::En)[1],
        "  Changed step  p.v1.lomake: title \"Lomake\" → \"Esitietolomake\"; times 1 → 2; \
         interval – → 1 kk; statutory – → \"L 1 §\"; channel digital → home visit; \
         required yes → no; only if – → jos tulkki; description – → \"Perheen esitiedot\""
    );
    assert_eq!(
        lines(&found, Lang::Fi)[1],
        "  Muutettu askel  p.v1.lomake: nimi \"Lomake\" → \"Esitietolomake\"; määrä 1 → 2; \
         väli – → 1 kk; lakisääteinen – → \"L 1 §\"; kanava sähköinen → kotikäynti; \
         pakollinen kyllä → ei; ehto – → jos tulkki; kuvaus – → \"Perheen esitiedot\""
    );
}

#[test]
fn the_roles_of_a_step_are_compared_without_regard_to_order() {
    assert_eq!(changes(&[("tekijät th, lääkäri", "tekijät lääkäri, th")]), []);
    let found = changes(&[("tekijät th, lääkäri", "tekijät th")]);
    assert_eq!(found[0].details[0].attribute, Attribute::Roles);
    assert_eq!(
        lines(&found, Lang::Fi)[1],
        "  Muutettu askel  p.v2.käynti: tekijät th, lääkäri → th"
    );
}

#[test]
fn a_changed_step_order_is_reported_but_an_added_step_alone_is_not_an_order_change() {
    let swapped = changes(&[
        (
            r#"    askel käynti "Käynti" tekijät th, lääkäri kesto 30 min määräaika 4 vk tapauksen alusta
"#,
            "",
        ),
        (
            r#"    askel lääkäri "Lääkärin käynti" tekijä lääkäri kesto 15 min
"#,
            r#"    askel lääkäri "Lääkärin käynti" tekijä lääkäri kesto 15 min
    askel käynti "Käynti" tekijät th, lääkäri kesto 30 min määräaika 4 vk tapauksen alusta
"#,
        ),
    ]);
    assert_eq!(swapped.len(), 1, "{swapped:#?}");
    assert_eq!(
        (swapped[0].subject, &swapped[0].path[..]),
        (Subject::Phase, &["p".to_owned(), "v2".to_owned()][..])
    );
    assert_eq!(
        lines(&swapped, Lang::Fi)[1],
        "  Muutettu vaihe  p.v2: järjestys käynti, lääkäri → lääkäri, käynti"
    );
    let added = changes(&[(
        r#"tekijä lääkäri kesto 15 min"#,
        "tekijä lääkäri kesto 15 min\n    askel soitto \"Soitto\" tekijä th kanava puhelin",
    )]);
    assert_eq!(lines(&added, Lang::Fi)[1], "  Lisätty askel  p.v2.soitto \"Soitto\"");
    assert_eq!(added.len(), 1, "{added:#?}");
}

#[test]
fn a_flow_that_branches_is_compared_by_its_arrows() {
    let found = changes(&[(
        r#"kaista lääkäri { tehtävä l "L" askel lääkäri }"#,
        r#"kaista lääkäri { tehtävä l "L" askel lääkäri }
  kulku (t kun segmentti b | muuten l)"#,
    )]);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0].subject, Subject::Workflow);
    assert_eq!(
        lines(&found, Lang::En)[1],
        "  Changed workflow  p.v2: flow +(start) -> l (otherwise), +(start) -> t (when segment b), \
         +t -> (end), −(start) -> t, −t -> l"
    );
    assert_eq!(
        lines(&found, Lang::Fi)[1],
        "  Muutettu työnkulku  p.v2: kulku +(alku) -> l (muuten), +(alku) -> t (kun segmentti b), \
         +t -> (loppu), −(alku) -> t, −t -> l"
    );
}

#[test]
fn segment_content_is_compared_as_what_it_does_to_the_generic_process() {
    let found = changes(&[
        ("segmentti a perii", "segmentti a { muuta käynti kesto 45 min }"),
        ("muuta käynti kesto 60 min", "muuta käynti kesto 90 min"),
        (
            r#"poista lääkäri "Ei tarvita""#,
            r#"lisää askel soitto "Soitto" vaiheeseen v2 tekijä th"#,
        ),
    ]);
    let fi = lines(&found, Lang::Fi);
    assert_eq!(
        fi,
        [
            "Taso 3: asiakasprosessit",
            "  Segmentti a muuttaa nyt askelta     p.v2.käynti \"Käynti\": kesto 30 min → 45 min",
            "  Segmentti b lisää nyt askeleen      p.v2.soitto \"Soitto\"",
            "  Segmentti b ei enää poista askelta  p.v2.lääkäri \"Lääkärin käynti\": perustelu \"Ei tarvita\"",
            "  Segmentti b muuttaa askelta toisin  p.v2.käynti: kesto 60 min → 90 min",
            "",
            "4 muutosta",
        ],
        "{found:#?}"
    );
    let en = lines(&found, Lang::En);
    assert_eq!(en[3], "  Segment b no longer removes step    p.v2.lääkäri \"Lääkärin käynti\": reason \"Ei tarvita\"");
    assert_eq!(found[0].segment.as_deref(), Some("a"));
}

#[test]
fn a_generic_change_is_not_repeated_for_the_segments_that_inherit_it() {
    let found = changes(&[("kesto 15 min", "kesto 20 min")]);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0].subject, Subject::Step);
}

#[test]
fn a_segment_that_no_longer_changes_a_step_shows_the_value_its_clients_now_get() {
    let found = changes(&[("muuta käynti kesto 60 min", "")]);
    assert_eq!(
        lines(&found, Lang::Fi)[1],
        "  Segmentti b ei enää muuta askelta  p.v2.käynti \"Käynti\": kesto 60 min → 30 min"
    );
}

#[test]
fn workflows_tasks_and_lanes() {
    let found = changes(&[
        (r#"tehtävä l "L" askel lääkäri"#, r#"tehtävä l "L" askel lääkäri kesto 20 min"#),
        (
            r#"kaista th { tehtävä t "T" askel käynti }"#,
            r#"kaista th { tehtävä t "T" askel käynti; tehtävä u "U" }
  kaista huoltaja { tehtävä h "H" }"#,
        ),
    ]);
    assert_eq!(
        lines(&found, Lang::Fi),
        [
            "Taso 4: työnkulut",
            // The tasks follow each other as written, and t and l keep their order: the added
            // tasks say it all.
            "  Lisätty kaista    p.v2.huoltaja \"Huoltaja\"",
            "  Lisätty tehtävä   p.v2.h \"H\"",
            "  Muutettu tehtävä  p.v2.l: kesto – → 20 min",
            "  Lisätty tehtävä   p.v2.u \"U\"",
            "",
            "4 muutosta",
        ],
        "{found:#?}"
    );
}

#[test]
fn levels_come_in_order_and_names_in_order_within_them() {
    let found = changes(&[
        (r#"palvelu perheneuvola "Perheneuvola""#, r#"palvelu kotipalvelu "Kotipalvelu""#),
        (r#"rooli huoltaja "Huoltaja" asiakas"#, r#"rooli huoltaja "Huoltaja""#),
        (
            "segmentti b \"B\" (tarve runsas)",
            "segmentti b \"B\" (tarve runsas)\n  segmentti c \"C\"",
        ),
        (
            r#"palvelu neuvola "Neuvola" { koodi "SPAT1" }"#,
            r#"palvelu neuvola "Neuvola" { koodi "SPAT2" }"#,
        ),
    ]);
    assert_eq!(
        lines(&found, Lang::En),
        [
            "Level 1: catalogue, roles and service chains",
            "  Changed role     huoltaja: client role yes → no",
            "  Added service    kotipalvelu \"Kotipalvelu\"",
            "  Changed service  neuvola: code \"SPAT1\" → \"SPAT2\"",
            "  Removed service  perheneuvola \"Perheneuvola\"",
            "",
            "Level 2: segmentations, assessment forms and marker rules",
            "  Added segment  s.c \"C\"",
            "",
            "5 changes",
        ]
    );
    let json = serde_json::to_value(&found[2]).expect("a change serialises");
    assert_eq!(
        json,
        serde_json::json!({
            "kind": "changed",
            "subject": "service",
            "level": 1,
            "path": ["neuvola"],
            "segment": null,
            "old_title": "Neuvola",
            "new_title": "Neuvola",
            "details": [{ "attribute": "code", "old": "SPAT1", "new": "SPAT2" }],
        })
    );
}

#[test]
fn an_arrow_walks_through_gateways_and_a_sequence_is_read_from_its_arrows() {
    let m = model(
        r#"
rooli th "T"
prosessi p "P" {
  vaihe a "A" { askel xa "X" tekijä th }
  vaihe b "B" { askel xb "X" tekijä th }
  vaihe c "C" { askel xc "X" tekijä th }
  vaihe d "D" { askel xd "X" tekijä th }
  kulku a -> (b & c) -> toista (d) kunnes "valmis"
}
"#,
    );
    let diagram = &m.processes["p"].phase_diagram;
    let found: Vec<String> = arrows(diagram).iter().map(|a| report::arrow(a, Lang::Fi)).collect();
    assert_eq!(
        found,
        [
            "(alku) -> a",
            "a -> b (rinnakkain)",
            "a -> c (rinnakkain)",
            "b -> d (rinnakkain)",
            "c -> d (rinnakkain)",
            "d -> (loppu)",
            "d -> d (toistuu, kunnes \"valmis\")",
        ]
    );
    assert_eq!(sequence(diagram, &arrows(diagram)), None);
    let plain = &model(BASE).processes["p"];
    let steps = &plain.phases[1].diagram;
    assert_eq!(
        sequence(steps, &arrows(steps)),
        Some(vec!["käynti".to_owned(), "lääkäri".to_owned()])
    );
}

const LEVELS_1_AND_2: &str = r#"
organisaatio alue "Hyvinvointialue"
rooli th "Terveydenhoitaja"
tieto sikiöitä "Sikiöiden määrä" luku
palvelu neuvola "Neuvola"
palvelu perheneuvola "Perheneuvola" { laki "SHL 1301/2014" }
segmentointi s "S" {
  akseli tarve "Avun tarve": kevyt | runsas
  segmentti a "A" (tarve kevyt) { tavoite "Pärjää" }
  segmentti b "B" (tarve runsas)
}
palveluketju k "K" {
  segmentointi s
  polku neuvola -> perheneuvola
  ohjaus neuvola -> perheneuvola kun b "Kasvatusneuvonta"
}
prosessi p "P" {
  segmentointi s
  vaihe v "V" { askel lomake "Lomake" tekijä th arvioi segmentin }
}
lomake f "Lomake" {
  segmentointi s
  askel p.lomake
  kysymys huoli "Onko huolta?" kyllä_ei
  akseli tarve {
    runsas kun huoli kyllä
    kevyt kun huoli ei
  }
}
merkkisäännöt m "Merkit" {
  segmentointi s
  segmentti b kun koodi ICD10 F10 ikkuna 12 kk etusija 1
  muuten a
}
"#;

#[test]
fn the_catalogue_segmentations_forms_and_marker_rules() {
    let edited = LEVELS_1_AND_2
        .replace("\"Hyvinvointialue\"", "\"Keski-Uudenmaan hyvinvointialue\"")
        .replace("\"Sikiöiden määrä\" luku", "\"Sikiöiden määrä\"")
        .replace("laki \"SHL 1301/2014\"", "laki \"SHL 1301/2014 27 §\"")
        .replace("kun b \"Kasvatusneuvonta\"", "kun a, b \"Kasvatusneuvonta\"")
        .replace("kevyt | runsas", "kevyt | runsas | ei_tiedossa")
        .replace("tavoite \"Pärjää\"", "tavoite \"Pärjää itse\"")
        .replace("kyllä_ei", "valinta ei | vähän | paljon")
        .replace("runsas kun huoli kyllä", "runsas kun huoli paljon")
        .replace("kevyt kun huoli ei", "kevyt kun huoli ei, vähän")
        .replace("F10 ikkuna 12 kk", "F10, F11 ikkuna 6 kk");
    let found = diff(&model(LEVELS_1_AND_2), &model(&edited));
    assert_eq!(
        lines(&found, Lang::En),
        [
            "Level 1: catalogue, roles and service chains",
            "  Changed organisation   alue: title \"Hyvinvointialue\" → \"Keski-Uudenmaan hyvinvointialue\"",
            "  Changed fact           sikiöitä: numeric yes → no",
            "  Changed service        perheneuvola: legal basis \"SHL 1301/2014\" → \"SHL 1301/2014 27 §\"",
            "  Changed service chain  k: referrals +neuvola -> perheneuvola kun a, b \"Kasvatusneuvonta\", \
             −neuvola -> perheneuvola kun b \"Kasvatusneuvonta\"",
            "",
            "Level 2: segmentations, assessment forms and marker rules",
            "  Changed axis             s.tarve: values kevyt, runsas → kevyt, runsas, ei_tiedossa",
            "  Changed segment          s.a: goal \"Pärjää\" → \"Pärjää itse\"",
            "  Changed assessment form  f: question huoli \"Onko huolta?\" kyllä_ei → \"Onko huolta?\" \
             valinta ei | vähän | paljon; scoring tarve runsas kun huoli kyllä; kevyt kun huoli ei → \
             runsas kun huoli paljon; kevyt kun huoli ei, vähän",
            "  Changed marker rules     m: rules +segmentti b kun koodi ICD10 F10, F11 ikkuna 6 kk etusija 1, \
             −segmentti b kun koodi ICD10 F10 ikkuna 12 kk etusija 1",
            "",
            "8 changes",
        ]
    );
}

#[test]
fn processes_phases_and_whole_segment_content() {
    let found = changes(&[
        ("  palvelu neuvola\n", "  palvelu perheneuvola\n"),
        (r#"vaihe v1 "V1" asiakas"#, r#"vaihe v1 "Esitiedot""#),
        (r#"vaihe v2 "V2" {"#, r#"vaihe v2 "V2" valmis "Käynnit tehty" {"#),
        ("  segmentti a perii\n", ""),
        (
            "    poista lääkäri \"Ei tarvita\"\n",
            "    vastuutyöntekijä th\n    lisää askel soitto \"Soitto\" vaiheeseen v2 tekijä th\n",
        ),
    ]);
    assert_eq!(
        lines(&found, Lang::Fi),
        [
            "Taso 3: asiakasprosessit",
            "  Muutettu prosessi                   p: palvelu neuvola → perheneuvola",
            "  Muutettu vaihe                      p.v1: nimi \"V1\" → \"Esitiedot\"; asiakkaan vaihe kyllä → ei",
            "  Muutettu vaihe                      p.v2: valmis kun – → \"Käynnit tehty\"",
            "  Poistettu segmentin a sisältö       p",
            "  Muutettu segmentin b sisältöä       p: vastuutyöntekijä – → th",
            "  Segmentti b lisää nyt askeleen      p.v2.soitto \"Soitto\"",
            "  Segmentti b ei enää poista askelta  p.v2.lääkäri \"Lääkärin käynti\": perustelu \"Ei tarvita\"",
            "",
            "7 muutosta",
        ]
    );
    let back = diff(&edited(&[("  segmentti a perii\n", "")]), &model(BASE));
    assert_eq!(lines(&back, Lang::En)[1], "  Added content for segment a  p");

    let added = changes(&[(
        "    poista lääkäri \"Ei tarvita\"\n",
        "    lisää askel soitto \"Soitto\" vaiheeseen v2 tekijä th\n",
    )]);
    let more = diff(
        &edited(&[(
            "    poista lääkäri \"Ei tarvita\"\n",
            "    lisää askel soitto \"Soitto\" vaiheeseen v2 tekijä th\n",
        )]),
        &edited(&[(
            "    poista lääkäri \"Ei tarvita\"\n",
            "    lisää askel soitto \"Soitto\" vaiheeseen v2 tekijä th kanava puhelin\n",
        )]),
    );
    assert_eq!(added.len(), 2, "{added:#?}");
    assert_eq!(
        lines(&more, Lang::Fi)[1],
        "  Muutettu segmentin b lisäämää askelta  p.v2.soitto: kanava – → puhelin"
    );
}

#[test]
fn values_serialise_as_plain_json() {
    let found = changes(&[
        ("tekijät th, lääkäri kesto 30 min", "tekijät th kesto 30 min kanava kotikäynti"),
        (
            r#"kaista lääkäri { tehtävä l "L" askel lääkäri }"#,
            "kaista lääkäri { tehtävä l \"L\" askel lääkäri }\n  kulku (t & l)",
        ),
    ]);
    let json = serde_json::to_value(&found).expect("changes serialise");
    assert_eq!(
        json[0]["details"],
        serde_json::json!([
            { "attribute": "roles", "old": ["th", "lääkäri"], "new": ["th"] },
            { "attribute": "channel", "old": null, "new": "home_visit" },
        ])
    );
    assert_eq!(json[1]["subject"], "workflow");
    assert_eq!(
        json[1]["details"][0]["new"][0],
        serde_json::json!({
            "from": null, "to": "l", "condition": null, "segments": [],
            "default": false, "parallel": true, "back": false
        })
    );
}
