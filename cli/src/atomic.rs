//! Writing a token file so that a reader never sees half of it and nobody else can read it.
//!
//! The bytes go to a new file beside the target (same directory, so the rename cannot cross a
//! file system), created with mode 0600, synced, then renamed over the target; the directory is
//! synced last so that the rename itself survives a crash. If anything fails before the rename,
//! the old file is untouched and the temporary file is removed.

use std::fs::File;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use tempfile::NamedTempFile;

/// A replacement of a file, prepared before its content is known: the temporary file exists
/// from [`Staged::new`] on, so a directory that can't be written to is found out *before* a
/// request spends a single-use credential, not after. Dropped without [`commit`](Staged::commit),
/// it removes the temporary file and leaves the target untouched.
#[derive(Debug)]
pub(crate) struct Staged {
    target: PathBuf,
    dir: PathBuf,
    /// Taken by [`commit`](Staged::commit).
    file: Option<NamedTempFile>,
}

impl Staged {
    /// Creates the temporary file beside `path`.
    pub(crate) fn new(path: &Path) -> io::Result<Self> {
        let dir = match path.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let name = path
            .file_name()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "the path names no file"))?
            .to_string_lossy()
            .into_owned();
        // tempfile creates it exclusively, with mode 0600 on Unix whatever the umask.
        let file = tempfile::Builder::new().prefix(&format!(".{name}.")).suffix(".tmp").tempfile_in(&dir)?;
        pending().push(file.path().to_path_buf());
        Ok(Self { target: path.to_path_buf(), dir, file: Some(file) })
    }

    /// Writes `bytes`, syncs, and renames over the target.
    pub(crate) fn commit(mut self, bytes: &[u8]) -> io::Result<()> {
        let mut file = self.file.take().expect("a staged file is committed once");
        let path = file.path().to_path_buf();
        let persisted = file
            .write_all(bytes)
            .and_then(|()| file.as_file().sync_all())
            .and_then(|()| file.persist(&self.target).map(drop).map_err(|e| e.error));
        // Renamed, or removed when `file` was dropped on failure: nothing left to clean up.
        forget(&path);
        persisted?;
        sync_dir(&self.dir);
        Ok(())
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        // `NamedTempFile` removes the file itself right after this.
        if let Some(file) = &self.file {
            forget(file.path());
        }
    }
}

/// The temporary files that exist right now, for [`remove_pending`]. A signal handler runs on
/// its own thread while the command holds no lock for long, so a mutex serves.
static PENDING: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

fn pending() -> std::sync::MutexGuard<'static, Vec<PathBuf>> {
    PENDING.lock().unwrap_or_else(PoisonError::into_inner)
}

fn forget(path: &Path) {
    pending().retain(|p| p != path);
}

/// Removes every temporary file still pending: Ctrl-C ends the process without running
/// destructors, so the interrupt handler calls this before exiting.
pub(crate) fn remove_pending() {
    for path in pending().drain(..) {
        let _ = std::fs::remove_file(path);
    }
}

/// Makes the rename durable; a failure here (some file systems refuse) changes nothing visible.
fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    if let Ok(handle) = File::open(dir) {
        let _ = handle.sync_all();
    }
    #[cfg(not(unix))]
    let _ = dir;
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;

    #[test]
    fn replaces_the_file_with_mode_0600_and_leaves_no_temporary() {
        let dir = std::env::temp_dir().join(format!("square-oauth-atomic-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("tokens.json");
        fs::write(&path, b"old").unwrap();
        Staged::new(&path).unwrap().commit(b"new").unwrap();
        drop(Staged::new(&path).unwrap());
        assert_eq!(fs::read(&path).unwrap(), b"new");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
        let leftovers = fs::read_dir(&dir).unwrap().count();
        assert_eq!(leftovers, 1);
        fs::remove_dir_all(&dir).unwrap();
    }
}
