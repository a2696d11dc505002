//! TLS for the toolset server on an intranet host, where seeds would otherwise cross the
//! network in clear text: a certificate and key from PEM files, or a self-signed certificate
//! made at start-up and kept in memory only (never written to disk), whose SHA-256
//! fingerprint is printed so users can check what their browser shows.

use std::path::Path;
use std::sync::Arc;

use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use sha2::{Digest, Sha256};

/// A ready server-side TLS configuration and what to tell the user about it.
pub struct TlsSetup {
    pub config: Arc<ServerConfig>,
    /// SHA-256 of the leaf certificate (DER), as colon-separated uppercase hex.
    pub fingerprint: String,
    pub self_signed: bool,
    /// The DNS names (and, self-signed, the addresses) the certificate is for: the server
    /// answers to them (see `web::host`).
    pub names: Vec<String>,
}

impl std::fmt::Debug for TlsSetup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsSetup")
            .field("fingerprint", &self.fingerprint)
            .field("self_signed", &self.self_signed)
            .field("names", &self.names)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("--tls-cert {path}: {message}")]
    Cert { path: String, message: String },
    #[error("--tls-key {path}: {message}")]
    Key { path: String, message: String },
    #[error("the certificate and key do not fit together: {0}")]
    Mismatch(String),
    #[error("cannot make a self-signed certificate: {0}")]
    SelfSigned(String),
}

/// SHA-256 of a DER certificate as `AB:CD:…`, the form browsers show.
pub fn fingerprint(der: &[u8]) -> String {
    Sha256::digest(der)
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

fn server_config(
    certs: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<Arc<ServerConfig>, TlsError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Mismatch(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| TlsError::Mismatch(e.to_string()))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// Loads a PEM certificate chain (leaf first) and a PEM private key.
pub fn from_files(cert: &Path, key: &Path) -> Result<TlsSetup, TlsError> {
    let cert_err = |message: String| TlsError::Cert {
        path: cert.display().to_string(),
        message,
    };
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .map_err(|e| cert_err(format!("cannot read PEM certificates: {e}")))?
        .collect::<Result<_, _>>()
        .map_err(|e| cert_err(format!("not a valid PEM certificate: {e}")))?;
    let Some(leaf) = certs.first() else {
        return Err(cert_err("no CERTIFICATE block found".into()));
    };
    let fingerprint = fingerprint(leaf);
    // A leaf rustls cannot parse fails below with its own message; no names then.
    let names = webpki::EndEntityCert::try_from(leaf)
        .map(|c| c.valid_dns_names().map(str::to_string).collect())
        .unwrap_or_default();
    let key = PrivateKeyDer::from_pem_file(key).map_err(|e| TlsError::Key {
        path: key.display().to_string(),
        message: format!("no usable PEM private key (PKCS#8, PKCS#1 or SEC1): {e}"),
    })?;
    Ok(TlsSetup {
        config: server_config(certs, key)?,
        fingerprint,
        self_signed: false,
        names,
    })
}

/// A fresh self-signed certificate for `names` (host names or IP addresses), in memory only.
pub fn self_signed(names: Vec<String>) -> Result<TlsSetup, TlsError> {
    let made = rcgen::generate_simple_self_signed(names.clone())
        .map_err(|e| TlsError::SelfSigned(e.to_string()))?;
    let der = made.cert.der().clone();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(made.signing_key.serialize_der()));
    Ok(TlsSetup {
        fingerprint: fingerprint(&der),
        config: server_config(vec![der], key)?,
        self_signed: true,
        names,
    })
}

/// The names a self-signed certificate should cover for a bind address: always the loopback
/// names, plus the bound address itself when it is a specific one.
pub fn names_for_bind(bind: &std::net::SocketAddr, extra: &[String]) -> Vec<String> {
    let mut names = vec![
        "localhost".to_string(),
        "127.0.0.1".to_string(),
        "::1".to_string(),
    ];
    let ip = bind.ip();
    if !ip.is_unspecified() && !ip.is_loopback() {
        names.push(ip.to_string());
    }
    for n in extra {
        if !names.contains(n) {
            names.push(n.clone());
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn self_signed_has_a_fingerprint() {
        let t = self_signed(vec!["localhost".into()]).unwrap();
        assert_eq!(t.fingerprint.len(), 32 * 3 - 1);
        assert!(t.self_signed);
    }
}
