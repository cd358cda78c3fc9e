//! Response assembly (exec-response.ts constructors, `classifyFailure`,
//! `classifyHarvestError`, and the backend's `assemble`; spec §1.3, §1.9, §3.3).

mod assemble;
mod classify;
mod constructors;

pub use assemble::{
    AssembleInput, AssembleOptions, ExecuteMsRule, RunnerKilled, assemble, stdout_stream_truncated,
};
pub use classify::{Classified, HarvestFlags, OomHint, classify_failure, classify_harvest_error};
pub use constructors::{
    ResponseParts, build_cancelled, build_completed, build_harvest_missing, build_infra_failure,
    build_runner_killed, build_runtime_failure, build_timeout_backstop, internal_error_message,
    make_error,
};
