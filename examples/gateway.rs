//! The gateway inside an application of one's own: `promptveil::server::router` mounted
//! beside the application's own routes, in the application's own axum server.
//!
//! `promptveil serve --config promptveil.toml` runs the same gateway as a command, with
//! graceful shutdown; this example shows what to write when the gateway is one part of a
//! larger service.
//!
//! ```text
//! cargo run --features server --example gateway -- --config examples/config/local.toml
//! ```

use std::process::ExitCode;

use axum::Router;
use axum::routing::get;
use promptveil::pipeline::Pipeline;
use promptveil::server::{ServerConfig, router};

type Failure = Box<dyn std::error::Error>;

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // For people: the error and its causes, one line each.
            eprintln!("error: {e}");
            let mut cause = e.source();
            while let Some(c) = cause {
                eprintln!("  caused by: {c}");
                cause = c.source();
            }
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), Failure> {
    let mut args = std::env::args().skip(1);
    let config = match (args.next().as_deref(), args.next()) {
        (Some("--config"), Some(path)) => path,
        _ => return Err("usage: gateway --config PATH (the pipeline's TOML file)".into()),
    };
    let pipeline = Pipeline::builder().from_toml_file(&config).build()?;
    let server = ServerConfig::from_toml_file(&config)?;
    // The gateway's routes (/v1/..., /healthz, /readyz) with the application's own beside
    // them.
    let app = Router::new()
        .route(
            "/internal/version",
            get(|| async { env!("CARGO_PKG_VERSION") }),
        )
        .merge(router(pipeline, &server)?);
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(async {
            let listener = tokio::net::TcpListener::bind(server.listen).await?;
            println!("listening http://{}/v1", listener.local_addr()?);
            axum::serve(listener, app).await?;
            Ok(())
        })
}
