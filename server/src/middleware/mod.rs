//! The tower middleware in front of every service, in one shape.
//!
//! Where a library has the layer, it is used: CORS, the call id
//! (`x-request-id`: `tower_http::request_id`), request spans and the request
//! log (`tower_http::trace`, with Tutti's span maker and log line in
//! [`crate::telemetry`]), and `tower::util`'s `map_request`/`map_response` for
//! what only touches one side. What stays Tutti's own is written as an
//! [`Around`]: one async function of the request and the rest of the stack,
//! so each file here is that layer's logic, not `Layer` and `Service`
//! boilerplate:
//! - [`auth`]: tenant, principal and roles ([`crate::auth`]) before the tenant API;
//! - [`audit`]: an audit row per tenant-API call ([`crate::audit`]);
//! - [`deadline`]: the caller's `grpc-timeout`, honoured down to storage ([`crate::deadline`]);
//! - [`shed`]: global and per-tenant concurrency limits ([`crate::overload`]);
//! - [`measure`]: the call-duration metric ([`crate::metrics`]).
//!
//! The stack is assembled in [`mod@crate::serve`]. Every layer sits on tonic's
//! router, whose error type is `Infallible`: a failure is a response (a
//! status), never a transport error, so [`Next::run`] returns the response.

pub mod audit;
pub mod auth;
pub mod deadline;
pub mod measure;
pub mod shed;

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use tower::{Layer, Service};

/// A request as every layer sees it.
pub type Request = http::Request<tonic::body::Body>;
/// A response as every layer sees it.
pub type Response = http::Response<tonic::body::Body>;

/// The rest of the stack below a layer, ready for one request.
#[derive(Debug)]
pub struct Next<S>(S);

impl<S> Next<S>
where
    S: Service<Request, Response = Response, Error = Infallible>,
{
    /// Passes the request on and returns what the rest of the stack answers.
    pub async fn run(mut self, req: Request) -> Response {
        match self.0.call(req).await {
            Ok(response) => response,
            Err(never) => match never {},
        }
    }
}

/// One middleware: what it does around the rest of the stack for one request.
pub trait Around: Send + Sync + 'static {
    /// Handles `req`, passing it on through `next` or answering itself.
    fn around<S>(&self, req: Request, next: Next<S>) -> impl Future<Output = Response> + Send
    where
        S: Service<Request, Response = Response, Error = Infallible> + Send + 'static,
        S::Future: Send;
}

/// The layer of an [`Around`].
pub fn around<M: Around>(middleware: M) -> AroundLayer<M> {
    AroundLayer(Arc::new(middleware))
}

/// The layer [`around`] makes.
#[derive(Debug)]
pub struct AroundLayer<M>(Arc<M>);

impl<M> Clone for AroundLayer<M> {
    fn clone(&self) -> Self {
        Self(Arc::clone(&self.0))
    }
}

impl<M, S> Layer<S> for AroundLayer<M> {
    type Service = AroundService<M, S>;
    fn layer(&self, inner: S) -> Self::Service {
        AroundService {
            middleware: Arc::clone(&self.0),
            inner,
        }
    }
}

/// The service of an [`AroundLayer`].
#[derive(Debug)]
pub struct AroundService<M, S> {
    middleware: Arc<M>,
    inner: S,
}

impl<M, S: Clone> Clone for AroundService<M, S> {
    fn clone(&self) -> Self {
        Self {
            middleware: Arc::clone(&self.middleware),
            inner: self.inner.clone(),
        }
    }
}

impl<M, S> Service<Request> for AroundService<M, S>
where
    M: Around,
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> Self::Future {
        // Take the service that was driven to readiness; leave a clone behind.
        let clone = self.inner.clone();
        let next = Next(std::mem::replace(&mut self.inner, clone));
        let middleware = Arc::clone(&self.middleware);
        Box::pin(async move { Ok(middleware.around(req, next).await) })
    }
}
