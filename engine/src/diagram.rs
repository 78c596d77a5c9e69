//! Flows as drawable graphs: the `kulku` statements of a block as nodes and edges in the shape
//! the process owner wrote them, for the maps.
//!
//! A workflow net (see [`crate::flow`]) is made for deciding soundness: arrows that only wait
//! are fused away and choices are places. A reader of a map wants the opposite: each element
//! once, a gateway where the flow splits or merges, the condition on each branch and the loop
//! back with its exit condition. [`Diagram::build`] keeps exactly that and nothing of the net.

use polku_dsl::ast::{Flow, Name};
use serde::Serialize;

/// What a node of a diagram stands for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "name")]
pub enum DiagramNode {
    /// A phase, step or task, by name.
    Element(String),
    Start,
    End,
    /// Parallel branches begin: all of them are taken.
    Split,
    /// Parallel branches end: all of them must be done.
    Join,
    /// One of the branches is taken.
    Choice,
    /// The branches of a choice come together.
    Merge,
}

/// One arrow of a diagram.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DiagramEdge {
    pub from: usize,
    pub to: usize,
    /// The condition of a choice's branch (`kun …`), `muuten` for the default branch, or the
    /// exit condition of a loop on its way back.
    pub label: Option<String>,
    /// The branch taken when no condition holds.
    pub default: bool,
    /// The arrow back to the start of a `toista` loop.
    pub back: bool,
    /// The segments whose clients take this branch (`kun segmentti …`).
    pub segments: Vec<String>,
}

impl DiagramEdge {
    /// What is written on the arrow: its condition, or `segment_word` and the segments that
    /// take it (`Segmentti tuki, huolenpito`).
    pub fn condition(&self, segment_word: &str) -> Option<String> {
        match (&self.label, self.segments.is_empty()) {
            (Some(label), _) => Some(label.clone()),
            (None, false) => Some(format!("{segment_word} {}", self.segments.join(", "))),
            (None, true) => None,
        }
    }
}

/// The flows of one block (a process's phases, a phase's steps or a workflow's tasks).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Diagram {
    pub nodes: Vec<DiagramNode>,
    pub edges: Vec<DiagramEdge>,
}

impl Diagram {
    /// The diagram of a block: `elements` in the order written, `flows` its `kulku` statements.
    /// Without any flow the elements follow each other in the order written, as they execute.
    pub fn build(elements: &[&Name], flows: &[&Flow]) -> Diagram {
        let mut diagram = Diagram::default();
        let start = diagram.node(DiagramNode::Start);
        for element in elements {
            diagram.element(&element.text);
        }
        let mut first_entry = None;
        if flows.is_empty() {
            let mut previous = start;
            for element in elements {
                let node = diagram.element(&element.text);
                diagram.edge(previous, node, None);
                previous = node;
            }
            let end = diagram.node(DiagramNode::End);
            diagram.edge(previous, end, None);
            return diagram;
        }
        for flow in flows {
            let (entry, _) = diagram.flow(flow);
            first_entry.get_or_insert(entry);
        }
        if let Some(entry) = first_entry {
            diagram.edge(start, entry, None);
        }
        // The case ends wherever a flow runs out: every node with no way on leads to the end.
        let end = diagram.node(DiagramNode::End);
        let open: Vec<usize> = (0..diagram.nodes.len())
            .filter(|&n| n != start && n != end)
            .filter(|&n| {
                diagram.is_used(n) && !diagram.edges.iter().any(|e| e.from == n && !e.back)
            })
            .collect();
        for node in open {
            diagram.edge(node, end, None);
        }
        diagram
    }

    /// The node of an element, if the diagram has it.
    pub fn element_node(&self, name: &str) -> Option<usize> {
        self.nodes.iter().position(|n| matches!(n, DiagramNode::Element(e) if e == name))
    }

    /// The nodes an arrow leaves `node` for.
    pub fn successors(&self, node: usize) -> impl Iterator<Item = &DiagramEdge> {
        self.edges.iter().filter(move |e| e.from == node)
    }

    fn is_used(&self, node: usize) -> bool {
        self.edges.iter().any(|e| e.from == node || e.to == node)
    }

    fn node(&mut self, node: DiagramNode) -> usize {
        self.nodes.push(node);
        self.nodes.len() - 1
    }

    fn element(&mut self, name: &str) -> usize {
        match self.element_node(name) {
            Some(node) => node,
            None => self.node(DiagramNode::Element(name.to_owned())),
        }
    }

    fn edge(&mut self, from: usize, to: usize, label: Option<String>) -> usize {
        self.edge_with(DiagramEdge {
            from,
            to,
            label,
            default: false,
            back: false,
            segments: Vec::new(),
        })
    }

    fn edge_with(&mut self, edge: DiagramEdge) -> usize {
        if let Some(index) = self.edges.iter().position(|e| *e == edge) {
            return index;
        }
        self.edges.push(edge);
        self.edges.len() - 1
    }

    /// Adds a flow; returns its entry and exit node.
    fn flow(&mut self, flow: &Flow) -> (usize, usize) {
        match flow {
            Flow::Name(name) => {
                let node = self.element(&name.text);
                (node, node)
            }
            Flow::Sequence(items) => {
                let mut ends: Option<(usize, usize)> = None;
                for item in items {
                    let (entry, exit) = self.flow(item);
                    ends = Some(match ends {
                        None => (entry, exit),
                        Some((first, previous)) => {
                            self.edge(previous, entry, None);
                            (first, exit)
                        }
                    });
                }
                ends.unwrap_or_else(|| {
                    let node = self.node(DiagramNode::Merge);
                    (node, node)
                })
            }
            Flow::Parallel(branches) => {
                let split = self.node(DiagramNode::Split);
                let join = self.node(DiagramNode::Join);
                for branch in branches {
                    let (entry, exit) = self.flow(branch);
                    self.edge(split, entry, None);
                    self.edge(exit, join, None);
                }
                (split, join)
            }
            Flow::Choice(branches) => {
                let choice = self.node(DiagramNode::Choice);
                let merge = self.node(DiagramNode::Merge);
                for branch in branches {
                    let (entry, exit) = self.flow(&branch.flow);
                    let label = match (&branch.condition, &branch.fact, branch.default) {
                        (Some(text), _, _) => Some(text.value.clone()),
                        (None, Some(fact), _) => Some(if fact.negated {
                            format!("ei {}", fact.fact.text)
                        } else {
                            fact.fact.text.clone()
                        }),
                        (None, None, true) => Some("muuten".to_owned()),
                        (None, None, false) => None,
                    };
                    self.edge_with(DiagramEdge {
                        from: choice,
                        to: entry,
                        label,
                        default: branch.default,
                        back: false,
                        segments: branch.segments.iter().map(|s| s.text.clone()).collect(),
                    });
                    self.edge(exit, merge, None);
                }
                (choice, merge)
            }
            Flow::Repeat { body, until } => {
                let (entry, exit) = self.flow(body);
                self.edge_with(DiagramEdge {
                    from: exit,
                    to: entry,
                    label: until.as_ref().map(|t| t.value.clone()),
                    default: false,
                    back: true,
                    segments: Vec::new(),
                });
                (entry, exit)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use polku_dsl::SourceSet;

    fn diagram_of(text: &str) -> Diagram {
        let mut sources = SourceSet::new();
        sources.add("m.polku", text);
        let checked = polku_dsl::check(&sources, &[]);
        assert!(!checked.has_errors(), "{:?}", checked.diagnostics);
        let model = crate::compile(&checked.files);
        model.processes["p"].phase_diagram.clone()
    }

    fn arrows(d: &Diagram) -> Vec<String> {
        let name = |n: usize| match &d.nodes[n] {
            DiagramNode::Element(e) => e.clone(),
            other => format!("{other:?}").to_lowercase(),
        };
        d.edges
            .iter()
            .map(|e| {
                let mut s = format!("{}->{}", name(e.from), name(e.to));
                if let Some(l) = &e.label {
                    s.push_str(&format!("[{l}]"));
                }
                if e.back {
                    s.push_str("(back)");
                }
                s
            })
            .collect()
    }

    #[test]
    fn keeps_choices_parallel_parts_and_loops_as_written() {
        let d = diagram_of(
            r#"
rooli th "T"
prosessi p "P" {
  vaihe a "A" { askel xa "X" tekijä th }
  vaihe b "B" { askel xb "X" tekijä th }
  vaihe c "C" { askel xc "X" tekijä th }
  vaihe d "D" { askel xd "X" tekijä th }
  kulku a -> (b kun "tarve" | muuten c) -> toista (d) kunnes "valmis"
}
"#,
        );
        assert_eq!(
            arrows(&d),
            [
                "choice->b[tarve]",
                "b->merge",
                "choice->c[muuten]",
                "c->merge",
                "a->choice",
                "d->d[valmis](back)",
                "merge->d",
                "start->a",
                "d->end"
            ]
        );
    }

    #[test]
    fn without_flows_elements_follow_in_the_order_written() {
        let d = diagram_of(
            r#"
rooli th "T"
prosessi p "P" {
  vaihe a "A" { askel xa "X" tekijä th }
  vaihe b "B" { askel xb "X" tekijä th }
}
"#,
        );
        assert_eq!(arrows(&d), ["start->a", "a->b", "b->end"]);
    }

    #[test]
    fn parallel_branches_split_and_join() {
        let d = diagram_of(
            r#"
rooli th "T"
prosessi p "P" {
  vaihe a "A" { askel xa "X" tekijä th }
  vaihe b "B" { askel xb "X" tekijä th }
  vaihe c "C" { askel xc "X" tekijä th }
  kulku (a & b) -> c
}
"#,
        );
        assert_eq!(
            arrows(&d),
            ["split->a", "a->join", "split->b", "b->join", "join->c", "start->split", "c->end"]
        );
    }
}
