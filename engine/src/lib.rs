//! The compiled Polku model: the level-3 and level-4 flows as workflow nets, the validation
//! rules that make the four levels one coherent model, and the segment plans the runtime
//! executes.
//!
//! What it owns: [`model`] compiles the typed trees into one [`Model`] in domain terms;
//! [`flow`] turns `kulku` statements into workflow nets; [`net`] holds the nets
//! (petgraph, private) and decides soundness by exploring the state space; [`rules`] runs every
//! validation rule and reports in the model's own words; [`plan`] derives each segment's plan;
//! [`pnml`] writes nets for other tools; [`pseudonym`] validates personal identity codes and
//! turns them into keyed pseudonyms, so that no other part ever sees one.
//!
//! Execution: [`event`] reads the events of cases; [`exec`] makes a process executable (its
//! flows flattened into one net, moves cached); [`case`] applies events to one case and tells
//! its status; [`projection`] holds every case and answers the reports; [`simulate`] plays the
//! model forward for tests and benchmarks; [`time`] is the Finnish calendar they share.
//!
//! Between versions: [`diff`] tells what changed from one model to the next, in a process
//! owner's terms.
//!
//! What it must not do: read or write files, or know anything of the web or of storage. It works
//! on the typed trees that `polku-dsl` produced.
//!
//! Entry points: [`compile`] for the model the runtime executes, [`validate`] for the rules
//! over a whole model, [`plan::segment_plan`] for one segment's plan, [`pnml::write`] for
//! export, [`projection::Projection`] for tracking cases.

pub mod case;
pub mod chunks;
pub mod diagram;
pub mod diff;
pub mod event;
pub mod exec;
pub mod explain;
pub mod flow;
pub mod form;
pub mod markers;
pub mod model;
pub mod names;
pub mod net;
pub mod plan;
pub mod pnml;
pub mod projection;
pub mod pseudonym;
pub mod retention;
pub mod rules;
pub mod simulate;
pub mod time;

pub use model::{compile, Model};

/// The version of how events are executed (flattening, positions, runtime state). A snapshot
/// records it; one made under another is rebuilt from the log instead. Raise it with any
/// change that makes the same events lead to a different state.
pub const EXECUTION_SEMANTICS: u32 = 2;
pub use net::{Limits, Verdict};
pub use rules::{validate, CheckedNet, NetKind, Validation};
