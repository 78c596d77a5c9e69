//! The application layer that the `polku` commands and the server share: finding a model on
//! disk, its `polku.toml`, reading and checking it as one model (with the severity overrides),
//! and, for tracking, the database URL and the pseudonym key.
//!
//! A folder with a `polku.toml` is a model root: every `.polku` file below it belongs to that
//! model, up to a folder with a `polku.toml` of its own. Files outside any root form a model of
//! their own with the other such files found from the same path.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use polku_dsl::{Diagnostic, FileId, Lang, SourceSet};
use polku_engine::pseudonym::{from_hex, to_hex, PseudonymKey};

use crate::tracker::ModelSources;

pub const CONFIG_FILE: &str = "polku.toml";
/// The largest `.polku` file read: a region's model is many files of tens of kilobytes, and a
/// file far larger is a mistake (and would take memory many times its size to check).
pub const MAX_FILE: u64 = 16 * 1024 * 1024;
pub const EXTENSION: &str = "polku";

/// What went wrong while finding, reading or setting up a model.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProjectError {
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("cannot write {path}: {source}")]
    Write { path: PathBuf, source: std::io::Error },
    #[error("{path} does not exist")]
    Missing { path: PathBuf },
    #[error("{path} is {what}, not a file or folder of a model")]
    NotAFile { path: PathBuf, what: &'static str },
    #[error("{path} is {size} bytes: a model file may be at most {MAX_FILE} bytes (split it into several files)")]
    TooLarge { path: PathBuf, size: u64 },
    #[error("{path} is not a valid model configuration: {message}")]
    Config { path: PathBuf, message: String },
    #[error("[rules] in {CONFIG_FILE}: {0}")]
    Rules(String),
    #[error("no polku.toml in this folder or above it: name the model with --model")]
    NoRoot,
    #[error("{dir} holds {count} models: name one of them")]
    SeveralModels { dir: PathBuf, count: usize },
    #[error("{}", self.say(Lang::En))]
    Key(KeyProblem),
}

/// What is wrong with the pseudonym key.
#[derive(Debug)]
pub enum KeyProblem {
    /// `POLKU_PSEUDONYM_KEY` is not hexadecimal.
    EnvNotHex,
    /// The key file is not hexadecimal.
    FileNotHex(PathBuf),
    /// Other users can read the key file.
    ReadableByOthers(PathBuf),
    /// The database exists but its key file does not.
    Missing { database: String, file: PathBuf },
    /// No random bytes for a new key.
    NoRandomness(std::io::Error),
    /// Too short a key.
    Short(polku_engine::pseudonym::KeyError),
}

/// What the operating system said of a file, in `lang` for what a person meets most (no such
/// file, no permission), else in the system's words.
pub fn io_text(error: &std::io::Error, lang: Lang) -> String {
    use std::io::ErrorKind;
    match error.kind() {
        ErrorKind::NotFound => lang.pick("no such file or folder", "tiedostoa tai kansiota ei ole"),
        ErrorKind::PermissionDenied => lang.pick("permission denied", "ei käyttöoikeutta"),
        ErrorKind::IsADirectory => lang.pick("it is a folder", "se on kansio"),
        ErrorKind::AlreadyExists => lang.pick("it exists already", "se on jo olemassa"),
        ErrorKind::StorageFull => lang.pick("the disk is full", "levy on täynnä"),
        ErrorKind::AddrInUse => {
            lang.pick("another program uses the address", "osoite on toisen ohjelman käytössä")
        }
        ErrorKind::AddrNotAvailable => {
            lang.pick("the address is not this machine's", "osoite ei ole tämän koneen")
        }
        _ => return error.to_string(),
    }
    .to_owned()
}

impl ProjectError {
    /// The message in `lang`.
    pub fn say(&self, lang: Lang) -> String {
        let fi = lang == Lang::Fi;
        match self {
            ProjectError::Read { path, source } => format!(
                "{} {}: {}",
                lang.pick( "cannot read", "ei voi lukea:"),
                path.display(),
                io_text(source, lang)
            ),
            ProjectError::Write { path, source } => format!(
                "{} {}: {}",
                lang.pick( "cannot write", "ei voi kirjoittaa:"),
                path.display(),
                io_text(source, lang)
            ),
            ProjectError::Missing { path } if fi => format!("{} ei ole olemassa", path.display()),
            ProjectError::NotAFile { path, what } if fi => format!(
                "{} on {}, ei mallin tiedosto eikä kansio",
                path.display(),
                match *what {
                    "a loop of symbolic links" => "symbolisten linkkien silmukka",
                    "a symbolic link to nothing" => "symbolinen linkki, joka ei osoita mihinkään",
                    "a named pipe (FIFO)" => "nimetty putki (FIFO)",
                    "a device" => "laite",
                    "a socket" => "pistoke",
                    other => other,
                }
            ),
            ProjectError::TooLarge { path, size } if fi => format!(
                "{} on {size} tavua: mallin tiedosto saa olla enintään {MAX_FILE} tavua (jaa se useaan tiedostoon)",
                path.display()
            ),
            ProjectError::Config { path, message } if fi => {
                format!("{} ei ole kelvollinen mallin asetustiedosto: {message}", path.display())
            }
            ProjectError::Rules(message) if fi => format!("[rules] tiedostossa {CONFIG_FILE}: {message}"),
            ProjectError::NoRoot if fi => {
                "tästä kansiosta tai sen yläpuolelta ei löydy polku.tomlia: nimeä malli valitsimella --model".to_owned()
            }
            ProjectError::SeveralModels { dir, count } if fi => {
                format!("kansiossa {} on {count} mallia: nimeä niistä yksi", dir.display())
            }
            ProjectError::Key(problem) => problem.say(lang),
            other => other.to_string(),
        }
    }
}

impl KeyProblem {
    /// The message in `lang`.
    pub fn say(&self, lang: Lang) -> String {
        let fi = lang == Lang::Fi;
        match self {
            KeyProblem::EnvNotHex => lang.pick(
                "POLKU_PSEUDONYM_KEY is not hexadecimal",
                "POLKU_PSEUDONYM_KEY ei ole heksadesimaalinen",
            )
            .to_owned(),
            KeyProblem::FileNotHex(file) if fi => {
                format!("pseudonymiavain {} ei ole heksadesimaalinen", file.display())
            }
            KeyProblem::FileNotHex(file) => {
                format!("the pseudonym key {} is not hexadecimal", file.display())
            }
            KeyProblem::ReadableByOthers(file) if fi => format!(
                "muut käyttäjät voivat lukea pseudonymiavaimen {}: anna sille oikeudet chmod 600 (tai aja valitsimella --allow-insecure-key)",
                file.display()
            ),
            KeyProblem::ReadableByOthers(file) => format!(
                "the pseudonym key {} can be read by other users: chmod 600 it (or run with --allow-insecure-key)",
                file.display()
            ),
            KeyProblem::Missing { database, file } if fi => format!(
                "tietokanta {database} on olemassa, mutta sen pseudonymiavain puuttuu: laita avain tiedostoon {} tai aseta POLKU_PSEUDONYM_KEY",
                file.display()
            ),
            KeyProblem::Missing { database, file } => format!(
                "the database {database} exists but its pseudonym key is missing: put the key in {} or set POLKU_PSEUDONYM_KEY",
                file.display()
            ),
            KeyProblem::NoRandomness(e) if fi => {
                format!("avaimen satunnaistavuja ei voi lukea: {}", io_text(e, lang))
            }
            KeyProblem::NoRandomness(e) => format!("cannot read random bytes for a key: {e}"),
            KeyProblem::Short(e) => e.to_string(),
        }
    }
}

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
    pub rules: BTreeMap<String, String>,
    #[serde(default)]
    pub database: DatabaseSection,
    #[serde(default)]
    pub privacy: PrivacySection,
    /// How long client data is kept (`polku store retain`).
    #[serde(default)]
    pub retention: crate::tracker::Retention,
    /// Sign-in for people through the region's identity provider.
    #[serde(default)]
    pub oidc: Option<OidcSection>,
}

/// `[oidc]`: the identity provider whose JWTs sign people in. `jwks` is an `http://` or
/// `https://` address or a file (relative to the model's folder) holding the provider's keys;
/// without it the keys are found through the provider's discovery document. With `client_id`
/// and `redirect_uri`, staff sign in on the staff page through the provider's own pages (the
/// authorization-code flow with PKCE); a confidential client's secret is read from
/// `client_secret_file` or the environment variable `POLKU_OIDC_CLIENT_SECRET`, never from
/// this file.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OidcSection {
    pub issuer: String,
    /// The audience of access tokens sent to the API; `client_id` when not given.
    pub audience: Option<String>,
    pub jwks: Option<String>,
    pub client_id: Option<String>,
    pub redirect_uri: Option<String>,
    pub client_secret_file: Option<String>,
    pub authorization_endpoint: Option<String>,
    pub token_endpoint: Option<String>,
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSection {
    /// The model's name, shown in the check summary.
    pub name: Option<String>,
    /// What this version changed, kept with the version when it is first stored (`--note`
    /// overrides it).
    pub note: Option<String>,
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
    /// Keep an assessment form's answers, encrypted, for this many days after the nurse
    /// confirms the segment; by default they are discarded at once.
    pub keep_answers_days: Option<u32>,
}

/// A rule's severity as `polku.toml` sets it: `None` switches the rule off.
pub type Override = (polku_dsl::Code, Option<polku_dsl::Severity>);

impl Config {
    /// The severity overrides, checked: only validation rules (`V…`) can be changed, since a
    /// syntax or naming error leaves nothing sound to check.
    pub fn overrides(&self) -> Result<Vec<Override>, ProjectError> {
        let mut out = Vec::new();
        for (code, value) in &self.rules {
            let Some(found) = polku_dsl::Code::ALL.iter().find(|c| c.as_str() == code) else {
                return Err(ProjectError::Rules(format!("unknown rule `{code}`")));
            };
            if !code.starts_with('V') {
                return Err(ProjectError::Rules(format!(
                    "`{code}` is not a validation rule and cannot be changed"
                )));
            }
            let severity = match value.as_str() {
                "error" | "virhe" => Some(polku_dsl::Severity::Error),
                "warning" | "varoitus" => Some(polku_dsl::Severity::Warning),
                "off" | "pois" => None,
                other => {
                    return Err(ProjectError::Rules(format!(
                        "`{code} = \"{other}\"`: use error, warning or off"
                    )))
                }
            };
            out.push((*found, severity));
        }
        Ok(out)
    }
}

pub fn read_config(root: &Path) -> Result<Config, ProjectError> {
    let path = root.join(CONFIG_FILE);
    let text = std::fs::read_to_string(&path)
        .map_err(|source| ProjectError::Read { path: path.clone(), source })?;
    toml::from_str(&text).map_err(|e| ProjectError::Config { path, message: e.to_string() })
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
pub fn walk(dir: &Path) -> Result<Vec<PathBuf>, ProjectError> {
    let read = |path: &Path, source| ProjectError::Read { path: path.to_path_buf(), source };
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let entries = std::fs::read_dir(&dir).map_err(|e| read(&dir, e))?;
        for entry in entries {
            let entry = entry.map_err(|e| read(&dir, e))?;
            let path = entry.path();
            let hidden = entry.file_name().to_string_lossy().starts_with('.');
            let kind = entry.file_type().map_err(|e| read(&path, e))?;
            let polku = path.extension().is_some_and(|e| e == EXTENSION);
            if kind.is_dir() && !hidden && entry.file_name() != "target" {
                stack.push(path);
            } else if kind.is_file() && polku {
                files.push(path);
            } else if kind.is_symlink() && polku {
                // A linked file is part of the model; a link that leads nowhere is an error,
                // not a silent gap in the model.
                match std::fs::metadata(&path) {
                    Ok(target) if target.is_file() => files.push(path),
                    Ok(_) => {}
                    Err(_) => {
                        let what = describe_special(&path).unwrap_or("a symbolic link to nothing");
                        return Err(ProjectError::NotAFile { path, what });
                    }
                }
            }
        }
    }
    files.sort();
    Ok(files)
}

/// What a path that is neither a file nor a folder is, for the message.
fn describe_special(path: &Path) -> Option<&'static str> {
    let meta = std::fs::symlink_metadata(path).ok()?;
    if meta.file_type().is_symlink() && std::fs::metadata(path).is_err() {
        return Some(match std::fs::metadata(path).map_err(|e| e.raw_os_error()) {
            Err(Some(40)) => "a loop of symbolic links",
            _ => "a symbolic link to nothing",
        });
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        let kind = std::fs::metadata(path).ok()?.file_type();
        if kind.is_fifo() {
            return Some("a named pipe (FIFO)");
        }
        if kind.is_char_device() || kind.is_block_device() {
            return Some("a device");
        }
        if kind.is_socket() {
            return Some("a socket");
        }
    }
    None
}

/// Groups the files named by the arguments into models. Symbolic links to files are followed
/// (in a folder, too); links to folders are not walked, so that a loop cannot be.
pub fn discover(paths: &[PathBuf]) -> Result<Vec<ModelFiles>, ProjectError> {
    let mut by_root: BTreeMap<PathBuf, BTreeSet<PathBuf>> = BTreeMap::new();
    let mut loose: Vec<ModelFiles> = Vec::new();
    for path in paths {
        let found = if path.is_dir() {
            walk(path)?
        } else if path.is_file() {
            vec![path.clone()]
        } else if let Some(what) = describe_special(path) {
            return Err(ProjectError::NotAFile { path: path.clone(), what });
        } else {
            return Err(ProjectError::Missing { path: path.clone() });
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
        let mut files: Vec<PathBuf> = walk(&root)?
            .into_iter()
            .filter(|file| {
                find_root(file.parent().unwrap_or(Path::new("."))).as_deref()
                    == Some(root.as_path())
            })
            .collect();
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

/// A model read from disk: its sources, and which files could not be read as text.
#[derive(Debug)]
pub struct Loaded {
    pub name: Option<String>,
    pub overrides: Vec<Override>,
    pub sources: SourceSet,
    pub unreadable: Vec<FileId>,
    pub diagnostics: Vec<Diagnostic>,
    pub requested: Vec<FileId>,
}

/// How a path is shown in messages: without a leading `./`.
pub fn display(path: &Path) -> String {
    let text = path.display().to_string();
    text.strip_prefix("./").map(str::to_owned).unwrap_or(text)
}

/// Reads the files of a model and its configuration.
pub fn load(model: &ModelFiles) -> Result<Loaded, ProjectError> {
    let (name, overrides) = match &model.root {
        Some(root) => {
            let config = read_config(root)?;
            let overrides = config.overrides()?;
            (config.model.name, overrides)
        }
        None => (None, Vec::new()),
    };
    let mut loaded = Loaded {
        name,
        overrides,
        sources: SourceSet::new(),
        unreadable: Vec::new(),
        diagnostics: Vec::new(),
        requested: Vec::new(),
    };
    for path in &model.files {
        let size = std::fs::metadata(path)
            .map_err(|source| ProjectError::Read { path: path.clone(), source })?
            .len();
        if size > MAX_FILE {
            return Err(ProjectError::TooLarge { path: path.clone(), size });
        }
        let bytes = std::fs::read(path)
            .map_err(|source| ProjectError::Read { path: path.clone(), source })?;
        let (id, problem) = polku_dsl::add_source_bytes(&mut loaded.sources, &display(path), bytes);
        if let Some(problem) = problem {
            loaded.unreadable.push(id);
            loaded.diagnostics.push(problem);
        }
        if model.is_requested(path) {
            loaded.requested.push(id);
        }
    }
    Ok(loaded)
}

/// A model checked as a whole: its typed trees, every diagnostic, and the rules' result when
/// they ran.
#[derive(Debug)]
pub struct ModelCheck {
    pub files: Vec<(FileId, polku_dsl::ast::File)>,
    pub diagnostics: Vec<Diagnostic>,
    pub validation: Option<polku_engine::Validation>,
}

/// Every diagnostic of a model: the language's, then, when names resolve, the validation
/// rules', with the model's severity overrides applied.
pub fn check_model(loaded: &Loaded) -> ModelCheck {
    let checked = polku_dsl::check(&loaded.sources, &loaded.unreadable);
    let mut diagnostics: Vec<Diagnostic> = loaded.diagnostics.clone();
    let clean = !checked.has_errors() && loaded.unreadable.is_empty();
    diagnostics.extend(checked.diagnostics);
    let mut validation = None;
    if clean {
        let mut result = polku_engine::validate(&checked.files, polku_engine::Limits::default());
        diagnostics.append(&mut result.diagnostics);
        validation = Some(result);
    }
    for (code, severity) in &loaded.overrides {
        match severity {
            Some(severity) => diagnostics
                .iter_mut()
                .filter(|d| d.code == *code)
                .for_each(|d| d.severity = *severity),
            None => diagnostics.retain(|d| d.code != *code),
        }
    }
    polku_dsl::sort(&mut diagnostics);
    ModelCheck { files: checked.files, diagnostics, validation }
}

/// Loads the one model at `dir`, or at or above the working folder.
pub fn load_one(dir: Option<&Path>) -> Result<(ModelFiles, Loaded), ProjectError> {
    let dir = match dir {
        Some(dir) => dir.to_path_buf(),
        None => find_root(Path::new(".")).ok_or(ProjectError::NoRoot)?,
    };
    let mut models = discover(std::slice::from_ref(&dir))?;
    if models.len() != 1 {
        return Err(ProjectError::SeveralModels { dir, count: models.len() });
    }
    let model = models.remove(0);
    let loaded = load(&model)?;
    Ok((model, loaded))
}

/// A model whose names resolve: its typed trees and the rules' result, its folder (when it has
/// a `polku.toml`), its name and its text.
#[derive(Debug)]
pub struct CheckedModel {
    pub files: Vec<(FileId, polku_dsl::ast::File)>,
    pub validation: polku_engine::Validation,
    pub root: Option<PathBuf>,
    pub name: Option<String>,
    pub sources: SourceSet,
}

/// The errors of a model that does not check, with its sources for rendering them.
#[derive(Debug)]
pub struct ModelErrors {
    pub errors: Vec<Diagnostic>,
    pub sources: SourceSet,
}

impl ModelErrors {
    /// The errors as `polku check` prints them.
    pub fn render(&self, lang: Lang) -> String {
        polku_dsl::diagnostic::render(&self.errors, &self.sources, lang)
    }
}

/// The model at `dir` (or found from the working folder), checked. With `allow_rule_errors`,
/// only the language's errors stop: the rules' findings are the point of an export.
pub fn checked_model(
    dir: Option<&Path>,
    allow_rule_errors: bool,
) -> Result<Result<CheckedModel, ModelErrors>, ProjectError> {
    let (on_disk, loaded) = load_one(dir)?;
    let ModelCheck { files, diagnostics, validation } = check_model(&loaded);
    let stops =
        |d: &Diagnostic| d.is_error() && !(allow_rule_errors && d.code.as_str().starts_with('V'));
    let errors: Vec<Diagnostic> = diagnostics.into_iter().filter(stops).collect();
    match validation {
        Some(validation) if errors.is_empty() => Ok(Ok(CheckedModel {
            files,
            validation,
            root: on_disk.root,
            name: loaded.name,
            sources: loaded.sources,
        })),
        _ => Ok(Err(ModelErrors { errors, sources: loaded.sources })),
    }
}

impl CheckedModel {
    /// The sources as the store keeps them: paths relative to the model's folder, and the text.
    /// The model's files as a version to store, with the note `polku.toml` gives it (a
    /// `polku.toml` that does not read gives none: `config` reports it).
    pub fn model_sources(&self) -> ModelSources {
        let root = self.root.clone().unwrap_or_else(|| PathBuf::from("."));
        let note = self.config().ok().and_then(|c| c.model.note).unwrap_or_default();
        let mut sources = ModelSources::new(
            self.sources
                .ids()
                .map(|id| {
                    let file = self.sources.get(id);
                    let path = Path::new(&file.path);
                    let relative = std::fs::canonicalize(path)
                        .ok()
                        .zip(std::fs::canonicalize(&root).ok())
                        .and_then(|(p, r)| p.strip_prefix(r).ok().map(Path::to_path_buf))
                        .unwrap_or_else(|| path.to_path_buf());
                    (relative.to_string_lossy().replace('\\', "/"), file.text.clone())
                })
                .collect(),
        );
        sources.note = note;
        sources
    }

    /// The configuration in the model's `polku.toml` (the default without one).
    pub fn config(&self) -> Result<Config, ProjectError> {
        match &self.root {
            Some(root) => read_config(root),
            None => Ok(Config::default()),
        }
    }
}

/// Where a model's cases are stored and how its clients are pseudonymised.
#[derive(Debug)]
pub struct Tracking {
    pub database: String,
    pub key_file: PathBuf,
}

/// The database URL and key file for a model: `database` (a flag) first, else `[database] url`
/// in `polku.toml` (relative to the model's folder), else `sqlite://data/polku.sqlite` in the
/// working folder; the key file from `[privacy] key_file`, else beside the SQLite file.
pub fn tracking(checked: &CheckedModel, database: Option<&str>) -> Result<Tracking, ProjectError> {
    let root = checked.root.clone().unwrap_or_else(|| PathBuf::from("."));
    let config = checked.config()?;
    let database = match (database, &config.database.url) {
        (Some(url), _) => crate::database_url(url),
        (None, Some(url)) => match crate::database_url(url).strip_prefix("sqlite://") {
            Some(path) if Path::new(path).is_relative() => {
                format!("sqlite://{}", root.join(path).display())
            }
            _ => crate::database_url(url),
        },
        (None, None) => "sqlite://data/polku.sqlite".to_owned(),
    };
    let key_file = match &config.privacy.key_file {
        Some(file) => root.join(file),
        None => match database.strip_prefix("sqlite://") {
            Some(path) => Path::new(path)
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(Path::new("."))
                .join("pseudonym.key"),
            None => PathBuf::from("data/pseudonym.key"),
        },
    };
    Ok(Tracking { database, key_file })
}

/// A warning when a file holding client data or the key can be read by other users.
pub fn readable_by_others(path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o077 != 0)
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        false
    }
}

/// The SQLite file of a database URL, if it is one.
pub fn sqlite_file(database: &str) -> Option<PathBuf> {
    database.strip_prefix("sqlite://").map(PathBuf::from)
}

/// The pseudonym key: `POLKU_PSEUDONYM_KEY` (hexadecimal), else the key file, created with 32
/// random bytes for a new store and readable by its owner only. A key file that other users can
/// read is refused unless `allow_insecure`; a store that exists without its key file is an error
/// that says where the key should be (a new key would make every client a stranger).
pub fn pseudonym_key(
    file: &Path,
    database: &str,
    allow_insecure: bool,
) -> Result<PseudonymKey, ProjectError> {
    let existing_store = sqlite_file(database).is_some_and(|p| p.exists());
    let bytes = if let Ok(hex) = std::env::var("POLKU_PSEUDONYM_KEY") {
        from_hex(hex.trim()).ok_or(ProjectError::Key(KeyProblem::EnvNotHex))?
    } else if file.exists() {
        if readable_by_others(file) && !allow_insecure {
            return Err(ProjectError::Key(KeyProblem::ReadableByOthers(file.to_path_buf())));
        }
        let text = std::fs::read_to_string(file)
            .map_err(|source| ProjectError::Read { path: file.to_path_buf(), source })?;
        from_hex(text.trim())
            .ok_or_else(|| ProjectError::Key(KeyProblem::FileNotHex(file.to_path_buf())))?
    } else if existing_store {
        return Err(ProjectError::Key(KeyProblem::Missing {
            database: database.to_owned(),
            file: file.to_path_buf(),
        }));
    } else {
        let write = |source| ProjectError::Write { path: file.to_path_buf(), source };
        let mut random = [0u8; 32];
        std::fs::File::open("/dev/urandom")
            .and_then(|mut f| f.read_exact(&mut random))
            .map_err(|e| ProjectError::Key(KeyProblem::NoRandomness(e)))?;
        if let Some(parent) = file.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)
                .map_err(|source| ProjectError::Write { path: parent.to_path_buf(), source })?;
        }
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut out = options.open(file).map_err(write)?;
        writeln!(out, "{}", to_hex(&random)).map_err(write)?;
        out.sync_all().map_err(write)?;
        // The new name must survive a crash too.
        if let Some(parent) = file.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::File::open(parent).and_then(|d| d.sync_all()).ok();
        }
        random.to_vec()
    };
    PseudonymKey::new(bytes).map_err(|e| ProjectError::Key(KeyProblem::Short(e)))
}
