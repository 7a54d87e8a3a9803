//! `proc_watch`'s lab bench.
