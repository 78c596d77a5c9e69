//! Turns the flows of a block (`kulku` statements over phases, steps or tasks) into one
//! workflow net.
//!
//! Each element becomes a transition between its own input and output place, and each arrow a
//! silent transition from one element's output place to the next one's input place. So an
//! element with several arrows out is an exclusive choice, and one with several arrows in an
//! exclusive merge, as BPMN's implicit gateways are; several `kulku` statements therefore
//! describe one graph. A parallel group adds a silent split and a silent join, a choice group a
//! place to choose from and one to merge into, and a `toista` loop a silent transition back to
//! the loop's start. The case starts where the first statement starts and ends wherever a
//! statement runs out (an exit nothing continues from). Without any `kulku` the elements follow
//! each other in the order written.

use polku_dsl::hash::FastMap as HashMap;

use polku_dsl::ast::{Flow, Name};

use crate::net::{Net, PlaceId, TransitionId, TransitionKind};

/// A net built from flows, with the transition of each element.
#[derive(Debug, Clone)]
pub struct FlowNet {
    pub net: Net,
    pub elements: HashMap<String, TransitionId>,
    /// For each parallel join, the first element of the branch that feeds each input place.
    pub join_inputs: HashMap<TransitionId, Vec<(PlaceId, String)>>,
}

fn first_name(flow: &Flow) -> String {
    flow.names().first().map(|n| n.text.clone()).unwrap_or_default()
}

/// A place or transition under construction: places are numbers until [`materialise`].
struct Pending {
    kind: TransitionKind,
    inputs: Vec<usize>,
    outputs: Vec<usize>,
}

struct Builder {
    /// The element (or branch) a place belongs to, for messages.
    place_owner: Vec<Option<String>>,
    transitions: Vec<Pending>,
    elements: HashMap<String, (usize, usize)>,
    /// Per join (by index into `transitions`): each input place and its branch's first element.
    joins: Vec<(usize, Vec<(usize, String)>)>,
}

impl Builder {
    fn place(&mut self, owner: Option<&str>) -> usize {
        self.place_owner.push(owner.map(str::to_owned));
        self.place_owner.len() - 1
    }

    fn transition(
        &mut self,
        kind: TransitionKind,
        inputs: Vec<usize>,
        outputs: Vec<usize>,
    ) -> usize {
        self.transitions.push(Pending { kind, inputs, outputs });
        self.transitions.len() - 1
    }

    fn element(&mut self, name: &str) -> (usize, usize) {
        if let Some(&places) = self.elements.get(name) {
            return places;
        }
        let input = self.place(Some(name));
        let output = self.place(Some(name));
        self.transition(TransitionKind::Element(name.to_owned()), vec![input], vec![output]);
        self.elements.insert(name.to_owned(), (input, output));
        (input, output)
    }

    /// A silent arrow from one place to another.
    fn arrow(&mut self, from: usize, to: usize) {
        self.transition(TransitionKind::Arrow, vec![from], vec![to]);
    }

    /// Builds a flow; returns its entry and exit place.
    fn flow(&mut self, flow: &Flow) -> (usize, usize) {
        match flow {
            Flow::Name(name) => self.element(&name.text),
            Flow::Sequence(items) => {
                let mut ends: Option<(usize, usize)> = None;
                for item in items {
                    let (entry, exit) = self.flow(item);
                    ends = Some(match ends {
                        None => (entry, exit),
                        Some((first, previous)) => {
                            self.arrow(previous, entry);
                            (first, exit)
                        }
                    });
                }
                ends.unwrap_or_else(|| {
                    let place = self.place(None);
                    (place, place)
                })
            }
            Flow::Parallel(branches) => {
                let entry = self.place(None);
                let exit = self.place(None);
                let names: Vec<String> = branches.iter().map(first_name).collect();
                let mut starts = Vec::new();
                let mut fed = Vec::new();
                for (branch, name) in branches.iter().zip(&names) {
                    let (branch_entry, branch_exit) = self.flow(branch);
                    // Each branch gets its own places next to the split and the join, so that a
                    // branch used elsewhere too cannot blur which input the join waits for.
                    let start = self.place(Some(name));
                    self.arrow(start, branch_entry);
                    let done = self.place(Some(name));
                    self.arrow(branch_exit, done);
                    starts.push(start);
                    fed.push((done, name.to_string()));
                }
                self.transition(TransitionKind::Split(names.clone()), vec![entry], starts);
                let inputs = fed.iter().map(|(p, _)| *p).collect();
                let join = self.transition(TransitionKind::Join(names), inputs, vec![exit]);
                self.joins.push((join, fed));
                (entry, exit)
            }
            Flow::Choice(branches) => {
                let entry = self.place(None);
                let exit = self.place(None);
                for branch in branches {
                    let (branch_entry, branch_exit) = self.flow(&branch.flow);
                    self.arrow(entry, branch_entry);
                    self.arrow(branch_exit, exit);
                }
                (entry, exit)
            }
            Flow::Repeat { body, .. } => {
                let (entry, exit) = self.flow(body);
                self.transition(TransitionKind::Redo, vec![exit], vec![entry]);
                (entry, exit)
            }
        }
    }
}

/// Union-find over the builder's places.
struct Classes(Vec<usize>);

impl Classes {
    fn find(&mut self, mut p: usize) -> usize {
        while self.0[p] != p {
            self.0[p] = self.0[self.0[p]];
            p = self.0[p];
        }
        p
    }
}

/// Fuses the two places of every arrow that is the only way out of the one and the only way
/// into the other: the arrow then does nothing but wait, and dropping it keeps soundness while
/// keeping the state space small.
fn fuse(builder: &Builder, protected: &[usize]) -> (Classes, Vec<bool>) {
    let places = builder.place_owner.len();
    let mut classes = Classes((0..places).collect());
    let mut consumers = vec![0usize; places];
    let mut producers = vec![0usize; places];
    for t in &builder.transitions {
        t.inputs.iter().for_each(|&p| consumers[p] += 1);
        t.outputs.iter().for_each(|&p| producers[p] += 1);
    }
    let mut removed = vec![false; builder.transitions.len()];
    for (index, t) in builder.transitions.iter().enumerate() {
        if let (TransitionKind::Arrow, [from], [to]) =
            (&t.kind, t.inputs.as_slice(), t.outputs.as_slice())
        {
            let (from, to) = (*from, *to);
            let (a, b) = (classes.find(from), classes.find(to));
            let fusable = consumers[from] == 1
                && producers[to] == 1
                && a != b
                && !(protected.contains(&from) && protected.contains(&to));
            if fusable {
                classes.0[b] = a;
                removed[index] = true;
            }
        }
    }
    (classes, removed)
}

/// Builds the net of a block: `elements` in the order written, `flows` its `kulku` statements.
pub fn build(elements: &[&Name], flows: &[&Flow]) -> FlowNet {
    let mut builder = Builder {
        place_owner: Vec::new(),
        transitions: Vec::new(),
        elements: HashMap::default(),
        joins: Vec::new(),
    };
    for element in elements {
        builder.element(&element.text);
    }
    let source = builder.place(None);
    let sink = builder.place(None);
    let built: Vec<(usize, usize)> = if flows.is_empty() {
        let sequence: Vec<Flow> = elements.iter().map(|n| Flow::Name((*n).clone())).collect();
        vec![builder.flow(&Flow::Sequence(sequence))]
    } else {
        flows.iter().map(|flow| builder.flow(flow)).collect()
    };
    builder.transition(TransitionKind::Start, vec![source], vec![built[0].0]);
    // The case ends wherever a statement runs out: at an exit that nothing continues from. A
    // `toista` loop going round again does not continue the flow: a statement that ends in a
    // loop ends after it. Where every exit is continued (a flow that only loops), the first
    // statement's exit is the end, and the soundness check tells what cannot reach it.
    let mut continued = vec![false; builder.place_owner.len()];
    for t in builder.transitions.iter().filter(|t| t.kind != TransitionKind::Redo) {
        t.inputs.iter().for_each(|&p| continued[p] = true);
    }
    let mut ends: Vec<usize> = Vec::new();
    for &(_, exit) in &built {
        if !continued[exit] && !ends.contains(&exit) {
            ends.push(exit);
        }
    }
    if ends.is_empty() {
        ends.push(built[0].1);
    }
    for exit in ends {
        builder.transition(TransitionKind::End, vec![exit], vec![sink]);
    }
    // The source and the sink stay apart from everything else.
    let (mut classes, removed) = fuse(&builder, &[source, sink]);
    materialise(&builder, &mut classes, &removed, source, sink)
}

fn materialise(
    builder: &Builder,
    classes: &mut Classes,
    removed: &[bool],
    source: usize,
    sink: usize,
) -> FlowNet {
    let mut net = Net::new();
    let mut place_of: HashMap<usize, PlaceId> = HashMap::default();
    let mut place = |classes: &mut Classes, net: &mut Net, p: usize| {
        let root = classes.find(p);
        *place_of.entry(root).or_insert_with(|| {
            let owner = builder.place_owner[root].clone();
            net.add_place(owner.unwrap_or_default())
        })
    };
    let source_place = place(classes, &mut net, source);
    let sink_place = place(classes, &mut net, sink);
    net.set_source(source_place);
    net.set_sink(sink_place);
    let mut elements = HashMap::default();
    let mut ids = Vec::new();
    for (index, t) in builder.transitions.iter().enumerate() {
        if removed[index] {
            ids.push(None);
            continue;
        }
        let id = net.add_transition(t.kind.clone());
        if let TransitionKind::Element(name) = &t.kind {
            elements.insert(name.clone(), id);
        }
        for &p in &t.inputs {
            let p = place(classes, &mut net, p);
            net.input(p, id);
        }
        for &p in &t.outputs {
            let p = place(classes, &mut net, p);
            net.output(id, p);
        }
        ids.push(Some(id));
    }
    let mut join_inputs = HashMap::default();
    for (join, fed) in &builder.joins {
        if let Some(id) = ids[*join] {
            let inputs =
                fed.iter().map(|(p, name)| (place(classes, &mut net, *p), name.clone())).collect();
            join_inputs.insert(id, inputs);
        }
    }
    FlowNet { net, elements, join_inputs }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::{check_soundness, Limits};
    use polku_dsl::Span;

    fn name(text: &str) -> Name {
        Name { text: text.to_owned(), span: Span::default() }
    }

    #[test]
    fn a_statement_ending_in_a_loop_ends_after_the_loop() {
        // kulku a -> b
        // kulku a -> toista (c)
        let elements = [name("a"), name("b"), name("c")];
        let first = Flow::Sequence(vec![Flow::Name(name("a")), Flow::Name(name("b"))]);
        let second = Flow::Sequence(vec![
            Flow::Name(name("a")),
            Flow::Repeat { body: Box::new(Flow::Name(name("c"))), until: None },
        ]);
        let net = build(&elements.iter().collect::<Vec<_>>(), &[&first, &second]);
        assert!(check_soundness(&net.net, Limits::default()).is_sound());
    }
}
