//! The integration tests, one test binary: each module runs the real binaries.

mod common;
mod granularity;
mod observe;
mod race;
mod signals;
mod umbrella;
mod usage;
