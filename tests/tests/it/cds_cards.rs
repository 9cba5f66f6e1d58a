//! `POST /cds-services/{id}` answers cards that follow the CDS Hooks 2.0.1
//! rules: info when on track, warning when not on track, critical on a risk
//! signal; `{"cards": []}` without data; 412 with an OperationOutcome when
//! required data cannot be had; prefetch or the EHR's FHIR server as source.

use serde_json::{Value, json};
use tutti_proto::v1::{
    GetInterventionRequest, GetPersonInsightsRequest, GetPersonRequest, RecommendRequest,
};
use tutti_tests::ehr::{
    self, ENCOUNTER_START, FhirServer, PATIENT_VIEW, assert_cds_rules, assert_golden, bundle,
    card_skeleton, cds_post, days_ago, fetch_hook, hook, person_of, phq9, phq9_item9, prefetch_of,
    weekly_history,
};

fn path(service: &str) -> String {
    format!("/cds-services/{service}")
}

fn only_card(body: &Value) -> &Value {
    let cards = body["cards"].as_array().expect("cards");
    assert_eq!(cards.len(), 1, "{body}");
    &cards[0]
}

#[tokio::test]
async fn a_patient_without_data_gets_no_cards() -> anyhow::Result<()> {
    let server = ehr::start().await?;
    let r = cds_post(
        &server,
        &path(PATIENT_VIEW),
        &hook("pt-empty", prefetch_of(vec![])),
    )
    .await?;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json(), json!({"cards": []}));
    server.stop().await
}

#[tokio::test]
async fn an_improving_patient_gets_an_info_card_with_suggestions_and_an_app_link()
-> anyhow::Result<()> {
    let server = ehr::start().await?;
    let history = weekly_history("pt-info", 6, 16.0, -1.5);
    let r = cds_post(
        &server,
        &path(PATIENT_VIEW),
        &hook("pt-info", prefetch_of(history)),
    )
    .await?;
    assert_eq!(r.status, 200, "{}", r.text);
    let body = r.json();
    assert_cds_rules(&body);
    let card = only_card(&body);
    assert_eq!(card["indicator"], "info", "{card}");
    let suggestions = card["suggestions"].as_array().expect("suggestions");
    assert_eq!(suggestions.len(), 3);
    assert_eq!(
        card["uuid"], suggestions[0]["uuid"],
        "the card is its first suggestion's decision"
    );
    assert_eq!(suggestions[0]["isRecommended"], true);
    assert!(
        suggestions[1].get("isRecommended").is_none(),
        "false is omitted"
    );
    let detail = card["detail"].as_str().expect("detail");
    assert!(detail.contains("**Why these suggestions**"), "{detail}");
    let link = &card["links"][0];
    assert_eq!(link["type"], "smart");
    assert!(
        link["url"]
            .as_str()
            .expect("url")
            .starts_with(&format!("{}/ehr/app?tutti_launch=", server.base_url()))
    );
    assert_golden("cds_card_info", &card_skeleton(card));
    // A retried hook (same hookInstance) gets the same logged decision.
    let again = hook(
        "pt-info",
        prefetch_of(weekly_history("pt-info", 6, 16.0, -1.5)),
    );
    let mut retry = again.clone();
    let first = cds_post(&server, &path(PATIENT_VIEW), &again).await?.json();
    retry["hookInstance"] = again["hookInstance"].clone();
    let second = cds_post(&server, &path(PATIENT_VIEW), &retry).await?.json();
    assert_eq!(only_card(&first)["uuid"], only_card(&second)["uuid"]);
    server.stop().await
}

#[tokio::test]
async fn a_worsening_patient_gets_a_not_on_track_warning() -> anyhow::Result<()> {
    let server = ehr::start().await?;
    let history = weekly_history("pt-warn", 8, 8.0, 2.2);
    let r = cds_post(&server, &path(ENCOUNTER_START), &{
        let mut h = hook("pt-warn", prefetch_of(history));
        h["hook"] = json!("encounter-start");
        h["context"]["encounterId"] = json!("enc-1");
        h
    })
    .await?;
    assert_eq!(r.status, 200, "{}", r.text);
    let body = r.json();
    assert_cds_rules(&body);
    let card = only_card(&body);
    assert_eq!(card["indicator"], "warning", "{card}");
    assert!(
        card["detail"]
            .as_str()
            .expect("detail")
            .contains("**Not on track.**")
    );
    assert_golden("cds_card_warning", &card_skeleton(card));
    server.stop().await
}

#[tokio::test]
async fn phq9_item9_above_zero_gives_a_critical_card_on_the_safety_path() -> anyhow::Result<()> {
    let server = ehr::start().await?;
    let mut history = weekly_history("pt-risk", 4, 14.0, 0.0);
    let today = days_ago(0);
    history.push(phq9_item9("item9", "pt-risk", &today, 2));
    let r = cds_post(
        &server,
        &path(PATIENT_VIEW),
        &hook("pt-risk", prefetch_of(history)),
    )
    .await?;
    assert_eq!(r.status, 200, "{}", r.text);
    let body = r.json();
    assert_cds_rules(&body);
    let card = only_card(&body);
    assert_eq!(card["indicator"], "critical", "{card}");
    assert!(
        card["detail"]
            .as_str()
            .expect("detail")
            .starts_with("**Risk signal.**")
    );
    assert_golden("cds_card_critical", &card_skeleton(card));

    // The safety path itself, read over gRPC: the risk is active for the
    // person, ranking is in safety mode with the safety kernels first, and
    // those are the card's first suggestions.
    let person = format!("people/{}", person_of("pt-risk", ehr::ISS, ehr::TENANT));
    let insights = server
        .people_as(ehr::TENANT)
        .get_person_insights(GetPersonInsightsRequest {
            person: person.clone(),
        })
        .await?
        .into_inner();
    assert!(insights.risk_active, "{insights:?}");
    let ranked = server
        .recommendations_as(ehr::TENANT)
        .recommend(RecommendRequest {
            request_id: uuid::Uuid::new_v4().to_string(),
            person,
            max_results: 3,
            ..RecommendRequest::default()
        })
        .await?
        .into_inner();
    assert!(ranked.safety_mode);
    let mut safety = Vec::new();
    for id in ["safety-plan", "crisis-resources-card"] {
        let iv = server
            .catalog_as(ehr::TENANT)
            .get_intervention(GetInterventionRequest { id: id.into() })
            .await?
            .into_inner()
            .intervention
            .expect("built in");
        safety.push(format!("Plan: {}", iv.display_name));
    }
    let first_ids: Vec<&str> = ranked.recommendations[..2]
        .iter()
        .filter_map(|r| r.intervention.as_ref().map(|i| i.id.as_str()))
        .collect();
    let mut sorted = first_ids.clone();
    sorted.sort_unstable();
    assert_eq!(
        sorted,
        ["crisis-resources-card", "safety-plan"],
        "{ranked:?}"
    );
    let mut labels: Vec<String> = card["suggestions"].as_array().expect("suggestions")[..2]
        .iter()
        .map(|s| s["label"].as_str().expect("label").to_owned())
        .collect();
    labels.sort_unstable();
    safety.sort_unstable();
    assert_eq!(labels, safety, "{card}");
    server.stop().await
}

#[tokio::test]
async fn missing_prefetch_without_a_fhir_server_is_412_with_an_operation_outcome()
-> anyhow::Result<()> {
    let server = ehr::start().await?;
    let mut h = hook("pt-412", json!({"observations": bundle(vec![])}));
    h.as_object_mut().expect("obj").remove("fhirServer");
    let r = cds_post(&server, &path(PATIENT_VIEW), &h).await?;
    assert_eq!(r.status, 412, "{}", r.text);
    let oo = r.json();
    assert_eq!(oo["resourceType"], "OperationOutcome");
    assert!(
        oo["issue"][0]["diagnostics"]
            .as_str()
            .expect("text")
            .contains("questionnaireResponses")
    );
    // A prefetch key sent as null (the EHR could not fetch it) is missing too.
    let h = hook(
        "pt-412",
        json!({"observations": null, "questionnaireResponses": bundle(vec![])}),
    );
    let r = cds_post(&server, &path(PATIENT_VIEW), &h).await?;
    assert_eq!(r.status, 412, "{}", r.text);
    server.stop().await
}

#[tokio::test]
async fn without_prefetch_the_data_is_read_from_the_fhir_server_with_the_given_token()
-> anyhow::Result<()> {
    let server = ehr::start().await?;
    let token = "fhir-access-token-for-test";
    let fhir = FhirServer::start(weekly_history("pt-fetch", 5, 15.0, -1.0), token).await?;
    let body = fetch_hook("pt-fetch", &fhir.base(), token);
    let r = cds_post(&server, &path(PATIENT_VIEW), &body).await?;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_cds_rules(&r.json());
    assert_eq!(only_card(&r.json())["indicator"], "info");
    let asked = fhir.requests.lock().expect("lock").clone();
    assert_eq!(asked.len(), 2, "{asked:?}");
    assert!(
        asked
            .iter()
            .any(|p| p.starts_with("/fhir/Observation?patient=pt-fetch")),
        "{asked:?}"
    );
    // A wrong token is refused by the FHIR server: the data cannot be had.
    let mut bad = body.clone();
    bad["hookInstance"] = json!(uuid::Uuid::new_v4().to_string());
    bad["fhirAuthorization"]["access_token"] = json!("wrong");
    let r = cds_post(&server, &path(PATIENT_VIEW), &bad).await?;
    assert_eq!(r.status, 412, "{}", r.text);
    server.stop().await
}

#[tokio::test]
async fn invalid_prefetched_fhir_or_a_wrong_hook_is_400_with_an_operation_outcome()
-> anyhow::Result<()> {
    let server = ehr::start().await?;
    let mut bad = phq9("bad", "pt-bad", &days_ago(0), 12.0);
    bad["valueQuantity"]["value"] = json!(31);
    let r = cds_post(
        &server,
        &path(PATIENT_VIEW),
        &hook("pt-bad", prefetch_of(vec![bad])),
    )
    .await?;
    assert_eq!(r.status, 400, "{}", r.text);
    let oo = r.json();
    assert_eq!(
        oo["issue"][0]["expression"][0],
        "prefetch.observations.Bundle.entry[0].resource.valueQuantity.value"
    );
    let mut wrong = hook("pt-bad", prefetch_of(vec![]));
    wrong["hook"] = json!("order-sign");
    let r = cds_post(&server, &path(PATIENT_VIEW), &wrong).await?;
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["issue"][0]["expression"][0], "hook");
    let r = cds_post(
        &server,
        "/cds-services/nope",
        &hook("pt-bad", prefetch_of(vec![])),
    )
    .await?;
    assert_eq!(r.status, 404);
    server.stop().await
}

#[tokio::test]
async fn a_prefetched_resource_of_another_patient_is_400_and_stores_nothing() -> anyhow::Result<()>
{
    let server = ehr::start().await?;
    let mut data = weekly_history("pt-mine", 3, 12.0, 0.0);
    data.push(phq9("phq-theirs", "pt-theirs", &days_ago(1), 22.0));
    let r = cds_post(
        &server,
        &path(PATIENT_VIEW),
        &hook("pt-mine", prefetch_of(data)),
    )
    .await?;
    assert_eq!(r.status, 400, "{}", r.text);
    let oo = r.json();
    assert_eq!(oo["resourceType"], "OperationOutcome");
    let issues = oo["issue"].as_array().expect("issues");
    assert_eq!(issues.len(), 1, "{oo}");
    // The prefetch's observations are the three weekly PHQ-9s, then theirs.
    assert_eq!(
        issues[0]["expression"][0],
        "prefetch.observations.Bundle.entry[3].resource.subject"
    );
    for patient in ["pt-mine", "pt-theirs"] {
        let status = server
            .people_as(ehr::TENANT)
            .get_person(GetPersonRequest {
                name: format!("people/{}", person_of(patient, ehr::ISS, ehr::TENANT)),
            })
            .await
            .expect_err("nothing stored, not even the person");
        assert_eq!(
            status.code(),
            tonic::Code::NotFound,
            "{patient}: {status:?}"
        );
    }
    server.stop().await
}
