//! `GET /cds-services` lists the patient-view and encounter-start services with
//! their prefetch templates, exactly as the golden file says, on the gRPC port.

use tutti_tests::ehr::{self, assert_golden, assert_no_nulls};

#[tokio::test]
async fn discovery_lists_both_services_with_prefetch_templates() -> anyhow::Result<()> {
    let server = ehr::start().await?;
    let reply = ehr::discovery(&server).await?;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert!(
        reply.content_type.starts_with("application/json"),
        "{}",
        reply.content_type
    );
    let body = reply.json();
    assert_no_nulls(&body, "$");
    let services = body["services"].as_array().expect("services");
    assert_eq!(services.len(), 2);
    for s in services {
        for required in ["hook", "description", "id"] {
            assert!(s[required].is_string(), "{required} is required: {s}");
        }
        let prefetch = s["prefetch"].as_object().expect("prefetch");
        assert!(
            prefetch["observations"]
                .as_str()
                .expect("query")
                .contains("{{context.patientId}}")
        );
        assert!(
            prefetch["questionnaireResponses"]
                .as_str()
                .expect("query")
                .starts_with("QuestionnaireResponse?")
        );
    }
    assert_golden("cds_discovery", &body);
    // The same port still speaks gRPC.
    server
        .catalog()
        .list_processes(tutti_proto::v1::ListProcessesRequest::default())
        .await?;
    server.stop().await
}
