//! The benefit of each intervention for this person: one hierarchical model
//! that reads the person's process map, pools feedback across interventions
//! through the processes they target, and keeps what is particular to a
//! family or an intervention.
//!
//! # Model
//! `θ_j`, the well-being gain (0-100 points) when the person does
//! intervention `j`, is
//!
//! `θ_j = s_j · Σ_p T_jp · h_p · v_p  +  f_family(j)  +  e_j`
//!
//! - `s_j` is the intervention's population effect (trained, else the
//!   catalogue's `prior_effect` with its distance from the catalogue mean
//!   trusted by `catalog_trust`) and `T_jp` its catalogue target weights;
//! - `h_p` is the person's headroom on process `p` now: the room both poles
//!   have to move (`100 - adaptive` and `maladaptive`), relative to the
//!   population's, kept within `[0.8, 1.2]` so a strength can still be
//!   built on and a stuck process does not dominate by arithmetic alone;
//! - `v_p` is the person's **relative value of process `p`**: how much moving
//!   it moves *their* well-being, in units of an average process's population
//!   value (so `v = 1` everywhere reproduces the catalogue). Its prior is the
//!   person's map from their own ratings ([`crate::map`]) divided by that
//!   unit, with the map's posterior covariance, plus independent
//!   responsiveness variance (`responsiveness_sd`): the map says how well-being
//!   follows a process, not how far an exercise moves it for this person;
//! - `f` is a per-person family effect and `e_j` a per-person residual.
//!   Responses are multiplicative (a family that does nothing, or harm, for
//!   this person does so in proportion to what it was expected to do), so
//!   both are scaled by `k_j`, the map's prediction for the intervention
//!   before any feedback, floored at 0.3 of the catalogue's typical effect
//!   (linearising `θ = (map prediction) × (1 + φ_family) + ...` at the prior):
//!   `f` enters as `k_j φ_F` with `φ_F ~ N(0, family_sd²)`, and `e_j` has sd
//!   `item_sd_share × k_j + item_sd_floor`. An intervention can backfire for
//!   one person; a few bad reports turn its family's multiplier negative.
//!   The residual's prior mean comes from similar reference people when a
//!   trained model has them (compared by their maps).
//!
//! # Evidence
//! Feedback enters through two channels per intervention ([`ItemEvidence`]):
//! benefit signals in points (`o = d·θ + ε`, the outcome change and the
//! process change through the map) and helpfulness ratings
//! (`h = a + slope·d·θ + ε`), where `a` is the person's own rating level,
//! estimated jointly: someone who rates everything 80 teaches only through
//! what they rate above or below their own habit. One rating therefore
//! informs `v` on every process the intervention targets, and through `v`
//! every other intervention on those processes; the rest stays with the
//! family and the intervention itself.
//!
//! # Inference
//! Everything is linear-Gaussian, so the posterior is exact. The per-person
//! residuals `e_j` are integrated out one intervention at a time (each
//! appears in its own observations only), leaving a dense system over
//! `u = (v, a, f)` of size `P + 1 + F` (31 for the built-in catalogues),
//! solved by one Cholesky factorisation; each intervention's posterior mean
//! and variance then cost a handful of operations because its design vector
//! is sparse. With the map fit, the whole posterior takes about 110 µs for
//! the built-in catalogues (`engine/refresh/12`); the server caches it in the
//! person's state after every write ([`PersonCache`]).

use crate::map::{self, MapFit};
use crate::model::Model;
use crate::network;
use crate::population::{ResponsePrior, neighbour_evidence};
use crate::state::{ItemEvidence, PersonCache, PersonState, ProcessBelief};
use crate::stats::{Cholesky, Gaussian};

/// Bounds of the relative headroom factor.
pub(crate) const HEADROOM_MIN: f64 = 0.8;
/// See [`HEADROOM_MIN`].
pub(crate) const HEADROOM_MAX: f64 = 1.2;
/// Floor of the response scale, as a share of the catalogue's typical effect.
const SCALE_FLOOR: f64 = 0.3;

/// Current level of every network variable: smoothed when observed, else the
/// population mean.
pub(crate) fn levels(model: &Model, state: &PersonState) -> Vec<f64> {
    let mean = &model.population.variable_mean;
    (0..mean.len())
        .map(|i| {
            state
                .variables
                .get(i)
                .and_then(|v| v.level)
                .unwrap_or(mean[i])
        })
        .collect()
}

/// The person's relative headroom on process `p` (see the module docs).
pub(crate) fn headroom(model: &Model, levels: &[f64], p: usize) -> f64 {
    let mean = &model.population.variable_mean;
    let (ia, im) = (network::adaptive(p), network::maladaptive(p));
    let h_a = (100.0 - levels[ia]) / (100.0 - mean[ia]).max(5.0);
    let h_m = levels[im] / mean[im].max(5.0);
    (0.5 * (h_a + h_m)).clamp(HEADROOM_MIN, HEADROOM_MAX)
}

/// One entry of a sparse design vector over `u`.
type Entry = (usize, f64);

/// The person's posterior: benefits of every intervention, process values,
/// rating level. What [`PersonCache`] stores.
pub(crate) fn posterior(model: &Model, state: &PersonState, tag: &str) -> PersonCache {
    solve(model, state, tag, &model.population.response).0
}

/// Log marginal likelihood of the person's feedback (ratings, outcome and
/// process changes) given their ratings' map, under `response`'s variances,
/// up to a constant that does not depend on them: what training compares to
/// estimate those variances from a population's own feedback (see
/// `train::fit_response_spread`). 0 for a person without feedback.
pub(crate) fn feedback_log_evidence(
    model: &Model,
    state: &PersonState,
    response: &ResponsePrior,
) -> f64 {
    solve(model, state, "", response).1
}

/// The posterior under `r`, and the log evidence of the feedback under it.
///
/// With `u` and the folded-in residuals `e` jointly Gaussian, the evidence is
/// `½ log|Λ₀| − ½ m₀'Λ₀m₀ − ½ log|Λ| + ½ η'Λ⁻¹η` plus terms of the data
/// alone; each residual integrated out adds its own `½ log(λ_e s_e²)⁻¹
/// − ½ m_e²/s_e² + ½ ℓ_e²/λ_e`.
fn solve(model: &Model, state: &PersonState, tag: &str, r: &ResponsePrior) -> (PersonCache, f64) {
    let pop = &model.population;
    let p = model.processes.len();
    let compiled = model.compiled();
    let families = compiled.families;
    let dim = p + 1 + families;
    let a_idx = p;
    let fam_idx = |f: usize| p + 1 + f;

    // The map from the person's ratings.
    let fit = map::fit(&state.map, &pop.map);
    let unit = model.value_unit;
    let forms: Vec<[(usize, f64); 3]> =
        (0..p).map(|q| MapFit::value_form(&pop.map, p, q)).collect();
    let k = fit.coef.len();
    let map_value: Vec<Gaussian> = forms
        .iter()
        .map(|f| {
            let (m, v) = fit.form(f);
            Gaussian { mean: m, var: v }
        })
        .collect();
    // Prior of v: the map over the unit, plus responsiveness.
    let mut v_cov = vec![0.0; p * p];
    for a in 0..p {
        for b in a..p {
            let mut c = 0.0;
            for &(i, wi) in &forms[a] {
                for &(j, wj) in &forms[b] {
                    c += wi * wj * fit.cov[i * k + j];
                }
            }
            c /= unit * unit;
            if a == b {
                c += r.responsiveness_sd.powi(2);
            }
            v_cov[a * p + b] = c;
            v_cov[b * p + a] = c;
        }
    }
    let v_mean: Vec<f64> = map_value.iter().map(|g| g.mean / unit).collect();
    // Population-only variance of v (for own-data shares).
    let pop_v_var: Vec<f64> = forms
        .iter()
        .map(|f| {
            f.iter()
                .map(|&(i, w)| {
                    let sd = if i < 2 * p {
                        pop.map.pole_sd[i]
                    } else {
                        pop.map.lag_sd[i - 2 * p]
                    };
                    w * w * sd * sd
                })
                .sum::<f64>()
                / (unit * unit)
                + r.responsiveness_sd.powi(2)
        })
        .collect();

    let levels = levels(model, state);
    let head: Vec<f64> = (0..p).map(|q| headroom(model, &levels, q)).collect();

    // Prior residual means from similar people, when a trained model has them.
    // The operator's weight caps what training found similar people worth,
    // which it found for people whose maps were known (the reference people,
    // with all their data): neighbours found by a map the person's ratings
    // have barely moved from the population's are not similar people yet.
    let known = (0..p)
        .map(|q| (1.0 - v_cov[q * p + q] / pop_v_var[q].max(1e-12)).clamp(0.0, 1.0))
        .sum::<f64>()
        / p.max(1) as f64;
    let weight = model.config.neighbour_weight.min(r.neighbour_weight) * known;
    let neighbours = model
        .neighbours()
        .filter(|_| weight > 0.0)
        .map(|idx| idx.nearest(&v_mean, &levels, model.config.neighbours))
        .unwrap_or_default();
    let ivs = model.interventions.all();
    let residual_mean: Vec<f64> = ivs
        .iter()
        .map(|iv| match neighbour_evidence(pop, &neighbours, &iv.id) {
            Some(nb) => weight * nb.shrunk(),
            None => 0.0,
        })
        .collect();

    // Prior precision of u = (v, a, f).
    let mut lam = vec![0.0; dim * dim];
    let mut eta = vec![0.0; dim];
    // log|Λ₀| of the v block.
    let mut prior_log_det = match Cholesky::with_jitter(&v_cov, p) {
        Some((ch, _)) => {
            let inv = ch.inverse();
            for a in 0..p {
                for b in 0..p {
                    lam[a * dim + b] = inv[a * p + b];
                }
                eta[a] = (0..p).map(|b| inv[a * p + b] * v_mean[b]).sum();
            }
            -ch.log_det()
        }
        None => (0..p)
            .map(|a| {
                lam[a * dim + a] = 1.0 / v_cov[a * p + a].max(1e-9);
                eta[a] = v_mean[a] * lam[a * dim + a];
                lam[a * dim + a].ln()
            })
            .sum(),
    };
    lam[a_idx * dim + a_idx] = 1.0 / r.rater_sd.powi(2);
    eta[a_idx] = r.rater_mean / r.rater_sd.powi(2);
    for f in 0..families {
        lam[fam_idx(f) * dim + fam_idx(f)] = 1.0 / r.family_sd.powi(2);
    }
    prior_log_det -= 2.0 * r.rater_sd.ln() + 2.0 * families as f64 * r.family_sd.ln();
    // m₀'Λ₀m₀ = m₀'η₀ (the family effects' prior means are 0).
    let prior_quad = (0..p).map(|a| v_mean[a] * eta[a]).sum::<f64>() + r.rater_mean * eta[a_idx];
    let mut log_evidence = 0.5 * prior_log_det - 0.5 * prior_quad;

    // Responses are multiplicative: a family or an intervention that does
    // nothing (or harm) for this person does so in proportion to what their
    // map predicts. Linearised at the map's prediction before feedback, the
    // family effect and the residual scale with it (with a floor, so a
    // kernel predicted to do nothing can still turn out to help).
    let typical = compiled.items.iter().map(|c| c.effect.abs()).sum::<f64>()
        / compiled.items.len().max(1) as f64;
    let scale: Vec<f64> = compiled
        .items
        .iter()
        .map(|c| {
            let m: f64 = c
                .targets
                .iter()
                .map(|&(q, w)| c.effect * w * head[q] * v_mean[q])
                .sum();
            m.hypot(SCALE_FLOOR * typical)
        })
        .collect();
    let resid_sd: Vec<f64> = scale
        .iter()
        .map(|k| r.item_sd_share * k + r.item_sd_floor)
        .collect();
    // Design of each intervention's benefit over u.
    let design = |j: usize| -> Vec<Entry> {
        let c = &compiled.items[j];
        let mut g: Vec<Entry> = c
            .targets
            .iter()
            .map(|&(q, w)| (q, c.effect * w * head[q]))
            .collect();
        g.push((fam_idx(c.family), scale[j]));
        g
    };

    // Fold each intervention's evidence in, integrating its residual out.
    let records = records_by_position(model, state);
    let slope = r.helpfulness_slope;
    let h_prec = 1.0 / r.helpfulness_noise_sd.powi(2);
    struct Folded {
        lambda_e: f64,
        ell_e: f64,
        c: Vec<Entry>,
    }
    let mut folded: Vec<Option<Folded>> = Vec::with_capacity(ivs.len());
    for (j, ev) in records.iter().enumerate() {
        let Some(ev) = ev.filter(|e| !e.is_empty()) else {
            folded.push(None);
            continue;
        };
        let g = design(j);
        let s_e2 = resid_sd[j].powi(2);
        let k_tt = ev.precision + slope * slope * ev.sum_dose_sq * h_prec;
        let k_ta = slope * ev.sum_dose * h_prec;
        let k_aa = f64::from(ev.ratings) * h_prec;
        let l_t = ev.weighted_sum + slope * ev.sum_dose_rating * h_prec;
        let l_a = ev.sum_rating * h_prec;
        let lambda_e = k_tt + 1.0 / s_e2;
        let ell_e = l_t + residual_mean[j] / s_e2;
        log_evidence += -0.5 * (lambda_e * s_e2).ln() - 0.5 * residual_mean[j].powi(2) / s_e2
            + 0.5 * ell_e * ell_e / lambda_e;
        // c = K_tt g + K_ta α.
        let mut c: Vec<Entry> = g.iter().map(|&(i, w)| (i, k_tt * w)).collect();
        c.push((a_idx, k_ta));
        // Λ += K_tt g g' + K_ta (g α' + α g') + K_aa α α' - c c' / λ_e
        for &(i, wi) in &g {
            for &(jj, wj) in &g {
                lam[i * dim + jj] += k_tt * wi * wj;
            }
            lam[i * dim + a_idx] += k_ta * wi;
            lam[a_idx * dim + i] += k_ta * wi;
            eta[i] += l_t * wi;
        }
        lam[a_idx * dim + a_idx] += k_aa;
        eta[a_idx] += l_a;
        for &(i, ci) in &c {
            for &(jj, cj) in &c {
                lam[i * dim + jj] -= ci * cj / lambda_e;
            }
            eta[i] -= ci * ell_e / lambda_e;
        }
        folded.push(Some(Folded { lambda_e, ell_e, c }));
    }

    let (mu, sigma) = match Cholesky::with_jitter(&lam, dim) {
        Some((ch, _)) => {
            let mut mu = eta.clone();
            ch.solve(&mut mu);
            log_evidence += -0.5 * ch.log_det() + 0.5 * crate::stats::dot(&eta, &mu);
            (mu, ch.inverse())
        }
        // Unreachable for a positive prior; fall back to the prior means.
        None => {
            let mut mu = vec![0.0; dim];
            mu[..p].copy_from_slice(&v_mean);
            mu[a_idx] = r.rater_mean;
            let mut sigma = vec![0.0; dim * dim];
            for i in 0..dim {
                sigma[i * dim + i] = 1.0 / lam[i * dim + i].max(1e-9);
            }
            (mu, sigma)
        }
    };
    let quad = |h: &[Entry]| -> f64 {
        let mut s = 0.0;
        for &(i, wi) in h {
            for &(jj, wj) in h {
                s += wi * wj * sigma[i * dim + jj];
            }
        }
        s.max(0.0)
    };
    let mean_of = |h: &[Entry]| -> f64 { h.iter().map(|&(i, w)| w * mu[i]).sum() };

    let mut items = Vec::with_capacity(ivs.len());
    let mut item_own_weight = Vec::with_capacity(ivs.len());
    let mut item_explore_var = Vec::with_capacity(ivs.len());
    for (j, f) in folded.iter().enumerate() {
        let g = design(j);
        let s_e2 = resid_sd[j].powi(2);
        let belief = match f {
            Some(f) => {
                // h = g - c / λ_e
                let mut h = g.clone();
                for &(i, ci) in &f.c {
                    match h.iter_mut().find(|(k, _)| *k == i) {
                        Some(e) => e.1 -= ci / f.lambda_e,
                        None => h.push((i, -ci / f.lambda_e)),
                    }
                }
                let rest: Vec<Entry> = h.iter().copied().filter(|(i, _)| *i >= p).collect();
                item_explore_var.push(quad(&rest) + 1.0 / f.lambda_e);
                Gaussian {
                    mean: mean_of(&h) + f.ell_e / f.lambda_e,
                    var: quad(&h) + 1.0 / f.lambda_e,
                }
            }
            None => {
                let rest: Vec<Entry> = g.iter().copied().filter(|(i, _)| *i >= p).collect();
                item_explore_var.push(quad(&rest) + s_e2);
                Gaussian {
                    mean: mean_of(&g) + residual_mean[j],
                    var: quad(&g) + s_e2,
                }
            }
        };
        // Own-data share: how much of what the person's own data taught
        // about the processes it targets (weighted by target), and, for the
        // part particular to this intervention, how much its own reports
        // outweigh the prior.
        let targets = &compiled.items[j].targets;
        let wsum: f64 = targets.iter().map(|t| t.1).sum();
        let process_share = targets
            .iter()
            .map(|&(q, w)| w * (1.0 - sigma[q * dim + q] / pop_v_var[q].max(1e-12)).clamp(0.0, 1.0))
            .sum::<f64>()
            / wsum.max(1e-12);
        let item_share = f.as_ref().map_or(0.0, |f| 1.0 - 1.0 / (s_e2 * f.lambda_e));
        item_own_weight.push((process_share.max(item_share)).clamp(0.0, 1.0));
        items.push(belief);
    }

    let processes = (0..p)
        .map(|q| {
            let var = sigma[q * dim + q];
            ProcessBelief {
                map_value: map_value[q],
                value: Gaussian { mean: mu[q], var },
                correlation: fit.correlation[q],
                own_weight: (1.0 - var / pop_v_var[q].max(1e-12)).clamp(0.0, 1.0),
            }
        })
        .collect();
    let cache = PersonCache {
        key: crate::state::CacheKey {
            revision: state.revision,
            model: tag.to_owned(),
        },
        items,
        item_own_weight,
        item_explore_var,
        processes,
        poles: fit.coef[..2 * p].to_vec(),
        poles_var: (0..2 * p).map(|i| fit.cov[i * k + i]).collect(),
        rater: mu[a_idx],
        map_rows: fit.rows,
        map_span_days: fit.span_days,
        map_residual_sd: fit.residual_sd,
    };
    (cache, log_evidence)
}

/// The person's evidence on each catalogue intervention, by position. Both
/// the catalogue and the state's map are ordered by id, so one merge pass
/// replaces a map lookup per intervention.
fn records_by_position<'s>(model: &Model, state: &'s PersonState) -> Vec<Option<&'s ItemEvidence>> {
    crate::state::records_by_position(model.interventions.all(), state)
        .into_iter()
        .map(|r| r.map(|r| &r.evidence))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::EngineConfig;
    use crate::observe::Completion;
    use crate::testkit::*;

    fn cache(e: &crate::Engine, s: &PersonState) -> PersonCache {
        posterior(e.model(), s, "test")
    }

    fn item<'c>(e: &crate::Engine, c: &'c PersonCache, name: &str) -> &'c Gaussian {
        let pos = e.interventions().index_of(&id(name)).expect("known");
        &c.items[pos]
    }

    #[test]
    fn at_cold_start_the_benefit_is_the_catalogue_effect_for_an_average_person() {
        let e = engine_with(EngineConfig::default());
        let s = e.new_person(vec![]);
        let c = cache(&e, &s);
        let all = e.interventions().all();
        let mean = all.iter().map(|iv| iv.prior_effect).sum::<f64>() / all.len() as f64;
        let trust = e.population().response.catalog_trust;
        for (iv, b) in all.iter().zip(&c.items) {
            let effect = mean + trust * (iv.prior_effect - mean);
            let expected = effect * iv.targets.iter().map(|t| t.weight).sum::<f64>();
            assert!(
                (b.mean - expected).abs() < 1e-9,
                "{}: {} vs {expected}",
                iv.id,
                b.mean
            );
        }
        assert!((c.rater - e.population().response.rater_mean).abs() < 1e-9);
    }

    /// The evidence compares variances by what the feedback says: none
    /// without feedback; ratings that follow the prediction are likelier
    /// under small spreads, ratings of one family's exercises far apart under
    /// large ones.
    #[test]
    fn the_feedback_evidence_favours_the_spreads_the_reports_show() {
        let e = engine_with(EngineConfig::default());
        let scaled = |c: f64| {
            let mut r = e.population().response.clone();
            r.responsiveness_sd *= c;
            r.family_sd *= c;
            r.item_sd_share *= c;
            r.item_sd_floor *= c;
            r
        };
        let evidence = |s: &PersonState, c: f64| feedback_log_evidence(e.model(), s, &scaled(c));
        let mut s = e.new_person(vec![]);
        e.observe_assessment(
            &mut s,
            &assessment(0.0, &[("cognition", 45.0, 55.0)], Some(50.0)),
        )
        .expect("valid");
        for c in [0.2, 1.0, 3.0] {
            assert!(evidence(&s, c).abs() < 1e-9, "{c}: {}", evidence(&s, c));
        }
        let rate = |s: &mut PersonState, ratings: &[(&str, f64)]| {
            for (i, (name, h)) in ratings.iter().enumerate() {
                e.observe_feedback(
                    s,
                    &feedback(name, 1.0 + i as f64, Some(Completion::Done), Some(*h)),
                )
                .expect("valid");
            }
        };
        // The prediction for these exercises, in rating points.
        let c = cache(&e, &s);
        let slope = e.population().response.helpfulness_slope;
        let predicted =
            |name: &str| e.population().response.rater_mean + slope * item(&e, &c, name).mean;
        let mut plain = s.clone();
        rate(
            &mut plain,
            &[
                ("defuse", predicted("defuse")),
                ("restructure", predicted("restructure")),
                ("reach-out", predicted("reach-out")),
                ("defuse", predicted("defuse")),
            ],
        );
        assert!(evidence(&plain, 0.3) > evidence(&plain, 1.0));
        assert!(evidence(&plain, 1.0) > evidence(&plain, 3.0));
        let mut apart = s.clone();
        rate(
            &mut apart,
            &[
                ("defuse", 98.0),
                ("restructure", 5.0),
                ("defuse", 97.0),
                ("restructure", 4.0),
                ("reach-out", 2.0),
                ("reach-out", 3.0),
            ],
        );
        assert!(evidence(&apart, 3.0) > evidence(&apart, 1.0));
        assert!(evidence(&apart, 1.0) > evidence(&apart, 0.3));
    }

    #[test]
    fn one_helpful_rating_raises_every_intervention_on_the_same_process() {
        let e = engine_with(EngineConfig::default());
        let mut s = e.new_person(vec![]);
        e.observe_assessment(
            &mut s,
            &assessment(0.0, &[("cognition", 45.0, 55.0)], Some(50.0)),
        )
        .expect("valid");
        let before = cache(&e, &s);
        for (d, h) in [(1.0, 95.0), (2.0, 90.0), (3.0, 95.0)] {
            e.observe_feedback(
                &mut s,
                &feedback("defuse", d, Some(Completion::Done), Some(h)),
            )
            .expect("valid");
        }
        let after = cache(&e, &s);
        // The other cognition kernel rises, a social one barely moves.
        let up = item(&e, &after, "restructure").mean - item(&e, &before, "restructure").mean;
        let social = item(&e, &after, "reach-out").mean - item(&e, &before, "reach-out").mean;
        assert!(up > 0.3, "{up}");
        assert!(up > 3.0 * social.abs(), "{up} vs {social}");
        assert!(item(&e, &after, "defuse").mean > item(&e, &after, "restructure").mean);
    }

    #[test]
    fn a_person_who_rates_everything_high_teaches_only_by_contrast() {
        let e = engine_with(EngineConfig::default());
        let run = |a: f64, b: f64| {
            let mut s = e.new_person(vec![]);
            for i in 0..4 {
                let d = f64::from(i);
                e.observe_feedback(
                    &mut s,
                    &feedback("defuse", d, Some(Completion::Done), Some(a)),
                )
                .expect("valid");
                e.observe_feedback(
                    &mut s,
                    &feedback("reach-out", d + 0.5, Some(Completion::Done), Some(b)),
                )
                .expect("valid");
            }
            let c = cache(&e, &s);
            item(&e, &c, "defuse").mean - item(&e, &c, "reach-out").mean
        };
        // Same contrast at two rating levels: nearly the same conclusion.
        let generous = run(95.0, 80.0);
        let strict = run(40.0, 25.0);
        assert!(generous > 0.5 && strict > 0.5);
        assert!(
            (generous - strict).abs() < 0.35 * generous,
            "{generous} vs {strict}"
        );
    }
}
