//! Marker rules: which rule holds on a day, by priority, windows and counts.

#![allow(clippy::unwrap_used)] // A test that cannot set up should fail loudly.

use polku_dsl::SourceSet;

const MODEL: &str = r#"
segmentointi s "S" {
  segmentti a "A"
  segmentti b "B"
  segmentti c "C"
}
merkkisäännöt m "M" {
  segmentointi s
  säilytys 12 kk
  segmentti c kun käyntejä SPAT SPAT1331 vähintään 2 ikkuna 30 pv etusija 2
  segmentti b kun koodi ICD10 F3 ja merkki huoli ikkuna 60 pv etusija 1
  muuten a
}
"#;

fn rules() -> polku_engine::markers::MarkerRules {
    let mut sources = SourceSet::new();
    sources.add("m.polku", MODEL);
    let checked = polku_dsl::check(&sources, &[]);
    assert!(!checked.has_errors(), "{:?}", checked.diagnostics);
    polku_engine::compile(&checked.files).markers["m"].clone()
}

#[test]
fn the_rule_of_the_smaller_priority_wins_and_windows_count_back_from_the_day() {
    let m = rules();
    // Tried by priority: b (1) before c (2).
    assert_eq!(m.rules[0].segment, "b");
    let visit = m.counted_by("SPAT", "SPAT1331");
    let f32 = m.counted_by("ICD10", "F32.1");
    let worry = m.counted_by("merkki", "huoli");
    assert_eq!(m.counted_by("ICD10", "J06"), Vec::<u16>::new());
    // Visit codes and named markers match exactly; only the classifications cover the codes
    // under a code.
    assert_eq!(m.counted_by("SPAT", "SPAT13310"), Vec::<u16>::new());
    assert_eq!(m.counted_by("merkki", "huoli_peruttu"), Vec::<u16>::new());
    let day = 20_000;
    let rows = |list: &[(i64, &Vec<u16>)]| -> Vec<(i64, u16)> {
        list.iter().flat_map(|(d, cs)| cs.iter().map(move |c| (*d, *c))).collect()
    };
    // Two visits within 30 days: c.
    assert_eq!(m.propose(day, &rows(&[(day - 3, &visit), (day - 20, &visit)])).0, Some("c"));
    // One of them 30 days back is outside the window: nothing holds, so a.
    assert_eq!(m.propose(day, &rows(&[(day - 3, &visit), (day - 30, &visit)])).0, Some("a"));
    // Both conditions of b, and c too: b has the smaller priority.
    let both = rows(&[(day - 3, &visit), (day - 4, &visit), (day - 10, &f32), (day - 50, &worry)]);
    assert_eq!(m.propose(day, &both), (Some("b"), Some(0)));
    // b needs both: the diagnosis alone is not enough.
    assert_eq!(m.propose(day, &rows(&[(day - 10, &f32)])).0, Some("a"));
    // Rows after the day do not count.
    assert_eq!(m.propose(day, &rows(&[(day + 1, &visit), (day + 2, &visit)])).0, Some("a"));

    // The same from counts kept while reading: each row counted for the conditions whose
    // window holds it on the day.
    let counts = |list: &[(i64, &str, &str)]| {
        let mut counts = vec![0u32; m.conditions().count()];
        for (d, system, code) in list {
            let mut bits = m.counted_on(system, code, *d, day);
            while bits != 0 {
                counts[bits.trailing_zeros() as usize] += 1;
                bits &= bits - 1;
            }
        }
        counts
    };
    let near = counts(&[(day - 3, "SPAT", "SPAT1331"), (day - 20, "SPAT", "SPAT1331")]);
    assert_eq!(m.propose_counts(&near).0, Some("c"));
    let far = counts(&[(day - 3, "SPAT", "SPAT1331"), (day - 30, "SPAT", "SPAT1331")]);
    assert_eq!(m.propose_counts(&far).0, Some("a"));
    let all = counts(&[
        (day - 3, "SPAT", "SPAT1331"),
        (day - 4, "SPAT", "SPAT1331"),
        (day - 10, "ICD10", "F32.1"),
        (day - 50, "merkki", "huoli"),
    ]);
    assert_eq!(m.propose_counts(&all), (Some("b"), Some(0)));
    assert_eq!(m.propose_counts(&counts(&[(day + 1, "ICD10", "F32")])).0, Some("a"));
}

#[test]
fn a_professionals_decision_outranks_the_markers_for_calendar_months() {
    // Without `arvio voimassa`: twelve months.
    let m = rules();
    let at = polku_engine::time::Timestamp::parse("2026-01-31T10:00:00+02:00").unwrap();
    let expires = polku_engine::time::Timestamp(m.decision_expires(at.0));
    assert_eq!(expires.local_date_text(), "2027-01-31");
    // With it: calendar months (the day clamped to the month's end) and then days.
    let mut sources = SourceSet::new();
    sources.add(
        "m.polku",
        MODEL.replace("säilytys 12 kk", "säilytys 12 kk\n  arvio voimassa 1 kk 2 pv"),
    );
    let checked = polku_dsl::check(&sources, &[]);
    assert!(!checked.has_errors(), "{:?}", checked.diagnostics);
    let m = polku_engine::compile(&checked.files).markers["m"].clone();
    let expires = polku_engine::time::Timestamp(m.decision_expires(at.0));
    assert_eq!(expires.local_date_text(), "2026-03-02");
    // A word other than `voimassa` is named.
    let mut sources = SourceSet::new();
    sources.add("m.polku", MODEL.replace("säilytys 12 kk", "säilytys 12 kk\n  arvio 6 kk"));
    let checked = polku_dsl::check(&sources, &[]);
    assert!(
        checked
            .diagnostics
            .iter()
            .any(|d| d.message(polku_dsl::Lang::En).contains("arvio voimassa")),
        "{:?}",
        checked.diagnostics
    );
}
