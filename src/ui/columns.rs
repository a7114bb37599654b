//! The tables' columns: each with the width it likes, the least it may have, and how soon it
//! goes when the table is narrow. `fit` picks the columns a width can hold, so an 80-column
//! terminal drops a link's MAC before its name, and the key column (name, destination,
//! address, rule…) is never cut to a letter. Header and rows are both taken through the one
//! list `fit` returns, so they stay in step.

use super::tabs::Tab;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Col {
    /// Width it gets when there is room.
    pub width: u16,
    /// Width below which it is dropped rather than squeezed.
    pub min: u16,
    /// 0: a key column, never dropped; otherwise the highest goes first.
    pub drop: u8,
}

const fn c(width: u16, min: u16, drop: u8) -> Col {
    Col { width, min, drop }
}

// #, name, kind, state, mtu, mac, master, peer
const LINKS: &[Col] = &[
    c(4, 3, 5),
    c(16, 15, 0),
    c(9, 8, 2),
    c(9, 8, 1),
    c(6, 5, 3),
    c(18, 17, 6),
    c(12, 8, 4),
    c(30, 14, 2),
];
// dev, address, scope
const ADDRESSES: &[Col] = &[c(16, 12, 1), c(42, 28, 0), c(8, 6, 2)];
// table, destination, via, dev, proto, scope, src
const ROUTES: &[Col] = &[
    c(7, 5, 3),
    c(24, 18, 0),
    c(18, 15, 1),
    c(14, 12, 2),
    c(8, 6, 4),
    c(7, 6, 5),
    c(16, 15, 6),
];
// address, dev, lladdr, state
const NEIGHBORS: &[Col] = &[c(28, 20, 0), c(14, 8, 1), c(18, 17, 3), c(11, 9, 2)];
// table, chain, pkts, bytes, rule
const FIREWALL: &[Col] = &[
    c(9, 6, 2),
    c(24, 12, 1),
    c(6, 5, 3),
    c(6, 5, 4),
    c(40, 20, 0),
];
// file, line
const DNS: &[Col] = &[c(34, 18, 1), c(80, 20, 0)];
// proto, address, port, process
const SOCKETS: &[Col] = &[c(6, 5, 2), c(40, 16, 0), c(6, 5, 0), c(30, 12, 1)];
// severity, namespace, finding, fix
// (The finding takes whatever room there is: the fix column after it is three wide.)
const PROBLEMS: &[Col] = &[c(8, 8, 2), c(18, 18, 1), c(400, 20, 0), c(4, 3, 3)];
// #, time, bytes, packet
const CAPTURE: &[Col] = &[c(7, 5, 2), c(16, 9, 3), c(9, 5, 4), c(60, 20, 0)];
/// The Capture tab before a capture: the links to start one on (#, link, kind, state).
pub const CAPTURE_LINKS: &[Col] = &[c(5, 3, 2), c(16, 15, 0), c(9, 6, 1), c(10, 8, 0)];
// port, proto, component, listening, address, INPUT, problem
const PORTS: &[Col] = &[
    c(12, 11, 0),
    c(6, 5, 4),
    c(24, 12, 1),
    c(22, 10, 2),
    c(16, 10, 5),
    c(8, 6, 3),
    c(40, 16, 0),
];

/// `tab`'s columns, in the order of its header.
pub(super) fn of(tab: Tab) -> &'static [Col] {
    match tab {
        Tab::Links => LINKS,
        Tab::Addresses => ADDRESSES,
        Tab::Routes => ROUTES,
        Tab::Neighbors => NEIGHBORS,
        Tab::Firewall => FIREWALL,
        Tab::Dns => DNS,
        Tab::Sockets => SOCKETS,
        Tab::Topology => &[],
        Tab::Problems => PROBLEMS,
        Tab::Capture => CAPTURE,
        Tab::Ports => PORTS,
    }
}

/// The columns of `cols` that fit `width` (the table's inside, one column of space between
/// columns) and the width each gets, in order. The least important go first until the rest
/// fit at their least; then each grows towards the width it likes, key columns first, and
/// the last one shown takes what is left.
pub fn fit(cols: &[Col], width: u16) -> Vec<(usize, u16)> {
    let mut kept: Vec<usize> = (0..cols.len()).collect();
    let need = |kept: &[usize]| -> u32 {
        let mins: u32 = kept.iter().map(|&i| u32::from(cols[i].min)).sum();
        mins + kept.len().saturating_sub(1) as u32
    };
    while need(&kept) > u32::from(width) {
        // The highest `drop`; of equals, the rightmost.
        let Some(pos) = kept
            .iter()
            .enumerate()
            .filter(|(_, &i)| cols[i].drop > 0)
            .max_by_key(|(p, &i)| (cols[i].drop, *p))
            .map(|(p, _)| p)
        else {
            break;
        };
        kept.remove(pos);
    }
    let mut widths: Vec<u16> = kept.iter().map(|&i| cols[i].min).collect();
    let mut spare = u32::from(width).saturating_sub(need(&kept));
    let mut order: Vec<usize> = (0..kept.len()).collect();
    order.sort_by_key(|&p| cols[kept[p]].drop);
    for p in order {
        let grow = u32::from(cols[kept[p]].width.saturating_sub(widths[p])).min(spare);
        widths[p] += grow as u16;
        spare -= grow;
    }
    if let Some(last) = widths.last_mut() {
        *last = last.saturating_add(spare.min(u32::from(u16::MAX)) as u16);
    }
    kept.into_iter().zip(widths).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shown(tab: Tab, width: u16) -> Vec<&'static str> {
        fit(tab.columns(), width)
            .into_iter()
            .map(|(i, _)| tab.header()[i])
            .collect()
    }

    #[test]
    fn narrow_tables_drop_the_least_important_columns_first() {
        // 80 columns less a 24-column sidebar and the table's borders.
        assert_eq!(
            shown(Tab::Routes, 54),
            ["table", "destination", "via", "dev"]
        );
        assert_eq!(
            shown(Tab::Links, 54),
            ["name", "kind", "state", "mtu", "peer"]
        );
        assert_eq!(shown(Tab::Routes, 200).len(), 7);
    }

    #[test]
    fn key_columns_keep_their_least_width_and_the_last_takes_the_rest() {
        for tab in Tab::ALL {
            for width in [20, 54, 78, 114, 164] {
                let got = fit(tab.columns(), width);
                let total: u32 = got.iter().map(|(_, w)| u32::from(*w)).sum::<u32>()
                    + got.len().saturating_sub(1) as u32;
                for (i, w) in &got {
                    let col = tab.columns()[*i];
                    assert!(*w >= col.min, "{tab:?} at {width}: column {i} is {w}");
                }
                if !got.is_empty() && total <= u32::from(width) {
                    assert_eq!(total, u32::from(width), "{tab:?} at {width}");
                }
                for (i, col) in tab.columns().iter().enumerate() {
                    if col.drop == 0 {
                        assert!(got.iter().any(|(k, _)| *k == i), "{tab:?} lost key {i}");
                    }
                }
            }
        }
    }
}
