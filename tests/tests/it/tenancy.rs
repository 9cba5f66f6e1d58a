//! Behaviour: tenants (named by `x-tutti-tenant`) are isolated. One tenant can
//! neither see nor change another's people, recommendations or interventions;
//! the same ids and request ids in two tenants are independent; no header
//! means the tenant "default".

use tonic::Code;
use tutti_proto::v1::{
    Completion, CreatePersonRequest, DeletePersonRequest, GetInterventionRequest,
    GetPersonInsightsRequest, GetPersonRequest, ListAssessmentsRequest, ListInterventionsRequest,
    RecordAssessmentRequest, RecordFeedbackRequest,
};
use tutti_tests::TestServer;
use tutti_tests::assertions::expect_code;
use tutti_tests::fixtures::{
    create_intervention, create_person, feedback, get_person, hours_ago, list_all_interventions,
    new_intervention_id, new_person_id, person_name, recommend, recommend_request,
    record_assessment, rid, valid_assessment, valid_intervention,
};

const A: &str = "tenant-a";
const B: &str = "tenant-b";

async fn start() -> TestServer {
    TestServer::start().await.expect("server starts")
}

#[tokio::test]
async fn another_tenant_cannot_see_or_touch_a_person() {
    let server = start().await;
    let mut people_a = server.people_as(A);
    let id = new_person_id();
    create_person(&mut people_a, &id, &[]).await;
    let person = person_name(&id);
    record_assessment(&mut people_a, &person, valid_assessment(hours_ago(1))).await;

    let mut people_b = server.people_as(B);
    expect_code(
        people_b
            .get_person(GetPersonRequest {
                name: person.clone(),
            })
            .await,
        Code::NotFound,
        "B: GetPerson",
    );
    expect_code(
        people_b
            .list_assessments(ListAssessmentsRequest {
                person: person.clone(),
                page_size: 0,
                page_token: String::new(),
            })
            .await,
        Code::NotFound,
        "B: ListAssessments",
    );
    expect_code(
        people_b
            .get_person_insights(GetPersonInsightsRequest {
                person: person.clone(),
            })
            .await,
        Code::NotFound,
        "B: GetPersonInsights",
    );
    expect_code(
        people_b
            .record_assessment(RecordAssessmentRequest {
                request_id: rid(),
                person: person.clone(),
                assessment: Some(valid_assessment(hours_ago(1))),
            })
            .await,
        Code::NotFound,
        "B: RecordAssessment",
    );
    expect_code(
        server
            .recommendations_as(B)
            .recommend(recommend_request(&person))
            .await,
        Code::NotFound,
        "B: Recommend",
    );
    expect_code(
        people_b
            .delete_person(DeletePersonRequest {
                request_id: rid(),
                name: person.clone(),
            })
            .await,
        Code::NotFound,
        "B: DeletePerson",
    );
    let p = get_person(&mut people_a, &person).await;
    assert_eq!(p.assessment_count, 1, "tenant B changed tenant A's person");
}

#[tokio::test]
async fn another_tenant_cannot_give_feedback_on_a_recommendation() {
    let server = start().await;
    let mut people_a = server.people_as(A);
    let id = new_person_id();
    create_person(&mut people_a, &id, &[]).await;
    let person = person_name(&id);
    let decision = recommend(
        &mut server.recommendations_as(A),
        recommend_request(&person),
    )
    .await;
    let rec = &decision.recommendations[0].recommendation_id;
    let result = server
        .recommendations_as(B)
        .record_feedback(RecordFeedbackRequest {
            request_id: rid(),
            feedback: Some(feedback(rec, Completion::Done)),
        })
        .await;
    expect_code(result, Code::NotFound, "B: feedback on A's recommendation");
    assert_eq!(get_person(&mut people_a, &person).await.feedback_count, 0);
}

#[tokio::test]
async fn the_same_person_id_in_two_tenants_names_two_people() {
    let server = start().await;
    let id = new_person_id();
    let person = person_name(&id);
    let (mut people_a, mut people_b) = (server.people_as(A), server.people_as(B));
    create_person(&mut people_a, &id, &[]).await;
    create_person(&mut people_b, &id, &[tutti_proto::v1::Condition::Cardiac]).await;
    record_assessment(&mut people_a, &person, valid_assessment(hours_ago(2))).await;
    record_assessment(&mut people_a, &person, valid_assessment(hours_ago(1))).await;
    let (a, b) = (
        get_person(&mut people_a, &person).await,
        get_person(&mut people_b, &person).await,
    );
    assert_eq!((a.assessment_count, b.assessment_count), (2, 0));
    assert!(a.conditions.is_empty());
    assert_eq!(
        b.conditions,
        vec![tutti_proto::v1::Condition::Cardiac as i32]
    );
    people_b
        .delete_person(DeletePersonRequest {
            request_id: rid(),
            name: person.clone(),
        })
        .await
        .expect("B deletes its own person");
    assert_eq!(
        get_person(&mut people_a, &person).await.assessment_count,
        2,
        "B's delete erased A's person"
    );
}

#[tokio::test]
async fn request_ids_are_scoped_to_a_tenant() {
    let server = start().await;
    let shared = rid();
    let (id_a, id_b) = (new_person_id(), new_person_id());
    let a = server
        .people_as(A)
        .create_person(CreatePersonRequest {
            request_id: shared.clone(),
            person_id: id_a.clone(),
            conditions: vec![],
        })
        .await
        .expect("A creates")
        .into_inner();
    let b = server
        .people_as(B)
        .create_person(CreatePersonRequest {
            request_id: shared,
            person_id: id_b.clone(),
            conditions: vec![],
        })
        .await
        .expect("B's request is independent of A's with the same request id")
        .into_inner();
    assert_eq!(a.person.expect("person").name, person_name(&id_a));
    assert_eq!(
        b.person.expect("person").name,
        person_name(&id_b),
        "B got A's replayed response"
    );
    get_person(&mut server.people_as(B), &person_name(&id_b)).await;
}

#[tokio::test]
async fn tenant_interventions_are_private_to_their_tenant() {
    let server = start().await;
    let id = new_intervention_id("t-private");
    let mine = create_intervention(&mut server.catalog_as(A), valid_intervention(&id)).await;
    let all = ListInterventionsRequest {
        page_size: 200,
        ..Default::default()
    };

    let mut catalog_b = server.catalog_as(B);
    expect_code(
        catalog_b
            .get_intervention(GetInterventionRequest { id: id.clone() })
            .await,
        Code::NotFound,
        "B: GetIntervention of A's intervention",
    );
    let listed_b = list_all_interventions(&mut catalog_b, all.clone()).await;
    assert!(
        listed_b.iter().all(|i| i.id != id),
        "B lists A's intervention"
    );
    assert!(
        listed_b.iter().all(|i| i.built_in),
        "B sees non-built-in interventions it never created"
    );
    let listed_a = list_all_interventions(&mut server.catalog_as(A), all).await;
    assert!(listed_a.contains(&mine));
    assert_eq!(listed_a.len(), listed_b.len() + 1);

    // B may use the same id for its own intervention.
    let mut theirs = valid_intervention(&id);
    theirs.display_name = "B's own".to_owned();
    let theirs = create_intervention(&mut catalog_b, theirs).await;
    assert_eq!(theirs.display_name, "B's own");
    let a_view = server
        .catalog_as(A)
        .get_intervention(GetInterventionRequest { id })
        .await
        .expect("A's intervention")
        .into_inner()
        .intervention;
    assert_eq!(a_view, Some(mine), "B's create changed A's intervention");
}

#[tokio::test]
async fn a_tenant_cannot_pin_another_tenants_intervention() {
    let server = start().await;
    let id = new_intervention_id("t-private");
    create_intervention(&mut server.catalog_as(A), valid_intervention(&id)).await;
    let pid = new_person_id();
    create_person(&mut server.people_as(B), &pid, &[]).await;
    let mut req = recommend_request(&person_name(&pid));
    req.pinned_intervention_ids = vec![id.clone()];
    match server.recommendations_as(B).recommend(req).await {
        Ok(resp) => assert!(
            resp.into_inner().recommendations.iter().all(|r| r
                .intervention
                .as_ref()
                .expect("intervention")
                .id
                != id),
            "B was recommended A's private intervention"
        ),
        Err(status) => assert!(
            matches!(status.code(), Code::NotFound | Code::InvalidArgument),
            "unexpected {status:?}"
        ),
    }
}

#[tokio::test]
async fn no_tenant_header_means_the_default_tenant() {
    let server = start().await;
    let id = new_person_id();
    create_person(&mut server.people(), &id, &[]).await;
    get_person(&mut server.people_as("default"), &person_name(&id)).await;
    let other = new_person_id();
    create_person(&mut server.people_as("default"), &other, &[]).await;
    get_person(&mut server.people(), &person_name(&other)).await;
    expect_code(
        server
            .people_as(A)
            .get_person(GetPersonRequest {
                name: person_name(&id),
            })
            .await,
        Code::NotFound,
        "tenant A sees the default tenant's person",
    );
}
