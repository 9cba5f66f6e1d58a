//! Files the data-science subcommands write: CSV tables (RFC 4180 quoting,
//! empty cell for a missing or non-finite value), pretty JSON, and plain-text
//! tables for the terminal. No CSV crate: the tables are small and flat, and
//! writing them by hand keeps every column's format explicit.

use anyhow::Context as _;
use serde::Serialize;
use std::fmt::Write as _;
use std::fs;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// One CSV cell.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// Text (quoted when it contains a comma, quote or line break).
    Text(String),
    /// A number, written with Rust's shortest round-trip format.
    Float(f64),
    /// An integer.
    Int(i64),
    /// A boolean, written `true` / `false`.
    Bool(bool),
    /// Missing: an empty cell (pandas and polars read it as null).
    Null,
}

impl Cell {
    /// A text cell.
    pub fn text(s: impl Into<String>) -> Self {
        Self::Text(s.into())
    }

    /// An optional number.
    pub fn opt_float(v: Option<f64>) -> Self {
        v.map_or(Self::Null, Self::Float)
    }

    /// An optional integer.
    pub fn opt_int(v: Option<i64>) -> Self {
        v.map_or(Self::Null, Self::Int)
    }

    /// An optional text.
    pub fn opt_text(v: Option<String>) -> Self {
        v.map_or(Self::Null, Self::Text)
    }

    /// The cell as written in a CSV file.
    pub fn render(&self) -> String {
        match self {
            Cell::Text(s) => quote(s),
            Cell::Float(v) if v.is_finite() => format!("{v}"),
            Cell::Float(_) | Cell::Null => String::new(),
            Cell::Int(v) => v.to_string(),
            Cell::Bool(b) => b.to_string(),
        }
    }
}

/// Quotes a field when CSV requires it.
pub fn quote(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

/// A CSV table in memory.
#[derive(Debug, Clone, Default)]
pub struct Table {
    /// Column names.
    pub header: Vec<String>,
    /// Rows, each as long as the header.
    pub rows: Vec<Vec<Cell>>,
}

impl Table {
    /// An empty table with these columns.
    pub fn new<S: Into<String>>(header: impl IntoIterator<Item = S>) -> Self {
        Self {
            header: header.into_iter().map(Into::into).collect(),
            rows: Vec::new(),
        }
    }

    /// Appends a row; its length must match the header (a bug otherwise).
    pub fn push(&mut self, row: Vec<Cell>) {
        debug_assert_eq!(row.len(), self.header.len(), "row length != header length");
        self.rows.push(row);
    }

    /// The whole table as CSV text (`\n` line ends).
    pub fn to_csv(&self) -> String {
        let mut out = String::new();
        let header: Vec<String> = self.header.iter().map(|h| quote(h)).collect();
        out.push_str(&header.join(","));
        out.push('\n');
        for row in &self.rows {
            let cells: Vec<String> = row.iter().map(Cell::render).collect();
            out.push_str(&cells.join(","));
            out.push('\n');
        }
        out
    }

    /// Writes the table to `path`.
    pub fn write_csv(&self, path: &Path) -> anyhow::Result<()> {
        write_file(path, self.to_csv().as_bytes())
    }
}

/// Writes bytes to a file, naming it in the error.
pub fn write_file(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let file = fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
    let mut w = BufWriter::new(file);
    w.write_all(bytes)
        .and_then(|()| w.flush())
        .with_context(|| format!("writing {}", path.display()))
}

/// Writes `value` as pretty JSON (with a final newline).
pub fn write_json<T: Serialize>(path: &Path, value: &T) -> anyhow::Result<()> {
    let mut text = serde_json::to_string_pretty(value).context("encoding JSON")?;
    text.push('\n');
    write_file(path, text.as_bytes())
}

/// Creates the output directory (and parents) and returns it.
pub fn out_dir(dir: &Path) -> anyhow::Result<PathBuf> {
    fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(dir.to_path_buf())
}

/// A plain-text table with right-aligned columns after the first, for the terminal.
pub fn text_table(header: &[&str], rows: &[Vec<String>]) -> String {
    let n = header.len();
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let line = |out: &mut String, cells: &[String]| {
        for (i, cell) in cells.iter().enumerate().take(n) {
            let pad = widths[i].saturating_sub(cell.chars().count());
            if i == 0 {
                let _ = write!(out, "{cell}{}", " ".repeat(pad));
            } else {
                let _ = write!(out, "  {}{cell}", " ".repeat(pad));
            }
        }
        out.push('\n');
    };
    let head: Vec<String> = header.iter().map(|s| (*s).to_owned()).collect();
    line(&mut out, &head);
    let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
    line(&mut out, &rule);
    for row in rows {
        line(&mut out, row);
    }
    out
}

/// `mean [lower, upper]` with `digits` decimals; `-` for a missing value and
/// no interval when it is unbounded (a single seed).
pub fn with_interval(mean: f64, lower: f64, upper: f64, digits: usize) -> String {
    if !mean.is_finite() {
        return "-".into();
    }
    if lower.is_finite() && upper.is_finite() {
        format!("{mean:.digits$} [{lower:.digits$}, {upper:.digits$}]")
    } else {
        format!("{mean:.digits$}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_only_what_needs_quoting_and_leaves_missing_values_empty() {
        let mut t = Table::new(["name", "value", "note"]);
        t.push(vec![
            Cell::text("a,b"),
            Cell::Float(1.5),
            Cell::text("say \"hi\""),
        ]);
        t.push(vec![Cell::text("plain"), Cell::Float(f64::NAN), Cell::Null]);
        assert_eq!(
            t.to_csv(),
            "name,value,note\n\"a,b\",1.5,\"say \"\"hi\"\"\"\nplain,,\n"
        );
    }

    #[test]
    fn text_tables_align_columns() {
        let s = text_table(&["policy", "x"], &[vec!["engine".into(), "1.0".into()]]);
        assert_eq!(s, "policy    x\n------  ---\nengine  1.0\n");
    }
}
