//! `multiple_forks`'s lab bench.
