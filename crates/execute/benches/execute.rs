//! The execute path against a TypeScript-style baseline, on the embedded test cluster.
//!
//! The baseline is the service's §6.3 loop written with the same client ([`KubeApi`]): every
//! `POLL_INTERVAL_MS` it reads the runner's log from the head (`limitBytes = stdoutMaxBytes`)
//! and feeds [`TypeScriptPoller`], then reads the Pod; once the harvest has terminated it polls
//! once more and reads the result line. Both run side by side, at the same time, on one cluster.
//!
//! Workloads (each prints its figures; the full mode's go to `BENCHMARKS.md`):
//! * `burst`: a run that prints 5 MiB in its first second and lasts 60 s — log bytes the API
//!   served to each, against the log rendered once (stdout and its timestamp prefixes); and
//!   what the prefixes cost for short and long lines;
//! * `latency`: time from the harvest's termination (the cluster's own clock, nanoseconds) to
//!   the response, median and p90 over repeated runs;
//! * `concurrent`: 500 executions at once in this process — all byte-exact, added latency
//!   (response after the harvest's termination) median and p99, peak RSS;
//! * `memory`: 1 GiB printed with a 5 MiB cap — the driver's peak RSS and log bytes read;
//! * `sweep` (only when named, or in the full mode): outputs of 64 KiB to 16 MiB printed over
//!   2–2.5 s each, native and baseline side by side, repeated — log bytes served and latency after
//!   the harvest's exit per size (medians), written as CSV and plotted as SVG (`docs/` of the
//!   workspace in the full mode, or the directory in `SWEEP_OUT`).
//!
//! The cluster runs in a child process (this binary, re-run with `--cluster-child`), so that
//! the peak RSS measured here is the driver's alone.
//!
//! ```text
//! cargo bench -p tale-sandbox-execute --bench execute              # every workload, full size
//! cargo bench -p tale-sandbox-execute --bench execute -- latency   # one workload
//! cargo bench -p tale-sandbox-execute --bench execute -- sweep     # the sweep and its plot
//! ```
//!
//! Without `--bench` (as `cargo test --all-targets` runs it) each workload runs small, as a
//! smoke test that still asserts byte-exact stdout and the byte-count bounds; the sweep then
//! runs only when named (two small sizes, three repetitions).

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use tale_sandbox_baseline::TypeScriptPoller;
use tale_sandbox_contract::config::SpawnerConfig;
use tale_sandbox_contract::constants::{
    HARVEST_CONTAINER, POLL_INTERVAL_MS, RESULT_READ_WINDOW_MS, RUNNER_CONTAINER,
};
use tale_sandbox_contract::names::{pod_name_for, secret_name_for};
use tale_sandbox_contract::pod::{SandboxPodInput, build_sandbox_pod};
use tale_sandbox_contract::protocol::parse_result_line;
use tale_sandbox_contract::reap::harvest_done;
use tale_sandbox_contract::secret::build_exec_secret;
use tale_sandbox_contract::wire::ExecuteRequest;
use tale_sandbox_execute::{
    ClientOptions, ExecuteOptions, KubeApi, KubernetesBackend, LogRequest, make_client, now_ms,
};
use tale_sandbox_testcluster::{
    ClusterConfig, ContainerLogInfo, MetricsSnapshot, OutputStep, RepeatStep, RunnerScenario,
    Scenario, TestCluster,
};

#[path = "support/plot.rs"]
mod plot;

/// Length of a `timestamps=true` prefix (`2024-05-01T10:20:30.123456789Z `).
const PREFIX_LEN: u64 = 31;
const MIB: u64 = 1 << 20;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--cluster-child") {
        cluster_child(&args[2]);
        return;
    }
    let full = args.iter().any(|a| a == "--bench");
    let filter: Option<&str> = args.iter().skip(1).find(|a| !a.starts_with("--")).map(|s| &**s);
    let runtime =
        tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    runtime.block_on(async {
        println!("execute bench ({} mode)", if full { "full" } else { "quick" });
        let wanted = |name: &str| filter.is_none_or(|f| name.contains(f));
        if wanted("burst") {
            burst(full).await;
        }
        if wanted("latency") {
            latency(full).await;
        }
        if wanted("concurrent") {
            concurrent(full).await;
        }
        if wanted("memory") {
            memory(full).await;
        }
        // Slow (about 2 min): in the quick mode (the test command) only when asked for.
        if wanted("sweep") && (full || filter.is_some()) {
            sweep(full).await;
        }
    });
}

// ---- the cluster, in a child process -------------------------------------------------------

/// What the child cluster is started with.
#[derive(serde::Serialize, serde::Deserialize)]
struct ChildSpec {
    kubeconfig: PathBuf,
    max_log_size: u64,
    keep_history: bool,
}

fn cluster_child(spec: &str) {
    let spec: ChildSpec = serde_json::from_str(spec).expect("child spec");
    let runtime =
        tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    runtime.block_on(async {
        let mut config = ClusterConfig { max_log_size: spec.max_log_size, ..Default::default() };
        config.log.keep_history = spec.keep_history;
        config.rotation_period = Duration::from_millis(100);
        let cluster = TestCluster::start(config).await.expect("cluster starts");
        cluster.write_kubeconfig(&spec.kubeconfig).expect("kubeconfig");
        println!("READY");
        std::io::stdout().flush().expect("stdout");
        // Until the parent closes stdin (or dies).
        tokio::task::spawn_blocking(|| std::io::stdin().read_to_end(&mut Vec::new())).await.ok();
        cluster.shutdown();
    });
}

/// The child cluster, a client for it, and its control endpoints.
struct Cluster {
    child: Child,
    _stdin: ChildStdin,
    kubeconfig: PathBuf,
    client: kube::Client,
}

impl Cluster {
    async fn start(max_log_size: u64, keep_history: bool) -> Cluster {
        let kubeconfig = std::env::temp_dir().join(format!(
            "tale-execute-bench-{}-{}.kubeconfig",
            std::process::id(),
            now_ms()
        ));
        let spec = ChildSpec { kubeconfig: kubeconfig.clone(), max_log_size, keep_history };
        let mut child = Command::new(std::env::current_exe().expect("own path"))
            .arg("--cluster-child")
            .arg(serde_json::to_string(&spec).expect("spec"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("cluster child starts");
        let stdin = child.stdin.take().expect("stdin");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut line).expect("ready");
        assert_eq!(line.trim(), "READY", "the cluster child did not start");
        let options = ClientOptions { kubeconfig: Some(kubeconfig.clone()), ..Default::default() };
        let client = make_client(&options, |_| None).await.expect("client");
        Cluster { child, _stdin: stdin, kubeconfig, client }
    }

    async fn backend(&self, cfg: &SpawnerConfig) -> KubernetesBackend {
        let options =
            ClientOptions { kubeconfig: Some(self.kubeconfig.clone()), ..Default::default() };
        KubernetesBackend::new_with_env(cfg.clone(), options, |_| None).await.expect("backend")
    }

    fn api(&self, cfg: &SpawnerConfig) -> KubeApi {
        KubeApi::new(self.client.clone(), &cfg.k8s.namespace)
    }

    async fn control(&self, method: &str, path: &str, body: Vec<u8>) -> Vec<u8> {
        let request = http::Request::builder()
            .method(method)
            .uri(format!("/sim/v1{path}"))
            .header("content-type", "application/json")
            .body(body)
            .expect("request");
        self.client.request_text(request).await.expect("control endpoint").into_bytes()
    }

    async fn set_scenario(&self, execution_id: &str, scenario: &Scenario) {
        let body = serde_json::to_vec(scenario).expect("scenario");
        self.control("PUT", &format!("/scenarios/{execution_id}"), body).await;
    }

    async fn metrics(&self) -> MetricsSnapshot {
        serde_json::from_slice(&self.control("GET", "/metrics", Vec::new()).await).expect("metrics")
    }

    fn container_path(ns: &str, execution_id: &str, container: &str) -> String {
        format!("/namespaces/{ns}/pods/{}/containers/{container}", pod_name_for(execution_id))
    }

    async fn info(&self, ns: &str, execution_id: &str, container: &str) -> ContainerLogInfo {
        let path = format!("{}/info", Self::container_path(ns, execution_id, container));
        serde_json::from_slice(&self.control("GET", &path, Vec::new()).await).expect("info")
    }

    /// Everything the runner wrote (the benchmark's patterns are ASCII, so text is exact).
    async fn truth(&self, ns: &str, execution_id: &str) -> Vec<u8> {
        let path = format!("{}/truth", Self::container_path(ns, execution_id, RUNNER_CONTAINER));
        self.control("GET", &path, Vec::new()).await
    }

    /// Epoch ms at which the harvest container of `execution_id` exited (cluster clock).
    async fn harvest_exited_at_ms(&self, ns: &str, execution_id: &str) -> f64 {
        let info = self.info(ns, execution_id, HARVEST_CONTAINER).await;
        let at = info.exited_at.expect("the harvest exited");
        tale_sandbox_contract::reap::parse_k8s_timestamp_ms(&at).expect("RFC 3339") as f64
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.kubeconfig);
    }
}

// ---- what both sides run -------------------------------------------------------------------

fn request(execution_id: &str) -> ExecuteRequest {
    ExecuteRequest::from_json(&format!(
        r#"{{"executionId":"{execution_id}","organizationId":"org-1","language":"python","entryPath":"main.py",
            "outputUploadSlots":[],"outputUrlEndpoint":"http://platform/ep1","reportUploadedEndpoint":"http://platform/ep2"}}"#
    ))
    .expect("valid request")
}

fn config(cap: u64) -> SpawnerConfig {
    SpawnerConfig { stdout_max_bytes: cap, ..SpawnerConfig::default() }
}

/// A runner that writes `pattern` up to `total` bytes at `rate` B/s (0: at once), then is
/// silent until `run_ms` after its start, then exits; the pod stays visible after deletion so
/// that its log can be inspected.
fn scenario(pattern: &str, total: u64, rate: u64, run_ms: u64) -> Scenario {
    scenario_in_writes_of(pattern, total, rate, run_ms, 64 * 1024)
}

/// [`scenario`] with writes of `chunk_bytes`. The test cluster stamps every line of one write
/// with one time, so a write is one line group, and a tail check reads the last one whole.
fn scenario_in_writes_of(
    pattern: &str,
    total: u64,
    rate: u64,
    run_ms: u64,
    chunk_bytes: u64,
) -> Scenario {
    let repeat = RepeatStep {
        pattern: pattern.to_string(),
        total_bytes: total,
        chunk_bytes,
        bytes_per_second: rate,
        ..RepeatStep::default()
    };
    let write_ms = (total * 1000).checked_div(rate).unwrap_or(0);
    let mut output = vec![OutputStep::Repeat(repeat)];
    if run_ms > write_ms {
        output.push(OutputStep::Sleep { ms: run_ms - write_ms });
    }
    Scenario {
        runner: RunnerScenario { output, ..RunnerScenario::default() },
        termination_linger_ms: Some(600_000),
        ..Scenario::default()
    }
}

/// Lines of `len` bytes (newline included), numbered so that a lost or doubled line shows.
fn lines_pattern(len: usize, count: usize) -> String {
    (0..count)
        .map(|i| {
            let mut line = format!("{i:06} ");
            while line.len() < len - 1 {
                line.push(char::from(b'a' + (line.len() % 26) as u8));
            }
            line.truncate(len - 1);
            line.push('\n');
            line
        })
        .collect()
}

/// The first `n` bytes of `pattern` repeated.
fn repeated(pattern: &str, n: u64) -> Vec<u8> {
    pattern.as_bytes().iter().copied().cycle().take(n as usize).collect()
}

/// One execution, native or baseline: stdout, whether truncated, when the response was ready.
struct Outcome {
    stdout: Vec<u8>,
    truncated: bool,
    responded_at_ms: f64,
    /// When the flow saw the harvest terminated (native only).
    harvest_seen_at_ms: Option<f64>,
    /// When the flow emitted the response, before its cleanup (native only).
    emitted_at_ms: Option<f64>,
    /// How this side read the logs: what to look at when it read more than the log once.
    reads: String,
}

async fn native(backend: &KubernetesBackend, cfg: &SpawnerConfig, id: &str) -> Outcome {
    let outcome = backend.execute(cfg, request(id), ExecuteOptions::new(now_ms())).await;
    let responded_at_ms = epoch_ms();
    let response = outcome.response;
    assert_eq!(
        response.status,
        tale_sandbox_contract::wire::ExecutionStatus::Completed,
        "{id}: {:?}",
        response.error_message
    );
    let stdout = base64::engine::general_purpose::STANDARD
        .decode(&response.stdout_base64)
        .expect("base64 stdout");
    let flow = &outcome.report.flow;
    Outcome {
        stdout,
        truncated: response.truncated.stdout,
        responded_at_ms,
        harvest_seen_at_ms: flow.harvest_done_at_ms.map(|ms| ms as f64),
        emitted_at_ms: flow.responded_at_ms.map(|ms| ms as f64),
        reads: format!(
            "{} stream(s), {} reconnect(s), {} stall(s), {} poll/final read(s), {} tail check(s) ({} confirmed)",
            flow.stdout_streams,
            flow.stdout_reconnects,
            flow.stdout_stalls,
            flow.stdout_polls,
            flow.stdout_tail_checks,
            flow.stdout_tail_confirmed
        ),
    }
}

/// The TypeScript service's loop (§1.2, §1.7, §6.3), with the same client.
async fn baseline(api: &KubeApi, cfg: &SpawnerConfig, id: &str) -> Outcome {
    let started = now_ms();
    let req = request(id);
    let (pod_name, secret_name) = (pod_name_for(id), secret_name_for(id));
    api.create_secret(&build_exec_secret(cfg, &req, 30_000.0, started)).await.expect("secret");
    let input = SandboxPodInput::from_request(&req, cfg.variant, started, None).expect("input");
    api.create_pod(&build_sandbox_pod(cfg, &input).expect("pod")).await.expect("pod");
    let mut poller = TypeScriptPoller::new(cfg.stdout_max_bytes as usize);
    let poll_request = LogRequest {
        limit_bytes: Some(cfg.stdout_max_bytes as i64),
        ..LogRequest::container(RUNNER_CONTAINER)
    };
    // Reads of the runner's log from the head (the last one after the harvest's exit), those of
    // them that failed, and reads of the harvest's log for the result line.
    let (mut polls, mut failed, mut result_reads) = (0u32, 0u32, 0u32);
    let mut poll = async || {
        polls += 1;
        // Before the runner starts the read fails (400); the TypeScript ignores that too.
        match api.read_log(&pod_name, &poll_request).await {
            Ok(body) => {
                poller.poll(&body);
            }
            Err(_) => failed += 1,
        }
    };
    loop {
        poll().await;
        let pod = api.read_pod(&pod_name).await.expect("read pod");
        if harvest_done(&pod) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(POLL_INTERVAL_MS)).await;
    }
    poll().await;
    let window = Instant::now() + Duration::from_millis(RESULT_READ_WINDOW_MS as u64);
    loop {
        result_reads += 1;
        let logs = api.read_log(&pod_name, &LogRequest::container(HARVEST_CONTAINER)).await;
        let found = logs.map(|b| parse_result_line(&String::from_utf8_lossy(&b)));
        if matches!(found, Ok(Ok(Some(_)))) || Instant::now() >= window {
            break;
        }
        tokio::time::sleep(Duration::from_millis(400)).await;
    }
    let responded_at_ms = epoch_ms();
    api.delete_pod(&pod_name).await.ok();
    api.delete_secret(&secret_name).await.ok();
    Outcome {
        stdout: poller.stdout().to_vec(),
        truncated: poller.truncated(),
        responded_at_ms,
        harvest_seen_at_ms: None,
        emitted_at_ms: None,
        reads: format!(
            "{polls} poll(s) of the runner's log from the head, the last after the harvest's exit ({failed} of them failed, as before the runner starts), {result_reads} read(s) of the harvest's log for the result line"
        ),
    }
}

fn epoch_ms() -> f64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_secs_f64()
        * 1e3
}

// ---- figures --------------------------------------------------------------------------------

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let at = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[at.min(sorted.len() - 1)]
}

fn sorted(mut v: Vec<f64>) -> Vec<f64> {
    v.sort_by(f64::total_cmp);
    v
}

/// Peak resident set of this process since the last [`reset_peak_rss`], in MiB.
fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

/// CPU seconds (user + system) used so far by process `pid` (`self` or a number).
fn cpu_seconds(pid: &str) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // The fields after the command name (which is in parentheses and may hold spaces).
    let fields: Vec<&str> =
        stat.rsplit_once(')').map_or(Vec::new(), |(_, rest)| rest.split_whitespace().collect());
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok()).unwrap_or(f64::NAN);
    // utime and stime are fields 14 and 15 of stat(5), 12 and 13 after the name; 100 ticks/s.
    (ticks(11) + ticks(12)) / 100.0
}

/// Resets the peak resident set (Linux: `5` to `/proc/self/clear_refs`).
fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// Runner-log bytes the cluster served for execution `id` (one namespace per cluster here).
fn runner_bytes(m: &MetricsSnapshot, id: &str) -> u64 {
    m.log_bytes_of(&pod_name_for(id), RUNNER_CONTAINER)
}

/// The log of `stdout` rendered once with `timestamps=true`: one prefix per line.
fn rendered_once(stdout: &[u8]) -> u64 {
    let lines = stdout.split_inclusive(|&b| b == b'\n').count() as u64;
    stdout.len() as u64 + lines * PREFIX_LEN
}

// ---- workloads ------------------------------------------------------------------------------

/// 5 MiB in the first second of a 60 s run: log bytes served to each side.
async fn burst(full: bool) {
    // The quick mode keeps the full mode's proportion of one write to the output (64 KiB in
    // 5 MiB, 1.25 %): a tail check reads the last write whole (a line group, see
    // `scenario_in_writes_of`), and with 64 KiB writes in 256 KiB two checks alone would be half
    // the log.
    let (total, run_ms, write) =
        if full { (5 * MIB, 60_000, 64 * 1024) } else { (256 * 1024, 2_500, 4 * 1024) };
    let cluster = Cluster::start(10 * MIB, true).await;
    let cfg = config(8 * MIB);
    let backend = cluster.backend(&cfg).await;
    let api = cluster.api(&cfg);
    let pattern = lines_pattern(100, 4096);
    let (nid, bid) = ("burst-native", "burst-baseline");
    for id in [nid, bid] {
        cluster
            .set_scenario(id, &scenario_in_writes_of(&pattern, total, total, run_ms, write))
            .await;
    }
    let (n, b) = tokio::join!(native(&backend, &cfg, nid), baseline(&api, &cfg, bid));
    let truth = cluster.truth(&cfg.k8s.namespace, nid).await;
    assert_eq!(n.stdout, truth, "native stdout is byte-exact");
    assert!(!n.truncated);
    // No rotation here: the baseline's polls see the whole output too.
    let b_truth = cluster.truth(&cfg.k8s.namespace, bid).await;
    assert_eq!(b.stdout, b_truth, "baseline stdout ({})", b.reads);
    let m = cluster.metrics().await;
    let rendered = rendered_once(&truth);
    let (served_n, served_b) = (runner_bytes(&m, nid), runner_bytes(&m, bid));
    println!(
        "burst: {} in the first second of a {} s run; log rendered once {} B",
        human(total),
        run_ms / 1000,
        rendered
    );
    println!(
        "burst: served to native {served_n} B = {:.3} x rendered; to baseline {served_b} B = {:.1} x rendered; baseline/native {:.1}",
        served_n as f64 / rendered as f64,
        served_b as f64 / rendered as f64,
        served_b as f64 / served_n as f64
    );
    println!("burst: native read the log in {}; baseline in {}", n.reads, b.reads);
    assert!(
        served_n as f64 <= 1.1 * rendered as f64,
        "native read {served_n} B for a log of {rendered} B rendered: {}",
        n.reads
    );
    for (len, what) in [(12usize, "short"), (100, "typical"), (4096, "long")] {
        let with = rendered_once(&repeated(&lines_pattern(len, 64), 64 * len as u64));
        let without = 64 * len as u64;
        println!(
            "burst: timestamp prefixes on {what} lines ({len} B): rendered/stdout = {:.3}",
            with as f64 / without as f64
        );
    }
}

/// Harvest termination → response, on repeated short runs.
async fn latency(full: bool) {
    let runs = if full { 30 } else { 3 };
    let cluster = Cluster::start(10 * MIB, true).await;
    let cfg = config(1 << 20);
    let backend = cluster.backend(&cfg).await;
    let api = cluster.api(&cfg);
    let ns = cfg.k8s.namespace.clone();
    let (mut native_ms, mut baseline_ms) = (Vec::new(), Vec::new());
    for i in 0..runs {
        let (nid, bid) = (format!("latency-native-{i}"), format!("latency-baseline-{i}"));
        // ~64 KiB over 200 ms, then the exit: the harvest finishes at an arbitrary moment.
        let s = scenario(&lines_pattern(80, 64), 64 * 1024, 320 * 1024, 0);
        for id in [&nid, &bid] {
            cluster.set_scenario(id, &s).await;
        }
        let (n, b) = tokio::join!(native(&backend, &cfg, &nid), baseline(&api, &cfg, &bid));
        assert_eq!(n.stdout, cluster.truth(&ns, &nid).await, "native stdout is byte-exact");
        native_ms.push(n.responded_at_ms - cluster.harvest_exited_at_ms(&ns, &nid).await);
        baseline_ms.push(b.responded_at_ms - cluster.harvest_exited_at_ms(&ns, &bid).await);
    }
    let (n, b) = (sorted(native_ms), sorted(baseline_ms));
    println!(
        "latency: harvest exit -> response over {runs} runs: native median {:.1} ms (p90 {:.1}), baseline median {:.1} ms (p90 {:.1}); baseline/native {:.1}",
        percentile(&n, 0.5),
        percentile(&n, 0.9),
        percentile(&b, 0.5),
        percentile(&b, 0.9),
        percentile(&b, 0.5) / percentile(&n, 0.5)
    );
    assert!(percentile(&n, 0.5) <= 100.0, "native median {:.1} ms", percentile(&n, 0.5));
}

/// Many executions at once in this process.
async fn concurrent(full: bool) {
    let count = if full { 500 } else { 20 };
    let cluster = Cluster::start(10 * MIB, true).await;
    let cfg = config(1 << 20);
    let backend = Arc::new(cluster.backend(&cfg).await);
    let ns = cfg.k8s.namespace.clone();
    // 32 KiB each over about a second.
    let s = scenario(&lines_pattern(64, 512), 32 * 1024, 32 * 1024, 0);
    for i in 0..count {
        cluster.set_scenario(&format!("conc-{i}"), &s).await;
    }
    reset_peak_rss();
    let cluster_pid = cluster.child.id().to_string();
    let (cpu_self, cpu_cluster) = (cpu_seconds("self"), cpu_seconds(&cluster_pid));
    let began = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..count {
        let (backend, cfg) = (backend.clone(), cfg.clone());
        tasks.spawn(async move {
            let id = format!("conc-{i}");
            let outcome = native(&backend, &cfg, &id).await;
            (id, outcome)
        });
    }
    let mut outcomes = Vec::new();
    while let Some(done) = tasks.join_next().await {
        outcomes.push(done.expect("execution task"));
    }
    let wall = began.elapsed();
    let peak = peak_rss_mib();
    println!(
        "concurrent: CPU used meanwhile: driver {:.1} s, test cluster {:.1} s (2 cores, {:.1} s wall)",
        cpu_seconds("self") - cpu_self,
        cpu_seconds(&cluster_pid) - cpu_cluster,
        wall.as_secs_f64()
    );
    let (mut added, mut seen) = (Vec::new(), Vec::new());
    for (id, outcome) in &outcomes {
        assert_eq!(outcome.stdout, cluster.truth(&ns, id).await, "{id}: byte-exact");
        assert!(!outcome.truncated, "{id}");
        let exited = cluster.harvest_exited_at_ms(&ns, id).await;
        added.push(outcome.responded_at_ms - exited);
        seen.push(outcome.harvest_seen_at_ms.expect("harvest seen") - exited);
    }
    let (added, seen) = (sorted(added), sorted(seen));
    println!(
        "concurrent: of that, the harvest's exit reached the flow (watch) after median {:.1} ms, p99 {:.1} ms",
        percentile(&seen, 0.5),
        percentile(&seen, 0.99)
    );
    let m = cluster.metrics().await;
    println!(
        "concurrent: {count} executions in {:.1} s, all byte-exact; added latency median {:.1} ms, p99 {:.1} ms, max {:.1} ms; peak RSS {:.1} MiB; {} secrets left",
        wall.as_secs_f64(),
        percentile(&added, 0.5),
        percentile(&added, 0.99),
        added[added.len() - 1],
        peak,
        m.live_secrets
    );
    assert_eq!(m.live_secrets, 0, "every Secret deleted (the Pods linger on purpose)");
    assert!(percentile(&added, 0.99) < 1000.0);
}

/// A long output with a small cap: memory stays flat and reading stops at the cap.
async fn memory(full: bool) {
    let (total, cap) = if full { (1 << 30, 5 * MIB) } else { (32 * MIB, MIB) };
    let cluster = Cluster::start(10 * MIB, false).await;
    let cfg = config(cap);
    let backend = cluster.backend(&cfg).await;
    let pattern = lines_pattern(100, 4096);
    let id = "memory-native";
    cluster.set_scenario(id, &scenario(&pattern, total, 0, 0)).await;
    reset_peak_rss();
    let began = Instant::now();
    let outcome = backend.execute(&cfg, request(id), ExecuteOptions::new(now_ms())).await;
    let wall = began.elapsed();
    let peak = peak_rss_mib();
    let stdout = base64::engine::general_purpose::STANDARD
        .decode(&outcome.response.stdout_base64)
        .expect("base64");
    assert_eq!(stdout, repeated(&pattern, cap), "the first cap bytes, exactly");
    assert!(outcome.response.truncated.stdout);
    let m = cluster.metrics().await;
    let served = runner_bytes(&m, id);
    let read = outcome.report.flow.log_bytes.runner;
    let rendered_cap = rendered_once(&stdout);
    println!(
        "memory: {} printed, cap {}: done in {:.1} s; log bytes read by the driver {read} = {:.3} x the cap rendered ({rendered_cap} B), sent by the cluster {served} = {:.3} x (the rest sat in socket buffers when the stream was closed); peak RSS of the driver {:.1} MiB",
        human(total),
        human(cap),
        wall.as_secs_f64(),
        read as f64 / rendered_cap as f64,
        served as f64 / rendered_cap as f64,
        peak
    );
    assert!(read as f64 <= 1.1 * rendered_cap as f64, "read {read} B");
    if full {
        assert!(peak < 100.0, "peak RSS {peak:.1} MiB");
    }
}

fn human(bytes: u64) -> String {
    if bytes >= 1 << 30 {
        format!("{} GiB", bytes >> 30)
    } else if bytes >= MIB {
        format!("{} MiB", bytes / MIB)
    } else {
        format!("{} KiB", bytes / 1024)
    }
}

/// One repetition of one size in the sweep.
struct SweepRun {
    native_bytes: u64,
    baseline_bytes: u64,
    native_ms: f64,
    baseline_ms: f64,
    /// Harvest exit → the native flow's main loop saw it (ms).
    native_seen_ms: f64,
    /// Harvest exit → the native flow emitted the response, before its cleanup (ms).
    native_emitted_ms: f64,
}

/// Output size against log bytes served and latency, native and baseline side by side.
async fn sweep(full: bool) {
    let (sizes, reps): (&[u64], usize) = if full {
        (&[64 * 1024, 256 * 1024, MIB, 4 * MIB, 16 * MIB], 5)
    } else {
        (&[64 * 1024, 256 * 1024], 3)
    };
    // The runner writes for 2 s plus an offset that spreads the repetitions over one poll
    // period: the baseline's latency depends on where its 500 ms poll clock stands when the
    // harvest exits, and both sides start together, so a fixed duration would sample one phase.
    let write_ms = |rep: usize| 2_000 + rep as u64 * POLL_INTERVAL_MS / reps as u64;
    // The cap is above every size (nothing truncated); the logs never rotate (the baseline
    // would lose bytes, and this sweep is about the cost of polling, not about rotation).
    let cap = 32 * MIB;
    let cluster = Cluster::start(256 * MIB, true).await;
    let cfg = config(cap);
    let backend = cluster.backend(&cfg).await;
    let api = cluster.api(&cfg);
    let ns = cfg.k8s.namespace.clone();
    let pattern = lines_pattern(100, 4096);
    println!(
        "sweep: each size printed as 100-byte lines in at least 64 paced writes over 2 s (+ 0 to {} ms, spread over the repetitions), then the exit; cap {}; {reps} repetitions, native and baseline at the same time; medians (nat. max: the most served to native in one run; native ms: until execute() returns, after deleting the Pod and Secret; nat. emit.: until the flow emitted the response)",
        POLL_INTERVAL_MS * (reps as u64 - 1) / reps as u64,
        human(cap)
    );
    let (mut points, mut seen_medians) = (Vec::new(), Vec::new());
    let mut csv_runs = String::from(
        "stdout_bytes,rendered_bytes,repetition,native_bytes_served,baseline_bytes_served,native_latency_ms,baseline_latency_ms,native_loop_done_ms,native_emitted_ms\n",
    );
    println!(
        "{:>8} | {:>12} | {:>24} | {:>9} | {:>26} | {:>10} | {:>11} | {:>7} | {:>11}",
        "stdout",
        "rendered",
        "native served (x rend.)",
        "nat. max",
        "baseline served (x rend.)",
        "native ms",
        "baseline ms",
        "TS/nat",
        "nat. emit."
    );
    for &size in sizes {
        let mut runs = Vec::new();
        let mut rendered = 0;
        for rep in 0..reps {
            let mut s = scenario(&pattern, size, size * 1000 / write_ms(rep), 0);
            // At least 64 paced writes, so that even the smallest output grows during the run.
            if let OutputStep::Repeat(repeat) = &mut s.runner.output[0] {
                repeat.chunk_bytes = (size / 64).clamp(1024, 64 * 1024);
            }
            let kib = size / 1024;
            let (nid, bid) =
                (format!("sweep-{kib}k-native-{rep}"), format!("sweep-{kib}k-ts-{rep}"));
            for id in [&nid, &bid] {
                cluster.set_scenario(id, &s).await;
            }
            let (n, b) = tokio::join!(native(&backend, &cfg, &nid), baseline(&api, &cfg, &bid));
            let truth = cluster.truth(&ns, &nid).await;
            assert_eq!(truth.len() as u64, size);
            assert_eq!(n.stdout, truth, "{nid}: native stdout is byte-exact");
            assert!(!n.truncated, "{nid}");
            let b_truth = cluster.truth(&ns, &bid).await;
            assert_eq!(b.stdout, b_truth, "{bid}: baseline stdout ({})", b.reads);
            rendered = rendered_once(&truth);
            let m = cluster.metrics().await;
            let native_exit = cluster.harvest_exited_at_ms(&ns, &nid).await;
            let run = SweepRun {
                native_bytes: runner_bytes(&m, &nid),
                baseline_bytes: runner_bytes(&m, &bid),
                native_ms: n.responded_at_ms - native_exit,
                baseline_ms: b.responded_at_ms - cluster.harvest_exited_at_ms(&ns, &bid).await,
                native_seen_ms: n.harvest_seen_at_ms.expect("harvest seen") - native_exit,
                native_emitted_ms: n.emitted_at_ms.expect("response emitted") - native_exit,
            };
            csv_runs.push_str(&format!(
                "{size},{rendered},{rep},{},{},{:.1},{:.1},{:.1},{:.1}\n",
                run.native_bytes,
                run.baseline_bytes,
                run.native_ms,
                run.baseline_ms,
                run.native_seen_ms,
                run.native_emitted_ms
            ));
            runs.push(run);
        }
        let median =
            |f: &dyn Fn(&SweepRun) -> f64| percentile(&sorted(runs.iter().map(f).collect()), 0.5);
        let point = plot::SweepPoint {
            stdout: size,
            rendered,
            native_bytes: median(&|r| r.native_bytes as f64),
            baseline_bytes: median(&|r| r.baseline_bytes as f64),
            native_ms: median(&|r| r.native_ms),
            baseline_ms: median(&|r| r.baseline_ms),
            native_emitted_ms: median(&|r| r.native_emitted_ms),
        };
        seen_medians.push((median(&|r| r.native_seen_ms), median(&|r| r.native_emitted_ms)));
        println!(
            "{:>8} | {:>12} | {:>14.0} ({:>6.3}) | {:>8.3}x | {:>16.0} ({:>6.1}) | {:>10.1} | {:>11.1} | {:>7.1} | {:>11.1}",
            human(size),
            rendered,
            point.native_bytes,
            point.native_bytes / rendered as f64,
            runs.iter().map(|r| r.native_bytes).max().unwrap_or(0) as f64 / rendered as f64,
            point.baseline_bytes,
            point.baseline_bytes / rendered as f64,
            point.native_ms,
            point.baseline_ms,
            point.baseline_ms / point.native_ms,
            point.native_emitted_ms
        );
        // The bound `burst` asserts, here for every size: the flow reads the log once (a
        // stream that ends before the runner's exit shows is followed by tail checks of a few
        // lines, not by a re-read of the last second).
        assert!(
            point.native_bytes <= 1.1 * rendered as f64,
            "sweep {}: native median {:.3} x the log rendered once, over 1.1 x",
            human(size),
            point.native_bytes / rendered as f64
        );
        points.push(point);
    }
    let out = match std::env::var_os("SWEEP_OUT") {
        Some(dir) => PathBuf::from(dir),
        None if full => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs"),
        None => std::env::temp_dir().join(format!("tale-execute-sweep-{}", std::process::id())),
    };
    std::fs::create_dir_all(&out).expect("output directory");
    let mut csv = String::from(
        "stdout_bytes,rendered_bytes,native_bytes_served,native_x_rendered,native_per_stdout_byte,baseline_bytes_served,baseline_x_rendered,baseline_per_stdout_byte,native_latency_ms,baseline_latency_ms,native_loop_done_ms,native_emitted_ms\n",
    );
    for (p, seen) in points.iter().zip(&seen_medians) {
        csv.push_str(&format!(
            "{},{},{:.0},{:.4},{:.4},{:.0},{:.2},{:.2},{:.1},{:.1},{:.1},{:.1}\n",
            p.stdout,
            p.rendered,
            p.native_bytes,
            p.native_bytes / p.rendered as f64,
            p.native_bytes / p.stdout as f64,
            p.baseline_bytes,
            p.baseline_bytes / p.rendered as f64,
            p.baseline_bytes / p.stdout as f64,
            p.native_ms,
            p.baseline_ms,
            seen.0,
            seen.1
        ));
    }
    let (medians, all, svg) = (
        out.join("execute-sweep.csv"),
        out.join("execute-sweep-runs.csv"),
        out.join("execute-sweep.svg"),
    );
    std::fs::write(&medians, csv).expect("medians CSV");
    std::fs::write(&all, csv_runs).expect("runs CSV");
    plot::render(&points, &svg).expect("plot");
    println!(
        "sweep: medians in {}, every run in {}, plot in {}",
        medians.display(),
        all.display(),
        svg.display()
    );
}
