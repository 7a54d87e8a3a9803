//! `cow_overhead`'s lab bench.
