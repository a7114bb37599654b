//! Text that reaches a terminal: escaping of strings from the kernel, from files or from a
//! container before they are printed (see `escape`).
pub mod escape;

pub use escape::{escape, sanitize_output, Esc};
