//! Network namespaces: finding them, creating them and entering them safely.
pub mod create;
pub mod discover;
pub mod enter;
pub mod lookup;
pub mod resolve;
pub mod workload;
