//! The kernel's own accounting, read back: a process's counters and their deltas
//! ([`counters`]), a thread's state and wait channel ([`tasks`]), the process tree ([`tree`]),
//! and the scheduler's record of who ran when on a CPU ([`switches`]).

pub mod counters;
pub mod switches;
pub mod tasks;
pub mod tree;
