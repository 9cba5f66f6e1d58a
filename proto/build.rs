//! Compiles `tutti/v1/*.proto` with protox (a pure-Rust protobuf compiler), so
//! building needs no system `protoc`. The encoded descriptor set is kept for
//! server reflection.

use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let files = [
        "tutti/v1/types.proto",
        "tutti/v1/catalog.proto",
        "tutti/v1/people.proto",
        "tutti/v1/recommendation.proto",
    ];
    for f in files {
        println!("cargo:rerun-if-changed={f}");
    }
    let fds = protox::compile(files, ["."])?;
    let out = PathBuf::from(std::env::var("OUT_DIR")?);
    let descriptor_path = out.join("tutti_descriptor.bin");
    std::fs::write(&descriptor_path, prost::Message::encode_to_vec(&fds))?;
    tonic_prost_build::configure()
        .build_server(true)
        .build_client(true)
        .codec_path("crate::codec::TuttiCodec")
        .compile_fds(fds)?;
    Ok(())
}
