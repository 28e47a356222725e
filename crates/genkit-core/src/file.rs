//! Durable, atomic file replacement for file-backed stores (the dev-local vector store, the
//! file session store).
//!
//! [`write_atomic`] writes the new contents to a temporary file beside the target, syncs it,
//! renames it over the target and syncs the directory: a reader sees either the old file or
//! the new one, never a torn write, and once it returns the new contents survive a power loss.
//! These are blocking calls: async code runs them in `tokio::task::spawn_blocking`.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Replaces `path` with `contents` atomically and durably (temporary file, `fsync`, rename,
/// directory `fsync`). The temporary file is `<path>.<pid>.<n>.tmp` in the same directory (a
/// rename is atomic only within one file system), unique per process and call so concurrent
/// writers never share one; it is removed when the write fails.
///
/// # Errors
/// The I/O error of the step that failed.
pub fn write_atomic(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(format!(".{}.{n}.tmp", std::process::id()));
    let tmp = PathBuf::from(tmp);
    let written = (|| {
        let mut f = File::create(&tmp)?;
        f.write_all(contents)?;
        f.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    sync_parent_dir(path)
}

/// Makes a rename or removal in `path`'s directory durable: on Unix such a change is an update
/// of the directory, which reaches the disk only when the directory itself is synced (without
/// it, a power loss right after a write is acknowledged can bring back the previous file).
///
/// # Errors
/// The I/O error opening or syncing the directory.
#[cfg(unix)]
pub fn sync_parent_dir(path: &Path) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    File::open(dir).and_then(|d| d.sync_all())
}

/// Elsewhere (Windows) a directory cannot be opened as a file to sync it; renames are made
/// durable by the file system itself.
///
/// # Errors
/// None.
#[cfg(not(unix))]
pub fn sync_parent_dir(_path: &Path) -> std::io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_the_file_and_leaves_no_temporary_behind() {
        let dir = std::env::temp_dir().join(format!("genkit-core-file-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let p = dir.join("a.json");
        write_atomic(&p, b"one").unwrap();
        write_atomic(&p, b"two").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"two");
        let names: Vec<_> = fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, ["a.json"]);
        // A write into a missing directory fails and leaves nothing.
        assert!(write_atomic(&dir.join("missing/b.json"), b"x").is_err());
        fs::remove_dir_all(&dir).unwrap();
    }
}
