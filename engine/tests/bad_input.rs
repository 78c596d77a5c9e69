//! Lines of events as they arrive from outside: byte-order marks, bytes that are not UTF-8,
//! impossible and implausible times, a wrong `type`, and personal identity codes typed into
//! fields where they would be stored as they are.

#![allow(clippy::unwrap_used)] // A test that cannot set up should fail loudly.

use polku_engine::event::{
    parse_bytes, parse_lines, parse_numbered_lines, split_lines, EventKind, LineError, ReadOptions,
    Warning, EVENT_KINDS,
};
use polku_engine::pseudonym::PseudonymKey;
use serde_json::{json, Value};

fn key() -> PseudonymKey {
    PseudonymKey::new(vec![3; 32]).unwrap()
}

const OPENED: &str = r#"{"id":"e-1","type":"case_opened","case":"c-1","occurred":"2026-01-05T09:00:00+02:00","recorded":"2026-01-05T09:01:00+02:00","role":"terveydenhoitaja","client":"131052-308T","process":"kth_laaja_5lk","unit":"kouluterveydenhuolto","segment":"tuki"}"#;
const COMPLETED: &str = r#"{"id":"e-2","type":"step_completed","case":"c-1","occurred":"2026-01-20","recorded":"2026-01-20T12:00:00Z","role":"terveydenhoitaja","step":"th"}"#;

fn reasons(errors: &[LineError]) -> Vec<(usize, &str)> {
    errors.iter().map(|e| (e.line, e.reason.en.as_str())).collect()
}

#[test]
fn a_byte_order_mark_at_the_start_is_skipped() {
    for first in [OPENED, COMPLETED] {
        let text = format!("\u{feff}{first}\n{COMPLETED}\n");
        let (events, errors) = parse_numbered_lines(&text, &key());
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(events.iter().map(|(line, _)| *line).collect::<Vec<_>>(), [1, 2]);
        let read = parse_bytes(text.as_bytes(), &key(), &ReadOptions::default());
        assert_eq!((read.events, read.errors), (events, errors));
        // The line a caller keeps as sent has no mark either.
        let (number, line) = split_lines(text.as_bytes()).next().unwrap();
        assert_eq!((number, line), (1, first.as_bytes()));
    }
    // Further in, a mark means files were joined: it is named, not taken for bad JSON.
    let joined = format!("{OPENED}\n\u{feff}{COMPLETED}\n");
    let (events, errors) = parse_lines(&joined, &key());
    assert_eq!(events.len(), 1);
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].line, 2);
    assert!(errors[0].reason.en.contains("byte-order mark"), "{errors:?}");
}

#[test]
fn bytes_that_are_not_utf8_are_refused_by_line_and_the_good_lines_kept() {
    let mut bytes = Vec::new();
    bytes.extend_from_slice(OPENED.as_bytes());
    bytes.extend_from_slice(b"\r\n");
    // A reason in Latin-1: `ä` is the single byte E4.
    let cancelled = COMPLETED.replace("step_completed", "step_cancelled").replace(
        "\"step\":\"th\"",
        "\"step\":\"th\",\"reason\":\"asiakas ei saapunut, s\u{e4}\u{e4}\"",
    );
    let latin = cancelled.replace('\u{e4}', "\u{0}");
    let mut line2 = latin.into_bytes();
    for byte in line2.iter_mut() {
        if *byte == 0 {
            *byte = 0xe4;
        }
    }
    bytes.extend_from_slice(&line2);
    bytes.push(b'\n');
    bytes.extend_from_slice(cancelled.as_bytes());
    bytes.push(b'\n');
    // A character cut short at the end of the line.
    bytes.extend_from_slice(&"\"ä".as_bytes()[..2]);
    bytes.push(b'\n');
    bytes.extend_from_slice(COMPLETED.replace("e-2", "e-3").as_bytes());

    let read = parse_bytes(&bytes, &key(), &ReadOptions::default());
    assert_eq!(read.events.iter().map(|(line, _)| *line).collect::<Vec<_>>(), [1, 3, 5]);
    let refused = reasons(&read.errors);
    assert_eq!(refused.iter().map(|(line, _)| *line).collect::<Vec<_>>(), [2, 4], "{refused:?}");
    let at = cancelled.find('ä').unwrap() + 1;
    assert_eq!(
        refused[0].1,
        format!("not UTF-8 text: byte {at} of the line is not part of a UTF-8 character; save the file as UTF-8 (the line is not stored)")
    );
    assert!(refused[1].1.starts_with("not UTF-8 text: byte 2 "), "{refused:?}");
    // Nothing is kept with a character replaced.
    for (_, event) in &read.events {
        assert!(!serde_json::to_string(event).unwrap().contains('\u{fffd}'));
    }
    let EventKind::StepCancelled { reason, .. } = &read.events[1].1.kind else { panic!() };
    assert_eq!(reason, "asiakas ei saapunut, sää");

    // A file and standard input hand the reader the same bytes, so the same lines are kept
    // and refused whichever it came from.
    let path = std::env::temp_dir().join(format!("polku-bad-input-{}.jsonl", std::process::id()));
    std::fs::write(&path, &bytes).unwrap();
    let from_file = std::fs::read(&path).unwrap();
    let _ = std::fs::remove_file(&path);
    let mut from_stream = Vec::new();
    std::io::Read::read_to_end(&mut std::io::Cursor::new(&bytes), &mut from_stream).unwrap();
    let options = ReadOptions::default();
    assert_eq!(parse_bytes(&from_file, &key(), &options), read);
    assert_eq!(parse_bytes(&from_stream, &key(), &options), read);
}

#[test]
fn lines_are_numbered_as_the_text_reader_numbers_them() {
    let text = format!("\n{OPENED}\r\n\r\n  \n{COMPLETED}");
    let (events, errors) = parse_numbered_lines(&text, &key());
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(events.iter().map(|(line, _)| *line).collect::<Vec<_>>(), [2, 5]);
    let numbers: Vec<usize> = split_lines(text.as_bytes()).map(|(n, _)| n).collect();
    assert_eq!(numbers, (1..=text.lines().count()).collect::<Vec<_>>());
    assert_eq!(split_lines(b"").count(), 0);
    assert_eq!(split_lines(b"\n").count(), 1);
    assert_eq!(split_lines(b"a\n\n").count(), 2);
    assert_eq!(split_lines(b"a\n").count(), 1);
}

#[test]
fn an_impossible_utc_offset_is_refused_and_names_its_field() {
    for offset in ["+99:99", "+24:00", "-23:60"] {
        let line =
            OPENED.replace("2026-01-05T09:00:00+02:00", &format!("2026-01-05T09:00:00{offset}"));
        let (events, errors) = parse_lines(&line, &key());
        assert!(events.is_empty(), "{offset}");
        assert!(
            errors[0].reason.en.starts_with("occurred: not a possible UTC offset"),
            "{offset}: {errors:?}"
        );
    }
}

#[test]
fn implausible_years_and_recorded_before_occurred_are_warned_about_and_kept() {
    let lines = [
        OPENED
            .replace("2026-01-05T09:00:00+02:00", "0001-01-01T00:00:00Z")
            .replace("2026-01-05T09:01:00+02:00", "9999-12-31T00:00:00Z"),
        COMPLETED.replace("2026-01-20T12:00:00Z", "2026-01-19T12:00:00Z"),
        COMPLETED
            .replace("2026-01-20\"", "1900-01-01\"")
            .replace("2026-01-20T12:00:00Z", "2100-12-31T23:59:59+02:00"),
        OPENED.replace("\"segment\":\"tuki\"", "\"segment\":\"tuki\",\"born\":\"1019-03-14\""),
    ];
    let read = parse_bytes(lines.join("\n").as_bytes(), &key(), &ReadOptions::default());
    assert!(read.errors.is_empty(), "{:?}", read.errors);
    assert_eq!(read.events.len(), 4, "warnings never refuse a line");
    let warnings: Vec<(usize, Warning)> =
        read.warnings.iter().map(|w| (w.line, w.warning)).collect();
    let implausible =
        |field, year| Warning::Implausible { field, year, earliest: 1900, latest: 2100 };
    assert_eq!(
        warnings,
        [
            (1, implausible("occurred", 1)),
            (1, implausible("recorded", 9999)),
            (2, Warning::RecordedBeforeOccurred),
            (4, implausible("born", 1019)),
        ]
    );
    assert_eq!(
        read.warnings[0].warning.to_string(),
        "occurred: the year 0001 is outside the plausible years 1900–2100"
    );
    assert!(Warning::RecordedBeforeOccurred
        .to_string()
        .starts_with("recorded: earlier than occurred"));
    // The window is the caller's to set.
    let narrow = ReadOptions { earliest_year: 2026, latest_year: 2026 };
    let read = parse_bytes(lines[2].as_bytes(), &key(), &narrow);
    let fields: Vec<_> = read
        .warnings
        .iter()
        .map(|w| match w.warning {
            Warning::Implausible { field, .. } => field,
            _ => "other",
        })
        .collect();
    assert_eq!(fields, ["occurred", "recorded"]);
}

#[test]
fn a_wrong_type_is_blamed_on_type_and_the_kinds_are_listed() {
    let unknown = COMPLETED.replace("\"step_completed\"", "\"stepcompleted\"");
    // serde would take a number for the kind at that index: 5 is `phase_completed`.
    let number = COMPLETED.replace("\"step_completed\"", "5").replace("\"step\"", "\"phase\"");
    let number_wrong_fields = COMPLETED.replace("\"step_completed\"", "5");
    let missing = COMPLETED.replace("\"type\":\"step_completed\",", "");
    let null = COMPLETED.replace("\"step_completed\"", "null");
    let last =
        COMPLETED.replace("\"type\":\"step_completed\",", "").replace("}", ",\"type\":\"x\"}");
    let code = COMPLETED.replace("\"step_completed\"", "\"hetu131052308T\"");
    let lines = [unknown, number, number_wrong_fields, missing, null, last, code];
    let (events, errors) = parse_lines(&lines.join("\n"), &key());
    assert!(events.is_empty(), "{events:?}");
    assert_eq!(errors.len(), lines.len());
    let expected_starts = [
        "type: unknown kind of event `stepcompleted`",
        "type: must be text",
        "type: must be text",
        "type: missing",
        "type: must be text",
        "type: unknown kind of event `x`",
        "type: unknown kind of event `hetu…`",
    ];
    for (error, start) in errors.iter().zip(expected_starts) {
        assert!(error.reason.en.starts_with(start), "{error:?}");
        for kind in EVENT_KINDS {
            assert!(error.reason.en.contains(kind), "{error:?}");
        }
        assert!(!error.reason.en.contains("131052"), "{error:?}");
        assert!(!error.reason.fi.contains("131052"), "{error:?}");
    }
    // The list is the enum's.
    for (index, kind) in EVENT_KINDS.iter().enumerate() {
        let line = COMPLETED.replace("step_completed", kind);
        let (_, errors) = parse_lines(&line, &key());
        assert!(
            errors.iter().all(|e| !e.reason.en.starts_with("type:")),
            "{index} {kind}: {errors:?}"
        );
    }
}

#[test]
fn a_value_of_the_wrong_type_is_blamed_on_its_own_field() {
    // The kind's fields are read after the whole object, where another field ends.
    let first = r#"{"step":5,"id":"e-2","type":"step_completed","case":"c-1","occurred":"2026-01-20","recorded":"2026-01-20T12:00:00Z","role":"terveydenhoitaja"}"#;
    let null = COMPLETED.replace("\"th\"", "null");
    let optional_null = OPENED.replace("\"segment\":\"tuki\"", "\"born\":null,\"segment\":7");
    let (_, errors) = parse_lines(&[first, &null, &optional_null].join("\n"), &key());
    let reasons = reasons(&errors);
    assert!(reasons[0].1.starts_with("step: invalid type: integer `5`"), "{reasons:?}");
    assert!(reasons[1].1.starts_with("step: invalid type: null"), "{reasons:?}");
    assert!(reasons[2].1.starts_with("segment: invalid type: integer `7`"), "{reasons:?}");
}

/// One line of every kind, every field filled.
fn every_kind() -> Vec<Value> {
    let base = json!({"id":"e-1","case":"c-1","occurred":"2026-01-05","recorded":"2026-01-05","role":"th"});
    let fields: [(&str, Value); 12] = [
        (
            "case_opened",
            json!({"client":"131052-308T","process":"p","unit":"u","segment":"s","born":"2019-03-14"}),
        ),
        ("step_started", json!({"step":"a"})),
        ("step_completed", json!({"step":"a"})),
        ("step_cancelled", json!({"step":"a","reason":"r"})),
        ("step_not_needed", json!({"step":"a","reason":"r","reason_code":"client_declined"})),
        ("phase_completed", json!({"phase":"v"})),
        ("segment_assessed", json!({"segment":"s","by":"th","reason":"r"})),
        ("segment_changed", json!({"from":"s","to":"t","reason":"r","by":"th"})),
        ("referral_sent", json!({"referral":"o-1","to_process":"q"})),
        ("referral_accepted", json!({"referral":"o-1"})),
        ("referral_declined", json!({"referral":"o-1","reason":"r"})),
        ("case_closed", json!({"reason":"r"})),
    ];
    fields
        .into_iter()
        .map(|(kind, extra)| {
            let mut line = base.clone();
            line["type"] = json!(kind);
            for (name, value) in extra.as_object().unwrap() {
                line[name] = value.clone();
            }
            line
        })
        .collect()
}

#[test]
fn identity_codes_typed_in_any_field_are_refused_without_repeating_them() {
    // As issued, glued to a word, without the century sign, with a mistyped check character,
    // in lower case, with a space or an en dash for the sign, as ten digits.
    let forms = [
        "131052-308T",
        "hetu131052-308T",
        "131052308T",
        "131052-308U",
        "010594y9021",
        "131052 308T",
        "131052\u{2013}308T",
        "0105949021",
        "hetu:131052308U",
    ];
    let lines = every_kind();
    let (events, errors) =
        parse_lines(&lines.iter().map(Value::to_string).collect::<Vec<_>>().join("\n"), &key());
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(events.len(), lines.len());
    let mut tried = 0;
    for line in &lines {
        for (field, _) in line.as_object().unwrap().iter().filter(|(_, v)| v.is_string()) {
            if ["type", "occurred", "recorded", "client", "born"].contains(&field.as_str()) {
                continue;
            }
            for form in forms {
                for value in [form.to_owned(), format!("asiakas {form} ei saapunut")] {
                    let mut changed = line.clone();
                    changed[field] = json!(value);
                    let (events, errors) = parse_lines(&changed.to_string(), &key());
                    assert!(events.is_empty(), "{changed}");
                    assert!(
                        errors[0]
                            .reason
                            .en
                            .starts_with(&format!("{field}: contains a personal identity code")),
                        "{changed}: {errors:?}"
                    );
                    for digits in ["131052", "010594"] {
                        assert!(!errors[0].reason.en.contains(digits), "{errors:?}");
                        assert!(!errors[0].reason.fi.contains(digits), "{errors:?}");
                    }
                    tried += 1;
                }
            }
        }
    }
    assert!(tried > 400, "{tried}");
    // A pseudonym whose hexadecimal digits happen to hold a code's shape is still a pseudonym.
    let pseudonym = format!("0105949021{}", "a".repeat(54));
    let (events, errors) = parse_lines(&OPENED.replace("131052-308T", &pseudonym), &key());
    assert!(errors.is_empty(), "{errors:?}");
    let EventKind::CaseOpened { client, .. } = &events[0].kind else { panic!() };
    assert_eq!(client, &pseudonym);
    // A code in `client` must be there alone and whole: it is pseudonymised, never kept.
    for form in ["hetu131052-308T", "131052308T", "asiakas 131052-308T"] {
        let line = OPENED.replace("131052-308T", form);
        let (events, errors) = parse_lines(&line, &key());
        assert!(events.is_empty(), "{form}");
        assert!(errors[0].reason.en.starts_with("client: "), "{errors:?}");
        assert!(!errors[0].reason.en.contains("131052"), "{errors:?}");
        assert!(!errors[0].reason.fi.contains("131052"), "{errors:?}");
    }
}
