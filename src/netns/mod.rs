//! Network namespaces: finding them and entering them safely.
pub mod discover;
pub mod enter;
