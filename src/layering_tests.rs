//! The layers of docs/ARCHITECTURE.md, checked: a module imports only modules of its own layer
//! or below. `cargo` cannot enforce this (one crate), so this test reads the sources. Test code
//! (`*_tests.rs`, `tests.rs`, and everything after a `#[cfg(test)]`) may reach anywhere.

use std::fs;
use std::path::Path;

/// Each top-level module's layer, as the table in docs/ARCHITECTURE.md gives them.
const LAYERS: &[(&str, u8)] = &[
    ("model", 0),
    ("text", 0),
    ("env", 0),
    ("netns", 1),
    ("netlink", 1),
    ("rootfs", 1),
    ("saved", 1),
    ("collect", 2),
    ("firewall", 2),
    ("dnsconf", 2),
    ("cni", 2),
    ("diagnose", 3),
    ("trace", 3),
    ("k8s", 3),
    ("dns", 3),
    ("plan", 4),
    ("lab", 5),
    ("report", 5),
    ("cli", 5),
    ("ui", 5),
];

/// The plan engine's pure part, which reasoning may use: a fix is a list of steps, checked by
/// simulating them on a copy of the snapshot. Nothing here runs anything.
const PURE_PLAN: &[&str] = &[
    "Step",
    "RouteSpec",
    "NftAccept",
    "RULE_TAG",
    "simulate",
    "Simulated",
    "nft_rule",
];

fn layer(module: &str) -> Option<u8> {
    LAYERS.iter().find(|(m, _)| *m == module).map(|(_, l)| *l)
}

/// `crate::X…` paths in one line of code, comments removed: (X, what follows `X::`).
fn crate_paths(line: &str) -> Vec<(String, String)> {
    let code = line.split("//").next().unwrap_or("");
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(i) = rest.find("crate::") {
        rest = &rest[i + "crate::".len()..];
        let module: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        let after = rest[module.len()..].trim_start_matches("::");
        out.push((module, after.to_string()));
    }
    out
}

/// Whether every item named after `plan::` belongs to the pure part: `Step`, or
/// `{simulate, Simulated, Step}`, or `simulate::nft::apply_ns`.
fn pure_plan_use(after: &str) -> bool {
    let first_ident = |s: &str| -> String {
        s.trim()
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    match after.strip_prefix('{') {
        Some(list) => {
            let list = list.split('}').next().unwrap_or("");
            list.split(',')
                .map(first_ident)
                .filter(|n| !n.is_empty())
                .all(|n| PURE_PLAN.contains(&n.as_str()))
        }
        None => PURE_PLAN.contains(&first_ident(after).as_str()),
    }
}

/// Every non-test source file under `src` (`*_tests.rs` and `tests.rs` left out) as its path
/// relative to `src` and its lines before the first `#[cfg(test)]`, numbered from 1: what
/// both checks below read.
fn non_test_sources(src: &Path) -> Vec<(String, Vec<(usize, String)>)> {
    let mut files = Vec::new();
    let mut stack = vec![src.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).expect("read src") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let name = path.strip_prefix(src).expect("under src");
            let name = name.to_string_lossy().into_owned();
            if name.ends_with("tests.rs") || !name.ends_with(".rs") {
                continue;
            }
            let text = fs::read_to_string(&path).expect("read source");
            let lines = text
                .lines()
                .take_while(|l| !l.trim_start().starts_with("#[cfg(test)]"))
                .enumerate()
                .map(|(i, l)| (i + 1, l.to_string()))
                .collect();
            files.push((name, lines));
        }
    }
    files
}

/// Upward imports in the non-test code of `src/`: "file: crate::X (layer a → b)".
fn upward_imports(src: &Path) -> Vec<String> {
    let mut found = Vec::new();
    for (name, lines) in non_test_sources(src) {
        let top = name.split(['/', '.']).next().unwrap_or("");
        let Some(own) = layer(top) else { continue };
        for (_, line) in &lines {
            for (module, after) in crate_paths(line) {
                let Some(theirs) = layer(&module) else {
                    continue;
                };
                let allowed =
                    theirs <= own || (module == "plan" && own == 3 && pure_plan_use(&after));
                if !allowed {
                    found.push(format!(
                        "{name}: crate::{module}::{after} (layer {own} → {theirs})"
                    ));
                }
            }
        }
    }
    found.sort();
    found
}

#[test]
fn no_module_imports_a_layer_above_its_own() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let up = upward_imports(&src);
    assert!(
        up.is_empty(),
        "imports from a higher layer:\n{}",
        up.join("\n")
    );
}

#[test]
fn an_upward_import_is_caught() {
    let dir = tempfile::tempdir().expect("tempdir");
    let model = dir.path().join("model");
    fs::create_dir(&model).expect("mkdir");
    fs::write(model.join("route.rs"), "use crate::model::Link;\n").expect("write");
    assert!(upward_imports(dir.path()).is_empty());
    fs::write(
        model.join("link.rs"),
        "use crate::firewall::Firewall; // no\n",
    )
    .expect("write");
    let diag = dir.path().join("diagnose");
    fs::create_dir(&diag).expect("mkdir");
    fs::write(diag.join("ok.rs"), "use crate::plan::{RouteSpec, Step};\n").expect("write");
    fs::write(
        diag.join("bad.rs"),
        "use crate::plan::apply;\n#[cfg(test)]\nuse crate::ui;\n",
    )
    .expect("write");
    let up = upward_imports(dir.path());
    assert_eq!(up.len(), 2, "{up:?}");
    assert!(
        up[0].starts_with("diagnose/bad.rs: crate::plan::apply"),
        "{up:?}"
    );
    assert!(
        up[1].starts_with("model/link.rs: crate::firewall"),
        "{up:?}"
    );
}

/// Non-test code that reads the process environment, outside `env.rs` (and `main.rs`, which
/// is not under a layer): "file:line".
fn env_readers(src: &Path) -> Vec<String> {
    let mut found = Vec::new();
    for (name, lines) in non_test_sources(src) {
        if name == "env.rs" || name == "main.rs" {
            continue;
        }
        for (number, line) in &lines {
            let code = line.split("//").next().unwrap_or("");
            if ["env::var", "env::vars"].iter().any(|c| code.contains(c)) {
                found.push(format!("{name}:{number}"));
            }
        }
    }
    found.sort();
    found
}

#[test]
fn only_env_rs_and_main_read_the_environment() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let readers = env_readers(&src);
    assert!(
        readers.is_empty(),
        "std::env::var* outside src/env.rs and main.rs (add the variable to env::Settings):\n{}",
        readers.join("\n")
    );
}

#[test]
fn an_env_reader_is_caught() {
    let dir = tempfile::tempdir().expect("tempdir");
    fs::write(dir.path().join("env.rs"), "std::env::var_os(\"X\")\n").expect("write");
    fs::write(dir.path().join("ok.rs"), "// std::env::var\n").expect("write");
    fs::write(
        dir.path().join("bad.rs"),
        "\nlet v = std::env::var(\"X\");\n",
    )
    .expect("write");
    assert_eq!(env_readers(dir.path()), ["bad.rs:2"]);
}
