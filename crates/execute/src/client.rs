//! Building the `kube::Client` the backend talks through (spec §8.1).
//!
//! Three sources, in this order: an explicit API server and bearer token from
//! `SANDBOX_K8S_SERVER` + `SANDBOX_K8S_TOKEN` (CA from `SANDBOX_K8S_CAFILE`,
//! otherwise certificates are not verified and a warning says so); the
//! in-cluster ServiceAccount; a kubeconfig (`KUBECONFIG` or `~/.kube/config`).
//! [`ClientOptions`] can instead name a kubeconfig file, context and
//! namespace explicitly. The environment is read through a function argument
//! so tests never touch the process environment.
//!
//! Every client built here has kube's own retry layer switched off: whether a
//! failed call is retried is the execute flow's decision (spec §2.2), and a
//! second, invisible retry loop underneath would break its attempt counts.

use std::path::{Path, PathBuf};

use kube::config::{KubeConfigOptions, Kubeconfig};
use secrecy::SecretString;

/// Where the in-cluster ServiceAccount credentials are mounted.
const SERVICE_ACCOUNT_DIR: &str = "/var/run/secrets/kubernetes.io/serviceaccount";

/// Explicit client settings; all optional. Without a kubeconfig path the
/// environment decides (spec §8.1).
#[derive(Debug, Clone, Default)]
pub struct ClientOptions {
    /// Read this kubeconfig file instead of looking at the environment.
    pub kubeconfig: Option<PathBuf>,
    /// Use this kubeconfig context instead of the current one.
    pub context: Option<String>,
    /// The namespace the client defaults to. The backend always names
    /// `cfg.k8s.namespace` explicitly, so this only matters for other users
    /// of the client.
    pub namespace: Option<String>,
}

/// Why no client could be built.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// `SANDBOX_K8S_SERVER` is not a URL.
    #[error("SANDBOX_K8S_SERVER is not a valid URL: {0}")]
    InvalidServer(String),
    /// `SANDBOX_K8S_CAFILE` could not be read or holds no certificate.
    #[error("cannot read SANDBOX_K8S_CAFILE {path}: {message}")]
    CaFile {
        /// The file.
        path: String,
        /// What went wrong.
        message: String,
    },
    /// The kubeconfig could not be read or used.
    #[error("kubeconfig: {0}")]
    Kubeconfig(String),
    /// Neither in-cluster credentials nor a kubeconfig were found.
    #[error(
        "no Kubernetes credentials: set SANDBOX_K8S_SERVER + SANDBOX_K8S_TOKEN, run in a pod with a ServiceAccount, or provide a kubeconfig ({0})"
    )]
    NoCredentials(String),
    /// kube could not build an HTTP client from the configuration.
    #[error("cannot build the Kubernetes client: {0}")]
    Build(String),
}

/// Builds a client from `options` and the environment `env` (spec §8.1).
///
/// `env` answers for a variable name, as `std::env::var(name).ok()` would;
/// an empty value counts as unset.
pub async fn make_client(
    options: &ClientOptions,
    env: impl Fn(&str) -> Option<String>,
) -> Result<kube::Client, ClientError> {
    let config = make_config(options, env).await?;
    kube::Client::try_from(config).map_err(|e| ClientError::Build(e.to_string()))
}

/// The `kube::Config` [`make_client`] uses, for callers that want to adjust it.
pub async fn make_config(
    options: &ClientOptions,
    env: impl Fn(&str) -> Option<String>,
) -> Result<kube::Config, ClientError> {
    let env = |name: &str| env(name).filter(|v| !v.trim().is_empty());
    let mut config = if let Some(path) = &options.kubeconfig {
        from_kubeconfig_paths(std::slice::from_ref(path), options).await?
    } else if let (Some(server), Some(token)) =
        (env("SANDBOX_K8S_SERVER"), env("SANDBOX_K8S_TOKEN"))
    {
        explicit(&server, token, env("SANDBOX_K8S_CAFILE").as_deref())?
    } else if let Some(config) = in_cluster(&env)? {
        config
    } else {
        let paths = kubeconfig_paths(&env);
        if paths.is_empty() {
            return Err(ClientError::NoCredentials("no KUBECONFIG and no HOME".to_string()));
        }
        from_kubeconfig_paths(&paths, options)
            .await
            .map_err(|e| ClientError::NoCredentials(e.to_string()))?
    };
    if let Some(namespace) = &options.namespace {
        config.default_namespace = namespace.clone();
    }
    config.default_retry = false;
    Ok(config)
}

/// `SANDBOX_K8S_SERVER` + `SANDBOX_K8S_TOKEN`: one cluster, one bearer token.
fn explicit(
    server: &str,
    token: String,
    ca_file: Option<&str>,
) -> Result<kube::Config, ClientError> {
    let uri: http::Uri = server
        .parse()
        .map_err(|e: http::uri::InvalidUri| ClientError::InvalidServer(e.to_string()))?;
    let mut config = kube::Config::new(uri);
    config.auth_info.token = Some(SecretString::from(token));
    match ca_file {
        Some(path) => {
            config.root_cert = Some(
                read_pem_certs(Path::new(path))
                    .map_err(|message| ClientError::CaFile { path: path.to_string(), message })?,
            );
        }
        None => {
            // Same trade-off as the TypeScript client: without a CA the
            // connection is still encrypted but the server is not verified.
            tracing::warn!(
                "[sandbox.k8s] SANDBOX_K8S_CAFILE not set: the API server's TLS certificate is NOT verified"
            );
            config.accept_invalid_certs = true;
        }
    }
    Ok(config)
}

/// The DER certificates of a PEM bundle.
fn read_pem_certs(path: &Path) -> Result<Vec<Vec<u8>>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    let certs = pem_blocks(&text, "CERTIFICATE")?;
    if certs.is_empty() {
        return Err("no PEM certificate found".to_string());
    }
    Ok(certs)
}

/// Decodes every `-----BEGIN <label>-----` block of `text`.
fn pem_blocks(text: &str, label: &str) -> Result<Vec<Vec<u8>>, String> {
    use base64::Engine as _;
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(&begin) {
        let body_start = start + begin.len();
        let Some(stop) = rest[body_start..].find(&end) else {
            return Err(format!("unterminated {begin} block"));
        };
        let body: String =
            rest[body_start..body_start + stop].chars().filter(|c| !c.is_whitespace()).collect();
        let der = base64::engine::general_purpose::STANDARD
            .decode(body)
            .map_err(|e| format!("bad base64 in a PEM block: {e}"))?;
        out.push(der);
        rest = &rest[body_start + stop + end.len()..];
    }
    Ok(out)
}

/// The in-cluster configuration when `KUBERNETES_SERVICE_HOST`/`PORT` are set
/// and the ServiceAccount token is mounted; `None` when not in a cluster.
fn in_cluster(env: &impl Fn(&str) -> Option<String>) -> Result<Option<kube::Config>, ClientError> {
    let (Some(host), Some(port)) = (env("KUBERNETES_SERVICE_HOST"), env("KUBERNETES_SERVICE_PORT"))
    else {
        return Ok(None);
    };
    let dir = Path::new(SERVICE_ACCOUNT_DIR);
    let token_file = dir.join("token");
    if !token_file.exists() {
        return Ok(None);
    }
    // An IPv6 service host needs brackets in a URL.
    let host = if host.contains(':') { format!("[{host}]") } else { host };
    let uri: http::Uri = format!("https://{host}:{port}")
        .parse()
        .map_err(|e: http::uri::InvalidUri| ClientError::InvalidServer(e.to_string()))?;
    let mut config = kube::Config::new(uri);
    let ca_file = dir.join("ca.crt");
    config.root_cert =
        Some(read_pem_certs(&ca_file).map_err(|message| ClientError::CaFile {
            path: ca_file.display().to_string(),
            message,
        })?);
    // kube re-reads both files periodically, so rotated tokens and CAs are picked up.
    config.root_cert_file = Some(ca_file);
    config.auth_info.token_file = Some(token_file.display().to_string());
    if let Ok(namespace) = std::fs::read_to_string(dir.join("namespace")) {
        config.default_namespace = namespace.trim().to_string();
    }
    Ok(Some(config))
}

/// `KUBECONFIG` (a `:`-separated list) or `$HOME/.kube/config`.
fn kubeconfig_paths(env: &impl Fn(&str) -> Option<String>) -> Vec<PathBuf> {
    if let Some(list) = env("KUBECONFIG") {
        return std::env::split_paths(&list).filter(|p| !p.as_os_str().is_empty()).collect();
    }
    env("HOME").map(|home| vec![Path::new(&home).join(".kube").join("config")]).unwrap_or_default()
}

/// Reads and merges kubeconfig files (first file wins, as kubectl does).
async fn from_kubeconfig_paths(
    paths: &[PathBuf],
    options: &ClientOptions,
) -> Result<kube::Config, ClientError> {
    let mut merged: Option<Kubeconfig> = None;
    for path in paths {
        let next = Kubeconfig::read_from(path)
            .map_err(|e| ClientError::Kubeconfig(format!("{}: {e}", path.display())))?;
        merged = Some(match merged {
            None => next,
            Some(prev) => prev.merge(next).map_err(|e| ClientError::Kubeconfig(e.to_string()))?,
        });
    }
    let kubeconfig =
        merged.ok_or_else(|| ClientError::Kubeconfig("no kubeconfig file".to_string()))?;
    let kube_options = KubeConfigOptions { context: options.context.clone(), ..Default::default() };
    kube::Config::from_custom_kubeconfig(kubeconfig, &kube_options)
        .await
        .map_err(|e| ClientError::Kubeconfig(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_of(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| pairs.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string())
    }

    #[tokio::test]
    async fn explicit_server_and_token_skip_verification_without_ca() {
        let env = env_of(&[
            ("SANDBOX_K8S_SERVER", "https://10.0.0.1:6443"),
            ("SANDBOX_K8S_TOKEN", "t0ken"),
        ]);
        let config = make_config(&ClientOptions::default(), env).await.unwrap();
        assert_eq!(config.cluster_url.to_string(), "https://10.0.0.1:6443/");
        assert!(config.accept_invalid_certs);
        assert!(!config.default_retry);
        assert!(config.auth_info.token.is_some());
    }

    #[tokio::test]
    async fn a_missing_ca_file_is_an_error_naming_the_file() {
        let env = env_of(&[
            ("SANDBOX_K8S_SERVER", "https://10.0.0.1:6443"),
            ("SANDBOX_K8S_TOKEN", "t0ken"),
            ("SANDBOX_K8S_CAFILE", "/nonexistent/ca.pem"),
        ]);
        let err = make_config(&ClientOptions::default(), env).await.unwrap_err();
        assert!(err.to_string().contains("/nonexistent/ca.pem"), "{err}");
        assert!(!err.to_string().contains("t0ken"));
    }

    #[tokio::test]
    async fn only_a_server_falls_through_to_kubeconfig() {
        let env = env_of(&[
            ("SANDBOX_K8S_SERVER", "https://10.0.0.1:6443"),
            ("KUBECONFIG", "/nonexistent/kubeconfig"),
        ]);
        let err = make_config(&ClientOptions::default(), env).await.unwrap_err();
        assert!(matches!(err, ClientError::NoCredentials(_)), "{err}");
    }

    #[test]
    fn pem_blocks_decode_every_certificate() {
        let text = "junk\n-----BEGIN CERTIFICATE-----\nAAEC\nAw==\n-----END CERTIFICATE-----\n\
                    -----BEGIN CERTIFICATE-----\nBAU=\n-----END CERTIFICATE-----\n";
        assert_eq!(pem_blocks(text, "CERTIFICATE").unwrap(), vec![vec![0, 1, 2, 3], vec![4, 5]]);
    }
}
