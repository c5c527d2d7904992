//! Creating databases, tables and views on the target from the dump's schema files.

use crate::ddl::{self, FileKind};
use crate::deferred::DeferredIndexes;
use crate::LightningError;
use lightning_backend::tidb::{quote_ident, TidbTarget};
use lightning_source::{DatabaseSource, Dump, SourceFile};

/// MySQL errors meaning "already there": 1007 database exists, 1050 table exists.
const ALREADY_EXISTS: [u16; 2] = [1007, 1050];

/// One schema file's statements to run, checked and pointed at the target.
struct FilePlan<'a> {
    file: &'a str,
    /// `USE` this database first.
    db: Option<&'a str>,
    /// The table a table schema file creates.
    table: Option<&'a str>,
    stmts: Vec<(usize, String)>,
}

/// Checks every schema file of the dump (databases, tables, views) before anything is
/// created, so a refused statement leaves the target untouched; returns the databases'
/// and tables' plans, then the views'.
fn plan<'a>(
    dump: &'a Dump,
    charset: &str,
) -> Result<(Vec<FilePlan<'a>>, Vec<FilePlan<'a>>), LightningError> {
    let (mut tables, mut views) = (Vec::new(), Vec::new());
    for db in &dump.databases {
        let target = ddl::Target {
            db: &db.name,
            name: None,
        };
        let stmts = match &db.schema_file {
            Some(f) => plan_file(f, FileKind::Database, &target, charset)?,
            None => Vec::new(),
        };
        let stmts = if stmts
            .iter()
            .any(|(_, s)| is_kind(s, lightning_parser::DdlKind::CreateDatabase))
        {
            stmts
        } else {
            // No file, or one without its CREATE (only SETs, or empty): create it by name.
            let mut all = stmts;
            all.push((
                0,
                format!("CREATE DATABASE IF NOT EXISTS {}", quote_ident(&db.name)),
            ));
            all
        };
        tables.push(FilePlan {
            file: db.schema_file.as_ref().map_or("", |f| f.rel.as_str()),
            db: None,
            table: None,
            stmts,
        });
        for (name, f) in table_schema_files(db) {
            let target = ddl::Target {
                db: &db.name,
                name: Some(name),
            };
            tables.push(FilePlan {
                file: &f.rel,
                db: Some(&db.name),
                table: Some(name),
                stmts: plan_file(f, FileKind::Table, &target, charset)?,
            });
        }
        for view in &db.views {
            let target = ddl::Target {
                db: &db.name,
                name: Some(&view.name),
            };
            views.push(FilePlan {
                file: &view.view_file.rel,
                db: Some(&db.name),
                table: None,
                stmts: plan_file(&view.view_file, FileKind::View, &target, charset)?,
            });
        }
    }
    Ok((tables, views))
}

fn is_kind(s: &str, kind: lightning_parser::DdlKind) -> bool {
    lightning_parser::analyze_ddl(s).is_ok_and(|a| a.kind == kind)
}

/// Creates every database and table of the dump (views come after the data), once every
/// schema file of the dump has been checked. With `deferred`, a table that does not exist
/// yet is created without its plain secondary indexes, recorded there to be added after
/// its rows.
pub(crate) async fn create_tables(
    target: &TidbTarget,
    dump: &Dump,
    charset: &str,
    deferred: Option<&DeferredIndexes>,
) -> Result<(), LightningError> {
    let (mut tables, _) = plan(dump, charset)?;
    for p in &mut tables {
        if let (Some(d), Some(db), Some(table)) = (deferred, p.db, p.table) {
            for (_, stmt) in &mut p.stmts {
                if is_kind(stmt, lightning_parser::DdlKind::CreateTable) {
                    if let Some(reduced) = d.plan_create(target, db, table, stmt).await? {
                        *stmt = reduced;
                    }
                }
            }
        }
        exec_tolerant(target, p).await?;
    }
    Ok(())
}

/// The `CREATE TABLE` files to run, by target name: the tables', then Dumpling's placeholder
/// tables of the views, as upstream creates them. A view may select from a view of a later
/// database; the placeholder stands in until that view's file replaces it.
fn table_schema_files(db: &DatabaseSource) -> impl Iterator<Item = (&str, &SourceFile)> {
    let tables = db
        .tables
        .iter()
        .filter_map(|t| Some((t.name.as_str(), t.schema_file.as_ref()?)));
    let views = db
        .views
        .iter()
        .filter_map(|v| Some((v.name.as_str(), v.schema_file.as_ref()?)));
    tables.chain(views)
}

/// Creates the dump's views, in dump order, once every table exists.
pub(crate) async fn create_views(
    target: &TidbTarget,
    dump: &Dump,
    charset: &str,
) -> Result<(), LightningError> {
    let (_, views) = plan(dump, charset)?;
    for p in &views {
        exec_tolerant(target, p).await?;
    }
    Ok(())
}

/// The checked statements of one schema file.
fn plan_file(
    file: &SourceFile,
    kind: FileKind,
    target: &ddl::Target<'_>,
    charset: &str,
) -> Result<Vec<(usize, String)>, LightningError> {
    let text = lightning_source::read_schema(file, charset)?;
    let stmts = lightning_parser::split_statements_at(text.as_bytes()).map_err(|source| {
        LightningError::Parse {
            file: file.rel.clone(),
            source,
        }
    })?;
    ddl::plan_file(&file.rel, &text, &stmts, kind, target)
}

/// Runs one schema file's statements in order on one connection (mysqldump's files save
/// session variables in one statement and restore them in a later one), so that an object
/// already created (by an earlier run, or by the user for `no-schema`-like setups) is
/// reused rather than an error. A statement the target refuses is reported with its file.
async fn exec_tolerant(target: &TidbTarget, p: &FilePlan<'_>) -> Result<(), LightningError> {
    let stmts: Vec<String> = p.stmts.iter().map(|(_, s)| s.clone()).collect();
    let skipped = target
        .exec_each_tolerating(p.db, &stmts, &ALREADY_EXISTS)
        .await
        .map_err(|(i, source)| LightningError::SchemaStatement {
            file: if p.file.is_empty() {
                "(no schema file)".to_string()
            } else {
                p.file.to_string()
            },
            offset: i.map_or(0, |i| p.stmts[i].0 as u64),
            source,
        })?;
    for (i, _) in skipped {
        tracing::info!(file = p.file, statement = %first_line(&stmts[i]), "already exists, reusing it");
    }
    Ok(())
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;
    use lightning_source::{Compression, DataFormat, TableSource, ViewSource};

    fn file(rel: &str, format: DataFormat) -> SourceFile {
        SourceFile {
            path: rel.into(),
            rel: rel.into(),
            size: 1,
            format,
            compression: Compression::None,
            key: String::new(),
        }
    }

    /// lightning_view: db0.v2 selects from db1.v1, whose view is created after v2; v1's
    /// placeholder table must exist by then.
    #[test]
    fn view_placeholder_tables_are_created_with_the_tables() {
        let db = DatabaseSource {
            name: "db1".into(),
            schema_file: None,
            tables: vec![TableSource {
                db: "db1".into(),
                name: "tbl".into(),
                schema_file: Some(file("db1.tbl-schema.sql", DataFormat::TableSchema)),
                data_files: vec![],
                total_size: 0,
            }],
            views: vec![
                ViewSource {
                    db: "db1".into(),
                    name: "v1".into(),
                    schema_file: Some(file("db1.v1-schema.sql", DataFormat::TableSchema)),
                    view_file: file("db1.v1-schema-view.sql", DataFormat::ViewSchema),
                },
                ViewSource {
                    db: "db1".into(),
                    name: "v3".into(),
                    schema_file: None,
                    view_file: file("db1.v3-schema-view.sql", DataFormat::ViewSchema),
                },
            ],
        };
        let got: Vec<(&str, &str)> = table_schema_files(&db)
            .map(|(n, f)| (n, f.rel.as_str()))
            .collect();
        assert_eq!(
            got,
            [("tbl", "db1.tbl-schema.sql"), ("v1", "db1.v1-schema.sql")]
        );
    }
}
