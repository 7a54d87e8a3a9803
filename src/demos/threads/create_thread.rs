//! `create_thread`'s lab bench.
