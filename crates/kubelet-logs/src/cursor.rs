//! `follow=true` log streams and what happens to them when the file rotates.

use crate::container_log::ContainerLog;
use crate::render::{ReadOptions, Renderer, tail_start};

/// How a follow stream behaves around a rotation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FollowOptions {
    /// `true`: kubelet ≥ 1.29 — after a rotation the stream drains the old file, then continues with the
    /// new `0.log` from its start, carrying the "previous record ended a line" state over. `false`: older
    /// kubelets — the stream drains the old file, then receives nothing more and ends when the container
    /// exits.
    pub continue_after_rotation: bool,
    /// Model the data loss reported in kubernetes#126564: records written to the old file that the
    /// stream had not yet read when the rotation happened are never served.
    pub lose_unread_on_rotation: bool,
}

impl Default for FollowOptions {
    fn default() -> Self {
        FollowOptions { continue_after_rotation: true, lose_unread_on_rotation: false }
    }
}

/// What a follow stream should do after a [`FollowCursor::read_into`] call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FollowStatus {
    /// The byte budget of the call was used up; more is available right now.
    MoreAvailable,
    /// Everything written so far was served; wait for the container to write (or exit, or the file to
    /// rotate) and call again.
    Waiting,
    /// The stream is over: the container exited and the stream drained what it can see, or
    /// `limit_bytes` was reached.
    Finished,
}

/// The position and state of one `follow=true` log stream over a [`ContainerLog`].
///
/// The cursor does not borrow the log: every call takes the log as it is now, so a server can keep the
/// cursor in a connection task and call it whenever the container writes. A cursor must always be used
/// with the log it was created for.
///
/// If more than one rotation happens between two calls, a continuing stream (like the kubelet, which
/// reopens `0.log` by path) drains its own old file and then jumps to the current file: the files in
/// between are never served ([`FollowCursor::skipped_files`]).
#[derive(Clone, Debug)]
pub struct FollowCursor {
    renderer: Renderer,
    options: FollowOptions,
    generation: u64,
    next_record: usize,
    stalled: bool,
    rotations_crossed: u64,
    skipped_files: u64,
    lost_records: u64,
    /// Files this cursor served to their end and left since [`FollowCursor::take_drained`].
    drained: Vec<(u64, usize)>,
}

impl FollowCursor {
    /// A stream opened now: it starts at the beginning of the current file, or at its last
    /// `read.tail_lines` records.
    pub fn new(log: &ContainerLog, read: ReadOptions, options: FollowOptions) -> Self {
        FollowCursor {
            renderer: Renderer::new(&read),
            options,
            generation: log.generation(),
            next_record: tail_start(log.current_len(), read.tail_lines),
            stalled: false,
            rotations_crossed: 0,
            skipped_files: 0,
            lost_records: 0,
            drained: Vec::new(),
        }
    }

    /// Everything the stream can deliver now (no byte budget).
    pub fn read_available(&mut self, log: &ContainerLog) -> Vec<u8> {
        let mut out = Vec::new();
        self.read_into(log, &mut out, usize::MAX);
        out
    }

    /// Appends what the stream delivers now to `out`. `max_bytes` is a soft budget: the call stops after
    /// the record that reaches it (so at most one record more), which keeps a server's chunks bounded.
    pub fn read_into(
        &mut self,
        log: &ContainerLog,
        out: &mut Vec<u8>,
        max_bytes: usize,
    ) -> FollowStatus {
        let start_len = out.len();
        loop {
            if self.renderer.exhausted() {
                return FollowStatus::Finished;
            }
            if self.stalled {
                return if log.is_exited() {
                    FollowStatus::Finished
                } else {
                    FollowStatus::Waiting
                };
            }
            let current = log.generation();
            if self.generation > current {
                // Only reachable with a different log than the one the cursor was made for.
                self.generation = current;
                self.next_record = 0;
            }
            let file = log.file(self.generation);
            let lose = self.generation != current && self.options.lose_unread_on_rotation;
            match file {
                Some(file) if !lose => {
                    while let Some(record) = file.get(self.next_record) {
                        if out.len() - start_len >= max_bytes {
                            return FollowStatus::MoreAvailable;
                        }
                        if self.renderer.exhausted() {
                            return FollowStatus::Finished;
                        }
                        self.renderer.render(record, out);
                        self.next_record += 1;
                    }
                    if self.generation == current {
                        return if self.renderer.exhausted() || log.is_exited() {
                            FollowStatus::Finished
                        } else {
                            FollowStatus::Waiting
                        };
                    }
                    self.drained.push((self.generation, file.len()));
                }
                Some(file) => {
                    self.lost_records += (file.len() - self.next_record.min(file.len())) as u64;
                    self.skip_unread_records(file.len());
                }
                None => self.skipped_files += 1,
            }
            // The cursor's file was rotated and is drained (or skipped).
            if self.options.continue_after_rotation {
                self.skipped_files += current - self.generation - 1;
                self.rotations_crossed += 1;
                self.generation = current;
                self.next_record = 0;
            } else {
                self.stalled = true;
            }
        }
    }

    fn skip_unread_records(&mut self, file_len: usize) {
        self.next_record = self.next_record.max(file_len);
    }

    /// Whether the stream is over (see [`FollowStatus::Finished`]) without reading anything.
    pub fn is_finished(&self, log: &ContainerLog) -> bool {
        if self.renderer.exhausted() {
            return true;
        }
        if !log.is_exited() {
            return false;
        }
        self.stalled
            || (self.generation == log.generation() && self.next_record >= log.current_len())
    }

    /// Whether the stream stopped receiving data because of a rotation (older kubelet behaviour).
    pub fn is_stalled_by_rotation(&self) -> bool {
        self.stalled
    }

    /// Rotations this stream continued across into the new file (with
    /// [`FollowOptions::continue_after_rotation`]; always zero without it).
    pub fn rotations_crossed(&self) -> u64 {
        self.rotations_crossed
    }

    /// Whole files the stream never served because several rotations happened between two calls (or the
    /// stream's own old file was no longer kept).
    pub fn skipped_files(&self) -> u64 {
        self.skipped_files
    }

    /// Records of an old file that were never served because of
    /// [`FollowOptions::lose_unread_on_rotation`].
    pub fn lost_records(&self) -> u64 {
        self.lost_records
    }

    /// Generation of the file the stream is reading.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Index, in the file of [`FollowCursor::generation`], of the next record the stream serves:
    /// the records before it were served (or skipped as older than `sinceTime`).
    pub fn next_record(&self) -> usize {
        self.next_record
    }

    /// The rotated files this stream served to their end and left for the next file since the last
    /// call, as (generation, records): with [`FollowCursor::next_record`], what a server needs to
    /// tell which records no read ever served.
    pub fn take_drained(&mut self) -> Vec<(u64, usize)> {
        std::mem::take(&mut self.drained)
    }
}
