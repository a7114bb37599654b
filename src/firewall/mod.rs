//! Firewall state of a namespace: nftables, iptables-nft and legacy iptables.
mod bounded_run;
pub mod collect;
pub mod eval;
mod iptables_rule;
pub mod iptables_save;
pub mod nfnetlink;
pub mod nft_expr;
pub mod nft_json;
mod nft_summary;

pub use collect::collect_in_current_netns;
// Transitional: the snapshot's firewall types live in `crate::model::firewall`.
pub use crate::model::firewall::*;
