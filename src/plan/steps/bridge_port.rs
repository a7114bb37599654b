//! A bridge port's own flags on the live system ([`Step::SetBridgePort`]): isolated, STP
//! state, learning, unicast flood. Set over netlink as `bridge link set` does: RTM_SETLINK of
//! family AF_BRIDGE with the flags nested in IFLA_PROTINFO; never by running `bridge`. Not
//! `ip link set type bridge_slave` (RTM_NEWLINK with slave data): that path ends in a
//! NETDEV_CHANGE, on which the bridge re-enables a disabled port, so `state 0` (an undo) would
//! silently not hold. The inverse sets back the flags that change, as read just before.

use netlink_packet_core::DefaultNla;
use netlink_packet_route::link::{
    InfoBridgePort, InfoPortData, LinkAttribute, LinkInfo, LinkMessage, LinkProtoInfoBridge,
};
use netlink_packet_route::AddressFamily;

/// IFLA_BRPORT_* numbers (`if_link.h`) of the flags a step sets.
const BRPORT_STATE: u16 = 1;
const BRPORT_LEARNING: u16 = 8;
const BRPORT_UNICAST_FLOOD: u16 = 9;
const BRPORT_ISOLATED: u16 = 33;
const BRPORT_FLUSH: u16 = 24;

use std::fmt;

use super::super::exec::Engine;
use super::super::shell::{bridge_in, ip};
use super::super::step::Step;
use super::{lines, need_link, not_mine, Family, Prepared, Role, StepError};

pub struct BridgePorts;

impl Family for BridgePorts {
    fn describe(&self, step: &Step, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (ns, link, want) = parts(step);
        let mut args = port_args(want);
        if let (Some(s), Some(pos)) = (want.state, args.iter().position(|a| a == "state")) {
            args[pos + 1] = state_name(s);
        }
        write!(f, "set bridge port {link} {} in {ns}", args.join(" "))?;
        if want.learning == Some(false) {
            write!(f, " (forgetting the MACs it learnt)")?;
        }
        Ok(())
    }

    fn check(&self, step: &Step, _: Role) -> Result<(), String> {
        let (_, link, want) = parts(step);
        super::ifname(link)?;
        if let Some(s) = want.state.filter(|&s| s > 4) {
            return Err(format!(
                "bridge port state {s} is not one of 0..=4 ({})",
                STATES.join(", ")
            ));
        }
        if want == Flags::default() {
            return Err(format!("the step sets no flag of bridge port {link}"));
        }
        Ok(())
    }

    /// `bridge -n NS link set dev X …`, and the fdb flush that goes with `learning off`.
    fn commands(&self, step: &Step) -> Vec<String> {
        let (ns, link, want) = parts(step);
        let mut argv = bridge_in(ns, &["bridge", "link", "set", "dev", link]);
        argv.extend(port_args(want));
        let mut cmds = vec![argv];
        if want.learning == Some(false) {
            // Sent in the same message: the port forgets the MACs it learnt.
            let flush = [
                "link",
                "set",
                "dev",
                link,
                "type",
                "bridge_slave",
                "fdb_flush",
            ];
            cmds.push(ip(ns, &flush));
        }
        lines(&cmds)
    }

    fn prepare(&self, eng: &mut Engine, step: &Step) -> Result<Prepared, StepError> {
        prepare(eng, step)
    }

    fn execute(&self, eng: &mut Engine, step: &Step) -> Result<Option<Vec<Step>>, StepError> {
        execute(eng, step).map(|()| None)
    }
}

/// `bridge link set` names for the STP states a plan may set.
const STATES: [&str; 5] = [
    "disabled",
    "listening",
    "learning",
    "forwarding",
    "blocking",
];

pub fn state_name(state: u8) -> String {
    STATES
        .get(usize::from(state))
        .map_or_else(|| state.to_string(), |s| s.to_string())
}

fn on_off(v: bool) -> &'static str {
    if v {
        "on"
    } else {
        "off"
    }
}

/// `isolated off state 3 …`: the `bridge link set` arguments of the flags a step sets.
fn port_args(want: Flags) -> Vec<String> {
    let mut v = Vec::new();
    if let Some(i) = want.isolated {
        v.extend(["isolated".to_string(), on_off(i).to_string()]);
    }
    if let Some(s) = want.state {
        v.extend(["state".to_string(), s.to_string()]);
    }
    if let Some(l) = want.learning {
        v.extend(["learning".to_string(), on_off(l).to_string()]);
    }
    if let Some(f) = want.flood {
        v.extend(["flood".to_string(), on_off(f).to_string()]);
    }
    v
}

/// A bridge port's flags: those a step sets (`None`: left as they are), or those a port has
/// now (`None`: the kernel does not report it).
#[derive(Default, Clone, Copy, PartialEq)]
struct Flags {
    isolated: Option<bool>,
    state: Option<u8>,
    learning: Option<bool>,
    flood: Option<bool>,
}

/// A [`Step::SetBridgePort`]'s namespace, port, and the flags it sets.
fn parts(step: &Step) -> (&str, &str, Flags) {
    let Step::SetBridgePort {
        ns,
        link,
        isolated,
        state,
        learning,
        flood,
    } = step
    else {
        not_mine(step)
    };
    let want = Flags {
        isolated: *isolated,
        state: *state,
        learning: *learning,
        flood: *flood,
    };
    (ns, link, want)
}

/// The step that sets `flags` on port `link` in `ns`.
fn set_port(ns: &str, link: &str, flags: Flags) -> Step {
    Step::SetBridgePort {
        ns: ns.to_string(),
        link: link.to_string(),
        isolated: flags.isolated,
        state: flags.state,
        learning: flags.learning,
        flood: flags.flood,
    }
}

fn flags_of(link: &LinkMessage) -> Option<Flags> {
    let data = link.attributes.iter().find_map(|a| match a {
        LinkAttribute::LinkInfo(infos) => infos.iter().find_map(|i| match i {
            LinkInfo::PortData(InfoPortData::BridgePort(p)) => Some(p),
            _ => None,
        }),
        _ => None,
    })?;
    let mut f = Flags::default();
    for a in data {
        match a {
            InfoBridgePort::Isolated(v) => f.isolated = Some(*v),
            InfoBridgePort::State(s) => f.state = Some(u8::from(*s)),
            InfoBridgePort::Learning(v) => f.learning = Some(*v),
            InfoBridgePort::UnicastFlood(v) => f.flood = Some(*v),
            _ => {}
        }
    }
    Some(f)
}

/// The old value of a flag the step changes: `Ok(None)` when it already holds.
fn old<T: PartialEq + Copy>(
    want: Option<T>,
    have: Option<T>,
    what: &str,
) -> Result<Option<T>, String> {
    match (want, have) {
        (None, _) => Ok(None),
        (Some(w), Some(h)) if w == h => Ok(None),
        (Some(_), Some(h)) => Ok(Some(h)),
        (Some(_), None) => Err(format!("the kernel does not report the port's {what}")),
    }
}

/// What sets back the flags `want` changes on a port that has `have`: the old value of each
/// flag that changes, `None` for the others.
fn undo_flags(want: Flags, have: Flags) -> Result<Flags, String> {
    Ok(Flags {
        isolated: old(want.isolated, have.isolated, "isolated flag")?,
        state: old(want.state, have.state, "state")?,
        learning: old(want.learning, have.learning, "learning flag")?,
        flood: old(want.flood, have.flood, "flood flag")?,
    })
}

/// The port's flags as undo compares them; `None` when the link is gone.
pub fn observe(eng: &mut Engine, ns: &str, link: &str) -> Result<Option<String>, String> {
    let h = eng.handle(ns)?;
    let Some(dev) = eng.block_on(crate::netlink::query::get_link(&h, link))? else {
        return Ok(None);
    };
    let Some(f) = flags_of(&dev) else {
        return Ok(Some("not a bridge port".into()));
    };
    let b = |v: Option<bool>| v.map_or("?", |v| if v { "on" } else { "off" });
    Ok(Some(format!(
        "isolated {} state {} learning {} flood {}",
        b(f.isolated),
        f.state.map_or("?".into(), state_name),
        b(f.learning),
        b(f.flood)
    )))
}

fn prepare(eng: &mut Engine, step: &Step) -> Result<Prepared, StepError> {
    let (ns, link, want) = parts(step);
    let h = eng.handle(ns)?;
    let dev = eng.block_on(need_link(&h, ns, link))?;
    let have = flags_of(&dev).ok_or_else(|| format!("{link} in {ns} is not a bridge port"))?;
    let back = undo_flags(want, have)?;
    let noop = back == Flags::default();
    Ok(Prepared {
        noop,
        inverse: if noop {
            Vec::new()
        } else {
            vec![set_port(ns, link, back)]
        },
    })
}

fn execute(eng: &mut Engine, step: &Step) -> Result<(), StepError> {
    let (ns, link, want) = parts(step);
    let h = eng.handle(ns)?;
    eng.block_on(async {
        let dev = need_link(&h, ns, link).await?;
        let flag = |kind: u16, v: u8| LinkProtoInfoBridge::Other(DefaultNla::new(kind, vec![v]));
        let mut nested = Vec::new();
        if let Some(v) = want.isolated {
            nested.push(flag(BRPORT_ISOLATED, u8::from(v)));
        }
        if let Some(s) = want.state {
            nested.push(flag(BRPORT_STATE, s));
        }
        if let Some(v) = want.learning {
            nested.push(flag(BRPORT_LEARNING, u8::from(v)));
        }
        if want.learning == Some(false) {
            // The MACs it learnt stay for 300 s, and frames to them still go out the port:
            // a port that stops learning forgets them now (the state an undo restores).
            nested.push(LinkProtoInfoBridge::Other(DefaultNla::new(
                BRPORT_FLUSH,
                vec![],
            )));
        }
        if let Some(v) = want.flood {
            nested.push(flag(BRPORT_UNICAST_FLOOD, u8::from(v)));
        }
        // All flags in one message, as `bridge link set dev X isolated off state 3` sends them.
        let mut msg = LinkMessage::default();
        msg.header.interface_family = AddressFamily::Bridge;
        msg.header.index = dev.header.index;
        msg.attributes.push(LinkAttribute::ProtoInfoBridge(nested));
        h.link()
            .set(msg)
            .execute()
            .await
            .map_err(|e| StepError::kernel(format!("cannot set bridge port {link} in {ns}"), e))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn port(isolated: Option<bool>, state: Option<u8>, learning: Option<bool>) -> Step {
        Step::SetBridgePort {
            ns: "red".into(),
            link: "p0".into(),
            isolated,
            state,
            learning,
            flood: Some(true),
        }
    }

    /// Words, preview and checks of a step that sets every flag, and of one that sets few.
    #[test]
    fn words_commands_and_checks() {
        let all = port(Some(true), Some(3), Some(false));
        assert_eq!(
            all.to_string(),
            "set bridge port p0 isolated on state forwarding learning off flood on in red \
             (forgetting the MACs it learnt)"
        );
        assert_eq!(
            BridgePorts.commands(&all),
            [
                "bridge -n red link set dev p0 isolated on state 3 learning off flood on",
                "ip -n red link set dev p0 type bridge_slave fdb_flush"
            ]
        );
        assert_eq!(BridgePorts.check(&all, Role::Forward), Ok(()));
        let few = port(None, None, Some(true));
        assert_eq!(
            few.to_string(),
            "set bridge port p0 learning on flood on in red"
        );
        assert_eq!(
            BridgePorts.commands(&few),
            ["bridge -n red link set dev p0 learning on flood on"]
        );
        let bad = port(None, Some(5), None);
        assert_eq!(
            BridgePorts.check(&bad, Role::Forward),
            Err("bridge port state 5 is not one of 0..=4 \
                 (disabled, listening, learning, forwarding, blocking)"
                .to_string())
        );
        let none = Step::SetBridgePort {
            ns: "red".into(),
            link: "p0".into(),
            isolated: None,
            state: None,
            learning: None,
            flood: None,
        };
        assert_eq!(
            BridgePorts.check(&none, Role::Inverse),
            Err("the step sets no flag of bridge port p0".to_string())
        );
    }

    /// The inverse sets back only the flags that change, to what the port had.
    #[test]
    fn undo_sets_back_what_changes() {
        let (_, _, want) = parts(&port(Some(true), Some(3), Some(false)));
        let have = Flags {
            isolated: Some(false),
            state: Some(3),
            learning: Some(true),
            flood: Some(true),
        };
        let back = undo_flags(want, have).expect("every flag is reported");
        assert!(
            back == Flags {
                isolated: Some(false),
                learning: Some(true),
                ..Flags::default()
            }
        );
        assert!(undo_flags(want, want).expect("holds already") == Flags::default());
        let unreported = Flags {
            learning: None,
            ..have
        };
        assert_eq!(
            undo_flags(want, unreported).err().as_deref(),
            Some("the kernel does not report the port's learning flag")
        );
    }
}
