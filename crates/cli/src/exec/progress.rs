//! Live progress of one execution: what the callbacks and the client see, shown as a bar.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::size::human;

/// Counters shared between the execution's callbacks, the client layer and the bar.
#[derive(Debug, Default)]
pub struct Live {
    /// What the execution is doing (`creating pod`, `installing`, `running`, ...).
    pub phase: Mutex<String>,
    /// Stdout bytes received so far (the live deltas, phase-marker lines excluded).
    pub stdout_bytes: AtomicU64,
    /// Follow streams of the runner's log opened (`follow=true`, `container=runner`).
    pub follow_streams: AtomicU64,
    /// Rotations the embedded cluster did so far (`u64::MAX`: not known live).
    pub rotations: AtomicU64,
    /// Runner log bytes the embedded cluster served so far (`u64::MAX`: not known live).
    pub log_bytes: AtomicU64,
}

impl Live {
    /// Counters with rotations and log bytes unknown until the end.
    pub fn new(phase: &str) -> Arc<Self> {
        let live = Live { phase: Mutex::new(phase.to_string()), ..Default::default() };
        live.rotations.store(u64::MAX, Ordering::Relaxed);
        live.log_bytes.store(u64::MAX, Ordering::Relaxed);
        Arc::new(live)
    }

    /// Sets the phase text.
    pub fn set_phase(&self, phase: &str) {
        if let Ok(mut p) = self.phase.lock() {
            *p = phase.to_string();
        }
    }

    /// Reconnects so far: follow streams opened after the first.
    pub fn reconnects(&self) -> u64 {
        self.follow_streams.load(Ordering::Relaxed).saturating_sub(1)
    }

    fn message(&self) -> String {
        let phase = self.phase.lock().map(|p| p.clone()).unwrap_or_default();
        let rotations = match self.rotations.load(Ordering::Relaxed) {
            u64::MAX => "?".to_string(),
            n => n.to_string(),
        };
        let log = match self.log_bytes.load(Ordering::Relaxed) {
            u64::MAX => String::new(),
            n => format!(" | log read {}", human(n)),
        };
        format!("{phase:<14} | rotations {rotations} | reconnects {}{log}", self.reconnects())
    }
}

/// The bar on stderr; hidden when stderr is not a terminal (or when asked).
pub struct Bar {
    bar: ProgressBar,
}

impl Bar {
    /// A bar towards `expected` stdout bytes (a spinner when unknown).
    pub fn new(expected: Option<u64>, hidden: bool) -> Self {
        let target =
            if hidden { ProgressDrawTarget::hidden() } else { ProgressDrawTarget::stderr() };
        let bar = match expected {
            Some(total) => {
                let bar = ProgressBar::with_draw_target(Some(total), target);
                bar.set_style(
                    ProgressStyle::with_template("{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} {bytes_per_sec}\n  {msg}")
                        .expect("valid template")
                        .progress_chars("=> "),
                );
                bar
            }
            None => {
                let bar = ProgressBar::with_draw_target(None, target);
                bar.set_style(
                    ProgressStyle::with_template(
                        "{spinner} [{elapsed_precise}] stdout {bytes} {bytes_per_sec}\n  {msg}",
                    )
                    .expect("valid template"),
                );
                bar
            }
        };
        bar.enable_steady_tick(Duration::from_millis(120));
        Bar { bar }
    }

    /// Redraws from the counters.
    pub fn update(&self, live: &Live) {
        self.bar.set_position(live.stdout_bytes.load(Ordering::Relaxed));
        self.bar.set_message(live.message());
    }

    /// Removes the bar from the terminal.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
