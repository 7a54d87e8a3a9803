//! `fork_celsius`'s lab bench.
