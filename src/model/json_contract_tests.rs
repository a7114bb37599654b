//! The JSON contract: the committed demo snapshots decode into the model and encode back to
//! the very same bytes. Any change of a field's type (the typed-model work: enums for kind,
//! scope, family, …) must keep this passing, or it changed what `snapshot --json` writes.

use super::{Snapshot, SCHEMA_VERSION};

/// `netlens snapshot --json` output saved in `assets/` (pretty-printed, one trailing newline).
const DEMOS: [(&str, &str); 2] = [
    ("demo-bridge", include_str!("../../assets/demo-bridge.json")),
    (
        "demo-cluster",
        include_str!("../../assets/demo-cluster.json"),
    ),
];

#[test]
fn demo_snapshots_round_trip_byte_for_byte() {
    for (name, text) in DEMOS {
        let snap: Snapshot = serde_json::from_str(text).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(snap.schema_version, SCHEMA_VERSION, "{name}");
        let again = serde_json::to_string_pretty(&snap).expect("encode") + "\n";
        if again != text {
            // Name the first differing line rather than print 100 kB twice.
            let (i, (a, b)) = text
                .lines()
                .zip(again.lines())
                .enumerate()
                .find(|(_, (a, b))| a != b)
                .unwrap_or((0, ("(length differs)", "")));
            panic!("{name}: line {}: committed {a:?}, re-encoded {b:?}", i + 1);
        }
    }
}

#[test]
fn demo_snapshots_round_trip_value_for_value() {
    for (name, text) in DEMOS {
        let before: serde_json::Value = serde_json::from_str(text).expect("json");
        let snap: Snapshot = serde_json::from_str(text).expect("snapshot");
        let after = serde_json::to_value(&snap).expect("encode");
        assert_eq!(before, after, "{name}");
    }
}
