//! Behaviour: people are registered under pseudonymous ids, can be read back,
//! and a second registration of the same id is refused.

use std::time::Duration;
use tonic::Code;
use tutti_proto::v1::{Condition, CreatePersonRequest, GetPersonRequest};
use tutti_tests::TestServer;
use tutti_tests::assertions::expect_code;
use tutti_tests::fixtures::{create_person, get_person, new_person_id, now, person_name, rid};

async fn start() -> TestServer {
    TestServer::start().await.expect("server starts")
}

#[tokio::test]
async fn create_person_returns_the_person_with_name_conditions_and_create_time() {
    let server = start().await;
    let id = new_person_id();
    let before = now() - Duration::from_secs(5);
    let person = create_person(
        &mut server.people(),
        &id,
        &[Condition::TraumaHistory, Condition::Pregnancy],
    )
    .await;
    assert_eq!(person.name, person_name(&id));
    assert_eq!(
        person.conditions,
        vec![Condition::TraumaHistory as i32, Condition::Pregnancy as i32]
    );
    let created = std::time::SystemTime::try_from(person.create_time.expect("create_time is set"))
        .expect("create_time is a valid time");
    assert!(
        created >= before,
        "create_time {created:?} is before the request"
    );
    assert!(
        created <= now() + Duration::from_secs(5),
        "create_time is in the future"
    );
    assert_eq!(person.assessment_count, 0);
    assert_eq!(person.feedback_count, 0);
}

#[tokio::test]
async fn get_person_returns_the_created_person() {
    let server = start().await;
    let mut people = server.people();
    let id = new_person_id();
    let created = create_person(&mut people, &id, &[Condition::Cardiac]).await;
    let got = get_person(&mut people, &person_name(&id)).await;
    assert_eq!(got, created);
}

#[tokio::test]
async fn person_ids_of_one_and_sixty_four_characters_are_accepted() {
    let server = start().await;
    let mut people = server.people();
    for id in ["x".to_owned(), "A_b-9".repeat(12) + "abcd"] {
        assert!(id.len() == 1 || id.len() == 64);
        let person = create_person(&mut people, &id, &[]).await;
        assert_eq!(person.name, person_name(&id));
        assert_eq!(get_person(&mut people, &person_name(&id)).await, person);
    }
}

#[tokio::test]
async fn create_person_with_a_taken_id_returns_already_exists() {
    let server = start().await;
    let mut people = server.people();
    let id = new_person_id();
    let first = create_person(&mut people, &id, &[]).await;
    let result = people
        .create_person(CreatePersonRequest {
            request_id: rid(),
            person_id: id.clone(),
            conditions: vec![Condition::Bipolar as i32],
        })
        .await;
    expect_code(result, Code::AlreadyExists, "CreatePerson with a taken id");
    assert_eq!(
        get_person(&mut people, &person_name(&id)).await,
        first,
        "the first person was changed"
    );
}

#[tokio::test]
async fn get_unknown_person_returns_not_found() {
    let server = start().await;
    let result = server
        .people()
        .get_person(GetPersonRequest {
            name: person_name(&new_person_id()),
        })
        .await;
    expect_code(result, Code::NotFound, "GetPerson of an unknown person");
}
