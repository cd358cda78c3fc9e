//! One container's log files on the node: the current `0.log`, rotated files, rotation.

use std::collections::VecDeque;
use std::fmt;

use crate::file::LogFile;
use crate::record::{Record, RecordRef, Stream, Tag};
use crate::render::{ReadOptions, Renderer, tail_start};
use crate::splitter::{LineSplitter, SplitMode};
use crate::timestamp::Timestamp;
use crate::{DEFAULT_MAX_FILES, DEFAULT_MAX_RECORD_BYTES};

/// How a container's log is written and kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LogConfig {
    /// Longest record content; longer lines are cut into `P` records (containerd: 16 KiB).
    pub max_record_bytes: usize,
    /// When unterminated output is logged.
    pub split_mode: SplitMode,
    /// `containerLogMaxFiles`: files kept, the current one included (the kubelet requires at least 2).
    pub max_files: usize,
    /// Keep [`ContainerLog::true_stream`], a copy of everything ever written (doubles the memory used; a
    /// test harness wants it, a long-running server may not).
    pub keep_history: bool,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            max_record_bytes: DEFAULT_MAX_RECORD_BYTES,
            split_mode: SplitMode::PerWrite,
            max_files: DEFAULT_MAX_FILES,
            keep_history: true,
        }
    }
}

/// An invalid [`LogConfig`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigError {
    /// `max_record_bytes` was zero.
    ZeroMaxRecordBytes,
    /// `max_files` was below 2 (the kubelet rejects that too: rotation needs somewhere to go).
    TooFewMaxFiles(usize),
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::ZeroMaxRecordBytes => f.write_str("max_record_bytes must be at least 1"),
            ConfigError::TooFewMaxFiles(n) => write!(f, "max_files must be at least 2, got {n}"),
        }
    }
}

impl std::error::Error for ConfigError {}

/// Facts about a rotated (no longer current) log file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RotatedFileInfo {
    /// Generation the file had while it was `0.log`.
    pub generation: u64,
    /// Size in bytes (CRI format).
    pub size: u64,
    /// Number of records (lines).
    pub records: usize,
}

/// The log of one container instance: what the runtime wrote and the kubelet rotated.
///
/// Generations number the successive `0.log` files from 0; every rotation starts a new one.
#[derive(Clone, Debug)]
pub struct ContainerLog {
    config: LogConfig,
    splitter: LineSplitter,
    current: LogFile,
    rotated: VecDeque<LogFile>,
    history: Option<Vec<u8>>,
    payload_bytes: u64,
    records_written: u64,
    exited_at: Option<Timestamp>,
}

impl ContainerLog {
    /// An empty log of a running container.
    pub fn new(config: LogConfig) -> Result<Self, ConfigError> {
        if config.max_record_bytes == 0 {
            return Err(ConfigError::ZeroMaxRecordBytes);
        }
        if config.max_files < 2 {
            return Err(ConfigError::TooFewMaxFiles(config.max_files));
        }
        Ok(ContainerLog {
            config,
            splitter: LineSplitter::new(config.max_record_bytes, config.split_mode),
            current: LogFile::new(0),
            rotated: VecDeque::new(),
            history: config.keep_history.then(Vec::new),
            payload_bytes: 0,
            records_written: 0,
            exited_at: None,
        })
    }

    /// The configuration the log was created with.
    pub fn config(&self) -> &LogConfig {
        &self.config
    }

    /// The container wrote `data` to `stream` at `time` (one pipe read): the runtime's splitter turns it
    /// into records appended to `0.log`. Returns the number of records appended.
    pub fn write(&mut self, time: Timestamp, stream: Stream, data: &[u8]) -> usize {
        let mut count = 0;
        let ContainerLog { splitter, current, history, payload_bytes, records_written, .. } = self;
        splitter.write_with(time, stream, data, |record| {
            count += 1;
            append_one(current, history, payload_bytes, records_written, record);
        });
        count
    }

    /// Appends records verbatim to `0.log` (bypassing the splitter), e.g. to replay a captured file.
    pub fn append<'a>(&mut self, records: impl IntoIterator<Item = &'a Record>) {
        for record in records {
            self.append_ref(record.as_ref());
        }
    }

    /// Appends one record verbatim to `0.log`.
    pub fn append_ref(&mut self, record: RecordRef<'_>) {
        append_one(
            &mut self.current,
            &mut self.history,
            &mut self.payload_bytes,
            &mut self.records_written,
            record,
        );
    }

    /// The container exited at `time`: output held by the splitter is flushed as `P` records, and follow
    /// streams end once they have drained the file.
    pub fn close(&mut self, time: Timestamp) {
        let ContainerLog { splitter, current, history, payload_bytes, records_written, .. } = self;
        for stream in [Stream::Stdout, Stream::Stderr] {
            splitter.close_with(time, stream, |record| {
                append_one(current, history, payload_bytes, records_written, record);
            });
        }
        self.exited_at = Some(time);
    }

    /// Whether [`ContainerLog::close`] was called.
    pub fn is_exited(&self) -> bool {
        self.exited_at.is_some()
    }

    /// When the container exited (the time given to [`ContainerLog::close`]).
    pub fn exited_at(&self) -> Option<Timestamp> {
        self.exited_at
    }

    /// Rotates unconditionally: `0.log` becomes a rotated file, a new empty `0.log` starts with the next
    /// generation, and only the newest `max_files - 1` rotated files are kept.
    pub fn rotate(&mut self) {
        let next = LogFile::new(self.current.generation() + 1);
        let mut old = std::mem::replace(&mut self.current, next);
        old.seal();
        self.rotated.push_back(old);
        while self.rotated.len() > self.config.max_files - 1 {
            self.rotated.pop_front();
        }
    }

    /// The container log manager's periodic check: rotates when `0.log` has reached `max_size` bytes
    /// (the kubelet keeps the file while `size < max_size`). Returns whether it rotated. An empty file is
    /// never rotated.
    pub fn maybe_rotate(&mut self, max_size: u64) -> bool {
        if self.current.size() == 0 || self.current.size() < max_size {
            return false;
        }
        self.rotate();
        true
    }

    /// Generation of the current `0.log` (0 before the first rotation; the number of rotations so far).
    pub fn generation(&self) -> u64 {
        self.current.generation()
    }

    /// Size of the current `0.log` in bytes (CRI format).
    pub fn current_size(&self) -> u64 {
        self.current.size()
    }

    /// Number of records in the current `0.log`.
    pub fn current_len(&self) -> usize {
        self.current.len()
    }

    /// The records of the current `0.log`, oldest first.
    pub fn current_records(&self) -> impl Iterator<Item = RecordRef<'_>> + '_ {
        self.current.iter_from(0)
    }

    /// The current `0.log` exactly as it would be on disk.
    pub fn current_file_bytes(&self) -> Vec<u8> {
        self.current.encode()
    }

    /// The rotated files still kept, oldest first.
    pub fn rotated_files(&self) -> Vec<RotatedFileInfo> {
        self.rotated
            .iter()
            .map(|f| RotatedFileInfo {
                generation: f.generation(),
                size: f.size(),
                records: f.len(),
            })
            .collect()
    }

    /// How many bytes each record of the kept file of generation `generation` (current or rotated)
    /// adds to [`ContainerLog::true_stream`], oldest first (`None`: no such file is kept).
    pub fn record_lengths(&self, generation: u64) -> Option<Vec<u64>> {
        let file = self.file(generation)?;
        Some(
            file.iter_from(0)
                .map(|r| (r.content.len() + usize::from(r.tag == Tag::Full)) as u64)
                .collect(),
        )
    }

    /// The kept file of generation `generation`, current or rotated.
    pub(crate) fn file(&self, generation: u64) -> Option<&LogFile> {
        if generation == self.current.generation() {
            return Some(&self.current);
        }
        self.rotated.iter().find(|f| f.generation() == generation)
    }

    /// Ground truth: every record ever appended, as a log response without timestamps renders it
    /// (`F` → content + `\n`, `P` → content), both streams interleaved in write order. `None` when
    /// [`LogConfig::keep_history`] is off.
    pub fn true_stream(&self) -> Option<&[u8]> {
        self.history.as_deref()
    }

    /// Total length of [`ContainerLog::true_stream`], counted even without history.
    pub fn true_stream_len(&self) -> u64 {
        self.payload_bytes
    }

    /// Records appended since the log was created, across all files.
    pub fn records_written(&self) -> u64 {
        self.records_written
    }

    /// A non-follow `pods/log` read of this container: the current file only, rendered per `options`.
    pub fn read(&self, options: &ReadOptions) -> Vec<u8> {
        let mut out = Vec::new();
        self.read_into(options, &mut out);
        out
    }

    /// Like [`ContainerLog::read`], appending to `out`.
    pub fn read_into(&self, options: &ReadOptions, out: &mut Vec<u8>) {
        let mut renderer = Renderer::new(options);
        let start = tail_start(self.current.len(), options.tail_lines);
        for record in self.current.iter_from(start) {
            if renderer.exhausted() {
                break;
            }
            renderer.render(record, out);
        }
    }
}

fn append_one(
    file: &mut LogFile,
    history: &mut Option<Vec<u8>>,
    payload_bytes: &mut u64,
    records_written: &mut u64,
    record: RecordRef<'_>,
) {
    let newline = usize::from(record.tag == Tag::Full);
    if let Some(history) = history {
        history.extend_from_slice(record.content);
        if newline == 1 {
            history.push(b'\n');
        }
    }
    *payload_bytes += (record.content.len() + newline) as u64;
    *records_written += 1;
    file.push(record);
}
