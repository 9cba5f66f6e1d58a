//! Behaviour: a trained model artifact is served from start-up, a newer one
//! dropped into the model directory is picked up without a restart (a broken
//! one in between is skipped), every recommendation names the model version
//! that made it, and the new model's knowledge changes the ranking. A server
//! configured with a model that does not load refuses to start.

use std::path::Path;
use std::time::{Duration, Instant};
use tutti_engine::Engine;
use tutti_engine::population::{EffectPrior, PopulationModel};
use tutti_engine::train::{TrainingSet, train};
use tutti_proto::v1::RecommendResponse;
use tutti_server::model::{FORMAT, ModelArtifact};
use tutti_tests::TestServer;
use tutti_tests::fixtures::{
    new_person, now, recommend, recommend_request, record_assessment, valid_assessment,
};

/// An artifact `version` whose population believes `boost` (if any) is worth
/// 40 well-being points, from 500 people.
fn artifact(version: &str, boost: Option<&str>) -> ModelArtifact {
    let base = Engine::with_defaults();
    let (mut population, report): (PopulationModel, _) = train(
        version,
        &TrainingSet::default(),
        base.interventions(),
        base.processes(),
    )
    .expect("trains");
    if let Some(id) = boost {
        population
            .effects
            .insert(id.into(), EffectPrior { mean: 40.0, n: 500 });
    }
    ModelArtifact {
        format: FORMAT.into(),
        version: version.into(),
        created_at: "2026-11-26T00:00:00Z".into(),
        source: serde_json::json!({ "kind": "test" }),
        report,
        population,
    }
}

/// Recommends until the response comes from `version` (the watcher polls
/// every second), or fails after a generous deadline.
async fn recommend_until(server: &TestServer, person: &str, version: &str) -> RecommendResponse {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut client = server.recommendations();
    loop {
        let resp = recommend(&mut client, recommend_request(person)).await;
        if resp.model_version.starts_with(&format!("{version}+cfg.")) {
            return resp;
        }
        assert!(
            Instant::now() < deadline,
            "still serving {} instead of {version}",
            resp.model_version
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A new person with one assessment, and their first ranking. Fresh
/// people, because a person's own ranking also moves with what they were
/// already offered (dose limits).
async fn first_ranking(server: &TestServer) -> RecommendResponse {
    let mut people = server.people();
    let person = new_person(&mut people).await;
    record_assessment(&mut people, &person, valid_assessment(now())).await;
    recommend(&mut server.recommendations(), recommend_request(&person)).await
}

fn ids(resp: &RecommendResponse) -> Vec<String> {
    resp.recommendations
        .iter()
        .map(|r| {
            r.intervention
                .as_ref()
                .map(|i| i.id.clone())
                .unwrap_or_default()
        })
        .collect()
}

fn write(dir: &Path, a: &ModelArtifact) {
    a.write(dir).expect("artifact written");
}

#[tokio::test]
async fn a_new_artifact_is_served_without_a_restart_and_changes_the_ranking() {
    let models = tempfile::tempdir().expect("model dir");
    write(models.path(), &artifact("trained-20260101T000000Z-a", None));
    let dir = models.path().to_owned();
    let server = TestServer::start_with(|c| {
        c.model.path = Some(dir);
        c.model.poll_seconds = 1;
        // Greedy: the ranking follows the beliefs, not a random draw.
        c.engine.exploration = 0.0;
    })
    .await
    .expect("server starts with the model");
    let mut people = server.people();
    let probe = new_person(&mut people).await;
    record_assessment(&mut people, &probe, valid_assessment(now())).await;

    let first = first_ranking(&server).await;
    assert!(
        first
            .model_version
            .starts_with("trained-20260101T000000Z-a+cfg.")
    );
    let before = ids(&first);
    let last = before.last().expect("a ranking").clone();
    assert_ne!(before[0], last);

    // A broken file with a greater name is skipped; the next good one is served.
    std::fs::write(
        models.path().join("trained-20260201T000000Z-b.json"),
        "{\"format\": \"tutti-model/1\", \"version\": ",
    )
    .expect("written");
    write(
        models.path(),
        &artifact("trained-20260301T000000Z-c", Some(&last)),
    );
    recommend_until(&server, &probe, "trained-20260301T000000Z-c").await;
    let second = first_ranking(&server).await;
    assert!(
        second
            .model_version
            .starts_with("trained-20260301T000000Z-c+cfg.")
    );
    let after = ids(&second);
    assert_eq!(
        after[0], last,
        "the new model believes {last} helps most: {before:?} -> {after:?}"
    );
    server.stop().await.expect("server stops");
}

#[tokio::test]
async fn a_model_that_does_not_load_stops_the_server_at_start() {
    let models = tempfile::tempdir().expect("model dir");
    let mut wrong = artifact("trained-x", None);
    wrong.population.variable_mean.pop();
    write(models.path(), &wrong);
    let dir = models.path().to_owned();
    let err = TestServer::start_with(|c| c.model.path = Some(dir))
        .await
        .err()
        .expect("the server refuses the artifact");
    assert!(format!("{err:#}").contains("do not fit"), "{err:#}");

    let empty = tempfile::tempdir().expect("empty dir");
    let dir = empty.path().to_owned();
    let err = TestServer::start_with(|c| c.model.path = Some(dir))
        .await
        .err()
        .expect("an empty model directory is refused");
    assert!(format!("{err:#}").contains("no *.json artifact"), "{err:#}");
}
