//! Integration tests, one binary (faster to build), modules by topic.

mod common;

mod capacity;
mod cli;
mod properties;
mod scenarios;
mod validation;
