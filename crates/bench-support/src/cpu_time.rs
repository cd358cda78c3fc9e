//! CPU-time clocks: on a shared machine CPU time leaves out the time spent waiting for a core.

use std::time::Duration;

/// Which CPU time to read.
#[derive(Clone, Copy, Debug)]
pub enum CpuClock {
    /// The calling thread's (`CLOCK_THREAD_CPUTIME_ID`).
    Thread,
    /// The whole process's, all threads (`CLOCK_PROCESS_CPUTIME_ID`), like Node's `process.cpuUsage()`.
    Process,
}

/// The CPU time used so far by `clock`'s subject.
#[cfg(unix)]
pub fn cpu_time(clock: CpuClock) -> Duration {
    let id = match clock {
        CpuClock::Thread => libc::CLOCK_THREAD_CPUTIME_ID,
        CpuClock::Process => libc::CLOCK_PROCESS_CPUTIME_ID,
    };
    let mut t = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime only writes the timespec it is given.
    let rc = unsafe { libc::clock_gettime(id, &mut t) };
    assert_eq!(rc, 0, "clock_gettime({clock:?}) failed");
    Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
}

/// Off Unix there is no CPU clock here; callers refuse to select one.
#[cfg(not(unix))]
pub fn cpu_time(clock: CpuClock) -> Duration {
    panic!("the {clock:?} CPU clock needs Unix")
}
