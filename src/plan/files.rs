//! The resolver files a `WriteFile` step writes (`/etc/netns/NAME/nsswitch.conf`,
//! `/proc/PID/root/etc/hosts`, …): read before, so the inverse can put the old text back byte
//! for byte, and written whole through a fresh temporary file, so a crash never leaves half a
//! file that every lookup in the namespace would read.
//!
//! Both go through [`crate::rootfs::write`]: a container owns its root, so its `etc` is
//! resolved inside that root, the file is never written or read through a link, and no name a
//! container could plant is followed or reused.

/// The file's content now, `None` if there is none.
pub fn read(path: &str) -> Result<Option<String>, String> {
    crate::rootfs::read_current(path)
}

/// Writes (`Some`) or removes (`None`) the file. Only `/etc/netns/NAME` (the host-side
/// directory `ip netns exec` reads) is made when missing, never a directory in a container.
pub fn write(path: &str, content: Option<&str>) -> Result<(), String> {
    crate::rootfs::replace(path, content)
}
