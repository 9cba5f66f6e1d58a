//! Behaviour: a tenant's people teach each other (online pooling). What many
//! people found about two otherwise identical interventions reaches a newcomer
//! who has tried neither, once the tenant's model is refitted on them; with
//! pooling off, the newcomer cannot tell the two apart.

use std::time::Duration;
use tutti_proto::v1::{
    Completion, DeletePersonRequest, Feedback, Intervention, RecommendResponse, Recommendation,
};
use tutti_server::convert::ids::TenantId;
use tutti_server::engines::{POOLING_METHOD, POOLING_PRINCIPAL};
use tutti_server::storage::decision_log::DecisionLog;
use tutti_tests::TestServer;
use tutti_tests::fixtures::{
    affect_driven_series, backfill, builtin_intervention_ids, create_twins, feedback, hours_ago,
    new_person, recommend, recommend_request, record_feedback, rid,
};

/// People who try both interventions (above the default `min_people`).
const PEOPLE: u64 = 12;
/// Assessments each person has.
const SERIES: u64 = 20;
/// Times each of them is offered and rates both.
const ROUNDS: usize = 3;

struct Clinic {
    server: TestServer,
    a: Intervention,
    b: Intervention,
    builtins: Vec<String>,
}

async fn clinic(pooling: bool) -> Clinic {
    // Greedy ranking: the expected benefits compared are then the model's,
    // not a Thompson draw.
    let server = TestServer::start_with(|c| {
        c.engine.exploration = 0.0;
        c.pooling.enabled = pooling;
    })
    .await
    .expect("server starts");
    let mut catalog = server.catalog();
    let builtins = builtin_intervention_ids(&mut catalog).await;
    let (a, b) = create_twins(&mut catalog, "pool").await;
    Clinic {
        server,
        a,
        b,
        builtins,
    }
}

impl Clinic {
    async fn person(&self, seed: u64) -> String {
        let mut people = self.server.people();
        let person = new_person(&mut people).await;
        backfill(
            &mut people,
            &person,
            // Everyone's well-being follows their affect, which both
            // interventions target: their maps agree on what helps.
            affect_driven_series(
                SERIES as usize,
                hours_ago(2),
                Duration::from_secs(86_400),
                seed,
            ),
        )
        .await;
        person
    }

    /// Ranks A and B only (both pinned) for `person`.
    async fn both(&self, person: &str) -> (RecommendResponse, Recommendation, Recommendation) {
        let mut req = recommend_request(person);
        req.exclude_intervention_ids = self.builtins.clone();
        req.pinned_intervention_ids = vec![self.a.id.clone(), self.b.id.clone()];
        req.max_results = 2;
        let resp = recommend(&mut self.server.recommendations(), req).await;
        let find = |id: &str| {
            resp.recommendations
                .iter()
                .find(|r| r.intervention.as_ref().expect("intervention").id == id)
                .unwrap_or_else(|| panic!("{id} not recommended"))
                .clone()
        };
        let (a, b) = (find(&self.a.id), find(&self.b.id));
        (resp, a, b)
    }

    /// Everyone who tries both finds A helpful and B not; returns them.
    async fn people_try_both(&self) -> Vec<String> {
        let mut recs = self.server.recommendations();
        let mut raters = Vec::new();
        for seed in 0..PEOPLE {
            let person = self.person(100 + seed).await;
            raters.push(person.clone());
            for _ in 0..ROUNDS {
                let (_, a, b) = self.both(&person).await;
                record_feedback(&mut recs, rated(&a.recommendation_id, 90.0)).await;
                record_feedback(&mut recs, rated(&b.recommendation_id, 10.0)).await;
            }
        }
        raters
    }

    /// Waits (bounded: a wait for an event, not a speed claim) until
    /// `person` is ranked by a pooled model that `accept`s its evidence.
    async fn pooled(
        &self,
        person: &str,
        accept: impl Fn(u64) -> bool,
    ) -> Option<(RecommendResponse, Recommendation, Recommendation)> {
        for _ in 0..300 {
            let (resp, a, b) = self.both(person).await;
            if evidence(&resp.model_version).is_some_and(&accept) {
                return Some((resp, a, b));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        None
    }
}

/// The evidence a pooled model was fitted on, from its version
/// (`<model>+pool.<evidence>.<digest>…`); `None` before pooling.
fn evidence(version: &str) -> Option<u64> {
    version
        .split("+pool.")
        .nth(1)?
        .split('.')
        .next()?
        .parse()
        .ok()
}

fn rated(rec: &str, helpfulness: f64) -> Feedback {
    Feedback {
        minutes_spent: Some(5),
        helpfulness: Some(helpfulness),
        ..feedback(rec, Completion::Done)
    }
}

fn benefit(r: &Recommendation) -> f64 {
    r.expected_benefit.expect("expected_benefit").mean
}

#[tokio::test]
async fn what_a_tenants_people_found_reaches_a_newcomer() {
    let clinic = clinic(true).await;
    let newcomer = clinic.person(7).await;
    let (before, a0, b0) = clinic.both(&newcomer).await;
    assert!(
        !before.model_version.contains("+pool."),
        "nothing pooled yet: {}",
        before.model_version
    );
    let raters = clinic.people_try_both().await;

    // The refit runs in the background after the writes that made it due.
    let pooled = clinic.pooled(&newcomer, |_| true).await;
    let (after, a1, b1) = pooled.expect("the tenant's model was never refitted on its people");
    assert!(
        benefit(&a1) - benefit(&b1) > benefit(&a0) - benefit(&b0) + 0.1,
        "the newcomer does not tell A from B after {PEOPLE} people rated them \
         (A {} vs B {}; before pooling {} vs {}; model {})",
        benefit(&a1),
        benefit(&b1),
        benefit(&a0),
        benefit(&b0),
        after.model_version
    );
    assert!(
        a1.score > b1.score,
        "A not ranked above B: {} vs {}",
        a1.score,
        b1.score
    );
    // The newcomer's own record is untouched: what moved is the population.
    let rationale = a1.rationale.expect("rationale");
    assert_eq!(rationale.times_done, 0);
    assert_eq!(rationale.mean_helpfulness, None);
    // Reading everyone's states to refit is in the tenant's audit trail.
    let tenant = TenantId::parse("default").expect("tenant id");
    let trail = DecisionLog::open(clinic.server.data_path())
        .expect("opens")
        .snapshot(|s| s.audit(&tenant))
        .expect("reads the audit trail");
    let refits: Vec<_> = trail
        .iter()
        .filter(|r| r.method == POOLING_METHOD)
        .collect();
    assert!(!refits.is_empty(), "no audit row for a pooling refit");
    assert!(
        refits
            .iter()
            .all(|r| r.principal == POOLING_PRINCIPAL && r.code == 0)
    );

    // Erasing someone refits without them, with no further writes: the refit
    // the erasure starts reads everyone's assessments and reports but theirs.
    clinic
        .server
        .people()
        .delete_person(DeletePersonRequest {
            request_id: rid(),
            name: raters[0].clone(),
        })
        .await
        .expect("erases");
    let remaining = (PEOPLE - 1) * (SERIES + 2 * ROUNDS as u64) + SERIES;
    assert!(
        clinic.pooled(&newcomer, |e| e == remaining).await.is_some(),
        "no refit on the {remaining} remaining assessments and reports after an erasure \
         (before it: {})",
        after.model_version
    );
}

#[tokio::test]
async fn with_pooling_off_a_newcomer_learns_nothing_from_others() {
    let clinic = clinic(false).await;
    let newcomer = clinic.person(7).await;
    let _ = clinic.people_try_both().await;
    let (resp, a, b) = clinic.both(&newcomer).await;
    assert!(
        !resp.model_version.contains("+pool."),
        "{}",
        resp.model_version
    );
    assert!(
        (benefit(&a) - benefit(&b)).abs() < 1e-9,
        "twins differ without pooling: {} vs {}",
        benefit(&a),
        benefit(&b)
    );
}
