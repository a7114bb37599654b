//! Persisting a sysctl across reboots, only when a step asks for it: a labelled file in
//! `/etc/sysctl.d` (as netavark does for ip_forward), so systemd-sysctl re-applies it at boot
//! and a reader can tell who wrote it.

use std::io;
use std::path::PathBuf;

use super::shell::sysctl_name;

pub use super::env::SYSCTL_DIR_ENV;

pub fn conf_dir() -> PathBuf {
    super::env::sysctl_dir()
}

/// `90-netlens-net.ipv4.ip_forward.conf`: late in the order so it wins over distribution
/// defaults, one file per key so undo can restore exactly one.
pub fn conf_path(key: &str) -> PathBuf {
    conf_dir().join(format!("90-netlens-{}.conf", key.replace('/', ".")))
}

pub fn conf_content(key: &str, value: &str, label: &str) -> String {
    // A label is one comment line: no line break or other control character may end it.
    let label: String = label
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let mut text = String::from("# Written by netlens");
    if !label.is_empty() {
        text.push_str(&format!(" ({label})"));
    }
    text.push_str("; `netlens undo` removes it.\n");
    text.push_str(&format!("{} = {value}\n", sysctl_name(key)));
    text
}

/// Whether `content` may be put back at `key`'s file by `RestoreSysctlFile`: a sysctl.d file
/// that sets this one key to a plain value and nothing else (comments and blank lines aside)
/// — what netlens writes, or what was at that name before netlens wrote over it. A journal or
/// a plan cannot use it to write anything else into `/etc/sysctl.d` (another key, a glob,
/// `kernel.core_pattern`).
pub fn check_content(key: &str, content: &str) -> Result<(), String> {
    let names = [key.to_string(), key.replace('/', "."), sysctl_name(key)];
    let line_ok = |line: &str| {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            return true;
        }
        let Some((name, value)) = line.split_once('=') else {
            return false;
        };
        // systemd-sysctl's `-` prefix: ignore a failure to set it.
        let name = name.trim();
        let name = name.strip_prefix('-').unwrap_or(name);
        names.iter().any(|n| n == name) && super::sysctl::value(key, value.trim()).is_ok()
    };
    let ok = content.len() <= MAX_CONTENT
        && !content.contains(['\0', '\r'])
        && !content
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\t')
        && content.lines().all(line_ok);
    if ok {
        Ok(())
    } else {
        Err(format!(
            "the sysctl.d content for {key} is not one netlens puts back (comments and \
             `{} = VALUE` lines only, at most {MAX_CONTENT} bytes)",
            sysctl_name(key)
        ))
    }
}

/// Largest sysctl.d file netlens puts back.
const MAX_CONTENT: usize = 4096;

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
            write_new(&tmp, text)
                .and_then(|()| std::fs::rename(&tmp, &path))
                .map_err(|e| format!("cannot write {}: {e}", path.display()))
        }
    }
}

/// Writes `text` to a fresh `tmp`, never through a link someone left at that name: a stale
/// temporary file is removed (unlinking a symlink removes the link, not its target) and the
/// new one created with O_EXCL|O_NOFOLLOW, then synced before the rename.
fn write_new(tmp: &std::path::Path, text: &str) -> io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    match std::fs::remove_file(tmp) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o644)
        .custom_flags(libc::O_NOFOLLOW)
        .open(tmp)?;
    f.write_all(text.as_bytes())?;
    f.sync_all()
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_netlens_content_passes() {
        let key = "net/ipv4/ip_forward";
        for label in ["", "plan p: t", "a (b) c"] {
            let c = super::conf_content(key, "1", label);
            super::check_content(key, &c).unwrap_or_else(|e| panic!("{c:?}: {e}"));
        }
        let c = super::conf_content(key, "1", "x\ny");
        assert!(!c.trim_end().contains("\ny"), "{c:?}");
        super::check_content(key, &c).unwrap();
        // What an admin had at that name before netlens wrote over it.
        super::check_content(key, "net.ipv4.ip_forward = 0\n").unwrap();
        super::check_content(key, "# mine\n-net/ipv4/ip_forward=1").unwrap();
        for bad in [
            "kernel.hostname = x\n",
            "net.ipv4.ip_forward = 1\nx = 1\n",
            "# Written by netlens; `netlens undo` removes it.\nnet.ipv4.conf.all.rp_filter = 1\n",
            "# Written by netlens (a\rb); `netlens undo` removes it.\nnet.ipv4.ip_forward = 1\n",
            "net.ipv4.* = 1\n",
            "net.ipv4.ip_forward = 1 2;x\n",
            "net.ipv4.ip_forward\n",
        ] {
            assert!(super::check_content(key, bad).is_err(), "{bad:?}");
        }
    }
}
