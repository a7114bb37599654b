//! Network namespaces: finding them and entering them safely.
pub mod create;
pub mod enter;
