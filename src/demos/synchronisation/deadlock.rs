//! `deadlock`'s lab bench.
