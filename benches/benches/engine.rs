//! Criterion benchmarks of the engine's hot paths on one core.
//!
//! - `engine/rank/{interventions}`: one `recommend` (k = 5, default
//!   exploration, exact propensities) for a person with a year of daily
//!   assessments and feedback over the 12 built-in-sized processes, their
//!   posterior cached by `Engine::refresh` (the server refreshes after every
//!   write).
//! - `engine/rank_trained/50`: the same with a trained population model of
//!   10,000 reference people.
//! - `engine/rank_uncached/{interventions}`: the same with the posterior (map
//!   fit and benefit model) computed inside the call.
//! - `engine/update`: one incremental `observe_assessment` on that year-long state.
//! - `engine/feedback`: one `observe_feedback`.
//! - `engine/refresh/{processes}`: computing and caching the person's
//!   posterior (process map with per-person empirical Bayes, the benefit of
//!   every intervention) for 8 to 32 processes; `engine/refresh_trained/12`
//!   adds the similar-person search over 10,000 reference people.
//! - `engine/insights`: the full insights view (map, every equation of the
//!   lagged network).
//!
//! Targets (issues 3 and 7): ranking under 50 µs, also with a 10,000-person
//! trained model; update under 10 µs.

use criterion::{BatchSize, BenchmarkId, Criterion, criterion_main};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::hint::black_box;
use tutti_benches::{START, assessment, engine, person, query, trained_engine};
use tutti_engine::observe::{Completion, Context, Feedback};

const DAYS: usize = 365;
const PROCESSES: usize = 12;
const REFERENCE_PEOPLE: usize = 10_000;

fn rank(c: &mut Criterion) {
    let mut group = c.benchmark_group("engine/rank");
    for n in [10usize, 50, 100] {
        let e = engine(PROCESSES, n);
        let mut s = person(&e, DAYS, 1);
        e.refresh(&mut s).expect("compatible state");
        let q = query(DAYS);
        group.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
            b.iter(|| e.recommend(black_box(&s), black_box(&q)).expect("ranks"))
        });
    }
    group.finish();

    // The same ranking without exploration: no Thompson draw spread and no
    // first-place quadrature; the ratio to rank/50 is what exploration costs.
    let mut group = c.benchmark_group("engine/rank_greedy");
    let n = 50usize;
    let e = tutti_benches::engine_with(
        tutti_engine::config::EngineConfig {
            exploration: 0.0,
            ..tutti_engine::config::EngineConfig::default()
        },
        PROCESSES,
        n,
    );
    let mut s = person(&e, DAYS, 1);
    e.refresh(&mut s).expect("compatible state");
    let q = query(DAYS);
    group.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
        b.iter(|| e.recommend(black_box(&s), black_box(&q)).expect("ranks"))
    });
    group.finish();

    let mut group = c.benchmark_group("engine/rank_trained");
    let n = 50usize;
    let e = trained_engine(PROCESSES, n, REFERENCE_PEOPLE);
    let mut s = person(&e, DAYS, 1);
    e.refresh(&mut s).expect("compatible state");
    let q = query(DAYS);
    group.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
        b.iter(|| e.recommend(black_box(&s), black_box(&q)).expect("ranks"))
    });
    group.finish();

    let mut group = c.benchmark_group("engine/rank_uncached");
    let n = 50usize;
    let e = engine(PROCESSES, n);
    let s = person(&e, DAYS, 1);
    let q = query(DAYS);
    group.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
        b.iter(|| e.recommend(black_box(&s), black_box(&q)).expect("ranks"))
    });
    group.finish();
}

fn update(c: &mut Criterion) {
    let e = engine(PROCESSES, 50);
    let s = person(&e, DAYS, 1);
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    let next = assessment(&e, DAYS, &mut rng);
    c.bench_function("engine/update", |b| {
        b.iter_batched(
            || s.clone(),
            |mut st| {
                e.observe_assessment(&mut st, black_box(&next))
                    .expect("valid");
                st
            },
            BatchSize::SmallInput,
        )
    });
    let id = e.interventions().all()[5].id.clone();
    let fb = Feedback {
        intervention: id,
        at: START.plus_days(DAYS as f64 + 0.2),
        completion: Some(Completion::Done),
        minutes_spent: Some(10),
        helpfulness: Some(80.0),
        distress_before: None,
        distress_after: None,
        post_ratings: vec![],
        clinician: None,
        context: Context::default(),
    };
    let mut cached = s.clone();
    e.refresh(&mut cached).expect("compatible state");
    c.bench_function("engine/feedback", |b| {
        b.iter_batched(
            || cached.clone(),
            |mut st| {
                e.observe_feedback(&mut st, black_box(&fb)).expect("valid");
                st
            },
            BatchSize::SmallInput,
        )
    });
}

fn refresh(c: &mut Criterion) {
    let mut group = c.benchmark_group("engine/refresh");
    for p in [8usize, 12, 16, 24, 32] {
        let e = engine(p, 20);
        let s = person(&e, DAYS, 2);
        group.bench_with_input(BenchmarkId::from_parameter(p), &p, |b, _| {
            b.iter_batched(
                || s.clone(),
                |mut st| {
                    e.refresh(&mut st).expect("compatible state");
                    st
                },
                BatchSize::SmallInput,
            )
        });
    }
    group.finish();
    let e = trained_engine(PROCESSES, 50, REFERENCE_PEOPLE);
    let s = person(&e, DAYS, 2);
    c.bench_function("engine/refresh_trained/12", |b| {
        b.iter_batched(
            || s.clone(),
            |mut st| {
                e.refresh(&mut st).expect("compatible state");
                st
            },
            BatchSize::SmallInput,
        )
    });
}

fn insights(c: &mut Criterion) {
    let e = engine(PROCESSES, 50);
    let mut s = person(&e, DAYS, 1);
    e.refresh(&mut s).expect("compatible state");
    let now = START.plus_days(DAYS as f64 + 1.0);
    c.bench_function("engine/insights", |b| {
        b.iter(|| e.insights(black_box(&s), now))
    });
}

/// Every group, configured from the command line (what `criterion_group!`
/// would generate, written out so it carries documentation).
fn benches() {
    let mut c = Criterion::default().configure_from_args();
    rank(&mut c);
    update(&mut c);
    refresh(&mut c);
    insights(&mut c);
}

criterion_main!(benches);
