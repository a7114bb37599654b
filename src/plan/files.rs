//! The resolver files a `WriteFile` step writes (`/etc/netns/NAME/nsswitch.conf`, …): read
//! before, so the inverse can put the old text back, and written whole through a temporary
//! name, so a crash never leaves half a file that every lookup in the namespace would read.

use std::io;
use std::path::Path;

/// The file's content now, `None` if there is none.
pub fn read(path: &str) -> Result<Option<String>, String> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("cannot read {path}: {e}")),
    }
}

/// Writes (`Some`) or removes (`None`) the file. The directory (`/etc/netns/NAME`) is made
/// when missing: that is where `ip netns exec` looks for a namespace's own files.
pub fn write(path: &str, content: Option<&str>) -> Result<(), String> {
    match content {
        None => match std::fs::remove_file(path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(format!("cannot remove {path}: {e}")),
        },
        Some(text) => {
            let p = Path::new(path);
            if let Some(dir) = p.parent() {
                std::fs::create_dir_all(dir)
                    .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
            }
            let tmp = p.with_extension("netlens-tmp");
            std::fs::write(&tmp, text)
                .and_then(|()| std::fs::rename(&tmp, p))
                .map_err(|e| format!("cannot write {path}: {e}"))
        }
    }
}
