//! `polku segment-daily`: the segment each client's markers propose on a day, from an extract
//! of the record systems; the proposals are stored by day, and the distribution over the
//! segments is printed.
//!
//! The extract is read as a stream by [`polku_engine::markers::extract`]: each client keeps
//! only a count per condition of the rows that fall in that condition's window on the day, so
//! memory grows with the clients, not with the rows.

use std::collections::BTreeMap;
use std::io::{IsTerminal as _, Write as _};
use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use polku_dsl::hash::FastMap;
use polku_dsl::Lang;
use polku_engine::markers::extract::{self, day_of};
use polku_engine::markers::MarkerRules;
use polku_store::markers::{day_text, MarkerRun, Neighbours};
use polku_store::Tracker;

use crate::track::StoreArgs;
use crate::{say, PlanFormat};

/// A progress bar on standard error, drawn only when it is a terminal.
pub(crate) struct Progress {
    total: Option<u64>,
    started: Instant,
    last: Option<Instant>,
    shown: bool,
}

impl Progress {
    pub(crate) fn new(total: Option<u64>) -> Progress {
        Progress { total, started: Instant::now(), last: None, shown: false }
    }

    /// Redraws the bar for `done` bytes, at most four times a second (and once more at the end).
    pub(crate) fn update(&mut self, done: u64) {
        if !std::io::stderr().is_terminal() {
            return;
        }
        let now = Instant::now();
        let whole = self.total.is_some_and(|t| done >= t);
        if !whole && self.last.is_some_and(|t| now - t < Duration::from_millis(250)) {
            return;
        }
        self.last = Some(now);
        self.shown = true;
        let line = bar(done, self.total, now - self.started);
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r{line}");
        let _ = err.flush();
    }

    /// Clears the bar.
    pub(crate) fn finish(&mut self) {
        if self.shown {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r{:width$}\r", "", width = 72);
            let _ = err.flush();
            self.shown = false;
        }
    }
}

/// One line of the progress bar: `[#####-----]  45 %  1.2 GB  12 s`, or without a total
/// (standard input) the bytes and the time only.
pub(crate) fn bar(done: u64, total: Option<u64>, elapsed: Duration) -> String {
    let size = |b: u64| {
        if b >= 1 << 30 {
            format!("{:.1} GB", b as f64 / (1u64 << 30) as f64)
        } else {
            format!("{:.0} MB", b as f64 / (1u64 << 20) as f64)
        }
    };
    let secs = elapsed.as_secs();
    match total.filter(|&t| t > 0) {
        Some(total) => {
            let share = (done as f64 / total as f64).clamp(0.0, 1.0);
            let filled = (share * 30.0).round() as usize;
            format!(
                "[{}{}] {:3.0} %  {} / {}  {secs} s",
                "#".repeat(filled),
                "-".repeat(30 - filled),
                share * 100.0,
                size(done),
                size(total)
            )
        }
        None => format!("{}  {secs} s", size(done)),
    }
}

/// The marker rules `name` names, or the model's only ones.
pub(crate) fn marker_rules(
    model: &polku_engine::model::Model,
    name: Option<&str>,
    lang: Lang,
) -> Result<MarkerRules> {
    let rules = match name {
        Some(name) => model.markers.get(name),
        None if model.markers.len() == 1 => model.markers.values().next(),
        None => None,
    };
    let Some(rules) = rules else {
        let names: Vec<&str> = model.markers.keys().map(String::as_str).collect();
        bail!(
            "{} ({}: {})",
            say(
                lang,
                "name the marker rules with --markers",
                "nimeä merkkisäännöt valitsimella --markers"
            ),
            say(lang, "the model has", "mallissa on"),
            if names.is_empty() { "–".to_owned() } else { names.join(", ") }
        );
    };
    Ok(rules.clone())
}

/// What `polku segment-daily` was asked.
pub struct Options<'a> {
    pub extract: &'a Path,
    pub date: &'a str,
    pub from: Option<&'a str>,
    pub markers: Option<&'a str>,
    pub dry_run: bool,
    pub allow_refused: bool,
}

pub fn run(
    options: &Options<'_>,
    args: &StoreArgs,
    format: PlanFormat,
    lang: Lang,
) -> Result<ExitCode> {
    let Options { extract, date, from, markers, dry_run, allow_refused } = *options;
    let Some(setup) = crate::track::setup(args, lang)? else { return Ok(ExitCode::from(1)) };
    let key = setup.key.clone();
    let rules = marker_rules(&setup.model, markers, lang)?;
    let Some(day) = day_of(date) else {
        bail!(
            "--date: {}",
            say(
                lang,
                "not a date: write it as 2026-03-14",
                "ei päivämäärä: kirjoita muodossa 2026-03-14"
            )
        );
    };
    // With --from, the same for an earlier day, and who moved between the two.
    let earlier = match from {
        None => None,
        Some(text) => match day_of(text) {
            Some(d) => Some(d),
            None => bail!(
                "--from: {}",
                say(
                    lang,
                    "not a date: write it as 2026-03-14",
                    "ei päivämäärä: kirjoita muodossa 2026-03-14"
                )
            ),
        },
    };
    let total = if extract == Path::new("-") {
        None
    } else {
        std::fs::metadata(extract).ok().filter(|m| m.is_file()).map(|m| m.len())
    };
    let input: Box<dyn std::io::Read> = if extract == Path::new("-") {
        Box::new(std::io::stdin())
    } else {
        Box::new(std::fs::File::open(extract).with_context(|| extract.display().to_string())?)
    };
    let reader = std::io::BufReader::with_capacity(1 << 20, input);
    let days: Vec<i64> = earlier.into_iter().chain(std::iter::once(day)).collect();
    // The store is opened, and what it holds around the day read, on another thread while
    // the extract is read here.
    let opening = (!dry_run).then(|| {
        let rules = rules.clone();
        std::thread::spawn(move || -> Result<(Tracker, Neighbours)> {
            let (tracker, _) = crate::track::open_tracker(setup, crate::track::Use::Execute, lang)?;
            let loaded = tracker.load_markers(&rules, day)?;
            Ok((tracker, loaded))
        })
    });
    let progress = std::cell::RefCell::new(Progress::new(total));
    let counts = extract::count(
        reader,
        &rules,
        &days,
        &key,
        &mut |r| {
            progress.borrow_mut().finish();
            eprintln!("{}:{}: {}", extract.display(), r.line, r.reason);
        },
        &mut |bytes| progress.borrow_mut().update(bytes),
    )
    .with_context(|| extract.display().to_string());
    progress.borrow_mut().finish();
    let counts = counts?;
    let (rows, refused, out_of_range) = (counts.rows, counts.refused, counts.outside_window);
    let clients = &counts.clients;
    let last = days.len() - 1;
    let mut distribution: BTreeMap<String, u64> = BTreeMap::new();
    let mut moves: BTreeMap<(String, String), u64> = BTreeMap::new();
    let mut proposals: FastMap<extract::ClientKey, Option<String>> = FastMap::default();
    for (client, c) in clients {
        let proposed = counts.proposal(c, last);
        proposals.insert(*client, proposed.map(str::to_owned));
        let segment = proposed.unwrap_or("–");
        *distribution.entry(segment.to_owned()).or_default() += 1;
        if earlier.is_some() {
            let before = counts.proposal(c, 0).unwrap_or("–");
            if before != segment {
                *moves.entry((before.to_owned(), segment.to_owned())).or_default() += 1;
            }
        }
    }
    let clients = clients.len();
    drop(counts);
    // Stored by day: a second run of the day changes nothing, and days run in any order leave
    // the same proposals.
    let run = MarkerRun {
        day,
        segmentation: rules.segmentation.clone().unwrap_or_default(),
        clients: proposals.values().filter(|p| p.is_some()).count() as u64,
        rows,
        recorded: polku_engine::time::Timestamp(crate::track::now()).local_text(),
    };
    let actor = crate::track::actor(args);
    // A run with refused rows stores nothing unless asked to: a day stored from part of an
    // extract would take every client left out to "no proposal".
    let store_it = if rows == 0 {
        eprintln!(
            "{}",
            say(
                lang,
                "the extract has no rows: nothing was stored",
                "poiminnassa ei ole rivejä: mitään ei tallennettu"
            )
        );
        false
    } else if refused > 0 && !allow_refused {
        eprintln!(
            "{refused} {}",
            say(
                lang,
                "rows were refused: nothing was stored; correct them, or store the good rows with --allow-refused",
                "riviä hylättiin: mitään ei tallennettu; korjaa ne tai tallenna hyvät rivit valitsimella --allow-refused"
            )
        );
        false
    } else {
        true
    };
    let opening = opening.filter(|_| store_it);
    let recorded = match opening {
        Some(thread) => {
            let (mut tracker, loaded) =
                thread.join().map_err(|_| anyhow::anyhow!("the store could not be opened"))??;
            Some(tracker.record_markers(&actor, &rules, run, proposals, Some(loaded))?)
        }
        None => None,
    };
    let transitions: Vec<serde_json::Value> = moves
        .iter()
        .map(|((from, to), n)| serde_json::json!({"from": from, "to": to, "clients": n, "source": "markers"}))
        .collect();
    match format {
        PlanFormat::Json => {
            let value = serde_json::json!({
                "date": date.trim(),
                "markers": rules.name,
                "clients": clients,
                "rows": rows,
                "rows_outside_window": out_of_range,
                "refused": refused,
                "distribution": distribution,
                "stored": recorded,
            });
            let mut value = value;
            if let Some(from) = from {
                value["from"] = serde_json::json!(from.trim());
                value["transitions"] = serde_json::json!(transitions);
            }
            outln!("{}", serde_json::to_string_pretty(&value)?);
        }
        PlanFormat::Table => {
            outln!(
                "{} {} ({}): {} {}, {} {}, {} {}",
                say(lang, "Marker rules", "Merkkisäännöt"),
                rules.name,
                date.trim(),
                clients,
                say(lang, "clients", "asiakasta"),
                rows,
                say(lang, "rows", "riviä"),
                refused,
                say(lang, "refused", "hylättyä")
            );
            for (segment, count) in &distribution {
                let share = 100.0 * *count as f64 / clients.max(1) as f64;
                outln!("  {segment:<16} {count:>9}  {share:5.1} %");
            }
            match recorded.as_ref().map(|r| (r.previous, r.day)) {
                None if dry_run => outln!(
                    "{}",
                    say(lang, "Dry run: nothing was stored", "Kokeiluajo: mitään ei tallennettu")
                ),
                None => outln!("{}", say(lang, "Nothing was stored", "Mitään ei tallennettu")),
                Some((Some(previous), day)) => {
                    outln!(
                        "{} {} → {} ({}):",
                        say(
                            lang,
                            "Stored; moved since the previous run",
                            "Tallennettu; siirtyneet edellisestä ajosta"
                        ),
                        day_text(previous),
                        day_text(day),
                        say(lang, "source: marker rules", "lähde: merkkisäännöt")
                    );
                }
                Some((None, _)) => outln!(
                    "{} ({}):",
                    say(
                        lang,
                        "Stored; the first run of these rules before this day",
                        "Tallennettu; sääntöjen ensimmäinen ajo ennen tätä päivää"
                    ),
                    say(lang, "source: marker rules", "lähde: merkkisäännöt")
                ),
            }
            let no_moves = BTreeMap::new();
            for (a, to) in recorded.as_ref().map_or(&no_moves, |r| &r.moves) {
                for (b, n) in to {
                    outln!("  {a:<14} → {b:<14} {n:>8}");
                }
            }
            if let Some(from) = from {
                outln!(
                    "{} {} → {} ({}):",
                    say(lang, "Moved between", "Siirtyneet välillä"),
                    from.trim(),
                    date.trim(),
                    say(lang, "source: marker rules", "lähde: merkkisäännöt")
                );
                for ((a, b), n) in &moves {
                    outln!("  {a:<14} → {b:<14} {n:>8}");
                }
            }
        }
    }
    Ok(if refused > 0 || (!dry_run && !store_it) { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_progress_bar_shows_the_share_read_and_without_a_size_the_bytes() {
        let line = bar(3 << 29, Some(2 << 30), Duration::from_secs(12));
        assert_eq!(line, "[#######################-------]  75 %  1.5 GB / 2.0 GB  12 s");
        assert_eq!(
            bar(0, Some(100), Duration::ZERO),
            format!("[{}]   0 %  0 MB / 0 MB  0 s", "-".repeat(30))
        );
        assert_eq!(bar(5 << 20, None, Duration::from_secs(1)), "5 MB  1 s");
        // More than the size (a file that grew) is shown as all of it.
        assert!(
            bar(200, Some(100), Duration::ZERO).starts_with(&format!("[{}] 100 %", "#".repeat(30)))
        );
    }
}
