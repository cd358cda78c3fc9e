//! Spec §7.7 (`k8s-client.test.ts`), the parts that are pure policy: which
//! statuses `withRetry` retries, how often, and with which backoff. (The
//! middleware/TLS-agent cases are Bun/TypeScript specific.)

use tale_sandbox_contract::retry::{RetryDecision, retry_decision};

/// Drive the policy like `withRetry` would with an operation that fails with
/// `statuses[i]` on call i (or succeeds on `None`-terminated success).
fn run(outcomes: &[Result<(), Option<u16>>]) -> (usize, u64, bool) {
    let mut calls = 0;
    let mut slept = 0;
    for (attempt, outcome) in outcomes.iter().enumerate() {
        calls += 1;
        match outcome {
            Ok(()) => return (calls, slept, true),
            Err(status) => match retry_decision(attempt as u32, *status) {
                RetryDecision::RetryAfterMs(ms) => slept += ms,
                RetryDecision::GiveUp => return (calls, slept, false),
            },
        }
    }
    (calls, slept, false)
}

#[test]
fn non_retryable_statuses_fail_after_one_call() {
    for status in [400, 401, 403, 404, 409, 422] {
        assert_eq!(run(&[Err(Some(status)), Ok(())]), (1, 0, false), "{status}");
    }
}

#[test]
fn status_less_errors_are_tried_three_times_without_trailing_sleep() {
    let (calls, slept, ok) = run(&[Err(None), Err(None), Err(None), Ok(())]);
    assert_eq!((calls, ok), (3, false));
    assert_eq!(slept, 200 + 400, "no sleep after the last attempt; total < 1 s");
}

#[test]
fn retryable_503_succeeds_on_third_call() {
    assert_eq!(run(&[Err(Some(503)), Err(Some(503)), Ok(())]), (3, 600, true));
}
