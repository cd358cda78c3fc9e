//! Whatever bytes and whatever call order: no panic, usage errors change nothing, and the
//! invariants users rely on hold (each stdout byte returned once, in order; the cap; the
//! `truncated` formula; `finish` is a snapshot).

use proptest::prelude::*;
use tale_sandbox_accumulator::{Config, ConfigError, Mode, StdoutAccumulator, UsageError};

#[derive(Debug, Clone)]
enum Call {
    Begin,
    Push(Vec<u8>),
    End,
    Abandon,
    Finish,
}

fn bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..40),
        // Plausible kubelet lines, valid or slightly broken, to reach the deep states.
        ("[0-9]{1,2}", "[0-9]{9}", "[a-z\n]{0,12}", any::<bool>()).prop_map(|(s, n, text, z)| {
            let zone = if z { "Z" } else { "+01:00" };
            format!("2026-11-26T10:00:{s:0>2}.{n}{zone} {text}").into_bytes()
        }),
    ]
}

fn calls() -> impl Strategy<Value = Vec<Call>> {
    let call = prop_oneof![
        2 => Just(Call::Begin),
        6 => bytes().prop_map(Call::Push),
        2 => Just(Call::End),
        1 => Just(Call::Abandon),
        1 => Just(Call::Finish),
    ];
    prop::collection::vec(call, 0..60)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, failure_persistence: None, ..ProptestConfig::default() })]
    #[test]
    fn never_panics_and_keeps_its_invariants(timestamped in any::<bool>(), cap in 1usize..200, calls in calls()) {
        let mode = if timestamped { Mode::Timestamped } else { Mode::Raw };
        let mut acc = StdoutAccumulator::new(Config { cap_bytes: cap, mode }).unwrap();
        let mut delivered = Vec::new();
        for call in calls {
            match call {
                Call::Begin => delivered.extend_from_slice(acc.begin_read()),
                Call::Push(b) => {
                    let before = acc.finish().stdout.to_vec();
                    match acc.push(&b) {
                        Ok(new) => delivered.extend_from_slice(new),
                        Err(e) => {
                            prop_assert_eq!(e, UsageError::PushOutsideRead);
                            prop_assert_eq!(acc.finish().stdout, &before[..]);
                        }
                    }
                }
                Call::End => match acc.end_read() {
                    Ok(new) => delivered.extend_from_slice(new),
                    Err(e) => prop_assert_eq!(e, UsageError::EndOutsideRead),
                },
                Call::Abandon => delivered.extend_from_slice(acc.abandon_read()),
                Call::Finish => {
                    let a = acc.finish();
                    prop_assert_eq!(a.clone(), acc.finish());
                }
            }
            let out = acc.finish();
            prop_assert!(out.stdout.len() <= cap);
            prop_assert_eq!(&delivered[..], out.stdout);
            prop_assert_eq!(out.truncated, out.gaps > 0 || out.total_bytes > cap as u64);
            prop_assert!(out.total_bytes >= out.stdout.len() as u64);
            // What the Node addon reports to V8: at least the stdout held, and bounded.
            let retained = acc.retained_bytes();
            prop_assert!(retained >= out.stdout.len() && retained <= cap.max(4096) + 256 * 1024, "retained_bytes {}", retained);
            let _ = out.text();
        }
    }
}

#[test]
fn zero_cap_is_rejected() {
    let err = StdoutAccumulator::new(Config { cap_bytes: 0, mode: Mode::Raw }).unwrap_err();
    assert_eq!(err, ConfigError::ZeroCap);
    assert_eq!(err.to_string(), "cap_bytes must be at least 1, got 0");
}

#[test]
fn usage_errors_name_the_rust_call() {
    let mut acc = StdoutAccumulator::new(Config { cap_bytes: 1, mode: Mode::Raw }).unwrap();
    assert_eq!(
        acc.push(b"x").unwrap_err().to_string(),
        "push called outside a read: call begin_read first"
    );
    assert_eq!(acc.try_skip(1).unwrap_err(), UsageError::TrySkipOutsideRead);
    assert_eq!(
        acc.end_read().unwrap_err().to_string(),
        "end_read called outside a read: call begin_read first"
    );
}
