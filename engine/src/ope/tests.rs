//! Statistical checks of the estimators on synthetic bandits whose target
//! value is known exactly, plus validation and invariant tests.
//!
//! Replication counts are kept modest so the suite runs in a few seconds in
//! debug builds; every seed is fixed, so a pass or a failure is reproducible.
//! Each property check is paired with a check that a wrong answer *would*
//! fail it (the logging mean, heavy clipping), so the tests have power.

use super::synthetic::{Bandit, ConstantModel, TrueModel, mean_se, variance};
use super::*;
use crate::error::EngineError;
use proptest::prelude::*;

fn quick(seed: u64) -> EvaluationConfig {
    EvaluationConfig {
        estimator: EstimatorOptions {
            bootstrap_resamples: 0,
            seed,
            ..EstimatorOptions::default()
        },
        ..EvaluationConfig::default()
    }
}

/// Point estimates over `reps` independent logs of size `n`.
struct Replications {
    ips: Vec<f64>,
    snips: Vec<f64>,
    dr: Vec<f64>,
    dr_true_model: Vec<f64>,
    dr_constant_model: Vec<f64>,
    ips_clipped: Vec<f64>,
    on_policy: Vec<f64>,
}

fn replicate(bandit: &Bandit, target: &[Vec<f64>], reps: u64, n: usize) -> Replications {
    let mut out = Replications {
        ips: Vec::new(),
        snips: Vec::new(),
        dr: Vec::new(),
        dr_true_model: Vec::new(),
        dr_constant_model: Vec::new(),
        ips_clipped: Vec::new(),
        on_policy: Vec::new(),
    };
    for r in 0..reps {
        let log = bandit.log(n, 1000 + r, true);
        let data = OffPolicyData::new(&log.decisions, log.targets(target)).expect("valid log");
        let report = evaluate(&data, &quick(r)).expect("evaluates");
        out.ips.push(report.ips.value);
        out.snips.push(report.snips.value);
        out.dr.push(report.doubly_robust.value);
        out.on_policy.push(report.on_policy.value);
        let options = quick(r).estimator;
        let truth = RewardPredictions::from_model(&data, &TrueModel(bandit)).expect("predicts");
        out.dr_true_model
            .push(doubly_robust(&data, &truth, &options).expect("dr").value);
        let constant = RewardPredictions::from_model(&data, &ConstantModel(5.0)).expect("predicts");
        out.dr_constant_model
            .push(doubly_robust(&data, &constant, &options).expect("dr").value);
        let clipped = EstimatorOptions {
            clip: Some(1.0),
            ..options
        };
        out.ips_clipped
            .push(ips(&data, &clipped).expect("ips").value);
    }
    out
}

fn assert_unbiased(name: &str, xs: &[f64], truth: f64) {
    let (mean, se) = mean_se(xs);
    eprintln!(
        "{name}: mean {mean:.4} truth {truth:.4} |bias|/SE {:.2}",
        (mean - truth).abs() / se
    );
    assert!(
        (mean - truth).abs() < 3.0 * se,
        "{name}: mean {mean} over {} logs, truth {truth}, SE {se}",
        xs.len()
    );
}

#[test]
fn ips_and_dr_are_unbiased_and_dr_has_lower_variance() {
    let bandit = Bandit::standard();
    let target = bandit.greedy_target();
    let truth = bandit.value(&target);
    let logging_value = bandit.value(&bandit.logging);
    let reps = replicate(&bandit, &target, 200, 200);

    assert_unbiased("IPS", &reps.ips, truth);
    assert_unbiased("DR (cross-fitted ridge)", &reps.dr, truth);
    assert_unbiased("DR (true model)", &reps.dr_true_model, truth);
    assert_unbiased("DR (constant model)", &reps.dr_constant_model, truth);
    assert_unbiased(
        "logging mean vs logging value",
        &reps.on_policy,
        logging_value,
    );

    // Power: the same check rejects what is known to be wrong.
    let (on_policy, se) = mean_se(&reps.on_policy);
    assert!(
        (on_policy - truth).abs() > 10.0 * se,
        "target must differ from logging"
    );
    let (clipped, se) = mean_se(&reps.ips_clipped);
    assert!(
        (clipped - truth).abs() > 3.0 * se,
        "clipping at 1 is biased"
    );

    // A good reward model removes most of IPS's variance; a useless one does not help.
    let (v_ips, v_dr, v_true) = (
        variance(&reps.ips),
        variance(&reps.dr),
        variance(&reps.dr_true_model),
    );
    eprintln!(
        "variance: IPS {v_ips:.4}, DR ridge {v_dr:.4}, DR true {v_true:.4}, DR constant {:.4}",
        variance(&reps.dr_constant_model)
    );
    assert!(v_dr < 0.5 * v_ips, "DR {v_dr} vs IPS {v_ips}");
    assert!(v_true < 0.5 * v_ips, "DR(true) {v_true} vs IPS {v_ips}");
}

#[test]
fn snips_is_consistent() {
    let bandit = Bandit::standard();
    let target = bandit.greedy_target();
    let truth = bandit.value(&target);
    let estimates = |n: usize, reps: u64| -> Vec<f64> {
        (0..reps)
            .map(|r| {
                let log = bandit.log(n, 50_000 + r, false);
                let data = OffPolicyData::new(&log.decisions, log.targets(&target)).expect("valid");
                snips(&data, &quick(r).estimator).expect("snips").value
            })
            .collect()
    };
    let rmse =
        |xs: &[f64]| (xs.iter().map(|v| (v - truth).powi(2)).sum::<f64>() / xs.len() as f64).sqrt();
    // SNIPS has an O(1/n) bias: visible but small at n = 200, gone at n = 3200.
    let at_200 = estimates(200, 200);
    let (mean_200, _) = mean_se(&at_200);
    let sd_200 = variance(&at_200).sqrt();
    let large = estimates(3200, 40);
    let (at_100, at_3200) = (rmse(&estimates(100, 40)), rmse(&large));
    eprintln!(
        "SNIPS: bias at n=200 {:.4} (sd of one estimate {sd_200:.4}); RMSE n=100 {at_100:.4}, \
         n=200 {:.4}, n=3200 {at_3200:.4}",
        mean_200 - truth,
        rmse(&at_200)
    );
    assert!((mean_200 - truth).abs() < 0.25 * sd_200);
    assert_unbiased("SNIPS n=3200", &large, truth);
    // sqrt(32) ≈ 5.7 times smaller in theory.
    assert!(at_3200 < at_100 / 3.0, "{at_100} -> {at_3200}");
    assert!(at_3200 < 0.06, "{at_3200}");
}

#[test]
fn bootstrap_intervals_cover_the_truth_near_the_nominal_rate() {
    let bandit = Bandit::standard();
    let target = bandit.greedy_target();
    let truth = bandit.value(&target);
    let logging_value = bandit.value(&bandit.logging);
    let reps = 200;
    let mut covered = [0usize; 5];
    for r in 0..reps {
        let log = bandit.log(200, 7000 + r, true);
        let data = OffPolicyData::new(&log.decisions, log.targets(&target)).expect("valid");
        let config = EvaluationConfig {
            estimator: EstimatorOptions {
                bootstrap_resamples: 100,
                confidence: 0.9,
                seed: r,
                clip: None,
            },
            ..EvaluationConfig::default()
        };
        let report = evaluate(&data, &config).expect("evaluates");
        let inside = |e: &Estimate, v: f64| usize::from(e.lower <= v && v <= e.upper);
        covered[0] += inside(&report.ips, truth);
        covered[1] += inside(&report.snips, truth);
        covered[2] += inside(&report.doubly_robust, truth);
        covered[3] += inside(&report.on_policy, logging_value);
        let gain = truth - logging_value;
        covered[4] +=
            usize::from(report.improvement.lower <= gain && gain <= report.improvement.upper);
    }
    let share = covered.map(|c| c as f64 / reps as f64);
    eprintln!(
        "90% CI coverage over {reps} logs: IPS {:.3}, SNIPS {:.3}, DR {:.3}, logging mean {:.3}, DR gain {:.3}",
        share[0], share[1], share[2], share[3], share[4]
    );
    for (name, s) in ["IPS", "SNIPS", "DR", "logging mean", "DR gain"]
        .iter()
        .zip(share)
    {
        // Nominal 0.90; 200 logs give a binomial SD of about 0.02.
        assert!((0.8..=0.98).contains(&s), "{name} coverage {s}");
    }
}

#[test]
fn target_equal_to_logging_gives_the_on_policy_mean() {
    let bandit = Bandit::standard();
    let log = bandit.log(500, 3, true);
    let data = OffPolicyData::new(&log.decisions, log.targets(&bandit.logging)).expect("valid");
    assert!(data.weights().iter().all(|w| *w == 1.0));
    let report = evaluate(&data, &EvaluationConfig::default()).expect("evaluates");
    let mean = report.on_policy.value;
    assert!((report.ips.value - mean).abs() < 1e-12);
    assert!((report.snips.value - mean).abs() < 1e-12);
    assert!((report.doubly_robust.value - mean).abs() < report.on_policy.std_error);
    assert_eq!(report.ips.effective_sample_size, 500.0);
    assert!(report.improvement.lower < 0.0 && report.improvement.upper > 0.0);
    assert!(report.warnings().is_empty(), "{:?}", report.warnings());
}

#[test]
fn a_well_overlapping_target_raises_no_warning() {
    let bandit = Bandit::standard();
    let log = bandit.log(2000, 11, true);
    let data =
        OffPolicyData::new(&log.decisions, log.targets(&bandit.greedy_target())).expect("valid");
    let d = diagnose(&data, None, &DiagnosticThresholds::default());
    assert!(d.warnings.is_empty(), "{:?}", d.warnings);
    assert!(d.effective_sample_size > 500.0);
    assert!((d.mean_weight - 1.0).abs() < 3.0 * d.mean_weight_std_error);
    assert_eq!(d.unsupported_mass, Some(0.0));
}

#[test]
fn deterministic_target_with_poor_overlap_is_flagged() {
    let bandit = Bandit::standard().with_rare_last_action(0.01);
    let target = bandit.constant_target(3);
    for with_distribution in [true, false] {
        let log = bandit.log(2000, 5, with_distribution);
        let data = OffPolicyData::new(&log.decisions, log.targets(&target)).expect("valid");
        let report = evaluate(&data, &quick(1)).expect("evaluates");
        let codes: Vec<&str> = report.warnings().iter().map(OpeWarning::code).collect();
        eprintln!(
            "poor overlap (distribution logged: {with_distribution}): ESS {:.1}, warnings {codes:?}",
            report.diagnostics.effective_sample_size
        );
        assert!(codes.contains(&"poor_overlap"), "{codes:?}");
        assert!(codes.contains(&"low_effective_sample_size"), "{codes:?}");
        assert!(report.diagnostics.effective_sample_size < 50.0);
        // Every decision where `d` was taken has weight 100.
        assert!((report.ips.max_weight - 100.0).abs() < 1e-9);
        if with_distribution {
            assert!((report.diagnostics.low_overlap_mass - 1.0).abs() < 1e-12);
        }
    }
}

#[test]
fn target_outside_the_logging_support_is_flagged() {
    let bandit = Bandit::standard().with_rare_last_action(0.0);
    let target = Bandit::standard().greedy_target();
    let outside = target.iter().map(|p| p[3]).sum::<f64>() / target.len() as f64;
    let log = bandit.log(3000, 9, true);
    let data = OffPolicyData::new(&log.decisions, log.targets(&target)).expect("valid");
    let d = diagnose(&data, None, &DiagnosticThresholds::default());
    let mass = d.unsupported_mass.expect("distribution logged");
    assert!((mass - outside).abs() < 0.03, "{mass} vs {outside}");
    assert!(
        d.warnings
            .iter()
            .any(|w| matches!(w, OpeWarning::UnsupportedActions { .. }))
    );

    // Without the full distribution, the weights' mean reveals the gap.
    let log = bandit.log(3000, 9, false);
    let data = OffPolicyData::new(&log.decisions, log.targets(&target)).expect("valid");
    let d = diagnose(&data, None, &DiagnosticThresholds::default());
    assert_eq!(d.unsupported_mass, None);
    assert!((d.mean_weight - (1.0 - outside)).abs() < 4.0 * d.mean_weight_std_error);
    assert!(
        d.warnings
            .iter()
            .any(|w| w.code() == "weights_do_not_average_one"),
        "{:?}",
        d.warnings
    );
}

#[test]
fn wrong_propensities_are_flagged() {
    let bandit = Bandit::standard();
    let mut log = bandit.log(2000, 21, false);
    for d in &mut log.decisions {
        d.propensity *= 0.5; // logged half the true probability
    }
    let data =
        OffPolicyData::new(&log.decisions, log.targets(&bandit.greedy_target())).expect("valid");
    let d = diagnose(&data, None, &DiagnosticThresholds::default());
    let found = d.warnings.iter().find_map(|w| {
        if let OpeWarning::WeightsDoNotAverageOne { mean_weight, .. } = w {
            Some(*mean_weight)
        } else {
            None
        }
    });
    let mean = found.expect("flagged");
    assert!((mean - 2.0).abs() < 0.2, "{mean}");
}

#[test]
fn clipping_reduces_variance_and_is_reported() {
    let bandit = Bandit::standard().with_rare_last_action(0.03);
    let target = bandit.greedy_target();
    let clip = 5.0;
    let mut raw = Vec::new();
    let mut clipped = Vec::new();
    let mut report = None;
    for r in 0..100 {
        let log = bandit.log(200, 300 + r, true);
        let data = OffPolicyData::new(&log.decisions, log.targets(&target)).expect("valid");
        let mut config = quick(r);
        raw.push(ips(&data, &config.estimator).expect("ips").value);
        config.estimator.clip = Some(clip);
        config.thresholds.max_clipped_fraction = 0.01;
        let rep = evaluate(&data, &config).expect("evaluates");
        clipped.push(rep.ips.value);
        report = Some(rep);
    }
    let (v_raw, v_clipped) = (variance(&raw), variance(&clipped));
    eprintln!("IPS variance unclipped {v_raw:.4}, clipped at {clip}: {v_clipped:.4}");
    assert!(v_clipped < 0.5 * v_raw, "{v_raw} -> {v_clipped}");
    let report = report.expect("ran");
    assert!(
        report.ips.clipped_fraction > 0.01,
        "{}",
        report.ips.clipped_fraction
    );
    assert_eq!(report.ips.clipped_fraction, report.snips.clipped_fraction);
    assert!(report.ips.max_weight > clip);
    assert!(
        report
            .warnings()
            .iter()
            .any(|w| matches!(w, OpeWarning::HeavyClipping { clip: c, .. } if *c == clip)),
        "{:?}",
        report.warnings()
    );
}

#[test]
fn a_few_dominant_weights_are_flagged_as_heavy_tailed() {
    let decision = |propensity: f64| LoggedDecision {
        context: vec![],
        candidates: vec!["a".into(), "b".into()],
        action: "a".into(),
        propensity,
        logging_distribution: None,
        reward: 1.0,
    };
    let target = |p: f64| vec![p, 1.0 - p];
    // 1000 ordinary decisions and three with a propensity of 0.001.
    let mut log: Vec<_> = (0..1000).map(|_| decision(0.5)).collect();
    log.extend((0..3).map(|_| decision(0.001)));
    let targets = log
        .iter()
        .map(|d| target(if d.propensity < 0.01 { 1.0 } else { 0.5 }))
        .collect();
    let data = OffPolicyData::new(&log, targets).expect("valid");
    let d = diagnose(&data, None, &DiagnosticThresholds::default());
    assert!(
        d.warnings
            .iter()
            .any(|w| w.code() == "heavy_tailed_weights"),
        "{d:?}"
    );
    assert_eq!(d.max_weight, 1000.0);

    // The same log without the three is fine.
    let data = OffPolicyData::new(&log[..1000], vec![target(0.5); 1000]).expect("valid");
    let d = diagnose(&data, None, &DiagnosticThresholds::default());
    assert!(d.warnings.is_empty(), "{:?}", d.warnings);
}

#[test]
fn evaluation_is_reproducible_from_its_seed() {
    let bandit = Bandit::standard();
    let log = bandit.log(300, 17, true);
    let data =
        OffPolicyData::new(&log.decisions, log.targets(&bandit.greedy_target())).expect("valid");
    let mut config = EvaluationConfig::default();
    config.estimator.bootstrap_resamples = 200;
    let a = evaluate(&data, &config).expect("evaluates");
    let b = evaluate(&data, &config).expect("evaluates");
    assert_eq!(a, b);
    let mut other = config;
    other.estimator.seed = 1;
    let c = evaluate(&data, &other).expect("evaluates");
    assert_eq!(a.ips.value, c.ips.value);
    assert_ne!(a.ips.lower, c.ips.lower);
    // The standalone estimators use the same resamples as the report.
    let alone = snips(&data, &config.estimator).expect("snips");
    assert_eq!(alone, a.snips);
}

#[test]
fn no_overlap_gives_no_estimate_and_says_so() {
    let log = vec![LoggedDecision {
        context: vec![],
        candidates: vec!["a".into(), "b".into()],
        action: "a".into(),
        propensity: 0.5,
        logging_distribution: None,
        reward: 2.0,
    }];
    let data = OffPolicyData::new(&log, vec![vec![0.0, 1.0]]).expect("valid");
    let report = evaluate(&data, &quick(0)).expect("evaluates");
    assert_eq!(report.ips.value, 0.0);
    assert!(report.snips.value.is_nan());
    assert_eq!(report.warnings()[0], OpeWarning::NoOverlap);
}

#[test]
fn malformed_logs_are_rejected_with_the_decision_named() {
    let good = LoggedDecision {
        context: vec![1.0],
        candidates: vec!["a".into(), "b".into()],
        action: "a".into(),
        propensity: 0.4,
        logging_distribution: Some(vec![0.4, 0.6]),
        reward: 1.0,
    };
    let target = vec![0.5, 0.5];
    let check = |d: LoggedDecision, t: Vec<f64>, needle: &str| {
        let log = vec![good.clone(), d];
        match OffPolicyData::new(&log, vec![target.clone(), t]) {
            Err(EngineError::InvalidObservation(m)) => {
                assert!(m.starts_with("decision 1:") && m.contains(needle), "{m}");
            }
            other => panic!("expected a rejection mentioning {needle}, got {other:?}"),
        }
    };
    assert!(OffPolicyData::new(std::slice::from_ref(&good), vec![target.clone()]).is_ok());
    let with = |f: &dyn Fn(&mut LoggedDecision)| {
        let mut d = good.clone();
        f(&mut d);
        d
    };
    check(with(&|d| d.propensity = 0.0), target.clone(), "propensity");
    check(with(&|d| d.propensity = 1.5), target.clone(), "propensity");
    check(
        with(&|d| d.action = "z".into()),
        target.clone(),
        "not among",
    );
    check(with(&|d| d.reward = f64::NAN), target.clone(), "reward");
    check(
        with(&|d| d.context = vec![f64::INFINITY]),
        target.clone(),
        "context",
    );
    check(with(&|d| d.candidates = vec![]), vec![], "no candidates");
    check(
        with(&|d| d.candidates = vec!["a".into(), "a".into()]),
        target.clone(),
        "twice",
    );
    check(
        with(&|d| d.logging_distribution = Some(vec![0.3, 0.6])),
        target.clone(),
        "propensity is",
    );
    check(
        with(&|d| d.logging_distribution = Some(vec![0.4, 0.9])),
        target.clone(),
        "sums to",
    );
    check(
        with(&|d| d.logging_distribution = Some(vec![0.4])),
        target.clone(),
        "entries",
    );
    check(good.clone(), vec![0.5, 0.6], "sums to");
    check(good.clone(), vec![1.5, -0.5], "negative");
    check(good.clone(), vec![1.0], "entries");
    assert!(OffPolicyData::new(&[], vec![]).is_err());
    assert!(OffPolicyData::new(std::slice::from_ref(&good), vec![]).is_err());
}

#[test]
fn predictions_for_another_log_are_rejected() {
    let bandit = Bandit::standard();
    let small = bandit.log(10, 1, false);
    let large = bandit.log(20, 2, false);
    let target = bandit.greedy_target();
    let small_data = OffPolicyData::new(&small.decisions, small.targets(&target)).expect("valid");
    let large_data = OffPolicyData::new(&large.decisions, large.targets(&target)).expect("valid");
    let q = RewardPredictions::from_model(&small_data, &ConstantModel(0.0)).expect("predicts");
    let options = EstimatorOptions::default();
    assert!(doubly_robust(&large_data, &q, &options).is_err());
    assert!(evaluate_with_predictions(&large_data, &q, &EvaluationConfig::default()).is_err());
}

#[test]
fn closures_are_target_policies() {
    let bandit = Bandit::standard();
    let log = bandit.log(50, 4, false);
    let always_b = |d: &LoggedDecision| -> Vec<f64> {
        d.candidates
            .iter()
            .map(|c| if c.as_str() == "b" { 1.0 } else { 0.0 })
            .collect()
    };
    let data = OffPolicyData::from_policy(&log.decisions, &always_b).expect("valid");
    let by_hand =
        OffPolicyData::new(&log.decisions, log.targets(&bandit.constant_target(1))).expect("valid");
    assert_eq!(data.weights(), by_hand.weights());
}

/// A random small log with its target distributions.
fn arbitrary_log() -> impl Strategy<Value = (Vec<LoggedDecision>, Vec<Vec<f64>>)> {
    let decision = (2usize..5).prop_flat_map(|k| {
        (
            prop::collection::vec(0.01f64..1.0, k),
            prop::collection::vec(0.0f64..1.0, k),
            0..k,
            -10.0f64..10.0,
        )
            .prop_map(move |(logging, target, a, reward)| {
                let lsum: f64 = logging.iter().sum();
                let logging: Vec<f64> = logging.iter().map(|p| p / lsum).collect();
                let tsum: f64 = target.iter().sum::<f64>().max(1e-9);
                let mut target: Vec<f64> = target.iter().map(|p| p / tsum).collect();
                if target.iter().sum::<f64>() < 0.5 {
                    target = vec![1.0 / k as f64; k];
                }
                let candidates = (0..k).map(|i| InterventionId(format!("i{i}"))).collect();
                let d = LoggedDecision {
                    context: vec![reward.abs().sqrt()],
                    candidates,
                    action: InterventionId(format!("i{a}")),
                    propensity: logging[a],
                    logging_distribution: Some(logging),
                    reward,
                };
                (d, target)
            })
    });
    prop::collection::vec(decision, 1..40).prop_map(|v| v.into_iter().unzip())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn weights_ess_and_snips_stay_in_range(
        (log, targets) in arbitrary_log(),
        clip in prop::option::of(0.5f64..20.0),
        seed in 0u64..1000,
    ) {
        let data = OffPolicyData::new(&log, targets).expect("generated logs are valid");
        prop_assert!(data.weights().iter().all(|w| *w >= 0.0 && w.is_finite()));
        let config = EvaluationConfig {
            estimator: EstimatorOptions { clip, bootstrap_resamples: 20, confidence: 0.9, seed },
            ..EvaluationConfig::default()
        };
        let report = evaluate(&data, &config).expect("evaluates");
        let n = log.len() as f64;
        let (lo, hi) = log.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), d| {
            (lo.min(d.reward), hi.max(d.reward))
        });
        let d = &report.diagnostics;
        prop_assert!(d.effective_sample_size <= n + 1e-9);
        prop_assert!(report.ips.effective_sample_size <= n + 1e-9);
        if d.effective_sample_size > 0.0 {
            prop_assert!(d.effective_sample_size >= 1.0 - 1e-9);
        }
        for e in [&report.snips, &report.on_policy] {
            if e.value.is_finite() {
                prop_assert!(e.value >= lo - 1e-9 && e.value <= hi + 1e-9, "{e:?} in [{lo}, {hi}]");
                prop_assert!(e.lower >= lo - 1e-9 && e.upper <= hi + 1e-9, "{e:?}");
            }
        }
        for (_, e) in report.rows() {
            if e.lower.is_finite() {
                prop_assert!(e.lower <= e.upper);
            }
            prop_assert!((0.0..=1.0).contains(&e.clipped_fraction));
        }
        if let Some(m) = clip {
            let bound = m * lo.abs().max(hi.abs());
            prop_assert!(report.ips.value.abs() <= bound + 1e-9);
        }
    }

    #[test]
    fn snips_ignores_a_shift_of_all_rewards(
        (log, targets) in arbitrary_log(),
        shift in -50.0f64..50.0,
    ) {
        let shifted: Vec<LoggedDecision> = log
            .iter()
            .map(|d| LoggedDecision { reward: d.reward + shift, ..d.clone() })
            .collect();
        let options = EstimatorOptions { bootstrap_resamples: 20, ..EstimatorOptions::default() };
        let a = snips(&OffPolicyData::new(&log, targets.clone()).expect("valid"), &options)
            .expect("snips");
        let b = snips(&OffPolicyData::new(&shifted, targets).expect("valid"), &options)
            .expect("snips");
        if a.value.is_finite() {
            prop_assert!((b.value - a.value - shift).abs() < 1e-7);
        } else {
            prop_assert!(b.value.is_nan());
        }
    }
}
