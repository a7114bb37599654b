use std::path::PathBuf;

use super::{closest, pick, suggest, LookupError};
use crate::model::{NamespaceKind, ProcessRef, Runtime, Workload, WorkloadKind};
use crate::netns::discover::FoundNs;

fn ns(name: &str, workload: Option<Workload>) -> FoundNs {
    FoundNs {
        name: name.into(),
        kind: NamespaceKind::Named,
        inode: 4026532000 + name.len() as u64,
        paths: Vec::new(),
        named_paths: Vec::new(),
        processes: vec![ProcessRef {
            pid: 4000 + name.len() as u32,
            comm: "sleep".into(),
            container_id: workload.as_ref().map(|w| w.id.clone()),
        }],
        workload,
        etc_override: None,
        root: PathBuf::from("/"),
    }
}

fn w(kind: WorkloadKind, ns: Option<&str>, name: &str, id: &str) -> Option<Workload> {
    Some(Workload {
        kind,
        runtime: Runtime::Podman,
        name: name.into(),
        pod_namespace: ns.map(Into::into),
        id: id.repeat(64 / id.len()),
    })
}

fn node() -> Vec<FoundNs> {
    use WorkloadKind::{Container, Pod};
    vec![
        ns("host", None),
        ns(
            "netns-317be69c-c827-307f-4077-1",
            w(Container, None, "c3", "31"),
        ),
        ns("cni-2b4f6e1a", w(Pod, Some("default"), "web", "4c")),
        ns("cni-9e8d7c6b", w(Pod, Some("shop"), "web", "9e")),
        ns("cni-0a1b2c3d", w(Pod, Some("shop"), "api-0", "0a")),
        ns("red", None),
    ]
}

fn picked(all: &[FoundNs], sel: &str) -> Result<String, LookupError> {
    pick(all, sel).map(|f| f.name.clone())
}

#[test]
fn a_container_or_pod_is_found_by_its_name() {
    let all = node();
    assert_eq!(
        picked(&all, "c3").unwrap(),
        "netns-317be69c-c827-307f-4077-1"
    );
    assert_eq!(picked(&all, "default/web").unwrap(), "cni-2b4f6e1a");
    assert_eq!(picked(&all, "shop/web").unwrap(), "cni-9e8d7c6b");
    // A bare pod name, when only one pod has it.
    assert_eq!(picked(&all, "api-0").unwrap(), "cni-0a1b2c3d");
    // An id prefix of the workload, and the kernel names as before.
    assert_eq!(
        picked(&all, "3131").unwrap(),
        "netns-317be69c-c827-307f-4077-1"
    );
    assert_eq!(picked(&all, "red").unwrap(), "red");
}

#[test]
fn a_bare_name_two_pods_share_is_ambiguous_with_the_candidates() {
    let all = node();
    let err = picked(&all, "web").unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, LookupError::Ambiguous { .. }), "{text}");
    assert!(text.contains("default/web (pod, cni-2b4f6e1a)"), "{text}");
    assert!(text.contains("shop/web (pod, cni-9e8d7c6b)"), "{text}");
}

#[test]
fn a_namespace_name_wins_over_a_workload_spelled_the_same() {
    let mut all = node();
    all.push(ns("c3", None));
    assert_eq!(picked(&all, "c3").unwrap(), "c3");
}

#[test]
fn an_unknown_name_lists_the_closest_few_not_every_namespace() {
    let mut all = node();
    for i in 0..532 {
        all.push(ns(&format!("svc-{i}"), None));
    }
    let text = picked(&all, "c4").unwrap_err().to_string();
    assert!(
        text.starts_with("no namespace \"c4\" (closest: c3"),
        "{text}"
    );
    assert!(text.contains("more"), "{text}");
    assert!(!text.contains("svc-531"), "{text}");
    assert!(text.len() < 300, "{text}");
    let text = picked(&all, "svc-1000").unwrap_err().to_string();
    let list = text.split_once('(').unwrap().1;
    let shown = list.matches("svc-").count();
    assert!((1..=5).contains(&shown), "{text}");
    assert!(list.starts_with("closest: svc-100,"), "{text}");
}

#[test]
fn closest_prefers_containing_names_then_small_edits() {
    let known: Vec<String> = ["web", "web-2", "wbe", "redis", "host", "shop/api-0"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(closest("web", &known), ["web", "web-2", "wbe"]);
    assert_eq!(closest("api", &known), ["shop/api-0"]);
    assert!(closest("zzzzzzzz", &known).is_empty());
    // Nothing close: the first few, and how many more.
    let text = suggest("zzzzzzzz", &known);
    assert_eq!(
        text,
        " (have: web, web-2, wbe, redis, host; … and 1 more: `netlens snapshot` lists them)"
    );
    assert_eq!(suggest("x", &[]), "");
}
