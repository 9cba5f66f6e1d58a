//! Runs the gRPC service on a listener the caller bound, until `shutdown`
//! completes. It never binds its own socket, so tests run it on port 0.
//!
//! One port serves gRPC (HTTP/2), gRPC-Web (HTTP/1.1, for browsers), the EHR
//! routes of [`crate::ehr`] (CDS Hooks, FHIR, the clinician app) and CORS for
//! the configured origins ([`crate::config::HttpConfig`]).
//!
//! Start-up order: validate the config (against the address actually bound:
//! plaintext or no authentication off loopback is refused), load the TLS
//! files and JWK Sets, open (and migrate) storage, load the trained model if
//! one is configured, build the engines, start the model, certificate and
//! idempotency-sweep tasks, load the EHRs' keys, then report SERVING on
//! `grpc.health.v1`.
//!
//! Shutdown: report NOT_SERVING at once, keep serving for
//! `shutdown.drain_seconds` (load balancers notice and stop sending), close
//! the listener and let in-flight calls finish for up to
//! `shutdown.grace_seconds`, then stop; finally flush the audit trail.
//!
//! Layers, outermost first ([`crate::middleware`]): CORS; the call id
//! (tower-http's request-id layers, `x-request-id`); the request span and
//! log (tower-http's trace layer with [`crate::telemetry`]'s span and log
//! line) and the call's trace id; the call-duration metric; `ErrorInfo` on
//! transport statuses ([`crate::error::with_error_info`]); the audit; the
//! caller's deadline; authentication and roles; load shedding.

use crate::audit::AuditSink;
use crate::auth::Authenticator;
use crate::config::{Config, ConfigError, HttpConfig};
use crate::ehr::{self, Ehr};
use crate::engines::Engines;
use crate::error::ServiceError;
use crate::grpc::catalog::CatalogApi;
use crate::grpc::people::PeopleApi;
use crate::grpc::recommendation::RecommendationApi;
use crate::metrics::Metrics;
use crate::middleware::around;
use crate::middleware::audit::Audited;
use crate::middleware::auth::Authenticate;
use crate::middleware::deadline::Deadline;
use crate::middleware::measure::Measure;
use crate::middleware::shed::Shed;
use crate::model;
use crate::overload::Limiter;
use crate::service::App;
use crate::storage::{Storage, StorageError};
use crate::telemetry::{self, NewCallId, REQUEST_ID_HEADER};
use crate::tls::TlsFiles;
use axum::response::IntoResponse as _;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tonic::server::NamedService;
use tonic::service::Routes;
use tonic::transport::Server;
use tonic::transport::server::TcpIncoming;
use tonic_health::ServingStatus;
use tonic_web::GrpcWebLayer;
use tower::Layer as _;
use tower::util::{MapRequestLayer, MapResponseLayer, option_layer};
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::request_id::{PropagateRequestIdLayer, SetRequestIdLayer};
use tutti_engine::catalog::ProcessCatalog;
use tutti_proto::v1::catalog_service_server::CatalogServiceServer;
use tutti_proto::v1::people_service_server::PeopleServiceServer;
use tutti_proto::v1::recommendation_service_server::RecommendationServiceServer;

/// Errors that stop the server from starting or running. Each forwards its
/// cause's message (`transparent`), so a printed cause chain says it once.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The configuration is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// Storage could not be opened or migrated.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// The engines could not be built.
    #[error(transparent)]
    Engine(#[from] ServiceError),
    /// Server reflection could not be set up.
    #[error(transparent)]
    Reflection(#[from] tonic_reflection::server::Error),
    /// The transport failed.
    #[error(transparent)]
    Transport(#[from] tonic::transport::Error),
    /// The configured model artifact does not load.
    #[error("model: {0}")]
    Model(String),
    /// The listener has no local address.
    #[error(transparent)]
    Listener(#[from] std::io::Error),
    /// The EHR integration cannot start (a JWKS file, the HTTP client).
    #[error("ehr: {0}")]
    Ehr(String),
    /// The TLS files do not load.
    #[error("{0}")]
    Tls(String),
    /// A bearer-token issuer's keys do not load.
    #[error(transparent)]
    Auth(#[from] crate::auth::AuthError),
    /// Metrics exporters cannot start.
    #[error("{0}")]
    Metrics(String),
}

/// The running server, whichever listener it accepts from.
type Serving = std::pin::Pin<Box<dyn Future<Output = Result<(), tonic::transport::Error>> + Send>>;

/// What an embedder (a test) may bring to [`serve_with`].
#[derive(Default)]
pub struct Extras {
    /// A meter provider to record metrics on instead of the configured
    /// exporters (e.g. with an in-memory exporter).
    pub meter_provider: Option<opentelemetry_sdk::metrics::SdkMeterProvider>,
}

/// Re-reads changed TLS files and JWK Sets every `every` (0: never) and on SIGHUP.
fn spawn_reloader(
    tls: Option<Arc<TlsFiles>>,
    auth: Authenticator,
    cds: Arc<ehr::jwt::CdsAuth>,
    every: Duration,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        #[cfg(unix)]
        let mut hangup =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
        let mut tick = (!every.is_zero()).then(|| {
            let mut t = tokio::time::interval(every);
            t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            t
        });
        loop {
            let poll = async {
                match tick.as_mut() {
                    Some(t) => {
                        t.tick().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            #[cfg(unix)]
            let sighup = async {
                match hangup.as_mut() {
                    Some(h) => {
                        h.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            #[cfg(not(unix))]
            let sighup = std::future::pending::<()>();
            let force = tokio::select! {
                () = poll => false,
                () = sighup => true,
            };
            // File reads and PEM/JWK parsing are blocking work.
            let (tls, auth, cds) = (tls.clone(), auth.clone(), Arc::clone(&cds));
            let _ = tokio::task::spawn_blocking(move || {
                if let Some(t) = &tls {
                    t.reload(force);
                }
                auth.reload(force);
                cds.reload(force);
            })
            .await;
        }
    })
}

/// Drops the engines of tenants whose catalogue another replica changed
/// (this process's own changes invalidate at once, in the handler).
fn spawn_catalog_poller(
    storage: Arc<dyn Storage>,
    engines: Arc<Engines>,
    every: Duration,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut seen: std::collections::HashMap<crate::convert::ids::TenantId, i64> =
            std::collections::HashMap::new();
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // The first poll only learns the stamps; after it, a tenant seen for
        // the first time got its first intervention elsewhere.
        let mut first = true;
        loop {
            tick.tick().await;
            match storage.catalog_stamps().await {
                Ok(stamps) => {
                    for (tenant, stamp) in stamps {
                        let before = seen.insert(tenant.clone(), stamp);
                        if !first && before != Some(stamp) {
                            tracing::info!(tenant = %tenant, "catalogue changed elsewhere; engine rebuilt on next use");
                            engines.invalidate(&tenant);
                        }
                    }
                    first = false;
                }
                Err(e) => tracing::warn!(error = %e, "catalogue poll failed"),
            }
        }
    })
}

/// `GET /metrics`: Prometheus text exposition.
fn metrics_router(metrics: Metrics) -> axum::Router {
    axum::Router::new().route(
        "/metrics",
        axum::routing::get(move || {
            let metrics = metrics.clone();
            async move {
                match metrics.prometheus_text() {
                    Some(text) => (
                        [(
                            http::header::CONTENT_TYPE,
                            "text/plain; version=0.0.4; charset=utf-8",
                        )],
                        text,
                    )
                        .into_response(),
                    None => http::StatusCode::NOT_FOUND.into_response(),
                }
            }
        }),
    )
}

/// CORS for browsers calling gRPC-Web, the REST routes and the app's API from
/// the configured origins. Credentials are bearer headers, never cookies.
fn cors(config: &HttpConfig) -> Option<CorsLayer> {
    if config.cors_origins.is_empty() {
        return None;
    }
    let origins = if config.cors_origins.iter().any(|o| o == "*") {
        AllowOrigin::any()
    } else {
        AllowOrigin::list(
            config
                .cors_origins
                .iter()
                .filter_map(|o| http::HeaderValue::from_str(o).ok()),
        )
    };
    let headers = [
        "content-type",
        "authorization",
        "x-tutti-tenant",
        "x-request-id",
        "x-grpc-web",
        "x-user-agent",
        "grpc-timeout",
        "connect-protocol-version",
        "connect-timeout-ms",
    ]
    .map(http::HeaderName::from_static);
    let exposed = [
        "grpc-status",
        "grpc-message",
        "grpc-status-details-bin",
        "x-request-id",
    ]
    .map(http::HeaderName::from_static);
    Some(
        CorsLayer::new()
            .allow_origin(origins)
            .allow_methods([http::Method::GET, http::Method::POST, http::Method::OPTIONS])
            .allow_headers(headers)
            .expose_headers(exposed)
            .max_age(Duration::from_secs(600)),
    )
}

/// Serves Tutti on `listener` until `shutdown` resolves, then drains in-flight requests.
pub async fn serve(
    listener: TcpListener,
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    serve_with(listener, config, shutdown, Extras::default()).await
}

/// [`serve()`] with what an embedder brings ([`Extras`]).
pub async fn serve_with(
    listener: TcpListener,
    mut config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
    extras: Extras,
) -> Result<(), ServeError> {
    let addr = listener.local_addr()?;
    // The address bound decides what is allowed (plaintext, no auth), not the
    // configured one: an embedder may bind elsewhere.
    config.listen = addr;
    config.validate()?;
    let tls = if config.tls.enabled() {
        let tls = config.tls.clone();
        let files = tokio::task::spawn_blocking(move || TlsFiles::load(&tls))
            .await
            .map_err(|e| ServiceError::Internal(format!("loading TLS files: {e}")))?
            .map_err(ServeError::Tls)?;
        Some(Arc::new(files))
    } else {
        None
    };
    let authenticator = Authenticator::new(&config.auth)?;
    let metrics = Metrics::new(&config, extras.meter_provider).map_err(ServeError::Metrics)?;
    let storage: Arc<dyn Storage> = crate::storage::open(&config.storage).await?;
    let population = match config.model.path.clone() {
        Some(path) => Some(
            tokio::task::spawn_blocking(move || {
                model::load_initial(&path, &ProcessCatalog::builtin())
            })
            .await
            .map_err(|e| ServiceError::Internal(format!("loading the model: {e}")))?
            .map_err(|e| ServeError::Model(format!("{e:#}")))?
            .population,
        ),
        None => None,
    };
    let engines = Arc::new(Engines::new(&config, Arc::clone(&storage), population).await?);
    let model_version = engines.base().model_version();
    let watcher = config.model.path.clone().map(|path| {
        model::spawn_watcher(
            path,
            Duration::from_secs(config.model.poll_seconds),
            Arc::clone(&engines),
        )
    });
    let cds_auth =
        Arc::new(ehr::jwt::CdsAuth::load(&config.ehr).map_err(|e| ServeError::Ehr(e.to_string()))?);
    let reloader = (tls.is_some() || !config.auth.jwt.is_empty() || !config.ehr.issuers.is_empty())
        .then(|| {
            spawn_reloader(
                tls.clone(),
                authenticator.clone(),
                Arc::clone(&cds_auth),
                Duration::from_secs(config.tls.reload_seconds),
            )
        });
    let catalog_poller = (config.storage.catalog_poll_seconds > 0).then(|| {
        spawn_catalog_poller(
            Arc::clone(&storage),
            Arc::clone(&engines),
            Duration::from_secs(config.storage.catalog_poll_seconds),
        )
    });
    let sweeper = crate::idempotency::spawn_sweeper(
        Arc::clone(&storage),
        Duration::from_secs(config.idempotency.ttl_seconds),
        Duration::from_secs(config.idempotency.sweep_seconds),
    );
    let app = Arc::new(App {
        storage: Arc::clone(&storage),
        engines,
        limits: config.limits.clone(),
        modes: config
            .tenants
            .iter()
            .map(|(tenant, t)| (tenant.clone(), t.mode))
            .collect(),
        metrics: metrics.clone(),
        queue: Default::default(),
    });
    let fhir_codes = Arc::new(ehr::fhir::CodeMap::new(&config.ehr.codes));
    let max = config.limits.max_message_bytes;
    let catalog = CatalogServiceServer::new(CatalogApi::new(Arc::clone(&app)))
        .max_decoding_message_size(max)
        .max_encoding_message_size(max);
    let people =
        PeopleServiceServer::new(PeopleApi::new(Arc::clone(&app), Arc::clone(&fhir_codes)))
            .max_decoding_message_size(max)
            .max_encoding_message_size(max);
    let recommendation = RecommendationServiceServer::new(RecommendationApi::new(Arc::clone(&app)))
        .max_decoding_message_size(max)
        .max_encoding_message_size(max);

    // google.rpc error details are registered too, so grpcurl can print the
    // BadRequest field violations of an INVALID_ARGUMENT without proto files.
    let reflection_v1 = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(tutti_proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_types::pb::FILE_DESCRIPTOR_SET)
        .build_v1()?;
    let reflection_v1alpha = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(tutti_proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_types::pb::FILE_DESCRIPTOR_SET)
        .build_v1alpha()?;

    let (health, health_service) = tonic_health::server::health_reporter();
    let services = [
        "",
        <CatalogServiceServer<CatalogApi> as NamedService>::NAME,
        <PeopleServiceServer<PeopleApi> as NamedService>::NAME,
        <RecommendationServiceServer<RecommendationApi> as NamedService>::NAME,
    ];
    for name in services {
        health
            .set_service_status(name, ServingStatus::Serving)
            .await;
    }

    let (audit, audit_task) = AuditSink::spawn(
        Arc::clone(&storage),
        Duration::from_secs(config.audit.summary_seconds),
    );
    let ehr_roots = match &config.ehr.tls_ca_path {
        Some(path) => std::fs::read(path)
            .map_err(|e| e.to_string())
            .and_then(|pem| ehr::fhir_client::roots_from_pem(&pem))
            .map_err(|e| ServeError::Ehr(format!("ehr.tls_ca_path {}: {e}", path.display())))?,
        None => Vec::new(),
    };
    let mut http_routes = ehr::router(Arc::new(Ehr {
        app: Arc::clone(&app),
        config: config.ehr.clone(),
        auth: cds_auth,
        keys: authenticator.clone(),
        launch: ehr::launch::Launcher::new(
            config.ehr.launch_key.clone(),
            config.ehr.launch_ttl_seconds,
            config.ehr.session_ttl_seconds,
        ),
        fhir: ehr::fhir_client::FhirClient::new(
            Duration::from_millis(config.ehr.fhir_timeout_ms),
            ehr_roots,
        )
        .map_err(|e| ServeError::Ehr(format!("http client: {e}")))?,
        id_token_keys: ehr::id_token::KeyCache::default(),
        audit: audit.clone(),
        fhir_codes,
    }));
    // Metrics on their own (admin) address when one is set, else beside the API.
    let metrics_server = match (config.metrics.prometheus, config.metrics.listen) {
        (false, _) => None,
        (true, None) => {
            http_routes = http_routes.merge(metrics_router(metrics.clone()));
            None
        }
        (true, Some(admin)) => {
            let admin = TcpListener::bind(admin).await?;
            let router = metrics_router(metrics.clone());
            Some(tokio::spawn(async move {
                if let Err(e) = axum::serve(admin, router).await {
                    tracing::error!(error = %e, "metrics listener failed");
                }
            }))
        }
    };
    let drain = Duration::from_secs(config.shutdown.drain_seconds);
    let grace = Duration::from_secs(config.shutdown.grace_seconds);
    let (closing_tx, closing_rx) = tokio::sync::oneshot::channel::<()>();
    let stopping = {
        let health = health.clone();
        async move {
            shutdown.await;
            // Health first, so load balancers stop routing here while calls
            // still succeed; only then close the listener.
            for name in services {
                health
                    .set_service_status(name, ServingStatus::NotServing)
                    .await;
            }
            tracing::info!(
                drain_seconds = drain.as_secs(),
                "shutting down: NOT_SERVING, draining"
            );
            tokio::time::sleep(drain).await;
            tracing::info!(
                grace_seconds = grace.as_secs(),
                "listener closed; finishing in-flight calls"
            );
            let _ = closing_tx.send(());
        }
    };

    tracing::info!(
        %addr,
        tls = tls.is_some(),
        mutual_tls = config.tls.client_ca_path.is_some(),
        data = %crate::storage::describe(&config.storage),
        auth = config.auth.enabled(),
        model_version = %model_version,
        "tutti serving"
    );
    let web = GrpcWebLayer::new();
    let limiter = Arc::new(Limiter::new(&config.limits));
    // HTTP/1.1 too: browsers (gRPC-Web, the app) and EHRs (CDS Hooks) use it.
    let call_id = http::HeaderName::from_static(REQUEST_ID_HEADER);
    let router = Server::builder()
        .accept_http1(true)
        .layer(option_layer(cors(&config.http)))
        // CORS answers preflights with empty bodies of the body type below
        // it; the trace layer's wraps tonic's, so it is boxed back.
        .layer(MapResponseLayer::new(|response: http::Response<_>| {
            response.map(tonic::body::Body::new)
        }))
        .layer(MapRequestLayer::new(
            telemetry::drop_malformed_call_id::<tonic::body::Body>,
        ))
        .layer(SetRequestIdLayer::new(call_id.clone(), NewCallId))
        .layer(PropagateRequestIdLayer::new(call_id))
        .layer(telemetry::trace_layer())
        .layer(MapRequestLayer::new(
            telemetry::with_trace_id::<tonic::body::Body>,
        ))
        .layer(around(Measure(metrics.clone())))
        .layer(MapResponseLayer::new(
            crate::error::with_error_info::<tonic::body::Body>,
        ))
        .layer(around(Audited(audit)))
        .layer(around(Deadline))
        .layer(around(Authenticate(authenticator)))
        .layer(around(Shed {
            limiter,
            metrics: metrics.clone(),
        }))
        .add_routes(Routes::from(http_routes))
        // gRPC-Web per service: the layer refuses plain HTTP/1.1, which the
        // EHR routes beside these services need.
        .add_service(web.layer(health_service))
        .add_service(web.layer(reflection_v1))
        .add_service(web.layer(reflection_v1alpha))
        .add_service(web.layer(catalog))
        .add_service(web.layer(people))
        .add_service(web.layer(recommendation));
    let (serving, acceptor): (Serving, Option<tokio::task::JoinHandle<()>>) = match &tls {
        Some(files) => {
            let (incoming, task) = crate::tls::incoming(listener, Arc::clone(files));
            (
                Box::pin(router.serve_with_incoming_shutdown(incoming, stopping)),
                Some(task),
            )
        }
        None => (
            Box::pin(router.serve_with_incoming_shutdown(
                TcpIncoming::from(listener).with_nodelay(Some(true)),
                stopping,
            )),
            None,
        ),
    };
    // After the listener closes, in-flight calls get `grace`; then the server
    // stops regardless (dropping what still runs).
    let result = tokio::select! {
        r = serving => r,
        () = async {
            if closing_rx.await.is_ok() {
                tokio::time::sleep(grace).await;
            } else {
                std::future::pending::<()>().await;
            }
        } => {
            tracing::warn!("grace period over: stopping with calls still in flight");
            Ok(())
        }
    };
    for task in [
        watcher,
        reloader,
        acceptor,
        metrics_server,
        catalog_poller,
        Some(sweeper),
    ]
    .into_iter()
    .flatten()
    {
        task.abort();
    }
    // The router (and with it every audit sink clone) is gone: the writer
    // drains what is queued and ends.
    if let Err(e) = audit_task.await {
        tracing::error!(error = %e, "audit writer task failed");
    }
    metrics.shutdown();
    result?;
    tracing::info!("stopped");
    Ok(())
}
