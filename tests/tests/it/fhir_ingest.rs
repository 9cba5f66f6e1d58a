//! FHIR R4 in, over gRPC (`PeopleService.IngestFhir`) and REST
//! (`POST /fhir/r4/people/{id}`): real-world-shaped resources (US Core
//! surveys, scores as valueString, PHQ-9 panels with components, the process
//! questionnaire) parse and score; entered-in-error is ignored; the same
//! resources again store nothing; invalid FHIR names the element and stores
//! nothing; codes configured in `[[ehr.codes]]` (a site's WHO-5) are read,
//! asked for in the CDS prefetch template and fetched from the EHR's FHIR server.

use serde_json::{Value, json};
use tonic::Code;
use tutti_proto::v1::{
    IngestFhirRequest, Instrument, ListAssessmentsRequest, OutcomeMeasure, RecommendRequest,
    RiskFlag,
};
use tutti_server::config::{CodeMapConfig, MeasureKind};
use tutti_tests::assertions::field_violations;
use tutti_tests::ehr::{
    self, FhirServer, PATIENT_VIEW, TENANT, bundle, cds_post, days_ago, fetch_hook, gad7_string,
    patient, person_of, phq9, phq9_panel, process_ratings,
};
use tutti_tests::fixtures::{create_person, new_person_id, person_name, rid};

fn us_core_bundle(pid: &str) -> Value {
    let (d2, d1, d0) = (days_ago(14), days_ago(7), days_ago(0));
    let mut cancelled = phq9("phq-x", pid, &d1, 27.0);
    cancelled["status"] = json!("entered-in-error");
    bundle(vec![
        patient(pid, "Testpatient", "Wilhelmina"),
        phq9("phq-1", pid, &d2, 15.0),
        gad7_string("gad-1", pid, &d2, "12"),
        phq9_panel("panel-1", pid, &d1, 11, 0),
        cancelled,
        process_ratings(
            "qr-1",
            pid,
            &d1,
            &[
                ("affect.adaptive", 40.0),
                ("affect.maladaptive", 55.0),
                ("sleep.adaptive", 35.0),
            ],
        ),
        process_ratings(
            "qr-2",
            pid,
            &d0,
            &[("affect.adaptive", 55.0), ("social.adaptive", 70.0)],
        ),
        json!({"resourceType": "Observation", "id": "bp", "status": "final",
               "code": {"coding": [{"system": "http://loinc.org", "code": "85354-9"}]},
               "effectiveDateTime": d0, "valueString": "120/80"}),
    ])
}

async fn total(server: &tutti_tests::TestServer, person: &str) -> anyhow::Result<u32> {
    Ok(server
        .people()
        .list_assessments(ListAssessmentsRequest {
            person: person_name(person),
            page_size: 100,
            page_token: String::new(),
        })
        .await?
        .into_inner()
        .total_size)
}

#[tokio::test]
async fn a_us_core_bundle_is_ingested_once_over_grpc_and_scores() -> anyhow::Result<()> {
    let server = ehr::start().await?;
    let mut people = server.people();
    let pid = new_person_id();
    create_person(&mut people, &pid, &[]).await;
    let json_text = us_core_bundle(&pid).to_string();
    let req = IngestFhirRequest {
        request_id: rid(),
        person: person_name(&pid),
        resource_json: json_text.clone(),
    };
    let got = people.ingest_fhir(req).await?.into_inner();
    // Instants: 14 days ago (PHQ-9 + GAD-7), 7 days ago (panel + questionnaire), today.
    assert_eq!(got.assessments.len(), 3, "{got:?}");
    assert_eq!(got.ignored, 3, "patient, entered-in-error, blood pressure");
    assert_eq!(got.duplicates, 0);
    assert!(got.risk_flags.is_empty());
    let first = &got.assessments[0];
    assert_eq!(
        first.outcomes.len(),
        2,
        "PHQ-9 and the valueString GAD-7 at one instant"
    );
    assert_eq!(got.assessments[1].ratings.len(), 2);
    assert_eq!(total(&server, &pid).await?, 3);

    let again = people
        .ingest_fhir(IngestFhirRequest {
            request_id: rid(),
            person: person_name(&pid),
            resource_json: json_text,
        })
        .await?
        .into_inner();
    assert_eq!((again.assessments.len(), again.duplicates), (0, 3));
    assert_eq!(total(&server, &pid).await?, 3);

    let ranked = server
        .recommendations()
        .recommend(RecommendRequest {
            request_id: rid(),
            person: person_name(&pid),
            max_results: 3,
            ..Default::default()
        })
        .await?
        .into_inner();
    assert_eq!(ranked.recommendations.len(), 3);

    // Item 9 above zero is a risk flag: the safety path.
    let risky = bundle(vec![phq9_panel("panel-2", &pid, &days_ago(0), 18, 1)]);
    let got = people
        .ingest_fhir(IngestFhirRequest {
            request_id: rid(),
            person: person_name(&pid),
            resource_json: risky.to_string(),
        })
        .await?
        .into_inner();
    assert_eq!(got.risk_flags, vec![RiskFlag::Suicidality as i32]);
    let ranked = server
        .recommendations()
        .recommend(RecommendRequest {
            request_id: rid(),
            person: person_name(&pid),
            max_results: 3,
            ..Default::default()
        })
        .await?
        .into_inner();
    assert!(ranked.safety_mode);
    server.stop().await
}

#[tokio::test]
async fn invalid_fhir_names_each_element_and_stores_nothing() -> anyhow::Result<()> {
    let server = ehr::start().await?;
    let mut people = server.people();
    let pid = new_person_id();
    create_person(&mut people, &pid, &[]).await;
    let mut out_of_range = phq9("a", &pid, &days_ago(1), 12.0);
    out_of_range["valueQuantity"]["value"] = json!(40);
    let mut decimal_on_observation = gad7_string("b", &pid, &days_ago(1), "3");
    decimal_on_observation
        .as_object_mut()
        .expect("obj")
        .remove("valueString");
    decimal_on_observation["valueDecimal"] = json!(3);
    let mut no_time = phq9("c", &pid, &days_ago(1), 5.0);
    no_time
        .as_object_mut()
        .expect("obj")
        .remove("effectiveDateTime");
    let good = phq9("d", &pid, &days_ago(2), 9.0);
    let input = bundle(vec![good, out_of_range, decimal_on_observation, no_time]);
    let status = people
        .ingest_fhir(IngestFhirRequest {
            request_id: rid(),
            person: person_name(&pid),
            resource_json: input.to_string(),
        })
        .await
        .expect_err("invalid");
    assert_eq!(status.code(), Code::InvalidArgument);
    let fields = field_violations(&status);
    let paths: Vec<&str> = fields.iter().map(|f| f.field.as_str()).collect();
    assert_eq!(
        paths,
        vec![
            "Bundle.entry[1].resource.valueQuantity.value",
            "Bundle.entry[2].resource",
            "Bundle.entry[3].resource.effective[x]",
        ],
        "{fields:?}"
    );
    assert!(fields[1].description.contains("valueDecimal"), "{fields:?}");
    assert_eq!(total(&server, &pid).await?, 0, "nothing stored");

    let status = people
        .ingest_fhir(IngestFhirRequest {
            request_id: rid(),
            person: person_name(&pid),
            resource_json: "{\"resourceType\": \"Patient\"}".into(),
        })
        .await
        .expect_err("not ours");
    assert_eq!(field_violations(&status)[0].field, "resourceType");
    server.stop().await
}

#[tokio::test]
async fn the_rest_route_takes_fhir_json_and_answers_operation_outcomes() -> anyhow::Result<()> {
    let server = ehr::start().await?;
    let mut people = server.people();
    let pid = new_person_id();
    create_person(&mut people, &pid, &[]).await;
    let path = format!("/fhir/r4/people/{pid}");
    let r = ehr::post(&server, &path, None, &us_core_bundle(&pid)).await?;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.content_type, "application/fhir+json");
    let oo = r.json();
    assert_eq!(oo["issue"][0]["severity"], "information");
    assert!(
        oo["issue"][0]["diagnostics"]
            .as_str()
            .expect("text")
            .starts_with("recorded 3 assessment(s)")
    );
    assert_eq!(total(&server, &pid).await?, 3);

    let mut bad = process_ratings("q", &pid, &days_ago(0), &[("affect.adaptive", 50.0)]);
    bad["item"][0]["answer"][0] = json!({"valueInteger": 120});
    let r = ehr::post(&server, &path, None, &bad).await?;
    assert_eq!(r.status, 400, "{}", r.text);
    let oo = r.json();
    assert_eq!(oo["resourceType"], "OperationOutcome");
    assert_eq!(oo["issue"][0]["severity"], "error");
    assert_eq!(
        oo["issue"][0]["expression"][0],
        "QuestionnaireResponse.item[0].answer[0].valueInteger"
    );
    assert_eq!(total(&server, &pid).await?, 3);

    let r = ehr::post(&server, "/fhir/r4/people/nobody-here", None, &bad).await?;
    assert_eq!(r.status, 404, "{}", r.text);
    let q = ehr::get(&server, "/fhir/r4/Questionnaire/tutti-processes", None).await?;
    assert_eq!(q.status, 200);
    assert_eq!(q.json()["url"], ehr::QUESTIONNAIRE);
    // The copy shipped for integrators is what the server serves.
    let shipped: Value = serde_json::from_str(&std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../docs/ehr/questionnaire-tutti-processes.json"),
    )?)?;
    assert_eq!(
        q.json(),
        shipped,
        "docs/ehr/questionnaire-tutti-processes.json is stale"
    );
    server.stop().await
}

/// A site's own WHO-5 code (WHO-5 has no LOINC code built in).
const SITE_SYSTEM: &str = "http://hospital.example/fhir/CodeSystem/scores";
const SITE_WHO5: &str = "who5-percent";

fn site_who5(id: &str, patient: &str, when: &str, score: f64) -> Value {
    json!({
        "resourceType": "Observation",
        "id": id,
        "status": "final",
        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "survey"}]}],
        "code": {"coding": [{"system": SITE_SYSTEM, "code": SITE_WHO5, "display": "WHO-5 Well-Being Index (%)"}]},
        "subject": {"reference": format!("Patient/{patient}")},
        "effectiveDateTime": when,
        "valueQuantity": {"value": score, "unit": "%"},
    })
}

#[tokio::test]
async fn a_configured_who5_code_is_ingested_prefetched_and_fetched() -> anyhow::Result<()> {
    let server = tutti_tests::TestServer::start_with(|c| {
        ehr::configure(c);
        c.ehr.codes.push(CodeMapConfig {
            system: SITE_SYSTEM.into(),
            code: SITE_WHO5.into(),
            measure: MeasureKind::Who5,
        });
    })
    .await?;
    let who5 = |score: f64| OutcomeMeasure {
        instrument: Instrument::Who5 as i32,
        score,
    };

    // Over gRPC.
    let mut people = server.people();
    let pid = new_person_id();
    create_person(&mut people, &pid, &[]).await;
    let got = people
        .ingest_fhir(IngestFhirRequest {
            request_id: rid(),
            person: person_name(&pid),
            resource_json: site_who5("w-1", &pid, &days_ago(1), 44.0).to_string(),
        })
        .await?
        .into_inner();
    assert_eq!(got.ignored, 0, "{got:?}");
    assert_eq!(got.assessments.len(), 1, "{got:?}");
    assert_eq!(got.assessments[0].outcomes, vec![who5(44.0)]);

    // Discovery asks the EHR to prefetch it.
    let token = ehr::Jwt::for_url(&ehr::url(&server, "/cds-services")).sign();
    let discovery = ehr::get(&server, "/cds-services", Some(&token))
        .await?
        .json();
    let template = discovery["services"][0]["prefetch"]["observations"]
        .as_str()
        .expect("template")
        .to_owned();
    assert!(
        template.contains(&format!("{SITE_SYSTEM}|{SITE_WHO5}")),
        "{template}"
    );

    // Without prefetch, the CDS service reads it from the EHR's FHIR server
    // with the same query, and the card's person has the WHO-5.
    let access = "fhir-access-token-for-who5";
    let fhir = FhirServer::start(
        vec![site_who5("w-2", "pt-who5", &days_ago(2), 36.0)],
        access,
    )
    .await?;
    let body = fetch_hook("pt-who5", &fhir.base(), access);
    let r = cds_post(&server, &format!("/cds-services/{PATIENT_VIEW}"), &body).await?;
    assert_eq!(r.status, 200, "{}", r.text);
    let asked = fhir.requests.lock().expect("lock").clone();
    let observations = template.replace("{{context.patientId}}", "pt-who5");
    assert!(
        asked.contains(&format!("/fhir/{observations}")),
        "{asked:?} lacks {observations}"
    );
    let stored = server
        .people_as(TENANT)
        .list_assessments(ListAssessmentsRequest {
            person: format!("people/{}", person_of("pt-who5", ehr::ISS, TENANT)),
            page_size: 10,
            page_token: String::new(),
        })
        .await?
        .into_inner();
    assert_eq!(stored.total_size, 1, "{stored:?}");
    assert_eq!(stored.assessments[0].outcomes, vec![who5(36.0)]);
    server.stop().await
}
