//! [`EngineManager`]: the engines under `sorted-kv-dir`, one directory per engine uuid.

use crate::engine::{lock, Engine, Inner};
use crate::error::{io_err, EngineError, Result};
use crate::files::{Files, MANIFEST};
use crate::options::EngineOptions;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, Weak};
use uuid::Uuid;

/// Namespace of engine uuids, as upstream's `backend.MakeUUID`.
const ENGINE_NAMESPACE: Uuid = Uuid::from_u128(0xd68d6abe_c59e_45d6_ade8_e2b0ceb7bedf);

/// Engine id of a table's index engine (data engines count from 0).
pub const INDEX_ENGINE_ID: i32 = -1;

/// The engine uuid of `table` (the quoted `` `db`.`tbl` `` name) and engine id: a
/// name-based (v5, SHA-1) uuid of `"{table}:{engine_id}"`, the same as upstream's.
pub fn engine_uuid(table: &str, engine_id: i32) -> Uuid {
    Uuid::new_v5(&ENGINE_NAMESPACE, format!("{table}:{engine_id}").as_bytes())
}

/// An engine found on disk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EngineInfo {
    /// The engine's id.
    pub uuid: Uuid,
    /// True when it was closed (sorted and ready to import).
    pub closed: bool,
    /// Bytes of its files.
    pub disk_size: u64,
}

/// Sizes of an open engine, for `disk-quota` (import the largest engines early).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EngineFileSize {
    /// The engine's id.
    pub uuid: Uuid,
    /// Bytes of its files on disk.
    pub disk_size: u64,
    /// Bytes buffered by its writers (on disk after their next flush).
    pub mem_size: u64,
    /// True when closed.
    pub closed: bool,
}

/// Opens, lists and removes the engines under one directory.
pub struct EngineManager {
    dir: PathBuf,
    opts: EngineOptions,
    open: Mutex<HashMap<Uuid, Weak<Inner>>>,
}

impl EngineManager {
    /// A manager over `dir` (created if missing).
    pub fn new(dir: impl Into<PathBuf>, opts: EngineOptions) -> Result<EngineManager> {
        opts.validate()?;
        let dir = dir.into();
        std::fs::create_dir_all(&dir).map_err(io_err(Uuid::nil(), "create dir", &dir))?;
        Ok(EngineManager {
            dir,
            opts,
            open: Mutex::new(HashMap::new()),
        })
    }

    /// The directory engines live in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Bytes an unprivileged writer may still use on the directory's filesystem.
    pub fn available_space(&self) -> Result<u64> {
        use std::os::unix::ffi::OsStrExt;
        let path = std::ffi::CString::new(self.dir.as_os_str().as_bytes())
            .map_err(|e| io_err(Uuid::nil(), "statvfs", &self.dir)(std::io::Error::other(e)))?;
        let mut st = std::mem::MaybeUninit::<libc::statvfs>::uninit();
        // SAFETY: `path` is a valid C string and `st` a buffer statvfs fills on success.
        let rc = unsafe { libc::statvfs(path.as_ptr(), st.as_mut_ptr()) };
        if rc != 0 {
            return Err(io_err(Uuid::nil(), "statvfs", &self.dir)(
                std::io::Error::last_os_error(),
            ));
        }
        // SAFETY: statvfs returned 0, so it initialized `st`.
        let st = unsafe { st.assume_init() };
        Ok(st.f_bavail.saturating_mul(st.f_frsize))
    }

    /// Opens engine `uuid`, creating it or reopening what a previous run left (files of
    /// unflushed writes are dropped). In-process, every call returns the same engine.
    pub fn open_engine(&self, uuid: Uuid) -> Result<Engine> {
        let mut open = lock(&self.open);
        if let Some(inner) = open.get(&uuid).and_then(Weak::upgrade) {
            return Ok(Engine { inner });
        }
        let inner = Inner::open(uuid, self.dir.join(uuid.to_string()), self.opts.clone())?;
        open.retain(|_, w| w.strong_count() > 0);
        open.insert(uuid, Arc::downgrade(&inner));
        Ok(Engine { inner })
    }

    /// Engine `uuid` if it is open in this process (never creates one).
    pub fn get_open(&self, uuid: Uuid) -> Option<Engine> {
        let open = lock(&self.open);
        open.get(&uuid)
            .and_then(Weak::upgrade)
            .map(|inner| Engine { inner })
    }

    /// Engines on disk (for `tidb-lightning-ctl --import-engine / --cleanup-engine`).
    pub fn leftover_engines(&self) -> Result<Vec<EngineInfo>> {
        let mut out = Vec::new();
        let list = std::fs::read_dir(&self.dir).map_err(io_err(Uuid::nil(), "list", &self.dir))?;
        for entry in list {
            let entry = entry.map_err(io_err(Uuid::nil(), "list", &self.dir))?;
            let Some(uuid) = entry
                .file_name()
                .to_str()
                .and_then(|n| Uuid::parse_str(n).ok())
            else {
                continue;
            };
            let path = entry.path();
            if !path.join(MANIFEST).is_file() {
                continue;
            }
            let m = Files::new(uuid, path.clone(), 0)
                .load_manifest()?
                .unwrap_or_default();
            let mut disk_size = 0;
            for f in std::fs::read_dir(&path).map_err(io_err(uuid, "list", &path))? {
                let f = f.map_err(io_err(uuid, "list", &path))?;
                disk_size += f.metadata().map_err(io_err(uuid, "stat", &f.path()))?.len();
            }
            out.push(EngineInfo {
                uuid,
                closed: m.closed,
                disk_size,
            });
        }
        out.sort_by_key(|e| e.uuid);
        Ok(out)
    }

    /// Deletes engine `uuid` and its files (after a successful import or on cleanup);
    /// fails while handles to it are alive in this process. A missing engine is fine.
    pub fn remove_engine(&self, uuid: Uuid) -> Result<()> {
        let mut open = lock(&self.open);
        if open.get(&uuid).is_some_and(|w| w.strong_count() > 0) {
            return Err(EngineError::InUse { engine: uuid });
        }
        open.remove(&uuid);
        let path = self.dir.join(uuid.to_string());
        match std::fs::remove_dir_all(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(io_err(uuid, "remove", &path)(e))
            }
            _ => Ok(()),
        }
    }

    /// Sizes of the engines open in this process, largest on disk first.
    pub fn engine_file_sizes(&self) -> Vec<EngineFileSize> {
        let open = lock(&self.open);
        let mut v: Vec<EngineFileSize> = open
            .iter()
            .filter_map(|(uuid, w)| {
                let inner = w.upgrade()?;
                Some(EngineFileSize {
                    uuid: *uuid,
                    disk_size: inner.disk_size(),
                    mem_size: inner.mem_size(),
                    closed: inner.is_closed(),
                })
            })
            .collect();
        v.sort_by(|a, b| b.disk_size.cmp(&a.disk_size).then(a.uuid.cmp(&b.uuid)));
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_uuid_is_v5_of_table_and_id() {
        let a = engine_uuid("`db`.`t`", 0);
        assert_eq!(a.get_version_num(), 5);
        assert_eq!(a, engine_uuid("`db`.`t`", 0));
        assert_ne!(a, engine_uuid("`db`.`t`", INDEX_ENGINE_ID));
        assert_ne!(a, engine_uuid("`db`.`u`", 0));
        assert_eq!(
            ENGINE_NAMESPACE.to_string(),
            "d68d6abe-c59e-45d6-ade8-e2b0ceb7bedf"
        );
        // Vectors from Python's uuid.uuid5 (RFC 4122, as Go's uuid.NewSHA1).
        assert_eq!(a.to_string(), "a65740db-8738-5be7-8167-cd5dc61a6d79");
        assert_eq!(
            engine_uuid("`db`.`t`", INDEX_ENGINE_ID).to_string(),
            "6098a639-8c92-5a94-bc21-92d3c9e327d7"
        );
    }

    #[test]
    fn available_space_shrinks_as_a_file_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let mgr = EngineManager::new(dir.path(), EngineOptions::default()).unwrap();
        let before = mgr.available_space().unwrap();
        assert!(before > 0);
        // 64 MiB written and synced: the free space reported drops by about that much
        // (other writers on the machine make it approximate).
        let data = vec![7u8; 64 << 20];
        let f = dir.path().join("fill");
        std::fs::write(&f, &data).unwrap();
        std::fs::File::open(&f).unwrap().sync_all().unwrap();
        let after = mgr.available_space().unwrap();
        assert!(after < before, "{after} < {before}");
        let missing = EngineManager {
            dir: dir.path().join("gone"),
            ..mgr
        };
        assert!(missing.available_space().is_err());
    }
}
