//! The simulator's resolver-file steps (see [`super::simulate`]): a file the namespace reads
//! is parsed as written, as the snapshot's collector parses it.

use super::unmodelled;
use crate::dnsconf::{hosts, nsswitch, resolv, FileRead};
use crate::model::Namespace;

/// Writes a resolver file the namespace reads (the one it reads now, or its `/etc/netns`
/// override).
pub fn write_file(n: &mut Namespace, path: &str, content: Option<&str>) -> Result<(), String> {
    let name = n.name.clone();
    let dns = n
        .dns
        .as_mut()
        .ok_or_else(|| unmodelled(&format!("the resolver files of {name}, not read,")))?;
    let Some(text) = content else {
        return Err(unmodelled("removing a resolver file"));
    };
    let file = path.rsplit('/').next().unwrap_or("");
    let ours = |current: &str| path == current || path == format!("/etc/netns/{name}/{file}");
    fn put<T>(f: &mut FileRead<T>, path: &str, text: &str, parsed: T) {
        f.path = path.to_string();
        f.raw = Some(text.to_string());
        f.parsed = Some(parsed);
        f.error = None;
        f.truncated = false;
    }
    match file {
        "resolv.conf" if ours(&dns.resolv_conf.path) => {
            put(&mut dns.resolv_conf, path, text, resolv::parse(text))
        }
        "nsswitch.conf" if ours(&dns.nsswitch.path) => {
            put(&mut dns.nsswitch, path, text, nsswitch::parse(text))
        }
        "hosts" if ours(&dns.hosts.path) => put(&mut dns.hosts, path, text, hosts::parse(text)),
        _ => {
            return Err(unmodelled(&format!(
                "{path}, not a resolver file {name} reads,"
            )))
        }
    }
    Ok(())
}
