//! `netlens cni [--json]`: the node's CNI as each runtime found on it sees it — kubelet's
//! runtimes use the first valid file, podman's CNI backend every conflist, netavark its own
//! networks and ipam.db — what each file is to them, plugin binaries found or missing, and
//! each network's range, use, allocations (held by which namespace, or leaked) and pods.
//!
//! Exit status: 0 healthy (or no CNI here), 1 the doctor's CNI rules find something, 2 bad
//! input (a directory given on the command line that does not exist, an unknown namespace).

use std::path::PathBuf;

use serde::Serialize;

use crate::cni::usage::{self, LeaseState};
use crate::cni::{ifaces, rules, Dirs};
use crate::collect::{self, Options};
use crate::diagnose::{self, has_problems, Finding};
use crate::model::{CniState, Snapshot};

use super::apply::EXIT_BAD_INPUT;

#[derive(Debug, Clone, Default, clap::Args)]
pub struct CniArgs {
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
    /// Configuration directory (default /etc/cni/net.d, or $NETLENS_CNI_CONF_DIR).
    #[arg(long, value_name = "DIR")]
    pub conf_dir: Option<PathBuf>,
    /// Plugin directory, repeatable, searched in order (default /opt/cni/bin and /usr/lib/cni,
    /// or $NETLENS_CNI_BIN_DIRS).
    #[arg(long = "bin-dir", value_name = "DIR")]
    pub bin_dirs: Vec<PathBuf>,
    /// host-local's default dataDir (default /var/lib/cni/networks, or $NETLENS_CNI_DATA_DIR).
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
}

/// The `--json` document.
#[derive(Debug, Serialize)]
pub struct CniReport {
    /// Container runtimes found, each with the rule it reads networks by.
    pub runtimes: Vec<RuntimeView>,
    pub conf_dir: String,
    pub conf_dir_exists: bool,
    pub bin_dirs: Vec<String>,
    /// The config the runtime uses, and why.
    pub selected: Option<String>,
    pub selected_why: String,
    pub configs: Vec<ConfigView>,
    pub networks: Vec<NetworkView>,
    /// Well-known CNI interfaces in the host namespace.
    pub interfaces: Vec<InterfaceView>,
    pub errors: Vec<String>,
    /// The doctor's CNI findings.
    pub findings: Vec<Finding>,
}

#[derive(Debug, Serialize)]
pub struct RuntimeView {
    pub name: String,
    pub backend: Option<String>,
    /// How it reads its networks.
    pub rule: String,
    pub evidence: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct ConfigView {
    pub path: String,
    pub format: String,
    pub name: Option<String>,
    pub cni_version: Option<String>,
    pub valid: bool,
    /// What each runtime does with it, `; `-separated: `used`, `ignored: …`, `invalid: …`,
    /// `podman network NAME`, `podman skips it: …`, `not read: …`.
    pub status: String,
    pub problems: Vec<crate::model::ConfigProblem>,
    pub plugins: Vec<PluginView>,
}

#[derive(Debug, Serialize)]
pub struct PluginView {
    #[serde(rename = "type")]
    pub kind: String,
    pub role: String,
    pub known: bool,
    pub binary: Option<String>,
    pub found: bool,
}

#[derive(Debug, Serialize)]
pub struct NetworkView {
    pub network: String,
    /// Who keeps its addresses: `host-local` (CNI lease files) or `netavark` (podman's ipam.db).
    pub backend: String,
    pub config: Option<String>,
    /// host-local's lease directory, or netavark's ipam.db.
    pub dir: String,
    /// Its bridge, when it exists in the host namespace.
    pub bridge: Option<String>,
    /// The bridge its config names when that does not exist (yet: the first container's
    /// network setup creates it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bridge_missing: Option<String>,
    /// podman's default network, which has no file (podman makes it up in memory).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub default_network: bool,
    pub ranges: Vec<RangeView>,
    /// Leases in the fullest range set, its size, and the percentage used.
    pub used: u64,
    pub total: u64,
    pub percent: f64,
    pub allocations: Vec<AllocationView>,
    pub pods: Vec<PodView>,
    pub error: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct RangeView {
    pub set: u32,
    pub subnet: String,
    pub range_start: String,
    pub range_end: String,
    pub gateway: Option<String>,
    pub size: u64,
}

#[derive(Debug, Serialize)]
pub struct AllocationView {
    pub ip: String,
    pub container_id: String,
    pub ifname: Option<String>,
    /// `held`, `container` (its process lives, the address is not set), `leaked`, `unknown`.
    pub state: String,
    pub held_by: Option<String>,
    pub held_on: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct PodView {
    pub namespace: String,
    pub ifname: String,
    pub address: Option<String>,
    pub host_veth: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct InterfaceView {
    pub name: String,
    pub kind: String,
    pub what: String,
}

fn dirs_from(args: &CniArgs) -> Result<Dirs, String> {
    let mut dirs = Dirs::from_env();
    if let Some(d) = &args.conf_dir {
        if !d.is_dir() {
            return Err(format!("--conf-dir {}: no such directory", d.display()));
        }
        dirs.conf_dir = d.clone();
        dirs.conf_dir_given = true;
    }
    if !args.bin_dirs.is_empty() {
        dirs.bin_dirs = args.bin_dirs.clone();
    }
    if let Some(d) = &args.data_dir {
        dirs.data_dir = d.clone();
    }
    Ok(dirs)
}

pub fn run(args: &CniArgs) -> anyhow::Result<i32> {
    let dirs = match dirs_from(args) {
        Ok(d) => d,
        Err(e) => {
            crate::errln!("netlens cni: {e}");
            return Ok(EXIT_BAD_INPUT);
        }
    };
    let opts = Options {
        firewall: false,
        cni_dirs: Some(dirs),
        ..Options::default()
    };
    let snap = match collect::snapshot(&opts) {
        Ok(s) => s,
        Err(e) => {
            crate::errln!("netlens cni: {e}");
            return Ok(EXIT_BAD_INPUT);
        }
    };
    let r = report(&snap);
    let code = i32::from(has_problems(&r.findings));
    let text = if args.json {
        serde_json::to_string_pretty(&r)? + "\n"
    } else {
        render(&r)
    };
    // Anything a renderer missed is neutralised here (JSON keeps its value).
    let text = crate::text::terminal_safe(&text, args.json);
    print!("{text}");
    Ok(code)
}

/// The report of `snap` (whose `cni` part was read with the directories wanted).
pub fn report(snap: &Snapshot) -> CniReport {
    let empty = CniState::default();
    let cni = snap.cni.as_ref().unwrap_or(&empty);
    let findings: Vec<Finding> = diagnose::diagnose(snap)
        .into_iter()
        .filter(|f| diagnose::cni::RULES.contains(&f.rule.as_str()))
        .collect();
    let selected_why = rules::selected_why(cni);
    let host = snap.namespace("host");
    let bridge_exists = |name: &str| host.is_some_and(|ns| ns.links.iter().any(|l| l.name == name));
    let configs = cni
        .configs
        .iter()
        .map(|c| ConfigView {
            path: c.path.clone(),
            format: c.format.clone(),
            name: c.name.clone(),
            cni_version: c.cni_version.clone(),
            valid: c.valid(),
            status: rules::status(cni, c),
            problems: c.problems.clone(),
            plugins: c
                .plugins
                .iter()
                .map(|p| PluginView {
                    kind: p.kind.clone(),
                    role: p.role.clone(),
                    known: p.known,
                    binary: p.binary.clone(),
                    found: p.binary.is_some(),
                })
                .collect(),
        })
        .collect();
    let networks = cni
        .ipam
        .iter()
        .map(|net| {
            let configured =
                rules::configured_bridge(cni, &net.backend, &net.network, net.config.as_deref());
            let (bridge, bridge_missing) = match configured {
                Some(b) if bridge_exists(&b) => (Some(b), None),
                other => (None, other),
            };
            let full = usage::fullest(net);
            NetworkView {
                network: net.network.clone(),
                backend: net.backend.clone(),
                config: net.config.clone(),
                dir: net.dir.clone(),
                ranges: net
                    .ranges
                    .iter()
                    .map(|r| RangeView {
                        set: r.set,
                        subnet: r.subnet.to_string(),
                        range_start: r.range_start.to_string(),
                        range_end: r.range_end.to_string(),
                        gateway: r.gateway.map(|g| g.to_string()),
                        size: r.size,
                    })
                    .collect(),
                used: full.map_or(net.allocations.len() as u64, |u| u.used),
                total: full.map_or(0, |u| u.size),
                percent: full.map_or(0.0, |u| (u.percent() * 10.0).round() / 10.0),
                allocations: usage::leases(snap, net)
                    .into_iter()
                    .map(|l| {
                        let (state, held_by, held_on, note) = match l.state {
                            LeaseState::Held { namespace, ifname } => {
                                ("held", Some(namespace), Some(ifname), None)
                            }
                            LeaseState::Container { namespace } => (
                                "container",
                                Some(namespace),
                                None,
                                Some("the container lives but does not hold the address".into()),
                            ),
                            LeaseState::Leaked => ("leaked", None, None, None),
                            LeaseState::Unknown(why) => ("unknown", None, None, Some(why)),
                        };
                        AllocationView {
                            ip: l.alloc.ip.to_string(),
                            container_id: l.alloc.container_id.clone(),
                            ifname: l.alloc.ifname.clone(),
                            state: state.to_string(),
                            held_by,
                            held_on,
                            note,
                        }
                    })
                    .collect(),
                pods: usage::pods(snap, bridge.as_deref(), &net.ranges)
                    .into_iter()
                    .map(|p| PodView {
                        namespace: p.namespace,
                        ifname: p.ifname,
                        address: p.address.map(|a| a.to_string()),
                        host_veth: p.host_veth,
                    })
                    .collect(),
                bridge,
                bridge_missing,
                default_network: net.config.is_none()
                    && cni
                        .podman_networks
                        .iter()
                        .any(|v| v.name == net.network && v.file.is_none()),
                error: net.error.clone(),
            }
        })
        .collect();
    let interfaces = snap
        .namespace("host")
        .map(|ns| {
            ns.links
                .iter()
                .filter_map(|l| {
                    ifaces::recognise(l).map(|i| InterfaceView {
                        name: l.name.clone(),
                        kind: l.kind.clone(),
                        what: i.what.to_string(),
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    let runtimes = cni
        .runtimes
        .iter()
        .map(|r| RuntimeView {
            name: r.name.clone(),
            backend: r.backend.clone(),
            rule: rules::rule(r),
            evidence: r.evidence.clone(),
        })
        .collect();
    CniReport {
        runtimes,
        conf_dir: cni.conf_dir.clone(),
        conf_dir_exists: cni.conf_dir_exists,
        bin_dirs: cni.bin_dirs.clone(),
        selected: cni.selected.clone(),
        selected_why,
        configs,
        networks,
        interfaces,
        errors: cni.errors.clone(),
        findings,
    }
}

#[path = "cni_render.rs"]
mod cni_render;
pub use cni_render::render;
