//! Human-readable renderings of a snapshot (the CLI's default output).
pub mod diff_text;
pub mod path_text;
pub mod ports_text;
pub mod text;
