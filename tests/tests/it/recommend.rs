//! Behaviour: Recommend returns a ranked, explained list for a person that
//! honours max_results, pins, exclusions, minutes available, dose limits,
//! contraindications and the tenant's own interventions.

use std::collections::HashSet;
use std::time::Duration;
use tonic::Code;
use tutti_proto::v1::{Condition, Intervention, RecommendResponse, RecommendationContext};
use tutti_tests::assertions::{assert_estimate, assert_probability, expect_code};
use tutti_tests::fixtures::{
    RATED_PROCESSES, assessment_series, backfill, catalogue, create_intervention, create_person,
    days_ago, hours_ago, new_intervention_id, new_person, new_person_id, now, person_name,
    recommend, recommend_request, ts, valid_intervention,
};
use tutti_tests::{PeopleClient, TestServer};

async fn start() -> TestServer {
    TestServer::start().await.expect("server starts")
}

/// A person with 30 days of daily assessments.
async fn person_with_history(people: &mut PeopleClient) -> String {
    let person = new_person(people).await;
    backfill(
        people,
        &person,
        assessment_series(30, hours_ago(1), Duration::from_secs(86_400), 42),
    )
    .await;
    person
}

/// The safety-path interventions: only recommended in safety mode.
const SAFETY: [&str; 2] = ["safety-plan", "crisis-resources-card"];

/// Interventions with no dose limit, no clinician, no contraindication and not
/// on the safety path: candidates for every person at any time.
fn plain(catalogue: &[Intervention]) -> Vec<&str> {
    catalogue
        .iter()
        .filter(|i| {
            i.min_days_between == 0
                && !i.requires_clinician
                && i.contraindications.is_empty()
                && !SAFETY.contains(&i.id.as_str())
        })
        .map(|i| i.id.as_str())
        .collect()
}

fn ids(resp: &RecommendResponse) -> Vec<String> {
    resp.recommendations
        .iter()
        .map(|r| {
            r.intervention
                .as_ref()
                .expect("intervention is set")
                .id
                .clone()
        })
        .collect()
}

/// Every id in `catalogue` except `keep`.
fn all_but(catalogue: &[Intervention], keep: &[&str]) -> Vec<String> {
    catalogue
        .iter()
        .map(|i| i.id.clone())
        .filter(|id| !keep.contains(&id.as_str()))
        .collect()
}

/// Checks everything the contract says about a response and each of its items.
fn assert_well_formed(resp: &RecommendResponse, catalogue: &[Intervention]) {
    assert!(!resp.decision_id.is_empty(), "no decision id");
    assert!(!resp.model_version.is_empty(), "no model version");
    let decided = std::time::SystemTime::try_from(resp.decide_time.expect("decide_time is set"))
        .expect("decide_time is valid");
    let skew = Duration::from_secs(300);
    assert!(
        decided <= now() + skew && decided >= now() - skew,
        "decide_time is not now"
    );
    assert!(
        resp.exploration.is_finite() && resp.exploration >= 0.0,
        "exploration {}",
        resp.exploration
    );
    if resp.top_items_indistinguishable {
        assert!(
            !resp.note.is_empty(),
            "indistinguishable top items but no note"
        );
    }
    let mut rec_ids = HashSet::new();
    let mut seen = HashSet::new();
    let mut propensity_sum = 0.0;
    for (i, item) in resp.recommendations.iter().enumerate() {
        let what = format!("item {i}");
        assert_eq!(
            item.rank as usize,
            i + 1,
            "{what}: ranks must be 1, 2, 3, ..."
        );
        assert!(
            rec_ids.insert(item.recommendation_id.clone()),
            "{what}: recommendation id repeated"
        );
        assert!(
            !item.recommendation_id.is_empty(),
            "{what}: no recommendation id"
        );
        let intervention = item.intervention.as_ref().expect("intervention is set");
        assert!(
            seen.insert(intervention.id.clone()),
            "{what}: {} listed twice",
            intervention.id
        );
        let listed = catalogue
            .iter()
            .find(|c| c.id == intervention.id)
            .unwrap_or_else(|| panic!("{what}: {} is not in the catalogue", intervention.id));
        assert_eq!(
            intervention, listed,
            "{what}: intervention differs from the catalogue"
        );
        assert!(item.score.is_finite(), "{what}: score not finite");
        assert!(!item.summary.trim().is_empty(), "{what}: empty summary");
        assert!(
            (0.0..=1.0).contains(&item.propensity),
            "{what}: propensity {}",
            item.propensity
        );
        propensity_sum += item.propensity;
        assert_estimate(
            item.expected_benefit.as_ref(),
            &format!("{what} expected_benefit"),
        );
        assert_probability(
            item.follow_through.as_ref(),
            &format!("{what} follow_through"),
        );
        let targeted: HashSet<&str> = item
            .targeted_process_ids
            .iter()
            .map(String::as_str)
            .collect();
        let catalogue_targets: HashSet<&str> = intervention
            .targets
            .iter()
            .map(|t| t.process_id.as_str())
            .collect();
        assert!(!targeted.is_empty(), "{what}: no targeted processes");
        assert_eq!(
            targeted, catalogue_targets,
            "{what}: targeted processes differ from the intervention's targets"
        );
        let rationale = item.rationale.as_ref().expect("rationale is set");
        assert_eq!(
            rationale.evidence, intervention.evidence,
            "{what}: rationale evidence"
        );
        assert!(
            !rationale.targets.is_empty(),
            "{what}: rationale has no targets"
        );
        for t in &rationale.targets {
            assert!(
                targeted.contains(t.process_id.as_str()),
                "{what}: rationale target {} not targeted",
                t.process_id
            );
            assert!(
                (0.0..=1.0).contains(&t.weight),
                "{what}: weight {}",
                t.weight
            );
            assert!(
                (0.0..=1.0).contains(&t.headroom),
                "{what}: headroom {}",
                t.headroom
            );
            assert_estimate(
                t.influence.as_ref(),
                &format!("{what} influence of {}", t.process_id),
            );
            for level in [t.adaptive_level, t.maladaptive_level]
                .into_iter()
                .flatten()
            {
                assert!(
                    (0.0..=100.0).contains(&level),
                    "{what}: level {level} outside 0-100"
                );
            }
        }
        if let Some(s) = rationale.sufficiency.as_ref() {
            assert!(
                (0.0..=1.0).contains(&s.own_data_weight),
                "{what}: own_data_weight {}",
                s.own_data_weight
            );
        }
        if let Some(h) = rationale.mean_helpfulness {
            assert!((0.0..=100.0).contains(&h), "{what}: mean helpfulness {h}");
        }
        assert!(
            rationale.times_done <= rationale.times_recommended,
            "{what}: done more often than recommended"
        );
        if intervention.requires_clinician {
            assert!(
                item.requires_clinician_review,
                "{what}: clinician-led {} not flagged for review",
                intervention.id
            );
        }
    }
    assert!(
        propensity_sum <= 1.0 + 1e-6,
        "propensities of being ranked first sum to {propensity_sum} > 1"
    );
}

#[tokio::test]
async fn recommend_returns_five_ranked_explained_items_by_default() {
    let server = start().await;
    let mut people = server.people();
    let person = person_with_history(&mut people).await;
    let catalogue = catalogue(&mut server.catalog()).await;
    let resp = recommend(&mut server.recommendations(), recommend_request(&person)).await;
    assert_eq!(resp.recommendations.len(), 5, "max_results 0 must mean 5");
    assert_well_formed(&resp, &catalogue);
    assert!(!resp.safety_mode, "safety mode without a risk flag");
    for item in &resp.recommendations {
        assert!(!item.pinned);
        let rationale = item.rationale.as_ref().expect("rationale");
        assert_eq!(
            rationale.times_recommended, 0,
            "first decision, yet recommended before"
        );
        for t in &rationale.targets {
            // The history rates affect, cognition and self on both poles, nothing else.
            let rated = RATED_PROCESSES.contains(&t.process_id.as_str());
            assert_eq!(
                t.adaptive_level.is_some(),
                rated,
                "adaptive level of {} (rated: {rated})",
                t.process_id
            );
            assert_eq!(
                t.maladaptive_level.is_some(),
                rated,
                "maladaptive level of {} (rated: {rated})",
                t.process_id
            );
        }
    }
}

#[tokio::test]
async fn recommend_works_for_a_person_without_assessments() {
    let server = start().await;
    let person = new_person(&mut server.people()).await;
    let catalogue = catalogue(&mut server.catalog()).await;
    let resp = recommend(&mut server.recommendations(), recommend_request(&person)).await;
    assert_eq!(resp.recommendations.len(), 5);
    assert_well_formed(&resp, &catalogue);
}

#[tokio::test]
async fn recommend_returns_exactly_max_results_items() {
    let server = start().await;
    let mut people = server.people();
    let catalogue = catalogue(&mut server.catalog()).await;
    for k in [1u32, 3, 20] {
        let person = person_with_history(&mut people).await;
        let mut req = recommend_request(&person);
        req.max_results = k;
        let resp = recommend(&mut server.recommendations(), req).await;
        assert_eq!(resp.recommendations.len(), k as usize, "max_results {k}");
        assert_well_formed(&resp, &catalogue);
    }
}

#[tokio::test]
async fn recommend_never_returns_excluded_interventions() {
    let server = start().await;
    let person = person_with_history(&mut server.people()).await;
    let catalogue = catalogue(&mut server.catalog()).await;
    // Keep six plain interventions (no dose limit, no clinician, no contraindication).
    let keep: Vec<&str> = plain(&catalogue).into_iter().take(6).collect();
    assert_eq!(
        keep.len(),
        6,
        "the catalogue has fewer than six plain interventions"
    );
    let mut req = recommend_request(&person);
    req.max_results = 20;
    req.exclude_intervention_ids = all_but(&catalogue, &keep);
    let resp = recommend(&mut server.recommendations(), req).await;
    let got = ids(&resp);
    assert!(
        got.iter().all(|id| keep.contains(&id.as_str())),
        "an excluded intervention came back: {got:?}"
    );
    assert_eq!(
        got.len(),
        6,
        "all six remaining candidates should be ranked, got {got:?}"
    );
    assert_well_formed(&resp, &catalogue);
}

#[tokio::test]
async fn recommend_puts_pinned_interventions_first_in_their_order() {
    let server = start().await;
    let person = person_with_history(&mut server.people()).await;
    let catalogue = catalogue(&mut server.catalog()).await;
    let plain = plain(&catalogue);
    // Pin two from the end of the list in reverse order, so neither order nor rank is a coincidence.
    let pins = vec![
        plain[plain.len() - 1].to_owned(),
        plain[plain.len() - 2].to_owned(),
    ];
    let mut req = recommend_request(&person);
    req.pinned_intervention_ids = pins.clone();
    let resp = recommend(&mut server.recommendations(), req).await;
    assert_well_formed(&resp, &catalogue);
    let got = ids(&resp);
    assert_eq!(got.len(), 5);
    assert_eq!(
        &got[..2],
        &pins[..],
        "pins must come first, in the order given"
    );
    for (i, item) in resp.recommendations.iter().enumerate() {
        assert_eq!(item.pinned, i < 2, "item {i}: pinned flag");
    }
}

#[tokio::test]
async fn recommend_only_returns_what_fits_the_minutes_available() {
    let server = start().await;
    let person = person_with_history(&mut server.people()).await;
    let catalogue = catalogue(&mut server.catalog()).await;
    for minutes in [2u32, 5, 15] {
        let mut req = recommend_request(&person);
        req.max_results = 20;
        req.context = Some(RecommendationContext {
            minutes_available: minutes,
            ..Default::default()
        });
        let resp = recommend(&mut server.recommendations(), req).await;
        assert!(
            !resp.recommendations.is_empty(),
            "{minutes} min: nothing recommended"
        );
        for item in &resp.recommendations {
            let i = item.intervention.as_ref().expect("intervention");
            assert!(
                i.effort_minutes <= minutes,
                "{minutes} min available but {} takes {}",
                i.id,
                i.effort_minutes
            );
        }
        assert_well_formed(&resp, &catalogue);
    }
}

#[tokio::test]
async fn every_decision_and_recommendation_gets_a_new_id() {
    let server = start().await;
    let person = person_with_history(&mut server.people()).await;
    let mut recs = server.recommendations();
    let mut decisions = HashSet::new();
    let mut recommendations = HashSet::new();
    for _ in 0..3 {
        let resp = recommend(&mut recs, recommend_request(&person)).await;
        assert!(
            decisions.insert(resp.decision_id.clone()),
            "decision id reused"
        );
        for item in resp.recommendations {
            assert!(
                recommendations.insert(item.recommendation_id),
                "recommendation id reused"
            );
        }
    }
}

#[tokio::test]
async fn recommend_for_an_unknown_person_returns_not_found() {
    let server = start().await;
    let result = server
        .recommendations()
        .recommend(recommend_request(&person_name(&new_person_id())))
        .await;
    expect_code(result, Code::NotFound, "Recommend for an unknown person");
}

#[tokio::test]
async fn a_tenant_intervention_is_recommended_when_it_is_the_only_candidate() {
    let server = start().await;
    let mut catalog = server.catalog();
    let builtins = catalogue(&mut catalog).await;
    let mine = create_intervention(
        &mut catalog,
        valid_intervention(&new_intervention_id("t-only")),
    )
    .await;
    let catalogue = catalogue(&mut catalog).await;
    let person = person_with_history(&mut server.people()).await;
    let mut req = recommend_request(&person);
    req.exclude_intervention_ids = builtins.iter().map(|i| i.id.clone()).collect();
    let resp = recommend(&mut server.recommendations(), req).await;
    assert_eq!(ids(&resp), vec![mine.id.clone()]);
    assert!(!resp.recommendations[0].pinned);
    assert!(
        !resp.recommendations[0]
            .intervention
            .as_ref()
            .expect("intervention")
            .built_in
    );
    assert_well_formed(&resp, &catalogue);
}

#[tokio::test]
async fn a_pinned_tenant_intervention_is_recommended_first() {
    let server = start().await;
    let mut catalog = server.catalog();
    let mine = create_intervention(
        &mut catalog,
        valid_intervention(&new_intervention_id("t-pin")),
    )
    .await;
    let catalogue = catalogue(&mut catalog).await;
    let person = person_with_history(&mut server.people()).await;
    let mut req = recommend_request(&person);
    req.pinned_intervention_ids = vec![mine.id.clone()];
    let resp = recommend(&mut server.recommendations(), req).await;
    assert_eq!(ids(&resp)[0], mine.id);
    assert!(resp.recommendations[0].pinned);
    assert_well_formed(&resp, &catalogue);
}

#[tokio::test]
async fn an_intervention_is_not_recommended_again_within_its_dose_limit() {
    let server = start().await;
    let mut catalog = server.catalog();
    let mut limited = valid_intervention(&new_intervention_id("t-dose"));
    limited.min_days_between = 7;
    let limited = create_intervention(&mut catalog, limited).await;
    let free = create_intervention(
        &mut catalog,
        valid_intervention(&new_intervention_id("t-free")),
    )
    .await;
    let builtins: Vec<String> = catalogue(&mut catalog)
        .await
        .into_iter()
        .filter(|i| i.built_in)
        .map(|i| i.id)
        .collect();
    let person = person_with_history(&mut server.people()).await;
    let mut recs = server.recommendations();
    let at = |days: u64| {
        let mut req = recommend_request(&person);
        req.exclude_intervention_ids = builtins.clone();
        req.request_time = Some(ts(days_ago(days)));
        req
    };

    let mut first = at(10);
    first.pinned_intervention_ids = vec![limited.id.clone()];
    assert_eq!(ids(&recommend(&mut recs, first).await)[0], limited.id);

    let within = ids(&recommend(&mut recs, at(8)).await);
    assert_eq!(
        within,
        vec![free.id.clone()],
        "recommended again 2 days into a 7-day dose limit"
    );

    let mut after = ids(&recommend(&mut recs, at(0)).await);
    after.sort();
    let mut both = vec![limited.id.clone(), free.id.clone()];
    both.sort();
    assert_eq!(after, both, "the dose limit must end after 7 days");
}

#[tokio::test]
async fn past_recommendations_are_counted_in_the_rationale() {
    let server = start().await;
    let mut catalog = server.catalog();
    let mine = create_intervention(
        &mut catalog,
        valid_intervention(&new_intervention_id("t-count")),
    )
    .await;
    let person = person_with_history(&mut server.people()).await;
    let mut recs = server.recommendations();
    for expected in 0..3u32 {
        let mut req = recommend_request(&person);
        req.pinned_intervention_ids = vec![mine.id.clone()];
        let resp = recommend(&mut recs, req).await;
        let item = &resp.recommendations[0];
        assert_eq!(
            item.intervention.as_ref().expect("intervention").id,
            mine.id
        );
        assert_eq!(
            item.rationale
                .as_ref()
                .expect("rationale")
                .times_recommended,
            expected,
            "times_recommended before decision {expected}"
        );
    }
}

#[tokio::test]
async fn contraindicated_and_clinician_led_interventions_are_flagged_for_review() {
    let server = start().await;
    let mut people = server.people();
    let id = new_person_id();
    create_person(&mut people, &id, &[Condition::TraumaHistory]).await;
    let person = person_name(&id);
    backfill(
        &mut people,
        &person,
        assessment_series(20, hours_ago(1), Duration::from_secs(86_400), 4),
    )
    .await;
    let catalogue = catalogue(&mut server.catalog()).await;
    let risky: Vec<&str> = catalogue
        .iter()
        .filter(|i| {
            i.requires_clinician
                || i.contraindications
                    .contains(&(Condition::TraumaHistory as i32))
        })
        .map(|i| i.id.as_str())
        .collect();
    assert!(
        risky.len() >= 3,
        "the catalogue should have contraindicated and clinician-led interventions"
    );
    // Leave only risky candidates: whatever is returned must be flagged.
    let mut req = recommend_request(&person);
    req.max_results = 20;
    req.exclude_intervention_ids = all_but(&catalogue, &risky);
    let resp = recommend(&mut server.recommendations(), req).await;
    assert_well_formed(&resp, &catalogue);
    // Clinician-led kernels are allowed with review, so something must come back.
    assert!(
        !resp.recommendations.is_empty(),
        "nothing recommended although clinician-led interventions are candidates"
    );
    for item in &resp.recommendations {
        let i = item.intervention.as_ref().expect("intervention");
        assert!(risky.contains(&i.id.as_str()), "{} was excluded", i.id);
        assert!(
            item.requires_clinician_review,
            "{} is contraindicated for this person or clinician-led but not flagged for review",
            i.id
        );
    }
    // And in an unrestricted ranking too.
    let mut req = recommend_request(&person);
    req.max_results = 20;
    let resp = recommend(&mut server.recommendations(), req).await;
    for item in &resp.recommendations {
        let i = item.intervention.as_ref().expect("intervention");
        if risky.contains(&i.id.as_str()) {
            assert!(
                item.requires_clinician_review,
                "{} not flagged for review",
                i.id
            );
        }
    }
}
