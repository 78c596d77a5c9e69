//! `polku plan`: a process's planned service per segment, as a table or JSON.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{bail, Result};
use polku_dsl::ast::Channel;
use polku_dsl::Lang;
use polku_engine::model::Process;
use polku_engine::plan::{describe_deadline, describe_duration, Origin, Plan, PlannedStep};

use crate::{checked_model, say, PlanFormat};

pub fn run(
    process_name: &str,
    segment: Option<&str>,
    model: Option<&Path>,
    format: PlanFormat,
    lang: Lang,
) -> Result<ExitCode> {
    let Some(crate::CheckedModel { files, .. }) = checked_model(model, lang, false)? else {
        return Ok(ExitCode::from(1));
    };
    let model = polku_engine::compile(&files);
    let Some(process) = model.processes.get(process_name) else {
        let hint =
            polku_dsl::suggest::closest(process_name, model.processes.keys().map(String::as_str))
                .map(|s| format!(" ({} `{s}`?)", say(lang, "did you mean", "tarkoititko")))
                .unwrap_or_default();
        bail!("{} `{process_name}`{hint}", say(lang, "no such process", "prosessia ei ole"));
    };
    // Segments in the order the segmentation lists them.
    let order: Vec<&str> = process
        .segmentation
        .as_ref()
        .and_then(|s| model.segmentations.get(s))
        .map(|s| s.segments.iter().map(String::as_str).collect())
        .unwrap_or_default();
    let segments: Vec<&str> =
        order.iter().copied().filter(|s| process.plans.contains_key(*s)).collect();
    let plans: Vec<Plan> = match segment {
        Some(segment) => match process.plans.get(segment) {
            Some(plan) => vec![plan.clone()],
            None if segments.is_empty() => bail!(
                "{} `{}` {} `{segment}`: {}",
                say(lang, "process", "prosessi"),
                process.name,
                say(lang, "says nothing of segment", "ei kerro mitään segmentistä"),
                say(
                    lang,
                    "it has no segment content; leave out --segment for its plan",
                    "sillä ei ole segmenttikohtaista sisältöä; jätä --segment pois nähdäksesi sen suunnitelman"
                )
            ),
            None => bail!(
                "{} `{}` {} `{segment}` ({}: {})",
                say(lang, "process", "prosessi"),
                process.name,
                say(lang, "says nothing of segment", "ei kerro mitään segmentistä"),
                say(lang, "its segments", "sen segmentit"),
                segments.join(", ")
            ),
        },
        None => std::iter::once(process.generic.clone())
            .chain(segments.iter().filter_map(|s| process.plans.get(*s).cloned()))
            .collect(),
    };
    match format {
        PlanFormat::Json => {
            let value = if segment.is_some() {
                serde_json::to_value(&plans[0])?
            } else {
                serde_json::to_value(&plans)?
            };
            outln!("{}", serde_json::to_string_pretty(&value)?);
        }
        PlanFormat::Table if segment.is_some() => out!("{}", one_plan(process, &plans[0], lang)),
        PlanFormat::Table => out!("{}", side_by_side(process, &plans, lang)),
    }
    Ok(ExitCode::SUCCESS)
}

fn channel_word(channel: Channel, lang: Lang) -> &'static str {
    match (channel, lang) {
        (Channel::Visit, Lang::Fi) => "käynti",
        (Channel::Phone, Lang::Fi) => "puhelin",
        (Channel::Digital, Lang::Fi) => "sähköinen",
        (Channel::HomeVisit, Lang::Fi) => "kotikäynti",
        (Channel::Group, Lang::Fi) => "ryhmä",
        (Channel::Video, Lang::Fi) => "video",
        (Channel::Visit, Lang::En) => "visit",
        (Channel::Phone, Lang::En) => "phone",
        (Channel::Digital, Lang::En) => "digital",
        (Channel::HomeVisit, Lang::En) => "home visit",
        (Channel::Group, Lang::En) => "group",
        (Channel::Video, Lang::En) => "video",
    }
}

/// Lays out rows as columns padded to the widest cell.
pub(crate) fn table(rows: &[Vec<String>]) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|c| rows.iter().filter_map(|r| r.get(c)).map(|s| s.chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for (i, row) in rows.iter().enumerate() {
        let line: Vec<String> = row
            .iter()
            .enumerate()
            .map(|(c, cell)| format!("{cell}{}", " ".repeat(widths[c] - cell.chars().count())))
            .collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
        if i == 0 {
            let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
            out.push_str(&rule.join("  "));
            out.push('\n');
        }
    }
    out
}

fn title(process: &Process) -> String {
    if process.title.is_empty() {
        process.name.clone()
    } else {
        process.title.clone()
    }
}

fn one_plan(process: &Process, plan: &Plan, lang: Lang) -> String {
    let mut out = format!(
        "{} ({}) — {} {}\n",
        title(process),
        process.name,
        say(lang, "segment", "segmentti"),
        plan.segment.as_deref().unwrap_or("-")
    );
    if let Some(role) = &plan.responsible {
        out.push_str(&format!(
            "{}: {role}\n",
            say(lang, "named responsible worker", "vastuutyöntekijä")
        ));
    }
    out.push('\n');
    let header = match lang {
        Lang::Fi => [
            "vaihe",
            "askel",
            "tekijä",
            "kesto",
            "määrä",
            "väli",
            "määräaika",
            "kanava",
            "pakollinen",
            "lakisääteinen",
            "muutos",
        ],
        Lang::En => [
            "phase",
            "step",
            "by",
            "duration",
            "count",
            "interval",
            "deadline",
            "channel",
            "required",
            "statutory",
            "change",
        ],
    };
    let with_facts = plan.steps.iter().any(|s| s.condition.is_some() || s.per.is_some());
    let mut rows = vec![header.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>()];
    if with_facts {
        let at = rows[0].len() - 1;
        rows[0].insert(at, say(lang, "condition", "ehto").to_owned());
    }
    for step in &plan.steps {
        let mut row = vec![
            step.phase.clone(),
            step.name.clone(),
            step.roles.join(", "),
            step.duration.as_ref().map(|d| duration_text(d, lang)).unwrap_or_default(),
            step.count.to_string(),
            step.interval.as_ref().map(|d| duration_text(d, lang)).unwrap_or_default(),
            match (&step.earliest, &step.deadline) {
                (Some(e), Some(d)) => {
                    format!("{} – {}", deadline_text(e, lang), deadline_text(d, lang))
                }
                (Some(e), None) => {
                    format!(
                        "{} {}",
                        say(lang, "not before", "aikaisintaan"),
                        deadline_text(e, lang)
                    )
                }
                (None, Some(d)) => deadline_text(d, lang),
                (None, None) => String::new(),
            },
            step.channel.map(|c| channel_word(c, lang).to_owned()).unwrap_or_default(),
            say(
                lang,
                if step.required { "yes" } else { "no" },
                if step.required { "kyllä" } else { "ei" },
            )
            .to_owned(),
            step.statutory
                .clone()
                .map(|b| if b.is_empty() { say(lang, "yes", "kyllä").to_owned() } else { b })
                .unwrap_or_default(),
            origin_text(&step.origin, lang),
        ];
        if with_facts {
            row.insert(row.len() - 1, facts_text(step, lang));
        }
        rows.push(row);
    }
    out.push_str(&table(&rows));
    if let Some(step) = plan.steps.iter().find(|s| s.assesses_segment) {
        out.push_str(&format!(
            "\n{} `{}`: {}\n",
            say(lang, "the segment is assessed in", "segmentti arvioidaan askeleessa"),
            step.name,
            say(
                lang,
                "the segment's content applies to the steps after it",
                "segmentin sisältö koskee sen jälkeisiä askeleita"
            )
        ));
    }
    let described: Vec<&PlannedStep> =
        plan.steps.iter().filter(|s| s.description.is_some() || s.guidance.is_some()).collect();
    if !described.is_empty() {
        out.push_str(&format!(
            "\n{}\n",
            say(lang, "Descriptions and guidance", "Kuvaukset ja ohjeet")
        ));
        for step in described {
            out.push_str(&format!("  {}", step.name));
            if !step.title.is_empty() {
                out.push_str(&format!(" — {}", step.title));
            }
            out.push('\n');
            if let Some(description) = &step.description {
                out.push_str(&format!(
                    "    {}: {description}\n",
                    say(lang, "description", "kuvaus")
                ));
            }
            if let Some(guidance) = &step.guidance {
                let own = matches!(&step.origin, Origin::Changed(what) if what.contains(&"ohje"));
                let label = match (own, plan.segment.as_deref()) {
                    (true, Some(segment)) => format!(
                        "{} ({} {segment})",
                        say(lang, "guidance", "ohje"),
                        say(lang, "segment", "segmentti")
                    ),
                    _ => say(lang, "guidance", "ohje").to_owned(),
                };
                out.push_str(&format!("    {label}: {guidance}\n"));
            }
        }
    }
    for removed in &plan.removed {
        out.push_str(&format!(
            "{} {}{}\n",
            say(lang, "left out:", "jätetty pois:"),
            removed.name,
            removed.reason.as_ref().map(|r| format!(" ({r})")).unwrap_or_default()
        ));
    }
    out
}

fn origin_text(origin: &Origin, lang: Lang) -> String {
    match origin {
        Origin::Generic => String::new(),
        Origin::Added => say(lang, "added", "lisätty").to_owned(),
        Origin::Changed(what) => {
            format!("{} {}", say(lang, "changed:", "muutettu:"), what.join(", "))
        }
    }
}

/// A duration in the reader's language: `1 h 30 min`, `4 vk` or `4 wk`.
fn duration_text(duration: &polku_dsl::ast::Duration, lang: Lang) -> String {
    use polku_dsl::ast::TimeUnit;
    if lang == Lang::Fi {
        return describe_duration(duration);
    }
    duration
        .parts
        .iter()
        .map(|(amount, unit)| {
            let word = match unit {
                TimeUnit::Minute => "min",
                TimeUnit::Hour => "h",
                TimeUnit::Day => "d",
                TimeUnit::WorkingDay => "working days",
                TimeUnit::Week => "wk",
                TimeUnit::Month => "mo",
                TimeUnit::Year => "y",
            };
            format!("{amount} {word}")
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// A deadline in the reader's language: `2 vk edellisestä`, `2 wk after the previous step`.
fn deadline_text(deadline: &polku_dsl::ast::Deadline, lang: Lang) -> String {
    use polku_dsl::ast::Anchor;
    if lang == Lang::Fi {
        return describe_deadline(deadline);
    }
    let after = duration_text(&deadline.after, lang);
    match &deadline.anchor {
        Anchor::CaseStart => format!("{after} from the start of the case"),
        Anchor::PhaseStart => format!("{after} from the start of the phase"),
        Anchor::PreviousStep => format!("{after} after the previous step"),
        Anchor::Step(step) => format!("{after} after step {}", step.text),
        Anchor::Age => format!("at age {after}"),
        Anchor::BeforeStep(step) => format!("{after} before step {}", step.text),
        Anchor::PregnancyWeek => {
            format!("pregnancy week {}", polku_engine::plan::weeks(&deadline.after))
        }
    }
}

/// A step's condition and repetition in the reader's language: `jos ensisynnyttäjä`,
/// `per lapsia`.
fn facts_text(step: &PlannedStep, lang: Lang) -> String {
    let mut parts = Vec::new();
    if let Some(c) = &step.condition {
        parts.push(match (c.negated, lang) {
            (false, Lang::Fi) => format!("jos {}", c.fact),
            (true, Lang::Fi) => format!("jos ei {}", c.fact),
            (false, Lang::En) => format!("if {}", c.fact),
            (true, Lang::En) => format!("if not {}", c.fact),
        });
    }
    if let Some(per) = &step.per {
        parts.push(format!("{} {per}", say(lang, "once per", "toistuu")));
    }
    parts.join(", ")
}

/// A cell of the side-by-side table: what the plan holds of one step, with every attribute
/// that the segment changes or an added step has spelt out (see the legend).
fn cell(step: Option<&PlannedStep>, removed: bool, lang: Lang) -> String {
    let Some(step) = step else {
        return if removed {
            "– ".to_owned() + say(lang, "left out", "pois")
        } else {
            "–".to_owned()
        };
    };
    let (mut text, changed): (String, Vec<&str>) = match &step.origin {
        Origin::Generic => (String::new(), Vec::new()),
        Origin::Changed(what) => ("* ".to_owned(), what.clone()),
        // Everything an added step has is the segment's.
        Origin::Added => (
            "+ ".to_owned(),
            vec![
                "väli",
                "kanava",
                "aikaisintaan",
                "määräaika",
                "ohjaus",
                "lakisääteinen",
                "ohje",
                "kuvaus",
            ],
        ),
    };
    text.push_str(
        &step.duration.as_ref().map(|d| duration_text(d, lang)).unwrap_or_else(|| "✓".to_owned()),
    );
    if step.count > 1 {
        text.push_str(&format!(" ×{}", step.count));
    }
    if let (true, Some(interval)) = (changed.contains(&"väli"), &step.interval) {
        text.push_str(&format!(" /{}", duration_text(interval, lang)));
    }
    if let (true, Some(channel)) = (changed.contains(&"kanava"), step.channel) {
        text.push_str(&format!(" [{}]", channel_word(channel, lang)));
    }
    if changed.contains(&"tekijä") {
        text.push_str(&format!(" ({})", step.roles.join(", ")));
    }
    if let (true, Some(earliest)) = (changed.contains(&"aikaisintaan"), &step.earliest) {
        text.push_str(&format!(" ≥{}", deadline_text(earliest, lang)));
    }
    if let (true, Some(deadline)) = (changed.contains(&"määräaika"), &step.deadline) {
        text.push_str(&format!(" ≤{}", deadline_text(deadline, lang)));
    }
    if let (true, Some(target)) = (changed.contains(&"ohjaus"), &step.referral) {
        text.push_str(&format!(" →{target}"));
    }
    if changed.contains(&"lakisääteinen") && step.statutory.is_some() {
        text.push_str(" §");
    }
    // A condition and a repetition are always shown: they decide whether the step is there.
    if let Some(c) = &step.condition {
        text.push_str(&format!(" ?{}{}", if c.negated { "!" } else { "" }, c.fact));
    }
    if let Some(per) = &step.per {
        text.push_str(&format!(" ×{per}"));
    }
    if !step.required {
        text.push_str(say(lang, " (optional)", " (valinnainen)"));
    } else if changed.contains(&"pakollinen") {
        text.push_str(say(lang, " (required)", " (pakollinen)"));
    }
    if (changed.contains(&"ohje") && step.guidance.is_some())
        || (changed.contains(&"kuvaus") && step.description.is_some())
    {
        text.push_str(" ✎");
    }
    text
}

fn side_by_side(process: &Process, plans: &[Plan], lang: Lang) -> String {
    let mut out = format!("{} ({})\n\n", title(process), process.name);
    let mut header =
        vec![say(lang, "phase", "vaihe").to_owned(), say(lang, "step", "askel").to_owned()];
    header.extend(
        plans.iter().map(|p| {
            p.segment.clone().unwrap_or_else(|| say(lang, "generic", "yleinen").to_owned())
        }),
    );
    let mut order: Vec<(String, String)> = Vec::new();
    for plan in plans {
        for (i, step) in plan.steps.iter().enumerate() {
            if !order.iter().any(|(_, n)| *n == step.name) {
                // Right after the step this plan puts before it (a step placed with `ennen` or
                // `jälkeen` keeps its place), else at the end of its phase.
                let after_previous = i
                    .checked_sub(1)
                    .and_then(|p| plan.steps.get(p))
                    .filter(|p| p.phase == step.phase)
                    .and_then(|p| order.iter().position(|(_, n)| *n == p.name))
                    .map(|at| at + 1);
                // Or right before the step this plan puts after it, in the same phase.
                let before_next = plan
                    .steps
                    .get(i + 1)
                    .filter(|n| n.phase == step.phase)
                    .and_then(|n| order.iter().position(|(_, o)| *o == n.name));
                let before_first = (i == 0).then_some(0);
                let at = after_previous.or(before_next).or(before_first).unwrap_or_else(|| {
                    order.iter().rposition(|(p, _)| *p == step.phase).map_or(order.len(), |i| i + 1)
                });
                order.insert(at, (step.phase.clone(), step.name.clone()));
            }
        }
    }
    let mut rows = vec![header];
    for (phase, name) in &order {
        let mut row = vec![phase.clone(), name.clone()];
        for plan in plans {
            let removed = plan.removed.iter().any(|r| r.name == *name);
            row.push(cell(plan.step(name), removed, lang));
        }
        rows.push(row);
    }
    let mut responsible =
        vec![String::new(), say(lang, "responsible worker", "vastuutyöntekijä").to_owned()];
    responsible
        .extend(plans.iter().map(|p| p.responsible.clone().unwrap_or_else(|| "–".to_owned())));
    rows.push(responsible);
    out.push_str(&table(&rows));
    out.push_str(say(
        lang,
        "\n+ added by the segment   * changed by the segment   – not in the plan   ✓ planned, no duration given\n\
         ×N visits   /T interval between visits   [channel]   (who) other performers   ≥ not before   ≤ deadline\n\
         →X referral to X   § statutory   ✎ own guidance or description (polku plan PROCESS --segment S)\n\
         after * or +, only what the segment changes or adds is spelt out\n",
        "\n+ segmentin lisäämä   * segmentin muuttama   – ei suunnitelmassa   ✓ suunniteltu, kestoa ei annettu\n\
         ×N käyntiä   /T käyntien väli   [kanava]   (kuka) muut tekijät   ≥ aikaisintaan   ≤ määräaika\n\
         →X ohjaus kohteeseen X   § lakisääteinen   ✎ oma ohje tai kuvaus (polku plan PROSESSI --segment S)\n\
         merkin * tai + jälkeen näytetään vain se, mitä segmentti muuttaa tai lisää\n",
    ));
    let facts =
        plans.iter().flat_map(|p| &p.steps).any(|s| s.condition.is_some() || s.per.is_some());
    if facts {
        out.push_str(say(
            lang,
            "?F only when the case's fact F holds   ?!F only when it does not   ×F once per F (such as each child)\n",
            "?F vain kun tapauksen tieto F pätee   ?!F vain kun se ei päde   ×F kerran jokaista F:ää kohti (esimerkiksi lasta)\n",
        ));
    }
    out
}
