//! [`TestServer`]: one real Tutti server on a loopback port chosen by the OS,
//! over a SQLite file in its own temporary directory.
//!
//! Readiness is the gRPC health check (polled with a bounded backoff), never a
//! fixed sleep; the server is stopped through the shutdown future `serve` takes.

use anyhow::{Context as _, anyhow, bail};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tempfile::TempDir;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tonic::metadata::AsciiMetadataValue;
use tonic::service::Interceptor;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Channel, ClientTlsConfig, Endpoint};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
use tutti_proto::v1::catalog_service_client::CatalogServiceClient;
use tutti_proto::v1::people_service_client::PeopleServiceClient;
use tutti_proto::v1::recommendation_service_client::RecommendationServiceClient;
use tutti_server::config::{Config, TenantConfig, TenantMode};
use tutti_server::serve::ServeError;

/// The metadata key that names the tenant of a request.
pub const TENANT_HEADER: &str = "x-tutti-tenant";

/// How long a server may take to report SERVING before the test fails.
const READY_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a server may take to drain and stop after shutdown is signalled.
const STOP_TIMEOUT: Duration = Duration::from_secs(30);
/// Upper bound for one RPC, so a hung server fails a test instead of hanging it.
const RPC_TIMEOUT: Duration = Duration::from_secs(120);

/// Metadata added to every request of a client: the tenant header, and an
/// `authorization` header when a test runs with API keys.
#[derive(Debug, Clone, Default)]
pub struct Headers(Vec<(&'static str, AsciiMetadataValue)>);

impl Headers {
    /// No metadata: the default tenant, no credentials.
    pub fn none() -> Self {
        Self::default()
    }

    /// Sends `tenant` as `x-tutti-tenant`.
    pub fn tenant(tenant: &str) -> Self {
        Self::none().with(TENANT_HEADER, tenant)
    }

    /// Sends `authorization: Bearer <key>`.
    pub fn bearer(key: &str) -> Self {
        Self::none().with("authorization", &format!("Bearer {key}"))
    }

    /// Adds one metadata entry.
    pub fn with(mut self, key: &'static str, value: &str) -> Self {
        let value = value
            .parse()
            .unwrap_or_else(|e| panic!("`{value}` is not valid ASCII metadata: {e}"));
        self.0.push((key, value));
        self
    }
}

impl Interceptor for Headers {
    fn call(
        &mut self,
        mut request: tonic::Request<()>,
    ) -> Result<tonic::Request<()>, tonic::Status> {
        for (key, value) in &self.0 {
            request.metadata_mut().insert(*key, value.clone());
        }
        Ok(request)
    }
}

/// Channel with the tenant header added.
pub type TenantChannel = InterceptedService<Channel, Headers>;
/// `tutti.v1.CatalogService` client.
pub type CatalogClient = CatalogServiceClient<TenantChannel>;
/// `tutti.v1.PeopleService` client.
pub type PeopleClient = PeopleServiceClient<TenantChannel>;
/// `tutti.v1.RecommendationService` client.
pub type RecommendationClient = RecommendationServiceClient<TenantChannel>;

/// A running server task and the means to stop it.
struct Running {
    addr: SocketAddr,
    channel: Channel,
    shutdown: Option<oneshot::Sender<()>>,
    task: JoinHandle<Result<(), ServeError>>,
}

/// A real Tutti server on `127.0.0.1:0` over its own SQLite file.
///
/// Dropping it signals shutdown and aborts the task; call [`TestServer::stop`]
/// to also check that the server stopped cleanly.
pub struct TestServer {
    // Declared before `dir` so the server is stopped before its files are removed.
    running: Option<Running>,
    config: Config,
    /// How clients reach a server that speaks TLS.
    client_tls: Option<ClientTlsConfig>,
    dir: TempDir,
}

impl TestServer {
    /// Starts a server with the default configuration over a fresh data file.
    pub async fn start() -> anyhow::Result<Self> {
        Self::start_with(|_| {}).await
    }

    /// Starts a server over a fresh data file after `adjust` changed the default configuration.
    pub async fn start_with(adjust: impl FnOnce(&mut Config)) -> anyhow::Result<Self> {
        let dir = Self::temp_dir()?;
        Self::start_in(dir, None, |c, _| adjust(c)).await
    }

    /// A fresh temporary directory for a server's files (data, certificates).
    pub fn temp_dir() -> anyhow::Result<TempDir> {
        tempfile::Builder::new()
            .prefix("tutti-test-")
            .tempdir()
            .context("creating the test's temporary directory")
    }

    /// Starts a server whose files live in `dir` (the data file is
    /// `dir/tutti.db`); `adjust` gets the directory too, to put TLS files or
    /// key sets there. With `client_tls`, the harness and the clients it makes
    /// speak TLS with those settings (the server must be configured for TLS).
    pub async fn start_in(
        dir: TempDir,
        client_tls: Option<ClientTlsConfig>,
        adjust: impl FnOnce(&mut Config, &Path),
    ) -> anyhow::Result<Self> {
        let mut config = Config::default();
        config.storage.path = dir.path().join("tutti.db");
        adjust(&mut config, dir.path());
        let running = launch(&config, client_tls.as_ref()).await?;
        Ok(Self {
            running: Some(running),
            config,
            client_tls,
            dir,
        })
    }

    /// Starts a server over a fresh data file where each listed tenant runs in
    /// its mode (`[tenants.<id>] mode`); every other tenant is live.
    pub async fn start_with_modes(modes: &[(&str, TenantMode)]) -> anyhow::Result<Self> {
        Self::start_with(|config| {
            for (tenant, mode) in modes {
                config.tenants.insert(
                    (*tenant).to_owned(),
                    TenantConfig {
                        mode: *mode,
                        ..TenantConfig::default()
                    },
                );
            }
        })
        .await
    }

    /// As [`TestServer::restart`], with the configuration changed by `adjust`
    /// first (e.g. a tenant switched from shadow to live mode).
    pub async fn restart_with(&mut self, adjust: impl FnOnce(&mut Config)) -> anyhow::Result<()> {
        self.stop_running().await?;
        adjust(&mut self.config);
        self.running = Some(launch(&self.config, self.client_tls.as_ref()).await?);
        Ok(())
    }

    /// Stops the server cleanly (shutdown future, then drain) and starts a new one
    /// on a new port over the same data file. Clients made before must be made anew.
    pub async fn restart(&mut self) -> anyhow::Result<()> {
        self.stop_running().await?; // no-op if already shut down
        self.running = Some(launch(&self.config, self.client_tls.as_ref()).await?);
        Ok(())
    }

    /// Stops the server abruptly — the task is aborted without the shutdown
    /// future, so nothing gets a chance to flush — then starts a new one over the
    /// same data file. What was acknowledged before must still be there.
    pub async fn abort_and_restart(&mut self) -> anyhow::Result<()> {
        if let Some(mut running) = self.running.take() {
            running.task.abort();
            // Wait until the aborted task is gone so its resources are dropped.
            let _ = tokio::time::timeout(STOP_TIMEOUT, &mut running.task).await;
            drop(running.shutdown.take());
        }
        self.running = Some(launch(&self.config, self.client_tls.as_ref()).await?);
        Ok(())
    }

    /// Signals shutdown and waits until `serve` returned `Ok`.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        self.stop_running().await
    }

    /// Like [`TestServer::stop`] but keeps the data directory for inspection;
    /// [`TestServer::restart`] can start the server again afterwards.
    pub async fn shutdown(&mut self) -> anyhow::Result<()> {
        self.stop_running().await
    }

    async fn stop_running(&mut self) -> anyhow::Result<()> {
        let Some(mut running) = self.running.take() else {
            return Ok(());
        };
        if let Some(tx) = running.shutdown.take() {
            // The server may already have exited; that is reported by the join below.
            let _ = tx.send(());
        }
        drop(running.channel);
        match tokio::time::timeout(STOP_TIMEOUT, &mut running.task).await {
            Err(_) => {
                running.task.abort();
                bail!("server did not stop within {STOP_TIMEOUT:?} after shutdown was signalled")
            }
            Ok(Err(join)) => bail!("server task failed: {join}"),
            Ok(Ok(Err(serve))) => bail!("serve returned an error: {serve}"),
            Ok(Ok(Ok(()))) => Ok(()),
        }
    }

    fn running(&self) -> &Running {
        self.running
            .as_ref()
            .expect("the server is running (not stopped)")
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.running().addr
    }

    /// A channel to the server (cheap to clone).
    pub fn channel(&self) -> Channel {
        self.running().channel.clone()
    }

    /// `http://127.0.0.1:<port>`: the base URL of the HTTP routes (CDS Hooks,
    /// FHIR, the clinician app), served on the gRPC port.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr())
    }

    /// The SQLite data file.
    pub fn data_path(&self) -> &Path {
        &self.config.storage.path
    }

    /// A new connection with other TLS settings than the harness's (another
    /// CA, another client certificate, none), or the error it ends in.
    pub async fn connect_tls(
        &self,
        tls: ClientTlsConfig,
    ) -> Result<Channel, tonic::transport::Error> {
        Endpoint::from_shared(format!("https://{}", self.addr()))?
            .tls_config(tls)?
            .connect_timeout(Duration::from_secs(10))
            .timeout(RPC_TIMEOUT)
            .connect()
            .await
    }

    /// The temporary directory holding the data file.
    pub fn dir(&self) -> PathBuf {
        self.dir.path().to_path_buf()
    }

    /// The configuration the server runs with.
    pub fn config(&self) -> &Config {
        &self.config
    }

    fn intercepted(&self, headers: Headers) -> TenantChannel {
        InterceptedService::new(self.channel(), headers)
    }

    /// Catalog client that sends `headers` with every request.
    pub fn catalog_with(&self, headers: Headers) -> CatalogClient {
        CatalogServiceClient::new(self.intercepted(headers))
    }
    /// People client that sends `headers` with every request.
    pub fn people_with(&self, headers: Headers) -> PeopleClient {
        PeopleServiceClient::new(self.intercepted(headers))
    }
    /// Recommendation client that sends `headers` with every request.
    pub fn recommendations_with(&self, headers: Headers) -> RecommendationClient {
        RecommendationServiceClient::new(self.intercepted(headers))
    }
    /// Catalog client for the default tenant (no tenant header).
    pub fn catalog(&self) -> CatalogClient {
        self.catalog_with(Headers::none())
    }
    /// People client for the default tenant (no tenant header).
    pub fn people(&self) -> PeopleClient {
        self.people_with(Headers::none())
    }
    /// Recommendation client for the default tenant (no tenant header).
    pub fn recommendations(&self) -> RecommendationClient {
        self.recommendations_with(Headers::none())
    }
    /// Catalog client that sends `x-tutti-tenant: tenant`.
    pub fn catalog_as(&self, tenant: &str) -> CatalogClient {
        self.catalog_with(Headers::tenant(tenant))
    }
    /// People client that sends `x-tutti-tenant: tenant`.
    pub fn people_as(&self, tenant: &str) -> PeopleClient {
        self.people_with(Headers::tenant(tenant))
    }
    /// Recommendation client that sends `x-tutti-tenant: tenant`.
    pub fn recommendations_as(&self, tenant: &str) -> RecommendationClient {
        self.recommendations_with(Headers::tenant(tenant))
    }
    /// `grpc.health.v1.Health` client.
    pub fn health(&self) -> HealthClient<Channel> {
        HealthClient::new(self.channel())
    }
    /// `grpc.reflection.v1.ServerReflection` client.
    pub fn reflection(&self) -> ServerReflectionClient<Channel> {
        ServerReflectionClient::new(self.channel())
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(mut running) = self.running.take() {
            if let Some(tx) = running.shutdown.take() {
                let _ = tx.send(());
            }
            // Drop cannot wait; aborting makes sure the task does not outlive the test.
            running.task.abort();
        }
    }
}

/// Binds `127.0.0.1:0`, spawns `serve` and waits until the health check says SERVING.
async fn launch(config: &Config, tls: Option<&ClientTlsConfig>) -> anyhow::Result<Running> {
    let listener = TcpListener::bind(("127.0.0.1", 0))
        .await
        .context("binding 127.0.0.1:0")?;
    let addr = listener.local_addr().context("reading the bound address")?;
    let mut config = config.clone();
    config.listen = addr;
    // The EHR's JWTs are signed for the service's public URL, which a test only
    // knows once the port is bound: `{addr}` in it stands for that address.
    if let Some(url) = config.ehr.public_url.as_mut() {
        *url = url.replace("{addr}", &addr.to_string());
    }
    let (tx, rx) = oneshot::channel::<()>();
    let shutdown = async move {
        // A dropped sender also means "stop".
        let _ = rx.await;
    };
    let task = tokio::spawn(tutti_server::serve(listener, config, shutdown));
    let mut running = Running {
        addr,
        channel: endpoint(addr, tls)?.connect_lazy(),
        shutdown: Some(tx),
        task,
    };
    match wait_until_serving(&mut running, tls).await {
        Ok(channel) => {
            running.channel = channel;
            Ok(running)
        }
        Err(e) => {
            if let Some(tx) = running.shutdown.take() {
                let _ = tx.send(());
            }
            running.task.abort();
            Err(e)
        }
    }
}

/// The endpoint of a server at `addr`: `http://`, or `https://` with `tls`.
fn endpoint(addr: SocketAddr, tls: Option<&ClientTlsConfig>) -> anyhow::Result<Endpoint> {
    match tls {
        None => Endpoint::from_shared(format!("http://{addr}")).context("endpoint"),
        Some(tls) => Endpoint::from_shared(format!("https://{addr}"))
            .context("endpoint")?
            .tls_config(tls.clone())
            .context("client TLS settings"),
    }
}

/// Polls `grpc.health.v1.Health/Check` with a bounded exponential backoff until
/// the server reports SERVING, failing early if the server task exits.
async fn wait_until_serving(
    running: &mut Running,
    tls: Option<&ClientTlsConfig>,
) -> anyhow::Result<Channel> {
    let endpoint = endpoint(running.addr, tls)?
        .connect_timeout(Duration::from_secs(5))
        .timeout(RPC_TIMEOUT);
    let deadline = Instant::now() + READY_TIMEOUT;
    let mut backoff = Duration::from_millis(5);
    loop {
        if running.task.is_finished() {
            let outcome = match (&mut running.task).await {
                Ok(Ok(())) => "returned Ok before it was ready".to_owned(),
                Ok(Err(e)) => format!("returned an error: {e}"),
                Err(e) => format!("failed: {e}"),
            };
            return Err(anyhow!("server task exited during start-up: {outcome}"));
        }
        let last = match endpoint.connect().await {
            Ok(channel) => {
                let mut health = HealthClient::new(channel.clone());
                match health
                    .check(HealthCheckRequest {
                        service: String::new(),
                    })
                    .await
                {
                    Ok(resp) if resp.get_ref().status == ServingStatus::Serving as i32 => {
                        return Ok(channel);
                    }
                    Ok(resp) => format!("health status {}", resp.get_ref().status),
                    Err(status) => format!("health check failed: {status}"),
                }
            }
            Err(e) => format!("connect failed: {e}"),
        };
        if Instant::now() >= deadline {
            bail!(
                "server at {} not SERVING after {READY_TIMEOUT:?}: {last}",
                running.addr
            );
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_millis(250));
    }
}
