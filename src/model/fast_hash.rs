//! The fast hasher for look-up tables the doctor and the evaluator build and probe tens of
//! thousands of times a run (SipHash, std's default, was 8% of a 1000-pod doctor run in a
//! profile): foldhash, the hasher hashbrown uses by default, with a seed drawn at random
//! once per process.
//!
//! Seeded, because the keys are not all ours to choose: addresses, names and rules come from
//! namespaces an untrusted container fills, and from saved snapshots that may be hostile
//! (`docs/SECURITY.md`). An unseeded multiply-rotate hash (FxHash, used here for a day) lets
//! anyone solve for as many colliding IPv6 addresses as they like and make every look-up
//! quadratic; it also sent every `10.244.x.y` to the same low bits. Iteration order is
//! random per process: no table here is iterated into output.

use std::collections::{HashMap, HashSet};
use std::hash::BuildHasher;

/// Builds the hashers: seeded per process (one shared random seed, a per-map one mixed in).
pub type FxBuild = foldhash::fast::RandomState;
/// A `HashMap` on the fast hasher: `FxHashMap::default()`, not `new()`.
pub type FxHashMap<K, V> = HashMap<K, V, FxBuild>;
/// A `HashSet` on the fast hasher.
pub type FxHashSet<T> = HashSet<T, FxBuild>;

/// A hasher with the process's seed alone, the same for every call: for a hash computed by
/// hand and used as a key itself (`firewall::eval::memo`), which must agree from one call
/// to the next.
pub fn hasher() -> impl std::hash::Hasher {
    static STATE: std::sync::OnceLock<foldhash::fast::SeedableRandomState> =
        std::sync::OnceLock::new();
    STATE
        .get_or_init(foldhash::fast::SeedableRandomState::random)
        .build_hasher()
}
