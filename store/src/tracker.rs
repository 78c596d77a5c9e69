//! The tracker: the projection of every case kept in step with the durable log. It is the one
//! way in for the command line and the HTTP API: ingest, status, reports. Every access to a
//! client's data is written to the access log before the data is handed out.

use std::collections::HashMap;
use std::sync::Arc;

use serde::Serialize;
use sha2::{Digest, Sha256};

use polku_dsl::{Lang, SourceSet};
use polku_engine::event::{Event, EventKind};
use polku_engine::model::Model;
use polku_engine::projection::{
    ClientStatus, CompletionReport, Outcome, Projection, Rejection, SegmentReport, TransitionReport,
};
use polku_engine::pseudonym::{looks_like_identity_code, pseudonymise, Pseudonym, PseudonymKey};

use crate::chain::{self, Anchor};
use crate::committer::{Committer, Ticket};
use crate::{markers, ClientKey};
use crate::{snapshot, Access, EventStore, StoreError};
use polku_dsl::hash::FastMap;
use polku_engine::markers::MarkerRules;

/// A model version as stored: its files, relative to the model's folder, and their text; the
/// language version they were written in; when the version was first stored and its note.
/// Only the files make its content hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct ModelSources {
    pub files: Vec<(String, String)>,
    /// [`polku_dsl::LANGUAGE_VERSION`] when the version was stored (1 for versions stored
    /// before it was recorded).
    #[serde(default = "first_language")]
    pub language: u32,
    /// When it was first stored (RFC 3339), empty until then.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub stored: String,
    /// What changed, as the process owner put it (`--note`, or `note` under `[model]` in
    /// `polku.toml`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub note: String,
}

/// The stored model versions (`records`, as [`EventStore::models`] reads them) whose sources
/// no longer give the content hash they are known by (their files were changed in the database
/// after they were stored, or cannot be read): by id, oldest first. A case's plan comes from its version's sources, so a changed version
/// changes what every case under it was planned.
pub fn changed_model_versions(records: &[crate::ModelRecord]) -> Vec<i64> {
    let mut changed: Vec<i64> = records
        .iter()
        .filter(|record| {
            !serde_json::from_str::<ModelSources>(&record.sources)
                .is_ok_and(|sources| sources.hash() == record.hash)
        })
        .map(|record| record.id)
        .collect();
    changed.sort_unstable();
    changed
}

fn first_language() -> u32 {
    1
}

/// `[retention]` in `polku.toml`: how long the client data of closed cases, and the access
/// log, are kept, in years; a unit may have its own time, as the law sets it for its service.
/// A time not set keeps the data.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Retention {
    /// Years after its closing that a case's client data is kept, for every unit not named in
    /// `unit_years`.
    pub closed_case_years: Option<u32>,
    /// Years by unit (the `unit` of the cases' openings).
    #[serde(default)]
    pub unit_years: std::collections::BTreeMap<String, u32>,
    /// Years that an access-log row is kept.
    pub access_log_years: Option<u32>,
}

impl Retention {
    /// Whether anything is to be removed at all.
    pub fn is_set(&self) -> bool {
        self.closed_case_years.is_some()
            || !self.unit_years.is_empty()
            || self.access_log_years.is_some()
    }
}

/// What `polku store retain` removed (or, in a dry run, would remove).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RetentionReport {
    pub as_of: String,
    pub dry_run: bool,
    /// Closed cases whose client data goes, their events, and the clients left with no case.
    pub cases: u64,
    pub events: u64,
    pub clients: u64,
    /// The distinct day-level histories they leave for the reports.
    pub histories: u64,
    pub access_rows: u64,
    /// The heads before and after, once done.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compaction: Option<crate::CompactionRecord>,
}

/// A rebuild of the state that failed: why, when it ended, and how long it took.
#[derive(Debug, Clone)]
struct FailedRebuild {
    why: String,
    ended: std::time::Instant,
    took: std::time::Duration,
    /// How many failed in a row.
    tries: u32,
    /// The database did not answer (or refused): it may well the next time. Otherwise the
    /// state cannot be read as the log is (a broken chain, another key or model).
    transient: bool,
}

impl FailedRebuild {
    /// How long the next try waits after this one: a second plus twice this try's time (so
    /// that a database back is found within about a second, while one that takes its
    /// connection's whole time-out to fail holds the state's lock a third of the time at
    /// most); for a state that could not be read as the log is, doubled for each try that
    /// failed before it, at most a minute.
    fn pause(&self) -> std::time::Duration {
        let first = std::time::Duration::from_secs(1) + 2 * self.took;
        if self.transient {
            return first;
        }
        (first * 2u32.saturating_pow(self.tries.saturating_sub(1).min(6)))
            .min(std::time::Duration::from_secs(60))
    }
}

/// What [`Tracker::open`] reads from the store: everything of a tracker but its writer.
struct Read {
    projection: Projection,
    versions: HashMap<i64, u16>,
    current_model: i64,
    current_hash: String,
    log_seq: u64,
    epoch: crate::LogEpoch,
    snapshot_seq: u64,
    writable: bool,
}

/// What the model given to [`Tracker::open_with`] is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelUse {
    /// New events are stored under it: it is stored as a version (unless a stored version
    /// means the same, which it then is), and new cases take it. A server, `polku ingest`,
    /// `polku segment-daily`, `polku migrate`, a snapshot or a retention run.
    Execute,
    /// Only read with: what the store holds is read, the access log written, and the model is
    /// not stored. It is the current version only if a stored version means the same; else
    /// nothing is written under it (no events, no migration, no snapshot, no retention run).
    Consult,
}

/// How often a retention run reads the state again when other processes changed the log
/// between the state's reading and the run's.
const RETAIN_TRIES: u32 = 5;

/// How often opening reads the state again when another process's compaction rewrites the log
/// under the reading.
const LOAD_TRIES: u32 = 5;

/// Times a retention run reads the rows other servers appended while it read the log, and
/// tries its compaction again, before it gives up (nothing removed).
const COMPACTION_TRIES: usize = 20;

/// The case a stored event belongs to (empty when the body names none).
fn case_of(body: &str) -> String {
    serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v["case"].as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// The stored version (id, content hash) that `sources`, whose content hash is `hash`, are:
/// the one stored with these very files, else the newest one that means the same
/// ([`ModelSources::meaning`]).
fn same_version(
    stored: &[crate::ModelRecord],
    sources: &ModelSources,
    hash: &str,
) -> Option<(i64, String)> {
    if let Some(record) = stored.iter().find(|m| m.hash == hash) {
        return Some((record.id, record.hash.clone()));
    }
    let meaning = sources.meaning();
    stored
        .iter()
        .filter(|record| {
            serde_json::from_str::<ModelSources>(&record.sources)
                .is_ok_and(|version| version.meaning() == meaning)
        })
        .max_by_key(|record| record.id)
        .map(|record| (record.id, record.hash.clone()))
}

/// The moment `years` calendar years before `at`'s day began, in Finnish time.
fn years_before(at: i64, years: u32) -> i64 {
    let (y, m, d) = polku_engine::time::Timestamp(at).local_date();
    let day = if m == 2 { d.min(28) } else { d };
    let text = format!("{:04}-{m:02}-{day:02}", y - i64::from(years));
    polku_engine::time::Timestamp::parse(&text).map_or(i64::MIN, |t| t.0)
}

/// A stored model version as `polku store models` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoredVersion {
    /// Its number in the store (`@N`).
    pub id: i64,
    pub hash: String,
    /// When it was first stored (RFC 3339); empty for a version stored before that was kept.
    pub stored: String,
    pub language: u32,
    pub note: String,
    pub open_cases: u64,
    /// The model loaded now, which new cases take.
    pub current: bool,
}

/// Why a stored model version cannot be executed.
#[derive(Debug, thiserror::Error)]
pub enum ModelVersionError {
    #[error("the stored model version was written in language version {found}; this Polku reads up to {known}: open it with a newer Polku")]
    NewerLanguage { found: u32, known: u32 },
    #[error("the stored model version no longer checks")]
    Errors,
}

impl ModelSources {
    pub fn new(mut files: Vec<(String, String)>) -> ModelSources {
        files.sort();
        ModelSources {
            files,
            language: polku_dsl::LANGUAGE_VERSION,
            stored: String::new(),
            note: String::new(),
        }
    }

    /// The content hash that names the version.
    pub fn hash(&self) -> String {
        let mut hasher = Sha256::new();
        for (path, text) in &self.files {
            hasher.update((path.len() as u64).to_le_bytes());
            hasher.update(path.as_bytes());
            hasher.update((text.len() as u64).to_le_bytes());
            hasher.update(text.as_bytes());
        }
        polku_engine::pseudonym::to_hex(&hasher.finalize())
    }

    /// What the version means, as a hash: its files' paths and typed trees, with no comment,
    /// layout or position in them. Two versions with the same meaning compile to the same
    /// model, so an edit of comments or layout alone (`polku fmt`) is no new version. A file
    /// that does not parse counts with its whole text.
    pub fn meaning(&self) -> String {
        let mut hasher = Sha256::new();
        hasher.update(self.language.to_le_bytes());
        for (i, (path, text)) in self.files.iter().enumerate() {
            let parsed = polku_dsl::parse_file(polku_dsl::FileId(i as u32), text);
            let tree = if parsed.diagnostics.iter().any(polku_dsl::Diagnostic::is_error) {
                None
            } else {
                serde_json::to_string(&parsed.ast).ok()
            };
            let meant = tree.as_deref().unwrap_or(text);
            hasher.update((path.len() as u64).to_le_bytes());
            hasher.update(path.as_bytes());
            hasher.update([u8::from(tree.is_some())]);
            hasher.update((meant.len() as u64).to_le_bytes());
            hasher.update(meant.as_bytes());
        }
        polku_engine::pseudonym::to_hex(&hasher.finalize())
    }

    /// Compiles the version; fails when it was written in a newer language or no longer
    /// checks.
    pub fn compile(&self) -> Result<Model, ModelVersionError> {
        if self.language > polku_dsl::LANGUAGE_VERSION {
            return Err(ModelVersionError::NewerLanguage {
                found: self.language,
                known: polku_dsl::LANGUAGE_VERSION,
            });
        }
        let mut sources = SourceSet::new();
        for (path, text) in &self.files {
            sources.add(path.clone(), text.clone());
        }
        let checked = polku_dsl::check(&sources, &[]);
        if checked.has_errors() {
            return Err(ModelVersionError::Errors);
        }
        Ok(polku_engine::compile(&checked.files))
    }
}

/// Who is asking, and in what capacity, for the access log.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Actor {
    pub user: String,
    pub role: String,
    /// The unit the actor acts for, where it has one.
    pub unit: Option<String>,
    /// Why client data is looked at, as stated with the request.
    pub purpose: String,
    /// The request id over HTTP; empty for a command.
    pub request: String,
}

impl Actor {
    pub fn new(user: impl Into<String>, role: impl Into<String>) -> Actor {
        Actor { user: user.into(), role: role.into(), ..Actor::default() }
    }
}

impl Access {
    /// The row that records `actor` doing `action` now, to one client's data or to none.
    /// Whatever the actor typed (a purpose such as "call about 010203A123B", a role, a name)
    /// is kept with every identity code in it replaced by `…`: the log holds pseudonyms only.
    pub fn by(actor: &Actor, action: &str, client: Option<&str>, detail: &str) -> Access {
        let typed = |text: &str| polku_engine::pseudonym::redact_identity_codes(text);
        Access {
            at: now_text(),
            actor: typed(&actor.user),
            role: typed(&actor.role),
            action: action.to_owned(),
            client: client.map(str::to_owned),
            detail: typed(detail),
            unit: actor.unit.as_deref().map(typed).unwrap_or_default(),
            purpose: typed(&actor.purpose),
            request: typed(&actor.request),
        }
    }
}

/// Why the tracker refused. [`TrackerError::say`] gives the message in either language; its
/// `Display` is the English one.
#[derive(Debug, thiserror::Error)]
pub enum TrackerError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("client: {0}")]
    Client(ClientError),
    #[error("model: {0}")]
    Model(String),
    #[error("{}", self.say(Lang::En))]
    ReadOnly(Blocked),
    /// The model was given only to read with ([`ModelUse::Consult`]) and is no stored version.
    #[error("{}", self.say(Lang::En))]
    NotStored(Blocked),
    #[error("{}", self.say(Lang::En))]
    WrongKey,
    /// A retention run that would remove what the rules do not mean to remove.
    #[error("retention: {0}")]
    Retention(RetentionError),
    /// Stored model versions (by id) whose sources no longer give their content hash: the
    /// plans of their cases cannot be trusted, so the store is not opened.
    #[error("{}", self.say(Lang::En))]
    ModelChanged(Vec<i64>),
    /// The state is to be read again from the database, which did not answer the last try
    /// (the reason in the database's words): nothing is read from it or written until then.
    #[error("{}", self.say(Lang::En))]
    Unavailable(String),
}

impl TrackerError {
    /// The message in `lang`. What a backend or the operating system reported (inside
    /// [`StoreError`]) stays in its own words.
    pub fn say(&self, lang: Lang) -> String {
        match self {
            TrackerError::Store(e) => e.say(lang),
            TrackerError::Client(e) => format!("{}: {}", lang.pick( "client", "asiakas"), e.say(lang)),
            TrackerError::Model(e) => format!("{}: {e}", lang.pick( "model", "malli")),
            TrackerError::ReadOnly(what) => format!(
                "{}, {}",
                lang.pick(
                    "the database was opened read-only (it cannot be written here)",
                    "tietokanta avattiin vain luettavaksi (siihen ei voi kirjoittaa täällä)"
                ),
                what.say(lang)
            ),
            TrackerError::NotStored(what) => format!(
                "{}, {}",
                lang.pick(
                    "the model was loaded only to read with and is not a stored model version",
                    "malli ladattiin vain lukemista varten eikä se ole tallennettu malliversio"
                ),
                what.say(lang)
            ),
            TrackerError::WrongKey => lang.pick(
                "the pseudonym key is not the one this database's clients were pseudonymised with: use the same key (POLKU_PSEUDONYM_KEY or the key file) or another database",
                "pseudonymiavain ei ole se, jolla tämän tietokannan asiakkaat on pseudonymisoitu: käytä samaa avainta (POLKU_PSEUDONYM_KEY tai avaintiedosto) tai toista tietokantaa"
            )
            .to_owned(),
            TrackerError::Retention(e) => {
                format!("{}: {}", lang.pick( "retention", "säilytys"), e.say(lang))
            }
            TrackerError::Unavailable(why) => format!(
                "{}: {why}",
                lang.pick(
                    "the database does not answer just now, and the state is read again from it once it does: try again in a moment",
                    "tietokanta ei juuri nyt vastaa, ja tila luetaan siitä uudelleen heti kun se vastaa: yritä hetken kuluttua uudelleen"
                )
            ),
            TrackerError::ModelChanged(ids) => {
                let ids: Vec<String> = ids.iter().map(|id| format!("@{id}")).collect();
                match lang {
                    Lang::En => format!(
                        "the database was changed outside Polku: the sources of model version {} no longer give the content hash it was stored under, so the plans of its cases cannot be trusted; nothing was read or written (polku store verify names every changed version)",
                        ids.join(", ")
                    ),
                    Lang::Fi => format!(
                        "tietokantaa on muutettu Polkun ulkopuolelta: malliversion {} lähteistä ei enää saada sisältötiivistettä, jolla se tallennettiin, joten sen tapausten suunnitelmiin ei voi luottaa; mitään ei luettu eikä kirjoitettu (polku store verify nimeää jokaisen muutetun version)",
                        ids.join(", ")
                    ),
                }
            }
        }
    }
}

/// What a tracker opened read-only refused to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Blocked {
    RemoveClientData,
    MoveCases,
    StoreEvents,
    ShowStatus,
    ShowExplanation,
    ShowPreview,
    StoreProposals,
    WriteSnapshot,
}

impl Blocked {
    pub fn say(self, lang: Lang) -> &'static str {
        match self {
            Blocked::RemoveClientData => {
                lang.pick( "and client data cannot be removed", "eikä asiakastietoja voi poistaa")
            }
            Blocked::MoveCases => lang.pick( "and cases cannot be moved", "eikä tapauksia voi siirtää"),
            Blocked::StoreEvents => {
                lang.pick( "and events cannot be stored", "eikä tapahtumia voi tallentaa")
            }
            Blocked::ShowStatus => lang.pick(
                "and a client's data is shown only after the access is written to the access log: the status is not shown",
                "ja asiakkaan tiedot näytetään vasta, kun käyttö on kirjattu käyttölokiin: tilannetta ei näytetä"
            ),
            Blocked::ShowExplanation => lang.pick(
                "and a client's data is shown only after the access is written to the access log: the explanation is not shown",
                "ja asiakkaan tiedot näytetään vasta, kun käyttö on kirjattu käyttölokiin: perusteluja ei näytetä"
            ),
            Blocked::ShowPreview => lang.pick(
                "and a look at the open cases is shown only after it is written to the access log: the preview is not shown",
                "ja avoimet tapaukset näytetään vasta, kun katselu on kirjattu käyttölokiin: esikatselua ei näytetä"
            ),
            Blocked::StoreProposals => {
                lang.pick( "and the proposals cannot be stored", "eikä ehdotuksia voi tallentaa")
            }
            Blocked::WriteSnapshot => {
                lang.pick( "and no snapshot can be written", "eikä tilannevedosta voi kirjoittaa")
            }
        }
    }
}

/// What is wrong with a client or a model version as a person named it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.say(Lang::En))]
pub enum ClientError {
    /// What was typed looks like a personal identity code but is not a valid one.
    IdentityCode(polku_engine::pseudonym::IdentityCodeError),
    /// Neither an identity code nor a pseudonym.
    NotAClient,
    /// `@N` that the store does not have; `known` lists the stored versions.
    NoVersion { wanted: String, known: String },
    /// A hash prefix that no stored version has (or too short to tell).
    NoVersionHash { wanted: String, known: String },
    /// A hash prefix several stored versions share.
    SeveralVersions { wanted: String },
}

impl ClientError {
    pub fn say(&self, lang: Lang) -> String {
        match self {
            ClientError::IdentityCode(e) => e.say(lang).to_owned(),
            ClientError::NotAClient => lang.pick(
                "neither a personal identity code nor a pseudonym (64 hexadecimal characters)",
                "ei henkilötunnus eikä pseudonyymi (64 heksadesimaalimerkkiä)",
            )
            .to_owned(),
            ClientError::NoVersion { wanted, known } => match lang {
                Lang::En => format!("no stored model version {wanted} (stored: {known})"),
                Lang::Fi => format!("tallennettua malliversiota {wanted} ei ole (tallennetut: {known})"),
            },
            ClientError::NoVersionHash { wanted, known } => match lang {
                Lang::En => format!(
                    "no stored model version {wanted}: give @N or six or more characters of its hash (stored: {known})"
                ),
                Lang::Fi => format!(
                    "tallennettua malliversiota {wanted} ei ole: anna @N tai vähintään kuusi merkkiä sen tiivisteestä (tallennetut: {known})"
                ),
            },
            ClientError::SeveralVersions { wanted } => match lang {
                Lang::En => format!(
                    "{wanted} is the start of several model versions' hashes: give more of it"
                ),
                Lang::Fi => format!(
                    "{wanted} on usean malliversion tiivisteen alku: anna siitä enemmän"
                ),
            },
        }
    }
}

/// A retention run refused, because its rules cannot be meant.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.say(Lang::En))]
pub enum RetentionError {
    /// A real run as of a day after today (`as_of` as YYYY-MM-DD).
    Future { as_of: String },
    /// A time of zero years (`name` as `polku.toml` has it).
    ZeroYears { name: String },
    /// `[retention.unit_years]` names a unit the model and the stored cases do not know.
    UnknownUnit { unit: String, units: String },
}

impl RetentionError {
    pub fn say(&self, lang: Lang) -> String {
        match (self, lang) {
            (RetentionError::Future { as_of }, Lang::En) => format!(
                "--as-of {as_of} is after today: removing data as of a day still to come would remove what the law still keeps (a dry run may look ahead)"
            ),
            (RetentionError::Future { as_of }, Lang::Fi) => format!(
                "--as-of {as_of} on tämän päivän jälkeen: tulevan päivän mukainen poisto poistaisi tietoja, jotka laki vielä säilyttää (--dry-run voi katsoa eteenpäin)"
            ),
            (RetentionError::ZeroYears { name }, Lang::En) => format!(
                "{name} = 0 in [retention] would remove data on the day it is closed or written: give at least 1 year, or leave it out to keep the data"
            ),
            (RetentionError::ZeroYears { name }, Lang::Fi) => format!(
                "{name} = 0 [retention]-osassa poistaisi tiedot samana päivänä, kun tapaus suljetaan tai rivi kirjoitetaan: anna vähintään 1 vuosi tai jätä se pois, niin tiedot säilytetään"
            ),
            (RetentionError::UnknownUnit { unit, units }, Lang::En) => format!(
                "[retention.unit_years] names `{unit}`, which is not a unit of the model nor of any stored case: its cases would be kept only the general time. The model's units: {units}"
            ),
            (RetentionError::UnknownUnit { unit, units }, Lang::Fi) => format!(
                "[retention.unit_years] nimeää yksikön `{unit}`, joka ei ole mallin eikä minkään tallennetun tapauksen yksikkö: sen tapaukset säilytettäisiin vain yleisen ajan. Mallin yksiköt: {units}"
            ),
        }
    }
}

/// What ingest has acknowledged so far: everything through `line` is durable or refused.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Ack {
    /// The last line (1-based) whose event is now durable, a duplicate, or refused.
    pub line: usize,
    pub accepted: u64,
    pub duplicates: u64,
    pub refused: u64,
    pub deviations: u64,
    /// The log's last sequence number.
    pub seq: u64,
}

/// What an ingest's source hands over next.
// Handed over one at a time and taken apart at once: boxing the event would cost an
// allocation per event for nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Next {
    /// An event with its line number and, where kept, the line as sent.
    Event(usize, Event, Option<String>),
    /// Nothing for now: the input is waiting for more.
    Idle,
}

/// A line that ingest refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Refusal {
    pub line: usize,
    /// In English, as the API answers it.
    pub reason: String,
    /// What the model or the state refused, to say in another language.
    #[serde(skip)]
    pub rejection: Option<Rejection>,
}

impl Refusal {
    fn of(line: usize, rejection: Rejection) -> Refusal {
        Refusal { line, reason: rejection.to_string(), rejection: Some(rejection) }
    }

    /// The reason in `lang`.
    pub fn say(&self, lang: Lang) -> String {
        self.rejection.as_ref().map_or_else(|| self.reason.clone(), |r| r.say(lang))
    }
}

/// Facts about the store and the projection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Info {
    pub schema_version: i64,
    pub events: u64,
    pub log_seq: u64,
    pub snapshot_seq: u64,
    pub cases: u64,
    pub clients: u64,
    pub model_versions: usize,
    pub current_model: String,
    /// A digest of the whole state, independent of how it was built.
    pub state_digest: String,
}

/// About how many events may wait for the disk while the next batch is prepared: enough to
/// keep the writer busy, few enough to keep acknowledgements prompt.
const IN_FLIGHT_EVENTS: usize = 20_000;

/// The most events one transaction of the writer holds, unless one batch is larger.
const MAX_GROUP_ROWS: usize = 10_000;

/// The projection kept in step with the log.
#[derive(Debug)]
pub struct Tracker {
    /// The long-lived writer that owns the store.
    writer: Arc<Committer>,
    pub projection: Projection,
    /// Store model id → projection version.
    versions: HashMap<i64, u16>,
    current_model: i64,
    current_hash: String,
    log_seq: u64,
    /// The log's epoch when the state was read from it.
    epoch: crate::LogEpoch,
    snapshot_seq: u64,
    key: PseudonymKey,
    sources: ModelSources,
    model: Model,
    /// False on a store opened read-only: reads only.
    writable: bool,
    /// Whether the model was given to execute or only to read with (kept for a rebuild).
    model_use: ModelUse,
    /// A rebuild that failed (the database did not answer): until one succeeds, the state may
    /// hold batches that were not written, and the writer writes nothing.
    rebuild: Option<FailedRebuild>,
    /// Where snapshots are written beside the writer ([`EventStore::snapshot_writer`]).
    beside: Option<crate::StoreOpener>,
    /// The bytes of each part of a snapshot written through the writer ([`SNAPSHOT_PART`]).
    snapshot_part: usize,
}

/// The meta entry that holds the pseudonym key's fingerprint.
const KEY_CHECK: &str = "pseudonym_key_fingerprint";

impl Tracker {
    /// Opens the tracker on a store with the model to execute from now on. Rebuilds the
    /// projection from the newest snapshot and the log after it (or from the whole log when
    /// the snapshot does not fit).
    pub fn open(
        store: Box<dyn EventStore>,
        sources: &ModelSources,
        model: &Model,
        key: PseudonymKey,
    ) -> Result<Tracker, TrackerError> {
        Self::open_with(store, sources, model, key, ModelUse::Execute)
    }

    /// [`Tracker::open`], with the model executed (stored as a version) or only consulted.
    pub fn open_with(
        store: Box<dyn EventStore>,
        sources: &ModelSources,
        model: &Model,
        key: PseudonymKey,
        model_use: ModelUse,
    ) -> Result<Tracker, TrackerError> {
        Self::open_or_keep(store, sources, model, key, model_use).map_err(|(e, _)| e)
    }

    /// [`Tracker::open`], giving the store back when it fails, so that the caller can try
    /// again (the database went away for a moment); read again, up to [`LOAD_TRIES`] times in
    /// all, while another process's compaction rewrites the log under the reading.
    fn open_or_keep(
        mut store: Box<dyn EventStore>,
        sources: &ModelSources,
        model: &Model,
        key: PseudonymKey,
        model_use: ModelUse,
    ) -> Result<Tracker, (TrackerError, Box<dyn EventStore>)> {
        let mut tries = 1;
        let state = loop {
            match Self::read_state(store.as_mut(), sources, model, &key, model_use) {
                Ok(Some(state)) => break state,
                Ok(None) if tries < LOAD_TRIES => tries += 1,
                Ok(None) => {
                    let e = StoreError::Other(format!(
                        "the event log was rewritten {tries} times while the state was read from it: try again"
                    ));
                    return Err((e.into(), store));
                }
                Err(e) => return Err((e, store)),
            }
        };
        let beside = store.snapshot_writer();
        let writer = Committer::start(store, state.log_seq, Some(state.epoch), MAX_GROUP_ROWS);
        Ok(Tracker {
            writer: Arc::new(writer),
            projection: state.projection,
            versions: state.versions,
            current_model: state.current_model,
            current_hash: state.current_hash,
            log_seq: state.log_seq,
            epoch: state.epoch,
            snapshot_seq: state.snapshot_seq,
            key,
            sources: sources.clone(),
            model: model.clone(),
            writable: state.writable,
            model_use,
            rebuild: None,
            beside,
            snapshot_part: SNAPSHOT_PART,
        })
    }

    /// The state as the store holds it, with `model` the current version; `None` when another
    /// process's compaction rewrote the log while it was read (the rows read may then be of two
    /// logs: read it again).
    fn read_state(
        store: &mut dyn EventStore,
        sources: &ModelSources,
        model: &Model,
        key: &PseudonymKey,
        model_use: ModelUse,
    ) -> Result<Option<Read>, TrackerError> {
        // The pseudonyms in the store were made with one key: refuse any other, or one
        // person would become two clients.
        let fingerprint = polku_engine::pseudonym::key_fingerprint(key);
        // A store opened read-only is only read: what would be written on opening (the key's
        // fingerprint, the current model version) is needed only by writes.
        let writable = store.writable();
        match store.meta(KEY_CHECK)? {
            Some(known) if known != fingerprint => return Err(TrackerError::WrongKey),
            Some(_) => {}
            None if writable => store.set_meta(KEY_CHECK, &fingerprint)?,
            None => {}
        }
        // A stored version whose sources were changed in the database would give its cases
        // other plans than they had: refused before anything is written.
        let mut stored = store.models()?;
        let changed = changed_model_versions(&stored);
        if !changed.is_empty() {
            return Err(TrackerError::ModelChanged(changed));
        }
        // The version the model is: the stored one with its files, else the newest stored one
        // that means the same (an edit of comments or layout alone), else a new one, stored
        // only when the model is executed (and can be).
        let files = sources.hash();
        let (hash, current_model) = match same_version(&stored, sources, &files) {
            Some((id, hash)) => (hash, id),
            None if writable && model_use == ModelUse::Execute => {
                // As first stored: the time is kept only by the first store of the version.
                let record = ModelSources { stored: now_text(), ..sources.clone() };
                let json = serde_json::to_string(&record)
                    .map_err(|e| TrackerError::Model(e.to_string()))?;
                let id = store.put_model(&files, &json)?;
                stored = store.models()?;
                (files, id)
            }
            None => (files, 0),
        };
        let mut compiled: HashMap<String, Model> = HashMap::new();
        compiled.insert(hash.clone(), model.clone());
        let mut compile = |h: &str| -> Result<Model, StoreError> {
            if let Some(m) = compiled.get(h) {
                return Ok(m.clone());
            }
            let text = &stored
                .iter()
                .find(|m| m.hash == h)
                .ok_or_else(|| StoreError::Snapshot(format!("no stored model version {h}")))?
                .sources;
            let sources: ModelSources =
                serde_json::from_str(text).map_err(|e| StoreError::Other(e.to_string()))?;
            let model = sources.compile().map_err(|e| StoreError::Other(e.to_string()))?;
            compiled.insert(h.to_owned(), model.clone());
            Ok(model)
        };
        // Read before the state: a compaction by another process, or a restart of the
        // database, from here on shows as a changed epoch, to this reading (below) and to every
        // later write of this tracker.
        let epoch = store.log_epoch()?;
        let mut restored = None;
        let found = store.read_snapshot(&mut |seq, chain, data| {
            // A snapshot that does not decode, or that does not say where the event chain
            // stood, is not trusted: the log rebuilds the state (and its chain is checked
            // from the first event).
            if let Some(chain) = chain {
                restored = snapshot::decode(data, &mut compile).ok().map(|p| (p, seq, chain));
            }
            Ok(())
        });
        let (mut projection, snapshot_seq, anchor) = match (found, restored) {
            (Ok(true), Some((p, seq, chain))) => (p, seq, Anchor { row: seq, hash: chain }),
            _ => (Projection::default(), 0, Anchor::START),
        };
        // Every stored version, in the order stored, so that a case finds its own.
        let mut versions = HashMap::new();
        for crate::ModelRecord { id, hash: h, .. } in &stored {
            let m = compile(h)?;
            let v =
                projection.add_version(h, &m).map_err(|e| TrackerError::Model(e.to_string()))?;
            versions.insert(*id, v);
        }
        let current =
            projection.add_version(&hash, model).map_err(|e| TrackerError::Model(e.to_string()))?;
        let mut log_seq = snapshot_seq;
        let mut bad = None;
        // The log after the snapshot is read with its chain checked, starting from the hash
        // the snapshot recorded: an event changed, removed or moved since it was written
        // stops the start. (`polku store verify` walks the whole log.)
        let walked = chain::walk_events(store, anchor, &mut |record| {
            log_seq = record.seq;
            match serde_json::from_str::<Event>(&record.body) {
                Ok(event) => {
                    let version = versions.get(&record.model).copied().unwrap_or(current);
                    projection.apply(&event, version);
                }
                Err(e) => {
                    bad.get_or_insert_with(|| format!("log record {}: {e}", record.seq));
                }
            }
            Ok(())
        })?;
        // What removed cases left for the reports, read before the epoch is looked at again.
        let retained = store.retained()?;
        // The snapshot and the rows read may then be from two logs (a chain that seems
        // broken, or rows that are others than they seem): read them again.
        if store.log_epoch()? != epoch {
            return Ok(None);
        }
        if let Some(broken) = walked.broken {
            return Err(StoreError::Broken(broken).into());
        }
        if let Some(message) = bad {
            return Err(StoreError::Other(message).into());
        }
        projection.current = current;
        for (text, cases) in retained {
            let history = serde_json::from_str(&text)
                .map_err(|e| StoreError::Other(format!("a retained history: {e}")))?;
            projection.retained.push((history, cases));
        }
        Ok(Some(Read {
            projection,
            versions,
            current_model,
            current_hash: hash,
            log_seq,
            epoch,
            snapshot_seq,
            writable,
        }))
    }

    /// Applies what other processes (another server on the same database) appended to the log
    /// since this tracker last wrote or caught up, and answers how many events that was. Only
    /// for a caller with no batch of its own waiting for the disk (see [`crate::committer::Committer::follow`]).
    /// An event stored under a model version this tracker has not loaded rebuilds the state
    /// from the store, which loads every stored version.
    pub fn catch_up(&mut self) -> Result<u64, TrackerError> {
        let records = self.writer.follow()?;
        let Some(last) = records.last().map(|r| r.seq) else { return Ok(0) };
        if records.iter().any(|r| !self.versions.contains_key(&r.model)) {
            self.reload()?;
            return Ok(records.len() as u64);
        }
        for record in &records {
            let event: Event = serde_json::from_str(&record.body)
                .map_err(|e| StoreError::Other(format!("log record {}: {e}", record.seq)))?;
            let version = self.versions[&record.model];
            self.projection.apply(&event, version);
        }
        self.log_seq = self.log_seq.max(last);
        Ok(records.len() as u64)
    }

    /// The stored model versions this tracker executes: (id in the store, content hash), oldest
    /// first; the model loaded now is among them.
    pub fn model_versions(&self) -> Vec<(i64, String)> {
        let mut out: Vec<(i64, String)> = self
            .versions
            .iter()
            .map(|(&id, &v)| (id, self.projection.versions[usize::from(v)].hash.clone()))
            .collect();
        out.sort();
        out
    }

    /// Removes the client data of the cases closed longer ago than `rules` keep them, as of
    /// `at` (see [`EventStore::compact`]): their events go and the events kept are chained
    /// anew; what the distribution and transition reports count of them stays, as day-level
    /// segment histories with no case id or client; clients left with no case are no longer
    /// in the store; access-log rows older than their own time go too. The state is then rebuilt
    /// and a snapshot written. With `dry_run`, only counts. Run it on one server: the others
    /// rebuild when they next write or follow.
    pub fn retain(
        &mut self,
        rules: &Retention,
        at: i64,
        dry_run: bool,
        actor: &Actor,
    ) -> Result<RetentionReport, TrackerError> {
        // A dry run only counts (and logs the look): it writes nothing under the model.
        if dry_run && !self.writable {
            return Err(TrackerError::ReadOnly(Blocked::RemoveClientData));
        }
        if !dry_run {
            self.may_write_under_model(Blocked::RemoveClientData)?;
        }
        self.check_retention(rules, at, dry_run)?;
        let mut tries = 1;
        loop {
            // The cases are chosen from the state: it must be the log's, not one a failed
            // rebuild left, nor one read before other servers wrote (then read again).
            if self.rebuild.is_some() {
                self.reload()?;
            }
            match self.retain_once(rules, at, dry_run, actor) {
                Err(TrackerError::Store(StoreError::Conflict { .. })) if tries < RETAIN_TRIES => {
                    tries += 1;
                    self.reload()?;
                }
                Err(TrackerError::Store(StoreError::Conflict { .. })) => {
                    return Err(StoreError::Other(format!(
                        "other processes changed the event log while the retention run read it, {tries} times: nothing was removed; run it again in a quieter hour"
                    ))
                    .into());
                }
                other => return other,
            }
        }
    }

    /// One try of [`Tracker::retain`], from the state as it is.
    fn retain_once(
        &mut self,
        rules: &Retention,
        at: i64,
        dry_run: bool,
        actor: &Actor,
    ) -> Result<RetentionReport, TrackerError> {
        let cutoff = |unit: &str| {
            rules
                .unit_years
                .get(unit)
                .copied()
                .or(rules.closed_case_years)
                .map(|y| years_before(at, y))
        };
        let expired = self.projection.expired_cases(cutoff);
        let mut histories: std::collections::BTreeMap<String, u64> = Default::default();
        let mut cases: std::collections::HashSet<String> = Default::default();
        let mut clients: std::collections::HashSet<u32> = Default::default();
        for case in &expired {
            if let Some(history) = self.projection.retained_history(case) {
                let text = serde_json::to_string(&history)
                    .map_err(|e| StoreError::Other(e.to_string()))?;
                *histories.entry(text).or_default() += 1;
            }
            cases.insert(case.id.to_string());
            clients.insert(case.client);
        }
        // Clients with a case that stays keep their pseudonym.
        let gone_clients = clients
            .iter()
            .filter(|&&c| {
                self.projection.client_cases.get(c as usize).is_some_and(|list| {
                    list.iter().all(|&i| cases.contains(&*self.projection.cases[i as usize].id))
                })
            })
            .count() as u64;
        let access_before = rules.access_log_years.map(|y| {
            let (yy, m, d) = polku_engine::time::Timestamp(years_before(at, y)).local_date();
            format!("{yy:04}-{m:02}-{d:02}T00:00:00Z")
        });
        let removed_cases = cases.len() as u64;
        let histories: Vec<(String, u64)> = histories.into_iter().collect();
        let mut report = RetentionReport {
            as_of: polku_engine::time::Timestamp(at).local_date_text(),
            dry_run,
            cases: removed_cases,
            clients: gone_clients,
            histories: histories.len() as u64,
            ..RetentionReport::default()
        };
        let expect = self.log_seq;
        let epoch = self.epoch;
        let cutoff_text = access_before.clone();
        let when = now_text();
        let work = move |store: &mut dyn EventStore| -> Result<(u64, u64, Option<crate::CompactionRecord>), StoreError> {
            let mut keep = Vec::new();
            let mut removed = 0u64;
            let mut last = 0;
            let mut last_hash = None;
            store.scan(0, &mut |record| {
                last = record.seq;
                last_hash = record.hash;
                let case = case_of(&record.body);
                if cases.contains(&case) {
                    removed += 1;
                } else {
                    keep.push(crate::NewRecord { model: record.model, body: record.body });
                }
                Ok(())
            })?;
            // The cases chosen are those of the state: the log read must be the one it was
            // read from, not one another process's compaction rewrote since.
            if last != expect || store.log_epoch()? != epoch {
                return Err(StoreError::Conflict { expected: expect, found: last });
            }
            let mut old_access = 0u64;
            if let Some(cutoff) = &cutoff_text {
                store.scan_access_log(0, &mut |_, access, _| {
                    old_access += u64::from(access.at.as_str() < cutoff.as_str());
                    Ok(())
                })?;
            }
            // Nothing to remove: the log is not rewritten (which would make every other server
            // read its state again).
            if dry_run || (cases.is_empty() && old_access == 0) {
                return Ok((removed, old_access, None));
            }
            let hex = |h: &Option<chain::Hash>| {
                h.map(|h| polku_engine::pseudonym::to_hex(&h)).unwrap_or_default()
            };
            let mut compaction = crate::Compaction {
                at: when,
                after: (last, hex(&last_hash)),
                keep,
                retained: histories,
                removed_cases,
                access_before: cutoff_text,
            };
            let mut tries = 0;
            let record = loop {
                match store.compact(&compaction) {
                    // Other servers appended while the log was read (the compaction holds the
                    // log's lock only while it writes): their events are kept too, once the
                    // rows after the last one read are found to go on from it.
                    Err(StoreError::Conflict { found, .. })
                        if found > compaction.after.0 && tries < COMPACTION_TRIES =>
                    {
                        tries += 1;
                        let mut prev = match last_hash {
                            Some(hash) => hash,
                            None if compaction.after.0 == 0 => chain::GENESIS,
                            // Rows from before the chain: what follows them cannot be told.
                            None => return Err(StoreError::Conflict { expected: last, found }),
                        };
                        let mut broken = None;
                        store.scan(compaction.after.0, &mut |record| {
                            let chained = chain::event_hash(
                                &prev,
                                record.seq,
                                record.model,
                                record.body.as_bytes(),
                            );
                            if broken.is_some()
                                || record.hash != Some(chained)
                                || cases.contains(&case_of(&record.body))
                            {
                                broken.get_or_insert(record.seq);
                                return Ok(());
                            }
                            prev = chained;
                            compaction.after = (record.seq, hex(&Some(chained)));
                            compaction.keep.push(crate::NewRecord {
                                model: record.model,
                                body: record.body,
                            });
                            Ok(())
                        })?;
                        last_hash = Some(prev);
                        if let Some(seq) = broken {
                            return Err(StoreError::Other(format!(
                                "event {seq}, written while the retention run read the log, is of a case being removed or does not follow the rows read: nothing was removed; run it again"
                            )));
                        }
                    }
                    other => break other?,
                }
            };
            Ok((removed, record.removed_access_rows, Some(record)))
        };
        let (events, access_rows, record) = self.writer.run(work)?;
        report.events = events;
        report.access_rows = access_rows;
        if record.is_some() {
            // The state as the log now has it; the next start reads it from the snapshot.
            self.reload()?;
            self.save_snapshot()?;
        }
        report.compaction = record;
        self.log(
            actor,
            "retain",
            None,
            &format!(
                "{}{} cases, {} events, {} clients, {} access rows",
                if dry_run { "dry run: " } else { "" },
                report.cases,
                report.events,
                report.clients,
                report.access_rows
            ),
        )?;
        Ok(report)
    }

    /// Refuses a retention run that would remove more than its rules mean: as of a day after
    /// today (allowed for a dry run, which only counts), a time of zero years, or a unit that
    /// is neither the model's nor any stored case's (a misspelt name would leave that unit's
    /// cases to the shorter general time).
    fn check_retention(
        &self,
        rules: &Retention,
        at: i64,
        dry_run: bool,
    ) -> Result<(), TrackerError> {
        let today_ends = polku_engine::time::Timestamp(now_seconds()).end_of_local_day().0;
        if !dry_run && at > today_ends {
            return Err(TrackerError::Retention(RetentionError::Future {
                as_of: polku_engine::time::Timestamp(at).local_date_text(),
            }));
        }
        let zero = [
            ("closed_case_years", rules.closed_case_years),
            ("access_log_years", rules.access_log_years),
        ]
        .into_iter()
        .filter(|(_, years)| *years == Some(0))
        .map(|(name, _)| name.to_owned())
        .chain(
            rules
                .unit_years
                .iter()
                .filter(|(_, y)| **y == 0)
                .map(|(u, _)| format!("unit_years.{u}")),
        );
        if let Some(name) = zero.into_iter().next() {
            return Err(TrackerError::Retention(RetentionError::ZeroYears { name }));
        }
        let known = |unit: &str| {
            self.model.services.contains_key(unit)
                || self.projection.cases.iter().any(|c| self.projection.names.get(c.unit) == unit)
        };
        if let Some(unit) = rules.unit_years.keys().find(|u| !known(u)) {
            let mut units: Vec<&str> = self.model.services.keys().map(String::as_str).collect();
            units.sort_unstable();
            return Err(TrackerError::Retention(RetentionError::UnknownUnit {
                unit: unit.clone(),
                units: units.join(", "),
            }));
        }
        Ok(())
    }

    /// Every stored model version with what was kept with it and how many open cases run
    /// under it, oldest first.
    pub fn stored_versions(&mut self) -> Result<Vec<StoredVersion>, TrackerError> {
        let records = self.writer.run(|store| store.models())?;
        let mut open: HashMap<u16, u64> = HashMap::new();
        for case in &self.projection.cases {
            if case.rt.as_ref().is_some_and(|rt| rt.closed.is_none()) {
                *open.entry(case.version).or_default() += 1;
            }
        }
        let mut out = Vec::new();
        for record in records {
            let sources: ModelSources = serde_json::from_str(&record.sources)
                .map_err(|e| StoreError::Other(format!("model version {}: {e}", record.id)))?;
            let version = self.versions.get(&record.id).copied();
            out.push(StoredVersion {
                id: record.id,
                current: version == Some(self.projection.current),
                hash: record.hash,
                stored: sources.stored,
                language: sources.language,
                note: sources.note,
                open_cases: version.and_then(|v| open.get(&v)).copied().unwrap_or(0),
            });
        }
        out.sort_by_key(|v| v.id);
        Ok(out)
    }

    /// A model version by what a person writes for it: `@N` (its id in the store), a prefix of
    /// its content hash (six characters at least, in either case, with or without `@`), or
    /// nothing for the model loaded now.
    pub fn find_version(&self, text: Option<&str>) -> Result<u16, TrackerError> {
        let Some(text) = text.map(str::trim) else { return Ok(self.projection.current) };
        let known = || {
            self.model_versions()
                .iter()
                .map(|(id, hash)| format!("@{id} ({})", &hash[..hash.len().min(12)]))
                .collect::<Vec<_>>()
                .join(", ")
        };
        // `@N` is a number in the store; `@` before a hash is allowed, as `polku diff` allows it.
        let text = text.strip_prefix('@').filter(|t| t.parse::<i64>().is_err()).unwrap_or(text);
        let text = &text.to_ascii_lowercase();
        if let Some(id) = text.strip_prefix('@') {
            let version = id.parse::<i64>().ok().and_then(|id| self.versions.get(&id).copied());
            return version.ok_or_else(|| {
                TrackerError::Client(ClientError::NoVersion {
                    wanted: text.to_owned(),
                    known: known(),
                })
            });
        }
        let matching: Vec<u16> = (0..self.projection.versions.len() as u16)
            .filter(|&v| {
                text.len() >= 6 && self.projection.versions[usize::from(v)].hash.starts_with(text)
            })
            .collect();
        match matching[..] {
            [one] => Ok(one),
            [] => Err(TrackerError::Client(ClientError::NoVersionHash {
                wanted: text.to_owned(),
                known: known(),
            })),
            _ => {
                Err(TrackerError::Client(ClientError::SeveralVersions { wanted: text.to_owned() }))
            }
        }
    }

    /// What moving the open cases to `version` would do ([`Projection::migration_preview`]);
    /// the look at the open cases is logged.
    pub fn migration_preview(
        &mut self,
        version: u16,
        actor: &Actor,
    ) -> Result<polku_engine::projection::MigrationPreview, TrackerError> {
        if !self.writable {
            return Err(TrackerError::ReadOnly(Blocked::ShowPreview));
        }
        self.log(actor, "migrate", None, "preview")?;
        Ok(self.projection.migration_preview(version))
    }

    /// Moves every open case that can move to `version`: one `case_migrated` event each, at
    /// `at`, stored as any event is (durably, and answered per case). Cases that cannot move
    /// stay where they are ([`Tracker::migration_preview`] says why). Moving back is a
    /// migration to the version left.
    pub fn migrate(
        &mut self,
        version: u16,
        actor: &Actor,
        at: i64,
    ) -> Result<(Ack, Vec<Refusal>), TrackerError> {
        self.may_write_under_model(Blocked::MoveCases)?;
        let to = self.projection.versions[usize::from(version)].hash.clone();
        let moves = self.projection.movable_cases(version);
        let events: Vec<(usize, Event, Option<String>)> = moves
            .into_iter()
            .enumerate()
            .map(|(i, (case, from))| {
                let earlier = self
                    .projection
                    .case_index
                    .get(case.as_str())
                    .map(|&c| &self.projection.cases[c as usize].events)
                    .map_or(0, |events| {
                        events
                            .iter()
                            .filter(|e| e.kind == polku_engine::case::Kind::CaseMigrated)
                            .count()
                    });
                let event = Event {
                    id: format!("migrate-{}-{}", earlier + 1, &to[..to.len().min(12)]),
                    case,
                    occurred: polku_engine::time::Timestamp(at),
                    recorded: polku_engine::time::Timestamp(at),
                    role: actor.role.clone(),
                    kind: EventKind::CaseMigrated { from, to: to.clone() },
                };
                (i + 1, event, None)
            })
            .collect();
        self.ingest(events, 1000, actor, &mut |_| {})
    }

    /// Whether the store can be written; a tracker on a read-only store only reads.
    pub fn writable(&self) -> bool {
        self.writable
    }

    /// Refuses `what` unless the store can be written and the model loaded is a stored
    /// version (one opened with [`ModelUse::Consult`] may not be).
    fn may_write_under_model(&self, what: Blocked) -> Result<(), TrackerError> {
        if !self.writable {
            return Err(TrackerError::ReadOnly(what));
        }
        if self.current_model == 0 {
            return Err(TrackerError::NotStored(what));
        }
        Ok(())
    }

    /// Rebuilds the projection from the store: after a failed write, the projection may hold
    /// events that never became durable, and only the log knows which did.
    pub fn reload(&mut self) -> Result<(), TrackerError> {
        let warning = self.writer.chain_warning();
        let began = std::time::Instant::now();
        let tries = self.rebuild.as_ref().map_or(1, |r| r.tries + 1);
        let store = match self.writer.stop() {
            Ok(store) => store,
            Err(e) => {
                // The writer thread ended without giving the store back: nothing can be
                // read again, and the state may hold batches that were not written.
                self.rebuild = Some(FailedRebuild {
                    why: e.to_string(),
                    ended: std::time::Instant::now(),
                    took: began.elapsed(),
                    tries,
                    transient: false,
                });
                return Err(e.into());
            }
        };
        match Tracker::open_or_keep(
            store,
            &self.sources,
            &self.model,
            self.key.clone(),
            self.model_use,
        ) {
            Ok(fresh) => {
                if let Some(warning) = warning {
                    fresh.writer.on_chain_break(warning);
                }
                *self = fresh;
                Ok(())
            }
            Err((e, store)) => {
                // The store is kept for the next try, behind a writer that writes nothing:
                // the state may hold batches that were not written.
                let why = format!("the state is to be read again from the database: {e}");
                self.writer = Arc::new(Committer::holding(store, why));
                if let Some(warning) = warning {
                    self.writer.on_chain_break(warning);
                }
                self.rebuild = Some(FailedRebuild {
                    why: e.to_string(),
                    ended: std::time::Instant::now(),
                    took: began.elapsed(),
                    tries,
                    transient: matches!(
                        e,
                        TrackerError::Store(StoreError::Backend(_) | StoreError::Other(_))
                    ),
                });
                Err(e)
            }
        }
    }

    /// Why the state awaits a rebuild, when the last one failed (the database did not
    /// answer): until [`Tracker::reload`] succeeds, the state may hold batches that were not
    /// written, and is not to be read.
    pub fn awaiting_rebuild(&self) -> Option<&str> {
        self.rebuild.as_ref().map(|r| r.why.as_str())
    }

    /// Whether the next try of a rebuild is to wait ([`FailedRebuild::pause`]): while the
    /// database does not answer, a try may take a connection's whole time-out, and whatever
    /// needs the state waits behind it.
    pub fn rebuild_paused(&self) -> bool {
        self.rebuild.as_ref().is_some_and(|r| r.ended.elapsed() < r.pause())
    }

    /// The answer to a read or a write while the state awaits a rebuild whose next try is to
    /// wait: the database does not answer ([`TrackerError::Unavailable`]), or the state
    /// cannot be read as the log is.
    pub fn rebuild_refusal(&self) -> Option<TrackerError> {
        let r = self.rebuild.as_ref().filter(|r| r.ended.elapsed() < r.pause())?;
        Some(match r.transient {
            true => TrackerError::Unavailable(r.why.clone()),
            false => StoreError::Other(r.why.clone()).into(),
        })
    }

    /// Has `warn` told of each break in a hash chain that the writer meets at the end of the
    /// event log or the access log: the rows are written all the same, following the changed
    /// row as stored, so that the change stays evident to `polku store verify` (which names
    /// the first changed row) while staff can go on working. The command line and the server
    /// give it as a warning. It is kept when the tracker is rebuilt.
    pub fn on_chain_break(&mut self, warn: impl Fn(&chain::Break) + Send + Sync + 'static) {
        self.writer.on_chain_break(Arc::new(warn));
    }

    /// Reads events (JSON Lines, as bytes) and pseudonymises their clients with this
    /// tracker's key: good lines, refused lines with their reason, and warnings.
    pub fn read_events(&self, bytes: &[u8]) -> polku_engine::event::ReadLines {
        read_events(bytes, &self.key)
    }

    /// The writer, to log accesses and wait for batches without holding the tracker.
    pub fn writer(&self) -> Arc<Committer> {
        self.writer.clone()
    }

    /// The log's last sequence number that this tracker has applied.
    pub fn log_seq(&self) -> u64 {
        self.log_seq
    }

    /// Notes that the log holds everything through `seq` (after a batch became durable).
    pub fn advance(&mut self, seq: u64) {
        self.log_seq = self.log_seq.max(seq);
    }

    /// The store model id under which new events are stored (0 when the model loaded is no
    /// stored version).
    pub fn current_model(&self) -> i64 {
        self.current_model
    }

    /// The content hash of the version the model loaded is: a stored version's when it means
    /// the same as one (its files may differ in how they are written), else its files'.
    pub fn current_hash(&self) -> &str {
        &self.current_hash
    }

    /// Ingests events in order, `batch` to a transaction, group-committed on a writer thread
    /// while the next batch is prepared. `on_ack` hears each time more lines are durable.
    /// Lines that fail are refused with their reason; the rest go on.
    ///
    /// Each event may come with the line it was read from: that text is what the log keeps
    /// (the sender's own words), except for an opened case, whose client was pseudonymised
    /// and which is therefore written anew. Without the line, the event is written as JSON.
    pub fn ingest(
        &mut self,
        events: impl IntoIterator<Item = (usize, Event, Option<String>)>,
        batch: usize,
        actor: &Actor,
        on_ack: &mut dyn FnMut(&Ack),
    ) -> Result<(Ack, Vec<Refusal>), TrackerError> {
        let mut events = events.into_iter();
        let mut next = || events.next().map(|(line, event, raw)| Next::Event(line, event, raw));
        self.ingest_from(&mut next, batch, actor, on_ack)
    }

    /// As [`Tracker::ingest`], from a source that can also say it has nothing for now
    /// ([`Next::Idle`], such as input that is slow to come): what was handed over until then
    /// is committed and acknowledged before the source is asked again. `None` ends the input.
    pub fn ingest_from(
        &mut self,
        next: &mut dyn FnMut() -> Option<Next>,
        batch: usize,
        actor: &Actor,
        on_ack: &mut dyn FnMut(&Ack),
    ) -> Result<(Ack, Vec<Refusal>), TrackerError> {
        self.may_write_under_model(Blocked::StoreEvents)?;
        let batch = batch.clamp(1, 100_000);
        let in_flight = (IN_FLIGHT_EVENTS / batch).max(2);
        let committer = self.writer.clone();
        let mut ack = Ack { seq: self.log_seq, ..Ack::default() };
        let mut refusals = Vec::new();
        let mut pending: std::collections::VecDeque<(Ticket, Ack)> = Default::default();
        let mut rows: Vec<crate::NewRecord> = Vec::with_capacity(batch);
        let mut running = ack;
        let mut failure = None;
        let mut submitted = 0;
        fn wait(
            pending: &mut std::collections::VecDeque<(Ticket, Ack)>,
            ack: &mut Ack,
            on_ack: &mut dyn FnMut(&Ack),
        ) -> Result<(), StoreError> {
            if let Some((ticket, mut done)) = pending.pop_front() {
                done.seq = ticket.wait()?;
                *ack = done;
                on_ack(ack);
            }
            Ok(())
        }
        while let Some(item) = next() {
            let (line, event, raw) = match item {
                Next::Event(line, event, raw) => (line, event, raw),
                Next::Idle => {
                    // Everything handed over so far goes to the disk and is acknowledged.
                    if !rows.is_empty() || running.line > submitted {
                        submitted = running.line;
                        let part = std::mem::replace(&mut rows, Vec::with_capacity(batch));
                        pending.push_back((committer.submit(part), running));
                    }
                    while !pending.is_empty() {
                        if let Err(e) = wait(&mut pending, &mut ack, on_ack) {
                            failure = Some(e);
                            break;
                        }
                    }
                    if failure.is_some() {
                        break;
                    }
                    continue;
                }
            };
            match self.projection.accept(&event, self.projection.current) {
                Err(rejection) => {
                    running.refused += 1;
                    refusals.push(Refusal::of(line, rejection));
                }
                Ok(Outcome::Conflict) => {
                    running.refused += 1;
                    refusals.push(Refusal::of(line, Rejection::Conflict(event.id.clone())));
                }
                Ok(Outcome::Duplicate) => running.duplicates += 1,
                Ok(Outcome::Applied(deviation)) => {
                    running.deviations += u64::from(deviation.is_some());
                    let body = match raw {
                        Some(raw) if !matches!(event.kind, EventKind::CaseOpened { .. }) => raw,
                        _ => polku_engine::event::to_json(&event),
                    };
                    rows.push(crate::NewRecord { model: self.current_model, body });
                    running.accepted += 1;
                }
            }
            running.line = line;
            if rows.len() >= batch {
                submitted = running.line;
                let full = std::mem::replace(&mut rows, Vec::with_capacity(batch));
                pending.push_back((committer.submit(full), running));
                while pending.len() > in_flight {
                    if let Err(e) = wait(&mut pending, &mut ack, on_ack) {
                        failure = Some(e);
                        break;
                    }
                }
                if failure.is_some() {
                    break;
                }
            }
        }
        if failure.is_none() {
            if !rows.is_empty() || running.line > submitted {
                let last = std::mem::take(&mut rows);
                pending.push_back((committer.submit(last), running));
            }
            while !pending.is_empty() {
                if let Err(e) = wait(&mut pending, &mut ack, on_ack) {
                    failure = Some(e);
                    break;
                }
            }
        }
        match failure {
            None => {
                self.log_seq = self.log_seq.max(ack.seq);
                let _ = self.log(actor, "ingest", None, &format!("{} events", ack.accepted));
                Ok((ack, refusals))
            }
            Some(e) => {
                // What was applied but not stored must go: rebuild from the log.
                let _ = self.log(actor, "ingest", None, &format!("failed: {e}"));
                self.reload()?;
                Err(e.into())
            }
        }
    }

    fn log(
        &mut self,
        actor: &Actor,
        action: &str,
        client: Option<&str>,
        detail: &str,
    ) -> Result<(), StoreError> {
        let access = Access::by(actor, action, client, detail);
        self.writer.log_access(access)
    }

    /// Logs a report. A report shows aggregates, no client's data: on a store that cannot be
    /// written (a read-only mount) it is given without its access-log row.
    fn log_report(&mut self, actor: &Actor, detail: &str) -> Result<(), StoreError> {
        if !self.writable {
            return Ok(());
        }
        self.log(actor, "report", None, detail)
    }

    /// Turns what the user typed (a personal identity code or a pseudonym) into a pseudonym.
    pub fn pseudonym(&self, client: &str) -> Result<Pseudonym, TrackerError> {
        pseudonym_of(client, &self.key)
    }

    /// The key, for the service to read events without holding the tracker.
    pub(crate) fn key(&self) -> &PseudonymKey {
        &self.key
    }

    /// The status of every case of a client, as of `now`; `None` when the client has none.
    /// The access is logged first.
    pub fn client_status(
        &mut self,
        client: &str,
        actor: &Actor,
        now: i64,
        lang: Lang,
    ) -> Result<Option<ClientStatus>, TrackerError> {
        let pseudonym = self.pseudonym(client)?;
        if !self.writable {
            return Err(TrackerError::ReadOnly(Blocked::ShowStatus));
        }
        self.log(actor, "status", Some(pseudonym.as_str()), "")?;
        Ok(self.projection.client_status(pseudonym.as_str(), now, lang))
    }

    /// Why a client's service was planned as it was at `at` ([`Projection::explain`]), for
    /// every case or, with `step`, for that step. Logged as an access to the client's data
    /// before it is worked out.
    pub fn explain(
        &mut self,
        client: &str,
        actor: &Actor,
        at: i64,
        step: Option<&str>,
    ) -> Result<Option<polku_engine::explain::Explanation>, TrackerError> {
        let pseudonym = self.pseudonym(client)?;
        if !self.writable {
            return Err(TrackerError::ReadOnly(Blocked::ShowExplanation));
        }
        self.log(actor, "explain", Some(pseudonym.as_str()), step.unwrap_or(""))?;
        Ok(self.projection.explain(pseudonym.as_str(), at, step))
    }

    pub fn segment_report(
        &mut self,
        actor: &Actor,
        date: i64,
    ) -> Result<SegmentReport, TrackerError> {
        self.log_report(actor, "segments")?;
        Ok(self.projection.segment_report(date))
    }

    pub fn transition_report(
        &mut self,
        actor: &Actor,
        from: i64,
        to: i64,
    ) -> Result<TransitionReport, TrackerError> {
        self.log_report(actor, "transitions")?;
        Ok(self.projection.transition_report(from, to))
    }

    /// Reads what is stored around `day` for `rules`, for [`Tracker::record_markers`]: this
    /// can go on while the extract is read.
    pub fn load_markers(
        &self,
        rules: &MarkerRules,
        day: i64,
    ) -> Result<markers::Neighbours, TrackerError> {
        let name = rules.name.clone();
        Ok(self.writer.run(move |store| markers::neighbours(store, &name, day))?)
    }

    /// Stores the marker rules' proposals for a day (see [`crate::markers::record_day`]);
    /// `loaded` is what [`Tracker::load_markers`] read, if it was called.
    pub fn record_markers(
        &mut self,
        actor: &Actor,
        rules: &MarkerRules,
        run: markers::MarkerRun,
        proposals: FastMap<ClientKey, Option<String>>,
        loaded: Option<markers::Neighbours>,
    ) -> Result<markers::RecordedDay, TrackerError> {
        if !self.writable {
            return Err(TrackerError::ReadOnly(Blocked::StoreProposals));
        }
        let detail = format!("{} {}", rules.name, markers::day_text(run.day));
        self.log(actor, "segment_daily", None, &detail)?;
        Ok(markers::record(&self.writer, rules, run, proposals, loaded)?)
    }

    /// Clients per segment on a day, by where the segment came from (see [`crate::markers`]).
    pub fn client_segment_report(
        &mut self,
        actor: &Actor,
        rules: &MarkerRules,
        date: i64,
    ) -> Result<markers::ClientSegmentReport, TrackerError> {
        self.log_report(actor, "client_segments")?;
        let projection = &self.projection;
        Ok(markers::segment_report(
            &self.writer,
            |s, at| projection.staff_decisions(s, at),
            rules,
            date,
        )?)
    }

    /// How clients moved between segments from one day to another, by source.
    pub fn client_transition_report(
        &mut self,
        actor: &Actor,
        rules: &MarkerRules,
        from: i64,
        to: i64,
    ) -> Result<markers::ClientTransitionReport, TrackerError> {
        self.log_report(actor, "client_transitions")?;
        let projection = &self.projection;
        Ok(markers::transition_report(
            &self.writer,
            |s, at| projection.staff_decisions(s, at),
            rules,
            from,
            to,
        )?)
    }

    pub fn completion_report(
        &mut self,
        actor: &Actor,
        now: i64,
    ) -> Result<CompletionReport, TrackerError> {
        self.log_report(actor, "completion")?;
        Ok(self.projection.completion_report(now))
    }

    /// Writes a snapshot of the projection after the log's last record: takes it
    /// ([`Tracker::snapshot_later`]) and stores it ([`PendingSnapshot::store`]).
    pub fn save_snapshot(&mut self) -> Result<(), TrackerError> {
        let stored = self.snapshot_later()?.store()?;
        self.snapshot_stored(&stored);
        Ok(())
    }

    /// Sets the bytes of each part of a snapshot written through the writer, between its
    /// appends (SQLite): a batch waits for one part at most, and each part is a commit of its
    /// own. [`SNAPSHOT_PART`] unless set.
    pub fn set_snapshot_part(&mut self, bytes: usize) {
        self.snapshot_part = bytes.max(1);
    }

    /// Takes a snapshot of the projection after the log's last record, to be stored without
    /// the tracker ([`PendingSnapshot::store`]): what it holds is taken now, at the cost of a
    /// reference per chunk of cases ([`snapshot::Image`]), and the projection may change
    /// meanwhile.
    pub fn snapshot_later(&mut self) -> Result<PendingSnapshot, TrackerError> {
        self.may_write_under_model(Blocked::WriteSnapshot)?;
        let seq = self.log_seq;
        let route = match &self.beside {
            // Handed over now, in the writer's turn right after the batches the image holds:
            // the chain's hash at its row as the writer's connection has it, with that
            // connection's epoch (a restart of the database since the state was read shows
            // there); then an append of no events, answered once every batch before it is
            // durable.
            Some(open) => Route::Beside {
                open: open.clone(),
                anchor: self.writer.run_later_if_written(move |store| {
                    Ok((store.log_epoch()?, store.chain_at(seq)?))
                }),
                durable: self.writer.submit(Vec::new()),
            },
            // The chain's hash at its row as the writer wrote it, read in the writer's turn
            // right after the batches the image holds: the parts are written later, between
            // other batches, and the snapshot is kept only while the log holds this hash there.
            None => Route::Writer {
                writer: self.writer.clone(),
                anchor: self.writer.run_later_if_written(move |store| store.chain_at(seq)),
            },
        };
        Ok(PendingSnapshot {
            image: snapshot::Image::of(&self.projection),
            seq,
            epoch: self.epoch,
            route,
            part: self.snapshot_part,
        })
    }

    /// A snapshot ([`PendingSnapshot::store`]) was stored; not noted when the state was read
    /// again since it was taken (a compaction or a restart of the database rewrote the log).
    pub fn snapshot_stored(&mut self, stored: &StoredSnapshot) {
        if stored.epoch == self.epoch {
            self.snapshot_seq = self.snapshot_seq.max(stored.seq).min(self.log_seq);
        }
    }

    /// Records since the last snapshot.
    pub fn unsnapshotted(&self) -> u64 {
        self.log_seq - self.snapshot_seq
    }

    /// The newest `limit` accesses, of one client (a personal identity code or a pseudonym)
    /// or of all.
    pub fn access_log(
        &mut self,
        client: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Access>, TrackerError> {
        let client = client.map(|c| self.pseudonym(c)).transpose()?.map(|p| p.as_str().to_owned());
        Ok(self.writer.run(move |store| store.access_log(client.as_deref(), limit))?)
    }

    pub fn info(&mut self) -> Result<Info, TrackerError> {
        let schema_version = self.writer.run(|store| store.schema_version())?;
        Ok(Info {
            schema_version,
            events: self.projection.events,
            log_seq: self.log_seq,
            snapshot_seq: self.snapshot_seq,
            cases: self.projection.opened_cases(),
            clients: self.projection.clients.len() as u64,
            model_versions: self.versions.len(),
            current_model: self.current_hash.clone(),
            state_digest: format!("{:016x}", self.projection.digest()),
        })
    }
}

/// The size of the pieces a snapshot is written in on a connection beside the writer
/// (PostgreSQL).
const SNAPSHOT_PIECE: usize = 1 << 20;

/// The bytes of one part of a snapshot written through the writer thread (SQLite): each part
/// is a write of its own, so a batch behind the snapshot waits for one part at most (a few
/// milliseconds), not for the whole snapshot (seconds at national scale).
pub const SNAPSHOT_PART: usize = 1 << 20;

/// The answer to a part handed to the writer: the build's number, and the part's buffer back.
type PartWritten = crate::committer::Answer<Result<(u64, Vec<u8>), StoreError>>;

/// The encoder's end of a snapshot written in parts through the writer thread: each full part
/// is handed to the writer as a job of its own, behind the batches already waiting, and the
/// next part is encoded while it is written; so at most two parts are in memory.
struct Parts {
    writer: Arc<Committer>,
    size: usize,
    part: Vec<u8>,
    /// The part being written: its answer is the build's number, and the buffer to fill again.
    written: Option<PartWritten>,
    build: Option<u64>,
    sent: u32,
    /// Why the store took no more (the encoder sees only that the stream broke).
    failed: Option<StoreError>,
}

impl Parts {
    fn new(writer: Arc<Committer>, size: usize) -> Parts {
        Parts {
            writer,
            size,
            part: Vec::with_capacity(size),
            written: None,
            build: None,
            sent: 0,
            failed: None,
        }
    }

    /// Waits until the part being written, if any, is written: its buffer back.
    fn settle(&mut self) -> std::io::Result<Option<Vec<u8>>> {
        let Some(written) = self.written.take() else { return Ok(None) };
        let failed = match written.wait() {
            Some(Ok((build, buffer))) => {
                self.build = Some(build);
                return Ok(Some(buffer));
            }
            Some(Err(e)) => e,
            None => StoreError::Other(
                "the snapshot was not stored: a batch before it was not written, or the writer stopped".into(),
            ),
        };
        self.failed = Some(failed);
        Err(std::io::Error::new(std::io::ErrorKind::BrokenPipe, "the store stopped taking it"))
    }

    /// Hands the part filled so far to the writer, once the one before it is written (whose
    /// answer numbers the build).
    fn send(&mut self) -> std::io::Result<()> {
        if self.failed.is_some() {
            return Err(std::io::Error::new(std::io::ErrorKind::BrokenPipe, "the store stopped"));
        }
        let spare = self.settle()?;
        let next = match spare {
            Some(mut buffer) => {
                buffer.clear();
                buffer
            }
            None => Vec::with_capacity(self.size),
        };
        let full = std::mem::replace(&mut self.part, next);
        let (build, part) = (self.build, self.sent);
        self.sent += 1;
        self.written = Some(self.writer.run_later_if_written(move |store| {
            let build = store.save_snapshot_part(build, part, &full)?;
            Ok((build, full))
        }));
        Ok(())
    }

    /// Hands over the last part and waits until it is written: the build (once numbered,
    /// whatever happened after), and its parts or why they were not all written.
    fn finish(mut self) -> (Option<u64>, Result<u32, StoreError>) {
        let last = match self.part.is_empty() {
            true => Ok(()),
            false => self.send(),
        };
        let settled = last.and_then(|_| self.settle()).map(|_| ());
        let written = match (self.failed.take(), settled, self.build) {
            (Some(failed), _, _) => Err(failed),
            (None, Err(e), _) => Err(StoreError::Snapshot(e.to_string())),
            (None, Ok(()), None) => {
                Err(StoreError::Snapshot("a snapshot of no bytes was not stored".into()))
            }
            (None, Ok(()), Some(_)) => Ok(self.sent),
        };
        (self.build, written)
    }
}

impl std::io::Write for Parts {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        // A part never grows past its size: the rest of the bytes start the next one.
        let taken = bytes.len().min(self.size - self.part.len());
        self.part.extend_from_slice(&bytes[..taken]);
        if self.part.len() >= self.size {
            self.send()?;
        }
        Ok(taken)
    }

    /// Nothing: a part goes when it is full, the last one from [`Parts::finish`].
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A snapshot taken from the state ([`Tracker::snapshot_later`]), not yet stored.
#[derive(Debug)]
pub struct PendingSnapshot {
    image: snapshot::Image,
    /// The log's record it was taken after.
    seq: u64,
    /// The log's epoch the state was read in.
    epoch: crate::LogEpoch,
    route: Route,
    /// The bytes of each part, on [`Route::Writer`].
    part: usize,
}

/// A snapshot stored ([`PendingSnapshot::store`]), for [`Tracker::snapshot_stored`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoredSnapshot {
    /// The log's record it was taken after.
    pub seq: u64,
    epoch: crate::LogEpoch,
}

/// How a snapshot reaches the store.
#[derive(Debug)]
enum Route {
    /// Through the writer thread, a part at a time between its appends (a store whose writes
    /// go one at a time).
    Writer {
        writer: Arc<Committer>,
        /// The chain's hash at the snapshot's row, read by the writer in its turn.
        anchor: crate::committer::Answer<Result<crate::chain::Hash, StoreError>>,
    },
    /// On a connection of its own, once every batch the image holds is durable (`durable`, an
    /// append of no events handed to the writer when the image was taken), while the writer goes
    /// on with the batches after them.
    Beside {
        open: crate::StoreOpener,
        /// The writer connection's epoch and the chain's hash at the snapshot's row.
        anchor: crate::committer::Answer<Result<(crate::LogEpoch, crate::chain::Hash), StoreError>>,
        durable: crate::committer::Ticket,
    },
}

impl PendingSnapshot {
    /// The log's record the snapshot was taken after.
    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// Encodes and stores the snapshot, without the tracker, and answers what was stored. Not stored when a batch it holds was not written, or when the log was
    /// rewritten since it was taken (a compaction).
    pub fn store(self) -> Result<StoredSnapshot, TrackerError> {
        let PendingSnapshot { image, seq, epoch, route, part } = self;
        let len = image.encoded_len();
        match route {
            Route::Beside { open, anchor, durable } => {
                let not_written = |why: String| {
                    StoreError::Other(format!(
                        "the snapshot was not stored: a batch before it was not written ({why})"
                    ))
                };
                let (writers, chain) =
                    anchor.wait().ok_or_else(|| not_written("the writer stopped".into()))??;
                durable.wait().map_err(|e| not_written(e.to_string()))?;
                // The writer's connection read the hash in the epoch the state was read in:
                // not made again since (a restart of the database, which may have lost rows
                // the state holds), and no compaction.
                if writers != epoch {
                    return Err(StoreError::Snapshot(crate::REWRITTEN.to_owned()).into());
                }
                let mut store = open.open()?;
                let now = store.log_epoch()?;
                if now.compactions != epoch.compactions {
                    return Err(StoreError::Snapshot(crate::REWRITTEN.to_owned()).into());
                }
                // Stored only while the log holds, at the snapshot's row, the hash the state's
                // chain has there (checked under the log's lock just before the commit): the
                // log up to that row is then the one the image was taken from, whatever
                // happened to the database meanwhile.
                store.expect_epoch(Some(now));
                store.expect_chain_at(seq, chain);
                store.save_snapshot_with(seq, len, &mut |out| {
                    let mut out = std::io::BufWriter::with_capacity(SNAPSHOT_PIECE, out);
                    image
                        .encode_into(&mut out)
                        .and_then(|_| std::io::Write::flush(&mut out))
                        .map(|_| ())
                        .map_err(|e| StoreError::Snapshot(e.to_string()))
                })?;
            }
            Route::Writer { writer, anchor } => {
                let not_written = || {
                    StoreError::Other(
                        "the snapshot was not stored: a batch before it was not written, or the writer stopped".into(),
                    )
                };
                let chain = anchor.wait().ok_or_else(not_written)??;
                // Encoded here a part at a time, each part written by the writer thread as a
                // job of its own between its appends, while the next part is encoded.
                // Parts are not written, and the snapshot is not kept, if a batch submitted
                // before them fails: the image may hold that batch's events, which the log
                // then does not.
                let mut parts = Parts::new(writer.clone(), part);
                let encoded = image.encode_into(&mut parts);
                let (build, written) = parts.finish();
                let kept = (|| -> Result<(), StoreError> {
                    // The store's failure first: it is why the stream broke, if it did.
                    let count = written?;
                    encoded.map_err(|e| StoreError::Snapshot(e.to_string()))?;
                    let build = build.ok_or_else(not_written)?;
                    writer
                        .run_later_if_written(move |store| {
                            store.finish_snapshot(build, count, seq, len, &chain)
                        })
                        .wait()
                        .ok_or_else(not_written)?
                })();
                if let (Err(_), Some(build)) = (&kept, build) {
                    // Not kept: its parts go now (in the writer's turn, after a failed batch
                    // too), not with the next snapshot kept. Should that fail as well, the next
                    // snapshot kept removes them.
                    let _ = writer.run_later(move |store| store.abandon_snapshot(build)).wait();
                }
                kept?;
            }
        }
        Ok(StoredSnapshot { seq, epoch })
    }
}

/// What the user typed (a personal identity code or a pseudonym) as a pseudonym.
pub(crate) fn pseudonym_of(client: &str, key: &PseudonymKey) -> Result<Pseudonym, TrackerError> {
    if looks_like_identity_code(client) {
        pseudonymise(client, key).map_err(|e| TrackerError::Client(ClientError::IdentityCode(e)))
    } else {
        Pseudonym::parse(client.trim()).ok_or(TrackerError::Client(ClientError::NotAClient))
    }
}

/// Events read from JSON Lines with their clients pseudonymised under `key`.
pub(crate) fn read_events(bytes: &[u8], key: &PseudonymKey) -> polku_engine::event::ReadLines {
    polku_engine::event::parse_bytes(bytes, key, &polku_engine::event::ReadOptions::default())
}

fn now_seconds() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

fn now_text() -> String {
    polku_engine::time::Timestamp(now_seconds()).to_string()
}
