//! Behaviour: with `storage.tls_ca_path` set, the PostgreSQL backend talks TLS
//! and accepts only a server whose certificate that CA signed for the host it
//! dialled; without it, a URL asking for `sslmode=require` is refused rather
//! than silently sent in plaintext. The cluster (with a test-only certificate
//! made here) is started by this test.

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use tutti_server::storage::Storage as _;
use tutti_server::storage::postgres::{PgOptions, PgStorage};
use tutti_tests::postgres::{PgCluster, ServerTls, bin_dir, required};

fn ca() -> CertifiedIssuer<'static, KeyPair> {
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    CertifiedIssuer::self_signed(params, KeyPair::generate().expect("key")).expect("CA")
}

#[tokio::test]
async fn tls_to_the_database_verifies_the_server_against_the_configured_ca() {
    if bin_dir().is_none() && !required() {
        eprintln!("*** SKIPPING: no PostgreSQL server binaries ***");
        return;
    }
    let ca = ca();
    let key = KeyPair::generate().expect("key");
    let cert = CertificateParams::new(vec!["localhost".into(), "127.0.0.1".into()])
        .expect("params")
        .signed_by(&key, &ca)
        .expect("server certificate");
    let cluster = PgCluster::start_with(Some(ServerTls {
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
    }))
    .expect("PostgreSQL with TLS starts");
    let url = cluster.fresh_database().expect("database");
    let dir = tempfile::tempdir().expect("temp dir");
    let ca_path = dir.path().join("ca.pem");
    std::fs::write(&ca_path, ca.pem()).expect("written");

    let db = PgStorage::open(&PgOptions {
        url: url.clone(),
        pool_size: 2,
        tls_ca_path: Some(ca_path),
    })
    .await
    .expect("connects over TLS, verifying the server");
    let tenant = tutti_server::convert::ids::TenantId::parse("t").expect("id");
    assert!(
        db.list_interventions(&tenant)
            .await
            .expect("a query over TLS")
            .is_empty()
    );
    let ssl: String = cluster
        .psql(
            url.rsplit('/').next().expect("database"),
            "SELECT bool_and(ssl)::text FROM pg_stat_ssl JOIN pg_stat_activity USING (pid) WHERE application_name = 'tutti'",
        )
        .expect("pg_stat_ssl");
    assert_eq!(ssl, "true", "every connection of the pool is TLS");

    // Another CA: the server cannot prove itself, nothing is sent.
    let other = dir.path().join("other-ca.pem");
    std::fs::write(&other, self::ca().pem()).expect("written");
    let refused = PgStorage::open(&PgOptions {
        url: url.clone(),
        pool_size: 1,
        tls_ca_path: Some(other),
    })
    .await;
    assert!(refused.is_err(), "a server signed by another CA is refused");

    // sslmode=require without a CA to verify with: refused, not plaintext.
    let refused = PgStorage::open(&PgOptions {
        url: format!("{url}?sslmode=require"),
        pool_size: 1,
        tls_ca_path: None,
    })
    .await;
    assert!(refused.is_err());
}
