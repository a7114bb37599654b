//! A neighbour entry's state (`ip neigh`'s last word, the kernel's NUD state), as the
//! collector writes it: the upper-case name; see [`text_enum`] for how unknown ones survive.

use super::text_enum::text_enum;

text_enum! {
    /// The state of an ARP/NDP entry (`NUD_*`).
    NeighborState {
        Incomplete = "INCOMPLETE",
        Reachable = "REACHABLE",
        Stale = "STALE",
        Delay = "DELAY",
        Probe = "PROBE",
        Failed = "FAILED",
        Noarp = "NOARP",
        Permanent = "PERMANENT",
        None = "NONE",
    }
}

impl NeighborState {
    /// Set by hand or by the kernel for good (PERMANENT, NOARP): never asked for again.
    pub fn pinned(&self) -> bool {
        matches!(self, Self::Permanent | Self::Noarp)
    }

    /// Learned from an answer, in the cycle a healthy entry goes through on its own
    /// (RFC 4861 NUD: REACHABLE, STALE, DELAY, PROBE); used as it is until re-probed.
    pub fn learned(&self) -> bool {
        matches!(
            self,
            Self::Reachable | Self::Stale | Self::Delay | Self::Probe
        )
    }

    /// Still waiting for an answer or given up on it (INCOMPLETE, FAILED): no MAC to send to.
    pub fn unresolved(&self) -> bool {
        matches!(self, Self::Incomplete | Self::Failed)
    }
}
