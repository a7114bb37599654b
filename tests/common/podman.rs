//! A real podman (Debian's 4.3, netavark or CNI backend) inside a test world, offline: its
//! configuration, storage and state on tmpfs mounts that die with the world, `runc` and
//! `cgroupfs` (crun fails on this hybrid-cgroup host), and an image imported from the host's
//! busybox-static, since no registry is reachable. See FIELD-NOTES.md ("Real container
//! runtimes, offline").
//!
//! Call inside a world (see `world.rs`): every mount, container and rule dies with it.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use super::container::Scratch;
use super::world::{private_etc_netns, sh, try_sh};

/// Where podman and its network backends keep configuration and state; each gets a tmpfs.
const STATE_DIRS: &[&str] = &[
    "/etc/containers",
    "/etc/cni/net.d",
    "/var/lib/containers",
    "/var/lib/cni",
];

/// The image every container runs: busybox (httpd, sleep, cat).
pub const IMAGE: &str = "localhost/bb";

/// A podman set up for one backend; the scratch tmpfs holds the image's rootfs.
pub struct Podman {
    pub backend: &'static str,
    _scratch: Scratch,
}

impl Podman {
    /// Mounts the state dirs, writes containers.conf / storage.conf / policy.json for
    /// `backend` (`netavark` or `cni`) and imports the busybox image.
    pub fn setup(backend: &'static str) -> Podman {
        for tool in [
            "podman",
            "runc",
            "busybox",
            "curl",
            "iptables-save",
            "nsenter",
        ] {
            assert!(
                super::world::try_sh(&["sh", "-c", &format!("command -v {tool}")])
                    .status
                    .success(),
                "{tool} is missing: run tests/setup.sh"
            );
        }
        private_etc_netns(&[]);
        private_var_lib();
        for d in STATE_DIRS {
            if backend == "netavark" && *d == "/etc/cni/net.d" {
                // netavark reads no CNI config: leave the machine's (Debian's podman ships
                // 87-podman-bridge.conflist there), as a real netavark host has it. The
                // world's /etc is an overlay, so nothing reaches the machine.
                continue;
            }
            sh(&["mkdir", "-p", d]);
            sh(&["mount", "-t", "tmpfs", "-o", "size=1g", "podman-state", d]);
        }
        let conf = format!(
            "[engine]\ncgroup_manager = \"cgroupfs\"\nevents_logger = \"file\"\n\
             runtime = \"runc\"\n[network]\nnetwork_backend = \"{backend}\"\n"
        );
        write("/etc/containers/containers.conf", &conf);
        write(
            "/etc/containers/storage.conf",
            "[storage]\ndriver = \"vfs\"\nrunroot = \"/run/containers/storage\"\n\
             graphroot = \"/var/lib/containers/storage\"\n",
        );
        write(
            "/etc/containers/policy.json",
            r#"{"default":[{"type":"insecureAcceptAnything"}]}"#,
        );
        let scratch = Scratch::new();
        import_busybox(&scratch.dir);
        Podman {
            backend,
            _scratch: scratch,
        }
    }
}

/// Gives the world a writable `/var/lib` overlay on its own `/run`, so state directories
/// created under it (`/var/lib/containers`, `/var/lib/docker`, …) never land on the machine.
pub fn private_var_lib() {
    std::fs::create_dir_all("/run/var-lib-overlay/upper").expect("overlay upper");
    std::fs::create_dir_all("/run/var-lib-overlay/work").expect("overlay work");
    sh(&[
        "mount",
        "-t",
        "overlay",
        "overlay",
        "-o",
        "lowerdir=/var/lib,upperdir=/run/var-lib-overlay/upper,workdir=/run/var-lib-overlay/work",
        "/var/lib",
    ]);
}

fn write(path: &str, text: &str) {
    std::fs::write(path, text).unwrap_or_else(|e| panic!("write {path}: {e}"));
}

/// A rootfs with busybox and its applets, a passwd and a web page, imported as [`IMAGE`]
/// by `runtime` (`podman` or `docker`).
pub fn import_busybox(dir: &Path) {
    import_busybox_with(dir, "podman")
}

pub fn import_busybox_with(dir: &Path, runtime: &str) {
    let root = dir.join("root");
    let r = root.to_str().unwrap();
    for sub in ["bin", "etc", "www"] {
        std::fs::create_dir_all(root.join(sub)).unwrap();
    }
    let busybox = ["/bin/busybox", "/usr/bin/busybox"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .expect("busybox-static is installed");
    std::fs::copy(busybox, root.join("bin/busybox")).unwrap();
    sh(&["chroot", r, "/bin/busybox", "--install", "-s", "/bin"]);
    write(
        root.join("etc/passwd").to_str().unwrap(),
        "root:x:0:0:root:/root:/bin/sh\n",
    );
    write(root.join("www/index.html").to_str().unwrap(), "hello\n");
    let tar = dir.join("rootfs.tar");
    sh(&["tar", "-C", r, "-cf", tar.to_str().unwrap(), "."]);
    sh(&[runtime, "import", tar.to_str().unwrap(), IMAGE]);
    std::fs::remove_file(&tar).ok();
}

/// `podman ARGS...`, which must succeed; its stdout.
pub fn podman(args: &[&str]) -> String {
    let mut argv = vec!["podman"];
    argv.extend_from_slice(args);
    sh(&argv)
}

/// `podman inspect NAME` as JSON (the first element).
pub fn inspect(name: &str) -> Value {
    let v: Value = serde_json::from_str(&podman(&["inspect", name])).expect("inspect JSON");
    v[0].clone()
}

/// `podman network inspect NET` as JSON (the first element).
pub fn network_inspect(net: &str) -> Value {
    let v: Value =
        serde_json::from_str(&podman(&["network", "inspect", net])).expect("network JSON");
    v[0].clone()
}

/// The container's main process.
pub fn pid(name: &str) -> u32 {
    inspect(name)["State"]["Pid"].as_u64().expect("State.Pid") as u32
}

/// The container's (address, MAC) on `net`, as podman reports them.
pub fn address_on(name: &str, net: &str) -> (String, String) {
    let c = inspect(name);
    let n = &c["NetworkSettings"]["Networks"][net];
    (
        n["IPAddress"].as_str().expect("IPAddress").to_string(),
        n["MacAddress"].as_str().expect("MacAddress").to_string(),
    )
}

/// Runs a busybox web server on `net` publishing host port `host_port` to its port 80.
pub fn run_web(name: &str, net: &str, host_port: u16) -> String {
    let publish = format!("{host_port}:80");
    podman(&[
        "run",
        "-d",
        "--name",
        name,
        "--network",
        net,
        "-p",
        &publish,
        IMAGE,
        "httpd",
        "-f",
        "-p",
        "80",
        "-h",
        "/www",
    ])
    .trim()
    .to_string()
}

/// Runs a container that only sleeps, on `net`.
pub fn run_sleeper(name: &str, net: &str) -> String {
    podman(&[
        "run",
        "-d",
        "--name",
        name,
        "--network",
        net,
        IMAGE,
        "sleep",
        "100000",
    ])
    .trim()
    .to_string()
}

/// A real HTTP GET with the host's curl (busybox wget segfaults here), from the host's
/// network namespace or, with `from_pid`, from that process's.
pub fn curl_ok(url: &str, from_pid: Option<u32>) -> bool {
    let t = from_pid.map(|p| p.to_string());
    let mut argv: Vec<&str> = Vec::new();
    if let Some(t) = &t {
        argv.extend(["nsenter", "-n", "-t", t]);
    }
    argv.extend(["curl", "-sf", "-m", "3", "-o", "/dev/null", url]);
    try_sh(&argv).status.success()
}

/// A real ping from `pid`'s network namespace (the host's ping, through nsenter).
pub fn ping_from(pid: u32, dst: &str) -> bool {
    let t = pid.to_string();
    try_sh(&["nsenter", "-n", "-t", &t, "ping", "-c1", "-W2", dst])
        .status
        .success()
}

/// Kills a container the hard way, so podman cleans nothing up: conmon first (it would run
/// `podman container cleanup`), then the container's process; then its network namespace
/// goes, as a reboot of /run or a manual cleanup would take it, and with it the veth. What
/// podman's network backend wrote into iptables stays behind.
pub fn kill_leaving_rules(name: &str) {
    let c = inspect(name);
    let conmon = c["State"]["ConmonPid"]
        .as_u64()
        .expect("ConmonPid")
        .to_string();
    let pid = c["State"]["Pid"].as_u64().expect("Pid").to_string();
    let sandbox = c["NetworkSettings"]["SandboxKey"]
        .as_str()
        .expect("SandboxKey")
        .to_string();
    sh(&["kill", "-9", &conmon, &pid]);
    // Wait for the container's process to be gone before its namespace is removed.
    for _ in 0..50 {
        if !Path::new(&format!("/proc/{pid}")).exists() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let netns = Path::new(&sandbox)
        .file_name()
        .and_then(|n| n.to_str())
        .expect("netns name")
        .to_string();
    sh(&["ip", "netns", "delete", &netns]);
}

/// The v4 ruleset as `iptables-save` prints it, without comments and counters, for
/// comparing before and after.
pub fn iptables_rules() -> Vec<String> {
    let out = Command::new("iptables-save")
        .output()
        .expect("iptables-save");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| match l.rfind(" [") {
            // `:CHAIN POLICY [0:0]`: counters change, the chain does not.
            Some(i) if l.starts_with(':') => l[..i].to_string(),
            _ => l.to_string(),
        })
        .collect()
}

/// The lines of [`iptables_rules`] that mention `needle`.
pub fn rules_with(needle: &str) -> Vec<String> {
    iptables_rules()
        .into_iter()
        .filter(|l| l.contains(needle))
        .collect()
}
