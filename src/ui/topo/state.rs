//! How the picture names a namespace and a link's state: the one place the label of a
//! namespace is made (so real container and pod names arrive here in one line), and the two
//! ways a link is down — switched off by someone (`admin-down`: no UP flag) or switched on but
//! with nothing at the other end (`no-carrier`: UP, but the kernel has no carrier) — which
//! have different repairs and so are drawn differently.

use crate::model::{Link, LinkFlag, Namespace, NamespaceKind, NsStatus, OperState};

/// Why a link passes no traffic, as the picture says it; `None` for a working link.
pub fn link_state_word(l: &Link) -> Option<&'static str> {
    if !l.is_up() {
        return Some("admin-down");
    }
    // UNKNOWN with LOWER_UP is a driver that does not track operstate (lo, tun): working.
    let no_carrier = matches!(l.oper_state, OperState::Down | OperState::LowerLayerDown)
        || (l.oper_state != OperState::Up && !l.flags.contains(LinkFlag::LowerUp));
    no_carrier.then_some("no-carrier")
}

/// Whether a link passes no traffic (either way).
pub(super) fn link_state_bad(l: &Link) -> bool {
    link_state_word(l).is_some()
}

/// A namespace's label in the picture: the pod or container in it when a runtime says so
/// (the kernel name is in the details), else its name, and the process holding it for a
/// namespace known only through a process.
pub(super) fn ns_title(ns: &Namespace) -> String {
    if ns.workload.is_some() {
        return ns.label();
    }
    match ns.kind {
        NamespaceKind::Process => match ns.processes.first() {
            Some(p) => format!("{} {}", ns.name, p.comm),
            None => ns.name.clone(),
        },
        _ => ns.name.clone(),
    }
}

/// Why a namespace could not be read, if it could not.
pub(super) fn ns_unreadable(ns: &Namespace) -> Option<String> {
    match &ns.status {
        NsStatus::Gone => Some("gone".into()),
        NsStatus::Inaccessible(why) => Some(format!("not readable: {why}")),
        NsStatus::Ok | NsStatus::Partial(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::LinkFlags;

    fn link(flags: &[LinkFlag], oper: OperState) -> Link {
        let mut l = Link::new(2, "eth0", "veth");
        l.flags = flags.iter().cloned().collect::<LinkFlags>();
        l.oper_state = oper;
        l
    }

    #[test]
    fn admin_down_and_no_carrier_are_told_apart() {
        use LinkFlag::{LowerUp, Up};
        assert_eq!(
            link_state_word(&link(&[], OperState::Down)),
            Some("admin-down")
        );
        assert_eq!(
            link_state_word(&link(&[Up], OperState::Down)),
            Some("no-carrier")
        );
        assert_eq!(
            link_state_word(&link(&[Up], OperState::LowerLayerDown)),
            Some("no-carrier")
        );
        assert_eq!(
            link_state_word(&link(&[Up], OperState::Unknown)),
            Some("no-carrier")
        );
        assert_eq!(link_state_word(&link(&[Up, LowerUp], OperState::Up)), None);
        assert_eq!(
            link_state_word(&link(&[Up, LowerUp], OperState::Unknown)),
            None
        );
    }
}
