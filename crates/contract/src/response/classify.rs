//! `classifyFailure` (exec-common.ts) and `classifyHarvestError` (exec-response.ts).

use crate::config::ContractVariant;
use crate::wire::{ErrorCode, HarvestResult};

/// An error code with its message, as returned by `classifyFailure` and
/// `classifyHarvestError`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Classified {
    /// The wire error code.
    pub code: ErrorCode,
    /// The wire error message.
    pub message: String,
}

impl Classified {
    pub(crate) fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Classified { code, message: message.into() }
    }
}

/// `OomHint` (exec-common.ts): out-of-band knowledge that the kernel OOM-killed the process.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OomHint {
    /// `oomKilled`.
    pub oom_killed: bool,
}

/// The four harvest flags `classifyHarvestError` looks at.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HarvestFlags {
    /// `quotaExhausted`.
    pub quota_exhausted: bool,
    /// `uploadFailed`.
    pub upload_failed: bool,
    /// `reportFailed`.
    pub report_failed: bool,
    /// `readFailed`.
    pub read_failed: bool,
}

impl From<&HarvestResult> for HarvestFlags {
    fn from(h: &HarvestResult) -> Self {
        HarvestFlags {
            quota_exhausted: h.quota_exhausted,
            upload_failed: h.upload_failed,
            report_failed: h.report_failed,
            read_failed: h.read_failed,
        }
    }
}

/// `classifyHarvestError(flags)` (exec-response.ts): priority quota, then
/// upload, report, read; `None` when no flag is set. The read message names
/// the variant's output directory.
pub fn classify_harvest_error(flags: HarvestFlags, variant: ContractVariant) -> Option<Classified> {
    if flags.quota_exhausted {
        Some(Classified::new(
            ErrorCode::UploadQuotaExceeded,
            "Per-run output-file quota exceeded; some files were not uploaded",
        ))
    } else if flags.upload_failed {
        Some(Classified::new(ErrorCode::UploadFailed, "One or more output uploads failed"))
    } else if flags.report_failed {
        Some(Classified::new(
            ErrorCode::UploadReportFailed,
            "Upload succeeded but report-back to platform failed",
        ))
    } else if flags.read_failed {
        Some(Classified::new(
            ErrorCode::HarvestReadFailed,
            format!("Couldn't read {}", variant.output_dir()),
        ))
    } else {
        None
    }
}

/// Case-insensitive search for ASCII needles, as a JavaScript `/…/i` regex
/// without the `u` flag does for an all-ASCII pattern.
fn contains_any_ascii_ci(haystack_lower: &str, needles: &[&str]) -> bool {
    needles.iter().any(|n| haystack_lower.contains(n))
}

/// `EGRESS_DENIED_RE`, lower-cased alternatives.
const EGRESS_DENIED: [&str; 4] =
    ["403 filtered", "tunnel connection failed", "proxyerror", "connection refused"];
/// `PACKAGE_NOT_FOUND_RE`, lower-cased alternatives.
const PACKAGE_NOT_FOUND: [&str; 6] = [
    "no matching distribution",
    "could not find a version",
    "unsatisfiable",
    "404 not found",
    "e404",
    "no matching distribution found",
];

/// `classifyFailure(exitCode, stderr, hint?)` (exec-common.ts), spec §3.3.
pub fn classify_failure(exit_code: i32, stderr: &str, hint: Option<OomHint>) -> Classified {
    let lower = stderr.to_ascii_lowercase();
    let egress = || Classified::new(ErrorCode::EgressDenied, "Egress proxy denied the request");
    match exit_code {
        124 => Classified::new(ErrorCode::Timeout, "Wall-clock timeout exceeded"),
        137 if hint.is_some_and(|h| h.oom_killed) || lower.contains("killed") => {
            Classified::new(ErrorCode::Oom, "Container killed (likely OOM)")
        }
        137 => Classified::new(ErrorCode::Timeout, "Container killed (SIGKILL)"),
        64 if contains_any_ascii_ci(&lower, &PACKAGE_NOT_FOUND) => {
            Classified::new(ErrorCode::PackageNotFound, "Requested package could not be resolved")
        }
        64 if contains_any_ascii_ci(&lower, &EGRESS_DENIED) => egress(),
        64 => Classified::new(ErrorCode::InstallFailed, "Package install failed"),
        65 => Classified::new(
            ErrorCode::SpawnerUnavailable,
            "Sandbox runtime rejected the invocation",
        ),
        _ if contains_any_ascii_ci(&lower, &EGRESS_DENIED) => egress(),
        n => Classified::new(ErrorCode::RuntimeError, format!("User code exited with status {n}")),
    }
}
