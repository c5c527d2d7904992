//! `driver = "file"`: all checkpoints in one JSON file at `[checkpoint] dsn`, rewritten
//! atomically after every change ([`atomic`]). Operations run on tokio's blocking pool.

mod atomic;
mod model;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;

pub use atomic::CRASH_POINTS;
use model::{FileModel, FORMAT};

use crate::diff::CheckpointDiffs;
use crate::dump::write_dump;
use crate::error::CheckpointError;
use crate::model::{
    DestroyedTable, EngineCheckpoint, TableCheckpoint, TableInit, TableSelector, TaskCheckpoint,
};
use crate::store::{CheckpointStore, Result};

/// The file checkpoint store.
#[derive(Clone)]
pub struct FileStore {
    inner: Arc<Mutex<Inner>>,
    path: PathBuf,
}

struct Inner {
    path: PathBuf,
    model: FileModel,
}

impl Inner {
    /// Applies `f` to a copy, saves the copy, and only then makes it current: a failed
    /// save leaves both the file and the store as they were.
    fn mutate<T>(&mut self, f: impl FnOnce(&mut FileModel) -> Result<T>) -> Result<T> {
        let mut next = self.model.clone();
        let out = f(&mut next)?;
        let bytes = serde_json::to_vec(&next).map_err(|source| CheckpointError::Corrupt {
            path: self.path.clone(),
            source,
        })?;
        atomic::write_atomic(&self.path, &bytes)?;
        self.model = next;
        Ok(out)
    }
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// The local path a file-driver DSN names: a path or a `file://` URL, not a directory.
pub fn dsn_path(dsn: &str) -> Result<PathBuf> {
    let path = dsn.strip_prefix("file://").unwrap_or(dsn);
    if path.contains("://") {
        return Err(CheckpointError::Dsn {
            reason: "the file driver only supports local paths".into(),
        });
    }
    if path.is_empty() || path.ends_with('/') {
        return Err(CheckpointError::Dsn {
            reason: "the file driver needs a file path, not a directory".into(),
        });
    }
    Ok(PathBuf::from(path))
}

fn load(path: &Path) -> Result<FileModel> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(FileModel::default()),
        Err(e) => return Err(CheckpointError::io("reading checkpoint file", path)(e)),
    };
    let corrupt = |source| CheckpointError::Corrupt {
        path: path.to_path_buf(),
        source,
    };
    let model: FileModel = serde_json::from_slice(&bytes).map_err(corrupt)?;
    if model.format != FORMAT {
        let msg = format!(
            "unsupported format {:?} (expected {FORMAT:?})",
            model.format
        );
        return Err(corrupt(serde::de::Error::custom(msg)));
    }
    Ok(model)
}

impl FileStore {
    /// Opens (or prepares to create) the checkpoint file at `path`.
    pub async fn open(path: impl Into<PathBuf>) -> Result<Self> {
        let path = path.into();
        let p = path.clone();
        let model = tokio::task::spawn_blocking(move || load(&p))
            .await
            .map_err(|e| CheckpointError::Background(e.to_string()))??;
        Ok(FileStore {
            inner: Arc::new(Mutex::new(Inner {
                path: path.clone(),
                model,
            })),
            path,
        })
    }

    /// The checkpoint file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Inner) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            let mut guard = inner
                .lock()
                .map_err(|_| CheckpointError::Background("checkpoint file lock poisoned".into()))?;
            f(&mut guard)
        })
        .await
        .map_err(|e| CheckpointError::Background(e.to_string()))?
    }
}

#[async_trait]
impl CheckpointStore for FileStore {
    async fn initialize(
        &self,
        task: &TaskCheckpoint,
        tables: &[TableInit],
        check_requirements: bool,
    ) -> Result<TaskCheckpoint> {
        let (task, tables) = (task.clone(), tables.to_vec());
        self.run(move |i| i.mutate(|m| m.initialize(&task, &tables, check_requirements, now())))
            .await
    }

    async fn task_checkpoint(&self) -> Result<Option<TaskCheckpoint>> {
        self.run(|i| Ok(i.model.task.clone())).await
    }

    async fn table_names(&self) -> Result<Vec<String>> {
        self.run(|i| Ok(i.model.tables.keys().cloned().collect()))
            .await
    }

    async fn get(&self, table: &str) -> Result<TableCheckpoint> {
        let table = table.to_string();
        self.run(move |i| i.model.get(&table)).await
    }

    async fn insert_engines(
        &self,
        table: &str,
        engines: &BTreeMap<i32, EngineCheckpoint>,
    ) -> Result<()> {
        let (table, engines) = (table.to_string(), engines.clone());
        self.run(move |i| i.mutate(|m| m.insert_engines(&table, &engines, now())))
            .await
    }

    async fn update(&self, diffs: &CheckpointDiffs) -> Result<()> {
        let diffs = diffs.clone();
        self.run(move |i| {
            i.mutate(|m| {
                m.update(&diffs, now());
                Ok(())
            })
        })
        .await
    }

    async fn remove(&self, tables: &TableSelector) -> Result<()> {
        let sel = tables.clone();
        self.run(move |i| match &sel {
            TableSelector::All => {
                atomic::remove_durably(&i.path)?;
                i.model = FileModel::default();
                Ok(())
            }
            TableSelector::Table(t) => i.mutate(|m| m.remove_table(t)),
        })
        .await
    }

    async fn move_checkpoints(&self, task_id: i64) -> Result<()> {
        self.run(move |i| {
            let mut name = i.path.file_name().unwrap_or_default().to_os_string();
            name.push(format!(".{task_id}.bak"));
            atomic::rename_durably(&i.path, &i.path.with_file_name(name))?;
            i.model = FileModel::default();
            Ok(())
        })
        .await
    }

    async fn local_storing_tables(&self) -> Result<BTreeMap<String, Vec<i32>>> {
        self.run(|i| Ok(i.model.local_storing_tables())).await
    }

    async fn ignore_error(&self, tables: &TableSelector) -> Result<()> {
        let sel = tables.clone();
        self.run(move |i| i.mutate(|m| m.ignore_error(&sel, now())))
            .await
    }

    async fn destroy_error(&self, tables: &TableSelector) -> Result<Vec<DestroyedTable>> {
        let sel = tables.clone();
        self.run(move |i| i.mutate(|m| m.destroy_error(&sel))).await
    }

    async fn dump(&self, dir: &Path) -> Result<()> {
        let dir = dir.to_path_buf();
        self.run(move |i| write_dump(&dir, &i.model.dump_rows()))
            .await
    }

    async fn close(&self) -> Result<()> {
        // Every change is already on disk.
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dsn_forms() {
        assert_eq!(dsn_path("/tmp/x.pb").unwrap(), PathBuf::from("/tmp/x.pb"));
        assert_eq!(
            dsn_path("file:///tmp/x.pb").unwrap(),
            PathBuf::from("/tmp/x.pb")
        );
        assert!(dsn_path("s3://bucket/x.pb").is_err());
        assert!(dsn_path("/tmp/").is_err());
    }

    #[tokio::test]
    async fn garbage_file_is_refused_not_discarded() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cp.json");
        std::fs::write(&path, b"{\"format\":").unwrap();
        let err = FileStore::open(&path).await.err().unwrap();
        assert!(matches!(err, CheckpointError::Corrupt { .. }), "{err}");
        std::fs::write(&path, br#"{"format":"other/9","task":null,"tables":{}}"#).unwrap();
        let err = FileStore::open(&path).await.err().unwrap();
        assert!(err.to_string().contains("unsupported format"), "{err}");
        // The file is left alone for the user to inspect.
        assert!(path.exists());
    }
}
