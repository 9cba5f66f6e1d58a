//! Transport security: TLS (rustls, ring provider) and mutual TLS on the one
//! port that serves gRPC, gRPC-Web and the HTTP routes.
//!
//! [`TlsFiles`] holds the current `rustls::ServerConfig` and rebuilds it when
//! the certificate, key or client-CA file changes (polled, and on SIGHUP), so
//! a renewed certificate or a rotated CA needs no restart: each new connection
//! takes the configuration current at its handshake; open connections keep
//! theirs. A set of files that does not load is logged and the old one kept.
//!
//! [`incoming`] accepts TCP connections and runs each handshake in its own
//! task (with a timeout), so a slow or hostile client cannot hold up the
//! accept loop.

use crate::config::TlsConfig;
use rustls::RootCertStore;
use rustls::server::WebPkiClientVerifier;
use rustls_pki_types::pem::PemObject as _;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, SystemTime};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;
use tokio_stream::wrappers::ReceiverStream;

/// How long a client may take to finish its handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Handshaken connections waiting for the server to take them.
const BACKLOG: usize = 128;

/// The TLS files and the server configuration built from them.
#[derive(Debug)]
pub struct TlsFiles {
    files: Vec<PathBuf>,
    config: TlsConfig,
    current: RwLock<(Arc<rustls::ServerConfig>, Vec<Option<SystemTime>>)>,
}

fn mtimes(files: &[PathBuf]) -> Vec<Option<SystemTime>> {
    files
        .iter()
        .map(|f| std::fs::metadata(f).and_then(|m| m.modified()).ok())
        .collect()
}

fn read_certs(path: &Path, what: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| format!("{what} {}: {e}", path.display()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("{what} {}: {e}", path.display()))?;
    if certs.is_empty() {
        return Err(format!("{what} {}: no PEM certificate", path.display()));
    }
    Ok(certs)
}

fn build(config: &TlsConfig) -> Result<rustls::ServerConfig, String> {
    let (Some(cert), Some(key)) = (&config.cert_path, &config.key_path) else {
        return Err("tls.cert_path and tls.key_path are required".into());
    };
    let certs = read_certs(cert, "tls.cert_path")?;
    let key = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| format!("tls.key_path {}: {e}", key.display()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ServerConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("tls: {e}"))?;
    let builder = match &config.client_ca_path {
        None => builder.with_no_client_auth(),
        Some(ca) => {
            let mut roots = RootCertStore::empty();
            for c in read_certs(ca, "tls.client_ca_path")? {
                roots
                    .add(c)
                    .map_err(|e| format!("tls.client_ca_path {}: {e}", ca.display()))?;
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .map_err(|e| format!("tls.client_ca_path {}: {e}", ca.display()))?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let mut server = builder
        .with_single_cert(certs, key)
        .map_err(|e| format!("tls: the key does not fit the certificate: {e}"))?;
    // HTTP/2 for gRPC; HTTP/1.1 for gRPC-Web, CDS Hooks and the app.
    server.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(server)
}

impl TlsFiles {
    /// Loads the files; an error stops the start-up.
    pub fn load(config: &TlsConfig) -> Result<Self, String> {
        let files: Vec<PathBuf> = [&config.cert_path, &config.key_path, &config.client_ca_path]
            .into_iter()
            .flatten()
            .cloned()
            .collect();
        let stamps = mtimes(&files);
        let server = build(config)?;
        Ok(Self {
            files,
            config: config.clone(),
            current: RwLock::new((Arc::new(server), stamps)),
        })
    }

    /// Rebuilds the configuration if a file changed (or always, with `force`).
    pub fn reload(&self, force: bool) {
        let stamps = mtimes(&self.files);
        let unchanged = self
            .current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .1
            == stamps;
        if unchanged && !force {
            return;
        }
        match build(&self.config) {
            Ok(server) => {
                *self.current.write().unwrap_or_else(PoisonError::into_inner) =
                    (Arc::new(server), stamps);
                tracing::info!("TLS certificates reloaded");
            }
            Err(e) => {
                tracing::error!(error = %e, "TLS files not reloaded; keeping the previous ones");
            }
        }
    }

    fn acceptor(&self) -> TlsAcceptor {
        TlsAcceptor::from(Arc::clone(
            &self
                .current
                .read()
                .unwrap_or_else(PoisonError::into_inner)
                .0,
        ))
    }
}

/// Accepts connections on `listener` and yields them once their TLS handshake
/// succeeded. Abort the returned task to stop accepting.
pub fn incoming(
    listener: TcpListener,
    tls: Arc<TlsFiles>,
) -> (
    ReceiverStream<Result<TlsStream<TcpStream>, std::io::Error>>,
    JoinHandle<()>,
) {
    let (tx, rx) = mpsc::channel(BACKLOG);
    let task = tokio::spawn(async move {
        loop {
            let (tcp, peer) = match listener.accept().await {
                Ok(c) => c,
                Err(e) => {
                    // Out of file descriptors and the like: pause instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            if tx.is_closed() {
                return;
            }
            let _ = tcp.set_nodelay(true);
            let acceptor = tls.acceptor();
            let tx = tx.clone();
            tokio::spawn(async move {
                match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                    Ok(Ok(stream)) => {
                        let _ = tx.send(Ok(stream)).await;
                    }
                    // A failed handshake is the client's problem (wrong CA, no
                    // certificate, plaintext); it must not end the server.
                    Ok(Err(e)) => tracing::info!(%peer, error = %e, "TLS handshake failed"),
                    Err(_) => tracing::info!(%peer, "TLS handshake timed out"),
                }
            });
        }
    });
    (ReceiverStream::new(rx), task)
}
