//! Runs the gRPC service on a listener the caller bound, until `shutdown`
//! completes. It never binds its own socket, so tests run it on port 0.
//!
//! One port serves gRPC (HTTP/2), gRPC-Web (HTTP/1.1, for browsers), the EHR
//! routes of [`crate::ehr`] (CDS Hooks, FHIR, the clinician app) and CORS for
//! the configured origins ([`crate::config::HttpConfig`]).
//!
//! Start-up order: validate the config, open (and migrate) storage, load the
//! trained model if one is configured, build the engines, start the model
//! watcher, load the EHRs' keys, then report SERVING on `grpc.health.v1`; on shutdown: report
//! NOT_SERVING, stop accepting, drain in-flight calls, then flush the audit trail.

use crate::audit::{AuditLayer, AuditSink};
use crate::auth::{AuthLayer, Authenticator};
use crate::config::{Config, ConfigError, HttpConfig};
use crate::ehr::{self, Ehr};
use crate::engines::Engines;
use crate::error::ServiceError;
use crate::grpc::App;
use crate::grpc::catalog::CatalogApi;
use crate::grpc::people::PeopleApi;
use crate::grpc::recommendation::RecommendationApi;
use crate::model;
use crate::storage::sqlite::SqliteStorage;
use crate::storage::{Storage, StorageError};
use crate::telemetry::RpcLogLayer;
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
use tower::util::option_layer;
use tower_http::cors::{AllowOrigin, CorsLayer};
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
    config.validate()?;
    let addr = listener.local_addr()?;
    let storage: Arc<dyn Storage> = Arc::new(SqliteStorage::open(&config.storage.path).await?);
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
    let app = Arc::new(App {
        storage: Arc::clone(&storage),
        engines,
        limits: config.limits.clone(),
        modes: config
            .tenants
            .iter()
            .map(|(tenant, t)| (tenant.clone(), t.mode))
            .collect(),
        fhir_codes: ehr::fhir::CodeMap::new(&config.ehr.codes),
    });
    let max = config.limits.max_message_bytes;
    let catalog = CatalogServiceServer::new(CatalogApi::new(Arc::clone(&app)))
        .max_decoding_message_size(max)
        .max_encoding_message_size(max);
    let people = PeopleServiceServer::new(PeopleApi::new(Arc::clone(&app)))
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

    let (audit, audit_task) = AuditSink::spawn(Arc::clone(&storage));
    let ehr_routes = ehr::router(Arc::new(Ehr {
        app: Arc::clone(&app),
        config: config.ehr.clone(),
        auth: ehr::jwt::CdsAuth::load(&config.ehr).map_err(|e| ServeError::Ehr(e.to_string()))?,
        keys: Authenticator::new(&config.auth),
        launch: ehr::launch::Launcher::new(
            config.ehr.launch_key.clone(),
            config.ehr.launch_ttl_seconds,
            config.ehr.session_ttl_seconds,
        ),
        fhir: ehr::fhir_client::FhirClient::new(Duration::from_millis(config.ehr.fhir_timeout_ms))
            .map_err(|e| ServeError::Ehr(format!("http client: {e}")))?,
        audit: audit.clone(),
    }));
    let stopping = {
        let health = health.clone();
        async move {
            shutdown.await;
            tracing::info!("shutting down: draining in-flight calls");
            for name in services {
                health
                    .set_service_status(name, ServingStatus::NotServing)
                    .await;
            }
        }
    };

    tracing::info!(
        %addr,
        data = %config.storage.path.display(),
        auth = !config.auth.api_keys.is_empty(),
        model_version = %model_version,
        "tutti serving"
    );
    let web = GrpcWebLayer::new();
    // HTTP/1.1 too: browsers (gRPC-Web, the app) and EHRs (CDS Hooks) use it.
    let result = Server::builder()
        .accept_http1(true)
        .layer(option_layer(cors(&config.http)))
        .layer(RpcLogLayer)
        .layer(AuditLayer::new(audit))
        .layer(AuthLayer::new(Authenticator::new(&config.auth)))
        .add_routes(Routes::from(ehr_routes))
        // gRPC-Web per service: the layer refuses plain HTTP/1.1, which the
        // EHR routes beside these services need.
        .add_service(web.layer(health_service))
        .add_service(web.layer(reflection_v1))
        .add_service(web.layer(reflection_v1alpha))
        .add_service(web.layer(catalog))
        .add_service(web.layer(people))
        .add_service(web.layer(recommendation))
        .serve_with_incoming_shutdown(
            TcpIncoming::from(listener).with_nodelay(Some(true)),
            stopping,
        )
        .await;
    if let Some(w) = watcher {
        w.abort();
    }
    // The router (and with it every audit sink clone) is gone: the writer
    // drains what is queued and ends.
    if let Err(e) = audit_task.await {
        tracing::error!(error = %e, "audit writer task failed");
    }
    result?;
    tracing::info!("stopped");
    Ok(())
}
