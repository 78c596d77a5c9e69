//! The commands that track clients: `ingest`, `status`, `report`, `simulate` and `store`.
//! They all go through the store crate's tracker, the same way the HTTP API does.

use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::RecvTimeoutError;
use std::sync::Arc;

use anyhow::{Context, Result};
use polku_dsl::Lang;
use polku_engine::pseudonym::PseudonymKey;
use polku_engine::time::Timestamp;
use polku_store::tracker::{Ack, Actor, ModelSources, ModelUse, Next, Tracker, TrackerError};
use polku_store::StoreError;

use crate::say;
use polku_store::project;

/// Options every command that touches the store takes.
#[derive(Debug, clap::Args)]
pub struct StoreArgs {
    /// The model's folder (the one with polku.toml). Default: the model at or above the
    /// working folder.
    #[arg(long, global = true)]
    pub model: Option<PathBuf>,
    /// The database: sqlite://PATH (or just the file's PATH) or
    /// postgres://USER@HOST:PORT/DATABASE. Default: [database] url in polku.toml, else
    /// sqlite://data/polku.sqlite in the working folder.
    #[arg(long, global = true, value_parser = database_arg)]
    pub database: Option<String>,
    /// The role you act in, for the access log.
    #[arg(long, default_value = "työntekijä", global = true)]
    pub role: String,
    /// Why you look at a client's data, for the access log.
    #[arg(long, default_value = "", global = true)]
    pub purpose: String,
    /// Use a pseudonym key file that other users can read.
    #[arg(long, global = true)]
    pub allow_insecure_key: bool,
    /// What this model version changed, kept with it when it is first stored (instead of
    /// note under [model] in polku.toml).
    #[arg(long, global = true)]
    pub note: Option<String>,
}

/// `--database` as a URL: a bare path names an SQLite file.
pub(crate) fn database_arg(named: &str) -> Result<String, std::convert::Infallible> {
    Ok(polku_store::database_url(named))
}

#[derive(Debug, Clone, Copy, clap::ValueEnum, Default, PartialEq, Eq)]
pub enum OutFormat {
    #[default]
    Human,
    Json,
}

/// The model, its sources for the store, and where its data lives.
pub(crate) struct Setup {
    pub(crate) model: polku_engine::Model,
    /// `[retention]` of the model's `polku.toml`.
    retention: polku_store::tracker::Retention,
    sources: ModelSources,
    database: String,
    pub(crate) key: PseudonymKey,
}

pub(crate) fn setup(args: &StoreArgs, lang: Lang) -> Result<Option<Setup>> {
    setup_for(args, lang, false)
}

/// As [`setup`], for a command that only reads a store: a database that is not there is an
/// error (a mistyped `--database`), rather than a new one made with a key of its own.
pub(crate) fn setup_existing(args: &StoreArgs, lang: Lang) -> Result<Option<Setup>> {
    setup_for(args, lang, true)
}

/// An error when `database` names an SQLite file that is not there (a mistyped path), for a
/// command that reads a store and must not make a new one.
pub(crate) fn require_database(database: &str, lang: Lang) -> Result<()> {
    if let Some(file) = project::sqlite_file(database).filter(|f| !f.exists()) {
        anyhow::bail!(
            "{}: {} ({})",
            say(lang, "there is no database", "tietokantaa ei ole"),
            file.display(),
            say(
                lang,
                "check --database or [database] url in polku.toml; polku ingest and polku serve make a new one",
                "tarkista --database tai polku.tomlin [database] url; polku ingest ja polku serve luovat uuden"
            )
        );
    }
    Ok(())
}

fn setup_for(args: &StoreArgs, lang: Lang, existing: bool) -> Result<Option<Setup>> {
    let Some(checked) = crate::checked_model(args.model.as_deref(), lang, false)? else {
        return Ok(None);
    };
    let mut sources = checked.model_sources();
    if let Some(note) = &args.note {
        sources.note = note.clone();
    }
    if polku_engine::pseudonym::contains_identity_code(&sources.note) {
        anyhow::bail!(
            "{}",
            say(
                lang,
                "the model version's note (--note, or note under [model] in polku.toml) holds a personal identity code: the note is kept with the version for good and shown to everyone who lists the versions, so write it without one",
                "malliversion muistiinpanossa (--note tai [model]-osan note polku.tomlissa) on henkilötunnus: muistiinpano säilyy version mukana pysyvästi ja näkyy kaikille versioluettelon lukijoille, joten kirjoita se ilman henkilötunnusta"
            )
        );
    }
    let tracking = project::tracking(&checked, args.database.as_deref())?;
    if existing {
        require_database(&tracking.database, lang)?;
    }
    let key =
        project::pseudonym_key(&tracking.key_file, &tracking.database, args.allow_insecure_key)?;
    if let Some(file) = project::sqlite_file(&tracking.database) {
        if project::readable_by_others(&file) {
            eprintln!(
                "{}: {} ({})",
                say(lang, "warning", "varoitus"),
                say(
                    lang,
                    "the database can be read by other users",
                    "muut käyttäjät voivat lukea tietokannan"
                ),
                file.display()
            );
        }
    }
    let model = polku_engine::compile(&checked.files);
    let retention = checked.config()?.retention;
    Ok(Some(Setup { model, retention, sources, database: tracking.database, key }))
}

/// What a command does with the store and the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Use {
    /// Writes under the model (events, a migration, a snapshot, a retention run): the model
    /// is stored as a version, unless a stored one means the same.
    Execute,
    /// Writes, but nothing under the model (a token): the model is not stored.
    Write,
    /// Opened for writing when it can be (reports and status are logged), else read-only, as
    /// on a read-only mount; the tracker then refuses what cannot go without a write. The
    /// model is not stored.
    Read,
}

pub(crate) fn open_tracker(setup: Setup, use_: Use, lang: Lang) -> Result<(Tracker, PseudonymKey)> {
    let store = match use_ {
        Use::Execute | Use::Write => polku_store::open(&setup.database)?,
        Use::Read => polku_store::open_for_reading(&setup.database)?,
    };
    let model_use = match use_ {
        Use::Execute => ModelUse::Execute,
        Use::Write | Use::Read => ModelUse::Consult,
    };
    let key_copy = setup.key.clone();
    let note = setup.sources.note.clone();
    let hash = setup.sources.hash();
    let opened = Tracker::open_with(store, &setup.sources, &setup.model, setup.key, model_use);
    let mut tracker = match opened {
        Ok(tracker) => tracker,
        Err(TrackerError::Store(StoreError::Broken(broken))) => {
            anyhow::bail!("{}", crate::verify::refusal(&broken, lang))
        }
        Err(e) => return Err(e.into()),
    };
    // Files that differ from a stored version's only in how they are written are that version.
    let id = tracker.current_model();
    if use_ == Use::Execute && id != 0 && tracker.current_hash() != hash {
        eprintln!(
            "{}: {}",
            say(lang, "note", "huomautus"),
            match lang {
                Lang::En => format!(
                    "the model's files differ from stored model version @{id} only in how they are written (comments, layout, spelling), not in what they mean, so they are that version: no new version is stored"
                ),
                Lang::Fi => format!(
                    "mallin tiedostot eroavat tallennetusta malliversiosta @{id} vain kirjoitusasultaan (kommentit, asettelu, kirjoitustapa), eivät merkitykseltään, joten ne ovat tuo versio: uutta versiota ei tallenneta"
                ),
            }
        );
    }
    // A version keeps the note it was first stored with: one given now for a version already
    // stored is not kept, and says so.
    if use_ == Use::Execute && !note.is_empty() {
        if let Some(v) =
            tracker.stored_versions()?.into_iter().find(|v| v.current && v.note != note)
        {
            eprintln!(
                "{}: {}",
                say(lang, "warning", "varoitus"),
                match (lang, v.note.is_empty()) {
                    (Lang::En, false) => format!(
                        "model version @{} is stored already, with the note \"{}\"; the note given now is not kept (a version's note is the one it was first stored with)",
                        v.id, v.note
                    ),
                    (Lang::En, true) => format!(
                        "model version @{} is stored already, with no note; the note given now is not kept (a version's note is the one it was first stored with)",
                        v.id
                    ),
                    (Lang::Fi, false) => format!(
                        "malliversio @{} on jo tallennettu saatteella \"{}\"; nyt annettua saatetta ei tallenneta (versiolla on se saate, jolla se ensin tallennettiin)",
                        v.id, v.note
                    ),
                    (Lang::Fi, true) => format!(
                        "malliversio @{} on jo tallennettu ilman saatetta; nyt annettua saatetta ei tallenneta (versiolla on se saate, jolla se ensin tallennettiin)",
                        v.id
                    ),
                }
            );
        }
    }
    // A changed row at a log's end does not stop the work (the access is logged after it); it
    // is reported, on standard error and so in the server's log.
    tracker.on_chain_break(move |broken| {
        eprintln!(
            "{}: {}",
            say(lang, "warning", "varoitus"),
            crate::verify::written_past(broken, lang)
        );
    });
    Ok((tracker, key_copy))
}

pub(crate) fn actor(args: &StoreArgs) -> Actor {
    let user = ["USER", "LOGNAME"]
        .iter()
        .find_map(|name| std::env::var(name).ok().filter(|v| !v.is_empty()))
        .unwrap_or_else(|| "unknown".to_owned());
    Actor { purpose: args.purpose.clone(), ..Actor::new(user, args.role.clone()) }
}

pub(crate) fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

fn parse_date(text: &str, what: &str, lang: Lang) -> Result<i64> {
    Timestamp::parse(text).map(|t| t.0).with_context(|| {
        format!(
            "{what}: `{text}` {}",
            say(
                lang,
                "is not a date: write it as 2026-06-30",
                "ei ole päivämäärä: kirjoita se muodossa 2026-06-30"
            )
        )
    })
}

fn print_json<T: serde::Serialize>(value: &T) -> Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, value)?;
    writeln!(out)?;
    Ok(())
}

pub fn ingest(
    file: &Path,
    args: &StoreArgs,
    batch: usize,
    format: OutFormat,
    lang: Lang,
) -> Result<ExitCode> {
    let Some(setup) = setup(args, lang)? else { return Ok(ExitCode::from(1)) };
    // Bytes, whatever the source: a line that is not UTF-8 is refused by its number, the same
    // for a file and for standard input, and nothing is stored altered. The input is read as
    // a stream: memory does not grow with its size, and events are stored and acknowledged
    // while the rest is still read.
    let (input, size): (Box<dyn Read + Send>, Option<u64>) = if file == Path::new("-") {
        (Box::new(std::io::stdin()), None)
    } else {
        let cannot_read =
            || format!("{} {}", say(lang, "cannot read", "ei voi lukea:"), file.display());
        let opened = std::fs::File::open(file).with_context(cannot_read)?;
        let metadata = opened.metadata().with_context(cannot_read)?;
        anyhow::ensure!(
            !metadata.is_dir(),
            "{}: {}",
            cannot_read(),
            say(
                lang,
                "it is a folder, not a file of events",
                "se on kansio eikä tapahtumatiedosto"
            )
        );
        let size = Some(metadata.len());
        (Box::new(opened), size)
    };
    let key = setup.key.clone();
    let (mut tracker, _) = open_tracker(setup, Use::Execute, lang)?;
    let read = Arc::new(AtomicU64::new(0));
    let (events, reader) = crate::input::spawn(input, key, read.clone());
    let progress = format == OutFormat::Human && std::io::stderr().is_terminal();
    let started = std::time::Instant::now();
    let mut last_drawn = std::time::Instant::now();
    let mut stdout = std::io::stdout().lock();
    let mut on_ack = |ack: &Ack| {
        if format == OutFormat::Json {
            let _ = writeln!(stdout, "{}", serde_json::json!({ "acknowledged": ack }));
            let _ = stdout.flush();
        } else if progress && last_drawn.elapsed().as_millis() >= 100 {
            last_drawn = std::time::Instant::now();
            let done = read.load(Ordering::Relaxed);
            let bar = match size {
                Some(size) => {
                    let width = 30;
                    let filled = (done.min(size) * width / size.max(1)) as usize;
                    format!("[{}{}] ", "#".repeat(filled), " ".repeat(width as usize - filled))
                }
                None => String::new(),
            };
            eprint!(
                "\r{bar}{:.1} MB, {} {}",
                done as f64 / 1e6,
                ack.line,
                say(lang, "lines", "riviä")
            );
        }
    };
    // Nothing read for a moment (input that is slow to come): what was read is committed and
    // acknowledged meanwhile.
    let mut next = || match events.recv_timeout(std::time::Duration::from_millis(50)) {
        Ok((line, event, raw)) => Some(Next::Event(line, event, raw)),
        Err(RecvTimeoutError::Timeout) => Some(Next::Idle),
        Err(RecvTimeoutError::Disconnected) => None,
    };
    // On a failure the reader is left behind (it may wait for input that never ends).
    let (ack, refusals) = tracker.ingest_from(&mut next, batch, &actor(args), &mut on_ack)?;
    let report = reader.join().map_err(|_| anyhow::anyhow!("the reader of the input failed"))?;
    if progress {
        eprintln!();
    }
    if let Some(e) = report.failed {
        return Err(anyhow::Error::new(e).context(match lang {
            Lang::En => format!(
                "cannot read {} after line {} (the events before it are stored)",
                file.display(),
                report.lines
            ),
            Lang::Fi => format!(
                "tiedostoa {} ei voi lukea rivin {} jälkeen (sitä edeltävät tapahtumat on tallennettu)",
                file.display(),
                report.lines
            ),
        }));
    }
    let warnings = report.warnings;
    let bad = report.errors;
    let seconds = started.elapsed().as_secs_f64();
    // For tools (`--format json`) the reasons stay in English, as the API gives them.
    let said = if format == OutFormat::Json { Lang::En } else { lang };
    let mut problems: Vec<(usize, String)> =
        bad.into_iter().map(|e| (e.line, e.reason.say(said).to_owned())).collect();
    problems.extend(refusals.into_iter().map(|r| (r.line, r.say(said))));
    problems.sort();
    if format == OutFormat::Json {
        let bad: Vec<_> = problems
            .iter()
            .map(|(line, reason)| serde_json::json!({ "line": line, "reason": reason }))
            .collect();
        let warned: Vec<_> = warnings
            .iter()
            .map(|w| serde_json::json!({ "line": w.line, "reason": w.warning.to_string() }))
            .collect();
        writeln!(
            std::io::stdout(),
            "{}",
            serde_json::json!({ "summary": ack, "bad_lines": bad, "warnings": warned, "seconds": seconds })
        )?;
    } else {
        for (line, reason) in &problems {
            eprintln!("{}:{line}: {reason}", file.display());
        }
        for w in &warnings {
            eprintln!(
                "{}:{}: {}: {}",
                file.display(),
                w.line,
                say(lang, "warning", "varoitus"),
                w.warning.say(lang)
            );
        }
        outln!(
            "{}",
            match lang {
                Lang::Fi => format!(
                    "{} tapahtumaa tallennettu, {} toistoa ohitettu, {} virheellistä riviä, {} varoitusta, {} poikkeamaa suunnitelmasta ({:.1} s)",
                    ack.accepted, ack.duplicates, problems.len(), warnings.len(), ack.deviations, seconds
                ),
                Lang::En => format!(
                    "{} events stored, {} repeats skipped, {} bad lines, {} warnings, {} deviations from the plan ({:.1} s)",
                    ack.accepted, ack.duplicates, problems.len(), warnings.len(), ack.deviations, seconds
                ),
            }
        );
    }
    // Every acknowledgement and the summary are out before the snapshot is written: it only
    // shortens the next start. When it cannot be written (a full disk), the
    // events are still stored and acknowledged, so it is a warning, not a failure.
    if tracker.unsnapshotted() >= 50_000 {
        if let Err(e) = tracker.save_snapshot() {
            eprintln!(
                "{}: {}: {}",
                say(lang, "warning", "varoitus"),
                say(
                    lang,
                    "no snapshot written (the events are stored; the next start reads more of the log)",
                    "tilannevedosta ei kirjoitettu (tapahtumat on tallennettu; seuraava käynnistys lukee lokia pidemmältä)"
                ),
                e.say(lang)
            );
        }
    }
    Ok(if problems.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

pub fn status(
    client: &str,
    args: &StoreArgs,
    as_of: Option<&str>,
    format: OutFormat,
    lang: Lang,
) -> Result<ExitCode> {
    let Some(setup) = setup_existing(args, lang)? else { return Ok(ExitCode::from(1)) };
    let now = match as_of {
        Some(date) => Timestamp(parse_date(date, "--as-of", lang)?).end_of_local_day().0,
        None => now(),
    };
    let (mut tracker, _) = open_tracker(setup, Use::Read, lang)?;
    let status = match tracker.client_status(client, &actor(args), now, lang) {
        Ok(status) => status,
        Err(polku_store::tracker::TrackerError::Client(message)) => {
            crate::complain(&format!("{}: {}", say(lang, "client", "asiakas"), message.say(lang)));
            return Ok(ExitCode::from(1));
        }
        Err(e) => return Err(e.into()),
    };
    let Some(status) = status else {
        eprintln!("{}", say(lang, "no cases for this client", "asiakkaalla ei ole tapauksia"));
        return Ok(ExitCode::from(1));
    };
    if format == OutFormat::Json {
        print_json(&status)?;
        return Ok(ExitCode::SUCCESS);
    }
    let versions = tracker.stored_versions()?;
    let mut out = String::new();
    render_status(&mut out, &status, &versions, lang);
    out!("{out}");
    Ok(ExitCode::SUCCESS)
}

fn render_status(
    out: &mut String,
    status: &polku_engine::projection::ClientStatus,
    versions: &[polku_store::tracker::StoredVersion],
    lang: Lang,
) {
    use std::fmt::Write as _;
    let fi = lang == Lang::Fi;
    let _ = writeln!(
        out,
        "{} {}…  {} {}, {}: {}",
        if fi { "Asiakas" } else { "Client" },
        &status.client[..12],
        status.cases.len(),
        if fi { "tapausta" } else { "cases" },
        if fi { "yksiköt" } else { "units" },
        status.units.join(", ")
    );
    for case in &status.cases {
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "{} {}: {} ({}), {} {}",
            if fi { "Tapaus" } else { "Case" },
            case.case,
            case.process_title,
            case.process,
            if fi { "yksikkö" } else { "unit" },
            case.unit
        );
        let _ = writeln!(
            out,
            "  {}: {}   {}: {}{}",
            if fi { "Segmentti" } else { "Segment" },
            case.segment,
            if fi { "Avattu" } else { "Opened" },
            &case.opened[..10],
            case.closed.as_ref().map_or(String::new(), |c| format!(
                "   {}: {} ({})",
                if fi { "Suljettu" } else { "Closed" },
                &c[..10],
                case.closed_reason.clone().unwrap_or_default()
            ))
        );
        let _ = writeln!(
            out,
            "  {}: {}",
            if fi { "Malliversio" } else { "Model version" },
            crate::explain::version_name(&case.model_version, versions)
        );
        for m in &case.migrations {
            let _ = writeln!(
                out,
                "  {}: {} {} → {}",
                if fi { "Siirretty mallin versioon" } else { "Moved to model version" },
                &m.at[..m.at.len().min(10)],
                crate::explain::version_name(&m.from, versions),
                crate::explain::version_name(&m.to, versions)
            );
        }
        if let Some(week) = &case.pregnancy_week {
            let _ = writeln!(
                out,
                "  {}: {week}",
                if fi { "Raskausviikko" } else { "Week of pregnancy" }
            );
        }
        if !case.facts.is_empty() {
            let facts: Vec<String> = case
                .facts
                .iter()
                .map(|f| {
                    let value = match f.value {
                        polku_engine::event::FactValue::Flag(true) => {
                            if fi { "kyllä" } else { "yes" }.to_owned()
                        }
                        polku_engine::event::FactValue::Flag(false) => {
                            if fi { "ei" } else { "no" }.to_owned()
                        }
                        polku_engine::event::FactValue::Number(n) => n.to_string(),
                    };
                    format!("{} {value}", f.fact)
                })
                .collect();
            let _ =
                writeln!(out, "  {}: {}", if fi { "Tiedot" } else { "Facts" }, facts.join(", "));
        }
        if !case.current_phases.is_empty() {
            let phases: Vec<&str> = case.current_phases.iter().map(|p| p.title.as_str()).collect();
            let _ = writeln!(
                out,
                "  {}: {}",
                if fi { "Nykyinen vaihe" } else { "Current phase" },
                phases.join(", ")
            );
        }
        let _ = writeln!(
            out,
            "  {}: {}",
            if fi { "Suunniteltu palvelu" } else { "Planned service" },
            match (case.complete, fi) {
                (true, true) => "toteutunut",
                (true, false) => "complete",
                (false, true) => "kesken",
                (false, false) => "not complete",
            }
        );
        if !case.missing.is_empty() {
            let _ = writeln!(out, "  {}:", if fi { "Puuttuu" } else { "Missing" });
            for m in &case.missing {
                let _ = writeln!(out, "    - {m}");
            }
        }
        let _ = writeln!(out, "  {}:", if fi { "Askeleet" } else { "Steps" });
        for s in &case.steps {
            let count =
                if s.count > 1 { format!(" {}/{}", s.done, s.count) } else { String::new() };
            let deadline = s.deadline.as_ref().map_or(String::new(), |d| {
                format!("  {} {}", if fi { "määräaika" } else { "deadline" }, &d[..10])
            });
            let optional = if s.required {
                ""
            } else if fi {
                " (valinnainen)"
            } else {
                " (optional)"
            };
            let note = s.note.as_ref().map_or(String::new(), |n| format!("  [{n}]"));
            let _ = writeln!(
                out,
                "    {:<11} {}{count}{optional}{deadline}{note}",
                s.state.word(lang),
                s.title
            );
        }
        if !case.next.is_empty() {
            let _ = writeln!(
                out,
                "  {}: {}",
                if fi { "Seuraavaksi" } else { "Next" },
                case.next.join(", ")
            );
        }
        for t in &case.transitions {
            let _ = writeln!(
                out,
                "  {}: {} {} → {} ({})",
                if fi { "Segmenttimuutos" } else { "Segment change" },
                &t.at[..10],
                t.from,
                t.to,
                t.reason
            );
        }
        for r in &case.referrals {
            let _ = writeln!(
                out,
                "  {}: {} → {} ({})",
                if fi { "Ohjaus" } else { "Referral" },
                r.referral,
                r.to_process,
                match (r.state, fi) {
                    ("sent", true) => "lähetetty",
                    ("accepted", true) => "hyväksytty",
                    ("declined", true) => "hylätty",
                    (state, _) => state,
                }
            );
        }
        for d in &case.deviations {
            let _ = writeln!(
                out,
                "  {}: {} {} {}: {}",
                if fi { "Poikkeama" } else { "Deviation" },
                &d.at[..10],
                d.event,
                d.subject,
                d.explanation
            );
        }
    }
}

#[derive(Debug, clap::Subcommand)]
pub enum ReportKind {
    /// How many open cases are in each segment on a date, per segmentation and unit.
    Segments {
        /// The date to count on.
        #[arg(long)]
        date: String,
        /// Count clients instead of cases, by where their segment came from: a professional's
        /// assessment, the marker rules (polku segment-daily) or set by hand.
        #[arg(long)]
        by_source: bool,
        /// With --by-source: the marker rules' name (needed when the model has several).
        #[arg(long, requires = "by_source")]
        markers: Option<String>,
    },
    /// How cases moved between segments from one date to another.
    Transitions {
        /// The first date.
        #[arg(long)]
        from: String,
        /// The last date.
        #[arg(long)]
        to: String,
        /// Count clients instead of cases, by where their segment on the last date came from.
        #[arg(long)]
        by_source: bool,
        /// With --by-source: the marker rules' name (needed when the model has several).
        #[arg(long, requires = "by_source")]
        markers: Option<String>,
    },
    /// The share of cases whose planned service is complete, and overdue steps per role.
    Completion {
        /// The date the deadlines are judged on. Default: now.
        #[arg(long)]
        as_of: Option<String>,
    },
}

pub fn report(
    kind: &ReportKind,
    args: &StoreArgs,
    format: OutFormat,
    lang: Lang,
) -> Result<ExitCode> {
    let Some(setup) = setup_existing(args, lang)? else { return Ok(ExitCode::from(1)) };
    let rules = match kind {
        ReportKind::Segments { by_source: true, markers, .. }
        | ReportKind::Transitions { by_source: true, markers, .. } => {
            Some(crate::daily::marker_rules(&setup.model, markers.as_deref(), lang)?)
        }
        _ => None,
    };
    let (mut tracker, _) = open_tracker(setup, Use::Read, lang)?;
    let actor = actor(args);
    let fi = lang == Lang::Fi;
    match kind {
        ReportKind::Segments { date, .. } if rules.is_some() => {
            let rules = rules.as_ref().expect("checked");
            let report =
                tracker.client_segment_report(&actor, rules, parse_date(date, "--date", lang)?)?;
            if format == OutFormat::Json {
                return print_json(&report).map(|()| ExitCode::SUCCESS);
            }
            outln!(
                "{} {} ({} {}; {}: {})",
                if fi { "Asiakkaiden segmentit" } else { "Clients' segments on" },
                report.date,
                report.clients,
                if fi { "asiakasta" } else { "clients" },
                if fi { "merkkisäännöt" } else { "marker rules" },
                report.markers
            );
            outln!("{}", report.segmentation);
            for row in &report.rows {
                outln!("  {:<14} {:<12} {:>8}", row.segment, row.source.word(lang), row.clients);
            }
        }
        ReportKind::Transitions { from, to, .. } if rules.is_some() => {
            let rules = rules.as_ref().expect("checked");
            let (from, to) = (parse_date(from, "--from", lang)?, parse_date(to, "--to", lang)?);
            anyhow::ensure!(
                from <= to,
                "{}",
                say(lang, "--from must not be after --to", "--from ei saa olla --to:n jälkeen")
            );
            let report = tracker.client_transition_report(&actor, rules, from, to)?;
            if format == OutFormat::Json {
                return print_json(&report).map(|()| ExitCode::SUCCESS);
            }
            outln!(
                "{} {} → {} ({}: {})",
                if fi { "Asiakkaiden segmenttisiirtymät" } else { "Clients' segment transitions" },
                report.from,
                report.to,
                if fi { "merkkisäännöt" } else { "marker rules" },
                report.markers
            );
            outln!("{}", report.segmentation);
            for row in &report.rows {
                outln!(
                    "  {:<14} → {:<14} {:<12} {:>8}",
                    row.from,
                    row.to,
                    row.source.map_or("–", |s| s.word(lang)),
                    row.clients
                );
            }
        }
        ReportKind::Segments { date, .. } => {
            let report = tracker.segment_report(&actor, parse_date(date, "--date", lang)?)?;
            if format == OutFormat::Json {
                return print_json(&report).map(|()| ExitCode::SUCCESS);
            }
            outln!(
                "{} {} ({} {})",
                if fi { "Segmenttijakauma" } else { "Segment distribution on" },
                report.date,
                report.cases,
                if fi { "avointa tapausta" } else { "open cases" }
            );
            let mut current = (String::new(), String::new());
            for row in &report.rows {
                if (row.segmentation.clone(), row.unit.clone()) != current {
                    current = (row.segmentation.clone(), row.unit.clone());
                    outln!("{} / {}", row.segmentation, row.unit);
                }
                outln!("  {:<14} {:>8}", row.segment, row.cases);
            }
        }
        ReportKind::Transitions { from, to, .. } => {
            let (from, to) = (parse_date(from, "--from", lang)?, parse_date(to, "--to", lang)?);
            anyhow::ensure!(
                from <= to,
                "{}",
                say(lang, "--from must not be after --to", "--from ei saa olla --to:n jälkeen")
            );
            let report = tracker.transition_report(&actor, from, to)?;
            if format == OutFormat::Json {
                return print_json(&report).map(|()| ExitCode::SUCCESS);
            }
            outln!(
                "{} {} → {}",
                if fi { "Segmenttisiirtymät" } else { "Segment transitions" },
                report.from,
                report.to
            );
            let mut current = String::new();
            for row in &report.rows {
                if row.segmentation != current {
                    current = row.segmentation.clone();
                    outln!("{current}");
                }
                outln!("  {:<14} → {:<14} {:>8}", row.from, row.to, row.cases);
            }
        }
        ReportKind::Completion { as_of } => {
            let at = match as_of {
                Some(d) => Timestamp(parse_date(d, "--as-of", lang)?).end_of_local_day().0,
                None => now(),
            };
            let report = tracker.completion_report(&actor, at)?;
            if format == OutFormat::Json {
                return print_json(&report).map(|()| ExitCode::SUCCESS);
            }
            outln!(
                "{} ({} {}, {} {})",
                if fi { "Suunnitellun palvelun toteutuminen" } else { "Planned service complete" },
                report.cases,
                if fi { "tapausta" } else { "cases" },
                report.events,
                if fi { "tapahtumaa" } else { "events" }
            );
            for row in &report.rows {
                outln!(
                    "  {:<40} {:<12} {:<24} {:>6}/{:<6} {:>5.1} %",
                    row.process,
                    row.segment,
                    row.unit,
                    row.complete,
                    row.cases,
                    row.share * 100.0
                );
            }
            outln!(
                "{}",
                if fi {
                    "Myöhässä olevat askeleet rooleittain"
                } else {
                    "Overdue steps per role"
                }
            );
            for row in &report.overdue {
                outln!("  {:<28} {:>8}", row.role, row.steps);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn simulate(
    model_dir: Option<&Path>,
    clients: u32,
    days: u32,
    seed: u64,
    start: &str,
    out: Option<&Path>,
    lang: Lang,
) -> Result<ExitCode> {
    let Some(checked) = crate::checked_model(model_dir, lang, false)? else {
        return Ok(ExitCode::from(1));
    };
    let model = polku_engine::compile(&checked.files);
    let start = Timestamp(parse_date(start, "--start", lang)?);
    let options = polku_engine::simulate::Options { clients, days, seed, start };
    let events = polku_engine::simulate::simulate(&model, "simulation", &options)?;
    let mut writer: Box<dyn Write> = match out {
        Some(path) => {
            Box::new(std::io::BufWriter::new(std::fs::File::create(path).with_context(|| {
                format!("{} {}", say(lang, "cannot create", "ei voi luoda:"), path.display())
            })?))
        }
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };
    for event in &events {
        serde_json::to_writer(&mut writer, event)?;
        writer.write_all(b"\n")?;
    }
    writer.flush()?;
    if out.is_some() {
        let counts = polku_engine::simulate::counts(&events);
        let summary: Vec<String> = counts.iter().map(|(k, v)| format!("{k} {v}")).collect();
        eprintln!(
            "{} {} ({})",
            events.len(),
            say(lang, "events", "tapahtumaa"),
            summary.join(", ")
        );
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Debug, clap::Subcommand)]
pub enum StoreCommand {
    /// The store's schema version, log length, snapshot and a digest of the state.
    Info,
    /// Write a snapshot now, so that the next start reads less of the log.
    Snapshot,
    /// Remove the client data of cases closed longer ago than [retention] in polku.toml keeps
    /// it: their events go, the reports' distributions and transitions stay as they were
    /// (kept as day-level segment histories without ids), clients left without cases are
    /// dropped, and so are access-log rows older than their own time. The event log and the
    /// access log are chained anew; the heads before and after are recorded.
    Retain {
        /// As of this day (YYYY-MM-DD); today by default.
        #[arg(long)]
        as_of: Option<String>,
        /// Count what would go without removing anything.
        #[arg(long)]
        dry_run: bool,
        #[arg(long, value_enum, default_value_t)]
        format: OutFormat,
    },
    /// The stored model versions: number, content hash, when first stored, language
    /// version, note, and how many open cases run under each.
    Models {
        #[arg(long, value_enum, default_value_t)]
        format: OutFormat,
    },
    /// Who accessed client data, newest first.
    AccessLog {
        #[arg(long, default_value_t = 50)]
        limit: usize,
        /// Only the accesses to this client's data (personal identity code or pseudonym):
        /// who has looked at my data.
        #[arg(long)]
        client: Option<String>,
    },
    /// Walk the hash chains of the event log and the access log from the first row to the
    /// last: name the first row that was changed, removed or moved since it was written, and
    /// print each log's head hash to record elsewhere.
    ///
    /// Needs no model or key when --database is given. Exits 0 when both chains are intact,
    /// 1 when one is broken, 2 on a usage or internal error.
    Verify {
        /// human: each log's result and head hash; json: the same for tools.
        #[arg(long, value_enum, default_value_t)]
        format: OutFormat,
    },
    /// Copy the SQLite database to a new file while others go on writing to it: a consistent
    /// copy as of one commit, readable by its owner only. (PostgreSQL: pg_dump; see
    /// docs/deployment.md.) The pseudonym key is not in the database: keep it apart.
    Backup {
        /// The new file (never overwritten).
        #[arg(long)]
        out: PathBuf,
    },
}

pub fn store(command: &StoreCommand, args: &StoreArgs, lang: Lang) -> Result<ExitCode> {
    if let StoreCommand::Verify { format } = command {
        return crate::verify::run(args, *format, lang);
    }
    if let StoreCommand::Backup { out } = command {
        return crate::verify::backup(args, out, lang);
    }
    let Some(setup) = setup_existing(args, lang)? else { return Ok(ExitCode::from(1)) };
    let retention = setup.retention.clone();
    let use_ = match command {
        StoreCommand::Retain { dry_run: true, .. } => Use::Write,
        StoreCommand::Snapshot | StoreCommand::Retain { .. } => Use::Execute,
        StoreCommand::Info
        | StoreCommand::Models { .. }
        | StoreCommand::AccessLog { .. }
        | StoreCommand::Verify { .. }
        | StoreCommand::Backup { .. } => Use::Read,
    };
    let (mut tracker, _) = open_tracker(setup, use_, lang)?;
    match command {
        StoreCommand::Info => print_json(&tracker.info()?)?,
        StoreCommand::Retain { as_of, dry_run, format } => {
            if !retention.is_set() {
                anyhow::bail!(
                    "{}",
                    say(
                        lang,
                        "polku.toml sets no [retention]: nothing is removed (closed_case_years, unit_years, access_log_years)",
                        "polku.toml ei aseta [retention]-kohtaa: mitään ei poisteta (closed_case_years, unit_years, access_log_years)"
                    )
                );
            }
            let at = match as_of {
                Some(date) => Timestamp(parse_date(date, "--as-of", lang)?).end_of_local_day().0,
                None => now(),
            };
            let report = tracker.retain(&retention, at, *dry_run, &actor(args))?;
            if *format == OutFormat::Json {
                print_json(&report)?;
            } else {
                outln!(
                    "{} {}: {} {}, {} {}, {} {}, {} {}",
                    if report.dry_run {
                        say(lang, "Would be removed as of", "Poistettaisiin päivänä")
                    } else {
                        say(lang, "Removed as of", "Poistettu päivänä")
                    },
                    report.as_of,
                    report.cases,
                    say(lang, "closed cases", "päättynyttä tapausta"),
                    report.events,
                    say(lang, "events", "tapahtumaa"),
                    report.clients,
                    say(
                        lang,
                        "clients with no other case",
                        "asiakasta, joilla ei ole muita tapauksia"
                    ),
                    report.access_rows,
                    say(lang, "access-log rows", "käyttölokin riviä"),
                );
                if let Some(c) = &report.compaction {
                    outln!(
                        "{}: {} {} → {} {}",
                        say(lang, "event log head", "tapahtumalokin viimeisin tiiviste"),
                        c.events_before.0,
                        c.events_before.1,
                        c.events_after.0,
                        c.events_after.1
                    );
                    outln!(
                        "{}: {} {} → {} {}",
                        say(lang, "access log head", "käyttölokin viimeisin tiiviste"),
                        c.access_before.0,
                        c.access_before.1,
                        c.access_after.0,
                        c.access_after.1
                    );
                }
            }
        }
        StoreCommand::Models { format } => {
            let versions = tracker.stored_versions()?;
            if *format == OutFormat::Json {
                print_json(&versions)?;
            } else {
                let mut rows = vec![vec![
                    say(lang, "version", "versio").to_owned(),
                    say(lang, "hash", "tiiviste").to_owned(),
                    say(lang, "stored", "tallennettu").to_owned(),
                    say(lang, "language", "kieli").to_owned(),
                    say(lang, "open cases", "avoimia tapauksia").to_owned(),
                    say(lang, "note", "muistiinpano").to_owned(),
                ]];
                for v in &versions {
                    rows.push(vec![
                        format!("@{}{}", v.id, if v.current { " *" } else { "" }),
                        v.hash[..v.hash.len().min(12)].to_owned(),
                        v.stored.clone(),
                        v.language.to_string(),
                        v.open_cases.to_string(),
                        v.note.clone(),
                    ]);
                }
                out!("{}", crate::plan::table(&rows));
                if versions.iter().any(|v| v.current) {
                    outln!(
                        "* {}",
                        say(
                            lang,
                            "the model loaded now: new cases take it",
                            "nyt ladattu malli: uudet tapaukset saavat sen"
                        )
                    );
                } else {
                    outln!(
                        "{}",
                        say(
                            lang,
                            "The model's files are no stored version: polku ingest, polku serve or polku migrate stores them.",
                            "Mallin tiedostot eivät ole mikään tallennetuista versioista: polku ingest, polku serve tai polku migrate tallentaa ne."
                        )
                    );
                }
            }
        }
        StoreCommand::Snapshot => {
            tracker.save_snapshot()?;
            print_json(&tracker.info()?)?;
        }
        StoreCommand::AccessLog { limit, client } => {
            for a in tracker.access_log(client.as_deref(), *limit)? {
                outln!(
                    "{}  {:<12} {:<20} {:<8} {} {}{}{}",
                    a.at,
                    a.actor,
                    a.role,
                    a.action,
                    a.client.as_deref().unwrap_or("-"),
                    a.detail,
                    if a.unit.is_empty() { String::new() } else { format!(" unit={}", a.unit) },
                    if a.purpose.is_empty() {
                        String::new()
                    } else {
                        format!(" purpose={}", a.purpose)
                    },
                );
            }
        }
        StoreCommand::Verify { .. } | StoreCommand::Backup { .. } => {}
    }
    Ok(ExitCode::SUCCESS)
}

/// The tracker of the model and database that `args` name, with its model; `None` when the
/// model has errors (they are printed).
/// The hash is the version's the model is (a stored one may differ from the files in comments
/// and layout).
pub fn open_with_model(
    args: &StoreArgs,
    use_: Use,
    lang: Lang,
) -> Result<Option<(Tracker, PseudonymKey, polku_engine::Model, String)>> {
    open_model_store(args, use_, lang, false)
}

/// As [`open_with_model`], for a command that works on what a store holds: a database that is
/// not there is an error rather than a new one ([`setup_existing`]).
pub fn open_existing_with_model(
    args: &StoreArgs,
    use_: Use,
    lang: Lang,
) -> Result<Option<(Tracker, PseudonymKey, polku_engine::Model, String)>> {
    open_model_store(args, use_, lang, true)
}

fn open_model_store(
    args: &StoreArgs,
    use_: Use,
    lang: Lang,
    existing: bool,
) -> Result<Option<(Tracker, PseudonymKey, polku_engine::Model, String)>> {
    let Some(setup) = setup_for(args, lang, existing)? else { return Ok(None) };
    let model = setup.model.clone();
    let (tracker, key) = open_tracker(setup, use_, lang)?;
    let hash = tracker.current_hash().to_owned();
    Ok(Some((tracker, key, model, hash)))
}

/// Fills an empty store with a simulated year of the model, as `polku simulate` and `polku
/// ingest` would: `clients` children from 2026-01-01. Returns the events stored.
pub fn fill_demo(
    tracker: &mut Tracker,
    key: &PseudonymKey,
    model: &polku_engine::Model,
    clients: u32,
) -> Result<u64> {
    let options = polku_engine::simulate::Options {
        clients,
        days: 365,
        seed: 1,
        start: Timestamp(parse_date("2026-01-01", "start", Lang::En)?),
    };
    let events = polku_engine::simulate::simulate(model, "demo", &options)?;
    let mut text = String::new();
    for event in &events {
        text.push_str(&serde_json::to_string(event)?);
        text.push('\n');
    }
    drop(events);
    let (events, _bad) = polku_engine::event::parse_numbered_lines(&text, key);
    let actor = Actor::new("demo", "järjestelmä");
    let (ack, _) =
        tracker.ingest(events.into_iter().map(|(l, e)| (l, e, None)), 1000, &actor, &mut |_| {})?;
    if tracker.unsnapshotted() >= 50_000 {
        tracker.save_snapshot()?;
    }
    Ok(ack.accepted)
}
