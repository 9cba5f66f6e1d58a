//! Behaviour: `tutti serve` started from a config file with `[tls]` and API
//! keys (`[[auth.api_keys]]`) listens on every address, which it refuses in
//! plaintext or without authentication, and serves calls over TLS that carry
//! a key, refusing those without one; certificate files rewritten under it
//! and a SIGHUP make new connections get the new certificate, with no
//! restart. `tls.reload_seconds = 0` turns the polling off, so the signal is
//! what reloads: until it is sent the old certificate is still served.

use crate::support::{self, Headers, pki};

use sha2::Digest as _;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpStream;
use tonic::Code;
use tutti_proto::v1::people_service_client::PeopleServiceClient;
use tutti_proto::v1::{CreatePersonRequest, GetPersonRequest};

/// The API key of the test's one client.
const KEY: &str = "tutti-process-test-key-5a1f";

/// The certificate a new TLS connection to `port` is shown, trusting `trust`.
async fn presented_certificate(port: u16, trust: &[&pki::Ca]) -> anyhow::Result<Vec<u8>> {
    use rustls_pki_types::pem::PemObject as _;
    let mut roots = rustls::RootCertStore::empty();
    for ca in trust {
        roots.add(rustls_pki_types::CertificateDer::from_pem_slice(
            ca.cert_pem().as_bytes(),
        )?)?;
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()?
    .with_root_certificates(roots)
    .with_no_client_auth();
    let tcp = TcpStream::connect(("127.0.0.1", port)).await?;
    let stream = tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(
            rustls_pki_types::ServerName::try_from(pki::SERVER_NAME)?,
            tcp,
        )
        .await?;
    let leaf = stream
        .get_ref()
        .1
        .peer_certificates()
        .and_then(|c| c.first())
        .ok_or_else(|| anyhow::anyhow!("no certificate presented"))?;
    Ok(leaf.to_vec())
}

#[tokio::test]
async fn a_secure_start_serves_tls_with_keys_and_reloads_its_certificate_on_sighup() {
    let dir = support::temp_dir();
    let first_ca = pki::Ca::new("first CA").expect("CA");
    let first = first_ca.server("tutti-process").expect("certificate");
    let files = pki::ServerFiles::write(dir.path(), &first).expect("TLS files");
    let sha = sha2::Sha256::digest(KEY.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<String>();
    let config = support::write_config(
        dir.path(),
        &format!(
            "[tls]\ncert_path = {:?}\nkey_path = {:?}\nreload_seconds = 0\n\n\
             [[auth.api_keys]]\nsha256 = \"{sha}\"\ntenant = \"clinic-a\"\nprincipal = \"platform-a\"\n",
            files.cert, files.key
        ),
    );

    let mut cmd = Command::new(support::TUTTI);
    cmd.args(["serve", "--listen", "0.0.0.0:0", "--log-format", "json"])
        .arg("--data")
        .arg(support::db_path(dir.path()))
        .arg("--config")
        .arg(&config);
    support::isolate(&mut cmd);
    let server = support::Server::spawn_tls(cmd, pki::client_tls(&first_ca, None))
        .await
        .expect("starts on every address with TLS and keys, no --insecure");
    let port = server.addr.port();

    // Without a key: refused; with it: served, over TLS.
    let refused = PeopleServiceClient::new(server.channel())
        .get_person(GetPersonRequest {
            name: "people/p-secure".into(),
        })
        .await
        .expect_err("a call without a key");
    assert_eq!(refused.code(), Code::Unauthenticated, "{refused:?}");
    let mut people = PeopleServiceClient::with_interceptor(server.channel(), Headers::bearer(KEY));
    people
        .create_person(CreatePersonRequest {
            request_id: "secure-1".into(),
            person_id: "p-secure".into(),
            conditions: vec![],
        })
        .await
        .expect("a call with the key, over TLS");
    assert_eq!(
        presented_certificate(port, &[&first_ca])
            .await
            .expect("handshake"),
        first.cert_der
    );

    // Renewal: a new key and certificate (from another CA) over the files.
    let second_ca = pki::Ca::new("second CA").expect("CA");
    let second = second_ca.server("tutti-process").expect("certificate");
    pki::ServerFiles::write(dir.path(), &second).expect("renewed files");
    // No polling: nothing changes until the signal.
    assert_eq!(
        presented_certificate(port, &[&first_ca, &second_ca])
            .await
            .expect("handshake"),
        first.cert_der,
        "reloaded without SIGHUP although tls.reload_seconds = 0"
    );
    server.signal("HUP").expect("SIGHUP");
    let mut seen = first.cert_der.clone();
    for _ in 0..200 {
        if let Ok(der) = presented_certificate(port, &[&first_ca, &second_ca]).await {
            seen = der;
            if seen != first.cert_der {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        seen,
        second.cert_der,
        "new connections get the renewed certificate after SIGHUP\n{}",
        server.log_text()
    );

    // The same process, reached by a client that trusts only the new CA.
    let renewed = support::Server::channel_to(port, pki::client_tls(&second_ca, None));
    PeopleServiceClient::with_interceptor(renewed, Headers::bearer(KEY))
        .get_person(GetPersonRequest {
            name: "people/p-secure".into(),
        })
        .await
        .expect("served with the renewed certificate, data intact");

    server.stop_cleanly().await;
}
