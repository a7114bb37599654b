//! Files netlens reads back that anyone could have written: saved snapshots (`--snapshot`,
//! `--since`, `diff`, `doctor --snapshot`) and plan files (`apply`). They are read whole, so
//! each kind has a size cap, and only regular files are read (see [`read`]).
pub mod read;
pub mod snapshot;

/// A 1000-namespace snapshot is ~15 MB of JSON. Loaded, a snapshot takes up to ~15 times
/// its size in memory (a minimal namespace is 60 bytes of JSON and ~1 KB of struct), so
/// 64 MiB bounds a hostile file at about 1 GB while leaving room for real nodes.
pub const MAX_SNAPSHOT_BYTES: u64 = 64 << 20;
/// A plan is a list of steps a person or `doctor` wrote; 16 MiB is thousands of times more
/// than any real one.
pub const MAX_PLAN_BYTES: u64 = 16 << 20;
