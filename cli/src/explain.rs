//! `polku explain`: why a client's service was planned as it was on a date.

use std::process::ExitCode;

use anyhow::Result;
use polku_dsl::Lang;
use polku_engine::explain::{CaseReason, Explanation, SegmentContent, StepReason};
use polku_engine::time::Timestamp;
use polku_store::tracker::{StoredVersion, TrackerError};

use crate::say;
use crate::track::{actor, open_existing_with_model, StoreArgs, Use};

pub fn run(
    client: &str,
    date: &str,
    step: Option<&str>,
    json: bool,
    args: &StoreArgs,
    lang: Lang,
) -> Result<ExitCode> {
    let Some(at) = Timestamp::parse(date) else {
        crate::complain(&format!(
            "--date: `{date}` {}",
            say(
                lang,
                "is not a date: write it as 2026-06-30",
                "ei ole päivämäärä: kirjoita se muodossa 2026-06-30"
            )
        ));
        return Ok(ExitCode::from(2));
    };
    let at = at.end_of_local_day().0;
    let Some((mut tracker, ..)) = open_existing_with_model(args, Use::Read, lang)? else {
        return Ok(ExitCode::from(1));
    };
    let explanation = match tracker.explain(client, &actor(args), at, step) {
        Ok(Some(explanation)) if !explanation.cases.is_empty() => explanation,
        Ok(_) => {
            crate::complain(&match step {
                Some(step) => format!(
                    "{} {step}",
                    say(
                        lang,
                        "the client had no case on that date whose process has the step",
                        "asiakkaalla ei ollut sinä päivänä tapausta, jonka prosessissa on askel"
                    )
                ),
                None => say(
                    lang,
                    "the client had no case on that date",
                    "asiakkaalla ei ollut tapausta sinä päivänä",
                )
                .to_owned(),
            });
            return Ok(ExitCode::from(1));
        }
        Err(TrackerError::Client(message)) => {
            crate::complain(&format!("{}: {}", say(lang, "client", "asiakas"), message.say(lang)));
            return Ok(ExitCode::from(2));
        }
        Err(e) => return Err(e.into()),
    };
    let versions = tracker.stored_versions()?;
    if json {
        let value = serde_json::json!({
            "explanation": &explanation,
            "versions": versions
                .iter()
                .filter(|v| explanation.cases.iter().any(|c| c.model_version == v.hash))
                .collect::<Vec<_>>(),
        });
        outln!("{}", serde_json::to_string_pretty(&value)?);
    } else {
        outln!("{}", render(&explanation, &versions, step.is_some(), lang));
    }
    Ok(ExitCode::SUCCESS)
}

fn yes_no(value: bool, lang: Lang) -> &'static str {
    if value {
        say(lang, "yes", "kyllä")
    } else {
        say(lang, "no", "ei")
    }
}

fn content(c: &SegmentContent, lang: Lang) -> String {
    match c {
        SegmentContent::None => say(lang, "none", "ei muutosta").to_owned(),
        SegmentContent::Added => say(lang, "adds it", "lisää sen").to_owned(),
        SegmentContent::Changed { attributes } => {
            format!("{} {}", say(lang, "changes", "muuttaa"), attribute_words(attributes, lang))
        }
        SegmentContent::Removed { reason } => match reason {
            Some(reason) => format!("{} ({reason})", say(lang, "leaves it out", "poistaa sen")),
            None => say(lang, "leaves it out", "poistaa sen").to_owned(),
        },
    }
}

/// The attributes a segment's `muuta` changed, in the reader's language.
fn attribute_words(attributes: &[String], lang: Lang) -> String {
    let words: Vec<&str> =
        attributes.iter().map(|a| polku_engine::diff::words::say_step_keyword(a, lang)).collect();
    words.join(", ")
}

fn condition(step: &StepReason, lang: Lang) -> String {
    match &step.condition {
        None => "—".to_owned(),
        Some(c) => {
            let written = match c.negated {
                true => format!("{} {}", say(lang, "only if not", "jos ei"), c.fact),
                false => format!("{} {}", say(lang, "only if", "jos"), c.fact),
            };
            // A condition names a yes-or-no fact; one not recorded is no.
            format!(
                "{written}: {} = {} → {}",
                c.fact,
                yes_no(c.value != 0, lang),
                if c.holds {
                    say(lang, "holds", "pätee")
                } else {
                    say(lang, "does not hold", "ei päde")
                }
            )
        }
    }
}

/// A stored model version as people name it: `@N (start of its hash)`, or the start of the
/// hash alone when the store does not list it.
pub(crate) fn version_name(hash: &str, versions: &[StoredVersion]) -> String {
    let short = &hash[..hash.len().min(12)];
    match versions.iter().find(|v| v.hash == hash) {
        Some(v) => format!("@{} ({short})", v.id),
        None => short.to_owned(),
    }
}

fn version_line(case: &CaseReason, versions: &[StoredVersion], lang: Lang) -> String {
    let short = &case.model_version[..case.model_version.len().min(12)];
    match versions.iter().find(|v| v.hash == case.model_version) {
        Some(v) => {
            let mut line = format!("@{} ({short})", v.id);
            if !v.stored.is_empty() {
                line.push_str(&format!(", {} {}", say(lang, "stored", "tallennettu"), v.stored));
            }
            if !v.note.is_empty() {
                line.push_str(&format!(": {}", v.note));
            }
            line
        }
        None => short.to_owned(),
    }
}

fn render(e: &Explanation, versions: &[StoredVersion], one_step: bool, lang: Lang) -> String {
    let mut out = String::new();
    for case in &e.cases {
        let title = if case.process_title.is_empty() { &case.process } else { &case.process_title };
        out.push_str(&format!(
            "{} {} — {title} ({})\n",
            say(lang, "Case", "Tapaus"),
            case.case,
            case.process
        ));
        out.push_str(&format!(
            "  {}: {}\n",
            say(lang, "Model version", "Malliversio"),
            version_line(case, versions, lang)
        ));
        if let (Some(segment), Some(d)) = (&case.segment, &case.decided) {
            let how = match (d.how, lang) {
                ("assessed", Lang::Fi) => "arvioitu",
                ("assessed", Lang::En) => "assessed",
                ("changed", Lang::Fi) => "muutettu",
                ("changed", Lang::En) => "changed",
                (_, Lang::Fi) => "annettu tapausta avattaessa",
                (_, Lang::En) => "given when the case was opened",
            };
            let mut line = format!(
                "  {} {}: {segment} — {how} {}",
                say(lang, "Segment on", "Segmentti"),
                e.date,
                d.at
            );
            if let Some(by) = &d.by {
                line.push_str(&format!(", {} {by}", say(lang, "by", "päättäjä")));
            }
            if let Some(reason) = &d.reason {
                line.push_str(&format!(" ({}: {reason})", say(lang, "reason", "syy")));
            }
            out.push_str(&line);
            out.push('\n');
        }
        if one_step {
            for s in &case.steps {
                out.push_str(&format!(
                    "  {} {} \"{}\" ({} {}): {}\n",
                    say(lang, "Step", "Askel"),
                    s.step,
                    s.title,
                    say(lang, "phase", "vaihe"),
                    s.phase,
                    match (s.planned, s.required) {
                        (true, true) => say(lang, "planned, required", "suunniteltu, pakollinen"),
                        (true, false) => say(lang, "planned, optional", "suunniteltu, valinnainen"),
                        (false, _) => say(lang, "not planned", "ei suunniteltu"),
                    },
                ));
                out.push_str(&format!(
                    "    {}: {}\n    {}: {}\n    {}: {}\n    {}: {}\n",
                    say(lang, "in the generic process", "yleisessä prosessissa"),
                    yes_no(s.generic, lang),
                    say(lang, "the segment's content", "segmentin sisältö"),
                    content(&s.segment_content, lang),
                    say(lang, "condition", "ehto"),
                    condition(s, lang),
                    say(lang, "done by then", "tehty siihen mennessä"),
                    s.done,
                ));
            }
        } else {
            let mut rows = vec![vec![
                say(lang, "step", "askel").to_owned(),
                say(lang, "phase", "vaihe").to_owned(),
                say(lang, "planned", "suunniteltu").to_owned(),
                say(lang, "generic", "yleinen").to_owned(),
                say(lang, "segment's content", "segmentin sisältö").to_owned(),
                say(lang, "condition", "ehto").to_owned(),
                say(lang, "done", "tehty").to_owned(),
            ]];
            for s in &case.steps {
                rows.push(vec![
                    s.step.clone(),
                    s.phase.clone(),
                    match (s.planned, s.required) {
                        (true, true) => yes_no(true, lang).to_owned(),
                        (true, false) => say(lang, "optional", "valinnainen").to_owned(),
                        (false, _) => yes_no(false, lang).to_owned(),
                    },
                    yes_no(s.generic, lang).to_owned(),
                    content(&s.segment_content, lang),
                    condition(s, lang),
                    s.done.to_string(),
                ]);
            }
            for line in crate::plan::table(&rows).lines() {
                out.push_str("  ");
                out.push_str(line);
                out.push('\n');
            }
        }
        out.push('\n');
    }
    out.trim_end().to_owned()
}
