//! Reading what a netlens run printed, and checking its exit code.

use std::process::Output;

/// (stdout, stderr) as text.
pub fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The run exited with `code` and nothing panicked; on failure both streams are shown.
pub fn assert_code(out: &Output, code: i32, what: &str) {
    let (o, e) = text(out);
    assert_eq!(
        out.status.code(),
        Some(code),
        "{what}: stdout:\n{o}\nstderr:\n{e}"
    );
    assert!(!e.contains("panicked"), "{what}: {e}");
}

/// stdout and stderr together, for messages that may land on either.
pub fn both(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}
