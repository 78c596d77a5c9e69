//! `polku diff OLD NEW`: what changed between two versions of a model, in a process owner's
//! words or as JSON. A version is a model's folder, a git revision in git's own `REV:PATH`
//! notation (read with `git` from the working folder's repository), or a version the
//! database keeps (`@N` by its number, `@HASH` by the start of its content hash).
//!
//! Exit codes as diff(1)'s: 0 the versions do not differ, 1 they do, 2 one of them cannot be
//! read or has errors (shown as `polku check` shows them).

use std::path::Path;
use std::process::{Command, ExitCode};

use anyhow::{anyhow, bail, ensure, Context, Result};
use polku_dsl::{diagnostic, Diagnostic, FileId, Lang, SourceSet};
use polku_engine::diff::{diff, report};
use polku_engine::Model;
use polku_store::project;
use polku_store::tracker::ModelSources;

use crate::say;

#[derive(Debug, Clone, Copy, clap::ValueEnum, Default, PartialEq, Eq)]
pub enum DiffFormat {
    /// The changes for a person, by level.
    #[default]
    Human,
    /// One JSON object: the two versions as named and the list of changes.
    Json,
}

/// The JSON form: the two versions as they were named, and what changed.
#[derive(serde::Serialize)]
struct Report<'a> {
    old: &'a str,
    new: &'a str,
    changes: &'a [polku_engine::diff::Change],
}

pub fn run(
    old: &str,
    new: &str,
    database: Option<&str>,
    format: DiffFormat,
    lang: Lang,
) -> Result<ExitCode> {
    // Both versions are read before either's errors stop the command, so that all are shown.
    let (old_model, new_model) = match (version(old, database, lang), version(new, database, lang))
    {
        (Ok(old_model), Ok(new_model)) => (old_model, new_model),
        (Err(error), Ok(_)) | (Ok(_), Err(error)) => return Err(error),
        (Err(old_error), Err(new_error)) => bail!("{old_error:#}; {new_error:#}"),
    };
    let changes = diff(&old_model, &new_model);
    match format {
        DiffFormat::Human => out!("{}", report::human(&changes, lang)),
        DiffFormat::Json => {
            let report = Report { old, new, changes: &changes };
            outln!("{}", serde_json::to_string_pretty(&report)?);
        }
    }
    Ok(if changes.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

/// The files of one version, as the messages about them name them.
struct Files {
    sources: SourceSet,
    /// Files that are not UTF-8: not parsed.
    unreadable: Vec<FileId>,
    /// Why they are not.
    problems: Vec<Diagnostic>,
}

impl Files {
    fn new() -> Files {
        Files { sources: SourceSet::new(), unreadable: Vec::new(), problems: Vec::new() }
    }

    fn add(&mut self, path: &str, bytes: Vec<u8>) {
        let (id, problem) = polku_dsl::add_source_bytes(&mut self.sources, path, bytes);
        if let Some(problem) = problem {
            self.unreadable.push(id);
            self.problems.push(problem);
        }
    }
}

/// One version, compiled. A version that has errors shows them and fails.
fn version(spec: &str, database: Option<&str>, lang: Lang) -> Result<Model> {
    if let Some(stored) = spec.strip_prefix('@') {
        return stored_version(stored, database, lang);
    }
    let files = if Path::new(spec).exists() {
        folder(Path::new(spec))?
    } else if spec.contains(':') {
        git_revision(spec, lang)?
    } else {
        bail!(
            "{spec}: {}",
            say(
                lang,
                "no such folder; a git revision is written REV:PATH (HEAD~1:processes/keusote), a stored version @N",
                "kansiota ei ole; git-versio kirjoitetaan REVISIO:POLKU (HEAD~1:processes/keusote), tallennettu versio @N"
            )
        );
    };
    compile(spec, files, lang)
}

/// A model's folder on disk, found as every command finds one.
fn folder(path: &Path) -> Result<Files> {
    let (_, loaded) = project::load_one(Some(path))?;
    Ok(Files {
        sources: loaded.sources,
        unreadable: loaded.unreadable,
        problems: loaded.diagnostics,
    })
}

/// Checks the files and compiles them; errors are written as `polku check` writes them.
fn compile(spec: &str, files: Files, lang: Lang) -> Result<Model> {
    let checked = polku_dsl::check(&files.sources, &files.unreadable);
    let mut errors: Vec<Diagnostic> = files
        .problems
        .into_iter()
        .chain(checked.diagnostics)
        .filter(Diagnostic::is_error)
        .collect();
    if errors.is_empty() {
        return Ok(polku_engine::compile(&checked.files));
    }
    polku_dsl::sort(&mut errors);
    eprint!("{}", diagnostic::render(&errors, &files.sources, lang));
    bail!(
        "{spec}: {}",
        say(
            lang,
            "the model has errors: fix them first (polku check)",
            "mallissa on virheitä: korjaa ne ensin (polku check)"
        )
    )
}

/// Runs git in the working folder and returns what it printed; git's own message when it
/// fails.
fn git(args: &[&str], lang: Lang) -> Result<Vec<u8>> {
    let output = Command::new("git")
        .args(args)
        .output()
        .with_context(|| say(lang, "cannot run git", "git-ohjelmaa ei voi ajaa").to_owned())?;
    if !output.status.success() {
        let message = String::from_utf8_lossy(&output.stderr);
        bail!("git {}: {}", args.join(" "), message.trim());
    }
    Ok(output.stdout)
}

/// A folder of a git revision, `REV:PATH`, read with git: the `.polku` files of
/// the one model under it, skipping hidden folders and `target` as the walk on disk does, and
/// the files of a nested model (a folder with a `polku.toml` of its own).
fn git_revision(spec: &str, lang: Lang) -> Result<Files> {
    // Not an option to git, whatever it holds.
    ensure!(!spec.starts_with('-'), "{spec}: {}", say(lang, "not a git revision", "ei git-versio"));
    let kind = git(&["cat-file", "-t", spec], lang).with_context(|| {
        format!(
            "{spec}: {}",
            say(
                lang,
                "no such revision and path in the git repository of the working folder (REV:PATH, the path from the repository's top)",
                "työkansion git-varastossa ei ole tätä versiota ja polkua (VERSIO:POLKU, polku varaston juuresta)"
            )
        )
    })?;
    let mut files = Files::new();
    match String::from_utf8_lossy(&kind).trim() {
        "tree" => {
            // `REV:PATH` names a path from the repository's top, wherever this runs: without
            // --full-tree, git would list only what lies under the working folder.
            let listing = git(&["ls-tree", "--full-tree", "-r", "-z", spec], lang)?;
            let mut polku: Vec<(String, String)> = Vec::new();
            let mut roots: Vec<String> = Vec::new();
            for entry in listing.split(|b| *b == 0).filter(|e| !e.is_empty()) {
                let entry = String::from_utf8_lossy(entry);
                let Some((meta, path)) = entry.split_once('\t') else { continue };
                let meta: Vec<&str> = meta.split(' ').collect();
                // Regular files only: a symbolic link's blob is the path it points to.
                let [mode, "blob", object] = meta[..] else { continue };
                if mode == "120000" {
                    continue;
                }
                let (dir, name) = path.rsplit_once('/').unwrap_or(("", path));
                if dir.split('/').any(|d| d.starts_with('.') || d == "target") {
                    continue;
                }
                if name == project::CONFIG_FILE {
                    roots.push(dir.to_owned());
                } else if name.ends_with(&format!(".{}", project::EXTENSION)) {
                    polku.push((path.to_owned(), object.to_owned()));
                }
            }
            // Each file belongs to the nearest folder above it with a polku.toml.
            let root_of = |path: &str| {
                roots
                    .iter()
                    .filter(|r| r.is_empty() || path.starts_with(&format!("{r}/")))
                    .max_by_key(|r| r.len())
                    .cloned()
            };
            let models: std::collections::BTreeSet<Option<String>> =
                polku.iter().map(|(path, _)| root_of(path)).collect();
            ensure!(
                models.len() <= 1,
                "{spec} {} {} {}",
                say(lang, "holds", "sisältää"),
                models.len(),
                say(lang, "models: name one of them", "mallia: nimeä niistä yksi")
            );
            ensure!(
                !polku.is_empty() || !roots.is_empty(),
                "{spec}: {}",
                say(lang, "no model there", "siinä ei ole mallia")
            );
            let joiner = if spec.ends_with(':') || spec.ends_with('/') { "" } else { "/" };
            for (path, object) in polku {
                files.add(
                    &format!("{spec}{joiner}{path}"),
                    git(&["cat-file", "blob", &object], lang)?,
                );
            }
        }
        other => bail!("{spec}: {other}, {}", say(lang, "not a folder", "ei kansio")),
    }
    Ok(files)
}

/// The database the stored versions are read from: `--database`, else the one the model at
/// or above the working folder uses, as the store's commands find it.
fn database_url(database: Option<&str>, lang: Lang) -> Result<String> {
    if let Some(url) = database {
        return Ok(url.to_owned());
    }
    if project::find_root(Path::new(".")).is_none() {
        return Ok("sqlite://data/polku.sqlite".to_owned());
    }
    let Some(checked) = crate::checked_model(None, lang, true)? else {
        bail!(
            "{}",
            say(lang, "the model's database cannot be found", "mallin tietokantaa ei löydy")
        )
    };
    Ok(project::tracking(&checked, None)?.database)
}

/// A version the database keeps: `N` its number, else the start of its content hash.
fn stored_version(wanted: &str, database: Option<&str>, lang: Lang) -> Result<Model> {
    let url = database_url(database, lang)?;
    crate::track::require_database(&url, lang)?;
    let mut store = polku_store::open_for_reading(&url)?;
    let records = store.models()?;
    // Not the URL: it may hold a password.
    ensure!(
        !records.is_empty(),
        "{}",
        say(lang, "the database keeps no model version", "tietokannassa ei ole malliversioita")
    );
    let by_number = wanted.parse::<i64>().ok().and_then(|n| records.iter().find(|r| r.id == n));
    let record = match by_number {
        Some(record) => record,
        None => {
            let prefix = wanted.to_ascii_lowercase();
            let found: Vec<_> = records
                .iter()
                .filter(|r| !prefix.is_empty() && r.hash.starts_with(&prefix))
                .collect();
            let known = || {
                records
                    .iter()
                    .map(|r| format!("@{} {}", r.id, &r.hash[..r.hash.len().min(12)]))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            match found[..] {
                [record] => record,
                [] => bail!(
                    "@{wanted}: {} ({}: {})",
                    say(lang, "no such stored model version", "tallennettua malliversiota ei ole"),
                    say(lang, "stored", "tallennettu"),
                    known()
                ),
                _ => bail!(
                    "@{wanted}: {}",
                    say(
                        lang,
                        "the start of several versions' hashes: give more of it",
                        "usean version tiivisteen alku: anna siitä enemmän"
                    )
                ),
            }
        }
    };
    let sources: ModelSources =
        serde_json::from_str(&record.sources).map_err(|e| anyhow!("@{}: {e}", record.id))?;
    match sources.compile() {
        Ok(model) => Ok(model),
        Err(error) => {
            // Files with errors are shown as `polku check` shows them; otherwise the store's
            // reason (a version written in a newer language) is the message.
            let mut files = Files::new();
            for (path, text) in &sources.files {
                files.add(&format!("@{}:{path}", record.id), text.clone().into_bytes());
            }
            compile(&format!("@{}", record.id), files, lang)?;
            Err(anyhow!("@{}: {error}", record.id))
        }
    }
}
