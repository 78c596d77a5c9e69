//! `polku segment-daily`: the segment each client's markers propose on a day, from an extract
//! of the record systems, and the distribution over the segments.
//!
//! The extract is read as a stream, one row at a time; each client keeps only a count per
//! condition of the rows that fall in that condition's window on the day, so memory grows with
//! the clients, not with the rows.

use std::collections::BTreeMap;
use std::io::BufRead as _;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use polku_dsl::Lang;
use polku_engine::pseudonym::{looks_like_identity_code, pseudonymise, Pseudonym};
use polku_engine::time::{days_from_civil, Timestamp};

use crate::track::StoreArgs;
use crate::{say, PlanFormat};

/// One row of an extract, borrowed from its line.
struct Row<'a> {
    client: &'a str,
    day: i64,
    system: &'a str,
    code: &'a str,
}

/// A date `YYYY-MM-DD` as days since 1970.
fn day_of(text: &str) -> Option<i64> {
    let b = text.trim().as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let number = |r: std::ops::Range<usize>| -> Option<u32> {
        b[r].iter().try_fold(0u32, |n, c| c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0')))
    };
    let (y, m, d) = (number(0..4)?, number(5..7)?, number(8..10)?);
    // The calendar decides whether the day exists (30 February does not).
    Timestamp::parse(text.trim())?;
    Some(days_from_civil(i64::from(y), m, d))
}

/// Reads one line of CSV (`client,date,system,code`) or JSON Lines.
fn read_row<'a>(
    line: &'a str,
    json: &'a mut Option<serde_json::Value>,
) -> Result<Option<Row<'a>>, String> {
    let line = line.trim();
    if line.is_empty() || line.starts_with("client,") {
        return Ok(None);
    }
    let (client, date, system, code) = if line.starts_with('{') {
        let value: &serde_json::Value = json.insert(serde_json::from_str(line).map_err(|e| {
            format!("not JSON: {}", polku_engine::pseudonym::redact_identity_codes(&e.to_string()))
        })?);
        let field = |name: &'static str| {
            value
                .get(name)
                .and_then(|f| f.as_str())
                .ok_or_else(|| format!("{name}: missing or not text"))
        };
        (field("client")?, field("date")?, field("system")?, field("code")?)
    } else {
        let mut parts = line.split(',').map(str::trim);
        let fields = [parts.next(), parts.next(), parts.next(), parts.next(), parts.next()];
        match fields {
            [Some(a), Some(b), Some(c), Some(d), None] => (a, b, c, d),
            _ => {
                let count = line.split(',').count();
                return Err(format!(
                    "{count} fields where 4 are expected: client,date,system,code"
                ));
            }
        }
    };
    let day = day_of(date).ok_or("date: not a date: write it as 2026-03-14")?;
    for (name, value) in [("system", system), ("code", code)] {
        if polku_engine::pseudonym::contains_identity_code(value) {
            return Err(format!("{name}: contains a personal identity code"));
        }
    }
    Ok(Some(Row { client, day, system, code }))
}

/// The pseudonym of a row's client as 32 bytes; the last client is remembered, since an
/// extract usually lists one client's rows together (the identity code is kept only until the
/// next client's row).
struct Clients<'k> {
    key: &'k polku_engine::pseudonym::PseudonymKey,
    last: Option<(String, [u8; 32])>,
}

impl Clients<'_> {
    fn pseudonym(&mut self, client: &str) -> Result<[u8; 32], String> {
        if let Some((text, bytes)) = &self.last {
            if text == client {
                return Ok(*bytes);
            }
        }
        let pseudonym = if looks_like_identity_code(client) {
            pseudonymise(client, self.key).map_err(|e| format!("client: {e}"))?
        } else if let Some(p) = Pseudonym::parse(client) {
            p
        } else {
            return Err("client: neither a personal identity code nor a pseudonym".to_owned());
        };
        let mut bytes = [0u8; 32];
        let hex = pseudonym.as_str().as_bytes();
        for (i, byte) in bytes.iter_mut().enumerate() {
            let digit = |c: u8| (c as char).to_digit(16).unwrap_or(0) as u8;
            *byte = digit(hex[2 * i]) << 4 | digit(hex[2 * i + 1]);
        }
        self.last = Some((client.to_owned(), bytes));
        Ok(bytes)
    }
}

pub fn run(
    extract: &Path,
    date: &str,
    from: Option<&str>,
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
    let input: Box<dyn std::io::Read> = if extract == Path::new("-") {
        Box::new(std::io::stdin())
    } else {
        Box::new(std::fs::File::open(extract).with_context(|| extract.display().to_string())?)
    };
    let reader = std::io::BufReader::with_capacity(1 << 20, input);
    // Per client (by pseudonym): how many rows counted for each condition on the day. That is
    // the whole state: it does not grow with the rows.
    let conditions = rules.conditions().count().min(64);
    let days: Vec<i64> = earlier.into_iter().chain(std::iter::once(day)).collect();
    let mut clients: polku_dsl::hash::FastMap<[u8; 32], Box<[u32]>> =
        polku_dsl::hash::FastMap::default();
    let mut names = Clients { key: &setup.key, last: None };
    let (mut rows, mut refused, mut out_of_range) = (0u64, 0u64, 0u64);
    let since = day - rules.retention_days;
    let mut json = None;
    let mut reader = reader;
    let mut line = Vec::new();
    let mut number = 0usize;
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line).with_context(|| extract.display().to_string())? == 0
        {
            break;
        }
        number += 1;
        let Ok(text) = std::str::from_utf8(&line) else {
            refused += 1;
            eprintln!(
                "{}:{number}: {}",
                extract.display(),
                say(lang, "not UTF-8 text", "ei UTF-8-tekstiä")
            );
            continue;
        };
        let row = match read_row(text, &mut json) {
            Ok(None) => continue,
            Ok(Some(row)) => row,
            Err(reason) => {
                refused += 1;
                eprintln!("{}:{number}: {reason}", extract.display());
                continue;
            }
        };
        let client = match names.pseudonym(row.client) {
            Ok(client) => client,
            Err(reason) => {
                refused += 1;
                eprintln!("{}:{number}: {reason}", extract.display());
                continue;
            }
        };
        rows += 1;
        if row.day > day || row.day <= since {
            out_of_range += 1;
        }
        let entry = clients
            .entry(client)
            .or_insert_with(|| vec![0; conditions * days.len()].into_boxed_slice());
        for (k, &on) in days.iter().enumerate() {
            let mut bits = rules.counted_on(row.system, row.code, row.day, on);
            while bits != 0 {
                let slot = &mut entry[k * conditions + bits.trailing_zeros() as usize];
                *slot = slot.saturating_add(1);
                bits &= bits - 1;
            }
        }
    }
    let mut distribution: BTreeMap<String, u64> = BTreeMap::new();
    let mut moves: BTreeMap<(String, String), u64> = BTreeMap::new();
    for counts in clients.values() {
        let now = &counts[(days.len() - 1) * conditions..];
        let (segment, _) = rules.propose_counts(now);
        let segment = segment.unwrap_or("–");
        *distribution.entry(segment.to_owned()).or_default() += 1;
        if earlier.is_some() {
            let before = rules.propose_counts(&counts[..conditions]).0.unwrap_or("–");
            if before != segment {
                *moves.entry((before.to_owned(), segment.to_owned())).or_default() += 1;
            }
        }
    }
    let transitions: Vec<serde_json::Value> = moves
        .iter()
        .map(|((from, to), n)| serde_json::json!({"from": from, "to": to, "clients": n, "source": "markers"}))
        .collect();
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
            if let Some(from) = from {
                outln!(
                    "{} {} → {} ({}):",
                    say(lang, "Moved between", "Siirtyneet välillä"),
                    from.trim(),
                    date.trim(),
                    say(lang, "source: marker rules", "lähde: merkkisäännöt")
                );
                for ((a, b), n) in &moves {
                    outln!("  {a} → {b}  {n}");
                }
            }
        }
    }
    Ok(if refused > 0 { ExitCode::from(1) } else { ExitCode::SUCCESS })
}
