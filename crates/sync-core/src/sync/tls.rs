//! TLS for the device client: rustls on the `ring` provider (no aws-lc, so the Android
//! and iOS cross-builds need no cmake), trusting Mozilla's root certificates
//! (`webpki-roots`, the same on every platform, with no platform code to initialize)
//! and any extra certificate authority the device is given (a partnership's own CA,
//! a test CA).

use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;

use super::SyncError;

/// The client's TLS configuration: Mozilla's roots plus every certificate in
/// `extra_roots_pem` (PEM text, one or more `CERTIFICATE` blocks).
pub(crate) fn client_config(
    extra_roots_pem: Option<&str>,
) -> Result<rustls::ClientConfig, SyncError> {
    let mut roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    if let Some(pem) = extra_roots_pem {
        let mut added = 0;
        for cert in CertificateDer::pem_slice_iter(pem.as_bytes()) {
            let cert = cert.map_err(|e| bad_roots(&e.to_string()))?;
            roots.add(cert).map_err(|e| bad_roots(&e.to_string()))?;
            added += 1;
        }
        if added == 0 {
            return Err(bad_roots("no CERTIFICATE block in the PEM text"));
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| SyncError::Protocol(format!("TLS: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    // The client speaks HTTP/1.1 only (reqwest is built without HTTP/2).
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

fn bad_roots(why: &str) -> SyncError {
    SyncError::Protocol(format!("the extra root certificates cannot be read: {why}"))
}

/// The TLS failure inside a request's error, if that is why it failed: a certificate
/// the client does not trust, a name that does not match, a handshake refused.
pub(crate) fn tls_failure(error: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut next = Some(error);
    while let Some(e) = next {
        if let Some(tls) = e.downcast_ref::<rustls::Error>() {
            return Some(tls.to_string());
        }
        // An io::Error's `source` skips the error it wraps (the connector wraps the
        // rustls error in two): go into the wrapped one instead.
        next = match e
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            Some(inner) => Some(inner as &(dyn std::error::Error + 'static)),
            None => e.source(),
        };
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_with_the_built_in_roots_and_refuses_bad_extra_roots() {
        let config = client_config(None).unwrap();
        assert_eq!(config.alpn_protocols, vec![b"http/1.1".to_vec()]);
        for bad in ["", "not a certificate"] {
            match client_config(Some(bad)) {
                Err(SyncError::Protocol(message)) => {
                    assert!(message.contains("extra root certificates"), "{message}")
                }
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn finds_a_rustls_error_wrapped_in_an_io_error() {
        let tls = rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer);
        // As reqwest's connector reports it: an io::Error in an io::Error.
        let io = std::io::Error::other(std::io::Error::new(std::io::ErrorKind::InvalidData, tls));
        let found = tls_failure(&io).unwrap();
        assert!(found.contains("UnknownIssuer"), "{found}");
        assert_eq!(tls_failure(&std::io::Error::other("reset")), None);
    }
}
