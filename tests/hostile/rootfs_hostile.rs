//! A hostile container root: whatever a container plants under its root (symlinks out of it,
//! FIFOs, devices, huge files, a temporary file name netlens might use) must not make root
//! netlens show a host file, hang, run out of memory, or write outside the container's three
//! resolver files. Issue 10, items 1–4 (write_file) and 14.

use crate::common;

use std::io::Read;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::container::{etc, Container, Scratch};
use common::out::both;
use common::world::{in_world, netlens_bin, sh};

const SECRET: &str = "nameserver 10.66.66.66\n# HOST-SECRET-7f3a\n";
const MARK: &str = "HOST-SECRET-7f3a";

/// A mode-600 host file holding [`SECRET`], outside every container root.
fn host_secret(dir: &Path) -> std::path::PathBuf {
    let p = dir.join("secret");
    std::fs::write(&p, SECRET).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
    p
}

/// What one netlens run did: its output, how long it took and its peak memory.
struct Run {
    out: Output,
    took: Duration,
    max_rss_kib: i64,
}

/// Runs netlens with `args`, killed after `limit`; the test fails if it had to be killed.
// Reaped with wait4 (for its peak memory), which clippy cannot see.
#[allow(clippy::zombie_processes)]
fn netlens_within(args: &[&str], limit: Duration) -> Run {
    let mut child = Command::new(netlens_bin())
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn netlens");
    let mut so = child.stdout.take().unwrap();
    let mut se = child.stderr.take().unwrap();
    let t_out = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = so.read_to_end(&mut v);
        v
    });
    let t_err = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = se.read_to_end(&mut v);
        v
    });
    let start = Instant::now();
    let pid = child.id() as i32;
    let (status, rss) = loop {
        let mut status = 0;
        // SAFETY: rusage is plain data, filled by the kernel.
        let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
        let r = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut ru) };
        if r == pid {
            break (status, ru.ru_maxrss);
        }
        if start.elapsed() > limit {
            unsafe { libc::kill(pid, libc::SIGKILL) };
            unsafe { libc::waitpid(pid, std::ptr::null_mut(), 0) };
            panic!("netlens {args:?} still running after {limit:?}: it hangs");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    use std::os::unix::process::ExitStatusExt;
    let out = Output {
        status: std::process::ExitStatus::from_raw(status),
        stdout: t_out.join().unwrap(),
        stderr: t_err.join().unwrap(),
    };
    Run {
        out,
        took: start.elapsed(),
        max_rss_kib: rss,
    }
}

fn dns_of<'a>(snap: &'a serde_json::Value, ns: &str) -> &'a serde_json::Value {
    snap["namespaces"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["name"] == ns)
        .unwrap_or_else(|| panic!("no namespace {ns} in the snapshot"))
        .get("dns")
        .unwrap_or_else(|| panic!("{ns} has no dns"))
}

fn snapshot_json() -> serde_json::Value {
    let run = netlens_within(&["snapshot", "--json"], Duration::from_secs(60));
    assert!(
        run.out.status.success(),
        "snapshot failed: {}",
        both(&run.out)
    );
    serde_json::from_slice(&run.out.stdout).expect("snapshot JSON")
}

#[test]
fn container_symlinks_never_show_host_files() {
    in_world(
        "rootfs_hostile::container_symlinks_never_show_host_files",
        || {
            let host = tempfile::tempdir().unwrap();
            let secret = host_secret(host.path());
            let scratch = Scratch::new();

            // Absolute link for resolv.conf, relative `../../..` link for hosts.
            let a = scratch.dir.join("a");
            etc(&a, &[("nsswitch.conf", "hosts: files dns\n")]);
            symlink(&secret, a.join("etc/resolv.conf")).unwrap();
            let up = "../".repeat(20);
            symlink(
                format!(
                    "{up}{}",
                    secret.display().to_string().trim_start_matches('/')
                ),
                a.join("etc/hosts"),
            )
            .unwrap();

            // A symlinked intermediate directory: `etc -> /HOSTDIR`.
            let b = scratch.dir.join("b");
            std::fs::create_dir_all(&b).unwrap();
            std::fs::copy(&secret, host.path().join("resolv.conf")).unwrap();
            std::fs::copy(&secret, host.path().join("hosts")).unwrap();
            symlink(host.path(), b.join("etc")).unwrap();

            let ca = Container::start(&a, None);
            let cb = Container::start(&b, None);
            let snap = snapshot_json();
            let whole = serde_json::to_string(&snap).unwrap();
            assert!(
                !whole.contains(MARK),
                "a host file leaked into the snapshot"
            );
            assert!(
                !whole.contains("10.66.66.66"),
                "a host file leaked into the snapshot"
            );
            for c in [&ca, &cb] {
                let dns = dns_of(&snap, &c.name());
                let prefix = format!("/proc/{}/root/", c.pid);
                for f in ["resolv_conf", "hosts", "nsswitch"] {
                    let p = dns[f]["path"].as_str().unwrap();
                    assert!(p.starts_with(&prefix), "{f} of {} shown as {p}", c.name());
                }
                assert!(dns["resolv_conf"]["raw"].is_null(), "{dns}");
            }
            // The link's target as the container sees it, never a host path.
            let shown = dns_of(&snap, &ca.name())["resolv_conf"]["path"]
                .as_str()
                .unwrap()
                .to_string();
            assert_eq!(shown, format!("/proc/{}/root{}", ca.pid, secret.display()));

            let run = netlens_within(&["snapshot"], Duration::from_secs(60));
            assert!(!both(&run.out).contains(MARK), "{}", both(&run.out));
            let run = netlens_within(&["doctor"], Duration::from_secs(60));
            assert!(!both(&run.out).contains(MARK), "{}", both(&run.out));
            assert!(
                !both(&run.out).contains("10.66.66.66"),
                "{}",
                both(&run.out)
            );
        },
    );
}

#[test]
fn hostile_files_never_stall_or_blank_a_snapshot() {
    in_world(
        "rootfs_hostile::hostile_files_never_stall_or_blank_a_snapshot",
        || {
            let scratch = Scratch::new();
            // A FIFO resolv.conf, hosts -> the container's own /dev/zero, a loop for nsswitch.
            let a = scratch.dir.join("a");
            etc(&a, &[]);
            sh(&["mkfifo", a.join("etc/resolv.conf").to_str().unwrap()]);
            std::fs::create_dir_all(a.join("dev")).unwrap();
            sh(&["mknod", a.join("dev/zero").to_str().unwrap(), "c", "1", "5"]);
            symlink("/dev/zero", a.join("etc/hosts")).unwrap();
            symlink("nsswitch.conf", a.join("etc/nsswitch.conf")).unwrap();
            // A 2 GB sparse hosts file, starting with a real entry.
            let b = scratch.dir.join("b");
            etc(&b, &[("resolv.conf", "nameserver 10.1.2.3\n")]);
            let f = std::fs::File::create(b.join("etc/hosts")).unwrap();
            std::io::Write::write_all(&mut &f, b"10.9.8.7 big.example\n").unwrap();
            f.set_len(2 << 30).unwrap();
            drop(f);

            let ca = Container::start(&a, None);
            let cb = Container::start(&b, None);

            let run = netlens_within(&["snapshot", "--json"], Duration::from_secs(30));
            assert!(run.out.status.success(), "{}", both(&run.out));
            assert!(run.took < Duration::from_secs(20), "took {:?}", run.took);
            assert!(run.max_rss_kib < 256 * 1024, "used {} KiB", run.max_rss_kib);
            let snap: serde_json::Value = serde_json::from_slice(&run.out.stdout).unwrap();
            let da = dns_of(&snap, &ca.name());
            assert!(
                da["resolv_conf"]["error"]
                    .as_str()
                    .unwrap_or("")
                    .contains("FIFO"),
                "{da}"
            );
            assert!(
                da["hosts"]["error"]
                    .as_str()
                    .unwrap_or("")
                    .contains("character device"),
                "{da}"
            );
            assert!(da["nsswitch"]["error"].as_str().is_some(), "{da}");
            let db = dns_of(&snap, &cb.name());
            assert_eq!(db["hosts"]["truncated"], true, "{db}");
            assert_eq!(db["hosts"]["raw"].as_str().unwrap().len(), 1 << 20);
            assert_eq!(
                db["resolv_conf"]["parsed"]["nameservers"][0]["text"],
                "10.1.2.3"
            );
            // The host is still shown in full.
            assert!(dns_of(&snap, "host")["resolv_conf"]["path"].is_string());

            // Text output says the file was cut; doctor and `--ns host` finish too.
            let run = netlens_within(&["snapshot"], Duration::from_secs(30));
            assert!(run.out.status.success(), "{}", both(&run.out));
            let hosts_b = format!("/proc/{}/root/etc/hosts: larger than 1 MiB", cb.pid);
            assert!(both(&run.out).contains(&hosts_b), "{}", both(&run.out));
            for args in [
                &["doctor"][..],
                &["doctor", "--ns", "host"],
                &["snapshot", "--ns", "host"],
            ] {
                let run = netlens_within(args, Duration::from_secs(30));
                assert!(
                    run.max_rss_kib < 256 * 1024,
                    "{args:?} used {} KiB",
                    run.max_rss_kib
                );
            }
        },
    );
}

#[test]
fn fix_ignores_a_planted_temp_file_and_undo_restores() {
    in_world(
        "rootfs_hostile::fix_ignores_a_planted_temp_file_and_undo_restores",
        || {
            let _state = common::plan::private_state();
            let host = tempfile::tempdir().unwrap();
            let victim = host.path().join("authorized_keys");
            std::fs::write(&victim, "ssh-ed25519 AAAA admin\n").unwrap();
            let scratch = Scratch::new();
            let root = scratch.dir.join("c");
            let original = "# container's own\nhosts:   dns\npasswd: files\n";
            etc(
                &root,
                &[
                    ("nsswitch.conf", original),
                    ("resolv.conf", "nameserver 127.0.0.1\n"),
                ],
            );
            // Every name the old code or a careless new one might use.
            for name in [
                "nsswitch.netlens-tmp",
                "nsswitch.conf.netlens-tmp",
                ".nsswitch.conf.tmp",
            ] {
                symlink(&victim, root.join("etc").join(name)).unwrap();
            }
            let conf = root.join("etc/nsswitch.conf");
            std::fs::set_permissions(&conf, std::fs::Permissions::from_mode(0o640)).unwrap();
            std::os::unix::fs::chown(&conf, Some(1234), Some(5678)).unwrap();
            let c = Container::start(&root, None);
            let id = format!("nsswitch-hosts:{}", c.name());
            let run = netlens_within(&["fix", &id, "--yes"], Duration::from_secs(60));
            assert!(run.out.status.success(), "fix {id}: {}", both(&run.out));
            assert_eq!(
                std::fs::read_to_string(&victim).unwrap(),
                "ssh-ed25519 AAAA admin\n",
                "the host file was overwritten"
            );
            let meta = conf.symlink_metadata().unwrap();
            assert!(!meta.file_type().is_symlink());
            use std::os::unix::fs::MetadataExt;
            assert_eq!(
                (meta.mode() & 0o7777, meta.uid(), meta.gid()),
                (0o640, 1234, 5678),
                "owner and mode kept"
            );
            let now = std::fs::read_to_string(&conf).unwrap();
            assert!(now.contains("hosts: files dns"), "{now}");
            for name in [
                "nsswitch.netlens-tmp",
                "nsswitch.conf.netlens-tmp",
                ".nsswitch.conf.tmp",
            ] {
                let p = root.join("etc").join(name);
                assert_eq!(
                    std::fs::read_link(&p).unwrap(),
                    victim,
                    "{name} was touched"
                );
            }
            // No temporary file left behind.
            let left: Vec<String> = std::fs::read_dir(root.join("etc"))
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .filter(|n| n.contains("netlens-") && !n.ends_with("netlens-tmp"))
                .collect();
            assert!(left.is_empty(), "{left:?}");

            let run = netlens_within(&["undo", "--yes"], Duration::from_secs(60));
            assert!(run.out.status.success(), "undo: {}", both(&run.out));
            assert_eq!(std::fs::read_to_string(&conf).unwrap(), original);
            assert_eq!(
                std::fs::read_to_string(&victim).unwrap(),
                "ssh-ed25519 AAAA admin\n"
            );
        },
    );
}

/// A plan file with one WriteFile step.
fn write_plan(dir: &Path, ns: &str, path: &str) -> std::path::PathBuf {
    let plan = serde_json::json!({
        "title": "t",
        "steps": [{"step": "write_file", "ns": ns, "path": path, "content": "evil\n"}],
    });
    let p = dir.join("plan.json");
    std::fs::write(&p, plan.to_string()).unwrap();
    p
}

#[test]
fn write_file_refuses_other_paths_and_stays_in_the_root() {
    in_world(
        "rootfs_hostile::write_file_refuses_other_paths_and_stays_in_the_root",
        || {
            let _state = common::plan::private_state();
            let host = tempfile::tempdir().unwrap();
            let scratch = Scratch::new();
            let root = scratch.dir.join("c");
            etc(&root, &[("hosts", "127.0.0.1 localhost\n")]);
            let c = Container::start(&root, None);
            let x = host.path().join("x");
            std::fs::create_dir(&x).unwrap();
            for path in [
                format!("/proc/{}/root/etc/cron.d/hosts", c.pid),
                format!("{}/resolv.conf", x.display()),
                format!("/proc/{}/root/etc/../etc/hosts", c.pid),
                format!("/proc/{}/root/tmp/hosts", c.pid),
                "/etc/netns/../../tmp/hosts".to_string(),
            ] {
                let plan = write_plan(host.path(), &c.name(), &path);
                let run = netlens_within(
                    &["apply", plan.to_str().unwrap(), "--yes"],
                    Duration::from_secs(30),
                );
                assert_eq!(run.out.status.code(), Some(2), "{path}: {}", both(&run.out));
            }
            assert!(!root.join("etc/cron.d").exists(), "a directory was created");
            assert!(!x.join("resolv.conf").exists());

            // `etc` replaced by a link, to a host directory or one inside the root: refused (the
            // preview's `> /proc/PID/root/etc/hosts` would follow it against the host's root),
            // and nothing is written at either end.
            std::fs::rename(root.join("etc"), root.join("etc.real")).unwrap();
            let plan = write_plan(
                host.path(),
                &c.name(),
                &format!("/proc/{}/root/etc/hosts", c.pid),
            );
            for target in [x.clone(), std::path::PathBuf::from("/etc.real")] {
                let _ = std::fs::remove_file(root.join("etc"));
                symlink(&target, root.join("etc")).unwrap();
                let run = netlens_within(
                    &["apply", plan.to_str().unwrap(), "--yes"],
                    Duration::from_secs(30),
                );
                assert!(!run.out.status.success(), "{}", both(&run.out));
                assert!(
                    both(&run.out).contains("symbolic link"),
                    "{}",
                    both(&run.out)
                );
                assert!(
                    !x.join("hosts").exists(),
                    "wrote through the container's etc link to the host"
                );
                assert_eq!(
                    std::fs::read_to_string(root.join("etc.real/hosts")).unwrap(),
                    "127.0.0.1 localhost\n"
                );
            }
            std::fs::remove_file(root.join("etc")).unwrap();
            std::fs::rename(root.join("etc.real"), root.join("etc")).unwrap();
            let run = netlens_within(
                &["apply", plan.to_str().unwrap(), "--yes"],
                Duration::from_secs(30),
            );
            assert!(run.out.status.success(), "{}", both(&run.out));
            assert_eq!(
                std::fs::read_to_string(root.join("etc/hosts")).unwrap(),
                "evil\n"
            );

            // A file that is itself a link is refused, the link left as it was.
            std::fs::remove_file(root.join("etc/hosts")).unwrap();
            symlink("/srv-hosts", root.join("etc/hosts")).unwrap();
            let plan2 = write_plan(
                host.path(),
                &c.name(),
                &format!("/proc/{}/root/etc/hosts", c.pid),
            );
            let run = netlens_within(
                &["apply", plan2.to_str().unwrap(), "--yes"],
                Duration::from_secs(30),
            );
            assert!(!run.out.status.success(), "{}", both(&run.out));
            assert!(
                both(&run.out).contains("symbolic link"),
                "{}",
                both(&run.out)
            );
            assert!(!root.join("srv-hosts").exists());
        },
    );
}

#[test]
fn bind_mounted_namespace_reads_its_containers_root() {
    in_world(
        "rootfs_hostile::bind_mounted_namespace_reads_its_containers_root",
        || {
            sh(&["ip", "netns", "add", "netns-podman1"]);
            let scratch = Scratch::new();
            let root = scratch.dir.join("c");
            etc(
                &root,
                &[
                    ("resolv.conf", "nameserver 10.89.0.1\n"),
                    ("hosts", "10.89.0.5 web\n"),
                ],
            );
            let c = Container::start(&root, Some(Path::new("/run/netns/netns-podman1")));
            let snap = snapshot_json();
            let dns = dns_of(&snap, "netns-podman1");
            assert_eq!(
                dns["resolv_conf"]["parsed"]["nameservers"][0]["text"], "10.89.0.1",
                "{dns}"
            );
            assert_eq!(
                dns["resolv_conf"]["path"],
                format!("/proc/{}/root/etc/resolv.conf", c.pid)
            );
            // A namespace whose processes share our root keeps the host's files.
            sh(&["ip", "netns", "add", "plain"]);
            let snap = snapshot_json();
            assert_eq!(
                dns_of(&snap, "plain")["resolv_conf"]["path"],
                "/etc/resolv.conf"
            );
            drop(c);
        },
    );
}

#[test]
fn a_root_that_never_answers_blanks_only_itself() {
    in_world(
        "rootfs_hostile::a_root_that_never_answers_blanks_only_itself",
        || {
            use std::os::fd::AsRawFd;
            let scratch = Scratch::new();
            let root = scratch.dir.join("c");
            std::fs::create_dir_all(root.join("etc")).unwrap();
            // A FUSE file system nobody serves: every lookup in it waits for ever (until the
            // /dev/fuse descriptor is closed), as a container's own FUSE mount could.
            let fuse = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open("/dev/fuse")
                .expect("/dev/fuse");
            let etc_c = std::ffi::CString::new(root.join("etc").to_str().unwrap()).unwrap();
            let opts = std::ffi::CString::new(format!(
                "fd={},rootmode=40000,user_id=0,group_id=0,allow_other",
                fuse.as_raw_fd()
            ))
            .unwrap();
            // SAFETY: NUL-terminated strings that outlive the call.
            let r = unsafe {
                libc::mount(
                    c"hung".as_ptr(),
                    etc_c.as_ptr(),
                    c"fuse".as_ptr(),
                    0,
                    opts.as_ptr().cast(),
                )
            };
            assert_eq!(r, 0, "mount fuse: {}", std::io::Error::last_os_error());
            let c = Container::start(&root, None);
            let run = netlens_within(&["snapshot", "--json"], Duration::from_secs(30));
            assert!(run.out.status.success(), "{}", both(&run.out));
            let snap: serde_json::Value = serde_json::from_slice(&run.out.stdout).unwrap();
            let dns = dns_of(&snap, &c.name());
            assert!(
                dns["resolv_conf"]["error"]
                    .as_str()
                    .unwrap_or("")
                    .contains("did not answer"),
                "{dns}"
            );
            assert!(dns_of(&snap, "host")["resolv_conf"]["error"].is_null());

            // A long-running reader (the TUI) asking again and again leaves one thread behind,
            // not one per refresh.
            let tasks = || std::fs::read_dir("/proc/self/task").unwrap().count();
            let key = (
                std::path::PathBuf::from(format!("/proc/{}/root", c.pid)),
                None,
            );
            let keys = [key];
            let first = netlens::dnsconf::read_all(&keys, Duration::from_millis(300));
            assert!(first[0]
                .hosts
                .error
                .as_deref()
                .unwrap_or("")
                .contains("did not answer"));
            let after_first = tasks();
            for _ in 0..5 {
                let again = netlens::dnsconf::read_all(&keys, Duration::from_millis(100));
                assert!(again[0].hosts.error.is_some());
            }
            assert_eq!(tasks(), after_first, "a stuck thread per call");
            drop(c);
            // Closing the descriptor aborts the connection; then nothing waits on it.
            drop(fuse);
            let _ = std::process::Command::new("umount")
                .arg("-l")
                .arg(root.join("etc"))
                .status();
        },
    );
}
