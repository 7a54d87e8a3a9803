//! The integration tests, one test binary: each module runs the real binaries.

mod barrier;
mod common;
mod condition;
mod cost;
mod deadlock;
mod faults;
mod granularity;
mod hostile;
mod limits;
mod observe;
mod orphans;
mod processes;
mod race;
mod sched;
mod signals;
mod states_gil;
mod umbrella;
mod usage;
