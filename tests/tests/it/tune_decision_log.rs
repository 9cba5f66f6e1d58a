//! Behaviour: `tutti tune --db` scores every candidate configuration on the
//! same logged decisions by replaying them, puts the configuration that wrote
//! the log (the baseline) at exactly the observed mean with every weight 1,
//! and writes a `best.toml` the server reads back.

use clap::Parser as _;
use tutti_server::config::{Config, Overrides};
use tutti_tests::TestServer;
use tutti_tests::decision_log::populate;
use tutti_workbench::tune::{TuneArgs, tune};
use tutti_workbench::{Cli, Command};

#[expect(
    clippy::wildcard_enum_match_arm,
    reason = "a test takes the one subcommand it parsed"
)]
fn args(db: &std::path::Path, dir: &std::path::Path, space: &std::path::Path) -> TuneArgs {
    let argv = vec![
        "tutti",
        "tune",
        "--db",
        db.to_str().expect("utf-8"),
        "--tenant",
        "default",
        "--space",
        space.to_str().expect("utf-8"),
        "--bootstrap",
        "200",
        "--out",
        dir.to_str().expect("utf-8"),
        "--no-plots",
    ];
    match Cli::try_parse_from(argv).expect("arguments parse").command {
        Command::Tune(a) => a,
        other => panic!("parsed as {other:?}"),
    }
}

#[tokio::test]
async fn candidates_are_scored_on_the_same_replayed_decisions_and_the_baseline_reproduces_the_log()
{
    let mut server = TestServer::start().await.expect("server starts");
    let logged = populate(&server, 3, 5).await;
    server.shutdown().await.expect("server stops");
    let db = server.data_path().to_path_buf();
    let dir = tempfile::tempdir().expect("temp dir");
    let space = dir.path().join("space.toml");
    // The grid holds the server's own exploration (the engine default, which
    // the log was written with), so one grid point is the baseline itself.
    let own = tutti_engine::config::EngineConfig::default().exploration;
    std::fs::write(&space, format!("exploration = [0.5, {own}, 1.0]\n")).expect("writes");

    let out = dir.path().join("out");
    let summary = tune(&args(&db, &out, &space)).expect("tunes on the log");
    assert_eq!(summary.source, "db");
    assert_eq!(summary.strategy, "grid");
    assert_eq!(summary.trials.len(), 3);
    for t in &summary.trials {
        let log = t.log.as_ref().expect("log scores");
        assert_eq!(log.decisions, logged.decisions.len(), "trial {}", t.trial);
    }
    let baseline = summary.trials[0].log.as_ref().expect("log scores");
    let e = &baseline.evaluation;
    assert!(
        (e.diagnostics.max_weight - 1.0).abs() < 1e-9,
        "the logging configuration replays its own propensities"
    );
    assert!((e.snips.value - e.on_policy.value).abs() < 1e-12);
    let zero = summary.trials[0].minus_baseline;
    assert_eq!((zero.value, zero.lower, zero.upper), (0.0, 0.0, 0.0));

    let server_config =
        Config::load(Some(&out.join("best.toml")), Overrides::default()).expect("serve reads it");
    assert_eq!(server_config.engine, summary.best_config);
    assert!(out.join("trials.csv").is_file() && out.join("summary.json").is_file());
}
