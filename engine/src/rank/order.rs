//! Ordering the ranked candidates after the fixed head (safety kernels, pins):
//! a greedy diversity re-ranking of the Thompson draws (or of the means, for
//! the greedy reference list). The first pick is the plain argmax over the
//! candidates that may rank first; contraindicated ones can only follow.

use super::scoring::Candidate;
use crate::model::{CompiledCatalog, CompiledIntervention, Model};

/// What one ordering works on.
pub(super) struct Plan<'p, 'a> {
    pub model: &'p Model,
    pub cands: &'p [Candidate<'a>],
    pub head: &'p [usize],
    /// May rank first.
    pub eligible: &'p [usize],
    /// Listed only after the first place (clinician review).
    pub reviewed: &'p [usize],
    pub diversity: f64,
    pub wanted: usize,
}

impl Plan<'_, '_> {
    /// Up to `wanted` indices after the head, ordered by `values` with the
    /// diversity penalty; `forced_first`, if any, takes the first place.
    pub(crate) fn diversify(&self, values: &[f64], forced_first: Option<usize>) -> Vec<usize> {
        let compiled: &CompiledCatalog = self.model.compiled();
        let processes = self.model.processes().len();
        let mut cover = Coverage::new(compiled.families, processes);
        for &h in self.head {
            cover.add(&compiled.items[self.cands[h].pos]);
        }
        let mut left: Vec<usize> = self.eligible.iter().chain(self.reviewed).copied().collect();
        let mut out = Vec::with_capacity(self.wanted.min(left.len()));
        while out.len() < self.wanted && !left.is_empty() {
            let first_place = out.is_empty() && self.head.is_empty();
            let pool: Vec<usize> = if first_place {
                left.iter()
                    .copied()
                    .filter(|i| self.eligible.contains(i))
                    .collect()
            } else {
                left.clone()
            };
            if pool.is_empty() {
                // Nothing may rank first: a list of review-only items would
                // put one of them first.
                break;
            }
            let pick = match forced_first {
                Some(f) if first_place && pool.contains(&f) => f,
                _ => argmax(&pool, |i| {
                    values[i]
                        - self.diversity
                            * cover.overlap(&compiled.items[self.cands[i].pos])
                            * values[i].abs()
                }),
            };
            left.retain(|&i| i != pick);
            cover.add(&compiled.items[self.cands[pick].pos]);
            out.push(pick);
        }
        out
    }
}

/// Families listed, and per process the largest target weight listed so far.
struct Coverage {
    families: Vec<bool>,
    processes: Vec<f64>,
}

impl Coverage {
    fn new(families: usize, processes: usize) -> Self {
        Self {
            families: vec![false; families],
            processes: vec![0.0; processes],
        }
    }

    fn add(&mut self, iv: &CompiledIntervention) {
        self.families[iv.family] = true;
        for &(p, w) in &iv.targets {
            self.processes[p] = self.processes[p].max(w);
        }
    }

    /// 1 for a family already listed, else the weighted share of its targets
    /// already covered.
    fn overlap(&self, iv: &CompiledIntervention) -> f64 {
        if self.families[iv.family] {
            return 1.0;
        }
        let (mut hit, mut total) = (0.0, 0.0);
        for &(p, w) in &iv.targets {
            hit += w.min(self.processes[p]);
            total += w;
        }
        if total > 0.0 { hit / total } else { 0.0 }
    }
}

/// The index in `among` with the largest `value`; ties go to the earliest.
pub(super) fn argmax(among: &[usize], value: impl Fn(usize) -> f64) -> usize {
    let mut best = among[0];
    let mut best_v = value(best);
    for &i in &among[1..] {
        let v = value(i);
        if v > best_v {
            best = i;
            best_v = v;
        }
    }
    best
}
