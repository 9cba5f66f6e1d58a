//! The `tutti.v1` gRPC contract compiled to Rust: messages, client stubs and
//! server traits, plus the encoded file descriptor set for reflection.
//!
//! This crate owns only generated code. It lets tests, tools and other Rust
//! programs talk to Tutti without depending on the server.

pub mod codec;

/// `tutti.v1`: the first stable version of the API.
pub mod v1 {
    #![allow(missing_docs, clippy::all)] // generated code; documented in the .proto files
    tonic::include_proto!("tutti.v1");
}

/// Encoded `FileDescriptorSet` of every `tutti.v1` file, for gRPC server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/tutti_descriptor.bin"));
