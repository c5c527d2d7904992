//! The storage seam: listing and opening files. Only the local file system is implemented;
//! object stores (S3, GCS, Azure) will implement the same trait.

use std::fs::File;
use std::path::{Path, PathBuf};

use crate::SourceError;

/// A listed file: path relative to the root (`/`-separated) and size in bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    /// Relative path.
    pub rel: String,
    /// Size in bytes.
    pub size: u64,
    /// What the file is when it is not a regular file (`"FIFO"`, `"socket"`, …); such a
    /// file is listed so the scan can refuse it if it routes to the dump, never read.
    pub special: Option<&'static str>,
}

/// Something that can list and open the files of a data source.
pub trait Storage: Send + Sync {
    /// Every file under the root that is not a directory, recursively, in lexicographic
    /// order of path.
    fn list(&self) -> Result<Vec<Listed>, SourceError>;
    /// Absolute location of a relative path (for messages and [`crate::SourceFile::path`]).
    fn locate(&self, rel: &str) -> PathBuf;
}

/// A directory on the local file system. Symlinked files are followed; a symlinked
/// directory is followed only when it resolves inside the root to a directory not listed
/// yet, so a link loop or a link out of the dump is skipped (with a warning), not walked.
#[derive(Debug, Clone)]
pub struct LocalStorage {
    root: PathBuf,
}

impl LocalStorage {
    /// Opens `root`, which may also be a `file://` or `local://` URL.
    pub fn new(root: &str) -> Result<Self, SourceError> {
        let raw = root
            .strip_prefix("file://")
            .or_else(|| root.strip_prefix("local://"))
            .unwrap_or(root);
        if let Some((scheme, _)) = raw.split_once("://") {
            return Err(SourceError::Unsupported(format!(
                "data source {root:?}: storage '{scheme}' is not implemented yet, only local directories"
            )));
        }
        let root = std::path::absolute(raw).map_err(|e| SourceError::io(raw, e))?;
        if !root.is_dir() {
            return Err(SourceError::io(
                &root,
                std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    "data source directory does not exist",
                ),
            ));
        }
        Ok(LocalStorage { root })
    }

    fn walk(
        &self,
        dir: &Path,
        prefix: &str,
        depth: usize,
        seen: &mut Seen,
        out: &mut Vec<Listed>,
    ) -> Result<(), SourceError> {
        // Guards against symlink cycles.
        if depth > 64 {
            return Err(SourceError::io(
                dir,
                std::io::Error::other("directory nesting too deep (symlink loop?)"),
            ));
        }
        let mut entries = std::fs::read_dir(dir)
            .map_err(|e| SourceError::io(dir, e))?
            .map(|e| e.map(|e| e.file_name()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| SourceError::io(dir, e))?;
        entries.sort();
        for name in entries {
            let Some(name_str) = name.to_str() else {
                tracing::warn!(dir = %dir.display(), name = ?name, "skipping file with a non-UTF-8 name");
                continue;
            };
            let path = dir.join(&name);
            let rel = if prefix.is_empty() {
                name_str.to_string()
            } else {
                format!("{prefix}/{name_str}")
            };
            // `metadata` follows symlinks.
            let meta = std::fs::metadata(&path).map_err(|e| SourceError::io(&path, e))?;
            if meta.is_dir() {
                let real = std::fs::canonicalize(&path).map_err(|e| SourceError::io(&path, e))?;
                if !real.starts_with(&seen.root) {
                    tracing::warn!(path = %path.display(), target = %real.display(), "not following a directory symlink that leads out of the data source");
                } else if !seen.dirs.insert(real.clone()) {
                    tracing::warn!(path = %path.display(), target = %real.display(), "not following a directory symlink to a directory already listed");
                } else {
                    self.walk(&path, &rel, depth + 1, seen, out)?;
                }
            } else {
                let special = (!meta.is_file()).then(|| special_kind(&meta));
                out.push(Listed {
                    rel,
                    size: if special.is_some() { 0 } else { meta.len() },
                    special,
                });
            }
        }
        Ok(())
    }
}

/// The directories a listing has walked, resolved, and the resolved root.
struct Seen {
    root: PathBuf,
    dirs: std::collections::HashSet<PathBuf>,
}

impl Storage for LocalStorage {
    fn list(&self) -> Result<Vec<Listed>, SourceError> {
        let mut out = Vec::new();
        let root = std::fs::canonicalize(&self.root).map_err(|e| SourceError::io(&self.root, e))?;
        let mut seen = Seen {
            dirs: std::collections::HashSet::from([root.clone()]),
            root,
        };
        self.walk(&self.root, "", 0, &mut seen, &mut out)?;
        Ok(out)
    }

    fn locate(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }
}

/// What kind of non-regular, non-directory file `meta` describes.
fn special_kind(meta: &std::fs::Metadata) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    let t = meta.file_type();
    if t.is_fifo() {
        "FIFO"
    } else if t.is_socket() {
        "socket"
    } else if t.is_block_device() {
        "block device"
    } else if t.is_char_device() {
        "character device"
    } else {
        "special file"
    }
}

/// Opens a local file for reading; one that is no longer a regular file (replaced by a
/// FIFO or a device after the scan) is refused rather than read.
pub(crate) fn open_file(path: &Path) -> Result<File, SourceError> {
    use std::os::unix::fs::OpenOptionsExt;
    // Non-blocking open: a FIFO would otherwise block until something writes to it.
    // Reads of a regular file ignore the flag.
    let f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| SourceError::io(path, e))?;
    let meta = f.metadata().map_err(|e| SourceError::io(path, e))?;
    if !meta.is_file() {
        let what = special_kind(&meta);
        return Err(SourceError::io(
            path,
            std::io::Error::other(format!(
                "is a {what}, not a regular file; refusing to read it"
            )),
        ));
    }
    Ok(f)
}
