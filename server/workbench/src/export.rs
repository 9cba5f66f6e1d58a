//! `tutti export`: one tenant's decision log and assessments from a server's
//! SQLite file (opened read-only, so it can run beside a live server) as CSV
//! and Parquet, for pandas and polars.
//!
//! Three tables, each written as `<name>.csv` and `<name>.parquet` from the
//! same rows:
//! - `decisions`: one row per *returned item* of every decision (so a decision
//!   of five items is five rows sharing `decision_id`), plus, for a decision
//!   logged in shadow mode, one row for the platform's choice: person, times,
//!   model version, context, exploration, whether the decision was shadow, the
//!   platform's choice and whether Tutti's rank-1 item agreed with it, the
//!   row's `role` (`live`: Tutti's item, shown; `shadow`: Tutti's item, not
//!   shown; `platform`: the platform's choice, shown, with no rank, score or
//!   propensity because the platform logged none), the item's rank, score and
//!   propensity,
//!   the latest feedback on it (completion, minutes, helpfulness, distress,
//!   clinician review), the observable `reward` (dose x helpfulness / 100, as
//!   `tutti evaluate` uses it) and the outcome around the decision.
//! - `assessments`: one row per assessment: every outcome instrument in its
//!   own column, `wellbeing` (see below), risk flags and the number of ratings.
//! - `ratings`: one row per rated process of an assessment (both poles).
//!
//! `wellbeing` puts an assessment's outcome measures on one 0-100 scale where
//! higher is better (each instrument's range mapped to 0-100, reversed when
//! lower is better, then averaged). A decision's `outcome_before` is that of
//! the person's latest assessment at or before the time the decision was for,
//! `outcome_after` that of the first one after it, `outcome_change` their
//! difference. Times are milliseconds since the Unix epoch (UTC; Parquet
//! columns are typed as timestamps).

use crate::args::{LogArgs, LogSource, OperatorArgs};
use crate::columnar::{Kind, write_parquet};
use crate::output::{self, Cell, Table};
use clap::{Args, ValueEnum};
use std::collections::HashMap;
use std::path::PathBuf;
use tutti_engine::ids::Timestamp;
use tutti_engine::observe::{Assessment, ClinicianDecision, Completion, Instrument};
use tutti_engine::sim::baselines::reward as feedback_reward;
use tutti_server::convert::ids::TenantId;
use tutti_server::offline::{
    self, LogAssessment, LogDecision, LogTables, RecommendationRole, decode_feedback,
};

/// An output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Comma-separated values.
    Csv,
    /// Apache Parquet.
    Parquet,
}

/// Arguments of `tutti export`.
#[derive(Debug, Clone, Args)]
#[command(
    mut_arg("db", |a| a.required_unless_present("url")),
    mut_arg("tenant", |a| a.required(true))
)]
pub struct ExportArgs {
    /// The tenant's stored log (both flags required).
    #[command(flatten)]
    pub log: LogArgs,
    /// Output directory (created if needed).
    #[arg(long, value_name = "DIR", default_value = "export")]
    pub out: PathBuf,
    /// Formats, comma-separated.
    #[arg(long, value_enum, value_delimiter = ',', default_value = "csv,parquet")]
    pub format: Vec<Format>,
}

/// A table with its column types.
#[derive(Debug, Clone)]
pub struct Typed {
    /// The rows.
    pub table: Table,
    /// One type per column.
    pub kinds: Vec<Kind>,
}

impl Typed {
    fn new(columns: &[(&str, Kind)]) -> Self {
        Self {
            table: Table::new(columns.iter().map(|(n, _)| *n)),
            kinds: columns.iter().map(|(_, k)| *k).collect(),
        }
    }
}

/// The exported tables.
#[derive(Debug, Clone)]
pub struct Export {
    /// One row per returned item of every decision.
    pub decisions: Typed,
    /// One row per assessment.
    pub assessments: Typed,
    /// One row per rated process.
    pub ratings: Typed,
}

/// Outcome instruments, in column order.
const INSTRUMENTS: [(Instrument, &str); 6] = [
    (Instrument::Phq9, "phq9"),
    (Instrument::Gad7, "gad7"),
    (Instrument::Who5, "who5"),
    (Instrument::Oq45, "oq45"),
    (Instrument::Wellbeing, "wellbeing_item"),
    (Instrument::Distress, "distress"),
];

/// An assessment's outcome measures on one 0-100, higher-is-better scale.
pub fn wellbeing(a: &Assessment) -> Option<f64> {
    let v: Vec<f64> = a
        .outcomes
        .iter()
        .map(|o| {
            let (lo, hi) = o.instrument.range();
            let unit = ((o.score - lo) / (hi - lo)).clamp(0.0, 1.0);
            100.0
                * if o.instrument.higher_is_better() {
                    unit
                } else {
                    1.0 - unit
                }
        })
        .collect();
    (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
}

fn snake<T: serde::Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        Ok(other) => other.to_string(),
        Err(_) => String::new(),
    }
}

fn ts(t: Timestamp) -> Cell {
    Cell::Int(t.0)
}

/// Reads the tenant's log from the SQLite file `db` and builds the tables.
pub fn build(
    db: &std::path::Path,
    tenant: &str,
    operator: &OperatorArgs,
) -> anyhow::Result<Export> {
    let tenant_id =
        TenantId::parse(tenant).map_err(|e| anyhow::anyhow!("--tenant `{tenant}`: {e}"))?;
    let (tables, _) = LogSource::Sqlite(db).read(&operator.access("export", &tenant_id)?)?;
    from_tables(&tables)
}

/// Builds the tables from a tenant's log as read.
pub fn from_tables(tables: &LogTables) -> anyhow::Result<Export> {
    let LogTables {
        decisions,
        recommendations,
        feedback,
        assessments,
        ..
    } = tables;

    // Assessments, decoded once; per person in observation order.
    let mut decoded: Vec<(&LogAssessment, Assessment)> = Vec::with_capacity(assessments.len());
    for a in assessments {
        decoded.push((a, offline::decode_assessment(a)?));
    }
    let mut by_person: HashMap<&str, Vec<(Timestamp, f64)>> = HashMap::new();
    for (a, domain) in &decoded {
        if let Some(w) = wellbeing(domain) {
            by_person
                .entry(a.person.as_str())
                .or_default()
                .push((a.observe_time, w));
        }
    }

    let decision_by_id: HashMap<&str, &LogDecision> =
        decisions.iter().map(|d| (d.id.as_str(), d)).collect();
    let decision_of_rec: HashMap<&str, &str> = recommendations
        .iter()
        .map(|r| (r.id.as_str(), r.decision.as_str()))
        .collect();
    let mut feedback_by_rec: HashMap<&str, Vec<_>> = HashMap::new();
    for f in feedback {
        let Some(&decision_id) = decision_of_rec.get(f.recommendation.as_str()) else {
            continue;
        };
        let context = decision_by_id
            .get(decision_id)
            .map(|d| d.query.context)
            .unwrap_or_default();
        feedback_by_rec
            .entry(f.recommendation.as_str())
            .or_default()
            .push((f, decode_feedback(f, context)?));
    }

    let mut out = Typed::new(&[
        ("decision_id", Kind::Text),
        ("person_id", Kind::Text),
        ("decide_time", Kind::TimestampMs),
        ("for_time", Kind::TimestampMs),
        ("model_version", Kind::Text),
        ("safety_mode", Kind::Bool),
        ("exploration", Kind::Float),
        ("minutes_available", Kind::Int),
        ("setting", Kind::Text),
        ("excluded", Kind::Text),
        ("pinned", Kind::Text),
        ("items", Kind::Int),
        ("indistinguishable", Kind::Bool),
        ("shadow", Kind::Bool),
        ("platform_intervention_id", Kind::Text),
        ("engine_agreed", Kind::Bool),
        ("rank", Kind::Int),
        ("role", Kind::Text),
        ("recommendation_id", Kind::Text),
        ("intervention_id", Kind::Text),
        ("score", Kind::Float),
        ("propensity", Kind::Float),
        ("exploratory", Kind::Bool),
        ("requires_clinician_review", Kind::Bool),
        ("benefit", Kind::Float),
        ("follow_through", Kind::Float),
        ("feedback_count", Kind::Int),
        ("feedback_time", Kind::TimestampMs),
        ("completion", Kind::Text),
        ("minutes_spent", Kind::Int),
        ("helpfulness", Kind::Float),
        ("distress_before", Kind::Float),
        ("distress_after", Kind::Float),
        ("clinician", Kind::Text),
        ("reward", Kind::Float),
        ("outcome_before", Kind::Float),
        ("outcome_after", Kind::Float),
        ("outcome_change", Kind::Float),
        ("request", Kind::Text),
        ("first_place", Kind::Text),
    ]);
    for r in recommendations {
        let Some(d) = decision_by_id.get(r.decision.as_str()) else {
            continue;
        };
        // The engine's per-item fields describe Tutti's items; a platform
        // row gets none even when Tutti ranked the same intervention.
        let item = d
            .ranking
            .items
            .iter()
            .find(|i| i.intervention == r.intervention)
            .filter(|_| r.role != RecommendationRole::Platform);
        let agreed = d.platform_intervention.as_ref().map(|p| {
            d.ranking
                .items
                .first()
                .is_some_and(|first| first.intervention == *p)
        });
        let fbs = feedback_by_rec.get(r.id.as_str());
        let latest = fbs.and_then(|v| {
            v.iter()
                .max_by_key(|(f, _)| (f.observe_time, f.create_time))
        });
        let (before, after) = match by_person.get(d.person.as_str()) {
            Some(series) => (
                series
                    .iter()
                    .filter(|(t, _)| *t <= d.for_time)
                    .max_by_key(|(t, _)| *t)
                    .map(|(_, w)| *w),
                series
                    .iter()
                    .filter(|(t, _)| *t > d.for_time)
                    .min_by_key(|(t, _)| *t)
                    .map(|(_, w)| *w),
            ),
            None => (None, None),
        };
        let q = &d.query;
        let fb = latest.map(|(_, f)| f);
        out.table.push(vec![
            Cell::text(&d.id),
            Cell::text(&d.person),
            ts(d.decide_time),
            ts(d.for_time),
            Cell::text(&d.model_version),
            Cell::Bool(d.safety_mode),
            Cell::Float(d.exploration),
            Cell::opt_int(q.context.minutes_available.map(i64::from)),
            Cell::opt_text(q.context.setting.map(|s| snake(&s))),
            Cell::text(
                q.exclude
                    .iter()
                    .map(|i| i.as_str())
                    .collect::<Vec<_>>()
                    .join(";"),
            ),
            Cell::text(
                q.pin
                    .iter()
                    .map(|i| i.as_str())
                    .collect::<Vec<_>>()
                    .join(";"),
            ),
            Cell::Int(d.ranking.items.len() as i64),
            Cell::Bool(d.ranking.indistinguishable),
            Cell::Bool(d.shadow),
            Cell::opt_text(
                d.platform_intervention
                    .as_ref()
                    .map(|p| p.as_str().to_owned()),
            ),
            agreed.map_or(Cell::Null, Cell::Bool),
            Cell::opt_int(r.rank.map(i64::from)),
            Cell::text(r.role.as_str()),
            Cell::text(&r.id),
            Cell::text(r.intervention.as_str()),
            Cell::opt_float(r.score),
            Cell::opt_float(r.propensity),
            Cell::Bool(item.is_some_and(|i| i.exploratory)),
            Cell::Bool(item.is_some_and(|i| i.requires_clinician_review)),
            Cell::opt_float(item.map(|i| i.benefit.mean)),
            Cell::opt_float(item.map(|i| i.follow_through.mean)),
            Cell::Int(fbs.map_or(0, Vec::len) as i64),
            latest.map_or(Cell::Null, |(f, _)| ts(f.observe_time)),
            Cell::opt_text(
                fb.and_then(|f| f.completion)
                    .map(|c| completion(c).to_owned()),
            ),
            Cell::opt_int(fb.and_then(|f| f.minutes_spent).map(i64::from)),
            Cell::opt_float(fb.and_then(|f| f.helpfulness)),
            Cell::opt_float(fb.and_then(|f| f.distress_before)),
            Cell::opt_float(fb.and_then(|f| f.distress_after)),
            Cell::opt_text(fb.and_then(|f| f.clinician.as_ref()).map(clinician)),
            Cell::opt_float(fb.and_then(feedback_reward)),
            Cell::opt_float(before),
            Cell::opt_float(after),
            Cell::opt_float(before.zip(after).map(|(b, a)| a - b)),
            Cell::text(&d.query_json),
            // JSON `[[intervention_id, probability], ...]`: the whole logging
            // distribution, for one's own off-policy estimators.
            Cell::opt_text(
                d.first_place
                    .as_ref()
                    .and_then(|fp| serde_json::to_string(fp).ok()),
            ),
        ]);
    }

    let mut columns: Vec<(&str, Kind)> = vec![
        ("assessment_id", Kind::Text),
        ("person_id", Kind::Text),
        ("observe_time", Kind::TimestampMs),
        ("create_time", Kind::TimestampMs),
        ("wellbeing", Kind::Float),
    ];
    columns.extend(INSTRUMENTS.iter().map(|(_, n)| (*n, Kind::Float)));
    columns.extend([("risk_flags", Kind::Text), ("ratings", Kind::Int)]);
    let mut table_a = Typed::new(&columns);
    let mut table_r = Typed::new(&[
        ("assessment_id", Kind::Text),
        ("person_id", Kind::Text),
        ("observe_time", Kind::TimestampMs),
        ("process_id", Kind::Text),
        ("adaptive", Kind::Float),
        ("maladaptive", Kind::Float),
    ]);
    for (a, domain) in &decoded {
        let mut row = vec![
            Cell::text(&a.id),
            Cell::text(&a.person),
            ts(a.observe_time),
            ts(a.create_time),
            Cell::opt_float(wellbeing(domain)),
        ];
        row.extend(INSTRUMENTS.iter().map(|(instrument, _)| {
            Cell::opt_float(
                domain
                    .outcomes
                    .iter()
                    .find(|o| o.instrument == *instrument)
                    .map(|o| o.score),
            )
        }));
        row.push(Cell::text(
            domain
                .risk_flags
                .iter()
                .map(snake)
                .collect::<Vec<_>>()
                .join(";"),
        ));
        row.push(Cell::Int(domain.ratings.len() as i64));
        table_a.table.push(row);
        for r in &domain.ratings {
            table_r.table.push(vec![
                Cell::text(&a.id),
                Cell::text(&a.person),
                ts(a.observe_time),
                Cell::text(r.process.as_str()),
                Cell::opt_float(r.adaptive),
                Cell::opt_float(r.maladaptive),
            ]);
        }
    }
    Ok(Export {
        decisions: out,
        assessments: table_a,
        ratings: table_r,
    })
}

fn completion(c: Completion) -> &'static str {
    match c {
        Completion::Done => "done",
        Completion::Partly => "partly",
        Completion::NotDone => "not_done",
    }
}

fn clinician(c: &ClinicianDecision) -> String {
    match c {
        ClinicianDecision::Accepted => "accepted".into(),
        ClinicianDecision::Rejected => "rejected".into(),
        ClinicianDecision::Overridden { replacement } => match replacement {
            Some(r) => format!("overridden:{r}"),
            None => "overridden".into(),
        },
    }
}

/// Runs `tutti export`.
pub fn run(args: ExportArgs) -> anyhow::Result<()> {
    let (tables, _, _) = args.log.read("export")?;
    let export = from_tables(&tables)?;
    let dir = output::out_dir(&args.out)?;
    let mut written = Vec::new();
    for (name, t) in [
        ("decisions", &export.decisions),
        ("assessments", &export.assessments),
        ("ratings", &export.ratings),
    ] {
        if args.format.contains(&Format::Csv) {
            t.table.write_csv(&dir.join(format!("{name}.csv")))?;
            written.push(format!("{name}.csv"));
        }
        if args.format.contains(&Format::Parquet) {
            write_parquet(&t.table, &t.kinds, &dir.join(format!("{name}.parquet")))?;
            written.push(format!("{name}.parquet"));
        }
        println!("{name:<12} {:>8} rows", t.table.rows.len());
    }
    println!("wrote {} to {}", written.join(", "), args.out.display());
    Ok(())
}
