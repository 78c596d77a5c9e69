//! Reading an extract of the record systems' markers for [`MarkerRules`]: one row per line,
//! CSV (`client,date,system,code`) or JSON Lines with those fields, read as a stream.
//!
//! Each client keeps only a count per condition of the rows that fall in that condition's
//! window on the days asked for, so memory grows with the clients, not with the rows. A client
//! named by a personal identity code is pseudonymised at once; the code is kept only until the
//! next client's row.

use std::io::BufRead;

use polku_dsl::hash::FastMap;

use super::MarkerRules;
use crate::pseudonym::{
    contains_identity_code, looks_like_identity_code, pseudonymise, redact_identity_codes,
    Pseudonym, PseudonymKey,
};
use crate::time::{days_from_civil, Timestamp};

/// A client's pseudonym as its 32 bytes.
pub type ClientKey = [u8; 32];

/// One row of an extract, borrowed from its line.
struct Row<'a> {
    client: &'a str,
    day: i64,
    system: &'a str,
    code: &'a str,
}

/// A date `YYYY-MM-DD` as days since 1970, or `None` when it is not a day of the calendar.
pub fn day_of(text: &str) -> Option<i64> {
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

/// Reads one line of CSV (`client,date,system,code`) or JSON Lines; `None` for a blank line or
/// the CSV header.
/// Why a row of an extract is refused.
#[derive(Debug, thiserror::Error)]
enum RowProblem {
    #[error("not JSON: {0}")]
    NotJson(String),
    #[error("{0}: missing or not text")]
    Missing(&'static str),
    #[error("{0} fields where 4 are expected: client,date,system,code")]
    FieldCount(usize),
    #[error("date: not a date: write it as 2026-03-14")]
    Date,
    #[error("{0}: contains a personal identity code")]
    IdentityCodeIn(&'static str),
    #[error("client: {0}")]
    IdentityCode(crate::pseudonym::IdentityCodeError),
    #[error("client: neither a personal identity code nor a pseudonym")]
    NotAClient,
}

fn read_row<'a>(
    line: &'a str,
    json: &'a mut Option<serde_json::Value>,
) -> Result<Option<Row<'a>>, RowProblem> {
    let line = line.trim();
    if line.is_empty() || line.starts_with("client,") {
        return Ok(None);
    }
    let (client, date, system, code) = if line.starts_with('{') {
        let value: &serde_json::Value = json.insert(
            serde_json::from_str(line)
                .map_err(|e| RowProblem::NotJson(redact_identity_codes(&e.to_string())))?,
        );
        let field = |name: &'static str| {
            value.get(name).and_then(|f| f.as_str()).ok_or(RowProblem::Missing(name))
        };
        (field("client")?, field("date")?, field("system")?, field("code")?)
    } else {
        let mut parts = line.split(',').map(str::trim);
        let fields = [parts.next(), parts.next(), parts.next(), parts.next(), parts.next()];
        match fields {
            [Some(a), Some(b), Some(c), Some(d), None] => (a, b, c, d),
            _ => {
                return Err(RowProblem::FieldCount(line.split(',').count()));
            }
        }
    };
    let day = day_of(date).ok_or(RowProblem::Date)?;
    for (name, value) in [("system", system), ("code", code)] {
        if contains_identity_code(value) {
            return Err(RowProblem::IdentityCodeIn(name));
        }
    }
    Ok(Some(Row { client, day, system, code }))
}

/// The pseudonym of a row's client as 32 bytes; the last client is remembered, since an
/// extract usually lists one client's rows together.
struct Clients<'k> {
    key: &'k PseudonymKey,
    last: Option<(String, ClientKey)>,
}

impl Clients<'_> {
    fn pseudonym(&mut self, client: &str) -> Result<ClientKey, RowProblem> {
        if let Some((text, bytes)) = &self.last {
            if text == client {
                return Ok(*bytes);
            }
        }
        let pseudonym = if looks_like_identity_code(client) {
            pseudonymise(client, self.key).map_err(RowProblem::IdentityCode)?
        } else if let Some(p) = Pseudonym::parse(client) {
            p
        } else {
            return Err(RowProblem::NotAClient);
        };
        let bytes = client_key(&pseudonym);
        self.last = Some((client.to_owned(), bytes));
        Ok(bytes)
    }
}

/// A pseudonym's 32 bytes.
pub fn client_key(pseudonym: &Pseudonym) -> ClientKey {
    let mut bytes = [0u8; 32];
    let hex = pseudonym.as_str().as_bytes();
    for (i, byte) in bytes.iter_mut().enumerate() {
        let digit = |c: u8| (c as char).to_digit(16).unwrap_or(0) as u8;
        *byte = digit(hex[2 * i]) << 4 | digit(hex[2 * i + 1]);
    }
    bytes
}

/// A row the reader refused: its line (from 1) and why. The reason never holds a personal
/// identity code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    pub line: usize,
    pub reason: String,
}

/// What an extract held, as the rules count it on each of the days asked for.
#[derive(Debug)]
pub struct Counts<'r> {
    pub rules: &'r MarkerRules,
    /// The days asked for, in the order given.
    pub days: Vec<i64>,
    /// The number of conditions (at most 64).
    pub conditions: usize,
    /// Per client: for each day in turn, how many rows counted for each condition.
    pub clients: FastMap<ClientKey, Box<[u32]>>,
    /// Rows read and accepted.
    pub rows: u64,
    /// Accepted rows that are after the last day or older than the retention time.
    pub outside_window: u64,
    pub refused: u64,
}

impl Counts<'_> {
    /// The segment the rules propose for a client's counts on the `k`th day asked for.
    pub fn proposal<'s>(&'s self, counts: &[u32], k: usize) -> Option<&'s str> {
        let at = k * self.conditions;
        self.rules.propose_counts(&counts[at..at + self.conditions]).0
    }
}

/// Reads an extract from `reader` and counts its rows for `days`; `refused` is told of every
/// refused row (which is skipped), and `progress` of the bytes read so far, now and then.
pub fn count<'r>(
    mut reader: impl BufRead,
    rules: &'r MarkerRules,
    days: &[i64],
    key: &PseudonymKey,
    refused: &mut dyn FnMut(Refused),
    progress: &mut dyn FnMut(u64),
) -> std::io::Result<Counts<'r>> {
    let conditions = rules.conditions().count().min(64);
    let last_day = days.iter().copied().max().unwrap_or(0);
    let since = days.iter().copied().min().unwrap_or(0) - rules.retention_days;
    let mut out = Counts {
        rules,
        days: days.to_vec(),
        conditions,
        clients: FastMap::default(),
        rows: 0,
        outside_window: 0,
        refused: 0,
    };
    let mut names = Clients { key, last: None };
    let mut json = None;
    let mut line = Vec::new();
    let (mut number, mut bytes) = (0usize, 0u64);
    loop {
        line.clear();
        let n = reader.read_until(b'\n', &mut line)?;
        if n == 0 {
            break;
        }
        number += 1;
        bytes += n as u64;
        if number % 65_536 == 0 {
            progress(bytes);
        }
        let mut refuse = |reason: String| {
            out.refused += 1;
            refused(Refused { line: number, reason });
        };
        let Ok(text) = std::str::from_utf8(&line) else {
            refuse("not UTF-8 text".to_owned());
            continue;
        };
        let row = match read_row(text, &mut json) {
            Ok(None) => continue,
            Ok(Some(row)) => row,
            Err(problem) => {
                refuse(problem.to_string());
                continue;
            }
        };
        let client = match names.pseudonym(row.client) {
            Ok(client) => client,
            Err(problem) => {
                refuse(problem.to_string());
                continue;
            }
        };
        out.rows += 1;
        if row.day > last_day || row.day <= since {
            out.outside_window += 1;
        }
        let entry = out
            .clients
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
    progress(bytes);
    Ok(out)
}
