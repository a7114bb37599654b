//! Running Debian's real CNI bridge plugin (`containernetworking-plugins`) the way a runtime
//! does, for tests that wire pods inside a world.

use std::io::Write;
use std::process::{Command, Stdio};

/// Where Debian installs the plugins.
pub const PLUGIN_DIR: &str = "/usr/lib/cni";

/// Runs the bridge plugin with `command` (ADD/DEL) for namespace `/run/netns/POD`, container
/// `container_id`, interface eth0, `conf` on stdin. `Ok(stdout)` on success, `Err(stdout and
/// stderr)` when the plugin fails.
pub fn bridge(command: &str, pod: &str, container_id: &str, conf: &str) -> Result<String, String> {
    let mut child = Command::new(format!("{PLUGIN_DIR}/bridge"))
        .env("CNI_COMMAND", command)
        .env("CNI_CONTAINERID", container_id)
        .env("CNI_NETNS", format!("/run/netns/{pod}"))
        .env("CNI_IFNAME", "eth0")
        .env("CNI_PATH", PLUGIN_DIR)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run the CNI bridge plugin (apt package containernetworking-plugins)");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(conf.as_bytes())
        .expect("write the network config");
    let out = child.wait_with_output().expect("wait for the plugin");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if out.status.success() {
        Ok(stdout)
    } else {
        Err(format!(
            "CNI {command} {pod} failed ({}): {stdout}{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}
