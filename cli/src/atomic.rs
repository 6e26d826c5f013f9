//! Writing a token file so that a reader never sees half of it and nobody else can read it.
//!
//! The bytes go to a new file beside the target (same directory, so the rename cannot cross a
//! file system), created with mode 0600, synced, then renamed over the target; the directory is
//! synced last so that the rename itself survives a crash. If anything fails before the rename,
//! the old file is untouched and the temporary file is removed.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

/// A replacement of a file, prepared before its content is known: the temporary file exists
/// from [`Staged::new`] on, so a directory that can't be written to is found out *before* a
/// request spends a single-use credential, not after. Dropped without [`commit`](Staged::commit),
/// it removes the temporary file and leaves the target untouched.
#[derive(Debug)]
pub(crate) struct Staged {
    target: PathBuf,
    dir: PathBuf,
    tmp_path: PathBuf,
    file: Option<File>,
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
        let (tmp_path, file) = create_temporary(&dir, &name)?;
        Ok(Self { target: path.to_path_buf(), dir, tmp_path, file: Some(file) })
    }

    /// Writes `bytes`, syncs, and renames over the target.
    pub(crate) fn commit(mut self, bytes: &[u8]) -> io::Result<()> {
        let mut file = self.file.take().expect("a staged file is committed once");
        file.write_all(bytes)?;
        file.sync_all()?;
        drop(file);
        fs::rename(&self.tmp_path, &self.target)?;
        // Renamed: nothing left to clean up.
        self.tmp_path = PathBuf::new();
        sync_dir(&self.dir);
        Ok(())
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if !self.tmp_path.as_os_str().is_empty() {
            let _ = fs::remove_file(&self.tmp_path);
        }
    }
}

/// A new, exclusive file `.NAME.tmp-PID-N` in `dir`.
fn create_temporary(dir: &Path, name: &str) -> io::Result<(PathBuf, File)> {
    let pid = std::process::id();
    let mut attempt = 0u32;
    loop {
        let candidate = dir.join(format!(".{name}.tmp-{pid}-{attempt}"));
        let mut options = OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt as _;
            options.mode(0o600);
        }
        match options.open(&candidate) {
            Ok(file) => {
                restrict(&file)?;
                return Ok((candidate, file));
            }
            Err(error) if error.kind() == io::ErrorKind::AlreadyExists && attempt < 100 => attempt += 1,
            Err(error) => return Err(error),
        }
    }
}

/// The mode given at creation is filtered by the umask; this makes it exactly 0600.
#[cfg(unix)]
fn restrict(file: &File) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    file.set_permissions(fs::Permissions::from_mode(0o600))
}

#[cfg(not(unix))]
fn restrict(_file: &File) -> io::Result<()> {
    Ok(())
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
