//! Behaviour: a population model trained on one group of simulated people
//! makes the engine do better for *new* people from the same population than
//! the catalogue's priors do, on every one of several seeds (ground truth
//! from the simulator, through the `tutti train` / `tutti simulate --model`
//! code path). It runs in the normal `cargo test` (about 15 s: the dev profile
//! optimises the engine and the dependencies; unoptimised it took minutes).

use clap::Parser as _;
use std::path::Path;
use tutti_workbench::Cli;

fn run(argv: &[&str]) {
    let mut full = vec!["tutti"];
    full.extend_from_slice(argv);
    Cli::try_parse_from(full)
        .expect("arguments parse")
        .run()
        .expect("command runs");
}

/// The engine row's metric `name` (mean over seeds) in a simulate summary.
fn metric(dir: &Path, name: &str) -> f64 {
    let text = std::fs::read_to_string(dir.join("summary.json")).expect("summary written");
    let json: serde_json::Value = serde_json::from_str(&text).expect("summary parses");
    json["summary"]["rows"][0]["metrics"][name]["mean"]
        .as_f64()
        .unwrap_or_else(|| panic!("no {name} in {}", dir.display()))
}

#[test]
fn a_trained_model_helps_new_people_more_than_the_catalogue_priors() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut gains = Vec::new();
    for seed in ["1", "2", "3"] {
        let path = |name: &str| dir.path().join(format!("{name}-{seed}"));
        let (models, base, trained) = (path("models"), path("base"), path("trained"));
        let s = |p: &Path| p.to_str().expect("utf-8 path").to_owned();
        // People 100000.. are the log; people 0.. are new, same world.
        run(&[
            "train",
            "--simulated",
            "--seed",
            seed,
            "--people",
            "600",
            "--first-person",
            "100000",
            "--weeks",
            "20",
            "--out",
            &s(&models),
        ]);
        let common = [
            "--seed",
            seed,
            "--people",
            "600",
            "--weeks",
            "20",
            "--policies",
            "engine",
            "--no-plots",
        ];
        let mut argv = vec!["simulate", "--out"];
        let base_s = s(&base);
        argv.push(&base_s);
        argv.extend_from_slice(&common);
        run(&argv);
        let trained_s = s(&trained);
        let models_s = s(&models);
        let mut argv = vec!["simulate", "--out", &trained_s, "--model", &models_s];
        argv.extend_from_slice(&common);
        run(&argv);
        let gain = metric(&trained, "mean_improvement") - metric(&base, "mean_improvement");
        let regret = metric(&trained, "mean_regret") - metric(&base, "mean_regret");
        assert!(
            gain > 0.0 && regret < 0.0,
            "seed {seed}: trained minus catalogue priors: improvement {gain:+.2}, regret {regret:+.2}"
        );
        gains.push(gain);
    }
    let mean = gains.iter().sum::<f64>() / gains.len() as f64;
    assert!(
        mean > 1.0,
        "mean gain {mean:.2} well-being points over seeds: {gains:?}"
    );
}
