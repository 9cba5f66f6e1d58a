//! Behaviour: `tutti train --db` reads a real server's log (audited, beside
//! the running server), turns every rated feedback into a training row and
//! writes an artifact the server's model loader accepts.

use clap::Parser as _;
use tutti_engine::catalog::ProcessCatalog;
use tutti_server::convert::ids::TenantId;
use tutti_server::model::{ModelArtifact, load_initial};
use tutti_server::storage::decision_log::DecisionLog;
use tutti_tests::TestServer;
use tutti_tests::decision_log::populate;
use tutti_workbench::Cli;

#[tokio::test]
async fn a_model_trained_on_a_live_log_loads_and_counts_every_rated_report() {
    let server = TestServer::start().await.expect("server starts");
    let logged = populate(&server, 3, 5).await;
    let models = tempfile::tempdir().expect("model dir");
    Cli::try_parse_from([
        "tutti",
        "train",
        "--db",
        server.data_path().to_str().expect("utf-8"),
        "--tenant",
        "default",
        "--operator",
        "trainer-1",
        "--version",
        "trained-from-log",
        "--out",
        models.path().to_str().expect("utf-8"),
    ])
    .expect("arguments parse")
    .run()
    .expect("training runs");

    let artifact: ModelArtifact =
        load_initial(models.path(), &ProcessCatalog::builtin()).expect("the server would load it");
    assert_eq!(artifact.version, "trained-from-log");
    assert_eq!(artifact.source["kind"], "decision_log");
    // Every feedback in the log is done with a helpfulness rating: each one
    // counts, in one row per person and intervention.
    assert_eq!(artifact.report.effect_ratings, logged.feedback.len());
    assert!(artifact.report.effect_rows <= logged.feedback.len());
    assert!(artifact.report.effect_rows >= logged.people.len());
    assert_eq!(artifact.report.follow_rows, logged.feedback.len());
    assert_eq!(artifact.report.reference_profiles, logged.people.len());

    let tenant = TenantId::parse("default").expect("tenant");
    let trail = DecisionLog::open(server.data_path())
        .expect("opens")
        .snapshot(|s| s.audit(&tenant))
        .expect("audit");
    assert!(
        trail
            .iter()
            .any(|r| r.method == "tutti.cli/train" && r.principal == "trainer-1"),
        "the training run is on the tenant's audit trail"
    );
    server.stop().await.expect("server stops");
}
