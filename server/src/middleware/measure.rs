//! One `rpc.server.call.duration` measurement per call ([`crate::metrics`]),
//! by method (bounded labels: [`crate::metrics::method_label`]) and status code.

use super::{Around, Next, Request, Response};
use crate::metrics::{Metrics, method_label};
use crate::telemetry::{is_grpc, response_code};
use std::convert::Infallible;
use std::time::Instant;
use tower::Service;

/// Measures every call into [`Metrics`].
#[derive(Debug, Clone)]
pub struct Measure(pub Metrics);

impl Around for Measure {
    async fn around<S>(&self, req: Request, next: Next<S>) -> Response
    where
        S: Service<Request, Response = Response, Error = Infallible> + Send + 'static,
        S::Future: Send,
    {
        let start = Instant::now();
        let method = req.uri().path().to_owned();
        let system = if is_grpc(req.headers()) {
            "grpc"
        } else {
            "http"
        };
        let response = next.run(req).await;
        let code = response_code(&response);
        self.0.call(
            system,
            &method_label(&method),
            code,
            start.elapsed().as_secs_f64(),
        );
        response
    }
}
