//! Behaviour: a platform that drives the public gRPC API through a simulated
//! clinic gets exactly what the engine decides in-process. The simulator's
//! people (daily ratings with gaps, a weekly decision, feedback with
//! helpfulness and post-ratings, clinicians declining contraindicated items)
//! go through CreatePerson, RecordAssessment, Recommend and RecordFeedback on
//! a real server. With exploration off the ranking is deterministic, so every
//! decision, and with them the captured share of the oracle's gain, must equal
//! the in-process engine's on the same world: nothing is lost or bent in
//! validation, conversion, storage, the state's encoding or the cached
//! posterior. (The simulator's clock starts in January 2026, so every
//! timestamp is in the past, as a platform replaying a half year would send.)

use std::collections::HashMap;
use tokio::runtime::Handle;
use tutti_engine::Engine;
use tutti_engine::ids::{InterventionId, Timestamp};
use tutti_engine::observe::{self, Assessment, Feedback};
use tutti_engine::sim::{
    Catalogs, EnginePolicy, Intake, PersonView, Policy, Scenario, SimRng, Simulation,
};
use tutti_proto::v1 as pb;
use tutti_server::convert::{
    ToWire, completion_to_pb, conditions_to_pb, setting_to_pb, timestamp_to_pb,
};
use tutti_tests::fixtures::rid;
use tutti_tests::{PeopleClient, RecommendationClient, TestServer};
use tutti_workbench::bootstrap::load_scenario;

const PEOPLE: u64 = 16;
const WEEKS: u32 = 12;

/// A simulated platform: every hook is one or more gRPC calls.
struct Platform {
    rt: Handle,
    people: PeopleClient,
    recs: RecommendationClient,
    run: String,
    person: String,
    /// Recommendation ids of the latest decision, by intervention.
    shown: HashMap<String, String>,
    /// In a clinic run in lockstep: the gate, and the last week this person decided in.
    gate: Option<std::sync::Arc<Gate>>,
    week: Option<u32>,
}

fn err(e: impl std::fmt::Display) -> tutti_engine::EngineError {
    tutti_engine::EngineError::IncompatibleState(format!("over gRPC: {e}"))
}

/// The ratings a person gave (a process whose both items were left blank is
/// not sent: the API refuses an empty rating).
fn ratings(r: &[observe::Rating]) -> Vec<pb::ProcessRating> {
    r.iter()
        .filter(|r| r.adaptive.is_some() || r.maladaptive.is_some())
        .map(ToWire::to_wire)
        .collect()
}

fn context(c: &observe::Context) -> pb::RecommendationContext {
    pb::RecommendationContext {
        minutes_available: c.minutes_available.unwrap_or(0),
        setting: setting_to_pb(c.setting).into(),
        capacity: c.capacity,
    }
}

fn intervention_of(r: &pb::Recommendation) -> String {
    r.intervention
        .as_ref()
        .map(|i| i.id.clone())
        .unwrap_or_default()
}

impl Platform {
    fn resource(&self) -> String {
        format!("people/{}", self.person)
    }

    fn send_feedback(&mut self, feedback: pb::Feedback) -> tutti_engine::Result<()> {
        let mut recs = self.recs.clone();
        self.rt
            .block_on(recs.record_feedback(pb::RecordFeedbackRequest {
                request_id: rid(),
                feedback: Some(feedback),
            }))
            .map_err(err)?;
        Ok(())
    }
}

impl Policy for Platform {
    fn name(&self) -> &str {
        "engine_over_grpc"
    }

    fn start(&mut self, intake: &Intake<'_>) -> tutti_engine::Result<()> {
        self.person = format!("{}-{}", self.run, intake.person);
        let mut people = self.people.clone();
        self.rt
            .block_on(people.create_person(pb::CreatePersonRequest {
                request_id: rid(),
                person_id: self.person.clone(),
                conditions: conditions_to_pb(intake.conditions),
            }))
            .map_err(err)?;
        Ok(())
    }

    fn observe_assessment(&mut self, a: &Assessment) -> tutti_engine::Result<()> {
        let mut assessment = a.to_wire();
        assessment.ratings = ratings(&a.ratings);
        let req = pb::RecordAssessmentRequest {
            request_id: rid(),
            person: self.resource(),
            assessment: Some(assessment),
        };
        let mut people = self.people.clone();
        self.rt
            .block_on(people.record_assessment(req))
            .map_err(err)?;
        Ok(())
    }

    fn choose(
        &mut self,
        view: &PersonView<'_>,
        rng: &mut SimRng,
    ) -> tutti_engine::Result<InterventionId> {
        if let Some(gate) = &self.gate {
            gate.arrive(self.week, view.week);
            self.week = Some(view.week);
        }
        // The in-process policy draws an exploration seed here; keep the
        // policy stream in step with it.
        let _ = rand::RngCore::next_u64(rng);
        let mut recs = self.recs.clone();
        let resp = self
            .rt
            .block_on(recs.recommend(pb::RecommendRequest {
                request_id: rid(),
                person: self.resource(),
                max_results: 5,
                context: Some(context(&view.context)),
                request_time: Some(timestamp_to_pb(view.now)),
                ..Default::default()
            }))
            .map_err(err)?
            .into_inner();
        self.shown = resp
            .recommendations
            .iter()
            .map(|r| (intervention_of(r), r.recommendation_id.clone()))
            .collect();
        // The clinician declines what is contraindicated for this person.
        let eligible = |id: &str| {
            view.interventions
                .index_of(&InterventionId(id.to_owned()))
                .is_some_and(|i| view.is_eligible(i))
        };
        let keep = resp
            .recommendations
            .iter()
            .position(|r| eligible(&intervention_of(r)))
            .unwrap_or(0);
        for declined in resp.recommendations.iter().take(keep) {
            self.send_feedback(pb::Feedback {
                recommendation_id: declined.recommendation_id.clone(),
                clinician: Some(pb::ClinicianReview {
                    decision: pb::ClinicianDecision::Rejected.into(),
                    ..Default::default()
                }),
                observe_time: Some(timestamp_to_pb(view.now)),
                ..Default::default()
            })?;
        }
        let chosen = resp
            .recommendations
            .get(keep)
            .ok_or_else(|| err("an empty ranking"))?;
        Ok(InterventionId(intervention_of(chosen)))
    }

    fn observe_recommendation(
        &mut self,
        _intervention: &InterventionId,
        _at: Timestamp,
    ) -> tutti_engine::Result<()> {
        // The server recorded what it returned when it ranked.
        Ok(())
    }

    fn observe_feedback(&mut self, f: &Feedback) -> tutti_engine::Result<()> {
        let recommendation_id = self
            .shown
            .get(f.intervention.as_str())
            .cloned()
            .ok_or_else(|| err(format!("feedback on {} never shown", f.intervention)))?;
        self.send_feedback(pb::Feedback {
            recommendation_id,
            completion: completion_to_pb(f.completion).into(),
            minutes_spent: f.minutes_spent,
            helpfulness: f.helpfulness,
            distress_before: f.distress_before,
            distress_after: f.distress_after,
            post_ratings: ratings(&f.post_ratings),
            observe_time: Some(timestamp_to_pb(f.at)),
            ..Default::default()
        })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clinic_driven_through_grpc_gets_the_in_process_engine_s_decisions() {
    let server = TestServer::start_with(|c| {
        c.engine.exploration = 0.0;
        c.pooling.enabled = false;
    })
    .await
    .expect("server starts");
    let builtin = Engine::with_defaults();
    let engine = Engine::new(
        server.config().engine.clone(),
        builtin.processes().clone(),
        builtin.interventions().clone(),
        builtin.population().clone(),
    )
    .expect("engine");
    let scenario = Scenario::named("individual").expect("named");
    let sim = Simulation::new(&scenario, &Catalogs::of(&engine), 7).expect("simulation");
    let (people, recs) = (server.people(), server.recommendations());
    let rt = Handle::current();
    let run = uuid::Uuid::new_v4().simple().to_string()[..12].to_owned();
    let (over_grpc, in_process) = tokio::task::spawn_blocking(move || {
        let over_grpc = sim
            .run_people(0..PEOPLE, WEEKS, || Platform {
                rt: rt.clone(),
                people: people.clone(),
                recs: recs.clone(),
                run: run.clone(),
                person: String::new(),
                shown: HashMap::new(),
                gate: None,
                week: None,
            })
            .expect("every simulated call succeeds over gRPC");
        let in_process = sim
            .run_people(0..PEOPLE, WEEKS, || EnginePolicy::new(&engine))
            .expect("in-process engine");
        (over_grpc, in_process)
    })
    .await
    .expect("simulation thread");
    let (g, e) = (&over_grpc.totals, &in_process.totals);
    assert!(e.decisions >= PEOPLE * u64::from(WEEKS) / 2, "{e:?}");
    assert_eq!(g.decisions, e.decisions);
    assert_eq!(g.feedback_sent, e.feedback_sent);
    assert!(
        (g.chosen_gain_sum - e.chosen_gain_sum).abs() < 1e-9 * e.chosen_gain_sum.abs().max(1.0),
        "over gRPC the decisions gained {} in truth, in process {}",
        g.chosen_gain_sum,
        e.chosen_gain_sum
    );
    let (cg, ce) = (
        over_grpc.metrics().captured_share,
        in_process.metrics().captured_share,
    );
    assert!(
        (cg - ce).abs() < 1e-9,
        "captured share {cg} over gRPC, {ce} in process"
    );
    assert!(ce > 0.1, "the engine learns on this world: {ce}");
}

/// Holds each simulated person's decision of week `w` until every person
/// still in care has reached week `w`, so the clinic runs in lockstep, as a
/// platform's people do: the tenant's pooled model is refitted on everyone's
/// first weeks, not on whole histories one person after another.
struct Gate {
    people: usize,
    state: std::sync::Mutex<GateState>,
    turn: std::sync::Condvar,
}

#[derive(Default)]
struct GateState {
    arrived: HashMap<u32, usize>,
    finished: usize,
}

impl Gate {
    fn new(people: usize) -> Self {
        Self {
            people,
            state: std::sync::Mutex::default(),
            turn: std::sync::Condvar::new(),
        }
    }

    /// Person arrives at `week` (and at any week in between it had no decision in).
    fn arrive(&self, from: Option<u32>, week: u32) {
        let mut s = self.state.lock().expect("gate");
        for w in from.map_or(0, |f| f + 1)..=week {
            *s.arrived.entry(w).or_default() += 1;
        }
        self.turn.notify_all();
        while s.arrived.get(&week).copied().unwrap_or(0) + s.finished < self.people {
            s = self.turn.wait(s).expect("gate");
        }
    }

    fn leave(&self) {
        self.state.lock().expect("gate").finished += 1;
        self.turn.notify_all();
    }
}

/// A report, run by hand: a clinic in lockstep through gRPC on the shipped
/// configuration (exploration and online pooling on), beside pooling off and
/// the in-process engine. `SIM_PEOPLE`, `SIM_SEEDS`, `SIM_SCENARIO` size it
/// (a built-in name, or `file:<path>` to a scenario TOML of one's own);
/// `SIM_POOL_INTERVAL` sets `pooling.min_interval_seconds`; `SIM_POOLING` =
/// `on` or `off` runs one arm only, `SIM_IN_PROCESS=0` skips the in-process run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "report, run by hand"]
async fn clinic_in_lockstep_over_grpc_report() {
    let env = |k: &str, d: &str| std::env::var(k).unwrap_or_else(|_| d.to_owned());
    let people: u64 = env("SIM_PEOPLE", "100").parse().expect("SIM_PEOPLE");
    let seeds: u64 = env("SIM_SEEDS", "2").parse().expect("SIM_SEEDS");
    let name = env("SIM_SCENARIO", "individual");
    let scenario = match name.strip_prefix("file:") {
        Some(path) => load_scenario(None, Some(std::path::Path::new(path))),
        None => load_scenario(Some(&name), None),
    }
    .expect("scenario");
    let engine = std::sync::Arc::new(Engine::with_defaults());
    for seed in 1..=seeds {
        let sim = std::sync::Arc::new(
            Simulation::new(&scenario, &Catalogs::of(&engine), seed).expect("simulation"),
        );
        let mut line = format!("{} seed {seed}:", scenario.name);
        let arms: &[bool] = match env("SIM_POOLING", "both").as_str() {
            "on" => &[true],
            "off" => &[false],
            _ => &[true, false],
        };
        for &pooling in arms {
            let server = TestServer::start_with(|c| {
                c.pooling.enabled = pooling;
                if let Ok(s) = std::env::var("SIM_POOL_INTERVAL") {
                    c.pooling.min_interval_seconds = s.parse().expect("SIM_POOL_INTERVAL");
                }
            })
            .await
            .expect("server starts");
            let gate = std::sync::Arc::new(Gate::new(people as usize));
            let started = std::time::Instant::now();
            let threads: Vec<_> = (0..people)
                .map(|i| {
                    let (sim, gate) = (sim.clone(), gate.clone());
                    let (rt, people_client, recs) =
                        (Handle::current(), server.people(), server.recommendations());
                    std::thread::spawn(move || {
                        let r = sim.run_people(i..i + 1, 24, || Platform {
                            rt: rt.clone(),
                            people: people_client.clone(),
                            recs: recs.clone(),
                            run: "lockstep".into(),
                            person: String::new(),
                            shown: HashMap::new(),
                            gate: Some(gate.clone()),
                            week: None,
                        });
                        gate.leave();
                        r.expect("person over gRPC")
                    })
                })
                .collect();
            let reports = tokio::task::spawn_blocking(move || {
                threads
                    .into_iter()
                    .map(|t| t.join().expect("person thread"))
                    .collect::<Vec<_>>()
            })
            .await
            .expect("join");
            let mut all = reports[0].clone();
            for r in &reports[1..] {
                all.merge(r).expect("merge");
            }
            line += &format!(
                "  over gRPC, pooling {}: {:.3} ({:.0} s)",
                if pooling { "on" } else { "off" },
                all.metrics().captured_share,
                started.elapsed().as_secs_f64()
            );
        }
        if env("SIM_IN_PROCESS", "1") == "0" {
            println!("{line}");
            continue;
        }
        let sim2 = sim.clone();
        let engine2 = engine.clone();
        let in_process = tokio::task::spawn_blocking(move || {
            sim2.run_people(0..people, 24, || EnginePolicy::new(&engine2))
                .expect("in process")
        })
        .await
        .expect("join");
        line += &format!("  in process: {:.3}", in_process.metrics().captured_share);
        println!("{line}");
    }
}
