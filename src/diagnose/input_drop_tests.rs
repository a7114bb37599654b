//! `input-drop` passing over firewalls that hold nothing ([`passes_everything`]) finds what
//! judging every neighbour finds: seeded small nodes whose pods get random firewalls (none,
//! empty tables, a DROP policy, a rule dropping the pod's port, an ACCEPT-only rule), the
//! findings compared with the plain check's.
//!
//! [`passes_everything`]: crate::firewall::eval::passes_everything

use super::check_with;
use crate::diagnose::facts::Facts;
use crate::diagnose::node_fixture::{node_snapshot, NodeShape};
use crate::firewall::{iptables_save, Backend, Firewall, IpFamily, XtSource};
use crate::test_rng::Rng;

fn random_firewall(rng: &mut Rng) -> Option<Firewall> {
    let text = match rng.below(6) {
        0 => return None,
        1 => return Some(Firewall::default()),
        2 => "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n",
        3 => "*filter\n:INPUT DROP [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n",
        4 => "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -p tcp -m tcp --dport 8080 -j DROP\nCOMMIT\n",
        _ => "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\nCOMMIT\n",
    };
    let (iptables, errors) = iptables_save::parse(text, IpFamily::V4, XtSource::Nft);
    assert!(errors.is_empty(), "{errors:?}");
    Some(Firewall {
        backends: vec![Backend::IptablesNft],
        iptables,
        nft: Vec::new(),
        errors: Vec::new(),
    })
}

#[test]
fn skipping_empty_firewalls_finds_what_judging_them_finds() {
    let mut rng = Rng(0x001d_0e11);
    let mut found = 0;
    for seed in 0..40 {
        let mut snap = node_snapshot(NodeShape::pods(6));
        for ns in snap.namespaces.iter_mut().skip(1) {
            ns.firewall = random_firewall(&mut rng);
        }
        let f = Facts::new(&snap);
        let fast = check_with(&f, true);
        let plain = check_with(&f, false);
        assert_eq!(fast, plain, "seed {seed}");
        found += fast.len();
    }
    assert!(found > 10, "some drops drawn: {found}");
}
