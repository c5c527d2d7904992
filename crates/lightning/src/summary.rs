//! What an import did, per table and in all: the binary prints it at the end.

use std::fmt;

/// What one table's import did.
#[derive(Clone, Debug, PartialEq)]
pub struct TableSummary {
    /// `` `db`.`table` ``.
    pub name: String,
    /// Rows written.
    pub rows: u64,
    /// Source bytes read.
    pub bytes: u64,
    /// Wall seconds.
    pub seconds: f64,
}

/// What the whole import did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ImportSummary {
    /// Per table, in completion order.
    pub tables: Vec<TableSummary>,
    /// Rows the target refused (each logged with file and offset), within `max-error`.
    pub refused_rows: u64,
    /// Wall seconds of the whole task.
    pub seconds: f64,
}

impl ImportSummary {
    /// Rows written in all tables.
    pub fn rows(&self) -> u64 {
        self.tables.iter().map(|t| t.rows).sum()
    }

    /// Source bytes read in all tables.
    pub fn bytes(&self) -> u64 {
        self.tables.iter().map(|t| t.bytes).sum()
    }
}

impl fmt::Display for ImportSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mb_s = |b: u64, s: f64| b as f64 / 1e6 / s.max(1e-3);
        writeln!(
            f,
            "{:<40} {:>12} {:>14} {:>9} {:>9}",
            "table", "rows", "bytes", "seconds", "MB/s"
        )?;
        for t in &self.tables {
            writeln!(
                f,
                "{:<40} {:>12} {:>14} {:>9.2} {:>9.2}",
                t.name,
                t.rows,
                t.bytes,
                t.seconds,
                mb_s(t.bytes, t.seconds)
            )?;
        }
        writeln!(
            f,
            "{:<40} {:>12} {:>14} {:>9.2} {:>9.2}",
            format!("total ({} tables)", self.tables.len()),
            self.rows(),
            self.bytes(),
            self.seconds,
            mb_s(self.bytes(), self.seconds)
        )?;
        if self.refused_rows > 0 {
            writeln!(
                f,
                "{} rows were refused by the target (see the log for each file and offset)",
                self.refused_rows
            )?;
        }
        Ok(())
    }
}
