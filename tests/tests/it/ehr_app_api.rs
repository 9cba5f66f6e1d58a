//! The clinician app's server side: the card's launch token is exchanged
//! once for a session scoped to one tenant and person; the view shows the
//! card's decision with the process map, network, curve and track; the
//! accept and override buttons record clinician reviews; nothing works
//! without a valid session.

use serde_json::json;
use tutti_proto::v1::GetPersonRequest;
use tutti_tests::ehr::{
    self, PATIENT_VIEW, TENANT, cds_post, get, hook, launch_token, person_of, post, prefetch_of,
    the_card, weekly_history,
};

#[tokio::test]
async fn the_launch_token_opens_one_session_whose_view_and_buttons_work() -> anyhow::Result<()> {
    let server = ehr::start().await?;
    let r = cds_post(
        &server,
        &format!("/cds-services/{PATIENT_VIEW}"),
        &hook(
            "pt-app",
            prefetch_of(weekly_history("pt-app", 6, 15.0, -1.0)),
        ),
    )
    .await?;
    let card = the_card(&r.json());
    let page = get(&server, "/ehr/app", None).await?;
    assert_eq!(page.status, 200);
    assert!(page.content_type.starts_with("text/html"));
    assert!(
        get(&server, "/ehr/app/app.js", None)
            .await?
            .content_type
            .starts_with("text/javascript")
    );

    let launch = launch_token(&card);
    let s = post(
        &server,
        "/ehr/app/session",
        None,
        &json!({"launch": launch}),
    )
    .await?;
    assert_eq!(s.status, 200, "{}", s.text);
    let session = s.json()["session"].as_str().expect("session").to_owned();
    let again = post(
        &server,
        "/ehr/app/session",
        None,
        &json!({"launch": launch}),
    )
    .await?;
    assert_eq!(
        (again.status, again.text.as_str()),
        (401, ""),
        "a launch token works once"
    );
    assert_eq!(
        get(&server, "/ehr/app/api/view", Some(&launch))
            .await?
            .status,
        401,
        "a launch token is no session"
    );
    assert_eq!(get(&server, "/ehr/app/api/view", None).await?.status, 401);

    let view = get(&server, "/ehr/app/api/view", Some(&session)).await?;
    assert_eq!(view.status, 200, "{}", view.text);
    let v = view.json();
    let ids: Vec<&str> = v["recommendations"]
        .as_array()
        .expect("recs")
        .iter()
        .map(|r| r["id"].as_str().expect("id"))
        .collect();
    let card_ids: Vec<&str> = card["suggestions"]
        .as_array()
        .expect("s")
        .iter()
        .map(|s| s["uuid"].as_str().expect("id"))
        .collect();
    assert_eq!(ids, card_ids, "the app shows the card's decision");
    assert!(!v["processes"].as_array().expect("map").is_empty());
    let p = &v["processes"][0];
    for field in ["drive", "correlation", "relativeValue", "observations"] {
        assert!(p.get(field).is_some(), "process map has {field}: {p}");
    }
    assert_eq!(v["curve"].as_array().expect("curve").len(), 6);
    assert!(v["track"]["status"].is_string());
    assert_eq!(v["person"], person_of("pt-app", ehr::ISS, TENANT));

    let fb = post(
        &server,
        "/ehr/app/api/feedback",
        Some(&session),
        &json!({"recommendationId": ids[0], "decision": "accepted"}),
    )
    .await?;
    assert_eq!(fb.status, 200, "{}", fb.text);
    let dup = post(
        &server,
        "/ehr/app/api/feedback",
        Some(&session),
        &json!({"recommendationId": ids[0], "decision": "accepted"}),
    )
    .await?;
    assert_eq!(
        dup.status, 200,
        "a second click changes nothing: {}",
        dup.text
    );
    let fb = post(
        &server,
        "/ehr/app/api/feedback",
        Some(&session),
        &json!({"recommendationId": ids[1], "decision": "overridden", "reason": "not now"}),
    )
    .await?;
    assert_eq!(fb.status, 200, "{}", fb.text);
    let person = server
        .people_as(TENANT)
        .get_person(GetPersonRequest {
            name: format!("people/{}", v["person"].as_str().expect("id")),
        })
        .await?
        .into_inner()
        .person
        .expect("person");
    assert_eq!(person.feedback_count, 2);

    // Another patient's recommendation is out of this session's reach.
    let other = the_card(
        &cds_post(
            &server,
            &format!("/cds-services/{PATIENT_VIEW}"),
            &hook(
                "pt-app-2",
                prefetch_of(weekly_history("pt-app-2", 4, 12.0, 0.0)),
            ),
        )
        .await?
        .json(),
    );
    let r = post(
        &server,
        "/ehr/app/api/feedback",
        Some(&session),
        &json!({"recommendationId": other["uuid"], "decision": "accepted"}),
    )
    .await?;
    assert_eq!(r.status, 404, "{}", r.text);
    server.stop().await
}
