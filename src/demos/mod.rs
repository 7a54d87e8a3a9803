//! Each demo's lab bench, one module per chapter of the catalogue: the result types, the
//! orchestration that is not the lecture's program, the analysis and the verdict. The lecture's
//! program itself is the binary, `src/bin/<demo>.rs`. The modules are the catalogue's chapters;
//! "signals and observation" is [`observation`].

pub mod observation;
pub mod processes;
pub mod scheduling;
pub mod synchronisation;
pub mod threads;
