//! Saved snapshots and plans are files anyone may have written: a FIFO, a device, a sparse
//! giant, a symlink to a root-only file, JSON nested beyond reason, numbers out of range, or
//! names full of escape characters. Each must end in one error line and exit 2 (or, for a
//! valid file, a normal run), within seconds and in bounded memory — whether the file goes to
//! `diff`, `doctor --snapshot`, `--snapshot` (the TUI), `--since` or `apply --dry-run`.
//! None of this needs a network world: the commands only read the file.

use crate::common;

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::world::netlens_bin;

/// Longer than any of these runs takes even on a loaded machine, far shorter than "forever".
const DEADLINE: Duration = Duration::from_secs(20);
/// Address space for the child: a debug netlens needs far less to refuse a file, and reading
/// /dev/zero or a 2 GB file whole needs far more.
const MEMORY_LIMIT: u64 = 1 << 30;

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// Runs netlens with `args` as user `uid`, under [`MEMORY_LIMIT`], killed at [`DEADLINE`].
fn run_as(uid: u32, args: &[&str]) -> Run {
    let mut cmd = Command::new(netlens_bin());
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .env(
            "NETLENS_STATE_DIR",
            std::env::temp_dir().join("netlens-hostile-unused"),
        );
    // SAFETY: only async-signal-safe calls (setrlimit, setgid, setuid) between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            let lim = libc::rlimit {
                rlim_cur: MEMORY_LIMIT,
                rlim_max: MEMORY_LIMIT,
            };
            if libc::setrlimit(libc::RLIMIT_AS, &lim) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            if uid != 0 && (libc::setgid(uid) != 0 || libc::setuid(uid) != 0) {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = cmd.spawn().expect("spawn netlens");
    let started = Instant::now();
    // Drain the pipes on threads so a chatty child cannot block on a full pipe.
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let t_out = std::thread::spawn(move || {
        let mut s = Vec::new();
        std::io::Read::read_to_end(&mut out, &mut s).ok();
        s
    });
    let t_err = std::thread::spawn(move || {
        let mut s = Vec::new();
        std::io::Read::read_to_end(&mut err, &mut s).ok();
        s
    });
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if started.elapsed() > DEADLINE {
            child.kill().ok();
            child.wait().ok();
            panic!("netlens {args:?} still running after {DEADLINE:?}: it hangs");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let text = |b: Vec<u8>| String::from_utf8_lossy(&b).into_owned();
    Run {
        code: status.code(),
        stdout: text(t_out.join().unwrap()),
        stderr: text(t_err.join().unwrap()),
    }
}

fn run(args: &[&str]) -> Run {
    run_as(0, args)
}

/// Every way a saved snapshot reaches netlens, for `file`.
fn snapshot_commands(file: &str) -> Vec<Vec<String>> {
    let good = asset("demo-bridge.json");
    [
        vec!["diff", file, &good],
        vec!["diff", &good, file],
        vec!["doctor", "--snapshot", file],
        vec!["doctor", "--json", "--snapshot", file],
        vec!["--snapshot", file],
        vec!["--snapshot", &good, "--since", file],
    ]
    .into_iter()
    .map(|v| v.into_iter().map(str::to_string).collect())
    .collect()
}

fn asset(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("assets")
        .join(name)
        .display()
        .to_string()
}

/// Asserts exit 2 with exactly one line on stderr containing `expect`, for every command that
/// reads a snapshot and for `apply --dry-run` (a plan file).
fn assert_refused_everywhere(file: &Path, expect: &str) {
    let f = file.display().to_string();
    let mut cmds = snapshot_commands(&f);
    cmds.push(vec!["apply".into(), "--dry-run".into(), f.clone()]);
    for args in cmds {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let r = run(&args);
        assert_eq!(
            r.code,
            Some(2),
            "netlens {args:?}: want exit 2; stderr: {}",
            r.stderr
        );
        let lines: Vec<&str> = r.stderr.lines().collect();
        assert_eq!(
            lines.len(),
            1,
            "netlens {args:?}: one error line: {lines:?}"
        );
        assert!(
            lines[0].contains(expect) && lines[0].contains(&f),
            "netlens {args:?}: want {expect:?} naming the file, got {lines:?}"
        );
    }
}

#[test]
fn a_fifo_is_refused_not_waited_on() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("snap.json");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
    assert_refused_everywhere(&fifo, "FIFO");
}

#[test]
fn dev_zero_is_refused_not_read_forever() {
    assert_refused_everywhere(Path::new("/dev/zero"), "character device");
}

#[test]
fn a_sparse_2gb_file_is_refused_before_it_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.json");
    let f = std::fs::File::create(&big).unwrap();
    f.set_len(2 << 30).unwrap();
    assert_refused_everywhere(&big, "larger than");
}

#[test]
fn a_directory_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    assert_refused_everywhere(dir.path(), "directory");
}

#[test]
fn deeply_nested_json_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in [
        ("arrays.json", "[".repeat(200_000)),
        (
            "in-field.json",
            format!(
                "{{\"schema_version\":1,\"namespaces\":{}",
                "[{\"a\":".repeat(100_000)
            ),
        ),
        ("steps.json", format!("{{\"steps\":{}", "[".repeat(200_000))),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        // serde_json's recursion limit: an error, never a stack overflow.
        assert_refused_everywhere(&path, "");
    }
}

#[test]
fn wrong_versions_and_out_of_range_numbers_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let good = std::fs::read_to_string(asset("demo-bridge.json")).unwrap();
    for (name, text, expect) in [
        (
            "v2.json",
            good.replacen("\"schema_version\": 1", "\"schema_version\": 2", 1),
            "schema_version 2",
        ),
        (
            "vstr.json",
            good.replacen("\"schema_version\": 1", "\"schema_version\": \"1\"", 1),
            "schema_version",
        ),
        (
            "vhuge.json",
            good.replacen("\"schema_version\": 1", "\"schema_version\": 1e400", 1),
            "",
        ),
        ("none.json", "{}".to_string(), "no schema_version"),
        ("null.json", "null".to_string(), "not a netlens snapshot"),
        (
            "taken.json",
            good.replacen("\"taken_at\": ", "\"taken_at\": 99999999999999999999999", 1),
            "",
        ),
        (
            "inode.json",
            good.replacen("\"inode\": ", "\"inode\": -", 1),
            "",
        ),
        (
            "control.json",
            good.replacen("\"vm\"", "\"\u{fffd}\"", 1)
                .replace('\u{fffd}', "\u{1}\u{ff}"),
            "",
        ),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, &text).unwrap();
        let f = path.display().to_string();
        for args in snapshot_commands(&f) {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let r = run(&args);
            assert_eq!(r.code, Some(2), "{name}: netlens {args:?}: {}", r.stderr);
            assert_eq!(
                r.stderr.lines().count(),
                1,
                "{name}: {args:?}: {}",
                r.stderr
            );
            assert!(
                r.stderr.contains(expect),
                "{name}: want {expect:?}: {}",
                r.stderr
            );
        }
    }
}

#[test]
fn raw_bytes_that_are_not_utf8_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bin.json");
    let mut bytes = br#"{"schema_version":1,"hostname":""#.to_vec();
    bytes.extend_from_slice(&[0xff, 0xfe, 0x1b]);
    bytes.extend_from_slice(br#"","namespaces":[]}"#);
    std::fs::write(&path, bytes).unwrap();
    assert_refused_everywhere(&path, "");
}

/// A local user points root at a root-only file through a symlink: the user gets "permission
/// denied", and root's error line never shows the file's content.
#[test]
fn a_symlink_to_a_root_only_file_leaks_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("secret");
    std::fs::write(
        &secret,
        "{\"schema_version\": 1, \"hostname\": TOPSECRET-7f3a\n",
    )
    .unwrap();
    std::fs::set_permissions(&secret, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let link = dir.path().join("link.json");
    std::os::unix::fs::symlink(&secret, &link).unwrap();
    // The temporary directory must be traversable by the unprivileged user.
    std::fs::set_permissions(
        dir.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let f = link.display().to_string();
    for args in snapshot_commands(&f) {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let root = run(&args);
        assert_eq!(root.code, Some(2), "root: {args:?}: {}", root.stderr);
        assert!(!root.stderr.contains("TOPSECRET"), "{}", root.stderr);
        assert!(!root.stdout.contains("TOPSECRET"), "{}", root.stdout);
        if !nix::unistd::geteuid().is_root() || !executable_by_nobody(&netlens_bin()) {
            continue;
        }
        let user = run_as(65534, &args);
        assert_eq!(user.code, Some(2), "nobody: {args:?}: {}", user.stderr);
        assert!(
            user.stderr.contains("Permission denied") && user.stderr.lines().count() == 1,
            "nobody: {args:?}: {}",
            user.stderr
        );
    }
}

/// Whether every directory above the binary and the binary itself let others in.
fn executable_by_nobody(bin: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    bin.ancestors().all(|p| {
        p.as_os_str().is_empty()
            || std::fs::metadata(p).is_ok_and(|m| m.permissions().mode() & 0o001 != 0)
    })
}

/// Names full of terminal escapes and newlines load and are reported without a crash (how
/// they are shown is the output-escaping work's business).
#[test]
fn escape_characters_in_names_do_not_crash_anything() {
    let dir = tempfile::tempdir().unwrap();
    let good = std::fs::read_to_string(asset("demo-bridge.json")).unwrap();
    let evil = "\\u001b]0;pwned\\u0007\\u001b[2J\\nfake line\\r\\u0000\\u009b";
    let text = good
        .replace("\"bridge-red\"", &format!("\"bridge-red{evil}\""))
        .replace("\"v-net-0\"", &format!("\"v-net-0{evil}\""))
        .replacen("\"vm\"", &format!("\"vm{evil}\""), 1);
    assert_ne!(text, good, "the sample has these names");
    let path = dir.path().join("evil.json");
    std::fs::write(&path, text).unwrap();
    let f = path.display().to_string();
    let good_path = asset("demo-bridge.json");
    for args in [
        vec!["diff", &good_path, &f],
        vec!["diff", "--json", &f, &good_path],
        vec!["doctor", "--snapshot", &f],
        vec!["doctor", "--json", "--snapshot", &f],
    ] {
        let r = run(&args);
        assert!(
            matches!(r.code, Some(0) | Some(1)),
            "netlens {args:?}: exit {:?}: {}",
            r.code,
            r.stderr
        );
    }
}

/// A giant string is data, not an attack on its own: loaded and diffed in bounded memory.
#[test]
fn a_giant_string_loads_in_bounded_memory() {
    let dir = tempfile::tempdir().unwrap();
    let good = std::fs::read_to_string(asset("demo-bridge.json")).unwrap();
    let text = good.replacen("\"vm\"", &format!("\"{}\"", "x".repeat(32 << 20)), 1);
    let path = dir.path().join("giant.json");
    std::fs::write(&path, text).unwrap();
    let f = path.display().to_string();
    let good_path = asset("demo-bridge.json");
    for args in [
        vec!["diff", "--json", &good_path, &f],
        vec!["doctor", "--snapshot", &f],
    ] {
        let r = run(&args);
        assert!(
            matches!(r.code, Some(0) | Some(1)),
            "{args:?}: {:?} {}",
            r.code,
            r.stderr
        );
    }
}

/// Plans: whatever JSON the file holds, `apply --dry-run` either shows a valid plan or refuses
/// with one line and exit 2; nothing is run.
#[test]
fn hostile_plans_are_refused_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("empty.json", "".to_string()),
        ("null.json", "null".to_string()),
        ("nosteps.json", "{\"steps\":[]}".to_string()),
        ("id.json", "{\"id\":\"../../etc/x\",\"steps\":[{\"step\":\"set_link_up\",\"ns\":\"host\",\"link\":\"lo\",\"up\":true}]}".to_string()),
        ("unknown.json", "{\"steps\":[{\"step\":\"rm_rf\",\"path\":\"/\"}]}".to_string()),
        ("huge-num.json", "{\"steps\":[{\"step\":\"set_mtu\",\"ns\":\"host\",\"link\":\"lo\",\"mtu\":1e999}]}".to_string()),
        ("many.json", format!("{{\"steps\":[{}{{\"step\":\"nope\"}}]}}", "{\"step\":\"set_link_up\",\"ns\":\"host\",\"link\":\"lo\",\"up\":true},".repeat(50_000))),
    ];
    for (name, text) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        let f = path.display().to_string();
        let r = run(&["apply", "--dry-run", &f]);
        assert_eq!(r.code, Some(2), "{name}: {}{}", r.stdout, r.stderr);
        assert_eq!(r.stderr.lines().count(), 1, "{name}: {}", r.stderr);
        assert!(!r.stdout.contains("dry run: nothing changed"), "{name}");
    }
}

/// serde quotes the unknown variant or field it meets: a newline or an escape there split the
/// "one error line" and reached the terminal raw (found by proptest_inputs.rs).
#[test]
fn errors_quoting_the_file_stay_one_escaped_line() {
    let dir = tempfile::tempdir().unwrap();
    let evil = "\\u001b]0;pwned\\u0007\\u001b[2J\\nnetlens: all fine\\r";
    let good = std::fs::read_to_string(asset("demo-bridge.json")).unwrap();
    let snap = good.replacen("\"kind\": \"host\"", &format!("\"kind\": \"{evil}\""), 1);
    assert_ne!(snap, good);
    let snap_path = dir.path().join("kind.json");
    std::fs::write(&snap_path, snap).unwrap();
    let plan_path = dir.path().join("plan.json");
    std::fs::write(
        &plan_path,
        format!("{{\"steps\":[{{\"step\":\"{evil}\",\"ns\":\"host\"}}]}}"),
    )
    .unwrap();
    let field_path = dir.path().join("field.json");
    std::fs::write(
        &field_path,
        format!("{{\"steps\":[{{\"step\":\"set_mtu\",\"ns\":\"host\",\"link\":\"lo\",\"mtu\":1,\"{evil}\":1}}],\"{evil}\":2}}"),
    )
    .unwrap();
    let (s, p, f) = (
        snap_path.display().to_string(),
        plan_path.display().to_string(),
        field_path.display().to_string(),
    );
    let mut cmds = snapshot_commands(&s);
    cmds.push(vec!["apply".into(), "--dry-run".into(), p]);
    cmds.push(vec!["apply".into(), "--dry-run".into(), f]);
    for args in cmds {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let r = run(&args);
        assert!(
            matches!(r.code, Some(2)),
            "{args:?}: {:?} {}",
            r.code,
            r.stderr
        );
        assert_eq!(r.stderr.lines().count(), 1, "{args:?}: {:?}", r.stderr);
        assert!(
            !r.stderr.contains('\u{1b}') && !r.stderr.contains('\r') && !r.stderr.contains('\u{7}'),
            "{args:?}: raw control characters: {:?}",
            r.stderr
        );
    }
}

/// `diff` matched each namespace of the new snapshot by scanning the old one: quadratic, so
/// a saved snapshot of many namespaces (or many of one name) kept it busy for hours.
#[test]
fn diff_of_many_namespaces_is_not_quadratic() {
    use netlens::model::Snapshot;
    let doc = |n: usize, same_name: bool| -> Snapshot {
        let namespaces: Vec<String> = (0..n)
            .map(|i| {
                let name = if same_name {
                    String::new()
                } else {
                    format!("n{i}")
                };
                format!(
                    r#"{{"name":"{name}","kind":"process","inode":{},"status":{{"state":"ok"}}}}"#,
                    i % 7
                )
            })
            .collect();
        let text = format!(
            r#"{{"schema_version":1,"taken_at":1,"hostname":"h","namespaces":[{}]}}"#,
            namespaces.join(",")
        );
        netlens::saved::snapshot::parse(text.as_bytes()).expect("loads")
    };
    for same_name in [false, true] {
        let (a, b) = (doc(40_000, same_name), doc(40_000, same_name));
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let d = netlens::model::diff::diff(&a, &b);
            tx.send(d.changes.len()).ok();
        });
        let changes = rx
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|_| {
                panic!("diff of 40,000 namespaces (same name: {same_name}) took over 30 s")
            });
        // Duplicate names match once (as before); the rest are reported added and removed.
        assert_eq!(changes, if same_name { 2 * 39_999 } else { 0 });
    }
}
