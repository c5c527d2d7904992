//! Creating databases, tables and views on the target from the dump's schema files.

use crate::{ddl, LightningError};
use lightning_backend::tidb::{quote_ident, TidbTarget};
use lightning_source::{Dump, SourceFile};

/// MySQL errors meaning "already there": 1007 database exists, 1050 table exists.
const ALREADY_EXISTS: [u16; 2] = [1007, 1050];

/// Creates every database and table of the dump (views come after the data).
pub(crate) async fn create_tables(target: &TidbTarget, dump: &Dump, charset: &str) -> Result<(), LightningError> {
    for db in &dump.databases {
        let create = match &db.schema_file {
            Some(f) => statements(f, charset)?.iter().map(|s| ddl::rewrite_create_database(s, &db.name)).collect(),
            None => vec![format!("CREATE DATABASE IF NOT EXISTS {}", quote_ident(&db.name))],
        };
        exec_tolerant(target, None, &create).await?;
        for table in &db.tables {
            if let Some(f) = &table.schema_file {
                let stmts: Vec<String> =
                    statements(f, charset)?.iter().map(|s| ddl::rewrite_create_table(s, &db.name, &table.name)).collect();
                exec_tolerant(target, Some(&db.name), &stmts).await?;
            }
        }
    }
    Ok(())
}

/// Creates the dump's views, in dump order, once every table exists.
pub(crate) async fn create_views(target: &TidbTarget, dump: &Dump, charset: &str) -> Result<(), LightningError> {
    for db in &dump.databases {
        for view in &db.views {
            exec_tolerant(target, Some(&db.name), &statements(&view.view_file, charset)?).await?;
        }
    }
    Ok(())
}

fn statements(file: &SourceFile, charset: &str) -> Result<Vec<String>, LightningError> {
    let text = lightning_source::read_schema(file, charset)?;
    lightning_parser::split_statements(text.as_bytes())
        .map_err(|source| LightningError::Parse { file: file.rel.clone(), source })
}

/// Runs one schema file's statements in order on one connection (mysqldump's files save
/// session variables in one statement and restore them in a later one), so that an object
/// already created (by an earlier run, or by the user for `no-schema`-like setups) is
/// reused rather than an error.
async fn exec_tolerant(target: &TidbTarget, db: Option<&str>, stmts: &[String]) -> Result<(), LightningError> {
    for (i, _) in target.exec_tolerating(db, stmts, &ALREADY_EXISTS).await? {
        tracing::info!(statement = %first_line(&stmts[i]), "already exists, reusing it");
    }
    Ok(())
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or("")
}
