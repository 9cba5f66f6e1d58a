//! Parquet files from the same [`Table`]s the CSV files come from, so the two
//! formats cannot drift apart. Uses the `parquet` crate's column writers
//! directly (no Arrow: far fewer dependencies to compile). Every column is
//! `OPTIONAL` (nullable) with a declared type, snappy-compressed, one row group.
#![expect(
    clippy::wildcard_enum_match_arm,
    reason = "a column reads only the cell type it was declared with (Parquet's fields likewise): every other variant is a type error"
)]

use crate::output::{Cell, Table};
use anyhow::{Context as _, bail};
use parquet::basic::Compression;
use parquet::data_type::{BoolType, ByteArray, ByteArrayType, DoubleType, Int64Type};
use parquet::file::properties::WriterProperties;
use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::file::writer::SerializedFileWriter;
use parquet::record::Field;
use parquet::schema::parser::parse_message_type;
use std::path::Path;
use std::sync::Arc;

/// The type of a column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// UTF-8 text.
    Text,
    /// 64-bit float.
    Float,
    /// 64-bit integer.
    Int,
    /// Boolean.
    Bool,
    /// Milliseconds since the Unix epoch, UTC (a timestamp in pandas/polars).
    TimestampMs,
}

impl Kind {
    fn schema(self, name: &str) -> String {
        match self {
            Kind::Text => format!("OPTIONAL BYTE_ARRAY {name} (UTF8);"),
            Kind::Float => format!("OPTIONAL DOUBLE {name};"),
            Kind::Int => format!("OPTIONAL INT64 {name};"),
            Kind::Bool => format!("OPTIONAL BOOLEAN {name};"),
            Kind::TimestampMs => format!("OPTIONAL INT64 {name} (TIMESTAMP(MILLIS,true));"),
        }
    }
}

/// Writes `table` to `path` as Parquet; `kinds` gives each column's type.
pub fn write_parquet(table: &Table, kinds: &[Kind], path: &Path) -> anyhow::Result<()> {
    if kinds.len() != table.header.len() {
        bail!(
            "{} column types for {} columns",
            kinds.len(),
            table.header.len()
        );
    }
    for name in &table.header {
        if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            bail!("column name `{name}` is not a plain identifier");
        }
    }
    let fields: String = table
        .header
        .iter()
        .zip(kinds)
        .map(|(n, k)| k.schema(n))
        .collect::<Vec<_>>()
        .join(" ");
    let schema = Arc::new(parse_message_type(&format!("message row {{ {fields} }}"))?);
    let props = Arc::new(
        WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .build(),
    );
    let file =
        std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
    let mut writer = SerializedFileWriter::new(file, schema, props)?;
    let mut group = writer.next_row_group()?;
    let mut index = 0;
    while let Some(mut column) = group.next_column()? {
        let kind = kinds[index];
        let cells = table.rows.iter().map(|r| &r[index]);
        let defs: Vec<i16> = cells.clone().map(|c| i16::from(present(c, kind))).collect();
        let bad =
            |c: &Cell| anyhow::anyhow!("column `{}`: {c:?} is not a {kind:?}", table.header[index]);
        match kind {
            Kind::Text => {
                let values = cells
                    .filter(|c| present(c, kind))
                    .map(|c| match c {
                        Cell::Text(s) => Ok(ByteArray::from(s.as_str())),
                        other => Err(bad(other)),
                    })
                    .collect::<anyhow::Result<Vec<_>>>()?;
                column
                    .typed::<ByteArrayType>()
                    .write_batch(&values, Some(&defs), None)?;
            }
            Kind::Float => {
                let values = cells
                    .filter(|c| present(c, kind))
                    .map(|c| match c {
                        Cell::Float(v) => Ok(*v),
                        Cell::Int(v) => Ok(*v as f64),
                        other => Err(bad(other)),
                    })
                    .collect::<anyhow::Result<Vec<_>>>()?;
                column
                    .typed::<DoubleType>()
                    .write_batch(&values, Some(&defs), None)?;
            }
            Kind::Int | Kind::TimestampMs => {
                let values = cells
                    .filter(|c| present(c, kind))
                    .map(|c| match c {
                        Cell::Int(v) => Ok(*v),
                        other => Err(bad(other)),
                    })
                    .collect::<anyhow::Result<Vec<_>>>()?;
                column
                    .typed::<Int64Type>()
                    .write_batch(&values, Some(&defs), None)?;
            }
            Kind::Bool => {
                let values = cells
                    .filter(|c| present(c, kind))
                    .map(|c| match c {
                        Cell::Bool(v) => Ok(*v),
                        other => Err(bad(other)),
                    })
                    .collect::<anyhow::Result<Vec<_>>>()?;
                column
                    .typed::<BoolType>()
                    .write_batch(&values, Some(&defs), None)?;
            }
        }
        column.close()?;
        index += 1;
    }
    group.close()?;
    writer.close()?;
    Ok(())
}

/// Whether a cell has a value (non-finite floats are written as null, as in CSV).
fn present(c: &Cell, kind: Kind) -> bool {
    match c {
        Cell::Null => false,
        Cell::Float(v) => v.is_finite() || kind != Kind::Float,
        _ => true,
    }
}

/// Reads a Parquet file written by [`write_parquet`] back into a table
/// (column names from the schema; timestamps as [`Cell::Int`] milliseconds).
/// For tests and for checking an export.
pub fn read_parquet(path: &Path) -> anyhow::Result<Table> {
    let file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let reader = SerializedFileReader::new(file)?;
    let header: Vec<String> = reader
        .metadata()
        .file_metadata()
        .schema_descr()
        .columns()
        .iter()
        .map(|c| c.name().to_owned())
        .collect();
    let mut table = Table::new(header);
    for row in reader.into_iter() {
        let row = row?;
        let cells = row
            .get_column_iter()
            .map(|(name, field)| match field {
                Field::Null => Ok(Cell::Null),
                Field::Bool(b) => Ok(Cell::Bool(*b)),
                Field::Long(v) | Field::TimestampMillis(v) => Ok(Cell::Int(*v)),
                Field::Double(v) => Ok(Cell::Float(*v)),
                Field::Str(s) => Ok(Cell::Text(s.clone())),
                other => bail!("column `{name}`: unexpected value {other:?}"),
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        table.push(cells);
    }
    Ok(table)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_table_round_trips_through_parquet_with_nulls_and_every_type() {
        let mut t = Table::new(["name", "x", "n", "flag", "at"]);
        t.push(vec![
            Cell::text("a,\"b\""),
            Cell::Float(1.25),
            Cell::Int(-3),
            Cell::Bool(true),
            Cell::Int(1_700_000_000_000),
        ]);
        t.push(vec![
            Cell::Null,
            Cell::Null,
            Cell::Null,
            Cell::Null,
            Cell::Null,
        ]);
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("t.parquet");
        let kinds = [
            Kind::Text,
            Kind::Float,
            Kind::Int,
            Kind::Bool,
            Kind::TimestampMs,
        ];
        write_parquet(&t, &kinds, &path).expect("writes");
        let back = read_parquet(&path).expect("reads");
        assert_eq!(back.header, t.header);
        assert_eq!(back.rows, t.rows);
    }
}
