//! Wire types: the JSON shapes of `types.ts` / `wire.ts` (spec §3) and of the
//! in-pod result lines (spec §5.1–§5.2).
//!
//! Field names follow the TypeScript JSON exactly (`camelCase`); struct field
//! order is the key order the TypeScript constructors produce, so
//! `serde_json::to_string` gives byte-identical JSON. Optional keys are
//! omitted, never `null`, unless the TypeScript writes `null` (`exitCode`).

mod harvest;
mod lenient;
mod misc;
mod request;
mod response;

pub use harvest::{HarvestResult, StartedInfo};
pub use misc::{CacheStores, HealthResult, Phase};
pub use request::{
    ExecuteRequest, Language, NamedDownload, PackagesByLang, UploadSlot, WorkspaceFile,
};
pub use response::{
    ErrorCode, ExecuteResponse, ExecutionStatus, OutputFile, PriorSkippedFile, PriorStage,
    PriorStageSkipReason, PriorStagedFile, StepResult, StepStatus, Timing, Truncated,
    UploadFailure, UploadStats,
};
