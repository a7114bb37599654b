//! host-local IPAM leases: [`Step::ReleaseIpamLease`] removes a lease file as host-local's DEL
//! does, [`Step::RestoreIpamLease`] puts it back. The files and host-local's lock are in
//! `plan::leases`.

use std::fmt;
use std::path::Path;

use super::super::exec::Engine;
use super::super::leases;
use super::super::shell::{join, write_file};
use super::super::step::Step;
use super::{noop, not_mine, run, Family, Prepared, Role, StepError};

pub struct Leases;

impl Family for Leases {
    fn describe(&self, step: &Step, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match step {
            Step::ReleaseIpamLease {
                dir,
                ip,
                container_id,
            } => {
                write!(f, "release IPAM lease {ip} in {dir}")?;
                if let Some(c) = container_id {
                    write!(f, " (container {})", short_id(c))?;
                }
                Ok(())
            }
            Step::RestoreIpamLease { dir, ip, content } => write!(
                f,
                "restore IPAM lease {ip} in {dir} (container {})",
                short_id(content.lines().next().unwrap_or("").trim())
            ),
            _ => not_mine(step),
        }
    }

    fn check(&self, step: &Step, _: Role) -> Result<(), String> {
        match step {
            Step::ReleaseIpamLease {
                dir, container_id, ..
            } => {
                lease_dir(dir)?;
                match container_id {
                    Some(c) if c.is_empty() || c.contains(['\n', '\r', '\0']) => Err(format!(
                        "container id {c:?} is empty or holds a line break or NUL"
                    )),
                    _ => Ok(()),
                }
            }
            Step::RestoreIpamLease { dir, content, .. } => {
                lease_dir(dir)?;
                if content.contains('\0') || crate::cni::ipam::parse_lease(content).0.is_empty() {
                    return Err(
                        "a lease holds a container id (and an interface name), nothing else"
                            .to_string(),
                    );
                }
                Ok(())
            }
            _ => not_mine(step),
        }
    }

    fn commands(&self, step: &Step) -> Vec<String> {
        match step {
            Step::ReleaseIpamLease { dir, ip, .. } => vec![join(&[
                "rm".into(),
                "-f".into(),
                leases::path(dir, *ip).display().to_string(),
            ])],
            Step::RestoreIpamLease { dir, ip, content } => vec![write_file(
                &leases::path(dir, *ip).display().to_string(),
                content,
            )],
            _ => not_mine(step),
        }
    }

    fn prepare(&self, _: &mut Engine, step: &Step) -> Result<Prepared, StepError> {
        match step {
            Step::ReleaseIpamLease {
                dir,
                ip,
                container_id,
            } => {
                let Some(before) = leases::read(dir, *ip)? else {
                    return noop();
                };
                if let Some(c) = container_id {
                    leases::owned_by(dir, *ip, &before, c)?;
                }
                run(vec![Step::RestoreIpamLease {
                    dir: dir.clone(),
                    ip: *ip,
                    content: before,
                }])
            }
            Step::RestoreIpamLease { dir, ip, content } => match leases::read(dir, *ip)? {
                Some(now) if &now == content => noop(),
                Some(now) => Err(StepError::Exists(leases::taken(dir, *ip, &now))),
                None => run(vec![Step::ReleaseIpamLease {
                    dir: dir.clone(),
                    ip: *ip,
                    container_id: Some(crate::cni::ipam::parse_lease(content).0),
                }]),
            },
            _ => not_mine(step),
        }
    }

    fn execute(&self, _: &mut Engine, step: &Step) -> Result<Option<Vec<Step>>, StepError> {
        match step {
            Step::ReleaseIpamLease {
                dir,
                ip,
                container_id,
            } => leases::release(dir, *ip, container_id.as_deref())?,
            Step::RestoreIpamLease { dir, ip, content } => leases::restore(dir, *ip, content)?,
            _ => not_mine(step),
        }
        Ok(None)
    }
}

/// Container ids are 64 hex digits; 12 is how runtimes show them. Escaped: a step's
/// description goes into one-line errors.
fn short_id(id: &str) -> String {
    let short = id.char_indices().nth(12).map_or(id, |(i, _)| &id[..i]);
    short.escape_debug().to_string()
}

/// A directory IPAM steps may touch, by its shape: absolute, no `..`, a network name last.
/// (The file in it is always named by a typed IP address.)
fn lease_dir(dir: &str) -> Result<(), String> {
    let p = Path::new(dir);
    if !p.is_absolute()
        || p.components().any(|c| c == std::path::Component::ParentDir)
        || p.file_name().is_none()
        || dir.contains('\0')
    {
        return Err(format!(
            "{dir:?} is not a lease directory (an absolute DATADIR/NETWORK path without `..`)"
        ));
    }
    Ok(())
}

/// On the live system: `dir` must be a lease directory host-local uses on this node — one a
/// CNI config names or one under the data directory — so a plan cannot remove files elsewhere.
pub fn known_lease_dir(dir: &str) -> Result<(), String> {
    let dirs = crate::cni::Dirs::configured();
    let state = crate::cni::read(&dirs);
    if state
        .ipam
        .iter()
        .any(|n| Path::new(&n.dir) == Path::new(dir))
    {
        return Ok(());
    }
    Err(format!(
        "{dir} is not a host-local lease directory of this node (none of the CNI configs in {} \
         names it, and it is not under {})",
        dirs.conf_dir.display(),
        dirs.data_dir.display()
    ))
}
