//! `tutti serve`: loads the configuration, installs logging, binds the listen
//! address and runs [`crate::serve()`] until Ctrl-C or SIGTERM.

use crate::config::{Config, LogFormat, Overrides};
use anyhow::Context as _;
use clap::Args;
use std::net::SocketAddr;
use std::path::PathBuf;

/// Arguments of `tutti serve`. Flags win over `TUTTI_*` variables, which win
/// over the config file, which wins over the defaults.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// TOML configuration file.
    #[arg(long, value_name = "FILE", env = "TUTTI_CONFIG")]
    pub config: Option<PathBuf>,
    /// Address to listen on [default: 127.0.0.1:50051].
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<SocketAddr>,
    /// SQLite database file [default: ./tutti.db].
    #[arg(long, value_name = "PATH")]
    pub data: Option<PathBuf>,
    /// Log format [default: text].
    #[arg(long, value_enum)]
    pub log_format: Option<LogFormat>,
    /// Allow plaintext on a non-loopback address (behind a TLS-terminating
    /// proxy or mesh); without it such a start is refused.
    #[arg(long)]
    pub insecure: bool,
}

/// Runs the server until a shutdown signal.
pub fn run(args: ServeArgs) -> anyhow::Result<()> {
    let config = Config::load(
        args.config.as_deref(),
        Overrides {
            listen: args.listen,
            data: args.data,
            log_format: args.log_format,
            insecure: args.insecure,
        },
    )?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the tokio runtime")?;
    // Inside the runtime: the OTLP exporter's gRPC client needs one.
    let _telemetry = runtime
        .block_on(async { crate::telemetry::init(&config.log, &config.telemetry) })
        .map_err(anyhow::Error::msg)?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("binding {}", config.listen))?;
        crate::serve(listener, config, shutdown_signal()).await?;
        Ok(())
    })
}

/// Resolves on Ctrl-C or (on Unix) SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => tracing::info!("Ctrl-C received"),
        () = term => tracing::info!("SIGTERM received"),
    }
}
