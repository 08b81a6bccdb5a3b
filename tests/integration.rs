//! Integration tests, one binary (faster to build), modules by topic.

// Helpers in `common` are shared by the test modules of this one crate.
#![allow(unreachable_pub)]

mod common;

mod breadth;
mod brokers;
mod capacity;
mod cli;
mod data;
mod errors;
mod fanout;
mod figures;
mod fit;
mod fuzz_corpus;
mod guards;
mod lab_link;
mod outputs;
mod overlays;
mod plots;
mod properties;
mod ranges;
mod reference;
mod scenarios;
mod stopping;
mod teaching;
mod validation;
mod watch;
