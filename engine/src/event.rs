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
//! is read, and neither it nor the line is ever repeated in an error.

use serde::{Deserialize, Serialize};

use crate::pseudonym::{
    contains_identity_code, looks_like_identity_code, pseudonymise, redact_identity_codes,
    Pseudonym, PseudonymKey,
};
use crate::time::Timestamp;

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

mod timestamp {
    use serde::{Deserialize, Deserializer, Serializer};

    use crate::time::Timestamp;

    pub fn serialize<S: Serializer>(value: &Timestamp, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(value)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Timestamp, D::Error> {
        let text = String::deserialize(deserializer)?;
        Timestamp::parse(&text).ok_or_else(|| {
            serde::de::Error::custom(
                "not a time: write it as 2026-01-05T09:30:00+02:00 or 2026-01-05",
            )
        })
    }
}

/// Why one line of an event file was not accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineError {
    /// 1-based.
    pub line: usize,
    pub reason: String,
}

/// Reads events, one JSON object per line. Good lines are kept; every bad line is reported by
/// number and reason. Blank lines are skipped. The `client` of each opened case comes back as a
/// pseudonym.
pub fn parse_lines(text: &str, key: &PseudonymKey) -> (Vec<Event>, Vec<LineError>) {
    let (events, errors) = parse_numbered_lines(text, key);
    (events.into_iter().map(|(_, e)| e).collect(), errors)
}

/// As [`parse_lines`], with each event's line number (1-based).
pub fn parse_numbered_lines(
    text: &str,
    key: &PseudonymKey,
) -> (Vec<(usize, Event)>, Vec<LineError>) {
    let mut events = Vec::new();
    let mut errors = Vec::new();
    for (index, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match parse_line(line, key) {
            Ok(event) => events.push((index + 1, event)),
            Err(reason) => errors.push(LineError { line: index + 1, reason }),
        }
    }
    (events, errors)
}

fn parse_line(line: &str, key: &PseudonymKey) -> Result<Event, String> {
    let mut event: Event = serde_json::from_str(line).map_err(|e| {
        // serde's message may quote what was sent (an unknown type, a value of the wrong
        // type), so anything shaped like an identity code is cut out. A missing or unknown
        // field is named in the message; a value of the wrong type is not, so the field is
        // read from the line before the column.
        let message = e.to_string();
        let message = redact_identity_codes(message.split(" at line ").next().unwrap_or(&message));
        let column = format!(" (column {})", e.column());
        match e.classify() {
            serde_json::error::Category::Data => {
                let named =
                    message.starts_with("missing field") || message.starts_with("unknown field");
                match field_before(line, e.column()).filter(|_| !named) {
                    Some(field) => format!("{field}: {message}{column}"),
                    None => message + &column,
                }
            }
            _ => format!("not a JSON object on one line: {message}{column}"),
        }
    })?;
    if let EventKind::CaseOpened { client, .. } = &mut event.kind {
        let pseudonym = if looks_like_identity_code(client) {
            pseudonymise(client, key).map_err(|e| format!("client: {e}"))?
        } else {
            Pseudonym::parse(client.trim()).ok_or_else(|| {
                "client: neither a personal identity code nor a pseudonym (64 hexadecimal characters)".to_owned()
            })?
        };
        *client = pseudonym.as_str().to_owned();
    }
    if let EventKind::CaseOpened { born: Some(born), .. } = &event.kind {
        if born.len() != 10 || Timestamp::parse(born).is_none() {
            return Err("born: not a date: write it as 2019-03-14".to_owned());
        }
    }
    for (field, value) in [("id", &event.id), ("case", &event.case), ("role", &event.role)] {
        if value.trim().is_empty() {
            return Err(format!("{field}: must not be empty"));
        }
    }
    // A personal identity code is accepted only as the client of an opened case, where it is
    // pseudonymised; anywhere else it would be stored as it is.
    // (The client of an opened case is a pseudonym by now.)
    for (field, value) in event.texts() {
        if field != "client" && contains_identity_code(value) {
            return Err(format!(
                "{field}: contains a personal identity code; name the client only in `client` of case_opened"
            ));
        }
    }
    Ok(event)
}

/// The name of the field whose value ends at (1-based) `column`: the last `"name":` before it.
fn field_before(line: &str, column: usize) -> Option<&str> {
    let head = line.get(..column.min(line.len()))?;
    let colon = head.rfind("\":")?;
    let start = head[..colon].rfind('"')? + 1;
    let name = &head[start..colon];
    (!name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
        .then_some(name)
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
            EventKind::CaseOpened { client, process, unit, segment, born } => {
                let mut v = vec![
                    ("client", client),
                    ("process", process),
                    ("unit", unit),
                    ("segment", segment),
                ];
                v.extend(born.iter().map(|b| ("born", b)));
                v
            }
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
            EventKind::SegmentAssessed { segment, by, reason } => {
                let mut v = vec![("segment", segment), ("by", by)];
                v.extend(reason.iter().map(|r| ("reason", r)));
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
            errors.iter().map(|e| (e.line, e.reason.as_str())).collect();
        assert_eq!(reasons.len(), 10, "{reasons:?}");
        assert!(reasons[0].1.starts_with("not a JSON object on one line"), "{reasons:?}");
        assert!(reasons[3].1.starts_with("occurred: not a time"), "{reasons:?}");
        assert!(reasons[4].1.starts_with("missing field `segment`"), "{reasons:?}");
        assert!(reasons[9].1.starts_with("id: invalid type: integer `1`"), "{reasons:?}");
        assert!(reasons[7].1.starts_with("case: contains a personal identity code"), "{reasons:?}");
        assert!(reasons[8].1.contains("unknown variant"), "{reasons:?}");
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
