//! EKS DescribeCluster (a SigV4-signed `GET /clusters/NAME`, JSON answer), for
//! `eks-token kubeconfig`.

use crate::credentials::Credentials;
use crate::endpoint::{self, Endpoint};
use crate::env::Env;
use crate::error::{Error, Result, StsError};
use crate::http::{self, Client};
use crate::profile::ProfileSet;
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
}

/// The EKS endpoint: `AWS_ENDPOINT_URL_EKS`, `AWS_ENDPOINT_URL`, the profile's `services`
/// `eks` / `endpoint_url`, else `https://eks[-fips].<region>.<suffix>`.
pub fn endpoint(env: &Env, profiles: &ProfileSet, profile: &str, region: &str) -> Result<Endpoint> {
    endpoint::validate_region(region)?;
    let ignore = env.flag("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")
        || profiles
            .get(profile, "ignore_configured_endpoint_urls")
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
    let url = if ignore {
        None
    } else {
        env.get("AWS_ENDPOINT_URL_EKS")
            .or_else(|| env.get("AWS_ENDPOINT_URL"))
            .map(str::to_owned)
            .or_else(|| profiles.service_setting(profile, "eks", "endpoint_url"))
            .or_else(|| {
                profiles
                    .get(profile, "endpoint_url")
                    .map(|v| v.trim().to_owned())
            })
    };
    if let Some(url) = url {
        let (scheme, host, base_path) = endpoint::parse_endpoint_url(&url)?;
        return Ok(Endpoint {
            scheme,
            host,
            base_path,
            signing_region: region.to_owned(),
            overridden: true,
            reason: format!("endpoint override {url}"),
        });
    }
    let p = endpoint::partition(region);
    let fips = if env.flag("AWS_USE_FIPS_ENDPOINT") {
        "-fips"
    } else {
        ""
    };
    let suffix = if env.flag("AWS_USE_DUALSTACK_ENDPOINT") {
        p.dualstack_suffix
    } else {
        p.dns_suffix
    };
    Ok(Endpoint {
        scheme: "https".into(),
        host: format!("eks{fips}.{region}.{suffix}"),
        base_path: String::new(),
        signing_region: region.to_owned(),
        overridden: false,
        reason: format!("EKS in {region}"),
    })
}

/// DescribeCluster.
pub fn describe_cluster(
    http: &Client,
    ep: &Endpoint,
    creds: &Credentials,
    name: &str,
) -> Result<Cluster> {
    let path = format!("{}/clusters/{name}", ep.base_path);
    let url = ep.url(&format!("/clusters/{name}"));
    let signed = sigv4::sign_headers(
        &sigv4::Request {
            method: "GET",
            host: &ep.host,
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
            url: &url,
            headers: &headers,
            body: b"",
            allow_http: ep.overridden,
            timeout: None,
        })
        .map_err(|f| Error::Http {
            what: format!("DescribeCluster {name}"),
            detail: format!("{f} (endpoint {})", ep.url("/")),
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
        return Err(Error::Sts(Box::new(StsError {
            operation: "DescribeCluster",
            role_arn: name.to_owned(),
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
    })
}
