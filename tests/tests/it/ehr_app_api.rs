//! The clinician app's server side: the card's launch token is exchanged
//! once for a session scoped to one tenant and person; the view shows the
//! card's decision with the process map, network, curve, track status and
//! the follow-through the person reported; the accept and override buttons
//! record clinician reviews (which are not the person's follow-through);
//! nothing works without a valid session.

use serde_json::{Value, json};
use tutti_proto::v1::{Completion, GetPersonRequest, RecordFeedbackRequest};
use tutti_tests::TestServer;
use tutti_tests::ehr::{
    self, PATIENT_VIEW, TENANT, app_view, card_for, cds_post, decide, get, hook, launch_token,
    open_session, person_of, post, prefetch_of, the_card, weekly_history,
};
use tutti_tests::fixtures::{feedback, rid};

/// The PHQ-9 total [`weekly_history`] sends in week `w`.
fn weekly_phq9(start: f64, step: f64, w: u32) -> f64 {
    (start + step * f64::from(w)).clamp(0.0, 27.0).round()
}

/// Well-being on the common 0-100 scale for a PHQ-9 total (0-27, lower is better).
fn phq9_wellbeing(phq: f64) -> f64 {
    100.0 * (1.0 - phq / 27.0)
}

/// The well-being the track verdict observes: the mean of the last three
/// weekly measures of a `weeks`-long [`weekly_history`].
fn observed_wellbeing(weeks: u32, start: f64, step: f64) -> f64 {
    (weeks - 3..weeks)
        .map(|w| phq9_wellbeing(weekly_phq9(start, step, w)))
        .sum::<f64>()
        / 3.0
}

/// Opens the app from `card` and returns its view.
async fn view_of(server: &TestServer, card: &Value) -> anyhow::Result<Value> {
    let session = open_session(server, &launch_token(card)).await?;
    app_view(server, &session).await
}

fn close(actual: &Value, expected: f64, what: &str) {
    let a = actual
        .as_f64()
        .unwrap_or_else(|| panic!("{what} is a number: {actual}"));
    assert!(
        (a - expected).abs() < 1e-6,
        "{what}: {a}, expected {expected}"
    );
}

/// Weeks in care run from the first measure to now; `days_ago` puts the
/// first at 09:00 UTC `weeks - 1` weeks ago, so now is within 15 hours of it.
fn assert_weeks_in_care(track: &Value, weeks: u32) {
    let w = track["weeks"].as_f64().expect("weeks");
    assert!(
        (w - f64::from(weeks - 1)).abs() < 0.1,
        "weeks in care: {track}"
    );
}

fn assert_probability(p: &Value) {
    let (lower, mean, upper) = (
        p["lower"].as_f64().expect("lower"),
        p["mean"].as_f64().expect("mean"),
        p["upper"].as_f64().expect("upper"),
    );
    assert!(
        (0.0..=1.0).contains(&lower) && lower <= mean && mean <= upper && upper <= 1.0,
        "a probability with its interval: {p}"
    );
}

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
    let session = open_session(&server, &launch).await?;
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

    let v = app_view(&server, &session).await?;
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
    assert_eq!(
        v["track"]["status"], "on_track",
        "PHQ-9 15 down to 10: {}",
        v["track"]
    );
    assert_eq!(
        v["followThrough"],
        json!({"reported": 0, "done": 0, "partly": 0, "probability": v["followThrough"]["probability"]}),
        "nothing reported yet"
    );
    assert_eq!(v["person"], person_of("pt-app", ehr::ISS, TENANT));

    let fb = decide(&server, &session, ids[0], "accepted").await?;
    assert_eq!(fb.status, 200, "{}", fb.text);
    let dup = decide(&server, &session, ids[0], "accepted").await?;
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
    // The clinician's accept and override are reviews, not the person's follow-through.
    let after = card_for(&server, "pt-app", weekly_history("pt-app", 6, 15.0, -1.0)).await?;
    let v = view_of(&server, &after).await?;
    assert_eq!(v["followThrough"]["reported"], 0, "{}", v["followThrough"]);

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
    let r = decide(&server, &session, other["uuid"].clone(), "accepted").await?;
    assert_eq!(r.status, 404, "{}", r.text);
    server.stop().await
}

#[tokio::test]
async fn the_view_shows_the_follow_through_the_person_reported_and_on_track_for_an_improving_patient()
-> anyhow::Result<()> {
    let server = ehr::start().await?;
    let (weeks, start, step) = (6, 16.0, -1.5);
    let history = weekly_history("pt-ft", i64::from(weeks), start, step);
    // Last visit's card; the person then reported on its three suggestions.
    let earlier = card_for(&server, "pt-ft", history.clone()).await?;
    let mut recs = server.recommendations_as(TENANT);
    let reports = [Completion::Done, Completion::Partly, Completion::NotDone];
    let suggestions = earlier["suggestions"].as_array().expect("suggestions");
    assert_eq!(suggestions.len(), reports.len());
    for (s, completion) in suggestions.iter().zip(reports) {
        recs.record_feedback(RecordFeedbackRequest {
            request_id: rid(),
            feedback: Some(feedback(s["uuid"].as_str().expect("uuid"), completion)),
        })
        .await?;
    }
    let today = card_for(&server, "pt-ft", history).await?;
    assert_eq!(today["indicator"], "info", "{today}");
    let v = view_of(&server, &today).await?;

    let f = &v["followThrough"];
    assert_eq!(
        (&f["reported"], &f["done"], &f["partly"]),
        (&json!(3), &json!(1), &json!(1)),
        "done, partly and not done reported: {f}"
    );
    assert_probability(&f["probability"]);

    let t = &v["track"];
    assert_eq!(t["status"], "on_track", "PHQ-9 16 down to 9: {t}");
    assert_eq!(t["steps"], json!([]), "no review steps when on track");
    close(
        &t["observed"],
        observed_wellbeing(weeks, start, step),
        "observed well-being",
    );
    assert_weeks_in_care(t, weeks);
    let curve = v["curve"].as_array().expect("curve");
    assert_eq!(curve.len(), 6);
    close(
        &curve[0]["observed"],
        phq9_wellbeing(weekly_phq9(start, step, 0)),
        "first point",
    );
    close(
        &curve[0]["expected"],
        phq9_wellbeing(weekly_phq9(start, step, 0)),
        "the expected curve starts at the first point",
    );
    server.stop().await
}

#[tokio::test]
async fn the_view_of_a_worsening_patient_is_not_on_track_with_review_steps() -> anyhow::Result<()> {
    let server = ehr::start().await?;
    let (weeks, start, step) = (8, 8.0, 2.2);
    let card = card_for(
        &server,
        "pt-worse",
        weekly_history("pt-worse", i64::from(weeks), start, step),
    )
    .await?;
    assert_eq!(card["indicator"], "warning", "{card}");
    let v = view_of(&server, &card).await?;

    let t = &v["track"];
    assert_eq!(t["status"], "not_on_track", "PHQ-9 8 up to 23: {t}");
    let observed = observed_wellbeing(weeks, start, step);
    close(&t["observed"], observed, "observed well-being");
    let expected = t["expected"].as_f64().expect("expected");
    assert!(
        expected > observed + 20.0,
        "expected {expected} well above observed {observed}"
    );
    assert_weeks_in_care(t, weeks);
    let steps = t["steps"].as_array().expect("steps");
    assert!(steps.len() >= 4, "review steps: {t}");
    assert!(
        steps[0].as_str().expect("step").contains("risk"),
        "risk first: {t}"
    );

    let f = &v["followThrough"];
    assert_eq!(
        (&f["reported"], &f["done"], &f["partly"]),
        (&json!(0), &json!(0), &json!(0)),
        "{f}"
    );
    assert_probability(&f["probability"]);
    server.stop().await
}
