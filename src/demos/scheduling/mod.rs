//! The scheduling chapter's lab benches.
