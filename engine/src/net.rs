//! Workflow nets and their soundness.
//!
//! A [`Net`] is a Petri net with one source place and one sink place. Soundness (van der
//! Aalst's classical definition) is decided by exploring the reachable markings: the case can
//! always complete, it completes properly (nothing left behind when the sink is marked), and
//! every transition can happen. The exploration stops at a state limit, so an adversarial model
//! gives an "undecided" answer instead of a hang.
//!
//! petgraph holds the structure and answers the structural questions (is every node on a path
//! from source to sink); the token game runs on flat pre- and post-sets derived from it. Node
//! indices never leave this module: callers use [`PlaceId`] and [`TransitionId`].

use std::collections::{HashMap, VecDeque};

use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::{Dfs, Reversed};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PlaceId(usize);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TransitionId(usize);

impl PlaceId {
    /// A number unique within the net, for export.
    pub fn index(self) -> usize {
        self.0
    }
}

impl TransitionId {
    /// A number unique within the net, for export.
    pub fn index(self) -> usize {
        self.0
    }
}

/// What a transition stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransitionKind {
    /// A phase, step or task of the model, by name.
    Element(String),
    /// Silent: starts or ends the case.
    Start,
    End,
    /// Silent: a parallel split; the names are the first element of each branch.
    Split(Vec<String>),
    /// Silent: the join of a parallel split; the names are the first element of each branch,
    /// in the order of the join's input places.
    Join(Vec<String>),
    /// Silent: goes round a `toista` loop again.
    Redo,
    /// Silent: an arrow of the flow, from one element to the next.
    Arrow,
}

impl TransitionKind {
    pub fn label(&self) -> Option<&str> {
        match self {
            TransitionKind::Element(name) => Some(name),
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
enum NetNode {
    Place(String),
    Transition(TransitionKind),
}

/// A workflow net under construction or complete.
#[derive(Debug, Clone)]
pub struct Net {
    graph: DiGraph<NetNode, ()>,
    places: Vec<NodeIndex>,
    transitions: Vec<NodeIndex>,
    /// For each graph node, its index among the places or among the transitions.
    kind_index: Vec<usize>,
    source: Option<PlaceId>,
    sink: Option<PlaceId>,
}

impl Default for Net {
    fn default() -> Self {
        Net::new()
    }
}

impl Net {
    pub fn new() -> Net {
        Net {
            graph: DiGraph::new(),
            places: Vec::new(),
            transitions: Vec::new(),
            kind_index: Vec::new(),
            source: None,
            sink: None,
        }
    }

    pub fn add_place(&mut self, name: impl Into<String>) -> PlaceId {
        let node = self.graph.add_node(NetNode::Place(name.into()));
        self.kind_index.push(self.places.len());
        self.places.push(node);
        PlaceId(self.places.len() - 1)
    }

    pub fn add_transition(&mut self, kind: TransitionKind) -> TransitionId {
        let node = self.graph.add_node(NetNode::Transition(kind));
        self.kind_index.push(self.transitions.len());
        self.transitions.push(node);
        TransitionId(self.transitions.len() - 1)
    }

    /// An arc from a place into a transition.
    pub fn input(&mut self, place: PlaceId, transition: TransitionId) {
        self.graph.update_edge(self.places[place.0], self.transitions[transition.0], ());
    }

    /// An arc from a transition into a place.
    pub fn output(&mut self, transition: TransitionId, place: PlaceId) {
        self.graph.update_edge(self.transitions[transition.0], self.places[place.0], ());
    }

    pub fn set_source(&mut self, place: PlaceId) {
        self.source = Some(place);
    }

    pub fn set_sink(&mut self, place: PlaceId) {
        self.sink = Some(place);
    }

    pub fn source(&self) -> Option<PlaceId> {
        self.source
    }

    pub fn sink(&self) -> Option<PlaceId> {
        self.sink
    }

    pub fn place_count(&self) -> usize {
        self.places.len()
    }

    pub fn transition_count(&self) -> usize {
        self.transitions.len()
    }

    pub fn place_name(&self, place: PlaceId) -> &str {
        match &self.graph[self.places[place.0]] {
            NetNode::Place(name) => name,
            NetNode::Transition(_) => unreachable!("places hold place nodes"),
        }
    }

    pub fn kind(&self, transition: TransitionId) -> &TransitionKind {
        match &self.graph[self.transitions[transition.0]] {
            NetNode::Transition(kind) => kind,
            NetNode::Place(_) => unreachable!("transitions hold transition nodes"),
        }
    }

    pub fn transitions(&self) -> impl Iterator<Item = TransitionId> {
        (0..self.transitions.len()).map(TransitionId)
    }

    pub fn places(&self) -> impl Iterator<Item = PlaceId> {
        (0..self.places.len()).map(PlaceId)
    }

    /// The input places of a transition, in a stable order.
    pub fn pre(&self, transition: TransitionId) -> Vec<PlaceId> {
        self.neighbours(self.transitions[transition.0], petgraph::Direction::Incoming)
            .map(|n| self.place_id(n))
            .collect()
    }

    /// The output places of a transition, in a stable order.
    pub fn post(&self, transition: TransitionId) -> Vec<PlaceId> {
        self.neighbours(self.transitions[transition.0], petgraph::Direction::Outgoing)
            .map(|n| self.place_id(n))
            .collect()
    }

    fn neighbours(
        &self,
        node: NodeIndex,
        direction: petgraph::Direction,
    ) -> impl Iterator<Item = NodeIndex> {
        let mut found: Vec<NodeIndex> = self.graph.neighbors_directed(node, direction).collect();
        found.sort();
        found.into_iter()
    }

    fn place_id(&self, node: NodeIndex) -> PlaceId {
        PlaceId(
            self.places
                .iter()
                .position(|&n| n == node)
                .expect("a neighbour of a transition is a place"),
        )
    }

    /// Every transition id together with its graph node, for structural walks.
    fn transition_nodes(&self) -> impl Iterator<Item = (TransitionId, NodeIndex)> + '_ {
        self.transitions.iter().enumerate().map(|(i, &n)| (TransitionId(i), n))
    }

    /// The visible transitions on the same cycle as `transition`, in index order.
    pub fn loop_members(&self, transition: TransitionId) -> Vec<TransitionId> {
        let node = self.transitions[transition.0];
        let component =
            petgraph::algo::tarjan_scc(&self.graph).into_iter().find(|c| c.contains(&node));
        let mut members: Vec<TransitionId> = component
            .unwrap_or_default()
            .into_iter()
            .filter(|n| matches!(self.graph[*n], NetNode::Transition(_)))
            .map(|n| TransitionId(self.kind_index[n.index()]))
            .filter(|t| self.kind(*t).label().is_some())
            .collect();
        members.sort();
        members
    }

    /// Checks internal consistency: the graph is bipartite and the id tables match it.
    pub fn verify(&self) -> Result<(), NetDefect> {
        for edge in self.graph.raw_edges() {
            let (a, b) = (&self.graph[edge.source()], &self.graph[edge.target()]);
            if matches!(
                (a, b),
                (NetNode::Place(_), NetNode::Place(_))
                    | (NetNode::Transition(_), NetNode::Transition(_))
            ) {
                return Err(NetDefect::SameKindArc);
            }
        }
        if self.places.len() + self.transitions.len() != self.graph.node_count()
            || self.kind_index.len() != self.graph.node_count()
        {
            return Err(NetDefect::Ids);
        }
        Ok(())
    }
}

/// An inconsistency [`Net::verify`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NetDefect {
    #[error("an arc joins two nodes of the same kind")]
    SameKindArc,
    #[error("the id tables do not cover the graph")]
    Ids,
}

/// How far soundness checking may go.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// At most this many reachable markings.
    pub states: usize,
    /// At most this many marking entries (states × places), which bounds memory: a flow with
    /// thousands of places reaches it long before the state limit.
    pub cells: usize,
}

impl Limits {
    /// The number of states a net with this many places may reach.
    pub fn states_for(&self, places: usize) -> usize {
        self.states.min(self.cells / places.max(1))
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits { states: 200_000, cells: 20_000_000 }
    }
}

/// Why a net is not sound. Paths are the visible elements fired from the start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finding {
    /// The source or the sink is missing, or the source has inputs or the sink outputs.
    NotWorkflowNet,
    /// The transition cannot be reached from the start.
    Unreachable { transition: TransitionId },
    /// No end can be reached from the transition; `cycle` when it lies on a loop.
    NoEnd { transition: TransitionId, cycle: bool },
    /// The case can end with work still open in these places.
    ImproperCompletion { path: Vec<TransitionId>, left: Vec<PlaceId> },
    /// The case gets stuck: nothing can happen and it has not ended.
    /// `waiting` names a join that holds some of its inputs, and the input places still empty.
    Deadlock { path: Vec<TransitionId>, waiting: Option<(TransitionId, Vec<PlaceId>)> },
    /// The case can go on for ever without being able to end.
    Livelock { path: Vec<TransitionId> },
    /// Work can pile up without bound in a place.
    Unbounded { path: Vec<TransitionId>, place: PlaceId },
    /// The transition can never happen although it is on a path from start to end.
    Dead { transition: TransitionId },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Sound {
        states: usize,
    },
    Unsound {
        findings: Vec<Finding>,
        states: usize,
    },
    /// The state limit was reached before the answer.
    Undecided {
        states: usize,
    },
}

impl Verdict {
    pub fn is_sound(&self) -> bool {
        matches!(self, Verdict::Sound { .. })
    }
}

/// A marking, shared between the list of states and the index of known markings.
type Marking = std::rc::Rc<[u32]>;

/// The fast hash of the model's own values (markings here), shared with the language crate.
pub use polku_dsl::hash::{FastHasher as MarkingHasher, FxBuild};

type MarkingIndex = HashMap<Marking, usize, FxBuild>;

/// Decides soundness of a workflow net.
pub fn check_soundness(net: &Net, limits: Limits) -> Verdict {
    let (Some(source), Some(sink)) = (net.source, net.sink) else {
        return Verdict::Unsound { findings: vec![Finding::NotWorkflowNet], states: 0 };
    };
    let structural = structure(net, source, sink);
    if !structural.is_empty() {
        return Verdict::Unsound { findings: structural, states: 0 };
    }
    explore(net, source, sink, limits)
}

/// Every node must lie on a path from the source to the sink.
fn structure(net: &Net, source: PlaceId, sink: PlaceId) -> Vec<Finding> {
    let graph = &net.graph;
    let (source_node, sink_node) = (net.places[source.0], net.places[sink.0]);
    if graph.neighbors_directed(source_node, petgraph::Direction::Incoming).next().is_some()
        || graph.neighbors_directed(sink_node, petgraph::Direction::Outgoing).next().is_some()
    {
        return vec![Finding::NotWorkflowNet];
    }
    let mut forward = vec![false; graph.node_count()];
    let mut dfs = Dfs::new(graph, source_node);
    while let Some(node) = dfs.next(graph) {
        forward[node.index()] = true;
    }
    let mut backward = vec![false; graph.node_count()];
    let reversed = Reversed(graph);
    let mut dfs = Dfs::new(reversed, sink_node);
    while let Some(node) = dfs.next(reversed) {
        backward[node.index()] = true;
    }
    let mut findings = Vec::new();
    for (id, node) in net.transition_nodes() {
        if !forward[node.index()] {
            findings.push(Finding::Unreachable { transition: id });
        } else if !backward[node.index()] {
            let cycle = graph
                .neighbors(node)
                .any(|n| petgraph::algo::has_path_connecting(graph, n, node, None));
            findings.push(Finding::NoEnd { transition: id, cycle });
        }
    }
    // A place off every path (an unconnected output, say) shows as a transition problem above,
    // except a place with no transition at all, which cannot be named: report the net.
    let stray_place = net.places.iter().any(|n| !forward[n.index()] || !backward[n.index()]);
    if findings.is_empty() && stray_place {
        findings.push(Finding::NotWorkflowNet);
    }
    findings
}

struct Explorer<'n> {
    net: &'n Net,
    pre: Vec<Vec<usize>>,
    post: Vec<Vec<usize>>,
    markings: Vec<Marking>,
    /// The number of tokens in each marking.
    totals: Vec<u64>,
    index: MarkingIndex,
    parent: Vec<Option<(usize, TransitionId)>>,
    successors: Vec<Vec<usize>>,
}

impl Explorer<'_> {
    fn enabled<'s>(&'s self, marking: &'s [u32]) -> impl Iterator<Item = TransitionId> + 's {
        (0..self.pre.len())
            .filter(move |&t| self.pre[t].iter().all(|&p| marking[p] > 0))
            .map(TransitionId)
    }

    fn fire(&self, marking: &[u32], transition: TransitionId) -> Box<[u32]> {
        let mut next: Box<[u32]> = marking.into();
        for &p in &self.pre[transition.0] {
            next[p] -= 1;
        }
        for &p in &self.post[transition.0] {
            next[p] = next[p].saturating_add(1);
        }
        next
    }

    /// The visible elements fired on the way from the start to a state.
    fn path(&self, mut state: usize) -> Vec<TransitionId> {
        let mut path = Vec::new();
        while let Some((previous, transition)) = self.parent[state] {
            path.push(transition);
            state = previous;
        }
        path.reverse();
        path.retain(|t| self.net.kind(*t).label().is_some());
        path
    }

    /// A strictly smaller marking on the way to `state` means the tokens can pile up for ever.
    /// A strictly smaller marking has fewer tokens, so ancestors with as many are skipped by
    /// their token count alone.
    fn dominated_ancestor(&self, state: usize, next: &[u32]) -> bool {
        let total: u64 = next.iter().map(|&t| u64::from(t)).sum();
        let mut current = Some(state);
        while let Some(s) = current {
            if self.totals[s] < total {
                let ancestor = &self.markings[s];
                if ancestor.iter().zip(next).all(|(a, b)| a <= b) {
                    return true;
                }
            }
            current = self.parent[s].map(|(p, _)| p);
        }
        false
    }
}

fn explore(net: &Net, source: PlaceId, sink: PlaceId, limits: Limits) -> Verdict {
    let pre: Vec<Vec<usize>> =
        net.transitions().map(|t| net.pre(t).iter().map(|p| p.0).collect()).collect();
    let post: Vec<Vec<usize>> =
        net.transitions().map(|t| net.post(t).iter().map(|p| p.0).collect()).collect();
    let mut initial = vec![0u32; net.place_count()];
    initial[source.0] = 1;
    let initial: Marking = initial.into();
    let mut final_marking = vec![0u32; net.place_count()];
    final_marking[sink.0] = 1;
    let final_marking: Marking = final_marking.into();
    let mut explorer = Explorer {
        net,
        pre,
        post,
        markings: vec![initial.clone()],
        totals: vec![1],
        index: {
            let mut index = MarkingIndex::default();
            index.insert(initial, 0);
            index
        },
        parent: vec![None],
        successors: vec![Vec::new()],
    };
    let mut fired = vec![false; net.transition_count()];
    let mut findings = Vec::new();
    let mut queue = VecDeque::from([0usize]);
    while let Some(state) = queue.pop_front() {
        let marking = explorer.markings[state].clone();
        if marking[sink.0] > 0 && *marking != *final_marking {
            let left = (0..marking.len())
                .filter(|&p| p != sink.0 && marking[p] > 0)
                .map(PlaceId)
                .collect();
            findings.push(Finding::ImproperCompletion { path: explorer.path(state), left });
            return Verdict::Unsound { findings, states: explorer.markings.len() };
        }
        let enabled: Vec<TransitionId> = explorer.enabled(&marking).collect();
        for transition in enabled {
            fired[transition.0] = true;
            let next = explorer.fire(&marking, transition);
            let target = match explorer.index.get(next.as_ref()) {
                Some(&known) => known,
                None => {
                    if explorer.dominated_ancestor(state, &next) {
                        let place = (0..next.len()).find(|&p| next[p] > marking[p]).unwrap_or(0);
                        let mut path = explorer.path(state);
                        if net.kind(transition).label().is_some() {
                            path.push(transition);
                        }
                        findings.push(Finding::Unbounded { path, place: PlaceId(place) });
                        return Verdict::Unsound { findings, states: explorer.markings.len() };
                    }
                    let cells = (explorer.markings.len() + 1).saturating_mul(net.place_count());
                    if explorer.markings.len() >= limits.states || cells > limits.cells {
                        return Verdict::Undecided { states: explorer.markings.len() };
                    }
                    let id = explorer.markings.len();
                    let next: Marking = next.into();
                    explorer.totals.push(next.iter().map(|&t| u64::from(t)).sum());
                    explorer.markings.push(next.clone());
                    explorer.index.insert(next, id);
                    explorer.parent.push(Some((state, transition)));
                    explorer.successors.push(Vec::new());
                    queue.push_back(id);
                    id
                }
            };
            explorer.successors[state].push(target);
        }
    }
    let states = explorer.markings.len();
    // Which states can still reach the end?
    let mut predecessors = vec![Vec::new(); states];
    for (from, targets) in explorer.successors.iter().enumerate() {
        for &to in targets {
            predecessors[to].push(from);
        }
    }
    let mut can_end = vec![false; states];
    if let Some(&end) = explorer.index.get(final_marking.as_ref()) {
        let mut stack = vec![end];
        can_end[end] = true;
        while let Some(state) = stack.pop() {
            for &p in &predecessors[state] {
                if !can_end[p] {
                    can_end[p] = true;
                    stack.push(p);
                }
            }
        }
    }
    // States are numbered in breadth-first order, so the first stuck one has the shortest path.
    let stuck: Vec<usize> = (0..states).filter(|&s| !can_end[s]).collect();
    let deadlock = stuck.iter().copied().find(|&s| explorer.successors[s].is_empty());
    if let Some(state) = deadlock {
        let marking = &explorer.markings[state];
        let waiting = net.transitions().find_map(|t| {
            let inputs = &explorer.pre[t.0];
            let empty: Vec<PlaceId> =
                inputs.iter().filter(|&&p| marking[p] == 0).map(|&p| PlaceId(p)).collect();
            (matches!(net.kind(t), TransitionKind::Join(_))
                && !empty.is_empty()
                && empty.len() < inputs.len())
            .then_some((t, empty))
        });
        findings.push(Finding::Deadlock { path: explorer.path(state), waiting });
    } else if let Some(&state) = stuck.first() {
        findings.push(Finding::Livelock { path: explorer.path(state) });
    }
    for transition in net.transitions() {
        if !fired[transition.0] {
            findings.push(Finding::Dead { transition });
        }
    }
    if findings.is_empty() {
        Verdict::Sound { states }
    } else {
        Verdict::Unsound { findings, states }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sequence(names: &[&str]) -> Net {
        let mut net = Net::new();
        let mut place = net.add_place("i");
        net.set_source(place);
        for name in names {
            let t = net.add_transition(TransitionKind::Element((*name).into()));
            net.input(place, t);
            place = net.add_place(format!("after {name}"));
            net.output(t, place);
        }
        net.set_sink(place);
        net
    }

    #[test]
    fn a_sequence_is_sound() {
        let net = sequence(&["a", "b", "c"]);
        assert!(net.verify().is_ok());
        assert_eq!(check_soundness(&net, Limits::default()), Verdict::Sound { states: 4 });
    }

    #[test]
    fn an_and_split_into_an_or_join_completes_improperly() {
        let mut net = Net::new();
        let i = net.add_place("i");
        let o = net.add_place("o");
        net.set_source(i);
        net.set_sink(o);
        let split = net.add_transition(TransitionKind::Split(vec!["a".into(), "b".into()]));
        net.input(i, split);
        let (pa, pb) = (net.add_place("pa"), net.add_place("pb"));
        net.output(split, pa);
        net.output(split, pb);
        for (p, name) in [(pa, "a"), (pb, "b")] {
            let t = net.add_transition(TransitionKind::Element(name.into()));
            net.input(p, t);
            net.output(t, o);
        }
        match check_soundness(&net, Limits::default()) {
            Verdict::Unsound { findings, .. } => {
                assert!(matches!(findings[0], Finding::ImproperCompletion { .. }), "{findings:?}")
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_state_limit_gives_undecided() {
        let net = sequence(&["a", "b", "c", "d"]);
        assert_eq!(
            check_soundness(&net, Limits { states: 2, cells: 1000 }),
            Verdict::Undecided { states: 2 }
        );
        // The cell budget stops a net with many places early: 5 places and 10 cells allow 2 states.
        assert_eq!(
            check_soundness(&net, Limits { states: 1000, cells: 10 }),
            Verdict::Undecided { states: 2 }
        );
    }
}
