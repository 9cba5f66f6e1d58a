//! The simulator on the built-in catalogues, and the engine measured on it
//! (issue 3, "shown, not claimed"; issue 4, simulator; issue 7, captured share
//! on worlds the engine was not built from).
//!
//! Debug builds run small versions so `cargo test` stays quick; the
//! engine-versus-baselines claim needs enough people and seeds to be a test
//! rather than a coin toss, so it runs in release builds only:
//! `cargo test --release -p tutti-engine --test simulation -- --nocapture`.

use tutti_engine::Engine;
use tutti_engine::sim::{
    Catalogs, ClinicPool, Clock, EnginePolicy, EpsilonGreedy, Estimate, FixedProtocol, LinUcb,
    MapOracle, Oracle, Random, Scenario, SimReport, Simulation, StructuredLearner,
    paired_difference, summarise,
};

/// Runs seeds `1..=seeds` on two threads (odd and even) and collects their reports.
fn on_two_threads(seeds: u64, run_seed: &(dyn Fn(u64) -> Vec<SimReport> + Sync)) -> Vec<SimReport> {
    std::thread::scope(|sc| {
        let handles: Vec<_> = (0..2u64)
            .map(|t| {
                sc.spawn(move || {
                    (1..=seeds)
                        .filter(|s| s % 2 == t)
                        .flat_map(run_seed)
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("thread"))
            .collect()
    })
}

/// People per seed: release value, or the debug one.
fn people(release: u64, debug: u64) -> u64 {
    if cfg!(debug_assertions) {
        debug
    } else {
        release
    }
}

fn catalogs() -> Catalogs {
    Catalogs::builtin().expect("built-in catalogues")
}

fn simulation(scenario: &str, seed: u64) -> Simulation {
    let s = Scenario::named(scenario).expect("named scenario");
    Simulation::new(&s, &catalogs(), seed).expect("simulation")
}

/// Every baseline on one simulation.
fn baselines(sim: &Simulation, n: u64, weeks: u32) -> Vec<SimReport> {
    vec![
        sim.run_people(0..n, weeks, || Random).expect("random"),
        sim.run_people(0..n, weeks, FixedProtocol::cbt)
            .expect("fixed"),
        sim.run_people(0..n, weeks, EpsilonGreedy::default)
            .expect("egreedy"),
        sim.run_people(0..n, weeks, LinUcb::default)
            .expect("linucb"),
        sim.run_people(0..n, weeks, StructuredLearner::default)
            .expect("structured"),
        sim.run_people(0..n, weeks, || MapOracle)
            .expect("map oracle"),
        sim.run_people(0..n, weeks, || Oracle).expect("oracle"),
    ]
}

fn show(e: &Estimate) -> String {
    format!("{:6.2} [{:6.2}, {:6.2}]", e.mean, e.lower, e.upper)
}

#[test]
fn same_seed_gives_an_identical_report() {
    let sim = simulation("default", 11);
    let again = simulation("default", 11);
    assert_eq!(
        sim.run_people(0..30, 13, || Random).expect("run"),
        again.run_people(0..30, 13, || Random).expect("run")
    );
    assert_eq!(
        sim.run_people(0..30, 13, EpsilonGreedy::default)
            .expect("run"),
        again
            .run_people(0..30, 13, EpsilonGreedy::default)
            .expect("run")
    );
    assert_eq!(
        sim.run_people(0..30, 13, LinUcb::default).expect("run"),
        again.run_people(0..30, 13, LinUcb::default).expect("run")
    );
}

#[test]
fn different_seeds_give_different_reports() {
    let a = simulation("default", 1)
        .run_people(0..30, 13, || Random)
        .expect("run");
    let b = simulation("default", 2)
        .run_people(0..30, 13, || Random)
        .expect("run");
    assert_ne!(a.totals, b.totals);
    assert_ne!(a.weekly, b.weekly);
}

#[test]
fn reports_do_not_depend_on_how_people_are_split() {
    let sim = simulation("individual", 3);
    let whole = sim.run_people(0..36, 13, || Random).expect("run");
    let mut parts = sim.run_people(0..10, 13, || Random).expect("run");
    for range in [10..25, 25..36] {
        parts
            .merge(&sim.run_people(range, 13, || Random).expect("run"))
            .expect("merge");
    }
    let (w, p) = (&whole.totals, &parts.totals);
    assert_eq!(
        (w.people, w.decisions, w.done, w.partly, w.dropouts),
        (p.people, p.decisions, p.done, p.partly, p.dropouts)
    );
    assert!((w.improvement_sum - p.improvement_sum).abs() < 1e-6);
    assert!((w.regret_sum - p.regret_sum).abs() < 1e-6);
    assert!((w.random_gain_sum - p.random_gain_sum).abs() < 1e-6);
    assert!((w.chosen_gain_sum - p.chosen_gain_sum).abs() < 1e-6);
    assert!((w.best_gain_sum - p.best_gain_sum).abs() < 1e-6);
    assert!((whole.metrics().captured_share - parts.metrics().captured_share).abs() < 1e-9);
}

/// On the world the engine is judged on (`individual`: daily ratings with
/// gaps, sparse personal maps, personal responses, misspecified catalogue),
/// captured share orders the baselines as it must: the oracle captures
/// everything by definition, random nothing in expectation, knowing the map
/// is worth more than estimating it, and estimating it is worth something.
#[test]
fn captured_share_orders_oracle_map_oracle_structured_and_random() {
    let (n, seeds) = (people(200, 40), if cfg!(debug_assertions) { 2 } else { 5 });
    let mut reports = Vec::new();
    for seed in 1..=seeds {
        let sim = simulation("individual", seed);
        reports.push(sim.run_people(0..n, 24, || Random).expect("random"));
        reports.push(
            sim.run_people(0..n, 24, StructuredLearner::default)
                .expect("structured"),
        );
        reports.push(sim.run_people(0..n, 24, || MapOracle).expect("map oracle"));
        reports.push(sim.run_people(0..n, 24, || Oracle).expect("oracle"));
    }
    let summary = summarise(&reports);
    let share = |p: &str| -> Estimate { summary.policy(p).expect("row").metrics.captured_share };
    for p in ["oracle", "map_oracle", "structured", "random"] {
        eprintln!("{p:12} captured share {}", show(&share(p)));
    }
    assert!(share("oracle").mean > 0.999);
    assert!(
        share("random").mean.abs() < 0.03,
        "{}",
        show(&share("random"))
    );
    assert!(share("oracle").mean > share("map_oracle").mean);
    assert!(share("map_oracle").mean > share("structured").mean + 0.1);
    assert!(share("structured").mean > share("random").mean + 0.05);
    // Paired by seed, the structured learner beats random.
    let pick =
        |p: &str| -> Vec<SimReport> { reports.iter().filter(|r| r.policy == p).cloned().collect() };
    let d =
        paired_difference(&pick("structured"), &pick("random"), "captured_share").expect("paired");
    assert!(d.mean > 0.05, "{}", show(&d));
}

#[test]
fn oracle_beats_every_baseline_on_average() {
    let n = people(200, 50);
    let mut reports = Vec::new();
    for seed in 1..=3 {
        reports.extend(baselines(&simulation("default", seed), n, 26));
    }
    let summary = summarise(&reports);
    let oracle = summary.policy("oracle").expect("oracle row");
    for row in &summary.rows {
        eprintln!(
            "{:16} improvement {}  regret {}",
            row.policy,
            show(&row.metrics.mean_improvement),
            show(&row.metrics.mean_regret)
        );
        if row.policy != "oracle" {
            assert!(
                oracle.metrics.mean_improvement.mean > row.metrics.mean_improvement.mean,
                "oracle {} vs {} {}",
                oracle.metrics.mean_improvement.mean,
                row.policy,
                row.metrics.mean_improvement.mean
            );
            assert!(oracle.metrics.mean_regret.mean < row.metrics.mean_regret.mean);
        }
    }
}

#[test]
fn random_policy_regret_grows_over_time() {
    let sim = simulation("default", 5);
    let n = people(300, 60);
    let random = sim.run_people(0..n, 26, || Random).expect("run");
    let oracle = sim.run_people(0..n, 26, || Oracle).expect("run");
    let curve = random.regret_curve();
    assert_eq!(curve[0], 0.0);
    for w in 1..curve.len() {
        assert!(curve[w] > curve[w - 1], "week {w}: {curve:?}");
    }
    // It does not learn: the second half adds about as much regret as the first.
    let (mid, end) = (curve[13], curve[26]);
    assert!(end - mid > 0.7 * mid, "{curve:?}");
    assert!(oracle.regret_curve()[26] < 0.3 * end);
}

#[test]
fn every_baseline_honours_the_safety_rules() {
    let n = people(200, 60);
    let reports = baselines(&simulation("risk_episodes", 2), n, 26);
    for r in &reports {
        let t = &r.totals;
        assert!(
            t.risk_episodes > 0 && t.risk_flagged_decisions > 0,
            "{}",
            r.policy
        );
        assert_eq!(t.safety_rule_violations, 0, "{}", r.policy);
        assert_eq!(t.contraindicated_choices, 0, "{}", r.policy);
    }
}

#[test]
fn engine_policy_runs_on_the_builtin_catalogue() {
    let engine = Engine::with_defaults();
    let sim = Simulation::new(
        &Scenario::named("risk_episodes").expect("named"),
        &Catalogs::of(&engine),
        4,
    )
    .expect("simulation");
    let r = sim
        .run_people(0..people(60, 12), 13, || EnginePolicy::new(&engine))
        .expect("the engine accepts every simulated observation");
    assert_eq!(r.policy, "engine");
    assert!(r.totals.decisions > 0 && r.totals.feedback_sent > 0);
    assert_eq!(r.totals.safety_rule_violations, 0);
}

/// Issue 7's claim, on worlds whose truth is not built from the engine's
/// priors (sparse personal maps with reversals, true kernel effects and
/// target weights independent of the catalogue, multiplicative responses with
/// backfire, follow-through driven by effort and life load, noisy ratings
/// with gaps): over 24 weekly decisions, 5 seeds x 200 people, the default
/// engine captures a share of the oracle's gain over random well above every
/// baseline's: it beats LinUCB, epsilon-greedy, the fixed protocol and random
/// on every scenario, paired by seed with 95% intervals above zero, and the
/// structured learner on average. Floors are conservative against what the engine
/// measures (docs/benchmarks.md): they catch a regression, not noise.
#[test]
fn engine_captures_a_share_of_the_oracle_gain_and_beats_every_baseline() {
    let engine = Engine::with_defaults();
    let cat = Catalogs::of(&engine);
    // (scenario, floor on the engine's captured share, floor on its ratio to
    // the map oracle's, floor on what pooling adds to it)
    let claims = [
        ("individual", 0.30, 0.60, -0.03),
        ("homogeneous", 0.28, 0.0, 0.05),
        ("low_follow_through", 0.22, 0.0, 0.0),
        ("default", 0.15, 0.0, -0.03),
    ];
    for (name, floor, map_ratio, pooled_floor) in claims {
        let s = Scenario::named(name).expect("named");
        let run_seed = |seed: u64| -> Vec<SimReport> {
            let sim = Simulation::new(&s, &cat, seed).expect("simulation");
            let mut r = baselines(&sim, 200, 24);
            r.push(
                sim.run_people(0..200, 24, || EnginePolicy::new(&engine))
                    .expect("engine"),
            );
            // The same engine pooling the clinic's people online, as the
            // server does for a tenant.
            let pool = std::cell::RefCell::new(ClinicPool::new(&engine));
            r.push(
                sim.run_people(0..200, 24, || {
                    EnginePolicy::named(&engine, "engine_pooled").with_pool(&pool)
                })
                .expect("pooled engine"),
            );
            r
        };
        let reports = on_two_threads(5, &run_seed);
        let summary = summarise(&reports);
        let share = |p: &str| summary.policy(p).expect("row").metrics.captured_share;
        let pick = |p: &str| -> Vec<SimReport> {
            reports.iter().filter(|r| r.policy == p).cloned().collect()
        };
        let eng = share("engine");
        let map = share("map_oracle");
        eprintln!(
            "{name:18} engine captured share {}  map oracle {}  ratio {:.2}",
            show(&eng),
            show(&map),
            eng.mean / map.mean
        );
        assert!(
            eng.mean >= floor,
            "{name}: engine captured share {}",
            show(&eng)
        );
        assert!(
            eng.mean >= map_ratio * map.mean,
            "{name}: engine {} against the map oracle's {}",
            show(&eng),
            show(&map)
        );
        // The strong baseline: ahead on average everywhere (on `homogeneous`
        // the seeds' spread is wide; docs/benchmarks.md gives the interval).
        let d = paired_difference(&pick("engine"), &pick("structured"), "captured_share")
            .expect("paired");
        eprintln!("{name:18} engine - structured     {}", show(&d));
        assert!(
            d.mean > 0.0,
            "{name}: behind the structured learner: {}",
            show(&d)
        );
        for other in ["linucb", "epsilon_greedy", "fixed_protocol", "random"] {
            let d =
                paired_difference(&pick("engine"), &pick(other), "captured_share").expect("paired");
            eprintln!("{name:18} engine - {other:14} {}", show(&d));
            assert!(
                d.lower > 0.0,
                "{name}: the engine does not beat {other}: captured share difference {}",
                show(&d)
            );
        }
        // Online pooling: people who are alike teach each other, and where
        // they differ it costs little (docs/benchmarks.md has the table).
        let pooled = paired_difference(&pick("engine_pooled"), &pick("engine"), "captured_share")
            .expect("paired");
        eprintln!(
            "{name:18} pooled {}  pooled - engine {}",
            show(&share("engine_pooled")),
            show(&pooled)
        );
        assert!(
            pooled.mean > pooled_floor,
            "{name}: pooling changes the captured share by {}",
            show(&pooled)
        );
        for r in pick("engine").into_iter().chain(pick("engine_pooled")) {
            assert_eq!(r.totals.safety_rule_violations, 0, "{name}: safety rule");
            assert_eq!(
                r.totals.contraindicated_choices, 0,
                "{name}: a contraindicated intervention was chosen"
            );
        }
    }
}

/// Wall-clock per policy for 1,000 people x 52 weeks on one core
/// (`cargo test --release -p tutti-engine --test simulation -- --ignored --nocapture timing`).
/// Platforms drive the API on their own clocks: one replaying weeks of care
/// through the API stamps them seconds apart, another backdates ratings and
/// lets the server stamp decisions and feedback. The engine's share of the
/// oracle's gain must not depend on it (paired by seed; before habituation
/// also faded with later decisions, either clock cost it about 0.05).
#[test]
fn captured_share_does_not_depend_on_the_caller_s_clock() {
    let engine = Engine::with_defaults();
    let real = engine_share_by_seed(&engine, |_| {});
    for clock in [Clock::Squeezed, Clock::ServerStamped] {
        let other = engine_share_by_seed(&engine, |s| s.measurement.clock = clock);
        let diff = other.iter().zip(&real).map(|(o, r)| o - r).sum::<f64>() / real.len() as f64;
        assert!(
            diff > -0.02,
            "{clock:?}: captured share {other:?} against {real:?} on the real clock"
        );
    }
}

/// The engine's captured share on `individual` changed by `change`, 60
/// people x 24 weeks, seeds 1-4 in order.
fn engine_share_by_seed(engine: &Engine, change: impl Fn(&mut Scenario)) -> Vec<f64> {
    let cat = Catalogs::of(engine);
    let mut s = Scenario::named("individual").expect("named");
    change(&mut s);
    let mut v: Vec<(u64, f64)> = on_two_threads(4, &|seed| {
        let sim = Simulation::new(&s, &cat, seed).expect("simulation");
        vec![
            sim.run_people(0..60, 24, || EnginePolicy::new(engine))
                .expect("engine"),
        ]
    })
    .iter()
    .map(|r| (r.seed, r.metrics().captured_share))
    .collect();
    v.sort_by_key(|(seed, _)| *seed);
    v.into_iter().map(|(_, c)| c).collect()
}

/// Platforms whose questionnaires and check-ins are separate instruments send
/// an occasion's ratings and outcome minutes apart, in either order. Before
/// the engine joined the parts, `individual` fell from 0.36 to 0.34 (outcome
/// after) and 0.22 (outcome first).
#[test]
fn captured_share_does_not_depend_on_ratings_and_outcomes_arriving_together() {
    let engine = Engine::with_defaults();
    let together = engine_share_by_seed(&engine, |_| {});
    for apart in [-5.0, 5.0] {
        let other = engine_share_by_seed(&engine, |s| s.measurement.outcomes_apart_minutes = apart);
        let diff =
            other.iter().zip(&together).map(|(o, t)| o - t).sum::<f64>() / together.len() as f64;
        assert!(
            diff > -0.02,
            "outcome {apart} minutes after the ratings: captured share {other:?} against {together:?}"
        );
    }
}

#[test]
#[ignore = "timing report, run by hand in release"]
fn timing() {
    let engine = Engine::with_defaults();
    let cat = Catalogs::of(&engine);
    let scenario = std::env::var("SIM_SCENARIO").unwrap_or_else(|_| "default".into());
    let n: u64 = std::env::var("SIM_PEOPLE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let sim =
        Simulation::new(&Scenario::named(&scenario).expect("named"), &cat, 1).expect("simulation");
    let time = |name: &str, run: &dyn Fn() -> SimReport| {
        let t = std::time::Instant::now();
        let r = run();
        let secs = t.elapsed().as_secs_f64();
        let m = r.metrics();
        eprintln!(
            "{scenario} {name:16} {n} x 52: {secs:6.2} s ({:5.1} us/person-week)  improvement {:6.2}  decisions {}",
            1e6 * secs / (n as f64 * 52.0),
            m.mean_improvement,
            r.totals.decisions
        );
    };
    time("random", &|| {
        sim.run_people(0..n, 52, || Random).expect("run")
    });
    time("fixed_protocol", &|| {
        sim.run_people(0..n, 52, FixedProtocol::cbt).expect("run")
    });
    time("epsilon_greedy", &|| {
        sim.run_people(0..n, 52, EpsilonGreedy::default)
            .expect("run")
    });
    time("linucb", &|| {
        sim.run_people(0..n, 52, LinUcb::default).expect("run")
    });
    time("structured", &|| {
        sim.run_people(0..n, 52, StructuredLearner::default)
            .expect("run")
    });
    time("map_oracle", &|| {
        sim.run_people(0..n, 52, || MapOracle).expect("run")
    });
    time("oracle", &|| {
        sim.run_people(0..n, 52, || Oracle).expect("run")
    });
    time("engine", &|| {
        sim.run_people(0..n, 52, || EnginePolicy::new(&engine))
            .expect("run")
    });
    time("engine (k = 1)", &|| {
        sim.run_people(0..n, 52, || EnginePolicy::new(&engine).with_k(1))
            .expect("run")
    });
}

/// Every policy on every named scenario, means and 95% intervals over seeds
/// (`SIM_SEEDS`, `SIM_PEOPLE`, `SIM_WEEKS`; defaults 5, 200, 26):
/// `cargo test --release -p tutti-engine --test simulation -- --ignored --nocapture scenario_table`.
#[test]
#[ignore = "report, run by hand in release"]
fn scenario_table() {
    let env = |k: &str, d: u64| {
        std::env::var(k)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(d)
    };
    let (seeds, n, weeks) = (
        env("SIM_SEEDS", 5),
        env("SIM_PEOPLE", 200),
        env("SIM_WEEKS", 26),
    );
    let engine = Engine::with_defaults();
    let cat = Catalogs::of(&engine);
    for name in Scenario::names() {
        let s = Scenario::named(name).expect("named");
        let mut reports = Vec::new();
        for seed in 1..=seeds {
            let sim = Simulation::new(&s, &cat, seed).expect("simulation");
            reports.extend(baselines(&sim, n, weeks as u32));
            reports.push(
                sim.run_people(0..n, weeks as u32, || EnginePolicy::new(&engine))
                    .expect("engine"),
            );
        }
        eprintln!("\n## {name} ({seeds} seeds x {n} people x {weeks} weeks)");
        eprintln!(
            "| policy | captured share | improvement | regret | follow-through | drop-out | missing | deteriorated | risk flagged decisions |"
        );
        eprintln!("|---|---|---|---|---|---|---|---|---|");
        for row in summarise(&reports).rows {
            let m = &row.metrics;
            eprintln!(
                "| {} | {:.3} [{:.3}, {:.3}] | {:.1} [{:.1}, {:.1}] | {:.1} | {:.2} | {:.2} | {:.2} | {:.3} | {:.3} |",
                row.policy,
                m.captured_share.mean,
                m.captured_share.lower,
                m.captured_share.upper,
                m.mean_improvement.mean,
                m.mean_improvement.lower,
                m.mean_improvement.upper,
                m.mean_regret.mean,
                m.follow_through_rate.mean,
                m.dropout_rate.mean,
                m.missing_rate.mean,
                m.deterioration_rate.mean,
                m.risk_flagged_share.mean,
            );
        }
        let pick = |p: &str| -> Vec<SimReport> {
            reports.iter().filter(|r| r.policy == p).cloned().collect()
        };
        for other in [
            "random",
            "fixed_protocol",
            "epsilon_greedy",
            "linucb",
            "structured",
            "map_oracle",
            "oracle",
        ] {
            for metric in ["mean_improvement", "captured_share"] {
                let d = paired_difference(&pick("engine"), &pick(other), metric).expect("paired");
                eprintln!("engine - {other}, {metric}: {}", show(&d));
            }
        }
    }
}

/// The scale on two cores: 10,000 people x 52 weeks split over two
/// threads with `run_people` and `merge` (`SIM_PEOPLE` to change the size):
/// `cargo test --release -p tutti-engine --test simulation -- --ignored --nocapture two_cores`.
#[test]
#[ignore = "timing report, run by hand in release"]
fn two_cores() {
    let engine = Engine::with_defaults();
    let cat = Catalogs::of(&engine);
    let n: u64 = std::env::var("SIM_PEOPLE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let sim =
        Simulation::new(&Scenario::named("default").expect("named"), &cat, 1).expect("simulation");
    fn split<P: tutti_engine::sim::Policy>(
        sim: &Simulation,
        n: u64,
        factory: &(dyn Fn() -> P + Sync),
    ) -> SimReport {
        let half = n / 2;
        let (a, b) = std::thread::scope(|s| {
            let a = s.spawn(|| sim.run_people(0..half, 52, factory).expect("run"));
            let b = s.spawn(|| sim.run_people(half..n, 52, factory).expect("run"));
            (a.join().expect("thread"), b.join().expect("thread"))
        });
        let mut r = a;
        r.merge(&b).expect("merge");
        r
    }
    for name in ["random", "oracle", "engine"] {
        let t = std::time::Instant::now();
        let r = match name {
            "random" => split(&sim, n, &|| Random),
            "oracle" => split(&sim, n, &|| Oracle),
            _ => split(&sim, n, &|| EnginePolicy::new(&engine)),
        };
        eprintln!(
            "{name:8} {n} x 52 on 2 threads: {:6.1} s  improvement {:.2}",
            t.elapsed().as_secs_f64(),
            r.metrics().mean_improvement
        );
    }
}

/// Captured share ((policy - random) / (oracle - random) in true expected
/// gain per decision) of every policy, means and 95% intervals over seeds,
/// seeds run on two threads (`SIM_SCENARIOS` comma-separated, default
/// `individual,homogeneous,low_follow_through`; `SIM_SEEDS`, `SIM_PEOPLE`,
/// `SIM_WEEKS`; defaults 5, 200, 24):
/// `cargo test --release -p tutti-engine --test simulation -- --ignored --nocapture captured_share_table`.
#[test]
#[ignore = "report, run by hand in release"]
fn captured_share_table() {
    let env = |k: &str, d: u64| {
        std::env::var(k)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(d)
    };
    let (seeds, n, weeks) = (
        env("SIM_SEEDS", 5),
        env("SIM_PEOPLE", 200),
        env("SIM_WEEKS", 24) as u32,
    );
    let scenarios = std::env::var("SIM_SCENARIOS")
        .unwrap_or_else(|_| "individual,homogeneous,low_follow_through".into());
    let engine = Engine::with_defaults();
    let cat = Catalogs::of(&engine);
    for name in scenarios.split(',') {
        let s = Scenario::named(name).expect("named");
        let run_seed = |seed: u64| -> Vec<SimReport> {
            let sim = Simulation::new(&s, &cat, seed).expect("simulation");
            let mut r = baselines(&sim, n, weeks);
            r.push(
                sim.run_people(0..n, weeks, || MapOracle)
                    .expect("map oracle"),
            );
            r.push(
                sim.run_people(0..n, weeks, StructuredLearner::default)
                    .expect("structured"),
            );
            r.push(
                sim.run_people(0..n, weeks, || EnginePolicy::new(&engine))
                    .expect("engine"),
            );
            let pool = std::cell::RefCell::new(ClinicPool::new(&engine));
            r.push(
                sim.run_people(0..n, weeks, || {
                    EnginePolicy::named(&engine, "engine_pooled").with_pool(&pool)
                })
                .expect("pooled engine"),
            );
            r
        };
        let reports = on_two_threads(seeds, &run_seed);
        eprintln!("\n## {name} ({seeds} seeds x {n} people x {weeks} weeks)");
        eprintln!(
            "| policy | captured share | improvement | regret | follow-through | chosen gain/decision |"
        );
        eprintln!("|---|---|---|---|---|---|");
        let mut rows = summarise(&reports).rows;
        rows.sort_by(|a, b| {
            b.metrics
                .captured_share
                .mean
                .total_cmp(&a.metrics.captured_share.mean)
        });
        for row in rows {
            let m = &row.metrics;
            eprintln!(
                "| {} | {:.3} [{:.3}, {:.3}] | {:.1} [{:.1}, {:.1}] | {:.1} | {:.2} | {:.3} |",
                row.policy,
                m.captured_share.mean,
                m.captured_share.lower,
                m.captured_share.upper,
                m.mean_improvement.mean,
                m.mean_improvement.lower,
                m.mean_improvement.upper,
                m.mean_regret.mean,
                m.follow_through_rate.mean,
                m.mean_chosen_gain.mean,
            );
        }
        let curve = |p: &str| {
            summarise(&reports)
                .policy(p)
                .map(|r| {
                    r.captured_share_curve
                        .iter()
                        .step_by(4)
                        .map(|e| format!("{:.2}", e.mean))
                        .collect::<Vec<_>>()
                        .join(" ")
                })
                .unwrap_or_default()
        };
        for p in ["engine", "structured", "map_oracle"] {
            eprintln!("captured share every 4 weeks, {p}: {}", curve(p));
        }
    }
}

/// On worlds drawn after every default was chosen (`scripts/draw-worlds.py`;
/// docs/benchmarks.md, "Held-out worlds drawn afresh"), the two where the
/// engine's lead was smallest: their helpfulness ratings say least and their
/// people do most of what is suggested. Still ahead of the structured learner.
#[test]
fn the_engine_beats_the_structured_learner_on_worlds_drawn_after_its_defaults() {
    let engine = Engine::with_defaults();
    let cat = Catalogs::of(&engine);
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/worlds");
    for name in ["fresh_w3", "fresh_w4"] {
        let text = std::fs::read_to_string(dir.join(format!("{name}.toml"))).expect("world");
        let s = Scenario::from_toml(&text).expect("valid world");
        let run_seed = |seed: u64| -> Vec<SimReport> {
            let sim = Simulation::new(&s, &cat, seed).expect("simulation");
            vec![
                sim.run_people(0..200, 24, || EnginePolicy::new(&engine))
                    .expect("engine"),
                sim.run_people(0..200, 24, StructuredLearner::default)
                    .expect("structured"),
            ]
        };
        let reports = on_two_threads(5, &run_seed);
        let pick = |p: &str| -> Vec<SimReport> {
            reports.iter().filter(|r| r.policy == p).cloned().collect()
        };
        let d = paired_difference(&pick("engine"), &pick("structured"), "captured_share")
            .expect("paired");
        eprintln!("{name}: engine - structured {}", show(&d));
        assert!(d.mean > 0.02, "{name}: engine - structured {}", show(&d));
    }
}

/// The randomly drawn worlds the docs' sweeps ran on still load, so the
/// sweeps can be re-run as written.
#[test]
fn the_random_worlds_of_the_docs_still_load() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/worlds");
    let mut loaded = 0;
    for entry in std::fs::read_dir(&dir).expect("docs/worlds") {
        let path = entry.expect("entry").path();
        let text = std::fs::read_to_string(&path).expect("readable");
        let s = Scenario::from_toml(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        Simulation::new(&s, &catalogs(), 1).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        loaded += 1;
    }
    assert!(loaded >= 13, "{loaded} worlds in {}", dir.display());
}
