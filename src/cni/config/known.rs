//! What a config may name: the CNI spec versions libcni knows and the plugin types netlens
//! recognises (a type not listed is fine; it is only marked unknown).

/// Versions of the CNI spec a config may declare (libcni's `version` package).
pub const KNOWN_VERSIONS: &[&str] = &[
    "0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0",
];

/// Plugin types netlens recognises: the reference plugins and the common network add-ons.
pub const KNOWN_PLUGINS: &[&str] = &[
    // containernetworking/plugins
    "bridge",
    "host-device",
    "ipvlan",
    "loopback",
    "macvlan",
    "ptp",
    "vlan",
    "vrf",
    "dummy",
    "tap",
    "bandwidth",
    "firewall",
    "portmap",
    "sbr",
    "tuning",
    "host-local",
    "dhcp",
    "static",
    // add-ons
    "flannel",
    "calico",
    "calico-ipam",
    "cilium-cni",
    "weave-net",
    "weave-ipam",
    "whereabouts",
    "multus",
    "multus-shim",
    "aws-cni",
    "egress-cni",
    "azure-vnet",
    "azure-vnet-ipam",
    "antrea",
    "kube-ovn",
    "ovn-k8s-cni-overlay",
    "kube-router",
    "cni-ipvlan-vpc-k8s-unnumbered-ptp",
];
