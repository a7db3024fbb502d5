//! Asking a Kubernetes API server who a token's bearer is: a SelfSubjectReview (what
//! `kubectl auth whoami` sends), the cluster's own answer to "why am I Unauthorized?".

use std::time::Duration;

use serde_json::Value;

use crate::env::Env;
use crate::error::{Error, HttpFailure, Result};
use crate::http;
use crate::url::{self, Scheme};

/// The user a cluster assigned to a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct KubeUser {
    /// The Kubernetes username (what RBAC bindings name).
    pub username: String,
    /// The uid the authenticator gave (aws-iam-authenticator: `aws-iam-authenticator:ACCOUNT:USERID`).
    pub uid: String,
    /// The groups (the API server adds `system:authenticated`).
    pub groups: Vec<String>,
}

/// The cluster's answer to a SelfSubjectReview.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Review {
    /// Authenticated as this user.
    User(KubeUser),
    /// Refused: the HTTP status (401: the token was not accepted or not mapped to a
    /// user; 403: authenticated, but not allowed to ask) and the server's message.
    Refused {
        /// HTTP status.
        status: u16,
        /// The `message` of the server's Status, if any, with every EKS token in it
        /// replaced by `k8s-aws-v1.***` (a server may echo what it was sent).
        message: String,
    },
}

const PATH: &str = "/apis/authentication.k8s.io/v1/selfsubjectreviews";

/// Sends a SelfSubjectReview with `token` as the bearer token to the API server at
/// `server` (an `https://` URL), trusting `ca_pem` (the cluster's CA; `None`: the
/// bundled roots), within `timeout`. Proxies as for any request (`HTTPS_PROXY`,
/// `NO_PROXY`).
pub(crate) fn self_subject_review(
    env: &Env,
    server: &str,
    ca_pem: Option<&[u8]>,
    token: &str,
    timeout: Duration,
) -> Result<Review> {
    let u = url::parse(server).map_err(|e| Error::InvalidUrl {
        origin: "the cluster's server".into(),
        url: url::redacted(server),
        reason: e.to_string(),
    })?;
    if u.scheme != Scheme::Https {
        return Err(Error::InvalidInput(format!(
            "the cluster's server {} is not https: a token is not sent over plain http",
            u.origin()
        )));
    }
    let mut client = http::Client::new(env, timeout);
    if let Some(pem) = ca_pem {
        client = client.with_ca_pem(pem.to_vec());
    }
    let headers = [
        ("authorization".to_owned(), format!("Bearer {token}")),
        ("content-type".to_owned(), "application/json".to_owned()),
        ("accept".to_owned(), "application/json".to_owned()),
    ];
    let body = br#"{"kind":"SelfSubjectReview","apiVersion":"authentication.k8s.io/v1"}"#;
    let resp = client
        .send(&http::Request {
            method: "POST",
            url: &u,
            path_and_query: PATH,
            headers: &headers,
            body,
            allow_http: false,
            direct: false,
            timeout: None,
        })
        .map_err(|f| {
            f.during(format!(
                "asking {} who the token is (SelfSubjectReview)",
                u.origin()
            ))
        })?;
    let doc: Value = serde_json::from_slice(&resp.body).unwrap_or(Value::Null);
    if !(200..300).contains(&resp.status) {
        return Ok(Review::Refused {
            status: resp.status,
            message: crate::secret::by_form(doc["message"].as_str().unwrap_or("")),
        });
    }
    let info = &doc["status"]["userInfo"];
    let Some(username) = info["username"].as_str() else {
        return Err(HttpFailure::BadAnswer(format!(
            "HTTP {} without status.userInfo.username: not a SelfSubjectReview",
            resp.status
        ))
        .during(format!(
            "asking {} who the token is (SelfSubjectReview)",
            u.origin()
        )));
    };
    Ok(Review::User(KubeUser {
        username: username.to_owned(),
        uid: info["uid"].as_str().unwrap_or("").to_owned(),
        groups: info["groups"]
            .as_array()
            .map(|g| {
                g.iter()
                    .filter_map(|x| x.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default(),
    }))
}
