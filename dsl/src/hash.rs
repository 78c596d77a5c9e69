//! A fast hash for maps keyed by the model's own names and values.

/// A fast, non-cryptographic hash (the multiply-rotate scheme of rustc's FxHasher) for values
/// that come from the model, not from an attacker: names in name resolution and the rules, and
/// markings in the state-space search, whose inner loop hashing them is.
#[derive(Debug, Default)]
pub struct FastHasher(u64);

impl FastHasher {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

impl std::hash::Hasher for FastHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            self.add(u64::from_le_bytes(chunk.try_into().unwrap_or([0; 8])));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = 0u64;
            for (i, byte) in rest.iter().enumerate() {
                word |= u64::from(*byte) << (8 * i);
            }
            self.add(word);
        }
    }

    fn write_usize(&mut self, value: usize) {
        self.add(value as u64);
    }

    fn write_u8(&mut self, value: u8) {
        self.add(u64::from(value));
    }

    fn write_u16(&mut self, value: u16) {
        self.add(u64::from(value));
    }

    fn write_u32(&mut self, value: u32) {
        self.add(u64::from(value));
    }

    fn write_u64(&mut self, value: u64) {
        self.add(value);
    }

    fn write_u128(&mut self, value: u128) {
        self.add(value as u64);
        self.add((value >> 64) as u64);
    }

    fn finish(&self) -> u64 {
        // The multiply carries information only upwards; hashbrown picks buckets by the low
        // bits, so fold the high half down (keys that differ only in a later byte would
        // otherwise share a bucket).
        let h = self.0;
        (h ^ (h >> 32)).wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ (h >> 29)
    }
}

/// Builds [`FastHasher`]s, for maps keyed by the model's own values.
pub type FxBuild = std::hash::BuildHasherDefault<FastHasher>;

/// A map with the fast hash.
pub type FastMap<K, V> = std::collections::HashMap<K, V, FxBuild>;

/// A set with the fast hash.
pub type FastSet<K> = std::collections::HashSet<K, FxBuild>;
