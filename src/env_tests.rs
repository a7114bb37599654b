use std::collections::HashMap;
use std::ffi::OsString;
use std::path::PathBuf;

use super::*;

fn from(vars: &[(&str, &str)]) -> Settings {
    let map: HashMap<String, OsString> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), OsString::from(v)))
        .collect();
    Settings::from_lookup(|name| map.get(name).cloned())
}

#[test]
fn no_variables_are_the_defaults() {
    assert_eq!(from(&[]), Settings::default());
    assert!(Settings::default().color);
}

#[test]
fn every_variable_lands_in_its_field() {
    let s = from(&[
        (NETNS_DIR, "/run/t-ns"),
        (CNI_CONF_DIR, "/c"),
        (CNI_BIN_DIRS, "/b1::/b2"),
        (CNI_DATA_DIR, "/d"),
        (RUNTIME_ROOT, "/r"),
        (STATE_DIR, "/s"),
        (SYSCTL_DIR, "/y"),
        (NO_COLOR, "1"),
        (PROGRESS, "always"),
        (DEBUG_TIMING, "/t.log"),
    ]);
    assert_eq!(s.netns_dir, Some(PathBuf::from("/run/t-ns")));
    assert_eq!(s.cni.conf_dir, Some(PathBuf::from("/c")));
    assert_eq!(
        s.cni.bin_dirs,
        Some(vec![PathBuf::from("/b1"), PathBuf::from("/b2")])
    );
    assert_eq!(s.cni.data_dir, Some(PathBuf::from("/d")));
    assert_eq!(s.cni.runtime_root, Some(PathBuf::from("/r")));
    assert_eq!(s.state_dir, Some(PathBuf::from("/s")));
    assert_eq!(s.sysctl_dir, Some(PathBuf::from("/y")));
    assert!(!s.color);
    assert_eq!(s.progress, Some(true));
    assert_eq!(s.debug_timing, Some(PathBuf::from("/t.log")));
    assert_eq!(from(&[(PROGRESS, "never")]).progress, Some(false));
    assert_eq!(from(&[(PROGRESS, "maybe")]).progress, None);
}

#[test]
fn an_empty_value_is_unset() {
    let s = from(&[
        (NETNS_DIR, ""),
        (STATE_DIR, ""),
        (CNI_BIN_DIRS, ""),
        (NO_COLOR, ""),
    ]);
    assert_eq!(s, Settings::default());
}

#[test]
fn test_hooks_are_read_only_with_the_feature() {
    let s = from(&[
        ("NETLENS_TEST_PAUSE_AFTER_STEP", "3"),
        ("NETLENS_TEST_PAUSE_AFTER_UNDO_STEP", "2"),
        ("NETLENS_TEST_PANIC", "capture"),
        ("NETLENS_TEST_LISTING_CAP", "1048576"),
        ("NETLENS_TEST_LISTING_SECS", "x"),
    ]);
    if cfg!(feature = "test-hooks") {
        assert_eq!(
            s.hooks.pause_after_step(),
            Some(("NETLENS_TEST_PAUSE_AFTER_STEP", 3))
        );
        assert_eq!(
            s.hooks.pause_after_undo_step(),
            Some(("NETLENS_TEST_PAUSE_AFTER_UNDO_STEP", 2))
        );
        assert_eq!(s.hooks.panic(), Some("capture"));
        assert_eq!(s.hooks.listing_limits(), (Some(1_048_576), None));
    } else {
        assert_eq!(s, Settings::default());
        assert_eq!(s.hooks.pause_after_step(), None);
        assert_eq!(s.hooks.pause_after_undo_step(), None);
        assert_eq!(s.hooks.panic(), None);
        assert_eq!(s.hooks.listing_limits(), (None, None));
    }
}
