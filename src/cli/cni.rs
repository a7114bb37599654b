//! `netlens cni [--json]`: the node's CNI as each runtime found on it sees it — kubelet's
//! runtimes use the first valid file, podman's CNI backend every conflist, netavark its own
//! networks and ipam.db — what each file is to them, plugin binaries found or missing, and
//! each network's range, use, allocations (held by which namespace, or leaked) and pods.
//!
//! Exit status: 0 healthy (or no CNI here), 1 the doctor's CNI rules find something, 2 bad
//! input (a directory given on the command line that does not exist, an unknown namespace).

use std::path::PathBuf;

use crate::cni::Dirs;
use crate::collect::{self, Options};
use crate::diagnose::has_problems;
use crate::report::cni::{render, report};

use super::apply::EXIT_BAD_INPUT;

#[derive(Debug, Clone, Default, clap::Args)]
pub struct CniArgs {
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
    /// Configuration directory (default /etc/cni/net.d, or $NETLENS_CNI_CONF_DIR).
    #[arg(long, value_name = "DIR")]
    pub conf_dir: Option<PathBuf>,
    /// Plugin directory, repeatable, searched in order (default /opt/cni/bin and /usr/lib/cni,
    /// or $NETLENS_CNI_BIN_DIRS).
    #[arg(long = "bin-dir", value_name = "DIR")]
    pub bin_dirs: Vec<PathBuf>,
    /// host-local's default dataDir (default /var/lib/cni/networks, or $NETLENS_CNI_DATA_DIR).
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
}

fn dirs_from(args: &CniArgs) -> Result<Dirs, String> {
    let mut dirs = Dirs::configured();
    if let Some(d) = &args.conf_dir {
        if !d.is_dir() {
            return Err(format!("--conf-dir {}: no such directory", d.display()));
        }
        dirs.conf_dir = d.clone();
        dirs.conf_dir_given = true;
    }
    if !args.bin_dirs.is_empty() {
        dirs.bin_dirs = args.bin_dirs.clone();
    }
    if let Some(d) = &args.data_dir {
        dirs.data_dir = d.clone();
    }
    Ok(dirs)
}

pub fn run(args: &CniArgs) -> anyhow::Result<i32> {
    let dirs = match dirs_from(args) {
        Ok(d) => d,
        Err(e) => {
            crate::errln!("netlens cni: {e}");
            return Ok(EXIT_BAD_INPUT);
        }
    };
    let opts = Options {
        firewall: false,
        cni_dirs: Some(dirs),
        ..Options::default()
    };
    let snap = match collect::snapshot(&opts) {
        Ok(s) => s,
        Err(e) => {
            crate::errln!("netlens cni: {e}");
            return Ok(EXIT_BAD_INPUT);
        }
    };
    let r = report(&snap);
    let code = i32::from(has_problems(&r.findings));
    let text = if args.json {
        serde_json::to_string_pretty(&r)? + "\n"
    } else {
        render(&r)
    };
    // Anything a renderer missed is neutralised here (JSON keeps its value).
    let text = crate::text::terminal_safe(&text, args.json);
    print!("{text}");
    Ok(code)
}
