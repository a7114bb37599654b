//! Sysctls: [`Step::SetSysctl`] (the live value inside a namespace, and with `persist` the
//! host's labelled `/etc/sysctl.d` file) and [`Step::RestoreSysctlFile`], which puts that
//! file back. Key and value checks are in `plan::sysctl`, the file in `plan::persist`.

use std::fmt;

use super::super::exec::Engine;
use super::super::shell::{in_ns, join, sysctl_name, write_file};
use super::super::step::Step;
use super::super::{persist, proc_ops, sysctl};
use super::{noop, not_mine, run, Family, Prepared, Role, StepError};

pub struct Sysctls;

impl Family for Sysctls {
    fn describe(&self, step: &Step, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match step {
            Step::SetSysctl {
                ns,
                key,
                value,
                persist,
            } => write!(
                f,
                "set {}={value} in {ns}{}",
                key.replace('/', "."),
                if *persist { " (persisted)" } else { "" }
            ),
            Step::RestoreSysctlFile { key, content } => match content {
                Some(_) => write!(f, "restore the sysctl.d file of {}", key.replace('/', ".")),
                None => write!(f, "remove the sysctl.d file of {}", key.replace('/', ".")),
            },
            _ => not_mine(step),
        }
    }

    fn check(&self, step: &Step, _: Role) -> Result<(), String> {
        match step {
            Step::SetSysctl {
                ns,
                key,
                value,
                persist,
            } => {
                sysctl::key(key)?;
                sysctl::value(key, value)?;
                if *persist && ns != "host" {
                    return Err(format!(
                        "persist applies to the host only (/etc/sysctl.d configures the host at boot), not {ns}"
                    ));
                }
                Ok(())
            }
            Step::RestoreSysctlFile { key, content } => {
                sysctl::key(key)?;
                content
                    .as_deref()
                    .map_or(Ok(()), |c| persist::check_content(key, c))
            }
            _ => not_mine(step),
        }
    }

    fn commands(&self, step: &Step) -> Vec<String> {
        match step {
            Step::SetSysctl {
                ns,
                key,
                value,
                persist: keep,
            } => {
                let set = in_ns(
                    ns,
                    &["sysctl", "-w", &format!("{}={value}", sysctl_name(key))],
                );
                let mut cmds = vec![join(&set)];
                if *keep {
                    let path = persist::conf_path(key);
                    let content = persist::conf_content(key, value, "");
                    cmds.push(write_file(&path.display().to_string(), &content));
                }
                cmds
            }
            Step::RestoreSysctlFile { key, content } => {
                let path = persist::conf_path(key).display().to_string();
                vec![match content {
                    Some(c) => write_file(&path, c),
                    None => join(&["rm".into(), "-f".into(), path]),
                }]
            }
            _ => not_mine(step),
        }
    }

    fn prepare(&self, eng: &mut Engine, step: &Step) -> Result<Prepared, StepError> {
        match step {
            Step::SetSysctl {
                ns,
                key,
                value,
                persist: keep,
            } => set_inverse(eng, ns, key, value, *keep),
            Step::RestoreSysctlFile { key, content } => {
                let before = persist::read(key)?;
                if &before == content {
                    return noop();
                }
                run(vec![Step::RestoreSysctlFile {
                    key: key.clone(),
                    content: before,
                }])
            }
            _ => not_mine(step),
        }
    }

    fn execute(&self, eng: &mut Engine, step: &Step) -> Result<Option<Vec<Step>>, StepError> {
        match step {
            Step::SetSysctl {
                ns,
                key,
                value,
                persist: keep,
            } => {
                let old = proc_ops::read_sysctl(ns, key)?;
                proc_ops::write_sysctl(ns, key, value)?;
                if *keep {
                    let content = persist::conf_content(key, value, &eng.label);
                    if let Err(e) = persist::write(key, Some(&content)) {
                        // A step is all or nothing too: the failed step is not rolled back by
                        // the plan, so put the live value back here.
                        return match proc_ops::write_sysctl(ns, key, &old) {
                            Ok(()) => Err(e.into()),
                            Err(e2) => Err(format!("{e}; and restoring {key} failed: {e2}").into()),
                        };
                    }
                }
            }
            Step::RestoreSysctlFile { key, content } => persist::write(key, content.as_deref())?,
            _ => not_mine(step),
        }
        Ok(None)
    }
}

fn set_inverse(
    eng: &Engine,
    ns: &str,
    key: &str,
    value: &str,
    keep: bool,
) -> Result<Prepared, StepError> {
    let old = proc_ops::read_sysctl(ns, key)?;
    let mut inverse = Vec::new();
    let mut same = old.trim() == value.trim();
    if !same {
        inverse.push(Step::SetSysctl {
            ns: ns.to_string(),
            key: key.to_string(),
            value: old,
            persist: false,
        });
    }
    if keep {
        let before = persist::read(key)?;
        let wanted = persist::conf_content(key, value, &eng.label);
        if before.as_deref() != Some(wanted.as_str()) {
            same = false;
            inverse.push(Step::RestoreSysctlFile {
                key: key.to_string(),
                content: before,
            });
        }
    }
    if same {
        noop()
    } else {
        run(inverse)
    }
}
