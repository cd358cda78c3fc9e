//! Every constant of the execute path, in one place.
//!
//! Each item names the TypeScript constant it mirrors (spec §2). Times are
//! milliseconds, sizes bytes.

/// `STARTUP_BUDGET_MS` (k8s-backend.ts): how long to wait for the runner to start.
pub const STARTUP_BUDGET_MS: i64 = 180_000;
/// `POLL_INTERVAL_MS` (k8s-backend.ts): sleep between startup and main-loop polls.
pub const POLL_INTERVAL_MS: u64 = 500;
/// `HARVEST_BACKSTOP_MS` (k8s-backend.ts): main-loop deadline is timeout + this.
pub const HARVEST_BACKSTOP_MS: i64 = 120_000;
/// `RUNNER_DEAD_GRACE_MS` (k8s-backend.ts): grace before a non-zero runner exit counts as dead.
pub const RUNNER_DEAD_GRACE_MS: i64 = 10_000;
/// `RESULT_READ_WINDOW_MS` (k8s-backend.ts): harvest-log re-read window after `harvestDone`.
pub const RESULT_READ_WINDOW_MS: i64 = 5_000;
/// The unnamed 400 ms sleep between result-line re-reads (k8s-backend.ts).
pub const RESULT_REREAD_SLEEP_MS: u64 = 400;
/// `TERMINAL_REAP_GRACE_MS` (k8s-backend.ts): terminal pods finished less than this ago are kept.
pub const TERMINAL_REAP_GRACE_MS: i64 = 60_000;
/// `SWEEP_SLACK_MS` (k8s-backend.ts): last term of the lifetime cutoff.
pub const SWEEP_SLACK_MS: i64 = 60_000;
/// `tailLines` of the stage-log tail read (`readStageLogTail`).
pub const STAGE_TAIL_LINES: i64 = 5;
/// `limitBytes` of the stage-log tail read (`readStageLogTail`).
pub const STAGE_TAIL_LIMIT_BYTES: i64 = 4_096;
/// The pattern of `IMAGE_ERR_RE` (k8s-backend.ts), unanchored. See
/// `reap::is_start_failure_reason` for the W15 extension.
pub const IMAGE_ERR_PATTERN: &str =
    "ImagePullBackOff|ErrImagePull|InvalidImageName|CreateContainerError|CrashLoopBackOff";

/// `K8S_API_TIMEOUT_MS` (k8s-client.ts): per-call timeout of control-plane calls.
pub const K8S_API_TIMEOUT_MS: u64 = 10_000;
/// `K8S_LOG_TIMEOUT_MS` (k8s-client.ts): per-attempt timeout of log reads.
pub const K8S_LOG_TIMEOUT_MS: u64 = 30_000;
/// Attempts made by `withRetry` (k8s-client.ts).
pub const RETRY_ATTEMPTS: u32 = 3;
/// `NON_RETRYABLE_STATUS` (k8s-client.ts): statuses `withRetry` throws at once.
pub const NON_RETRYABLE_STATUS: [u16; 6] = [400, 401, 403, 404, 409, 422];

/// `RUNTIME_UID` (k8s-pod-spec.ts).
pub const RUNTIME_UID: i64 = 65534;
/// `RUNTIME_GID` (k8s-pod-spec.ts).
pub const RUNTIME_GID: i64 = 65534;
/// `STAGE_ENTRY` (k8s-pod-spec.ts): the stage program inside the spawner image.
pub const STAGE_ENTRY: &str = "/app/src/backend/kubernetes/k8s-stage.ts";
/// `HARVEST_ENTRY` (k8s-pod-spec.ts): the harvest program inside the spawner image.
pub const HARVEST_ENTRY: &str = "/app/src/backend/kubernetes/k8s-harvest.ts";
/// `BASELINE_ENV_NAMES` (k8s-pod-spec.ts, /user era): user env names that may
/// never shadow the runner's infrastructure env (compared upper-cased).
pub const BASELINE_ENV_NAMES: [&str; 9] = [
    "HTTPS_PROXY",
    "HTTP_PROXY",
    "NO_PROXY",
    "PIP_CACHE_DIR",
    "UV_CACHE_DIR",
    "NPM_CONFIG_CACHE",
    "HOME",
    "PATH",
    "TMPDIR",
];
/// `ID_RE` / `ID_ALPHABET_RE`: longest accepted execution id.
pub const MAX_ID_LEN: usize = 64;
/// `ORG_RE` / `ORG_ID_ALPHABET_RE`: longest accepted organization id.
pub const MAX_ORG_LEN: usize = 128;
/// `ENTRY_PATH_RE`: longest path part of an entry path.
pub const MAX_ENTRY_PATH_PART_LEN: usize = 256;

/// `ATTEST_DIR` (k8s-protocol.ts, attest variant).
pub const ATTEST_DIR: &str = "/attest";
/// `RESULT_MARKER` (k8s-protocol.ts).
pub const RESULT_MARKER: &str = "__TALE_RESULT__";
/// `HARVEST_STARTED_MARKER` (k8s-protocol.ts).
pub const HARVEST_STARTED_MARKER: &str = "__TALE_HARVEST_STARTED__";
/// Harvest `POLL_MS` (k8s-harvest.ts): exit-code file poll interval.
pub const HARVEST_POLL_MS: u64 = 200;

/// Name of the init container that stages the inputs (runs [`STAGE_ENTRY`]).
pub const STAGE_CONTAINER: &str = "stage";
/// Name of the container that runs the user code.
pub const RUNNER_CONTAINER: &str = "runner";
/// Name of the sidecar that uploads the outputs and prints the result line (runs [`HARVEST_ENTRY`]).
pub const HARVEST_CONTAINER: &str = "harvest";

/// `EXEC_SPEC_MOUNT_DIR` (exec-spec.ts).
pub const EXEC_SPEC_MOUNT_DIR: &str = "/tale";
/// `EXEC_SPEC_FILENAME` (exec-spec.ts).
pub const EXEC_SPEC_FILENAME: &str = "spec.json";
/// `EXEC_SPEC_PATH` (exec-spec.ts).
pub const EXEC_SPEC_PATH: &str = "/tale/spec.json";

/// `PHASE_INSTALL` (exec-common.ts).
pub const PHASE_INSTALL: &str = "PHASE: installing";
/// `PHASE_RUN` (exec-common.ts).
pub const PHASE_RUN: &str = "PHASE: running";
/// `MAX_LINE_BUF_BYTES` (exec-common.ts). The TypeScript scanner compares it
/// with UTF-16 units; [`crate::scanner::StreamScanner`] compares bytes (W9).
pub const MAX_LINE_BUF_BYTES: usize = 64 * 1024;
/// `STEPS_INTERNAL_DIR` (exec-common.ts).
pub const STEPS_INTERNAL_DIR: &str = ".tale-steps";
/// `STEPS_RESULTS_FILENAME` (exec-common.ts).
pub const STEPS_RESULTS_FILENAME: &str = "results.json";

/// Label key set on every sandbox Pod and Secret (value [`LABEL_VALUE_SET`]); the sweep selects on it.
pub const LABEL_SANDBOX: &str = "tale.sandbox";
/// Label key of the object's role ([`ROLE_RUNTIME`] / [`ROLE_EXEC_SPEC`]).
pub const LABEL_ROLE: &str = "tale.sandbox/role";
/// Label key of the cache PVCs (value [`LABEL_VALUE_SET`]).
pub const LABEL_CACHE: &str = "tale.sandbox-cache";
/// The value of the marker labels [`LABEL_SANDBOX`] and [`LABEL_CACHE`].
pub const LABEL_VALUE_SET: &str = "1";
/// [`LABEL_ROLE`] value of the sandbox Pod.
pub const ROLE_RUNTIME: &str = "runtime";
/// [`LABEL_ROLE`] value of the per-execution Secret.
pub const ROLE_EXEC_SPEC: &str = "exec-spec";
/// Label selector used by `sweepOrphans`.
pub const SANDBOX_LABEL_SELECTOR: &str = "tale.sandbox=1";
/// Annotation holding the raw execution id.
pub const ANNOTATION_EXECUTION_ID: &str = "tale.dev/execution-id";
/// Annotation holding the raw organization id (Pod only).
pub const ANNOTATION_ORGANIZATION_ID: &str = "tale.dev/organization-id";
/// Annotation holding `String(startedAtMs)`.
pub const ANNOTATION_STARTED_AT: &str = "tale.dev/started-at";

/// Timeout clamp floor (`Math.max(…, 1000)` in `execute`).
pub const MIN_TIMEOUT_MS: u64 = 1_000;
/// `MAX_FILES_PER_REQUEST` (wire.ts, upstream validation).
pub const MAX_FILES_PER_REQUEST: usize = 50;
/// `MAX_FILE_PATH_LENGTH` (wire.ts, upstream validation).
pub const MAX_FILE_PATH_LENGTH: usize = 200;
/// `MAX_STEPS_PER_REQUEST` (wire.ts, upstream validation).
pub const MAX_STEPS_PER_REQUEST: usize = 10;
/// Size requested by a cache PVC (`ensureCachePvcs`).
pub const CACHE_PVC_STORAGE: &str = "2Gi";
