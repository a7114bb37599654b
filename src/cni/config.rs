//! One configuration file, checked the way libcni and the runtimes check it: JSON, a `name`,
//! a known `cniVersion`, a `type` for each plugin (a `.conf` holds one plugin, a `.conflist`
//! a `plugins` chain). Plugin types netlens does not know are fine; whether their binaries
//! exist is [`super::binaries`]'s question. Pure: text in, [`Parsed`] out.

use serde_json::{Map, Value};

use crate::model::{CniConfig, CniPlugin, ConfigProblem};

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

/// Files larger than this are not CNI configs; they are refused unread.
pub const MAX_CONFIG_BYTES: u64 = 1 << 20;

/// What host-local needs to find its leases and ranges, from one plugin's `ipam` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpamSpec {
    /// The network name: host-local keeps leases in `DATADIR/NAME`.
    pub network: String,
    /// The config file it came from.
    pub config: String,
    /// `ipam.dataDir`, when set.
    pub data_dir: Option<String>,
    /// Range sets, each a list of ranges (`ranges`, or the older single `subnet`).
    pub range_sets: Vec<Vec<RangeSpec>>,
    /// flannel hands host-local `FLANNEL_SUBNET` from this file (its `subnetFile`).
    pub flannel_subnet_file: Option<String>,
}

/// One range as written in the config (parsed and canonicalised by [`super::ranges`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RangeSpec {
    pub subnet: String,
    pub range_start: Option<String>,
    pub range_end: Option<String>,
    pub gateway: Option<String>,
}

/// One parsed file: the model's view and, when it uses host-local, where its leases are.
#[derive(Debug, Clone, PartialEq)]
pub struct Parsed {
    pub config: CniConfig,
    pub ipam: Vec<IpamSpec>,
}

/// `conflist` for `.conflist`, `conf` for `.conf` and `.json`: libcni decides by extension
/// alone, so a chain saved as `.conf` is an error, not a list.
pub fn format_of(path: &str) -> &'static str {
    if path.ends_with(".conflist") {
        "conflist"
    } else {
        "conf"
    }
}

fn problem(message: impl Into<String>) -> ConfigProblem {
    ConfigProblem {
        message: message.into(),
        line: None,
        column: None,
    }
}

/// libcni's `ValidateNetworkName`: `^[a-zA-Z0-9][a-zA-Z0-9_.\-]*$`. host-local makes the name
/// a directory under its data dir, so anything else (`/`, a leading `.`) could point netlens'
/// lease reading anywhere on the host.
pub fn valid_network_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_alphanumeric())
        && bytes.all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
}

/// Parses the file at `path` whose bytes are `bytes`. Never fails: what is wrong is listed in
/// the config's `problems`.
pub fn parse(path: &str, bytes: &[u8]) -> Parsed {
    let format = format_of(path);
    let mut config = CniConfig {
        path: path.to_string(),
        format: format.to_string(),
        name: None,
        cni_version: None,
        plugins: Vec::new(),
        problems: Vec::new(),
        bridge: None,
    };
    let mut ipam = Vec::new();
    let value: Value = match serde_json::from_slice(bytes) {
        Ok(v) => v,
        Err(e) => {
            config.problems.push(ConfigProblem {
                message: format!("invalid JSON: {e}"),
                line: Some(e.line()),
                column: Some(e.column()),
            });
            return Parsed { config, ipam };
        }
    };
    let Some(top) = value.as_object() else {
        config
            .problems
            .push(problem("the file is JSON but not an object"));
        return Parsed { config, ipam };
    };
    names(top, &mut config);
    let network = config.name.clone().unwrap_or_default();
    if !network.is_empty() && !valid_network_name(&network) {
        config.problems.push(problem(format!(
            "network name {network:?} is invalid (libcni allows letters, digits, '_', '.', '-', not first); its leases are not read"
        )));
    }
    let plugin_objects = plugin_objects(format, top, &mut config.problems);
    for (i, obj) in plugin_objects.iter().enumerate() {
        let at = if format == "conflist" {
            format!("plugins[{i}]")
        } else {
            "the plugin".to_string()
        };
        read_plugin(obj, &at, (path, &network), &mut config, &mut ipam);
    }
    Parsed { config, ipam }
}

/// `name` and `cniVersion`: present, non-empty, a version the spec knows.
fn names(top: &Map<String, Value>, config: &mut CniConfig) {
    config.name = string_field(top, "name", &mut config.problems);
    match config.name.as_deref() {
        None if !top.contains_key("name") => config.problems.push(problem("no \"name\"")),
        Some("") => config.problems.push(problem("\"name\" is empty")),
        _ => {}
    }
    config.cni_version = string_field(top, "cniVersion", &mut config.problems);
    match config.cni_version.as_deref() {
        None if !top.contains_key("cniVersion") => config.problems.push(problem(
            "no \"cniVersion\" (the spec requires it; runtimes refuse the file or assume 0.1.0)",
        )),
        Some(v) if !KNOWN_VERSIONS.contains(&v) => config.problems.push(problem(format!(
            "unknown cniVersion {v:?} (known: {})",
            KNOWN_VERSIONS.join(", ")
        ))),
        _ => {}
    }
}

/// The plugin objects: a .conflist's `plugins` list, or the file itself for a .conf.
fn plugin_objects<'a>(
    format: &str,
    top: &'a Map<String, Value>,
    problems: &mut Vec<ConfigProblem>,
) -> Vec<&'a Map<String, Value>> {
    let mut plugin_objects: Vec<&Map<String, Value>> = Vec::new();
    if format == "conflist" {
        match top.get("plugins") {
            None => problems.push(problem("no \"plugins\" list (a .conflist holds a chain)")),
            Some(Value::Array(list)) if list.is_empty() => {
                problems.push(problem("\"plugins\" is empty: nothing to run"))
            }
            Some(Value::Array(list)) => {
                for (i, p) in list.iter().enumerate() {
                    match p.as_object() {
                        Some(obj) => plugin_objects.push(obj),
                        None => problems.push(problem(format!("plugins[{i}] is not an object"))),
                    }
                }
            }
            Some(_) => problems.push(problem("\"plugins\" is not a list")),
        }
    } else if !top.contains_key("type") && top.contains_key("plugins") {
        problems.push(problem(
            "no \"type\", but a \"plugins\" list: a chain must be saved as .conflist",
        ));
    } else {
        plugin_objects.push(top);
    }
    plugin_objects
}

/// One plugin of the chain (`at` names it in problems): its type, its bridge, and its IPAM
/// (a host-local one is read for leases).
fn read_plugin(
    obj: &Map<String, Value>,
    at: &str,
    (path, network): (&str, &str),
    config: &mut CniConfig,
    ipam: &mut Vec<IpamSpec>,
) {
    let Some(kind) = plugin_type(obj, at, &mut config.problems) else {
        return;
    };
    config.plugins.push(plugin(&kind, "plugin"));
    let mut ipam_section = obj.get("ipam");
    if kind == "bridge" && config.bridge.is_none() {
        config.bridge = Some(str_of(obj, "bridge").unwrap_or("cni0").to_string());
    }
    let mut flannel_subnet_file = None;
    if kind == "flannel" {
        (ipam_section, flannel_subnet_file) = flannel(obj, (path, network), config, ipam);
    }
    if let Some(section) = ipam_section {
        let Some(iobj) = section.as_object() else {
            config
                .problems
                .push(problem(format!("{at}: \"ipam\" is not an object")));
            return;
        };
        let Some(itype) = plugin_type(iobj, &format!("{at}.ipam"), &mut config.problems) else {
            return;
        };
        config.plugins.push(plugin(&itype, "ipam"));
        if itype == "host-local" {
            ipam.push(IpamSpec {
                network: network.to_string(),
                config: path.to_string(),
                data_dir: str_of(iobj, "dataDir").map(str::to_string),
                range_sets: range_sets(iobj),
                flannel_subnet_file,
            });
        }
    }
}

/// flannel runs a delegate (bridge unless told otherwise) with host-local over the node's
/// FLANNEL_SUBNET, unless the delegate brings its own ipam. Returns the delegate's ipam
/// section, and the subnet file when flannel's own host-local is used.
fn flannel<'a>(
    obj: &'a Map<String, Value>,
    (path, network): (&str, &str),
    config: &mut CniConfig,
    ipam: &mut Vec<IpamSpec>,
) -> (Option<&'a Value>, Option<String>) {
    let mut flannel_subnet_file = None;
    let delegate = obj.get("delegate").and_then(Value::as_object);
    let dtype = delegate
        .and_then(|d| str_of(d, "type"))
        .unwrap_or("bridge")
        .to_string();
    config.plugins.push(plugin(&dtype, "delegate"));
    if dtype == "bridge" && config.bridge.is_none() {
        config.bridge = Some(
            delegate
                .and_then(|d| str_of(d, "bridge"))
                .unwrap_or("cni0")
                .to_string(),
        );
    }
    let ipam_section = delegate.and_then(|d| d.get("ipam"));
    if ipam_section.is_none() {
        config.plugins.push(plugin("host-local", "ipam"));
        flannel_subnet_file = Some(
            str_of(obj, "subnetFile")
                .unwrap_or("/run/flannel/subnet.env")
                .to_string(),
        );
        ipam.push(IpamSpec {
            network: network.to_string(),
            config: path.to_string(),
            data_dir: None,
            range_sets: Vec::new(),
            flannel_subnet_file: flannel_subnet_file.clone(),
        });
    }
    (ipam_section, flannel_subnet_file)
}

fn plugin(kind: &str, role: &str) -> CniPlugin {
    CniPlugin {
        kind: kind.to_string(),
        role: role.to_string(),
        binary: None,
        known: KNOWN_PLUGINS.contains(&kind),
    }
}

fn str_of<'a>(obj: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    obj.get(key).and_then(Value::as_str)
}

/// A string field; a non-string value is a problem.
fn string_field(
    obj: &Map<String, Value>,
    key: &str,
    problems: &mut Vec<ConfigProblem>,
) -> Option<String> {
    match obj.get(key)? {
        Value::String(s) => Some(s.clone()),
        other => {
            problems.push(problem(format!("\"{key}\" is not a string: {other}")));
            None
        }
    }
}

/// A plugin's `type`: present, a string, a plain file name (libcni will not run a path).
fn plugin_type(
    obj: &Map<String, Value>,
    at: &str,
    problems: &mut Vec<ConfigProblem>,
) -> Option<String> {
    match obj.get("type") {
        None => {
            problems.push(problem(format!("{at} has no \"type\"")));
            None
        }
        Some(Value::String(t)) if t.is_empty() => {
            problems.push(problem(format!("{at} has an empty \"type\"")));
            None
        }
        Some(Value::String(t)) if t.contains('/') || t == "." || t == ".." => {
            problems.push(problem(format!(
                "{at}: \"type\" {t:?} is a path; it must name a binary in the plugin directories"
            )));
            None
        }
        Some(Value::String(t)) => Some(t.clone()),
        Some(other) => {
            problems.push(problem(format!("{at}: \"type\" is not a string: {other}")));
            None
        }
    }
}

/// host-local's range sets: `ranges` (a list of lists), or the older flat `subnet`,
/// `rangeStart`, `rangeEnd`, `gateway`.
fn range_sets(ipam: &Map<String, Value>) -> Vec<Vec<RangeSpec>> {
    let range = |obj: &Map<String, Value>| -> Option<RangeSpec> {
        Some(RangeSpec {
            subnet: str_of(obj, "subnet")?.to_string(),
            range_start: str_of(obj, "rangeStart").map(str::to_string),
            range_end: str_of(obj, "rangeEnd").map(str::to_string),
            gateway: str_of(obj, "gateway").map(str::to_string),
        })
    };
    let mut sets = Vec::new();
    if let Some(r) = range(ipam) {
        sets.push(vec![r]);
    }
    if let Some(list) = ipam.get("ranges").and_then(Value::as_array) {
        for set in list {
            let ranges: Vec<RangeSpec> = set
                .as_array()
                .map(|s| {
                    s.iter()
                        .filter_map(Value::as_object)
                        .filter_map(range)
                        .collect()
                })
                .unwrap_or_default();
            if !ranges.is_empty() {
                sets.push(ranges);
            }
        }
    }
    sets
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(path: &str, text: &str) -> Vec<String> {
        parse(path, text.as_bytes())
            .config
            .problems
            .into_iter()
            .map(|p| p.message)
            .collect()
    }

    #[test]
    fn conf_with_plugins_is_a_misnamed_conflist() {
        let p = problems(
            "/x/10-a.conf",
            r#"{"cniVersion":"1.0.0","name":"a","plugins":[{"type":"bridge"}]}"#,
        );
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(p[0].contains("must be saved as .conflist"), "{p:?}");
    }

    #[test]
    fn version_and_type_checks() {
        let p = problems(
            "/x/a.conflist",
            r#"{"name":"a","plugins":[{"type":""},{"x":1}]}"#,
        );
        assert_eq!(
            p,
            [
                "no \"cniVersion\" (the spec requires it; runtimes refuse the file or assume 0.1.0)",
                "plugins[0] has an empty \"type\"",
                "plugins[1] has no \"type\"",
            ]
        );
        let p = problems(
            "/x/a.conflist",
            r#"{"cniVersion":"9.9.9","name":"a","plugins":[{"type":"../../bin/sh"}]}"#,
        );
        assert!(p[0].starts_with("unknown cniVersion \"9.9.9\""), "{p:?}");
        assert!(p[1].contains("is a path"), "{p:?}");
    }

    #[test]
    fn json_error_has_a_position() {
        let parsed = parse("/x/a.conf", b"{\n  \"name\": \"a\",\n  oops\n}");
        let p = &parsed.config.problems[0];
        assert_eq!((p.line, p.column), (Some(3), Some(3)), "{p:?}");
        assert!(
            p.message.starts_with("invalid JSON: key must be a string"),
            "{p:?}"
        );
    }

    #[test]
    fn unknown_plugins_are_not_problems() {
        let parsed = parse(
            "/x/a.conf",
            br#"{"cniVersion":"1.0.0","name":"a","type":"my-own","ipam":{"type":"my-ipam"}}"#,
        );
        assert!(parsed.config.valid());
        let kinds: Vec<(&str, &str, bool)> = parsed
            .config
            .plugins
            .iter()
            .map(|p| (p.kind.as_str(), p.role.as_str(), p.known))
            .collect();
        assert_eq!(
            kinds,
            [("my-own", "plugin", false), ("my-ipam", "ipam", false)]
        );
        assert!(parsed.ipam.is_empty());
    }
}
