//! Workload generators shared by the benchmark binary and the tests: the national-scale model
//! built from the shipped corpus, and random workflow nets.

pub mod nets;
