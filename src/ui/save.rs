//! `s`: where a snapshot is saved. A form asks for the file with a default filled in —
//! `netlens-snapshot-2026-11-30T19-21-05Z.json` (when it was read, UTC) in netlens' state
//! directory if there is one, else the current directory, never `/` (where a service or a
//! `sudo` from `/` starts) — and the status line then shows the whole path written.

use std::path::{Path, PathBuf};

use super::app::App;
use super::components::actions::{Form, Overlay};
use super::strings;

/// `netlens-snapshot-2026-11-30T19-21-05Z.json`: sortable, readable, no `:` (which `scp` and
/// Windows take for something else).
pub fn file_name(taken_at: u64) -> String {
    let stamp: String = crate::plan::format_time(taken_at)
        .chars()
        .map(|c| match c {
            ' ' => 'T',
            ':' => '-',
            c => c,
        })
        .collect();
    format!("netlens-snapshot-{stamp}.json")
}

/// The default directory: `snapshots/` in the state directory when netlens has one (it has
/// run a plan or a lab here), else the current directory — unless that is `/` or unknown,
/// then the state directory's anyway (created when saving).
pub fn choose_dir(state: &Path, state_exists: bool, cwd: Option<PathBuf>) -> PathBuf {
    let in_state = state.join("snapshots");
    if state_exists {
        return in_state;
    }
    match cwd {
        Some(cwd) if cwd != Path::new("/") => cwd,
        _ => in_state,
    }
}

/// [`choose_dir`] for this process (the loop asks once, at start: the app does no I/O).
pub fn default_dir() -> PathBuf {
    let state = crate::plan::state_directory();
    choose_dir(&state, state.is_dir(), std::env::current_dir().ok())
}

/// `s`: the form asking where, with the default filled in.
pub fn open_form(app: &mut App) {
    let Some(snap) = &app.snapshot else {
        app.status = strings::NO_SNAPSHOT_YET.into();
        return;
    };
    let path = app.save_dir.join(file_name(snap.taken_at));
    app.overlay = Overlay::Form(Form::save(&path.to_string_lossy()));
}

/// Where the file goes for what was typed: a directory takes the default name; a relative
/// path is made whole against `cwd` so the status line can say exactly where it went.
pub fn target(typed: &Path, is_dir: bool, taken_at: u64, cwd: &Path) -> PathBuf {
    let path = if is_dir {
        typed.join(file_name(taken_at))
    } else {
        typed.to_path_buf()
    };
    if path.is_absolute() {
        path
    } else {
        cwd.join(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_name_is_a_readable_utc_time() {
        assert_eq!(
            file_name(1_796_066_465),
            "netlens-snapshot-2026-11-30T19-21-05Z.json"
        );
    }

    #[test]
    fn the_state_directory_first_never_root() {
        let state = Path::new("/var/lib/netlens");
        let cwd = Some(PathBuf::from("/home/op"));
        assert_eq!(
            choose_dir(state, true, cwd.clone()),
            Path::new("/var/lib/netlens/snapshots")
        );
        assert_eq!(choose_dir(state, false, cwd), Path::new("/home/op"));
        for cwd in [Some(PathBuf::from("/")), None] {
            assert_eq!(
                choose_dir(state, false, cwd),
                Path::new("/var/lib/netlens/snapshots")
            );
        }
    }

    #[test]
    fn a_directory_or_a_relative_path_becomes_a_whole_file_name() {
        let cwd = Path::new("/home/op");
        assert_eq!(
            target(Path::new("/tmp"), true, 0, cwd),
            Path::new("/tmp/netlens-snapshot-1970-01-01T00-00-00Z.json")
        );
        assert_eq!(
            target(Path::new("s.json"), false, 0, cwd),
            Path::new("/home/op/s.json")
        );
    }
}
