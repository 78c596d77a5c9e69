//! Execution of one level-3 process: the token game over its compiled nets.
//!
//! The phase flow and each phase's step flow are flattened into one workflow net: a phase's
//! transition is replaced by its step net (the classical refinement, which keeps soundness).
//! Steps that a case does not have to do (optional ones, those outside its plan, those marked
//! not needed) fire silently, so the next required step becomes enabled without them.
//!
//! A case's position is a set of markings: every place the tokens may be after the events so
//! far, up to the silent moves still open. A step event fires the step's transition from
//! every marking where it is enabled; when it is enabled nowhere, real work has deviated from
//! the plan and the event still counts: the tokens jump as if the missing steps had been
//! skipped, and the event is marked out of order. Sets are interned, and each move is computed
//! once per (position, silent steps, step) and then looked up, so applying an event costs one
//! hash lookup on the hot path.
//!
//! Steps that a segment adds (`lisää askel`) are not on any flow: they are in order whenever
//! the case is open.

use std::collections::HashMap;

use crate::model::Process;
use crate::net::FxBuild;
use crate::plan::Plan;

/// A set of steps of one process, by index: the machine supports up to 128 steps.
pub type StepSet = u128;

/// The most steps (written and added) a process may have for execution.
pub const MAX_STEPS: usize = 128;

/// The most markings one position may hold; beyond it the position is cut (a model with that
/// much concurrency is beyond what the validation rules let through).
const MAX_MARKINGS: usize = 4096;

/// One step of a process, written or added by a segment.
#[derive(Debug, Clone)]
pub struct StepDef {
    pub name: String,
    pub title: String,
    pub phase: u16,
    /// Has a transition on the flow; added steps do not.
    pub on_flow: bool,
}

/// The most yes-or-no facts one process's plans may depend on (`jos`).
pub const MAX_FLAGS: usize = 6;

/// The highest value of a number fact (`toistuu`) the plans tell apart: more children than this
/// are planned as this many.
pub const MAX_PER: u32 = 8;

/// The facts a process's plans depend on, in a fixed order: the yes-or-no facts its conditions
/// name (`jos`), and the number fact its repetitions name (`toistuu`). A case's values of them
/// are its *valuation*: bit `i` for the `i`th yes-or-no fact, and above those bits the number
/// less one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FactSpace {
    pub flags: Vec<String>,
    pub number: Option<String>,
}

impl FactSpace {
    fn of(process: &Process) -> FactSpace {
        let mut space = FactSpace::default();
        for step in
            std::iter::once(&process.generic).chain(process.plans.values()).flat_map(|p| &p.steps)
        {
            if let Some(c) = &step.condition {
                if !space.flags.contains(&c.fact) {
                    space.flags.push(c.fact.clone());
                }
            }
            if let Some(per) = &step.per {
                space.number.get_or_insert_with(|| per.clone());
            }
        }
        space.flags.sort();
        space
    }

    /// How many valuations there are.
    pub fn size(&self) -> usize {
        (1usize << self.flags.len()) * if self.number.is_some() { MAX_PER as usize } else { 1 }
    }

    /// The valuation of a case whose facts are `value` (a yes-or-no fact as 0 or 1; a fact not
    /// given as `None`: no, or one).
    pub fn valuation(&self, value: impl Fn(&str) -> Option<u32>) -> u16 {
        let mut v = 0u16;
        for (i, flag) in self.flags.iter().enumerate() {
            if value(flag).is_some_and(|x| x != 0) {
                v |= 1 << i;
            }
        }
        if let Some(number) = &self.number {
            let n = value(number).unwrap_or(1).clamp(1, MAX_PER);
            v |= ((n - 1) as u16) << self.flags.len();
        }
        v
    }

    /// A valuation with one fact set: `None` when the plans do not depend on the fact.
    pub fn set(&self, valuation: u16, fact: &str, value: u32) -> Option<u16> {
        if let Some(i) = self.flags.iter().position(|f| f == fact) {
            return Some(if value != 0 { valuation | 1 << i } else { valuation & !(1 << i) });
        }
        if self.number.as_deref() == Some(fact) {
            let low = valuation & ((1 << self.flags.len()) - 1);
            let n = value.clamp(1, MAX_PER);
            return Some(low | ((n - 1) as u16) << self.flags.len());
        }
        None
    }

    /// The value of each fact in a valuation: a yes-or-no fact as 0 or 1.
    pub fn values(&self, valuation: u16) -> Vec<(&str, u32)> {
        let mut out: Vec<(&str, u32)> = self
            .flags
            .iter()
            .enumerate()
            .map(|(i, f)| (f.as_str(), u32::from(valuation >> i & 1)))
            .collect();
        if let Some(number) = &self.number {
            out.push((number.as_str(), u32::from(valuation >> self.flags.len()) + 1));
        }
        out
    }
}

/// A segment's plan as masks over the machine's steps.
#[derive(Debug, Clone)]
pub struct PlanMasks {
    pub planned: StepSet,
    pub required: StepSet,
    pub statutory: StepSet,
    /// How many times each step is done (`määrä`); 1 when not said.
    pub count: Vec<u8>,
    pub plan: Plan,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Label {
    Silent,
    Step(u16),
}

#[derive(Debug, Clone)]
struct FlatTransition {
    pre: Vec<u16>,
    post: Vec<u16>,
    label: Label,
}

/// What an event did to the tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Move {
    /// The step was enabled.
    InOrder,
    /// Enabled only by skipping steps the case still has to do.
    Forced,
    /// Not enabled at all (its place on the flow has been passed); the position is unchanged.
    NotEnabled,
}

type Marking = Box<[u8]>;

/// The executable form of one process.
#[derive(Debug, Clone)]
pub struct Machine {
    pub process: String,
    pub title: String,
    pub steps: Vec<StepDef>,
    pub step_index: HashMap<String, u16>,
    pub phases: Vec<(String, String)>,
    pub phase_index: HashMap<String, u16>,
    /// The steps of each phase.
    pub phase_steps: Vec<StepSet>,
    /// The steps on no flow: those segments add.
    pub off_flow: StepSet,
    /// Plans by segment; index 0 is the generic plan. With facts, each of these is the base
    /// of [`FactSpace::size`] plans, one per valuation: see [`Machine::masks`].
    pub plans: Vec<(Option<String>, PlanMasks)>,
    /// The facts the plans depend on.
    pub facts: FactSpace,
    /// The plan of each (base plan, valuation), made when first needed.
    variants: Box<[std::sync::OnceLock<PlanMasks>]>,
    places: usize,
    transitions: Vec<FlatTransition>,
    sink: u16,
    /// The places inside each phase's step net.
    phase_places: Vec<Vec<u16>>,
    positions: Vec<Box<[Marking]>>,
    position_ids: HashMap<Box<[Marking]>, u32, FxBuild>,
    moves: HashMap<(u32, StepSet, u32), (u32, Move), FxBuild>,
    /// The steps enabled at a position, by (position, silent steps).
    enabled: std::cell::RefCell<HashMap<(u32, StepSet), StepSet, FxBuild>>,
}

/// Why a process cannot be executed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MachineError {
    #[error("process {process} has {steps} steps; execution supports at most {MAX_STEPS}")]
    TooManySteps { process: String, steps: usize },
    #[error("process {process} has more than {max} places in its flows")]
    TooManyPlaces { process: String, max: usize },
    #[error(
        "the plans of process {process} depend on {flags} yes-or-no facts and {numbers} number facts; execution supports at most {MAX_FLAGS} and 1"
    )]
    TooManyFacts { process: String, flags: usize, numbers: usize },
}

struct Flattener {
    places: usize,
    transitions: Vec<FlatTransition>,
}

impl Flattener {
    fn place(&mut self) -> u16 {
        self.places += 1;
        (self.places - 1) as u16
    }
}

impl Machine {
    /// Compiles a process of the model for execution.
    pub fn new(process: &Process) -> Result<Machine, MachineError> {
        let phases: Vec<(String, String)> =
            process.phases.iter().map(|p| (p.name.clone(), p.title.clone())).collect();
        let phase_index: HashMap<String, u16> =
            phases.iter().enumerate().map(|(i, (n, _))| (n.clone(), i as u16)).collect();
        let mut steps = Vec::new();
        let mut step_index = HashMap::new();
        for (phase_at, phase) in process.phases.iter().enumerate() {
            for name in &phase.steps {
                let title = process.generic.step(name).map(|s| s.title.clone()).unwrap_or_default();
                step_index.insert(name.clone(), steps.len() as u16);
                steps.push(StepDef {
                    name: name.clone(),
                    title,
                    phase: phase_at as u16,
                    on_flow: true,
                });
            }
        }
        for plan in process.plans.values() {
            for step in &plan.steps {
                if !step_index.contains_key(&step.name) {
                    step_index.insert(step.name.clone(), steps.len() as u16);
                    steps.push(StepDef {
                        name: step.name.clone(),
                        title: step.title.clone(),
                        phase: phase_index.get(&step.phase).copied().unwrap_or(0),
                        on_flow: false,
                    });
                }
            }
        }
        if steps.len() > MAX_STEPS {
            return Err(MachineError::TooManySteps {
                process: process.name.clone(),
                steps: steps.len(),
            });
        }
        let mut phase_steps = vec![0 as StepSet; phases.len()];
        for (i, step) in steps.iter().enumerate() {
            if let Some(mask) = phase_steps.get_mut(usize::from(step.phase)) {
                *mask |= 1 << i;
            }
        }

        // Flatten: the phase net's places, then each phase's step net in place of the phase.
        let phase_net = &process.phase_flow.net;
        let mut flat = Flattener { places: phase_net.place_count(), transitions: Vec::new() };
        let mut phase_places = vec![Vec::new(); phases.len()];
        for t in phase_net.transitions() {
            let pre: Vec<u16> = phase_net.pre(t).iter().map(|p| p.index() as u16).collect();
            let post: Vec<u16> = phase_net.post(t).iter().map(|p| p.index() as u16).collect();
            let phase = phase_net.kind(t).label().and_then(|name| phase_index.get(name).copied());
            let Some(phase) = phase else {
                flat.transitions.push(FlatTransition { pre, post, label: Label::Silent });
                continue;
            };
            let phase_name = &phases[usize::from(phase)].0;
            let sub = process.step_flows.get(phase_name);
            let has_steps = !process.phases[usize::from(phase)].steps.is_empty();
            let (Some(sub), true) = (sub, has_steps) else {
                flat.transitions.push(FlatTransition { pre, post, label: Label::Silent });
                continue;
            };
            let sub_net = &sub.net;
            let offset = flat.places;
            for _ in 0..sub_net.place_count() {
                let p = flat.place();
                phase_places[usize::from(phase)].push(p);
            }
            let local = |p: crate::net::PlaceId| (offset + p.index()) as u16;
            for st in sub_net.transitions() {
                let label = sub_net
                    .kind(st)
                    .label()
                    .and_then(|name| step_index.get(name).copied())
                    .map_or(Label::Silent, Label::Step);
                flat.transitions.push(FlatTransition {
                    pre: sub_net.pre(st).into_iter().map(local).collect(),
                    post: sub_net.post(st).into_iter().map(local).collect(),
                    label,
                });
            }
            if let (Some(source), Some(sink)) = (sub_net.source(), sub_net.sink()) {
                flat.transitions.push(FlatTransition {
                    pre,
                    post: vec![local(source)],
                    label: Label::Silent,
                });
                flat.transitions.push(FlatTransition {
                    pre: vec![local(sink)],
                    post,
                    label: Label::Silent,
                });
            }
        }
        if flat.places > usize::from(u16::MAX) {
            return Err(MachineError::TooManyPlaces {
                process: process.name.clone(),
                max: usize::from(u16::MAX),
            });
        }
        let source = phase_net.source().map_or(0, |p| p.index() as u16);
        let sink = phase_net.sink().map_or(0, |p| p.index() as u16);

        let mut plans = vec![(None, masks(&process.generic, &step_index))];
        for (segment, plan) in &process.plans {
            plans.push((Some(segment.clone()), masks(plan, &step_index)));
        }
        let facts = FactSpace::of(process);
        let numbers = std::iter::once(&process.generic)
            .chain(process.plans.values())
            .flat_map(|p| &p.steps)
            .filter_map(|s| s.per.as_deref())
            .collect::<std::collections::BTreeSet<_>>()
            .len();
        let fits = (plans.len() * facts.size()) <= usize::from(u16::MAX) + 1;
        if facts.flags.len() > MAX_FLAGS || numbers > 1 || !fits {
            return Err(MachineError::TooManyFacts {
                process: process.name.clone(),
                flags: facts.flags.len(),
                numbers,
            });
        }
        let variants = if facts.size() > 1 {
            (0..plans.len() * facts.size()).map(|_| std::sync::OnceLock::new()).collect()
        } else {
            Box::default()
        };
        let off_flow = steps
            .iter()
            .enumerate()
            .filter(|(_, s)| !s.on_flow)
            .fold(0 as StepSet, |acc, (i, _)| acc | (1 << i));
        let mut machine = Machine {
            off_flow,
            process: process.name.clone(),
            title: process.title.clone(),
            steps,
            step_index,
            phases,
            phase_index,
            phase_steps,
            plans,
            facts,
            variants,
            places: flat.places,
            transitions: flat.transitions,
            sink,
            phase_places,
            positions: Vec::new(),
            position_ids: HashMap::default(),
            moves: HashMap::default(),
            enabled: Default::default(),
        };
        let mut start = vec![0u8; machine.places].into_boxed_slice();
        if let Some(slot) = start.get_mut(usize::from(source)) {
            *slot = 1;
        }
        machine.intern(vec![start]);
        Ok(machine)
    }

    /// The position every case starts from.
    pub const START: u32 = 0;

    /// The plan of a segment (its own, or the generic one) for a case whose facts are all
    /// no (valuation 0).
    pub fn plan_index(&self, segment: Option<&str>) -> u16 {
        let base = segment
            .and_then(|s| self.plans.iter().position(|(name, _)| name.as_deref() == Some(s)))
            .unwrap_or(0);
        (base * self.facts.size()) as u16
    }

    /// How many plans there are: every base plan for every valuation of the facts.
    pub fn plan_count(&self) -> usize {
        self.plans.len() * self.facts.size()
    }

    /// The same base plan as `plan` for a case with the facts of `valuation`.
    pub fn with_valuation(&self, plan: u16, valuation: u16) -> u16 {
        let size = self.facts.size() as u16;
        plan - plan % size + valuation % size
    }

    /// The valuation of the facts that `plan` is for.
    pub fn valuation(&self, plan: u16) -> u16 {
        plan % self.facts.size() as u16
    }

    /// The masks of a plan. With facts, the base plan is cut down to the steps whose
    /// conditions hold and each repeated step is counted once per unit of its number.
    pub fn masks(&self, plan: u16) -> &PlanMasks {
        let size = self.facts.size();
        if size == 1 {
            return &self.plans[usize::from(plan)].1;
        }
        let (base, valuation) = (usize::from(plan) / size, (usize::from(plan) % size) as u16);
        self.variants[usize::from(plan)].get_or_init(|| {
            let values = self.facts.values(valuation);
            let value = |fact: &str| values.iter().find(|(f, _)| *f == fact).map(|(_, v)| *v);
            let mut plan = self.plans[base].1.plan.clone();
            plan.steps.retain(|s| {
                s.condition.as_ref().is_none_or(|c| c.holds(value(&c.fact).unwrap_or(0) != 0))
            });
            for step in &mut plan.steps {
                if let Some(per) = &step.per {
                    step.count = step.count.saturating_mul(value(per).unwrap_or(1));
                }
            }
            masks(&plan, &self.step_index)
        })
    }

    fn intern(&mut self, mut markings: Vec<Marking>) -> u32 {
        markings.sort_unstable();
        markings.dedup();
        let key = markings.into_boxed_slice();
        if let Some(&id) = self.position_ids.get(&key) {
            return id;
        }
        let id = self.positions.len() as u32;
        self.positions.push(key.clone());
        self.position_ids.insert(key, id);
        id
    }

    fn silent(&self, label: Label, silent_steps: StepSet) -> bool {
        match label {
            Label::Silent => true,
            Label::Step(s) => silent_steps & (1 << s) != 0,
        }
    }

    fn enabled(t: &FlatTransition, m: &[u8]) -> bool {
        t.pre.iter().all(|&p| m[usize::from(p)] > 0)
    }

    fn fire(t: &FlatTransition, m: &[u8]) -> Marking {
        let mut next: Marking = m.into();
        for &p in &t.pre {
            next[usize::from(p)] -= 1;
        }
        for &p in &t.post {
            let slot = &mut next[usize::from(p)];
            *slot = slot.saturating_add(1);
        }
        next
    }

    /// Every marking reachable from `start` by silent moves.
    fn closure(&self, start: &[Marking], silent_steps: StepSet) -> Vec<Marking> {
        let mut seen: std::collections::HashSet<Marking, FxBuild> = start.iter().cloned().collect();
        let mut stack: Vec<Marking> = start.to_vec();
        while let Some(m) = stack.pop() {
            for t in &self.transitions {
                if self.silent(t.label, silent_steps) && Self::enabled(t, &m) {
                    let next = Self::fire(t, &m);
                    if seen.len() < MAX_MARKINGS && seen.insert(next.clone()) {
                        stack.push(next);
                    }
                }
            }
        }
        seen.into_iter().collect()
    }

    /// Fires `step` from `position`, the steps in `silent_steps` moving silently.
    pub fn step(&mut self, position: u32, silent_steps: StepSet, step: u16) -> (u32, Move) {
        let key = (position, silent_steps, u32::from(step));
        if let Some(&found) = self.moves.get(&key) {
            return found;
        }
        let result = self.compute_step(position, silent_steps, step);
        self.moves.insert(key, result);
        result
    }

    fn fire_label(&self, from: &[Marking], step: u16) -> Vec<Marking> {
        let mut out = Vec::new();
        for m in from {
            for t in &self.transitions {
                if t.label == Label::Step(step) && Self::enabled(t, m) {
                    out.push(Self::fire(t, m));
                }
            }
        }
        out
    }

    fn compute_step(&mut self, position: u32, silent_steps: StepSet, step: u16) -> (u32, Move) {
        let here = self.positions[position as usize].clone();
        let reachable = self.closure(&here, silent_steps);
        let fired = self.fire_label(&reachable, step);
        if !fired.is_empty() {
            return (self.intern(fired), Move::InOrder);
        }
        let all = self.closure(&here, StepSet::MAX);
        let fired = self.fire_label(&all, step);
        if !fired.is_empty() {
            return (self.intern(fired), Move::Forced);
        }
        (position, Move::NotEnabled)
    }

    /// Completes `phase` as a whole: its remaining steps are passed over. In order when the
    /// case is in the phase or can reach it by silent moves; not enabled when the phase is
    /// behind the case or out of its reach.
    pub fn complete_phase(
        &mut self,
        position: u32,
        silent_steps: StepSet,
        phase: u16,
    ) -> (u32, Move) {
        let label = u32::from(u16::MAX) + 1 + u32::from(phase);
        let key = (position, silent_steps, label);
        if let Some(&found) = self.moves.get(&key) {
            return found;
        }
        let here = self.positions[position as usize].clone();
        let inside = &self.phase_places[usize::from(phase)];
        let occupied = |m: &Marking| inside.iter().any(|&p| m[usize::from(p)] > 0);
        let mask = silent_steps | self.phase_steps[usize::from(phase)];
        // Where the case is, or can get to, inside the phase...
        let entered: Vec<Marking> =
            self.closure(&here, mask).into_iter().filter(|m| occupied(m)).collect();
        // ...and from there, out of it.
        let past: Vec<Marking> = if entered.is_empty() {
            Vec::new()
        } else {
            self.closure(&entered, mask).into_iter().filter(|m| !occupied(m)).collect()
        };
        let result = if past.is_empty() {
            (position, Move::NotEnabled)
        } else {
            (self.intern(past), Move::InOrder)
        };
        self.moves.insert(key, result);
        result
    }

    /// The steps enabled now, the steps in `silent_steps` moving silently.
    pub fn enabled_steps(&self, position: u32, silent_steps: StepSet) -> StepSet {
        if let Some(&known) = self.enabled.borrow().get(&(position, silent_steps)) {
            return known;
        }
        let found = self.compute_enabled(position, silent_steps);
        self.enabled.borrow_mut().insert((position, silent_steps), found);
        found
    }

    fn compute_enabled(&self, position: u32, silent_steps: StepSet) -> StepSet {
        let here = &self.positions[position as usize];
        let reachable = self.closure(here, silent_steps);
        let mut out: StepSet = 0;
        for m in &reachable {
            for t in &self.transitions {
                if let Label::Step(s) = t.label {
                    if Self::enabled(t, m) {
                        out |= 1 << s;
                    }
                }
            }
        }
        out
    }

    /// Whether the case can reach the end of the flow by silent moves alone.
    pub fn can_end(&self, position: u32, silent_steps: StepSet) -> bool {
        let here = &self.positions[position as usize];
        self.closure(here, silent_steps).iter().any(|m| self.is_final(m))
    }

    fn is_final(&self, m: &[u8]) -> bool {
        m.get(usize::from(self.sink)) == Some(&1)
            && m.iter().map(|&c| u32::from(c)).sum::<u32>() == 1
    }

    /// How many positions and moves are known (for memory figures).
    pub fn cache_size(&self) -> (usize, usize) {
        (self.positions.len(), self.moves.len())
    }

    /// The positions, for a snapshot.
    pub fn positions(&self) -> &[Box<[Marking]>] {
        &self.positions
    }

    /// Restores positions from a snapshot, in order; fails when they do not fit this machine.
    pub fn restore_positions(
        &mut self,
        positions: Vec<Vec<Vec<u8>>>,
    ) -> Result<(), PositionsMismatch> {
        if positions.is_empty() {
            return Err(PositionsMismatch::NoStart(self.process.clone()));
        }
        if positions.iter().flatten().any(|m| m.len() != self.places) {
            return Err(PositionsMismatch::OtherFlows(self.process.clone()));
        }
        self.positions.clear();
        self.position_ids.clear();
        self.moves.clear();
        self.enabled.borrow_mut().clear();
        for markings in positions {
            let boxed: Box<[Marking]> = markings.into_iter().map(Vec::into_boxed_slice).collect();
            self.position_ids.insert(boxed.clone(), self.positions.len() as u32);
            self.positions.push(boxed);
        }
        Ok(())
    }
}

/// Why a snapshot's positions do not fit a machine (by its process).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PositionsMismatch {
    #[error("the snapshot has no start position for {0}")]
    NoStart(String),
    #[error("a position of {0} does not fit its flows")]
    OtherFlows(String),
}

fn masks(plan: &Plan, index: &HashMap<String, u16>) -> PlanMasks {
    let mut out = PlanMasks {
        planned: 0,
        required: 0,
        statutory: 0,
        count: vec![1; index.len()],
        plan: plan.clone(),
    };
    for step in &plan.steps {
        let Some(&i) = index.get(&step.name) else { continue };
        out.planned |= 1 << i;
        if step.required {
            out.required |= 1 << i;
        }
        if step.statutory.is_some() {
            out.statutory |= 1 << i;
        }
        out.count[usize::from(i)] = step.count.clamp(1, 255) as u8;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use polku_dsl::SourceSet;

    pub(crate) fn process(source: &str) -> Process {
        let mut sources = SourceSet::new();
        sources.add("m.polku", source);
        let checked = polku_dsl::check(&sources, &[]);
        assert!(!checked.has_errors(), "{:?}", checked.diagnostics);
        let model = crate::compile(&checked.files);
        model.processes.into_values().next().unwrap()
    }

    const SEQUENCE: &str = r#"
rooli th "Terveydenhoitaja"
prosessi p "P" {
  vaihe v1 "V1" {
    askel a "A" tekijä th
    askel b "B" tekijä th valinnainen
    askel c "C" tekijä th
  }
  vaihe v2 "V2" {
    askel d "D" tekijä th
    askel e "E" tekijä th
    kulku (d & e)
  }
}
"#;

    #[test]
    fn steps_in_order_move_the_tokens_and_optional_steps_may_be_skipped() {
        let mut m = Machine::new(&process(SEQUENCE)).unwrap();
        let s = |m: &Machine, n: &str| m.step_index[n];
        let optional = 1u128 << s(&m, "b");
        let (p, mv) = m.step(Machine::START, optional, s(&m, "a"));
        assert_eq!(mv, Move::InOrder);
        assert_eq!(m.enabled_steps(p, optional), (1 << s(&m, "b")) | (1 << s(&m, "c")));
        let (p, mv) = m.step(p, optional, s(&m, "c"));
        assert_eq!(mv, Move::InOrder);
        // Parallel: d and e in either order.
        let (p, mv) = m.step(p, optional, s(&m, "e"));
        assert_eq!(mv, Move::InOrder);
        assert!(!m.can_end(p, optional));
        let (p, mv) = m.step(p, optional, s(&m, "d"));
        assert_eq!(mv, Move::InOrder);
        assert!(m.can_end(p, optional));
        // The same move again is a lookup.
        let (before, _) = m.cache_size();
        m.step(Machine::START, optional, s(&m, "a"));
        assert_eq!(m.cache_size().0, before);
    }

    #[test]
    fn a_step_out_of_order_is_forced_and_a_passed_one_is_not_enabled() {
        let mut m = Machine::new(&process(SEQUENCE)).unwrap();
        let c = m.step_index["c"];
        let a = m.step_index["a"];
        let (p, mv) = m.step(Machine::START, 0, c);
        assert_eq!(mv, Move::Forced);
        let (q, mv) = m.step(p, 0, a);
        assert_eq!((q, mv), (p, Move::NotEnabled));
        let (_, mv) = m.complete_phase(Machine::START, 0, 1);
        assert_eq!(mv, Move::NotEnabled, "the first phase's required steps stand in between");
        let (q, mv) = m.complete_phase(Machine::START, 0, 0);
        assert_eq!(mv, Move::InOrder, "a phase not yet started can be completed as a whole");
        assert_eq!(m.enabled_steps(q, 0), (1 << m.step_index["d"]) | (1 << m.step_index["e"]));
        let (p, mv) = m.complete_phase(p, 0, 0);
        assert_eq!(mv, Move::InOrder, "c was the first phase's last step");
        assert_eq!(m.enabled_steps(p, 0), (1 << m.step_index["d"]) | (1 << m.step_index["e"]));
    }
}
