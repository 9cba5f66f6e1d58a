//! Behaviour: `tutti evaluate --db` replays each person's stored events with
//! the target engine up to every logged decision and re-ranks with the stored
//! query, so evaluating the configuration that made the log reproduces its
//! propensities exactly (every importance weight is 1), and another
//! configuration is evaluated on the same decisions against the complete
//! logged first-place distribution.

use clap::Parser as _;
use tutti_tests::TestServer;
use tutti_tests::decision_log::populate;
use tutti_workbench::evaluate::{EvaluateArgs, evaluate};
use tutti_workbench::{Cli, Command};

#[expect(
    clippy::wildcard_enum_match_arm,
    reason = "a test takes the one subcommand it parsed"
)]
fn args(db: &std::path::Path, out: &std::path::Path, extra: &[&str]) -> EvaluateArgs {
    let mut argv = vec![
        "tutti",
        "evaluate",
        "--db",
        db.to_str().expect("utf-8"),
        "--tenant",
        "default",
        "--bootstrap",
        "200",
        "--out",
        out.to_str().expect("utf-8"),
    ];
    argv.extend_from_slice(extra);
    match Cli::try_parse_from(argv).expect("arguments parse").command {
        Command::Evaluate(a) => a,
        other => panic!("parsed as {other:?}"),
    }
}

#[tokio::test]
async fn the_logging_configuration_reproduces_its_own_propensities_on_replay() {
    let mut server = TestServer::start().await.expect("server starts");
    let logged = populate(&server, 3, 5).await;
    // Stopped: the file is read without a server (WAL checkpointed and gone).
    server.shutdown().await.expect("server stops");
    let db = server.data_path().to_path_buf();
    let out = tempfile::tempdir().expect("temp dir");

    let report = evaluate(&args(&db, out.path(), &[])).expect("evaluates");
    assert_eq!(report.decisions_total, logged.decisions.len());
    assert_eq!(report.decisions_used, logged.decisions.len());
    let e = report
        .evaluation
        .as_ref()
        .expect("a live log has estimates");
    let d = &e.diagnostics;
    assert!(
        (d.max_weight - 1.0).abs() < 1e-9 && (d.mean_weight - 1.0).abs() < 1e-9,
        "replaying the logging configuration should give weight 1 everywhere: mean {}, max {}",
        d.mean_weight,
        d.max_weight
    );
    // With every weight 1, IPS is the observed mean reward.
    assert!((e.ips.value - e.on_policy.value).abs() < 1e-12);
    let expected: f64 =
        logged.feedback.iter().map(|(_, h)| h / 100.0).sum::<f64>() / logged.decisions.len() as f64;
    assert!(
        (e.on_policy.value - expected).abs() < 1e-12,
        "reward = helpfulness / 100, 0 without feedback"
    );

    let greedy = tempfile::NamedTempFile::new().expect("temp file");
    std::fs::write(greedy.path(), "exploration = 0.0\n").expect("writes");
    let other = evaluate(&args(
        &db,
        out.path(),
        &["--target-config", greedy.path().to_str().expect("utf-8")],
    ))
    .expect("evaluates another configuration");
    assert_eq!(other.decisions_used, logged.decisions.len());
    assert!(other.target_model_version != report.target_model_version);
    // The log keeps every candidate's first-place probability, not only the
    // returned items': even a target that would put first an item the server
    // never returned is evaluated against a known logging distribution.
    assert_eq!(
        (
            report.with_logging_distribution,
            other.with_logging_distribution
        ),
        (logged.decisions.len(), logged.decisions.len()),
        "every decision carries its full logging distribution"
    );
    for f in ["report.json", "estimates.csv", "decisions.csv"] {
        assert!(out.path().join(f).is_file(), "{f} missing");
    }
}
