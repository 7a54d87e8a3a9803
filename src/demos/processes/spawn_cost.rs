//! `spawn_cost`'s lab bench.
