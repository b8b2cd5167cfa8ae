//! `promptveil serve`: the gateway over the pipeline a configuration file describes.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;
use promptveil::pipeline::Pipeline;
use promptveil::route::Locality;
use promptveil::server::{ServerConfig, router, serve, shutdown_signal};

use crate::Result;

#[derive(Args)]
pub(crate) struct ServeArgs {
    /// The pipeline's configuration file; its `[server]` table sets the server (keys,
    /// limits, inspection).
    #[arg(long)]
    config: PathBuf,
    /// Where to listen, instead of the file's `listen` (port 0 picks a free one).
    #[arg(long)]
    listen: Option<SocketAddr>,
}

/// Builds the pipeline and serves until SIGTERM or Ctrl-C. The first line on standard output
/// is `listening http://ADDR/v1`, once connections are accepted; what is served goes to
/// standard error.
pub(crate) fn run(args: &ServeArgs) -> Result<()> {
    // Spans and events on standard error when PROMPTVEIL_LOG asks (`info`, or
    // `promptveil=debug`): each request and step with its duration, ids, counts and levels,
    // never a value. `tracing-opentelemetry` can send the same spans to a collector from an
    // application that embeds the router.
    if let Ok(filter) = tracing_subscriber::EnvFilter::try_from_env("PROMPTVEIL_LOG") {
        tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_span_events(tracing_subscriber::fmt::format::FmtSpan::CLOSE)
            .with_writer(std::io::stderr)
            .init();
    }
    let mut config = ServerConfig::from_toml_file(&args.config)?;
    if let Some(listen) = args.listen {
        config.listen = listen;
        config.check()?;
    }
    let pipeline = Pipeline::builder()
        .from_toml_file(&args.config)
        .metrics(std::sync::Arc::new(promptveil::audit::Metrics::new()))
        .build()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let app = router(pipeline.clone(), &config)?;
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .map_err(|e| format!("cannot listen on {}: {e}", config.listen))?;
        let addr = listener.local_addr()?;
        println!("listening http://{addr}/v1");
        for p in pipeline.profiles() {
            let place = match p.locality {
                Locality::OnPremises => "on premises",
                _ => "external",
            };
            eprintln!("  backend {} ({place}): model name `{}`", p.name, p.name);
        }
        eprintln!(
            "  keys: {}; inspection: {}; at most {} requests at once, bodies up to {} bytes",
            config
                .keys
                .as_ref()
                .map_or("none (loopback only)".to_string(), |k| format!(
                    "{} valid",
                    k.len()
                )),
            if config.inspect { "on" } else { "off" },
            config.max_concurrency,
            config.max_body_bytes
        );
        serve(listener, app, shutdown_signal(), config.shutdown_grace).await?;
        eprintln!("stopped");
        Ok(())
    })
}
