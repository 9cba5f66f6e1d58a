//! Every tenant-scoped EHR route leaves an audit row in the tenant of the
//! verified issuer, naming the pseudonymous person (never the patient), and
//! refused calls are audited too (with no tenant: none was established, so
//! they sit outside every tenant's trail).

use serde_json::json;
use tutti_tests::audit::trail;
use tutti_tests::ehr::{
    self, PATIENT_VIEW, TENANT, cds_post, get, hook, launch_token, person_of, post, prefetch_of,
    the_card, weekly_history,
};

#[tokio::test]
async fn cds_calls_are_audited_in_the_issuers_tenant_under_the_pseudonym() -> anyhow::Result<()> {
    let mut server = ehr::start().await?;
    let r = cds_post(
        &server,
        &format!("/cds-services/{PATIENT_VIEW}"),
        &hook(
            "MRN-555",
            prefetch_of(weekly_history("MRN-555", 3, 12.0, 0.0)),
        ),
    )
    .await?;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        get(&server, "/cds-services", Some("bad")).await?.status,
        401
    );
    server.restart().await?;
    let rows = trail(server.data_path(), TENANT);
    let person = format!("people/{}", person_of("MRN-555", ehr::ISS, TENANT));
    let call = rows
        .iter()
        .find(|r| r.method == "POST /cds-services/{id}")
        .unwrap_or_else(|| panic!("no CDS row in {rows:?}"));
    assert_eq!(call.code, 0);
    assert_eq!(call.resource, person);
    assert_eq!(call.principal, format!("ehr:{}", ehr::ISS));
    assert!(rows.iter().all(|r| !r.resource.contains("555")), "{rows:?}");
    server.stop().await
}

#[tokio::test]
async fn the_app_opened_by_a_card_links_launch_token_is_audited_as_the_app() -> anyhow::Result<()> {
    let mut server = ehr::start().await?;
    let r = cds_post(
        &server,
        &format!("/cds-services/{PATIENT_VIEW}"),
        &hook(
            "MRN-556",
            prefetch_of(weekly_history("MRN-556", 3, 12.0, 0.0)),
        ),
    )
    .await?;
    assert_eq!(r.status, 200, "{}", r.text);
    let card = the_card(&r.json());
    assert!(
        card["links"][0].get("appContext").is_none(),
        "a launch-token link carries no appContext: {card}"
    );
    let s = post(
        &server,
        "/ehr/app/session",
        None,
        &json!({"launch": launch_token(&card)}),
    )
    .await?;
    assert_eq!(s.status, 200, "{}", s.text);
    let session = s.json()["session"].as_str().expect("session").to_owned();
    assert_eq!(
        get(&server, "/ehr/app/api/view", Some(&session))
            .await?
            .status,
        200
    );
    let accepted = post(
        &server,
        "/ehr/app/api/feedback",
        Some(&session),
        &json!({"recommendationId": card["uuid"], "decision": "accepted"}),
    )
    .await?;
    assert_eq!(accepted.status, 200, "{}", accepted.text);
    server.restart().await?;
    let rows = trail(server.data_path(), TENANT);
    let person = format!("people/{}", person_of("MRN-556", ehr::ISS, TENANT));
    // Such a token proves a card issued the link, not who opened it.
    for method in [
        "POST /ehr/app/session",
        "GET /ehr/app/api/view",
        "POST /ehr/app/api/feedback",
    ] {
        let row = rows
            .iter()
            .find(|r| r.method == method && r.code == 0)
            .unwrap_or_else(|| panic!("no {method} row in {rows:?}"));
        assert_eq!(row.principal, "clinician-app", "{method}");
        // Feedback names its recommendation (RecordFeedback's resource).
        let resource = if method.ends_with("feedback") {
            format!("recommendations/{}", card["uuid"].as_str().expect("uuid"))
        } else {
            person.clone()
        };
        assert_eq!(row.resource, resource, "{method}");
    }
    server.stop().await
}
