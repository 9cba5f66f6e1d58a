//! Behaviour: `tutti train --simulated` learns every part of the hierarchy it
//! claims to (the population map, the rating level, the helpfulness noise,
//! reference people, intervention multipliers), however the simulated people
//! are split into chunks across threads.

use clap::Parser as _;
use tutti_engine::catalog::ProcessCatalog;
use tutti_server::model::{ModelArtifact, load_initial};
use tutti_workbench::Cli;

#[test]
fn a_simulated_training_run_learns_the_map_the_rating_level_and_reference_people() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("models");
    Cli::try_parse_from([
        "tutti",
        "train",
        "--simulated",
        "--scenario",
        "individual",
        "--people",
        "120",
        "--weeks",
        "6",
        "--threads",
        "2",
        "--version",
        "trained-cli-test",
        "--out",
        out.to_str().expect("utf-8"),
    ])
    .expect("arguments parse")
    .run()
    .expect("training runs");
    let artifact: ModelArtifact =
        load_initial(&out, &ProcessCatalog::builtin()).expect("the server would load it");
    let r = &artifact.report;
    assert!(r.map_people >= 20, "{r:?}");
    assert!(r.rater_people >= 10, "{r:?}");
    assert!(r.reference_profiles >= 20, "{r:?}");
    assert!(
        r.interventions_trained > 0 && r.effect_ratings >= r.effect_rows,
        "{r:?}"
    );
    // The map the population shows is not the catalogue's flat default.
    let flat = tutti_engine::population::MapPrior::default_for(ProcessCatalog::builtin().len());
    assert_ne!(artifact.population.map.pole_mean, flat.pole_mean);
    assert_eq!(artifact.population.profiles.len(), r.reference_profiles);
}
