//! The runtimes' state files (real-shaped samples in tests/samples/runtimes) laid out as each
//! runtime lays them out, in a temporary directory; and hostile files in their place.

use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};

use super::{name_all, Naming, Sources};
use crate::model::{NamespaceKind, ProcessRef, Runtime, Workload, WorkloadKind};
use crate::netns::discover::FoundNs;

const SAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/samples/runtimes");
/// containerd: the web pod's sandbox, and its nginx container.
const K8S_SANDBOX: &str = "4c9d3b1f2a6e8d7c5b4a39281706f5e4d3c2b1a09f8e7d6c5b4a392817060f1e";
const K8S_NGINX: &str = "e1f2a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f70";
/// CRI-O: the coredns sandbox.
const CRIO_SANDBOX: &str = "7d3258789e0084aff8a2081814991369df16b4ab6507f771e2737e5ba9bcf003";
/// podman: `c3`, and a CRI-O sandbox in the same list.
const PODMAN_C3: &str = "317be69cc827307f40771e2d8a6b5c4f3e2d1c0b9a8f7e6d5c4b3a2918070605";
const PODMAN_CRIO: &str = "b52f1e3d4c5b6a7988a7b6c5d4e3f2a1011f2e3d4c5b6a7988a7b6c5d4e3f2a1";
/// docker: `c4`, and a dockershim sandbox.
const DOCKER_C4: &str = "44ea6a5f70941b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4";
const DOCKERSHIM: &str = "c63a2b1d0e9f8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b";

fn sample(name: &str) -> Vec<u8> {
    fs::read(Path::new(SAMPLES).join(name)).expect("sample")
}

fn put(path: &Path, bytes: &[u8]) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, bytes).unwrap();
}

/// A node's state directories with every sample in place.
struct Node {
    dir: tempfile::TempDir,
    sources: Sources,
}

impl Node {
    fn new() -> Node {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let sources = Sources {
            containerd: vec![d.join("containerd/k8s.io")],
            storage: vec![d.join("run-storage"), d.join("lib-storage")],
            docker: vec![d.join("docker/containers")],
        };
        let node = Node { dir, sources };
        node.write_all();
        node
    }

    fn write_all(&self) {
        put(
            &self.containerd(K8S_SANDBOX),
            &sample("containerd-sandbox-config.json"),
        );
        put(
            &self.containerd(K8S_NGINX),
            &sample("containerd-container-config.json"),
        );
        put(
            &self.crio(CRIO_SANDBOX),
            &sample("crio-sandbox-config.json"),
        );
        put(&self.podman_list(), &sample("podman-containers.json"));
        // podman's own bundle, where CRI-O keeps its: no `io.kubernetes.cri-o.*` keys.
        let bundle = self.path("lib-storage/vfs-containers").join(PODMAN_C3);
        put(
            &bundle.join("userdata/config.json"),
            br#"{"ociVersion":"1.0.2-dev","annotations":{"io.container.manager":"libpod","org.opencontainers.image.stopSignal":"15"}}"#,
        );
        put(&self.docker(DOCKER_C4), &sample("docker-config.v2.json"));
        put(
            &self.docker(DOCKERSHIM),
            &sample("dockershim-config.v2.json"),
        );
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }
    fn containerd(&self, id: &str) -> PathBuf {
        self.path("containerd/k8s.io").join(id).join("config.json")
    }
    fn crio(&self, id: &str) -> PathBuf {
        self.path("run-storage/overlay-containers")
            .join(id)
            .join("userdata/config.json")
    }
    fn podman_list(&self) -> PathBuf {
        self.path("lib-storage/vfs-containers/containers.json")
    }
    fn docker(&self, id: &str) -> PathBuf {
        self.path("docker/containers")
            .join(id)
            .join("config.v2.json")
    }

    fn identify(&self, id: &str) -> Option<Workload> {
        Naming::new(&self.sources).identify([id])
    }
}

fn pod(runtime: Runtime, ns: &str, name: &str, id: &str) -> Workload {
    Workload {
        kind: WorkloadKind::Pod,
        runtime,
        name: name.into(),
        pod_namespace: Some(ns.into()),
        id: id.into(),
    }
}

fn container(runtime: Runtime, name: &str, id: &str) -> Workload {
    Workload {
        kind: WorkloadKind::Container,
        runtime,
        name: name.into(),
        pod_namespace: None,
        id: id.into(),
    }
}

#[test]
fn containerd_names_the_pod_of_a_sandbox_and_of_its_containers() {
    let node = Node::new();
    let web = pod(
        Runtime::Containerd,
        "default",
        "web-7d4b9c6f8-x2x9q",
        K8S_SANDBOX,
    );
    assert_eq!(node.identify(K8S_SANDBOX), Some(web.clone()));
    // The nginx container's bundle names only its sandbox: the sandbox's names the pod.
    assert_eq!(node.identify(K8S_NGINX), Some(web.clone()));
    assert_eq!(web.display_name(), "default/web-7d4b9c6f8-x2x9q");
}

#[test]
fn crio_names_the_pod_from_the_kubelet_labels_or_its_own_sandbox_name() {
    let node = Node::new();
    let coredns = pod(
        Runtime::CriO,
        "kube-system",
        "coredns-787d4945fb-l85r5",
        CRIO_SANDBOX,
    );
    assert_eq!(node.identify(CRIO_SANDBOX), Some(coredns.clone()));
    // Without the kubelet's labels, CRI-O's `k8s_…_POD-NAME_NAMESPACE_UID_N` name says it.
    let mut spec: serde_json::Value =
        serde_json::from_slice(&sample("crio-sandbox-config.json")).unwrap();
    let a = spec["annotations"].as_object_mut().unwrap();
    a.remove("io.kubernetes.pod.name");
    a.remove("io.kubernetes.pod.namespace");
    put(
        &node.crio(CRIO_SANDBOX),
        &serde_json::to_vec(&spec).unwrap(),
    );
    assert_eq!(node.identify(CRIO_SANDBOX), Some(coredns));
}

#[test]
fn podman_and_docker_name_their_containers() {
    let node = Node::new();
    // podman's bundle sits where CRI-O's do; without CRI-O's keys the list names it.
    assert_eq!(
        node.identify(PODMAN_C3),
        Some(container(Runtime::Podman, "c3", PODMAN_C3))
    );
    assert_eq!(
        node.identify(PODMAN_CRIO),
        Some(pod(Runtime::CriO, "shop", "api-0", PODMAN_CRIO))
    );
    assert_eq!(
        node.identify(DOCKER_C4),
        Some(container(Runtime::Docker, "c4", DOCKER_C4))
    );
    assert_eq!(
        node.identify(DOCKERSHIM),
        Some(pod(Runtime::Docker, "shop", "api-0", DOCKERSHIM))
    );
}

#[test]
fn an_unknown_or_malformed_id_names_nothing() {
    let node = Node::new();
    assert_eq!(node.identify(&"a".repeat(64)), None);
    for bad in ["../../etc", "", "4c9d", "4c9d3b1f2a6e/../x"] {
        assert_eq!(node.identify(bad), None, "{bad}");
    }
}

#[test]
fn name_all_labels_namespaces_by_their_processes_but_not_the_host() {
    let node = Node::new();
    let found = |name: &str, kind, ids: &[&str]| FoundNs {
        name: name.into(),
        kind,
        inode: 1,
        paths: Vec::new(),
        named_paths: Vec::new(),
        processes: ids
            .iter()
            .enumerate()
            .map(|(i, id)| ProcessRef {
                pid: i as u32 + 10,
                comm: "x".into(),
                container_id: Some(id.to_string()),
            })
            .collect(),
        workload: None,
        etc_override: None,
        root: PathBuf::from("/"),
    };
    let mut all = vec![
        found("host", NamespaceKind::Host, &[DOCKER_C4]),
        found(
            "netns-317be69c",
            NamespaceKind::Named,
            &[PODMAN_C3, PODMAN_C3],
        ),
        found(
            "pid:7",
            NamespaceKind::Process,
            &[&"f".repeat(64), K8S_NGINX],
        ),
        found("red", NamespaceKind::Named, &[]),
    ];
    name_all(&mut all, &node.sources);
    let labels: Vec<String> = all.iter().map(|f| f.label()).collect();
    assert_eq!(
        labels,
        ["host", "c3", "default/web-7d4b9c6f8-x2x9q", "red"],
        "{all:#?}"
    );
}

/// Each hostile file, in place of docker's config of `c4`, gives no name and no panic.
#[test]
fn hostile_files_give_no_name() {
    let node = Node::new();
    let target = node.docker(DOCKER_C4);
    let good = String::from_utf8(sample("docker-config.v2.json")).unwrap();
    let mut huge = good.clone().into_bytes();
    // Valid JSON, but past the cap: the reader stops at the cap and gives up.
    huge.resize(super::read::MAX_CONFIG as usize + 10, b' ');
    let nested = "[".repeat(100_000);
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("huge", huge),
        ("binary", (0..=255u8).cycle().take(4096).collect()),
        ("bad JSON", good.as_bytes()[..good.len() / 2].to_vec()),
        ("nested", nested.into_bytes()),
        (
            "escape in name",
            good.replace("\"/c4\"", "\"/c4\\u001b[2J\"").into_bytes(),
        ),
        (
            "newline in name",
            good.replace("\"/c4\"", "\"/c4\\nroot\"").into_bytes(),
        ),
        (
            "slash in name",
            good.replace("\"/c4\"", "\"/c4/../x\"").into_bytes(),
        ),
        ("not a string", good.replace("\"/c4\"", "4").into_bytes()),
        (
            "long name",
            good.replace("\"/c4\"", &format!("\"/{}\"", "c".repeat(300)))
                .into_bytes(),
        ),
    ];
    for (what, bytes) in cases {
        put(&target, &bytes);
        assert_eq!(node.identify(DOCKER_C4), None, "{what}");
    }
    put(&target, good.as_bytes());
    assert!(node.identify(DOCKER_C4).is_some(), "the good file again");
}

/// A FIFO is never opened for reading (it would block for ever), a directory is not a file,
/// and a symlink resolves inside the runtime's directory, never to a file elsewhere.
#[test]
fn special_files_and_links_out_of_the_state_dir_give_no_name() {
    let node = Node::new();
    let target = node.docker(DOCKER_C4);
    fs::remove_file(&target).unwrap();
    nix::unistd::mkfifo(&target, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
    let started = std::time::Instant::now();
    assert_eq!(node.identify(DOCKER_C4), None, "FIFO");
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    fs::remove_file(&target).unwrap();
    fs::create_dir(&target).unwrap();
    assert_eq!(node.identify(DOCKER_C4), None, "directory");
    fs::remove_dir(&target).unwrap();
    // A good file outside the state directory, reached by an absolute and a relative link.
    let outside = node.path("outside/config.v2.json");
    put(&outside, &sample("docker-config.v2.json"));
    for link in [
        outside.clone(),
        PathBuf::from("../../../outside/config.v2.json"),
    ] {
        let _ = fs::remove_file(&target);
        symlink(&link, &target).unwrap();
        assert_eq!(node.identify(DOCKER_C4), None, "link to {}", link.display());
    }
    // A link that stays inside the directory is followed, as the runtime would.
    let _ = fs::remove_file(&target);
    put(
        &node.path("docker/containers/copy.json"),
        &sample("docker-config.v2.json"),
    );
    symlink("../copy.json", &target).unwrap();
    assert!(node.identify(DOCKER_C4).is_some(), "link inside");
}

/// podman's list: a hostile list names nothing, and a bad entry does not hide the good ones.
#[test]
fn a_hostile_podman_list_names_nothing() {
    let node = Node::new();
    let list = node.podman_list();
    for bytes in [
        b"\x00\x01\x02".to_vec(),
        b"{\"not\": \"a list\"}".to_vec(),
        b"[{\"id\": 1}, \"x\", null]".to_vec(),
    ] {
        put(&list, &bytes);
        assert_eq!(node.identify(PODMAN_C3), None);
    }
    let entry = |id: &str, name: &str| format!("{{\"id\":\"{id}\",\"names\":[\"{name}\"]}}");
    let text = format!(
        "[{}, {}, {{\"id\": null}}]",
        entry(&"e".repeat(64), "bad\\u0007bell"),
        entry(PODMAN_C3, "c3")
    );
    put(&list, text.as_bytes());
    assert_eq!(node.identify(&"e".repeat(64)), None);
    assert_eq!(
        node.identify(PODMAN_C3).map(|w| w.name),
        Some("c3".to_string())
    );
}
