//! Executing cases: order, deviations, idempotency, late events, segment changes, deadlines,
//! completeness and the reports.

#![allow(clippy::unwrap_used)] // A test that cannot set up should fail loudly.

use polku_dsl::{Lang, SourceSet};
use polku_engine::case::{DeviationKind, StepState};
use polku_engine::event::{Event, EventKind, FactValue};
use polku_engine::projection::{Outcome, Projection, Rejection};
use polku_engine::time::Timestamp;

const MODEL: &str = r#"
rooli th "Terveydenhoitaja"
rooli lääkäri "Lääkäri"
segmentointi s "S" {
  segmentti kevyt "Kevyt"
  segmentti tiivis "Tiivis"
}
prosessi p "P" {
  segmentointi s
  vaihe alku "Alku" {
    askel arvio "Arvio" tekijä th määräaika 2 viikkoa tapauksen alusta lakisääteinen "L 1 §"
    askel lomake "Lomake" tekijä th valinnainen
  }
  vaihe tuki "Tuki" {
    askel käynti "Käynti" tekijä th määrä 2
    askel vastaanotto "Lääkärin vastaanotto" tekijä lääkäri määräaika 4 viikkoa askeleesta arvio
  }
  segmentti kevyt { poista vastaanotto "ei tarvetta" }
  segmentti tiivis { lisää askel verkosto "Verkostopalaveri" vaiheeseen tuki tekijä th }
}
"#;

const CLIENT: &str = "aa00000000000000000000000000000000000000000000000000000000000001";

fn projection() -> Projection {
    let mut sources = SourceSet::new();
    sources.add("m.polku", MODEL);
    let checked = polku_dsl::check(&sources, &[]);
    assert!(!checked.has_errors(), "{:?}", checked.diagnostics);
    let model = polku_engine::compile(&checked.files);
    Projection::new("v1", &model).unwrap()
}

fn at(day: i64) -> Timestamp {
    Timestamp(Timestamp::parse("2026-01-05").unwrap().0 + day * 86_400)
}

fn event(id: &str, case: &str, day: i64, kind: EventKind) -> Event {
    Event {
        id: id.to_owned(),
        case: case.to_owned(),
        occurred: at(day),
        recorded: at(day),
        role: "th".to_owned(),
        kind,
    }
}

fn opened(case: &str, segment: &str) -> Event {
    event(
        &format!("{case}-open"),
        case,
        0,
        EventKind::CaseOpened {
            client: CLIENT.to_owned(),
            process: "p".to_owned(),
            unit: "neuvola".to_owned(),
            segment: segment.to_owned(),
            born: None,
            due: None,
            pregnancy_start: None,
            facts: Default::default(),
        },
    )
}

fn done(id: &str, case: &str, day: i64, step: &str) -> Event {
    event(id, case, day, EventKind::StepCompleted { step: step.to_owned() })
}

fn apply(p: &mut Projection, e: &Event) -> Outcome {
    assert_eq!(p.check(e), Ok(true), "{e:?}");
    p.apply(e, 0)
}

fn state(p: &mut Projection, case: &str, step: &str, day: i64) -> StepState {
    let status = p.case_status(case, at(day).0, Lang::En).unwrap();
    status.steps.iter().find(|s| s.step == step).unwrap().state
}

#[test]
fn a_case_in_order_completes_and_says_what_is_missing_on_the_way() {
    let mut p = projection();
    apply(&mut p, &opened("c", "kevyt"));
    let status = p.case_status("c", at(1).0, Lang::En).unwrap();
    assert!(!status.complete);
    // The optional form comes after the assessment.
    assert_eq!(status.next, ["arvio"]);
    assert_eq!(status.current_phases[0].phase, "alku");
    assert!(
        status.missing[0].starts_with("Arvio: not done yet, deadline 2026-01-19"),
        "{:?}",
        status.missing
    );
    assert!(status.missing[0].ends_with("(statutory)"));
    // The removed step is not in the kevyt plan at all.
    assert!(status.steps.iter().all(|s| s.step != "vastaanotto"));
    assert_eq!(apply(&mut p, &done("1", "c", 3, "arvio")), Outcome::Applied(None));
    // The optional form can be skipped.
    assert_eq!(apply(&mut p, &done("2", "c", 5, "käynti")), Outcome::Applied(None));
    let status = p.case_status("c", at(6).0, Lang::En).unwrap();
    assert_eq!(status.missing, ["Käynti: 1 of 2 done"]);
    assert_eq!(state(&mut p, "c", "käynti", 6), StepState::InProgress);
    assert_eq!(apply(&mut p, &done("3", "c", 9, "käynti")), Outcome::Applied(None));
    let status = p.case_status("c", at(10).0, Lang::En).unwrap();
    assert!(status.complete, "{status:#?}");
    assert!(status.missing.is_empty());
    assert!(status.deviations.is_empty());
}

#[test]
fn deviations_are_recorded_and_named_never_dropped() {
    let mut p = projection();
    apply(&mut p, &opened("c", "tiivis"));
    // Out of order: a visit before the statutory assessment.
    let out = apply(&mut p, &done("1", "c", 1, "käynti"));
    assert_eq!(out, Outcome::Applied(Some(DeviationKind::OutOfOrder)));
    assert_eq!(state(&mut p, "c", "käynti", 2), StepState::InProgress);
    // The assessment afterwards: its place on the flow was passed.
    let out = apply(&mut p, &done("2", "c", 2, "arvio"));
    assert_eq!(out, Outcome::Applied(Some(DeviationKind::OutOfOrder)));
    assert_eq!(state(&mut p, "c", "arvio", 3), StepState::Done);
    // The second planned visit is in order; a third is more than planned.
    assert_eq!(apply(&mut p, &done("3", "c", 3, "käynti")), Outcome::Applied(None));
    let out = apply(&mut p, &done("4", "c", 4, "käynti"));
    assert_eq!(out, Outcome::Applied(Some(DeviationKind::Repeated)));
    assert_eq!(apply(&mut p, &done("5", "c", 5, "vastaanotto")), Outcome::Applied(None));
    // A step the process does not have.
    let out = apply(&mut p, &done("6", "c", 6, "tanssi"));
    assert_eq!(out, Outcome::Applied(Some(DeviationKind::UnknownStep)));
    let status = p.case_status("c", at(7).0, Lang::Fi).unwrap();
    let kinds: Vec<DeviationKind> = status.deviations.iter().map(|d| d.kind).collect();
    assert_eq!(
        kinds,
        [
            DeviationKind::OutOfOrder,
            DeviationKind::OutOfOrder,
            DeviationKind::Repeated,
            DeviationKind::UnknownStep
        ]
    );
    assert_eq!(status.events, 7);
}

#[test]
fn a_step_outside_the_segment_plan_is_a_deviation() {
    let mut p = projection();
    apply(&mut p, &opened("c", "kevyt"));
    apply(&mut p, &done("1", "c", 1, "arvio"));
    let out = apply(&mut p, &done("2", "c", 2, "vastaanotto"));
    assert_eq!(out, Outcome::Applied(Some(DeviationKind::NotInPlan)));
    assert_eq!(state(&mut p, "c", "vastaanotto", 3), StepState::Done);
}

#[test]
fn a_repeated_event_id_is_acknowledged_and_not_applied_twice() {
    let mut p = projection();
    apply(&mut p, &opened("c", "kevyt"));
    apply(&mut p, &done("1", "c", 1, "käynti"));
    let again = done("1", "c", 1, "käynti");
    assert_eq!(p.check(&again), Ok(false));
    assert_eq!(p.apply(&again, 0), Outcome::Duplicate);
    let status = p.case_status("c", at(2).0, Lang::En).unwrap();
    assert_eq!(status.steps.iter().find(|s| s.step == "käynti").unwrap().done, 1);
    assert_eq!(p.events, 2);
}

#[test]
fn unknown_processes_and_segments_are_refused_with_the_field() {
    let p = projection();
    let mut e = opened("c", "kevyt");
    if let EventKind::CaseOpened { process, .. } = &mut e.kind {
        *process = "q".to_owned();
    }
    assert_eq!(p.check(&e), Err(Rejection::UnknownProcess("q".to_owned())));
    let e = opened("c", "raskas");
    let error = p.check(&e).unwrap_err().to_string();
    assert!(error.starts_with("segment:") && error.contains("kevyt, tiivis"), "{error}");
}

#[test]
fn late_events_are_put_in_event_time_and_any_arrival_order_gives_the_same_state() {
    let events = vec![
        opened("c", "kevyt"),
        done("1", "c", 1, "arvio"),
        event("2", "c", 2, EventKind::StepStarted { step: "käynti".to_owned() }),
        done("3", "c", 3, "käynti"),
        event(
            "4",
            "c",
            4,
            EventKind::SegmentChanged {
                from: "kevyt".to_owned(),
                to: "tiivis".to_owned(),
                reason: "tuen tarve kasvoi".to_owned(),
                by: "th".to_owned(),
            },
        ),
        done("5", "c", 5, "käynti"),
        done("6", "c", 6, "vastaanotto"),
        // Added by the tiivis segment: off the flow, in order whenever the case is open.
        done("8", "c", 7, "verkosto"),
        event("7", "c", 9, EventKind::CaseClosed { reason: "valmis".to_owned() }),
    ];
    let mut in_order = projection();
    for e in &events {
        in_order.apply(e, 0);
    }
    let expected = in_order.digest();
    // Every rotation, and the reverse: the opening event arrives last in some of them.
    for shift in 0..events.len() {
        let mut p = projection();
        let mut order = events.clone();
        order.rotate_left(shift);
        for e in &order {
            p.apply(e, 0);
        }
        assert_eq!(p.digest(), expected, "rotation {shift}");
    }
    let mut p = projection();
    for e in events.iter().rev() {
        p.apply(e, 0);
    }
    assert_eq!(p.digest(), expected);
    let status = p.case_status("c", at(10).0, Lang::En).unwrap();
    assert!(status.complete, "{status:#?}");
    assert!(status.deviations.is_empty(), "{:#?}", status.deviations);
}

#[test]
fn a_segment_change_re_derives_the_plan_and_is_kept_as_a_transition() {
    let mut p = projection();
    apply(&mut p, &opened("c", "tiivis"));
    apply(&mut p, &done("1", "c", 1, "arvio"));
    apply(&mut p, &done("2", "c", 2, "verkosto"));
    let change = event(
        "3",
        "c",
        3,
        EventKind::SegmentChanged {
            from: "tiivis".to_owned(),
            to: "kevyt".to_owned(),
            reason: "tilanne kohentui".to_owned(),
            by: "th".to_owned(),
        },
    );
    assert_eq!(apply(&mut p, &change), Outcome::Applied(None));
    let status = p.case_status("c", at(4).0, Lang::En).unwrap();
    assert_eq!(status.segment, "kevyt");
    let step = |name: &str| status.steps.iter().find(|s| s.step == name).cloned();
    // Delivered steps stay; the doctor, which kevyt does not need, is optional now.
    let verkosto = step("verkosto").unwrap();
    assert_eq!(
        (verkosto.state, verkosto.required, verkosto.earlier_plan),
        (StepState::Done, false, true)
    );
    let doctor = step("vastaanotto").unwrap();
    assert!(!doctor.required && doctor.earlier_plan);
    assert_eq!(status.transitions.len(), 1);
    let t = &status.transitions[0];
    assert_eq!(
        (t.from.as_str(), t.to.as_str(), t.reason.as_str()),
        ("tiivis", "kevyt", "tilanne kohentui")
    );
    assert_eq!(status.missing, ["Käynti: 0 of 2 done"]);
    // A change whose `from` is wrong still counts and is marked.
    let wrong = event(
        "4",
        "c",
        5,
        EventKind::SegmentChanged {
            from: "tiivis".to_owned(),
            to: "tiivis".to_owned(),
            reason: "x".to_owned(),
            by: "th".to_owned(),
        },
    );
    assert_eq!(apply(&mut p, &wrong), Outcome::Applied(Some(DeviationKind::SegmentMismatch)));
    let status = p.case_status("c", at(6).0, Lang::En).unwrap();
    assert_eq!(status.segment, "tiivis");
    assert!(status.missing.iter().any(|m| m.starts_with("Lääkärin vastaanotto")));
}

#[test]
fn a_statutory_step_is_not_needed_only_with_a_reason_code() {
    let mut p = projection();
    apply(&mut p, &opened("c", "kevyt"));
    let without = event(
        "1",
        "c",
        1,
        EventKind::StepNotNeeded {
            step: "arvio".to_owned(),
            reason: "ei".to_owned(),
            reason_code: None,
        },
    );
    assert_eq!(
        apply(&mut p, &without),
        Outcome::Applied(Some(DeviationKind::StatutoryWithoutReasonCode))
    );
    assert_eq!(state(&mut p, "c", "arvio", 2), StepState::Pending);
    let with = event(
        "2",
        "c",
        2,
        EventKind::StepNotNeeded {
            step: "arvio".to_owned(),
            reason: "asiakas kieltäytyi".to_owned(),
            reason_code: Some("client_declined".to_owned()),
        },
    );
    assert_eq!(apply(&mut p, &with), Outcome::Applied(None));
    let status = p.case_status("c", at(3).0, Lang::Fi).unwrap();
    let arvio = status.steps.iter().find(|s| s.step == "arvio").unwrap();
    assert_eq!(arvio.state, StepState::NotNeeded);
    assert_eq!(arvio.note.as_deref(), Some("ei tarpeen: asiakas kieltäytyi"));
}

#[test]
fn deadlines_follow_their_anchors_and_overdue_steps_show() {
    let mut p = projection();
    apply(&mut p, &opened("c", "tiivis"));
    assert_eq!(state(&mut p, "c", "arvio", 13), StepState::Pending);
    // On the deadline's own day (2026-01-19) the step is not yet late, even in the evening.
    assert_eq!(state(&mut p, "c", "arvio", 14), StepState::Pending);
    let evening = Timestamp::parse("2026-01-19T23:30:00+02:00").unwrap().0;
    let status = p.case_status("c", evening, Lang::En).unwrap();
    assert_eq!(status.steps[0].state, StepState::Pending);
    assert_eq!(state(&mut p, "c", "arvio", 15), StepState::Overdue);
    let status = p.case_status("c", at(15).0, Lang::Fi).unwrap();
    assert!(status.missing[0].contains("myöhässä (määräaika 2026-01-19)"), "{:?}", status.missing);
    // The doctor's deadline runs from the assessment: none until it is done.
    let doctor = |p: &mut Projection, day| {
        p.case_status("c", at(day).0, Lang::En)
            .unwrap()
            .steps
            .into_iter()
            .find(|s| s.step == "vastaanotto")
            .unwrap()
    };
    assert_eq!(doctor(&mut p, 15).deadline, None);
    apply(&mut p, &done("1", "c", 20, "arvio"));
    assert_eq!(doctor(&mut p, 21).deadline.as_deref(), Some("2026-02-22T00:00:00+02:00"));
    let report = p.completion_report(at(60).0);
    let roles: Vec<(&str, u64)> =
        report.overdue.iter().map(|r| (r.role.as_str(), r.steps)).collect();
    assert_eq!(roles, [("lääkäri", 1)]);
}

#[test]
fn reports_count_segments_on_a_date_and_transitions_between_dates() {
    let mut p = projection();
    for (case, segment) in [("a", "kevyt"), ("b", "kevyt"), ("c", "tiivis")] {
        apply(&mut p, &opened(case, segment));
    }
    let change = event(
        "x",
        "b",
        10,
        EventKind::SegmentChanged {
            from: "kevyt".to_owned(),
            to: "tiivis".to_owned(),
            reason: "r".to_owned(),
            by: "th".to_owned(),
        },
    );
    apply(&mut p, &change);
    apply(&mut p, &event("y", "c", 20, EventKind::CaseClosed { reason: "muutto".to_owned() }));
    let day = |d: i64| at(d).0;
    let counts = |p: &Projection, d| {
        p.segment_report(day(d))
            .rows
            .iter()
            .map(|r| (r.segment.clone(), r.cases))
            .collect::<Vec<_>>()
    };
    assert_eq!(counts(&p, 5), [("kevyt".to_owned(), 2), ("tiivis".to_owned(), 1)]);
    assert_eq!(counts(&p, 15), [("kevyt".to_owned(), 1), ("tiivis".to_owned(), 2)]);
    assert_eq!(counts(&p, 25), [("kevyt".to_owned(), 1), ("tiivis".to_owned(), 1)]);
    let report = p.transition_report(day(5), day(25));
    let rows: Vec<(&str, &str, u64)> =
        report.rows.iter().map(|r| (r.from.as_str(), r.to.as_str(), r.cases)).collect();
    assert_eq!(rows, [("kevyt", "kevyt", 1), ("kevyt", "tiivis", 1), ("tiivis", "päättynyt", 1)]);
    let completion = p.completion_report(day(30));
    assert_eq!(completion.cases, 3);
    assert!(completion.rows.iter().all(|r| r.complete == 0));
}

#[test]
fn a_cancelled_start_leaves_the_step_to_do_and_its_successors_waiting() {
    let mut p = projection();
    apply(&mut p, &opened("c", "kevyt"));
    apply(&mut p, &event("1", "c", 1, EventKind::StepStarted { step: "arvio".to_owned() }));
    let cancelled = event(
        "2",
        "c",
        2,
        EventKind::StepCancelled { step: "arvio".to_owned(), reason: "ei saapunut".to_owned() },
    );
    assert_eq!(apply(&mut p, &cancelled), Outcome::Applied(None));
    let status = p.case_status("c", at(3).0, Lang::En).unwrap();
    assert_eq!(status.next, ["arvio"]);
    // The visit after it is still out of order, and the assessment, done later, is not.
    assert_eq!(
        apply(&mut p, &done("3", "c", 4, "käynti")),
        Outcome::Applied(Some(DeviationKind::OutOfOrder))
    );
    let mut q = projection();
    apply(&mut q, &opened("c", "kevyt"));
    apply(&mut q, &event("1", "c", 1, EventKind::StepStarted { step: "arvio".to_owned() }));
    apply(&mut q, &cancelled);
    assert_eq!(apply(&mut q, &done("3", "c", 5, "arvio")), Outcome::Applied(None));
    assert_eq!(apply(&mut q, &done("4", "c", 6, "käynti")), Outcome::Applied(None));
}

#[test]
fn a_phase_can_be_completed_before_or_while_it_is_worked_on() {
    let mut p = projection();
    apply(&mut p, &opened("c", "kevyt"));
    let phase = |id: &str, day, name: &str| {
        event(id, "c", day, EventKind::PhaseCompleted { phase: name.to_owned() })
    };
    // Completing the first phase at once: in order, and the next phase's steps come next.
    assert_eq!(apply(&mut p, &phase("1", 1, "alku")), Outcome::Applied(None));
    let status = p.case_status("c", at(2).0, Lang::En).unwrap();
    assert_eq!(status.next, ["käynti"]);
    // Its statutory step is still missing: completing a phase does not do its steps.
    assert!(status.missing.iter().any(|m| m.starts_with("Arvio")), "{:?}", status.missing);
    // Completing it again: it is behind the case now.
    assert_eq!(
        apply(&mut p, &phase("2", 3, "alku")),
        Outcome::Applied(Some(DeviationKind::OutOfOrder))
    );
    assert_eq!(apply(&mut p, &done("3", "c", 4, "käynti")), Outcome::Applied(None));
    assert_eq!(apply(&mut p, &phase("4", 5, "tuki")), Outcome::Applied(None));
}

#[test]
fn a_deadline_from_a_step_runs_from_when_it_was_done_as_planned() {
    const COUNTED: &str = r#"
rooli th "Terveydenhoitaja"
prosessi q "Q" {
  vaihe v "V" {
    askel a "A" tekijä th määrä 2
    askel b "B" tekijä th valinnainen
    askel c "C" tekijä th määräaika 1 viikko edellisestä
    askel d "D" tekijä th määräaika 2 viikkoa askeleesta a
  }
}
"#;
    let mut sources = SourceSet::new();
    sources.add("q.polku", COUNTED);
    let checked = polku_dsl::check(&sources, &[]);
    assert!(!checked.has_errors(), "{:?}", checked.diagnostics);
    let mut p = Projection::new("v", &polku_engine::compile(&checked.files)).unwrap();
    let mut open = opened("c", "x");
    if let EventKind::CaseOpened { process, segment, .. } = &mut open.kind {
        *process = "q".to_owned();
        *segment = String::new();
    }
    p.apply(&open, 0);
    p.apply(&done("1", "c", 1, "a"), 0);
    let deadline = |p: &mut Projection, step: &str| {
        let status = p.case_status("c", at(30).0, Lang::En).unwrap();
        status.steps.into_iter().find(|s| s.step == step).unwrap().deadline
    };
    // Done once of twice: no anchor yet.
    assert_eq!(deadline(&mut p, "d"), None);
    assert_eq!(deadline(&mut p, "c"), None);
    p.apply(&done("2", "c", 3, "a"), 0);
    // Two weeks from the second visit; the optional b, not done, is passed over.
    let day = |d: i64| Some(Timestamp(at(d).0).local_text());
    assert_eq!(deadline(&mut p, "d"), day(17));
    assert_eq!(deadline(&mut p, "c"), day(10));
}

#[test]
fn a_cancellation_is_shown_until_the_step_is_done() {
    let mut p = projection();
    apply(&mut p, &opened("c", "kevyt"));
    apply(&mut p, &event("1", "c", 1, EventKind::StepStarted { step: "arvio".to_owned() }));
    let reason = "asiakas ei saapunut".to_owned();
    apply(
        &mut p,
        &event("2", "c", 2, EventKind::StepCancelled { step: "arvio".to_owned(), reason }),
    );
    let note = |p: &mut Projection, day| {
        let status = p.case_status("c", at(day).0, Lang::Fi).unwrap();
        status.steps.into_iter().find(|s| s.step == "arvio").unwrap().note
    };
    assert_eq!(note(&mut p, 3).as_deref(), Some("peruttu: asiakas ei saapunut"));
    apply(&mut p, &done("3", "c", 4, "arvio"));
    assert_eq!(note(&mut p, 5), None);
}

#[test]
fn a_repeat_is_the_same_event_and_another_event_with_its_id_is_a_conflict() {
    let mut p = projection();
    let open = opened("c", "kevyt");
    assert_eq!(p.accept(&open, 0), Ok(Outcome::Applied(None)));
    let first = done("1", "c", 3, "arvio");
    assert_eq!(p.accept(&first, 0), Ok(Outcome::Applied(None)));
    let digest = p.digest();
    // The same event sent again, stamped anew by its sender: a repeat.
    let mut again = first.clone();
    again.recorded = at(4);
    assert_eq!(p.accept(&again, 0), Ok(Outcome::Duplicate));
    // Another event under the same id: a closing, another step, another time.
    let closing = event("1", "c", 5, EventKind::CaseClosed { reason: "valmis".into() });
    assert_eq!(p.accept(&closing, 0), Err(Rejection::Conflict("1".into())));
    assert_eq!(p.accept(&done("1", "c", 3, "käynti"), 0), Err(Rejection::Conflict("1".into())));
    assert_eq!(p.accept(&done("1", "c", 4, "arvio"), 0), Err(Rejection::Conflict("1".into())));
    assert_eq!(p.digest(), digest, "a conflict changes nothing");
    // An opening sent again is a repeat; with another segment or client it is a conflict.
    assert_eq!(p.accept(&open, 0), Ok(Outcome::Duplicate));
    let mut other = open.clone();
    if let EventKind::CaseOpened { segment, .. } = &mut other.kind {
        *segment = "tiivis".into();
    }
    assert_eq!(p.accept(&other, 0), Err(Rejection::Conflict("c-open".into())));
    assert!(p.case_status("c", at(6).0, Lang::En).unwrap().closed.is_none(), "still open");
}

const WINDOWS: &str = r#"
rooli th "Terveydenhoitaja"
rooli huoltaja "Huoltaja" asiakas
prosessi n "Neuvola" {
  vaihe esitiedot "Esitiedot" asiakas {
    askel lomake "Lomake" tekijä huoltaja määräaika 2 arkipäivää ennen askelta tarkastus
  }
  vaihe käynti "Käynti" {
    askel tarkastus "Tarkastus" tekijä th aikaisintaan ikä 4 kk määräaika ikä 5 kk
  }
}
"#;

#[test]
fn a_window_by_age_opens_and_closes_and_a_lead_time_counts_back_from_the_step_it_prepares() {
    let mut sources = SourceSet::new();
    sources.add("w.polku", WINDOWS);
    let checked = polku_dsl::check(&sources, &[]);
    assert!(!checked.has_errors(), "{:?}", checked.diagnostics);
    let model = polku_engine::compile(&checked.files);
    let mut p = Projection::new("v1", &model).unwrap();
    // Born on Wednesday 2026-01-07: the check is due between 7 May and 7 June.
    let born = Timestamp::parse("2026-01-07").unwrap().0;
    let mut open = event(
        "o",
        "w",
        0,
        EventKind::CaseOpened {
            client: CLIENT.to_owned(),
            process: "n".to_owned(),
            unit: "neuvola".to_owned(),
            segment: String::new(),
            born: Some("2026-01-07".to_owned()),
            due: None,
            pregnancy_start: None,
            facts: Default::default(),
        },
    );
    open.occurred = Timestamp(born + 30 * 86_400);
    open.recorded = open.occurred;
    apply(&mut p, &open);
    let now = Timestamp::parse("2026-03-02").unwrap().0;
    let status = p.case_status("w", now, Lang::Fi).unwrap();
    let step = |name: &str| status.steps.iter().find(|s| s.step == name).unwrap().clone();
    let check = step("tarkastus");
    assert_eq!(check.opens.as_deref(), Some("2026-05-07T00:00:00+03:00"));
    assert_eq!(check.deadline.as_deref(), Some("2026-06-07T00:00:00+03:00"));
    // Two working days before Sunday 7 June is Thursday 4 June.
    assert_eq!(step("lomake").deadline.as_deref(), Some("2026-06-04T00:00:00+03:00"));
    assert!(
        status.missing.iter().any(|m| m.contains("aikaisintaan 2026-05-07")),
        "{:?}",
        status.missing
    );
}

const FACTS: &str = r#"
rooli th "Terveydenhoitaja"
rooli odottaja "Odottaja" asiakas
tieto ensisynnyttäjä "Ensimmäinen raskaus"
tieto tulkki "Tulkki"
tieto sikiöitä "Sikiöiden määrä" luku
segmentointi s "S" {
  segmentti kevyt "Kevyt"
  segmentti tiivis "Tiivis"
}
prosessi ä "Äitiysneuvola" {
  segmentointi s
  vaihe käynti "Käynti" {
    askel tulkki "Tulkin varaus" tekijä th jos tulkki
    askel tarkastus "Tarkastus" tekijä th aikaisintaan rv 13 määräaika rv 18
    askel sydänäänet "Sydänäänet" tekijä th toistuu sikiöitä
    askel valmennus "Perhevalmennus" tekijä th jos ensisynnyttäjä
  }
  segmentti tiivis {
    lisää askel ryhmä "Vertaisryhmä" jälkeen valmennus tekijä th jos ei ensisynnyttäjä
  }
}
"#;

fn facts_projection() -> Projection {
    let mut sources = SourceSet::new();
    sources.add("f.polku", FACTS);
    let checked = polku_dsl::check(&sources, &[]);
    assert!(!checked.has_errors(), "{:?}", checked.diagnostics);
    Projection::new("v1", &polku_engine::compile(&checked.files)).unwrap()
}

fn opened_with(case: &str, segment: &str, facts: &[(&str, FactValue)]) -> Event {
    event(
        &format!("{case}-open"),
        case,
        0,
        EventKind::CaseOpened {
            client: CLIENT.to_owned(),
            process: "ä".to_owned(),
            unit: "äitiysneuvola".to_owned(),
            segment: segment.to_owned(),
            born: None,
            due: Some("2026-08-03".to_owned()),
            pregnancy_start: None,
            facts: facts.iter().map(|(f, v)| ((*f).to_owned(), *v)).collect(),
        },
    )
}

#[test]
fn facts_decide_which_steps_are_planned_and_how_often() {
    let mut p = facts_projection();
    let open = opened_with(
        "a",
        "kevyt",
        &[("ensisynnyttäjä", FactValue::Flag(true)), ("sikiöitä", FactValue::Number(2))],
    );
    assert_eq!(p.check(&open), Ok(true));
    apply(&mut p, &open);
    let status = p.case_status("a", at(1).0, Lang::En).unwrap();
    let names: Vec<&str> = status.steps.iter().map(|s| s.step.as_str()).collect();
    // No interpreter (the fact was not given: no), coaching for a first pregnancy, the heart
    // sounds once for each of the twins.
    assert_eq!(names, ["tarkastus", "sydänäänet", "valmennus"]);
    let twice = status.steps.iter().find(|s| s.step == "sydänäänet").unwrap();
    assert_eq!(twice.count, 2);
    let facts: Vec<(&str, FactValue)> =
        status.facts.iter().map(|f| (f.fact.as_str(), f.value)).collect();
    assert_eq!(
        facts,
        [
            ("ensisynnyttäjä", FactValue::Flag(true)),
            ("tulkki", FactValue::Flag(false)),
            ("sikiöitä", FactValue::Number(2))
        ]
    );
    // One visit done is not the two the twins need.
    apply(&mut p, &event("a1", "a", 2, EventKind::StepCompleted { step: "sydänäänet".into() }));
    let status = p.case_status("a", at(3).0, Lang::En).unwrap();
    assert!(status.missing.iter().any(|m| m.contains("1 of 2 done")), "{:?}", status.missing);

    // An interpreter turns out to be needed: the step joins the plan from then on.
    let recorded = event(
        "a2",
        "a",
        4,
        EventKind::FactRecorded { fact: "tulkki".into(), value: FactValue::Flag(true) },
    );
    assert_eq!(p.check(&recorded), Ok(true));
    apply(&mut p, &recorded);
    let status = p.case_status("a", at(5).0, Lang::En).unwrap();
    assert!(status.steps.iter().any(|s| s.step == "tulkki" && s.required), "{:?}", status.steps);

    // A segment's content follows the facts too: the peer group is for those who have given
    // birth before.
    let open = opened_with("b", "tiivis", &[("ensisynnyttäjä", FactValue::Flag(false))]);
    apply(&mut p, &open);
    let status = p.case_status("b", at(1).0, Lang::En).unwrap();
    let names: Vec<&str> = status.steps.iter().map(|s| s.step.as_str()).collect();
    assert_eq!(names, ["tarkastus", "sydänäänet", "ryhmä"]);
}

#[test]
fn a_fact_the_model_does_not_declare_or_of_the_wrong_kind_is_refused_with_its_field() {
    let mut p = facts_projection();
    let unknown = opened_with("a", "kevyt", &[("kaksoset", FactValue::Flag(true))]);
    let refused = p.check(&unknown).unwrap_err().to_string();
    assert!(
        refused.starts_with("facts.kaksoset: the model declares no fact kaksoset"),
        "{refused}"
    );
    let wrong = opened_with("a", "kevyt", &[("sikiöitä", FactValue::Flag(true))]);
    let refused = p.check(&wrong).unwrap_err().to_string();
    assert!(refused.starts_with("facts.sikiöitä: sikiöitä is a number fact"), "{refused}");
    apply(&mut p, &opened_with("a", "kevyt", &[]));
    let later = event(
        "x",
        "a",
        3,
        EventKind::FactRecorded { fact: "ensisynnyttäjä".into(), value: FactValue::Number(1) },
    );
    let refused = p.accept(&later, 0).unwrap_err().to_string();
    assert!(refused.starts_with("fact: ensisynnyttäjä is a yes-or-no fact"), "{refused}");
    assert!(matches!(p.accept(&later, 0), Err(Rejection::FlagExpected { .. })));
}

#[test]
fn deadlines_by_pregnancy_week_count_from_the_due_date() {
    let mut p = facts_projection();
    // Due on Monday 3 August 2026: the pregnancy started 280 days before, on 27 October 2025.
    apply(&mut p, &opened_with("a", "kevyt", &[]));
    let now = Timestamp::parse("2026-01-05T12:00:00+02:00").unwrap().0;
    let status = p.case_status("a", now, Lang::Fi).unwrap();
    let check = status.steps.iter().find(|s| s.step == "tarkastus").unwrap();
    // Week 13 opens on 26 January (13 × 7 days on); week 18 (2 to 8 March) ends on 8 March.
    assert_eq!(check.opens.as_deref(), Some("2026-01-26T00:00:00+02:00"));
    assert_eq!(check.deadline.as_deref(), Some("2026-03-08T00:00:00+02:00"));
    assert_eq!(check.deadline_rule.as_deref(), Some("rv 18"));
    // 5 January is day 70 of the pregnancy: week 10+0.
    assert_eq!(status.pregnancy_week.as_deref(), Some("10+0"));
    // Overdue only after the end of week 18.
    let late = Timestamp::parse("2026-03-09T09:00:00+02:00").unwrap().0;
    let status = p.case_status("a", late, Lang::Fi).unwrap();
    let check = status.steps.iter().find(|s| s.step == "tarkastus").unwrap();
    assert_eq!(check.state, StepState::Overdue);
    let onday = Timestamp::parse("2026-03-08T20:00:00+02:00").unwrap().0;
    let status = p.case_status("a", onday, Lang::Fi).unwrap();
    let check = status.steps.iter().find(|s| s.step == "tarkastus").unwrap();
    assert_eq!(check.state, StepState::Pending);
}

/// A reader who sees some units sees the client's cases there only: the status's cases and
/// units, and the explanation's cases; one who sees none of them sees nothing.
#[test]
fn a_reader_of_some_units_sees_the_cases_there_only() {
    use polku_engine::projection::UnitScope;
    let mut p = projection();
    let mut elsewhere = opened("b", "kevyt");
    elsewhere.id = "b-open".to_owned();
    if let EventKind::CaseOpened { unit, .. } = &mut elsewhere.kind {
        *unit = "perheneuvola".to_owned();
    }
    apply(&mut p, &opened("a", "tiivis"));
    apply(&mut p, &elsewhere);
    let now = at(3).0;
    let cases = |status: &polku_engine::projection::ClientStatus| -> Vec<String> {
        status.cases.iter().map(|c| c.case.clone()).collect()
    };
    let whole = p.client_status(CLIENT, now, Lang::En).unwrap();
    assert_eq!(cases(&whole), ["a", "b"]);
    assert_eq!(whole.units, ["neuvola", "perheneuvola"]);
    let neuvola = UnitScope::Only(vec!["neuvola".to_owned()].into());
    let seen = whole.clone().seen_by(&neuvola).unwrap();
    assert_eq!((cases(&seen), seen.units), (vec!["a".to_owned()], vec!["neuvola".to_owned()]));
    assert_eq!(whole.clone().seen_by(&UnitScope::All).map(|s| cases(&s)), Some(cases(&whole)));
    let nobody = UnitScope::Only(vec!["nuorisoasema".to_owned()].into());
    assert!(whole.seen_by(&nobody).is_none(), "a reader of no unit of the client sees nothing");
    let explained = |scope: &UnitScope| -> Vec<String> {
        let explanation = p.explain_in(CLIENT, now, None, scope).unwrap();
        explanation.cases.iter().map(|c| c.case.clone()).collect()
    };
    assert_eq!(explained(&UnitScope::All), ["a", "b"]);
    assert_eq!(explained(&neuvola), ["a"]);
    assert!(explained(&nobody).is_empty());
}
