//! Checks made before anything runs; failing one changes nothing. Names follow the kernel's
//! rules, namespaces must exist, addresses are typed already (a bad CIDR never parses), and the
//! tools a step needs must be there.

use super::env::find_in_path;
use super::error::PlanError;
use super::spec::{valid_id, Plan};
use super::step::Step;
use super::steps::{check, is_iptables, known_lease_dir, Role};
use crate::netns::resolve::open_ns;

/// A plan that passed the offline checks ([`offline`]); [`Offline::live`] makes the
/// checks against the system.
#[derive(Debug, Clone, Copy)]
pub struct Offline<'a>(&'a Plan);

/// A plan that passed every check made before anything runs, offline and live. Only
/// [`validate`] and [`Offline::live`] make one, and [`super::apply_validated`] takes one: an
/// apply validates once, however its caller split the checks.
#[derive(Debug, Clone, Copy)]
pub struct Validated<'a>(&'a Plan);

impl<'a> Validated<'a> {
    pub fn plan(&self) -> &'a Plan {
        self.0
    }
}

/// Full validation of a plan about to run: syntax, namespaces, tools and root.
pub fn validate(plan: &Plan) -> Result<Validated<'_>, PlanError> {
    offline(plan)?.live()
}

impl<'a> Offline<'a> {
    /// The checks against the system, for a plan whose offline checks passed: root, the
    /// namespaces exist, lease directories are this node's, the tools are installed.
    pub fn live(self) -> Result<Validated<'a>, PlanError> {
        let plan = self.0;
        if !nix::unistd::geteuid().is_root() {
            return Err(PlanError::NotRoot);
        }
        // Namespaces the plan itself creates exist only once their step has run.
        let mut created: Vec<&str> = Vec::new();
        for (i, step) in plan.steps.iter().enumerate() {
            let bad = |reason: String| invalid(i, step, reason);
            for ns in step.namespaces() {
                if !created.contains(&ns) {
                    open_ns(ns).map_err(|e| bad(e.to_string()))?;
                }
            }
            if let Step::CreateNs { name } = step {
                created.push(name);
            }
            if let Step::ReleaseIpamLease { dir, .. } | Step::RestoreIpamLease { dir, .. } = step {
                known_lease_dir(dir).map_err(bad)?;
            }
            if is_iptables(step) && find_in_path("iptables").is_none() {
                return Err(bad(
                    "iptables is not installed (no iptables in PATH)".to_string()
                ));
            }
            if matches!(step, Step::InsertNftRule { .. } | Step::DelNftRule { .. })
                && find_in_path("nft").is_none()
            {
                return Err(bad("nft is not installed (no nft in PATH)".to_string()));
            }
        }
        Ok(Validated(plan))
    }
}

/// What can be checked without root or the system: names, values, shapes. `--dry-run` runs
/// only this (and says whether namespaces exist).
pub fn validate_offline(plan: &Plan) -> Result<(), PlanError> {
    offline(plan).map(|_| ())
}

/// [`validate_offline`], keeping the proof for [`Offline::live`].
pub fn offline(plan: &Plan) -> Result<Offline<'_>, PlanError> {
    if !valid_id(&plan.id) {
        return Err(PlanError::Refused(format!(
            "plan id {:?} is not usable as a file name (letters, digits, '.', '-', '_', up to 64)",
            plan.id
        )));
    }
    if plan.steps.is_empty() {
        return Err(PlanError::Refused("the plan has no steps".into()));
    }
    for (i, step) in plan.steps.iter().enumerate() {
        check(step, Role::Forward).map_err(|reason| invalid(i, step, reason))?;
    }
    Ok(Offline(plan))
}

/// Inverse steps as undo and rollback run them, checked like a plan's steps: those read back
/// from a journal are only as trustworthy as the file, so a crafted one is refused before any
/// inverse of the plan runs. `index` is the 0-based original step each list undoes.
pub fn validate_inverses(inverses: &[(usize, Vec<Step>)]) -> Result<(), String> {
    for (index, steps) in inverses {
        inverse_steps(steps).map_err(|(step, reason)| {
            format!(
                "the journaled inverse of step {} ({step}) is refused: {reason}; nothing of \
                 this plan was undone",
                index + 1
            )
        })?;
    }
    Ok(())
}

/// The checks [`validate_inverses`] makes, for the inverse of one step; apply makes them
/// before the step runs, so a change whose undo would be refused is never made. On failure:
/// the refused step (shown, control characters escaped) and why.
pub fn inverse_steps(steps: &[Step]) -> Result<(), (String, String)> {
    for step in steps {
        check(step, Role::Inverse)
            .and_then(|()| match step {
                Step::ReleaseIpamLease { dir, .. } | Step::RestoreIpamLease { dir, .. } => {
                    known_lease_dir(dir)
                }
                _ => Ok(()),
            })
            .map_err(|reason| (no_controls(&step.to_string()), reason))?;
    }
    Ok(())
}

fn invalid(i: usize, step: &Step, reason: String) -> PlanError {
    PlanError::Invalid {
        number: i + 1,
        step: no_controls(&step.to_string()),
        reason,
    }
}

/// A refused step is shown as the plan wrote it, but its control characters escaped
/// (`\n`, `\x1b`): the refusal stays one line and cannot drive the terminal.
fn no_controls(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '\n' => "\\n".to_string(),
            '\t' => "\\t".to_string(),
            '\r' => "\\r".to_string(),
            c if c.is_control() => format!("\\x{:02x}", u32::from(c)),
            c => c.to_string(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::step::RouteSpec;

    fn plan(step: Step) -> Plan {
        Plan::new("t", vec![step])
    }

    fn err(step: Step) -> String {
        let e = validate_offline(&plan(step)).unwrap_err().to_string();
        assert!(!e.contains('\n'), "{e}");
        e
    }

    #[test]
    fn link_names_follow_kernel_rules() {
        let e = err(Step::AddBridge {
            ns: "red".into(),
            name: "a-very-long-bridge".into(),
        });
        assert!(
            e.starts_with("step 1 (add bridge a-very-long-bridge in red): invalid interface name"),
            "{e}"
        );
        assert!(e.contains("longer than 15 bytes"), "{e}");
        for bad in ["a/b", "a b", ""] {
            err(Step::SetLinkUp {
                ns: "red".into(),
                link: bad.into(),
                up: true,
            });
        }
    }

    #[test]
    fn lease_steps() {
        let release = |dir: &str, id: Option<&str>| Step::ReleaseIpamLease {
            dir: dir.into(),
            ip: "10.1.0.5".parse().unwrap(),
            container_id: id.map(str::to_string),
        };
        assert!(
            validate_offline(&plan(release("/var/lib/cni/networks/cbr0", Some("abc")))).is_ok()
        );
        for bad in ["relative/cbr0", "/var/lib/cni/networks/../../etc", "/"] {
            let e = err(release(bad, None));
            assert!(e.contains("not a lease directory"), "{e}");
        }
        let e = err(release("/var/lib/cni/networks/cbr0", Some("a\nb")));
        assert!(e.contains("line break"), "{e}");
        let e = err(Step::RestoreIpamLease {
            dir: "/var/lib/cni/networks/cbr0".into(),
            ip: "10.1.0.5".parse().unwrap(),
            content: "\r\neth0".into(),
        });
        assert!(e.contains("a lease holds a container id"), "{e}");
    }

    #[test]
    fn namespace_names() {
        let e = err(Step::SetLinkUp {
            ns: "../etc".into(),
            link: "eth0".into(),
            up: true,
        });
        assert!(e.contains("invalid namespace name"), "{e}");
        err(Step::SetLinkUp {
            ns: "pid:abc".into(),
            link: "eth0".into(),
            up: true,
        });
    }

    #[test]
    fn sysctls() {
        for key in [
            "../../etc/passwd",
            "/net/ipv4/ip_forward",
            "net//x",
            "net/ipv4/a b",
        ] {
            err(Step::SetSysctl {
                ns: "host".into(),
                key: key.into(),
                value: "1".into(),
                persist: false,
            });
        }
        let e = err(Step::SetSysctl {
            ns: "red".into(),
            key: "net/ipv4/ip_forward".into(),
            value: "1".into(),
            persist: true,
        });
        assert!(e.contains("host only"), "{e}");
        assert!(validate_offline(&plan(Step::SetSysctl {
            ns: "host".into(),
            key: "net/ipv4/conf/eth0.100/rp_filter".into(),
            value: "2".into(),
            persist: true,
        }))
        .is_ok());
    }

    #[test]
    fn iptables_rules() {
        let rule = |table: &str, args: &[&str]| Step::AddIptablesRule {
            ns: "host".into(),
            table: table.into(),
            chain: "POSTROUTING".into(),
            rule: args.iter().map(|s| s.to_string()).collect(),
        };
        err(rule("nat", &[]));
        err(rule("bogus", &["-j", "ACCEPT"]));
        let e = err(rule("nat", &["-j", "ACCEPT", "-F"]));
        assert!(e.contains("-F"), "{e}");
        assert!(validate_offline(&plan(rule(
            "nat",
            &["-s", "10.0.0.0/24", "-j", "MASQUERADE"]
        )))
        .is_ok());
    }

    /// Chain steps take user chains only: never a built-in chain, an extension target's name
    /// or a name iptables would read as an option.
    #[test]
    fn iptables_chains() {
        let del = |table: &str, chain: &str| Step::DelIptablesChain {
            ns: "host".into(),
            table: table.into(),
            chain: chain.into(),
        };
        assert!(validate_offline(&plan(del("nat", "CNI-DN-63f0a81155a8930238773"))).is_ok());
        assert!(err(del("nat", "POSTROUTING")).contains("built-in"));
        err(del("nat", "MASQUERADE"));
        err(del("nat", "-F"));
        err(del("bogus", "CNI-1"));
        err(Step::AddIptablesChain {
            ns: "host".into(),
            table: "filter".into(),
            chain: "FORWARD".into(),
        });
    }

    #[test]
    fn journaled_inverses() {
        let rule = |table: &str, args: &[&str]| Step::AddIptablesRule {
            ns: "host".into(),
            table: table.into(),
            chain: "PREROUTING".into(),
            rule: args.iter().map(|s| s.to_string()).collect(),
        };
        let dnat = ["-p", "tcp", "-j", "DNAT", "--to-destination", "10.0.0.2:80"];
        // Putting back a stale DNAT the stale-NAT fix removed: fine as an inverse only.
        assert!(validate_inverses(&[(0, vec![rule("nat", &dnat)])]).is_ok());
        assert!(validate_offline(&plan(rule("nat", &dnat))).is_err());
        let smuggled: Vec<&str> = ["-tnat"].into_iter().chain(dnat).collect();
        let e =
            validate_inverses(&[(0, vec![]), (1, vec![rule("filter", &smuggled)])]).unwrap_err();
        assert!(
            e.starts_with("the journaled inverse of step 2 (add filter/PREROUTING"),
            "{e}"
        );
        assert!(e.contains("table"), "{e}");
        let e = validate_inverses(&[(
            0,
            vec![Step::SetSysctl {
                ns: "host".into(),
                key: "kernel/hostname".into(),
                value: "x".into(),
                persist: false,
            }],
        )])
        .unwrap_err();
        assert!(e.contains("kernel/hostname"), "{e}");
    }

    #[test]
    fn routes() {
        let r = |via: Option<&str>, dev: Option<&str>| Step::AddRoute {
            ns: "host".into(),
            route: RouteSpec {
                dst: "10.1.0.0/16".parse().unwrap(),
                via: via.map(|v| v.parse().unwrap()),
                dev: dev.map(str::to_string),
                table: None,
                metric: None,
            },
        };
        err(r(None, None));
        err(r(Some("fd00::1"), None));
        err(r(None, Some("this-name-is-too-long")));
        assert!(validate_offline(&plan(r(Some("10.0.0.1"), None))).is_ok());
    }

    #[test]
    fn empty_plan_and_bad_id() {
        assert!(validate_offline(&Plan::new("t", vec![])).is_err());
        let mut p = plan(Step::AddBridge {
            ns: "red".into(),
            name: "br0".into(),
        });
        p.id = "../x".into();
        assert!(validate_offline(&p).is_err());
    }

    #[test]
    fn only_resolver_files_are_written() {
        let write = |path: &str| Step::WriteFile {
            ns: "red".into(),
            path: path.into(),
            content: Some("hosts: files dns\n".into()),
            pid_start: None,
        };
        assert!(validate_offline(&plan(write("/etc/netns/red/nsswitch.conf"))).is_ok());
        assert!(err(write("/etc/shadow")).contains("only resolv.conf, hosts and nsswitch.conf"));
        assert!(err(write("etc/hosts")).contains("absolute"));
        assert!(err(write("/etc/netns/../hosts")).contains("`..`"));
    }
}
