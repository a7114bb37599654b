//! A path suggests a fix only if the fix gets the packet past the hop where it broke: the
//! finding's steps are applied to a copy of the snapshot ([`crate::plan::simulate`]) and the
//! path is walked again over that copy with [`ModelKernel`]. The comparison is made on the
//! model on both sides: when the model does not break at the same hop as the live kernel, it
//! cannot judge, and the finding (already matched to the hop by its object and cause) stays.

use super::{walk_raw, ModelKernel, Outcome, PathReport, Probe};
use crate::diagnose::Finding;
use crate::model::Snapshot;
use crate::plan::{simulate, Simulated};

/// Where a walk first breaks: (leg direction, namespace, cause).
fn break_point(r: &PathReport) -> Option<(String, String, String)> {
    r.legs.iter().find_map(|l| match &l.outcome {
        Outcome::Broken {
            namespace, cause, ..
        } => Some((l.direction.clone(), namespace.clone(), cause.clone())),
        _ => None,
    })
}

/// Drops `report`'s suggested finding when its fix does not get the packet past the broken
/// hop, and says why there is no automatic fix.
pub(super) fn check_fix(
    snap: &Snapshot,
    findings: &[Finding],
    probe: &Probe,
    report: &mut PathReport,
) {
    let Some(here) = break_point(report) else {
        return;
    };
    let verdict = judge(snap, findings, probe, &here, report);
    let Some(Outcome::Broken {
        finding, no_fix, ..
    }) = report
        .legs
        .iter_mut()
        .map(|l| &mut l.outcome)
        .find(|o| matches!(o, Outcome::Broken { .. }))
    else {
        return;
    };
    if let Err(why) = verdict {
        *finding = None;
        *no_fix = Some(why);
    }
}

/// `Ok` to keep the suggested finding, `Err(why there is no automatic fix)` otherwise.
fn judge(
    snap: &Snapshot,
    findings: &[Finding],
    probe: &Probe,
    here: &(String, String, String),
    report: &PathReport,
) -> Result<(), String> {
    let id = report.legs.iter().find_map(|l| match &l.outcome {
        Outcome::Broken { finding, .. } => Some(finding.clone()),
        _ => None,
    });
    let Some(Some(id)) = id else {
        return Err(format!(
            "no finding of the doctor is about {} and this cause",
            here.1
        ));
    };
    let Some(f) = findings.iter().find(|f| f.id == id) else {
        return Err(format!("{id} is not among the doctor's findings"));
    };
    let Some(fix) = &f.fix else {
        return Err(match &f.fix_rejected {
            Some(why) => format!("{id}'s fix is not offered: {why}"),
            None => format!("the doctor has no automatic fix for {id}"),
        });
    };
    let model = walk_raw(snap, &[], &ModelKernel { snap }, probe);
    if break_point(&model).as_ref() != Some(here) {
        // The model does not see this break as the kernel does: it cannot judge the fix.
        return Ok(());
    }
    let after = match simulate(snap, &fix.steps) {
        Simulated::Done(after) => after,
        Simulated::Refused(why) => {
            return Err(format!("the kernel would refuse {id}'s fix: {why}"))
        }
        Simulated::Unknown(_) => return Ok(()),
    };
    let again = walk_raw(&after, &[], &ModelKernel { snap: &after }, probe);
    if break_point(&again).as_ref() == Some(here) {
        return Err(format!(
            "{id}'s fix, tried on a copy of the snapshot, does not get the packet past {}",
            here.1
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::{walk, ModelKernel, Outcome, PathReport, Probe};
    use crate::diagnose::diagnose;
    use crate::model::Snapshot;
    use crate::plan::{RouteSpec, Step};

    fn lab() -> Snapshot {
        serde_json::from_str(include_str!("../../../assets/demo-bridge.json")).unwrap()
    }

    fn probe() -> Probe {
        Probe {
            from: "bridge-red".into(),
            src: None,
            dst: "8.8.8.8".parse().unwrap(),
            proto: "icmp".into(),
            port: None,
        }
    }

    fn broken(r: &PathReport) -> (String, Option<String>, Option<String>) {
        r.legs
            .iter()
            .find_map(|l| match &l.outcome {
                Outcome::Broken {
                    namespace,
                    finding,
                    no_fix,
                    ..
                } => Some((namespace.clone(), finding.clone(), no_fix.clone())),
                _ => None,
            })
            .expect("a broken leg")
    }

    /// bridge-lan lost its route to 8.8.8.8: the path breaks there.
    fn without_stub_route() -> Snapshot {
        let mut s = lab();
        let lan = s
            .namespaces
            .iter_mut()
            .find(|n| n.name == "bridge-lan")
            .unwrap();
        lan.routes
            .retain(|r| r.dst != crate::model::RouteDst::parse("8.8.8.8/32"));
        s
    }

    #[test]
    fn the_model_walk_delivers_on_the_healthy_lab() {
        let s = lab();
        let r = walk(&s, &diagnose(&s), &ModelKernel { snap: &s }, &probe());
        assert!(r.delivers, "{r:#?}");
    }

    #[test]
    fn a_fix_that_gets_the_packet_past_the_hop_is_suggested() {
        let s = without_stub_route();
        let r = walk(&s, &diagnose(&s), &ModelKernel { snap: &s }, &probe());
        let (ns, finding, _) = broken(&r);
        assert_eq!(ns, "bridge-lan");
        assert_eq!(finding.as_deref(), Some("no-route:bridge-lan:8.8.8.8/32"));
    }

    #[test]
    fn a_fix_that_does_not_is_dropped_with_the_reason() {
        let s = without_stub_route();
        let mut findings = diagnose(&s);
        let f = findings
            .iter_mut()
            .find(|f| f.id == "no-route:bridge-lan:8.8.8.8/32")
            .unwrap();
        // The right finding, with a fix that routes something else.
        f.fix.as_mut().unwrap().steps = vec![Step::AddRoute {
            ns: "bridge-lan".into(),
            route: RouteSpec {
                dst: "9.9.9.9/32".parse().unwrap(),
                via: Some("100.64.0.2".parse().unwrap()),
                dev: None,
                table: None,
                metric: None,
            },
        }];
        let r = walk(&s, &findings, &ModelKernel { snap: &s }, &probe());
        let (ns, finding, no_fix) = broken(&r);
        assert_eq!(ns, "bridge-lan");
        assert_eq!(finding, None);
        assert!(no_fix
            .unwrap()
            .contains("does not get the packet past bridge-lan"));
    }
}
