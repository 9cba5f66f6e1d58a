//! A throwaway public-key infrastructure for the TLS tests: certificate
//! authorities, server certificates for `localhost`/`127.0.0.1` and client
//! certificates, made fresh by each test with rcgen (no private key is
//! committed) and written as PEM files the server is configured with.

use anyhow::Context as _;
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use std::path::{Path, PathBuf};
use tonic::transport::{Certificate, ClientTlsConfig, Identity};

/// The name clients check the server's certificate against.
pub const SERVER_NAME: &str = "localhost";

/// A certificate authority.
pub struct Ca {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

/// A certificate and its key, PEM-encoded.
#[derive(Debug, Clone)]
pub struct Leaf {
    /// The certificate.
    pub cert_pem: String,
    /// Its private key (PKCS#8).
    pub key_pem: String,
    /// The certificate, DER-encoded (to compare with what a peer presented).
    pub cert_der: Vec<u8>,
}

impl Ca {
    /// A new self-signed CA called `name`.
    pub fn new(name: &str) -> anyhow::Result<Self> {
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let issuer = CertifiedIssuer::self_signed(params, KeyPair::generate()?)?;
        Ok(Self { issuer })
    }

    /// The CA certificate, PEM-encoded.
    pub fn cert_pem(&self) -> String {
        self.issuer.pem()
    }

    fn leaf(
        &self,
        sans: Vec<String>,
        cn: &str,
        usage: ExtendedKeyUsagePurpose,
    ) -> anyhow::Result<Leaf> {
        let mut params = CertificateParams::new(sans)?;
        params.distinguished_name.push(DnType::CommonName, cn);
        params.extended_key_usages = vec![usage];
        let key = KeyPair::generate()?;
        let cert = params.signed_by(&key, &*self.issuer)?;
        Ok(Leaf {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
            cert_der: cert.der().to_vec(),
        })
    }

    /// A server certificate for `localhost` and `127.0.0.1`.
    pub fn server(&self, cn: &str) -> anyhow::Result<Leaf> {
        self.leaf(
            vec![SERVER_NAME.to_owned(), "127.0.0.1".to_owned()],
            cn,
            ExtendedKeyUsagePurpose::ServerAuth,
        )
    }

    /// A client certificate for `cn`.
    pub fn client(&self, cn: &str) -> anyhow::Result<Leaf> {
        self.leaf(Vec::new(), cn, ExtendedKeyUsagePurpose::ClientAuth)
    }
}

/// Where a server's TLS files are.
#[derive(Debug, Clone)]
pub struct ServerFiles {
    /// `tls.cert_path`.
    pub cert: PathBuf,
    /// `tls.key_path`.
    pub key: PathBuf,
}

impl ServerFiles {
    /// Writes `leaf` as the server's certificate and key under `dir`
    /// (replacing what was there: a renewal).
    pub fn write(dir: &Path, leaf: &Leaf) -> anyhow::Result<Self> {
        let files = Self {
            cert: dir.join("server-cert.pem"),
            key: dir.join("server-key.pem"),
        };
        // Key first, certificate last, through a rename each: a reload that
        // runs in between sees either the old pair or a key that does not fit
        // (refused, old pair kept), never a half-written file.
        for (path, pem) in [(&files.key, &leaf.key_pem), (&files.cert, &leaf.cert_pem)] {
            let tmp = path.with_extension("tmp");
            std::fs::write(&tmp, pem).with_context(|| format!("writing {}", tmp.display()))?;
            std::fs::rename(&tmp, path)
                .with_context(|| format!("renaming to {}", path.display()))?;
        }
        Ok(files)
    }
}

/// Writes `pem` to `dir/name` and returns the path.
pub fn write_pem(dir: &Path, name: &str, pem: &str) -> anyhow::Result<PathBuf> {
    let path = dir.join(name);
    std::fs::write(&path, pem).with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}

/// Client TLS settings trusting `ca`, optionally presenting `identity`.
pub fn client_tls(ca: &Ca, identity: Option<&Leaf>) -> ClientTlsConfig {
    let mut tls = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(ca.cert_pem()))
        .domain_name(SERVER_NAME);
    if let Some(leaf) = identity {
        tls = tls.identity(Identity::from_pem(&leaf.cert_pem, &leaf.key_pem));
    }
    tls
}
