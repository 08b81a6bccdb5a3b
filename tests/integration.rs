//! Integration tests, one binary (faster to build), modules by topic.

mod common;

mod breadth;
mod brokers;
mod capacity;
mod cli;
mod errors;
mod fanout;
mod fuzz_corpus;
mod guards;
mod lab_link;
mod properties;
mod scenarios;
mod validation;
mod watch;
