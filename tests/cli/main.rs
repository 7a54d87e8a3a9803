//! The integration tests, one test binary: each module runs the real binaries.

mod anatomy;
mod barrier;
mod common;
mod condition;
mod cost;
mod deadlock;
mod faults;
mod goroutines;
mod granularity;
mod hostile;
mod limits;
mod observe;
mod orphans;
mod processes;
mod race;
mod reentrancy;
mod sched;
mod semaphore;
mod signal_defaults;
mod signals;
mod sim;
mod states_gil;
mod switch_threads;
mod toctou;
mod umbrella;
mod usage;
