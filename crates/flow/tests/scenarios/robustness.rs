//! No panic on any event order: unknown ids, events after `Done`, events in the wrong stage.

use tale_sandbox_flow::{ApiError, Call, ExecuteOptions, Payload, StreamEnd};

use crate::support::*;

#[test]
fn stray_events_are_ignored_in_every_stage() {
    let mut h = Harness::start();
    // Before the pod exists: watch and stream events mean nothing.
    h.pod(succeeded());
    h.pod_gone();
    h.watch_failed();
    h.exec.handle_timeout(NOW);
    let (id, _) = h.expect("CreateSecret");
    // A reply twice: the second is ignored.
    h.ok(id);
    h.ok(id);
    let (id, _) = h.expect("CreatePod");
    // Creates do not look at the payload.
    h.reply(id, Ok(Payload::Log(b"odd payload".to_vec())));
    assert!(h.watching);
    h.pod(running());
    let stream = h.last_stream();
    h.chunk(stream, "garbage without prefix\n");
    h.end(stream, StreamEnd::Error(ApiError::transport("x")));
    h.end(stream, StreamEnd::Eof);
    h.pod(succeeded());
    h.pod(succeeded());
    h.abort();
    h.abort();
    while let Some((id, _)) = h.calls.pop_front() {
        h.err(id, Some(404), "gone");
    }
    assert!(h.exec.is_done());
    h.pod(running());
    h.advance(1_000_000);
}

#[test]
fn a_pod_reply_with_the_wrong_payload_is_a_transport_error() {
    let mut h = Harness::start();
    let (id, _) = h.expect("CreateSecret");
    h.err(id, Some(409), "AlreadyExists");
    let (id, _) = h.expect("ReadPod");
    h.reply(id, Ok(Payload::Empty));
    assert_eq!(
        h.warnings(),
        vec![
            "[sandbox.k8s] read-pod attempt 1/3 failed: unexpected reply payload (expected a Pod)"
        ]
    );
}

#[test]
fn warnings_never_carry_the_sandbox_token() {
    let mut cfg = cfg();
    cfg.sandbox_token = Some("tok-SECRET-123".into());
    let mut h = Harness::new(&cfg, request());
    let (id, call) = h.expect("CreateSecret");
    // The token travels only inside the Secret body.
    let Call::CreateSecret(secret) = call else { unreachable!() };
    assert!(format!("{secret:?}").contains("tok-SECRET-123"));
    h.ok(id);
    let (id, _) = h.expect("CreatePod");
    h.ok(id);
    h.pod(running());
    h.pod_gone();
    while let Some((id, _)) = h.calls.pop_front() {
        h.err(id, Some(500), "failure");
    }
    h.advance(10_000);
    while let Some((id, _)) = h.calls.pop_front() {
        h.err(id, Some(500), "failure");
    }
    assert!(!h.warnings().is_empty());
    assert!(
        h.log
            .iter()
            .all(|a| !matches!(a, tale_sandbox_flow::Action::Warn(w) if w.contains("SECRET")))
    );
}

/// A tiny deterministic generator (no dependency needed for this).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        self.0 >> 33
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn random_pod(rng: &mut Lcg) -> tale_sandbox_contract::k8s_openapi::api::core::v1::Pod {
    let states = [
        None,
        Some(C::Waiting("PodInitializing")),
        Some(C::Waiting("ErrImagePull")),
        Some(C::Running),
        Some(C::Exited(0, None)),
        Some(C::Exited(137, Some("OOMKilled"))),
        Some(C::Exited(1, Some("Error"))),
    ];
    let phases = ["Pending", "Running", "Succeeded", "Failed"];
    let mut pick = || states[rng.below(states.len() as u64) as usize];
    let (stage, runner, harvest) = (pick(), pick(), pick());
    pod(phases[rng.below(4) as usize], stage, runner, harvest)
}

fn random_reply(rng: &mut Lcg, call: &Call) -> Result<Payload, ApiError> {
    let status =
        [None, Some(400), Some(404), Some(409), Some(500), Some(503)][rng.below(6) as usize];
    if rng.below(3) == 0 {
        return Err(ApiError::new(status, "random failure"));
    }
    Ok(match call {
        Call::ReadPod { .. } => Payload::Pod(Box::new(random_pod(rng))),
        Call::ReadLog { .. } => {
            let logs =
                [String::new(), result_line(0), started_line(3), ts(20, 0, "x"), "garbage".into()];
            Payload::Log(logs[rng.below(logs.len() as u64) as usize].clone().into_bytes())
        }
        _ => Payload::Empty,
    })
}

#[test]
fn random_event_orders_never_panic_and_always_finish() {
    for seed in 0..300u64 {
        let mut rng = Lcg(seed);
        let mut cfg = cfg();
        if seed % 3 == 0 {
            cfg.k8s.cache_mode = tale_sandbox_contract::config::CacheMode::Pvc;
        }
        let mut h = Harness::new(&cfg, request());
        let mut ended = Vec::new();
        for _ in 0..60 {
            match rng.below(9) {
                0..=2 if !h.calls.is_empty() => {
                    let i = rng.below(h.calls.len() as u64) as usize;
                    let (id, call) = h.calls.remove(i).unwrap();
                    let reply = random_reply(&mut rng, &call);
                    h.reply(id, reply);
                }
                3 => h.pod(random_pod(&mut rng)),
                4 if !h.opened.is_empty() => {
                    let (id, _) = h.opened[rng.below(h.opened.len() as u64) as usize].clone();
                    match rng.below(4) {
                        0 => {
                            h.end(id, StreamEnd::Cut);
                            ended.push(id);
                        }
                        1 => {
                            h.end(id, StreamEnd::Eof);
                            ended.push(id);
                        }
                        _ => h.chunk(
                            id,
                            &ts(20 + rng.below(30) as u32, rng.below(1000) as u32, "line"),
                        ),
                    }
                }
                5 => h.advance(rng.below(20_000) as i64),
                6 if rng.below(10) == 0 => h.abort(),
                7 if rng.below(10) == 0 => h.pod_gone(),
                8 if rng.below(20) == 0 => h.watch_failed(),
                _ => h.advance(rng.below(600) as i64),
            }
        }
        // Wind down: every call fails with 404, open streams end, time passes.
        for _ in 0..10_000 {
            if h.exec.is_done() {
                break;
            }
            if let Some((id, _)) = h.calls.pop_front() {
                h.err(id, Some(404), "gone");
            } else if let Some((id, _)) = h
                .opened
                .iter()
                .find(|(id, _)| !ended.contains(id) && !h.closed.contains(id))
                .cloned()
            {
                ended.push(id);
                h.end(id, StreamEnd::Eof);
            } else {
                let at = h
                    .exec
                    .poll_timeout()
                    .unwrap_or_else(|| panic!("seed {seed}: stuck in {:?}", h.exec.stage()));
                h.advance(at - h.now);
            }
        }
        assert!(h.exec.is_done(), "seed {seed}: not done");
        let responds =
            h.log.iter().filter(|a| matches!(a, tale_sandbox_flow::Action::Respond(_))).count();
        assert_eq!(responds, 1, "seed {seed}");
        assert!(matches!(h.log.last(), Some(tale_sandbox_flow::Action::Done)), "seed {seed}");
        assert_eq!(h.exec.poll_timeout(), None);
        // After the response: only the cleanup, its warnings, and Done.
        let respond = h.position(|a| matches!(a, tale_sandbox_flow::Action::Respond(_))).unwrap();
        for action in &h.log[respond + 1..] {
            assert!(
                matches!(
                    action,
                    tale_sandbox_flow::Action::Call {
                        call: Call::DeletePod { .. } | Call::DeleteSecret { .. },
                        ..
                    } | tale_sandbox_flow::Action::Warn(_)
                        | tale_sandbox_flow::Action::Done
                ),
                "seed {seed}: {action:?} after the response"
            );
        }
    }
}

/// Any `now_ms`, including the extremes and a clock going backwards, arms timers and
/// computes durations without an arithmetic overflow (a panic in debug builds).
#[test]
fn extreme_clocks_never_overflow() {
    let clocks = [i64::MAX, i64::MAX - 1, i64::MIN, i64::MIN + 1, 0, -1];
    for &first in &clocks {
        for &second in &clocks {
            // A duplicate dispatch with a leftover: the W16 wait timer and a read-pod retry.
            let mut h = Harness::start();
            h.now = first;
            let (id, _) = h.expect("CreateSecret");
            h.err(id, Some(409), "AlreadyExists");
            let (id, _) = h.expect("ReadPod");
            h.err(id, None, "timeout");
            h.exec.handle_timeout(i64::MAX);
            h.exec.handle_timeout(second);
            h.exec.handle_abort(second);
            let _ = h.exec.poll_timeout();

            // A whole run: startup budget, backstop, runner-dead grace, stall, drain, result.
            let mut h = Harness::start();
            h.now = first;
            let stream = h.run_to_running();
            h.chunk(stream, &ts(20, 0, "out"));
            h.now = second;
            let dead = pod(
                "Running",
                Some(C::Exited(0, None)),
                Some(C::Exited(137, Some("OOMKilled"))),
                Some(C::Running),
            );
            h.pod(dead.clone());
            h.now = first;
            h.pod(dead);
            h.exec.handle_timeout(second);
            h.exec.handle_timeout(i64::MAX);
            while let Some((id, _)) = h.calls.pop_front() {
                h.err(id, None, "timeout");
                h.exec.handle_timeout(i64::MAX);
            }
            h.pod(succeeded());
            h.exec.handle_timeout(i64::MAX);
            h.abort();
            while let Some((id, _)) = h.calls.pop_front() {
                h.err(id, Some(404), "gone");
            }
            assert!(h.exec.response().is_some(), "{first} {second}");
        }
    }
}

/// An extreme `startedAtMs` against an extreme clock: durations saturate instead of
/// overflowing, on the error, cancelled and assembled paths.
#[test]
fn extreme_started_at_never_overflows() {
    for (started, now) in [(i64::MIN, i64::MAX), (i64::MAX, i64::MIN)] {
        // Error path (pod deleted during startup).
        let mut h = Harness::with_options(&cfg(), request(), ExecuteOptions::new(started));
        h.now = now;
        h.create_all();
        h.pod_gone();
        assert!(h.exec.response().is_some());
        // Cancelled before the main loop.
        let mut h = Harness::with_options(&cfg(), request(), ExecuteOptions::new(started));
        h.now = now;
        h.create_all();
        h.abort();
        assert!(h.exec.response().is_some());
        // Assembled (abort in the main loop).
        let mut h = Harness::with_options(&cfg(), request(), ExecuteOptions::new(started));
        h.now = now;
        h.run_to_running();
        h.abort();
        assert!(h.exec.response().is_some());
    }
}
