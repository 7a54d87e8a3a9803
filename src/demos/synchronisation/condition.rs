//! `condition`'s lab bench.
