//! The simulated TiDB's schema state shared by all connections: databases, tables, the
//! global id allocator, global variables, `mysql.tidb` and what tests may inspect afterwards.

use std::collections::BTreeMap;

use lightning_encode::TableInfo;

/// One database.
#[derive(Clone, Debug)]
pub struct Database {
    /// Schema id.
    pub id: i64,
    /// Name as created.
    pub name: String,
    /// Default charset.
    pub charset: String,
    /// Default collation.
    pub collation: String,
    /// Tables keyed by lower-cased name.
    pub tables: BTreeMap<String, Table>,
}

/// One table and the allocator bases recorded by `ALTER TABLE`.
#[derive(Clone, Debug)]
pub struct Table {
    /// The table model (its `auto_increment_base` / `auto_random_base` follow `ALTER TABLE`).
    pub info: TableInfo,
}

/// The whole catalog.
#[derive(Debug)]
pub struct Catalog {
    next_global_id: i64,
    /// Databases keyed by lower-cased name.
    pub dbs: BTreeMap<String, Database>,
    /// `SET GLOBAL` values, keyed by lower-cased variable name.
    pub globals: BTreeMap<String, String>,
    /// Rows of `mysql.tidb` (`VARIABLE_NAME` → `VARIABLE_VALUE`).
    pub mysql_tidb: BTreeMap<String, String>,
    /// `(db, table)` of every `ANALYZE TABLE`, in order.
    pub analyzed: Vec<(String, String)>,
    /// Every statement executed successfully, in order (all connections).
    pub log: Vec<String>,
    /// Every session-scope `SET` (name, value), in order (all connections).
    pub session_sets: Vec<(String, String)>,
}

impl Catalog {
    /// An empty cluster whose global id allocator hands out `first_global_id` next.
    pub fn new(first_global_id: i64) -> Self {
        let mut mysql_tidb = BTreeMap::new();
        // Rows a bootstrapped TiDB keeps in mysql.tidb that Lightning reads
        // (tikv_gc_life_time, default "10m0s"; new_collation_enabled, "True" on clusters
        // bootstrapped since v4.0 with new collations, the default since v6.0).
        mysql_tidb.insert("tikv_gc_life_time".into(), "10m0s".into());
        mysql_tidb.insert("new_collation_enabled".into(), "True".into());
        mysql_tidb.insert("bootstrapped".into(), "True".into());
        Catalog {
            next_global_id: first_global_id,
            dbs: BTreeMap::new(),
            globals: BTreeMap::new(),
            mysql_tidb,
            analyzed: Vec::new(),
            log: Vec::new(),
            session_sets: Vec::new(),
        }
    }

    /// Adds the `test` database a freshly bootstrapped TiDB has (docs: "TiDB creates a
    /// `test` database by default"). Bootstrap created it before any user DDL, so its id
    /// is below the first user id; its exact value is not modelled.
    pub fn add_bootstrap_test_db(&mut self) {
        let id = (self.next_global_id - 2).max(1);
        self.dbs.insert(
            "test".into(),
            Database {
                id,
                name: "test".into(),
                charset: "utf8mb4".into(),
                collation: "utf8mb4_bin".into(),
                tables: BTreeMap::new(),
            },
        );
    }

    /// Takes the next id from the global allocator shared by schemas, tables and DDL jobs.
    pub fn alloc_id(&mut self) -> i64 {
        let id = self.next_global_id;
        self.next_global_id += 1;
        id
    }

    /// The database named `name` (case-insensitive, as TiDB's `lower_case_table_names = 2`).
    pub fn db(&self, name: &str) -> Option<&Database> {
        self.dbs.get(&name.to_lowercase())
    }

    /// The table `db`.`name`.
    pub fn table(&self, db: &str, name: &str) -> Option<&Table> {
        self.db(db)?.tables.get(&name.to_lowercase())
    }

    /// The table `db`.`name`, mutable.
    pub fn table_mut(&mut self, db: &str, name: &str) -> Option<&mut Table> {
        self.dbs
            .get_mut(&db.to_lowercase())?
            .tables
            .get_mut(&name.to_lowercase())
    }
}
