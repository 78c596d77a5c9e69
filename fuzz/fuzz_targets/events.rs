//! Feeds arbitrary bytes to the event reader as `polku ingest` hands it a file or standard
//! input. What must hold: nothing panics; every line that is not blank is either accepted or
//! refused, once, with a reason; no reason and no accepted field (but the pseudonymised
//! client) holds text shaped like a personal identity code; and an accepted event, written as
//! the store writes it, reads back as the same event.
#![no_main]

use libfuzzer_sys::fuzz_target;
use polku_engine::event::{parse_bytes, parse_line, split_lines, EventKind, ReadOptions};
use polku_engine::pseudonym::{contains_identity_code, Pseudonym, PseudonymKey};

fuzz_target!(|data: &[u8]| {
    let key = PseudonymKey::new(vec![7; 32]).expect("a key of 32 bytes");
    let options = ReadOptions::default();
    let read = parse_bytes(data, &key, &options);

    let expected: Vec<usize> = split_lines(data)
        .filter(|(_, line)| std::str::from_utf8(line).map_or(true, |l| !l.trim().is_empty()))
        .map(|(number, _)| number)
        .collect();
    let mut seen: Vec<usize> = read
        .events
        .iter()
        .map(|(line, _)| *line)
        .chain(read.errors.iter().map(|e| e.line))
        .collect();
    seen.sort_unstable();
    assert_eq!(seen, expected, "each line that is not blank is accepted or refused, once");

    for error in &read.errors {
        for reason in [&error.reason.en, &error.reason.fi] {
            assert!(!reason.trim().is_empty(), "a refusal without a reason");
            let shapes = polku_dsl::diagnostic::identity_code_shapes(reason).count();
            assert_eq!(shapes, 0, "a reason repeats text shaped like an identity code");
        }
    }
    for warning in &read.warnings {
        assert!(read.events.iter().any(|(line, _)| *line == warning.line));
    }
    for (line, event) in &read.events {
        for (field, text) in event.texts() {
            if field == "client" {
                assert!(Pseudonym::parse(text).is_some(), "the client is kept as a pseudonym");
            } else {
                assert!(!contains_identity_code(text), "line {line}: {field} holds a code");
            }
        }
        if let EventKind::CaseOpened { client, .. } = &event.kind {
            assert_eq!(client.len(), 64);
        }
        let written = serde_json::to_string(event).expect("an event serialises");
        let again = parse_line(1, written.as_bytes(), &key, &options);
        match again {
            Ok(Some((back, _))) => assert_eq!(&back, event, "an event reads back as itself"),
            other => panic!("an accepted event does not read back: {other:?}"),
        }
    }
});
