//! Behaviour: `tutti simulate` is reproducible from its seed through the CLI
//! code path (argument parsing, parallel chunks, merge, files), whatever the
//! number of threads, and writes every table and plot it promises (captured
//! share with its interval and learning curve among them).

use clap::Parser as _;
use std::path::Path;
use tutti_workbench::{Cli, Command};

fn simulate(out: &Path, extra: &[&str]) {
    let out = out.to_str().expect("utf-8 path");
    let mut argv = vec![
        "tutti",
        "simulate",
        "--people",
        "60",
        "--weeks",
        "4",
        "--seeds",
        "2",
        "--policies",
        "engine,random,fixed,oracle",
        "--out",
        out,
    ];
    argv.extend_from_slice(extra);
    let cli = Cli::try_parse_from(argv).expect("arguments parse");
    assert!(matches!(cli.command, Command::Simulate(_)));
    cli.run().expect("simulation runs");
}

#[test]
fn the_same_seed_gives_a_byte_identical_summary_whatever_the_thread_count() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (a, b, c) = (
        dir.path().join("a"),
        dir.path().join("b"),
        dir.path().join("c"),
    );
    simulate(&a, &["--seed", "11", "--threads", "1"]);
    simulate(&b, &["--seed", "11", "--threads", "2", "--no-plots"]);
    simulate(&c, &["--seed", "12", "--threads", "2", "--no-plots"]);
    let read = |d: &Path, f: &str| std::fs::read(d.join(f)).expect("file written");
    assert_eq!(
        read(&a, "summary.json"),
        read(&b, "summary.json"),
        "same seed, different threads: summaries differ"
    );
    assert_eq!(read(&a, "weekly.csv"), read(&b, "weekly.csv"));
    assert_ne!(
        read(&a, "summary.json"),
        read(&c, "summary.json"),
        "another seed should give another world"
    );
}

#[test]
fn a_run_writes_its_tables_and_both_plot_formats() {
    let dir = tempfile::tempdir().expect("temp dir");
    simulate(dir.path(), &["--seed", "3"]);
    for f in [
        "summary.json",
        "summary.csv",
        "metrics.csv",
        "seeds.csv",
        "weekly.csv",
        "outcome.svg",
        "outcome.png",
        "regret.svg",
        "regret.png",
        "captured_share.svg",
        "captured_share.png",
        "network.svg",
        "network.png",
    ] {
        let meta = std::fs::metadata(dir.path().join(f)).unwrap_or_else(|e| panic!("{f}: {e}"));
        assert!(meta.len() > 0, "{f} is empty");
    }
    let summary = std::fs::read_to_string(dir.path().join("summary.csv")).expect("csv");
    let lines: Vec<&str> = summary.lines().collect();
    assert_eq!(lines.len(), 1 + 4, "header plus one row per policy");
    assert!(lines[0].starts_with("scenario,policy,seeds,people,mean_improvement,"));
    assert!(
        lines[0].contains(",captured_share,captured_share_lower,captured_share_upper,"),
        "captured share with its interval: {}",
        lines[0]
    );
    for policy in ["engine", "random", "fixed_protocol", "oracle"] {
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with(&format!("default,{policy},"))),
            "no row for {policy}"
        );
    }
    let weekly = std::fs::read_to_string(dir.path().join("weekly.csv")).expect("csv");
    assert_eq!(
        weekly.lines().count(),
        1 + 4 * 5,
        "4 policies x (4 weeks + start)"
    );
    let svg = std::fs::read_to_string(dir.path().join("regret.svg")).expect("svg");
    assert!(svg.contains("oracle"), "legend names the policies");
    let json = std::fs::read_to_string(dir.path().join("summary.json")).expect("json");
    assert!(
        json.contains("captured_share_curve"),
        "the learning curve is in summary.json"
    );
    let network = std::fs::read_to_string(dir.path().join("network.svg")).expect("svg");
    assert!(
        network.contains("well-being") && network.contains("affect +"),
        "the network names its variables"
    );
}
