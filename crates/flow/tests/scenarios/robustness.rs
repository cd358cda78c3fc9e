//! No panic on any event order: unknown ids, events after `Done`, events in the wrong stage.

use tale_sandbox_flow::{ApiError, Call, Payload, StreamEnd};

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
    let Call::CreateSecret(secret) = call else {
        unreachable!()
    };
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
