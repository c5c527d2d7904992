//! Generates the Rust types and tonic clients/servers from `proto/` with the vendored
//! protoc, so no system protoc is needed.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let protoc = protoc_bin_vendored::protoc_bin_path()?;
    // SAFETY: build scripts are single-threaded; nothing else reads the environment now.
    unsafe { std::env::set_var("PROTOC", protoc) };
    let files = [
        "proto/metapb.proto",
        "proto/errorpb.proto",
        "proto/kvrpcpb.proto",
        "proto/import_sstpb.proto",
        "proto/coprocessor.proto",
        "proto/tikvpb.proto",
        "proto/pdpb.proto",
        "proto/checksum.proto",
    ];
    for f in files {
        println!("cargo:rerun-if-changed={f}");
    }
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .compile_protos(&files, &["proto"])?;
    Ok(())
}
