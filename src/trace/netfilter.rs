//! The iptables evaluator moved to [`crate::firewall::eval`], the one the doctor, `path`,
//! `trace` and `ports` share; this name stays for existing callers.
pub use crate::firewall::eval::*;
