//! `create_process`'s lab bench.
