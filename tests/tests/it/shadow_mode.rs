//! Behaviour: a tenant configured with `mode = "shadow"` keeps showing the
//! platform's own choice while Tutti ranks as usual. Recommend says so
//! (`shadow`), logs the ranking with its propensities beside the platform's
//! choice, and gives that choice a recommendation id that feedback attaches
//! to; feedback on a ranked item nobody saw is refused. A live tenant is
//! unaffected (a platform choice it sends is only logged). The offline tools
//! read the difference: `tutti export` has the shadow columns and
//! `tutti evaluate --db` keeps shadow decisions out of its off-policy estimates.

use clap::Parser as _;
use std::path::Path;
use tonic::Code;
use tutti_proto::v1::{
    Completion, Intervention, RecommendRequest, RecommendResponse, RecordFeedbackRequest,
};
use tutti_server::config::TenantMode;
use tutti_tests::assertions::{expect_code, expect_invalid_field};
use tutti_tests::fixtures::{
    feedback, hours_ago, new_person, recommend, recommend_request, record_assessment,
    record_feedback, unrestricted_built_in, valid_assessment,
};
use tutti_tests::{RecommendationClient, TestServer};
use tutti_workbench::evaluate::{EvaluateArgs, evaluate};
use tutti_workbench::export;
use tutti_workbench::output::{Cell, Table};
use tutti_workbench::{Cli, Command};

const SHADOW: &str = "clinic-shadow";
const LIVE: &str = "clinic-live";

async fn start() -> TestServer {
    TestServer::start_with_modes(&[(SHADOW, TenantMode::Shadow)])
        .await
        .expect("server starts")
}

/// The platform's pick for `tenant`: an unrestricted built-in intervention.
async fn platform_pick(server: &TestServer, tenant: &str) -> Intervention {
    unrestricted_built_in(&mut server.catalog_as(tenant)).await
}

/// A person of `tenant` with one assessment, and a recommend request for them.
async fn person_with_request(server: &TestServer, tenant: &str) -> RecommendRequest {
    let mut people = server.people_as(tenant);
    let person = new_person(&mut people).await;
    record_assessment(&mut people, &person, valid_assessment(hours_ago(2))).await;
    recommend_request(&person)
}

fn export_decisions(server: &TestServer, tenant: &str) -> Table {
    export::build(
        server.data_path(),
        tenant,
        &tutti_workbench::args::OperatorArgs {
            operator: "test-operator".into(),
        },
    )
    .expect("export builds")
    .decisions
    .table
}

fn col(t: &Table, name: &str) -> usize {
    t.header
        .iter()
        .position(|h| h == name)
        .unwrap_or_else(|| panic!("no column {name}"))
}

/// The rows of one decision.
fn rows_of<'a>(t: &'a Table, decision: &str) -> Vec<&'a Vec<Cell>> {
    let d = col(t, "decision_id");
    t.rows
        .iter()
        .filter(|r| r[d] == Cell::text(decision))
        .collect()
}

fn text(s: &str) -> Cell {
    Cell::text(s)
}

async fn shadow_recommend(
    recs: &mut RecommendationClient,
    request: RecommendRequest,
) -> RecommendResponse {
    let resp = recommend(recs, request).await;
    assert!(resp.shadow, "a shadow tenant's answer says it is shadow");
    assert!(
        !resp.platform_recommendation_id.is_empty(),
        "the platform's choice gets a recommendation id"
    );
    assert!(!resp.recommendations.is_empty(), "the engine still ranks");
    resp
}

#[tokio::test]
async fn a_shadow_decision_logs_the_ranking_and_the_platform_choice_and_feedback_attaches_to_the_choice()
 {
    let server = start().await;
    let choice = platform_pick(&server, SHADOW).await;
    let mut recs = server.recommendations_as(SHADOW);
    let mut req = person_with_request(&server, SHADOW).await;
    req.platform_intervention_id = choice.id.clone();
    let resp = shadow_recommend(&mut recs, req).await;
    for r in &resp.recommendations {
        assert!(
            r.propensity > 0.0 && r.propensity <= 1.0,
            "propensities are logged as in live mode: {}",
            r.propensity
        );
        assert_ne!(r.recommendation_id, resp.platform_recommendation_id);
    }

    let mut done = feedback(&resp.platform_recommendation_id, Completion::Done);
    done.helpfulness = Some(70.0);
    let stored = record_feedback(&mut recs, done).await;
    assert!(!stored.id.is_empty());
    assert_eq!(stored.recommendation_id, resp.platform_recommendation_id);

    let unseen = &resp.recommendations[0].recommendation_id;
    let refused = recs
        .record_feedback(RecordFeedbackRequest {
            request_id: tutti_tests::fixtures::rid(),
            feedback: Some(feedback(unseen, Completion::Done)),
        })
        .await;
    expect_code(
        refused,
        Code::FailedPrecondition,
        "feedback on a shadow item nobody saw",
    );

    let t = export_decisions(&server, SHADOW);
    let rows = rows_of(&t, &resp.decision_id);
    assert_eq!(
        rows.len(),
        resp.recommendations.len() + 1,
        "the ranked items and the platform's choice"
    );
    let (shadow, platform, agreed, role, rec, iv, rank, prop, completion, reward) = (
        col(&t, "shadow"),
        col(&t, "platform_intervention_id"),
        col(&t, "engine_agreed"),
        col(&t, "role"),
        col(&t, "recommendation_id"),
        col(&t, "intervention_id"),
        col(&t, "rank"),
        col(&t, "propensity"),
        col(&t, "completion"),
        col(&t, "reward"),
    );
    let first = resp.recommendations[0]
        .intervention
        .as_ref()
        .expect("intervention");
    for row in &rows {
        assert_eq!(row[shadow], Cell::Bool(true));
        assert_eq!(row[platform], text(&choice.id));
        assert_eq!(row[agreed], Cell::Bool(first.id == choice.id));
    }
    let platform_row = rows
        .iter()
        .find(|r| r[role] == text("platform"))
        .expect("a platform row");
    assert_eq!(platform_row[rec], text(&resp.platform_recommendation_id));
    assert_eq!(platform_row[iv], text(&choice.id));
    assert_eq!(platform_row[rank], Cell::Null, "the platform ranks nothing");
    assert_eq!(platform_row[prop], Cell::Null, "its propensity is unknown");
    assert_eq!(platform_row[completion], text("done"));
    assert_eq!(platform_row[reward], Cell::Float(0.7));
    for r in &resp.recommendations {
        let row = rows
            .iter()
            .find(|row| row[rec] == text(&r.recommendation_id))
            .expect("every ranked item is logged");
        assert_eq!(row[role], text("shadow"));
        assert_eq!(row[rank], Cell::Int(i64::from(r.rank)));
        assert_eq!(row[prop], Cell::Float(r.propensity));
        assert_eq!(row[completion], Cell::Null);
    }

    // The export's files carry the same columns.
    let out = tempfile::tempdir().expect("temp dir");
    Cli::try_parse_from([
        "tutti",
        "export",
        "--db",
        server.data_path().to_str().expect("utf-8"),
        "--tenant",
        SHADOW,
        "--format",
        "csv",
        "--out",
        out.path().to_str().expect("utf-8"),
    ])
    .expect("arguments parse")
    .run()
    .expect("export runs");
    let csv = std::fs::read_to_string(out.path().join("decisions.csv")).expect("csv");
    let header: Vec<&str> = csv.lines().next().expect("header").split(',').collect();
    for c in [
        "shadow",
        "platform_intervention_id",
        "engine_agreed",
        "role",
    ] {
        assert!(header.contains(&c), "decisions.csv has no {c} column");
    }
    server.stop().await.expect("server stops");
}

#[tokio::test]
async fn a_shadow_decision_counts_the_platform_choice_as_offered_not_the_ranking() {
    let server = start().await;
    let choice = platform_pick(&server, SHADOW).await;
    let mut recs = server.recommendations_as(SHADOW);
    let mut req = person_with_request(&server, SHADOW).await;
    req.platform_intervention_id = choice.id.clone();
    let first = shadow_recommend(&mut recs, req.clone()).await;
    let unseen = first
        .recommendations
        .iter()
        .filter_map(|r| r.intervention.as_ref())
        .find(|i| i.id != choice.id)
        .expect("a ranked item other than the platform's choice")
        .id
        .clone();

    // Pinned, both appear in the next ranking with what the person has seen.
    let mut next = recommend_request(&req.person);
    next.platform_intervention_id = choice.id.clone();
    next.pinned_intervention_ids = vec![choice.id.clone(), unseen.clone()];
    let second = shadow_recommend(&mut recs, next).await;
    let times = |id: &str| {
        second
            .recommendations
            .iter()
            .find(|r| r.intervention.as_ref().is_some_and(|i| i.id == id))
            .and_then(|r| r.rationale.as_ref())
            .map(|r| r.times_recommended)
            .unwrap_or_else(|| panic!("{id} is pinned, so ranked"))
    };
    assert_eq!(times(&choice.id), 1, "the platform's choice was offered");
    assert_eq!(times(&unseen), 0, "a shadow item was not offered");
    server.stop().await.expect("server stops");
}

#[tokio::test]
async fn a_live_tenant_is_unaffected_and_only_logs_a_platform_choice() {
    let server = start().await;
    let choice = platform_pick(&server, LIVE).await;
    let mut recs = server.recommendations_as(LIVE);
    let req = person_with_request(&server, LIVE).await;
    let plain = recommend(&mut recs, req.clone()).await;
    assert!(!plain.shadow);
    assert!(plain.platform_recommendation_id.is_empty());

    let mut with_choice = recommend_request(&req.person);
    with_choice.platform_intervention_id = choice.id.clone();
    let resp = recommend(&mut recs, with_choice).await;
    assert!(!resp.shadow, "the tenant's mode decides, not the request");
    assert!(resp.platform_recommendation_id.is_empty());
    record_feedback(
        &mut recs,
        feedback(&resp.recommendations[0].recommendation_id, Completion::Done),
    )
    .await;

    let t = export_decisions(&server, LIVE);
    let (shadow, platform, role) = (
        col(&t, "shadow"),
        col(&t, "platform_intervention_id"),
        col(&t, "role"),
    );
    for (decision, expected) in [(&plain, Cell::Null), (&resp, text(&choice.id))] {
        let rows = rows_of(&t, &decision.decision_id);
        assert_eq!(
            rows.len(),
            decision.recommendations.len(),
            "no platform row"
        );
        for row in rows {
            assert_eq!(row[shadow], Cell::Bool(false));
            assert_eq!(row[role], text("live"));
            assert_eq!(row[platform], expected);
        }
    }
    server.stop().await.expect("server stops");
}

#[tokio::test]
async fn a_missing_or_unknown_platform_choice_is_invalid_and_stores_nothing() {
    let server = start().await;
    let mut recs = server.recommendations_as(SHADOW);
    let req = person_with_request(&server, SHADOW).await;
    expect_invalid_field(
        recs.recommend(req.clone()).await,
        "platform_intervention_id",
        "shadow mode without the platform's choice",
    );
    for bad in ["not-in-the-catalogue", "Not An Id"] {
        let mut r = req.clone();
        r.platform_intervention_id = bad.to_owned();
        expect_invalid_field(
            recs.recommend(r).await,
            "platform_intervention_id",
            "a platform choice outside the catalogue",
        );
    }
    let mut live = server.recommendations_as(LIVE);
    let mut r = person_with_request(&server, LIVE).await;
    r.platform_intervention_id = "not-in-the-catalogue".to_owned();
    expect_invalid_field(
        live.recommend(r).await,
        "platform_intervention_id",
        "a live tenant's platform choice is checked too",
    );
    assert!(export_decisions(&server, SHADOW).rows.is_empty());
    assert!(export_decisions(&server, LIVE).rows.is_empty());

    // Nothing was kept under the request id either: fixed, it goes through.
    let mut fixed = req;
    fixed.platform_intervention_id = platform_pick(&server, SHADOW).await.id;
    shadow_recommend(&mut recs, fixed).await;
    server.stop().await.expect("server stops");
}

#[tokio::test]
async fn a_shadow_recommend_retried_with_its_request_id_returns_the_first_answer_and_logs_once() {
    let server = start().await;
    let mut recs = server.recommendations_as(SHADOW);
    let mut req = person_with_request(&server, SHADOW).await;
    req.platform_intervention_id = platform_pick(&server, SHADOW).await.id;
    let first = shadow_recommend(&mut recs, req.clone()).await;
    let retry = shadow_recommend(&mut recs, req).await;
    assert_eq!(
        retry, first,
        "same decision, same platform recommendation id"
    );
    let t = export_decisions(&server, SHADOW);
    assert_eq!(t.rows.len(), first.recommendations.len() + 1, "logged once");
    server.stop().await.expect("server stops");
}

#[expect(
    clippy::wildcard_enum_match_arm,
    reason = "a test takes the one subcommand it parsed"
)]
fn evaluate_args(db: &Path, out: &Path, tenant: &str) -> EvaluateArgs {
    let argv = [
        "tutti",
        "evaluate",
        "--db",
        db.to_str().expect("utf-8"),
        "--tenant",
        tenant,
        "--bootstrap",
        "100",
        "--out",
        out.to_str().expect("utf-8"),
    ];
    match Cli::try_parse_from(argv).expect("arguments parse").command {
        Command::Evaluate(a) => a,
        other => panic!("parsed as {other:?}"),
    }
}

#[tokio::test]
async fn evaluate_keeps_shadow_decisions_out_of_the_off_policy_estimates() {
    let mut server = start().await;
    let choice = platform_pick(&server, SHADOW).await;
    let mut recs = server.recommendations_as(SHADOW);
    let helpfulness = [80.0, 40.0, 60.0];
    let mut agreed = 0;
    for h in helpfulness {
        let mut req = person_with_request(&server, SHADOW).await;
        req.platform_intervention_id = choice.id.clone();
        let resp = shadow_recommend(&mut recs, req).await;
        if resp.recommendations[0]
            .intervention
            .as_ref()
            .is_some_and(|i| i.id == choice.id)
        {
            agreed += 1;
        }
        let mut f = feedback(&resp.platform_recommendation_id, Completion::Done);
        f.helpfulness = Some(h);
        record_feedback(&mut recs, f).await;
    }
    server.shutdown().await.expect("server stops");
    let out = tempfile::tempdir().expect("temp dir");
    let report = evaluate(&evaluate_args(server.data_path(), out.path(), SHADOW))
        .expect("a log of shadow decisions only is evaluated");
    assert!(
        report.evaluation.is_none(),
        "no importance weights without the platform's propensities"
    );
    assert_eq!(report.decisions_used, 0);
    assert_eq!(report.skipped.shadow, helpfulness.len());
    let s = report.shadow.as_ref().expect("a shadow summary");
    assert_eq!(s.decisions, helpfulness.len());
    assert_eq!(s.with_feedback, helpfulness.len());
    let mean = helpfulness.iter().sum::<f64>() / 100.0 / helpfulness.len() as f64;
    assert!((s.platform_mean_reward - mean).abs() < 1e-12);
    assert!((s.logged_agreement - f64::from(agreed) / 3.0).abs() < 1e-12);
    assert!((0.0..=1.0).contains(&s.target_agreement));
    assert!(s.direct_method.is_some_and(f64::is_finite));
    let shadow_csv = std::fs::read_to_string(out.path().join("shadow.csv")).expect("shadow.csv");
    assert_eq!(shadow_csv.lines().count(), 1 + helpfulness.len());
}

#[tokio::test]
async fn after_going_live_a_replay_counts_the_platform_choices_and_reproduces_live_propensities() {
    let mut server = start().await;
    let choice = platform_pick(&server, SHADOW).await;
    let mut people = Vec::new();
    let mut recs = server.recommendations_as(SHADOW);
    for h in [50.0, 90.0] {
        let mut req = person_with_request(&server, SHADOW).await;
        req.platform_intervention_id = choice.id.clone();
        let resp = shadow_recommend(&mut recs, req.clone()).await;
        let mut f = feedback(&resp.platform_recommendation_id, Completion::Done);
        f.helpfulness = Some(h);
        record_feedback(&mut recs, f).await;
        people.push(req.person);
    }
    server
        .restart_with(|config| {
            if let Some(t) = config.tenants.get_mut(SHADOW) {
                t.mode = TenantMode::Live;
            }
        })
        .await
        .expect("server restarts live");
    let mut recs = server.recommendations_as(SHADOW);
    for person in &people {
        // The platform still names its choice; the tenant's mode decides.
        let mut req = recommend_request(person);
        req.platform_intervention_id = choice.id.clone();
        let resp = recommend(&mut recs, req).await;
        assert!(!resp.shadow, "the tenant is live now");
        let mut f = feedback(&resp.recommendations[0].recommendation_id, Completion::Done);
        f.helpfulness = Some(60.0);
        record_feedback(&mut recs, f).await;
    }
    server.shutdown().await.expect("server stops");

    let out = tempfile::tempdir().expect("temp dir");
    let report =
        evaluate(&evaluate_args(server.data_path(), out.path(), SHADOW)).expect("evaluates");
    assert_eq!(report.decisions_total, 2 * people.len());
    assert_eq!(report.decisions_used, people.len(), "the live decisions");
    assert_eq!(report.skipped.shadow, people.len());
    let d = &report
        .evaluation
        .as_ref()
        .expect("live decisions have estimates")
        .diagnostics;
    assert!(
        (d.max_weight - 1.0).abs() < 1e-9 && (d.mean_weight - 1.0).abs() < 1e-9,
        "replaying what each person was offered reproduces the live propensities: mean {}, max {}",
        d.mean_weight,
        d.max_weight
    );
    assert_eq!(report.shadow.as_ref().map(|s| s.decisions), Some(2));
}
