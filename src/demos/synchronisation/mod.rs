//! The synchronisation chapter's lab benches.

pub mod race;
