//! The resolver-configuration rules against glibc and a real dnsmasq: ndots-amplification,
//! search-too-long, stub-resolver-missing.

use crate::common::rules::*;
use crate::common::world::{in_world, private_etc_netns, sh};

/// Namespace `dns` with dnsmasq on 10.78.0.53 and client namespace `app` on its segment,
/// resolving with `resolv` (written to /etc/netns/app/).
fn dns_pair(dir: &std::path::Path, resolv: &str, zones: &[&str]) -> Guard {
    private_etc_netns(&["app", "dns"]);
    netns("dns");
    netns("app");
    veth("app", "eth0", "dns", "eth0");
    addr("dns", "10.78.0.53/24", "eth0");
    addr("app", "10.78.0.10/24", "eth0");
    netns_file("app", "nsswitch.conf", "hosts: files dns\n");
    netns_file("app", "hosts", "127.0.0.1 localhost\n");
    netns_file("app", "resolv.conf", resolv);
    dnsmasq("dns", "10.78.0.53", &dir.join("q.log"), zones)
}

/// Search-domain queries dnsmasq logged for `name` (`NAME.something`), and whether the name
/// itself was asked, once `want` queries are logged (or a second has passed).
fn searched(log: &std::path::Path, name: &str, want: usize) -> (usize, bool) {
    let q = logged_queries(log, want);
    let prefix = format!("{name}.");
    let expanded = q.iter().filter(|l| l.contains(&prefix)).count();
    let bare = q.iter().any(|l| l.ends_with(&format!(" {name}")));
    (expanded, bare)
}

#[test]
fn ndots_amplification_counted_in_real_queries() {
    in_world(
        "doctor_rules::dns::ndots_amplification_counted_in_real_queries",
        || {
            let dir = tempfile::tempdir().unwrap();
            let zones = [
                "--local=/rules.zz/",
                "--address=/ext.example/10.78.0.80",
                "--local=/example/",
            ];
            // Control: ndots:1 sends a name with a dot straight to its absolute query.
            let base = "search a.rules.zz b.rules.zz c.rules.zz\nnameserver 10.78.0.53\n";
            let _dns = dns_pair(
                dir.path(),
                &format!("{base}options ndots:1 timeout:1 attempts:1\n"),
                &zones,
            );
            assert_eq!(getent_v4("ext.example").as_deref(), Some("10.78.0.80"));
            assert_eq!(
                searched(&dir.path().join("q.log"), "ext.example", 1),
                (0, true)
            );
            expect_clean_of("ndots-amplification");

            // ndots:5: every search domain first, each query wasted.
            std::fs::write(dir.path().join("q.log"), "").unwrap();
            netns_file(
                "app",
                "resolv.conf",
                &format!("{base}options ndots:5 timeout:1 attempts:1\n"),
            );
            assert_eq!(getent_v4("ext.example").as_deref(), Some("10.78.0.80"));
            assert_eq!(
                searched(&dir.path().join("q.log"), "ext.example", 4),
                (3, true)
            );
            expect_finding(
                "ndots-amplification",
                "info",
                "app",
                ("file", "/etc/netns/app/resolv.conf"),
            );
        },
    );
}

/// The first IPv4 address glibc's getaddrinfo gives for `name` in namespace `app` (A queries
/// only, so each name is one logged query).
fn getent_v4(name: &str) -> Option<String> {
    let out =
        crate::common::world::try_sh(&["ip", "netns", "exec", "app", "getent", "ahostsv4", name]);
    out.status
        .success()
        .then(|| {
            String::from_utf8_lossy(&out.stdout)
                .split_whitespace()
                .next()
                .map(str::to_string)
        })
        .flatten()
}

#[test]
fn search_too_long_found_and_six_domains_are_not() {
    in_world(
        "doctor_rules::dns::search_too_long_found_and_six_domains_are_not",
        || {
            let dir = tempfile::tempdir().unwrap();
            let deep = format!(
                "--host-record=deep.{}.long4.rules.zz,10.78.0.78",
                "l".repeat(62)
            );
            let zones = [
                "--local=/rules.zz/",
                "--host-record=only7.d7.rules.zz,10.78.0.77",
                &deep,
            ];
            let six: Vec<String> = (1..=6).map(|i| format!("d{i}.rules.zz")).collect();
            let resolv = |domains: &[String]| {
                format!(
                    "search {}\nnameserver 10.78.0.53\noptions timeout:1 attempts:1\n",
                    domains.join(" ")
                )
            };
            // Control: six domains, the most every resolver keeps; only7 is not among them.
            let _dns = dns_pair(dir.path(), &resolv(&six), &zones);
            assert_eq!(getent_v4("only7"), None, "only7 is in the 7th domain");
            expect_clean_of("search-too-long");

            // Seven: this glibc (2.26+) walks all seven — the queries show it — while older glibc
            // keeps six and never finds only7: the same file resolves differently by image.
            let mut seven = six.clone();
            seven.push("d7.rules.zz".into());
            std::fs::write(dir.path().join("q.log"), "").unwrap();
            netns_file("app", "resolv.conf", &resolv(&seven));
            assert_eq!(getent_v4("only7").as_deref(), Some("10.78.0.77"));
            let (expanded, _) = searched(&dir.path().join("q.log"), "only7", 7);
            assert_eq!(expanded, 7, "one query per search domain up to the 7th");
            expect_finding(
                "search-too-long",
                "warning",
                "app",
                ("file", "/etc/netns/app/resolv.conf"),
            );

            // Four domains on a line of 255+ characters: musl ignores the whole line, glibc 2.26+
            // still searches it (the name in the 4th long domain resolves here).
            let label = "l".repeat(62);
            let long: Vec<String> = (1..=4)
                .map(|i| format!("{label}.long{i}.rules.zz"))
                .collect();
            let text = resolv(&long);
            assert!(text.lines().next().unwrap().len() >= 255, "{text}");
            netns_file("app", "resolv.conf", &text);
            assert_eq!(getent_v4("deep").as_deref(), Some("10.78.0.78"));
            expect_finding(
                "search-too-long",
                "warning",
                "app",
                ("file", "/etc/netns/app/resolv.conf"),
            );
        },
    );
}

#[test]
fn stub_resolver_missing_refuses_lookups_until_one_listens() {
    in_world(
        "doctor_rules::dns::stub_resolver_missing_refuses_lookups_until_one_listens",
        || {
            let dir = tempfile::tempdir().unwrap();
            private_etc_netns(&["app"]);
            netns("app");
            netns_file("app", "nsswitch.conf", "hosts: files dns\n");
            netns_file("app", "hosts", "127.0.0.1 localhost\n");
            netns_file(
                "app",
                "resolv.conf",
                "nameserver 127.0.0.53\noptions timeout:3 attempts:1\n",
            );
            let started = std::time::Instant::now();
            assert_eq!(getent_v4("web.rules.zz"), None, "nothing on 127.0.0.53");
            // Refused at once (ICMP port unreachable on loopback), not a 3 s timeout.
            assert!(
                started.elapsed().as_millis() < 2500,
                "{:?}",
                started.elapsed()
            );
            expect_finding(
                "stub-resolver-missing",
                "warning",
                "app",
                ("file", "/etc/netns/app/resolv.conf"),
            );

            // Control: a stub listening there answers, and the rule is quiet.
            addr("app", "127.0.0.53/8", "lo");
            let _stub = dnsmasq(
                "app",
                "127.0.0.53",
                &dir.path().join("q.log"),
                &["--address=/web.rules.zz/10.78.0.5"],
            );
            assert_eq!(getent_v4("web.rules.zz").as_deref(), Some("10.78.0.5"));
            expect_clean_of("stub-resolver-missing");
        },
    );
}

#[test]
fn stub_resolver_missing_is_info_where_the_file_is_inherited() {
    in_world(
        "doctor_rules::dns::stub_resolver_missing_is_info_where_the_file_is_inherited",
        || {
            let dir = tempfile::tempdir().unwrap();
            // The world's /etc is an overlay on its /run: these files are the world's. Remove
            // first, so a symlink (to systemd-resolved's file) is replaced, not followed.
            private_etc_netns(&[]);
            for f in ["/etc/resolv.conf", "/etc/nsswitch.conf"] {
                let _ = std::fs::remove_file(f);
            }
            std::fs::write(
                "/etc/resolv.conf",
                "nameserver 127.0.0.53\noptions timeout:3 attempts:1\n",
            )
            .unwrap();
            std::fs::write("/etc/nsswitch.conf", "hosts: files dns\n").unwrap();
            netns("app");
            // A stub on the host's loopback answers the host ...
            sh(&["ip", "addr", "add", "127.0.0.53/8", "dev", "lo"]);
            let _stub = dnsmasq(
                HOST,
                "127.0.0.53",
                &dir.path().join("q.log"),
                &["--address=/web.rules.zz/10.78.0.5"],
            );
            let out = sh(&["getent", "ahostsv4", "web.rules.zz"]);
            assert!(out.starts_with("10.78.0.5"), "{out}");
            // ... but not `app`, which reads the same file and has a loopback of its own.
            assert_eq!(
                getent_v4("web.rules.zz"),
                None,
                "app reaches the host's stub"
            );
            let (code, findings) = doctor();
            let found = of_rule(&findings, "stub-resolver-missing");
            assert_eq!(found.len(), 1, "{findings:#?}");
            assert_eq!(found[0]["namespace"], "app", "{:#}", found[0]);
            assert_eq!(found[0]["severity"], "info", "{:#}", found[0]);
            let others = unrelated(&findings, "stub-resolver-missing");
            assert!(others.is_empty(), "{others:?}: {findings:#?}");
            assert_eq!(code, 0, "information only");
        },
    );
}
