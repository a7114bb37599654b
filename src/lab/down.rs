//! `lab down` as a plan: per namespace of the scenario that exists, in reverse creation order,
//! the `/etc/netns` files its drills wrote removed (`WriteFile` with no content: undo writes
//! them back), each link the scenario made with an end there deleted (`DeleteLink`: undo
//! recreates it — a veth with its peer — with its addresses, master, state and routes), then
//! the namespace itself (`DeleteNs`: undo creates it again with `lo`, its sysctls and its
//! iptables rules). One step per veth pair; ports go before their bridge, because the scenario
//! made the bridge first. A namespace that still holds something else is refused by
//! `DeleteNs`, so the plan changes nothing.

use super::Scenario;
use crate::plan::Step;

/// The steps taking `scenario` down, given the namespaces of it that exist (`up`) and the
/// drill-written files there are, as `(namespace, path)`.
pub(super) fn steps(scenario: &Scenario, up: &[&str], files: &[(String, String)]) -> Vec<Step> {
    let mut steps = Vec::new();
    let mut deleted: Vec<(&str, &str)> = Vec::new();
    for ns in scenario.namespaces().into_iter().rev() {
        for (owner, path) in files.iter().filter(|(owner, _)| owner == ns) {
            steps.push(Step::WriteFile {
                // The file is the host's; a namespace that is gone cannot be named as a step's.
                ns: if up.contains(&ns) {
                    owner.clone()
                } else {
                    "host".into()
                },
                path: path.clone(),
                content: None,
                pid_start: None,
            });
        }
        if !up.contains(&ns) {
            continue;
        }
        for link in links_with_an_end_in(scenario, ns) {
            if !deleted.contains(&link.id) {
                deleted.push(link.id);
                steps.push(Step::DeleteLink {
                    ns: ns.to_string(),
                    name: link.here.to_string(),
                });
            }
        }
        steps.push(Step::DeleteNs {
            name: ns.to_string(),
        });
    }
    steps
}

/// A link the scenario creates, named by the end that is in the namespace asked about.
struct Made<'a> {
    /// The creating step's first end, which names the link (a veth pair) once.
    id: (&'a str, &'a str),
    here: &'a str,
}

/// The veths and bridges the scenario creates with an end in `ns`, last made first.
fn links_with_an_end_in<'a>(scenario: &'a Scenario, ns: &str) -> Vec<Made<'a>> {
    scenario
        .steps
        .iter()
        .rev()
        .filter_map(|step| match step {
            Step::AddVeth {
                ns: a,
                name,
                peer_ns,
                peer,
            } if a == ns || peer_ns == ns => Some(Made {
                id: (a, name),
                here: if a == ns { name } else { peer },
            }),
            Step::AddBridge { ns: a, name } if a == ns => Some(Made {
                id: (a, name),
                here: name,
            }),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::scenario;
    use super::*;

    fn shown(steps: &[Step]) -> Vec<String> {
        steps.iter().map(Step::to_string).collect()
    }

    #[test]
    fn router_down_deletes_each_pair_once_then_each_namespace() {
        let s = scenario("router").unwrap();
        let up = s.namespaces();
        assert_eq!(
            shown(&steps(&s, &up, &[])),
            [
                "delete link eth0 in router-c",
                "delete network namespace router-c",
                "delete link eth0 in router-b",
                "delete network namespace router-b",
                "delete network namespace router-a",
            ]
        );
    }

    #[test]
    fn bridge_ports_go_before_their_bridge() {
        let s = scenario("bridge").unwrap();
        let all = steps(&s, &s.namespaces(), &[]);
        let at = |ns: &str, name: &str| {
            all.iter()
                .position(
                    |st| matches!(st, Step::DeleteLink { ns: n, name: l } if n == ns && l == name),
                )
                .unwrap_or_else(|| panic!("{ns} {name} not deleted: {:?}", shown(&all)))
        };
        assert!(at("bridge-host", "eth0") < at("bridge-host", "v-net-0"));
        // The LAN bridge's ports are the far ends of veths deleted from their own namespaces.
        for ns in ["bridge-host", "bridge-lanhost", "bridge-inet"] {
            assert!(at(ns, "eth0") < at("bridge-lan", "lan0"));
        }
        // Each veth pair once: red's is deleted from red, never again from the host.
        let deletes = all
            .iter()
            .filter(|s| matches!(s, Step::DeleteLink { .. }))
            .count();
        assert_eq!(deletes, 5 + 2, "{:?}", shown(&all));
        crate::plan::validate::validate_offline(&crate::plan::Plan::new("t", all)).unwrap();
    }

    #[test]
    fn only_what_exists_and_the_drills_files() {
        let s = scenario("router").unwrap();
        assert!(steps(&s, &[], &[]).is_empty());
        let files = [
            (
                "router-b".to_string(),
                "/etc/netns/router-b/resolv.conf".to_string(),
            ),
            (
                "router-c".to_string(),
                "/etc/netns/router-c/resolv.conf".to_string(),
            ),
        ];
        let only_b = steps(&s, &["router-b"], &files);
        assert_eq!(
            shown(&only_b),
            [
                "remove /etc/netns/router-c/resolv.conf for host",
                "remove /etc/netns/router-b/resolv.conf for router-b",
                "delete link eth1 in router-b",
                "delete link eth0 in router-b",
                "delete network namespace router-b",
            ]
        );
    }
}
