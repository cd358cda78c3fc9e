//! One CRI log file, stored compactly: record headers plus one content arena.

use crate::record::{RECORD_OVERHEAD, RecordRef, Stream, Tag};
use crate::timestamp::Timestamp;

#[derive(Clone, Copy, Debug)]
struct RecordMeta {
    time: Timestamp,
    start: usize,
    len: usize,
    stream: Stream,
    tag: Tag,
}

/// A log file: a generation number (which `0.log` it was) and its records, append-only.
#[derive(Clone, Debug)]
pub(crate) struct LogFile {
    generation: u64,
    records: Vec<RecordMeta>,
    content: Vec<u8>,
    size: u64,
}

impl LogFile {
    pub(crate) fn new(generation: u64) -> Self {
        LogFile { generation, records: Vec::new(), content: Vec::new(), size: 0 }
    }

    pub(crate) fn generation(&self) -> u64 {
        self.generation
    }

    pub(crate) fn push(&mut self, record: RecordRef<'_>) {
        let start = self.content.len();
        self.content.extend_from_slice(record.content);
        self.records.push(RecordMeta {
            time: record.time,
            start,
            len: record.content.len(),
            stream: record.stream,
            tag: record.tag,
        });
        self.size += (RECORD_OVERHEAD + record.content.len()) as u64;
    }

    /// Number of records (= lines in the file).
    pub(crate) fn len(&self) -> usize {
        self.records.len()
    }

    /// Size of the file in bytes, in the CRI line format.
    pub(crate) fn size(&self) -> u64 {
        self.size
    }

    pub(crate) fn get(&self, index: usize) -> Option<RecordRef<'_>> {
        let meta = self.records.get(index)?;
        Some(RecordRef {
            time: meta.time,
            stream: meta.stream,
            tag: meta.tag,
            content: &self.content[meta.start..meta.start + meta.len],
        })
    }

    pub(crate) fn iter_from(&self, index: usize) -> impl Iterator<Item = RecordRef<'_>> + '_ {
        (index..self.records.len()).filter_map(move |i| self.get(i))
    }

    /// Releases spare capacity once the file stops growing.
    pub(crate) fn seal(&mut self) {
        self.records.shrink_to_fit();
        self.content.shrink_to_fit();
    }

    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(usize::try_from(self.size).unwrap_or(0));
        for record in self.iter_from(0) {
            record.encode_into(&mut out);
        }
        out
    }
}
