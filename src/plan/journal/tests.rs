//! Tests of the journal (see [`super`]).

use std::fs;

use super::*;
use crate::plan::spec::Plan;
use crate::plan::step::Step;

fn rec(event: Event) -> Record {
    Record {
        seq: 0,
        at: 1,
        event,
    }
}

/// A local user cannot pass for the confirm watchdog: a process of theirs whose pid
/// matches the journaled one (a pid reused after the watchdog died) and whose arguments
/// read `--if-unconfirmed ID` would make `confirm` and `journal` say the watchdog rolls
/// the plan back, while nothing does.
#[test]
fn a_users_process_is_not_the_watchdog() {
    use std::os::unix::process::CommandExt;
    if !nix::unistd::geteuid().is_root() {
        return;
    }
    let mut fake = std::process::Command::new("sh")
        .args(["-c", "sleep 30; :", "--if-unconfirmed", "t"])
        .uid(65534)
        .gid(65534)
        .spawn()
        .unwrap();
    let mut entry = Entry::damaged("t", Vec::new());
    entry.watchdog_pid = Some(fake.id());
    // Wait until the child has exec'd (its cmdline is sh's then).
    let t0 = std::time::Instant::now();
    while !fs::read(format!("/proc/{}/cmdline", fake.id()))
        .unwrap_or_default()
        .starts_with(b"sh\0")
        && t0.elapsed() < std::time::Duration::from_secs(5)
    {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let running = entry.watchdog_running();
    fake.kill().unwrap();
    fake.wait().unwrap();
    assert!(!running, "a process of uid 65534 passed for the watchdog");
}

fn plan() -> Plan {
    Plan::new(
        "t",
        vec![Step::SetLinkUp {
            ns: "red".into(),
            link: "a".into(),
            up: true,
        }],
    )
}

#[test]
fn record_format_is_flat_json() {
    let line = serde_json::to_string(&rec(Event::StepSkipped { index: 2 })).unwrap();
    assert_eq!(line, r#"{"seq":0,"at":1,"event":"step_skipped","index":2}"#);
}

#[test]
fn state_from_records() {
    let dead_pid = u32::MAX - 1;
    let started = rec(Event::Started {
        plan: plan(),
        pid: dead_pid,
        plan_seq: 1,
    });
    let down = Step::SetLinkUp {
        ns: "red".into(),
        link: "a".into(),
        up: false,
    };
    let step_started = rec(Event::StepStarted {
        index: 0,
        inverse: vec![down.clone()],
    });
    let e = Entry::from_records(vec![started.clone(), step_started.clone()]).unwrap();
    assert_eq!(e.state, PlanState::Interrupted);
    assert_eq!(e.inverses(), vec![(0, vec![down.clone()])]);

    let e = Entry::from_records(vec![
        started.clone(),
        step_started.clone(),
        rec(Event::StepDone {
            index: 0,
            inverse: vec![],
        }),
        rec(Event::AwaitingConfirm { deadline_ms: 9 }),
    ])
    .unwrap();
    assert_eq!(e.state, PlanState::AwaitingConfirm);
    assert_eq!(e.deadline, Some(9));
    assert_eq!(e.inverses(), vec![(0, vec![])]);

    let e = Entry::from_records(vec![
        started,
        step_started,
        rec(Event::Committed),
        rec(Event::UndoStarted { pid: dead_pid }),
    ])
    .unwrap();
    assert_eq!(e.state, PlanState::UndoFailed);
    assert!(e.state.undoable());
}
