//! Behaviour: with `tls.cert_path`/`key_path` the port speaks TLS only; with
//! `tls.client_ca_path` every client must present a certificate that CA
//! signed (mutual TLS); a renewed certificate written over the files is
//! served to new connections without a restart.

use rustls_pki_types::pem::PemObject as _;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpStream;
use tonic::transport::Endpoint;
use tutti_proto::v1::ListProcessesRequest;
use tutti_proto::v1::catalog_service_client::CatalogServiceClient;
use tutti_tests::TestServer;
use tutti_tests::pki::{self, Ca, ServerFiles};

/// Starts a TLS server signed by `ca`; with `clients`, mutual TLS with that CA.
async fn start_tls(ca: &Ca, clients: Option<&Ca>) -> (TestServer, Option<pki::Leaf>) {
    let dir = TestServer::temp_dir().expect("temp dir");
    let leaf = ca.server("tutti-test-server").expect("server certificate");
    let files = ServerFiles::write(dir.path(), &leaf).expect("TLS files");
    let client_ca = clients
        .map(|c| pki::write_pem(dir.path(), "clients-ca.pem", &c.cert_pem()).expect("CA file"));
    let identity = clients.map(|c| c.client("platform-a").expect("client certificate"));
    let server = TestServer::start_in(dir, Some(pki::client_tls(ca, identity.as_ref())), |c, _| {
        c.tls.cert_path = Some(files.cert.clone());
        c.tls.key_path = Some(files.key.clone());
        c.tls.client_ca_path = client_ca.clone();
        c.tls.reload_seconds = 1;
    })
    .await
    .expect("TLS server starts and answers health over TLS");
    (server, identity)
}

#[tokio::test]
async fn tls_serves_grpc_to_clients_trusting_the_configured_ca() {
    let ca = Ca::new("test CA").expect("CA");
    let (server, _) = start_tls(&ca, None).await;
    let processes = server
        .catalog()
        .list_processes(ListProcessesRequest {})
        .await
        .expect("ListProcesses over TLS")
        .into_inner()
        .processes;
    assert!(!processes.is_empty());

    // A client trusting another CA cannot connect.
    let stranger = Ca::new("another CA").expect("CA");
    let refused = server.connect_tls(pki::client_tls(&stranger, None)).await;
    let call = match refused {
        Err(_) => None,
        Ok(channel) => Some(
            CatalogServiceClient::new(channel)
                .list_processes(ListProcessesRequest {})
                .await,
        ),
    };
    assert!(
        !matches!(call, Some(Ok(_))),
        "a client that does not trust the server's CA got an answer"
    );

    // Plaintext on a TLS port gets no gRPC answer.
    let plain = Endpoint::from_shared(format!("http://{}", server.addr()))
        .expect("endpoint")
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(10))
        .connect()
        .await;
    if let Ok(channel) = plain {
        let r = CatalogServiceClient::new(channel)
            .list_processes(ListProcessesRequest {})
            .await;
        assert!(r.is_err(), "plaintext call on a TLS port succeeded");
    }
    server.stop().await.expect("clean stop");
}

#[tokio::test]
async fn mutual_tls_refuses_clients_without_a_certificate_from_the_client_ca() {
    let ca = Ca::new("server CA").expect("CA");
    let clients = Ca::new("clients CA").expect("CA");
    let (server, _) = start_tls(&ca, Some(&clients)).await;
    // The harness presents a certificate from the clients' CA: served.
    server
        .catalog()
        .list_processes(ListProcessesRequest {})
        .await
        .expect("a client with a certificate from the client CA is served");

    let forged = Ca::new("forger")
        .expect("CA")
        .client("platform-a")
        .expect("cert");
    for (what, identity) in [
        ("no client certificate", None),
        ("a certificate from another CA", Some(&forged)),
    ] {
        let outcome = match server.connect_tls(pki::client_tls(&ca, identity)).await {
            Err(_) => None,
            Ok(channel) => Some(
                CatalogServiceClient::new(channel)
                    .list_processes(ListProcessesRequest {})
                    .await,
            ),
        };
        assert!(
            !matches!(outcome, Some(Ok(_))),
            "a client with {what} was served"
        );
    }
    server.stop().await.expect("clean stop");
}

/// The certificate the server presents to a new connection, read with rustls.
async fn presented_certificate(server: &TestServer, trust: &[&Ca]) -> anyhow::Result<Vec<u8>> {
    let mut roots = rustls::RootCertStore::empty();
    for ca in trust {
        let der = rustls_pki_types::CertificateDer::from_pem_slice(ca.cert_pem().as_bytes())?;
        roots.add(der)?;
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()?
    .with_root_certificates(roots)
    .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = TcpStream::connect(server.addr()).await?;
    let name = rustls_pki_types::ServerName::try_from(pki::SERVER_NAME)?;
    let stream = connector.connect(name, tcp).await?;
    let (_, session) = stream.get_ref();
    let leaf = session
        .peer_certificates()
        .and_then(|c| c.first())
        .ok_or_else(|| anyhow::anyhow!("no certificate presented"))?;
    Ok(leaf.to_vec())
}

#[tokio::test]
async fn a_renewed_certificate_is_served_to_new_connections_without_a_restart() {
    let old_ca = Ca::new("old CA").expect("CA");
    let (server, _) = start_tls(&old_ca, None).await;
    let before = presented_certificate(&server, &[&old_ca])
        .await
        .expect("handshake with the first certificate");

    // Renewal: a new key and certificate (from a new CA) over the same files.
    let new_ca = Ca::new("new CA").expect("CA");
    let renewed = new_ca.server("tutti-test-server").expect("certificate");
    let config = server.config().clone();
    let dir = config
        .tls
        .cert_path
        .as_deref()
        .and_then(std::path::Path::parent)
        .expect("cert dir")
        .to_path_buf();
    ServerFiles::write(&dir, &renewed).expect("renewed files");

    // The server polls its files every second; new connections must get the
    // new certificate within a bounded number of attempts.
    let mut seen = before.clone();
    for _ in 0..200 {
        if let Ok(der) = presented_certificate(&server, &[&old_ca, &new_ca]).await {
            seen = der;
            if seen != before {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        seen, renewed.cert_der,
        "new connections get the renewed certificate"
    );
    // Clients that trust only the new CA now connect and are served.
    let channel = server
        .connect_tls(pki::client_tls(&new_ca, None))
        .await
        .expect("connects with the new CA");
    CatalogServiceClient::new(channel)
        .list_processes(ListProcessesRequest {})
        .await
        .expect("served with the renewed certificate");
    server.stop().await.expect("clean stop");
}
