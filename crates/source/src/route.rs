//! File routing: which schema/table a file belongs to and what it holds, from
//! `[[mydumper.files]]` rules (tried first) and the built-in Mydumper/Dumpling name rules.

use lightning_config::FileRule;
use regex::Regex;

use crate::model::{Compression, DataFormat};
use crate::SourceError;

/// What a rule says about a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Routed {
    /// A file of `schema` (and `table`, empty for database schema files).
    File {
        /// Schema name from the rule.
        schema: String,
        /// Table name from the rule (empty for `schema-schema`).
        table: String,
        /// File type.
        format: DataFormat,
        /// Sort key.
        key: String,
        /// Compression.
        compression: Compression,
    },
    /// Matched an `ignore` rule.
    Ignored,
}

/// One compiled rule.
#[derive(Debug)]
struct Rule {
    pattern: Regex,
    schema: String,
    table: String,
    kind: String,
    key: String,
    compression: String,
    /// Percent-decode captured names (built-in rules only).
    unescape: bool,
}

/// Upstream's default rules, in order: (pattern, schema, table, type, key, compression).
const DEFAULT_RULES: &[(&str, &str, &str, &str, &str, &str)] = &[
    (
        r"(?i).*(-schema-trigger|-schema-post)\.sql(?:\.(\w*?))?$",
        "",
        "",
        "ignore",
        "",
        "",
    ),
    (
        r"(?i).*\.(sql|csv|parquet)(\.(\w+))?\.(bak|BAK)$",
        "",
        "",
        "ignore",
        "",
        "",
    ),
    (
        r"(?i)^(?:[^/]*/)*([^/.]+)-schema-create\.sql(?:\.(\w*?))?$",
        "$1",
        "",
        "schema-schema",
        "",
        "$2",
    ),
    (
        r"(?i)^(?:[^/]*/)*([^/.]+)\.(.*?)-schema\.sql(?:\.(\w*?))?$",
        "$1",
        "$2",
        "table-schema",
        "",
        "$3",
    ),
    (
        r"(?i)^(?:[^/]*/)*([^/.]+)\.(.*?)-schema-view\.sql(?:\.(\w*?))?$",
        "$1",
        "$2",
        "view-schema",
        "",
        "$3",
    ),
    (
        r"(?i)^(?:[^/]*/)*([^/.]+)\.(.*)\.([0-9]+)\.(snappy|gzip|gz|zstd|zst)\.parquet$",
        "$1",
        "$2",
        "parquet",
        "$3",
        "",
    ),
    (
        r"(?i)^(?:[^/]*/)*([^/.]+)\.(.*?)(?:\.([0-9]+))?\.(sql|csv|parquet)(?:\.(\w+))?$",
        "$1",
        "$2",
        "$4",
        "$3",
        "$5",
    ),
];

/// An ordered list of rules; the first one whose regex matches decides.
#[derive(Debug)]
pub struct FileRouter {
    rules: Vec<Rule>,
}

fn rule_err(rule: &str, reason: impl Into<String>) -> SourceError {
    SourceError::Rule {
        rule: rule.to_string(),
        reason: reason.into(),
    }
}

fn parse_format(v: &str) -> Result<Option<DataFormat>, String> {
    Ok(Some(match v.trim().to_ascii_lowercase().as_str() {
        "schema-schema" => DataFormat::SchemaSchema,
        "table-schema" => DataFormat::TableSchema,
        "view-schema" => DataFormat::ViewSchema,
        "sql" => DataFormat::Sql,
        "csv" => DataFormat::Csv,
        "parquet" => DataFormat::Parquet,
        "ignore" => return Ok(None),
        _ => return Err(format!("unknown source type '{v}'")),
    }))
}

/// Parses a compression name as upstream does (`lz4`, `xz`, `lzo` are recognised but unsupported).
pub fn parse_compression(v: &str) -> Result<Compression, String> {
    match v.trim().to_ascii_lowercase().as_str() {
        "" => Ok(Compression::None),
        "gz" | "gzip" => Ok(Compression::Gzip),
        "zst" | "zstd" => Ok(Compression::Zstd),
        "snappy" => Ok(Compression::Snappy),
        c @ ("lz4" | "xz" | "lzo") => Err(format!("compression '{c}' is not supported")),
        _ => Err(format!("invalid compression type '{v}'")),
    }
}

/// Minimal RFC 3986 percent-decoding (upstream unescapes names captured by the default rules).
fn unescape(s: &str) -> String {
    if !s.contains('%') {
        return s.to_string();
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        if b[i] == b'%' && i + 2 < b.len() {
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap_or_else(|_| s.to_string())
}

impl Rule {
    fn compile(r: &FileRule, unescape: bool) -> Result<Rule, SourceError> {
        let shown = if r.path.is_empty() {
            &r.pattern
        } else {
            &r.path
        };
        if r.path.is_empty() && r.pattern.is_empty() {
            return Err(rule_err(
                shown,
                "`path` and `pattern` must not be both empty in [[mydumper.files]]",
            ));
        }
        if !r.path.is_empty() && !r.pattern.is_empty() {
            return Err(rule_err(
                shown,
                "can't set both `path` and `pattern` in [[mydumper.files]]",
            ));
        }
        // A `path` rule is a literal: quote the path and make `$` literal in the templates.
        let (pattern, lit) = if r.path.is_empty() {
            (r.pattern.clone(), false)
        } else {
            (regex::escape(&r.path), true)
        };
        let t = |s: &str| {
            if lit {
                s.replace('$', "$$")
            } else {
                s.to_string()
            }
        };
        let regex = Regex::new(&pattern).map_err(|e| rule_err(shown, e.to_string()))?;
        if r.kind.is_empty() {
            return Err(rule_err(shown, "field 'type' match pattern can't be empty"));
        }
        let is_ignore = r.kind.eq_ignore_ascii_case("ignore");
        if !is_ignore {
            if r.schema.is_empty() {
                return Err(rule_err(
                    shown,
                    "field 'schema' match pattern can't be empty",
                ));
            }
            if r.table.is_empty() && !r.kind.eq_ignore_ascii_case("schema-schema") {
                return Err(rule_err(
                    shown,
                    "field 'table' match pattern can't be empty",
                ));
            }
        }
        for tmpl in [&r.schema, &r.table, &r.kind, &r.key, &r.compression] {
            check_captures(&regex, tmpl).map_err(|e| rule_err(shown, e))?;
        }
        Ok(Rule {
            pattern: regex,
            schema: t(&r.schema),
            table: t(&r.table),
            kind: t(&r.kind),
            key: t(&r.key),
            compression: t(&r.compression),
            unescape,
        })
    }

    fn apply(&self, rel: &str) -> Result<Option<Routed>, String> {
        let Some(caps) = self.pattern.captures(rel) else {
            return Ok(None);
        };
        let expand = |tmpl: &str| {
            let mut s = String::new();
            caps.expand(tmpl, &mut s);
            s
        };
        let Some(format) = parse_format(&expand(&self.kind))? else {
            return Ok(Some(Routed::Ignored));
        };
        let name = |tmpl: &str| {
            let v = expand(tmpl);
            if self.unescape {
                unescape(&v)
            } else {
                v
            }
        };
        let table = if format == DataFormat::SchemaSchema {
            String::new()
        } else {
            name(&self.table)
        };
        let compression = parse_compression(&expand(&self.compression))?;
        if format == DataFormat::Parquet && compression != Compression::None {
            return Err("can't support whole compressed parquet file".into());
        }
        Ok(Some(Routed::File {
            schema: name(&self.schema),
            table,
            format,
            key: expand(&self.key),
            compression,
        }))
    }
}

/// Rejects `$n` references beyond the regex's groups and unknown `$name`s, as upstream does.
fn check_captures(re: &Regex, tmpl: &str) -> Result<(), String> {
    let var = Regex::new(r"\$(?:\$|[\pL\p{Nd}_]+|\{[\pL\p{Nd}_]+\})").map_err(|e| e.to_string())?;
    for m in var.find_iter(tmpl) {
        let v = m.as_str();
        if v == "$$" {
            continue;
        }
        let name = v
            .trim_start_matches('$')
            .trim_start_matches('{')
            .trim_end_matches('}');
        match name.parse::<usize>() {
            Ok(n) if n >= re.captures_len() => {
                return Err(format!("sub pattern capture '{v}' out of range"))
            }
            Ok(_) => {}
            Err(_) if re.capture_names().flatten().any(|c| c == name) => {}
            Err(_) => return Err(format!("invalid named capture '{v}'")),
        }
    }
    Ok(())
}

impl FileRouter {
    /// The custom rules, followed by the built-in ones when `with_defaults`.
    pub fn new(custom: &[FileRule], with_defaults: bool) -> Result<Self, SourceError> {
        let mut rules = custom
            .iter()
            .map(|r| Rule::compile(r, false))
            .collect::<Result<Vec<_>, _>>()?;
        if with_defaults {
            for (pattern, schema, table, kind, key, compression) in DEFAULT_RULES {
                let r = FileRule {
                    pattern: pattern.to_string(),
                    schema: schema.to_string(),
                    table: table.to_string(),
                    kind: kind.to_string(),
                    key: key.to_string(),
                    compression: compression.to_string(),
                    ..FileRule::default()
                };
                rules.push(Rule::compile(&r, true)?);
            }
        }
        Ok(FileRouter { rules })
    }

    /// Routes a `/`-separated path relative to the data source; `None` when no rule matches.
    pub fn route(&self, rel: &str) -> Result<Option<Routed>, SourceError> {
        for rule in &self.rules {
            match rule.apply(rel) {
                Ok(Some(r)) => return Ok(Some(r)),
                Ok(None) => {}
                Err(reason) => {
                    return Err(SourceError::Route {
                        path: rel.to_string(),
                        reason,
                    })
                }
            }
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(rel: &str) -> Option<Routed> {
        FileRouter::new(&[], true).unwrap().route(rel).unwrap()
    }

    fn file(
        schema: &str,
        table: &str,
        format: DataFormat,
        key: &str,
        c: Compression,
    ) -> Option<Routed> {
        Some(Routed::File {
            schema: schema.into(),
            table: table.into(),
            format,
            key: key.into(),
            compression: c,
        })
    }

    #[test]
    fn default_rules_follow_dumpling_names() {
        use Compression as C;
        use DataFormat as F;
        assert_eq!(
            route("db-schema-create.sql"),
            file("db", "", F::SchemaSchema, "", C::None)
        );
        assert_eq!(
            route("a/b/db.t-schema.sql.gz"),
            file("db", "t", F::TableSchema, "", C::Gzip)
        );
        assert_eq!(
            route("db.v-schema-view.sql"),
            file("db", "v", F::ViewSchema, "", C::None)
        );
        assert_eq!(
            route("db.t.000000001.sql.zst"),
            file("db", "t", F::Sql, "000000001", C::Zstd)
        );
        assert_eq!(route("db.t.CSV"), file("db", "t", F::Csv, "", C::None));
        assert_eq!(
            route("db.t.0.csv.snappy"),
            file("db", "t", F::Csv, "0", C::Snappy)
        );
        assert_eq!(
            route("db.t.1.snappy.parquet"),
            file("db", "t", F::Parquet, "1", C::None)
        );
        assert_eq!(
            route("db.my%2Etbl.sql"),
            file("db", "my.tbl", F::Sql, "", C::None)
        );
        assert_eq!(route("db.t-schema-trigger.sql"), Some(Routed::Ignored));
        assert_eq!(route("db.t-schema-post.sql"), Some(Routed::Ignored));
        assert_eq!(route("db.t.sql.bak"), Some(Routed::Ignored));
        assert_eq!(route("metadata"), None);
        assert!(FileRouter::new(&[], true)
            .unwrap()
            .route("db.t.sql.lz4")
            .is_err());
    }
}
