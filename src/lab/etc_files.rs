//! The `/etc/netns/<ns>` files a drill wrote: `lab down` removes them (with a plan step whose
//! undo writes them back), because they outlive the namespace otherwise, and a namespace of
//! the same name made later would read them.

/// The `/etc/netns/<ns>` files a fault wrote (recognised by their first line). Files anyone
/// else wrote are not listed, so they stay.
pub(super) fn drill_files(ns: &str) -> Vec<String> {
    let dir = std::path::Path::new("/etc/netns").join(ns);
    ["nsswitch.conf", "resolv.conf"]
        .iter()
        .map(|file| dir.join(file))
        .filter(|path| {
            std::fs::read_to_string(path).is_ok_and(|t| t.starts_with(super::ETC_MARKER))
        })
        .map(|path| path.display().to_string())
        .collect()
}
