//! The conformance suite against the MySQL driver on a real MariaDB (one schema per test).

mod conformance;

use conformance::{cases, Driver};
use lightning_checkpoint::{open, CheckpointStore};
use lightning_testkit::MariaDb;

struct MysqlDriver {
    schema: String,
}

impl MysqlDriver {
    fn new(case: &str) -> Self {
        MysqlDriver {
            schema: format!("ckpt_{case}"),
        }
    }

    fn table_count(&self, schema: &str) -> usize {
        let sql = format!(
            "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = '{schema}'"
        );
        let out = MariaDb::shared().query(&sql).unwrap();
        out.trim().parse().unwrap()
    }
}

impl Driver for MysqlDriver {
    async fn open(&self) -> Box<dyn CheckpointStore> {
        let db = MariaDb::shared();
        let mut cfg = lightning_config::Config::default();
        cfg.checkpoint.driver = "mysql".into();
        cfg.checkpoint.schema = self.schema.clone();
        // Upstream's DSN form; the session variable proves DSN parameters are applied.
        cfg.checkpoint.dsn = format!(
            "root@tcp(127.0.0.1:{})/?charset=utf8mb4&sql_mode=%27STRICT_ALL_TABLES%27",
            db.port()
        );
        open(&cfg).await.unwrap()
    }
    async fn exists(&self) -> bool {
        self.table_count(&self.schema) == 4
    }
    async fn backup_exists(&self, task_id: i64) -> bool {
        self.table_count(&format!("{}.{task_id}.bak", self.schema)) == 4
    }
}

macro_rules! suite {
    ($($case:ident),* $(,)?) => {$(
        #[tokio::test]
        async fn $case() {
            cases::$case(&MysqlDriver::new(stringify!($case))).await;
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

#[tokio::test]
async fn tables_have_upstream_names_and_columns() {
    let d = MysqlDriver::new("layout");
    d.open().await.close().await.unwrap();
    let columns = |table: &str| {
        let sql = format!(
            "SELECT GROUP_CONCAT(column_name ORDER BY ordinal_position) FROM information_schema.columns \
             WHERE table_schema = '{}' AND table_name = '{table}'",
            d.schema
        );
        MariaDb::shared().query(&sql).unwrap().trim().to_string()
    };
    assert_eq!(
        columns("task_v2"),
        "id,task_id,source_dir,backend,importer_addr,tidb_host,tidb_port,pd_addr,sorted_kv_dir,lightning_ver"
    );
    assert_eq!(
        columns("table_v10"),
        "task_id,table_name,hash,status,table_id,table_info,create_time,update_time,kv_bytes,kv_kvs,\
         kv_checksum,auto_rand_base,auto_incr_base,auto_row_id_base"
    );
    assert_eq!(
        columns("engine_v5"),
        "table_name,engine_id,status,create_time,update_time"
    );
    assert_eq!(
        columns("chunk_v6"),
        "table_name,engine_id,path,offset,type,compression,sort_key,file_size,columns,\
         should_include_row_id,end_offset,pos,real_pos,prev_rowid_max,rowid_max,kvc_bytes,kvc_kvs,\
         kvc_checksum,create_time,update_time"
    );
}

#[tokio::test]
async fn session_variables_from_the_dsn_are_applied() {
    // A DSN variable the server rejects makes connecting fail, so it was sent.
    let db = MariaDb::shared();
    let mut cfg = lightning_config::Config::default();
    cfg.checkpoint.driver = "mysql".into();
    cfg.checkpoint.schema = "ckpt_dsnvar".into();
    cfg.checkpoint.dsn = format!("root@tcp(127.0.0.1:{})/?no_such_variable=1", db.port());
    let err = open(&cfg).await.err().expect("unknown variable refused");
    assert!(err.to_string().contains("no_such_variable"), "{err}");
}
