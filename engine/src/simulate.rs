//! Synthetic event streams that play a model forward: clients in segments, cases in the
//! model's processes, steps in the order their flows allow, with the things real work does
//! too (segment changes, steps not needed, steps done out of order, events that arrive late,
//! senders that send an event twice). Deterministic for a seed.
//!
//! Clients are given artificial personal identity codes (individual numbers 900–999, the range
//! reserved for such use), so a stream exercises the pseudonymisation on the way in.

use std::collections::BTreeMap;

use crate::event::{Event, EventKind, FactValue};
use crate::exec::StepSet;
use crate::model::Model;
use crate::projection::{Outcome, Projection};
use crate::time::{civil_from_days, Timestamp};

/// What to simulate.
#[derive(Debug, Clone)]
pub struct Options {
    pub clients: u32,
    pub days: u32,
    pub seed: u64,
    /// The first day, as a time.
    pub start: Timestamp,
}

/// A small, fast, seeded generator (SplitMix64).
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x9e37_79b9_7f4a_7c15)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n` > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }
}

/// A valid artificial personal identity code for a date of birth (days since 1970).
pub fn artificial_identity_code(born_day: i64, rng: &mut Rng) -> String {
    let (year, month, day) = civil_from_days(born_day);
    let century = match year {
        ..=1899 => '+',
        1900..=1999 => '-',
        _ => 'A',
    };
    let individual = 900 + rng.below(100);
    let number = (day as u64) * 10_000_000
        + (month as u64) * 100_000
        + ((year % 100) as u64) * 1000
        + individual;
    let check = b"0123456789ABCDEFHJKLMNPRSTUVWXY"[(number % 31) as usize] as char;
    format!("{day:02}{month:02}{:02}{century}{individual:03}{check}", year % 100)
}

/// Segment weights: most clients manage with the basic service, few need the most.
const SEGMENT_WEIGHTS: [u64; 4] = [70, 20, 7, 3];

fn pick_weighted(rng: &mut Rng, n: usize) -> usize {
    let weights: Vec<u64> = (0..n).map(|i| SEGMENT_WEIGHTS.get(i).copied().unwrap_or(3)).collect();
    let total: u64 = weights.iter().sum();
    let mut x = rng.below(total);
    for (i, w) in weights.iter().enumerate() {
        if x < *w {
            return i;
        }
        x -= w;
    }
    0
}

const DAY: i64 = 86_400;

struct Emitter<'a> {
    projection: &'a mut Projection,
    out: Vec<Event>,
    version: u16,
}

impl Emitter<'_> {
    fn emit(&mut self, event: Event) {
        let outcome = self.projection.apply(&event, self.version);
        debug_assert!(outcome != Outcome::Duplicate);
        self.out.push(event);
    }
}

/// Why a model cannot be simulated.
#[derive(Debug, thiserror::Error)]
pub enum SimulateError {
    #[error(transparent)]
    Machine(#[from] crate::exec::MachineError),
    #[error("the model has no processes to simulate")]
    NoProcesses,
}

/// Plays the model forward. Returns the events in the order they were recorded, as a sender
/// would deliver them.
pub fn simulate(model: &Model, hash: &str, options: &Options) -> Result<Vec<Event>, SimulateError> {
    let mut projection = Projection::new(hash, model)?;
    let mut rng = Rng::new(options.seed);
    let processes: Vec<&crate::model::Process> = model.processes.values().collect();
    if processes.is_empty() {
        return Err(SimulateError::NoProcesses);
    }
    let start = options.start.0;
    let horizon = start + i64::from(options.days) * DAY;
    let mut emitter = Emitter { projection: &mut projection, out: Vec::new(), version: 0 };
    let today = start.div_euclid(DAY);
    for client_no in 0..options.clients {
        let age_days = rng.below(18 * 365) as i64;
        let born_day = today - age_days;
        let code = artificial_identity_code(born_day, &mut rng);
        let (by, bm, bd) = civil_from_days(born_day);
        let born = format!("{by:04}-{bm:02}-{bd:02}");
        let cases = 1 + usize::from(rng.chance(0.3)) + usize::from(rng.chance(0.1));
        for case_no in 0..cases {
            let process = processes[rng.below(processes.len() as u64) as usize];
            let case_id = format!("k{client_no}-{case_no}");
            let opened = start
                + rng.below(u64::from(options.days.max(1))) as i64 * DAY
                + 8 * 3600
                + rng.below(8 * 3600) as i64;
            simulate_case(
                &mut emitter,
                &mut rng,
                model,
                process,
                &case_id,
                &code,
                &born,
                opened,
                horizon,
            );
        }
    }
    let mut events = emitter.out;
    events.sort_by_key(|e| e.recorded);
    // A sender now and then sends an event twice.
    let mut repeated = Vec::with_capacity(events.len() + events.len() / 100);
    for event in events {
        let twice = rng.chance(0.005);
        if twice {
            repeated.push(event.clone());
        }
        repeated.push(event);
    }
    Ok(repeated)
}

#[allow(clippy::too_many_arguments)]
fn simulate_case(
    emitter: &mut Emitter<'_>,
    rng: &mut Rng,
    model: &Model,
    process: &crate::model::Process,
    case_id: &str,
    code: &str,
    born: &str,
    opened: i64,
    horizon: i64,
) {
    let segments: Vec<String> = process
        .segmentation
        .as_deref()
        .and_then(|s| model.segmentations.get(s))
        .map(|s| s.segments.clone())
        .unwrap_or_default();
    let mut segment_at = if segments.is_empty() { 0 } else { pick_weighted(rng, segments.len()) };
    let segment = segments.get(segment_at).cloned().unwrap_or_default();
    let plan = process.plan(Some(&segment));
    let responsible = plan
        .responsible
        .clone()
        .or_else(|| plan.steps.iter().find_map(|s| s.roles.first().cloned()))
        .unwrap_or_else(|| "työntekijä".to_owned());
    let mut sequence = 0u32;
    let mut t = opened;
    let next_id = |sequence: &mut u32| {
        *sequence += 1;
        format!("{case_id}-e{sequence}")
    };
    let event = |rng: &mut Rng, id: String, at: i64, role: &str, kind: EventKind| {
        // Most events are recorded within the hour; a few days late now and then.
        let delay = if rng.chance(0.02) {
            (2 + rng.below(20) as i64) * DAY
        } else {
            60 + rng.below(3600) as i64
        };
        Event {
            id,
            case: case_id.to_owned(),
            occurred: Timestamp(at),
            recorded: Timestamp(at + delay),
            role: role.to_owned(),
            kind,
        }
    };
    let unit = process.service.clone().unwrap_or_else(|| process.name.clone());
    // What a record system knows on opening, where the plans depend on it: the facts they
    // name (a few cases each; now and then twins), and the due date of a pregnancy.
    let mut facts = BTreeMap::new();
    let all_plans = || std::iter::once(&process.generic).chain(process.plans.values());
    for step in all_plans().flat_map(|p| &p.steps) {
        if let Some(c) = &step.condition {
            if !facts.contains_key(&c.fact) {
                facts.insert(c.fact.clone(), FactValue::Flag(rng.chance(0.3)));
            }
        }
        if let Some(per) = &step.per {
            if !facts.contains_key(per) {
                facts.insert(per.clone(), FactValue::Number(1 + u32::from(rng.chance(0.02))));
            }
        }
    }
    let by_week = all_plans()
        .flat_map(|p| &p.steps)
        .flat_map(|s| s.deadline.iter().chain(&s.earliest))
        .any(|d| d.anchor == polku_dsl::ast::Anchor::PregnancyWeek);
    let due = by_week.then(|| {
        // Opened in weeks 6 to 12 of the pregnancy.
        let due = Timestamp(opened).add_days(280 - 42 - rng.below(43) as i64);
        let (y, m, d) = due.local_date();
        format!("{y:04}-{m:02}-{d:02}")
    });
    let id = next_id(&mut sequence);
    emitter.emit(event(
        rng,
        id,
        t,
        &responsible,
        EventKind::CaseOpened {
            client: code.to_owned(),
            process: process.name.clone(),
            unit,
            segment: segment.clone(),
            born: (!by_week).then(|| born.to_owned()),
            due,
            pregnancy_start: None,
            facts,
        },
    ));
    let change_at = rng.chance(0.12).then(|| 2 + rng.below(6) as usize);
    for round in 0..400usize {
        let Some(&index) = emitter.projection.case_index.get(case_id) else { return };
        let case = &emitter.projection.cases[index as usize];
        let Some(rt) = case.rt.clone() else { return };
        let Some(exec) = emitter
            .projection
            .versions
            .get(usize::from(case.version))
            .and_then(|v| v.execs.get(usize::from(case.exec)))
        else {
            return;
        };
        let machine = &exec.machine;
        let masks = &machine.masks(rt.plan);
        let todo: StepSet = masks.planned & !rt.satisfied & !rt.skipped;
        if rt.missing(machine) == 0 {
            t += (1 + rng.below(14) as i64) * DAY;
            if t < horizon {
                let id = next_id(&mut sequence);
                emitter.emit(event(
                    rng,
                    id,
                    t,
                    &responsible,
                    EventKind::CaseClosed { reason: "suunniteltu palvelu toteutunut".to_owned() },
                ));
            }
            return;
        }
        if Some(round) == change_at && segments.len() > 1 {
            // The client moves to a neighbouring segment.
            let to = if segment_at == 0 || (segment_at + 1 < segments.len() && rng.chance(0.6)) {
                segment_at + 1
            } else {
                segment_at - 1
            };
            t += (1 + rng.below(10) as i64) * DAY;
            if t >= horizon {
                return;
            }
            let id = next_id(&mut sequence);
            let kind = EventKind::SegmentChanged {
                from: segments[segment_at].clone(),
                to: segments[to].clone(),
                reason: if to > segment_at {
                    "tuen tarve kasvoi".to_owned()
                } else {
                    "tilanne kohentui".to_owned()
                },
                by: responsible.clone(),
            };
            segment_at = to;
            emitter.emit(event(rng, id, t, &responsible, kind));
            continue;
        }
        let enabled = machine.enabled_steps(rt.position, rt.silent(machine));
        let mut candidates = todo & (enabled | (machine.off_flow & !rt.fired));
        if candidates == 0 || rng.chance(0.01) {
            // Real work: a step done before its turn.
            candidates = todo;
        }
        if candidates == 0 {
            return;
        }
        let choices: Vec<usize> =
            (0..machine.steps.len()).filter(|i| candidates & (1 << i) != 0).collect();
        let step = choices[rng.below(choices.len() as u64) as usize];
        let name = machine.steps[step].name.clone();
        let planned = masks.plan.step(&name).cloned();
        let required = masks.required & (1 << step) != 0;
        let done_before = rt.done[step];
        let role = planned
            .as_ref()
            .and_then(|p| p.roles.first().cloned())
            .unwrap_or_else(|| responsible.clone());
        let gap = planned
            .as_ref()
            .and_then(|p| p.interval.as_ref().filter(|_| done_before > 0))
            .map_or(1 + rng.below(21) as i64, |i| {
                (crate::plan::approximate_days(i).round() as i64).max(1)
            });
        t += gap * DAY + rng.below(4 * 3600) as i64;
        if t >= horizon {
            return;
        }
        if !required && rng.chance(0.4) {
            let id = next_id(&mut sequence);
            let kind = EventKind::StepNotNeeded {
                step: name,
                reason: "ei tarvetta asiakkaan tilanteessa".to_owned(),
                reason_code: None,
            };
            emitter.emit(event(rng, id, t, &role, kind));
            continue;
        }
        if rng.chance(0.25) {
            let id = next_id(&mut sequence);
            emitter.emit(event(rng, id, t, &role, EventKind::StepStarted { step: name.clone() }));
            t += rng.below(2 * DAY as u64) as i64;
            if rng.chance(0.05) {
                let id = next_id(&mut sequence);
                let kind = EventKind::StepCancelled {
                    step: name,
                    reason: "asiakas ei saapunut".to_owned(),
                };
                emitter.emit(event(rng, id, t, &role, kind));
                continue;
            }
        }
        // A referral to another unit's process starts a case there; one to a service of
        // another provider leaves the model.
        let referral = planned
            .as_ref()
            .and_then(|p| p.referral.clone())
            .filter(|target| model.processes.contains_key(target));
        let id = next_id(&mut sequence);
        emitter.emit(event(rng, id, t, &role, EventKind::StepCompleted { step: name }));
        if let Some(to_process) = referral {
            let referral = format!("{case_id}-o{sequence}");
            let id = next_id(&mut sequence);
            let kind = EventKind::ReferralSent { referral: referral.clone(), to_process };
            emitter.emit(event(rng, id, t, &role, kind));
            let answered = t + (1 + rng.below(10) as i64) * DAY;
            if answered < horizon {
                let id = next_id(&mut sequence);
                let kind = if rng.chance(0.85) {
                    EventKind::ReferralAccepted { referral }
                } else {
                    EventKind::ReferralDeclined {
                        referral,
                        reason: "ei vastaanoton kriteerejä".to_owned(),
                    }
                };
                emitter.emit(event(rng, id, answered, &role, kind));
            }
        }
    }
}

/// How many events of each type a stream has, for a summary.
pub fn counts(events: &[Event]) -> BTreeMap<&'static str, usize> {
    let mut out = BTreeMap::new();
    for e in events {
        let name = e.kind.name();
        *out.entry(name).or_default() += 1;
    }
    out
}
