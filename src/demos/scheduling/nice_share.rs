//! `nice_share`'s lab bench.
