//! The engine's error type: every variant names the engine and, where a file is
//! involved, the file and byte offset.

use std::fmt;
use std::path::{Path, PathBuf};
use uuid::Uuid;

/// Errors of the sort engine.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// A file-system call failed.
    #[error("engine {engine}: {op} {}: {source}", path.display())]
    Io {
        /// Engine the file belongs to (nil for manager-level directories).
        engine: Uuid,
        /// What was being done ("create", "write", "fsync", …).
        op: &'static str,
        /// File or directory involved.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// A file's contents fail a check (checksum, magic, length): torn or damaged.
    #[error("engine {engine}: corrupt {} at offset {offset}: {what}", path.display())]
    Corrupt {
        /// Engine the file belongs to.
        engine: Uuid,
        /// The damaged file.
        path: PathBuf,
        /// Byte offset of the damaged structure.
        offset: u64,
        /// Which check failed.
        what: String,
    },
    /// The engine's manifest cannot be parsed.
    #[error("engine {engine}: bad manifest {}: {source}", path.display())]
    Manifest {
        /// Engine whose manifest it is.
        engine: Uuid,
        /// The manifest file.
        path: PathBuf,
        /// The JSON error.
        #[source]
        source: serde_json::Error,
    },
    /// The same key was written more than once and `[conflict] strategy = "error"`.
    #[error("engine {engine}: duplicate keys found ({} reported), first key {}", duplicates.len(), Hex(duplicates.first().map(|d| d.key.as_slice()).unwrap_or_default()))]
    Duplicates {
        /// Engine holding the keys.
        engine: Uuid,
        /// The first offending pairs found (at most `max_reported_duplicates`).
        duplicates: Vec<DuplicatePair>,
    },
    /// A write or writer was requested on an engine that is closed (or closing).
    #[error("engine {engine} is closed; it takes no more writes")]
    Closed {
        /// The engine.
        engine: Uuid,
    },
    /// `close` was called while writers are still open.
    #[error("engine {engine} cannot close: {writers} writer(s) still open")]
    WritersOpen {
        /// The engine.
        engine: Uuid,
        /// Number of open writers.
        writers: usize,
    },
    /// The engine is still in use by this process and cannot be removed.
    #[error("engine {engine} is in use and cannot be removed")]
    InUse {
        /// The engine.
        engine: Uuid,
    },
    /// Options out of range.
    #[error("invalid engine options: {0}")]
    InvalidOptions(String),
}

/// One duplicate found in `error` mode: a key and the two values written for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DuplicatePair {
    /// The key written twice.
    pub key: Vec<u8>,
    /// The value with the lower sequence (the one `replace` would drop).
    pub first_value: Vec<u8>,
    /// The value with the higher sequence.
    pub second_value: Vec<u8>,
}

impl EngineError {
    /// True when retrying the same operation may succeed (interrupted I/O).
    pub fn is_retryable(&self) -> bool {
        matches!(self, EngineError::Io { source, .. }
            if matches!(source.kind(), std::io::ErrorKind::Interrupted | std::io::ErrorKind::WouldBlock))
    }
}

/// Result alias of this crate.
pub type Result<T, E = EngineError> = std::result::Result<T, E>;

/// Where an error happened: an engine and one of its files.
#[derive(Debug, Clone)]
pub(crate) struct Ctx {
    pub engine: Uuid,
    pub path: PathBuf,
}

impl Ctx {
    pub fn new(engine: Uuid, path: impl Into<PathBuf>) -> Self {
        Ctx {
            engine,
            path: path.into(),
        }
    }

    pub fn io(&self, op: &'static str) -> impl FnOnce(std::io::Error) -> EngineError + '_ {
        move |source| EngineError::Io {
            engine: self.engine,
            op,
            path: self.path.clone(),
            source,
        }
    }

    pub fn corrupt(&self, offset: u64, what: impl Into<String>) -> EngineError {
        EngineError::Corrupt {
            engine: self.engine,
            path: self.path.clone(),
            offset,
            what: what.into(),
        }
    }
}

/// An I/O error on `path` outside any one file's context.
pub(crate) fn io_err(
    engine: Uuid,
    op: &'static str,
    path: &Path,
) -> impl FnOnce(std::io::Error) -> EngineError {
    let path = path.to_path_buf();
    move |source| EngineError::Io {
        engine,
        op,
        path,
        source,
    }
}

/// Lower-case hex rendering of key bytes for messages.
pub(crate) struct Hex<'a>(pub &'a [u8]);

impl fmt::Display for Hex<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}
