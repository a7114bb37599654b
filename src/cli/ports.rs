//! `netlens ports [--role control-plane|worker] [--ns NS] [--peer ADDR]... [--from NS]
//! [--timeout-ms N] [--json]`: the Kubernetes "Ports and Protocols" table checked on this node.
//! Exit 0 when every required port of the role listens, reachable (not loopback-only where
//! peers need it, not dropped by INPUT, every `--peer` connect made) — 1 otherwise, 2 on bad
//! input with one line on stderr.

use std::net::IpAddr;
use std::time::Duration;

use crate::collect::{self, Options};
use crate::k8s::{self, identity, PortsOptions, Role};
use crate::netns::lookup;
use crate::report;

#[derive(Debug, Clone, Default, clap::Args)]
pub struct PortsArgs {
    /// control-plane or worker; default: detected (kube-apiserver or etcd listening means
    /// control plane).
    #[arg(long, value_name = "ROLE")]
    pub role: Option<String>,
    /// The namespace to check (name, path, pid, container or pod name, container id prefix
    /// or inode); default the host's. A kind or other containerised node is such a namespace.
    #[arg(long = "ns", value_name = "NS")]
    pub ns: Option<String>,
    /// Another node's address: TCP connect to the role's ports there. Repeatable.
    #[arg(long = "peer", value_name = "ADDR")]
    pub peer: Vec<String>,
    /// Connect to the peers from inside this namespace instead of netlens' own.
    #[arg(long, value_name = "NS")]
    pub from: Option<String>,
    /// How long one connect may take.
    #[arg(long, value_name = "MS", default_value_t = 1000)]
    pub timeout_ms: u64,
    /// Print the table as JSON (every row with its listener, INPUT verdict and peer connects,
    /// and the node's identity).
    #[arg(long)]
    pub json: bool,
}

const EXIT_PROBLEMS: i32 = 1;
const EXIT_USAGE: i32 = 2;

/// Parses and checks the arguments that need no system access.
fn parse(args: &PortsArgs) -> Result<(Option<Role>, Vec<IpAddr>), String> {
    let role = match &args.role {
        Some(r) => Some(
            Role::parse(r)
                .ok_or_else(|| format!("unknown role {r:?} (control-plane or worker)"))?,
        ),
        None => None,
    };
    let mut peers = Vec::new();
    for p in &args.peer {
        // Brackets are how addresses with ports are usually written; accept them bare too.
        let bare = p.trim_start_matches('[').trim_end_matches(']');
        let ip: IpAddr = bare
            .parse()
            .map_err(|_| format!("--peer {p:?} is not an IP address"))?;
        if ip.is_unspecified() || ip.is_multicast() {
            return Err(format!("--peer {p:?} is not a node's address"));
        }
        peers.push(ip);
    }
    if args.from.is_some() && peers.is_empty() {
        return Err("--from needs at least one --peer to connect to".into());
    }
    if args.timeout_ms == 0 {
        return Err("--timeout-ms must be more than 0".into());
    }
    Ok((role, peers))
}

fn usage(msg: impl std::fmt::Display) -> anyhow::Result<i32> {
    crate::errln!("netlens ports: {msg}");
    Ok(EXIT_USAGE)
}

pub fn run(args: &PortsArgs) -> anyhow::Result<i32> {
    let (role, peers) = match parse(args) {
        Ok(x) => x,
        Err(e) => return usage(e),
    };
    let namespace = match &args.ns {
        Some(sel) => match lookup::find(sel) {
            Ok((found, _)) => Some(found.name),
            Err(e) => return usage(e),
        },
        None => None,
    };
    let from = match &args.from {
        Some(sel) => match lookup::find(sel) {
            Ok((found, file)) => Some((file, found.name)),
            Err(e) => return usage(e),
        },
        None => None,
    };
    let progress = super::output::Progress::current();
    let snap = match progress.slow("reading every namespace…", || {
        collect::snapshot(&Options::default())
    }) {
        Ok(s) => s,
        Err(e) => return usage(e),
    };
    let opts = PortsOptions {
        role,
        namespace,
        peers: peers.clone(),
    };
    let mut rep = k8s::check(&snap, &opts);
    identity::read_id_files(&mut rep.identity);
    if !peers.is_empty() {
        let from_ref = from.as_ref().map(|(f, n)| (f, n.as_str()));
        let probed = progress.slow("connecting to the peers' ports…", || {
            k8s::probe_peers(
                &mut rep,
                &peers,
                from_ref,
                Duration::from_millis(args.timeout_ms),
            )
        });
        if let Err(e) = probed {
            return usage(e);
        }
    }
    let text = if args.json {
        let mut t = serde_json::to_string_pretty(&rep)?;
        t.push('\n');
        t
    } else {
        report::ports::render_ports(&rep)
    };
    super::output::print_report(&text, args.json, crate::report::color::Kind::Ports)?;
    Ok(if rep.ok { 0 } else { EXIT_PROBLEMS })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(role: Option<&str>, peers: &[&str], from: Option<&str>) -> PortsArgs {
        PortsArgs {
            role: role.map(Into::into),
            peer: peers.iter().map(|p| p.to_string()).collect(),
            from: from.map(Into::into),
            timeout_ms: 1000,
            ..PortsArgs::default()
        }
    }

    #[test]
    fn bad_input_is_refused_before_any_work() {
        assert!(parse(&args(Some("etcd"), &[], None))
            .unwrap_err()
            .contains("unknown role"));
        assert!(parse(&args(None, &["node2.example"], None))
            .unwrap_err()
            .contains("not an IP address"));
        assert!(parse(&args(None, &["0.0.0.0"], None)).is_err());
        assert!(parse(&args(None, &[], Some("pod"))).is_err());
        let (role, peers) =
            parse(&args(Some("worker"), &["10.1.2.3", "[fd00::1]"], Some("x"))).unwrap();
        assert_eq!(role, Some(Role::Worker));
        assert_eq!(peers.len(), 2);
    }
}
