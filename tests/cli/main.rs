//! The integration tests, one test binary: each module runs the real binaries.

mod common;
mod granularity;
mod processes;
mod race;
mod umbrella;
mod usage;
