//! Interfaces CNI plugins and network add-ons create on a node, recognised by name and kind.
//! Only used to tell a CNI node from a plain host (and to label links): the doctor's checks of
//! the configuration only speak on a node that has a CNI directory or such an interface in
//! its host namespace.

use crate::model::{Link, LinkKind};

/// A recognised interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CniInterface {
    /// What made it.
    pub what: &'static str,
    /// Whether its presence alone says the node runs CNI (see [`recognise`]).
    pub evidence: bool,
}

/// (name or name prefix ending in `*`, expected kind or `None` for any, what made it)
const KNOWN: &[(&str, Option<LinkKind>, &str)] = &[
    (
        "cni0",
        Some(LinkKind::Bridge),
        "the bridge plugin's default bridge (flannel's too)",
    ),
    ("cni-podman*", Some(LinkKind::Bridge), "podman's CNI bridge"),
    (
        "flannel.*",
        Some(LinkKind::Vxlan),
        "flannel's VXLAN backend",
    ),
    (
        "flannel-wg*",
        Some(LinkKind::Wireguard),
        "flannel's WireGuard backend",
    ),
    ("weave", Some(LinkKind::Bridge), "Weave Net's bridge"),
    ("vxlan.calico", Some(LinkKind::Vxlan), "Calico's VXLAN"),
    (
        "vxlan-v6.calico",
        Some(LinkKind::Vxlan),
        "Calico's IPv6 VXLAN",
    ),
    (
        "wireguard.cali",
        Some(LinkKind::Wireguard),
        "Calico's WireGuard",
    ),
    (
        "cali*",
        Some(LinkKind::Veth),
        "a Calico pod's host-side veth",
    ),
    ("tunl0", Some(LinkKind::Ipip), "Calico's IPIP tunnel"),
    (
        "cilium_host",
        Some(LinkKind::Veth),
        "Cilium's host endpoint",
    ),
    ("cilium_net", Some(LinkKind::Veth), "Cilium's host endpoint"),
    ("cilium_vxlan", Some(LinkKind::Vxlan), "Cilium's VXLAN"),
    ("cilium_geneve", Some(LinkKind::Geneve), "Cilium's Geneve"),
    (
        "kube-ipvs0",
        Some(LinkKind::Dummy),
        "kube-proxy in IPVS mode",
    ),
    (
        "kube-bridge",
        Some(LinkKind::Bridge),
        "kube-router's bridge",
    ),
    ("antrea-gw0", None, "Antrea's gateway"),
];

fn name_matches(pattern: &str, name: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => name.starts_with(prefix) && name.len() > prefix.len(),
        None => pattern == name,
    }
}

/// What made `link`, if it is a well-known CNI interface. `tunl0` is recognised but is no
/// evidence unless it is up: the kernel creates a down `tunl0` in every namespace as soon as
/// the ipip module is loaded, CNI or not.
pub fn recognise(link: &Link) -> Option<CniInterface> {
    let (pattern, _, what) = KNOWN.iter().find(|(pattern, kind, _)| {
        name_matches(pattern, &link.name) && kind.as_ref().is_none_or(|k| *k == link.kind)
    })?;
    let evidence = *pattern != "tunl0" || link.is_up();
    Some(CniInterface { what, evidence })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::LinkFlag;

    #[test]
    fn names_and_kinds() {
        let l = |name: &str, kind: &str| Link::new(1, name, kind);
        assert!(recognise(&l("cni0", "bridge")).unwrap().evidence);
        assert!(recognise(&l("flannel.1", "vxlan")).unwrap().evidence);
        assert!(recognise(&l("cali12ab34cd", "veth")).unwrap().evidence);
        assert!(recognise(&l("kube-ipvs0", "dummy")).is_some());
        // Same name, other kind: not what the add-on makes.
        assert!(recognise(&l("cni0", "dummy")).is_none());
        assert!(recognise(&l("cali", "veth")).is_none());
        assert!(recognise(&l("eth0", "veth")).is_none());
        let mut tunl = l("tunl0", "ipip");
        assert!(!recognise(&tunl).unwrap().evidence);
        tunl.flags.insert(LinkFlag::Up);
        assert!(recognise(&tunl).unwrap().evidence);
    }
}
