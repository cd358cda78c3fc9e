//! The retry policy of `withRetry` (k8s-client.ts, spec §2.2, §7.7), as a
//! pure decision so any HTTP client can apply it.

use crate::constants::{NON_RETRYABLE_STATUS, RETRY_ATTEMPTS};

/// What to do after a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryDecision {
    /// Sleep this many milliseconds, then try again.
    RetryAfterMs(u64),
    /// Give up and return the error.
    GiveUp,
}

/// Whether `withRetry` tries a call failed with HTTP `status` again at all: every failure but
/// the non-retryable statuses (400, 401, 403, 404, 409, 422), which it rethrows at once, without
/// a warning. `None` (no status: timeout, network or decode error) is retryable.
pub fn is_retryable(status: Option<u16>) -> bool {
    !status.is_some_and(|s| NON_RETRYABLE_STATUS.contains(&s))
}

/// `withRetry`'s decision after attempt `attempt` (0-based) failed with HTTP
/// `status` (`None`: no status — timeout, network or decode error).
/// Non-retryable statuses (400, 401, 403, 404, 409, 422) give up at once; the
/// backoff is `200 * (attempt + 1)` ms; there is no sleep after the last attempt.
pub fn retry_decision(attempt: u32, status: Option<u16>) -> RetryDecision {
    if !is_retryable(status) {
        return RetryDecision::GiveUp;
    }
    if attempt + 1 >= RETRY_ATTEMPTS {
        return RetryDecision::GiveUp;
    }
    RetryDecision::RetryAfterMs(200 * (u64::from(attempt) + 1))
}
