//! `barrier`'s lab bench.
