//! The resolver files a `WriteFile` step writes (`/etc/netns/NAME/nsswitch.conf`,
//! `/proc/PID/root/etc/hosts`, …): read before, so the inverse can put the old text back byte
//! for byte, and written whole through a fresh temporary file, so a crash never leaves half a
//! file that every lookup in the namespace would read.
//!
//! Both go through [`crate::rootfs::write`]: a container owns its root, so its `etc` is
//! resolved inside that root, the file is never written or read through a link, and no name a
//! container could plant is followed or reused. With `pid_start`, a `/proc/PID/root` path is
//! used only while PID is still the process that started then.

/// The file's content now, `None` if there is none.
pub fn read(path: &str, pid_start: Option<u64>) -> Result<Option<String>, String> {
    crate::rootfs::read_current(path, pid_start)
}

/// Writes (`Some`) or removes (`None`) the file. Only `/etc/netns/NAME` (the host-side
/// directory `ip netns exec` reads) is made when missing, never a directory in a container.
pub fn write(path: &str, content: Option<&str>, pid_start: Option<u64>) -> Result<(), String> {
    crate::rootfs::replace(path, content, pid_start)
}

/// When the process whose root `path` names started, for a `/proc/PID/root` path (`None` for
/// the host's and `/etc/netns` files).
pub fn pid_start(path: &str) -> Result<Option<u64>, String> {
    match crate::rootfs::parse_target(path)?.place {
        crate::rootfs::Place::Proc(pid) => crate::rootfs::process_start(pid).map(Some),
        _ => Ok(None),
    }
}
