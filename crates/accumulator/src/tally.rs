//! Counters of what went wrong, shared by both modes.

/// Losses and data errors seen so far.
#[derive(Debug, Clone, Default)]
pub(crate) struct Tally {
    pub(crate) gaps: u64,
    pub(crate) rotations: u64,
    pub(crate) malformed: u64,
    /// Bytes past our position were seen but not taken; a later read may still deliver them.
    /// Counts as a gap if the accumulator is finished before that happens.
    pub(crate) pending_gap: bool,
    /// Content bytes that re-served what was already taken (see [`crate::ByteCounts`]).
    pub(crate) duplicate: u64,
    /// Content bytes seen but not used, without being known duplicates.
    pub(crate) skipped: u64,
}

impl Tally {
    /// A rotation was detected: the old file's unread tail may be lost. Any pending loss sits
    /// at the same place in the stream, so it is merged into this gap.
    pub(crate) fn rotation(&mut self) {
        self.rotations += 1;
        self.gaps += 1;
        self.pending_gap = false;
    }

    pub(crate) fn gaps_at_finish(&self) -> u64 {
        self.gaps + u64::from(self.pending_gap)
    }
}
