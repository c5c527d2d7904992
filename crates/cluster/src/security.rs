//! `[security]` TLS for every connection to the cluster: gRPC channels to PD and the
//! stores, and PD's HTTP API. Without a CA the connections are plain.

use crate::error::{ClusterError, Result};
use lightning_config::Security;
use std::path::Path;
use std::time::Duration;
use tonic::transport::{Certificate, ClientTlsConfig, Endpoint, Identity};

/// The PEM files of `[security]`, read once.
#[derive(Clone, Debug, Default)]
pub struct Tls {
    ca: Vec<u8>,
    identity: Option<(Vec<u8>, Vec<u8>)>,
}

fn read(path: &str) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|source| ClusterError::TlsFile {
        path: Path::new(path).to_path_buf(),
        source,
    })
}

impl Tls {
    /// Reads `ca-path` (and `cert-path` + `key-path` when both are set); `None` when no
    /// CA is configured, as upstream treats an empty `ca-path` as "no TLS".
    pub fn from_security(sec: &Security) -> Result<Option<Tls>> {
        if sec.ca_path.is_empty() {
            return Ok(None);
        }
        let ca = read(&sec.ca_path)?;
        let identity = match (sec.cert_path.is_empty(), sec.key_path.is_empty()) {
            (true, true) => None,
            (false, false) => Some((read(&sec.cert_path)?, read(&sec.key_path)?)),
            _ => {
                return Err(ClusterError::Tls(
                    "cert-path and key-path must be set together".into(),
                ))
            }
        };
        Ok(Some(Tls { ca, identity }))
    }

    fn grpc(&self) -> ClientTlsConfig {
        let mut cfg = ClientTlsConfig::new().ca_certificate(Certificate::from_pem(&self.ca));
        if let Some((cert, key)) = &self.identity {
            cfg = cfg.identity(Identity::from_pem(cert, key));
        }
        cfg
    }
}

/// Connection settings shared by every client of one cluster.
#[derive(Clone, Debug, Default)]
pub struct Transport {
    tls: Option<Tls>,
}

/// Largest gRPC message accepted (PD's ScanRegions answers can be large; BR's pdutil
/// allows 128 MiB).
pub const MAX_MESSAGE_SIZE: usize = 128 << 20;

impl Transport {
    /// Plain or TLS connections per `tls`.
    pub fn new(tls: Option<Tls>) -> Self {
        Transport { tls }
    }

    /// Plain connections.
    pub fn plain() -> Self {
        Transport::default()
    }

    /// Whether connections use TLS.
    pub fn is_tls(&self) -> bool {
        self.tls.is_some()
    }

    /// `addr` with a scheme: kept when given, else `https://` with TLS and `http://`
    /// without (as BR's pdutil NewPdController does for PD addresses).
    pub fn url(&self, addr: &str) -> String {
        if addr.starts_with("http://") || addr.starts_with("https://") {
            addr.trim_end_matches('/').to_string()
        } else if self.is_tls() {
            format!("https://{}", addr.trim_end_matches('/'))
        } else {
            format!("http://{}", addr.trim_end_matches('/'))
        }
    }

    /// A lazily connecting gRPC endpoint for `addr`.
    pub fn endpoint(&self, addr: &str) -> Result<Endpoint> {
        let url = self.url(addr);
        let bad = |reason: String| ClusterError::Address {
            addr: addr.to_string(),
            reason,
        };
        let mut ep = Endpoint::from_shared(url)
            .map_err(|e| bad(e.to_string()))?
            .connect_timeout(Duration::from_secs(5))
            .tcp_nodelay(true)
            // Lightning's gRPC keepalive (local.go gRPCKeepAliveTime/Timeout).
            .http2_keep_alive_interval(Duration::from_secs(600))
            .keep_alive_timeout(Duration::from_secs(300));
        if let Some(tls) = &self.tls {
            ep = ep.tls_config(tls.grpc()).map_err(|e| bad(e.to_string()))?;
        }
        Ok(ep)
    }

    /// An HTTP client for PD's API (rustls, trusting only the configured CA).
    pub fn http_client(&self) -> Result<reqwest::Client> {
        let mut b = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .connect_timeout(Duration::from_secs(5));
        if let Some(tls) = &self.tls {
            let ca = reqwest::Certificate::from_pem(&tls.ca)
                .map_err(|e| ClusterError::Tls(format!("CA: {e}")))?;
            b = b.use_rustls_tls().add_root_certificate(ca);
            if let Some((cert, key)) = &tls.identity {
                let pem = [cert.as_slice(), b"\n", key.as_slice()].concat();
                let id = reqwest::Identity::from_pem(&pem)
                    .map_err(|e| ClusterError::Tls(format!("client identity: {e}")))?;
                b = b.identity(id);
            }
        }
        b.build()
            .map_err(|e| ClusterError::Tls(format!("HTTP client: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_ca_means_plain_and_missing_files_are_named() {
        assert!(Tls::from_security(&Security::default()).unwrap().is_none());
        let sec = Security {
            ca_path: "/nonexistent/ca.pem".into(),
            ..Default::default()
        };
        match Tls::from_security(&sec) {
            Err(ClusterError::TlsFile { path, .. }) => {
                assert_eq!(path, Path::new("/nonexistent/ca.pem"))
            }
            other => panic!("{other:?}"),
        }
        let plain = Transport::plain();
        assert_eq!(plain.url("127.0.0.1:2379"), "http://127.0.0.1:2379");
        assert_eq!(plain.url("https://pd:2379/"), "https://pd:2379");
        let tls = Transport::new(Some(Tls::default()));
        assert_eq!(tls.url("pd:2379"), "https://pd:2379");
        assert!(plain.endpoint("not a url").is_err());
    }

    #[test]
    fn cert_without_key_is_refused() {
        let dir = std::env::temp_dir().join(format!("cluster-tls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let ca = dir.join("ca.pem");
        std::fs::write(
            &ca,
            b"-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        let sec = Security {
            ca_path: ca.display().to_string(),
            cert_path: ca.display().to_string(),
            ..Default::default()
        };
        assert!(matches!(
            Tls::from_security(&sec),
            Err(ClusterError::Tls(_))
        ));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
