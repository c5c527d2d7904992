//! Table filters: upstream's table-filter rule syntax (`mydumper.filter`, `-f`) and the
//! deprecated MySQL-replication-style `[black-white-list]`.
//!
//! Rule syntax: `[!]schema.table`; each side is `*`, `?`, `[a-z]` / `[!a-z]` wildcards, literal
//! identifier characters, `\x` escapes, `"quoted"` or `` `quoted` `` literals, or a `/regex/`.
//! Later rules win; a table matching no rule is skipped. `#` lines are comments and
//! `@path` includes rules from a file.

use lightning_config::{BlackWhiteList, TableRef};
use regex::Regex;

use crate::SourceError;

/// Schemas the legacy black-white-list never imports.
const SYSTEM_SCHEMAS: &[&str] = &[
    "mysql",
    "sys",
    "information_schema",
    "performance_schema",
    "metrics_schema",
    "inspection_schema",
];

#[derive(Debug)]
struct Rule {
    positive: bool,
    schema: Regex,
    table: Regex,
    /// The table side is `*` (matches every table), so a negative rule excludes the schema.
    table_all: bool,
}

/// A compiled table filter.
#[derive(Debug)]
pub enum TableFilter {
    /// Table-filter rules, in configuration order.
    Rules(Vec<RuleFilterEntry>),
    /// `[black-white-list]`.
    Legacy(Legacy),
}

/// One compiled table-filter rule (opaque).
#[derive(Debug)]
pub struct RuleFilterEntry(Rule);

/// A compiled `[black-white-list]` (opaque).
#[derive(Debug)]
pub struct Legacy {
    do_dbs: Vec<NameMatcher>,
    ignore_dbs: Vec<NameMatcher>,
    do_tables: Vec<(NameMatcher, NameMatcher)>,
    ignore_tables: Vec<(NameMatcher, NameMatcher)>,
}

#[derive(Debug)]
enum NameMatcher {
    Exact(String, bool),
    Regex(Regex),
}

impl NameMatcher {
    fn new(s: &str, case_sensitive: bool) -> Result<Self, SourceError> {
        match s.strip_prefix('~') {
            Some(re) => {
                let re = if case_sensitive {
                    re.to_string()
                } else {
                    format!("(?i){re}")
                };
                Regex::new(&re)
                    .map(NameMatcher::Regex)
                    .map_err(|e| rule_err(s, e.to_string()))
            }
            None => Ok(NameMatcher::Exact(s.to_string(), case_sensitive)),
        }
    }

    fn is_match(&self, name: &str) -> bool {
        match self {
            NameMatcher::Exact(s, true) => s == name,
            NameMatcher::Exact(s, false) => {
                s.eq_ignore_ascii_case(name) || s.to_lowercase() == name.to_lowercase()
            }
            NameMatcher::Regex(r) => r.is_match(name),
        }
    }
}

fn rule_err(rule: &str, reason: impl Into<String>) -> SourceError {
    SourceError::Rule {
        rule: rule.to_string(),
        reason: reason.into(),
    }
}

/// Parses one side of a rule starting at `chars[*i]`; stops at an unescaped `.` when
/// `schema_side`, else at the end. Returns a regex source (unanchored).
fn parse_side(
    rule: &str,
    chars: &[char],
    i: &mut usize,
    schema_side: bool,
) -> Result<String, SourceError> {
    let mut out = String::new();
    if chars.get(*i) == Some(&'/') {
        *i += 1;
        loop {
            match chars.get(*i) {
                None => return Err(rule_err(rule, "unterminated regular expression")),
                Some('/') => {
                    *i += 1;
                    break;
                }
                Some('\\') if chars.get(*i + 1) == Some(&'/') => {
                    out.push('/');
                    *i += 2;
                }
                Some(&c) => {
                    out.push(c);
                    *i += 1;
                }
            }
        }
        return Ok(out);
    }
    let start = out.len();
    while let Some(&c) = chars.get(*i) {
        match c {
            '.' if schema_side => break,
            '*' => out.push_str(".*"),
            '?' => out.push('.'),
            '[' => {
                let mut j = *i + 1;
                let mut class = String::from("[");
                if chars.get(j) == Some(&'!') {
                    class.push('^');
                    j += 1;
                }
                loop {
                    match chars.get(j) {
                        None => return Err(rule_err(rule, "unterminated character class")),
                        Some(']') => break,
                        Some('\\') | Some('[') => {
                            class.push('\\');
                            class.push(chars[j]);
                        }
                        Some(&ch) => class.push(ch),
                    }
                    j += 1;
                }
                class.push(']');
                out.push_str(&class);
                *i = j;
            }
            '"' | '`' => {
                let q = c;
                let mut lit = String::new();
                loop {
                    *i += 1;
                    match chars.get(*i) {
                        None => return Err(rule_err(rule, "unterminated quoted name")),
                        Some(&ch) if ch == q => {
                            if chars.get(*i + 1) == Some(&q) {
                                lit.push(q);
                                *i += 1;
                            } else {
                                break;
                            }
                        }
                        Some(&ch) => lit.push(ch),
                    }
                }
                out.push_str(&regex::escape(&lit));
            }
            '\\' => {
                *i += 1;
                let Some(&ch) = chars.get(*i) else {
                    return Err(rule_err(rule, "dangling escape"));
                };
                out.push_str(&regex::escape(&ch.to_string()));
            }
            c if c.is_ascii_alphanumeric() || c == '$' || c == '_' || !c.is_ascii() => {
                out.push_str(&regex::escape(&c.to_string()))
            }
            _ => {
                return Err(rule_err(
                    rule,
                    format!("unexpected special character '{c}'"),
                ))
            }
        }
        *i += 1;
    }
    if out.len() == start {
        return Err(rule_err(rule, "empty pattern"));
    }
    Ok(out)
}

fn compile_rule(text: &str, case_sensitive: bool) -> Result<Rule, SourceError> {
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    let positive = if chars.first() == Some(&'!') {
        i = 1;
        false
    } else {
        true
    };
    let schema = parse_side(text, &chars, &mut i, true)?;
    if chars.get(i) != Some(&'.') {
        return Err(rule_err(
            text,
            "wrong table pattern: missing '.' between schema and table",
        ));
    }
    i += 1;
    let table_src: String = chars[i..].iter().collect();
    let table = parse_side(text, &chars, &mut i, false)?;
    if i < chars.len() {
        return Err(rule_err(text, "unexpected trailing characters"));
    }
    let flags = if case_sensitive { "" } else { "(?i)" };
    let anchored = |src: &str| {
        Regex::new(&format!("{flags}^(?:{src})$")).map_err(|e| rule_err(text, e.to_string()))
    };
    Ok(Rule {
        positive,
        schema: anchored(&schema)?,
        table: anchored(&table)?,
        table_all: table_src == "*",
    })
}

impl TableFilter {
    /// Compiles table-filter rules (`mydumper.filter` or the `-f` flags).
    pub fn parse(rules: &[String], case_sensitive: bool) -> Result<Self, SourceError> {
        let mut out = Vec::new();
        Self::collect(rules, case_sensitive, &mut out, 0)?;
        Ok(TableFilter::Rules(out))
    }

    fn collect(
        rules: &[String],
        cs: bool,
        out: &mut Vec<RuleFilterEntry>,
        depth: usize,
    ) -> Result<(), SourceError> {
        for raw in rules {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if let Some(path) = line.strip_prefix('@') {
                if depth > 8 {
                    return Err(rule_err(line, "too deeply nested @file imports"));
                }
                let text =
                    std::fs::read_to_string(path).map_err(|e| crate::SourceError::io(path, e))?;
                let lines: Vec<String> = text.lines().map(str::to_string).collect();
                Self::collect(&lines, cs, out, depth + 1)?;
                continue;
            }
            out.push(RuleFilterEntry(compile_rule(line, cs)?));
        }
        Ok(())
    }

    /// Compiles a `[black-white-list]`.
    pub fn legacy(bw: &BlackWhiteList, case_sensitive: bool) -> Result<Self, SourceError> {
        let names = |v: &[String]| {
            v.iter()
                .map(|s| NameMatcher::new(s, case_sensitive))
                .collect::<Result<Vec<_>, _>>()
        };
        let tables = |v: &[TableRef]| {
            v.iter()
                .map(|t| {
                    Ok((
                        NameMatcher::new(&t.db_name, case_sensitive)?,
                        NameMatcher::new(&t.tbl_name, case_sensitive)?,
                    ))
                })
                .collect::<Result<Vec<_>, SourceError>>()
        };
        Ok(TableFilter::Legacy(Legacy {
            do_dbs: names(&bw.do_dbs)?,
            ignore_dbs: names(&bw.ignore_dbs)?,
            do_tables: tables(&bw.do_tables)?,
            ignore_tables: tables(&bw.ignore_tables)?,
        }))
    }

    /// The filter a configuration asks for: `[black-white-list]` when set, else `mydumper.filter`.
    pub fn from_config(cfg: &lightning_config::Config) -> Result<Self, SourceError> {
        let cs = cfg.mydumper.case_sensitive;
        if cfg.black_white_list.is_set() {
            Self::legacy(&cfg.black_white_list, cs)
        } else {
            Self::parse(&cfg.mydumper.filter, cs)
        }
    }

    /// Whether the table is imported.
    pub fn match_table(&self, schema: &str, table: &str) -> bool {
        match self {
            TableFilter::Rules(rules) => rules
                .iter()
                .rev()
                .find(|r| r.0.schema.is_match(schema) && r.0.table.is_match(table))
                .is_some_and(|r| r.0.positive),
            TableFilter::Legacy(l) => l.match_schema(schema) && l.match_table(schema, table),
        }
    }

    /// Whether the schema may hold imported tables (decides database schema files).
    pub fn match_schema(&self, schema: &str) -> bool {
        match self {
            TableFilter::Rules(rules) => rules
                .iter()
                .rev()
                .find(|r| r.0.schema.is_match(schema) && (r.0.positive || r.0.table_all))
                .is_some_and(|r| r.0.positive),
            TableFilter::Legacy(l) => l.match_schema(schema),
        }
    }
}

impl Legacy {
    fn match_schema(&self, schema: &str) -> bool {
        if SYSTEM_SCHEMAS
            .iter()
            .any(|s| s.eq_ignore_ascii_case(schema))
        {
            return false;
        }
        if !self.do_dbs.is_empty() {
            return self.do_dbs.iter().any(|m| m.is_match(schema));
        }
        !self.ignore_dbs.iter().any(|m| m.is_match(schema))
    }

    fn match_table(&self, schema: &str, table: &str) -> bool {
        let hit = |list: &[(NameMatcher, NameMatcher)]| {
            list.iter()
                .any(|(d, t)| d.is_match(schema) && t.is_match(table))
        };
        if hit(&self.do_tables) {
            return true;
        }
        if hit(&self.ignore_tables) {
            return false;
        }
        self.do_tables.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(rules: &[&str]) -> TableFilter {
        TableFilter::parse(
            &rules.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
            false,
        )
        .unwrap()
    }

    #[test]
    fn wildcards_negation_and_precedence() {
        let d = f(lightning_config::DEFAULT_FILTER);
        assert!(d.match_table("db", "t"));
        assert!(!d.match_table("mysql", "user"));
        assert!(!d.match_table("information_schema", "tables"));
        assert!(!d.match_schema("mysql"));
        let x = f(&["!firstdb.*", "*.second", "seconddb.fourth"]);
        assert!(x.match_table("firstdb", "second"));
        assert!(!x.match_table("firstdb", "first"));
        assert!(!x.match_table("seconddb", "third"));
        assert!(x.match_table("SecondDB", "Fourth"));
        let c = f(&["db[0-9].t?", "/^re_.*$/.`a.b`", "\"q\"\"x\".\\*"]);
        assert!(
            c.match_table("db1", "t2")
                && !c.match_table("dbx", "t2")
                && !c.match_table("db1", "t22")
        );
        assert!(c.match_table("re_x", "a.b"));
        assert!(c.match_table("q\"x", "*") && !c.match_table("q\"x", "y"));
        assert!(TableFilter::parse(&["db".into()], false).is_err());
        assert!(TableFilter::parse(&["db.t-1".into()], false).is_err());
        assert!(f(&["db[!a-c].*"]).match_table("dbd", "t"));
    }
}
