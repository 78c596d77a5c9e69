//! `polku assess`: a filled-in assessment form scored as the staff page scores it.

use std::io::Read as _;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use polku_dsl::Lang;

use crate::{checked_model, say, PlanFormat};

pub fn run(
    form_name: &str,
    answers: &Path,
    model: Option<&Path>,
    format: PlanFormat,
    lang: Lang,
) -> Result<ExitCode> {
    let Some(crate::CheckedModel { files, .. }) = checked_model(model, lang, false)? else {
        return Ok(ExitCode::from(1));
    };
    let model = polku_engine::compile(&files);
    let Some(form) = model.forms.get(form_name) else {
        let hint = polku_dsl::suggest::closest(form_name, model.forms.keys().map(String::as_str))
            .map(|s| format!(" ({} `{s}`?)", say(lang, "did you mean", "tarkoititko")))
            .unwrap_or_default();
        bail!("{} `{form_name}`{hint}", say(lang, "no such form", "lomaketta ei ole"));
    };
    let mut text = String::new();
    if answers == Path::new("-") {
        std::io::stdin().read_to_string(&mut text).context("standard input")?;
    } else {
        text =
            std::fs::read_to_string(answers).with_context(|| format!("{}", answers.display()))?;
    }
    let json: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
        anyhow::anyhow!(
            "{}:{}:{}: {} ({})",
            answers.display(),
            e.line(),
            e.column(),
            say(lang, "not JSON", "ei JSON-muotoa"),
            polku_engine::pseudonym::redact_identity_codes(&e.to_string())
        )
    })?;
    let read = form
        .read_answers(&json)
        .map_err(|e| anyhow::anyhow!("{}: {}", answers.display(), e.say(lang)))?;
    let proposal = form.score(&read);
    match format {
        PlanFormat::Json => outln!("{}", serde_json::to_string_pretty(&proposal)?),
        PlanFormat::Table => {
            outln!(
                "{} ({})",
                if form.title.is_empty() { &form.name } else { &form.title },
                form.name
            );
            for axis in &proposal.axes {
                let how = match (axis.how, lang) {
                    ("rule", _) => String::new(),
                    ("tie", Lang::Fi) => " (tasapeli)".to_owned(),
                    ("tie", Lang::En) => " (a tie)".to_owned(),
                    ("missing", Lang::Fi) => " (vastaus puuttuu)".to_owned(),
                    ("missing", Lang::En) => " (an answer is missing)".to_owned(),
                    (_, _) => String::new(),
                };
                let value = axis
                    .value
                    .clone()
                    .unwrap_or_else(|| say(lang, "undecided", "ei ratkea").to_owned());
                let driven = if axis.driven_by.is_empty() {
                    String::new()
                } else {
                    format!(
                        "; {}: {}",
                        say(lang, "from", "vastauksista"),
                        axis.driven_by.join(", ")
                    )
                };
                outln!("  {}: {value}{how}{driven}", axis.axis);
            }
            match &proposal.segment {
                Some(segment) => {
                    outln!("{}: {segment}", say(lang, "proposed segment", "ehdotettu segmentti"))
                }
                None => outln!(
                    "{}",
                    say(
                        lang,
                        "no segment proposed: the professional decides",
                        "segmenttiä ei ehdoteta: ammattilainen päättää"
                    )
                ),
            }
            if let Some(guidance) = proposal.segment.as_ref().and_then(|s| form.guidance.get(s)) {
                outln!("{}: {guidance}", say(lang, "guidance", "ohje"));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
