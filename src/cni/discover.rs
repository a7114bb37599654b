//! The configuration directory in the order the runtime reads it. libcni's `ConfFiles` takes
//! regular files ending in `.conf`, `.conflist` or `.json` (not subdirectories), sorted by
//! name byte by byte; kubelet's dockershim and CRI-O (ocicni) use the first one that loads
//! and skip the ones that do not. containerd (go-cni) is stricter: an unloadable file before
//! the first good one stops it ("cni config load failed"), which is why an invalid file ahead
//! of the chosen one is an error, not a curiosity.

use std::path::Path;

use super::config::{self, Parsed, MAX_CONFIG_BYTES};
use super::Dirs;
use crate::saved::read::read_regular;

pub const EXTENSIONS: [&str; 3] = ["conf", "conflist", "json"];

/// The directory as the runtime sees it.
#[derive(Debug, Clone, Default)]
pub struct Found {
    pub dir_exists: bool,
    /// Every candidate file, in the runtime's order.
    pub configs: Vec<Parsed>,
    /// The first valid one.
    pub selected: Option<String>,
    pub errors: Vec<String>,
}

/// Whether libcni would consider a file of this name.
pub fn is_candidate(name: &str) -> bool {
    Path::new(name)
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| EXTENSIONS.contains(&e))
}

pub fn discover(dirs: &Dirs) -> Found {
    let mut found = Found::default();
    let entries = match std::fs::read_dir(&dirs.conf_dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return found,
        Err(e) => {
            found.dir_exists = dirs.conf_dir.exists();
            found
                .errors
                .push(format!("cannot read {}: {e}", dirs.conf_dir.display()));
            return found;
        }
    };
    found.dir_exists = true;
    let mut names: Vec<String> = entries
        .filter_map(Result::ok)
        .filter(|e| e.path().is_file())
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| is_candidate(n))
        .collect();
    names.sort();
    for name in names {
        let path = dirs.conf_dir.join(&name);
        let shown = path.display().to_string();
        // Checked on the open file: a FIFO swapped in after the listing is refused, not
        // waited on, and a giant file is refused, not read.
        let bytes = match read_regular(&path, MAX_CONFIG_BYTES, "a CNI config") {
            Ok(b) => b,
            Err(e) => {
                found.errors.push(e.to_string());
                continue;
            }
        };
        found.configs.push(config::parse(&shown, &bytes));
    }
    found.selected = found
        .configs
        .iter()
        .find(|p| p.config.valid())
        .map(|p| p.config.path.clone());
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lexical_order_and_first_valid_wins() {
        let dir = tempfile::tempdir().unwrap();
        let w = |n: &str, t: &str| std::fs::write(dir.path().join(n), t).unwrap();
        w(
            "99-loopback.conflist",
            r#"{"cniVersion":"1.0.0","name":"lo","plugins":[{"type":"loopback"}]}"#,
        );
        w("10-broken.conflist", "{ not json");
        w(
            "20-net.conf",
            r#"{"cniVersion":"1.0.0","name":"net","type":"bridge"}"#,
        );
        w("15-notes.txt", "ignored");
        w(
            ".05-hidden.json",
            r#"{"cniVersion":"1.0.0","name":"h","type":"ptp"}"#,
        );
        std::fs::create_dir(dir.path().join("00-dir.conf")).unwrap();
        let dirs = Dirs {
            conf_dir: dir.path().to_path_buf(),
            ..Dirs::default()
        };
        let found = discover(&dirs);
        let names: Vec<String> = found
            .configs
            .iter()
            .map(|p| p.config.path.rsplit('/').next().unwrap().to_string())
            .collect();
        // Byte order: '.' sorts before digits, as Go's sort.Strings has it.
        assert_eq!(
            names,
            [
                ".05-hidden.json",
                "10-broken.conflist",
                "20-net.conf",
                "99-loopback.conflist"
            ]
        );
        assert!(found.selected.unwrap().ends_with("/.05-hidden.json"));
    }

    #[test]
    fn missing_dir_is_not_an_error() {
        let dirs = Dirs {
            conf_dir: "/nonexistent/netlens/cni".into(),
            ..Dirs::default()
        };
        let found = discover(&dirs);
        assert!(!found.dir_exists && found.errors.is_empty() && found.configs.is_empty());
    }
}
