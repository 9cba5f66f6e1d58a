//! Every tenant-scoped EHR route leaves an audit row in the tenant of the
//! verified issuer, naming the pseudonymous person (never the patient), and
//! refused calls are audited too (with no tenant: none was established, so
//! they sit outside every tenant's trail).

use tutti_server::convert::ids::TenantId;
use tutti_server::storage::AuditRow;
use tutti_server::storage::decision_log::DecisionLog;
use tutti_tests::TestServer;
use tutti_tests::ehr::{
    self, PATIENT_VIEW, TENANT, cds_post, get, hook, person_of, prefetch_of, weekly_history,
};

fn trail(server: &TestServer, tenant: &str) -> Vec<AuditRow> {
    let tenant = TenantId::parse(tenant).expect("tenant id");
    DecisionLog::open(server.data_path())
        .expect("opens")
        .snapshot(|s| s.audit(&tenant))
        .expect("reads the audit trail")
}

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
    let rows = trail(&server, TENANT);
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
