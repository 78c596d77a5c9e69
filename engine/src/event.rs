//! The events that tell what happened to a client's case, and the JSON Lines form they arrive
//! in (`polku ingest` reads it).
//!
//! One event per line:
//!
//! ```json
//! {"id":"e-1","type":"case_opened","case":"c-1","occurred":"2026-01-05T09:00:00+02:00",
//!  "recorded":"2026-01-05T09:01:00+02:00","role":"terveydenhoitaja","client":"131052-308T",
//!  "process":"kth_laaja_5lk","unit":"kouluterveydenhuolto","segment":"tuki"}
//! ```
//!
//! Every event carries the sender's id (a repeat is acknowledged, not applied twice), when it
//! happened, when it was recorded, and the acting role. The `client` of a `case_opened` event is
//! a pseudonym or a personal identity code; a code is validated and pseudonymised while the line
//! is read, and neither it nor the line is ever repeated in an error. A line with a personal
//! identity code in any other field, in any form a person types, is refused.
//!
//! [`parse_bytes`] reads what a file or standard input holds, byte for byte: a line that is not
//! UTF-8 is refused with its number (never stored with characters replaced), a byte-order mark
//! at the start is skipped, and lines that are possible but suspect (a year such as 0001, a
//! `recorded` before `occurred`) are kept with a [`LineWarning`]. [`parse_numbered_lines`] is
//! the same for text already decoded.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::pseudonym::{
    contains_identity_code, looks_like_identity_code, pseudonymise, redact_identity_codes,
    Pseudonym, PseudonymKey,
};
use crate::time::{TimeError, Timestamp};
use polku_dsl::{Bilingual, Lang};

/// What happened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum EventKind {
    /// A client's enrolment in a level-3 process, in one unit, with a segment.
    CaseOpened {
        client: String,
        process: String,
        unit: String,
        segment: String,
        /// The client's date of birth (`YYYY-MM-DD`), only where the plan has age deadlines
        /// (`määräaika ikä 4 v`). It is never read out of a personal identity code.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        born: Option<String>,
        /// The expected due date (`YYYY-MM-DD`), where the plan has deadlines by pregnancy week
        /// (`rv 12`): the pregnancy started 40 weeks before it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        due: Option<String>,
        /// Or the start of the pregnancy (`YYYY-MM-DD`, the first day of the last menstrual
        /// period), instead of `due`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pregnancy_start: Option<String>,
        /// What is known of the case on opening: each a fact the model declares (`tieto`),
        /// `true` or `false`, or a whole number for a number fact.
        #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
        facts: std::collections::BTreeMap<String, FactValue>,
    },
    StepStarted {
        step: String,
    },
    StepCompleted {
        step: String,
    },
    StepCancelled {
        step: String,
        reason: String,
    },
    /// A planned step turned out not to be needed. For a statutory step a reason code (such as
    /// `client_declined`) is required as well.
    StepNotNeeded {
        step: String,
        reason: String,
        #[serde(default)]
        reason_code: Option<String>,
    },
    PhaseCompleted {
        phase: String,
    },
    SegmentAssessed {
        segment: String,
        by: String,
        #[serde(default)]
        reason: Option<String>,
        /// The values on the assessment's axes (an assessment form's: need for help and
        /// resources), by axis; what the form's answers leave behind besides the segment.
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        axes: BTreeMap<String, String>,
    },
    SegmentChanged {
        from: String,
        to: String,
        reason: String,
        by: String,
    },
    ReferralSent {
        referral: String,
        to_process: String,
    },
    ReferralAccepted {
        referral: String,
    },
    ReferralDeclined {
        referral: String,
        reason: String,
    },
    CaseClosed {
        reason: String,
    },
    /// A fact of the case became known or changed (a sibling was born, a language need was
    /// found): from now on the plan follows it.
    FactRecorded {
        fact: String,
        value: FactValue,
    },
    /// The case moved to another model version (`polku migrate`): from then on its whole
    /// history is read under that version's process. Both are model versions' content hashes;
    /// moving back is a migration the other way.
    CaseMigrated {
        from: String,
        to: String,
    },
}

/// The value of a fact: yes or no, or a whole number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FactValue {
    Flag(bool),
    Number(u32),
}

impl FactValue {
    /// The largest number a fact may have.
    pub const MAX: u32 = 99;

    /// As the runtime keeps it: no and yes as 0 and 1.
    pub fn as_number(self) -> u32 {
        match self {
            FactValue::Flag(b) => u32::from(b),
            FactValue::Number(n) => n,
        }
    }

    /// As written in JSON: `true`, `false` or the number.
    pub fn text(self) -> String {
        match self {
            FactValue::Flag(b) => b.to_string(),
            FactValue::Number(n) => n.to_string(),
        }
    }
}

impl Serialize for FactValue {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            FactValue::Flag(b) => serializer.serialize_bool(*b),
            FactValue::Number(n) => serializer.serialize_u32(*n),
        }
    }
}

impl<'de> Deserialize<'de> for FactValue {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = FactValue;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                write!(f, "true, false or a whole number from 0 to {}", FactValue::MAX)
            }
            fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<FactValue, E> {
                Ok(FactValue::Flag(v))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<FactValue, E> {
                match u32::try_from(v) {
                    Ok(n) if n <= FactValue::MAX => Ok(FactValue::Number(n)),
                    _ => Err(E::custom(format_args!(
                        "{v} is more than {}: a fact's number is at most that",
                        FactValue::MAX
                    ))),
                }
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<FactValue, E> {
                match u64::try_from(v) {
                    Ok(v) => self.visit_u64(v),
                    Err(_) => Err(E::custom("a fact's number cannot be negative")),
                }
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

impl schemars::JsonSchema for FactValue {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "FactValue".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "true or false for a yes-or-no fact, a whole number for a number fact",
            "oneOf": [
                { "type": "boolean" },
                { "type": "integer", "minimum": 0, "maximum": FactValue::MAX }
            ]
        })
    }
}

/// One event as sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    pub id: String,
    pub case: String,
    #[serde(with = "timestamp")]
    pub occurred: Timestamp,
    #[serde(with = "timestamp")]
    pub recorded: Timestamp,
    pub role: String,
    #[serde(flatten)]
    pub kind: EventKind,
}

/// An event as JSON: the same text as serde's (`serde_json::to_string(event)`, fields in the
/// same order), written directly into room made for a usual event. The store writes every
/// event this way, by the hundred thousand.
pub fn to_json(event: &Event) -> String {
    let mut out = Json(String::with_capacity(256));
    out.0.push('{');
    out.text("id", &event.id);
    out.text("case", &event.case);
    out.time("occurred", event.occurred);
    out.time("recorded", event.recorded);
    out.text("role", &event.role);
    out.text("type", event.kind.name());
    match &event.kind {
        EventKind::CaseOpened {
            client,
            process,
            unit,
            segment,
            born,
            due,
            pregnancy_start,
            facts,
        } => {
            out.text("client", client);
            out.text("process", process);
            out.text("unit", unit);
            out.text("segment", segment);
            for (field, date) in
                [("born", born), ("due", due), ("pregnancy_start", pregnancy_start)]
            {
                if let Some(date) = date {
                    out.text(field, date);
                }
            }
            if !facts.is_empty() {
                out.key("facts");
                out.0.push('{');
                for (i, (fact, value)) in facts.iter().enumerate() {
                    if i > 0 {
                        out.0.push(',');
                    }
                    out.string(fact);
                    out.0.push(':');
                    out.0.push_str(&value.text());
                }
                out.0.push('}');
            }
        }
        EventKind::StepStarted { step } | EventKind::StepCompleted { step } => {
            out.text("step", step)
        }
        EventKind::StepCancelled { step, reason } => {
            out.text("step", step);
            out.text("reason", reason);
        }
        EventKind::StepNotNeeded { step, reason, reason_code } => {
            out.text("step", step);
            out.text("reason", reason);
            out.optional("reason_code", reason_code);
        }
        EventKind::PhaseCompleted { phase } => out.text("phase", phase),
        EventKind::SegmentAssessed { segment, by, reason, axes } => {
            out.text("segment", segment);
            out.text("by", by);
            out.optional("reason", reason);
            if !axes.is_empty() {
                out.key("axes");
                out.0.push('{');
                for (i, (axis, value)) in axes.iter().enumerate() {
                    if i > 0 {
                        out.0.push(',');
                    }
                    out.string(axis);
                    out.0.push(':');
                    out.string(value);
                }
                out.0.push('}');
            }
        }
        EventKind::SegmentChanged { from, to, reason, by } => {
            out.text("from", from);
            out.text("to", to);
            out.text("reason", reason);
            out.text("by", by);
        }
        EventKind::ReferralSent { referral, to_process } => {
            out.text("referral", referral);
            out.text("to_process", to_process);
        }
        EventKind::ReferralAccepted { referral } => out.text("referral", referral),
        EventKind::ReferralDeclined { referral, reason } => {
            out.text("referral", referral);
            out.text("reason", reason);
        }
        EventKind::CaseClosed { reason } => out.text("reason", reason),
        EventKind::FactRecorded { fact, value } => {
            out.key("fact");
            out.string(fact);
            out.key("value");
            out.0.push_str(&value.text());
        }
        EventKind::CaseMigrated { from, to } => {
            out.text("from", from);
            out.text("to", to);
        }
    }
    out.0.push('}');
    out.0
}

/// JSON written piece by piece into one string, escaped as serde_json escapes.
struct Json(String);

impl Json {
    /// `,"key":` (no comma after the opening brace).
    fn key(&mut self, key: &str) {
        if !self.0.ends_with('{') {
            self.0.push(',');
        }
        self.0.push('"');
        self.0.push_str(key);
        self.0.push_str("\":");
    }

    fn text(&mut self, key: &str, value: &str) {
        self.key(key);
        self.string(value);
    }

    fn optional(&mut self, key: &str, value: &Option<String>) {
        self.key(key);
        match value {
            Some(value) => self.string(value),
            None => self.0.push_str("null"),
        }
    }

    fn time(&mut self, key: &str, value: Timestamp) {
        match value.write_iso(&mut [0; 20]) {
            Some(text) => self.text(key, text),
            None => self.text(key, &value.to_string()),
        }
    }

    /// A string with its quotes. Text with nothing to escape (nearly all) is copied whole;
    /// the rest is left to serde_json, whose escaping this must match.
    fn string(&mut self, value: &str) {
        if value.bytes().any(|b| b < 0x20 || b == b'"' || b == b'\\') {
            // Writing a string to a string does not fail.
            if let Ok(escaped) = serde_json::to_string(value) {
                self.0.push_str(&escaped);
            }
            return;
        }
        self.0.push('"');
        self.0.push_str(value);
        self.0.push('"');
    }
}

mod timestamp {
    use serde::{Deserialize, Deserializer, Serializer};

    use crate::time::Timestamp;

    pub fn serialize<S: Serializer>(value: &Timestamp, serializer: S) -> Result<S::Ok, S::Error> {
        match value.write_iso(&mut [0; 20]) {
            Some(text) => serializer.serialize_str(text),
            None => serializer.collect_str(value),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Timestamp, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse::<Timestamp>().map_err(serde::de::Error::custom)
    }
}

/// The value of `type` in each kind of event, in the order of [`EventKind`].
pub const EVENT_KINDS: [&str; 14] = [
    "case_opened",
    "step_started",
    "step_completed",
    "step_cancelled",
    "step_not_needed",
    "phase_completed",
    "segment_assessed",
    "segment_changed",
    "referral_sent",
    "referral_accepted",
    "referral_declined",
    "case_closed",
    "fact_recorded",
    "case_migrated",
];

impl EventKind {
    /// The value of `type` for this kind (one of [`EVENT_KINDS`]).
    pub fn name(&self) -> &'static str {
        EVENT_KINDS[match self {
            EventKind::CaseOpened { .. } => 0,
            EventKind::StepStarted { .. } => 1,
            EventKind::StepCompleted { .. } => 2,
            EventKind::StepCancelled { .. } => 3,
            EventKind::StepNotNeeded { .. } => 4,
            EventKind::PhaseCompleted { .. } => 5,
            EventKind::SegmentAssessed { .. } => 6,
            EventKind::SegmentChanged { .. } => 7,
            EventKind::ReferralSent { .. } => 8,
            EventKind::ReferralAccepted { .. } => 9,
            EventKind::ReferralDeclined { .. } => 10,
            EventKind::CaseClosed { .. } => 11,
            EventKind::FactRecorded { .. } => 12,
            EventKind::CaseMigrated { .. } => 13,
        }]
    }
}

/// Why one line of an event file was not accepted: the field at fault first, in both
/// languages (the API answers in English).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {}", reason.en)]
pub struct LineError {
    /// 1-based.
    pub line: usize,
    pub reason: Bilingual,
}

/// What the reader judges suspect without refusing it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadOptions {
    /// Times, and dates of birth, whose year (in Finnish time) is before this are warned
    /// about: such a year is more likely a slip of the keyboard or of a conversion than a
    /// time. 1900 by default.
    pub earliest_year: i64,
    /// The same for years after this one; 2100 by default.
    pub latest_year: i64,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions { earliest_year: 1900, latest_year: 2100 }
    }
}

/// Something possible but suspect in an accepted line. The event is kept; the sender is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Warning {
    /// A time whose year is outside the plausible years of [`ReadOptions`].
    Implausible { field: &'static str, year: i64, earliest: i64, latest: i64 },
    /// `recorded` is earlier than `occurred`.
    RecordedBeforeOccurred,
}

impl Warning {
    /// The warning in `lang`, the field first.
    pub fn say(&self, lang: Lang) -> String {
        match (self, lang) {
            (Warning::Implausible { field, year, earliest, latest }, Lang::En) => format!(
                "{field}: the year {year:04} is outside the plausible years {earliest}–{latest}"
            ),
            (Warning::Implausible { field, year, earliest, latest }, Lang::Fi) => format!(
                "{field}: vuosi {year:04} on uskottavien vuosien {earliest}–{latest} ulkopuolella"
            ),
            (Warning::RecordedBeforeOccurred, Lang::En) => {
                "recorded: earlier than occurred; the event is kept as it is".to_owned()
            }
            (Warning::RecordedBeforeOccurred, Lang::Fi) => {
                "recorded: aiempi kuin occurred; tapahtuma pidetään sellaisenaan".to_owned()
            }
        }
    }
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.say(Lang::En))
    }
}

/// A [`Warning`] and the line it is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineWarning {
    /// 1-based.
    pub line: usize,
    pub warning: Warning,
}

/// What [`parse_bytes`] read: the accepted events with their line numbers, the refused lines,
/// and the warnings about accepted ones, each in line order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReadLines {
    pub events: Vec<(usize, Event)>,
    pub errors: Vec<LineError>,
    pub warnings: Vec<LineWarning>,
}

/// Reads events, one JSON object per line. Good lines are kept; every bad line is reported by
/// number and reason. Blank lines are skipped. The `client` of each opened case comes back as a
/// pseudonym.
pub fn parse_lines(text: &str, key: &PseudonymKey) -> (Vec<Event>, Vec<LineError>) {
    let (events, errors) = parse_numbered_lines(text, key);
    (events.into_iter().map(|(_, e)| e).collect(), errors)
}

/// As [`parse_lines`], with each event's line number (1-based). Warnings are not returned:
/// [`parse_bytes`] has them.
pub fn parse_numbered_lines(
    text: &str,
    key: &PseudonymKey,
) -> (Vec<(usize, Event)>, Vec<LineError>) {
    let read = parse_bytes(text.as_bytes(), key, &ReadOptions::default());
    (read.events, read.errors)
}

/// Reads events from bytes as a file or standard input holds them, one JSON object per line.
/// The lines are those of [`split_lines`]; each is read by [`parse_line`].
pub fn parse_bytes(bytes: &[u8], key: &PseudonymKey, options: &ReadOptions) -> ReadLines {
    let mut read = ReadLines::default();
    for (number, line) in split_lines(bytes) {
        match parse_line(number, line, key, options) {
            Ok(Some((event, warnings))) => {
                read.events.push((number, event));
                read.warnings.extend(warnings);
            }
            Ok(None) => {}
            Err(error) => read.errors.push(error),
        }
    }
    read
}

/// The lines of an event file with their numbers (1-based): split at `\n`, without the `\r`
/// before it, and without a UTF-8 byte-order mark at the start of the first. The text of an
/// accepted line is exactly what was read, so a caller that keeps the line as sent takes it
/// from here.
pub fn split_lines(bytes: &[u8]) -> impl Iterator<Item = (usize, &[u8])> {
    let bytes = bytes.strip_prefix(BYTE_ORDER_MARK).unwrap_or(bytes);
    // A final line break ends the last line rather than starting an empty one (as
    // `str::lines` has it).
    let mut lines = (!bytes.is_empty())
        .then(|| bytes.strip_suffix(b"\n").unwrap_or(bytes).split(|&b| b == b'\n'));
    std::iter::from_fn(move || lines.as_mut()?.next())
        .map(|line| line.strip_suffix(b"\r").unwrap_or(line))
        .enumerate()
        .map(|(index, line)| (index + 1, line))
}

const BYTE_ORDER_MARK: &[u8] = b"\xef\xbb\xbf";

/// Reads one line (numbered `number`) as [`split_lines`] gives it: `Ok(None)` when it is
/// blank, the event with any warnings about it, or why the line is refused.
pub fn parse_line(
    number: usize,
    line: &[u8],
    key: &PseudonymKey,
    options: &ReadOptions,
) -> Result<Option<(Event, Vec<LineWarning>)>, LineError> {
    let refuse = |reason: Bilingual| LineError { line: number, reason };
    let text = std::str::from_utf8(line).map_err(|e| {
        let byte = e.valid_up_to() + 1;
        refuse(Bilingual::new(
            format!("not UTF-8 text: byte {byte} of the line is not part of a UTF-8 character; save the file as UTF-8 (the line is not stored)"),
            format!("ei UTF-8-tekstiä: rivin tavu {byte} ei kuulu mihinkään UTF-8-merkkiin; tallenna tiedosto UTF-8-muodossa (riviä ei tallennettu)"),
        ))
    })?;
    if text.trim().is_empty() {
        return Ok(None);
    }
    let event = parse_event(text, key).map_err(refuse)?;
    let warnings =
        warnings(&event, options).into_iter().map(|warning| LineWarning { line: number, warning });
    Ok(Some((event, warnings.collect())))
}

fn parse_event(line: &str, key: &PseudonymKey) -> Result<Event, Bilingual> {
    let mut event: Event = serde_json::from_str(line).map_err(|e| explain(line, &e))?;
    if !type_is_text(line) {
        return Err(unknown_kind(None));
    }
    if let EventKind::CaseOpened { client, .. } = &mut event.kind {
        let pseudonym = if looks_like_identity_code(client) {
            pseudonymise(client, key).map_err(|e| {
                Bilingual::new(
                    format!("client: {}", e.say(Lang::En)),
                    format!("client: {}", e.say(Lang::Fi)),
                )
            })?
        } else if let Some(pseudonym) = Pseudonym::parse(client.trim()) {
            // A pseudonym is checked first: now and then its hexadecimal digits hold
            // something shaped like a code by chance.
            pseudonym
        } else if contains_identity_code(client) {
            return Err(Bilingual::new(
                "client: write the personal identity code alone and whole, as DDMMYYCNNNQ with its century sign",
                "client: kirjoita henkilötunnus yksinään ja kokonaisena, muodossa PPKKVVYNNNT välimerkkeineen",
            ));
        } else {
            return Err(Bilingual::new(
                "client: neither a personal identity code nor a pseudonym (64 hexadecimal characters)",
                "client: ei henkilötunnus eikä pseudonyymi (64 heksadesimaalimerkkiä)",
            ));
        };
        *client = pseudonym.as_str().to_owned();
    }
    if let EventKind::CaseOpened { born, due, pregnancy_start, .. } = &event.kind {
        let dates = [("born", born), ("due", due), ("pregnancy_start", pregnancy_start)];
        for (field, date) in dates {
            let Some(date) = date else { continue };
            if date.len() != 10 || Timestamp::parse(date).is_none() {
                return Err(Bilingual::new(
                    format!("{field}: not a date: write it as 2027-03-14"),
                    format!("{field}: ei päivämäärä: kirjoita se muodossa 2027-03-14"),
                ));
            }
        }
        if due.is_some() && pregnancy_start.is_some() {
            return Err(Bilingual::new(
                "pregnancy_start: give either `due` or `pregnancy_start`, not both",
                "pregnancy_start: anna joko `due` tai `pregnancy_start`, ei molempia",
            ));
        }
    }
    for (field, value) in [("id", &event.id), ("case", &event.case), ("role", &event.role)] {
        if value.trim().is_empty() {
            return Err(Bilingual::new(
                format!("{field}: must not be empty"),
                format!("{field}: ei saa olla tyhjä"),
            ));
        }
    }
    // A personal identity code is accepted only as the client of an opened case, where it is
    // pseudonymised; anywhere else it would be stored as it is.
    // (The client of an opened case is a pseudonym by now.)
    for (field, value) in event.texts() {
        if field != "client" && contains_identity_code(value) {
            return Err(Bilingual::new(
                format!("{field}: contains a personal identity code (or text shaped like one); name the client only in `client` of case_opened"),
                format!("{field}: sisältää henkilötunnuksen (tai sen muotoista tekstiä); nimeä asiakas vain case_opened-tapahtuman kentässä `client`"),
            ));
        }
    }
    Ok(event)
}

/// The warnings about an event that was accepted.
fn warnings(event: &Event, options: &ReadOptions) -> Vec<Warning> {
    let date = |d: &Option<String>| d.as_deref().and_then(Timestamp::parse);
    let (born, due, start) = match &event.kind {
        EventKind::CaseOpened { born, due, pregnancy_start, .. } => {
            (date(born), date(due), date(pregnancy_start))
        }
        _ => (None, None, None),
    };
    let times = [
        ("occurred", Some(event.occurred)),
        ("recorded", Some(event.recorded)),
        ("born", born),
        ("due", due),
        ("pregnancy_start", start),
    ];
    let mut out: Vec<Warning> = times
        .into_iter()
        .filter_map(|(field, time)| {
            let year = time?.local_date().0;
            let (earliest, latest) = (options.earliest_year, options.latest_year);
            (year < earliest || year > latest).then_some(Warning::Implausible {
                field,
                year,
                earliest,
                latest,
            })
        })
        .collect();
    if event.recorded < event.occurred {
        out.push(Warning::RecordedBeforeOccurred);
    }
    out
}

/// Why a line that serde refused was refused, naming the field at fault. serde's message may
/// quote what was sent (an unknown type, a value of the wrong type), so anything shaped like an
/// identity code is cut out.
fn explain(line: &str, e: &serde_json::Error) -> Bilingual {
    let message = e.to_string();
    let message = redact_identity_codes(message.split(" at line ").next().unwrap_or(&message));
    // serde's words, and those of the time and fact readers it quotes, in Finnish.
    let said = |text: &str| Bilingual::new(text, serde_in_finnish(text));
    let column =
        Bilingual::new(format!(" (column {})", e.column()), format!(" (sarake {})", e.column()));
    if e.classify() != serde_json::error::Category::Data {
        if line.starts_with('\u{feff}') {
            return Bilingual::new(
                "begins with a byte-order mark (U+FEFF), which is skipped only at the start of the text: were files joined?",
                "alkaa tavujärjestysmerkillä (U+FEFF), joka ohitetaan vain tekstin alussa: onko tiedostoja yhdistetty?",
            );
        }
        let m = said(&message);
        return Bilingual::new(
            format!("not a JSON object on one line: {}{}", m.en, column.en),
            format!("ei JSON-olio yhdellä rivillä: {}{}", m.fi, column.fi),
        );
    }
    // The line is JSON: read it again as a plain value to see which field is at fault. (Only
    // refused lines pay for this.)
    let object = match serde_json::from_str::<serde_json::Value>(line) {
        Ok(serde_json::Value::Object(object)) => Some(object),
        _ => None,
    };
    let field_said = |field: &str| {
        let m = said(&message);
        Bilingual::new(format!("{field}: {}", m.en), format!("{field}: {}", m.fi))
    };
    if let Some(object) = &object {
        // The kind decides which fields are expected, so with a wrong kind serde complains
        // about another field (`step: unknown variant …`, or `unknown field` when the kind is a
        // number): name `type` instead.
        match object.get("type") {
            None => {
                let kinds = kinds_list();
                return Bilingual::new(
                    format!("type: missing; {}", kinds.en),
                    format!("type: puuttuu; {}", kinds.fi),
                );
            }
            Some(serde_json::Value::String(kind)) if !EVENT_KINDS.contains(&kind.as_str()) => {
                return unknown_kind(Some(kind));
            }
            Some(serde_json::Value::String(_)) => {}
            Some(_) => return unknown_kind(None),
        }
        // A fact's value: name the fact, inside `facts` of an opening.
        let about_fact = ["true, false or a whole number", "a fact's number"]
            .iter()
            .any(|m| message.contains(m));
        if about_fact && object.contains_key("facts") {
            let name = field_before(line, e.column()).unwrap_or_default();
            let field = if name.is_empty() { "facts".to_owned() } else { format!("facts.{name}") };
            let reason = field_said(&field);
            return Bilingual::new(
                redact_identity_codes(&reason.en),
                redact_identity_codes(&reason.fi),
            );
        }
        // A field of the kind is read after the whole object, so serde's column is the
        // object's end; every field is text, so the one at fault is the one that is not.
        if let Some(found) = message.strip_prefix("invalid type: ") {
            if let Some(field) = field_of_wrong_type(object, found) {
                return field_said(field);
            }
        }
    }
    let named = ["missing field", "unknown field"].iter().any(|p| message.starts_with(p));
    let m = said(&message);
    let reason = match field_before(line, e.column()).filter(|_| !named) {
        Some(field) => Bilingual::new(
            format!("{field}: {}{}", m.en, column.en),
            format!("{field}: {}{}", m.fi, column.fi),
        ),
        None => Bilingual::new(m.en + &column.en, m.fi + &column.fi),
    };
    // The field's name comes from the line too.
    Bilingual::new(redact_identity_codes(&reason.en), redact_identity_codes(&reason.fi))
}

/// serde's words (and those of the readers of times and facts that it quotes) in Finnish; the
/// names and values it quotes stay as they were.
fn serde_in_finnish(message: &str) -> String {
    let mut text = message.to_owned();
    for error in TimeError::ALL {
        text = text.replace(&error.to_string(), error.say(Lang::Fi));
    }
    const WORDS: &[(&str, &str)] = &[
        ("true, false or a whole number from 0 to ", "true, false tai kokonaisluku 0–"),
        (": a fact's number is at most that", ": tiedon luku on enintään se"),
        (" is more than ", " on enemmän kuin "),
        ("a fact's number cannot be negative", "tiedon luku ei voi olla negatiivinen"),
        ("missing field ", "kenttä puuttuu: "),
        ("unknown field ", "tuntematon kenttä "),
        ("unknown variant ", "tuntematon arvo "),
        ("duplicate field ", "kenttä kahdesti: "),
        (", there are no fields", ", kenttiä ei ole"),
        (", expected one of ", ", odotettiin jotakin näistä: "),
        (", expected ", ", odotettiin: "),
        ("invalid type: ", "väärä tyyppi: "),
        ("invalid value: ", "virheellinen arvo: "),
        ("invalid length ", "väärä pituus "),
        ("a string", "merkkijono"),
        ("string ", "merkkijono "),
        ("integer ", "kokonaisluku "),
        ("floating point ", "liukuluku "),
        ("boolean ", "totuusarvo "),
        ("a sequence", "luettelo"),
        ("a map", "olio"),
        ("map", "olio"),
        ("sequence", "luettelo"),
        ("expected value", "odotettiin arvoa"),
        ("expected ident", "odotettiin sanaa"),
        ("EOF while parsing a string", "rivi loppui kesken merkkijonon"),
        ("EOF while parsing an object", "rivi loppui kesken olion"),
        ("EOF while parsing a list", "rivi loppui kesken luettelon"),
        ("EOF while parsing a value", "rivi loppui ennen arvoa"),
        ("trailing characters", "ylimääräisiä merkkejä lopussa"),
        ("trailing comma", "ylimääräinen pilkku"),
        ("key must be a string", "avaimen pitää olla merkkijono"),
        ("expected `,` or `}`", "odotettiin `,` tai `}`"),
        ("expected `,` or `]`", "odotettiin `,` tai `]`"),
        ("expected `:`", "odotettiin `:`"),
        ("invalid escape", "virheellinen kenoviivamerkintä"),
        ("invalid number", "virheellinen luku"),
        ("number out of range", "luku on liian suuri"),
        ("invalid unicode code point", "virheellinen Unicode-merkki"),
        (
            "control character (\\u0000-\\u001F) found while parsing a string",
            "ohjausmerkki (\\u0000–\\u001F) merkkijonossa",
        ),
        ("recursion limit exceeded", "liian syvä sisäkkäisyys"),
    ];
    for (en, fi) in WORDS {
        text = text.replace(en, fi);
    }
    text
}

fn kinds_list() -> Bilingual {
    let kinds = EVENT_KINDS.join(", ");
    Bilingual::new(
        format!("the kinds of event are {kinds}"),
        format!("tapahtumien lajit ovat {kinds}"),
    )
}

/// The reason for a `type` that names no kind (`None` when it is not even text).
fn unknown_kind(kind: Option<&str>) -> Bilingual {
    let kinds = kinds_list();
    match kind {
        Some(kind) => {
            let kind = redact_identity_codes(kind);
            Bilingual::new(
                format!("type: unknown kind of event `{kind}`; {}", kinds.en),
                format!("type: tuntematon tapahtuman laji `{kind}`; {}", kinds.fi),
            )
        }
        None => Bilingual::new(
            format!("type: must be text; {}", kinds.en),
            format!("type: pitää olla tekstiä; {}", kinds.fi),
        ),
    }
}

/// Whether `type` was given as text in a line that serde accepted. serde also takes a number
/// there, the kind at that index (`"type": 5` reads as `phase_completed`), which no sender
/// means.
fn type_is_text(line: &str) -> bool {
    let mut rest = line;
    // In JSON that parsed, `"type"` followed by a colon is the key: inside a text its quotes
    // would be escaped, and any other key with that ending is unknown and refused.
    while let Some(at) = rest.find("\"type\"") {
        rest = &rest[at + 6..];
        if let Some(value) = rest.trim_start().strip_prefix(':') {
            return value.trim_start().starts_with('"');
        }
    }
    // The key was written with escapes (`"\u0074ype"`): read the line once more.
    #[derive(Deserialize)]
    struct Kind {
        #[serde(rename = "type")]
        _kind: String,
    }
    serde_json::from_str::<Kind>(line).is_ok()
}

/// The field whose value is of the JSON type that serde's "invalid type: …" message names
/// (`integer `5`, expected a string`). A `null` is allowed in the optional fields.
fn field_of_wrong_type<'a>(
    object: &'a serde_json::Map<String, serde_json::Value>,
    found: &str,
) -> Option<&'a str> {
    use serde_json::Value;
    let optional = ["born", "due", "pregnancy_start", "reason", "reason_code"];
    object
        .iter()
        .find(|(name, value)| match value {
            Value::Null => found.starts_with("null") && !optional.contains(&name.as_str()),
            Value::Bool(_) => found.starts_with("boolean"),
            Value::Number(_) => {
                ["integer", "floating point", "number"].iter().any(|t| found.starts_with(t))
            }
            Value::String(_) => false,
            Value::Array(_) => found.starts_with("sequence"),
            Value::Object(_) => found.starts_with("map"),
        })
        .map(|(name, _)| name.as_str())
        // Names come from the line: only a plain field name is repeated.
        .filter(|name| name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
        .filter(|name| !contains_identity_code(name))
}

/// The name of the field whose value ends at (1-based) `column`: the last `"name":` before it.
fn field_before(line: &str, column: usize) -> Option<&str> {
    let head = line.get(..column.min(line.len()))?;
    let colon = head.rfind("\":")?;
    let start = head[..colon].rfind('"')? + 1;
    let name = &head[start..colon];
    (!name.is_empty() && name.chars().all(|c| c.is_alphanumeric() || c == '_')).then_some(name)
}

impl Event {
    /// Every text of the event by field name (the client of an opened case included).
    pub fn texts(&self) -> Vec<(&'static str, &str)> {
        let mut out = vec![
            ("id", self.id.as_str()),
            ("case", self.case.as_str()),
            ("role", self.role.as_str()),
        ];
        let fields: Vec<(&'static str, &String)> = match &self.kind {
            EventKind::CaseOpened {
                client,
                process,
                unit,
                segment,
                born,
                due,
                pregnancy_start,
                facts,
            } => {
                let mut v = vec![
                    ("client", client),
                    ("process", process),
                    ("unit", unit),
                    ("segment", segment),
                ];
                v.extend(born.iter().map(|b| ("born", b)));
                v.extend(due.iter().map(|b| ("due", b)));
                v.extend(pregnancy_start.iter().map(|b| ("pregnancy_start", b)));
                v.extend(facts.keys().map(|f| ("facts", f)));
                v
            }
            EventKind::FactRecorded { fact, .. } => vec![("fact", fact)],
            EventKind::CaseMigrated { from, to } => vec![("from", from), ("to", to)],
            EventKind::StepStarted { step } | EventKind::StepCompleted { step } => {
                vec![("step", step)]
            }
            EventKind::StepCancelled { step, reason } => vec![("step", step), ("reason", reason)],
            EventKind::StepNotNeeded { step, reason, reason_code } => {
                let mut v = vec![("step", step), ("reason", reason)];
                v.extend(reason_code.iter().map(|c| ("reason_code", c)));
                v
            }
            EventKind::PhaseCompleted { phase } => vec![("phase", phase)],
            EventKind::SegmentAssessed { segment, by, reason, axes } => {
                let mut v = vec![("segment", segment), ("by", by)];
                v.extend(reason.iter().map(|r| ("reason", r)));
                v.extend(axes.iter().flat_map(|(a, value)| [("axes", a), ("axes", value)]));
                v
            }
            EventKind::SegmentChanged { from, to, reason, by } => {
                vec![("from", from), ("to", to), ("reason", reason), ("by", by)]
            }
            EventKind::ReferralSent { referral, to_process } => {
                vec![("referral", referral), ("to_process", to_process)]
            }
            EventKind::ReferralAccepted { referral } => vec![("referral", referral)],
            EventKind::ReferralDeclined { referral, reason } => {
                vec![("referral", referral), ("reason", reason)]
            }
            EventKind::CaseClosed { reason } => vec![("reason", reason)],
        };
        out.extend(fields.into_iter().map(|(f, v)| (f, v.as_str())));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> PseudonymKey {
        PseudonymKey::new(vec![3; 32]).unwrap()
    }

    const OPENED: &str = r#"{"id":"e-1","type":"case_opened","case":"c-1","occurred":"2026-01-05T09:00:00+02:00","recorded":"2026-01-05T09:01:00+02:00","role":"terveydenhoitaja","client":"131052-308T","process":"kth_laaja_5lk","unit":"kouluterveydenhuolto","segment":"tuki"}"#;

    mod written {
        use super::super::*;
        use proptest::prelude::*;

        fn text() -> impl Strategy<Value = String> {
            // Mostly plain names, and now and then quotes, backslashes, control characters,
            // U+007F and text beyond ASCII: everything serde_json escapes or leaves alone.
            prop_oneof![
                3 => "[a-z_0-9]{0,12}",
                1 => "[\\\"\\\\\\x00-\\x1f\\x7fa-zäö€😀 ]{0,8}",
                1 => any::<String>(),
            ]
        }

        fn optional() -> impl Strategy<Value = Option<String>> {
            proptest::option::of(text())
        }

        fn fact() -> impl Strategy<Value = FactValue> {
            prop_oneof![
                any::<bool>().prop_map(FactValue::Flag),
                (0u32..100).prop_map(FactValue::Number)
            ]
        }

        fn kind() -> impl Strategy<Value = EventKind> {
            prop_oneof![
                (
                    text(),
                    text(),
                    text(),
                    text(),
                    optional(),
                    optional(),
                    optional(),
                    proptest::collection::btree_map(text(), fact(), 0..3)
                )
                    .prop_map(
                        |(client, process, unit, segment, born, due, pregnancy_start, facts)| {
                            EventKind::CaseOpened {
                                client,
                                process,
                                unit,
                                segment,
                                born,
                                due,
                                pregnancy_start,
                                facts,
                            }
                        }
                    ),
                text().prop_map(|step| EventKind::StepStarted { step }),
                text().prop_map(|step| EventKind::StepCompleted { step }),
                (text(), text())
                    .prop_map(|(step, reason)| EventKind::StepCancelled { step, reason }),
                (text(), text(), optional()).prop_map(|(step, reason, reason_code)| {
                    EventKind::StepNotNeeded { step, reason, reason_code }
                }),
                text().prop_map(|phase| EventKind::PhaseCompleted { phase }),
                (text(), text(), optional(), proptest::collection::btree_map(text(), text(), 0..3))
                    .prop_map(|(segment, by, reason, axes)| EventKind::SegmentAssessed {
                        segment,
                        by,
                        reason,
                        axes
                    }),
                (text(), text(), text(), text()).prop_map(|(from, to, reason, by)| {
                    EventKind::SegmentChanged { from, to, reason, by }
                }),
                (text(), text()).prop_map(|(referral, to_process)| EventKind::ReferralSent {
                    referral,
                    to_process
                }),
                text().prop_map(|referral| EventKind::ReferralAccepted { referral }),
                (text(), text()).prop_map(|(referral, reason)| EventKind::ReferralDeclined {
                    referral,
                    reason
                }),
                text().prop_map(|reason| EventKind::CaseClosed { reason }),
                (text(), fact()).prop_map(|(fact, value)| EventKind::FactRecorded { fact, value }),
                (text(), text()).prop_map(|(from, to)| EventKind::CaseMigrated { from, to }),
            ]
        }

        fn time() -> impl Strategy<Value = Timestamp> {
            // Years far outside 0–9999 too, which are written another way.
            prop_oneof![
                3 => (0i64..4_102_444_800).prop_map(Timestamp),
                1 => any::<i32>().prop_map(|s| Timestamp(i64::from(s) * 200)),
            ]
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(2000))]
            /// The store's own writer gives exactly serde's text, for every kind of event.
            #[test]
            fn events_are_written_as_serde_writes_them(
                id in text(), case in text(), role in text(),
                occurred in time(), recorded in time(), kind in kind(),
            ) {
                let event = Event { id, case, occurred, recorded, role, kind };
                prop_assert_eq!(to_json(&event), serde_json::to_string(&event).unwrap());
            }
        }
    }

    #[test]
    fn reads_events_and_pseudonymises_the_client() {
        let completed = r#"{"id":"e-2","type":"step_completed","case":"c-1","occurred":"2026-01-20","recorded":"2026-01-20T12:00:00Z","role":"terveydenhoitaja","step":"th"}"#;
        let (events, errors) = parse_lines(&format!("{OPENED}\n\n{completed}\n"), &key());
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(events.len(), 2);
        let EventKind::CaseOpened { client, .. } = &events[0].kind else {
            panic!("{:?}", events[0])
        };
        assert_eq!(client, pseudonymise("131052-308T", &key()).unwrap().as_str());
        assert_eq!(events[0].occurred, Timestamp::parse("2026-01-05T07:00:00Z").unwrap());
        assert_eq!(events[1].kind, EventKind::StepCompleted { step: "th".into() });
        // The pseudonymised event serialises without the code.
        let json = serde_json::to_string(&events[0]).unwrap();
        assert!(!json.contains("131052"), "{json}");
    }

    #[test]
    fn pseudonyms_are_never_taken_for_identity_codes() {
        // Hexadecimal pseudonyms hold digit runs and the letters A–F, which are century signs:
        // the check for codes outside `client` must not refuse an opened case for them.
        let mut rng = crate::simulate::Rng::new(5);
        let lines: String = (0..20_000)
            .map(|i| {
                let code = crate::simulate::artificial_identity_code(10_000 + (i % 6000), &mut rng);
                OPENED.replace("131052-308T", &code).replace("\"c-1\"", &format!("\"c-{i}\""))
                    + "\n"
            })
            .collect();
        let (events, errors) = parse_lines(&lines, &key());
        assert!(errors.is_empty(), "{:?}", errors.first());
        assert_eq!(events.len(), 20_000);
    }

    #[test]
    fn bad_lines_are_named_and_good_lines_kept() {
        let lines = [
            OPENED.to_owned(),
            "{not json".to_owned(),
            OPENED.replace("131052-308T", "131052-308U"),
            OPENED.replace("\"step_completed\"", "x").replace("case_opened", "case_reopened"),
            OPENED.replace("2026-01-05T09:00:00+02:00", "yesterday"),
            OPENED.replace(",\"segment\":\"tuki\"", ""),
            OPENED.replace("\"role\":\"terveydenhoitaja\"", "\"role\":\" \""),
            OPENED.replace("131052-308T", "abc"),
            OPENED.replace("\"c-1\"", "\"131052-308T\""),
            OPENED.replace("case_opened", "131052-308T"),
            OPENED.replace("\"id\":\"e-1\"", "\"id\":1"),
        ];
        let (events, errors) = parse_lines(&lines.join("\n"), &key());
        assert_eq!(events.len(), 1);
        let reasons: Vec<(usize, &str)> =
            errors.iter().map(|e| (e.line, e.reason.en.as_str())).collect();
        assert_eq!(reasons.len(), 10, "{reasons:?}");
        assert!(reasons[0].1.starts_with("not a JSON object on one line"), "{reasons:?}");
        assert!(reasons[3].1.starts_with("occurred: not a time"), "{reasons:?}");
        assert!(reasons[4].1.starts_with("missing field `segment`"), "{reasons:?}");
        assert!(reasons[9].1.starts_with("id: invalid type: integer `1`"), "{reasons:?}");
        assert!(reasons[7].1.starts_with("case: contains a personal identity code"), "{reasons:?}");
        assert!(reasons[8].1.starts_with("type: unknown kind of event `…`"), "{reasons:?}");
        assert_eq!(reasons[0].0, 2);
        assert!(reasons[1].1.contains("check character"), "{reasons:?}");
        assert!(reasons[2].1.contains("case_reopened"), "{reasons:?}");
        assert!(reasons[3].1.contains("not a time"), "{reasons:?}");
        assert!(reasons[4].1.contains("segment"), "{reasons:?}");
        assert!(reasons[5].1.contains("role"), "{reasons:?}");
        assert!(reasons[6].1.contains("neither"), "{reasons:?}");
        for (_, reason) in &reasons {
            assert!(!reason.contains("131052"), "{reason}");
        }
    }
}

#[cfg(test)]
mod fact_tests {
    use super::*;

    fn key() -> PseudonymKey {
        PseudonymKey::new(vec![3; 32]).unwrap()
    }

    const OPENED: &str = r#"{"id":"e-1","type":"case_opened","case":"c-1","occurred":"2026-01-05T09:00:00+02:00","recorded":"2026-01-05T09:01:00+02:00","role":"terveydenhoitaja","client":"131052-308T","process":"aitiysneuvola_laaja","unit":"äitiysneuvola","segment":"tuki""#;

    fn reason(line: &str) -> String {
        let (events, errors) = parse_lines(line, &key());
        assert!(events.is_empty(), "{events:?}");
        errors[0].reason.en.clone()
    }

    #[test]
    fn an_assessment_keeps_its_axis_values_and_they_hold_no_identity_code() {
        let base = r#"{"id":"e-2","type":"segment_assessed","case":"c-1","occurred":"2026-01-06T09:00:00+02:00","recorded":"2026-01-06T09:00:00+02:00","role":"terveydenhoitaja","segment":"tuki","by":"th-1""#;
        let good = format!(r#"{base},"axes":{{"avun_tarve":"suuri","voimavarat":"hyvät"}}}}"#);
        let (events, errors) = parse_lines(&good, &key());
        assert!(errors.is_empty(), "{errors:?}");
        let EventKind::SegmentAssessed { axes, .. } = &events[0].kind else { panic!() };
        assert_eq!(axes["avun_tarve"], "suuri");
        let json = serde_json::to_string(&events[0]).unwrap();
        assert!(json.contains(r#""axes":{"avun_tarve":"suuri","voimavarat":"hyvät"}"#), "{json}");
        // Without axes, none are written.
        let (events, _) = parse_lines(&format!("{base}}}"), &key());
        assert!(!serde_json::to_string(&events[0]).unwrap().contains("axes"));
        let text = reason(&format!(r#"{base},"axes":{{"avun_tarve":"131052-308T"}}}}"#));
        assert!(text.starts_with("axes: contains a personal identity code"), "{text}");
        assert!(!text.contains("131052"), "{text}");
    }

    #[test]
    fn facts_and_a_due_date_are_read_and_bad_ones_named() {
        let good = format!(
            r#"{OPENED},"due":"2026-08-03","facts":{{"ensisynnyttäjä":true,"sikiöitä":2}}}}"#
        );
        let (events, errors) = parse_lines(&good, &key());
        assert!(errors.is_empty(), "{errors:?}");
        let EventKind::CaseOpened { due, facts, .. } = &events[0].kind else { panic!() };
        assert_eq!(due.as_deref(), Some("2026-08-03"));
        assert_eq!(facts["ensisynnyttäjä"], FactValue::Flag(true));
        assert_eq!(facts["sikiöitä"], FactValue::Number(2));
        // Written back as sent.
        let json = serde_json::to_string(&events[0]).unwrap();
        assert!(json.contains(r#""facts":{"ensisynnyttäjä":true,"sikiöitä":2}"#), "{json}");

        let text = reason(&format!(r#"{OPENED},"facts":{{"ensisynnyttäjä":"kyllä"}}}}"#));
        assert!(text.starts_with("facts.ensisynnyttäjä: "), "{text}");
        assert!(text.contains("true, false or a whole number"), "{text}");
        let text = reason(&format!(r#"{OPENED},"facts":{{"sikiöitä":-1}}}}"#));
        assert!(text.contains("cannot be negative"), "{text}");
        let text = reason(&format!(r#"{OPENED},"facts":{{"sikiöitä":1000}}}}"#));
        assert!(text.contains("at most"), "{text}");
        let text = reason(&format!(r#"{OPENED},"due":"3.8.2026"}}"#));
        assert!(text.starts_with("due: not a date"), "{text}");
        let text =
            reason(&format!(r#"{OPENED},"due":"2026-08-03","pregnancy_start":"2025-10-27"}}"#));
        assert!(text.starts_with("pregnancy_start: give either"), "{text}");
        // A fact named like an identity code is refused without repeating it.
        let text = reason(&format!(r#"{OPENED},"facts":{{"131052-308T":true}}}}"#));
        assert!(text.starts_with("facts: contains a personal identity code"), "{text}");
        let recorded = r#"{"id":"e-2","type":"fact_recorded","case":"c-1","occurred":"2026-02-05T09:00:00+02:00","recorded":"2026-02-05T09:01:00+02:00","role":"terveydenhoitaja","fact":"tulkki","value":true}"#;
        let (events, errors) = parse_lines(recorded, &key());
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(
            events[0].kind,
            EventKind::FactRecorded { fact: "tulkki".into(), value: FactValue::Flag(true) }
        );
        let text = reason(&recorded.replace(r#""value":true"#, r#""value":null"#));
        assert!(text.starts_with("value: "), "{text}");
    }
}
