//! The AF_PACKET socket under pnet: opened by us, so its receive timestamps and the kernel's
//! counters (PACKET_STATISTICS) can be read from it.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::RCVBUF;

/// The AF_PACKET socket, opened by us so its kernel statistics can be read; pnet reads from it.
pub(super) fn packet_socket() -> std::io::Result<i32> {
    let proto = (libc::ETH_P_ALL as u16).to_be() as i32;
    // SAFETY: plain socket(2) call; the fd is handed to pnet, which owns and closes it.
    let fd = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_CLOEXEC, proto) };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SO_RCVBUFFORCE passes the rmem_max cap (we are root); fall back to what is allowed.
    for opt in [libc::SO_RCVBUFFORCE, libc::SO_RCVBUF] {
        // SAFETY: a valid fd and a pointer to an i32 of the size given.
        let r = unsafe {
            libc::setsockopt(
                fd,
                libc::SOL_SOCKET,
                opt,
                (&RCVBUF as *const i32).cast(),
                std::mem::size_of::<i32>() as libc::socklen_t,
            )
        };
        if r == 0 {
            break;
        }
    }
    // Turns on kernel receive timestamps for this socket (ENOENT: no packet yet).
    let _ = kernel_stamp(fd);
    Ok(fd)
}

/// `SIOCGSTAMPNS` (linux/sockios.h): the receive timestamp of the last packet read from the
/// socket. Not exported by libc.
const SIOCGSTAMPNS: libc::c_ulong = 0x8907;

/// The kernel's receive time of the packet last read from `fd`. The first call on a socket
/// turns timestamping on (and finds none yet); `packet_socket` makes that call.
pub(super) fn kernel_stamp(fd: i32) -> Option<SystemTime> {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: SIOCGSTAMPNS writes one `struct timespec` into `ts`, which has that type.
    let r = unsafe { libc::ioctl(fd, SIOCGSTAMPNS as _, &mut ts as *mut libc::timespec) };
    if r != 0 || ts.tv_sec <= 0 {
        return None;
    }
    Some(UNIX_EPOCH + Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32))
}

/// Reads and resets the socket's counters: (packets, drops) since the last call.
pub(super) fn kernel_stats(fd: i32) -> (u64, u64) {
    let mut st = libc::tpacket_stats {
        tp_packets: 0,
        tp_drops: 0,
    };
    let mut len = std::mem::size_of::<libc::tpacket_stats>() as libc::socklen_t;
    // SAFETY: getsockopt writes at most `len` bytes into `st`, which has that size.
    let r = unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_PACKET,
            libc::PACKET_STATISTICS,
            (&mut st as *mut libc::tpacket_stats).cast(),
            &mut len,
        )
    };
    if r != 0 {
        return (0, 0);
    }
    (u64::from(st.tp_packets), u64::from(st.tp_drops))
}
