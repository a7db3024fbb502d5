//! EKS DescribeCluster (a SigV4-signed `GET /clusters/NAME`, JSON answer), for
//! `eks-token kubeconfig`.

use crate::credentials::Credentials;
use crate::endpoint::Endpoint;
use crate::error::{Error, Result, ServiceError};
use crate::http::{self, Client};
use crate::sigv4;

/// What a kubeconfig needs of a cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cluster {
    /// Name.
    pub name: String,
    /// ARN (aws-cli names kubeconfig entries after it).
    pub arn: String,
    /// API server URL.
    pub endpoint: String,
    /// Base64 PEM of the cluster CA.
    pub ca_data: String,
    /// `ACTIVE`, `CREATING`, `UPDATING`, ... (when the answer says).
    pub status: Option<String>,
    /// The cluster id of a local cluster on AWS Outposts (tokens name it instead).
    pub outpost_id: Option<String>,
}

/// DescribeCluster.
pub(crate) fn describe_cluster(
    http: &Client,
    ep: &Endpoint,
    creds: &Credentials,
    name: &str,
) -> Result<Cluster> {
    let path_and_query = format!("/clusters/{}", encode_segment(name));
    let path = ep.path(&path_and_query);
    let signed = sigv4::sign_headers(
        &sigv4::Request {
            method: "GET",
            host: &ep.host(),
            path: &path,
            query: &[],
            headers: &[],
            body: b"",
        },
        creds,
        sigv4::Scope {
            time: http.now(),
            region: &ep.signing_region,
            service: "eks",
        },
        sigv4::Settings::default(),
    );
    let mut headers = signed.headers;
    headers.push(("accept".into(), "application/json".into()));
    let resp = http
        .send(&http::Request {
            method: "GET",
            url: &ep.url,
            path_and_query: &path_and_query,
            headers: &headers,
            body: b"",
            allow_http: ep.overridden,
            direct: false,
            timeout: None,
        })
        .map_err(|f| Error::Http {
            what: format!("DescribeCluster {name}"),
            detail: format!("{f} (endpoint {})", ep.join("/")),
            retryable: f.is_retryable(),
        })?;
    let json: serde_json::Value =
        serde_json::from_slice(&resp.body).unwrap_or(serde_json::Value::Null);
    if resp.status != 200 {
        let code = resp
            .header("x-amzn-errortype")
            .map(|t| t.split(':').next().unwrap_or(t).to_owned())
            .or_else(|| {
                json.get("__type")
                    .and_then(|t| t.as_str())
                    .map(|t| t.rsplit('#').next().unwrap_or(t).to_owned())
            })
            .unwrap_or_else(|| format!("HTTP {}", resp.status));
        let message = json
            .get("message")
            .or_else(|| json.get("Message"))
            .and_then(|m| m.as_str())
            .unwrap_or("no message")
            .to_owned();
        return Err(Error::Service(Box::new(ServiceError {
            operation: "DescribeCluster",
            subject: name.to_owned(),
            status: resp.status,
            code,
            message,
            request_id: resp.header("x-amzn-requestid").unwrap_or("").to_owned(),
            hint: None,
        })));
    }
    let c = &json["cluster"];
    let get = |k: &str| {
        c.get(k)
            .and_then(|v| v.as_str())
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    let missing = |k: &str| Error::Http {
        what: format!("DescribeCluster {name}"),
        detail: format!("the answer has no cluster {k} (is the cluster still being created?)"),
        retryable: true,
    };
    Ok(Cluster {
        name: get("name").unwrap_or_else(|| name.to_owned()),
        arn: get("arn").ok_or_else(|| missing("arn"))?,
        endpoint: get("endpoint").ok_or_else(|| missing("endpoint"))?,
        ca_data: c["certificateAuthority"]["data"]
            .as_str()
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
            .ok_or_else(|| missing("certificateAuthority.data"))?,
        status: get("status"),
        outpost_id: c
            .get("outpostConfig")
            .filter(|o| !o.is_null())
            .and_then(|_| get("id")),
    })
}

/// A cluster name as one path segment: RFC 3986 unreserved characters stay, the rest is
/// percent-encoded (names are `[A-Za-z0-9_-]` in EKS; this keeps any other id in its
/// segment).
fn encode_segment(name: &str) -> String {
    let mut out = String::new();
    crate::sigv4::uri_encode(name, false, &mut out);
    out
}
