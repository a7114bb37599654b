//! Files `netlens cni` reads that a container can influence: flannel's `subnet.env` lives on
//! a hostPath flanneld's pod writes, and config and lease directories are written by plugins
//! and runtimes. A FIFO or a device there must not hang or exhaust the command; a huge file
//! is cut, not read whole.

use crate::common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::world::netlens_bin;

/// Runs `netlens cni --json` over these directories; panics if it does not end in 20 s.
fn cni(conf: &Path, data: &Path) -> (Option<i32>, String, String) {
    let mut child = Command::new(netlens_bin())
        .args(["cni", "--json", "--conf-dir"])
        .arg(conf)
        .arg("--data-dir")
        .arg(data)
        .args(["--bin-dir", "/nonexistent"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > Duration::from_secs(20) {
            child.kill().ok();
            child.wait().ok();
            panic!("netlens cni still running after 20 s: it hangs on a file");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn flannel_conf(conf: &Path, subnet_file: &Path) {
    std::fs::write(
        conf.join("10-flannel.conflist"),
        format!(
            r#"{{"cniVersion":"0.3.1","name":"cbr0","plugins":[{{"type":"flannel","subnetFile":"{}","delegate":{{"isDefaultGateway":true}}}}]}}"#,
            subnet_file.display()
        ),
    )
    .unwrap();
}

fn mkfifo(p: &Path) {
    nix::unistd::mkfifo(p, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
}

#[test]
fn a_fifo_as_flannel_subnet_env_does_not_hang_cni() {
    let tmp = tempfile::tempdir().unwrap();
    let (conf, data) = (tmp.path().join("conf"), tmp.path().join("data"));
    std::fs::create_dir_all(&conf).unwrap();
    std::fs::create_dir_all(&data).unwrap();
    let fifo = tmp.path().join("subnet.env");
    mkfifo(&fifo);
    flannel_conf(&conf, &fifo);
    let (code, out, err) = cni(&conf, &data);
    assert!(matches!(code, Some(0) | Some(1)), "{code:?} {err}");
    assert!(
        out.contains("FIFO"),
        "the error names the file's kind: {out}"
    );
}

#[test]
fn dev_zero_as_flannel_subnet_env_is_not_read_forever() {
    let tmp = tempfile::tempdir().unwrap();
    let (conf, data) = (tmp.path().join("conf"), tmp.path().join("data"));
    std::fs::create_dir_all(&conf).unwrap();
    std::fs::create_dir_all(&data).unwrap();
    flannel_conf(&conf, Path::new("/dev/zero"));
    let (code, out, err) = cni(&conf, &data);
    assert!(matches!(code, Some(0) | Some(1)), "{code:?} {err}");
    assert!(out.contains("character device"), "{out}");
}

/// A FIFO or a symlink to one among the configs, and a FIFO, a huge sparse file and a
/// directory among the leases: listed or skipped, never waited on.
#[test]
fn special_files_in_conf_and_lease_dirs_do_not_hang() {
    let tmp = tempfile::tempdir().unwrap();
    let (conf, data) = (tmp.path().join("conf"), tmp.path().join("data"));
    let net = data.join("mynet");
    std::fs::create_dir_all(&conf).unwrap();
    std::fs::create_dir_all(&net).unwrap();
    mkfifo(&conf.join("05-fifo.conflist"));
    mkfifo(&tmp.path().join("elsewhere"));
    std::os::unix::fs::symlink(tmp.path().join("elsewhere"), conf.join("06-link.conflist"))
        .unwrap();
    std::fs::write(
        conf.join("10-net.conflist"),
        format!(
            r#"{{"cniVersion":"1.0.0","name":"mynet","plugins":[{{"type":"bridge","ipam":{{"type":"host-local","subnet":"10.99.0.0/24","dataDir":"{}"}}}}]}}"#,
            data.display()
        ),
    )
    .unwrap();
    mkfifo(&net.join("10.99.0.7"));
    std::os::unix::fs::symlink("/dev/zero", net.join("10.99.0.8")).unwrap();
    let big = std::fs::File::create(net.join("10.99.0.9")).unwrap();
    big.set_len(2 << 30).unwrap();
    std::fs::create_dir(net.join("10.99.0.10")).unwrap();
    std::fs::write(net.join("10.99.0.11"), "c0ffee\r\neth0\r\n").unwrap();
    let (code, out, err) = cni(&conf, &data);
    assert!(matches!(code, Some(0) | Some(1)), "{code:?} {err}");
    assert!(out.contains("c0ffee"), "the real lease is read: {out}");
}

/// A symlink among the lease directories is not followed: `netlens cni` would otherwise read
/// whatever directory it points to as a network's leases, showing the first line of every
/// file there named like an address.
#[test]
fn a_symlinked_lease_directory_is_not_read() {
    let tmp = tempfile::tempdir().unwrap();
    let (conf, data) = (tmp.path().join("conf"), tmp.path().join("data"));
    std::fs::create_dir_all(&conf).unwrap();
    std::fs::create_dir_all(data.join("realnet")).unwrap();
    let elsewhere = tmp.path().join("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    std::fs::write(elsewhere.join("10.1.2.3"), "TOPSECRET-c4f1\n").unwrap();
    std::os::unix::fs::symlink(&elsewhere, data.join("evil")).unwrap();
    let (code, out, err) = cni(&conf, &data);
    assert!(matches!(code, Some(0) | Some(1)), "{code:?} {err}");
    assert!(out.contains("realnet"), "{out}");
    assert!(
        !out.contains("TOPSECRET"),
        "read through the symlink: {out}"
    );
    assert!(!out.contains("\"evil\""), "listed as a network: {out}");
}

/// A network name is a directory under host-local's data dir: a name with `/` or `..` (which
/// libcni refuses) must not send netlens reading leases elsewhere.
#[test]
fn a_network_name_with_a_path_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let (conf, data) = (tmp.path().join("conf"), tmp.path().join("data"));
    std::fs::create_dir_all(&conf).unwrap();
    std::fs::create_dir_all(&data).unwrap();
    let elsewhere = tmp.path().join("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    std::fs::write(elsewhere.join("10.1.2.3"), "TOPSECRET-9d2e\n").unwrap();
    std::fs::write(
        conf.join("10-net.conflist"),
        format!(
            r#"{{"cniVersion":"1.0.0","name":"../elsewhere","plugins":[{{"type":"bridge","ipam":{{"type":"host-local","subnet":"10.1.2.0/24","dataDir":"{}"}}}}]}}"#,
            data.display()
        ),
    )
    .unwrap();
    let (code, out, err) = cni(&conf, &data);
    assert!(matches!(code, Some(0) | Some(1)), "{code:?} {err}");
    assert!(
        !out.contains("TOPSECRET"),
        "leases read outside the data dir: {out}"
    );
    assert!(out.contains("network name"), "the config is flagged: {out}");
}
