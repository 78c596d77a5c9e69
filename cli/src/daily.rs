//! `polku segment-daily`: the segment each client's markers propose on a day, from an extract
//! of the record systems, and the distribution over the segments.
//!
//! The extract is read as a stream, one row at a time; each client keeps only the rows the
//! rules count (the condition and the day), within the retention time, so memory grows with
//! the clients and their relevant rows, not with the extract.

use std::collections::{BTreeMap, HashMap};
use std::io::BufRead as _;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use polku_dsl::Lang;
use polku_engine::pseudonym::{looks_like_identity_code, pseudonymise, Pseudonym};
use polku_engine::time::{days_from_civil, Timestamp};

use crate::track::StoreArgs;
use crate::{say, PlanFormat};

/// One row of an extract.
struct Row {
    client: String,
    day: i64,
    system: String,
    code: String,
}

fn day_of(text: &str) -> Option<i64> {
    let t = Timestamp::parse(text.trim()).filter(|_| text.trim().len() == 10)?;
    let (y, m, d) = t.local_date();
    Some(days_from_civil(y, m, d))
}

/// Reads one line of CSV (`client,date,system,code`) or JSON Lines.
fn read_row(
    line: &str,
    key: &polku_engine::pseudonym::PseudonymKey,
) -> Result<Option<Row>, String> {
    let line = line.trim();
    if line.is_empty() || line.starts_with("client,") {
        return Ok(None);
    }
    let (client, date, system, code) = if line.starts_with('{') {
        let v: serde_json::Value = serde_json::from_str(line).map_err(|e| {
            format!("not JSON: {}", polku_engine::pseudonym::redact_identity_codes(&e.to_string()))
        })?;
        let field = |name: &str| {
            v.get(name)
                .and_then(|f| f.as_str())
                .map(str::to_owned)
                .ok_or_else(|| format!("{name}: missing or not text"))
        };
        (field("client")?, field("date")?, field("system")?, field("code")?)
    } else {
        let parts: Vec<&str> = line.split(',').map(str::trim).collect();
        let [client, date, system, code] = parts[..] else {
            return Err(format!(
                "{} fields where 4 are expected: client,date,system,code",
                parts.len()
            ));
        };
        (client.to_owned(), date.to_owned(), system.to_owned(), code.to_owned())
    };
    let client = if looks_like_identity_code(&client) {
        pseudonymise(&client, key).map_err(|e| format!("client: {e}"))?.as_str().to_owned()
    } else if let Some(p) = Pseudonym::parse(&client) {
        p.as_str().to_owned()
    } else {
        return Err("client: neither a personal identity code nor a pseudonym".to_owned());
    };
    let day = day_of(&date).ok_or("date: not a date: write it as 2026-03-14")?;
    for (name, value) in [("system", &system), ("code", &code)] {
        if polku_engine::pseudonym::contains_identity_code(value) {
            return Err(format!("{name}: contains a personal identity code"));
        }
    }
    Ok(Some(Row { client, day, system, code }))
}

pub fn run(
    extract: &Path,
    date: &str,
    markers: Option<&str>,
    args: &StoreArgs,
    format: PlanFormat,
    lang: Lang,
) -> Result<ExitCode> {
    let Some(setup) = crate::track::setup(args, lang)? else { return Ok(ExitCode::from(1)) };
    let rules = match markers {
        Some(name) => setup.model.markers.get(name),
        None if setup.model.markers.len() == 1 => setup.model.markers.values().next(),
        None => None,
    };
    let Some(rules) = rules else {
        let names: Vec<&str> = setup.model.markers.keys().map(String::as_str).collect();
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
    let input: Box<dyn std::io::Read> = if extract == Path::new("-") {
        Box::new(std::io::stdin())
    } else {
        Box::new(std::fs::File::open(extract).with_context(|| extract.display().to_string())?)
    };
    let reader = std::io::BufReader::with_capacity(1 << 20, input);
    // Per client: the rows the rules count, as (day, condition).
    let mut clients: HashMap<String, Vec<(i64, u16)>> = HashMap::new();
    let (mut rows, mut refused, mut out_of_range) = (0u64, 0u64, 0u64);
    let since = day - rules.retention_days;
    for (number, line) in reader.split(b'\n').enumerate() {
        let line = line.with_context(|| extract.display().to_string())?;
        let Ok(line) = std::str::from_utf8(&line) else {
            refused += 1;
            eprintln!(
                "{}:{}: {}",
                extract.display(),
                number + 1,
                say(lang, "not UTF-8 text", "ei UTF-8-tekstiä")
            );
            continue;
        };
        match read_row(line, &setup.key) {
            Ok(None) => {}
            Ok(Some(row)) => {
                rows += 1;
                let counted = if row.day > day || row.day <= since {
                    out_of_range += 1;
                    Vec::new()
                } else {
                    rules.counted_by(&row.system, &row.code)
                };
                let entry = clients.entry(row.client).or_default();
                entry.extend(counted.into_iter().map(|c| (row.day, c)));
            }
            Err(reason) => {
                refused += 1;
                eprintln!("{}:{}: {reason}", extract.display(), number + 1);
            }
        }
    }
    let mut distribution: BTreeMap<String, u64> = BTreeMap::new();
    for rows in clients.values() {
        let (segment, _) = rules.propose(day, rows);
        *distribution.entry(segment.unwrap_or("–").to_owned()).or_default() += 1;
    }
    match format {
        PlanFormat::Json => {
            let value = serde_json::json!({
                "date": date.trim(),
                "markers": rules.name,
                "clients": clients.len(),
                "rows": rows,
                "rows_outside_window": out_of_range,
                "refused": refused,
                "distribution": distribution,
            });
            outln!("{}", serde_json::to_string_pretty(&value)?);
        }
        PlanFormat::Table => {
            outln!(
                "{} {} ({}): {} {}, {} {}, {} {}",
                say(lang, "Marker rules", "Merkkisäännöt"),
                rules.name,
                date.trim(),
                clients.len(),
                say(lang, "clients", "asiakasta"),
                rows,
                say(lang, "rows", "riviä"),
                refused,
                say(lang, "refused", "hylättyä")
            );
            for (segment, count) in &distribution {
                let share = 100.0 * *count as f64 / clients.len().max(1) as f64;
                outln!("  {segment:<16} {count:>9}  {share:5.1} %");
            }
        }
    }
    Ok(if refused > 0 { ExitCode::from(1) } else { ExitCode::SUCCESS })
}
