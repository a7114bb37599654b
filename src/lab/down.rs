//! `lab down` as a plan, from the scenario and what exists of it: the `/etc/netns` files its
//! drills wrote removed (`WriteFile` with no content: undo writes them back); its bridges
//! deleted (`DeleteLink`: undo recreates each and puts its ports back on); then per namespace,
//! in reverse creation order, each veth pair with an end there deleted once (undo recreates
//! both ends with their addresses, state and routes) and the namespace itself (`DeleteNs`:
//! undo creates it again with `lo`, its sysctls and its iptables rules). A namespace that
//! still holds something else is refused by `DeleteNs`, so the plan changes nothing.
//!
//! Bridges go before their ports: a bridge left without ports takes the all-zero MAC address,
//! which no bridge can be created with, so undo could not recreate it.

use super::Scenario;
use crate::plan::Step;

/// The steps taking `scenario` down, given the namespaces of it that exist (`up`) and the
/// drill-written files there are, as `(namespace, path)`.
pub(super) fn steps(scenario: &Scenario, up: &[&str], files: &[(String, String)]) -> Vec<Step> {
    let namespaces: Vec<&str> = scenario.namespaces().into_iter().rev().collect();
    let mut steps: Vec<Step> = files
        .iter()
        .map(|(ns, path)| Step::WriteFile {
            // The file is the host's; a namespace that is gone cannot be named as a step's.
            ns: if up.contains(&ns.as_str()) {
                ns.clone()
            } else {
                "host".into()
            },
            path: path.clone(),
            content: None,
            pid_start: None,
        })
        .collect();
    steps.extend(scenario.steps.iter().rev().filter_map(|step| match step {
        Step::AddBridge { ns, name } if up.contains(&ns.as_str()) => Some(Step::DeleteLink {
            ns: ns.clone(),
            name: name.clone(),
        }),
        _ => None,
    }));
    let mut deleted: Vec<(&str, &str)> = Vec::new();
    for ns in namespaces.into_iter().filter(|ns| up.contains(ns)) {
        for (id, here) in veths_with_an_end_in(scenario, ns) {
            if !deleted.contains(&id) {
                deleted.push(id);
                steps.push(Step::DeleteLink {
                    ns: ns.to_string(),
                    name: here.to_string(),
                });
            }
        }
        steps.push(Step::DeleteNs {
            name: ns.to_string(),
        });
    }
    steps
}

/// The veth pairs the scenario creates with an end in `ns`, last made first: each as its
/// creating step's first end (which names the pair once) and the name of the end in `ns`.
fn veths_with_an_end_in<'a>(
    scenario: &'a Scenario,
    ns: &str,
) -> Vec<((&'a str, &'a str), &'a str)> {
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
            } if a == ns || peer_ns == ns => Some((
                (a.as_str(), name.as_str()),
                if a == ns { name } else { peer }.as_str(),
            )),
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
    fn bridges_go_first_and_each_veth_pair_once() {
        let s = scenario("bridge").unwrap();
        let all = steps(&s, &s.namespaces(), &[]);
        let deletes: Vec<&Step> = all
            .iter()
            .filter(|s| matches!(s, Step::DeleteLink { .. }))
            .collect();
        assert_eq!(
            shown(&all[..2]),
            [
                "delete link v-net-0 in bridge-host",
                "delete link lan0 in bridge-lan"
            ]
        );
        // Five veth pairs, each once: red's is deleted from red, never again from the host.
        assert_eq!(deletes.len(), 2 + 5, "{:?}", shown(&all));
        assert_eq!(all.len(), 2 + 5 + s.namespaces().len());
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
                "remove /etc/netns/router-b/resolv.conf for router-b",
                "remove /etc/netns/router-c/resolv.conf for host",
                "delete link eth1 in router-b",
                "delete link eth0 in router-b",
                "delete network namespace router-b",
            ]
        );
    }
}
