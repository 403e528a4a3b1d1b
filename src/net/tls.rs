//! rustls configurations for the Passport HTTP side: the nexus's certificate and key,
//! and what the client's login trusts. Always the ring provider, named here rather than
//! taken from the process default, so that another crate enabling aws-lc in the same
//! binary cannot make the choice ambiguous.

use std::path::Path;
use std::sync::Arc;

use rustls::crypto::CryptoProvider;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use crate::error::Error;
use crate::hresult::HResult;

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A file argument that cannot be used: the argument's name, the path and why.
fn bad_file(what: &str, path: &Path, why: impl std::fmt::Display) -> Error {
    Error::api(HResult::E_INVALIDARG, format!("{what} {}: {why}", path.display()))
}

/// Every certificate of a PEM file; at least one.
fn certificates(what: &str, path: &Path) -> Result<Vec<CertificateDer<'static>>, Error> {
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| bad_file(what, path, e))?;
    if certs.is_empty() {
        return Err(bad_file(what, path, "no PEM certificate in it"));
    }
    Ok(certs)
}

/// The nexus's TLS: the certificate chain in `cert` (PEM, leaf first) and its private
/// key in `key` (PEM: PKCS#8, PKCS#1 or SEC1). HTTP/1.1 only, as the nexus speaks no other.
pub fn server_config(cert: &Path, key: &Path) -> Result<Arc<rustls::ServerConfig>, Error> {
    let chain = certificates("tls_cert", cert)?;
    let key_der = PrivateKeyDer::from_pem_file(key).map_err(|e| bad_file("tls_key", key, e))?;
    let mut config = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::api(HResult::E_FAIL, format!("TLS set-up: {e}")))?
        .with_no_client_auth()
        .with_single_cert(chain, key_der)
        .map_err(|e| {
            bad_file(
                "tls_key",
                key,
                format!("does not go with tls_cert {}: {e}", cert.display()),
            )
        })?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// What the client's Passport login trusts: the web PKI (Mozilla's roots, built in, so
/// the machine's store plays no part) plus every certificate in `extra_ca`, a PEM file
/// (a test's self-signed certificate, a private CA).
pub fn client_config(extra_ca: Option<&Path>) -> Result<rustls::ClientConfig, Error> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(path) = extra_ca {
        for cert in certificates("nexus_ca", path)? {
            roots
                .add(cert)
                .map_err(|e| bad_file("nexus_ca", path, format!("not a CA certificate rustls accepts: {e}")))?;
        }
    }
    Ok(rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::api(HResult::E_FAIL, format!("TLS set-up: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth())
}
