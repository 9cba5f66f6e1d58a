//! Behaviour: `tutti tune` on the simulator is reproducible from its
//! arguments whatever the number of threads, writes a `best.toml` that the
//! server and the other subcommands read back as the best trial's
//! configuration, rejects bad search spaces with a message naming the field,
//! and ranks a clearly bad configuration below the default.

use clap::Parser as _;
use std::path::Path;
use tutti_server::config::{Config, Overrides};
use tutti_workbench::bootstrap::load_engine_config;
use tutti_workbench::tune::{TuneArgs, TuneSummary, tune};
use tutti_workbench::{Cli, Command};

#[expect(
    clippy::wildcard_enum_match_arm,
    reason = "a test takes the one subcommand it parsed"
)]
fn args(out: &Path, space: &Path, extra: &[&str]) -> TuneArgs {
    let mut argv = vec![
        "tutti",
        "tune",
        "--simulated",
        "--people",
        "40",
        "--seeds",
        "2",
        "--space",
        space.to_str().expect("utf-8 path"),
        "--out",
        out.to_str().expect("utf-8 path"),
    ];
    argv.extend_from_slice(extra);
    match Cli::try_parse_from(argv).expect("arguments parse").command {
        Command::Tune(a) => a,
        other => panic!("parsed as {other:?}"),
    }
}

fn space_file(dir: &Path, text: &str) -> std::path::PathBuf {
    let path = dir.join("space.toml");
    std::fs::write(&path, text).expect("writes the space");
    path
}

fn read(dir: &Path, file: &str) -> Vec<u8> {
    std::fs::read(dir.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"))
}

#[test]
fn the_same_arguments_give_identical_trials_and_best_whatever_the_thread_count() {
    let dir = tempfile::tempdir().expect("temp dir");
    let space = space_file(
        dir.path(),
        "exploration = { min = 0.0, max = 1.0 }\nmap_half_life_days = { min = 30, max = 720, log = true }\n",
    );
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    let extra = [
        "--weeks",
        "4",
        "--trials",
        "3",
        "--search-seed",
        "4",
        "--seed",
        "9",
    ];
    let first = tune(&args(
        &a,
        &space,
        &[&extra[..], &["--threads", "1"]].concat(),
    ))
    .expect("tunes on one thread");
    tune(&args(
        &b,
        &space,
        &[&extra[..], &["--threads", "2", "--no-plots"]].concat(),
    ))
    .expect("tunes on two threads");
    for f in ["trials.csv", "best.toml", "summary.json"] {
        assert_eq!(
            read(&a, f),
            read(&b, f),
            "{f} differs between 1 and 2 threads"
        );
    }
    for f in ["trials.svg", "trials.png"] {
        assert!(a.join(f).is_file(), "{f} missing");
    }
    assert_eq!(first.trials.len(), 4, "the baseline and 3 random trials");
    assert!(first.strategy.starts_with("random"));
    check_best_round_trips(&a, &first);
}

/// `best.toml` is the best trial's configuration for every reader, and the
/// best trial has the highest objective among the safe, complete trials.
fn check_best_round_trips(dir: &Path, summary: &TuneSummary) {
    let path = dir.join("best.toml");
    let as_engine_config = load_engine_config(Some(&path)).expect("--engine-config reads it");
    assert_eq!(as_engine_config, summary.best_config);
    let as_server_config = Config::load(Some(&path), Overrides::default()).expect("serve reads it");
    assert_eq!(as_server_config.engine, summary.best_config);

    let csv = String::from_utf8(read(dir, "trials.csv")).expect("utf-8");
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().expect("header").split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).expect(name);
    let (best, safe, complete, objective) =
        (col("best"), col("safe"), col("complete"), col("objective"));
    let rows: Vec<Vec<String>> = lines
        .map(|l| l.split(',').map(str::to_owned).collect())
        .collect();
    let best_rows: Vec<&Vec<String>> = rows.iter().filter(|r| r[best] == "true").collect();
    assert_eq!(best_rows.len(), 1, "one best row");
    let best_value: f64 = best_rows[0][objective].parse().expect("number");
    for r in rows
        .iter()
        .filter(|r| r[safe] == "true" && r[complete] == "true")
    {
        let v: f64 = r[objective].parse().expect("number");
        assert!(
            v <= best_value,
            "a safe trial beats the best: {v} > {best_value}"
        );
    }
    let chosen = summary
        .trials
        .iter()
        .find(|t| t.trial == summary.best)
        .expect("best trial listed");
    assert_eq!(chosen.config, summary.best_config);
}

#[test]
fn a_space_with_an_unknown_field_or_an_invalid_range_is_rejected_clearly() {
    let dir = tempfile::tempdir().expect("temp dir");
    for (text, needle) in [
        ("exploraton = [0.1, 0.2]\n", "unknown field `exploraton`"),
        (
            "map_half_life_days = { min = 50, max = 1 }\n",
            "`map_half_life_days`: invalid range, min 50 > max 1",
        ),
        (
            "exploration = { min = 0.0, max = 2.0 }\n",
            "exploration must be in [0, 1]",
        ),
    ] {
        let space = space_file(dir.path(), text);
        let e = tune(&args(&dir.path().join("out"), &space, &["--weeks", "4"])).expect_err(text);
        let message = format!("{e:#}");
        assert!(message.contains(needle), "{text}: {message}");
        assert!(
            message.contains("space.toml"),
            "the file is named: {message}"
        );
    }
}

/// Throwing the engine's knowledge away costs: a propensity floor of 0.5 is
/// capped at 1/candidates, i.e. a uniform choice, and on `individual` (each
/// person's own map, learned from daily ratings) the default beats it clearly,
/// paired by seed.
#[test]
#[expect(
    clippy::wildcard_enum_match_arm,
    reason = "a test takes the one subcommand it parsed"
)]
fn a_configuration_that_explores_uniformly_ranks_below_the_default() {
    let dir = tempfile::tempdir().expect("temp dir");
    let space = space_file(dir.path(), "propensity_floor = [0.0, 0.5]\n");
    let out = dir.path().join("out");
    let argv = [
        "tutti",
        "tune",
        "--simulated",
        "--scenario",
        "individual",
        "--people",
        "100",
        "--seeds",
        "4",
        "--weeks",
        "10",
        "--space",
        space.to_str().expect("utf-8 path"),
        "--out",
        out.to_str().expect("utf-8 path"),
        "--no-plots",
    ];
    let a = match Cli::try_parse_from(argv).expect("arguments parse").command {
        Command::Tune(a) => a,
        other => panic!("parsed as {other:?}"),
    };
    let summary = tune(&a).expect("tunes");
    assert_eq!(summary.strategy, "grid");
    assert_eq!(
        summary.trials.len(),
        2,
        "the default and the uniform explorer"
    );
    let rank = |t: usize| summary.trials[t].rank.expect("ranked");
    assert!(
        rank(1) > rank(0),
        "the uniform explorer should rank below the default: {:?} vs {:?}",
        summary.trials[1].objective,
        summary.trials[0].objective
    );
    assert_eq!(summary.best, 0);
    assert!(
        !summary.indistinguishable_from_best.contains(&1),
        "paired by seed, the difference is clear: {:?}",
        summary.trials[1].best_minus_this
    );
}
