//! Firewall state of a namespace: nftables, iptables-nft and legacy iptables.
mod bounded_run;
pub mod collect;
pub mod eval;
mod iptables_rule;
pub mod iptables_save;
pub mod nfnetlink;
pub mod nft_expr;
pub mod nft_json;
pub mod nft_name;
mod nft_summary;

pub use collect::collect_in_current_netns;
// The snapshot types these parsers produce live in `crate::model::firewall`; named here too so
// a caller that parses and one that reads a snapshot can import them from either place.
pub use crate::model::firewall::*;
