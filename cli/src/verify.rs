//! `polku store verify`: walks the hash chains of the event log and the access log from their
//! first rows to their ends and names the first row where either breaks; and the words for a
//! broken chain that every command uses when start-up refuses a store, or when a write goes on
//! past a changed row at a log's end.

use std::process::ExitCode;

use anyhow::Result;
use polku_dsl::Lang;
use polku_store::chain::{self, Break, Log, Problem, Walked};

use crate::say;
use crate::track::{OutFormat, StoreArgs};
use polku_store::project;

/// What is wrong at a broken row, in the user's language.
pub fn problem(problem: &Problem, lang: Lang) -> String {
    match lang {
        Lang::En => problem.to_string(),
        Lang::Fi => match problem {
            Problem::ContentChanged => "sen sisältöä on muutettu kirjoittamisen jälkeen (seuraava rivi seuraa yhä sen tiivistettä)".to_owned(),
            Problem::HashChanged => "sen tallennettua tiivistettä on muutettu (sisältö antaa yhä tiivisteen, jota seuraava rivi seuraa)".to_owned(),
            Problem::ContentOrHashChanged => "sen sisältöä tai tallennettua tiivistettä on muutettu (se on viimeinen rivi, joten kumpaa, ei voi sanoa)".to_owned(),
            Problem::Missing { next: Some(next) } => format!("se puuttuu: loki jatkuu kohdasta {next}"),
            Problem::Missing { next: None } => "se puuttuu, samoin kaikki sen jälkeiset rivit: loki päättyy ennen sitä".to_owned(),
            Problem::OutOfPlace => "se ei seuraa edellistä riviä: rivejä on poistettu, lisätty tai siirretty".to_owned(),
            Problem::SnapshotDiffers => "sen tallennettu tiiviste ei ole se, jonka sen kohdalla otettu tilannevedos kirjasi".to_owned(),
        },
    }
}

/// Where a chain breaks, in the user's language: "event 17" or "access-log row 5".
fn place(broken: &Break, lang: Lang) -> String {
    match (broken.log, lang) {
        (Log::Events, Lang::En) => format!("event {}", broken.row),
        (Log::Events, Lang::Fi) => format!("tapahtuma {}", broken.row),
        (Log::AccessLog, Lang::En) => format!("access-log row {}", broken.row),
        (Log::AccessLog, Lang::Fi) => format!("käyttölokin rivi {}", broken.row),
    }
}

/// Why start-up refused a store, in the user's language.
pub fn refusal(broken: &Break, lang: Lang) -> String {
    match lang {
        Lang::En => format!(
            "the database was changed outside Polku: {}: {}; nothing was read or written (polku store verify walks both logs)",
            place(broken, lang),
            problem(&broken.problem, lang)
        ),
        Lang::Fi => format!(
            "tietokantaa on muutettu Polkun ulkopuolelta: {}: {}; mitään ei luettu eikä kirjoitettu (polku store verify käy läpi molemmat lokit)",
            place(broken, lang),
            problem(&broken.problem, lang)
        ),
    }
}

/// The warning when a write met a broken chain at a log's end and went on past it: the row and
/// what is wrong there, never its content.
pub fn written_past(broken: &Break, lang: Lang) -> String {
    match lang {
        Lang::En => format!(
            "the hash chain is broken at {}: {}; the new rows were written after it as it is stored, so the change stays evident (polku store verify walks both logs and names the first changed row)",
            place(broken, lang),
            problem(&broken.problem, lang)
        ),
        Lang::Fi => format!(
            "tiivisteketju on rikki: {}: {}; uudet rivit kirjoitettiin sen perään sellaisena kuin se on tallennettu, joten muutos näkyy yhä (polku store verify käy läpi molemmat lokit ja nimeää ensimmäisen muutetun rivin)",
            place(broken, lang),
            problem(&broken.problem, lang)
        ),
    }
}

fn chain_json(walked: &Walked) -> serde_json::Value {
    let broken = walked.broken.map(|b| {
        let key = match b.log {
            Log::Events => "seq",
            Log::AccessLog => "id",
        };
        serde_json::json!({
            key: b.row,
            "problem": b.problem,
            "message": problem(&b.problem, Lang::En),
        })
    });
    serde_json::json!({
        "intact": walked.broken.is_none(),
        "rows": walked.rows,
        "last": walked.last.row,
        "head": walked.broken.is_none().then(|| chain::hex(&walked.last.hash)),
        "broken": broken,
    })
}

/// Where the database is: `--database`, else the model's `polku.toml`; no key is needed.
fn database_of(args: &StoreArgs, lang: Lang) -> Result<Option<String>> {
    Ok(Some(match &args.database {
        Some(url) => url.clone(),
        None => {
            let Some(checked) = crate::checked_model(args.model.as_deref(), lang, false)? else {
                return Ok(None);
            };
            project::tracking(&checked, None)?.database
        }
    }))
}

/// `polku store backup --out FILE`.
pub fn backup(args: &StoreArgs, out: &std::path::Path, lang: Lang) -> Result<ExitCode> {
    let Some(database) = database_of(args, lang)? else { return Ok(ExitCode::from(1)) };
    let Some(file) = project::sqlite_file(&database) else {
        anyhow::bail!(
            "{}",
            say(
                lang,
                "a PostgreSQL database is backed up with pg_dump (docs/deployment.md)",
                "PostgreSQL-tietokanta varmuuskopioidaan pg_dumpilla (docs/deployment.md)"
            )
        );
    };
    let last = polku_store::sqlite::backup(&file, out)?;
    outln!(
        "{} {} ({} {last}); {}",
        say(lang, "Backed up to", "Varmuuskopioitu tiedostoon"),
        out.display(),
        say(lang, "events through", "tapahtumat numeroon"),
        say(
            lang,
            "the pseudonym key is not in it: keep the key apart",
            "pseudonyymiavain ei ole siinä: säilytä avain erikseen"
        )
    );
    Ok(ExitCode::SUCCESS)
}

pub fn run(args: &StoreArgs, format: OutFormat, lang: Lang) -> Result<ExitCode> {
    // The chains need no model and no key: only where the database is.
    let Some(database) = database_of(args, lang)? else { return Ok(ExitCode::from(1)) };
    crate::track::require_database(&database, lang)?;
    let mut store = polku_store::open(&database)?;
    let verification = chain::verify(store.as_mut())?;
    let compactions = store.compactions()?;
    let models = store.models()?;
    let versions = models.len();
    let changed = polku_store::tracker::changed_model_versions(&models);
    let intact = verification.intact() && changed.is_empty();
    if format == OutFormat::Json {
        let value = serde_json::json!({
            "intact": intact,
            "events": chain_json(&verification.events),
            "access_log": chain_json(&verification.access_log),
            "snapshot": verification.snapshot,
            "models": {
                "intact": changed.is_empty(),
                "versions": versions,
                "changed": changed,
            },
            "compactions": compactions,
        });
        let mut out = std::io::stdout().lock();
        serde_json::to_writer_pretty(&mut out, &value)?;
        std::io::Write::write_all(&mut out, b"\n")?;
    } else {
        let fi = lang == Lang::Fi;
        for (walked, name, rows) in [
            (
                &verification.events,
                say(lang, "Event log", "Tapahtumaloki"),
                say(lang, "events", "tapahtumaa"),
            ),
            (
                &verification.access_log,
                say(lang, "Access log", "Käyttöloki"),
                say(lang, "rows", "riviä"),
            ),
        ] {
            match &walked.broken {
                None => {
                    outln!(
                        "{name}: {} {rows}, {}",
                        walked.rows,
                        say(lang, "chain intact", "ketju ehjä")
                    );
                    if walked.rows > 0 {
                        outln!(
                            "  {} {}: {}",
                            say(lang, "head hash at", "viimeisin tiiviste, kohta"),
                            walked.last.row,
                            chain::hex(&walked.last.hash)
                        );
                    }
                }
                Some(broken) => {
                    outln!(
                        "{name}: {} {}: {}",
                        say(lang, "BROKEN at", "RIKKI, ensimmäinen virhe:"),
                        place(broken, lang),
                        problem(&broken.problem, lang)
                    );
                    outln!(
                        "  {} {} {rows}",
                        say(lang, "intact before it:", "ehjänä ennen sitä:"),
                        walked.rows
                    );
                }
            }
        }
        if let Some(seq) = verification.snapshot {
            if verification.events.broken.is_none() {
                outln!(
                    "{} {seq} {}",
                    say(lang, "The snapshot at event", "Tilannevedos tapahtuman"),
                    say(lang, "agrees with the chain", "kohdalla vastaa ketjua")
                );
            }
        }
        if changed.is_empty() {
            outln!(
                "{}: {versions}, {}",
                say(lang, "Model versions", "Malliversiot"),
                say(
                    lang,
                    "each gives the content hash it is known by",
                    "jokainen antaa sisältötiivisteen, jolla se tunnetaan"
                )
            );
        }
        for id in &changed {
            outln!(
                "{} @{id}: {}",
                say(lang, "Model version", "Malliversio"),
                say(
                    lang,
                    "CHANGED: its files no longer give the content hash it is known by (they were changed in the database after it was stored, and the plans of its cases with them)",
                    "MUUTETTU: sen tiedostot eivät enää anna sisältötiivistettä, jolla se tunnetaan (niitä on muutettu tietokannassa tallentamisen jälkeen, ja samalla sen tapausten suunnitelmia)"
                )
            );
        }
        // Client data removed by retention rewrote the logs: a head recorded before is matched
        // here to the head that followed it.
        for c in &compactions {
            outln!(
                "{} {}: {} {}, {} {}; {} {} {} → {} {}; {} {} {} → {} {}",
                say(lang, "Client data removed", "Asiakastietoja poistettu"),
                c.at,
                c.removed_events,
                say(lang, "events", "tapahtumaa"),
                c.removed_access_rows,
                say(lang, "access rows", "käyttölokin riviä"),
                say(lang, "event log head", "tapahtumalokin viimeisin"),
                c.events_before.0,
                c.events_before.1,
                c.events_after.0,
                c.events_after.1,
                say(lang, "access log head", "käyttölokin viimeisin"),
                c.access_before.0,
                c.access_before.1,
                c.access_after.0,
                c.access_after.1
            );
        }
        if intact {
            outln!(
                "{}",
                if fi {
                    "Ehjä. Kirjaa viimeisimmät tiivisteet talteen muualle: vain niihin vertaamalla näkyy loki, jonka loppu on poistettu tai kirjoitettu kokonaan uudelleen."
                } else {
                    "Intact. Record the head hashes somewhere else: only against them does a log whose end was removed, or which was rewritten whole, show."
                }
            );
        }
    }
    Ok(if intact { ExitCode::SUCCESS } else { ExitCode::from(1) })
}
