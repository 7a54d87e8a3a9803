//! `sum_array`'s lab bench.
