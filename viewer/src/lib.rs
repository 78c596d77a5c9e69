//! Process maps from level 1 down to level 4, and the web server that shows them.
//!
//! What it owns: [`maps`] turns a compiled [`polku_engine::Model`] into drawings (DOT for the
//! service map, the segment quadrants and the client processes; SVG for the swimlanes of a
//! workflow), as pure functions golden-tested as data. [`server`] is `polku serve`: the pages
//! (server-rendered HTML), the rendering of DOT to SVG (by Graphviz's `dot` when it is on the
//! path, else in the browser by the WebAssembly build the server ships), the cache of drawn
//! maps per model version, the live overlay of open cases read from the store, and the
//! re-checking of the model when its files change.
//!
//! What it must not do: the maps module does no IO and knows no web stack; the server reads
//! aggregates from the store and never a client's own data (maps hold no client data, so the
//! pages need no sign-in).
//!
//! Entry points: [`maps::draw`] for one map, [`maps::every_map`] for all of them,
//! [`server::app`] for the router that tests call without a socket, [`server::serve`] to run,
//! and [`wipe::Wiping`], the allocator of the programs that serve (`polku serve` and the
//! benchmarks that stand in for it).

pub mod maps;
pub mod render;
pub mod server;
pub mod wipe;
