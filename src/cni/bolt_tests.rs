use super::*;
use proptest::prelude::*;

const IPAM: &[u8] = include_bytes!("../../tests/samples/podman/netavark/ipam.db");

/// (network, subnet bucket, key, value)
type Row = (String, String, Vec<u8>, Vec<u8>);

/// Every row of a netavark ipam.db, walked generically.
fn walk(data: &[u8]) -> Result<Vec<Row>, String> {
    let db = Db::open(data)?;
    let mut out = Vec::new();
    for net in db.entries(db.root())? {
        let Some(b) = nested(&net) else { continue };
        for sub in db.entries(b)? {
            let Some(sb) = nested(&sub) else { continue };
            for e in db.entries(sb)? {
                out.push((
                    String::from_utf8_lossy(net.key).into_owned(),
                    String::from_utf8_lossy(sub.key).into_owned(),
                    e.key.to_vec(),
                    e.value.to_vec(),
                ));
            }
        }
    }
    Ok(out)
}

#[test]
fn reads_podman_ipam_db() {
    let all = walk(IPAM).unwrap();
    let ips: Vec<(String, Vec<u8>)> = all
        .iter()
        .filter(|(_, sub, k, _)| sub != "ids" && k.len() == 4)
        .map(|(net, _, k, _)| (net.clone(), k.clone()))
        .collect();
    // podman inspect (podman-inspect.txt): c1, c2 on podman; c3…c7 on small.
    assert_eq!(ips.len(), 7, "{all:?}");
    assert!(ips.contains(&("podman".into(), vec![10, 88, 0, 2])));
    assert!(ips.contains(&("small".into(), vec![10, 77, 0, 6])));
    let ids = all.iter().filter(|(_, sub, _, _)| sub == "ids").count();
    assert_eq!(ids, 7);
}

#[test]
fn cycles_and_garbage_are_errors() {
    assert!(Db::open(b"").is_err());
    assert!(Db::open(&[0u8; 8192]).is_err());
    // Point the root bucket's page at a branch page whose child is itself.
    let mut data = IPAM.to_vec();
    let db = Db::open(&data).unwrap();
    let Bucket::Page(root) = db.root() else {
        panic!()
    };
    let ps = db.page_size;
    let at = root as usize * ps;
    data[at + 8..at + 10].copy_from_slice(&BRANCH.to_le_bytes());
    data[at + 10..at + 12].copy_from_slice(&1u16.to_le_bytes());
    data[at + 16 + 8..at + 16 + 16].copy_from_slice(&root.to_le_bytes());
    let db = Db::open(&data).unwrap();
    let err = db.entries(db.root()).unwrap_err();
    assert!(err.contains("cycle"), "{err}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Damaged copies of a real database: bytes overwritten anywhere, or cut short.
    #[test]
    fn damaged_db_never_panics(
        edits in prop::collection::vec((0usize..65_536, any::<u8>()), 1..64),
        cut in 0usize..65_536,
    ) {
        let mut data = IPAM.to_vec();
        for (at, b) in edits {
            data[at % IPAM.len()] = b;
        }
        let _ = walk(&data);
        let _ = walk(&data[..cut.min(data.len())]);
    }

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..10_000)) {
        let _ = walk(&bytes);
    }
}
