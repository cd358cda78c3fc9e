//! `byte_counts()`: every byte of a response is accounted for exactly once (accepted,
//! duplicate, skipped or framing), on every shared vector, split into chunks of every size.

use std::path::{Path, PathBuf};
use tale_sandbox_accumulator::{ByteCounts, Config, Mode, StdoutAccumulator};
use tale_sandbox_vectors::Vector;

fn vectors() -> Vec<Vector> {
    let dir: PathBuf = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/vectors");
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    paths.sort();
    paths.iter().map(|p| Vector::parse(&std::fs::read_to_string(p).unwrap()).unwrap()).collect()
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

/// Feeds the vector with every chunk re-split into pieces of `piece` bytes; returns the
/// per-response deltas.
fn per_response(v: &Vector, piece: usize) -> Vec<ByteCounts> {
    let mut acc = StdoutAccumulator::new(v.config()).unwrap();
    let mut out = Vec::new();
    for read in &v.reads {
        let before = acc.byte_counts();
        acc.begin_read();
        for chunk in &read.chunks {
            for part in chunk.chunks(piece) {
                acc.push(part).unwrap();
            }
        }
        if read.ended() {
            acc.end_read().unwrap();
        } else {
            acc.abandon_read();
        }
        out.push(delta(acc.byte_counts(), before));
    }
    out
}

#[test]
fn every_byte_is_counted_once_on_every_vector_and_split() {
    for v in vectors() {
        let whole = per_response(&v, usize::MAX);
        for (r, (read, d)) in v.reads.iter().zip(&whole).enumerate() {
            let wire: usize = read.chunks.iter().map(|c| c.len()).sum();
            assert_eq!(d.wire, wire as u64, "{} read {r}: wire", v.name);
            assert!(
                d.accepted + d.duplicate + d.skipped <= d.wire,
                "{} read {r}: more bytes classified than fed: {d:?}",
                v.name
            );
            if v.mode == Mode::Raw {
                assert_eq!(d.framing(), 0, "{} read {r}: raw reads have no framing", v.name);
            }
            assert!(d.kept <= d.accepted, "{} read {r}: {d:?}", v.name);
        }
        let sum: u64 = whole.iter().map(|d| d.accepted).sum();
        let acc = v.replay().unwrap();
        assert_eq!(sum, acc.finish().total_bytes, "{}: accepted sums to totalBytes", v.name);
        // Byte-by-byte feeding classifies a closed response the same way.
        for piece in [1, 7] {
            assert_eq!(
                per_response(&v, piece),
                whole,
                "{}: split into {piece}-byte pieces",
                v.name
            );
        }
    }
}

fn feed(acc: &mut StdoutAccumulator, body: &[u8], end: bool) -> ByteCounts {
    let before = acc.byte_counts();
    acc.begin_read();
    acc.push(body).unwrap();
    if end {
        acc.end_read().unwrap();
    } else {
        acc.abandon_read();
    }
    delta(acc.byte_counts(), before)
}

const T1: &str = "2024-05-01T10:20:30.000000001Z ";
const T2: &str = "2024-05-01T10:20:31.000000001Z ";
const T3: &str = "2024-05-01T10:20:32.000000001Z ";

#[test]
fn a_resumed_timestamped_read_counts_its_re_served_lines_as_duplicates() {
    let mut acc =
        StdoutAccumulator::new(Config { cap_bytes: 1024, mode: Mode::Timestamped }).unwrap();
    let first = format!("{T1}one\n{T2}two\n");
    let d = feed(&mut acc, first.as_bytes(), false);
    assert_eq!((d.accepted, d.duplicate, d.skipped, d.framing()), (8, 0, 0, 62));
    // The resume re-serves `two` (the last line group) and brings `three`.
    let resumed = format!("{T2}two\n{T3}three\n");
    let d = feed(&mut acc, resumed.as_bytes(), true);
    assert_eq!((d.accepted, d.duplicate, d.skipped, d.framing()), (6, 4, 0, 62));
    // A malformed line: the rest of the response is skipped.
    let bad = format!("{T3}three\nnot a prefix at all\n");
    let d = feed(&mut acc, bad.as_bytes(), true);
    assert_eq!(d.accepted, 0);
    assert_eq!(d.duplicate, 6);
    assert_eq!(d.skipped, 20);
    assert_eq!(acc.finish().malformed, 1);
}

#[test]
fn a_raw_read_that_loses_its_place_in_a_new_file_counts_the_rest_as_skipped() {
    let mut acc = StdoutAccumulator::new(Config { cap_bytes: 1 << 20, mode: Mode::Raw }).unwrap();
    let old = vec![b'a'; 200_000];
    feed(&mut acc, &old, true);
    // A new file, longer than the old one, that differs only past the 64 KiB hold, in the
    // fingerprint's sample at 128 KiB: the read loses its place and uses nothing more of this
    // response (the held 64 KiB are taken as the new file's start).
    let mut new = old.clone();
    new[131_072] = b'b';
    new.extend_from_slice(&[b'c'; 1000]);
    let before = acc.byte_counts();
    acc.begin_read();
    for piece in new.chunks(16 * 1024) {
        acc.push(piece).unwrap();
    }
    acc.end_read().unwrap();
    let d = delta(acc.byte_counts(), before);
    assert_eq!(d.wire, new.len() as u64);
    assert_eq!(d.accepted + d.duplicate + d.skipped, d.wire);
    assert_eq!(d.accepted, 64 * 1024, "{d:?}");
    assert_eq!(d.skipped, d.wire - 64 * 1024, "{d:?}");
    assert_eq!(acc.finish().rotations, 1);
}
