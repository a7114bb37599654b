//! Everything the CLI prints as text, one file per command's result: each a pure function from
//! a result (or the snapshot) to text, escaping what it shows with `crate::text`. A command in
//! `cli/` only parses its arguments, calls the library, picks text (here) or JSON, and maps
//! the result to an exit code. The JSON views of `cni` and `doctor` live here too, beside
//! their text, so both forms are built from one place.
pub mod capture;
pub mod cni;
pub mod color;
pub mod diff;
pub mod dns;
pub mod doctor;
pub mod path;
pub mod ports;
pub mod snapshot;

pub use crate::text::words::{noun, plural, plural_of};
