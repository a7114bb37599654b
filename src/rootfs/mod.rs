//! Files inside a namespace's root (`/proc/PID/root`, a container's) and the `/etc/netns/NS`
//! overrides, read and written without trusting anything found there.
//!
//! A container owns everything under its root: symlinks (absolute ones resolve against the
//! *host's* root when followed through `/proc/PID/root`), FIFOs, devices, huge sparse files,
//! names netlens might use for temporary files. [`open`] resolves every component inside the
//! root; [`read`] reads only regular files, non-blocking and capped; [`write`] writes only the
//! three resolver files, in place, through a fresh exclusive temporary file.

pub mod as_owner;
pub mod open;
pub mod read;
pub mod write;

pub use open::{open_in_root, resolve_in_root, walk, Resolver, Root};
pub use read::{read_regular, shown_path, ReadOut, MAX_FILE};
pub use write::{check_write, parse_target, process_start, read_current, replace, Place, Target};

#[cfg(test)]
mod tests;
