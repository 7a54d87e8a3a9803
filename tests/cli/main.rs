//! The integration tests, one test binary: each module runs the real binaries.

mod common;
mod cost;
mod granularity;
mod race;
mod umbrella;
mod usage;
