//! The resolver and reader, both ways (the kernel's openat2 and the hand walk), on roots
//! built in temporary directories: links out of the root in every spelling must stay in it.

use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};

use proptest::prelude::*;

use super::open::{resolve_in_root, walk, Resolver, Root};
use super::read::read_regular;
use super::write::{check_write, parse_target, Place};

const BOTH: [Resolver; 2] = [Resolver::Kernel, Resolver::Walk];

/// A root with `etc/`, and beside it (outside) a `secret` file; returns (guard, root, secret).
fn world() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    std::fs::create_dir_all(root.join("etc")).unwrap();
    let secret = dir.path().join("secret");
    std::fs::write(&secret, "HOST SECRET\n").unwrap();
    (dir, root, secret)
}

fn read(root: &Path, path: &str, how: Resolver) -> Result<String, String> {
    let r = Root::open(root).unwrap();
    read_regular(&r, Path::new(path), 1 << 20, how)
        .map(|o| String::from_utf8(o.bytes).unwrap())
        .map_err(|e| e.to_string())
}

#[test]
fn absolute_relative_and_intermediate_links_stay_inside() {
    let (_g, root, secret) = world();
    let up = "../".repeat(30);
    let rel = secret.to_str().unwrap().trim_start_matches('/');
    symlink(&secret, root.join("etc/abs")).unwrap();
    symlink(format!("{up}{rel}"), root.join("etc/rel")).unwrap();
    symlink(secret.parent().unwrap(), root.join("hostdir")).unwrap();
    std::fs::write(root.join("etc/ok"), "inside\n").unwrap();
    for how in BOTH {
        for p in [
            "etc/abs",
            "etc/rel",
            "/hostdir/secret",
            "hostdir/../../secret",
            "../secret",
            "/../../secret",
        ] {
            let got = read(&root, p, how);
            assert!(
                !got.as_deref().unwrap_or("").contains("SECRET"),
                "{how:?} {p}: {got:?}"
            );
        }
        assert_eq!(read(&root, "etc/ok", how).unwrap(), "inside\n");
        assert_eq!(read(&root, "/etc/../etc/./ok", how).unwrap(), "inside\n");
    }
}

#[test]
fn links_resolve_against_the_root_and_show_in_root_paths() {
    let (_g, root, _) = world();
    std::fs::create_dir_all(root.join("run/resolve")).unwrap();
    std::fs::write(
        root.join("run/resolve/stub.conf"),
        "nameserver 10.96.0.10\n",
    )
    .unwrap();
    symlink("/run/resolve/stub.conf", root.join("etc/resolv.conf")).unwrap();
    symlink("../run/resolve/stub.conf", root.join("etc/rel.conf")).unwrap();
    symlink("/run", root.join("etc/runlink")).unwrap();
    // A link in a middle directory, then `..` from it: `..` is the link target's parent.
    symlink("/run/resolve", root.join("etc/dir")).unwrap();
    for how in BOTH {
        assert_eq!(
            read(&root, "/etc/resolv.conf", how).unwrap(),
            "nameserver 10.96.0.10\n"
        );
        assert_eq!(
            read(&root, "etc/rel.conf", how).unwrap(),
            "nameserver 10.96.0.10\n"
        );
        assert_eq!(
            read(&root, "etc/runlink/resolve/stub.conf", how).unwrap(),
            "nameserver 10.96.0.10\n"
        );
        assert_eq!(
            read(&root, "etc/dir/../resolve/stub.conf", how).unwrap(),
            "nameserver 10.96.0.10\n"
        );
    }
    let r = Root::open(&root).unwrap();
    let shown = |p: &str| resolve_in_root(&r, Path::new(p)).unwrap();
    assert_eq!(
        shown("/etc/resolv.conf"),
        Path::new("/run/resolve/stub.conf")
    );
    assert_eq!(shown("etc/rel.conf"), Path::new("/run/resolve/stub.conf"));
    assert_eq!(
        r.display(&shown("etc/rel.conf")),
        root.join("run/resolve/stub.conf").display().to_string()
    );
    // A dangling link still shows where it points, inside the root.
    symlink("/nowhere/../gone/x", root.join("etc/dangling")).unwrap();
    assert_eq!(shown("etc/dangling"), Path::new("/gone/x"));
    assert_eq!(
        walk(&r, Path::new("etc/dangling"), nix::fcntl::OFlag::O_PATH)
            .unwrap_err()
            .kind(),
        std::io::ErrorKind::NotFound
    );
}

#[test]
fn loops_fifos_devices_and_directories_are_refused_quickly() {
    let (_g, root, _) = world();
    symlink("loop2", root.join("etc/loop1")).unwrap();
    symlink("loop1", root.join("etc/loop2")).unwrap();
    symlink("self/x", root.join("etc/self")).unwrap();
    nix::unistd::mkfifo(
        &root.join("etc/fifo"),
        nix::sys::stat::Mode::from_bits_truncate(0o644),
    )
    .unwrap();
    symlink("/dev/null", root.join("etc/null")).unwrap();
    std::fs::create_dir_all(root.join("dev")).unwrap();
    // The host's /dev/null, reached through a link out of the root, must not be.
    symlink("/dev/null", root.join("dev/null")).unwrap();
    let start = std::time::Instant::now();
    for how in BOTH {
        for (p, why) in [
            ("etc/loop1", "symbolic links"),
            ("etc/self", "symbolic links"),
            ("etc/fifo", "FIFO"),
            ("etc", "directory"),
        ] {
            let e = read(&root, p, how).unwrap_err();
            assert!(e.contains(why), "{how:?} {p}: {e}");
        }
        assert!(read(&root, "etc/null", how).is_err());
    }
    assert!(start.elapsed() < std::time::Duration::from_secs(2));
}

#[test]
fn big_files_are_cut_at_the_cap() {
    let (_g, root, _) = world();
    let f = std::fs::File::create(root.join("etc/hosts")).unwrap();
    f.set_len(64 << 20).unwrap();
    for how in BOTH {
        let r = Root::open(&root).unwrap();
        let out = read_regular(&r, Path::new("etc/hosts"), 1000, how).unwrap();
        assert!(out.truncated);
        assert_eq!(out.bytes.len(), 1000);
    }
    std::fs::write(root.join("etc/small"), "x").unwrap();
    let r = Root::open(&root).unwrap();
    let out = read_regular(&r, Path::new("etc/small"), 1, Resolver::Walk).unwrap();
    assert!(!out.truncated);
}

#[test]
fn write_targets_have_three_shapes() {
    for ok in [
        "/etc/hosts",
        "/etc/resolv.conf",
        "/etc/netns/red/nsswitch.conf",
        "/proc/123/root/etc/hosts",
    ] {
        assert!(parse_target(ok).is_ok(), "{ok}");
    }
    assert_eq!(
        parse_target("/proc/7/root/etc/hosts").unwrap().place,
        Place::Proc(7)
    );
    assert_eq!(
        parse_target("/etc/netns/red/hosts").unwrap().place,
        Place::Netns("red".into())
    );
    for bad in [
        "/proc/123/root/etc/cron.d/hosts",
        "/tmp/x/resolv.conf",
        "/etc/cron.d/hosts",
        "/etc/netns/../hosts",
        "/etc/netns/./hosts",
        "/etc/netns/a/b/hosts",
        "/etc/netns//hosts",
        "/proc/self/root/etc/hosts",
        "/proc/0123/root/etc/hosts",
        "/proc/0/root/etc/hosts",
        "/proc/1/root/etc/../etc/hosts",
        "/proc/1/root//etc/hosts",
        "//etc/hosts",
        "/etc/hosts/",
        "/etc/shadow",
        "etc/hosts",
        "/etc/netns/red\u{1b}/hosts",
        "",
    ] {
        assert!(parse_target(bad).is_err(), "{bad:?} accepted");
    }
    assert!(check_write("/etc/hosts", Some("a\0b")).is_err());
    assert!(check_write("/etc/hosts", Some(&"x".repeat((1 << 20) + 1))).is_err());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// A root full of random links (absolute, relative, `..`, loops) never yields the file
    /// outside it, whichever way it is resolved, and both ways agree on what they read.
    #[test]
    fn random_links_never_escape(
        links in proptest::collection::vec(
            (0usize..4, proptest::collection::vec(
                prop_oneof![Just(".."), Just("."), Just("a"), Just("b"), Just("secret"), Just("etc"), Just("")],
                0..8,
            ), any::<bool>()),
            1..10,
        ),
        query in proptest::collection::vec(prop_oneof![Just(".."), Just("a"), Just("b"), Just("l0"), Just("l1"), Just("l2"), Just("l3"), Just("secret")], 1..6),
    ) {
        let (_g, root, _) = world();
        std::fs::create_dir_all(root.join("a/b")).unwrap();
        std::fs::write(root.join("a/inside"), "inside\n").unwrap();
        for (i, (slot, parts, absolute)) in links.iter().enumerate() {
            let dir = if i % 2 == 0 { root.clone() } else { root.join("a") };
            let text = format!("{}{}", if *absolute { "/" } else { "" }, parts.join("/"));
            let _ = symlink(&text, dir.join(format!("l{slot}")));
        }
        let q = query.join("/");
        let k = read(&root, &q, Resolver::Kernel);
        let w = read(&root, &q, Resolver::Walk);
        prop_assert!(!k.as_deref().unwrap_or("").contains("SECRET"), "kernel read {q}");
        prop_assert!(!w.as_deref().unwrap_or("").contains("SECRET"), "walk read {q}");
        prop_assert_eq!(k.is_ok(), w.is_ok(), "{}: {:?} vs {:?}", q, k, w);
    }
}

proptest! {
    /// Whatever the text, a path is a write target exactly when it is one of the three shapes
    /// rebuilt from its parts (no `..`, no doubled or trailing `/`, no other file).
    #[test]
    fn write_targets_are_exactly_the_three_shapes(
        path in prop_oneof![
            "\\PC{0,60}",
            "/(etc|proc|tmp|run)(/[a-z0-9.]{0,12}){0,5}",
            "/proc/[0-9]{1,6}/root/etc/(hosts|resolv\\.conf|nsswitch\\.conf|shadow|\\.\\.)",
            "/etc/netns/[a-z.\\x1b]{0,4}/(hosts|resolv\\.conf|x)",
        ]
    ) {
        if let Ok(t) = parse_target(&path) {
            let rebuilt = match &t.place {
                Place::Host => format!("/etc/{}", t.name),
                Place::Netns(ns) => format!("/etc/netns/{ns}/{}", t.name),
                Place::Proc(pid) => format!("/proc/{pid}/root/etc/{}", t.name),
            };
            prop_assert_eq!(&rebuilt, &path);
            prop_assert!(!path.contains("/../") && !path.contains("/./") && !path.contains("//"));
            if let Place::Netns(ns) = &t.place {
                prop_assert!(ns != "." && ns != ".." && !ns.chars().any(char::is_control));
            }
        }
    }
}

#[test]
fn dns_files_read_the_same_both_ways() {
    let (_g, root, secret) = world();
    std::fs::create_dir_all(root.join("run")).unwrap();
    std::fs::write(root.join("run/stub"), "nameserver 10.96.0.10\n").unwrap();
    symlink("../run/stub", root.join("etc/resolv.conf")).unwrap();
    symlink(&secret, root.join("etc/hosts")).unwrap();
    for how in BOTH {
        let files = crate::dnsconf::read_dns_files_with(&root, None, how);
        assert_eq!(
            files.resolv_conf.path,
            root.join("run/stub").display().to_string()
        );
        assert_eq!(
            files.resolv_conf.raw.as_deref(),
            Some("nameserver 10.96.0.10\n")
        );
        assert_eq!(files.hosts.error.as_deref(), Some("not found"), "{how:?}");
        assert_eq!(
            files.hosts.path,
            format!("{}{}", root.display(), secret.display())
        );
    }
}
