//! Crash-safe file replacement: write a temporary file, fsync it, rename it over the target,
//! fsync the directory. A crash at any instant leaves the old file or the new one.
//!
//! With the `failpoints` feature each step is preceded by a `fail` crate point
//! (`checkpoint-file-*`, see [`CRASH_POINTS`]) that tests configure to "crash" there.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::CheckpointError;

/// The crash points, in the order the write steps reach them.
pub const CRASH_POINTS: &[&str] = &[
    "checkpoint-file-before-create",
    "checkpoint-file-torn-write",
    "checkpoint-file-before-fsync",
    "checkpoint-file-before-rename",
    "checkpoint-file-before-dir-fsync",
];

/// Returns an injected I/O error from the enclosing function when the point is armed.
macro_rules! crash_point {
    ($name:literal, $path:expr) => {
        #[cfg(feature = "failpoints")]
        fail::fail_point!($name, |_| Err(CheckpointError::Io {
            op: concat!("crash point ", $name),
            path: $path.to_path_buf(),
            source: std::io::Error::other("injected crash"),
        }));
    };
}

/// The temporary file next to `path`.
pub(crate) fn temp_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".tmp");
    path.with_file_name(name)
}

/// The directory holding `path` ("." for a bare file name).
fn parent(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Replaces `path` with `data` atomically and durably.
pub(crate) fn write_atomic(path: &Path, data: &[u8]) -> Result<(), CheckpointError> {
    let dir = parent(path);
    fs::create_dir_all(dir).map_err(CheckpointError::io("creating checkpoint folder", dir))?;
    let tmp = temp_path(path);
    crash_point!("checkpoint-file-before-create", tmp);
    let mut f = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(&tmp)
        .map_err(CheckpointError::io(
            "creating temporary checkpoint file",
            &tmp,
        ))?;
    let (head, tail) = data.split_at(data.len() / 2);
    let write = |f: &mut File, part: &[u8]| {
        f.write_all(part).map_err(CheckpointError::io(
            "writing temporary checkpoint file",
            &tmp,
        ))
    };
    write(&mut f, head)?;
    crash_point!("checkpoint-file-torn-write", tmp);
    write(&mut f, tail)?;
    crash_point!("checkpoint-file-before-fsync", tmp);
    f.sync_all().map_err(CheckpointError::io(
        "syncing temporary checkpoint file",
        &tmp,
    ))?;
    drop(f);
    crash_point!("checkpoint-file-before-rename", tmp);
    fs::rename(&tmp, path).map_err(CheckpointError::io("renaming checkpoint file into", path))?;
    crash_point!("checkpoint-file-before-dir-fsync", path);
    sync_dir(dir)
}

/// Renames `from` to `to` (same directory) durably.
pub(crate) fn rename_durably(from: &Path, to: &Path) -> Result<(), CheckpointError> {
    fs::rename(from, to).map_err(CheckpointError::io("renaming checkpoint file", from))?;
    sync_dir(parent(to))
}

/// Deletes `path` (absent is fine) and its temporary file durably.
pub(crate) fn remove_durably(path: &Path) -> Result<(), CheckpointError> {
    for p in [path.to_path_buf(), temp_path(path)] {
        match fs::remove_file(&p) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(CheckpointError::io("removing checkpoint file", &p)(e)),
        }
    }
    sync_dir(parent(path))
}

fn sync_dir(dir: &Path) -> Result<(), CheckpointError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(CheckpointError::io("syncing checkpoint folder", dir))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_and_leaves_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/cp.json");
        write_atomic(&path, b"one").unwrap();
        write_atomic(&path, b"two!").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"two!");
        assert!(!temp_path(&path).exists());
        let bak = dir.path().join("sub/cp.json.1.bak");
        rename_durably(&path, &bak).unwrap();
        assert!(!path.exists() && bak.exists());
        remove_durably(&bak).unwrap();
        remove_durably(&bak).unwrap();
        assert!(!bak.exists());
    }
}
