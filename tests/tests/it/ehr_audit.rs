//! Every tenant-scoped EHR route leaves an audit row in the tenant of the
//! verified issuer, naming the pseudonymous person (never the patient), and
//! refused calls are audited too (with no tenant: none was established, so
//! they sit outside every tenant's trail).

use tutti_tests::audit::trail;
use tutti_tests::ehr::{
    self, TENANT, app_view, assert_app_calls_audited, card_for, decide, get, launch_token,
    open_session, person_of, weekly_history,
};

#[tokio::test]
async fn cds_calls_are_audited_in_the_issuers_tenant_under_the_pseudonym() -> anyhow::Result<()> {
    let mut server = ehr::start().await?;
    card_for(&server, "MRN-555", weekly_history("MRN-555", 3, 12.0, 0.0)).await?;
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
    let card = card_for(&server, "MRN-556", weekly_history("MRN-556", 3, 12.0, 0.0)).await?;
    assert!(
        card["links"][0].get("appContext").is_none(),
        "a launch-token link carries no appContext: {card}"
    );
    let session = open_session(&server, &launch_token(&card)).await?;
    app_view(&server, &session).await?;
    let accepted = decide(&server, &session, card["uuid"].clone(), "accepted").await?;
    assert_eq!(accepted.status, 200, "{}", accepted.text);
    server.restart().await?;
    let rows = trail(server.data_path(), TENANT);
    // Such a token proves a card issued the link, not who opened it.
    assert_app_calls_audited(
        &rows,
        "clinician-app",
        &person_of("MRN-556", ehr::ISS, TENANT),
        card["uuid"].as_str().expect("uuid"),
    );
    server.stop().await
}
