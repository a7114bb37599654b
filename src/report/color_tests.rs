use super::*;

const ESC: char = '\u{1b}';

fn plain(s: &str) -> String {
    // Drops every `ESC [ … m`.
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == ESC {
            for d in chars.by_ref() {
                if d == 'm' {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[test]
fn painting_changes_only_colour() {
    let text = "== errors (1)\nforwarding is off in r [forwarding-off:r]\n  fix: turn it on\n    1. set ip_forward\n      $ ip netns exec r sysctl -w net.ipv4.ip_forward=1\n\ndoctor: 1 error, 0 warnings, 0 information in 2 namespaces\n";
    let p = paint_report(Kind::Doctor, text);
    assert_ne!(p, text);
    assert_eq!(plain(&p), text);
}

#[test]
fn doctor_severities_have_their_colours() {
    let text = "== errors (1)\ntitle one [a:b]\n  why\n\n== warnings (1)\ntitle two [c:d]\n";
    let p = paint_report(Kind::Doctor, text);
    let red = RED.render().to_string();
    let yellow = YELLOW.render().to_string();
    assert!(p.contains(&format!("{red}title one [a:b]")), "{p:?}");
    assert!(p.contains(&format!("{yellow}title two [c:d]")), "{p:?}");
    // Explanations stay plain.
    assert!(p.contains("\n  why\n"), "{p:?}");
}

#[test]
fn link_state_is_coloured_in_its_column_only() {
    let l = "    2   eth0            veth      DOWN     mtu 1500  aa:bb:cc:dd:ee:ff";
    let p = paint_report(Kind::Snapshot, l);
    assert!(
        p.contains(&format!("{}DOWN{}", RED.render(), RED.render_reset())),
        "{p:?}"
    );
    assert_eq!(plain(&p), l);
    let up = paint_report(
        Kind::Snapshot,
        "    1   lo              loopback  UP       mtu 65536",
    );
    assert!(up.contains(&format!("{}UP", GREEN.render())), "{up:?}");
    // A name that says DOWN is not a state.
    let named = "    3   DOWN            veth      UP       mtu 1500";
    let p = paint_report(Kind::Snapshot, named);
    assert!(p.starts_with("    3   DOWN "), "{p:?}");
}

#[test]
fn verdicts_are_green_or_red() {
    let p = paint_report(Kind::Path, "  ✓ delivered in b\nthe path delivers\n");
    assert!(p.starts_with(&GREEN.render().to_string()), "{p:?}");
    let p = paint_report(
        Kind::Path,
        "  ✗ stops in r: ip_forward=0\nthe path is broken\n",
    );
    assert!(p.starts_with(&RED.render().to_string()), "{p:?}");
    let p = paint_report(Kind::Trace, "no reply: lost after eth0\n");
    assert!(p.starts_with(&RED.render().to_string()), "{p:?}");
}

#[test]
fn ports_listen_column() {
    let row = format!(
        "{:<12} {:<5} {:<24} {:<6} {:<18} {:<22} {}",
        "10250", "tcp", "kubelet", "no", "-", "-", "accept"
    );
    let p = paint_report(Kind::Ports, &row);
    assert!(p.contains(&format!("{}no    ", RED.render())), "{p:?}");
    assert_eq!(plain(&p), row);
}

#[test]
fn off_by_default() {
    assert!(!enabled());
    assert_eq!(
        paint_if_enabled(Kind::Doctor, "== errors (1)\n"),
        "== errors (1)\n"
    );
}
