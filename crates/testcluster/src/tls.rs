//! TLS like a real API server's: a certificate authority made when the cluster starts, a server
//! certificate it signs for `127.0.0.1`, `::1` and `localhost`, and the rustls configurations of both
//! ends. The CA (PEM) is what kubeconfigs, kubectl `--certificate-authority` and Node clients trust.
//!
//! Only the `ring` provider is used, named explicitly, so the process-wide rustls default (which
//! another crate may set to something else) never matters here.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::{ClientConfig, RootCertStore, ServerConfig};

/// The names the server certificate is valid for: every way a local client reaches the cluster.
const SERVER_NAMES: [&str; 3] = ["127.0.0.1", "::1", "localhost"];

/// A freshly generated CA and the server identity it vouches for.
pub(crate) struct TlsIdentity {
    ca_pem: String,
    ca_der: CertificateDer<'static>,
    server: Arc<ServerConfig>,
}

/// `tale-testcluster CA <pid>-<nanoseconds>-<sequence>`: unique across starts and processes.
fn unique_ca_name() -> String {
    static STARTS: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    let sequence = STARTS.fetch_add(1, Ordering::Relaxed);
    format!("tale-testcluster CA {}-{nanos}-{sequence}", std::process::id())
}

/// Turns an rcgen error into a message naming what could not be made.
fn fail(what: &'static str) -> impl Fn(rcgen::Error) -> String {
    move |e| format!("cannot make the {what}: {e}")
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

impl TlsIdentity {
    /// Makes a new CA (ECDSA P-256) and a server certificate signed by it. Each call gives a new CA, so
    /// clients of one cluster never trust another.
    pub(crate) fn generate() -> Result<TlsIdentity, String> {
        let ca_key = KeyPair::generate().map_err(fail("CA key"))?;
        let mut ca_params = CertificateParams::default();
        // A name of its own for every CA: clients then tell one cluster's CA from another's by name
        // (an unknown issuer) rather than by a failing signature.
        ca_params.distinguished_name.push(DnType::CommonName, unique_ca_name());
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let ca_cert = ca_params.self_signed(&ca_key).map_err(fail("CA certificate"))?;
        let issuer = Issuer::new(ca_params, ca_key);

        let server_key = KeyPair::generate().map_err(fail("server key"))?;
        let names: Vec<String> = SERVER_NAMES.iter().map(|n| n.to_string()).collect();
        let mut server_params =
            CertificateParams::new(names).map_err(fail("server certificate names"))?;
        server_params.distinguished_name.push(DnType::CommonName, "tale-testcluster");
        server_params.key_usages =
            vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyEncipherment];
        server_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        server_params.use_authority_key_identifier_extension = true;
        let server_cert =
            server_params.signed_by(&server_key, &issuer).map_err(fail("server certificate"))?;

        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(server_key.serialize_der()));
        let mut server = ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("cannot configure TLS: {e}"))?
            .with_no_client_auth()
            .with_single_cert(vec![server_cert.der().clone()], key)
            .map_err(|e| format!("cannot configure TLS: {e}"))?;
        // The server speaks HTTP/1.1 only; clients offering h2 as well settle on it.
        server.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(TlsIdentity {
            ca_pem: ca_cert.pem(),
            ca_der: ca_cert.der().clone(),
            server: Arc::new(server),
        })
    }

    /// The CA certificate, PEM.
    pub(crate) fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// What the accept loop hands every connection to.
    pub(crate) fn acceptor(&self) -> tokio_rustls::TlsAcceptor {
        tokio_rustls::TlsAcceptor::from(self.server.clone())
    }

    /// A client configuration that trusts this CA only (and offers HTTP/1.1).
    pub(crate) fn client_config(&self) -> Result<Arc<ClientConfig>, String> {
        let mut roots = RootCertStore::empty();
        roots
            .add(self.ca_der.clone())
            .map_err(|e| format!("the generated CA is not a valid trust anchor: {e}"))?;
        let mut config = ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("cannot configure TLS: {e}"))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }
}
