//! The tabs: their order, keys, titles and table headers (their columns' widths and
//! priorities are in `columns.rs`). The rows of the
//! per-namespace tabs are built on demand in `tab_rows.rs` (re-exported here).

pub use super::tab_rows::{link_is_down, row_count, row_keys, rows};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    Links,
    Addresses,
    Routes,
    Neighbors,
    Firewall,
    Dns,
    Sockets,
    /// The whole node as a picture (not per namespace).
    Topology,
    /// The doctor's findings for the whole node.
    Problems,
    /// Live packets on a link of the selected namespace.
    Capture,
    /// The Kubernetes ports of the selected namespace (a node, or a kind node's namespace).
    Ports,
}

impl Tab {
    pub const ALL: [Tab; 11] = [
        Tab::Links,
        Tab::Addresses,
        Tab::Routes,
        Tab::Neighbors,
        Tab::Firewall,
        Tab::Dns,
        Tab::Sockets,
        Tab::Topology,
        Tab::Problems,
        Tab::Capture,
        Tab::Ports,
    ];

    pub fn title(self) -> &'static str {
        match self {
            Tab::Links => "Links",
            Tab::Addresses => "Addresses",
            Tab::Routes => "Routes",
            Tab::Neighbors => "Neighbors",
            Tab::Firewall => "Firewall",
            Tab::Dns => "DNS",
            Tab::Sockets => "Sockets",
            Tab::Topology => "Topology",
            Tab::Problems => "Problems",
            Tab::Capture => "Capture",
            Tab::Ports => "Ports",
        }
    }

    /// Its place in [`Tab::ALL`] (declared in that order; a test holds them together).
    pub const fn index(self) -> usize {
        self as usize
    }

    pub fn header(self) -> &'static [&'static str] {
        match self {
            Tab::Links => &["#", "name", "kind", "state", "mtu", "mac", "master", "peer"],
            Tab::Addresses => &["dev", "address", "scope"],
            Tab::Routes => &[
                "table",
                "destination",
                "via",
                "dev",
                "proto",
                "scope",
                "src",
            ],
            Tab::Neighbors => &["address", "dev", "lladdr", "state"],
            Tab::Firewall => &["table", "chain", "pkts", "bytes", "rule"],
            Tab::Dns => &["file", "line"],
            Tab::Sockets => &["proto", "address", "port", "process"],
            Tab::Topology => &[],
            Tab::Problems => &["severity", "namespace", "finding", "fix"],
            Tab::Capture => &["#", "time", "bytes", "packet"],
            Tab::Ports => &[
                "port",
                "proto",
                "component",
                "listening",
                "address",
                "INPUT",
                "problem",
            ],
        }
    }

    /// Whether the tab shows the whole node rather than the selected namespace.
    pub fn node_wide(self) -> bool {
        matches!(self, Tab::Topology | Tab::Problems)
    }

    /// The key that opens it, shown before its title on the tab bar.
    pub fn key(self) -> char {
        match self {
            Tab::Capture => '0',
            Tab::Ports => 'K',
            t => char::from(b'1' + t.index() as u8),
        }
    }

    /// Its title on the tab bar: ` 1 Links `.
    pub fn label(self) -> String {
        format!(" {} {} ", self.key(), self.title())
    }

    /// Its table's columns, in the order of [`Tab::header`] (a test holds them together).
    pub fn columns(self) -> &'static [Col] {
        super::columns::of(self)
    }
}

pub use super::columns::{fit, Col, CAPTURE_LINKS};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_is_the_place_in_all() {
        for (i, t) in Tab::ALL.iter().enumerate() {
            assert_eq!(t.index(), i, "{t:?}");
        }
    }

    #[test]
    fn every_header_has_its_columns() {
        for t in Tab::ALL {
            assert_eq!(t.columns().len(), t.header().len(), "{t:?}");
        }
    }
}
