//! `coop_sched`'s lab bench.
