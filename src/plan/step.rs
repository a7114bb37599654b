//! The typed steps a plan is made of. Pure data: what to change, in which namespace, named the
//! way a snapshot names it (`host`, a `/run/netns` name, `pid:N`, `docker:NAME`). Executing a
//! step, computing its inverse from the live state and rendering the equivalent shell command
//! belong to the step's family in [`super::steps`], not here.

use std::fmt;
use std::net::IpAddr;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

pub use super::nft_rule::NftAccept;
use crate::model::{LinkKind, RoutingRule};

/// The comment netlens puts on every firewall rule it adds, so its own rules can be told apart
/// from Docker's, kube-proxy's or the admin's.
pub const RULE_TAG: [&str; 4] = ["-m", "comment", "--comment", "netlens"];

/// A route as a plan adds or removes it. `table` None means main; `dst` 0.0.0.0/0 (or ::/0) is
/// the default route.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteSpec {
    pub dst: IpNet,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub via: Option<IpAddr>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dev: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric: Option<u32>,
}

/// One end of a link as it was before a plan deleted it: enough to recreate it exactly.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkEnd {
    pub ns: String,
    pub name: String,
    pub index: u32,
    /// `aa:bb:cc:dd:ee:ff`
    pub mac: String,
    pub mtu: u32,
    /// Administratively up when it was deleted. The link is recreated down (as `ip link add`
    /// does) and the inverse's own `set_link_up` step, after its addresses, brings it up;
    /// recorded so the journal says what the inverse restores. Absent in old journals.
    #[serde(default)]
    pub up: bool,
}

/// One change to a network. Interface names refer to the step's namespace `ns`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum Step {
    /// veth pair: end `name` in `ns`, end `peer` in `peer_ns` (created down).
    AddVeth {
        ns: String,
        name: String,
        peer_ns: String,
        peer: String,
    },
    /// Linux bridge (created down).
    AddBridge {
        ns: String,
        name: String,
    },
    /// Delete a link (for a veth, both ends go).
    DeleteLink {
        ns: String,
        name: String,
    },
    /// Move link `name` from `ns` into `to_ns`.
    MoveLink {
        ns: String,
        name: String,
        to_ns: String,
    },
    /// Attach `link` to bridge `master`, or detach it when `master` is None.
    SetMaster {
        ns: String,
        link: String,
        master: Option<String>,
    },
    /// Set `link` administratively up or down.
    SetLinkUp {
        ns: String,
        link: String,
        up: bool,
    },
    SetMtu {
        ns: String,
        link: String,
        mtu: u32,
    },
    AddAddress {
        ns: String,
        link: String,
        addr: IpNet,
    },
    DelAddress {
        ns: String,
        link: String,
        addr: IpNet,
    },
    AddRoute {
        ns: String,
        route: RouteSpec,
    },
    DelRoute {
        ns: String,
        route: RouteSpec,
    },
    /// Write `/proc/sys/<key>` inside `ns` (key like `net/ipv4/ip_forward`); with `persist`,
    /// also write a labelled file under `/etc/sysctl.d`.
    SetSysctl {
        ns: String,
        key: String,
        value: String,
        #[serde(default)]
        persist: bool,
    },
    /// `iptables -t TABLE -A CHAIN RULE...` inside `ns` (argument vector, never a shell).
    AddIptablesRule {
        ns: String,
        table: String,
        chain: String,
        rule: Vec<String>,
    },
    /// `iptables -t TABLE -D CHAIN RULE...` inside `ns`.
    DelIptablesRule {
        ns: String,
        table: String,
        chain: String,
        rule: Vec<String>,
    },
    /// `iptables -t TABLE -N CHAIN` inside `ns`: a new, empty user chain. Netlens uses it to
    /// put back a chain a plan removed (the inverse of [`Step::DelIptablesChain`]).
    AddIptablesChain {
        ns: String,
        table: String,
        chain: String,
    },
    /// `iptables -t TABLE -F CHAIN` then `-X CHAIN` inside `ns`: a user chain nothing jumps
    /// to any more, with its rules (a stale container's per-container chain). Refused while a
    /// rule still jumps to it; undone by recreating the chain and its rules in order.
    DelIptablesChain {
        ns: String,
        table: String,
        chain: String,
    },
    /// `iptables -t TABLE -P CHAIN POLICY` inside `ns`: a built-in chain's policy, `ACCEPT`
    /// or `DROP` (a lab drill turns FORWARD to DROP). Undone by setting the old policy.
    SetIptablesPolicy {
        ns: String,
        table: String,
        chain: String,
        policy: String,
    },
    // The variants below exist so that inverses are exact; the engine writes them into the
    // journal when it computes an inverse, and a plan may use them too.
    /// Recreate a deleted link with its old index, MAC and MTU (`kind` `veth` with `peer`, or
    /// `bridge`); created down.
    RecreateLink {
        kind: LinkKind,
        link: LinkEnd,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        peer: Option<LinkEnd>,
    },
    /// Add a route with its original protocol, scope, type and preferred source, as it was
    /// before a plan removed it (numbers as in `rtnetlink.h`).
    RestoreRoute {
        ns: String,
        route: RouteSpec,
        protocol: u8,
        scope: u8,
        kind: u8,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        prefsrc: Option<IpAddr>,
    },
    /// `iptables -t TABLE -I CHAIN POSITION RULE...` inside `ns` (1 is the first rule).
    InsertIptablesRule {
        ns: String,
        table: String,
        chain: String,
        position: u32,
        rule: Vec<String>,
    },
    /// Write a resolver file a namespace reads (`resolv.conf`, `nsswitch.conf` or `hosts`,
    /// e.g. `/etc/netns/NAME/nsswitch.conf`), whole; `content` None removes it. Its own
    /// inverse: the same step with the previous content.
    WriteFile {
        ns: String,
        path: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        content: Option<String>,
        /// For a `/proc/PID/root/…` path: when process PID started (`/proc/PID/stat`'s
        /// `starttime`). The step then writes only while that same process holds the pid: a
        /// container that exited may have left its pid to another one. Journaled inverses
        /// always carry it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pid_start: Option<u64>,
    },
    /// Release a host-local IPAM lease as host-local's DEL does: remove the lease file
    /// `DIR/IP` (DIR is `DATADIR/NETWORK`), holding host-local's lock. With `container_id`,
    /// only while the file still names that container.
    ReleaseIpamLease {
        dir: String,
        ip: IpAddr,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        container_id: Option<String>,
    },
    /// Put a released lease back: create `DIR/IP` with its old `content`, unless the address
    /// has been leased to someone else meanwhile.
    RestoreIpamLease {
        dir: String,
        ip: IpAddr,
        content: String,
    },
    /// `nft insert rule FAMILY TABLE CHAIN RULE` inside `ns`: an accept at the top of a
    /// native nftables chain, tagged `comment "netlens"`. Run as JSON on `nft -f -`'s stdin
    /// (never a shell); the handle nft echoes is journaled for the inverse.
    InsertNftRule {
        ns: String,
        family: String,
        table: String,
        chain: String,
        rule: NftAccept,
    },
    /// `nft delete rule FAMILY TABLE CHAIN handle HANDLE` inside `ns`, only while that handle
    /// still holds exactly `rule` with netlens' comment (a ruleset reloaded meanwhile may have
    /// given the handle to someone else's rule: refused). `handle` 0: not known (the process
    /// died before nft echoed it), the one such rule in the chain.
    DelNftRule {
        ns: String,
        family: String,
        table: String,
        chain: String,
        handle: u64,
        rule: NftAccept,
    },
    /// Put back the host's `/etc/sysctl.d` file netlens writes for `key`: its old content, or
    /// no file when `content` is None.
    RestoreSysctlFile {
        key: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        content: Option<String>,
    },
    // Layer-2 and policy-routing steps (in steps/bridge_port.rs, neigh.rs, rule.rs).
    /// A bridge port's own flags, as `bridge link set dev LINK …` sets them; a field left
    /// None is not touched. `state` is the STP state number (0 disabled … 3 forwarding,
    /// 4 blocking).
    SetBridgePort {
        ns: String,
        link: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        isolated: Option<bool>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        state: Option<u8>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        learning: Option<bool>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        flood: Option<bool>,
    },
    /// Delete the neighbour entry for `addr` on `link` (`ip neigh del`).
    DelNeigh {
        ns: String,
        link: String,
        addr: IpAddr,
    },
    /// A permanent neighbour entry `addr lladdr MAC` on `link` (the inverse of deleting one).
    AddNeigh {
        ns: String,
        link: String,
        addr: IpAddr,
        /// `aa:bb:cc:dd:ee:ff`
        lladdr: String,
    },
    /// Delete the policy rule equal to `rule` in every attribute the snapshot holds (several
    /// rules may share a priority).
    DelRule {
        ns: String,
        rule: RoutingRule,
    },
    /// Add `rule` with every attribute (the inverse of deleting it).
    AddRule {
        ns: String,
        rule: RoutingRule,
    },
    /// A named network namespace, as `ip netns add NAME` makes it (a bind mount under
    /// `/run/netns`). Acts on the host; later steps of the plan may name it.
    CreateNs {
        name: String,
    },
    /// Delete named namespace `name` (`ip netns del NAME`). Only while it holds no interface
    /// but `lo`: undo recreates it empty, so nothing else could be put back.
    DeleteNs {
        name: String,
    },
}

impl Step {
    /// The namespace the step acts in (for AddVeth, the namespace of the first end; for
    /// MoveLink, the source).
    pub fn ns(&self) -> &str {
        match self {
            Step::AddVeth { ns, .. }
            | Step::AddBridge { ns, .. }
            | Step::DeleteLink { ns, .. }
            | Step::MoveLink { ns, .. }
            | Step::SetMaster { ns, .. }
            | Step::SetLinkUp { ns, .. }
            | Step::SetMtu { ns, .. }
            | Step::AddAddress { ns, .. }
            | Step::DelAddress { ns, .. }
            | Step::AddRoute { ns, .. }
            | Step::DelRoute { ns, .. }
            | Step::SetSysctl { ns, .. }
            | Step::AddIptablesRule { ns, .. }
            | Step::DelIptablesRule { ns, .. }
            | Step::AddIptablesChain { ns, .. }
            | Step::DelIptablesChain { ns, .. }
            | Step::SetIptablesPolicy { ns, .. }
            | Step::RestoreRoute { ns, .. }
            | Step::InsertIptablesRule { ns, .. }
            | Step::WriteFile { ns, .. }
            | Step::SetBridgePort { ns, .. }
            | Step::DelNeigh { ns, .. }
            | Step::AddNeigh { ns, .. }
            | Step::DelRule { ns, .. }
            | Step::AddRule { ns, .. } => ns,
            Step::InsertNftRule { ns, .. } | Step::DelNftRule { ns, .. } => ns,
            Step::RecreateLink { link, .. } => &link.ns,
            // sysctl.d files configure the host at boot; lease files are the host's too.
            Step::RestoreSysctlFile { .. }
            | Step::ReleaseIpamLease { .. }
            | Step::RestoreIpamLease { .. } => "host",
            // The namespace directory is the host's; the namespace itself may not exist yet.
            Step::CreateNs { .. } | Step::DeleteNs { .. } => "host",
        }
    }

    /// Every namespace the step touches (the moved-to and peer namespaces too).
    pub fn namespaces(&self) -> Vec<&str> {
        let mut all = vec![self.ns()];
        match self {
            Step::AddVeth { peer_ns, .. } => all.push(peer_ns),
            Step::MoveLink { to_ns, .. } => all.push(to_ns),
            Step::RecreateLink { peer: Some(p), .. } => all.push(&p.ns),
            _ => {}
        }
        all
    }
}

impl fmt::Display for RouteSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.dst.prefix_len() == 0 {
            write!(f, "default")?;
        } else {
            write!(f, "{}", self.dst)?;
        }
        if let Some(via) = self.via {
            write!(f, " via {via}")?;
        }
        if let Some(dev) = &self.dev {
            write!(f, " dev {dev}")?;
        }
        if let Some(table) = self.table {
            write!(f, " table {table}")?;
        }
        if let Some(metric) = self.metric {
            write!(f, " metric {metric}")?;
        }
        Ok(())
    }
}

/// A one-line description in words, by the step's family (see [`super::steps`]).
impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        super::steps::describe(self, f)
    }
}
