//! The checksum of a line group, computed only when it is compared.
//!
//! Timestamped mode keeps a checksum of the last group of lines taken, in case a later response
//! re-serves that group and its identity must be proven. Nearly every group is replaced by the
//! next one before that happens, so hashing every byte as it streams by would be wasted work —
//! and it was the largest single cost of a timestamped push (about a third natively, half in
//! wasm, where crc32 has no SIMD). Instead the bytes of a small group are only copied aside and
//! hashed when [`GroupSum::value`] is asked; a group larger than [`UNHASHED_MAX`] is hashed as
//! it grows, so memory stays bounded.

/// Bytes kept unhashed before hashing starts; larger than almost every line group.
const UNHASHED_MAX: usize = 4096;

/// A split-invariant checksum of a byte sequence fed in pieces: the value depends only on the
/// concatenated bytes, not on how they were split.
#[derive(Debug, Clone, Default)]
pub(crate) struct GroupSum {
    hashed: crc32fast::Hasher,
    unhashed: Vec<u8>,
}

impl GroupSum {
    /// An empty checksum that reuses `buffer`'s allocation (its contents are dropped).
    pub(crate) fn reusing(mut buffer: Vec<u8>) -> Self {
        buffer.clear();
        Self { hashed: crc32fast::Hasher::new(), unhashed: buffer }
    }

    /// Appends `bytes` to the checksummed sequence.
    pub(crate) fn update(&mut self, bytes: &[u8]) {
        if self.unhashed.len() + bytes.len() <= UNHASHED_MAX {
            self.unhashed.extend_from_slice(bytes);
        } else {
            self.hashed.update(&self.unhashed);
            self.unhashed.clear();
            self.hashed.update(bytes);
        }
    }

    /// The checksum of everything appended so far.
    pub(crate) fn value(&self) -> u32 {
        let mut hasher = self.hashed.clone();
        hasher.update(&self.unhashed);
        hasher.finalize()
    }

    /// Heap bytes held (the unhashed bytes' buffer).
    pub(crate) fn retained_bytes(&self) -> usize {
        self.unhashed.capacity()
    }

    /// Gives up the buffer, for [`GroupSum::reusing`].
    pub(crate) fn into_buffer(self) -> Vec<u8> {
        self.unhashed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sum_of(pieces: &[&[u8]]) -> u32 {
        let mut sum = GroupSum::default();
        for piece in pieces {
            sum.update(piece);
        }
        sum.value()
    }

    #[test]
    fn value_ignores_how_bytes_were_split_across_the_hashing_threshold() {
        let bytes: Vec<u8> =
            (0..3 * UNHASHED_MAX as u32).map(|i| (i * 7 + i / 251) as u8).collect();
        let whole = crc32fast::hash(&bytes);
        assert_eq!(sum_of(&[&bytes]), whole);
        for split in [0, 1, UNHASHED_MAX - 1, UNHASHED_MAX, UNHASHED_MAX + 1, 2 * UNHASHED_MAX + 3]
        {
            let (a, b) = bytes.split_at(split);
            assert_eq!(sum_of(&[a, b]), whole, "split at {split}");
            let third = b.len() / 3;
            assert_eq!(
                sum_of(&[a, &b[..third], &b[third..]]),
                whole,
                "split at {split} and {third}"
            );
        }
        let bytewise: Vec<&[u8]> = bytes.chunks(1).collect();
        assert_eq!(sum_of(&bytewise), whole);
    }

    #[test]
    fn different_bytes_of_one_length_differ() {
        assert_ne!(sum_of(&[b"abc\n"]), sum_of(&[b"abd\n"]));
        assert_eq!(sum_of(&[]), crc32fast::hash(b""));
    }

    #[test]
    fn a_reused_buffer_starts_empty_and_memory_stays_bounded() {
        let mut sum = GroupSum::default();
        for _ in 0..1000 {
            sum.update(&[b'x'; 1000]);
        }
        assert!(sum.unhashed.len() <= UNHASHED_MAX);
        let reused = GroupSum::reusing(sum.into_buffer());
        assert_eq!(reused.value(), crc32fast::hash(b""));
    }
}
