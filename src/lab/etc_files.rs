//! `lab down`'s cleanup of the `/etc/netns/<ns>` files a drill wrote: they outlive the
//! namespace otherwise, and a namespace of the same name made later would read them.

/// Removes the `/etc/netns/<ns>` files a fault wrote (recognised by their first line), and
/// the directory if that leaves it empty. Files anyone else wrote stay.
pub(super) fn remove_etc_files(ns: &str) -> Vec<String> {
    let dir = std::path::Path::new("/etc/netns").join(ns);
    let mut errors = Vec::new();
    for file in ["nsswitch.conf", "resolv.conf"] {
        let path = dir.join(file);
        let ours = std::fs::read_to_string(&path).is_ok_and(|t| t.starts_with(super::ETC_MARKER));
        if ours {
            if let Err(e) = std::fs::remove_file(&path) {
                errors.push(format!("cannot remove {}: {e}", path.display()));
            }
        }
    }
    // Fails harmlessly when the directory is absent or holds other files.
    let _ = std::fs::remove_dir(&dir);
    errors
}
