//! The processes chapter's lab benches.
