//! One engine's directory: file naming, id allocation, directory fsync, and the
//! manifest that says which files hold the engine's data.
//!
//! Layout of `{sorted-kv-dir}/{engine uuid}/`:
//! `MANIFEST` (JSON, replaced atomically), `{id:08}.run` sorted runs and segments,
//! `{id:08}.dup` conflict records. A file the manifest does not list is left over from
//! a crash (a spill that was never flushed, a merge cut short) and is deleted on open.

use crate::error::{io_err, Ctx, EngineError, Result};
use crate::run::RunMeta;
use serde::{Deserialize, Serialize};
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use uuid::Uuid;

/// Name of the manifest file inside an engine directory.
pub(crate) const MANIFEST: &str = "MANIFEST";
const MANIFEST_TMP: &str = "MANIFEST.tmp";
const MANIFEST_VERSION: u32 = 1;

/// Kind of data file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Kind {
    /// A sorted run or a closed engine's segment.
    Run,
    /// Conflict records (`replace` mode).
    Dup,
}

/// The durable description of an engine.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Manifest {
    /// Format version.
    pub version: u32,
    /// True once the engine is closed: `segments` hold all data, `runs` is empty.
    pub closed: bool,
    /// Sorted runs of an open engine (key ranges overlap).
    pub runs: Vec<RunMeta>,
    /// A closed engine's files, in key order, not overlapping.
    pub segments: Vec<RunMeta>,
    /// Conflict record files.
    pub conflicts: Vec<RunMeta>,
}

impl Manifest {
    /// Every file id the manifest references, with its kind.
    pub fn files(&self) -> impl Iterator<Item = (u64, Kind)> + '_ {
        self.runs
            .iter()
            .chain(&self.segments)
            .map(|r| (r.id, Kind::Run))
            .chain(self.conflicts.iter().map(|r| (r.id, Kind::Dup)))
    }

    /// Total bytes of referenced files.
    pub fn disk_size(&self) -> u64 {
        self.runs
            .iter()
            .chain(&self.segments)
            .chain(&self.conflicts)
            .map(|r| r.size)
            .sum()
    }
}

/// Paths and ids of one engine's directory.
#[derive(Debug)]
pub(crate) struct Files {
    pub engine: Uuid,
    pub dir: PathBuf,
    next_id: AtomicU64,
}

impl Files {
    pub fn new(engine: Uuid, dir: PathBuf, next_id: u64) -> Files {
        Files {
            engine,
            dir,
            next_id: AtomicU64::new(next_id),
        }
    }

    /// A fresh file id.
    pub fn alloc(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }

    /// Path of file `id`.
    pub fn path(&self, id: u64, kind: Kind) -> PathBuf {
        let ext = match kind {
            Kind::Run => "run",
            Kind::Dup => "dup",
        };
        self.dir.join(format!("{id:08}.{ext}"))
    }

    /// Error context of file `id`.
    pub fn ctx(&self, id: u64, kind: Kind) -> Ctx {
        Ctx::new(self.engine, self.path(id, kind))
    }

    /// Deletes file `id`; a missing file is fine.
    pub fn remove(&self, id: u64, kind: Kind) -> Result<()> {
        let p = self.path(id, kind);
        match std::fs::remove_file(&p) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(io_err(self.engine, "remove", &p)(e))
            }
            _ => Ok(()),
        }
    }

    /// Makes created, renamed and deleted names in the directory durable.
    pub fn sync_dir(&self) -> Result<()> {
        sync_dir(self.engine, &self.dir)
    }

    /// Fsyncs file `id`.
    pub fn sync_file(&self, id: u64, kind: Kind) -> Result<()> {
        let ctx = self.ctx(id, kind);
        File::open(&ctx.path)
            .and_then(|f| f.sync_all())
            .map_err(ctx.io("fsync"))
    }

    /// Reads the manifest; `None` when the engine has none yet.
    pub fn load_manifest(&self) -> Result<Option<Manifest>> {
        let p = self.dir.join(MANIFEST);
        let bytes = match std::fs::read(&p) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_err(self.engine, "read", &p)(e)),
        };
        let m: Manifest =
            serde_json::from_slice(&bytes).map_err(|source| EngineError::Manifest {
                engine: self.engine,
                path: p.clone(),
                source,
            })?;
        if m.version != MANIFEST_VERSION {
            return Err(Ctx::new(self.engine, p)
                .corrupt(0, format!("manifest version {} unknown", m.version)));
        }
        Ok(Some(m))
    }

    /// Replaces the manifest atomically and durably (write temp, fsync, rename, fsync dir).
    pub fn store_manifest(&self, m: &Manifest) -> Result<()> {
        let mut m = m.clone();
        m.version = MANIFEST_VERSION;
        let tmp = self.dir.join(MANIFEST_TMP);
        let ctx = Ctx::new(self.engine, &tmp);
        let bytes = serde_json::to_vec(&m).map_err(|source| EngineError::Manifest {
            engine: self.engine,
            path: tmp.clone(),
            source,
        })?;
        let mut f = File::create(&tmp).map_err(ctx.io("create"))?;
        f.write_all(&bytes).map_err(ctx.io("write"))?;
        f.sync_all().map_err(ctx.io("fsync"))?;
        drop(f);
        std::fs::rename(&tmp, self.dir.join(MANIFEST)).map_err(ctx.io("rename"))?;
        self.sync_dir()
    }
}

/// Parses a data file name `{id}.run` / `{id}.dup`.
pub(crate) fn parse_name(name: &str) -> Option<(u64, Kind)> {
    let (id, ext) = name.split_once('.')?;
    let kind = match ext {
        "run" => Kind::Run,
        "dup" => Kind::Dup,
        _ => return None,
    };
    Some((id.parse().ok()?, kind))
}

/// Fsyncs a directory.
pub(crate) fn sync_dir(engine: Uuid, dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|f| f.sync_all())
        .map_err(io_err(engine, "fsync dir", dir))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_round_trips_and_names_parse() {
        let dir = tempfile::tempdir().unwrap();
        let f = Files::new(Uuid::nil(), dir.path().to_path_buf(), 1);
        assert_eq!(f.load_manifest().unwrap(), None);
        let m = Manifest {
            version: 0,
            closed: true,
            runs: vec![],
            segments: vec![RunMeta {
                id: 3,
                size: 10,
                kvs: 1,
                kv_bytes: 2,
            }],
            conflicts: vec![RunMeta {
                id: 4,
                size: 5,
                kvs: 0,
                kv_bytes: 0,
            }],
        };
        f.store_manifest(&m).unwrap();
        let back = f.load_manifest().unwrap().unwrap();
        assert_eq!(back.segments, m.segments);
        assert!(back.closed);
        assert_eq!(back.disk_size(), 15);
        assert_eq!(
            back.files().collect::<Vec<_>>(),
            [(3, Kind::Run), (4, Kind::Dup)]
        );
        assert_eq!(parse_name("00000012.run"), Some((12, Kind::Run)));
        assert_eq!(parse_name("00000012.dup"), Some((12, Kind::Dup)));
        assert_eq!(parse_name("MANIFEST"), None);
        assert_eq!(parse_name("x.run"), None);
        std::fs::write(dir.path().join(MANIFEST), b"{not json").unwrap();
        assert!(matches!(
            f.load_manifest(),
            Err(EngineError::Manifest { .. })
        ));
    }
}
