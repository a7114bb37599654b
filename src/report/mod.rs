//! Human-readable renderings of a snapshot (the CLI's default output).
pub mod text;
