//! A pure, deterministic model of how Kubernetes stores and serves container logs.
//!
//! The model follows `shared/spec/kubelet-logs.md` (normative) and the kubelet / containerd sources it
//! cites. It has no I/O, no async and never reads a clock: every time is passed in as a [`Timestamp`].
//!
//! The pieces, in the order data flows through a node:
//!
//! 1. A container writes bytes to its stdout/stderr pipe. The runtime's logger ([`LineSplitter`]) cuts
//!    them into CRI [`Record`]s: one per line (`F`), long lines cut into `P` pieces of at most
//!    `max_record_bytes` (16 KiB by default) at arbitrary byte positions.
//! 2. The records are appended to the container's current log file `0.log` ([`ContainerLog`]), encoded
//!    in the CRI line format `<RFC3339Nano> <stream> <F|P> <content>\n` ([`Record::encode_into`]).
//! 3. The kubelet's container log manager periodically checks the size of `0.log` and rotates it
//!    ([`ContainerLog::maybe_rotate`]): the file gets a new generation and the old one is kept among at most
//!    `max_files` files.
//! 4. `GET …/pods/{pod}/log` serves only the current file: [`ContainerLog::read`] for a plain read,
//!    [`FollowCursor`] for `follow=true` streams (which, since kubelet 1.29, continue into the new file after a
//!    rotation).
//!
//! For tests, [`ContainerLog::true_stream`] gives the ground truth: everything the container ever wrote,
//! as the log API renders it without timestamps, regardless of rotation.
//!
//! ```
//! use tale_sandbox_kubelet_logs::{ContainerLog, LogConfig, ReadOptions, Stream, Timestamp};
//!
//! let mut log = ContainerLog::new(LogConfig::default()).unwrap();
//! let t = Timestamp::from_unix_nanos(1_700_000_000_123_456_789);
//! log.write(t, Stream::Stdout, b"hello\nwor");
//! log.write(t, Stream::Stdout, b"ld\n");
//! let served = log.read(&ReadOptions { timestamps: true, ..ReadOptions::default() });
//! assert_eq!(
//!     served,
//!     b"2023-11-14T22:13:20.123456789Z hello\n2023-11-14T22:13:20.123456789Z world\n".to_vec()
//! );
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod container_log;
mod cursor;
mod file;
mod record;
mod render;
mod splitter;
mod timestamp;

pub use container_log::{ConfigError, ContainerLog, LogConfig, RotatedFileInfo};
pub use cursor::{FollowCursor, FollowOptions, FollowStatus};
pub use record::{DecodeError, Record, RecordRef, Stream, Tag, decode_cri_file, decode_cri_line};
pub use render::ReadOptions;
pub use splitter::{LineSplitter, SplitMode};
pub use timestamp::{TIMESTAMP_LEN, Timestamp, TimestampError};

/// containerd's default maximum CRI record content size (`max_container_log_line_size`): 16 KiB.
pub const DEFAULT_MAX_RECORD_BYTES: usize = 16 * 1024;
/// The kubelet's default `containerLogMaxFiles`: the current file plus four rotated ones.
pub const DEFAULT_MAX_FILES: usize = 5;
/// The kubelet's default `containerLogMaxSize`: 10 MiB.
pub const DEFAULT_MAX_SIZE_BYTES: u64 = 10 * 1024 * 1024;
