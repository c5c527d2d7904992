//! `[[routes]]`: rename (and merge) source schemas/tables into target ones.
//! Table rules (schema + table pattern) win over schema-only rules; `*` and `?` are wildcards.

use lightning_config::Route;
use regex::Regex;

use crate::SourceError;

#[derive(Debug)]
struct Compiled {
    schema: Regex,
    table: Option<Regex>,
    target_schema: String,
    target_table: String,
}

/// Compiled `[[routes]]`.
#[derive(Debug, Default)]
pub struct TableRouter {
    rules: Vec<Compiled>,
}

fn wildcard(p: &str, case_sensitive: bool) -> Result<Regex, SourceError> {
    let mut src = String::from(if case_sensitive { "^" } else { "(?i)^" });
    for c in p.chars() {
        match c {
            '*' => src.push_str(".*"),
            '?' => src.push('.'),
            c => src.push_str(&regex::escape(&c.to_string())),
        }
    }
    src.push('$');
    Regex::new(&src).map_err(|e| SourceError::Rule {
        rule: p.to_string(),
        reason: e.to_string(),
    })
}

impl TableRouter {
    /// Compiles the routes.
    pub fn new(routes: &[Route], case_sensitive: bool) -> Result<Self, SourceError> {
        let rules = routes
            .iter()
            .map(|r| {
                Ok(Compiled {
                    schema: wildcard(&r.schema_pattern, case_sensitive)?,
                    table: if r.table_pattern.is_empty() {
                        None
                    } else {
                        Some(wildcard(&r.table_pattern, case_sensitive)?)
                    },
                    target_schema: r.target_schema.clone(),
                    target_table: r.target_table.clone(),
                })
            })
            .collect::<Result<Vec<_>, SourceError>>()?;
        Ok(TableRouter { rules })
    }

    /// True when no routes are configured.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Target (schema, table) for a source (schema, table); `table` is empty for schema files.
    pub fn route(&self, schema: &str, table: &str) -> (String, String) {
        let table_rule = (!table.is_empty())
            .then(|| {
                self.rules.iter().find(|r| {
                    r.schema.is_match(schema) && r.table.as_ref().is_some_and(|t| t.is_match(table))
                })
            })
            .flatten();
        let rule = table_rule.or_else(|| {
            self.rules
                .iter()
                .find(|r| r.table.is_none() && r.schema.is_match(schema))
        });
        match rule {
            None => (schema.to_string(), table.to_string()),
            Some(r) => {
                let s = if r.target_schema.is_empty() {
                    schema
                } else {
                    &r.target_schema
                };
                let t = if r.target_table.is_empty() || table.is_empty() {
                    table
                } else {
                    &r.target_table
                };
                (s.to_string(), t.to_string())
            }
        }
    }
}
