//! host-local's state on disk. For network NAME it keeps `DATADIR/NAME/` (DATADIR from the
//! config's `ipam.dataDir`, default `/var/lib/cni/networks`) holding one file per leased
//! address, named by the address, containing the container id and — since plugins v0.7 —
//! `\r\n` and the interface name; `last_reserved_ip.N`, where the search in range set N
//! continues; and `lock`, which it flocks while allocating.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use super::config::{IpamSpec, RangeSpec};
use super::{ranges, Dirs};
use crate::model::{ip_number, IpamAllocation, IpamNetwork};
use crate::saved::read::read_regular;

/// Lease files are a container id and an interface name; anything longer is not one.
const MAX_LEASE_BYTES: u64 = 4096;
/// flannel's subnet.env is four short lines.
const MAX_SUBNET_ENV_BYTES: u64 = 64 << 10;

/// The name of host-local's lock file in a lease directory.
pub const LOCK_FILE: &str = "lock";
pub const LAST_RESERVED_PREFIX: &str = "last_reserved_ip.";

/// (container id, interface) from a lease file's text.
pub fn parse_lease(text: &str) -> (String, Option<String>) {
    let mut lines = text
        .lines()
        .map(|l| l.trim_matches(|c: char| c.is_whitespace()));
    let id = lines.next().unwrap_or("").to_string();
    let ifname = lines.next().filter(|l| !l.is_empty()).map(str::to_string);
    (id, ifname)
}

/// `FLANNEL_SUBNET=10.244.1.1/24` from flannel's `subnet.env`.
pub fn flannel_subnet(text: &str) -> Option<String> {
    text.lines().find_map(|l| {
        l.trim()
            .strip_prefix("FLANNEL_SUBNET=")
            .map(|v| v.trim().to_string())
    })
}

/// The lease directory of `spec`.
pub fn lease_dir(spec: &IpamSpec, dirs: &Dirs) -> PathBuf {
    let base = spec
        .data_dir
        .as_deref()
        .map_or_else(|| dirs.data_dir.clone(), PathBuf::from);
    base.join(&spec.network)
}

/// Every network's lease directory: those the configs name, then any other directory under
/// the default data directory (a network whose config is gone still holds its addresses).
pub fn read_all(specs: &[IpamSpec], dirs: &Dirs) -> Vec<IpamNetwork> {
    let mut out: Vec<IpamNetwork> = Vec::new();
    let mut seen = BTreeSet::new();
    for spec in specs {
        let dir = lease_dir(spec, dirs);
        // The config reports an invalid name; its "directory" could be anywhere.
        if !super::config::valid_network_name(&spec.network) || !seen.insert(dir.clone()) {
            continue;
        }
        let mut net = read_dir(&spec.network, Some(&spec.config), &dir);
        let mut sets = spec.range_sets.clone();
        if let Some(file) = &spec.flannel_subnet_file {
            // flanneld's pod writes this file on a hostPath: it may be a FIFO or a device, so
            // only a small regular file is read.
            match read_regular(
                Path::new(file),
                MAX_SUBNET_ENV_BYTES,
                "flannel's subnet.env",
            )
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            {
                Ok(text) => match flannel_subnet(&text) {
                    Some(subnet) => sets.push(vec![RangeSpec {
                        subnet,
                        ..RangeSpec::default()
                    }]),
                    None => net.error = Some(format!("{file} has no FLANNEL_SUBNET")),
                },
                Err(e) => net.error = Some(format!("{e} (flanneld writes it)")),
            }
        }
        for (i, set) in sets.iter().enumerate() {
            for r in set {
                match ranges::canonical(r, i as u32) {
                    Ok(range) => net.ranges.push(range),
                    Err(e) => net.error = Some(format!("ipam range: {e}")),
                }
            }
        }
        out.push(net);
    }
    if let Ok(entries) = std::fs::read_dir(&dirs.data_dir) {
        // Real directories only: a symlink here would make netlens read, as leases, whatever
        // directory it points to.
        let mut orphans: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
            .map(|e| e.path())
            .filter(|p| !seen.contains(p))
            .collect();
        orphans.sort();
        for dir in orphans {
            let name = dir
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            out.push(read_dir(&name, None, &dir));
        }
    }
    out
}

/// Reads one lease directory.
pub fn read_dir(network: &str, config: Option<&str>, dir: &Path) -> IpamNetwork {
    let mut net = IpamNetwork {
        backend: crate::model::HOST_LOCAL.to_string(),
        network: network.to_string(),
        config: config.map(str::to_string),
        dir: dir.display().to_string(),
        dir_exists: false,
        ranges: Vec::new(),
        allocations: Vec::new(),
        last_reserved: Vec::new(),
        other_files: Vec::new(),
        error: None,
    };
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        // No lease yet: host-local makes the directory on its first ADD.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return net,
        Err(e) => {
            net.dir_exists = dir.exists();
            net.error = Some(format!("cannot read {}: {e}", dir.display()));
            return net;
        }
    };
    net.dir_exists = true;
    for entry in entries.filter_map(Result::ok) {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Ok(meta) = entry.metadata() else { continue };
        if !meta.is_file() || name == LOCK_FILE {
            continue;
        }
        let path = entry.path();
        if let Some(n) = name.strip_prefix(LAST_RESERVED_PREFIX) {
            let ip = read_small(&path).and_then(|t| t.trim().parse::<IpAddr>().ok());
            match (n.parse::<u32>(), ip) {
                (Ok(set), Some(ip)) => net.last_reserved.push((set, ip)),
                _ => net.other_files.push(name),
            }
            continue;
        }
        let Ok(ip) = name.parse::<IpAddr>() else {
            net.other_files.push(name);
            continue;
        };
        let Some(text) = read_small(&path) else {
            net.other_files.push(name);
            continue;
        };
        let (container_id, ifname) = parse_lease(&text);
        let modified = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map(|d| d.as_secs());
        net.allocations.push(IpamAllocation {
            ip,
            container_id,
            ifname,
            modified,
        });
    }
    net.allocations
        .sort_by_key(|a| (a.ip.is_ipv6(), ip_number(a.ip)));
    net.last_reserved.sort();
    net.other_files.sort();
    net
}

/// A lease file's text; `None` for anything that is not a small regular UTF-8 file (checked
/// on the open file: the entry may have been swapped for a FIFO since it was listed).
fn read_small(path: &Path) -> Option<String> {
    let bytes = read_regular(path, MAX_LEASE_BYTES, "a lease file").ok()?;
    String::from_utf8(bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lease_formats() {
        assert_eq!(
            parse_lease("abc123\r\neth0"),
            ("abc123".to_string(), Some("eth0".to_string()))
        );
        // Before plugins v0.7 the file held the container id alone.
        assert_eq!(parse_lease("abc123"), ("abc123".to_string(), None));
        assert_eq!(parse_lease(""), (String::new(), None));
    }

    #[test]
    fn reads_a_lease_directory() {
        let data = tempfile::tempdir().unwrap();
        let dir = data.path().join("mynet");
        std::fs::create_dir(&dir).unwrap();
        let w = |n: &str, t: &str| std::fs::write(dir.join(n), t).unwrap();
        w("10.1.0.10", "c1\r\neth0");
        w("10.1.0.9", "c2\r\nnet1");
        w("fd00::5", "c3");
        w("last_reserved_ip.0", "10.1.0.10");
        w("lock", "");
        w("README", "x");
        let net = read_dir("mynet", None, &dir);
        let ips: Vec<String> = net.allocations.iter().map(|a| a.ip.to_string()).collect();
        assert_eq!(ips, ["10.1.0.9", "10.1.0.10", "fd00::5"]);
        assert_eq!(net.allocations[1].container_id, "c1");
        assert_eq!(net.allocations[0].ifname.as_deref(), Some("net1"));
        assert_eq!(net.last_reserved, [(0, "10.1.0.10".parse().unwrap())]);
        assert_eq!(net.other_files, ["README"]);
        assert!(net.dir_exists && net.error.is_none());
    }

    #[test]
    fn flannel_subnet_env() {
        let text =
            "FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.1.1/24\nFLANNEL_MTU=1450\n";
        assert_eq!(flannel_subnet(text).as_deref(), Some("10.244.1.1/24"));
    }
}
