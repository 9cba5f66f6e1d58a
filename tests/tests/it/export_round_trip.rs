//! Behaviour: `tutti export` reads a live server's SQLite file read-only and
//! writes the decision log and assessments as CSV and Parquet that agree with
//! each other (the Parquet read back with the parquet crate's own reader) and
//! with what the client sent and received.

use clap::Parser as _;
use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::record::Field;
use std::collections::HashMap;
use std::path::Path;
use tutti_tests::TestServer;
use tutti_tests::decision_log::populate;
use tutti_workbench::Cli;

/// A Parquet file as text cells, rendered as the CSV writer renders them.
#[expect(
    clippy::wildcard_enum_match_arm,
    reason = "Parquet's Field: the export writes only the types named"
)]
fn parquet_rows(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let reader =
        SerializedFileReader::new(std::fs::File::open(path).expect("parquet file")).expect("reads");
    let header = reader
        .metadata()
        .file_metadata()
        .schema_descr()
        .columns()
        .iter()
        .map(|c| c.name().to_owned())
        .collect();
    let rows = reader
        .into_iter()
        .map(|row| {
            row.expect("row decodes")
                .get_column_iter()
                .map(|(_, f)| match f {
                    Field::Null => String::new(),
                    Field::Bool(b) => b.to_string(),
                    Field::Long(v) | Field::TimestampMillis(v) => v.to_string(),
                    Field::Double(v) => format!("{v}"),
                    Field::Str(s) => s.clone(),
                    other => panic!("unexpected Parquet value {other:?}"),
                })
                .collect()
        })
        .collect();
    (header, rows)
}

/// RFC 4180 CSV (quoted fields with doubled quotes; no line breaks in fields here).
fn csv_rows(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let text = std::fs::read_to_string(path).expect("csv file");
    let mut lines = text.lines().map(|line| {
        let mut cells = Vec::new();
        let mut cell = String::new();
        let mut quoted = false;
        let mut chars = line.chars().peekable();
        while let Some(c) = chars.next() {
            match (c, quoted) {
                ('"', true) if chars.peek() == Some(&'"') => {
                    cell.push('"');
                    chars.next();
                }
                ('"', _) => quoted = !quoted,
                (',', false) => cells.push(std::mem::take(&mut cell)),
                (c, _) => cell.push(c),
            }
        }
        cells.push(cell);
        cells
    });
    let header = lines.next().expect("header");
    (header, lines.collect())
}

fn column(header: &[String], name: &str) -> usize {
    header
        .iter()
        .position(|h| h == name)
        .unwrap_or_else(|| panic!("no column {name}"))
}

#[tokio::test]
async fn an_export_round_trips_through_parquet_and_matches_the_csv_and_the_log() {
    let server = TestServer::start().await.expect("server starts");
    let logged = populate(&server, 2, 4).await;
    let out = tempfile::tempdir().expect("temp dir");
    // The server is still running: the export reads beside it.
    Cli::try_parse_from([
        "tutti",
        "export",
        "--db",
        server.data_path().to_str().expect("utf-8"),
        "--tenant",
        "default",
        "--out",
        out.path().to_str().expect("utf-8"),
    ])
    .expect("arguments parse")
    .run()
    .expect("export runs");

    for name in ["decisions", "assessments", "ratings"] {
        let (ph, prows) = parquet_rows(&out.path().join(format!("{name}.parquet")));
        let (ch, crows) = csv_rows(&out.path().join(format!("{name}.csv")));
        assert_eq!(ph, ch, "{name}: Parquet and CSV columns differ");
        assert_eq!(prows, crows, "{name}: Parquet and CSV rows differ");
        assert!(!prows.is_empty(), "{name} is empty");
    }

    let (h, rows) = parquet_rows(&out.path().join("decisions.parquet"));
    let items: usize = logged.decisions.iter().map(|(_, items)| items.len()).sum();
    assert_eq!(rows.len(), items, "one row per returned item");
    let (rec, iv, prop, dec, help, reward, completion) = (
        column(&h, "recommendation_id"),
        column(&h, "intervention_id"),
        column(&h, "propensity"),
        column(&h, "decision_id"),
        column(&h, "helpfulness"),
        column(&h, "reward"),
        column(&h, "completion"),
    );
    let by_rec: HashMap<&str, &Vec<String>> = rows.iter().map(|r| (r[rec].as_str(), r)).collect();
    for (decision, items) in &logged.decisions {
        for (id, intervention, propensity) in items {
            let row = by_rec
                .get(id.as_str())
                .expect("every recommendation is exported");
            assert_eq!(&row[dec], decision);
            assert_eq!(&row[iv], intervention);
            let p: f64 = row[prop].parse().expect("propensity");
            assert!(
                (p - propensity).abs() < 1e-12,
                "propensity {p} != {propensity}"
            );
            // The whole first-place distribution: it sums to one and holds
            // this item at the probability the client was given.
            let first_place: Vec<(String, f64)> =
                serde_json::from_str(&row[column(&h, "first_place")]).expect("first_place JSON");
            let total: f64 = first_place.iter().map(|(_, p)| p).sum();
            assert!((total - 1.0).abs() < 1e-9, "first-place total {total}");
            let own = first_place
                .iter()
                .find(|(i, _)| i == intervention)
                .map_or(0.0, |(_, p)| *p);
            assert!((own - propensity).abs() < 1e-12, "{own} != {propensity}");
        }
    }
    for (id, helpfulness) in &logged.feedback {
        let row = by_rec.get(id.as_str()).expect("feedback row");
        assert_eq!(row[completion], "done");
        assert_eq!(row[help].parse::<f64>().expect("helpfulness"), *helpfulness);
        assert_eq!(
            row[reward].parse::<f64>().expect("reward"),
            helpfulness / 100.0
        );
    }

    let (ah, arows) = parquet_rows(&out.path().join("assessments.parquet"));
    assert_eq!(arows.len(), logged.assessments);
    let wb = column(&ah, "wellbeing");
    assert!(
        arows.iter().all(|r| !r[wb].is_empty()),
        "every assessment has an outcome"
    );
    let (_, rrows) = parquet_rows(&out.path().join("ratings.parquet"));
    assert_eq!(
        rrows.len(),
        3 * logged.assessments,
        "three rated processes each"
    );
    server.stop().await.expect("server stops");
}
