//! The one start-up the tools share: logging, the worker pool and its fixed
//! chunks, the scenario, the engine configuration, and the engines built from
//! them (the built-in catalogues, optionally a trained population model or a
//! tenant's own interventions). Every tool goes through these, so a
//! configuration file or a model means the same thing to `simulate`,
//! `evaluate`, `tune` and `train`.

use anyhow::{Context as _, bail};
use std::ops::Range;
use std::path::Path;
use tutti_engine::Engine;
use tutti_engine::config::EngineConfig;
use tutti_engine::population::PopulationModel;
use tutti_engine::sim::Scenario;
use tutti_server::offline::{self, StoredIntervention};

/// Sends the tools' diagnostics (warnings by default; the `tracing` filter in
/// `TUTTI_LOG__FILTER`, as for `tutti serve`) to stderr, leaving stdout to
/// the tables the tools print. Called once, before a tool runs; a second call
/// (a test running several tools) keeps the first subscriber.
pub fn init_logging() {
    let filter = std::env::var("TUTTI_LOG__FILTER").unwrap_or_else(|_| "warn".to_owned());
    let filter = tracing_subscriber::EnvFilter::try_new(&filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// Loads a named scenario or a scenario file (the default scenario if neither).
pub fn load_scenario(name: Option<&str>, file: Option<&Path>) -> anyhow::Result<Scenario> {
    match (name, file) {
        (Some(_), Some(_)) => bail!("give either --scenario or --scenario-file, not both"),
        (_, Some(path)) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            Scenario::from_toml(&text).with_context(|| format!("in {}", path.display()))
        }
        (name, None) => Ok(Scenario::named(name.unwrap_or("default"))?),
    }
}

/// Reads an engine configuration from TOML, or the default configuration.
/// The file holds either `EngineConfig`'s fields at the top level or an
/// `[engine]` section as in the server's configuration file, so the
/// `best.toml` that `tutti tune` writes serves `tutti serve --config` and
/// `--engine-config` alike (tenant overrides in a server file are not
/// applied here). Unknown fields are rejected in both forms.
pub fn load_engine_config(path: Option<&Path>) -> anyhow::Result<EngineConfig> {
    let Some(path) = path else {
        return Ok(EngineConfig::default());
    };
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let table: toml::Table =
        toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    let config = if table.contains_key("engine") {
        let server: tutti_server::config::Config =
            toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
        server.engine
    } else {
        toml::from_str::<EngineConfig>(&text)
            .with_context(|| format!("parsing {}", path.display()))?
    };
    config
        .validate()
        .with_context(|| format!("in {}", path.display()))?;
    Ok(config)
}

/// An engine over the built-in catalogues and catalogue-derived population
/// priors with `config`.
pub fn engine_with(config: EngineConfig) -> anyhow::Result<Engine> {
    engine_with_model(config, None)
}

/// [`engine_with`], with a trained population model when given.
pub fn engine_with_model(
    config: EngineConfig,
    population: Option<&PopulationModel>,
) -> anyhow::Result<Engine> {
    let builtin = Engine::with_defaults();
    Ok(Engine::new(
        config,
        builtin.processes().clone(),
        builtin.interventions().clone(),
        population.unwrap_or(builtin.population()).clone(),
    )?)
}

/// The population model of the artifact at `path` (a file or a model directory).
pub fn load_model(path: &Path) -> anyhow::Result<PopulationModel> {
    let builtin = Engine::with_defaults();
    Ok(tutti_server::model::load_initial(path, builtin.processes())?.population)
}

/// A rayon pool with `threads` workers (all cores by default).
pub fn thread_pool(threads: Option<usize>) -> anyhow::Result<rayon::ThreadPool> {
    let n = match threads {
        Some(0) => bail!("--threads must be at least 1"),
        Some(n) => n,
        None => std::thread::available_parallelism().map_or(1, usize::from),
    };
    rayon::ThreadPoolBuilder::new()
        .num_threads(n)
        .thread_name(|i| format!("tutti-sim-{i}"))
        .build()
        .context("starting the worker threads")
}

/// People per unit of parallel work. Fixed (not derived from the thread
/// count) so that results are identical whatever `--threads` is.
pub const CHUNK: u64 = 50;

/// Splits `people` into the fixed chunks of [`CHUNK`] worked on in parallel
/// (counted from the range's start, so a range's chunks do not depend on
/// what ran before it).
pub fn chunks(people: Range<u64>) -> Vec<Range<u64>> {
    let mut out = Vec::new();
    let mut start = people.start;
    while start < people.end {
        let end = (start + CHUNK).min(people.end);
        out.push(start..end);
        start = end;
    }
    out
}

/// A tenant's engine with `config`: the built-in catalogues plus the
/// tenant's own interventions as stored.
pub fn tenant_engine(config: EngineConfig, own: &[StoredIntervention]) -> anyhow::Result<Engine> {
    let base = engine_with(config.clone())?;
    if own.is_empty() {
        return Ok(base);
    }
    let own = own
        .iter()
        .map(offline::decode_intervention)
        .collect::<Result<Vec<_>, _>>()?;
    let catalog = base.interventions().with_additions(own, base.processes())?;
    Ok(Engine::new(
        config,
        base.processes().clone(),
        catalog,
        base.population().clone(),
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_cover_everyone_once_in_order() {
        let c = chunks(0..2 * CHUNK + 3);
        assert_eq!(c.len(), 3);
        assert_eq!(c[0], 0..CHUNK);
        assert_eq!(c[2], 2 * CHUNK..2 * CHUNK + 3);
        assert!(chunks(0..0).is_empty());
        assert_eq!(
            chunks(7..7 + CHUNK + 1),
            vec![7..7 + CHUNK, 7 + CHUNK..8 + CHUNK]
        );
    }
}
