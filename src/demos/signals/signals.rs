//! `signals`'s lab bench.
