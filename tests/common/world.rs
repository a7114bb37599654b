//! Throwaway "worlds" for integration tests that create namespaces, links, routes or rules.
//!
//! # How a world test runs
//!
//! ```ignore
//! // tests/GROUP/my_module.rs, a module of the test binary tests/GROUP/main.rs
//! use crate::common::world::{in_world, sh};
//!
//! #[test]
//! fn my_test() {
//!     in_world("my_module::my_test", || {
//!         // Runs as root inside a private net + mount + pid namespace, with a fresh tmpfs
//!         // on /run and `lo` up. Create anything: it all dies with the world.
//!         sh(&["ip", "netns", "add", "red"]);
//!     });
//! }
//! ```
//!
//! [`in_world`] is called twice for every test, in two processes:
//!
//! 1. **Parent** (the normal `cargo test` run, `NETLENS_WORLD` unset): the body is *not* run.
//!    It re-executes the current test binary as
//!    `unshare --net --mount --pid --fork --mount-proc --propagation private --kill-child --
//!    <test binary> --exact <test_name> --nocapture --test-threads=1 --include-ignored`
//!    with `NETLENS_WORLD=1`, waits for it (`NETLENS_WORLD_TIMEOUT` seconds, default 300),
//!    echoes its stdout/stderr, and panics unless it exited successfully *and* reported that
//!    the body ran to the end.
//! 2. **Child** (inside the world, `NETLENS_WORLD` set): mounts a fresh tmpfs on `/run` (and on
//!    `/var/run` if that is not a symlink to `/run`), so `/run/netns` starts empty and nothing
//!    leaks to the machine's real `/run/netns`; brings `lo` up; runs the body; prints a marker
//!    line the parent checks.
//!
//! Consequences for test authors:
//! - `test_name` must be the test's full name as libtest prints it: every test file is a
//!   module of its group's binary, so that is `my_module::my_test` (and
//!   `my_module::inner::my_test` for a test inside `mod inner`), which `--exact` matches and
//!   nothing else does. A wrong name is caught: the parent
//!   checks it against the test thread's name when it can, and the child's marker otherwise.
//! - Code before `in_world` runs in both processes; code after it runs only in the parent.
//!   Put everything in the body. Assertions in the body fail the child, which fails the parent.
//! - The world is a private network, mount and PID namespace: every namespace, interface, mount
//!   and process created inside disappears when the child exits, even if the body panics or
//!   the world is killed on timeout.
//! - `NETLENS_NETNS_DIR` is removed from the child's environment so `/run/netns` is used.
//! - Without root, or where `unshare` is missing or not permitted, the test fails, whatever
//!   `CI` says — unless `NETLENS_SKIP_KERNEL_TESTS=1` explicitly asks to skip, when it prints
//!   `skipped: …` and passes. A green run means the kernel tests ran.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Once, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

/// Set (to `1`) inside a world.
pub const WORLD_ENV: &str = "NETLENS_WORLD";
/// Set to `1` to let kernel tests that cannot get a world pass as skipped. Without it they
/// fail, whatever `CI` says.
pub const SKIP_ENV: &str = "NETLENS_SKIP_KERNEL_TESTS";
/// Seconds the parent waits for a world before killing it.
pub const TIMEOUT_ENV: &str = "NETLENS_WORLD_TIMEOUT";
const DEFAULT_TIMEOUT_SECS: u64 = 300;
const DONE_MARKER: &str = "netlens-world: body finished:";

const UNSHARE_ARGS: &[&str] = &[
    "--net",
    "--mount",
    "--pid",
    "--fork",
    "--mount-proc",
    "--propagation",
    "private",
    // If unshare dies (timeout kill, Ctrl-C), its child — the world's PID 1 — is killed,
    // which takes every process of the world with it.
    "--kill-child",
];

/// For a test that drives netlens through its test hooks (`NETLENS_TEST_PAUSE_*`,
/// `NETLENS_TEST_PANIC`, `NETLENS_TEST_LISTING_*`): fails at once, in one line, when the
/// crate was built without them, instead of timing out or passing without testing anything.
pub fn require_test_hooks() {
    if !cfg!(feature = "test-hooks") {
        panic!("needs `--features test-hooks`: run tests/run.sh");
    }
}

/// Whether this process is running inside a world.
pub fn inside_world() -> bool {
    std::env::var_os(WORLD_ENV).is_some()
}

/// Runs `body` inside a fresh throwaway world (see the module documentation).
pub fn in_world(test_name: &str, body: impl FnOnce()) {
    if inside_world() {
        prepare_world();
        body();
        println!("{DONE_MARKER} {test_name}");
        return;
    }

    check_test_name(test_name);
    if let Some(reason) = world_unavailable() {
        // A green run must mean the tests ran: skipping is an explicit choice, never the
        // default (a runner exporting `CI=1` instead of `CI=true` once passed 69 tests that
        // never ran).
        if std::env::var(SKIP_ENV).as_deref() != Ok("1") {
            panic!(
                "{test_name}: cannot create a test world: {reason} \
                 (run as root, or set {SKIP_ENV}=1 to skip kernel tests on purpose)"
            );
        }
        println!("skipped: {SKIP_ENV}=1 and no test world ({reason})");
        return;
    }

    let exe = std::env::current_exe().expect("path of the running test binary");
    let mut cmd = Command::new("unshare");
    cmd.args(UNSHARE_ARGS)
        .arg("--")
        .arg(&exe)
        .args([
            "--exact",
            test_name,
            "--nocapture",
            "--test-threads=1",
            "--include-ignored",
        ])
        .env(WORLD_ENV, "1")
        .env_remove("NETLENS_NETNS_DIR")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let (status, stdout, stderr, timed_out) = run_with_timeout(cmd, timeout());

    // Echo through print!/eprint! so libtest shows it for failing tests (or with --nocapture).
    print!("{stdout}");
    eprint!("{stderr}");
    if timed_out {
        panic!(
            "{test_name}: world timed out after {}s and was killed",
            timeout().as_secs()
        );
    }
    assert!(
        status.success(),
        "{test_name}: world exited with {status} (output above)"
    );
    assert!(
        stdout.contains(&format!("{DONE_MARKER} {test_name}")),
        "{test_name}: the world ran no test body called {test_name:?}; pass the test's full \
         name as libtest prints it (e.g. `module::test_fn`)"
    );
}

fn timeout() -> Duration {
    let secs = std::env::var(TIMEOUT_ENV)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(DEFAULT_TIMEOUT_SECS);
    Duration::from_secs(secs)
}

/// libtest names a test's thread after the test when it runs tests on worker threads; use that
/// to catch a mistyped `test_name` before spawning anything.
fn check_test_name(test_name: &str) {
    if let Some(thread_name) = thread::current().name() {
        if thread_name != "main" {
            assert_eq!(
                thread_name, test_name,
                "in_world() was given {test_name:?} but this test is {thread_name:?}"
            );
        }
    }
}

/// Why no world can be created here, or `None` if it can. Probed once per test binary.
fn world_unavailable() -> Option<String> {
    static REASON: OnceLock<Option<String>> = OnceLock::new();
    REASON
        .get_or_init(|| {
            if !nix::unistd::geteuid().is_root() {
                return Some("not running as root".into());
            }
            match Command::new("unshare")
                .args(UNSHARE_ARGS)
                .args(["--", "true"])
                .stdin(Stdio::null())
                .output()
            {
                Ok(out) if out.status.success() => None,
                Ok(out) => Some(format!(
                    "unshare failed: {}",
                    String::from_utf8_lossy(&out.stderr).trim()
                )),
                Err(e) => Some(format!("cannot run unshare: {e}")),
            }
        })
        .clone()
}

/// Runs `cmd`, collecting its output; kills it after `limit`. Returns (status, stdout, stderr,
/// timed out).
fn run_with_timeout(
    mut cmd: Command,
    limit: Duration,
) -> (std::process::ExitStatus, String, String, bool) {
    let mut child = cmd.spawn().expect("spawn unshare for the test world");
    // Read both pipes on their own threads so a chatty world cannot block on a full pipe.
    let drain = |mut pipe: Box<dyn Read + Send>| {
        thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = pipe.read_to_end(&mut buf);
            String::from_utf8_lossy(&buf).into_owned()
        })
    };
    let out = drain(Box::new(child.stdout.take().expect("piped stdout")));
    let err = drain(Box::new(child.stderr.take().expect("piped stderr")));

    let deadline = Instant::now() + limit;
    let mut timed_out = false;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for the test world") {
            break status;
        }
        if Instant::now() >= deadline {
            timed_out = true;
            // Kills unshare (our own child, by pid); --kill-child then kills the world.
            let _ = child.kill();
            break child.wait().expect("wait for the killed test world");
        }
        thread::sleep(Duration::from_millis(20));
    };
    let stdout = out.join().unwrap_or_default();
    let stderr = err.join().unwrap_or_default();
    (status, stdout, stderr, timed_out)
}

/// Child side: private /run, loopback up. Once per process.
fn prepare_world() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        mount_tmpfs(Path::new("/run"));
        let var_run = Path::new("/var/run");
        let is_symlink = var_run
            .symlink_metadata()
            .map(|m| m.file_type().is_symlink())
            .unwrap_or(true);
        if !is_symlink {
            mount_tmpfs(var_run);
        }
        sh(&["ip", "link", "set", "lo", "up"]);
        // Plans (a lab's `up` and `break` are plans too) journal inside the world, never in
        // the machine's /var/lib/netlens; a test that names its own state dir keeps it.
        // Set in the environment for the netlens binaries the test starts, and installed for
        // the library it calls in this process, which reads no environment of its own.
        if std::env::var_os("NETLENS_STATE_DIR").is_none() {
            std::env::set_var("NETLENS_STATE_DIR", "/run/netlens-state");
        }
        netlens::env::install(netlens::env::Settings::from_env());
    });
}

fn mount_tmpfs(target: &Path) {
    use nix::mount::{mount, MsFlags};
    mount(
        Some("tmpfs"),
        target,
        Some("tmpfs"),
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
        Some("mode=0755"),
    )
    .unwrap_or_else(|e| panic!("mount a tmpfs on {} in the world: {e}", target.display()));
}

/// Runs `argv` (no shell) and returns its stdout; panics with the command and its stderr if it
/// cannot be started or exits unsuccessfully.
pub fn sh(argv: &[&str]) -> String {
    let out = try_sh(argv);
    if !out.status.success() {
        panic!(
            "`{}` failed ({}): {}{}",
            argv.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim(),
            String::from_utf8_lossy(&out.stdout).trim()
        );
    }
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs `argv` (no shell) and returns its output whatever the exit status; panics only if it
/// cannot be started. For commands expected to fail.
pub fn try_sh(argv: &[&str]) -> Output {
    let (program, args) = argv.split_first().expect("sh: empty argv");
    Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run `{}`: {e}", argv.join(" ")))
}

/// The `netlens` binary built for this test run.
pub fn netlens_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_netlens"))
}

/// Gives the world a writable `/etc/netns` on a tmpfs, holding a directory for each of
/// `namespaces`. `/etc` becomes an overlay on the world's own `/run` first, so not even the
/// empty `netns` directory lands on the machine's real `/etc`.
pub fn private_etc_netns(namespaces: &[&str]) {
    std::fs::create_dir_all("/run/etc-overlay/upper").expect("overlay upper");
    std::fs::create_dir_all("/run/etc-overlay/work").expect("overlay work");
    sh(&[
        "mount",
        "-t",
        "overlay",
        "overlay",
        "-o",
        "lowerdir=/etc,upperdir=/run/etc-overlay/upper,workdir=/run/etc-overlay/work",
        "/etc",
    ]);
    std::fs::create_dir_all("/etc/netns").expect("/etc/netns");
    sh(&["mount", "-t", "tmpfs", "tmpfs", "/etc/netns"]);
    for ns in namespaces {
        std::fs::create_dir_all(format!("/etc/netns/{ns}")).expect("/etc/netns/NS");
    }
}
