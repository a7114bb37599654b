//! The fast hasher for look-up tables keyed by our own data (names, addresses, indexes): a
//! multiply-rotate hash (the one rustc uses for its own tables). The doctor builds and probes
//! these tables tens of thousands of times a run, from no untrusted input an attacker could
//! shape into collisions — a snapshot is our own reading of the kernel — so SipHash's flood
//! resistance buys nothing and costs most of a look-up (8% of a 1000-pod doctor run in a
//! profile). One alias, so every hot table uses the same hasher.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

/// The hasher state.
#[derive(Default, Clone, Copy)]
pub struct Fx(u64);

impl Fx {
    const K: u64 = 0x51_7c_c1_b7_27_22_0a_95;

    fn add(&mut self, w: u64) {
        self.0 = (self.0.rotate_left(5) ^ w).wrapping_mul(Self::K);
    }
}

impl Hasher for Fx {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.add(u64::from_le_bytes(c.try_into().expect("8 bytes")));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            w[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(w));
        }
    }

    fn write_u8(&mut self, n: u8) {
        self.add(u64::from(n));
    }

    fn write_u16(&mut self, n: u16) {
        self.add(u64::from(n));
    }

    fn write_u32(&mut self, n: u32) {
        self.add(u64::from(n));
    }

    fn write_u64(&mut self, n: u64) {
        self.add(n);
    }

    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// Builds [`Fx`] hashers.
pub type FxBuild = BuildHasherDefault<Fx>;
/// A `HashMap` on [`Fx`]: `FxHashMap::default()`, not `new()`.
pub type FxHashMap<K, V> = HashMap<K, V, FxBuild>;
/// A `HashSet` on [`Fx`].
pub type FxHashSet<T> = HashSet<T, FxBuild>;
