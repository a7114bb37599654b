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

use super::exec::Engine;
use super::inverse::Prepared;
use super::step::Step;
use crate::rtnl::query::{need_link, nl_err};

/// The flags a port has now, in the step's terms.
#[derive(Default)]
struct Flags {
    isolated: Option<bool>,
    state: Option<u8>,
    learning: Option<bool>,
    flood: Option<bool>,
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

/// The port's flags as undo compares them; `None` when the link is gone.
pub fn observe(eng: &mut Engine, ns: &str, link: &str) -> Result<Option<String>, String> {
    let h = eng.handle(ns)?;
    let Some(dev) = eng.block_on(crate::rtnl::query::get_link(&h, link))? else {
        return Ok(None);
    };
    let Some(f) = flags_of(&dev) else {
        return Ok(Some("not a bridge port".into()));
    };
    let b = |v: Option<bool>| v.map_or("?", |v| if v { "on" } else { "off" });
    Ok(Some(format!(
        "isolated {} state {} learning {} flood {}",
        b(f.isolated),
        f.state.map_or("?".into(), super::net_steps::state_name),
        b(f.learning),
        b(f.flood)
    )))
}

pub fn prepare(eng: &mut Engine, step: &Step) -> Result<Prepared, String> {
    let Step::SetBridgePort {
        ns,
        link,
        isolated,
        state,
        learning,
        flood,
    } = step
    else {
        return Err(format!("not a bridge port step: {step}"));
    };
    let h = eng.handle(ns)?;
    let dev = eng.block_on(need_link(&h, ns, link))?;
    let have = flags_of(&dev).ok_or_else(|| format!("{link} in {ns} is not a bridge port"))?;
    let back = Step::SetBridgePort {
        ns: ns.clone(),
        link: link.clone(),
        isolated: old(*isolated, have.isolated, "isolated flag")?,
        state: old(*state, have.state, "state")?,
        learning: old(*learning, have.learning, "learning flag")?,
        flood: old(*flood, have.flood, "flood flag")?,
    };
    let noop = matches!(
        &back,
        Step::SetBridgePort {
            isolated: None,
            state: None,
            learning: None,
            flood: None,
            ..
        }
    );
    Ok(Prepared {
        noop,
        inverse: if noop { Vec::new() } else { vec![back] },
    })
}

pub fn execute(eng: &mut Engine, step: &Step) -> Result<(), String> {
    let Step::SetBridgePort {
        ns,
        link,
        isolated,
        state,
        learning,
        flood,
    } = step
    else {
        return Err(format!("not a bridge port step: {step}"));
    };
    let h = eng.handle(ns)?;
    eng.block_on(async {
        let dev = need_link(&h, ns, link).await?;
        let flag = |kind: u16, v: u8| LinkProtoInfoBridge::Other(DefaultNla::new(kind, vec![v]));
        let mut nested = Vec::new();
        if let Some(v) = isolated {
            nested.push(flag(BRPORT_ISOLATED, u8::from(*v)));
        }
        if let Some(s) = state {
            nested.push(flag(BRPORT_STATE, *s));
        }
        if let Some(v) = learning {
            nested.push(flag(BRPORT_LEARNING, u8::from(*v)));
        }
        if *learning == Some(false) {
            // The MACs it learnt stay for 300 s, and frames to them still go out the port:
            // a port that stops learning forgets them now (the state an undo restores).
            nested.push(LinkProtoInfoBridge::Other(DefaultNla::new(
                BRPORT_FLUSH,
                vec![],
            )));
        }
        if let Some(v) = flood {
            nested.push(flag(BRPORT_UNICAST_FLOOD, u8::from(*v)));
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
            .map_err(|e| format!("cannot set bridge port {link} in {ns}: {}", nl_err(e)))
    })
}
