//! The deltas of a refresh (`collect::NsDelta`, `partial_patch.rs`) completed after the
//! veths are paired: the links read as the model holds them paired, and veths outside the
//! read paired anew as the other end of one read elsewhere.

use super::partial::Live;

impl Live {
    /// Veths paired anew as the other end of one read elsewhere, in namespaces changed by a
    /// link-scoped read but outside the links read: carried by that read's delta.
    pub(super) fn carry_paired(&mut self, peers: &[(usize, u32)]) {
        let names = &self.snapshot.namespaces;
        let in_scope = |i: usize, index: u32| {
            let d = self.deltas.get(&names[i].inode);
            d.is_some_and(|d| d.parts.links.is_some() && d.parts.scope.contains(&index))
        };
        let paired_outside: Vec<(usize, u32)> = peers
            .iter()
            .filter(|&&(i, index)| !in_scope(i, index))
            .copied()
            .collect();
        for (i, index) in paired_outside {
            let ns = &self.snapshot.namespaces[i];
            let (Some(d), Some(l)) = (
                self.deltas.get_mut(&ns.inode),
                ns.links.iter().find(|l| l.index == index),
            ) else {
                continue;
            };
            d.paired.retain(|p| p.index != index);
            d.paired.push(l.clone());
        }
    }

    /// The links of the deltas as the model holds them after pairing (a veth's peer is
    /// found after the read): a copy applying the delta gets the model's links.
    pub(super) fn pair_deltas(&mut self) {
        if self.deltas.is_empty() {
            return;
        }
        for ns in &self.snapshot.namespaces {
            let Some(links) = self
                .deltas
                .get_mut(&ns.inode)
                .and_then(|d| d.parts.links.as_mut())
            else {
                continue;
            };
            for (index, link) in links.iter_mut() {
                if let Some(l) = link {
                    if let Some(now) = ns.links.iter().find(|x| x.index == *index) {
                        l.clone_from(now);
                    }
                }
            }
        }
    }
}
