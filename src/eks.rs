//! The EKS API (rest-json, SigV4-signed `GET`s, JSON answers), for `kubeconfig` and
//! `doctor`: DescribeCluster, and the access entries of a cluster. Every call goes
//! through the one retry loop; an answer is checked before it is believed.

use serde_json::Value;

use crate::credentials::Credentials;
use crate::endpoint::Endpoint;
use crate::error::{Error, HttpFailure, Result, ServiceError};
use crate::http;
use crate::log::vlog;
use crate::retry::Failed;
use crate::session::Session;
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
    /// How the cluster maps IAM identities to Kubernetes users
    /// (`accessConfig.authenticationMode`: `CONFIG_MAP`, `API_AND_CONFIG_MAP`, `API`),
    /// when the answer says.
    pub authentication_mode: Option<String>,
}

/// One signed `GET` of the EKS API at `path` (as sent: its labels percent-encoded) with
/// `query` (not yet encoded), its JSON answer (the error answer decoded as a
/// [`ServiceError`] of `operation` about `subject`).
fn get(
    s: &Session,
    ep: &Endpoint,
    creds: &Credentials,
    operation: &'static str,
    subject: &str,
    path: &str,
    query: &[(String, String)],
) -> Result<Value> {
    let path_and_query = if query.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{}", sigv4::encode_query(query))
    };
    let path_and_query = path_and_query.as_str();
    let what = format!("{operation} {subject}");
    let log = s.log();
    s.retrying(s.retry().max_attempts, &what, |attempt| {
        let signed = sigv4::sign_headers(
            &sigv4::Request {
                method: "GET",
                host: &ep.host(),
                path: &ep.path(path),
                query,
                headers: &[],
                body: b"",
            },
            creds,
            sigv4::Scope {
                time: s.clock().now(),
                region: &ep.signing_region,
                service: "eks",
            },
            sigv4::Settings::default(),
        );
        let mut headers = signed.headers;
        headers.push(("accept".into(), "application/json".into()));
        let sent_at = time::OffsetDateTime::now_utc();
        let resp = s
            .http()
            .send(&http::Request {
                method: "GET",
                url: &ep.url,
                path_and_query,
                headers: &headers,
                body: b"",
                allow_http: ep.overridden,
                direct: false,
                timeout: Some(attempt.timeout),
            })
            .map_err(|f| {
                f.at(&format!("endpoint {}", ep.join("/")))
                    .during(what.clone())
            })?;
        if let Some(d) = resp.header("date") {
            s.clock()
                .observe_date(log, d, sent_at, time::OffsetDateTime::now_utc());
        }
        vlog!(
            log,
            "{what}: HTTP {} (attempt {})",
            resp.status,
            attempt.number
        );
        let json: Value = serde_json::from_slice(&resp.body).unwrap_or(Value::Null);
        if resp.status == 200 {
            return Ok(json);
        }
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
        Err(Failed {
            error: Error::Service(Box::new(ServiceError {
                operation,
                subject: subject.to_owned(),
                status: resp.status,
                code,
                message,
                request_id: resp.header("x-amzn-requestid").unwrap_or("").to_owned(),
                hint: None,
            })),
            retry_after: resp.header("x-amz-retry-after").map(str::to_owned),
        })
    })
}

/// What is wrong with an answer: a [`HttpFailure::BadAnswer`] of `operation`.
fn bad_answer(operation: &str, subject: &str, why: String) -> Error {
    HttpFailure::BadAnswer(why).during(format!("{operation} {subject}"))
}

/// DescribeCluster of `name`, the answer checked before it is believed: its `arn` must
/// name this cluster in the region asked (and, when known, the account of the
/// credentials: DescribeCluster only sees the caller's own account), and its endpoint
/// must be https. A server that answers for another cluster would otherwise have its
/// endpoint written where this cluster's tokens go.
pub(crate) fn describe_cluster(
    s: &Session,
    ep: &Endpoint,
    creds: &Credentials,
    name: &str,
) -> Result<Cluster> {
    let path = format!("/clusters/{}", encode_segment(name));
    let json = get(s, ep, creds, "DescribeCluster", name, &path, &[]).map_err(|e| match e {
        // EKS is regional: the usual cause is another region than the cluster's.
        Error::Service(mut se) if se.code == NOT_FOUND => {
            se.hint = Some(format!(
                "no cluster {name} in {}, the region asked: give the cluster's region \
                 (--region or AWS_REGION)",
                ep.signing_region
            ));
            Error::Service(se)
        }
        e => e,
    })?;
    let c = &json["cluster"];
    let get = |k: &str| {
        c.get(k)
            .and_then(|v| v.as_str())
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    let missing = |k: &str| {
        // A cluster still being created has no endpoint yet: worth asking again later.
        Error::source(
            "EKS",
            format!(
                "DescribeCluster {name}: the answer has no cluster {k} (is the cluster still \
                 being created?)"
            ),
        )
    };
    let arn = get("arn").ok_or_else(|| missing("arn"))?;
    check_arn(&arn, name, &ep.signing_region, creds.account_id.as_deref()).map_err(|why| {
        bad_answer(
            "DescribeCluster",
            name,
            format!("the answer's arn {arn:?} {why}"),
        )
    })?;
    let endpoint = get("endpoint").ok_or_else(|| missing("endpoint"))?;
    match crate::url::parse(&endpoint) {
        Ok(u) if u.scheme == crate::url::Scheme::Https => {}
        _ => {
            return Err(bad_answer(
                "DescribeCluster",
                name,
                format!(
                    "the answer's endpoint {:?} is not an https:// URL: no token is sent there",
                    crate::url::redacted(&endpoint)
                ),
            ))
        }
    }
    if get("name").is_some_and(|n| n != name) {
        return Err(bad_answer(
            "DescribeCluster",
            name,
            "the answer's name is another cluster's".into(),
        ));
    }
    Ok(Cluster {
        name: name.to_owned(),
        arn,
        endpoint,
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
        authentication_mode: c["accessConfig"]["authenticationMode"]
            .as_str()
            .map(str::to_owned),
    })
}

/// The error code of an absent cluster or access entry.
const NOT_FOUND: &str = "ResourceNotFoundException";

/// The most pages of a List call read (100 items each by default).
const MAX_PAGES: usize = 100;

/// `/clusters/NAME/access-entries`, and `/PRINCIPAL` for one entry (percent-encoded).
fn entries_path(cluster: &str, principal: Option<&str>) -> String {
    let mut path = format!("/clusters/{}/access-entries", encode_segment(cluster));
    if let Some(p) = principal {
        path.push('/');
        path.push_str(&encode_segment(p));
    }
    path
}

/// DescribeAccessEntry of `principal` (an IAM role or user ARN, path and all) on
/// `cluster`: its `accessEntry`, or `None` when the cluster has none for it.
pub(crate) fn describe_access_entry(
    s: &Session,
    ep: &Endpoint,
    creds: &Credentials,
    cluster: &str,
    principal: &str,
) -> Result<Option<Value>> {
    let path = entries_path(cluster, Some(principal));
    match get(s, ep, creds, "DescribeAccessEntry", principal, &path, &[]) {
        Ok(mut v) => Ok(Some(v["accessEntry"].take())),
        Err(Error::Service(se)) if se.code == NOT_FOUND => Ok(None),
        Err(e) => Err(e),
    }
}

/// Every page of a List call on `cluster`: ListAccessEntries (the principals' ARNs), or
/// with `principal`, ListAssociatedAccessPolicies of its entry (the policies).
pub(crate) fn list(
    s: &Session,
    ep: &Endpoint,
    creds: &Credentials,
    cluster: &str,
    principal: Option<&str>,
) -> Result<Vec<Value>> {
    let (operation, key, path) = match principal {
        None => (
            "ListAccessEntries",
            "accessEntries",
            entries_path(cluster, None),
        ),
        Some(p) => (
            "ListAssociatedAccessPolicies",
            "associatedAccessPolicies",
            entries_path(cluster, Some(p)) + "/access-policies",
        ),
    };
    let mut items = Vec::new();
    let mut query = Vec::new();
    for _ in 0..MAX_PAGES {
        let mut page = get(
            s,
            ep,
            creds,
            operation,
            principal.unwrap_or(cluster),
            &path,
            &query,
        )?;
        if let Value::Array(a) = page[key].take() {
            items.extend(a);
        }
        match page["nextToken"].as_str() {
            Some(t) if !t.is_empty() => query = vec![("nextToken".into(), t.to_owned())],
            _ => return Ok(items),
        }
    }
    Err(bad_answer(
        operation,
        cluster,
        format!("more than {MAX_PAGES} pages"),
    ))
}

/// Whether `arn` is `arn:PARTITION:eks:REGION:ACCOUNT:cluster/NAME` for `name` in
/// `region` (and `account` when known); why not.
fn check_arn(
    arn: &str,
    name: &str,
    region: &str,
    account: Option<&str>,
) -> std::result::Result<(), String> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let [prefix, partition, service, arn_region, arn_account, resource] = parts.as_slice() else {
        return Err("is not an ARN".into());
    };
    if *prefix != "arn" || *service != "eks" || !crate::endpoint::is_partition(partition) {
        return Err("is not an EKS ARN".into());
    }
    if resource.strip_prefix("cluster/") != Some(name) {
        return Err(format!("names another cluster than {name:?}"));
    }
    if *arn_region != region {
        return Err(format!("is in another region than {region}, the one asked"));
    }
    if arn_account.len() != 12 || !arn_account.bytes().all(|b| b.is_ascii_digit()) {
        return Err("has no 12-digit account id".into());
    }
    if let Some(account) = account {
        if *arn_account != account {
            return Err(format!(
                "is in another account than {account}, the credentials' own"
            ));
        }
    }
    Ok(())
}

/// A cluster name as one path segment: RFC 3986 unreserved characters stay, the rest is
/// percent-encoded (names are `[A-Za-z0-9_-]` in EKS; this keeps any other id in its
/// segment).
fn encode_segment(name: &str) -> String {
    let mut out = String::new();
    crate::sigv4::uri_encode(name, false, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_arn_of_the_cluster_asked_is_believed() {
        let ok = "arn:aws:eks:us-east-1:222222222222:cluster/dev";
        assert_eq!(check_arn(ok, "dev", "us-east-1", None), Ok(()));
        assert_eq!(
            check_arn(ok, "dev", "us-east-1", Some("222222222222")),
            Ok(())
        );
        for (arn, name, region, account) in [
            (
                "arn:aws:eks:us-east-1:222222222222:cluster/prod",
                "dev",
                "us-east-1",
                None,
            ),
            (
                "arn:aws:eks:eu-west-1:222222222222:cluster/dev",
                "dev",
                "us-east-1",
                None,
            ),
            (ok, "dev", "us-east-1", Some("333333333333")),
            (
                "arn:aws:iam::222222222222:role/dev",
                "dev",
                "us-east-1",
                None,
            ),
            (
                "arn:aws:eks:us-east-1:222222222222:cluster/dev/x",
                "dev",
                "us-east-1",
                None,
            ),
            ("not an arn", "dev", "us-east-1", None),
            // The account field, when the credentials' account is not known.
            (
                "arn:aws:eks:us-east-1::cluster/dev",
                "dev",
                "us-east-1",
                None,
            ),
            (
                "arn:aws:eks:us-east-1:*:cluster/dev",
                "dev",
                "us-east-1",
                None,
            ),
            (
                "arn:aws:eks:us-east-1:22222222222x:cluster/dev",
                "dev",
                "us-east-1",
                None,
            ),
            (
                "arn:aws:eks:us-east-1:2222222222222:cluster/dev",
                "dev",
                "us-east-1",
                None,
            ),
        ] {
            assert!(check_arn(arn, name, region, account).is_err(), "{arn}");
        }
    }
}
