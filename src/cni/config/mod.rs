//! One configuration file, checked the way libcni and the runtimes check it: JSON, a `name`,
//! a known `cniVersion`, a `type` for each plugin (a `.conf` holds one plugin, a `.conflist`
//! a `plugins` chain). Plugin types netlens does not know are fine; whether their binaries
//! exist is [`super::binaries`]'s question. Pure: text in, [`Parsed`] out.
//!
//! What is where: here the parsed types and [`parse`], with the file's top-level fields;
//! `plugins.rs` the plugin objects and their IPAM sections; `known.rs` the spec versions and
//! plugin types netlens knows.

use serde_json::{Map, Value};

use crate::model::{CniConfig, ConfigProblem};

mod known;
mod plugins;

pub use known::{KNOWN_PLUGINS, KNOWN_VERSIONS};
use plugins::{plugin_objects, read_plugin, string_field};

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
