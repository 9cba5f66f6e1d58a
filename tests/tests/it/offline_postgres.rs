//! Behaviour: the offline tools read a tenant's log from PostgreSQL (`--url`)
//! as they read a SQLite file: `tutti export`, `evaluate` and `train` on the
//! database that replicas share, beside the running server, each access on
//! the tenant's audit trail before any data are read.

use clap::Parser as _;
use tutti_engine::catalog::ProcessCatalog;
use tutti_server::config::Secret;
use tutti_server::model::{ModelArtifact, load_initial};
use tutti_server::storage::postgres::{PgOptions, PgStorage};
use tutti_tests::TestServer;
use tutti_tests::decision_log::populate;
use tutti_workbench::evaluate::{EvaluateReport, evaluate};
use tutti_workbench::{Cli, Command};

/// Runs a tool off the test's runtime: the tools are synchronous and start
/// their own to talk to PostgreSQL.
async fn run(argv: Vec<String>) -> anyhow::Result<()> {
    tokio::task::spawn_blocking(move || Cli::try_parse_from(argv)?.run())
        .await
        .expect("tool thread")
}

#[expect(
    clippy::wildcard_enum_match_arm,
    reason = "a test takes the one subcommand it parsed"
)]
async fn evaluate_url(url: &str, out: &std::path::Path) -> EvaluateReport {
    let argv = [
        "tutti",
        "evaluate",
        "--url",
        url,
        "--tenant",
        "default",
        "--bootstrap",
        "50",
        "--out",
        out.to_str().expect("utf-8"),
    ];
    let args = match Cli::try_parse_from(argv).expect("arguments parse").command {
        Command::Evaluate(a) => a,
        other => panic!("parsed as {other:?}"),
    };
    tokio::task::spawn_blocking(move || evaluate(&args))
        .await
        .expect("tool thread")
        .expect("evaluates")
}

#[tokio::test]
async fn export_evaluate_and_train_read_a_postgres_log_as_they_read_a_file() {
    let Some(url) = tutti_tests::postgres::fresh_database() else {
        return;
    };
    let server = TestServer::start_with(|c| c.storage.url = Some(Secret::new(url.clone())))
        .await
        .expect("server starts on PostgreSQL");
    let logged = populate(&server, 3, 4).await;

    // Export: one row per returned item, with the propensity the client got.
    let out = tempfile::tempdir().expect("temp dir");
    let dir = out.path().to_str().expect("utf-8").to_owned();
    run(vec![
        "tutti".into(),
        "export".into(),
        "--url".into(),
        url.clone(),
        "--tenant".into(),
        "default".into(),
        "--operator".into(),
        "exporter-1".into(),
        "--format".into(),
        "csv".into(),
        "--out".into(),
        dir.clone(),
    ])
    .await
    .expect("export runs");
    let csv = std::fs::read_to_string(out.path().join("decisions.csv")).expect("decisions.csv");
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().expect("header").split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).expect(name);
    let (rec, prop) = (col("recommendation_id"), col("propensity"));
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    let items: Vec<_> = logged
        .decisions
        .iter()
        .flat_map(|(_, items)| items)
        .collect();
    assert_eq!(rows.len(), items.len(), "one row per returned item");
    for (id, _, propensity) in items {
        let row = rows
            .iter()
            .find(|r| r.get(rec) == Some(&id.as_str()))
            .expect("every recommendation is exported");
        let p: f64 = row[prop].parse().expect("propensity");
        assert!((p - propensity).abs() < 1e-12, "{p} != {propensity}");
    }

    // Evaluate: replaying the logging configuration reproduces every
    // propensity, so every importance weight is 1.
    let report = evaluate_url(&url, out.path()).await;
    assert_eq!(report.decisions_total, logged.decisions.len());
    assert_eq!(report.decisions_used, logged.decisions.len());
    assert!(
        url.contains('@') && !report.origin.contains('@'),
        "the report names host and database, not the URL's user: {}",
        report.origin
    );
    let d = &report.evaluation.as_ref().expect("estimates").diagnostics;
    assert!(
        (d.max_weight - 1.0).abs() < 1e-9 && (d.mean_weight - 1.0).abs() < 1e-9,
        "weights: mean {}, max {}",
        d.mean_weight,
        d.max_weight
    );

    // Train: every rated report is a row.
    let models = tempfile::tempdir().expect("model dir");
    run(vec![
        "tutti".into(),
        "train".into(),
        "--url".into(),
        url.clone(),
        "--tenant".into(),
        "default".into(),
        "--operator".into(),
        "trainer-1".into(),
        "--version".into(),
        "trained-from-postgres".into(),
        "--out".into(),
        models.path().to_str().expect("utf-8").to_owned(),
    ])
    .await
    .expect("training runs");
    let artifact: ModelArtifact =
        load_initial(models.path(), &ProcessCatalog::builtin()).expect("the server would load it");
    assert_eq!(artifact.report.effect_ratings, logged.feedback.len());
    assert_eq!(artifact.report.reference_profiles, logged.people.len());

    // Each run is on the tenant's audit trail, and the chain still verifies.
    let cluster = tutti_tests::postgres::shared().expect("cluster");
    let database = url.rsplit('/').next().expect("database name");
    let on_record = cluster
        .psql(
            database,
            "SELECT method || ' ' || principal FROM audit
             WHERE tenant = 'default' AND method LIKE 'tutti.cli/%' ORDER BY tenant_seq",
        )
        .expect("audit query");
    assert_eq!(
        on_record.lines().collect::<Vec<_>>(),
        [
            "tutti.cli/export exporter-1",
            "tutti.cli/evaluate cli",
            "tutti.cli/train trainer-1"
        ]
    );
    let db = PgStorage::open(&PgOptions {
        url: url.clone(),
        pool_size: 1,
        tls_ca_path: None,
    })
    .await
    .expect("opens");
    let chains = db.verify_audit(Some("default")).await.expect("walks");
    assert!(
        chains.iter().all(|c| c.problem.is_none()) && !chains.is_empty(),
        "{chains:?}"
    );
    server.stop().await.expect("server stops");
}

#[tokio::test]
async fn a_tenant_with_no_decisions_in_postgres_is_an_error_naming_the_database_not_its_url() {
    let Some(url) = tutti_tests::postgres::fresh_database() else {
        return;
    };
    let url = format!("{url}?password=not-logged");
    let server = TestServer::start_with(|c| c.storage.url = Some(Secret::new(url.clone())))
        .await
        .expect("server starts on PostgreSQL");
    let out = tempfile::tempdir().expect("temp dir");
    let argv = vec![
        "tutti".into(),
        "train".into(),
        "--url".into(),
        url.clone(),
        "--tenant".into(),
        "nobody".into(),
        "--out".into(),
        out.path().to_str().expect("utf-8").to_owned(),
    ];
    let err = run(argv).await.expect_err("nothing to train on");
    let text = format!("{err:#}");
    assert!(text.contains("no logged decisions"), "{text}");
    assert!(!text.contains("not-logged"), "credentials leaked: {text}");
    server.stop().await.expect("server stops");
}
