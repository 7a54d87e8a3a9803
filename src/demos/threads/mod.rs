//! The threads chapter's lab benches.
