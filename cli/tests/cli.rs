//! The `polku` binary as its users run it: exit codes, output formats, languages, and files
//! on disk.

#![allow(clippy::unwrap_used)] // A test that cannot set up should fail loudly.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{finish, workspace};

fn polku(args: &[&str], dir: &Path) -> Output {
    polku_with_locale(args, dir, "C.UTF-8")
}

fn polku_with_locale(args: &[&str], dir: &Path, lang: &str) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_polku"));
    command
        .args(args)
        .current_dir(dir)
        .env_remove("LC_ALL")
        .env_remove("LC_MESSAGES")
        .env("LANG", lang);
    finish(command, &format!("polku {args:?}"))
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn scratch(name: &str) -> PathBuf {
    common::scratch("polku-cli", name)
}

const MODEL: &str = "rooli terveydenhoitaja \"Terveydenhoitaja\"\n";
const PROCESS: &str =
    "prosessi p \"P\" {\n  vaihe a \"A\" {\n    askel x \"X\" tekijä terveydenhoitaja\n  }\n}\n\
    työnkulku p.a \"A\" {\n  kaista terveydenhoitaja {\n    tehtävä t \"T\" askel x\n  }\n}\n";

#[test]
fn shipped_corpus_checks_clean() {
    let output = polku(&["check", "processes"], &workspace());
    assert_eq!(output.status.code(), Some(0), "{}{}", stdout(&output), stderr(&output));
    assert!(stderr(&output).contains("0 errors"), "{}", stderr(&output));
}

#[test]
fn errors_exit_1_with_file_line_column_and_hint() {
    let dir = scratch("errors");
    std::fs::write(
        dir.join("a.polku"),
        format!("{MODEL}{}", PROCESS.replace("tekijä terveydenhoitaja", "tekijä terveydenhoitja")),
    )
    .unwrap();
    let output = polku(&["check", "a.polku"], &dir);
    assert_eq!(output.status.code(), Some(1));
    let text = stdout(&output);
    assert!(text.contains("error[R001]: unknown role `terveydenhoitja`"), "{text}");
    assert!(text.contains("--> a.polku:4:24"), "{text}");
    assert!(text.contains("did you mean `terveydenhoitaja`?"), "{text}");
    assert!(text.contains("^^^^^^^^^^^^^^^"), "{text}");
}

#[test]
fn json_output_carries_every_field() {
    let dir = scratch("json");
    std::fs::write(dir.join("a.polku"), "rooli a \"A\" @\nrooli b \"B\" {\n}\n").unwrap();
    let output = polku(&["check", "--format", "json", "."], &dir);
    assert_eq!(output.status.code(), Some(1));
    let value: serde_json::Value = serde_json::from_str(&stdout(&output)).expect("stdout is JSON");
    let array = value.as_array().expect("an array");
    assert_eq!(array.len(), 2, "{value:#}");
    let first = &array[0];
    for field in ["code", "severity", "message", "file", "line", "column", "end_line", "end_column"]
    {
        assert!(first.get(field).is_some(), "missing {field} in {first}");
    }
    assert_eq!(first["code"], "P005");
    assert_eq!(first["severity"], "error");
    assert_eq!(first["file"], "a.polku");
    assert_eq!((first["line"].as_u64(), first["column"].as_u64()), (Some(1), Some(13)));
    assert_eq!(array[1]["code"], "S012");
}

#[test]
fn language_follows_flag_and_locale() {
    let dir = scratch("lang");
    std::fs::write(dir.join("a.polku"), "rooll a \"A\"\n").unwrap();
    let output = polku(&["--lang", "fi", "check", "a.polku"], &dir);
    assert!(
        stdout(&output).contains("virhe[S001]: tuntematon avainsana `rooli`")
            || stdout(&output).contains("virhe[S001]: tuntematon avainsana `rooll`"),
        "{}",
        stdout(&output)
    );
    assert!(stdout(&output).contains("vihje: tarkoititko `rooli`?"), "{}", stdout(&output));
    let finnish = polku_with_locale(&["check", "a.polku"], &dir, "fi_FI.UTF-8");
    assert!(stdout(&finnish).contains("virhe[S001]"), "{}", stdout(&finnish));
    let english = polku(&["check", "a.polku"], &dir);
    assert!(
        stdout(&english).contains("error[S001]: unknown keyword `rooll`"),
        "{}",
        stdout(&english)
    );
}

#[test]
fn a_file_inside_a_model_resolves_names_from_the_other_files() {
    let dir = scratch("model");
    std::fs::write(dir.join("polku.toml"), "[model]\nname = \"Testi\"\n").unwrap();
    std::fs::write(dir.join("roolit.polku"), MODEL).unwrap();
    std::fs::write(dir.join("prosessi.polku"), PROCESS).unwrap();
    let output = polku(&["check", "prosessi.polku"], &dir);
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    assert!(stderr(&output).contains("model: Testi"), "{}", stderr(&output));
    // Without the root, the role is unknown.
    std::fs::remove_file(dir.join("polku.toml")).unwrap();
    let output = polku(&["check", "prosessi.polku"], &dir);
    assert_eq!(output.status.code(), Some(1));
}

#[test]
fn a_model_root_above_the_working_folder_is_found() {
    let dir = scratch("above");
    std::fs::create_dir_all(dir.join("alakansio")).unwrap();
    std::fs::write(dir.join("polku.toml"), "").unwrap();
    std::fs::write(dir.join("roolit.polku"), MODEL).unwrap();
    std::fs::write(dir.join("alakansio/prosessi.polku"), PROCESS).unwrap();
    let output = polku(&["check", "prosessi.polku"], &dir.join("alakansio"));
    assert_eq!(output.status.code(), Some(0), "{}{}", stdout(&output), stderr(&output));
    assert!(stderr(&output).contains("checked 1 file"), "{}", stderr(&output));
    // A problem in the named file is still reported when the root is found above.
    std::fs::write(
        dir.join("alakansio/prosessi.polku"),
        PROCESS.replace("tekijä terveydenhoitaja", "tekijä lääkäri"),
    )
    .unwrap();
    let output = polku(&["check", "prosessi.polku"], &dir.join("alakansio"));
    assert_eq!(output.status.code(), Some(1), "{}{}", stdout(&output), stderr(&output));
    assert!(stdout(&output).contains("unknown role `lääkäri`"), "{}", stdout(&output));
}

#[test]
fn usage_and_input_errors_exit_2() {
    let dir = scratch("usage");
    assert_eq!(polku(&["check"], &dir).status.code(), Some(2));
    assert_eq!(polku(&["check", "missing.polku"], &dir).status.code(), Some(2));
    assert_eq!(polku(&["frobnicate"], &dir).status.code(), Some(2));
    std::fs::write(dir.join("polku.toml"), "[model\nname = 1").unwrap();
    std::fs::write(dir.join("a.polku"), MODEL).unwrap();
    let output = polku(&["check", "."], &dir);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("polku.toml"), "{}", stderr(&output));
}

#[test]
fn invalid_utf8_is_reported_with_its_position() {
    let dir = scratch("utf8");
    std::fs::write(dir.join("a.polku"), b"rooli a \"A\"\nrooli b \"\xff\"\n").unwrap();
    let output = polku(&["check", "a.polku"], &dir);
    assert_eq!(output.status.code(), Some(1));
    assert!(stdout(&output).contains("error[P001]"), "{}", stdout(&output));
    assert!(stdout(&output).contains("a.polku:2:10"), "{}", stdout(&output));
}

#[test]
fn fmt_check_names_files_and_fmt_rewrites_keeping_comments() {
    let dir = scratch("fmt");
    let messy = "// otsikko\nrooli   a \"A\" ;rooli b \"B\"  // perään\n\n\n\nprosessi p \"P\" { vaihe v \"V\" }\n";
    std::fs::write(dir.join("a.polku"), messy).unwrap();
    std::fs::write(dir.join("b.polku"), MODEL).unwrap();
    let output = polku(&["fmt", "--check", "."], &dir);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stdout(&output).contains("would reformat: ./a.polku")
            || stdout(&output).contains("would reformat: a.polku"),
        "{}",
        stdout(&output)
    );
    assert!(!stdout(&output).contains("b.polku"), "{}", stdout(&output));
    assert_eq!(
        std::fs::read_to_string(dir.join("a.polku")).unwrap(),
        messy,
        "--check changes nothing"
    );

    let output = polku(&["fmt", "a.polku"], &dir);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let formatted = std::fs::read_to_string(dir.join("a.polku")).unwrap();
    assert_eq!(
        formatted,
        "// otsikko\nrooli a \"A\"\nrooli b \"B\" // perään\n\nprosessi p \"P\" {\n  vaihe v \"V\"\n}\n"
    );
    assert_eq!(polku(&["fmt", "--check", "."], &dir).status.code(), Some(0));
}

#[test]
fn fmt_refuses_a_file_with_syntax_errors() {
    let dir = scratch("fmt-errors");
    let broken = "rooli a \"A\nrooli  b \"B\"\n";
    std::fs::write(dir.join("a.polku"), broken).unwrap();
    let output = polku(&["fmt", "a.polku"], &dir);
    assert_eq!(output.status.code(), Some(1));
    assert!(stdout(&output).contains("P002"), "{}", stdout(&output));
    assert_eq!(std::fs::read_to_string(dir.join("a.polku")).unwrap(), broken);
}

#[test]
fn help_lists_the_commands() {
    let output = polku(&["--help"], &workspace());
    assert_eq!(output.status.code(), Some(0));
    let text = stdout(&output);
    assert!(text.contains("check") && text.contains("fmt"), "{text}");
    let output = polku(&["check", "--help"], &workspace());
    assert!(stdout(&output).contains("--format"), "{}", stdout(&output));
}

#[test]
fn plan_shows_each_segment_as_the_process_file_says() {
    let root = workspace();
    let output = polku(
        &["plan", "kth_laaja_5lk", "--segment", "tuki", "--model", "processes/keusote"],
        &root,
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let text = stdout(&output);
    let doctor =
        text.lines().find(|l| l.contains(" lääkäri ") && l.starts_with("tarkastus")).unwrap();
    assert!(doctor.contains("30 min") && doctor.contains("changed: kesto"), "{doctor}");
    assert!(text.lines().any(|l| l.contains("seurantakäynti") && l.contains("added")), "{text}");

    let output = polku(
        &["plan", "kth_laaja_5lk", "--model", "processes/keusote", "--format", "json"],
        &root,
    );
    let plans: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    let plans = plans.as_array().unwrap();
    assert_eq!(plans.len(), 5, "generic and four segments");
    let segment = |name: &str| plans.iter().find(|p| p["segment"] == name).unwrap();
    assert_eq!(segment("huolenpito")["responsible"], "terveydenhoitaja");
    assert!(segment("pärjääjä")["inherits"].as_bool().unwrap());
    let doctor_minutes = |plan: &serde_json::Value| {
        let step =
            plan["steps"].as_array().unwrap().iter().find(|s| s["name"] == "lääkäri").unwrap();
        step["duration"]["parts"][0][0].as_u64().unwrap()
    };
    assert_eq!(doctor_minutes(segment("pärjääjä")), 15);
    assert_eq!(doctor_minutes(segment("tuki")), 30);
    assert_eq!(doctor_minutes(segment("huolenpito")), 45);
    // Every statutory step of the generic process is required in every segment's plan.
    for plan in plans {
        for step in plan["steps"].as_array().unwrap() {
            if !step["statutory"].is_null() {
                assert_eq!(step["required"], true, "{}: {}", plan["segment"], step["name"]);
            }
        }
    }

    let output =
        polku(&["--lang", "fi", "plan", "kth_laaja_5lk", "--model", "processes/keusote"], &root);
    let text = stdout(&output);
    assert!(text.contains("vastuutyöntekijä") && text.contains("huolenpito"), "{text}");
    assert!(
        text.lines().any(|l| l.contains("tiivis_seuranta") && l.contains("+ 30 min ×3")),
        "{text}"
    );
}

#[test]
fn plan_shows_what_each_segment_changes_places_and_guides() {
    let root = workspace();
    let model = ["--model", "processes/keski-suomi"];
    let run = |args: &[&str]| {
        let mut all: Vec<&str> = args.to_vec();
        all.extend(model);
        let output = polku(&all, &root);
        assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
        stdout(&output)
    };
    let text = run(&["--lang", "fi", "plan", "aitiysneuvola_laaja"]);
    let row = |name: &str| {
        text.lines().find(|l| l.split_whitespace().nth(1) == Some(name)).unwrap_or("").to_owned()
    };
    // More frequent visits: the count and the interval, not just a mark.
    assert!(row("lisäkäynnit").contains("+ 45 min ×2 /4 vk"), "{text}");
    // A changed channel, a referral target, a deadline and a guidance mark.
    assert!(row("perhevalmennus").contains("* ✓ [video] ?ensisynnyttäjä ✎"), "{text}");
    // Conditions on the case's facts, and a step done once per fetus.
    assert!(row("tulkin_varaus").contains("✓ ?tulkki"), "{text}");
    assert!(row("sikiön_seuranta").contains("10 min ×sikiöitä"), "{text}");
    assert!(text.contains("?F vain kun tapauksen tieto F pätee"), "{text}");
    assert!(row("perhetyöhön").contains("→perhetyo"), "{text}");
    assert!(row("kotikäynti").contains("≤4 vk askeleesta th_tarkastus"), "{text}");
    assert!(text.contains("×N käyntiä"), "the legend explains the marks: {text}");
    // `ennen hoitosuunnitelma` puts the step before the record, not at the end of the phase.
    let at = |name: &str| text.lines().position(|l| l.split_whitespace().nth(1) == Some(name));
    assert!(at("äitiyspoliklinikalle") < at("hoitosuunnitelma"), "{text}");

    let text = run(&["--lang", "en", "plan", "aitiysneuvola_laaja", "--segment", "huolenpito"]);
    assert!(text.contains("4 wk after step th_tarkastus"), "English deadlines: {text}");
    assert!(text.contains("pregnancy week 13 – pregnancy week 18"), "{text}");
    assert!(text.contains("if ensisynnyttäjä") && text.contains("once per sikiöitä"), "{text}");
    assert!(text.contains("the segment is assessed in `th_tarkastus`"), "{text}");
    assert!(
        text.contains("guidance (segment huolenpito): Nimeä vastuutyöntekijä"),
        "the segment's own guidance: {text}"
    );
    let text = run(&["--lang", "fi", "plan", "aitiysneuvola_laaja", "--segment", "pärjääjä"]);
    assert!(text.contains("Kuvaukset ja ohjeet") && text.contains("ohje (segmentti pärjääjä)"));
}

#[test]
fn plan_names_an_unknown_process_or_segment() {
    let root = workspace();
    let output = polku(&["plan", "kth_laaja_5k", "--model", "processes/keusote"], &root);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("did you mean `kth_laaja_5lk`?"), "{}", stderr(&output));
    let output = polku(
        &["plan", "kth_laaja_5lk", "--segment", "pärjää", "--model", "processes/keusote"],
        &root,
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("pärjääjä, tuki, yhteistyö, huolenpito"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn export_writes_a_pnml_net_and_verdict_for_every_flow() {
    let out = scratch("export");
    let output = polku(
        &["export", "pnml", "--model", "processes/keusote", "--out", out.to_str().unwrap()],
        &workspace(),
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let verdicts: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("verdicts.json")).unwrap()).unwrap();
    let verdicts = verdicts.as_array().unwrap();
    assert!(verdicts.len() >= 90);
    for verdict in verdicts {
        assert_eq!(verdict["sound"], true, "{verdict}");
        let pnml = std::fs::read_to_string(out.join(verdict["file"].as_str().unwrap())).unwrap();
        assert!(pnml.contains("<initialMarking>") && pnml.contains("<finalmarkings>"));
    }
}

#[test]
fn polku_toml_changes_rule_severities() {
    let dir = scratch("severity");
    std::fs::write(dir.join("malli.polku"), "rooli kuraattori \"Kuraattori\"\nprosessi p \"P\" {\n  vaihe a \"A\"\n  vaihe b \"B\"\n  vaihe c \"C\"\n  kulku a -> (b kun \"x\" | c kun \"y\")\n}\n").unwrap();
    std::fs::write(dir.join("polku.toml"), "").unwrap();
    let output = polku(&["check", "."], &dir);
    assert_eq!(output.status.code(), Some(0), "warnings only: {}", stdout(&output));
    assert!(stdout(&output).contains("warning[V001]") && stdout(&output).contains("warning[V007]"));

    std::fs::write(dir.join("polku.toml"), "[rules]\nV007 = \"error\"\nV001 = \"pois\"\n").unwrap();
    let output = polku(&["check", "."], &dir);
    assert_eq!(output.status.code(), Some(1), "{}", stdout(&output));
    assert!(stdout(&output).contains("error[V007]"), "{}", stdout(&output));
    assert!(!stdout(&output).contains("V001"), "{}", stdout(&output));

    std::fs::write(dir.join("polku.toml"), "[rules]\nR001 = \"off\"\n").unwrap();
    let output = polku(&["check", "."], &dir);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("not a validation rule"), "{}", stderr(&output));
    std::fs::write(dir.join("polku.toml"), "[rules]\nV007 = \"loud\"\n").unwrap();
    assert_eq!(polku(&["check", "."], &dir).status.code(), Some(2));
}

#[test]
fn unsound_flows_are_reported_with_a_path() {
    let dir = scratch("unsound");
    std::fs::write(
        dir.join("a.polku"),
        "prosessi p \"P\" {\n  vaihe a \"A\"\n  vaihe b \"B\"\n  vaihe c \"C\"\n  vaihe d \"D\"\n  vaihe e \"E\"\n  kulku a -> (b & c) -> d\n  kulku a -> e -> c\n}\n",
    )
    .unwrap();
    let output = polku(&["check", "--format", "json", "a.polku"], &dir);
    assert_eq!(output.status.code(), Some(1));
    let found: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(found[0]["code"], "V006", "{found:#}");
    assert!(found[0]["message"].as_str().unwrap().contains("`a` → `e` → `c`"), "{found:#}");
    assert_eq!(found[0]["line"], 7);
}

#[test]
fn named_files_are_checked_wherever_they_lie() {
    let dir = scratch("named");
    std::fs::create_dir_all(dir.join("malli/.luonnokset")).unwrap();
    std::fs::create_dir_all(dir.join("muualla")).unwrap();
    std::fs::write(dir.join("malli/polku.toml"), "").unwrap();
    std::fs::write(dir.join("malli/roolit.polku"), MODEL).unwrap();
    // In a hidden folder and without the .polku ending: the walk passes them by, the user names them.
    std::fs::write(dir.join("malli/.luonnokset/luonnos.polku"), "rooll x \"X\"\n").unwrap();
    std::fs::write(dir.join("malli/vanha.txt"), "rooll y \"Y\"\n").unwrap();
    let output = polku(&["check", "malli/.luonnokset/luonnos.polku", "malli/vanha.txt"], &dir);
    assert_eq!(output.status.code(), Some(1), "{}{}", stdout(&output), stderr(&output));
    assert!(
        stdout(&output).contains("luonnos.polku:1:1") && stdout(&output).contains("vanha.txt:1:1"),
        "{}",
        stdout(&output)
    );
    // Reached through `..` from another folder, the model's root is still found.
    std::fs::write(
        dir.join("malli/prosessi.polku"),
        PROCESS.replace("tekijä terveydenhoitaja", "tekijä lääkäri"),
    )
    .unwrap();
    let output = polku(&["check", "../malli/prosessi.polku"], &dir.join("muualla"));
    assert_eq!(output.status.code(), Some(1), "{}{}", stdout(&output), stderr(&output));
    assert!(stdout(&output).contains("unknown role `lääkäri`"), "{}", stdout(&output));
}

#[test]
fn errors_in_unnamed_files_do_not_pass_for_a_clean_check() {
    let dir = scratch("elsewhere");
    std::fs::write(dir.join("polku.toml"), "").unwrap();
    // An unsound flow in the named file, a syntax error in another file of the model.
    std::fs::write(dir.join("a.polku"), "prosessi p \"P\" {\n  vaihe a \"A\"\n  vaihe b \"B\"\n  vaihe c \"C\"\n  kulku a -> b\n}\n").unwrap();
    std::fs::write(dir.join("b.polku"), "rooli x \"X\" tekijä\n").unwrap();
    let output = polku(&["check", "a.polku"], &dir);
    assert_eq!(output.status.code(), Some(1), "{}{}", stdout(&output), stderr(&output));
    assert!(stderr(&output).contains("rules were not run: b.polku"), "{}", stderr(&output));
    std::fs::write(dir.join("b.polku"), "").unwrap();
    let output = polku(&["check", "a.polku"], &dir);
    assert_eq!(output.status.code(), Some(1));
    assert!(stdout(&output).contains("error[V002]"), "{}", stdout(&output));
}

#[test]
fn export_includes_unsound_flows() {
    let dir = scratch("export-unsound");
    std::fs::write(dir.join("polku.toml"), "").unwrap();
    std::fs::write(dir.join("a.polku"), "prosessi p \"P\" {\n  vaihe a \"A\"\n  vaihe b \"B\"\n  vaihe c \"C\"\n  kulku a -> b\n}\n").unwrap();
    let output = polku(&["export", "pnml", "--model", ".", "--out", "nets"], &dir);
    assert_eq!(output.status.code(), Some(0), "{}{}", stdout(&output), stderr(&output));
    let verdicts = std::fs::read_to_string(dir.join("nets/verdicts.json")).unwrap();
    assert!(verdicts.contains("\"sound\": false"), "{verdicts}");
}

#[test]
fn help_is_in_finnish_for_finnish_users() {
    let root = workspace();
    for args in [
        vec!["--lang", "fi", "--help"],
        vec!["--lang", "fi", "-h"],
        vec!["--lang", "fi", "check", "--help"],
        vec!["--lang", "fi", "fmt", "-h"],
        vec!["--lang", "fi", "plan", "--help"],
        vec!["--lang", "fi", "export", "pnml", "-h"],
        vec!["--lang=fi", "export", "--help"],
    ] {
        let output = polku(&args, &root);
        assert_eq!(output.status.code(), Some(0), "{args:?}: {}", stderr(&output));
        let text = stdout(&output);
        assert!(text.contains("Käyttö:") && text.contains("Näytä"), "{args:?}:\n{text}");
        assert!(!text.contains("Options:") && !text.contains("Print help"), "{args:?}:\n{text}");
    }
    let output = polku_with_locale(&["--help"], &root, "fi_FI.UTF-8");
    assert!(stdout(&output).contains("Komennot:"), "{}", stdout(&output));
    assert_eq!(polku_with_locale(&["-V"], &root, "fi_FI.UTF-8").status.code(), Some(0));
    let output = polku(&["--help"], &root);
    assert!(stdout(&output).contains("Usage:"), "{}", stdout(&output));
}

#[test]
fn assess_scores_a_form_filled_in_elsewhere_and_names_a_bad_answer() {
    let root = workspace();
    let dir = std::env::temp_dir().join(format!("polku-assess-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let answers = dir.join("vastaukset.json");
    std::fs::write(
        &answers,
        r#"{"jaksaminen": 2, "mieliala": false, "huolia": true, "huolet": ["talous"], "tukiverkko": "yhdeltä", "kerro": "väsyttää"}"#,
    )
    .unwrap();
    let path = answers.to_string_lossy().into_owned();
    let model = ["--model", "processes/keski-suomi"];
    let mut args = vec!["--lang", "fi", "assess", "odottajan_voimavarat", "--answers", &path];
    args.extend(model);
    let output = polku(&args, &root);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let text = stdout(&output);
    assert!(text.contains("tarve: runsas; vastauksista: jaksaminen, mieliala"), "{text}");
    assert!(text.contains("voimavarat: kuormittuneet (tasapeli)"), "{text}");
    assert!(text.contains("ehdotettu segmentti: huolenpito"), "{text}");
    assert!(!text.contains("väsyttää"), "free text is never repeated: {text}");
    let mut args = vec!["assess", "odottajan_voimavarat", "--answers", &path, "--format", "json"];
    args.extend(model);
    let json: serde_json::Value = serde_json::from_str(&stdout(&polku(&args, &root))).unwrap();
    assert_eq!(json["segment"], "huolenpito");

    std::fs::write(&answers, r#"{"jaksaminen": 9}"#).unwrap();
    let mut args = vec!["assess", "odottajan_voimavarat", "--answers", &path];
    args.extend(model);
    let output = polku(&args, &root);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("answers.jaksaminen: a whole number from 1 to 5"),
        "{}",
        stderr(&output)
    );
    let mut args = vec!["--lang", "fi", "assess", "odottajan_voimavarat", "--answers", &path];
    args.extend(model);
    let output = polku(&args, &root);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("answers.jaksaminen: kokonaisluku 1–5"),
        "{}",
        stderr(&output)
    );
    let mut args = vec!["assess", "odottajan_voimavara", "--answers", &path];
    args.extend(model);
    let output = polku(&args, &root);
    assert!(
        stderr(&output).contains("did you mean `odottajan_voimavarat`?"),
        "{}",
        stderr(&output)
    );
    let _ = std::fs::remove_dir_all(&dir);
}
