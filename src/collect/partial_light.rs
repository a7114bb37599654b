//! The live model's periodic refresh of what has no kernel event: sysctls the netconf
//! events do not cover (bridge-nf-call-*, ARP, conntrack counts; forwarding and rp_filter
//! come as netconf events), listening sockets, the
//! firewall and the DNS files. Links, addresses, routes, neighbours and rules come with
//! events (and a lost batch, ENOBUFS, re-reads its namespace whole), so reading them again
//! every minute bought nothing but cost: at 1000 pods the whole read was most of an idle
//! node's CPU. The whole read stays as the slow safety net, every [`WHOLE_EVERY`], and on
//! `r`.
//!
//! The firewall is read only when its nftables generation moved (`nfnetlink::generation`;
//! iptables-nft's changes move it too, counters never do): a node's thousands of
//! kube-proxy rules are not saved and parsed again for nothing. Legacy x_tables have no
//! generation and are read every time. Counters shown are therefore as of the last change
//! of the rules, the last whole read or `r`.
//!
//! A namespace whose parts compare equal keeps the model's copy; one that differs takes
//! the fresh parts and is reported changed and read whole (its patch carries them).

use std::collections::{BTreeSet, HashSet};
use std::time::Duration;

use super::parallel;
use super::partial::Live;
use super::snapshot::{read_dns_files, SnapshotError};
use super::touched::Touched;
use super::{sockets, sysctl};
use crate::firewall::nfnetlink;
use crate::model::firewall::Firewall;
use crate::model::{ListeningSocket, NsStatus, Sysctls};
use crate::netns::discover::discover;

/// How often the periodic refresh reads the whole node instead (see the module doc).
pub const WHOLE_EVERY: Duration = Duration::from_secs(300);

/// What a light read found in one namespace (`None` when it could not be entered: the
/// model is kept; the next whole read says why).
struct Light {
    sysctls: Sysctls,
    sockets: Option<Vec<ListeningSocket>>,
    /// `None`: the ruleset generation is the one recorded, the model's rules stand.
    firewall: Option<Firewall>,
    /// The generation the firewall was read at, when it has one (no legacy tables).
    generation: Option<u32>,
}

impl Live {
    /// Whether the periodic refresh should read the node whole this time.
    pub fn whole_due(&self) -> bool {
        self.whole_at.elapsed() >= WHOLE_EVERY
    }

    /// The periodic refresh (`touched.full` from the watcher's clock): the node whole when
    /// [`Live::whole_due`], else the events folded into `touched` as [`Live::refresh`]
    /// reads them and every namespace's event-less parts, patching those that differ into
    /// the model. Returns the inodes changed; those whose parts differed are also in
    /// [`Live::read_whole`] (their patch carries firewall, sockets and DNS files).
    pub fn refresh_periodic(
        &mut self,
        mut touched: Touched,
    ) -> Result<BTreeSet<u64>, SnapshotError> {
        if self.whole_due() {
            touched.full = true;
            return self.refresh(touched);
        }
        touched.full = false;
        // Processes holding namespaces come and go without an event, and the watcher scans
        // only when the set of namespaces changes: scan here (tens of ms at 1000 pods).
        if touched.discovery.is_none() {
            touched.discovery = Some(discover());
        }
        let mut changed = self.refresh(touched)?;
        let light = self.refresh_light();
        // What the light read changed is sent whole (with its sockets, firewall, DNS files).
        self.deltas.retain(|inode, _| !light.contains(inode));
        changed.extend(light);
        Ok(changed)
    }

    /// Reads every namespace's event-less parts again (see [`Live::refresh_periodic`]).
    fn refresh_light(&mut self) -> BTreeSet<u64> {
        let indexes: Vec<usize> = (0..self.snapshot.namespaces.len())
            .filter(|&i| self.snapshot.namespaces[i].status == NsStatus::Ok)
            .collect();
        let read = self.read_light(&indexes);
        let dns = read_dns_files(&self.snapshot.namespaces, &self.discovery);

        // Who holds each listening socket: one scan of /proc for all (a socket handed to
        // another process, or its holder restarted, changes no list).
        let wanted: HashSet<u64> = read
            .iter()
            .flatten()
            .flat_map(|l| l.sockets.iter().flatten().map(|s| s.inode))
            .filter(|i| *i != 0)
            .collect();
        let owners = if wanted.is_empty() {
            Default::default()
        } else {
            sockets::socket_owners(&wanted)
        };
        let mut changed = BTreeSet::new();
        for (&i, light) in indexes.iter().zip(read) {
            let Some(light) = light else { continue };
            let ns = &mut self.snapshot.namespaces[i];
            match light.generation {
                Some(g) => self.fw_gen.insert(ns.inode, g),
                None => self.fw_gen.remove(&ns.inode),
            };
            let mut differs = false;
            if ns.sysctls != light.sysctls {
                ns.sysctls = light.sysctls;
                differs = true;
            }
            if let Some(mut fresh) = light.sockets {
                for s in &mut fresh {
                    if let Some(p) = owners.get(&s.inode) {
                        s.processes.clone_from(p);
                    }
                }
                if ns.sockets != fresh {
                    ns.sockets = fresh;
                    differs = true;
                }
            }
            if let Some(fw) = light.firewall {
                if ns.firewall.as_ref() != Some(&fw) {
                    ns.firewall = Some(fw);
                    differs = true;
                }
            }
            if let Some(Some(files)) = dns.get(i) {
                if ns.dns.as_ref() != Some(files) {
                    ns.dns = Some(files.clone());
                    differs = true;
                }
            }
            if differs {
                changed.insert(ns.inode);
            }
        }
        self.read_whole.extend(changed.iter().copied());
        changed
    }

    /// Reads the event-less parts of the namespaces at `indexes`, each on a setns thread
    /// (`None` where it could not be entered: the model is kept).
    fn read_light(&self, indexes: &[usize]) -> Vec<Option<Light>> {
        let found = &self.discovery.namespaces;
        let namespaces = &self.snapshot.namespaces;
        let (probe, firewall, gens) = (self.probe, self.opts.firewall, &self.fw_gen);
        let job = |&i: &usize, current: &mut Option<u64>| -> Option<Light> {
            let (_file, status) = parallel::enter(&found[i], current);
            if status != NsStatus::Ok {
                return None;
            }
            let ns = &namespaces[i];
            let mut sysctls = ns.sysctls.clone();
            sysctl::refresh_eventless(&mut sysctls, &ns.links, probe);
            let sockets = sockets::read_listening().ok();
            let (firewall, generation) = if firewall {
                read_firewall(gens.get(&ns.inode).copied())
            } else {
                (None, None)
            };
            Some(Light {
                sysctls,
                sockets,
                firewall,
                generation,
            })
        };
        let own = self.discovery.own_inode;
        parallel::each(indexes, own, parallel::workers(), &job, &|_, _| None)
    }
}

/// The firewall of the calling thread's namespace, unless its nftables generation is
/// `known` and there are no legacy tables (then `None`: unchanged); and the generation it
/// was read at, if it has one. The generation is asked before the rules, so a change
/// made while they are read moves it past the one recorded and is read next time.
fn read_firewall(known: Option<u32>) -> (Option<Firewall>, Option<u32>) {
    let legacy = ["ip_tables_names", "ip6_tables_names"].iter().any(|f| {
        let path = format!("/proc/thread-self/net/{f}");
        std::fs::read_to_string(path).is_ok_and(|t| !t.trim().is_empty())
    });
    let generation = nfnetlink::generation().ok().flatten().filter(|_| !legacy);
    if generation.is_some() && generation == known {
        return (None, generation);
    }
    let fw = crate::firewall::collect::collect_in_current_netns();
    // A read that failed in part (a tool cut short, a check refused) is not trusted as of
    // its generation: read again next time.
    let generation = generation.filter(|_| fw.errors.is_empty());
    (Some(fw), generation)
}
