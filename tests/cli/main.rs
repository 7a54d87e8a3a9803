//! The integration tests, one test binary: each module runs the real binaries.

mod common;
mod granularity;
mod race;
mod sched;
mod umbrella;
mod usage;
