//! Trained model artifacts: the file `tutti train` writes and `tutti serve`
//! loads, and the watcher that swaps a new one in without a restart.
//!
//! An artifact is one JSON file, `<version>.json`, holding a
//! [`tutti_engine::population::PopulationModel`] plus what made it (format tag,
//! creation time, source, training report). `[model] path` names either such
//! a file or a directory of them; in a directory the greatest file name wins,
//! and `tutti train` names versions `trained-<UTC time>-<digest>`, so the
//! newest training run is served (the model directory works like a model
//! registry: publish by copying a file in, roll back by removing it).
//!
//! # Reloading
//! The server re-resolves the path every `[model] poll_seconds` and on
//! SIGHUP; when the chosen file or its modification time changed it loads,
//! validates and swaps it in ([`crate::engines::Engines::reload`]): requests
//! already running finish on the old model, new ones get the new one, and
//! every decision logs the version that made it. A file that does not load
//! (half-copied, wrong processes) is logged and skipped; the server keeps the
//! model it has. At start-up, by contrast, a bad artifact stops the server:
//! an operator who configured a model wants to know it is not being used.
//!
//! Writes are atomic (temporary file, fsync, rename), so a watcher never sees
//! half an artifact written by `tutti train`.

use crate::engines::Engines;
use anyhow::{Context as _, bail};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tutti_engine::catalog::ProcessCatalog;
use tutti_engine::population::PopulationModel;
use tutti_engine::train::TrainReport;

/// Format tag of the artifacts this build reads and writes.
pub const FORMAT: &str = "tutti-model/1";

/// A trained model as stored on disk.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelArtifact {
    /// Always [`FORMAT`].
    pub format: String,
    /// The model version (also `population.version`).
    pub version: String,
    /// When it was trained (RFC 3339, UTC).
    pub created_at: String,
    /// What it was trained on (tool arguments, counts), free-form.
    pub source: serde_json::Value,
    /// What the training run did.
    pub report: TrainReport,
    /// The model the engine uses.
    pub population: PopulationModel,
}

impl ModelArtifact {
    /// Checks the format, the version and that the model fits `processes`.
    pub fn validate(&self, processes: &ProcessCatalog) -> anyhow::Result<()> {
        if self.format != FORMAT {
            bail!(
                "artifact format `{}` is not `{FORMAT}` (trained by another Tutti version?)",
                self.format
            );
        }
        if self.version != self.population.version || !valid_version(&self.version) {
            bail!(
                "artifact version `{}` must equal the model's version `{}` and be 1-100 of [A-Za-z0-9._-]",
                self.version,
                self.population.version
            );
        }
        self.population.validate(processes)?;
        Ok(())
    }

    /// Writes `<dir>/<version>.json` atomically; returns its path.
    pub fn write(&self, dir: &Path) -> anyhow::Result<PathBuf> {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let path = dir.join(format!("{}.json", self.version));
        let mut tmp = tempfile::NamedTempFile::new_in(dir)
            .with_context(|| format!("creating a temporary file in {}", dir.display()))?;
        serde_json::to_writer_pretty(&mut tmp, self).context("serialising the artifact")?;
        tmp.as_file().sync_all().context("syncing the artifact")?;
        tmp.persist(&path)
            .with_context(|| format!("renaming into {}", path.display()))?;
        Ok(path)
    }

    /// Reads and validates one artifact file.
    pub fn read(path: &Path, processes: &ProcessCatalog) -> anyhow::Result<Self> {
        let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        let artifact: ModelArtifact = serde_json::from_slice(&bytes)
            .with_context(|| format!("parsing {}", path.display()))?;
        artifact
            .validate(processes)
            .with_context(|| format!("in {}", path.display()))?;
        Ok(artifact)
    }
}

/// Whether `v` is usable as a version and a file name.
pub fn valid_version(v: &str) -> bool {
    (1..=100).contains(&v.len())
        && !v.starts_with('.')
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// The artifact file `path` stands for: itself if a file, else the `*.json`
/// in it with the greatest name. `None` for an empty directory.
pub fn resolve(path: &Path) -> anyhow::Result<Option<PathBuf>> {
    let meta = std::fs::metadata(path).with_context(|| format!("model path {}", path.display()))?;
    if meta.is_file() {
        return Ok(Some(path.to_owned()));
    }
    let mut best: Option<PathBuf> = None;
    for entry in std::fs::read_dir(path).with_context(|| format!("listing {}", path.display()))? {
        let p = entry?.path();
        let is_artifact = p.extension().is_some_and(|e| e == "json")
            && p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| !n.starts_with('.'));
        if is_artifact && best.as_ref().is_none_or(|b| p.file_name() > b.file_name()) {
            best = Some(p);
        }
    }
    Ok(best)
}

/// What was loaded last, to notice a change.
#[derive(Debug, Clone, PartialEq)]
struct Loaded {
    file: PathBuf,
    modified: Option<SystemTime>,
}

fn stamp(file: &Path) -> Loaded {
    Loaded {
        file: file.to_owned(),
        modified: std::fs::metadata(file).and_then(|m| m.modified()).ok(),
    }
}

/// Loads the model at `path` at start-up (an error stops the server).
pub fn load_initial(path: &Path, processes: &ProcessCatalog) -> anyhow::Result<ModelArtifact> {
    let file = resolve(path)?
        .with_context(|| format!("model directory {} has no *.json artifact", path.display()))?;
    ModelArtifact::read(&file, processes)
}

/// Watches `path` and swaps new artifacts into `engines` until the returned
/// task is aborted. `poll` of zero turns polling off (SIGHUP still works).
pub fn spawn_watcher(
    path: PathBuf,
    poll: Duration,
    engines: Arc<Engines>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut last = resolve(&path).ok().flatten().map(|f| stamp(&f));
        let mut hangup = hangup_stream();
        loop {
            let forced = tokio::select! {
                () = sleep_or_forever(poll) => false,
                () = next_hangup(&mut hangup) => true,
            };
            let file = match resolve(&path) {
                Ok(Some(f)) => f,
                Ok(None) => continue,
                Err(e) => {
                    tracing::warn!(error = %format!("{e:#}"), "model path unreadable; keeping the current model");
                    continue;
                }
            };
            let now = stamp(&file);
            if !forced && last.as_ref() == Some(&now) {
                continue;
            }
            let processes = engines.base().processes().clone();
            let read = {
                let file = file.clone();
                tokio::task::spawn_blocking(move || ModelArtifact::read(&file, &processes)).await
            };
            match read {
                Ok(Ok(artifact)) => match engines.reload(artifact.population).await {
                    Ok(version) => {
                        tracing::info!(file = %file.display(), model_version = %version, "model reloaded");
                    }
                    Err(e) => {
                        tracing::error!(error = %e, file = %file.display(), "model rejected; keeping the current model")
                    }
                },
                Ok(Err(e)) => {
                    tracing::error!(error = %format!("{e:#}"), "model artifact does not load; keeping the current model")
                }
                Err(e) => tracing::error!(error = %e, "model loading task failed"),
            }
            // A bad file is not retried until it changes.
            last = Some(now);
        }
    })
}

async fn sleep_or_forever(poll: Duration) {
    if poll.is_zero() {
        std::future::pending::<()>().await;
    } else {
        tokio::time::sleep(poll).await;
    }
}

#[cfg(unix)]
type Hangup = Option<tokio::signal::unix::Signal>;
#[cfg(not(unix))]
type Hangup = ();

#[cfg(unix)]
fn hangup_stream() -> Hangup {
    use tokio::signal::unix::{SignalKind, signal};
    signal(SignalKind::hangup())
        .inspect_err(
            |e| tracing::warn!(error = %e, "no SIGHUP handler; model reloads by polling only"),
        )
        .ok()
}

#[cfg(not(unix))]
fn hangup_stream() -> Hangup {}

#[cfg(unix)]
async fn next_hangup(h: &mut Hangup) {
    match h {
        Some(s) => {
            if s.recv().await.is_none() {
                std::future::pending::<()>().await;
            }
        }
        None => std::future::pending::<()>().await,
    }
}

#[cfg(not(unix))]
async fn next_hangup(_: &mut Hangup) {
    std::future::pending::<()>().await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use tutti_engine::Engine;

    fn artifact(version: &str) -> ModelArtifact {
        let e = Engine::with_defaults();
        let mut population = e.population().clone();
        population.version = version.to_owned();
        ModelArtifact {
            format: FORMAT.into(),
            version: version.into(),
            created_at: "2026-11-26T00:00:00Z".into(),
            source: serde_json::json!({"kind": "test"}),
            report: tutti_engine::train::train(
                version,
                &Default::default(),
                e.interventions(),
                e.processes(),
            )
            .expect("trains on nothing")
            .1,
            population,
        }
    }

    #[test]
    fn artifacts_round_trip_and_the_greatest_name_in_a_directory_wins() {
        let dir = tempfile::tempdir().expect("dir");
        let processes = ProcessCatalog::builtin();
        assert_eq!(resolve(dir.path()).expect("lists"), None);
        let a = artifact("trained-20260101T000000Z-aaaa");
        let b = artifact("trained-20260201T000000Z-bbbb");
        a.write(dir.path()).expect("writes");
        let pb = b.write(dir.path()).expect("writes");
        std::fs::write(dir.path().join("notes.txt"), "not an artifact").expect("writes");
        assert_eq!(resolve(dir.path()).expect("lists"), Some(pb.clone()));
        assert_eq!(ModelArtifact::read(&pb, &processes).expect("reads"), b);
        assert_eq!(
            load_initial(dir.path(), &processes).expect("loads").version,
            b.version
        );
    }

    #[test]
    fn a_bad_artifact_is_rejected_with_the_reason() {
        let dir = tempfile::tempdir().expect("dir");
        let processes = ProcessCatalog::builtin();
        let mut wrong = artifact("v1");
        wrong.population.version = "v2".into();
        let p = wrong.write(dir.path()).expect("writes");
        let err = format!(
            "{:#}",
            ModelArtifact::read(&p, &processes).expect_err("rejected")
        );
        assert!(err.contains("must equal the model's version"), "{err}");
        let mut short = artifact("v3");
        short.population.network.pop();
        let p = short.write(dir.path()).expect("writes");
        let err = format!(
            "{:#}",
            ModelArtifact::read(&p, &processes).expect_err("rejected")
        );
        assert!(err.contains("do not fit"), "{err}");
        std::fs::write(dir.path().join("v9.json"), "{\"format\":").expect("writes");
        assert!(load_initial(dir.path(), &processes).is_err());
        assert!(!valid_version("../etc") && !valid_version("") && valid_version("trained-1.2_x"));
    }
}
