//! Taking the plain secondary indexes out of a `CREATE TABLE`, so a logical import can
//! create the table without them and add them once its rows are in (`add-index-by-sql`):
//! the server then builds each index with one sort instead of a random B-tree insert per
//! row. Only what can be cut out as text safely is taken; anything else stays in place.

use crate::ddl::{Lexer, Tok};

/// A `KEY`/`INDEX` definition taken out of a `CREATE TABLE`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecondaryIndex {
    /// The index name, as `information_schema.STATISTICS` reports it.
    pub name: String,
    /// The definition as the dump wrote it (`KEY k_1 (k)`), for `ALTER TABLE … ADD`.
    pub definition: String,
}

/// Words that open a definition other than a column's.
const NOT_A_COLUMN: [&str; 10] = [
    "PRIMARY",
    "UNIQUE",
    "KEY",
    "INDEX",
    "CONSTRAINT",
    "FOREIGN",
    "CHECK",
    "FULLTEXT",
    "SPATIAL",
    "PERIOD",
];

fn is_kw(t: &Tok, kw: &str) -> bool {
    matches!(t, Tok::Ident(s) if s.eq_ignore_ascii_case(kw))
}

fn name_of(t: &Tok) -> Option<&str> {
    match t {
        Tok::Ident(s) | Tok::Quoted(s) => Some(s),
        _ => None,
    }
}

/// One top-level definition of the column list: its tokens and where it ends (the offset
/// of the `,` or `)` after it), and the offset of the `,` before it.
struct Definition<'t> {
    toks: &'t [(usize, Tok)],
    end: usize,
    comma_before: Option<usize>,
}

/// The top-level definitions of the first `CREATE TABLE … (` in `toks`.
fn definitions(toks: &[(usize, Tok)]) -> Option<Vec<Definition<'_>>> {
    let create = toks.iter().position(|t| is_kw(&t.1, "CREATE"))?;
    let table = create
        + toks[create..]
            .iter()
            .take(4)
            .position(|t| is_kw(&t.1, "TABLE"))?;
    let open = table + toks[table..].iter().position(|t| t.1 == Tok::Punct('('))?;
    let mut defs = Vec::new();
    let (mut depth, mut start, mut comma_before) = (0usize, open + 1, None);
    for (i, (at, t)) in toks.iter().enumerate().skip(open + 1) {
        match t {
            Tok::Punct('(') => depth += 1,
            Tok::Punct(')') if depth > 0 => depth -= 1,
            Tok::Punct(c @ (',' | ')')) if depth == 0 => {
                defs.push(Definition {
                    toks: &toks[start..i],
                    end: *at,
                    comma_before,
                });
                if *c == ')' {
                    return Some(defs);
                }
                (start, comma_before) = (i + 1, Some(*at));
            }
            _ => {}
        }
    }
    None
}

/// Where the column list opens in what follows `KEY name`, if that is exactly
/// `[USING BTREE|HASH] (…)` plus index options: the definition runs later as `ALTER TABLE
/// … ADD` text without the `CREATE` having checked it, so nothing else may ride along.
fn index_shape(rest: &[(usize, Tok)]) -> Option<usize> {
    let using = |i: usize| {
        rest.get(i).is_some_and(|t| is_kw(&t.1, "USING"))
            && rest
                .get(i + 1)
                .is_some_and(|t| is_kw(&t.1, "BTREE") || is_kw(&t.1, "HASH"))
    };
    let open = if using(0) { 2 } else { 0 };
    if rest.get(open)?.1 != Tok::Punct('(') {
        return None;
    }
    let (mut i, mut depth) = (open, 0);
    loop {
        match rest.get(i)?.1 {
            Tok::Punct('(') => depth += 1,
            Tok::Punct(')') => depth -= 1,
            _ => {}
        }
        i += 1;
        if depth == 0 {
            break;
        }
    }
    while i < rest.len() {
        let t = &rest[i].1;
        let next = |k: usize| rest.get(i + k).map(|t| &t.1);
        i += if using(i) || (is_kw(t, "COMMENT") && matches!(next(1), Some(Tok::Str(_)))) {
            2
        } else if is_kw(t, "KEY_BLOCK_SIZE") {
            let eq = usize::from(next(1) == Some(&Tok::Punct('=')));
            if !matches!(next(1 + eq), Some(Tok::Num(_))) {
                return None;
            }
            2 + eq
        } else if ["VISIBLE", "INVISIBLE", "IGNORED"]
            .iter()
            .any(|k| is_kw(t, k))
        {
            1
        } else if is_kw(t, "NOT") && next(1).is_some_and(|t| is_kw(t, "IGNORED")) {
            2
        } else {
            return None;
        };
    }
    Some(open)
}

/// `sql` (one `CREATE TABLE`) without its deferrable indexes, and those indexes; `None`
/// when it has none. Deferred are named, table-level `KEY`/`INDEX` definitions written
/// without comments, except one leading with the AUTO_INCREMENT column (the server wants
/// that column indexed from the start); a table with foreign keys keeps all its indexes
/// (a constraint needs an index on its columns).
pub fn split_secondary_indexes(sql: &str) -> Option<(String, Vec<SecondaryIndex>)> {
    let toks = Lexer {
        s: sql.as_bytes(),
        pos: 0,
    }
    .tokens()
    .ok()?;
    let defs = definitions(&toks)?;
    if toks
        .iter()
        .any(|t| is_kw(&t.1, "REFERENCES") || is_kw(&t.1, "FOREIGN"))
    {
        return None;
    }
    let auto_column = defs.iter().find_map(|d| {
        let first = &d.toks.first()?.1;
        let is_column = !NOT_A_COLUMN.iter().any(|kw| is_kw(first, kw));
        let auto = d.toks.iter().any(|t| is_kw(&t.1, "AUTO_INCREMENT"));
        (is_column && auto).then(|| name_of(first)).flatten()
    });
    let mut cuts = Vec::new();
    let mut taken = Vec::new();
    for d in &defs {
        let [(start, kw), (_, name), rest @ ..] = d.toks else {
            continue;
        };
        if !(is_kw(kw, "KEY") || is_kw(kw, "INDEX")) {
            continue;
        }
        // `KEY USING BTREE (a)` is unnamed (the server names it); `IF NOT EXISTS` is rare.
        if is_kw(name, "USING") || is_kw(name, "IF") {
            continue;
        }
        let Some(name) = name_of(name) else { continue };
        let Some(open) = index_shape(rest) else {
            continue;
        };
        let first_column = rest.get(open + 1).and_then(|t| name_of(&t.1));
        if first_column.is_some_and(|c| auto_column.is_some_and(|a| a.eq_ignore_ascii_case(c))) {
            continue;
        }
        let Some(comma) = d.comma_before else {
            continue;
        };
        let text = sql[*start..d.end].trim_end();
        let gap = &sql[comma + 1..*start];
        if !gap.trim().is_empty() || ["/*", "*/", "--", "#"].iter().any(|m| text.contains(m)) {
            continue;
        }
        cuts.push((comma, start + text.len()));
        taken.push(SecondaryIndex {
            name: name.to_string(),
            definition: text.to_string(),
        });
    }
    if taken.is_empty() {
        return None;
    }
    let mut out = String::with_capacity(sql.len());
    let mut at = 0;
    for (from, to) in cuts {
        out.push_str(&sql[at..from]);
        at = to;
    }
    out.push_str(&sql[at..]);
    Some((out, taken))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(sql: &str) -> Option<(String, Vec<String>)> {
        split_secondary_indexes(sql)
            .map(|(s, ix)| (s, ix.into_iter().map(|i| i.definition).collect()))
    }

    #[test]
    fn sysbench_table_loses_its_secondary_key() {
        let sql = "CREATE TABLE IF NOT EXISTS `db`.`sbtest1` (\n  `id` int(11) NOT NULL AUTO_INCREMENT,\n  `k` int(11) NOT NULL DEFAULT 0,\n  `c` char(120) NOT NULL DEFAULT '',\n  PRIMARY KEY (`id`),\n  KEY `k_1` (`k`) USING BTREE\n) ENGINE=InnoDB";
        let (rest, ix) = split_secondary_indexes(sql).unwrap();
        assert_eq!(
            rest,
            "CREATE TABLE IF NOT EXISTS `db`.`sbtest1` (\n  `id` int(11) NOT NULL AUTO_INCREMENT,\n  `k` int(11) NOT NULL DEFAULT 0,\n  `c` char(120) NOT NULL DEFAULT '',\n  PRIMARY KEY (`id`)\n) ENGINE=InnoDB"
        );
        assert_eq!(
            ix,
            [SecondaryIndex {
                name: "k_1".into(),
                definition: "KEY `k_1` (`k`) USING BTREE".into()
            }]
        );
    }

    #[test]
    fn several_indexes_with_strings_and_nesting() {
        let sql = "CREATE TABLE t (a int, b varchar(10), c int, INDEX ia (a, b(3)) COMMENT 'x, (y', KEY ic USING HASH (c) KEY_BLOCK_SIZE=8 NOT IGNORED, UNIQUE KEY ub (b))";
        let (rest, ix) = names(sql).unwrap();
        assert_eq!(
            rest,
            "CREATE TABLE t (a int, b varchar(10), c int, UNIQUE KEY ub (b))"
        );
        assert_eq!(
            ix,
            [
                "INDEX ia (a, b(3)) COMMENT 'x, (y'",
                "KEY ic USING HASH (c) KEY_BLOCK_SIZE=8 NOT IGNORED"
            ]
        );
    }

    #[test]
    fn what_stays_in_place() {
        // Unique keys, unnamed keys, commented keys, the AUTO_INCREMENT column's key.
        for sql in [
            "CREATE TABLE t (a int, UNIQUE KEY u (a))",
            "CREATE TABLE t (a int, KEY (a))",
            "CREATE TABLE t (a int, KEY USING BTREE (a))",
            "CREATE TABLE t (a int, KEY k (a) /*!80000 INVISIBLE */)",
            "CREATE TABLE t (a int, KEY k (a) -- note\n)",
            "CREATE TABLE t (id int AUTO_INCREMENT, KEY k (`ID`, b))",
            "CREATE TABLE t (KEY k (a), a int)",
            "CREATE TABLE t (a int, /* c */ KEY k (a))",
            "CREATE TABLE t LIKE u",
            // Only index options may follow the columns: this runs as ALTER text later.
            "CREATE TABLE t (a int, KEY k (a) REMOVE PARTITIONING)",
            "CREATE TABLE t (a int, KEY k (a) PARTITION BY HASH (a))",
            "CREATE TABLE t (a int, KEY k a)",
            "CREATE TABLE t (a int, KEY k (a) KEY_BLOCK_SIZE = x)",
        ] {
            assert_eq!(names(sql), None, "{sql}");
        }
        // The AUTO_INCREMENT column's key stays, the others go.
        let (rest, ix) =
            names("CREATE TABLE t (id int AUTO_INCREMENT, b int, KEY ki (id), KEY kb (b))")
                .unwrap();
        assert_eq!(
            rest,
            "CREATE TABLE t (id int AUTO_INCREMENT, b int, KEY ki (id))"
        );
        assert_eq!(ix, ["KEY kb (b)"]);
    }

    #[test]
    fn foreign_keys_keep_every_index() {
        for sql in [
            "CREATE TABLE c (id int, p int, KEY kp (p), FOREIGN KEY (p) REFERENCES par (id))",
            "CREATE TABLE c (id int, p int REFERENCES par (id), KEY kp (p))",
            "CREATE TABLE c (id int, p int, KEY kp (p), CONSTRAINT f FOREIGN KEY (p) REFERENCES par (id))",
        ] {
            assert_eq!(names(sql), None, "{sql}");
        }
    }

    #[test]
    fn leading_statements_and_version_comments_around_the_table() {
        let sql = "/*!40101 SET NAMES binary*/; CREATE TABLE `t` (`a` int, KEY `ka` (`a`)) /*!50100 PARTITION BY HASH (a) PARTITIONS 4 */";
        let (rest, ix) = names(sql).unwrap();
        assert_eq!(
            rest,
            "/*!40101 SET NAMES binary*/; CREATE TABLE `t` (`a` int) /*!50100 PARTITION BY HASH (a) PARTITIONS 4 */"
        );
        assert_eq!(ix, ["KEY `ka` (`a`)"]);
    }
}
