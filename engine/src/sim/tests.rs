//! Unit tests of the simulator on the small test catalogue (three processes,
//! nine kernels incl. a safety kernel, contraindicated kernels and an aid).

use super::person::{DecisionDraws, Person};
use super::world::{self, World, headroom};
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
        "default",
        "homogeneous",
        "individual",
        "low_follow_through",
        "risk_episodes",
        "daily_sampling",
    ] {
        assert!(names.contains(&required), "{required} missing");
    }
    for name in names {
        let s = Scenario::named(name).expect(name);
        assert_eq!(s.name, name);
        assert!(!s.description.is_empty());
    }
    Scenario::default().validate().expect("defaults are valid");
    // The old name still loads the scenario it became.
    assert_eq!(
        Scenario::named("highly_individual").expect("alias"),
        Scenario::named("individual").expect("named")
    );
}

/// The default world treats the catalogue as rough evidence, and `individual`
/// is measured like the clinics the engine is judged on.
#[test]
fn defaults_are_misspecified_and_individual_is_daily_and_sparse() {
    let d = Scenario::default();
    assert!(d.response.effect_prior_correlation < 0.5);
    assert!(d.response.target_weight_error > 0.0 && d.response.hidden_target_share > 0.0);
    assert!(d.dynamics.map_density < 1.0 && d.dynamics.loading_sign_flip > 0.0);
    assert_eq!(
        d.dynamics.outcome_lag_share, 0.0,
        "contemporaneous by default"
    );
    let i = Scenario::named("individual").expect("named");
    assert_eq!(i.measurement.assessments_per_week, 7);
    assert_eq!(i.measurement.decisions_per_week, 1);
    assert!(i.missing.assessment_base > 0.0 && i.missing.item > 0.0);
    assert!((0.05..=0.1).contains(&i.dynamics.loading_sign_flip));
    assert!(i.dynamics.map_density <= 0.35);
    assert!(i.response.backfire_share > 0.0 && i.response.backfire_share <= 0.15);
    let h = Scenario::named("homogeneous").expect("named");
    assert_eq!(h.dynamics.map_heterogeneity, 0.0);
    assert!(h.response.effect_prior_correlation < 1.0 && h.response.target_weight_error > 0.0);
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
        "[response]\neffect_prior_correlation = 1.5",
        "[response]\nhidden_target_share = -0.1",
        "[dynamics]\nmap_density = 0.0",
        "[dynamics]\noutcome_lag_share = 2.0",
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
        let mut s = Scenario::named("individual").expect("named");
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

/// The one global scale: with every source of person-level heterogeneity
/// off, the average person's true lasting gain from one full dose (at the
/// prior levels, before follow-through), averaged over the catalogue, is the
/// catalogue's mean prior_effect; which kernel gets how much is the world's.
#[test]
fn mean_lasting_gain_over_the_catalogue_is_the_mean_prior_effect() {
    let s = scenario(
        "conditions = []\n\
         [dynamics]\npersistence_sd = 0.0\nnetwork_heterogeneity = 0.0\nloading_heterogeneity = 0.0\nloading_sign_flip = 0.0\nretention_sd = 0.0\nmap_density = 1.0\nsingle_pole_share = 0.0\n\
         [response]\nheterogeneity_sd = 0.0\nnull_share = 0.0\nbackfire_share = 0.0",
    );
    let cat = Catalogs::builtin().expect("catalogues");
    let mut p = Person::default();
    for seed in 0..3 {
        let world = World::new(&s, &cat, &mut rng(seed)).expect("world");
        let n = 100;
        let mut sum = 0.0;
        for person in 0..n {
            p.reset(&world, &mut rng(1000 + person));
            for k in &world.kernels {
                for i in k.entries.0..k.entries.1 {
                    sum += p.kcoef[i] * headroom(world.prior_mean[world.entries[i].pole]);
                }
            }
        }
        let mean = sum / (n as f64 * world.kernels.len() as f64);
        let prior = cat
            .interventions
            .all()
            .iter()
            .map(|iv| iv.prior_effect)
            .sum::<f64>()
            / cat.interventions.len() as f64;
        assert!(
            (mean / prior - 1.0).abs() < 0.1,
            "seed {seed}: {mean} vs {prior}"
        );
    }
}

/// Pearson correlation.
fn correlation(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len() as f64;
    let (ma, mb) = (a.iter().sum::<f64>() / n, b.iter().sum::<f64>() / n);
    let cov: f64 = a.iter().zip(b).map(|(x, y)| (x - ma) * (y - mb)).sum();
    let va: f64 = a.iter().map(|x| (x - ma).powi(2)).sum();
    let vb: f64 = b.iter().map(|y| (y - mb).powi(2)).sum();
    cov / (va * vb).sqrt()
}

/// Ranks (average ranks for ties), for Spearman's correlation.
fn ranks(v: &[f64]) -> Vec<f64> {
    let mut idx: Vec<usize> = (0..v.len()).collect();
    idx.sort_by(|&a, &b| v[a].total_cmp(&v[b]));
    let mut r = vec![0.0; v.len()];
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && v[idx[j + 1]] == v[idx[i]] {
            j += 1;
        }
        for &k in &idx[i..=j] {
            r[k] = (i + j) as f64 / 2.0;
        }
        i = j + 1;
    }
    r
}

/// Mean over worlds of the rank correlation between true kernel sizes and
/// the catalogue's prior_effect.
fn size_prior_rank_correlation(correlation_knob: f64, worlds: u64) -> f64 {
    let mut s = Scenario::default();
    s.response.effect_prior_correlation = correlation_knob;
    let cat = Catalogs::builtin().expect("catalogues");
    let prior: Vec<f64> = cat
        .interventions
        .all()
        .iter()
        .map(|iv| iv.prior_effect)
        .collect();
    let mut sum = 0.0;
    for seed in 0..worlds {
        let world = World::new(&s, &cat, &mut rng(seed)).expect("world");
        // True weights are renormalised to the catalogue's total, so the
        // adaptive pushes of a kernel sum to (global scale x its size x that total).
        let size: Vec<f64> = world
            .kernels
            .iter()
            .zip(cat.interventions.all())
            .map(|(k, iv)| {
                let pushes: f64 = world.entries[k.entries.0..k.entries.1]
                    .iter()
                    .filter(|e| e.adaptive)
                    .map(|e| e.base)
                    .sum();
                pushes / iv.targets.iter().map(|t| t.weight).sum::<f64>()
            })
            .collect();
        sum += correlation(&ranks(&size), &ranks(&prior));
    }
    sum / worlds as f64
}

#[test]
fn true_sizes_ignore_prior_effect_unless_told_otherwise() {
    // 65 kernels: one world's rank correlation has sd ~0.12; over 40 worlds ~0.02.
    let independent = size_prior_rank_correlation(0.0, 40);
    assert!(independent.abs() < 0.07, "{independent}");
    let default =
        size_prior_rank_correlation(Scenario::default().response.effect_prior_correlation, 40);
    assert!((0.1..0.45).contains(&default), "{default}");
    let faithful = size_prior_rank_correlation(1.0, 5);
    assert!(faithful > 0.95, "{faithful}");
}

/// Catalogue weights of a kernel and the true weights of its listed targets,
/// both as shares of their totals, plus whether it has a hidden target.
fn weights(world: &World, cat: &Catalogs, j: usize) -> (Vec<f64>, Vec<f64>, bool) {
    let iv = &cat.interventions.all()[j];
    let k = &world.kernels[j];
    let cat_sum: f64 = iv.targets.iter().map(|t| t.weight).sum();
    let entries = &world.entries[k.entries.0..k.entries.1];
    let true_sum: f64 = entries.iter().step_by(2).map(|e| e.base).sum();
    let catalogue = iv.targets.iter().map(|t| t.weight / cat_sum).collect();
    let truth = entries
        .iter()
        .step_by(2)
        .take(k.listed)
        .map(|e| e.base / true_sum)
        .collect();
    (catalogue, truth, entries.len() / 2 > k.listed)
}

#[test]
fn target_weight_error_and_hidden_targets_change_the_true_weights() {
    let cat = Catalogs::builtin().expect("catalogues");
    let exact = scenario("[response]\ntarget_weight_error = 0.0\nhidden_target_share = 0.0");
    let world = World::new(&exact, &cat, &mut rng(1)).expect("world");
    for j in 0..world.kernels.len() {
        let (c, t, hidden) = weights(&world, &cat, j);
        assert!(!hidden);
        for (a, b) in c.iter().zip(&t) {
            assert!((a - b).abs() < 1e-9, "kernel {j}: {c:?} vs {t:?}");
        }
    }
    let noisy = scenario("[response]\ntarget_weight_error = 0.5\nhidden_target_share = 1.0");
    let world = World::new(&noisy, &cat, &mut rng(1)).expect("world");
    let mut changed = 0;
    for j in 0..world.kernels.len() {
        let (c, t, hidden) = weights(&world, &cat, j);
        assert!(
            hidden,
            "every kernel gets a process the catalogue does not list"
        );
        // Listed shares no longer match (renormalised with the hidden one).
        let gap: f64 = c.iter().zip(&t).map(|(a, b)| (a - b).abs()).sum();
        changed += usize::from(gap > 0.05);
        let k = &world.kernels[j];
        let listed: Vec<usize> = world.entries[k.entries.0..k.entries.1]
            .iter()
            .step_by(2)
            .map(|e| e.process)
            .collect();
        let hidden_process = listed[k.listed];
        assert!(!listed[..k.listed].contains(&hidden_process));
    }
    assert_eq!(changed, world.kernels.len());
}

#[test]
fn maps_are_sparse_with_the_configured_density_and_reversals() {
    let s = scenario(
        "[dynamics]\nmap_density = 0.3\npopulation_loading_sd = 0.0\nsingle_pole_share = 0.0\nloading_sign_flip = 0.1\nnondriver_loading = 0.1\nloading_heterogeneity = 0.0",
    );
    let cat = Catalogs::builtin().expect("catalogues");
    let world = World::new(&s, &cat, &mut rng(1)).expect("world");
    let mut p = Person::default();
    let (n, mut drivers, mut flips, mut processes) = (500, 0usize, 0usize, 0usize);
    for seed in 0..n {
        p.reset(&world, &mut rng(seed));
        let mine = p.driver.iter().filter(|&&d| d).count();
        assert!(mine >= 2, "at least one driver (both poles here)");
        drivers += mine / 2;
        flips += p.flipped.iter().filter(|&&f| f).count();
        processes += world.n_proc;
        for (pole, b) in p.beta.iter().enumerate() {
            let k = pole / 2;
            let expected_sign = if p.flipped[k] { -1.0 } else { 1.0 } * world::pole_sign(pole);
            assert_eq!(b.signum(), expected_sign, "pole {pole}");
            // A non-driver pole loads a tenth of a driver's (no heterogeneity here).
            let ratio = b.abs() / (world.loading_norm * s.dynamics.outcome_loading);
            let want = if p.driver[pole] { 1.0 } else { 0.1 };
            assert!((ratio - want).abs() < 1e-9, "{ratio} vs {want}");
        }
    }
    let density = drivers as f64 / processes as f64;
    let flip_share = flips as f64 / processes as f64;
    assert!((density - 0.3).abs() < 0.02, "{density}");
    assert!((flip_share - 0.1).abs() < 0.015, "{flip_share}");

    // Very sparse maps still give everyone a driver.
    let sparse = scenario("[dynamics]\nmap_density = 0.01");
    let world = World::new(&sparse, &cat, &mut rng(2)).expect("world");
    for seed in 0..100 {
        p.reset(&world, &mut rng(seed));
        assert!(p.driver.iter().any(|&d| d));
    }
}

#[test]
fn a_shared_map_is_the_same_for_everyone() {
    let s = scenario("[dynamics]\nmap_density = 0.3\nmap_heterogeneity = 0.0");
    let cat = Catalogs::builtin().expect("catalogues");
    let world = World::new(&s, &cat, &mut rng(1)).expect("world");
    let mut p = Person::default();
    p.reset(&world, &mut rng(1));
    let first = (p.driver.clone(), p.flipped.clone());
    for seed in 2..50 {
        p.reset(&world, &mut rng(seed));
        assert_eq!((p.driver.clone(), p.flipped.clone()), first);
    }
}

/// Well-being answers to the processes at the same occasion by default, and
/// only at the next one with `outcome_lag_share = 1`.
#[test]
fn wellbeing_moves_at_the_same_occasion_as_a_pole_shock() {
    for (lag, same_occasion) in [(0.0, true), (1.0, false)] {
        let s = scenario(&format!(
            "conditions = []\n[dynamics]\noutcome_lag_share = {lag}\n[risk]\nweekly_rate = 0.0"
        ));
        let world = World::new(&s, &catalogs(), &mut rng(1)).expect("world");
        let mut a = Person::default();
        a.reset(&world, &mut rng(2));
        let pole = (0..world.n_poles)
            .max_by(|&i, &j| a.beta[i].abs().total_cmp(&a.beta[j].abs()))
            .expect("a pole");
        let mut b = a.clone();
        let mut nature = super::person::NatureDraws::default();
        nature.fill(&world, &mut rng(3));
        let mut shocked = nature.clone();
        shocked.innovation[pole] += 2.0;
        a.evolve(&world, &nature, None);
        b.evolve(&world, &shocked, None);
        let dx = b.x_now[pole] - a.x_now[pole];
        let dw = b.w - a.w;
        assert!(dx.abs() > 5.0, "the shock moved the pole: {dx}");
        if same_occasion {
            assert!(
                (dw - a.beta[pole] * dx).abs() < 1e-9,
                "well-being moved by loading x shock: {dw} vs {}",
                a.beta[pole] * dx
            );
        } else {
            assert!(dw.abs() < 1e-9, "lagged: no move yet ({dw})");
            nature.fill(&world, &mut rng(4));
            a.evolve(&world, &nature, None);
            b.evolve(&world, &nature, None);
            assert!((b.w - a.w).abs() > 0.1, "lagged: it moves next time");
        }
    }
}

#[test]
fn the_map_expectation_ignores_how_the_person_responds() {
    // Everyone backfires on everything: every true gain is harm, while the
    // map expectation (population responses) still sees benefit.
    let s = scenario(
        "conditions = []\n[dynamics]\nloading_sign_flip = 0.0\nedges_per_pole = 0\nnetwork_heterogeneity = 0.0\n[response]\nnull_share = 0.0\nbackfire_share = 1.0\n[follow_through]\naid_carryover = 0.0",
    );
    let world = World::new(&s, &catalogs(), &mut rng(1)).expect("world");
    let mut p = Person::default();
    for seed in 0..20 {
        p.reset(&world, &mut rng(seed));
        let sit = p.situation(&world, &DecisionDraws::draw(&mut rng(seed + 100)));
        p.truth(&world, &sit, false, false);
        assert!(p.gain.iter().all(|&g| g <= 1e-12), "{:?}", p.gain);
        assert!(p.map_gain.iter().any(|&g| g > 0.0), "{:?}", p.map_gain);
    }
    // With responses exactly the population's (multiplier 1, maladaptive
    // share at its mean), the two agree.
    let s = scenario(
        "conditions = []\n[response]\nnull_share = 0.0\nbackfire_share = 0.0\nheterogeneity_sd = 0.0",
    );
    let world = World::new(&s, &catalogs(), &mut rng(1)).expect("world");
    p.reset(&world, &mut rng(5));
    for (i, e) in world.entries.iter().enumerate() {
        if e.adaptive {
            assert!((p.kcoef[i] - p.map_kcoef[i]).abs() < 1e-12, "entry {i}");
        } else {
            // The maladaptive pole moves by the person's own share.
            assert!(p.kcoef[i] * p.map_kcoef[i] >= 0.0, "entry {i}");
        }
    }
}

#[test]
fn habituation_shrinks_the_gain_of_a_repeated_kernel() {
    let s = scenario(
        "conditions = []\n[dynamics]\nmap_density = 1.0\nloading_sign_flip = 0.0\nedges_per_pole = 0\n[response]\nhabituation = 1.0\nhabituation_sd = 0.0\nnull_share = 0.0\nbackfire_share = 0.0",
    );
    let world = World::new(&s, &catalogs(), &mut rng(1)).expect("world");
    let mut p = Person::default();
    p.reset(&world, &mut rng(2));
    let dd = DecisionDraws::draw(&mut rng(3));
    let sit = p.situation(&world, &dd);
    p.truth(&world, &sit, false, false);
    let j = world
        .kernels
        .iter()
        .position(|k| k.id.as_str() == "reach-out")
        .expect("kernel");
    let before = p.gain[j];
    let mut nature = super::person::NatureDraws::default();
    nature.fill(&world, &mut rng(4));
    // Hold the levels and life load: the dose also moves the pole (and with
    // it the room left), which is not what this test is about.
    let (x, load) = (p.x.clone(), p.load);
    p.evolve(&world, &nature, Some((j, 1.0)));
    p.x.copy_from_slice(&x);
    p.load = load;
    p.truth(&world, &sit, false, false);
    assert!(before > 0.0);
    assert!(p.gain[j] < 0.75 * before, "{} vs {before}", p.gain[j]);
}

/// The truth the oracles and regret use is what the dynamics deliver: one
/// full dose of a kernel changes well-being in the long run by exactly its
/// expected lasting gain per dose (the truth divided by follow-through, dose
/// and habituation), through the person's map, network and room to move.
#[test]
fn truth_is_the_lasting_gain_the_dynamics_deliver() {
    let s = scenario(
        "conditions = []\n[dynamics]\nforgetting = 0.0\nstate_sd = 0.0\ninnovation_sd = 1.0\n[life_load]\nevent_rate = 0.0\n[risk]\nweekly_rate = 0.0\n[follow_through]\naid_carryover = 0.0",
    );
    let world = World::new(&s, &catalogs(), &mut rng(1)).expect("world");
    let mut checked = 0;
    for seed in 0..6 {
        let mut treated = Person::default();
        treated.reset(&world, &mut rng(seed));
        let dd = DecisionDraws::draw(&mut rng(seed + 50));
        let sit = treated.situation(&world, &dd);
        treated.truth(&world, &sit, false, false);
        for (j, k) in world.kernels.iter().enumerate() {
            if k.safety || treated.follow[j] <= 0.0 {
                continue;
            }
            let per_dose: f64 = (k.entries.0..k.entries.1)
                .map(|i| treated.kcoef[i] * headroom(treated.x[world.entries[i].pole]))
                .sum();
            let mut a = treated.clone();
            let mut b = treated.clone();
            let mut nature = super::person::NatureDraws::default();
            let mut nature_rng = rng(seed + 100);
            let (mut diff, mut clamped) = (0.0, false);
            for t in 0..300 {
                nature.fill(&world, &mut nature_rng);
                a.evolve(&world, &nature, None);
                b.evolve(&world, &nature, (t == 0).then_some((j, 1.0)));
                if t >= 200 {
                    diff += (b.w - a.w) / 100.0;
                }
                // Bounds (levels or well-being at 0 or 100) bend the
                // linear dynamics; such paths say nothing about the truth.
                clamped |= [a.w, b.w]
                    .iter()
                    .chain(&a.x)
                    .chain(&b.x)
                    .any(|&v| v <= 0.0 || v >= 100.0);
            }
            if clamped || per_dose.abs() < 0.05 {
                continue;
            }
            assert!(
                (diff - per_dose).abs() < 0.02 * per_dose.abs() + 1e-6,
                "seed {seed} kernel {}: delivered {diff} vs truth {per_dose}",
                k.id
            );
            checked += 1;
        }
    }
    assert!(checked > 10, "{checked} kernels checked");
}

#[test]
fn a_done_aid_raises_later_follow_through() {
    let s = scenario("[follow_through]\naid_carryover = 0.8");
    let world = World::new(&s, &catalogs(), &mut rng(1)).expect("world");
    let mut p = Person::default();
    p.reset(&world, &mut rng(2));
    let dd = DecisionDraws::draw(&mut rng(3));
    let sit = p.situation(&world, &dd);
    p.truth(&world, &sit, false, false);
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
    p.truth(&world, &sit, false, false);
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
    p.truth(&world, &sit, false, false);
    assert!(p.eligible[exposure]);
    p.truth(&world, &sit, true, false);
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
    for (a, b) in whole
        .captured_share_curve()
        .iter()
        .zip(parts.captured_share_curve())
    {
        assert!(
            (a - b).abs() < 1e-9 || (a.is_nan() && b.is_nan()),
            "{a} vs {b}"
        );
    }
}

#[test]
fn captured_share_is_one_for_the_oracle_and_near_zero_for_random() {
    let s = sim("", 5);
    let oracle = s.run_people(0..40, 12, || Oracle).expect("run");
    let random = s.run_people(0..40, 12, || Random).expect("run");
    let map = s.run_people(0..40, 12, || MapOracle).expect("run");
    let (o, r, m) = (oracle.metrics(), random.metrics(), map.metrics());
    assert!(o.captured_share > 0.999, "{}", o.captured_share);
    assert!(r.captured_share.abs() < 0.1, "{}", r.captured_share);
    assert!(m.captured_share > r.captured_share && m.captured_share < o.captured_share);
    assert!(o.mean_random_gain < o.mean_best_gain);
    for rep in [&oracle, &random, &map] {
        let t = &rep.totals;
        assert!(
            t.chosen_gain_sum <= t.best_gain_sum + 1e-9,
            "{}",
            rep.policy
        );
        assert!(
            t.random_gain_sum <= t.best_gain_sum + 1e-9,
            "{}",
            rep.policy
        );
        let curve = rep.captured_share_curve();
        assert_eq!(curve.len(), 13);
        assert!(curve[12].is_nan(), "no decisions at the horizon");
        // Weekly sums add up to the totals.
        let weekly: f64 = rep.weekly.iter().map(|w| w.random_gain_sum).sum();
        assert!((weekly - t.random_gain_sum).abs() < 1e-6);
    }
    for c in &oracle.captured_share_curve()[..12] {
        assert!(*c > 0.999, "{c}");
    }
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
            map_expected_gain: gains,
            population_expected_gain: gains,
            map_posterior_expected_gain: gains,
            follow_through: gains,
            loadings: &[],
            pole_values: &[],
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
fn map_and_population_oracles_take_the_largest_of_their_own_gains() {
    let cat = catalogs();
    let n = cat.interventions.len();
    let eligible = vec![true; n];
    let gains: Vec<f64> = (0..n).map(|i| i as f64).collect();
    let map: Vec<f64> = (0..n).map(|i| -(i as f64)).collect();
    let mut v = view(&cat, &eligible, &gains, false);
    v.truth.map_expected_gain = &map;
    let id = MapOracle.choose(&v, &mut rng(0)).expect("choice");
    let first = v.candidates().next().expect("a candidate");
    assert_eq!(cat.interventions.index_of(&id), Some(first));
    let id = Oracle.choose(&v, &mut rng(0)).expect("choice");
    assert_ne!(cat.interventions.index_of(&id), Some(first));
    // The population oracle reads its own gains, not the map's.
    let id = PopulationOracle.choose(&v, &mut rng(0)).expect("choice");
    assert_ne!(cat.interventions.index_of(&id), Some(first));
    v.truth.population_expected_gain = &map;
    let id = PopulationOracle.choose(&v, &mut rng(0)).expect("choice");
    assert_eq!(cat.interventions.index_of(&id), Some(first));
}

/// Fed assessments in which well-being follows one pole (social, adaptive)
/// at the same occasion, the structured learner finds that pole and
/// recommends a kernel that targets it; it never sees the truth.
#[test]
fn structured_learner_estimates_the_map_from_assessments() {
    use rand::Rng as _;
    let cat = catalogs();
    let mut learner = StructuredLearner::new(0.0);
    let mut r = rng(7);
    let mut z = || r.sample::<f64, _>(rand_distr::StandardNormal);
    for d in 0..80 {
        let mut pole = || (50.0 + 15.0 * z()).clamp(0.0, 100.0);
        let ratings = [
            ("cognition", pole(), pole()),
            ("social", pole(), pole()),
            ("sleep", pole(), pole()),
        ];
        let wellbeing = 50.0 + 0.6 * (ratings[1].1 - 50.0) + 5.0 * z();
        let a = testkit::assessment(f64::from(d), &ratings, Some(wellbeing.clamp(0.0, 100.0)));
        learner.observe_assessment(&a).expect("assessment");
    }
    let n = cat.interventions.len();
    let eligible = vec![true; n];
    let gains = vec![0.0; n];
    let v = view(&cat, &eligible, &gains, false);
    let id = learner.choose(&v, &mut rng(1)).expect("choice");
    let map = learner.map().to_vec();
    let social_adaptive = 2;
    for (pole, b) in map.iter().enumerate() {
        if pole != social_adaptive {
            assert!(map[social_adaptive] > b.abs() * 3.0, "{map:?}");
        }
    }
    let iv = &cat.interventions.all()[cat.interventions.index_of(&id).expect("known")];
    assert!(
        iv.targets.iter().any(|t| t.process.as_str() == "social"),
        "chose {id}"
    );
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

/// What a platform-side probe saw: the time of every ranking asked for and
/// offered, the capacity each decision's context reported, and every PHQ-9
/// score sent.
#[derive(Default)]
struct Seen {
    asked: Vec<crate::ids::Timestamp>,
    capacity: Vec<Option<f64>>,
    offered: Vec<crate::ids::Timestamp>,
    phq9: Vec<f64>,
}

/// Chooses at random and records what it is asked and sent.
struct Probe(std::rc::Rc<std::cell::RefCell<Seen>>);

impl Policy for Probe {
    fn name(&self) -> &str {
        "probe"
    }
    fn start(&mut self, _: &Intake<'_>) -> crate::error::Result<()> {
        Ok(())
    }
    fn observe_assessment(&mut self, a: &crate::observe::Assessment) -> crate::error::Result<()> {
        let phq9 = a
            .outcomes
            .iter()
            .filter(|o| o.instrument == crate::observe::Instrument::Phq9);
        self.0.borrow_mut().phq9.extend(phq9.map(|o| o.score));
        Ok(())
    }
    fn choose(
        &mut self,
        view: &PersonView<'_>,
        rng: &mut SimRng,
    ) -> crate::error::Result<InterventionId> {
        let mut seen = self.0.borrow_mut();
        seen.asked.push(view.now);
        seen.capacity.push(view.context.capacity);
        Random.choose(view, rng)
    }
    fn observe_recommendation(
        &mut self,
        _: &InterventionId,
        at: crate::ids::Timestamp,
    ) -> crate::error::Result<()> {
        self.0.borrow_mut().offered.push(at);
        Ok(())
    }
    fn observe_feedback(&mut self, _: &Feedback) -> crate::error::Result<()> {
        Ok(())
    }
}

fn probe_run(text: &str) -> (SimReport, Seen) {
    let seen = std::rc::Rc::new(std::cell::RefCell::new(Seen::default()));
    let r = sim(text, 5)
        .run_people(0..20, 6, || Probe(seen.clone()))
        .expect("run");
    let seen = std::mem::take(&mut *seen.borrow_mut());
    (r, seen)
}

#[test]
fn a_platform_that_asks_again_makes_one_decision_a_minute_later() {
    let (once, one) = probe_run("");
    let (thrice, three) = probe_run("[measurement]\nrecommend_calls = 3\n");
    assert_eq!(once.totals.decisions, thrice.totals.decisions);
    assert_eq!(one.asked.len() as u64, once.totals.decisions);
    assert_eq!(three.asked.len(), 3 * one.asked.len());
    assert_eq!(three.asked, three.offered);
    for (decision, calls) in one.asked.iter().zip(three.asked.chunks(3)) {
        let minutes: Vec<i64> = calls.iter().map(|t| (t.0 - decision.0) / 60_000).collect();
        assert_eq!(minutes, [0, 1, 2]);
    }
    assert!(Scenario::from_toml("[measurement]\nrecommend_calls = 6\n").is_err());
}

#[test]
fn an_instrument_bias_shifts_that_instrument_and_nothing_else() {
    let weekly = |bias: f64| {
        format!(
            "[measurement]\noutcomes = [{{ instrument = \"phq9\", noise_sd = 2.5, bias = {bias} }}, \
             {{ instrument = \"wellbeing\", noise_sd = 10.0 }}]\n"
        )
    };
    let (plain, at_par) = probe_run(&weekly(0.0));
    let (biased, worse) = probe_run(&weekly(-15.0));
    assert_eq!(at_par.phq9.len(), worse.phq9.len());
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    // 15 well-being points are 4.05 PHQ-9 points (less where a score is clamped at 27).
    let shift = mean(&worse.phq9) - mean(&at_par.phq9);
    assert!((3.0..=4.1).contains(&shift), "{shift}");
    assert_eq!(plain.totals.improvement_sum, biased.totals.improvement_sum);
    assert!(Scenario::from_toml(&weekly(-60.0)).is_err());
}

#[test]
fn reported_capacity_comes_from_its_own_stream_and_only_when_asked() {
    let run = |known: f64| {
        let (r, seen) = probe_run(&format!("[measurement]\ncapacity_known = {known}\n"));
        (r, seen.capacity)
    };
    let (none, off) = run(0.0);
    let (all, on) = run(1.0);
    assert!(off.iter().all(Option::is_none));
    assert!(on.iter().all(Option::is_some));
    let values: Vec<f64> = on.iter().flatten().copied().collect();
    let mean = values.iter().sum::<f64>() / values.len() as f64;
    let spread = values.iter().map(|v| (v - mean).abs()).sum::<f64>() / values.len() as f64;
    assert!(
        (30.0..70.0).contains(&mean) && spread > 5.0,
        "{mean} {spread}"
    );
    // Nothing else about the world or the choices moved.
    assert_eq!(none.totals.decisions, all.totals.decisions);
    assert_eq!(none.totals.chosen_gain_sum, all.totals.chosen_gain_sum);
    assert_eq!(none.totals.improvement_sum, all.totals.improvement_sum);
}

/// Where maps differ, the map-posterior oracle reads a person's map from
/// precise daily measures (well above the population oracle) but not from
/// noisy weekly ones (well below the map oracle).
#[test]
fn the_map_posterior_oracle_reads_maps_only_from_measures_that_show_them() {
    let maps = "[dynamics]\nmap_heterogeneity = 1.0\nmap_density = 0.25\n";
    let shares = |text: &str| {
        let s = sim(text, 7);
        let run = |r: Result<SimReport>| r.expect("runs").metrics().captured_share;
        (
            run(s.run_people(0..60, 12, || MapOracle)),
            run(s.run_people(0..60, 12, || MapPosteriorOracle)),
            run(s.run_people(0..60, 12, || PopulationOracle)),
        )
    };
    let precise = format!(
        "{maps}wellbeing_noise_sd = 0.5\n[measurement]\nassessments_per_week = 7\n\
         decisions_per_week = 1\noutcomes = [{{ instrument = \"wellbeing\", every = 1, noise_sd = 1.0 }}]"
    );
    let (map, post, pop) = shares(&precise);
    assert!(
        post > pop + 0.1 && post > map - 0.15,
        "precise daily: map {map} posterior {post} population {pop}"
    );
    let (map, post, pop) = shares(maps);
    assert!(
        post < map - 0.1,
        "noisy weekly: map {map} posterior {post} population {pop}"
    );
}

/// The average person's coefficients are what everyone has when everyone
/// shares one map and responds alike; where maps differ they are nobody's.
#[test]
fn the_population_oracle_knows_everyone_only_when_people_are_alike() {
    let alike = "[dynamics]\nmap_heterogeneity = 0.0\nloading_heterogeneity = 0.0\nnetwork_heterogeneity = 0.0\npersistence_sd = 0.0\nretention_sd = 0.0";
    let share = |text: &str| {
        let s = sim(text, 7);
        let map = s.run_people(0..60, 12, || MapOracle).expect("map oracle");
        let pop = s
            .run_people(0..60, 12, || PopulationOracle)
            .expect("population oracle");
        (map.metrics().captured_share, pop.metrics().captured_share)
    };
    let (map, pop) = share(alike);
    assert!(
        (map - pop).abs() < 0.02,
        "alike: map {map} population {pop}"
    );
    let (map, pop) = share("[dynamics]\nmap_heterogeneity = 1.0\nmap_density = 0.25");
    assert!(
        pop < map - 0.1,
        "different maps: map {map} population {pop}"
    );
}
