//! Compiles `proto/**/*.proto` with protox (pure Rust, no system `protoc`).

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let files = [
        "proto/drover/plugin/v1/base.proto",
        "proto/drover/plugin/v1/driver.proto",
        "proto/drover/plugin/v1/fetcher.proto",
        "proto/drover/cluster/v1/cluster.proto",
    ];
    for f in files {
        println!("cargo:rerun-if-changed={f}");
    }
    let fds = protox::compile(files, ["proto"])?;
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .compile_fds(fds)?;
    Ok(())
}
