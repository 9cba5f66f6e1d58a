//! The codec of the generated services and clients: prost's, except that a
//! message that does not decode is `INVALID_ARGUMENT` (the sender's fault)
//! rather than prost's `INTERNAL` (which means a server defect and invites
//! pointless retries).

use std::marker::PhantomData;
use tonic::Status;
use tonic::codec::{BufferSettings, Codec, DecodeBuf, Decoder};
use tonic_prost::{ProstCodec, ProstDecoder, ProstEncoder};

/// prost encoding with undecodable messages reported as `INVALID_ARGUMENT`.
#[derive(Debug, Clone)]
pub struct TuttiCodec<T, U> {
    inner: ProstCodec<T, U>,
}

impl<T, U> Default for TuttiCodec<T, U> {
    fn default() -> Self {
        Self {
            inner: ProstCodec::default(),
        }
    }
}

impl<T, U> Codec for TuttiCodec<T, U>
where
    T: prost::Message + Send + 'static,
    U: prost::Message + Default + Send + 'static,
{
    type Encode = T;
    type Decode = U;
    type Encoder = ProstEncoder<T>;
    type Decoder = TuttiDecoder<U>;

    fn encoder(&mut self) -> Self::Encoder {
        self.inner.encoder()
    }

    fn decoder(&mut self) -> Self::Decoder {
        TuttiDecoder {
            inner: self.inner.decoder(),
            _pd: PhantomData,
        }
    }
}

/// [`ProstDecoder`] with decode failures mapped to `INVALID_ARGUMENT`.
#[derive(Debug)]
pub struct TuttiDecoder<U> {
    inner: ProstDecoder<U>,
    _pd: PhantomData<U>,
}

impl<U: prost::Message + Default> Decoder for TuttiDecoder<U> {
    type Item = U;
    type Error = Status;

    fn decode(&mut self, buf: &mut DecodeBuf<'_>) -> Result<Option<U>, Status> {
        self.inner.decode(buf).map_err(|s| {
            // prost's decoder fails only on bytes that are not the message.
            Status::invalid_argument(format!("the message does not decode: {}", s.message()))
        })
    }

    fn buffer_settings(&self) -> BufferSettings {
        self.inner.buffer_settings()
    }
}
