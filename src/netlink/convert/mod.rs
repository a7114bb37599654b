//! rtnetlink messages turned into model types. Dumps return more than `ip` shows (every table,
//! NOARP entries); each conversion keeps what `ip` would list with `table all` and drops
//! kernel bookkeeping entries (`None`).

mod addr;
mod link;
mod route;

use netlink_packet_route::AddressFamily;

pub(crate) use addr::{address_from, neighbor_from};
pub use link::{hex_mac, link_from};
pub use route::route_kind;
pub(crate) use route::{route_from, rule_from};

fn family_name(f: AddressFamily) -> Option<&'static str> {
    match f {
        AddressFamily::Inet => Some("inet"),
        AddressFamily::Inet6 => Some("inet6"),
        _ => None,
    }
}

fn scope_name<T: std::fmt::Debug>(scope: T) -> String {
    match format!("{scope:?}").to_lowercase().as_str() {
        "universe" => "global".into(),
        "nowhere" => "nowhere".into(),
        other => other.into(),
    }
}
