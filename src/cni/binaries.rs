//! Finding a plugin's binary the way libcni's `FindInPath` does: the first directory holding
//! an executable file of that name.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// The binary for plugin `kind` in `dirs`, first match wins; `None` when no directory has an
/// executable file of that name. A type with a path separator never matches (libcni refuses
/// it rather than run something outside the plugin directories).
pub fn find(kind: &str, dirs: &[PathBuf]) -> Option<PathBuf> {
    if kind.is_empty() || kind.contains('/') || kind == "." || kind == ".." {
        return None;
    }
    dirs.iter().map(|d| d.join(kind)).find(|p| executable(p))
}

fn executable(p: &Path) -> bool {
    p.metadata()
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_executable_match_wins() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        let write = |dir: &Path, name: &str, mode: u32| {
            let p = dir.join(name);
            std::fs::write(&p, "#!/bin/sh\n").unwrap();
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
            p
        };
        write(a.path(), "bridge", 0o644);
        let good = write(b.path(), "bridge", 0o755);
        let dirs = vec![a.path().to_path_buf(), b.path().to_path_buf()];
        assert_eq!(find("bridge", &dirs), Some(good));
        assert_eq!(find("host-local", &dirs), None);
        assert_eq!(find("../bridge", &dirs), None);
        assert_eq!(find("", &dirs), None);
    }
}
