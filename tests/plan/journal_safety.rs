//! The journal is root's, one change at a time, and every failure leaves a known state
//! (issue 10, items 5, 6, 7 and 9): an unsafe state directory is refused, listing changes
//! nothing, a FIFO or a corrupt line never hangs or hides anything, plans are serialised by a
//! lock and "latest" is the highest sequence number, a full disk never leaves a half-applied
//! plan and undo needs no free space.

use crate::common;

use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::out::{assert_code, text};
use common::plan::{assert_same, mtu_plan, private_state, snap, write_plan};
use common::snap::netlens;
use common::world::{in_world, netlens_bin, private_etc_netns, sh, try_sh};
use serde_json::{json, Value};

/// Runs netlens and kills it (failing the test) if it is not done within `limit`: a hang is
/// one of the defects tested here.
fn netlens_timed(args: &[&str], limit: Duration) -> Output {
    let child = spawn(args, &[]);
    wait_timed(child, limit, args)
}

fn spawn(args: &[&str], env: &[(&str, &str)]) -> Child {
    let mut cmd = Command::new(netlens_bin());
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.spawn()
        .unwrap_or_else(|e| panic!("cannot run netlens {args:?}: {e}"))
}

fn wait_timed(mut child: Child, limit: Duration, what: &[&str]) -> Output {
    let t0 = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            return child.wait_with_output().unwrap();
        }
        if t0.elapsed() > limit {
            child.kill().unwrap();
            let out = child.wait_with_output().unwrap();
            panic!(
                "netlens {what:?} hung for {limit:?}; stderr: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn mtu(link: &str) -> u32 {
    // Not /sys/class/net: the world's /sys is the machine's.
    let out = sh(&["ip", "-j", "link", "show", link]);
    let v: Value = serde_json::from_str(&out).unwrap();
    u32::try_from(v[0]["mtu"].as_u64().unwrap()).unwrap()
}

fn journal_dir(state: &tempfile::TempDir) -> PathBuf {
    state.path().join("state/journal")
}

/// A state dir with its journal dir, made as root would (0700), outside any world: these
/// tests run netlens with `NETLENS_STATE_DIR` on the command only.
fn state_tree() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    std::fs::create_dir_all(state.join("journal")).unwrap();
    std::fs::set_permissions(&state, std::fs::Permissions::from_mode(0o700)).unwrap();
    std::fs::set_permissions(
        state.join("journal"),
        std::fs::Permissions::from_mode(0o700),
    )
    .unwrap();
    (dir, state)
}

fn netlens_with_state(state: &Path, args: &[&str]) -> Output {
    let child = {
        let mut cmd = Command::new(netlens_bin());
        cmd.args(args)
            .env("NETLENS_STATE_DIR", state)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        cmd.spawn().unwrap()
    };
    wait_timed(child, Duration::from_secs(30), args)
}

/// Each of journal, undo and confirm refuses the unsafe state dir with one line naming why.
fn assert_refused(state: &Path, why: &str) {
    for args in [
        &["journal"][..],
        &["journal", "--json"],
        &["undo", "--yes"],
        &["confirm", "some-plan"],
    ] {
        let out = netlens_with_state(state, args);
        let (o, e) = text(&out);
        assert_ne!(out.status.code(), Some(0), "{args:?} accepted: {o}{e}");
        assert!(!e.contains("panicked"), "{e}");
        assert!(
            e.contains(why) && e.lines().count() == 1,
            "{args:?}: wanted one line saying {why:?}; stderr:\n{e}"
        );
    }
}

#[test]
fn world_writable_state_dir_is_refused() {
    let (_dir, state) = state_tree();
    std::fs::set_permissions(&state, std::fs::Permissions::from_mode(0o777)).unwrap();
    assert_refused(&state, "writable by others");
    std::fs::set_permissions(&state, std::fs::Permissions::from_mode(0o700)).unwrap();
    std::fs::set_permissions(
        state.join("journal"),
        std::fs::Permissions::from_mode(0o770),
    )
    .unwrap();
    assert_refused(&state, "writable by others");
}

#[test]
fn symlinked_state_or_journal_dir_is_refused() {
    let (dir, state) = state_tree();
    let link = dir.path().join("link");
    symlink(&state, &link).unwrap();
    assert_refused(&link, "symlink");

    let elsewhere = dir.path().join("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    std::fs::set_permissions(&elsewhere, std::fs::Permissions::from_mode(0o700)).unwrap();
    std::fs::remove_dir(state.join("journal")).unwrap();
    symlink(&elsewhere, state.join("journal")).unwrap();
    assert_refused(&state, "symlink");
}

#[test]
fn foreign_owned_journal_dir_is_refused() {
    let (_dir, state) = state_tree();
    std::os::unix::fs::chown(state.join("journal"), Some(65534), Some(65534)).unwrap();
    assert_refused(&state, "owned by uid 65534");
    std::os::unix::fs::chown(state.join("journal"), Some(0), Some(0)).unwrap();
    std::os::unix::fs::chown(&state, Some(65534), None).unwrap();
    assert_refused(&state, "owned by uid 65534");
}

#[test]
fn state_dir_is_created_private() {
    in_world("journal_safety::state_dir_is_created_private", || {
        let state = private_state();
        add_d0();
        let file = write_plan(state.path(), "p.json", mtu_plan("p-mode", 1400));
        assert_code(&netlens(&["apply", &file, "--yes"]), 0, "apply");
        for d in [state.path().join("state"), journal_dir(&state)] {
            let mode = std::fs::metadata(&d).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o700, "{} is {mode:o}", d.display());
        }
    });
}

/// A journal planted with an expired `awaiting_confirm` and a crafted inverse (legacy format,
/// no checksums): listing it must change nothing, and say that nothing rolls it back.
#[test]
fn listing_the_journal_changes_nothing() {
    in_world(
        "journal_safety::listing_the_journal_changes_nothing",
        || {
            let state = private_state();
            add_d0();
            // Created by a first, harmless apply: the directories exist with the right modes.
            let file = write_plan(state.path(), "p.json", mtu_plan("p-first", 1500));
            assert_code(&netlens(&["apply", &file, "--yes"]), 0, "apply");
            let planted = [
                json!({"at": 1, "event": "started", "pid": 999_999,
                   "plan": mtu_plan("planted", 1400)}),
                json!({"at": 1, "event": "step_started", "index": 0,
                   "inverse": [{"step": "set_mtu", "ns": "host", "link": "d0", "mtu": 1280}]}),
                json!({"at": 1, "event": "step_done", "index": 0,
                   "inverse": [{"step": "set_mtu", "ns": "host", "link": "d0", "mtu": 1280}]}),
                json!({"at": 1, "event": "awaiting_confirm", "deadline_ms": 1000}),
            ];
            let text_lines: String = planted.iter().map(|v| format!("{v}\n")).collect();
            std::fs::write(journal_dir(&state).join("planted.jsonl"), text_lines).unwrap();
            let before = snap();
            for args in [&["journal"][..], &["journal", "--json"]] {
                let out = netlens(args);
                let (o, e) = text(&out);
                assert!(!e.contains("panicked"), "{e}");
                assert!(o.contains("planted"), "{args:?}: {o}");
                assert!(
                    o.contains("watchdog not running") && o.contains("netlens undo planted"),
                    "{args:?} must say the deadline passed and nothing rolls it back: {o}"
                );
                assert_eq!(mtu("d0"), 1500, "{args:?} rolled the planted plan back");
            }
            assert_same("after netlens journal", &before, &snap());
            let j = std::fs::read_to_string(journal_dir(&state).join("planted.jsonl")).unwrap();
            assert!(!j.contains("undo_started"), "journal wrote: {j}");
            // Confirm is one of the commands that roll an expired plan back, and says so.
            let out = netlens(&["confirm", "planted"]);
            assert_code(&out, 1, "confirm after the deadline");
            assert!(
                text(&out).1.contains("rolled back plan planted"),
                "{}",
                text(&out).1
            );
            assert_eq!(mtu("d0"), 1280, "the journaled inverse ran on confirm");
        },
    );
}

/// A FIFO named like a journal never blocks journal, apply or undo.
#[test]
fn fifo_in_the_journal_never_hangs() {
    in_world("journal_safety::fifo_in_the_journal_never_hangs", || {
        let state = private_state();
        add_d0();
        let file = write_plan(state.path(), "p.json", mtu_plan("p-one", 1400));
        assert_code(&netlens(&["apply", &file, "--yes"]), 0, "first apply");
        let jdir = journal_dir(&state);
        sh(&["mkfifo", &jdir.join("x.jsonl").display().to_string()]);
        // Also a symlink to a file elsewhere and a file of another user: skipped, named.
        let other = state.path().join("other.jsonl");
        std::fs::copy(jdir.join("p-one.jsonl"), &other).unwrap();
        symlink(&other, jdir.join("y.jsonl")).unwrap();
        std::fs::copy(jdir.join("p-one.jsonl"), jdir.join("z.jsonl")).unwrap();
        std::os::unix::fs::chown(jdir.join("z.jsonl"), Some(65534), None).unwrap();
        let limit = Duration::from_secs(15);
        let out = netlens_timed(&["journal"], limit);
        let (o, e) = text(&out);
        assert_code(&out, 1, "journal with unreadable files");
        assert!(o.contains("p-one"), "{o}");
        assert!(
            e.contains("x.jsonl: not a regular file"),
            "the FIFO is reported: {e}"
        );
        assert!(e.contains("y.jsonl: is a symlink"), "{e}");
        assert!(e.contains("z.jsonl: is owned by uid 65534"), "{e}");
        assert_eq!(o.matches("p-one").count(), 1, "copies are not read: {o}");
        let file2 = write_plan(state.path(), "q.json", mtu_plan("p-two", 1300));
        assert_code(
            &netlens_timed(&["apply", &file2, "--yes"], limit),
            0,
            "apply",
        );
        assert_code(&netlens_timed(&["undo", "--yes"], limit), 0, "undo");
        assert_eq!(mtu("d0"), 1400);
        assert_code(&netlens_timed(&["undo", "--yes"], limit), 0, "undo");
        assert_eq!(mtu("d0"), 1500);
    });
}

/// A broken `started` line and a non-UTF-8 line: reported with file:line, later records and
/// other plans still read, and undo does not act on what it cannot read.
#[test]
fn corrupt_lines_are_reported_and_hide_nothing() {
    in_world(
        "journal_safety::corrupt_lines_are_reported_and_hide_nothing",
        || {
            let state = private_state();
            add_d0();
            let f1 = write_plan(state.path(), "1.json", mtu_plan("p-one", 1400));
            let f2 = write_plan(state.path(), "2.json", mtu_plan("p-two", 1300));
            assert_code(&netlens(&["apply", &f1, "--yes"]), 0, "apply one");
            assert_code(&netlens(&["apply", &f2, "--yes"]), 0, "apply two");
            assert_code(&netlens(&["undo", "p-two", "--yes"]), 0, "undo two");
            assert_eq!(mtu("d0"), 1400);

            // p-one: its `started` line torn in the middle (but not the last line).
            let p1 = journal_dir(&state).join("p-one.jsonl");
            let j1 = std::fs::read_to_string(&p1).unwrap();
            let (first, rest) = j1.split_once('\n').unwrap();
            std::fs::write(&p1, format!("{}\n{rest}", &first[..first.len() / 2])).unwrap();
            // p-two: a non-UTF-8 line after its second record; `undone` comes after it.
            let p2 = journal_dir(&state).join("p-two.jsonl");
            let j2 = std::fs::read(&p2).unwrap();
            let lines: Vec<&[u8]> = j2.split_inclusive(|b| *b == b'\n').collect();
            let mut bad = Vec::new();
            for l in &lines[..2] {
                bad.extend_from_slice(l);
            }
            bad.extend_from_slice(b"{\"at\":1,\"event\":\"\xff\xfe\"}\n");
            for l in &lines[2..] {
                bad.extend_from_slice(l);
            }
            std::fs::write(&p2, bad).unwrap();

            let out = netlens(&["journal"]);
            let (o, e) = text(&out);
            assert_code(&out, 1, "journal with damaged journals");
            assert!(!o.contains("no plans"), "{o}");
            assert!(
                e.contains("p-one.jsonl:1"),
                "broken started line named: {e}"
            );
            assert!(e.contains("p-two.jsonl:3"), "non-UTF-8 line named: {e}");
            let two = o.lines().find(|l| l.contains("p-two")).unwrap_or("");
            assert!(
                two.contains("undone"),
                "records after the bad line count: {o}"
            );
            let one = o.lines().find(|l| l.contains("p-one")).unwrap_or("");
            assert!(one.contains("damaged"), "p-one shown as damaged: {o}");

            let json = netlens(&["journal", "--json"]);
            let rows: Value = serde_json::from_slice(&json.stdout).unwrap();
            let rows = rows.as_array().unwrap();
            assert!(rows
                .iter()
                .any(|r| r["id"] == "p-two" && r["state"] == "undone"));
            assert!(rows
                .iter()
                .any(|r| r["id"] == "p-one" && r["state"] == "damaged"));

            // Plain undo must neither undo p-two again nor silently skip the damaged p-one.
            let out = netlens(&["undo", "--yes"]);
            let (_, e) = text(&out);
            assert_ne!(out.status.code(), Some(0), "undo acted: {e}");
            assert!(e.contains("p-one"), "undo names the damaged journal: {e}");
            assert_eq!(mtu("d0"), 1400, "undo changed the network");
        },
    );
}

/// Two plans started in the same second: plain undo takes the one applied last, whatever
/// their ids.
#[test]
fn latest_is_the_last_applied_not_the_highest_id() {
    in_world(
        "journal_safety::latest_is_the_last_applied_not_the_highest_id",
        || {
            let state = private_state();
            add_d0();
            let f1 = write_plan(state.path(), "1.json", mtu_plan("z-first", 1400));
            let f2 = write_plan(state.path(), "2.json", mtu_plan("a-second", 1300));
            assert_code(&netlens(&["apply", &f1, "--yes"]), 0, "apply first");
            assert_code(&netlens(&["apply", &f2, "--yes"]), 0, "apply second");
            let out = netlens(&["undo", "--yes"]);
            assert_code(&out, 0, "undo latest");
            assert!(
                text(&out).0.contains("undid plan a-second"),
                "{}",
                text(&out).0
            );
            assert_eq!(mtu("d0"), 1400);
            assert_code(&netlens(&["undo", "--yes"]), 0, "undo next");
            assert_eq!(mtu("d0"), 1500);
        },
    );
}

/// While one apply runs (paused by the test hook), `--no-wait` refuses at once with exit 2,
/// and without it a second apply waits, saying for whom, then runs.
#[test]
fn one_change_at_a_time() {
    common::world::require_test_hooks();
    in_world("journal_safety::one_change_at_a_time", || {
        let state = private_state();
        add_d0();
        let f1 = write_plan(state.path(), "1.json", mtu_plan("p-slow", 1400));
        let f2 = write_plan(state.path(), "2.json", mtu_plan("p-next", 1300));
        let slow = spawn(
            &["apply", &f1, "--yes"],
            &[("NETLENS_TEST_PAUSE_AFTER_STEP", "1")],
        );
        let t0 = Instant::now();
        while mtu("d0") != 1400 {
            assert!(
                t0.elapsed() < Duration::from_secs(20),
                "slow apply never ran"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        for args in [
            &["apply", &f2, "--yes", "--no-wait"][..],
            &["undo", "--yes", "--no-wait"],
            &["confirm", "p-slow", "--no-wait"],
        ] {
            let out = netlens_timed(args, Duration::from_secs(10));
            assert_code(&out, 2, &format!("{args:?} while another change runs"));
            let (_, e) = text(&out);
            assert!(
                e.contains("p-slow") && e.contains(&format!("pid {}", slow.id())),
                "{args:?} names who holds the lock: {e}"
            );
        }
        assert_eq!(mtu("d0"), 1400);
        let waiter = spawn(&["apply", &f2, "--yes"], &[]);
        std::thread::sleep(Duration::from_millis(1500));
        assert_eq!(mtu("d0"), 1400, "the second apply did not wait");
        let mut slow = slow;
        slow.kill().unwrap();
        slow.wait().unwrap();
        let out = wait_timed(waiter, Duration::from_secs(30), &["waiter"]);
        assert_code(&out, 0, "waiting apply");
        let (_, e) = text(&out);
        assert!(e.contains("waiting for plan p-slow"), "{e}");
        assert_eq!(mtu("d0"), 1300);
        assert_code(&netlens(&["undo", "--yes"]), 0, "undo next");
        assert_code(&netlens(&["undo", "--yes"]), 0, "undo interrupted slow");
        assert_eq!(mtu("d0"), 1500);
    });
}

fn rule_count() -> usize {
    sh(&["iptables-save", "-t", "filter"])
        .lines()
        .filter(|l| l.contains("10.9.9.9"))
        .count()
}

/// Four applies of plans touching the same MTU, iptables rule and hosts file at once, then
/// four undos at once: the network and the file end as they began, every round.
#[test]
fn concurrent_applies_and_undos_restore_the_before_state() {
    in_world(
        "journal_safety::concurrent_applies_and_undos_restore_the_before_state",
        || {
            let state = private_state();
            private_etc_netns(&["red"]);
            sh(&["ip", "netns", "add", "red"]);
            add_d0();
            let hosts = "/etc/netns/red/hosts";
            std::fs::write(hosts, "127.0.0.1 localhost\n").unwrap();
            let before = snap();
            for round in 0..3 {
                let files: Vec<String> = (0..4)
                    .map(|i| {
                        let id = format!("r{round}-p{i}");
                        write_plan(
                            state.path(),
                            &format!("{id}.json"),
                            json!({"id": id, "title": "same objects", "steps": [
                                {"step": "set_mtu", "ns": "host", "link": "d0", "mtu": 1400 - i * 10},
                                {"step": "add_iptables_rule", "ns": "host", "table": "filter",
                                 "chain": "INPUT", "rule": ["-s", "10.9.9.9/32", "-j", "DROP"]},
                                {"step": "write_file", "ns": "red", "path": hosts,
                                 "content": format!("10.0.0.{i} h{i}\n")}
                            ]}),
                        )
                    })
                    .collect();
                let applies: Vec<Child> = files
                    .iter()
                    .map(|f| spawn(&["apply", f, "--yes"], &[]))
                    .collect();
                for c in applies {
                    assert_code(
                        &wait_timed(c, Duration::from_secs(60), &["apply"]),
                        0,
                        "concurrent apply",
                    );
                }
                assert_eq!(rule_count(), 1, "round {round}: the rule was added twice");
                let undos: Vec<Child> = (0..4).map(|_| spawn(&["undo", "--yes"], &[])).collect();
                for c in undos {
                    assert_code(
                        &wait_timed(c, Duration::from_secs(60), &["undo"]),
                        0,
                        "concurrent undo",
                    );
                }
                assert_eq!(mtu("d0"), 1500, "round {round}");
                assert_eq!(rule_count(), 0, "round {round}");
                assert_eq!(
                    std::fs::read_to_string(hosts).unwrap(),
                    "127.0.0.1 localhost\n",
                    "round {round}"
                );
                assert_same(&format!("round {round}"), &before, &snap());
            }
        },
    );
}

/// Fills the tmpfs at `dir` until no byte is free.
fn fill(dir: &Path, name: &str) {
    let _ = try_sh(&[
        "dd",
        "if=/dev/zero",
        &format!("of={}", dir.join(name).display()),
        "bs=1024",
    ]);
}

/// The state dir on a tiny tmpfs: at every amount of free space, apply either applies (and
/// then undo works on a completely full disk) or fails with the network as before — never a
/// change left in place that the journal does not hold.
#[test]
fn disk_full_leaves_a_known_state() {
    in_world("journal_safety::disk_full_leaves_a_known_state", || {
        let tmp = tempfile::tempdir().unwrap();
        add_d0();
        let plan_dir = tmp.path().join("plans");
        std::fs::create_dir(&plan_dir).unwrap();
        let mut failed_mid_apply = 0;
        let mut undone_on_full_disk = 0;
        for free_kib in (4..=48).step_by(4) {
            let mnt = tmp.path().join(format!("m{free_kib}"));
            std::fs::create_dir(&mnt).unwrap();
            sh(&[
                "mount",
                "-t",
                "tmpfs",
                "-o",
                &format!("size={}k,mode=0700", 64),
                "tmpfs",
                &mnt.display().to_string(),
            ]);
            std::env::set_var("NETLENS_STATE_DIR", mnt.join("state"));
            // Leave `free_kib` free: a filler of the rest.
            sh(&[
                "dd",
                "if=/dev/zero",
                &format!("of={}", mnt.join("filler").display()),
                "bs=1024",
                &format!("count={}", 64 - free_kib),
            ]);
            // Many steps, so the journal outgrows the space part-way through.
            let steps: Vec<Value> = (0..40)
                .map(|i| json!({"step": "set_mtu", "ns": "host", "link": "d0", "mtu": 1300 + i}))
                .collect();
            let id = format!("full-{free_kib}");
            let file = write_plan(
                &plan_dir,
                &format!("{id}.json"),
                json!({"id": id, "steps": steps}),
            );
            let before = snap();
            let out = netlens(&["apply", &file, "--yes"]);
            let (o, e) = text(&out);
            assert!(!e.contains("panicked"), "{e}");
            println!(
                "{free_kib} KiB free: exit {:?}: {}",
                out.status.code(),
                e.trim()
            );
            match out.status.code() {
                Some(0) => {
                    assert_eq!(mtu("d0"), 1339, "{free_kib} KiB free: {o}{e}");
                    fill(&mnt, "rest");
                    let undo = netlens(&["undo", &id, "--yes"]);
                    assert_code(&undo, 0, &format!("undo with a full disk ({free_kib} KiB)"));
                    undone_on_full_disk += 1;
                }
                Some(1) => {
                    if e.contains("rolled back") {
                        failed_mid_apply += 1;
                    }
                    assert!(e.contains("No space left"), "{free_kib} KiB free: {e}");
                }
                other => panic!("{free_kib} KiB free: exit {other:?}: {o}{e}"),
            }
            assert_same(&format!("{free_kib} KiB free"), &before, &snap());
            assert_eq!(mtu("d0"), 1500);
            let undo = netlens(&["undo", "--yes"]);
            assert_eq!(
                undo.status.code(),
                Some(1),
                "nothing left to undo: {:?}",
                text(&undo)
            );
            sh(&["umount", &mnt.display().to_string()]);
        }
        assert!(
            failed_mid_apply > 0 && undone_on_full_disk > 0,
            "no free-space level made apply fail part-way ({failed_mid_apply}) or let it \
             succeed ({undone_on_full_disk}): the test proves nothing"
        );
    });
}

/// A link whose MTU the plans change (veth: this kernel has no dummy module).
fn add_d0() {
    sh(&[
        "ip", "link", "add", "d0", "type", "veth", "peer", "name", "d1",
    ]);
}
