//! The local-delivery stage of a hop: the packet is for this namespace. A reply is un-DNATed
//! on its way in, INPUT may drop it, and a TCP/UDP request needs a listener.

use std::net::IpAddr;

use super::leg::{At, End, Here};
use super::{Binding, Hop, Outcome, Walk};
use crate::firewall::eval::{self, Verdict};
use crate::model::Namespace;

impl Walk<'_> {
    /// 3. Local delivery: always ends the leg.
    pub(super) fn deliver(
        &self,
        here: &Here<'_>,
        at: &At,
        src_now: IpAddr,
        bindings: &mut [Binding],
        hop: &mut Hop,
    ) -> End {
        let (ns, dst, port) = (here.ns, at.dst, at.port);
        // A reply to a connection this namespace DNATed itself (OUTPUT, e.g. a
        // service address) is un-DNATed on its way in (conntrack, at INPUT).
        if let Some(b) = bindings
            .iter_mut()
            .filter(|_| here.reply)
            .find(|b| b.ns == at.ns && !b.snat && !b.undone && b.new == src_now)
        {
            hop.nat.push(format!(
                "reply from {} shows {} again (un-DNAT)",
                b.new, b.orig
            ));
            b.undone = true;
            hop.src = b.orig;
        }
        if here.iif.is_some() {
            let p = here.pkt(src_now, dst, port, None);
            if let (Verdict::Drop { by }, _) = here.judge(eval::INPUT, "INPUT", &p, hop) {
                let finding = self.finding(&at.ns, &["forward-drop"], None);
                return End::dropped(&at.ns, format!("INPUT drops it: {by}"), finding);
            }
        }
        hop.verdict = "delivered".into();
        let listener = if here.reply {
            None
        } else {
            self.listener(ns, dst, port)
        };
        if let Some(Err(why)) = &listener {
            let outcome = Outcome::Broken {
                namespace: at.ns.clone(),
                cause: why.clone(),
                finding: None,
                no_fix: None,
            };
            return End::outcome(outcome, None);
        }
        let outcome = Outcome::Delivered {
            namespace: at.ns.clone(),
            listener: listener.and_then(Result::ok),
        };
        End::outcome(outcome, Some((at.ns.clone(), src_now, dst)))
    }

    /// `Ok(Some(who))` when a process listens, `Err(why)` when a TCP/UDP port has nobody.
    fn listener(
        &self,
        ns: &Namespace,
        dst: IpAddr,
        port: Option<u16>,
    ) -> Option<Result<String, String>> {
        let port = port?;
        if self.proto == "icmp" {
            return None;
        }
        let s = ns.sockets.iter().find(|s| {
            s.proto.starts_with(&self.proto)
                && s.port == port
                && (s.address == dst || s.address.is_unspecified())
        });
        Some(match s {
            Some(s) => Ok(s
                .processes
                .first()
                .map(|p| format!("{} (pid {})", p.comm, p.pid))
                .unwrap_or_else(|| format!("{}/{port}", self.proto))),
            None => Err(format!(
                "nothing listens on {}/{port} at {dst} in {} (the connection is refused)",
                self.proto, ns.name
            )),
        })
    }
}
