//! The plugins of a file: which JSON objects are plugins (a `.conflist`'s chain or the
//! `.conf` itself), each one's `type`, bridge and IPAM (flannel's delegate, host-local's
//! range sets), and the field readers that record what is wrong as a problem.

use serde_json::{Map, Value};

use super::{problem, IpamSpec, RangeSpec, KNOWN_PLUGINS};
use crate::model::{CniConfig, CniPlugin, ConfigProblem};

/// The plugin objects: a .conflist's `plugins` list, or the file itself for a .conf.
pub(super) fn plugin_objects<'a>(
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
pub(super) fn read_plugin(
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
pub(super) fn string_field(
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
