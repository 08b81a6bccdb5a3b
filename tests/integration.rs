//! Integration tests, one binary (faster to build), modules by topic.

mod common;

mod capacity;
mod cli;
mod guards;
mod properties;
mod scenarios;
mod validation;
