//! The real `tutti` binary as a child process, for the tests that need a
//! process rather than a task: SIGTERM, kill -9, refusals at start-up, a disk
//! that fills up. The server listens on `127.0.0.1:0`; its address is read
//! from its JSON start-up log line, and readiness is the gRPC health check.

use anyhow::{Context as _, bail};
use std::io::{BufRead as _, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;
use tonic::metadata::AsciiMetadataValue;
use tonic::service::Interceptor;
use tonic::transport::{Channel, ClientTlsConfig, Endpoint};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

/// The throwaway PostgreSQL cluster of the integration tests
/// (`tests/src/postgres.rs`, standard library only), included as a module
/// because the `tutti-tests` crate depends on this one.
// Written for `tutti-tests`, whose library exports it (hence `pub`) and uses all of
// it; these tests use part.
#[allow(dead_code, unreachable_pub)]
#[path = "../../../../../tests/src/postgres.rs"]
pub(crate) mod postgres;

/// The throwaway certificate authorities of the TLS tests
/// (`tests/src/pki.rs`, rcgen), included for the same reason.
#[allow(dead_code, unreachable_pub)]
#[path = "../../../../../tests/src/pki.rs"]
pub(crate) mod pki;

/// JWTs signed with the test keys of `tests/fixtures/ehr/`
/// (`tests/src/jwt.rs`), included for the same reason.
#[allow(dead_code, unreachable_pub)]
#[path = "../../../../../tests/src/jwt.rs"]
pub(crate) mod jwt;

/// A SQLite database's files read raw (`tests/src/db_files.rs`), included
/// for the same reason.
#[allow(dead_code, unreachable_pub)]
#[path = "../../../../../tests/src/db_files.rs"]
pub(crate) mod db_files;

/// Calls with raw request bodies (`tests/src/raw.rs`), included for the same reason.
#[allow(dead_code, unreachable_pub)]
#[path = "../../../../../tests/src/raw.rs"]
pub(crate) mod raw;

/// The binary under test, built by cargo for this test target.
pub(crate) const TUTTI: &str = env!("CARGO_BIN_EXE_tutti");

/// How long a start-up may take before the test fails.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// A running `tutti serve`.
pub(crate) struct Server {
    child: Child,
    /// Where it listens.
    pub(crate) addr: SocketAddr,
    log: Arc<Mutex<Vec<String>>>,
    /// How clients reach it over TLS; `None`: plaintext.
    tls: Option<ClientTlsConfig>,
}

/// The command line of `tutti serve` over `data`, listening on 127.0.0.1:0,
/// logging JSON; `extra` arguments are appended.
pub(crate) fn serve_command(data: &Path, extra: &[&str]) -> Command {
    let mut cmd = Command::new(TUTTI);
    cmd.args([
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--log-format",
        "json",
        "--data",
    ])
    .arg(data)
    .args(extra);
    isolate(&mut cmd);
    cmd
}

/// [`serve_command`] on the PostgreSQL database at `url` (`storage.url`).
pub(crate) fn serve_postgres_command(url: &str, extra: &[&str]) -> Command {
    // The data path is required by the flag but unused with a URL.
    let mut cmd = serve_command(Path::new("unused.db"), extra);
    cmd.env("TUTTI_STORAGE__URL", url);
    cmd
}

/// Clears `TUTTI_*` variables a developer may have set: they are configuration.
pub(crate) fn isolate(cmd: &mut Command) {
    for (k, _) in std::env::vars() {
        if k.starts_with("TUTTI_") {
            cmd.env_remove(k);
        }
    }
}

impl Server {
    /// Spawns `cmd` (a `tutti serve` command line) and waits until it reports SERVING.
    pub(crate) async fn spawn(cmd: Command) -> anyhow::Result<Self> {
        Self::spawn_with(cmd, None).await
    }

    /// [`Server::spawn`] for a server that speaks TLS only: its channels
    /// (the readiness check's too) use `tls`.
    pub(crate) async fn spawn_tls(cmd: Command, tls: ClientTlsConfig) -> anyhow::Result<Self> {
        Self::spawn_with(cmd, Some(tls)).await
    }

    async fn spawn_with(mut cmd: Command, tls: Option<ClientTlsConfig>) -> anyhow::Result<Self> {
        cmd.stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().context("spawning tutti serve")?;
        let stderr = child.stderr.take().context("stderr")?;
        let log = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = mpsc::channel::<SocketAddr>();
        {
            let log = Arc::clone(&log);
            std::thread::spawn(move || {
                for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                    if let Ok(v) = serde_json::from_str::<serde_json::Value>(&line)
                        && v["message"] == "tutti serving"
                        && let Some(addr) = v["addr"].as_str().and_then(|a| a.parse().ok())
                    {
                        let _ = tx.send(addr);
                    }
                    log.lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .push(line);
                }
            });
        }
        let addr = tokio::task::spawn_blocking(move || rx.recv_timeout(START_TIMEOUT))
            .await?
            .ok();
        let Some(addr) = addr else {
            let _ = child.kill();
            let _ = child.wait();
            let lines = log
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .join("\n");
            bail!("tutti serve did not report its address:\n{lines}");
        };
        let server = Self {
            child,
            addr,
            log,
            tls,
        };
        server.wait_serving().await?;
        Ok(server)
    }

    /// A channel to the server.
    pub(crate) fn channel(&self) -> Channel {
        Self::channel_over(self.addr.port(), self.tls.clone())
    }

    /// A TLS channel to a server on loopback `port`, with `tls` (e.g. trusting
    /// another CA than [`Server::channel`]'s).
    pub(crate) fn channel_to(port: u16, tls: ClientTlsConfig) -> Channel {
        Self::channel_over(port, Some(tls))
    }

    fn channel_over(port: u16, tls: Option<ClientTlsConfig>) -> Channel {
        // A server bound to every address is reached over loopback only.
        let target = SocketAddr::from(([127, 0, 0, 1], port));
        let scheme = if tls.is_some() { "https" } else { "http" };
        let mut endpoint = Endpoint::from_shared(format!("{scheme}://{target}"))
            .expect("endpoint")
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(60));
        if let Some(tls) = tls {
            endpoint = endpoint.tls_config(tls).expect("client TLS");
        }
        endpoint.connect_lazy()
    }

    /// The health status of the whole server (`""`), or the error.
    pub(crate) async fn health(&self) -> Result<i32, tonic::Status> {
        HealthClient::new(self.channel())
            .check(HealthCheckRequest {
                service: String::new(),
            })
            .await
            .map(|r| r.into_inner().status)
    }

    async fn wait_serving(&self) -> anyhow::Result<()> {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            match self.health().await {
                Ok(s)
                    if s == tonic_health::pb::health_check_response::ServingStatus::Serving
                        as i32 =>
                {
                    return Ok(());
                }
                other => {
                    if Instant::now() >= deadline {
                        bail!("not SERVING: {other:?}");
                    }
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The process id.
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends `signal` (e.g. `TERM`) with kill(1).
    pub(crate) fn signal(&self, signal: &str) -> anyhow::Result<()> {
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.pid().to_string())
            .status()
            .context("running kill")?;
        anyhow::ensure!(status.success(), "kill -{signal} failed: {status}");
        Ok(())
    }

    /// SIGKILL: the process gets no chance to flush anything.
    pub(crate) fn kill_9(mut self) -> anyhow::Result<()> {
        self.child.kill().context("kill -9")?;
        self.child.wait().context("reaping")?;
        Ok(())
    }

    /// Waits for the process to exit on its own (bounded).
    pub(crate) async fn wait_exit(
        mut self,
        within: Duration,
    ) -> anyhow::Result<(ExitStatus, String)> {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait()? {
                // Let the reader thread take the last lines.
                tokio::time::sleep(Duration::from_millis(100)).await;
                return Ok((status, self.log_text()));
            }
            if Instant::now() >= deadline {
                let _ = self.child.kill();
                bail!("did not exit within {within:?}:\n{}", self.log_text());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// SIGTERM, then a clean exit within a minute (the log in the failure if not).
    pub(crate) async fn stop_cleanly(self) {
        self.signal("TERM").expect("SIGTERM");
        let (status, log) = self
            .wait_exit(Duration::from_secs(60))
            .await
            .expect("exits");
        assert!(status.success(), "{log}");
    }

    /// Everything the server logged so far.
    pub(crate) fn log_text(&self) -> String {
        self.log
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .join("\n")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // A failed test must not leave a server behind.
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Runs `tutti audit verify --db <db>` and returns whether it passed, with its output.
pub(crate) fn audit_verify(db: &Path) -> anyhow::Result<(bool, String)> {
    audit_verify_with(db, &[])
}

/// [`audit_verify`] with `extra` arguments (e.g. `--expect TENANT:SEQ:HASH`).
pub(crate) fn audit_verify_with(db: &Path, extra: &[&str]) -> anyhow::Result<(bool, String)> {
    let mut cmd = Command::new(TUTTI);
    cmd.args(["audit", "verify", "--db"]).arg(db).args(extra);
    isolate(&mut cmd);
    let out = cmd.output().context("running tutti audit verify")?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Ok((out.status.success(), text))
}

/// A fresh temporary directory.
pub(crate) fn temp_dir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("tutti-proc-")
        .tempdir()
        .expect("temp dir")
}

/// `dir/tutti.db`.
pub(crate) fn db_path(dir: &Path) -> PathBuf {
    dir.join("tutti.db")
}

/// `contents` written as `dir/tutti.toml`, for `--config`.
pub(crate) fn write_config(dir: &Path, contents: &str) -> PathBuf {
    let path = dir.join("tutti.toml");
    std::fs::write(&path, contents).expect("config file");
    path
}

/// Metadata every call of a client carries (`authorization`,
/// `x-tutti-tenant`), as an interceptor:
/// `PeopleServiceClient::with_interceptor(server.channel(), Headers::bearer(t))`.
#[derive(Debug, Clone, Default)]
pub(crate) struct Headers(Vec<(&'static str, AsciiMetadataValue)>);

impl Headers {
    /// `authorization: Bearer <token>` (an API key or a JWT).
    pub(crate) fn bearer(token: &str) -> Self {
        Self::default().with("authorization", &format!("Bearer {token}"))
    }

    /// One more header.
    pub(crate) fn with(mut self, key: &'static str, value: &str) -> Self {
        self.0
            .push((key, value.parse().expect("an ASCII header value")));
        self
    }
}

impl Interceptor for Headers {
    fn call(&mut self, mut req: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
        for (k, v) in &self.0 {
            req.metadata_mut().insert(*k, v.clone());
        }
        Ok(req)
    }
}
