//! The embedded test cluster: a runner that prints more than `containerLogMaxSize`, a kubelet
//! that rotates its log while it is read, optional faults, and the byte-exact check of stdout
//! against everything the runner wrote.

use std::sync::atomic::Ordering;
use std::time::Duration;
use tale_sandbox_contract::constants::{PHASE_RUN, RUNNER_CONTAINER};

use anyhow::Context as _;
use clap::Args;
use tale_sandbox_contract::config::SpawnerConfig;
use tale_sandbox_contract::names::pod_name_for;
use tale_sandbox_contract::text::{cap_text, strip_control_chars, strip_phase_markers};
use tale_sandbox_contract::wire::ExecutionStatus;
use tale_sandbox_execute::KubernetesBackend;
use tale_sandbox_testcluster::{
    ClusterConfig, Fault, FaultPlan, FaultRule, OutputStep, RepeatStep, RunnerScenario, Scenario,
    TestCluster,
};

use super::progress::{Bar, Live};
use super::size::{grouped, human, parse_size};
use super::{
    ExecArgs, Output, Run, RunHow, bar_hidden, counting_client, decode, execute_with_progress,
    load_config, load_request, preview,
};

/// Distinct numbered lines in the repeated pattern (a lost or doubled line shows).
const PATTERN_LINES: usize = 4096;

/// The run on the embedded test cluster (used when no real cluster is named).
#[derive(Args, Clone, Debug, PartialEq)]
pub struct EmbeddedArgs {
    /// Bytes the runner prints.
    #[arg(long, default_value = "25MiB", value_parser = parse_size, value_name = "SIZE", help_heading = "Embedded test cluster")]
    pub size: u64,
    /// Write speed of the runner, bytes per second (0 = as fast as possible).
    #[arg(long, default_value = "20MB", value_parser = parse_size, value_name = "SIZE", help_heading = "Embedded test cluster")]
    pub rate: u64,
    /// Length of each printed line in bytes, newline included (lines of 16KiB and more become
    /// partial CRI records).
    #[arg(
        long,
        default_value_t = 100,
        value_name = "BYTES",
        help_heading = "Embedded test cluster"
    )]
    pub line_length: usize,
    /// Bytes per pipe write of the runner.
    #[arg(long, default_value = "64KiB", value_parser = parse_size, value_name = "SIZE", help_heading = "Embedded test cluster")]
    pub write_size: u64,
    /// `containerLogMaxSize`: the kubelet rotates a log file at least this big.
    #[arg(long, default_value = "10MiB", value_parser = parse_size, value_name = "SIZE", help_heading = "Embedded test cluster")]
    pub rotate_size: u64,
    /// `containerLogMonitorInterval`: how often the kubelet checks log sizes, in milliseconds.
    #[arg(long, default_value_t = 100, value_name = "MS", help_heading = "Embedded test cluster")]
    pub rotate_period_ms: u64,
    /// Cut every runner log stream after this many bytes (abruptly, mid-body).
    #[arg(long, value_parser = parse_size, value_name = "SIZE", help_heading = "Embedded test cluster")]
    pub cut_stream_every: Option<u64>,
    /// Fail this fraction of API requests with HTTP 503 (0..1; the flow retries).
    #[arg(long, value_name = "P", help_heading = "Embedded test cluster")]
    pub fail_rate: Option<f64>,
    /// Pre-1.29 kubelet: follow streams stop receiving data after a rotation.
    #[arg(long, help_heading = "Embedded test cluster")]
    pub follow_stops_at_rotation: bool,
    /// A full fault plan (JSON, see the test cluster README), added to the flags above.
    #[arg(long, value_name = "JSON", help_heading = "Embedded test cluster")]
    pub faults: Option<String>,
    /// Seed of the random faults.
    #[arg(long, default_value_t = 1, help_heading = "Embedded test cluster")]
    pub seed: u64,
}

impl EmbeddedArgs {
    /// Whether any embedded-cluster flag differs from its default.
    pub fn was_customized(&self) -> bool {
        *self != super::ExecArgs::default().embedded
    }

    fn validate(&self) -> anyhow::Result<()> {
        anyhow::ensure!(self.line_length >= 2, "--line-length must be at least 2");
        anyhow::ensure!(self.write_size >= 1, "--write-size must be at least 1 byte");
        anyhow::ensure!(self.rotate_size >= 1, "--rotate-size must be at least 1 byte");
        anyhow::ensure!(self.rotate_period_ms >= 1, "--rotate-period-ms must be at least 1");
        if let Some(p) = self.fail_rate {
            anyhow::ensure!((0.0..=1.0).contains(&p), "--fail-rate must be within 0..1");
        }
        if let Some(cut) = self.cut_stream_every {
            anyhow::ensure!(cut >= 1, "--cut-stream-every must be at least 1 byte");
        }
        Ok(())
    }

    /// The fault plan of the flags.
    fn fault_plan(&self) -> anyhow::Result<FaultPlan> {
        let mut plan = match &self.faults {
            Some(json) => {
                serde_json::from_str::<FaultPlan>(json).context("--faults is not a fault plan")?
            }
            None => FaultPlan::default(),
        };
        plan.seed = self.seed;
        let rule = |route: &str, fault: Fault| FaultRule {
            route: route.to_string(),
            name: None,
            container: None,
            probability: None,
            on_requests: None,
            max_times: None,
            fault,
        };
        if let Some(after_bytes) = self.cut_stream_every {
            plan.rules.push(FaultRule {
                container: Some(RUNNER_CONTAINER.to_string()),
                ..rule("pods.log", Fault::CutBody { after_bytes, abrupt: true })
            });
        }
        if let Some(p) = self.fail_rate.filter(|p| *p > 0.0) {
            plan.rules
                .push(FaultRule { probability: Some(p), ..rule("*", Fault::Status { code: 503 }) });
        }
        Ok(plan)
    }

    /// The runner's output: a phase marker, then `size` bytes of distinct numbered lines, the
    /// last one shorter when `size` is not a whole number of lines, written whole so that the
    /// output ends with a newline, as a program's output usually does.
    fn scenario(&self) -> Scenario {
        let len = self.line_length as u64;
        let rest = self.size % len;
        let repeat = RepeatStep {
            pattern: pattern(self.line_length, PATTERN_LINES),
            total_bytes: self.size - rest,
            chunk_bytes: self.write_size,
            bytes_per_second: self.rate,
            ..RepeatStep::default()
        };
        let mut output =
            vec![OutputStep::text(format!("{PHASE_RUN}\n")), OutputStep::Repeat(repeat)];
        if rest > 0 {
            let line = "x".repeat(usize::try_from(rest - 1).unwrap_or(0));
            output.push(OutputStep::text(format!("{line}\n")));
        }
        Scenario {
            runner: RunnerScenario { output, ..RunnerScenario::default() },
            // Keep the deleted pod (and so its log's truth) around for the check.
            termination_linger_ms: Some(600_000),
            ..Scenario::default()
        }
    }
}

/// `lines` distinct lines of `len` bytes each (newline included), with a little UTF-8.
fn pattern(len: usize, lines: usize) -> String {
    const FILL: &str = "the quick brown fox jumps over the lazy dog · héllo wörld · 0123456789 ";
    let mut out = String::with_capacity(len * lines);
    for i in 0..lines {
        let mut line = format!("line {i:04} ");
        for c in FILL.chars().cycle() {
            if line.len() + c.len_utf8() > len - 1 {
                break;
            }
            line.push(c);
        }
        // Very short lines: the number is cut too; every line is exactly `len` bytes.
        let mut cut = (len - 1).min(line.len());
        while !line.is_char_boundary(cut) {
            cut -= 1;
        }
        line.truncate(cut);
        while line.len() < len - 1 {
            line.push('.');
        }
        line.push('\n');
        out.push_str(&line);
    }
    out
}

/// Runs the execution on a fresh embedded cluster and checks stdout against its truth.
pub async fn run(args: &ExecArgs) -> anyhow::Result<bool> {
    let e = &args.embedded;
    e.validate()?;
    let mut cfg = load_config(args)?;
    if args.stdout_max_bytes.is_none() {
        // Keep the whole stream, so "byte-exact" compares all of it.
        cfg.stdout_max_bytes = cfg.stdout_max_bytes.max(32 << 20).max(e.size + (1 << 20));
    }
    let req = load_request(args)?;
    let mut cluster_config = ClusterConfig {
        default_namespace: cfg.k8s.namespace.clone(),
        max_log_size: e.rotate_size,
        rotation_period: Duration::from_millis(e.rotate_period_ms),
        follow_continues_after_rotation: !e.follow_stops_at_rotation,
        faults: e.fault_plan()?,
        ..ClusterConfig::default()
    };
    cluster_config.log.keep_history = true;
    let cluster = TestCluster::start(cluster_config).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    cluster
        .set_scenario(&req.execution_id, e.scenario())
        .map_err(|e| anyhow::anyhow!("scenario: {e}"))?;

    let mut out = Output::new(args.json);
    out.line(format!(
        "tale-sandbox exec: embedded test cluster {} (namespace {}), execution {}",
        cluster.url(),
        cfg.k8s.namespace,
        req.execution_id
    ));
    let rate = if e.rate == 0 {
        "as fast as possible".to_string()
    } else {
        format!("at {}/s", human(e.rate))
    };
    out.line(format!(
        "runner     prints {} in lines of {} bytes {rate}; kubelet rotates its log at {} (checked every {} ms)",
        human(e.size),
        e.line_length,
        human(e.rotate_size),
        e.rotate_period_ms
    ));
    let plan = e.fault_plan()?;
    if !plan.rules.is_empty() {
        out.line(format!(
            "faults     {} (seed {})",
            serde_json::to_string(&plan.rules)?,
            plan.seed
        ));
    }

    let live = Live::new("starting");
    let kubeconfig = kube::config::Kubeconfig::from_yaml(&cluster.kubeconfig())
        .context("test cluster kubeconfig")?;
    let config = kube::Config::from_custom_kubeconfig(
        kubeconfig,
        &kube::config::KubeConfigOptions::default(),
    )
    .await?;
    let client = counting_client(config, live.clone())?;
    let backend = KubernetesBackend::from_client(cfg.clone(), client);
    let pod = pod_name_for(&req.execution_id);
    let namespace = cfg.k8s.namespace.clone();

    let expected_len = e.size;
    let bar = Bar::new(Some(expected_len), bar_hidden(args));
    let poll = |live: &Live| {
        let metrics = cluster.metrics();
        live.rotations.store(metrics.rotations, Ordering::Relaxed);
        live.log_bytes.store(metrics.log_bytes_of(&pod, RUNNER_CONTAINER), Ordering::Relaxed);
    };
    let run = execute_with_progress(
        &backend,
        &cfg,
        req,
        live.clone(),
        &bar,
        RunHow { keep_deltas: true, record: args.record.clone() },
        poll,
    )
    .await;
    bar.finish();
    out.json(&run.response)?;
    out.summary(&run, &live, &cfg);

    let metrics = cluster.metrics();
    let faults: Vec<String> =
        metrics.faults.iter().map(|f| format!("{} {} ×{}", f.route, f.kind, f.count)).collect();
    out.line(format!(
        "cluster    {} rotation(s) of the runner's log, runner log bytes served {}, faults injected: {}",
        metrics.rotations,
        human(metrics.log_bytes_of(&pod, RUNNER_CONTAINER)),
        if faults.is_empty() { "none".to_string() } else { faults.join(", ") }
    ));
    let truth = cluster
        .true_stream(&namespace, &pod, RUNNER_CONTAINER)
        .map_err(|e| anyhow::anyhow!("cannot read the runner's truth: {e}"))?;
    let verdict = check(&truth, &run, &cfg, metrics.rotations);
    verdict.print(&mut out);
    Ok(verdict.exact)
}

/// The outcome of the comparison with the truth.
struct Verdict {
    lines: Vec<String>,
    exact: bool,
}

impl Verdict {
    fn print(&self, out: &mut Output) {
        for line in &self.lines {
            out.line(line);
        }
    }
}

/// Compares the response's stdout with what the contract makes of the truth: the accumulator
/// keeps the first `stdoutMaxBytes` bytes, the text is decoded (invalid UTF-8 → U+FFFD),
/// phase-marker lines and control sequences are removed, and the result is capped at
/// `stdoutMaxBytes`. Also checks the live deltas (the accepted bytes before control-character
/// cleaning, phase markers already removed by the scanner) when the whole stream fits.
fn check(truth: &[u8], run: &Run, cfg: &SpawnerConfig, rotations: u64) -> Verdict {
    let mut lines = Vec::new();
    let response = &run.response;
    let stdout = decode(&response.stdout_base64);
    let cap = usize::try_from(cfg.stdout_max_bytes).unwrap_or(usize::MAX);
    let kept = &truth[..truth.len().min(cap)];
    let decoded = String::from_utf8_lossy(kept);
    let unmarked = strip_phase_markers(&decoded);
    let cleaned = strip_control_chars(&unmarked);
    let (capped, cap_cut) = cap_text(&cleaned, cfg.stdout_max_bytes);
    let expected = capped.as_bytes();
    let expected_truncated = truth.len() > cap || cap_cut;
    lines.push(format!(
        "truth      {} bytes written by the runner (the cluster's true stream, across all rotated files)",
        grouped(truth.len() as u64)
    ));
    let removed = kept.len() as i64 - expected.len() as i64;
    let mut how = Vec::new();
    if truth.len() > cap {
        how.push(format!("kept the first {} (stdoutMaxBytes)", grouped(cap as u64)));
    }
    if removed != 0 {
        how.push(format!(
            "{} bytes of phase markers/control characters removed by the contract's text cleaning",
            grouped(removed.unsigned_abs())
        ));
    }
    lines.push(format!(
        "expected   {} bytes of stdout{}",
        grouped(expected.len() as u64),
        if how.is_empty() { String::new() } else { format!(" ({})", how.join("; ")) }
    ));
    let completed = response.status == ExecutionStatus::Completed;
    let same = stdout == expected;
    let flag_ok = response.truncated.stdout == expected_truncated;
    lines.push(match first_difference(&stdout, expected) {
        None => format!("compare    stdoutBase64 decoded == expected: all {} bytes equal", grouped(stdout.len() as u64)),
        Some(at) => format!(
            "compare    stdoutBase64 decoded != expected: {} vs {} bytes, first difference at byte {}\n           got:      {}\n           expected: {}",
            grouped(stdout.len() as u64),
            grouped(expected.len() as u64),
            grouped(at as u64),
            preview(&stdout[at.min(stdout.len())..(at + 60).min(stdout.len())]),
            preview(&expected[at.min(expected.len())..(at + 60).min(expected.len())]),
        ),
    });
    let mut deltas_ok = true;
    if let Some(deltas) = &run.deltas
        && truth.len() <= cap
    {
        deltas_ok = deltas.as_bytes() == unmarked.as_bytes();
        lines.push(format!(
            "           live deltas (accepted bytes before control-character cleaning, {} bytes) == truth minus phase markers: {}",
            grouped(deltas.len() as u64),
            if deltas_ok { "yes" } else { "NO" }
        ));
    }
    if !flag_ok {
        lines.push(format!(
            "           truncated.stdout is {} but should be {}",
            response.truncated.stdout, expected_truncated
        ));
    }
    let exact = completed && same && flag_ok && deltas_ok;
    let f = &run.report.flow;
    lines.push(if exact {
        format!(
            "verdict    BYTE-EXACT: stdout equals the cluster's truth byte for byte ({} bytes, {} rotation(s), {} reconnect(s))",
            grouped(stdout.len() as u64),
            rotations,
            f.stdout_reconnects
        )
    } else if !completed {
        "verdict    NOT BYTE-EXACT: the execution did not complete".to_string()
    } else {
        "verdict    NOT BYTE-EXACT: stdout differs from the cluster's truth".to_string()
    });
    Verdict { lines, exact }
}

fn first_difference(a: &[u8], b: &[u8]) -> Option<usize> {
    let common = a.iter().zip(b).position(|(x, y)| x != y);
    match common {
        Some(at) => Some(at),
        None if a.len() == b.len() => None,
        None => Some(a.len().min(b.len())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pattern_lines_have_the_asked_length_and_are_distinct() {
        for len in [2, 5, 12, 13, 100, 1000] {
            let p = pattern(len, 50);
            assert_eq!(p.len(), len * 50, "len {len}");
            assert!(p.split_inclusive('\n').all(|l| l.len() == len), "len {len}");
        }
        let p = pattern(100, 4096);
        let lines: std::collections::HashSet<&str> = p.lines().collect();
        assert_eq!(lines.len(), 4096);
    }

    #[test]
    fn differences_are_located() {
        assert_eq!(first_difference(b"abc", b"abc"), None);
        assert_eq!(first_difference(b"abc", b"abd"), Some(2));
        assert_eq!(first_difference(b"ab", b"abc"), Some(2));
    }
}
