//! Whose rights a write into `/proc/PID/root` uses. A process in a user namespace that an
//! unprivileged user created (`unshare -rn`, rootless containers) has a root that user made:
//! often the host's own `/`, or any directory they could read bind-mounted as its `etc`
//! (`/run/systemd/resolve`). Root writing there with root's rights would let that user steer
//! a "container fix" into the host's files. So such a write runs on a thread whose file-system
//! identity is the namespace's owner: it succeeds exactly where that user could write anyway.
//! Processes in netlens' own user namespace, or in one root created (rootful containers,
//! rootful user-namespaced pods), are written as root, as before.

use std::os::fd::AsRawFd;
use std::os::unix::fs::MetadataExt;

/// `NS_GET_OWNER_UID` from `linux/nsfs.h`: `_IO(0xb7, 0x4)`.
const NS_GET_OWNER_UID: libc::c_ulong = 0xb704;

/// The `(uid, gid)` to write as for process `pid`'s root: `None` for root's own namespaces.
pub fn owner_of(pid: u32) -> Result<Option<(u32, u32)>, String> {
    let ours = std::fs::metadata("/proc/self/ns/user")
        .map_err(|e| format!("cannot inspect netlens' own user namespace: {e}"))?;
    let theirs_path = format!("/proc/{pid}/ns/user");
    let theirs =
        std::fs::File::open(&theirs_path).map_err(|e| format!("cannot open {theirs_path}: {e}"))?;
    let meta = theirs
        .metadata()
        .map_err(|e| format!("cannot inspect {theirs_path}: {e}"))?;
    if (meta.dev(), meta.ino()) == (ours.dev(), ours.ino()) {
        return Ok(None);
    }
    let mut uid: libc::uid_t = 0;
    // SAFETY: NS_GET_OWNER_UID writes one uid_t through the pointer, which outlives the call.
    let r = unsafe { libc::ioctl(theirs.as_raw_fd(), NS_GET_OWNER_UID as _, &mut uid) };
    if r != 0 {
        return Err(format!(
            "cannot tell who owns the user namespace of process {pid}: {}",
            std::io::Error::last_os_error()
        ));
    }
    if uid == 0 {
        return Ok(None);
    }
    // The owner's group: the process's real gid as the host sees it (the user's own for
    // `unshare -r`); the owner's uid when it cannot be read.
    let gid = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Gid:"))
                .and_then(|g| g.split_whitespace().next())
                .and_then(|g| g.parse().ok())
        })
        .unwrap_or(uid);
    Ok(Some((uid, gid)))
}

/// Runs `f` on a fresh thread whose file-system uid and gid are `ids`, with no supplementary
/// groups. Raw syscalls: they change only the calling thread (glibc's wrappers would change
/// every thread of the process), and the thread ends with `f`. Moving the fsuid off 0 drops
/// the file capabilities (CAP_DAC_OVERRIDE, CAP_FOWNER, CAP_CHOWN…) from the thread.
pub fn run_as<T: Send>(
    ids: (u32, u32),
    f: impl FnOnce() -> Result<T, String> + Send,
) -> Result<T, String> {
    std::thread::scope(|s| {
        s.spawn(move || {
            let (uid, gid) = ids;
            // SAFETY: plain syscalls on the calling thread's credentials; no memory passed
            // (setgroups with a count of 0 reads no list).
            unsafe {
                if libc::syscall(libc::SYS_setgroups, 0, std::ptr::null::<libc::gid_t>()) != 0 {
                    return Err(format!(
                        "cannot drop groups to write as uid {uid}: {}",
                        std::io::Error::last_os_error()
                    ));
                }
                libc::syscall(libc::SYS_setfsgid, gid);
                libc::syscall(libc::SYS_setfsuid, uid);
                // Both calls return the previous id; asking again (-1 changes nothing)
                // returns the current one.
                let now_uid = libc::syscall(libc::SYS_setfsuid, -1i32 as libc::uid_t);
                let now_gid = libc::syscall(libc::SYS_setfsgid, -1i32 as libc::gid_t);
                if now_uid != i64::from(uid) || now_gid != i64::from(gid) {
                    return Err(format!("cannot take uid {uid} gid {gid} to write"));
                }
            }
            f()
        })
        .join()
        .unwrap_or_else(|_| Err("the write as the namespace's owner panicked".into()))
    })
}
