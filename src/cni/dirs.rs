//! Where CNI things live. The defaults are what kubelet, containerd and CRI-O use; each can be
//! overridden through the environment ([`crate::env`], read once by `main`; and `netlens cni`'s flags), so tests point netlens at
//! temporary directories instead of the machine's.

use std::path::PathBuf;

/// Configuration directory (default `/etc/cni/net.d`).
pub const CONF_DIR_ENV: &str = crate::env::CNI_CONF_DIR;
/// Plugin directories, `:`-separated like `CNI_PATH` (default `/opt/cni/bin:/usr/lib/cni`).
pub const BIN_DIRS_ENV: &str = crate::env::CNI_BIN_DIRS;
/// host-local's default `dataDir` (default `/var/lib/cni/networks`), used for configs that do
/// not set one and to find lease directories no config names any more.
pub const DATA_DIR_ENV: &str = crate::env::CNI_DATA_DIR;

/// The root below which container runtimes' files are looked for (default `/`): podman's
/// containers.conf, netavark's networks and ipam.db, kubelet's and the runtimes' sockets.
pub const RUNTIME_ROOT_ENV: &str = crate::env::RUNTIME_ROOT;

pub const DEFAULT_CONF_DIR: &str = "/etc/cni/net.d";
/// `/opt/cni/bin` is where upstream releases and kubeadm put plugins; Debian's
/// `containernetworking-plugins` installs them in `/usr/lib/cni`.
pub const DEFAULT_BIN_DIRS: [&str; 2] = ["/opt/cni/bin", "/usr/lib/cni"];
pub const DEFAULT_DATA_DIR: &str = "/var/lib/cni/networks";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dirs {
    pub conf_dir: PathBuf,
    pub bin_dirs: Vec<PathBuf>,
    pub data_dir: PathBuf,
    /// Where runtimes' own files are read from (see [`RUNTIME_ROOT_ENV`]).
    pub root: PathBuf,
    /// The configuration directory was named by the user (`--conf-dir`, [`CONF_DIR_ENV`]):
    /// whoever reads it is taken to use the first valid file even when no such runtime is
    /// recognised, so the directory asked about is judged, not called unread.
    pub conf_dir_given: bool,
}

impl Default for Dirs {
    fn default() -> Self {
        Dirs {
            conf_dir: DEFAULT_CONF_DIR.into(),
            bin_dirs: DEFAULT_BIN_DIRS.iter().map(PathBuf::from).collect(),
            data_dir: DEFAULT_DATA_DIR.into(),
            root: "/".into(),
            conf_dir_given: false,
        }
    }
}

impl Dirs {
    /// The defaults, with whatever the installed settings override ([`crate::env::current`]).
    pub fn configured() -> Self {
        Self::with_overrides(crate::env::current().cni.clone())
    }

    /// The defaults, with what `env` overrides.
    pub fn with_overrides(env: crate::env::CniDirs) -> Self {
        let mut d = Dirs::default();
        if let Some(v) = env.conf_dir {
            d.conf_dir = v;
            d.conf_dir_given = true;
        }
        if let Some(v) = env.bin_dirs {
            d.bin_dirs = v;
        }
        if let Some(v) = env.data_dir {
            d.data_dir = v;
        }
        if let Some(v) = env.runtime_root {
            d.root = v;
        }
        d
    }
}
