//! No input makes the runtime panic: arbitrary event lines, and arbitrary sequences of
//! well-formed events about arbitrary steps, times and segments, in any order.

#![allow(clippy::unwrap_used)] // A test that cannot set up should fail loudly.

use polku_dsl::{Lang, SourceSet};
use polku_engine::event::{parse_lines, Event, EventKind, FactValue};
use polku_engine::projection::Projection;
use polku_engine::pseudonym::PseudonymKey;
use polku_engine::time::Timestamp;
use proptest::prelude::*;

const MODEL: &str = r#"
rooli th "Terveydenhoitaja"
tieto f "F"
tieto n "N" luku
segmentointi s "S" {
  segmentti a "A"
  segmentti b "B"
}
prosessi p "P" {
  segmentointi s
  vaihe v1 "V1" {
    askel x "X" tekijä th määräaika 2 viikkoa tapauksen alusta lakisääteinen
    askel y "Y" tekijä th määrä 3 valinnainen jos f
    askel q "Q" tekijä th jos ei f aikaisintaan rv 10 määräaika rv 12
  }
  vaihe v2 "V2" {
    askel z "Z" tekijä th määräaika 1 kk askeleesta x
    askel w "W" tekijä th määräaika ikä 4 v
    kulku toista ((z & w)) kunnes "valmis"
  }
  vaihe tyhjä "Tyhjä" { }
  segmentti a perii
  segmentti b { lisää askel extra "E" vaiheeseen v2 tekijä th toistuu n }
}
"#;

fn projection() -> Projection {
    let mut sources = SourceSet::new();
    sources.add("m.polku", MODEL);
    let checked = polku_dsl::check(&sources, &[]);
    assert!(!checked.has_errors(), "{:?}", checked.diagnostics);
    Projection::new("v", &polku_engine::compile(&checked.files)).unwrap()
}

const NAMES: [&str; 9] = ["x", "y", "z", "w", "extra", "v1", "tyhjä", "?", "q"];
const FACTS: [&str; 3] = ["f", "n", "g"];
const SEGMENTS: [&str; 3] = ["a", "b", "c"];

fn event(case: u8, id: u16, time: i64, kind: u8, name: u8, segment: u8) -> Event {
    let (n, g) = (name, segment);
    let name = NAMES[usize::from(name) % NAMES.len()].to_owned();
    let segment = SEGMENTS[usize::from(segment) % SEGMENTS.len()].to_owned();
    let fact = FACTS[usize::from(n) % FACTS.len()].to_owned();
    let value =
        if g % 2 == 0 { FactValue::Flag(n % 2 == 0) } else { FactValue::Number(u32::from(n % 12)) };
    let kind = match kind % 14 {
        0 => EventKind::CaseOpened {
            client: "ab".repeat(32),
            process: "p".to_owned(),
            unit: "u".to_owned(),
            segment,
            born: Some("2020-02-29".to_owned()),
            due: (n % 3 == 0).then(|| "2020-11-30".to_owned()),
            pregnancy_start: None,
            facts: [(fact, value)].into_iter().filter(|_| n % 2 == 1).collect(),
        },
        1 => EventKind::StepStarted { step: name },
        2 => EventKind::StepCompleted { step: name },
        3 => EventKind::StepCancelled { step: name, reason: "r".to_owned() },
        4 => EventKind::StepNotNeeded { step: name, reason: "r".to_owned(), reason_code: None },
        5 => EventKind::StepNotNeeded {
            step: name,
            reason: "r".to_owned(),
            reason_code: Some("client_declined".to_owned()),
        },
        6 => EventKind::PhaseCompleted { phase: name },
        7 => EventKind::SegmentAssessed {
            segment,
            by: "th".to_owned(),
            reason: None,
            axes: Default::default(),
        },
        8 => EventKind::SegmentChanged {
            from: "a".to_owned(),
            to: segment,
            reason: "r".to_owned(),
            by: "th".to_owned(),
        },
        9 => EventKind::ReferralSent { referral: name, to_process: "q".to_owned() },
        10 => EventKind::ReferralAccepted { referral: name },
        12 | 13 => EventKind::FactRecorded { fact, value },
        _ => EventKind::CaseClosed { reason: "r".to_owned() },
    };
    Event {
        id: format!("e{id}"),
        case: format!("c{}", case % 3),
        occurred: Timestamp(time),
        recorded: Timestamp(time),
        role: "th".to_owned(),
        kind,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn any_sequence_of_events_is_applied_without_panic(
        raw in prop::collection::vec(
            (any::<u8>(), 0u16..40, prop_oneof![1 => Just(i64::MIN / 2), 1 => Just(i64::MAX / 2), 18 => -10_000_000_000i64..10_000_000_000], any::<u8>(), any::<u8>(), any::<u8>()),
            0..80,
        )
    ) {
        // Unique ids: a repeated id is a repeat, and the first to arrive would win.
        let events: Vec<Event> = raw
            .iter()
            .enumerate()
            .map(|(i, &(c, _, t, k, n, s))| event(c, i as u16, t, k, n, s))
            .collect();
        let mut forwards = projection();
        for e in &events {
            if forwards.check(e).is_ok() {
                forwards.apply(e, 0);
            }
        }
        for case in ["c0", "c1", "c2"] {
            for now in [i64::MIN / 2, 0, i64::MAX / 2] {
                let _ = forwards.case_status(case, now, Lang::Fi);
            }
        }
        let _ = forwards.segment_report(0);
        let _ = forwards.transition_report(-1_000_000_000, 1_000_000_000);
        let _ = forwards.completion_report(1_000_000_000);
        // The same events in reverse give the same state (when no case is opened twice, so
        // that both orders accept the same events).
        let mut backwards = projection();
        let mut accepted = 0;
        for e in events.iter().rev() {
            if backwards.check(e).is_ok() {
                backwards.apply(e, 0);
                accepted += 1;
            }
        }
        let mut openings: Vec<&str> = events
            .iter()
            .filter(|e| matches!(e.kind, EventKind::CaseOpened { .. }))
            .map(|e| e.case.as_str())
            .collect();
        openings.sort_unstable();
        let opened_once = openings.windows(2).all(|w| w[0] != w[1]);
        // Events of a case at the same moment keep their order of arrival, so only distinct
        // times are expected to commute.
        let mut moments: Vec<(&str, i64)> = events.iter().map(|e| (e.case.as_str(), e.occurred.0)).collect();
        moments.sort_unstable();
        let distinct = moments.windows(2).all(|w| w[0] != w[1]);
        if accepted == events.len() && opened_once && distinct {
            prop_assert_eq!(backwards.digest(), forwards.digest());
        }
    }

    #[test]
    fn any_text_is_read_without_panic(text in "\\PC{0,300}") {
        let key = PseudonymKey::new(vec![1; 32]).unwrap();
        let (events, errors) = parse_lines(&text, &key);
        prop_assert!(events.len() + errors.len() <= text.lines().count());
    }

    #[test]
    fn json_like_lines_are_read_without_panic(
        fields in prop::collection::vec(("[a-z_]{1,8}", "[ -~äöÅ]{0,14}"), 0..10)
    ) {
        let key = PseudonymKey::new(vec![1; 32]).unwrap();
        let body: Vec<String> = fields.iter().map(|(k, v)| format!("{k:?}:{v:?}")).collect();
        let line = format!("{{{}}}", body.join(","));
        let _ = parse_lines(&line, &key);
    }
}
