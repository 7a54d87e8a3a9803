//! `context_switch`'s lab bench.
