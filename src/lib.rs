//! oslab: the shared toolkit behind the demos.
//!
//! Every binary in `src/bin/` is one lecture demo. What they share lives here, once, one concern
//! per module: timing and trials, latency statistics, `/proc` counters, the report printed as
//! text, JSON or CSV, the common flags, the progress bar, the pause points, the system
//! description, and `sys`, the only module with `unsafe` code.

pub mod catalogue;
pub mod cli;
pub mod counters;
pub mod error;
pub mod interrupt;
pub mod mutex;
pub mod pause;
pub mod progress;
pub mod race;
pub mod report;
pub mod spinlock;
pub mod stats;
pub mod sys;
pub mod system;
pub mod timing;

pub use error::{Error, Result};
