//! `netlens diff OLD.json NEW.json`: what changed between two saved snapshots.
//!
//! Exit status follows diff(1): 0 no changes, 1 changes found, 2 trouble (a file that cannot
//! be read or is not a snapshot of this schema version).

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::model::diff::diff;
use crate::model::Snapshot;
use crate::report;

#[derive(Debug, Clone, clap::Args)]
pub struct DiffArgs {
    /// The earlier snapshot (`netlens snapshot --json > old.json`).
    pub old: PathBuf,
    /// The later snapshot.
    pub new: PathBuf,
    /// Print the changes as JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: &DiffArgs) -> anyhow::Result<i32> {
    let (old, new) = match (load(&args.old), load(&args.new)) {
        (Ok(o), Ok(n)) => (o, n),
        (Err(e), _) | (_, Err(e)) => {
            crate::errln!("netlens: {e}");
            return Ok(2);
        }
    };
    let changes = diff(&old, &new);
    let text = if args.json {
        let mut t = serde_json::to_string_pretty(&changes)?;
        t.push('\n');
        t
    } else {
        report::diff::render(&changes)
    };
    // Anything a renderer missed is neutralised here (JSON keeps its value).
    let text = crate::text::terminal_safe(&text, args.json);
    let mut stdout = std::io::stdout().lock();
    // A closed pipe (`| head`) is not an error worth a message.
    if let Err(e) = stdout
        .write_all(text.as_bytes())
        .and_then(|_| stdout.flush())
    {
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            // Not main's exit 1, which here would read as "changes found".
            crate::errln!("netlens: writing the diff: {e}");
            return Ok(2);
        }
    }
    Ok(if changes.is_empty() { 0 } else { 1 })
}

/// Reads one snapshot; the error is a single line naming the file.
pub(crate) fn load(path: &Path) -> Result<Snapshot, String> {
    crate::saved::snapshot::load(path)
}
