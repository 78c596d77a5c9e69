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
//! What it must not do: read or write files, or know anything of the web or of storage. It works
//! on the typed trees that `polku-dsl` produced.
//!
//! Entry points: [`compile`] for the model the runtime executes, [`validate`] for the rules
//! over a whole model, [`plan::segment_plan`] for one
//! segment's plan, [`pnml::write`] for export.

pub mod case;
pub mod event;
pub mod exec;
pub mod flow;
pub mod model;
pub mod names;
pub mod net;
pub mod plan;
pub mod pnml;
pub mod projection;
pub mod pseudonym;
pub mod rules;
pub mod simulate;
pub mod time;

pub use model::{compile, Model};
pub use net::{Limits, Verdict};
pub use rules::{validate, CheckedNet, NetKind, Validation};
