//! [`Step::WriteFile`]: the resolver files a plan writes (`/etc/netns/NAME/nsswitch.conf`,
//! `/proc/PID/root/etc/hosts`, …): read before, so the inverse can put the old text back byte
//! for byte, and written whole through a fresh temporary file, so a crash never leaves half a
//! file that every lookup in the namespace would read.
//!
//! Both go through [`crate::rootfs::write`]: a container owns its root, so its `etc` is
//! resolved inside that root, the file is never written or read through a link, and no name a
//! container could plant is followed or reused. With `pid_start`, a `/proc/PID/root` path is
//! used only while PID is still the process that started then.

use std::fmt;

use super::super::shell::{join, write_file};
use super::super::step::Step;
use super::{noop, not_mine, run, Family, Prepared, Role, StepError};
use crate::plan::exec::Engine;

pub struct Files;

impl Family for Files {
    fn describe(&self, step: &Step, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match step {
            Step::WriteFile {
                ns,
                path,
                content: Some(c),
                ..
            } => write!(
                f,
                "write {path} for {ns} ({} line{})",
                c.lines().count(),
                if c.lines().count() == 1 { "" } else { "s" }
            ),
            Step::WriteFile {
                ns,
                path,
                content: None,
                ..
            } => write!(f, "remove {path} for {ns}"),
            _ => not_mine(step),
        }
    }

    /// Only resolv.conf, hosts or nsswitch.conf of the host's `/etc`, an `/etc/netns/NS/` or
    /// a container's `/proc/PID/root/etc/`, nothing else (see [`crate::rootfs::write`]).
    fn check(&self, step: &Step, _: Role) -> Result<(), String> {
        let Step::WriteFile { path, content, .. } = step else {
            not_mine(step)
        };
        crate::rootfs::check_write(path, content.as_deref())
    }

    fn commands(&self, step: &Step) -> Vec<String> {
        let Step::WriteFile { path, content, .. } = step else {
            not_mine(step)
        };
        vec![match content {
            Some(c) => write_file(path, c),
            None => join(&["rm".into(), "-f".into(), path.clone()]),
        }]
    }

    /// Its own inverse: the same step with the previous content.
    fn prepare(&self, _: &mut Engine, step: &Step) -> Result<Prepared, StepError> {
        let Step::WriteFile {
            ns,
            path,
            content,
            pid_start,
        } = step
        else {
            not_mine(step)
        };
        let before = read(path, *pid_start)?;
        if &before == content {
            return noop();
        }
        // Undo and the watchdog run later, when the pid may be another process's.
        let pid_start = match pid_start {
            Some(t) => Some(*t),
            None => self::pid_start(path)?,
        };
        run(vec![Step::WriteFile {
            ns: ns.clone(),
            path: path.clone(),
            content: before,
            pid_start,
        }])
    }

    fn execute(&self, _: &mut Engine, step: &Step) -> Result<Option<Vec<Step>>, StepError> {
        let Step::WriteFile {
            path,
            content,
            pid_start,
            ..
        } = step
        else {
            not_mine(step)
        };
        write(path, content.as_deref(), *pid_start)?;
        Ok(None)
    }
}

/// The file's content now, `None` if there is none.
pub fn read(path: &str, pid_start: Option<u64>) -> Result<Option<String>, String> {
    crate::rootfs::read_current(path, pid_start)
}

/// Writes (`Some`) or removes (`None`) the file. Only `/etc/netns/NAME` (the host-side
/// directory `ip netns exec` reads) is made when missing, never a directory in a container.
fn write(path: &str, content: Option<&str>, pid_start: Option<u64>) -> Result<(), String> {
    crate::rootfs::replace(path, content, pid_start)
}

/// When the process whose root `path` names started, for a `/proc/PID/root` path (`None` for
/// the host's and `/etc/netns` files).
fn pid_start(path: &str) -> Result<Option<u64>, String> {
    match crate::rootfs::parse_target(path)?.place {
        crate::rootfs::Place::Proc(pid) => crate::rootfs::process_start(pid).map(Some),
        _ => Ok(None),
    }
}
