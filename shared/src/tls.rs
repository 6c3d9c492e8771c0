//! The TLS settings of every HTTPS client in a process (AWS, the Telegram Bot API, Twilio):
//! rustls on ring, trusting the platform's root certificates, built once and shared.
//!
//! The roots are read the way Go's `crypto/x509` reads them on Linux: the platform's CA
//! bundle file when there is one, its certificate directories only when there is not.
//! Distributions build the bundle from the files in those directories, so reading both
//! parses every root twice; on Debian that is some 150 more files to open at every cold
//! start. `SSL_CERT_FILE` and `SSL_CERT_DIR`, when set, are honoured as OpenSSL honours them.

use rustls::ClientConfig;
use rustls::pki_types::CertificateDer;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

/// The settings, built on first use; an error (no root certificate found) is kept too,
/// so every client reports the same one.
pub fn client_config() -> Result<Arc<ClientConfig>, String> {
    static CONFIG: OnceLock<Result<Arc<ClientConfig>, String>> = OnceLock::new();
    CONFIG.get_or_init(build).clone()
}

fn build() -> Result<Arc<ClientConfig>, String> {
    let mut roots = rustls::RootCertStore::empty();
    let (added, _unparsable) = roots.add_parsable_certificates(platform_roots());
    if added == 0 {
        return Err(
            "no root certificate found on this system: install the CA bundle \
             (ca-certificates) or point SSL_CERT_FILE at one"
                .into(),
        );
    }
    let config =
        ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("TLS settings: {e}"))?
            .with_root_certificates(roots)
            .with_no_client_auth();
    Ok(Arc::new(config))
}

fn platform_roots() -> Vec<CertificateDer<'static>> {
    let set_by_environment =
        std::env::var_os("SSL_CERT_FILE").is_some() || std::env::var_os("SSL_CERT_DIR").is_some();
    roots_from(openssl_probe::probe().cert_file, set_by_environment)
}

/// The roots in `bundle`, or wherever OpenSSL would look when there is no bundle or the
/// environment names the places.
fn roots_from(bundle: Option<PathBuf>, set_by_environment: bool) -> Vec<CertificateDer<'static>> {
    let found = match bundle {
        Some(bundle) if !set_by_environment => {
            rustls_native_certs::load_certs_from_paths(Some(&bundle), None)
        }
        _ => rustls_native_certs::load_native_certs(),
    };
    for error in &found.errors {
        tracing::warn!(%error, "a root certificate could not be read");
    }
    found.certs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_settings_are_built_once_for_every_client() {
        let first = client_config().expect("this machine has a CA bundle");
        assert!(first.alpn_protocols.is_empty());
        let again = client_config().expect("the same settings");
        assert!(Arc::ptr_eq(&first, &again));
    }

    #[test]
    fn the_bundle_alone_is_read_unless_the_environment_names_the_places() {
        let system = openssl_probe::probe()
            .cert_file
            .expect("this machine has a CA bundle file");
        let text = std::fs::read_to_string(&system).expect("the bundle is readable");
        let three: String = text
            .split_inclusive("-----END CERTIFICATE-----")
            .take(3)
            .collect();
        let dir = tempfile::tempdir().expect("a temp dir");
        let bundle = dir.path().join("ca-bundle.crt");
        std::fs::write(&bundle, three).expect("a small bundle");

        assert_eq!(roots_from(Some(bundle.clone()), false).len(), 3);
        let everywhere = roots_from(Some(bundle), true);
        assert!(everywhere.len() > 50, "{} roots", everywhere.len());
        assert!(roots_from(None, false).len() > 50);
    }
}
