//! Behaviour: the catalogue lists the processes people rate and the
//! interventions Tutti can recommend (built-in plus the tenant's own), paged
//! and filtered, and lets a tenant add and change its own interventions.

use std::collections::HashSet;
use tonic::Code;
use tutti_proto::v1::{
    GetInterventionRequest, Intervention, ListInterventionsRequest, ListProcessesRequest, Modality,
    ProcessTarget, UpdateInterventionRequest,
};
use tutti_tests::assertions::expect_code;
use tutti_tests::fixtures::{
    create_intervention, list_all_interventions, new_intervention_id, rid, valid_intervention,
};
use tutti_tests::{CatalogClient, TestServer};

async fn start() -> TestServer {
    TestServer::start().await.expect("server starts")
}

async fn get(catalog: &mut CatalogClient, id: &str) -> Intervention {
    catalog
        .get_intervention(GetInterventionRequest { id: id.to_owned() })
        .await
        .unwrap_or_else(|s| panic!("GetIntervention {id}: {s:?}"))
        .into_inner()
        .intervention
        .expect("GetInterventionResponse.intervention is set")
}

fn all(page_size: u32) -> ListInterventionsRequest {
    ListInterventionsRequest {
        page_size,
        ..Default::default()
    }
}

#[tokio::test]
async fn list_processes_returns_the_builtin_processes_with_poles_and_scale() {
    let server = start().await;
    let processes = server
        .catalog()
        .list_processes(ListProcessesRequest {})
        .await
        .expect("ListProcesses")
        .into_inner()
        .processes;
    let ids: Vec<&str> = processes.iter().map(|p| p.id.as_str()).collect();
    for expected in [
        "affect",
        "cognition",
        "attention",
        "self",
        "motivation",
        "behavior",
    ] {
        assert!(
            ids.contains(&expected),
            "process {expected} missing from {ids:?}"
        );
    }
    let unique: HashSet<&str> = ids.iter().copied().collect();
    assert_eq!(unique.len(), ids.len(), "duplicate process ids in {ids:?}");
    for p in &processes {
        assert!(!p.display_name.is_empty(), "{}: no display name", p.id);
        assert!(!p.dimension.is_empty(), "{}: no dimension", p.id);
        assert!(!p.adaptive_pole.is_empty(), "{}: no adaptive pole", p.id);
        assert!(
            !p.maladaptive_pole.is_empty(),
            "{}: no maladaptive pole",
            p.id
        );
        assert_ne!(
            p.adaptive_pole, p.maladaptive_pole,
            "{}: poles are the same text",
            p.id
        );
        assert_eq!(p.scale_min, 0.0, "{}: scale_min", p.id);
        assert_eq!(p.scale_max, 100.0, "{}: scale_max", p.id);
        for prior in [p.prior_adaptive_mean, p.prior_maladaptive_mean] {
            assert!(
                (0.0..=100.0).contains(&prior),
                "{}: prior {prior} outside 0-100",
                p.id
            );
        }
        assert!(p.min_observations > 0, "{}: min_observations is 0", p.id);
    }
}

#[tokio::test]
async fn list_interventions_pages_walk_every_intervention_once_in_id_order() {
    let server = start().await;
    let mut catalog = server.catalog();
    let first = catalog
        .list_interventions(all(7))
        .await
        .expect("ListInterventions")
        .into_inner();
    assert!(first.interventions.len() <= 7, "page larger than page_size");
    let total = first.total_size as usize;
    assert!(
        total > 7,
        "expected a catalogue of more than one page, total_size {total}"
    );
    assert!(
        !first.next_page_token.is_empty(),
        "first of several pages has no next token"
    );

    let paged = list_all_interventions(&mut catalog, all(7)).await;
    let ids: Vec<&str> = paged.iter().map(|i| i.id.as_str()).collect();
    let unique: HashSet<&str> = ids.iter().copied().collect();
    assert_eq!(unique.len(), ids.len(), "paging returned duplicates");
    assert_eq!(ids.len(), total, "paging did not return total_size items");
    let mut sorted = ids.clone();
    sorted.sort_unstable();
    assert_eq!(ids, sorted, "interventions are not ordered by id");

    let one_page = list_all_interventions(&mut catalog, all(200)).await;
    assert_eq!(one_page, paged, "small pages and one big page disagree");
}

#[tokio::test]
async fn list_interventions_without_page_size_returns_at_most_fifty() {
    let server = start().await;
    let page = server
        .catalog()
        .list_interventions(all(0))
        .await
        .expect("ListInterventions")
        .into_inner();
    let expected = (page.total_size as usize).min(50);
    assert_eq!(
        page.interventions.len(),
        expected,
        "page_size 0 must mean 50"
    );
    assert_eq!(
        page.next_page_token.is_empty(),
        page.total_size <= 50,
        "next_page_token must be set exactly when more remain"
    );
}

#[tokio::test]
async fn builtin_catalogue_is_marked_built_in_and_well_formed() {
    let server = start().await;
    let items = list_all_interventions(&mut server.catalog(), all(200)).await;
    assert!(
        items.len() >= 40,
        "expected 40+ built-in interventions, got {}",
        items.len()
    );
    let processes: HashSet<String> = server
        .catalog()
        .list_processes(ListProcessesRequest {})
        .await
        .expect("ListProcesses")
        .into_inner()
        .processes
        .into_iter()
        .map(|p| p.id)
        .collect();
    for i in &items {
        assert!(
            i.built_in,
            "{} is not marked built_in on a fresh server",
            i.id
        );
        assert!(
            i.id.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
            "{}: id is not lowercase letters, digits and dashes",
            i.id
        );
        assert!(
            !i.display_name.is_empty() && !i.instructions.is_empty(),
            "{}: empty text",
            i.id
        );
        assert!(!i.targets.is_empty(), "{}: no targets", i.id);
        for t in &i.targets {
            assert!(
                processes.contains(&t.process_id),
                "{}: unknown target {}",
                i.id,
                t.process_id
            );
            assert!(
                (0.0..=1.0).contains(&t.weight),
                "{}: weight {} outside 0-1",
                i.id,
                t.weight
            );
        }
        assert_ne!(
            i.modality,
            Modality::Unspecified as i32,
            "{}: modality unspecified",
            i.id
        );
        assert!(i.effort_minutes > 0, "{}: effort 0", i.id);
    }
}

#[tokio::test]
async fn get_intervention_returns_what_the_list_shows() {
    let server = start().await;
    let mut catalog = server.catalog();
    let items = list_all_interventions(&mut catalog, all(200)).await;
    assert!(!items.is_empty());
    for listed in &items {
        let got = get(&mut catalog, &listed.id).await;
        assert_eq!(
            &got, listed,
            "GetIntervention and ListInterventions disagree on {}",
            listed.id
        );
    }
}

#[tokio::test]
async fn get_unknown_intervention_returns_not_found() {
    let server = start().await;
    let result = server
        .catalog()
        .get_intervention(GetInterventionRequest {
            id: "no-such-intervention".to_owned(),
        })
        .await;
    expect_code(result, Code::NotFound, "GetIntervention of an unknown id");
}

#[tokio::test]
async fn list_interventions_filters_by_process() {
    let server = start().await;
    let mut catalog = server.catalog();
    // A tenant intervention that targets only sleep, and one that does not touch it.
    let mut sleepy = valid_intervention(&new_intervention_id("t-sleep"));
    sleepy.targets = vec![ProcessTarget {
        process_id: "sleep".to_owned(),
        weight: 1.0,
    }];
    let sleepy = create_intervention(&mut catalog, sleepy).await;
    let other = create_intervention(
        &mut catalog,
        valid_intervention(&new_intervention_id("t-other")),
    )
    .await;

    let filter = ListInterventionsRequest {
        page_size: 5,
        process_id: "sleep".to_owned(),
        ..Default::default()
    };
    let items = list_all_interventions(&mut catalog, filter.clone()).await;
    assert!(
        items
            .iter()
            .all(|i| i.targets.iter().any(|t| t.process_id == "sleep")),
        "an item does not target sleep"
    );
    assert!(
        items.iter().any(|i| i.id == sleepy.id),
        "the tenant's sleep intervention is missing"
    );
    assert!(
        items.iter().all(|i| i.id != other.id),
        "an intervention without sleep slipped through"
    );
    let everything = list_all_interventions(&mut catalog, all(200)).await;
    let expected = everything
        .iter()
        .filter(|i| i.targets.iter().any(|t| t.process_id == "sleep"))
        .count();
    assert_eq!(
        items.len(),
        expected,
        "the filter missed some sleep interventions"
    );
    let first = catalog
        .list_interventions(filter)
        .await
        .expect("ListInterventions")
        .into_inner();
    assert_eq!(
        first.total_size as usize, expected,
        "total_size must count the filtered set"
    );
}

#[tokio::test]
async fn list_interventions_filters_by_modality() {
    let server = start().await;
    let mut catalog = server.catalog();
    let mut homework = valid_intervention(&new_intervention_id("t-home"));
    homework.modality = Modality::BetweenSessions as i32;
    let homework = create_intervention(&mut catalog, homework).await;
    let app = create_intervention(
        &mut catalog,
        valid_intervention(&new_intervention_id("t-app")),
    )
    .await;

    for (modality, member, non_member) in [
        (Modality::BetweenSessions, &homework.id, &app.id),
        (Modality::App, &app.id, &homework.id),
    ] {
        let filter = ListInterventionsRequest {
            page_size: 6,
            modality: modality as i32,
            ..Default::default()
        };
        let items = list_all_interventions(&mut catalog, filter).await;
        assert!(
            items.iter().all(|i| i.modality == modality as i32),
            "{modality:?}: wrong modality listed"
        );
        assert!(
            items.iter().any(|i| &i.id == member),
            "{modality:?}: {member} missing"
        );
        assert!(
            items.iter().all(|i| &i.id != non_member),
            "{modality:?}: {non_member} listed"
        );
        let everything = list_all_interventions(&mut catalog, all(200)).await;
        let expected = everything
            .iter()
            .filter(|i| i.modality == modality as i32)
            .count();
        assert_eq!(items.len(), expected, "{modality:?}: filter missed some");
    }
}

#[tokio::test]
async fn list_interventions_filters_by_max_minutes_and_combines_filters() {
    let server = start().await;
    let mut catalog = server.catalog();
    let mut quick = valid_intervention(&new_intervention_id("t-quick"));
    quick.effort_minutes = 4;
    let quick = create_intervention(&mut catalog, quick).await;
    let mut long = valid_intervention(&new_intervention_id("t-long"));
    long.effort_minutes = 45;
    let long = create_intervention(&mut catalog, long).await;

    let items = list_all_interventions(
        &mut catalog,
        ListInterventionsRequest {
            page_size: 9,
            max_minutes: 5,
            ..Default::default()
        },
    )
    .await;
    assert!(
        items.iter().all(|i| i.effort_minutes <= 5),
        "an item takes more than 5 minutes"
    );
    assert!(
        items.iter().any(|i| i.id == quick.id),
        "the 4-minute intervention is missing"
    );
    assert!(
        items.iter().all(|i| i.id != long.id),
        "the 45-minute intervention is listed"
    );
    let everything = list_all_interventions(&mut catalog, all(200)).await;
    assert_eq!(
        items.len(),
        everything.iter().filter(|i| i.effort_minutes <= 5).count()
    );

    let combined = list_all_interventions(
        &mut catalog,
        ListInterventionsRequest {
            page_size: 3,
            process_id: "affect".to_owned(),
            modality: Modality::App as i32,
            max_minutes: 5,
            ..Default::default()
        },
    )
    .await;
    let expected: Vec<&Intervention> = everything
        .iter()
        .filter(|i| {
            i.effort_minutes <= 5
                && i.modality == Modality::App as i32
                && i.targets.iter().any(|t| t.process_id == "affect")
        })
        .collect();
    assert_eq!(
        combined.iter().collect::<Vec<_>>(),
        expected,
        "combined filters disagree with filtering by hand"
    );
    assert!(combined.iter().any(|i| i.id == quick.id));
}

#[tokio::test]
async fn create_intervention_adds_a_tenant_intervention_beside_the_builtins() {
    let server = start().await;
    let mut catalog = server.catalog();
    let before = list_all_interventions(&mut catalog, all(200)).await;
    let mut wanted = valid_intervention(&new_intervention_id("t-new"));
    wanted.built_in = true; // ignored by the server
    wanted.contraindications = vec![tutti_proto::v1::Condition::Pregnancy as i32];
    wanted.min_days_between = 3;
    let created = create_intervention(&mut catalog, wanted.clone()).await;
    let mut expected = wanted;
    expected.built_in = false;
    assert_eq!(
        created, expected,
        "the stored intervention differs from the one sent"
    );

    assert_eq!(get(&mut catalog, &created.id).await, created);
    let after = list_all_interventions(&mut catalog, all(200)).await;
    assert_eq!(after.len(), before.len() + 1);
    assert!(
        after.contains(&created),
        "the new intervention is not listed"
    );
}

#[tokio::test]
async fn create_intervention_with_an_existing_id_returns_already_exists() {
    let server = start().await;
    let mut catalog = server.catalog();
    let mine = create_intervention(
        &mut catalog,
        valid_intervention(&new_intervention_id("t-dup")),
    )
    .await;
    let builtin = list_all_interventions(&mut catalog, all(200))
        .await
        .into_iter()
        .find(|i| i.built_in)
        .expect("a built-in intervention");
    for id in [&mine.id, &builtin.id] {
        let mut again = valid_intervention(id);
        again.display_name = "Another".to_owned();
        let result = catalog
            .create_intervention(tutti_proto::v1::CreateInterventionRequest {
                request_id: rid(),
                intervention: Some(again),
            })
            .await;
        expect_code(
            result,
            Code::AlreadyExists,
            "CreateIntervention with a taken id",
        );
    }
    assert_eq!(
        get(&mut catalog, &mine.id).await,
        mine,
        "the original was changed"
    );
    assert_eq!(
        get(&mut catalog, &builtin.id).await,
        builtin,
        "the built-in was changed"
    );
}

#[tokio::test]
async fn update_intervention_changes_only_the_masked_fields() {
    let server = start().await;
    let mut catalog = server.catalog();
    let created = create_intervention(
        &mut catalog,
        valid_intervention(&new_intervention_id("t-upd")),
    )
    .await;
    let mut change = created.clone();
    change.display_name = "Renamed".to_owned();
    change.effort_minutes = 9;
    change.instructions = "Not in the mask: must stay as it was.".to_owned();
    let updated = catalog
        .update_intervention(UpdateInterventionRequest {
            request_id: rid(),
            intervention: Some(change),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["display_name".to_owned(), "effort_minutes".to_owned()],
            }),
        })
        .await
        .expect("UpdateIntervention")
        .into_inner()
        .intervention
        .expect("UpdateInterventionResponse.intervention is set");
    let mut expected = created.clone();
    expected.display_name = "Renamed".to_owned();
    expected.effort_minutes = 9;
    assert_eq!(updated, expected);
    assert_eq!(
        get(&mut catalog, &created.id).await,
        expected,
        "the change is not stored"
    );
}

#[tokio::test]
async fn update_intervention_with_an_empty_mask_replaces_every_field() {
    let server = start().await;
    let mut catalog = server.catalog();
    let created = create_intervention(
        &mut catalog,
        valid_intervention(&new_intervention_id("t-all")),
    )
    .await;
    let mut change = valid_intervention(&created.id);
    change.display_name = "Replaced".to_owned();
    change.family = "other_family".to_owned();
    change.instructions = "New instructions.".to_owned();
    change.targets = vec![ProcessTarget {
        process_id: "social".to_owned(),
        weight: 1.0,
    }];
    change.effort_minutes = 12;
    change.modality = Modality::BetweenSessions as i32;
    change.requires_clinician = true;
    change.min_days_between = 2;
    change.evidence = "New evidence.".to_owned();
    change.prior_effect = 0.25;
    let updated = catalog
        .update_intervention(UpdateInterventionRequest {
            request_id: rid(),
            intervention: Some(change.clone()),
            update_mask: None,
        })
        .await
        .expect("UpdateIntervention")
        .into_inner()
        .intervention
        .expect("UpdateInterventionResponse.intervention is set");
    assert_eq!(updated, change);
    assert_eq!(get(&mut catalog, &created.id).await, change);
}

#[tokio::test]
async fn update_of_a_builtin_intervention_fails_precondition_and_changes_nothing() {
    let server = start().await;
    let mut catalog = server.catalog();
    let builtin = list_all_interventions(&mut catalog, all(200))
        .await
        .into_iter()
        .find(|i| i.built_in)
        .expect("a built-in intervention");
    assert!(builtin.built_in);
    let mut change = builtin.clone();
    change.display_name = "Hijacked".to_owned();
    let result = catalog
        .update_intervention(UpdateInterventionRequest {
            request_id: rid(),
            intervention: Some(change),
            update_mask: None,
        })
        .await;
    expect_code(
        result,
        Code::FailedPrecondition,
        "UpdateIntervention of a built-in",
    );
    assert_eq!(get(&mut catalog, &builtin.id).await, builtin);
}

#[tokio::test]
async fn update_of_an_unknown_intervention_returns_not_found() {
    let server = start().await;
    let result = server
        .catalog()
        .update_intervention(UpdateInterventionRequest {
            request_id: rid(),
            intervention: Some(valid_intervention("no-such-intervention")),
            update_mask: None,
        })
        .await;
    expect_code(
        result,
        Code::NotFound,
        "UpdateIntervention of an unknown id",
    );
}
