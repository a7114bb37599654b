//! A memory-mapped TPACKET_V3 receive ring on an AF_PACKET socket, as libpcap builds it
//! (pcap-linux.c: `prepare_tpacket_socket`, `create_ring`, `pcap_read_linux_mmap_v3`).
//!
//! The kernel writes frames into fixed-size blocks shared with us and hands a block over when
//! it is full or `retire_ms` after its first frame; one poll(2) then gives a whole block of
//! frames with no system call per frame and no copy. A block goes back to the kernel when its
//! [`Block`] is dropped. Drops are the kernel's own count (PACKET_STATISTICS).

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::ptr::NonNull;
use std::sync::atomic::{fence, Ordering};

/// Where the kernel's frames go and how large they may be.
#[derive(Debug, Clone, Copy)]
pub struct RingSize {
    /// Bytes per block (a multiple of the page size; holds at least one frame).
    pub block: usize,
    pub blocks: usize,
    /// Longest frame kept; longer ones are cut (their wire length is kept).
    pub snaplen: usize,
    /// How long a block with frames in it may wait before it is handed over.
    pub retire_ms: u32,
}

/// One frame, borrowed from the ring.
pub struct Frame<'a> {
    pub data: &'a [u8],
    /// Length on the wire (`data` is shorter when the frame was cut).
    pub wire_len: u32,
    /// The kernel's receive time.
    pub sec: u32,
    pub nsec: u32,
}

pub struct RxRing {
    fd: OwnedFd,
    map: NonNull<u8>,
    size: RingSize,
    /// The next block to look at: the kernel fills them in order.
    next: usize,
}

// SAFETY: the mapping is owned by this value alone and only touched through `&mut self`.
unsafe impl Send for RxRing {}

fn check(r: libc::c_int) -> io::Result<()> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

fn setopt<T>(fd: i32, level: i32, opt: i32, val: &T) -> io::Result<()> {
    // SAFETY: `val` points to a live `T` of the size passed.
    check(unsafe {
        libc::setsockopt(
            fd,
            level,
            opt,
            (val as *const T).cast(),
            std::mem::size_of::<T>() as libc::socklen_t,
        )
    })
}

const fn align16(n: usize) -> usize {
    (n + 15) & !15
}

impl RxRing {
    /// Opens the socket in the calling thread's namespace, attaches `filter` (classic BPF) if
    /// any, maps the ring and binds to `ifindex` in promiscuous mode. The socket is bound last,
    /// so no frame of another interface or before the filter ever reaches the ring.
    pub fn open(
        ifindex: u32,
        size: RingSize,
        filter: Option<&[libc::sock_filter]>,
    ) -> io::Result<Self> {
        // Protocol 0: nothing is received until `bind` names the interface and ETH_P_ALL.
        // SAFETY: plain socket(2); the descriptor is owned by `OwnedFd` from here on.
        let raw = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_CLOEXEC, 0) };
        check(raw)?;
        // SAFETY: `raw` is a fresh descriptor nobody else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        let s = fd.as_raw_fd();
        setopt(
            s,
            libc::SOL_PACKET,
            libc::PACKET_VERSION,
            &(libc::tpacket_versions::TPACKET_V3 as libc::c_int),
        )?;
        if let Some(prog) = filter {
            super::bpf::attach(s, prog)?;
        }
        let frame = align16(libc::TPACKET3_HDRLEN + 16 + size.snaplen).min(size.block);
        let req = libc::tpacket_req3 {
            tp_block_size: size.block as u32,
            tp_block_nr: size.blocks as u32,
            tp_frame_size: frame as u32,
            tp_frame_nr: ((size.block / frame) * size.blocks) as u32,
            tp_retire_blk_tov: size.retire_ms,
            tp_sizeof_priv: 0,
            tp_feature_req_word: 0,
        };
        setopt(s, libc::SOL_PACKET, libc::PACKET_RX_RING, &req)?;
        let len = size.block * size.blocks;
        // SAFETY: maps the ring the kernel just allocated for this socket; unmapped in Drop.
        let map = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                s,
                0,
            )
        };
        if map == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let ring = RxRing {
            fd,
            map: NonNull::new(map.cast()).ok_or_else(|| io::Error::other("mmap gave null"))?,
            size,
            next: 0,
        };
        ring.bind(ifindex)?;
        Ok(ring)
    }

    fn bind(&self, ifindex: u32) -> io::Result<()> {
        let s = self.fd.as_raw_fd();
        // SAFETY: sockaddr_ll is plain data; zero is a valid value for every field.
        let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        sll.sll_family = libc::AF_PACKET as u16;
        sll.sll_protocol = (libc::ETH_P_ALL as u16).to_be();
        sll.sll_ifindex = ifindex as i32;
        // SAFETY: `sll` is a sockaddr_ll of the length passed.
        check(unsafe {
            libc::bind(
                s,
                (&sll as *const libc::sockaddr_ll).cast(),
                std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
            )
        })?;
        let mreq = libc::packet_mreq {
            mr_ifindex: ifindex as i32,
            mr_type: libc::PACKET_MR_PROMISC as u16,
            mr_alen: 0,
            mr_address: [0; 8],
        };
        setopt(s, libc::SOL_PACKET, libc::PACKET_ADD_MEMBERSHIP, &mreq)
    }

    pub fn fd(&self) -> i32 {
        self.fd.as_raw_fd()
    }

    fn block_ptr(&self, i: usize) -> *mut libc::tpacket_block_desc {
        // SAFETY: i < blocks, so the offset stays inside the mapping.
        unsafe { self.map.as_ptr().add(i * self.size.block).cast() }
    }

    /// The next block, if the kernel has handed it over.
    pub fn next_block(&mut self) -> Option<Block<'_>> {
        let desc = self.block_ptr(self.next);
        // SAFETY: the descriptor lies at the block's start; the kernel writes block_status,
        // so it is read volatile, and the acquire fence orders the frame reads after it.
        let status = unsafe { std::ptr::addr_of!((*desc).hdr.bh1.block_status).read_volatile() };
        if status & libc::TP_STATUS_USER == 0 {
            return None;
        }
        fence(Ordering::Acquire);
        self.next = (self.next + 1) % self.size.blocks;
        // SAFETY: the block is ours until its status is set back; the header is initialised.
        let (n, first) = unsafe {
            (
                (*desc).hdr.bh1.num_pkts,
                (*desc).hdr.bh1.offset_to_first_pkt,
            )
        };
        Some(Block {
            desc,
            base: desc.cast(),
            len: self.size.block,
            left: n,
            at: first as usize,
            _ring: std::marker::PhantomData,
        })
    }

    /// Waits up to `timeout_ms` for a block; true when one may be ready.
    pub fn wait(&self, timeout_ms: i32) -> io::Result<bool> {
        poll(&mut [self.pollfd()], timeout_ms)
    }

    /// Waits up to `timeout_ms` (-1: no limit) for a block or for `wake` (an eventfd) to be
    /// written, whichever comes first. Returns whether `wake` was written (left set: the caller stops).
    /// This is how the capture blocks between blocks the way libpcap does — in poll until the
    /// kernel retires a block — and still stops at once when asked.
    pub fn wait_or(&self, wake: i32, timeout_ms: i32) -> io::Result<bool> {
        let wake = libc::pollfd {
            fd: wake,
            events: libc::POLLIN,
            revents: 0,
        };
        let mut p = [self.pollfd(), wake];
        poll(&mut p, timeout_ms)?;
        Ok(p[1].revents & libc::POLLIN != 0)
    }

    fn pollfd(&self) -> libc::pollfd {
        libc::pollfd {
            fd: self.fd.as_raw_fd(),
            events: libc::POLLIN | libc::POLLERR,
            revents: 0,
        }
    }

    /// Reads and resets the kernel's counters: (packets seen, of them dropped) since the last
    /// call. The kernel counts a dropped frame in both.
    pub fn stats(&self) -> (u64, u64) {
        let mut st = libc::tpacket_stats_v3 {
            tp_packets: 0,
            tp_drops: 0,
            tp_freeze_q_cnt: 0,
        };
        let mut len = std::mem::size_of::<libc::tpacket_stats_v3>() as libc::socklen_t;
        // SAFETY: getsockopt writes at most `len` bytes into `st`, which has that size.
        let r = unsafe {
            libc::getsockopt(
                self.fd.as_raw_fd(),
                libc::SOL_PACKET,
                libc::PACKET_STATISTICS,
                (&mut st as *mut libc::tpacket_stats_v3).cast(),
                &mut len,
            )
        };
        if r != 0 {
            return (0, 0);
        }
        (u64::from(st.tp_packets), u64::from(st.tp_drops))
    }
}

impl Drop for RxRing {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly the mapping made in `open`; no Block outlives `self`.
        unsafe {
            libc::munmap(self.map.as_ptr().cast(), self.size.block * self.size.blocks);
        }
    }
}

/// A block handed over by the kernel: its frames, in order. Dropping it hands it back.
pub struct Block<'a> {
    desc: *mut libc::tpacket_block_desc,
    base: *mut u8,
    len: usize,
    left: u32,
    at: usize,
    _ring: std::marker::PhantomData<&'a mut RxRing>,
}

impl Block<'_> {
    /// The next frame; it borrows the block, so it cannot outlive the hand-back.
    pub fn next_frame(&mut self) -> Option<Frame<'_>> {
        if self.left == 0 || self.at + std::mem::size_of::<libc::tpacket3_hdr>() > self.len {
            return None;
        }
        self.left -= 1;
        // SAFETY: the kernel wrote a tpacket3_hdr at `at` (checked to be inside the block);
        // it is read unaligned-safe by value.
        let h: libc::tpacket3_hdr = unsafe {
            self.base
                .add(self.at)
                .cast::<libc::tpacket3_hdr>()
                .read_unaligned()
        };
        let mut start = self.at + usize::from(h.tp_mac);
        let end = (start + h.tp_snaplen as usize).min(self.len);
        if start > end {
            return None;
        }
        let mut wire_len = h.tp_len;
        // The kernel took the VLAN tag out of the frame (into the header); put it back in
        // front of the ethertype, as libpcap does, so the frame is as it was on the wire.
        if h.tp_status & libc::TP_STATUS_VLAN_VALID != 0
            && end >= start + 12
            && start >= self.at + 4
        {
            let tpid = if h.tp_status & libc::TP_STATUS_VLAN_TPID_VALID != 0 {
                h.hv1.tp_vlan_tpid
            } else {
                0x8100
            };
            let mut tag = [0u8; 4];
            tag[..2].copy_from_slice(&tpid.to_be_bytes());
            tag[2..].copy_from_slice(&(h.hv1.tp_vlan_tci as u16).to_be_bytes());
            // SAFETY: the 4 bytes before the MAC header belong to this frame's header area (its
            // sockaddr_ll, no longer needed) inside the block, checked above; the block is ours
            // until handed back.
            unsafe {
                std::ptr::copy(self.base.add(start), self.base.add(start - 4), 12);
                std::ptr::copy_nonoverlapping(tag.as_ptr(), self.base.add(start + 8), 4);
            }
            start -= 4;
            wire_len += 4;
        }
        // SAFETY: start..end lies inside this block, which stays ours while `self` lives.
        let data = unsafe { std::slice::from_raw_parts(self.base.add(start), end - start) };
        self.at = if h.tp_next_offset == 0 {
            self.len
        } else {
            self.at + h.tp_next_offset as usize
        };
        Some(Frame {
            data,
            wire_len,
            sec: h.tp_sec,
            nsec: h.tp_nsec,
        })
    }
}

impl Drop for Block<'_> {
    fn drop(&mut self) {
        // Every read of the block's frames happens before the kernel may write it again.
        fence(Ordering::Release);
        // SAFETY: the descriptor is inside the mapping; writing TP_STATUS_KERNEL hands the
        // block back, as libpcap does.
        unsafe {
            std::ptr::addr_of_mut!((*self.desc).hdr.bh1.block_status)
                .write_volatile(libc::TP_STATUS_KERNEL);
        }
    }
}

/// poll(2) over `fds`: whether any is ready; an interrupted wait is "none ready".
fn poll(fds: &mut [libc::pollfd], timeout_ms: i32) -> io::Result<bool> {
    // SAFETY: `fds` is a valid, exclusively borrowed array of pollfds of that length.
    let r = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, timeout_ms) };
    if r < 0 {
        let e = io::Error::last_os_error();
        return if e.kind() == io::ErrorKind::Interrupted {
            Ok(false)
        } else {
            Err(e)
        };
    }
    Ok(r > 0)
}
