//! `sleep_jitter`'s lab bench.
