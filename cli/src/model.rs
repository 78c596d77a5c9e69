//! Finding the files of a model on disk.
//!
//! A folder with a `polku.toml` is a model root: every `.polku` file below it belongs to that
//! model, up to a folder with a `polku.toml` of its own. Files outside any root form a model of
//! their own with the other such files found from the same command-line argument.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

pub const CONFIG_FILE: &str = "polku.toml";
pub const EXTENSION: &str = "polku";

/// The files of one model, and which of them the user asked about.
#[derive(Debug)]
pub struct ModelFiles {
    pub root: Option<PathBuf>,
    pub files: Vec<PathBuf>,
    /// Canonical paths of the files the user named, directly or through a folder.
    requested: BTreeSet<PathBuf>,
}

impl ModelFiles {
    /// Did the user ask about this file? Paths are compared canonically, since the model's
    /// files may be reached through another spelling of the same folder.
    pub fn is_requested(&self, path: &Path) -> bool {
        canonical(path).is_some_and(|p| self.requested.contains(&p))
    }
}

fn canonical(path: &Path) -> Option<PathBuf> {
    std::fs::canonicalize(path).ok()
}

/// The model configuration in `polku.toml`.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub model: ModelSection,
    /// Severity per rule code: `error`, `warning` or `off` (also `virhe`, `varoitus`, `pois`).
    #[serde(default)]
    pub rules: std::collections::BTreeMap<String, String>,
    #[serde(default)]
    pub database: DatabaseSection,
    #[serde(default)]
    pub privacy: PrivacySection,
}

/// Where cases are stored: `url = "sqlite://data/polku.sqlite"`, relative to the model's folder.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSection {
    pub url: Option<String>,
}

/// The pseudonym key: `key_file = "..."`, relative to the model's folder. The key is never
/// stored in the database.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrivacySection {
    pub key_file: Option<String>,
}

impl Config {
    /// The severity overrides, checked: only validation rules (`V…`) can be changed, since a
    /// syntax or naming error leaves nothing sound to check.
    pub fn overrides(&self) -> Result<Vec<(polku_dsl::Code, Option<polku_dsl::Severity>)>> {
        let mut out = Vec::new();
        for (code, value) in &self.rules {
            let Some(found) = polku_dsl::Code::ALL.iter().find(|c| c.as_str() == code) else {
                bail!("[rules] in {CONFIG_FILE}: unknown rule `{code}`");
            };
            if !code.starts_with('V') {
                bail!("[rules] in {CONFIG_FILE}: `{code}` is not a validation rule and cannot be changed");
            }
            let severity = match value.as_str() {
                "error" | "virhe" => Some(polku_dsl::Severity::Error),
                "warning" | "varoitus" => Some(polku_dsl::Severity::Warning),
                "off" | "pois" => None,
                other => bail!(
                    "[rules] in {CONFIG_FILE}: `{code} = \"{other}\"`: use error, warning or off"
                ),
            };
            out.push((*found, severity));
        }
        Ok(out)
    }
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSection {
    /// The model's name, shown in the check summary.
    pub name: Option<String>,
}

pub fn read_config(root: &Path) -> Result<Config> {
    let path = root.join(CONFIG_FILE);
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    toml::from_str(&text)
        .with_context(|| format!("{} is not a valid model configuration", path.display()))
}

/// The nearest folder at or above `dir` that holds a `polku.toml`. The search runs on the
/// canonical path, so `..` and links lead to the real ancestors; the root is returned relative
/// to the working folder where it lies below it, so that messages stay short.
pub fn find_root(dir: &Path) -> Option<PathBuf> {
    let dir = if dir.as_os_str().is_empty() { Path::new(".") } else { dir };
    let absolute = std::fs::canonicalize(dir).ok()?;
    let root = absolute.ancestors().find(|a| a.join(CONFIG_FILE).is_file())?;
    Some(shorten(root))
}

/// A path relative to the working folder when it lies below it.
fn shorten(path: &Path) -> PathBuf {
    let working = std::env::current_dir().ok().and_then(|w| std::fs::canonicalize(w).ok());
    match working.as_deref().and_then(|w| path.strip_prefix(w).ok()) {
        Some(relative) if relative.as_os_str().is_empty() => PathBuf::from("."),
        Some(relative) => relative.to_path_buf(),
        None => path.to_path_buf(),
    }
}

/// Every `.polku` file below `dir`, sorted, skipping hidden folders.
pub fn walk(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let entries = std::fs::read_dir(&dir)
            .with_context(|| format!("cannot read folder {}", dir.display()))?;
        for entry in entries {
            let entry = entry?;
            let path = entry.path();
            let hidden = entry.file_name().to_string_lossy().starts_with('.');
            let kind = entry.file_type()?;
            if kind.is_dir() && !hidden && entry.file_name() != "target" {
                stack.push(path);
            } else if kind.is_file() && path.extension().is_some_and(|e| e == EXTENSION) {
                files.push(path);
            }
        }
    }
    files.sort();
    Ok(files)
}

/// Groups the files named by the arguments into models.
pub fn discover(paths: &[PathBuf]) -> Result<Vec<ModelFiles>> {
    let mut by_root: BTreeMap<PathBuf, BTreeSet<PathBuf>> = BTreeMap::new();
    let mut loose: Vec<ModelFiles> = Vec::new();
    for path in paths {
        let found = if path.is_dir() {
            walk(path)?
        } else if path.is_file() {
            vec![path.clone()]
        } else {
            bail!("{} does not exist", path.display());
        };
        let mut without_root = BTreeSet::new();
        for file in found {
            let dir = file.parent().unwrap_or(Path::new("."));
            match find_root(dir) {
                Some(root) => {
                    by_root.entry(root).or_default().insert(file);
                }
                None => {
                    without_root.insert(file);
                }
            }
        }
        if !without_root.is_empty() {
            loose.push(ModelFiles {
                root: None,
                requested: without_root.iter().filter_map(|f| canonical(f)).collect(),
                files: without_root.into_iter().collect(),
            });
        }
    }
    let mut models = Vec::new();
    for (root, requested) in by_root {
        // The whole model is read so that names defined in other files resolve; files under a
        // nested root belong to that root instead.
        let files = walk(&root)?
            .into_iter()
            .filter(|file| {
                find_root(file.parent().unwrap_or(Path::new("."))).as_deref()
                    == Some(root.as_path())
            })
            .collect();
        let mut files: Vec<PathBuf> = files;
        // A file named on the command line is checked even where the walk passes it by (in a
        // hidden folder, or without the .polku ending).
        let walked: BTreeSet<PathBuf> = files.iter().filter_map(|f| canonical(f)).collect();
        for file in &requested {
            if canonical(file).is_some_and(|c| !walked.contains(&c)) {
                files.push(file.clone());
            }
        }
        let requested = requested.iter().filter_map(|f| canonical(f)).collect();
        models.push(ModelFiles { root: Some(root), files, requested });
    }
    models.extend(loose);
    Ok(models)
}
