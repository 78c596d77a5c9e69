//! Random workflow nets for the soundness oracle and benchmark.
//!
//! Each net comes from a random flow as a process owner could write it: a structured flow over
//! a handful of elements (sequences, parallel groups, choices, loops), and, for about half of
//! them, one or two extra `kulku` statements that add arrows between random elements. The
//! structured ones are sound; the extra arrows make many unsound in every way the rules know.

use polku_dsl::ast::{Branch, Flow, Name, Text};
use polku_dsl::Span;
use polku_engine::flow::{build, FlowNet};

/// A small deterministic generator (xorshift), so a seed always gives the same nets.
#[derive(Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }

    pub fn chance(&mut self, percent: u64) -> bool {
        self.next_u64() % 100 < percent
    }
}

fn name(text: &str) -> Name {
    Name { text: text.to_owned(), span: Span::default() }
}

/// A structured flow over `names` (each used once).
fn structured(rng: &mut Rng, names: &[String]) -> Flow {
    if names.len() == 1 {
        let element = Flow::Name(name(&names[0]));
        return if rng.chance(15) {
            Flow::Repeat { body: Box::new(element), until: None }
        } else {
            element
        };
    }
    let cut = 1 + rng.below(names.len() - 1);
    let (left, right) = names.split_at(cut);
    match rng.below(4) {
        0 | 1 => Flow::Sequence(vec![structured(rng, left), structured(rng, right)]),
        2 => Flow::Parallel(vec![structured(rng, left), structured(rng, right)]),
        _ => Flow::Choice(vec![
            Branch {
                flow: structured(rng, left),
                condition: Some(Text { value: "ehto".into(), span: Span::default() }),
                segments: Vec::new(),
                fact: None,
                default: false,
            },
            Branch {
                flow: structured(rng, right),
                condition: None,
                segments: Vec::new(),
                fact: None,
                default: true,
            },
        ]),
    }
}

/// One random net: its elements, flows and the built net.
pub fn random_net(rng: &mut Rng) -> (Vec<Name>, Vec<Flow>, FlowNet) {
    let count = 3 + rng.below(6);
    let names: Vec<String> = (0..count).map(|i| format!("t{i}")).collect();
    let mut flows = vec![structured(rng, &names)];
    if rng.chance(55) {
        for _ in 0..1 + rng.below(2) {
            let a = &names[rng.below(count)];
            let b = &names[rng.below(count)];
            let c = &names[rng.below(count)];
            if a == b {
                continue;
            }
            let extra = if rng.chance(30) && c != a && c != b {
                Flow::Sequence(vec![
                    Flow::Name(name(a)),
                    Flow::Parallel(vec![Flow::Name(name(b)), Flow::Name(name(c))]),
                ])
            } else {
                Flow::Sequence(vec![Flow::Name(name(a)), Flow::Name(name(b))])
            };
            flows.push(extra);
        }
    }
    let elements: Vec<Name> = names.iter().map(|n| name(n)).collect();
    let element_refs: Vec<&Name> = elements.iter().collect();
    let flow_refs: Vec<&Flow> = flows.iter().collect();
    let net = build(&element_refs, &flow_refs);
    (elements, flows, net)
}
