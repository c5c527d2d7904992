//! The conformance suite against the file driver.

mod conformance;

use std::path::PathBuf;

use conformance::{cases, Driver};
use lightning_checkpoint::{CheckpointStore, FileStore};

struct FileDriver {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

impl FileDriver {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cp").join("tidb_lightning_checkpoint.pb");
        FileDriver { _dir: dir, path }
    }
}

impl Driver for FileDriver {
    async fn open(&self) -> Box<dyn CheckpointStore> {
        Box::new(FileStore::open(&self.path).await.unwrap())
    }
    async fn exists(&self) -> bool {
        self.path.exists()
    }
    async fn backup_exists(&self, task_id: i64) -> bool {
        let mut name = self.path.file_name().unwrap().to_os_string();
        name.push(format!(".{task_id}.bak"));
        self.path.with_file_name(name).exists()
    }
}

macro_rules! suite {
    ($($case:ident),* $(,)?) => {$(
        #[tokio::test]
        async fn $case() {
            cases::$case(&FileDriver::new()).await;
        }
    )*};
}

suite!(
    round_trip,
    diffs_apply,
    failed_status,
    ignore_error,
    destroy_error,
    remove,
    mismatch_refused,
    dump,
    keep_after_success,
    local_storing_tables,
);
