//! The signals chapter's lab benches.
