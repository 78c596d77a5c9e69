//! `polku migrate`: moving open cases to another model version, or showing first what that
//! would do.

use std::process::ExitCode;

use anyhow::Result;
use polku_dsl::Lang;
use polku_engine::projection::MigrationPreview;
use polku_store::tracker::TrackerError;

use crate::say;
use crate::track::{actor, now, open_existing_with_model, StoreArgs, Use};

/// The first twelve characters of a content hash, as versions are shown.
fn short(hash: &str) -> &str {
    &hash[..hash.len().min(12)]
}

pub fn run(
    to: Option<&str>,
    dry_run: bool,
    json: bool,
    args: &StoreArgs,
    lang: Lang,
) -> Result<ExitCode> {
    let Some((mut tracker, ..)) =
        open_existing_with_model(args, if dry_run { Use::Read } else { Use::Execute }, lang)?
    else {
        return Ok(ExitCode::from(1));
    };
    let version = match tracker.find_version(to) {
        Ok(version) => version,
        Err(TrackerError::Client(message)) => {
            crate::complain(&format!("--to: {}", message.say(lang)));
            return Ok(ExitCode::from(2));
        }
        Err(e) => return Err(e.into()),
    };
    let ids = tracker.model_versions();
    let name = |hash: &str| match ids.iter().find(|(_, h)| h == hash) {
        Some((id, _)) => format!("@{id} ({})", short(hash)),
        // The files given, when no stored version is they: `polku migrate` stores them.
        None => {
            format!("{} ({})", short(hash), say(lang, "not stored yet", "ei vielä tallennettu"))
        }
    };
    let who = actor(args);
    let preview = tracker.migration_preview(version, &who)?;
    let moved = if dry_run {
        None
    } else {
        let (ack, refusals) = tracker.migrate(version, &who, now())?;
        for refusal in &refusals {
            crate::complain(&refusal.say(lang));
        }
        Some(ack.accepted)
    };
    if json {
        let value = serde_json::json!({
            "dry_run": dry_run,
            "to_id": ids.iter().find(|(_, h)| *h == preview.to).map(|(id, _)| id),
            "preview": &preview,
            "moved": moved,
        });
        outln!("{}", serde_json::to_string_pretty(&value)?);
        return Ok(ExitCode::SUCCESS);
    }
    outln!("{}", render(&preview, &name, moved, lang));
    Ok(ExitCode::SUCCESS)
}

fn render(
    preview: &MigrationPreview,
    name: &dyn Fn(&str) -> String,
    moved: Option<u64>,
    lang: Lang,
) -> String {
    let mut out = String::new();
    let moving: u64 = preview.moves.iter().map(|m| m.cases).sum();
    out.push_str(&format!(
        "{} {}\n\n",
        say(lang, "Open cases to model version", "Avoimet tapaukset malliversioon"),
        name(&preview.to)
    ));
    if preview.moves.is_empty() {
        out.push_str(say(lang, "No open case would move.\n", "Yksikään avoin tapaus ei siirry.\n"));
    } else {
        let none = say(lang, "none", "ei mitään");
        let list =
            |steps: &[String]| if steps.is_empty() { none.to_owned() } else { steps.join(", ") };
        let mut rows = vec![vec![
            say(lang, "process", "prosessi").to_owned(),
            say(lang, "segment", "segmentti").to_owned(),
            say(lang, "from version", "versiosta").to_owned(),
            say(lang, "cases", "tapauksia").to_owned(),
            say(lang, "steps gained", "saa askeleet").to_owned(),
            say(lang, "steps lost", "menettää askeleet").to_owned(),
        ]];
        for m in &preview.moves {
            rows.push(vec![
                m.process.clone(),
                m.segment.clone(),
                name(&m.from),
                m.cases.to_string(),
                list(&m.gained),
                list(&m.lost),
            ]);
        }
        out.push_str(&crate::plan::table(&rows));
    }
    if !preview.blocked.is_empty() {
        out.push_str(&format!(
            "\n{} ({}):\n",
            say(
                lang,
                "Cannot move: their position no longer exists there",
                "Ei voi siirtää: tapauksen kohtaa ei ole siinä versiossa"
            ),
            preview.blocked.len()
        ));
        let mut rows = vec![vec![
            say(lang, "case", "tapaus").to_owned(),
            say(lang, "process", "prosessi").to_owned(),
            say(lang, "segment", "segmentti").to_owned(),
            say(lang, "why", "syy").to_owned(),
        ]];
        for b in &preview.blocked {
            rows.push(vec![
                b.case.clone(),
                b.process.clone(),
                b.segment.clone(),
                b.reason.describe(lang),
            ]);
        }
        out.push_str(&crate::plan::table(&rows));
    }
    if preview.already > 0 {
        out.push_str(&format!(
            "\n{}: {}\n",
            say(lang, "Open cases already on that version", "Avoimia tapauksia jo siinä versiossa"),
            preview.already
        ));
    }
    out.push('\n');
    match moved {
        None => out.push_str(say(
            lang,
            "A preview (--dry-run): nothing was moved.",
            "Esikatselu (--dry-run): mitään ei siirretty.",
        )),
        Some(n) => out.push_str(&format!(
            "{} {n} / {moving}. {}",
            say(lang, "Moved:", "Siirretty:"),
            say(
                lang,
                "Each move is in the case's history; polku migrate --to the version left moves them back.",
                "Jokainen siirto näkyy tapauksen historiassa; polku migrate --to lähtöversioon siirtää takaisin."
            )
        )),
    }
    out
}
