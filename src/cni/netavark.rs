//! podman's netavark networks and their IPAM. netavark never reads `/etc/cni/net.d`: a
//! network is a JSON file in `/etc/containers/networks` (written by `podman network create`),
//! except the default network `podman` (bridge `podman0`, 10.88.0.0/16), which podman makes up
//! in memory when no file names it. Addresses are handed out by podman itself and kept in
//! `/run/containers/networks/ipam.db`, a BoltDB file: one bucket per network, holding a
//! bucket per subnet (`10.88.0.0/16`: address bytes → container id, plus `lastIP`) and `ids`
//! (container id → JSON list of addresses).
//!
//! The allocations become [`IpamNetwork`]s (backend `netavark`, `dir` the database) so the
//! same usage and leak rules judge them as host-local's leases.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;

use ipnet::IpNet;
use serde::Deserialize;

use super::bolt::{nested, Db};
use super::config::RangeSpec;
use super::ranges;
use crate::model::{IpamAllocation, IpamNetwork, IpamRange};
use crate::model::{PodmanNetwork, BACKEND_NETAVARK, HOST_LOCAL};
use crate::saved::read::read_regular;

const MAX_NETWORK_BYTES: u64 = 1 << 20;
/// podman's IPAM database of a host with thousands of containers is a few MiB.
pub const MAX_IPAM_DB_BYTES: u64 = 64 << 20;

#[derive(Deserialize, Default)]
struct LeaseRange {
    #[serde(default)]
    start_ip: Option<String>,
    #[serde(default)]
    end_ip: Option<String>,
}

#[derive(Deserialize)]
struct SubnetJson {
    subnet: String,
    #[serde(default)]
    gateway: Option<String>,
    #[serde(default)]
    lease_range: Option<LeaseRange>,
}

#[derive(Deserialize)]
struct NetworkJson {
    name: String,
    #[serde(default)]
    driver: String,
    #[serde(default)]
    network_interface: Option<String>,
    #[serde(default)]
    subnets: Vec<SubnetJson>,
    #[serde(default)]
    internal: bool,
    #[serde(default)]
    ipam_options: BTreeMap<String, String>,
}

/// A network and the ranges its IPAM hands addresses out from.
#[derive(Debug, Clone, PartialEq)]
pub struct Parsed {
    pub network: PodmanNetwork,
    pub ranges: Vec<IpamRange>,
}

fn failed(path: &str, why: String) -> Parsed {
    let name = Path::new(path)
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    Parsed {
        network: PodmanNetwork {
            name,
            file: Some(path.to_string()),
            driver: String::new(),
            interface: None,
            subnets: Vec::new(),
            ipam_driver: String::new(),
            internal: false,
            error: Some(why),
        },
        ranges: Vec::new(),
    }
}

/// One network file (`path` is what is shown).
pub fn parse(path: &str, bytes: &[u8]) -> Parsed {
    let json: NetworkJson = match serde_json::from_slice(bytes) {
        Ok(j) => j,
        Err(e) => return failed(path, format!("not a netavark network: {e}")),
    };
    let mut ranges = Vec::new();
    let mut subnets = Vec::new();
    for s in &json.subnets {
        let lease = s.lease_range.as_ref();
        let spec = RangeSpec {
            subnet: s.subnet.clone(),
            range_start: lease.and_then(|l| l.start_ip.clone()),
            range_end: lease.and_then(|l| l.end_ip.clone()),
            gateway: s.gateway.clone(),
        };
        if let Ok(net) = s.subnet.trim().parse::<IpNet>() {
            subnets.push(net);
        }
        match ranges::canonical(&spec, 0) {
            Ok(r) => ranges.push(r),
            Err(e) => return failed(path, e),
        }
    }
    // Each subnet is its own bucket, one address from each: number them as range sets.
    for (i, r) in ranges.iter_mut().enumerate() {
        r.set = i as u32;
    }
    let ipam_driver = json
        .ipam_options
        .get("driver")
        .cloned()
        .unwrap_or_else(|| HOST_LOCAL.to_string());
    Parsed {
        network: PodmanNetwork {
            name: json.name,
            file: Some(path.to_string()),
            driver: json.driver,
            interface: json.network_interface,
            subnets,
            ipam_driver,
            internal: json.internal,
            error: None,
        },
        ranges,
    }
}

/// The default network podman makes up when no file names it.
pub fn default_network(name: &str, subnet: &str) -> Parsed {
    let text = serde_json::json!({
        "name": name, "driver": "bridge", "network_interface": "podman0",
        "subnets": [{"subnet": subnet}],
        "ipam_options": {"driver": HOST_LOCAL},
    })
    .to_string();
    let mut p = parse("", text.as_bytes());
    p.network.file = None;
    p
}

fn ip_of(key: &[u8]) -> Option<IpAddr> {
    match key.len() {
        4 => Some(IpAddr::V4(Ipv4Addr::from(<[u8; 4]>::try_from(key).ok()?))),
        16 => Some(IpAddr::V6(Ipv6Addr::from(<[u8; 16]>::try_from(key).ok()?))),
        _ => None,
    }
}

/// network name → its allocations, from the bytes of ipam.db.
pub fn allocations(db: &[u8]) -> Result<BTreeMap<String, Vec<IpamAllocation>>, String> {
    let db = Db::open(db)?;
    let mut out = BTreeMap::new();
    for net in db.entries(db.root())? {
        let Some(bucket) = nested(&net) else { continue };
        let mut allocs = Vec::new();
        for sub in db.entries(bucket)? {
            // Subnet buckets only: `ids` maps containers to addresses the other way round.
            let Some(sb) = nested(&sub).filter(|_| sub.key != b"ids") else {
                continue;
            };
            for e in db.entries(sb)? {
                let Some(ip) = ip_of(e.key) else { continue };
                allocs.push(IpamAllocation {
                    ip,
                    container_id: String::from_utf8_lossy(e.value).into_owned(),
                    ifname: None,
                    modified: None,
                });
            }
        }
        out.insert(String::from_utf8_lossy(net.key).into_owned(), allocs);
    }
    Ok(out)
}

/// The networks in `config_dir` (plus the default one) and their IPAM state from `ipam_db`.
pub fn read(
    config_dir: &Path,
    ipam_db: &Path,
    default_name: &str,
    default_subnet: &str,
) -> (Vec<PodmanNetwork>, Vec<IpamNetwork>, Vec<String>) {
    let mut errors = Vec::new();
    let mut parsed: Vec<Parsed> = Vec::new();
    match std::fs::read_dir(config_dir) {
        Ok(rd) => {
            let mut names: Vec<String> = rd
                .filter_map(Result::ok)
                .filter_map(|e| e.file_name().into_string().ok())
                .filter(|n| n.ends_with(".json"))
                .collect();
            names.sort();
            for n in names {
                let path = config_dir.join(&n);
                match read_regular(&path, MAX_NETWORK_BYTES, "a netavark network") {
                    Ok(b) => parsed.push(parse(&path.display().to_string(), &b)),
                    Err(e) => errors.push(e.to_string()),
                }
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => errors.push(format!("cannot read {}: {e}", config_dir.display())),
    }
    if !parsed.iter().any(|p| p.network.name == default_name) {
        parsed.insert(0, default_network(default_name, default_subnet));
    }
    let shown = ipam_db.display().to_string();
    let (exists, mut allocs) = match read_regular(ipam_db, MAX_IPAM_DB_BYTES, "netavark's ipam.db")
    {
        Ok(b) => match allocations(&b) {
            Ok(a) => (true, a),
            Err(e) => {
                errors.push(format!("{shown}: {e}"));
                (true, BTreeMap::new())
            }
        },
        // No container started yet since boot: no database.
        Err(_) if !ipam_db.exists() => (false, BTreeMap::new()),
        Err(e) => {
            errors.push(e.to_string());
            (true, BTreeMap::new())
        }
    };
    // The database keeps no time per address: its own change time stands for every
    // allocation, so one made while a container is still being set up is not called leaked.
    let changed = std::fs::metadata(ipam_db)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_secs());
    for a in allocs.values_mut().flatten() {
        a.modified = changed;
    }
    let ipam_of = |name: &str, config: Option<String>, ranges, allocations| IpamNetwork {
        backend: BACKEND_NETAVARK.to_string(),
        network: name.to_string(),
        config,
        dir: shown.clone(),
        dir_exists: exists,
        ranges,
        allocations,
        last_reserved: Vec::new(),
        other_files: Vec::new(),
        error: None,
    };
    let mut ipam = Vec::new();
    for p in &parsed {
        if p.network.error.is_some() || p.network.ipam_driver != HOST_LOCAL {
            continue;
        }
        let a = allocs.remove(&p.network.name).unwrap_or_default();
        ipam.push(ipam_of(
            &p.network.name,
            p.network.file.clone(),
            p.ranges.clone(),
            a,
        ));
    }
    // Buckets of networks that no longer exist still hold addresses.
    for (name, a) in allocs.into_iter().filter(|(_, a)| !a.is_empty()) {
        ipam.push(ipam_of(&name, None, Vec::new(), a));
    }
    (
        parsed.into_iter().map(|p| p.network).collect(),
        ipam,
        errors,
    )
}
