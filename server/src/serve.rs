//! Runs the gRPC service on a listener the caller bound, until `shutdown`
//! completes. It never binds its own socket, so tests run it on port 0.

use crate::config::Config;
use std::future::Future;
use tokio::net::TcpListener;

/// Errors that stop the server from starting or running.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The transport failed.
    #[error("transport: {0}")]
    Transport(#[from] tonic::transport::Error),
}

/// Serves Tutti on `listener` until `shutdown` resolves, then drains in-flight requests.
pub async fn serve(
    listener: TcpListener,
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let _ = (listener, config, shutdown);
    todo!()
}
