//! The integration tests, one test binary: each module runs the real binaries.

mod barrier;
mod common;
mod condition;
mod deadlock;
mod granularity;
mod race;
mod umbrella;
mod usage;
