//! `tutti serve`: loads the configuration, installs logging, binds the listen
//! address and runs [`tutti_server::serve()`] until Ctrl-C or SIGTERM.

use anyhow::Context as _;
use clap::Args;
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use tutti_server::config::{Config, LogFormat, Overrides};

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
        .block_on(async { tutti_server::telemetry::init(&config.log, &config.telemetry) })
        .map_err(anyhow::Error::msg)?;
    runtime.block_on(async {
        let shutdown = shutdown_signal();
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("binding {}", config.listen))?;
        tutti_server::serve(listener, config, shutdown).await?;
        Ok(())
    })
}

/// Resolves on Ctrl-C or (on Unix) SIGTERM. The handlers are installed when
/// this is called, not when the future is first polled: a SIGTERM that
/// arrives as soon as the server answers must start the graceful shutdown,
/// not kill the process with the default action.
fn shutdown_signal() -> impl Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    let streams = {
        use tokio::signal::unix::{SignalKind, signal};
        match (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) {
            (Ok(term), Ok(int)) => Some((term, int)),
            (Err(e), _) | (_, Err(e)) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM/SIGINT");
                None
            }
        }
    };
    async move {
        #[cfg(unix)]
        {
            let Some((mut term, mut int)) = streams else {
                return std::future::pending::<()>().await;
            };
            tokio::select! {
                _ = int.recv() => tracing::info!("Ctrl-C received"),
                _ = term.recv() => tracing::info!("SIGTERM received"),
            }
        }
        #[cfg(not(unix))]
        {
            if let Err(e) = tokio::signal::ctrl_c().await {
                tracing::error!(error = %e, "cannot listen for Ctrl-C");
                std::future::pending::<()>().await;
            }
            tracing::info!("Ctrl-C received");
        }
    }
}
