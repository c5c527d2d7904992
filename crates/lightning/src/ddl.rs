//! Light rewrites of schema statements, as upstream does after parsing them: the object
//! is renamed to its target name (file-name derived or routed) and made `IF NOT EXISTS`,
//! so a dump whose `CREATE` names differ in case or spelling lands where routing says.

use lightning_backend::tidb::quote_ident;

/// Rewrites `CREATE DATABASE|SCHEMA [IF NOT EXISTS] name …` to create `db`; other
/// statements are returned unchanged.
pub(crate) fn rewrite_create_database(stmt: &str, db: &str) -> String {
    rewrite(stmt, &[&["DATABASE"], &["SCHEMA"]], &quote_ident(db))
        .unwrap_or_else(|| stmt.to_string())
}

/// Rewrites `CREATE [TEMPORARY] TABLE [IF NOT EXISTS] [db.]name …` to create `db`.`table`;
/// other statements are returned unchanged.
pub(crate) fn rewrite_create_table(stmt: &str, db: &str, table: &str) -> String {
    let name = format!("{}.{}", quote_ident(db), quote_ident(table));
    rewrite(stmt, &[&["TABLE"]], &name).unwrap_or_else(|| stmt.to_string())
}

fn rewrite(stmt: &str, kinds: &[&[&str]], new_name: &str) -> Option<String> {
    let mut p = Cursor { s: stmt, i: 0 };
    p.skip_space();
    p.keyword("CREATE")?;
    let kind = kinds.iter().find_map(|k| {
        let save = p.i;
        if k.iter().all(|w| p.keyword(w).is_some()) {
            Some(*k)
        } else {
            p.i = save;
            None
        }
    })?;
    // `IF NOT EXISTS`, bare or inside a version comment (mysqldump's /*!32312 … */).
    let save = p.i;
    if !(p.keyword("IF").is_some() && p.keyword("NOT").is_some() && p.keyword("EXISTS").is_some()) {
        p.i = save;
        p.skip_space();
        if p.rest().starts_with("/*!") {
            let end = p.rest().find("*/")?;
            let inner = p.rest()[3..end]
                .trim_start_matches(|c: char| c.is_ascii_digit())
                .trim();
            if inner.eq_ignore_ascii_case("IF NOT EXISTS") {
                p.i += end + 2;
            }
        }
    }
    p.skip_space();
    p.ident()?;
    if p.rest().starts_with('.') {
        p.i += 1;
        p.ident()?;
    }
    Some(format!(
        "CREATE {} IF NOT EXISTS {new_name}{}",
        kind.join(" "),
        p.rest()
    ))
}

struct Cursor<'a> {
    s: &'a str,
    i: usize,
}

impl<'a> Cursor<'a> {
    fn rest(&self) -> &'a str {
        &self.s[self.i..]
    }

    /// Skips white space and plain `/* … */` comments (not `/*!` version comments).
    fn skip_space(&mut self) {
        loop {
            let r = self.rest();
            let t = r.trim_start();
            self.i += r.len() - t.len();
            if t.starts_with("/*") && !t.starts_with("/*!") {
                match t.find("*/") {
                    Some(e) => self.i += e + 2,
                    None => return,
                }
            } else {
                return;
            }
        }
    }

    fn keyword(&mut self, w: &str) -> Option<()> {
        self.skip_space();
        let r = self.rest();
        let head = r.get(..w.len())?;
        let next = r[w.len()..].chars().next();
        if head.eq_ignore_ascii_case(w)
            && !next.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            self.i += w.len();
            Some(())
        } else {
            None
        }
    }

    /// A backticked or bare identifier.
    fn ident(&mut self) -> Option<()> {
        let r = self.rest();
        if let Some(body) = r.strip_prefix('`') {
            let mut j = 0;
            let b = body.as_bytes();
            loop {
                let k = body[j..].find('`')? + j;
                if b.get(k + 1) == Some(&b'`') {
                    j = k + 2;
                } else {
                    self.i += k + 2;
                    return Some(());
                }
            }
        }
        let n = r
            .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '$'))
            .unwrap_or(r.len());
        if n == 0 {
            return None;
        }
        self.i += n;
        Some(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn databases_get_their_target_name_and_if_not_exists() {
        assert_eq!(
            rewrite_create_database("CREATE DATABASE `CSV`", "csv"),
            "CREATE DATABASE IF NOT EXISTS `csv`"
        );
        assert_eq!(
            rewrite_create_database("CREATE DATABASE /*!32312 IF NOT EXISTS*/ `a``b` /*!40100 DEFAULT CHARACTER SET utf8mb4 */", "x"),
            "CREATE DATABASE IF NOT EXISTS `x` /*!40100 DEFAULT CHARACTER SET utf8mb4 */"
        );
        assert_eq!(
            rewrite_create_database("create schema if not exists db1 charset latin1", "db1"),
            "CREATE SCHEMA IF NOT EXISTS `db1` charset latin1"
        );
        assert_eq!(
            rewrite_create_database("SET NAMES binary", "x"),
            "SET NAMES binary"
        );
    }

    #[test]
    fn tables_get_their_target_name_and_if_not_exists() {
        assert_eq!(
            rewrite_create_table("CREATE TABLE `threads` (\n `a` int)", "csv", "threads"),
            "CREATE TABLE IF NOT EXISTS `csv`.`threads` (\n `a` int)"
        );
        assert_eq!(
            rewrite_create_table(
                "/* c */ create table IF NOT EXISTS s3.t(i int)",
                "s3_test",
                "tbl"
            ),
            "CREATE TABLE IF NOT EXISTS `s3_test`.`tbl`(i int)"
        );
        assert_eq!(
            rewrite_create_table("CREATE TABLE tablex (i int)", "d", "t"),
            "CREATE TABLE IF NOT EXISTS `d`.`t` (i int)"
        );
        assert_eq!(
            rewrite_create_table("/*!40101 SET NAMES binary*/", "d", "t"),
            "/*!40101 SET NAMES binary*/"
        );
        assert_eq!(
            rewrite_create_table("CREATE VIEW v AS SELECT 1", "d", "t"),
            "CREATE VIEW v AS SELECT 1"
        );
    }
}
