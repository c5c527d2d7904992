//! `scan`: list the data source, route every file, apply the filter and `[[routes]]`, and
//! assemble databases, tables and views the way upstream's loader does.

use std::collections::HashMap;

use lightning_config::Config;

use crate::filter::TableFilter;
use crate::model::{DataFormat, DatabaseSource, Dump, SourceFile, TableSource, ViewSource};
use crate::rename::TableRouter;
use crate::route::{FileRouter, Routed};
use crate::storage::{LocalStorage, Storage};
use crate::SourceError;

struct Found {
    schema: String,
    table: String,
    file: SourceFile,
}

fn layout(path: &str, reason: impl Into<String>) -> SourceError {
    SourceError::Layout {
        path: path.to_string(),
        reason: reason.into(),
    }
}

/// Scans `mydumper.data-source-dir` with the configured rules, filter and routes.
pub fn scan(cfg: &Config) -> Result<Dump, SourceError> {
    let storage = LocalStorage::new(&cfg.mydumper.data_source_dir)?;
    scan_storage(&storage, cfg)
}

/// [`scan`] over any [`Storage`].
pub fn scan_storage(storage: &dyn Storage, cfg: &Config) -> Result<Dump, SourceError> {
    let m = &cfg.mydumper;
    if !cfg.routes.is_empty() && !m.files.is_empty() {
        return Err(SourceError::Unsupported(
            "table route is deprecated, can't config both [routes] and [mydumper.files]".into(),
        ));
    }
    let router = FileRouter::new(&m.files, m.default_file_rules || m.files.is_empty())?;
    let filter = TableFilter::from_config(cfg)?;
    let renamer = TableRouter::new(&cfg.routes, m.case_sensitive)?;

    let mut buckets: [Vec<Found>; 4] = Default::default();
    for listed in storage.list()? {
        if let Some(what) = listed.special {
            // Refused below if it routes to a table the import reads.
            tracing::warn!(path = %listed.rel, kind = what, "the source dir holds a file that is not a regular file; it is never read");
        }
        let (schema, table, format, key, compression) = match router.route(&listed.rel)? {
            None => {
                tracing::debug!(path = %listed.rel, "file is not matched by any file rule; skipped");
                continue;
            }
            Some(Routed::Ignored) => {
                tracing::info!(path = %listed.rel, "file ignored by file rule");
                continue;
            }
            Some(Routed::File {
                schema,
                table,
                format,
                key,
                compression,
            }) => (schema, table, format, key, compression),
        };
        let keep = if format == DataFormat::SchemaSchema {
            filter.match_schema(&schema)
        } else {
            filter.match_table(&schema, &table)
        };
        if !keep {
            tracing::debug!(path = %listed.rel, %schema, %table, "file skipped by table filter");
            continue;
        }
        if let Some(what) = listed.special {
            return Err(layout(
                &listed.rel,
                format!("is a {what}, not a regular file: a dump file must be a regular file (remove it, or exclude it with a filter)"),
            ));
        }
        let file = SourceFile {
            path: storage.locate(&listed.rel),
            rel: listed.rel,
            size: listed.size,
            format,
            compression,
            key,
        };
        let slot = match format {
            DataFormat::SchemaSchema => 0,
            DataFormat::TableSchema => 1,
            DataFormat::ViewSchema => 2,
            _ => 3,
        };
        buckets[slot].push(Found {
            schema,
            table,
            file,
        });
    }

    let routed = !renamer.is_empty();
    // Source schemas whose every table was routed elsewhere are dropped, as upstream does.
    let mut moved_away: HashMap<String, (usize, usize)> = HashMap::new();
    if routed {
        for bucket in buckets.iter_mut().skip(1) {
            for f in bucket.iter_mut() {
                let (s, t) = renamer.route(&f.schema, &f.table);
                let e = moved_away.entry(f.schema.clone()).or_default();
                e.0 += 1;
                if s != f.schema {
                    e.1 += 1;
                }
                f.schema = s;
                f.table = t;
            }
        }
        for f in buckets[0].iter_mut() {
            f.schema = renamer.route(&f.schema, "").0;
        }
    }

    let [db_files, table_files, view_files, data_files] = buckets;
    let mut b = Builder::default();
    for f in db_files {
        if moved_away
            .get(&f.schema)
            .is_some_and(|(all, moved)| all == moved && *all > 0)
        {
            continue;
        }
        let rel = f.file.rel.clone();
        let db = b.db(&f.schema);
        if db.schema_file.is_some() {
            if routed {
                continue;
            }
            return Err(layout(
                &rel,
                "invalid database schema file, duplicated item",
            ));
        }
        db.schema_file = Some(f.file);
    }
    for f in table_files {
        let rel = f.file.rel.clone();
        let t = b.table(&f.schema, &f.table);
        if t.schema_file.is_some() {
            if routed {
                continue;
            }
            return Err(layout(&rel, "invalid table schema file, duplicated item"));
        }
        t.schema_file = Some(f.file);
    }
    for f in view_files {
        let Some(&(di, ti)) = b.tables.get(&(f.schema.clone(), f.table.clone())) else {
            return Err(layout(
                &f.file.rel,
                format!(
                    "invalid view schema file, miss host table schema for view '{}'",
                    f.table
                ),
            ));
        };
        let placeholder = b.dbs[di].tables[ti].schema_file.clone();
        b.views.push((di, ti));
        b.dbs[di].views.push(ViewSource {
            db: f.schema,
            name: f.table,
            schema_file: placeholder,
            view_file: f.file,
        });
    }
    for f in data_files {
        let t = b.table(&f.schema, &f.table);
        t.total_size += f.file.size;
        t.data_files.push(f.file);
    }
    b.finish(cfg.mydumper.no_schema)
}

#[derive(Default)]
struct Builder {
    dbs: Vec<DatabaseSource>,
    db_index: HashMap<String, usize>,
    tables: HashMap<(String, String), (usize, usize)>,
    /// (db, table) indexes of view placeholders, removed from `tables` at the end.
    views: Vec<(usize, usize)>,
}

impl Builder {
    fn db(&mut self, name: &str) -> &mut DatabaseSource {
        let i = *self.db_index.entry(name.to_string()).or_insert_with(|| {
            self.dbs.push(DatabaseSource {
                name: name.to_string(),
                schema_file: None,
                tables: vec![],
                views: vec![],
            });
            self.dbs.len() - 1
        });
        &mut self.dbs[i]
    }

    fn table(&mut self, db: &str, name: &str) -> &mut TableSource {
        let key = (db.to_string(), name.to_string());
        let (di, ti) = match self.tables.get(&key) {
            Some(&p) => p,
            None => {
                self.db(db);
                let di = self.db_index[db];
                let tables = &mut self.dbs[di].tables;
                tables.push(TableSource {
                    db: db.to_string(),
                    name: name.to_string(),
                    schema_file: None,
                    data_files: vec![],
                    total_size: 0,
                });
                self.tables.insert(key, (di, tables.len() - 1));
                (di, tables.len() - 1)
            }
        };
        &mut self.dbs[di].tables[ti]
    }

    fn finish(mut self, no_schema: bool) -> Result<Dump, SourceError> {
        let mut placeholders = self.views.clone();
        placeholders.sort_unstable();
        for &(di, ti) in placeholders.iter().rev() {
            let t = self.dbs[di].tables.remove(ti);
            if !t.data_files.is_empty() {
                return Err(layout(
                    &format!("{}.{}", t.db, t.name),
                    "a view cannot have data files",
                ));
            }
        }
        for db in &mut self.dbs {
            for t in &mut db.tables {
                if t.schema_file.is_none() && !no_schema {
                    let first = t
                        .data_files
                        .first()
                        .map(|f| f.rel.clone())
                        .unwrap_or_default();
                    return Err(layout(
                        &first,
                        format!("table schema not found for `{}`.`{}` (set mydumper.no-schema if the table exists)", t.db, t.name),
                    ));
                }
                t.data_files.sort_by(|a, b| a.key.cmp(&b.key));
            }
            // Small tables first, so big ones do not hold index workers for long.
            db.tables.sort_by_key(|t| t.total_size);
        }
        Ok(Dump {
            databases: self.dbs,
        })
    }
}
