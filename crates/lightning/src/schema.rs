//! Creating databases, tables and views on the target from the dump's schema files.

use crate::{ddl, LightningError};
use lightning_backend::tidb::{quote_ident, TidbTarget};
use lightning_source::{DatabaseSource, Dump, SourceFile};

/// MySQL errors meaning "already there": 1007 database exists, 1050 table exists.
const ALREADY_EXISTS: [u16; 2] = [1007, 1050];

/// Creates every database and table of the dump (views come after the data).
pub(crate) async fn create_tables(
    target: &TidbTarget,
    dump: &Dump,
    charset: &str,
) -> Result<(), LightningError> {
    for db in &dump.databases {
        let create = match &db.schema_file {
            Some(f) => statements(f, charset)?
                .iter()
                .map(|s| ddl::rewrite_create_database(s, &db.name))
                .collect(),
            None => vec![format!(
                "CREATE DATABASE IF NOT EXISTS {}",
                quote_ident(&db.name)
            )],
        };
        exec_tolerant(target, None, &create).await?;
        for (name, f) in table_schema_files(db) {
            let stmts: Vec<String> = statements(f, charset)?
                .iter()
                .map(|s| ddl::rewrite_create_table(s, &db.name, name))
                .collect();
            exec_tolerant(target, Some(&db.name), &stmts).await?;
        }
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
    for db in &dump.databases {
        for view in &db.views {
            exec_tolerant(
                target,
                Some(&db.name),
                &statements(&view.view_file, charset)?,
            )
            .await?;
        }
    }
    Ok(())
}

fn statements(file: &SourceFile, charset: &str) -> Result<Vec<String>, LightningError> {
    let text = lightning_source::read_schema(file, charset)?;
    lightning_parser::split_statements(text.as_bytes()).map_err(|source| LightningError::Parse {
        file: file.rel.clone(),
        source,
    })
}

/// Runs one schema file's statements in order on one connection (mysqldump's files save
/// session variables in one statement and restore them in a later one), so that an object
/// already created (by an earlier run, or by the user for `no-schema`-like setups) is
/// reused rather than an error.
async fn exec_tolerant(
    target: &TidbTarget,
    db: Option<&str>,
    stmts: &[String],
) -> Result<(), LightningError> {
    for (i, _) in target.exec_tolerating(db, stmts, &ALREADY_EXISTS).await? {
        tracing::info!(statement = %first_line(&stmts[i]), "already exists, reusing it");
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
