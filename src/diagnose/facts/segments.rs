//! Layer-2 segments: links joined by bridge ports and veth pairs (union-find), and whether
//! every end of a segment is visible.

use crate::model::fast_hash::FxHashMap;

use super::{Facts, LinkKey, Segment};
use crate::model::{Link, LinkKind, Namespace};

impl<'a> Facts<'a> {
    pub(super) fn build_segments(&mut self) {
        // Union-find over every link of every readable namespace.
        let mut keys: Vec<LinkKey> = Vec::new();
        for (i, ns) in &self.namespaces {
            for l in &ns.links {
                if l.kind != LinkKind::Loopback && l.name != "lo" {
                    keys.push((*i, l.index));
                }
            }
        }
        let pos: FxHashMap<LinkKey, usize> =
            keys.iter().enumerate().map(|(p, k)| (*k, p)).collect();
        let mut parent: Vec<usize> = (0..keys.len()).collect();
        fn find(parent: &mut [usize], mut x: usize) -> usize {
            while parent[x] != x {
                parent[x] = parent[parent[x]];
                x = parent[x];
            }
            x
        }
        let union = |parent: &mut Vec<usize>, a: usize, b: usize| {
            let (ra, rb) = (find(parent, a), find(parent, b));
            if ra != rb {
                parent[ra] = rb;
            }
        };
        let mut open = vec![false; keys.len()];
        for (p, key) in keys.iter().enumerate() {
            let Some((ns, link)) = self.link(*key) else {
                continue;
            };
            if let Some(m) = link.master_index {
                if let Some(q) = pos.get(&(key.0, m)) {
                    union(&mut parent, p, *q);
                }
            }
            match link.kind {
                LinkKind::Veth => match self.peer(ns, link) {
                    Some((pns, plink)) => {
                        if let Some(q) = self
                            .ns_idx(&pns.name)
                            .and_then(|pi| pos.get(&(pi, plink.index)))
                        {
                            union(&mut parent, p, *q);
                        }
                    }
                    None => open[p] = true,
                },
                LinkKind::Bridge => {}
                // NICs, vxlan, tun, …: the segment continues somewhere we cannot see.
                _ => open[p] = true,
            }
        }
        let mut root_to_seg: FxHashMap<usize, usize> = FxHashMap::default();
        for p in 0..keys.len() {
            let r = find(&mut parent, p);
            let seg = *root_to_seg.entry(r).or_insert_with(|| {
                self.segments.push(Segment {
                    links: Vec::new(),
                    closed: true,
                });
                self.segments.len() - 1
            });
            self.segments[seg].links.push(keys[p]);
            if open[p] {
                self.segments[seg].closed = false;
            }
            self.segment_of.insert(keys[p], seg);
        }
        for key in &keys {
            let up = self.link(*key).is_some_and(|(_, l)| l.is_up());
            let Some(&seg) = self.segment_of.get(key).filter(|_| up) else {
                continue;
            };
            self.up_segments.entry(key.0).or_default().insert(seg);
            if !self.segments[seg].closed {
                self.up_open.entry(key.0).or_default().push(key.1);
            }
        }
    }

    pub fn segment_id(&self, ns: &Namespace, link: &Link) -> Option<usize> {
        let i = self.ns_idx(&ns.name)?;
        self.segment_of.get(&(i, link.index)).copied()
    }

    pub fn segment(&self, id: usize) -> &Segment {
        &self.segments[id]
    }

    pub fn segments(&self) -> impl Iterator<Item = (usize, &Segment)> {
        self.segments.iter().enumerate()
    }

    /// Whether two links share a layer-2 segment.
    pub fn same_segment(&self, a: (&Namespace, &Link), b: (&Namespace, &Link)) -> bool {
        match (self.segment_id(a.0, a.1), self.segment_id(b.0, b.1)) {
            (Some(x), Some(y)) => x == y,
            _ => false,
        }
    }
}
