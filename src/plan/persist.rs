//! Persisting a sysctl across reboots, only when a step asks for it: a labelled file in
//! `/etc/sysctl.d` (as netavark does for ip_forward), so systemd-sysctl re-applies it at boot
//! and a reader can tell who wrote it.

use std::io;
use std::path::PathBuf;

use super::shell::sysctl_name;

/// Overrides `/etc/sysctl.d` (tests point it at a temporary directory).
pub const SYSCTL_DIR_ENV: &str = "NETLENS_SYSCTL_DIR";

pub fn conf_dir() -> PathBuf {
    match std::env::var_os(SYSCTL_DIR_ENV) {
        Some(d) if !d.is_empty() => PathBuf::from(d),
        _ => PathBuf::from("/etc/sysctl.d"),
    }
}

/// `90-netlens-net.ipv4.ip_forward.conf`: late in the order so it wins over distribution
/// defaults, one file per key so undo can restore exactly one.
pub fn conf_path(key: &str) -> PathBuf {
    conf_dir().join(format!("90-netlens-{}.conf", key.replace('/', ".")))
}

pub fn conf_content(key: &str, value: &str, label: &str) -> String {
    let label = label.replace('\n', " ");
    let mut text = String::from("# Written by netlens");
    if !label.is_empty() {
        text.push_str(&format!(" ({label})"));
    }
    text.push_str("; `netlens undo` removes it.\n");
    text.push_str(&format!("{} = {value}\n", sysctl_name(key)));
    text
}

/// The file's content now, `None` if there is none.
pub fn read(key: &str) -> Result<Option<String>, String> {
    let path = conf_path(key);
    match std::fs::read_to_string(&path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("cannot read {}: {e}", path.display())),
    }
}

/// Writes (`Some`) or removes (`None`) the file; written whole to a temporary name and renamed,
/// so a crash never leaves half a file for the next boot.
pub fn write(key: &str, content: Option<&str>) -> Result<(), String> {
    let path = conf_path(key);
    match content {
        None => match std::fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(format!("cannot remove {}: {e}", path.display())),
        },
        Some(text) => {
            let dir = conf_dir();
            std::fs::create_dir_all(&dir)
                .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
            let tmp = path.with_extension("conf.netlens-tmp");
            std::fs::write(&tmp, text)
                .and_then(|()| std::fs::rename(&tmp, &path))
                .map_err(|e| format!("cannot write {}: {e}", path.display()))
        }
    }
}
