//! What `path` is asked (a [`Probe`], checked against the snapshot by [`probe_for`]) and what
//! it answers: legs of hops, each ending delivered, leaving the node, or broken.

use std::net::IpAddr;

use serde::Serialize;

use crate::model::Snapshot;

/// What to send.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Probe {
    pub from: String,
    pub src: Option<IpAddr>,
    pub dst: IpAddr,
    /// `icmp`, `tcp` or `udp`.
    pub proto: String,
    pub port: Option<u16>,
}

/// The packet in one namespace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Hop {
    pub namespace: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub in_iface: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub out_iface: Option<String>,
    /// Addresses as the packet leaves this namespace (after NAT).
    pub src: IpAddr,
    pub dst: IpAddr,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub route: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub nat: Vec<String>,
    /// Layer 2 to the next namespace: `veth-red ⇄ veth-red-br (host) · bridge v-net-0`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub via: Vec<String>,
    /// `forwarded`, `sent`, `delivered`, `leaves the node`, `dropped`.
    pub verdict: String,
    /// Rules netlens could not judge, and other doubts.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    Delivered {
        namespace: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        listener: Option<String>,
    },
    LeavesNode {
        namespace: String,
        iface: String,
    },
    Broken {
        namespace: String,
        cause: String,
        /// The doctor's finding for this hop and cause, whose fix (simulated, path walked
        /// again) gets the packet past it.
        #[serde(skip_serializing_if = "Option::is_none")]
        finding: Option<String>,
        /// When there is no `finding`: why no automatic fix is offered.
        #[serde(skip_serializing_if = "Option::is_none")]
        no_fix: Option<String>,
    },
}

/// One direction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Leg {
    /// `request` or `reply`.
    pub direction: String,
    pub hops: Vec<Hop>,
    pub outcome: Outcome,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PathReport {
    pub probe: Probe,
    pub legs: Vec<Leg>,
    /// The request arrives (or leaves the node) and, where the node can see it, the reply
    /// comes back.
    pub delivers: bool,
}

/// The probe a user asked for (`--from` as any namespace selector, the destination as text),
/// checked against the snapshot: one clear message for each mistake.
pub fn probe_for(
    snap: &Snapshot,
    from: &str,
    src: Option<IpAddr>,
    dst: &str,
    proto: &str,
    port: Option<u16>,
) -> Result<Probe, String> {
    // The snapshot knows every namespace's workload (`c3`, `default/web`); the live scan
    // is for what it cannot hold (a pid started since).
    let name = match snap.select(from) {
        Ok(n) => n.name.clone(),
        Err(many) if many.len() > 1 => {
            let names: Vec<String> = many.iter().map(|n| n.label_and_name()).collect();
            return Err(format!(
                "{from:?} names more than one namespace: {}",
                names.join(", ")
            ));
        }
        Err(_) => crate::netns::lookup::find(from)
            .map(|(f, _)| f.name)
            .map_err(|e| e.to_string())?,
    };
    let ns = snap
        .namespace(&name)
        .ok_or_else(|| format!("namespace {name} was not read"))?;
    let dst: IpAddr = dst.parse().map_err(|_| {
        format!("{dst:?} is not an IP address (names are resolved by `netlens dns`)")
    })?;
    if let Some(s) = src {
        if !ns.addresses.iter().any(|a| a.address == s) {
            return Err(format!("{s} is not an address of {name}"));
        }
        if s.is_ipv4() != dst.is_ipv4() {
            return Err("--src and the destination are of different families".into());
        }
    }
    if port.is_some() && proto == "icmp" {
        return Err("--port needs --proto tcp or udp".into());
    }
    Ok(Probe {
        from: name,
        src,
        dst,
        proto: proto.to_string(),
        port,
    })
}
