//! Replays one shared test vector or recording (`tests/vectors/*.json`, or a file written by
//! `tale-sandbox exec --record`) through the accumulator, prints what each response brought and
//! the result, and checks it against the file's `expect` (exit status 1 when it differs). A raw
//! vector is also replayed through the TypeScript algorithm, for comparison.

use anyhow::Context;
use clap::Args;
use std::path::PathBuf;
use tale_sandbox_accumulator::{ByteCounts, Mode, StdoutAccumulator};
use tale_sandbox_baseline::TypeScriptPoller;
use tale_sandbox_vectors::Vector;

/// Which vector to replay.
#[derive(Args, Clone, Debug)]
pub struct ReplayArgs {
    /// Path of a vector or recording file (tests/vectors/*.json, `exec --record` output).
    pub vector: PathBuf,
    /// Do not list the responses one by one.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

/// Replays the vector, prints the results; `Ok(false)` when they differ from `expect`.
pub fn run(args: &ReplayArgs) -> anyhow::Result<bool> {
    let text = std::fs::read_to_string(&args.vector)
        .with_context(|| format!("reading {}", args.vector.display()))?;
    let v = Vector::parse(&text).context("not a vector file")?;
    let mut acc = StdoutAccumulator::new(v.config())?;
    let mut ts = TypeScriptPoller::new(v.cap_bytes);
    println!("{} (format version {}): {}\n", v.name, v.format_version(), v.description);
    if !args.quiet && !v.reads.is_empty() {
        println!(
            "{:>5} {:<7} {:<8} {:>12} {:>12} {:>11} {:>9} {:>9}  stream bytes",
            "read", "kind", "end", "wire", "accepted", "duplicate", "skipped", "framing"
        );
    }
    let mut at = 0u64;
    for (i, read) in v.reads.iter().enumerate() {
        let before = acc.byte_counts();
        let out = acc.finish();
        let (rotations, gaps) = (out.rotations, out.gaps);
        acc.begin_read();
        let mut body = Vec::new();
        for chunk in &read.chunks {
            acc.push(chunk)?;
            if v.mode == Mode::Raw {
                body.extend_from_slice(chunk);
            }
        }
        if read.ended() {
            acc.end_read()?;
            ts.poll(&body);
        } else {
            acc.abandon_read();
        }
        let d = delta(acc.byte_counts(), before);
        let out = acc.finish();
        if !args.quiet {
            let mut notes = String::new();
            if out.rotations > rotations {
                notes.push_str(&format!("  rotation +{}", out.rotations - rotations));
            }
            if out.gaps > gaps {
                notes.push_str(&format!("  gap +{}", out.gaps - gaps));
            }
            if let Some(since) = read.query.as_ref().and_then(|q| q.since_time.as_deref()) {
                notes.push_str(&format!("  sinceTime {since}"));
            }
            let how = read
                .how
                .clone()
                .unwrap_or_else(|| if read.ended() { "end".into() } else { "cut".into() });
            println!(
                "{:>5} {:<7} {:<8} {:>12} {:>12} {:>11} {:>9} {:>9}  {}..{}{}",
                i,
                read.kind.as_deref().unwrap_or("-"),
                how,
                d.wire,
                d.accepted,
                d.duplicate,
                d.skipped,
                d.framing(),
                at,
                at + d.accepted,
                notes
            );
        }
        at += d.accepted;
    }
    let out = acc.finish();
    println!("\naccumulator: stdout {}", preview(out.stdout));
    println!(
        "             {} bytes, truncated {}, totalBytes {}, rotations {}, gaps {}, malformed {}",
        out.stdout.len(),
        out.truncated,
        out.total_bytes,
        out.rotations,
        out.gaps,
        out.malformed
    );
    if v.mode == Mode::Raw {
        println!("TypeScript:  stdout {:?}", ts.text());
        println!("             truncated {}", ts.truncated());
    }
    let e = &v.expect;
    let mut differences = Vec::new();
    if out.stdout != &e.stdout[..] {
        let at = out.stdout.iter().zip(e.stdout.iter()).position(|(a, b)| a != b);
        let at = at.unwrap_or(out.stdout.len().min(e.stdout.len()));
        differences.push(format!(
            "stdout differs at byte {at} ({} bytes, expected {})",
            out.stdout.len(),
            e.stdout.len()
        ));
    }
    if let Some(text) = &e.text
        && out.text() != *text
    {
        differences.push("text differs".into());
    }
    for (field, got, want) in [
        ("truncated", u64::from(out.truncated), u64::from(e.truncated)),
        ("totalBytes", out.total_bytes, e.total_bytes),
        ("rotations", out.rotations, e.rotations),
        ("gaps", out.gaps, e.gaps),
        ("malformed", out.malformed, e.malformed),
    ] {
        if got != want {
            differences.push(format!("{field}: got {got}, expected {want}"));
        }
    }
    if differences.is_empty() {
        println!(
            "expect:      matches (stdout, truncated, totalBytes, rotations, gaps, malformed)"
        );
        Ok(true)
    } else {
        println!("expect:      DIFFERS: {}", differences.join("; "));
        Ok(false)
    }
}

fn delta(after: ByteCounts, before: ByteCounts) -> ByteCounts {
    ByteCounts {
        wire: after.wire - before.wire,
        accepted: after.accepted - before.accepted,
        kept: after.kept - before.kept,
        duplicate: after.duplicate - before.duplicate,
        skipped: after.skipped - before.skipped,
    }
}

/// The stdout, whole when short, else its start and end.
fn preview(stdout: &[u8]) -> String {
    let text = String::from_utf8_lossy(stdout);
    if text.chars().count() <= 160 {
        return format!("{text:?}");
    }
    let head: String = text.chars().take(60).collect();
    let tail: String = text.chars().rev().take(60).collect::<Vec<_>>().into_iter().rev().collect();
    format!("{head:?} … {tail:?}")
}
