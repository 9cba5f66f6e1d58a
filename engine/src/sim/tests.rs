//! Unit tests of the simulator on the small test catalogue (three processes,
//! nine kernels incl. a safety kernel, contraindicated kernels and an aid).

use super::person::{DecisionDraws, Person};
use super::world::{World, headroom};
use super::*;
use crate::ids::InterventionId;
use crate::observe::{Completion, Context, Feedback};
use crate::testkit;
use rand::SeedableRng;

fn catalogs() -> Catalogs {
    let processes = testkit::processes();
    let interventions = testkit::interventions(&processes);
    Catalogs {
        processes,
        interventions,
    }
}

fn scenario(text: &str) -> Scenario {
    Scenario::from_toml(text).expect("valid scenario")
}

fn rng(seed: u64) -> SimRng {
    SimRng::seed_from_u64(seed)
}

// ---- scenarios ----

#[test]
fn every_named_scenario_loads_and_validates() {
    let names: Vec<&str> = Scenario::names().collect();
    for required in [
        "homogeneous",
        "highly_individual",
        "low_follow_through",
        "risk_episodes",
    ] {
        assert!(names.contains(&required), "{required} missing");
    }
    for name in names {
        let s = Scenario::named(name).expect(name);
        assert_eq!(s.name, name);
        assert!(!s.description.is_empty());
    }
    Scenario::default().validate().expect("defaults are valid");
}

#[test]
fn unknown_fields_are_rejected_at_every_level() {
    assert!(Scenario::from_toml("nmae = \"typo\"").is_err());
    assert!(Scenario::from_toml("[dynamics]\npersistance = 0.5").is_err());
    assert!(
        Scenario::from_toml("[measurement]\noutcomes = [{ instrument = \"phq9\", noise = 1.0 }]")
            .is_err()
    );
}

#[test]
fn out_of_range_parameters_are_rejected() {
    for bad in [
        "[measurement]\nassessments_per_week = 1\ndecisions_per_week = 2",
        "[dynamics]\npersistence = 1.2",
        "[follow_through]\nbase = 1.0",
        "[response]\nnull_share = 0.7\nbackfire_share = 0.5",
        "[missing]\nitem = -0.1",
        "weeks = 0",
        "conditions = [{ condition = \"bipolar\", share = 0.1 }, { condition = \"bipolar\", share = 0.2 }]",
    ] {
        let err = Scenario::from_toml(bad).expect_err(bad);
        assert!(
            matches!(err, crate::EngineError::InvalidConfig(_)),
            "{bad}: {err}"
        );
    }
}

#[test]
fn unknown_scenario_names_the_known_ones() {
    let err = Scenario::named("nope").expect_err("unknown").to_string();
    assert!(
        err.contains("homogeneous") && err.contains("risk_episodes"),
        "{err}"
    );
}

#[test]
fn scenarios_round_trip_through_toml() {
    for name in Scenario::names() {
        let s = Scenario::named(name).expect("named");
        let text = toml::to_string(&s).expect("serialise");
        assert_eq!(Scenario::from_toml(&text).expect("parse back"), s, "{name}");
    }
}

#[test]
fn simulations_can_be_shared_across_threads() {
    fn shareable<T: Send + Sync>() {}
    shareable::<Simulation>();
    shareable::<SimReport>();
}

#[test]
fn partial_files_keep_defaults() {
    let s = scenario("name = \"x\"\n[risk]\nweekly_rate = 0.05");
    assert_eq!(s.risk.weekly_rate, 0.05);
    assert_eq!(s.risk.detection, Scenario::default().risk.detection);
    assert_eq!(s.dynamics, Scenario::default().dynamics);
}

// ---- generative model ----

#[test]
fn person_networks_are_stable_at_every_cadence() {
    for apw in [1, 3, 7] {
        let mut s = Scenario::named("highly_individual").expect("named");
        s.measurement.assessments_per_week = apw;
        s.dynamics.persistence = 0.9;
        s.dynamics.edge_sd = 0.5;
        let world = World::new(&s, &catalogs(), &mut rng(1)).expect("world");
        let mut p = Person::default();
        for seed in 0..50 {
            p.reset(&world, &mut rng(seed));
            let mut row = p.a.clone();
            for e in &p.edges {
                row[e.target] += e.coef.abs();
            }
            for (pole, r) in row.iter().enumerate() {
                assert!(*r < 1.0, "apw {apw} pole {pole}: row norm {r}");
            }
        }
    }
}

/// With every source of person-level heterogeneity off, the average person's
/// true lasting gain from one full dose (at the prior levels, before
/// follow-through) is the catalogue's prior_effect.
#[test]
fn catalogue_prior_effect_is_the_average_persons_lasting_gain() {
    let s = scenario(
        "conditions = []\n\
         [dynamics]\npersistence_sd = 0.0\nnetwork_heterogeneity = 0.0\nloading_heterogeneity = 0.0\nloading_sign_flip = 0.0\nretention_sd = 0.0\n\
         [response]\ncatalog_miscalibration_sd = 0.0\nheterogeneity_sd = 0.0\nnull_share = 0.0\nbackfire_share = 0.0",
    );
    let cat = catalogs();
    let world = World::new(&s, &cat, &mut rng(3)).expect("world");
    let mut p = Person::default();
    let n = 400;
    let mut sum = vec![0.0; world.kernels.len()];
    for seed in 0..n {
        p.reset(&world, &mut rng(seed));
        for (j, k) in world.kernels.iter().enumerate() {
            for i in k.entries.0..k.entries.1 {
                let e = &world.entries[i];
                let up = e.base * p.mult[i] > 0.0;
                sum[j] += p.kcoef[i] * headroom(world.prior_mean[e.pole], up);
            }
        }
    }
    for (j, iv) in cat.interventions.all().iter().enumerate() {
        let mean = sum[j] / f64::from(n as u32);
        let rel = mean / iv.prior_effect;
        assert!(
            (rel - 1.0).abs() < 0.1,
            "{}: {mean} vs {}",
            iv.id,
            iv.prior_effect
        );
    }
}

#[test]
fn habituation_shrinks_the_gain_of_a_repeated_kernel() {
    let s = scenario(
        "conditions = []\n[response]\nhabituation = 0.5\nhabituation_sd = 0.0\nnull_share = 0.0\nbackfire_share = 0.0",
    );
    let world = World::new(&s, &catalogs(), &mut rng(1)).expect("world");
    let mut p = Person::default();
    p.reset(&world, &mut rng(2));
    let dd = DecisionDraws::draw(&mut rng(3));
    let sit = p.situation(&world, &dd);
    p.truth(&world, &sit, false);
    let j = world
        .kernels
        .iter()
        .position(|k| k.id.as_str() == "reach-out")
        .expect("kernel");
    let before = p.gain[j];
    let mut nature = super::person::NatureDraws::default();
    nature.fill(&world, &mut rng(4));
    p.evolve(&world, &nature, Some((j, 1.0)));
    p.truth(&world, &sit, false);
    assert!(before > 0.0);
    assert!(p.gain[j] < 0.75 * before, "{} vs {before}", p.gain[j]);
}

#[test]
fn a_done_aid_raises_later_follow_through() {
    let s = scenario("[follow_through]\naid_carryover = 0.8");
    let world = World::new(&s, &catalogs(), &mut rng(1)).expect("world");
    let mut p = Person::default();
    p.reset(&world, &mut rng(2));
    let dd = DecisionDraws::draw(&mut rng(3));
    let sit = p.situation(&world, &dd);
    p.truth(&world, &sit, false);
    let aid = world.kernels.iter().position(|k| k.aid).expect("aid");
    let other = world
        .kernels
        .iter()
        .position(|k| k.id.as_str() == "reach-out")
        .expect("kernel");
    let before = p.follow[other];
    let mut nature = super::person::NatureDraws::default();
    nature.fill(&world, &mut rng(4));
    let load = p.load;
    p.evolve(&world, &nature, Some((aid, 1.0)));
    p.load = load; // hold life load fixed to isolate the carry-over
    p.truth(&world, &sit, false);
    assert!(
        p.follow[other] > before + 0.02,
        "{} vs {before}",
        p.follow[other]
    );
}

#[test]
fn risk_flags_make_acute_contraindications_ineligible() {
    let world = World::new(&Scenario::default(), &catalogs(), &mut rng(1)).expect("world");
    let mut p = Person::default();
    p.reset(&world, &mut rng(2));
    p.cond_mask = 0;
    let dd = DecisionDraws::draw(&mut rng(3));
    let sit = p.situation(&world, &dd);
    let exposure = world
        .kernels
        .iter()
        .position(|k| k.id.as_str() == "exposure")
        .expect("kernel");
    p.truth(&world, &sit, false);
    assert!(p.eligible[exposure]);
    p.truth(&world, &sit, true);
    assert!(!p.eligible[exposure]);
}

// ---- runner ----

fn sim(text: &str, seed: u64) -> Simulation {
    Simulation::new(&scenario(text), &catalogs(), seed).expect("simulation")
}

#[test]
fn same_seed_same_report_and_parts_merge_to_the_whole() {
    let s = sim("", 7);
    let whole = s
        .run_people(0..40, 12, EpsilonGreedy::default)
        .expect("run");
    let again = s
        .run_people(0..40, 12, EpsilonGreedy::default)
        .expect("run");
    assert_eq!(whole, again);
    let mut parts = s
        .run_people(0..15, 12, EpsilonGreedy::default)
        .expect("run");
    parts
        .merge(
            &s.run_people(15..40, 12, EpsilonGreedy::default)
                .expect("run"),
        )
        .expect("merge");
    assert_eq!(parts.totals.people, 40);
    // Sums of floats in another order: equal up to rounding.
    let (a, b) = (whole.metrics(), parts.metrics());
    for name in Metrics::<f64>::NAMES {
        let (x, y) = (a.get(name).copied(), b.get(name).copied());
        let (x, y) = (x.unwrap_or(0.0), y.unwrap_or(0.0));
        assert!(
            (x - y).abs() < 1e-9 || (x.is_nan() && y.is_nan()),
            "{name}: {x} vs {y}"
        );
    }
    assert_eq!(whole.totals.decisions, parts.totals.decisions);
    assert_eq!(whole.totals.dropouts, parts.totals.dropouts);
}

#[test]
fn different_seeds_give_different_people() {
    let a = sim("", 1).run_people(0..30, 8, || Random).expect("run");
    let b = sim("", 2).run_people(0..30, 8, || Random).expect("run");
    assert_ne!(a.totals.start_wellbeing_sum, b.totals.start_wellbeing_sum);
    assert_ne!(a.totals.improvement_sum, b.totals.improvement_sum);
}

#[test]
fn policies_meet_the_same_people_under_the_same_seed() {
    let s = sim("", 5);
    let r = s.run_people(0..30, 8, || Random).expect("run");
    let o = s.run_people(0..30, 8, || Oracle).expect("run");
    assert_eq!(r.totals.start_wellbeing_sum, o.totals.start_wellbeing_sum);
    assert_eq!(r.weekly[0].wellbeing_sum, o.weekly[0].wellbeing_sum);
    // ...and the oracle does better with them.
    assert!(o.totals.improvement_sum > r.totals.improvement_sum);
    assert!(o.totals.regret_sum < r.totals.regret_sum);
}

/// Ignores risk flags: the report must catch it.
struct Reckless;

impl Policy for Reckless {
    fn name(&self) -> &str {
        "reckless"
    }
    fn choose(&mut self, view: &PersonView<'_>, _rng: &mut SimRng) -> Result<InterventionId> {
        let i = (0..view.interventions.len())
            .find(|&i| !view.is_safety(i))
            .expect("a non-safety kernel");
        Ok(view.id(i))
    }
}

#[test]
fn safety_and_contraindication_breaches_are_counted() {
    let text = "[risk]\nweekly_rate = 0.2\ndetection = 1.0\n\
                [[conditions]]\ncondition = \"trauma_history\"\nshare = 1.0";
    let s = sim(text, 3);
    let bad = s.run_people(0..30, 12, || Reckless).expect("run");
    assert!(bad.totals.risk_flagged_decisions > 0);
    assert!(bad.totals.safety_rule_violations > 0);
    // The first kernel by id is `body-scan`, contraindicated with trauma history.
    assert!(bad.totals.contraindicated_choices > 0);
    for good in [
        s.run_people(0..30, 12, || Random).expect("run"),
        s.run_people(0..30, 12, FixedProtocol::cbt).expect("run"),
        s.run_people(0..30, 12, EpsilonGreedy::default)
            .expect("run"),
        s.run_people(0..30, 12, LinUcb::default).expect("run"),
        s.run_people(0..30, 12, || Oracle).expect("run"),
    ] {
        assert!(good.totals.risk_flagged_decisions > 0, "{}", good.policy);
        assert_eq!(good.totals.safety_rule_violations, 0, "{}", good.policy);
        assert_eq!(good.totals.contraindicated_choices, 0, "{}", good.policy);
    }
}

#[test]
fn missingness_rises_with_burden() {
    let light = sim("[missing]\nburden = 0.0", 4)
        .run_people(0..60, 26, || Random)
        .expect("run");
    let heavy = sim("[missing]\nburden = 2.0", 4)
        .run_people(0..60, 26, || Random)
        .expect("run");
    assert!(heavy.metrics().missing_rate > light.metrics().missing_rate + 0.05);
}

#[test]
fn people_who_do_not_improve_drop_out_more() {
    let helped = sim("", 6).run_people(0..80, 26, || Oracle).expect("run");
    let unhelped = sim("[response]\neffect_scale = 0.0", 6)
        .run_people(0..80, 26, || Oracle)
        .expect("run");
    assert!(unhelped.metrics().dropout_rate > helped.metrics().dropout_rate);
}

#[test]
fn regret_counts_the_slots_lost_to_drop_out() {
    let s = sim("[dropout]\nweekly_hazard = 0.5", 8);
    let o = s.run_people(0..20, 10, || Oracle).expect("run");
    assert!(o.totals.dropouts > 0);
    assert!(o.metrics().mean_regret > 0.0);
}

#[test]
fn cadence_sets_assessments_and_decisions_per_week() {
    let text = "[measurement]\nassessments_per_week = 7\ndecisions_per_week = 2\n[dropout]\nweekly_hazard = 0.0";
    let r = sim(text, 2).run_people(0..5, 3, || Random).expect("run");
    assert_eq!(r.totals.dropouts, 0);
    assert_eq!(r.totals.decisions, 5 * 3 * 2);
    // Occasions 0..=21: the last one measures the outcome at the horizon.
    assert_eq!(r.totals.assessments_due, 5 * (3 * 7 + 1));
    assert_eq!(r.weekly.len(), 4);
}

#[test]
fn engine_policy_goes_through_the_engine_api() {
    let engine = testkit::engine();
    let s = Simulation::new(&Scenario::default(), &Catalogs::of(&engine), 9).expect("sim");
    let r = s
        .run_people(0..10, 8, || EnginePolicy::new(&engine))
        .expect("run");
    assert_eq!(r.policy, "engine");
    assert!(r.totals.decisions > 0);
    assert_eq!(r.totals.safety_rule_violations, 0);
}

// ---- baselines ----

fn view<'a>(
    cat: &'a Catalogs,
    eligible: &'a [bool],
    gains: &'a [f64],
    flagged: bool,
) -> PersonView<'a> {
    let safety_mode = flagged
        && cat
            .interventions
            .all()
            .iter()
            .zip(eligible)
            .any(|(iv, &e)| e && iv.safety);
    PersonView {
        person: 0,
        week: 0,
        decision: 0,
        now: crate::ids::Timestamp(0),
        context: Context::default(),
        conditions: &[],
        latest: None,
        latest_is_fresh: false,
        risk_flagged: flagged,
        processes: &cat.processes,
        interventions: &cat.interventions,
        eligible,
        safety_mode,
        truth: GroundTruth {
            expected_gain: gains,
            follow_through: gains,
        },
    }
}

fn feedback(id: &InterventionId, helpfulness: f64) -> Feedback {
    Feedback {
        intervention: id.clone(),
        at: crate::ids::Timestamp(0),
        completion: Some(Completion::Done),
        minutes_spent: None,
        helpfulness: Some(helpfulness),
        distress_before: None,
        distress_after: None,
        post_ratings: Vec::new(),
        clinician: None,
        context: Context::default(),
    }
}

#[test]
fn candidates_are_safety_kernels_exactly_under_a_flag() {
    let cat = catalogs();
    let n = cat.interventions.len();
    let eligible = vec![true; n];
    let gains = vec![0.0; n];
    let normal = view(&cat, &eligible, &gains, false);
    assert!(normal.candidates().all(|i| !normal.is_safety(i)));
    assert_eq!(normal.candidates().count(), n - 1);
    let flagged = view(&cat, &eligible, &gains, true);
    assert!(flagged.safety_mode());
    assert!(flagged.candidates().all(|i| flagged.is_safety(i)));
    assert_eq!(flagged.candidates().count(), 1);
}

#[test]
fn oracle_takes_the_largest_true_gain_among_candidates() {
    let cat = catalogs();
    let n = cat.interventions.len();
    let mut eligible = vec![true; n];
    let mut gains: Vec<f64> = (0..n).map(|i| i as f64).collect();
    // The best is made ineligible; the safety kernel is never an ordinary pick.
    let best = n - 1;
    eligible[best] = false;
    gains[best] = 100.0;
    let v = view(&cat, &eligible, &gains, false);
    let id = Oracle.choose(&v, &mut rng(0)).expect("choice");
    let i = cat.interventions.index_of(&id).expect("known");
    let expected = (0..n)
        .filter(|&i| v.is_candidate(i))
        .max_by(|&a, &b| gains[a].total_cmp(&gains[b]))
        .expect("some");
    assert_eq!(i, expected);
}

#[test]
fn learning_baselines_follow_rewarding_feedback() {
    let cat = catalogs();
    let n = cat.interventions.len();
    let eligible = vec![true; n];
    let gains = vec![0.0; n];
    let v = view(&cat, &eligible, &gains, false);
    let target = InterventionId::from("wind-down");

    // Greedy versions: they must work through the arms as disappointing
    // rewards come in, find the one that pays, and stay with it.
    let mut eg = EpsilonGreedy::new(0.0);
    let mut lin = LinUcb::new(0.0);
    let mut r = rng(1);
    for policy in [&mut eg as &mut dyn Policy, &mut lin as &mut dyn Policy] {
        for _ in 0..40 {
            let chosen = policy.choose(&v, &mut r).expect("choice");
            let h = if chosen == target { 95.0 } else { 5.0 };
            policy.observe_feedback(&feedback(&chosen, h)).expect("fb");
        }
        for _ in 0..5 {
            assert_eq!(
                policy.choose(&v, &mut r).expect("choice"),
                target,
                "{}",
                policy.name()
            );
            policy
                .observe_feedback(&feedback(&target, 95.0))
                .expect("fb");
        }
    }
}

#[test]
fn fixed_protocol_follows_its_families_and_rotates() {
    let cat = catalogs();
    let n = cat.interventions.len();
    let eligible = vec![true; n];
    let gains = vec![0.0; n];
    let mut fp = FixedProtocol::new(vec!["sleep".into(), "defusion".into()]);
    let mut v = view(&cat, &eligible, &gains, false);
    assert_eq!(fp.choose(&v, &mut rng(0)).expect("c").as_str(), "wind-down");
    v.week = 1;
    assert_eq!(fp.choose(&v, &mut rng(0)).expect("c").as_str(), "defuse");
    let flagged = view(&cat, &eligible, &gains, true);
    assert_eq!(
        fp.choose(&flagged, &mut rng(0)).expect("c").as_str(),
        "safety-plan"
    );
}

#[test]
fn reward_reads_completion_and_helpfulness() {
    let id = InterventionId::from("x");
    let mut fb = feedback(&id, 80.0);
    assert_eq!(baselines::reward(&fb), Some(0.8));
    fb.completion = Some(Completion::Partly);
    assert_eq!(baselines::reward(&fb), Some(0.4));
    fb.completion = Some(Completion::NotDone);
    assert_eq!(baselines::reward(&fb), Some(0.0));
    fb.completion = None;
    assert_eq!(baselines::reward(&fb), None);
}

// ---- reports ----

#[test]
fn estimates_use_the_t_interval() {
    let e = Estimate::from_values([1.0, 2.0, 3.0, 4.0, 5.0]);
    assert_eq!(e.mean, 3.0);
    assert!((e.sd - 2.5f64.sqrt()).abs() < 1e-12);
    let half = 2.776 * e.sd / 5f64.sqrt();
    assert!((e.upper - (3.0 + half)).abs() < 1e-9);
    assert!((e.lower - (3.0 - half)).abs() < 1e-9);
    let one = Estimate::from_values([2.0]);
    assert!(one.lower.is_infinite() && one.upper.is_infinite());
    assert!(Estimate::from_values([f64::NAN]).mean.is_nan());
}

#[test]
fn reports_merge_only_with_the_same_run_and_summarise_by_policy() {
    let s = sim("", 1);
    let mut a = s.run_people(0..5, 4, || Random).expect("run");
    let o = s.run_people(0..5, 4, || Oracle).expect("run");
    assert!(a.merge(&o).is_err());
    let s2 = sim("", 2);
    let reports = vec![
        a.clone(),
        o.clone(),
        s2.run_people(0..5, 4, || Random).expect("run"),
        s2.run_people(0..5, 4, || Oracle).expect("run"),
    ];
    let summary = summarise(&reports);
    assert_eq!(summary.rows.len(), 2);
    let r = summary.policy("random").expect("row");
    assert_eq!(r.seeds, vec![1, 2]);
    assert_eq!(r.metrics.mean_improvement.n, 2);
    assert_eq!(r.wellbeing_curve.len(), 5);
    let d = paired_difference(&reports[1..2], &reports[0..1], "mean_improvement").expect("diff");
    assert_eq!(d.n, 1);
    assert!(paired_difference(&reports, &reports, "no_such_metric").is_none());
    let json = serde_json::to_string(&summary).expect("serialise");
    assert!(json.contains("mean_improvement"));
}
