//! Calls below the generated clients: request bodies as raw bytes (to send
//! what no client would: bytes that do not decode, unknown methods) and calls
//! held open (their headers, and so their admission, go out at once; their
//! message only when the test releases it).

use bytes::{Buf as _, BufMut as _};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_stream::wrappers::ReceiverStream;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::codegen::http::uri::PathAndQuery;
use tonic::metadata::MetadataMap;
use tonic::transport::Channel;
use tonic::{Response, Status};
use tutti_proto::codec::TuttiCodec;
use tutti_proto::v1::{ListProcessesRequest, ListProcessesResponse};

/// A codec that sends and receives message bodies as they are.
#[derive(Debug, Clone, Copy, Default)]
pub struct RawCodec;

/// [`RawCodec`]'s encoder and decoder.
#[derive(Debug, Clone, Copy, Default)]
pub struct Raw;

impl Encoder for Raw {
    type Item = Vec<u8>;
    type Error = Status;
    fn encode(&mut self, item: Vec<u8>, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put_slice(&item);
        Ok(())
    }
}

impl Decoder for Raw {
    type Item = Vec<u8>;
    type Error = Status;
    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Vec<u8>>, Status> {
        let mut out = vec![0; src.remaining()];
        src.copy_to_slice(&mut out);
        Ok(Some(out))
    }
}

impl Codec for RawCodec {
    type Encode = Vec<u8>;
    type Decode = Vec<u8>;
    type Encoder = Raw;
    type Decoder = Raw;
    fn encoder(&mut self) -> Raw {
        Raw
    }
    fn decoder(&mut self) -> Raw {
        Raw
    }
}

/// A unary call of `path` (`/package.Service/Method`) with `body` as the
/// request message's bytes and `metadata` as its headers.
pub async fn call_raw(
    channel: Channel,
    path: &'static str,
    body: Vec<u8>,
    metadata: MetadataMap,
) -> Result<Response<Vec<u8>>, Status> {
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready()
        .await
        .map_err(|e| Status::unavailable(e.to_string()))?;
    let mut request = tonic::Request::new(body);
    *request.metadata_mut() = metadata;
    grpc.unary(request, PathAndQuery::from_static(path), RawCodec)
        .await
}

/// A `ListProcesses` call whose request message is held back.
pub struct Held {
    tx: mpsc::Sender<ListProcessesRequest>,
    call: JoinHandle<Result<Response<ListProcessesResponse>, Status>>,
}

impl Held {
    /// Opens the call as `tenant` on `channel`.
    pub async fn open(channel: Channel, tenant: &str) -> Self {
        let (tx, rx) = mpsc::channel(1);
        let mut grpc = tonic::client::Grpc::new(channel);
        grpc.ready().await.expect("ready");
        let mut request = tonic::Request::new(ReceiverStream::new(rx));
        request
            .metadata_mut()
            .insert("x-tutti-tenant", tenant.parse().expect("ascii"));
        let call = tokio::spawn(async move {
            grpc.client_streaming::<_, ListProcessesRequest, ListProcessesResponse, _>(
                request,
                PathAndQuery::from_static("/tutti.v1.CatalogService/ListProcesses"),
                TuttiCodec::<ListProcessesRequest, ListProcessesResponse>::default(),
            )
            .await
        });
        Self { tx, call }
    }

    /// Whether the call ended already (it should not before [`Held::release`]).
    pub fn is_finished(&self) -> bool {
        self.call.is_finished()
    }

    /// Sends the message and waits for the answer, which must be OK.
    pub async fn release(self) {
        self.tx
            .send(ListProcessesRequest {})
            .await
            .expect("send the held message");
        drop(self.tx);
        self.call
            .await
            .expect("task")
            .expect("the held call is served once released");
    }
}

/// Holds a call open as `tenant` and calls `probe` until the server refuses
/// it; returns the held call (admitted by then) and the refusal. A held call
/// that lost the race for the last slot to a probe is refused itself: it is
/// opened again.
pub async fn hold_until_refused<F, Fut>(
    channel: Channel,
    tenant: &str,
    mut probe: F,
) -> (Held, Status)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<(), Status>>,
{
    for _ in 0..100 {
        let held = Held::open(channel.clone(), tenant).await;
        for _ in 0..100 {
            if held.is_finished() {
                break;
            }
            if let Err(s) = probe().await {
                return (held, s);
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    }
    panic!("no probe was refused while a call of {tenant} was held");
}
