//! The driver's state file: reading it, setting a corrupt one aside, and replacing
//! it atomically with a new checkpoint.
//!
//! A checkpoint is written to a temporary file in the state file's directory, synced
//! to disk, renamed over the state file, and the directory is synced (on unix) so the
//! rename itself survives a power loss. A reader therefore sees either the previous
//! checkpoint or the new one, never a mix. A file that cannot be restored is renamed
//! to `NAME.corrupt-SECONDS` (the Unix time it was set aside) and never deleted.

use std::fmt;
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use overdue_core::engine::{RestoreError, RestoreReport, TriggerId};
use tokio::task::JoinHandle;

/// A state file operation failed (the file system, not the file's contents).
#[derive(Debug)]
pub struct StateFileError {
    /// The state file.
    pub path: PathBuf,
    /// What the driver was doing: `"reading"`, `"setting aside"` or `"writing"`.
    pub op: &'static str,
    /// What the operating system reported.
    pub source: io::Error,
}

impl fmt::Display for StateFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "state file {}: {} failed: {}",
            self.path.display(),
            self.op,
            self.source
        )
    }
}

impl std::error::Error for StateFileError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

/// What became of the state file when the driver started.
#[derive(Clone, Debug, PartialEq)]
pub enum StateLoad {
    /// There was no state file: the run started clean (the first checkpoint creates
    /// it).
    Fresh,
    /// The engine was restored from the file; the report says which triggers kept
    /// their state.
    Restored(RestoreReport),
    /// The file could not be restored: it was renamed to `moved_to` and the run started
    /// clean.
    SetAside {
        /// Why it could not be restored.
        error: RestoreError,
        /// Where the file is now.
        moved_to: PathBuf,
    },
}

impl fmt::Display for StateLoad {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn ids(f: &mut fmt::Formatter<'_>, what: &str, ids: &[TriggerId]) -> fmt::Result {
            if ids.is_empty() {
                return Ok(());
            }
            write!(f, ", {what} [")?;
            for (i, id) in ids.iter().enumerate() {
                let sep = if i == 0 { "" } else { ", " };
                write!(f, "{sep}{}", id.0)?;
            }
            f.write_str("]")
        }
        match self {
            StateLoad::Fresh => f.write_str("not found, started clean"),
            StateLoad::Restored(r) => {
                write!(f, "restored: {} trigger(s) kept their state", r.kept.len())?;
                ids(f, "changed (state dropped)", &r.changed)?;
                ids(f, "removed (state dropped)", &r.removed)?;
                ids(f, "added (no state yet)", &r.added)
            }
            StateLoad::SetAside { error, moved_to } => write!(
                f,
                "unusable ({error}); set aside as {} and started clean",
                moved_to.display()
            ),
        }
    }
}

/// Something the driver did with its state file, as it happens (see
/// [`DriverConfig::on_state`](super::DriverConfig::on_state)).
#[derive(Debug)]
pub enum StateNotice<'a> {
    /// The run started: what became of the state file.
    Loaded {
        /// The state file.
        path: &'a Path,
        /// What became of it.
        load: &'a StateLoad,
    },
    /// A checkpoint of `bytes` bytes replaced the state file.
    Written {
        /// The state file.
        path: &'a Path,
        /// The checkpoint's size.
        bytes: usize,
    },
    /// Writing a checkpoint failed; the previous state file (if any) is still in place.
    WriteFailed(&'a StateFileError),
}

/// A callback told about every [`StateNotice`]; it may be called from a blocking
/// thread (checkpoints are written off the driver's task).
pub type StateObserver = Arc<dyn Fn(&StateNotice<'_>) + Send + Sync>;

/// Writes checkpoints in the background, one at a time, and counts them.
pub(crate) struct Checkpointer {
    file: StateFile,
    observer: Option<StateObserver>,
    in_flight: Option<JoinHandle<Result<(), StateFileError>>>,
    /// Checkpoints written.
    pub(crate) written: u64,
    /// Checkpoints that failed.
    pub(crate) failed: u64,
}

impl Checkpointer {
    pub(crate) fn new(file: StateFile, observer: Option<StateObserver>) -> Checkpointer {
        Checkpointer {
            file,
            observer,
            in_flight: None,
            written: 0,
            failed: 0,
        }
    }

    /// Tells the observer, if there is one.
    pub(crate) fn notify(&self, notice: &StateNotice<'_>) {
        if let Some(observer) = &self.observer {
            observer(notice);
        }
    }

    /// Starts writing `bytes` on a blocking thread, after the previous write finished.
    pub(crate) async fn start(&mut self, bytes: Vec<u8>) {
        self.settle().await;
        let file = self.file.clone();
        let observer = self.observer.clone();
        self.in_flight = Some(tokio::task::spawn_blocking(move || {
            let result = file.write(&bytes);
            if let Some(observer) = observer {
                observer(&match &result {
                    Ok(()) => StateNotice::Written {
                        path: file.path(),
                        bytes: bytes.len(),
                    },
                    Err(e) => StateNotice::WriteFailed(e),
                });
            }
            result
        }));
    }

    /// Waits for the write in flight, if any, and returns its error.
    pub(crate) async fn settle(&mut self) -> Option<StateFileError> {
        let handle = self.in_flight.take()?;
        let result = handle.await.unwrap_or_else(|e| {
            Err(self
                .file
                .error("writing", io::Error::other(format!("writer task: {e}"))))
        });
        match result {
            Ok(()) => {
                self.written += 1;
                None
            }
            Err(e) => {
                self.failed += 1;
                Some(e)
            }
        }
    }
}

/// The state file's path and the operations on it.
#[derive(Clone, Debug)]
pub(crate) struct StateFile {
    path: PathBuf,
}

impl StateFile {
    pub(crate) fn new(path: PathBuf) -> StateFile {
        StateFile { path }
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    fn error(&self, op: &'static str, source: io::Error) -> StateFileError {
        StateFileError {
            path: self.path.clone(),
            op,
            source,
        }
    }

    /// The file's bytes, or `None` if there is no file.
    pub(crate) fn read(&self) -> Result<Option<Vec<u8>>, StateFileError> {
        match fs::read(&self.path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(self.error("reading", e)),
        }
    }

    /// Renames the file to `NAME.corrupt-SECONDS` (with `.1`, `.2`, … appended if that
    /// name is taken) and returns the new path.
    pub(crate) fn set_aside(&self) -> Result<PathBuf, StateFileError> {
        let secs = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let base = self.sibling(&format!("corrupt-{secs}"));
        let mut target = base.clone();
        let mut n = 0u32;
        while target.symlink_metadata().is_ok() {
            n += 1;
            let mut name = base.clone().into_os_string();
            name.push(format!(".{n}"));
            target = PathBuf::from(name);
        }
        fs::rename(&self.path, &target).map_err(|e| self.error("setting aside", e))?;
        sync_parent(&self.path).map_err(|e| self.error("setting aside", e))?;
        Ok(target)
    }

    /// Replaces the file with `bytes`: write to a temporary file in the same
    /// directory, sync it, rename it over the file, sync the directory.
    pub(crate) fn write(&self, bytes: &[u8]) -> Result<(), StateFileError> {
        let tmp = self.sibling(&format!("tmp-{}", std::process::id()));
        let written = write_synced(&tmp, bytes).and_then(|()| fs::rename(&tmp, &self.path));
        if let Err(e) = written {
            let _ = fs::remove_file(&tmp);
            return Err(self.error("writing", e));
        }
        sync_parent(&self.path).map_err(|e| self.error("writing", e))
    }

    /// `NAME.suffix` next to the file.
    fn sibling(&self, suffix: &str) -> PathBuf {
        let mut name = self.path.clone().into_os_string();
        name.push(".");
        name.push(suffix);
        PathBuf::from(name)
    }
}

fn write_synced(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut file = File::create(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// Makes a rename in `path`'s directory durable (a no-op where directories cannot be
/// opened).
fn sync_parent(path: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        File::open(dir)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Dir(PathBuf);

    impl Dir {
        fn new(name: &str) -> Dir {
            let dir = std::env::temp_dir()
                .join(format!("overdue-checkpoint-{}-{name}", std::process::id()));
            let _ = fs::remove_dir_all(&dir);
            fs::create_dir_all(&dir).unwrap();
            Dir(dir)
        }

        fn names(&self) -> Vec<String> {
            let mut names: Vec<String> = fs::read_dir(&self.0)
                .unwrap()
                .map(|e| e.unwrap().file_name().into_string().unwrap())
                .collect();
            names.sort();
            names
        }
    }

    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn a_missing_file_reads_as_none_and_a_write_replaces_the_file_whole() {
        let dir = Dir::new("write");
        let file = StateFile::new(dir.0.join("state.bin"));
        assert_eq!(file.read().unwrap(), None);
        file.write(b"first").unwrap();
        assert_eq!(file.read().unwrap().as_deref(), Some(&b"first"[..]));
        file.write(b"2nd").unwrap();
        assert_eq!(file.read().unwrap().as_deref(), Some(&b"2nd"[..]));
        assert_eq!(
            dir.names(),
            ["state.bin"],
            "no temporary file is left behind"
        );
    }

    #[test]
    fn a_failed_write_keeps_the_previous_file_and_says_what_failed() {
        let dir = Dir::new("fail");
        let file = StateFile::new(dir.0.join("state.bin"));
        file.write(b"good").unwrap();
        // a directory where the temporary file must go: creating it fails
        let blocker = dir.0.join(format!("state.bin.tmp-{}", std::process::id()));
        fs::create_dir(&blocker).unwrap();
        let err = file.write(b"new").unwrap_err();
        assert_eq!(err.op, "writing");
        assert!(
            err.to_string().contains("state.bin: writing failed"),
            "{err}"
        );
        assert_eq!(file.read().unwrap().as_deref(), Some(&b"good"[..]));
        fs::remove_dir(&blocker).unwrap();

        // a state path that is a directory cannot be read
        let err = StateFile::new(dir.0.clone()).read().unwrap_err();
        assert_eq!(err.op, "reading");
    }

    #[test]
    fn set_aside_renames_and_never_overwrites_an_earlier_one() {
        let dir = Dir::new("aside");
        let file = StateFile::new(dir.0.join("state.bin"));
        file.write(b"junk 1").unwrap();
        let first = file.set_aside().unwrap();
        assert_eq!(file.read().unwrap(), None, "the state path is free again");
        file.write(b"junk 2").unwrap();
        let second = file.set_aside().unwrap();
        assert_ne!(first, second);
        assert_eq!(fs::read(&first).unwrap(), b"junk 1");
        assert_eq!(fs::read(&second).unwrap(), b"junk 2");
        let names = dir.names();
        assert_eq!(names.len(), 2, "{names:?}");
        for name in names {
            assert!(name.starts_with("state.bin.corrupt-"), "{name}");
        }
        // a relative path with no directory part works too (its parent is ".")
        assert!(sync_parent(Path::new("state.bin")).is_ok());
    }
}
