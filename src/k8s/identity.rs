//! Node identity: what kubeadm and CNI plugins expect to be unique per node (hostname, the
//! MACs of physical NICs, the DMI product_uuid, the machine-id). Cloned VM images share them,
//! and then two hosts register as one node or collide as one Weave peer (kubeadm#31, #1130).
//! Compare the output of two nodes.

use serde::{Deserialize, Serialize};

use crate::model::{LinkKind, Namespace};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    pub hostname: String,
    /// Physical NICs (links with no rtnl kind) of the checked namespace and their MACs.
    pub macs: Vec<Nic>,
    /// `/sys/class/dmi/id/product_uuid` (root-only on most machines).
    pub product_uuid: Option<String>,
    /// `/etc/machine-id`.
    pub machine_id: Option<String>,
    /// What could not be read, and why.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unreadable: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Nic {
    pub ifname: String,
    pub mac: String,
}

/// The part of the identity a snapshot holds: hostname and NIC MACs. The files are read by
/// [`read_id_files`].
pub fn from_snapshot(hostname: &str, ns: &Namespace) -> Identity {
    let mut macs: Vec<Nic> = ns
        .links
        .iter()
        .filter(|l| l.kind == LinkKind::Device)
        .filter_map(|l| {
            l.mac.as_ref().map(|m| Nic {
                ifname: l.name.clone(),
                mac: m.clone(),
            })
        })
        .collect();
    macs.sort_by(|a, b| a.ifname.cmp(&b.ifname));
    Identity {
        hostname: hostname.to_string(),
        macs,
        ..Identity::default()
    }
}

pub const PRODUCT_UUID: &str = "/sys/class/dmi/id/product_uuid";
pub const MACHINE_ID: &str = "/etc/machine-id";

/// Fills product_uuid and machine-id from this machine's files; an unreadable file (no DMI in
/// a VM or container, no root) is noted, never an error.
pub fn read_id_files(id: &mut Identity) {
    id.product_uuid = read_one(PRODUCT_UUID, &mut id.unreadable);
    id.machine_id = read_one(MACHINE_ID, &mut id.unreadable);
}

fn read_one(path: &str, unreadable: &mut Vec<String>) -> Option<String> {
    match std::fs::read_to_string(path) {
        Ok(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Ok(_) => {
            unreadable.push(format!("{path}: empty"));
            None
        }
        Err(e) => {
            unreadable.push(format!("{path}: {e}"));
            None
        }
    }
}
