//! A small decision log written through the real server, for the tests of
//! the offline tools (`tutti export`, `tutti evaluate --db`).
//!
//! Every event is stamped in the past and in the order it is sent (assessment,
//! then the decision an hour later, then feedback two hours later, a day per
//! round), so replaying by event time and by arrival order agree.

use crate::TestServer;
use crate::fixtures::{
    assessment_series, days_ago, feedback, new_person, recommend, recommend_request,
    record_assessment, record_feedback, ts,
};
use std::time::Duration;
use tutti_proto::v1::{Completion, RecommendationContext};

/// A returned item: (recommendation id, intervention id, propensity).
pub type Item = (String, String, f64);

/// What the log holds, as the client saw it.
#[derive(Debug, Clone, Default)]
pub struct Logged {
    /// Resource names of the people.
    pub people: Vec<String>,
    /// Decisions: (decision id, [(recommendation id, intervention id, propensity)]).
    pub decisions: Vec<(String, Vec<Item>)>,
    /// Feedback sent: (recommendation id, helpfulness).
    pub feedback: Vec<(String, f64)>,
    /// Assessments recorded.
    pub assessments: usize,
}

/// `people` people, `rounds` rounds each of assessment, decision and (on
/// most rounds) feedback on the first item.
pub async fn populate(server: &TestServer, people: usize, rounds: usize) -> Logged {
    let mut out = Logged::default();
    let mut clients = (server.people(), server.recommendations());
    for p in 0..people {
        let person = new_person(&mut clients.0).await;
        let start = days_ago(rounds as u64 + 2);
        let day = Duration::from_secs(86_400);
        let series =
            assessment_series(rounds, start + day * (rounds as u32 - 1), day, p as u64 + 1);
        for (round, assessment) in series.into_iter().enumerate() {
            let at = start + day * round as u32;
            record_assessment(&mut clients.0, &person, assessment).await;
            out.assessments += 1;
            let mut request = recommend_request(&person);
            request.request_time = Some(ts(at + Duration::from_secs(3600)));
            request.context = Some(RecommendationContext {
                minutes_available: 10 + 5 * (round as u32 % 3),
                ..Default::default()
            });
            let resp = recommend(&mut clients.1, request).await;
            let items: Vec<Item> = resp
                .recommendations
                .iter()
                .map(|r| {
                    let id = r
                        .intervention
                        .as_ref()
                        .map(|i| i.id.clone())
                        .unwrap_or_default();
                    (r.recommendation_id.clone(), id, r.propensity)
                })
                .collect();
            if round % 3 != 2 {
                let helpfulness = 40.0 + 10.0 * ((p + round) % 5) as f64;
                let mut f = feedback(&items[0].0, Completion::Done);
                f.helpfulness = Some(helpfulness);
                f.observe_time = Some(ts(at + Duration::from_secs(7200)));
                record_feedback(&mut clients.1, f).await;
                out.feedback.push((items[0].0.clone(), helpfulness));
            }
            out.decisions.push((resp.decision_id, items));
        }
        out.people.push(person);
    }
    out
}
