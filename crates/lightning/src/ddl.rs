//! Which statements of a schema file run, pointed at their target names.
//!
//! A dump is data, often from elsewhere, so a schema file runs only what it is for:
//! - `{db}-schema-create.sql`: one `CREATE DATABASE`/`SCHEMA`;
//! - `{db}.{t}-schema.sql`: one `CREATE TABLE` (Dumpling's view placeholders too);
//! - `{db}.{v}-schema-view.sql`: one `CREATE VIEW`, after Dumpling's `DROP TABLE/VIEW IF
//!   EXISTS` of that same view;
//!
//! each besides session `SET`s, `USE` (not run) and comments. Anything else is an error naming the file,
//! the statement's offset and what was refused, raised before anything is created. The
//! object is renamed to its target name (file-name derived or routed) and `CREATE
//! DATABASE`/`TABLE` made `IF NOT EXISTS`, as upstream rewrites them, so a rerun reuses
//! what an earlier run created. A table file's `DROP TABLE` of its own table is not run:
//! the table may hold rows an earlier run imported.

use crate::LightningError;
use lightning_backend::tidb::quote_ident;
use lightning_parser::{analyze_ddl, rename_ddl, DdlKind, DdlStatement, ObjectName};

/// What a schema file declares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FileKind {
    /// `{db}-schema-create.sql`.
    Database,
    /// `{db}.{t}-schema.sql`.
    Table,
    /// `{db}.{v}-schema-view.sql`.
    View,
}

impl FileKind {
    fn create(self) -> DdlKind {
        match self {
            FileKind::Database => DdlKind::CreateDatabase,
            FileKind::Table => DdlKind::CreateTable,
            FileKind::View => DdlKind::CreateView,
        }
    }

    fn what(self) -> &'static str {
        match self {
            FileKind::Database => "CREATE DATABASE",
            FileKind::Table => "CREATE TABLE",
            FileKind::View => "CREATE VIEW",
        }
    }
}

/// The target object a schema file is for: its database and, for tables and views, name.
pub(crate) struct Target<'a> {
    /// Target database.
    pub db: &'a str,
    /// Target table or view (`None` for a database file).
    pub name: Option<&'a str>,
}

impl Target<'_> {
    fn quoted(&self) -> String {
        match self.name {
            Some(n) => format!("{}.{}", quote_ident(self.db), quote_ident(n)),
            None => quote_ident(self.db),
        }
    }
}

/// The statements of one schema file to run, in order, each with its byte offset; `stmts`
/// are the file's statements as [`lightning_parser::split_statements_at`] returns them.
/// `CREATE DATABASE` files may be empty (the database is created by name); table and
/// view files must hold their `CREATE`.
pub(crate) fn plan_file(
    file: &str,
    text: &str,
    stmts: &[(usize, String)],
    kind: FileKind,
    target: &Target<'_>,
) -> Result<Vec<(usize, String)>, LightningError> {
    let refuse = |at: usize, message: String| LightningError::SchemaFile {
        file: file.to_string(),
        offset: at as u64,
        line: 1 + text.as_bytes()[..at.min(text.len())]
            .iter()
            .filter(|&&b| b == b'\n')
            .count() as u64,
        message,
    };
    let mut analyzed: Vec<(usize, &str, DdlStatement)> = Vec::with_capacity(stmts.len());
    for (at, s) in stmts {
        let a = analyze_ddl(s).map_err(|(k, why)| refuse(at + k, why))?;
        analyzed.push((*at, s, a));
    }
    // Refused statements are reported first, so a file whose only CREATE is refused
    // (say `CREATE TABLE … SELECT`) names that statement, not a missing CREATE.
    for (at, _, a) in &analyzed {
        if !allowed(&a.kind, kind) {
            return Err(refuse(*at, refusal(&a.kind, kind)));
        }
    }
    let creates: Vec<usize> = analyzed
        .iter()
        .enumerate()
        .filter(|(_, (_, _, a))| a.kind == kind.create())
        .map(|(i, _)| i)
        .collect();
    let create = match creates[..] {
        [i] => Some(&analyzed[i].2),
        [] if kind == FileKind::Database => None,
        [] => {
            return Err(refuse(
                0,
                format!(
                    "holds no {} statement; a {} file must hold one",
                    kind.what(),
                    kind.what()
                ),
            ))
        }
        [_, j, ..] => {
            return Err(refuse(
                analyzed[j].0,
                format!(
                    "a second {} statement; a schema file declares one object",
                    kind.what()
                ),
            ))
        }
    };
    let declared = create.and_then(|c| c.objects.first());
    let mut out = Vec::with_capacity(analyzed.len());
    for (at, s, a) in &analyzed {
        let sql = match (&a.kind, kind) {
            (DdlKind::Set, _) => s.to_string(),
            // Not run: every statement that is run names its database.
            (DdlKind::Use, _) => continue,
            (k, _) if *k == kind.create() => {
                if a.or_replace && kind != FileKind::View {
                    return Err(refuse(
                        *at,
                        format!(
                            "refused CREATE OR REPLACE: it would drop the target {} first",
                            object_word(kind)
                        ),
                    ));
                }
                if a.temporary {
                    return Err(refuse(
                        *at,
                        "refused CREATE TEMPORARY TABLE: it would vanish with the session".into(),
                    ));
                }
                let add = kind != FileKind::View;
                rename_ddl(s, a, &target.quoted(), add).ok_or_else(|| {
                    refuse(
                        *at,
                        format!("cannot read the name this {} creates", kind.what()),
                    )
                })?
            }
            (DdlKind::DropTable | DdlKind::DropView, FileKind::Table | FileKind::View) => {
                let same = a.objects.len() == 1 && is_same_object(&a.objects[0], declared, target);
                if !same {
                    let names: Vec<String> = a.objects.iter().map(display).collect();
                    return Err(refuse(
                        *at,
                        format!("refused DROP of {}: a schema file may drop only the object it declares", names.join(", ")),
                    ));
                }
                if kind == FileKind::Table {
                    tracing::info!(file, offset = at, "not running the file's DROP TABLE: the target table may hold rows an earlier run imported");
                    continue;
                }
                rename_ddl(s, a, &target.quoted(), false)
                    .ok_or_else(|| refuse(*at, "cannot read the name this DROP names".into()))?
            }
            (other, _) => return Err(refuse(*at, refusal(other, kind))),
        };
        out.push((*at, sql));
    }
    Ok(out)
}

/// True when a `kind` file may hold a statement of `stmt`'s kind.
fn allowed(stmt: &DdlKind, kind: FileKind) -> bool {
    match (stmt, kind) {
        (DdlKind::Set | DdlKind::Use, _) => true,
        (k, _) if *k == kind.create() => true,
        (DdlKind::DropTable | DdlKind::DropView, FileKind::Table | FileKind::View) => true,
        _ => false,
    }
}

/// Why a `kind` file may not hold a statement of `stmt`'s kind.
fn refusal(stmt: &DdlKind, kind: FileKind) -> String {
    format!(
        "refused {}: a {} file may hold only its {}, session SETs and comments",
        describe(stmt),
        object_word(kind),
        kind.what()
    )
}

fn object_word(kind: FileKind) -> &'static str {
    match kind {
        FileKind::Database => "database",
        FileKind::Table => "table",
        FileKind::View => "view",
    }
}

fn describe(kind: &DdlKind) -> &str {
    match kind {
        DdlKind::Set => "SET",
        DdlKind::CreateDatabase => "CREATE DATABASE",
        DdlKind::CreateTable => "CREATE TABLE",
        DdlKind::CreateView => "CREATE VIEW",
        DdlKind::DropTable => "DROP TABLE",
        DdlKind::DropView => "DROP VIEW",
        DdlKind::Use => "USE",
        DdlKind::Other(w) => w,
    }
}

fn display(o: &ObjectName) -> String {
    match &o.schema {
        Some(s) => format!("{}.{}", quote_ident(s), quote_ident(&o.name)),
        None => quote_ident(&o.name),
    }
}

/// True when `o` names the object the file declares (as its `CREATE` spells it) or its
/// target; a qualifying database must be the `CREATE`'s or the target's too.
fn is_same_object(o: &ObjectName, declared: Option<&ObjectName>, target: &Target<'_>) -> bool {
    let eq = |a: &str, b: &str| a.eq_ignore_ascii_case(b);
    let name_ok = target.name.is_some_and(|n| eq(&o.name, n))
        || declared.is_some_and(|d| eq(&o.name, &d.name));
    let schema_ok = match &o.schema {
        None => true,
        Some(s) => {
            eq(s, target.db)
                || declared
                    .and_then(|d| d.schema.as_deref())
                    .is_some_and(|d| eq(s, d))
        }
    };
    name_ok && schema_ok
}

#[cfg(test)]
mod tests;
