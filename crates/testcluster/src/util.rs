//! The bottom layer: what every other module of the cluster uses and which itself uses none of them —
//! the key objects are stored under, poison-tolerant locking, and the two clocks (CRI log records
//! with nanoseconds, object metadata with the apiserver's `Time`).

use std::sync::{Mutex, MutexGuard};
use std::time::SystemTime;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff;
use tale_sandbox_kubelet_logs::Timestamp;

/// `(namespace, name)`: how pods, secrets and PVCs are stored and pod runtimes are known.
pub(crate) type Key = (String, String);

/// Locks a mutex, recovering the data if a panicking thread poisoned it: the state stays usable and
/// one failed request must not take the whole cluster down.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Now, for CRI log records (nanoseconds since the Unix epoch).
pub(crate) fn log_now() -> Timestamp {
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
        .unwrap_or(0);
    Timestamp::from_unix_nanos(nanos)
}

/// Now, for object metadata and statuses (serialised with second precision).
pub(crate) fn api_now() -> Time {
    Time(jiff::Timestamp::now())
}
