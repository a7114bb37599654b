use super::super::{Form, Overlay};
use super::*;
use crate::ui::test_support::{asset, live, press, select, typed};
use crossterm::event::KeyCode;

fn form(a: &crate::ui::app::App) -> &Form {
    match &a.overlay {
        Overlay::Form(f) => f,
        other => panic!("no form: {other:?}"),
    }
}

#[test]
fn a_route_gets_its_device_from_the_gateway_not_the_selected_link() {
    let mut a = live(asset("demo-bridge.json"));
    select(&mut a, "bridge-red");
    // `lo` selected in the Links tab.
    press(&mut a, KeyCode::Char('l'));
    press(&mut a, KeyCode::Char('a'));
    press(&mut a, KeyCode::Char('r'));
    assert_eq!(form(&a).values(), ["default", "", ""]);
    press(&mut a, KeyCode::Down);
    typed(&mut a, "192.168.15.5");
    assert_eq!(form(&a).values()[2], "veth-red");
    assert_eq!(form(&a).error, None);
    // A gateway in no connected subnet is refused as typed, and the device is left empty.
    for _ in 0.."15.5".len() {
        press(&mut a, KeyCode::Backspace);
    }
    typed(&mut a, "99.5");
    let f = form(&a);
    assert_eq!(f.values()[2], "");
    let e = f.error.as_deref().unwrap_or("");
    assert!(
        e.contains("no connected subnet") && e.contains("192.168.15.1/24 on veth-red"),
        "{e}"
    );
    // Submitted anyway: refused in the form, nothing typed lost.
    assert!(press(&mut a, KeyCode::Enter).is_empty());
    assert_eq!(form(&a).values(), ["default", "192.168.99.5", ""]);
    assert_eq!(form(&a).focus, 1);
}

#[test]
fn a_veth_refuses_a_peer_namespace_that_does_not_exist() {
    let mut a = live(asset("demo-bridge.json"));
    select(&mut a, "bridge-red");
    press(&mut a, KeyCode::Char('a'));
    press(&mut a, KeyCode::Char('v'));
    typed(&mut a, "veth-x");
    press(&mut a, KeyCode::Down);
    typed(&mut a, "nope");
    let e = form(&a).error.clone().unwrap_or_default();
    assert!(e.starts_with("peer namespace: no namespace nope"), "{e}");
    assert!(press(&mut a, KeyCode::Enter).is_empty());
    let f = form(&a);
    assert_eq!(f.values(), ["veth-x", "nope", "eth0"]);
    assert_eq!(f.focus, 1);
    assert!(f.error.as_deref().is_some_and(|e| e.contains("nope")));
    // Corrected, it becomes the plan.
    for _ in 0..4 {
        press(&mut a, KeyCode::Backspace);
    }
    typed(&mut a, "bridge-blue");
    assert_eq!(form(&a).error, None);
    press(&mut a, KeyCode::Enter);
    assert!(matches!(&a.overlay, Overlay::Plan { plan: Some(_), .. }));
}

#[test]
fn names_addresses_and_devices_are_checked_as_typed() {
    let snap = asset("demo-bridge.json");
    let cx = Context::new(Some(&snap), "bridge-red");
    let ns = snap
        .namespaces
        .iter()
        .find(|n| n.name == "bridge-red")
        .expect("red");
    let err = |kind: ActionKind, values: &[&str], i: usize| {
        let mut fields = kind.fields(ns, None);
        for (f, v) in fields.iter_mut().zip(values) {
            f.value = v.to_string();
        }
        field_error(kind, i, &fields, &cx, false).unwrap_or_default()
    };
    assert!(err(ActionKind::NewBridge, &["br-much-too-long-x"], 0).contains("15 bytes"));
    assert!(err(ActionKind::NewBridge, &["br 0"], 0).contains("whitespace"));
    assert!(err(ActionKind::NewBridge, &["veth-red"], 0).contains("already exists"));
    assert!(err(ActionKind::AddAddress, &["veth-red", "10.0.0.1"], 1).contains("prefix"));
    assert_eq!(
        err(ActionKind::AddAddress, &["veth-red", "10.0.0.1/24"], 1),
        ""
    );
    assert!(err(ActionKind::AddAddress, &["eth9", ""], 0).contains("no interface eth9"));
    assert!(err(ActionKind::Attach, &["veth-red", "lo"], 1).contains("not a bridge"));
    assert!(err(ActionKind::AddRoute, &["10.0.0.0/33", "", ""], 0).contains("destination"));
    assert!(err(ActionKind::AddRoute, &["default", "fe80::1", ""], 1).contains("family"));
    assert!(err(ActionKind::Detach, &["veth-red"], 0).contains("in no bridge"));
    // Nothing typed yet is no error while typing.
    assert_eq!(err(ActionKind::NewBridge, &[""], 0), "");
}
