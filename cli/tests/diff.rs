//! `polku diff` as a process owner runs it: the shipped Keusote model copied and edited, the
//! two versions as folders, as git revisions and as versions the database keeps, in Finnish,
//! in English and as JSON, with diff(1)'s exit codes.

#![allow(clippy::unwrap_used)] // A test that cannot set up should fail loudly.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{err, out, workspace};

const KEY: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

fn scratch(name: &str) -> PathBuf {
    common::scratch("polku-diff", name)
}

/// Runs the binary in `dir`, in an English locale, with a fixed pseudonym key.
fn polku(dir: &Path, args: &[&str]) -> Output {
    common::polku_in(dir, KEY, args)
}

fn copy_folder(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_file() {
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
}

/// The shipped Keusote model, copied to `to`.
fn keusote(to: &Path) {
    copy_folder(&workspace().join("processes/keusote"), to);
}

/// Replaces the first `from` in a file of the model; the file must have it.
fn edit(model: &Path, file: &str, from: &str, to: &str) {
    let path = model.join(file);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains(from), "{file} has no `{from}`");
    std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
}

/// A year's edits a process owner might make: a new service, a step left out, a deadline
/// moved, segment content changed and a workflow task added.
fn edit_the_year(model: &Path) {
    let file = "kth_laaja_5lk.polku";
    edit(model, file, "määräaika 6 viikkoa askeleesta th", "määräaika 8 viikkoa askeleesta th");
    edit(
        model,
        file,
        "    askel avovastaanotto \"Avovastaanotto tarvittaessa\" tekijä terveydenhoitaja kanava käynti valinnainen\n",
        "",
    );
    edit(
        model,
        file,
        " kesto 20 min valinnainen askel avovastaanotto",
        " kesto 20 min valinnainen",
    );
    edit(
        model,
        file,
        "  segmentti pärjääjä perii",
        "  segmentti pärjääjä {\n    poista palaute \"Palaute annetaan sähköisesti\"\n  }",
    );
    edit(model, file, "muuta lääkäri kesto 30 min", "muuta lääkäri kesto 40 min");
    edit(
        model,
        file,
        "arvioi segmentin uudelleen\" kesto 10 min\n",
        "arvioi segmentin uudelleen\" kesto 10 min\n    tehtävä tiedote \"Lähettää perheelle yhteenvedon seurannasta\" kanava sähköinen\n",
    );
    edit(model, file, "-> segmentin_päivitys\n", "-> segmentin_päivitys -> tiedote\n");
    let catalogue = model.join("luettelo.polku");
    let mut text = std::fs::read_to_string(&catalogue).unwrap();
    text.push_str("\npalvelu perhevalmennus \"Perhevalmennus\" {\n  kuvaus \"Synnytys- ja perhevalmennus\"\n}\n");
    std::fs::write(&catalogue, text).unwrap();
}

const FINNISH: &str = "\
Taso 1: palvelukatalogi, roolit ja palveluketjut
  Lisätty palvelu  perhevalmennus \"Perhevalmennus\"

Taso 3: asiakasprosessit
  Poistettu askel                          kth_laaja_5lk.seuranta.avovastaanotto \"Avovastaanotto tarvittaessa\"
  Muutettu askel                           kth_laaja_5lk.tarkastus.lääkäri: määräaika 6 vk askeleesta th → 8 vk askeleesta th
  Segmentti pärjääjä poistaa nyt askeleen  kth_laaja_5lk.suunnitelma.palaute \"Yhteenveto ja palaute oppilaalle ja huoltajalle\": perustelu \"Palaute annetaan sähköisesti\"
  Segmentti tuki muuttaa askelta toisin    kth_laaja_5lk.tarkastus.lääkäri: kesto 30 min → 40 min

Taso 4: työnkulut
  Muutettu työnkulku  kth_laaja_5lk.seuranta: kulku +segmentin_päivitys -> tiedote, +tiedote -> (loppu), −segmentin_päivitys -> (loppu)
  Muutettu tehtävä    kth_laaja_5lk.seuranta.avovastaanotto_käynti: askel avovastaanotto → –
  Lisätty tehtävä     kth_laaja_5lk.seuranta.tiedote \"Lähettää perheelle yhteenvedon seurannasta\"

8 muutosta
";

const ENGLISH: &str = "\
Level 1: catalogue, roles and service chains
  Added service  perhevalmennus \"Perhevalmennus\"

Level 3: client processes
  Removed step                           kth_laaja_5lk.seuranta.avovastaanotto \"Avovastaanotto tarvittaessa\"
  Changed step                           kth_laaja_5lk.tarkastus.lääkäri: deadline 6 vk askeleesta th → 8 vk askeleesta th
  Segment pärjääjä now removes step      kth_laaja_5lk.suunnitelma.palaute \"Yhteenveto ja palaute oppilaalle ja huoltajalle\": reason \"Palaute annetaan sähköisesti\"
  Segment tuki changes step differently  kth_laaja_5lk.tarkastus.lääkäri: duration 30 min → 40 min

Level 4: workflows
  Changed workflow  kth_laaja_5lk.seuranta: flow +segmentin_päivitys -> tiedote, +tiedote -> (end), −segmentin_päivitys -> (end)
  Changed task      kth_laaja_5lk.seuranta.avovastaanotto_käynti: step avovastaanotto → –
  Added task        kth_laaja_5lk.seuranta.tiedote \"Lähettää perheelle yhteenvedon seurannasta\"

8 changes
";

#[test]
fn a_years_edits_in_finnish_english_and_json() {
    let dir = scratch("edits");
    keusote(&dir.join("old"));
    keusote(&dir.join("new"));
    edit_the_year(&dir.join("new"));
    let fi = polku(&dir, &["diff", "old", "new", "--lang", "fi"]);
    assert_eq!(fi.status.code(), Some(1), "{}", err(&fi));
    assert_eq!(out(&fi), FINNISH);
    let en = polku(&dir, &["diff", "old", "new", "--lang", "en"]);
    assert_eq!(en.status.code(), Some(1), "{}", err(&en));
    assert_eq!(out(&en), ENGLISH);
    assert_eq!(err(&en), "");

    let json = polku(&dir, &["diff", "old", "new", "--format", "json"]);
    assert_eq!(json.status.code(), Some(1), "{}", err(&json));
    let value: serde_json::Value = serde_json::from_str(&out(&json)).unwrap();
    assert_eq!(value["old"], "old");
    assert_eq!(value["new"], "new");
    let changes = value["changes"].as_array().unwrap();
    assert_eq!(changes.len(), 8);
    assert_eq!(
        changes[2],
        serde_json::json!({
            "kind": "changed",
            "subject": "step",
            "level": 3,
            "path": ["kth_laaja_5lk", "tarkastus", "lääkäri"],
            "segment": null,
            "old_title": "Lääkärin tarkastus",
            "new_title": "Lääkärin tarkastus",
            "details": [{
                "attribute": "deadline",
                "old": "6 vk askeleesta th",
                "new": "8 vk askeleesta th"
            }]
        })
    );
    assert_eq!(
        changes[4],
        serde_json::json!({
            "kind": "changed",
            "subject": "segment_changed_step",
            "level": 3,
            "path": ["kth_laaja_5lk", "tarkastus", "lääkäri"],
            "segment": "tuki",
            "old_title": "Lääkärin tarkastus",
            "new_title": "Lääkärin tarkastus",
            "details": [{ "attribute": "duration", "old": "30 min", "new": "40 min" }]
        })
    );
    let kinds: Vec<(&str, &str)> = changes
        .iter()
        .map(|c| (c["kind"].as_str().unwrap(), c["subject"].as_str().unwrap()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("added", "service"),
            ("removed", "step"),
            ("changed", "step"),
            ("added", "segment_removed_step"),
            ("changed", "segment_changed_step"),
            ("changed", "workflow"),
            ("changed", "task"),
            ("added", "task"),
        ]
    );
    // The text keeps the order of the object's fields: the versions first.
    let text = out(&json);
    assert!(text.find("\"old\"").unwrap() < text.find("\"changes\"").unwrap(), "{text}");
}

#[test]
fn the_same_model_twice_has_no_differences() {
    let dir = scratch("same");
    keusote(&dir.join("old"));
    keusote(&dir.join("new"));
    let fi = polku(&dir, &["diff", "old", "new", "--lang", "fi"]);
    assert_eq!((fi.status.code(), out(&fi).as_str()), (Some(0), "ei eroja\n"), "{}", err(&fi));
    let en = polku(&dir, &["diff", "old", "new"]);
    assert_eq!((en.status.code(), out(&en).as_str()), (Some(0), "no differences\n"));
    let json = polku(&dir, &["diff", "old", "new", "--format", "json"]);
    assert_eq!(json.status.code(), Some(0));
    let value: serde_json::Value = serde_json::from_str(&out(&json)).unwrap();
    assert_eq!(value, serde_json::json!({ "old": "old", "new": "new", "changes": [] }));
}

#[test]
fn a_model_with_errors_is_refused_with_where_they_are() {
    let dir = scratch("broken");
    keusote(&dir.join("old"));
    keusote(&dir.join("new"));
    std::fs::write(
        dir.join("new/virhe.polku"),
        "// Keskeneräinen\nprosessi kesken \"Kesken\" { vaihe v \"V\" { askel a \"A\" tekijä tuntematon } }\n",
    )
    .unwrap();
    let fi = polku(&dir, &["diff", "old", "new", "--lang", "fi"]);
    assert_eq!(fi.status.code(), Some(2), "{}", out(&fi));
    assert_eq!(out(&fi), "", "nothing on standard output");
    let e = err(&fi);
    assert!(e.contains("tuntematon rooli `tuntematon`"), "{e}");
    assert!(e.contains("--> new/virhe.polku:2:61"), "{e}");
    assert!(
        e.ends_with("polku: virhe: new: mallissa on virheitä: korjaa ne ensin (polku check)\n"),
        "{e}"
    );
    let en = polku(&dir, &["diff", "new", "old", "--lang", "en"]);
    assert_eq!(en.status.code(), Some(2));
    assert!(err(&en).contains("unknown role `tuntematon`"), "{}", err(&en));

    let missing = polku(&dir, &["diff", "old", "nowhere"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(err(&missing).contains("nowhere: no such folder"), "{}", err(&missing));
}

/// Runs git in `dir` with an author given on the command line, so that no configuration of
/// the machine is needed.
fn git(dir: &Path, args: &[&str]) {
    let status = Command::new("git")
        .args(["-c", "user.name=Prosessinomistaja", "-c", "user.email=po@example.org"])
        .args(["-c", "commit.gpgsign=false", "-c", "init.defaultBranch=main"])
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .status()
        .unwrap();
    assert!(status.success(), "git {args:?}");
}

#[test]
fn two_git_revisions_of_a_model_folder() {
    let repo = scratch("git");
    git(&repo, &["init", "-q"]);
    keusote(&repo.join("model"));
    git(&repo, &["add", "."]);
    git(&repo, &["commit", "-q", "-m", "Vuoden 2026 malli"]);
    edit(
        &repo.join("model"),
        "kth_laaja_5lk.polku",
        "määräaika 9 kk tapauksen alusta",
        "määräaika 10 kk tapauksen alusta",
    );
    git(&repo, &["commit", "-q", "-a", "-m", "Pidempi määräaika"]);

    let o = polku(&repo, &["diff", "HEAD~1:model", "HEAD:model", "--lang", "fi"]);
    assert_eq!(o.status.code(), Some(1), "{}", err(&o));
    assert_eq!(
        out(&o),
        "Taso 3: asiakasprosessit\n  \
         Muutettu askel  kth_laaja_5lk.tarkastus.th: määräaika 9 kk tapauksen alusta → 10 kk tapauksen alusta\n\n\
         1 muutos\n"
    );
    // `REV:PATH` is the path from the repository's top, also when run in a folder below it.
    let below = polku(&repo.join("model"), &["diff", "HEAD~1:model", "HEAD:model", "--lang", "fi"]);
    assert_eq!((below.status.code(), out(&below)), (o.status.code(), out(&o)), "{}", err(&below));
    // The working folder against the revision it was committed as.
    let same = polku(&repo, &["diff", "HEAD:model", "model"]);
    assert_eq!(
        (same.status.code(), out(&same).as_str()),
        (Some(0), "no differences\n"),
        "{}",
        err(&same)
    );

    // A revision with errors is shown by the path git knows it by.
    edit(&repo.join("model"), "kth_laaja_5lk.polku", "tekijä lääkäri\n", "tekijä lääkri\n");
    git(&repo, &["commit", "-q", "-a", "-m", "Kirjoitusvirhe"]);
    let broken = polku(&repo, &["diff", "HEAD~1:model", "HEAD:model"]);
    assert_eq!(broken.status.code(), Some(2));
    assert!(err(&broken).contains("--> HEAD:model/kth_laaja_5lk.polku:"), "{}", err(&broken));
    assert!(err(&broken).contains("unknown role `lääkri`"), "{}", err(&broken));

    let unknown = polku(&repo, &["diff", "HEAD~9:model", "HEAD:model"]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(err(&unknown).contains("HEAD~9"), "{}", err(&unknown));
    assert!(err(&unknown).contains("no such revision and path"), "{}", err(&unknown));
}

#[test]
fn two_versions_the_database_keeps() {
    let dir = scratch("stored");
    keusote(&dir.join("model"));
    std::fs::write(dir.join("empty.jsonl"), "").unwrap();
    let database = "sqlite://polku.sqlite";
    let ingest = |dir: &Path| {
        let o = polku(dir, &["ingest", "empty.jsonl", "--model", "model", "--database", database]);
        assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    };
    ingest(&dir);
    edit(
        &dir.join("model"),
        "kth_laaja_5lk.polku",
        "askel kirjaus \"Kirjaus hoitosuunnitelmaan\" tekijä terveydenhoitaja kesto 15 min",
        "askel kirjaus \"Kirjaus hoitosuunnitelmaan\" tekijä terveydenhoitaja kesto 20 min",
    );
    ingest(&dir);

    let o = polku(&dir, &["diff", "@1", "@2", "--database", database, "--lang", "en"]);
    assert_eq!(o.status.code(), Some(1), "{}", err(&o));
    assert_eq!(
        out(&o),
        "Level 3: client processes\n  \
         Changed step  kth_laaja_5lk.suunnitelma.kirjaus: duration 15 min → 20 min\n\n\
         1 change\n"
    );
    // By the start of its hash, against the folder it was stored from.
    let hash: String = rusqlite::Connection::open(dir.join("polku.sqlite"))
        .unwrap()
        .query_row("SELECT hash FROM models WHERE id = 2", [], |row| row.get(0))
        .unwrap();
    let by_hash = format!("@{}", &hash[..10]);
    let same = polku(&dir, &["diff", &by_hash, "model", "--database", database]);
    assert_eq!(
        (same.status.code(), out(&same).as_str()),
        (Some(0), "no differences\n"),
        "{}",
        err(&same)
    );

    let missing = polku(&dir, &["diff", "@1", "@7", "--database", database, "--lang", "fi"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(err(&missing).contains("@7: tallennettua malliversiota ei ole"), "{}", err(&missing));
    let nowhere = polku(&dir, &["diff", "@1", "@2", "--database", "sqlite://elsewhere.sqlite"]);
    assert_eq!(nowhere.status.code(), Some(2));
    assert!(err(&nowhere).contains("there is no database: elsewhere.sqlite"), "{}", err(&nowhere));
    assert!(!dir.join("elsewhere.sqlite").exists(), "no database was made");
}
