//! TLS like a real API server's: the cluster's own CA, a certificate for the loopback names, kube-rs
//! trusting the CA through the kubeconfig, bearer tokens refused with 401, and plain HTTP on request.

use std::net::{IpAddr, Ipv4Addr};

use bytes::Bytes;
use hyper::StatusCode;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams};
use rustls::pki_types::ServerName;
use tale_sandbox_testcluster::TestCluster;

use crate::common::*;

/// A kube-rs client from the cluster's kubeconfig after `edit` changed it.
async fn client_from_edited_kubeconfig(
    cluster: &TestCluster,
    edit: impl FnOnce(&mut serde_json::Value),
) -> kube::Client {
    let mut kubeconfig: serde_json::Value = serde_json::from_str(&cluster.kubeconfig()).unwrap();
    edit(&mut kubeconfig);
    let kubeconfig = kube::config::Kubeconfig::from_yaml(&kubeconfig.to_string()).unwrap();
    let config = kube::Config::from_custom_kubeconfig(
        kubeconfig,
        &kube::config::KubeConfigOptions::default(),
    )
    .await
    .unwrap();
    kube::Client::try_from(config).unwrap()
}

/// Whether a TLS handshake with the cluster succeeds when the client trusts `config` and expects the
/// certificate to name `name`.
async fn handshake(
    cluster: &TestCluster,
    config: std::sync::Arc<rustls::ClientConfig>,
    name: ServerName<'static>,
) -> Result<(), String> {
    let stream = tokio::net::TcpStream::connect(("127.0.0.1", cluster.port()))
        .await
        .map_err(|e| e.to_string())?;
    tokio_rustls::TlsConnector::from(config)
        .connect(name, stream)
        .await
        .map(drop)
        .map_err(|e| e.to_string())
}

#[tokio::test]
async fn the_cluster_serves_https_with_its_own_ca_and_kube_rs_trusts_it_through_the_kubeconfig() {
    let cluster = cluster_with(|_| {}).await;
    assert_eq!(cluster.url(), format!("https://127.0.0.1:{}", cluster.port()));
    let ca = cluster.ca_pem().expect("a CA over TLS");
    assert!(ca.starts_with("-----BEGIN CERTIFICATE-----"), "{ca}");
    let kubeconfig: serde_json::Value = serde_json::from_str(&cluster.kubeconfig()).unwrap();
    let server = &kubeconfig["clusters"][0]["cluster"];
    assert_eq!(server["server"], cluster.url());
    assert!(server.get("insecure-skip-tls-verify").is_none(), "TLS is verified: {server}");
    use base64::Engine as _;
    let ca_data = base64::engine::general_purpose::STANDARD
        .decode(server["certificate-authority-data"].as_str().unwrap())
        .unwrap();
    assert_eq!(ca_data, ca.as_bytes());

    let pods: Api<Pod> = Api::namespaced(cluster.kube_client().await.unwrap(), "default");
    run_pod(&cluster, "over-tls", tale_sandbox_testcluster::Scenario::default()).await;
    let names: Vec<String> = pods
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .filter_map(|p| p.metadata.name)
        .collect();
    assert_eq!(names, ["over-tls"]);

    let path = temp_path("ca.crt");
    cluster.write_ca_file(&path).unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), ca);
    let _ = std::fs::remove_file(path);
}

#[tokio::test]
async fn the_certificate_names_the_loopback_addresses_and_localhost_and_only_its_own_ca_vouches_for_it()
 {
    let cluster = cluster_with(|_| {}).await;
    let trusted = cluster.tls_client_config().unwrap();
    for name in [
        ServerName::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST).into()),
        ServerName::IpAddress(IpAddr::V6(std::net::Ipv6Addr::LOCALHOST).into()),
        ServerName::try_from("localhost").unwrap(),
    ] {
        handshake(&cluster, trusted.clone(), name.clone())
            .await
            .unwrap_or_else(|e| panic!("{name:?}: {e}"));
    }
    let other_name =
        handshake(&cluster, trusted, ServerName::try_from("example.com").unwrap()).await;
    assert!(
        other_name.is_err_and(|e| e.contains("certificate")),
        "a name the certificate does not carry is refused"
    );
    // Each cluster makes its own CA: one cluster's CA does not vouch for another.
    let other = cluster_with(|_| {}).await;
    assert_ne!(other.ca_pem(), cluster.ca_pem());
    let name = ServerName::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST).into());
    let foreign = handshake(&cluster, other.tls_client_config().unwrap(), name).await;
    assert!(
        foreign.as_ref().is_err_and(|e| e.contains("UnknownIssuer")),
        "an unknown CA is refused: {foreign:?}"
    );
    // kube-rs without the CA refuses the server too.
    let client = client_from_edited_kubeconfig(&cluster, |k| {
        k["clusters"][0]["cluster"].as_object_mut().unwrap().remove("certificate-authority-data");
    })
    .await;
    let pods: Api<Pod> = Api::namespaced(client, "default");
    assert!(pods.list(&ListParams::default()).await.is_err());
}

#[tokio::test]
async fn with_a_token_every_request_but_the_control_routes_needs_it_and_kube_rs_gets_401_with_a_wrong_one()
 {
    let cluster = cluster_with(|c| c.token = Some("s3cret".into())).await;
    let pods: Api<Pod> = Api::namespaced(cluster.kube_client().await.unwrap(), "default");
    assert!(
        pods.list(&ListParams::default()).await.unwrap().items.is_empty(),
        "the kubeconfig carries the token"
    );

    let wrong = client_from_edited_kubeconfig(&cluster, |k| {
        k["users"][0]["user"]["token"] = "wrong".into()
    })
    .await;
    let error =
        Api::<Pod>::namespaced(wrong, "default").list(&ListParams::default()).await.unwrap_err();
    match error {
        kube::Error::Api(status) => {
            assert_eq!((status.code, status.reason.as_str()), (401, "Unauthorized"))
        }
        other => panic!("expected a 401 Status, got {other:?}"),
    }
    let anonymous =
        client_from_edited_kubeconfig(&cluster, |k| k["users"][0]["user"] = serde_json::json!({}))
            .await;
    assert!(
        matches!(anonymous.apiserver_version().await, Err(kube::Error::Api(s)) if s.code == 401)
    );

    for path in
        ["/version", "/healthz", "/api", "/api/v1/namespaces/default/secrets", "/no/such/path"]
    {
        let raw = get(&cluster, path).await;
        assert_eq!(raw.status, StatusCode::UNAUTHORIZED, "{path}: {}", raw.text());
        assert_eq!(raw.json()["reason"], "Unauthorized");
    }
    let bearer = [("authorization", "Bearer s3cret")];
    assert_eq!(
        request(&cluster, "GET", "/version", &bearer, Bytes::new()).await.unwrap().status,
        StatusCode::OK
    );
    assert_eq!(
        get(&cluster, "/sim/v1/metrics").await.status,
        StatusCode::OK,
        "control routes stay open"
    );
    assert_eq!(get(&cluster, "/sim/v1/no-such-control").await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn plain_http_stays_available_as_a_setting() {
    let cluster = cluster_with(|c| {
        c.plain_http = true;
        c.token = Some("t".into());
    })
    .await;
    assert_eq!(cluster.url(), format!("http://127.0.0.1:{}", cluster.port()));
    assert!(cluster.ca_pem().is_none() && cluster.tls_client_config().is_none());
    assert!(cluster.write_ca_file(temp_path("none.crt")).is_err());
    let kubeconfig: serde_json::Value = serde_json::from_str(&cluster.kubeconfig()).unwrap();
    assert_eq!(kubeconfig["clusters"][0]["cluster"]["insecure-skip-tls-verify"], true);
    let pods: Api<Pod> = Api::namespaced(cluster.kube_client().await.unwrap(), "default");
    assert!(pods.list(&ListParams::default()).await.unwrap().items.is_empty());
    assert_eq!(
        get(&cluster, "/api/v1/namespaces/default/pods").await.status,
        StatusCode::UNAUTHORIZED
    );
    // A TLS client gets no handshake from a plain HTTP server.
    let tls_cluster = cluster_with(|_| {}).await;
    let name = ServerName::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST).into());
    assert!(handshake(&cluster, tls_cluster.tls_client_config().unwrap(), name).await.is_err());
}
