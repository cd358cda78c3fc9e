//! Runs every shared vector in `tests/vectors/` (see its README) against the Rust API. The
//! Node and wasm test suites run the same files, so the three surfaces provably agree.

use std::path::{Path, PathBuf};
use tale_sandbox_accumulator::StdoutAccumulator;
use tale_sandbox_vectors::Vector;

fn vector_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/vectors")
}

fn run(v: &Vector) -> Result<(), String> {
    let mut acc = StdoutAccumulator::new(v.config()).map_err(|e| e.to_string())?;
    let mut delivered = Vec::new();
    for read in &v.reads {
        delivered.extend_from_slice(acc.begin_read());
        for chunk in &read.chunks {
            delivered.extend_from_slice(acc.push(chunk).map_err(|e| e.to_string())?);
        }
        if read.ended() {
            delivered.extend_from_slice(acc.end_read().map_err(|e| e.to_string())?);
        }
    }
    delivered.extend_from_slice(acc.abandon_read());
    let out = acc.finish();
    let e = &v.expect;
    let check = |what: &str, ok: bool, got: String, want: String| {
        if ok { Ok(()) } else { Err(format!("{what}: got {got}, want {want}")) }
    };
    let want_stdout = &e.stdout[..];
    check(
        "stdout",
        out.stdout == want_stdout,
        format!("{:?}", out.stdout.escape_ascii().to_string()),
        format!("{:?}", want_stdout.escape_ascii().to_string()),
    )?;
    check(
        "delivered",
        delivered == want_stdout,
        format!("{:?}", delivered.escape_ascii().to_string()),
        "stdout".into(),
    )?;
    if let Some(text) = &e.text {
        check("text", out.text() == *text, format!("{:?}", out.text()), format!("{text:?}"))?;
    }
    check(
        "truncated",
        out.truncated == e.truncated,
        out.truncated.to_string(),
        e.truncated.to_string(),
    )?;
    check(
        "totalBytes",
        out.total_bytes == e.total_bytes,
        out.total_bytes.to_string(),
        e.total_bytes.to_string(),
    )?;
    check(
        "rotations",
        out.rotations == e.rotations,
        out.rotations.to_string(),
        e.rotations.to_string(),
    )?;
    check("gaps", out.gaps == e.gaps, out.gaps.to_string(), e.gaps.to_string())?;
    check(
        "malformed",
        out.malformed == e.malformed,
        out.malformed.to_string(),
        e.malformed.to_string(),
    )?;
    check("finish twice", acc.finish() == out, "different".into(), "same".into())
}

#[test]
fn all_shared_vectors_pass() {
    let mut paths: Vec<_> = std::fs::read_dir(vector_dir())
        .expect("tests/vectors exists")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    paths.sort();
    assert!(paths.len() >= 50, "expected the generated vectors, found {}", paths.len());
    let mut failures = Vec::new();
    for path in &paths {
        let text = std::fs::read_to_string(path).unwrap();
        let v = Vector::parse(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        if let Err(why) = run(&v) {
            failures.push(format!("{}: {why}", v.name));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} vectors failed:\n{}",
        failures.len(),
        paths.len(),
        failures.join("\n")
    );
    println!("{} vectors passed", paths.len());
}
