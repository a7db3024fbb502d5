//! The client-go exec plugin protocol: read the apiVersion kubectl asks for in
//! `KUBERNETES_EXEC_INFO`, answer with an ExecCredential of the same version.

use serde::Serialize;
use serde_json::{json, Value};

use eks_token::{Request, Token};

/// The versions client-go knows.
pub(crate) const V1: &str = "client.authentication.k8s.io/v1";
/// The default when kubectl says nothing (as aws-cli).
pub(crate) const V1BETA1: &str = "client.authentication.k8s.io/v1beta1";
/// Deprecated, still echoed.
pub(crate) const V1ALPHA1: &str = "client.authentication.k8s.io/v1alpha1";

/// The apiVersion to answer with, and a warning for stderr when the request was
/// unusable or deprecated.
pub(crate) fn api_version(exec_info: Option<&str>) -> (&'static str, Option<String>) {
    api_version_or(exec_info, V1BETA1)
}

/// [`api_version`] with another default when `KUBERNETES_EXEC_INFO` is absent.
pub(crate) fn api_version_or(
    exec_info: Option<&str>,
    default: &'static str,
) -> (&'static str, Option<String>) {
    let Some(info) = exec_info else {
        return (default, None);
    };
    let parsed: Result<serde_json::Value, _> = serde_json::from_str(info);
    let version = match &parsed {
        Ok(v) => v.get("apiVersion").and_then(|a| a.as_str()),
        Err(_) => {
            return (
                V1BETA1,
                Some(format!(
                    "KUBERNETES_EXEC_INFO is not valid JSON; answering with {V1BETA1}"
                )),
            )
        }
    };
    match version {
        Some(V1) => (V1, None),
        Some(V1BETA1) => (V1BETA1, None),
        Some(V1ALPHA1) => (
            V1ALPHA1,
            Some(format!(
                "{V1ALPHA1} is deprecated; set the kubeconfig exec apiVersion to {V1}"
            )),
        ),
        other => (
            V1BETA1,
            Some(format!(
                "KUBERNETES_EXEC_INFO asks for an unknown apiVersion {:?}; answering with {V1BETA1}",
                other.unwrap_or("(none)")
            )),
        ),
    }
}

/// kubectl's `spec.interactive`: whether the plugin may prompt on the terminal.
pub(crate) fn interactive(exec_info: Option<&str>) -> Option<bool> {
    let v: serde_json::Value = serde_json::from_str(exec_info?).ok()?;
    v.get("spec")?.get("interactive")?.as_bool()
}

/// What a kubeconfig's cluster tells the plugin when its user sets `provideClusterInfo:
/// true`: the cluster's `client.authentication.k8s.io/exec` extension, which kubectl
/// passes as `spec.cluster.config` of `KUBERNETES_EXEC_INFO`. One user then serves
/// every cluster of a kubeconfig, each with its own name, region and roles.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct ClusterConfig {
    /// `clusterName` (or `clusterId`, or `cluster`).
    pub(crate) cluster: Option<String>,
    pub(crate) region: Option<String>,
    /// `roleArn`: one, or a list (a chain).
    pub(crate) role_arns: Vec<String>,
    pub(crate) session_name: Option<String>,
    pub(crate) external_id: Option<String>,
    pub(crate) duration_seconds: Option<String>,
}

impl ClusterConfig {
    /// The cluster's config in `exec_info`, when it has one; an error names a key of
    /// the wrong kind. Other keys are left to other plugins.
    pub(crate) fn of(exec_info: Option<&str>) -> Result<Option<ClusterConfig>, String> {
        let Some(info) = exec_info.and_then(|i| serde_json::from_str::<Value>(i).ok()) else {
            return Ok(None);
        };
        let Some(config) = info["spec"]["cluster"]["config"].as_object() else {
            return Ok(None);
        };
        let wrong = |key: &str, kind: &str| {
            format!("KUBERNETES_EXEC_INFO: the cluster's config has a {key} that is not {kind}")
        };
        let text = |key: &str| match config.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(Value::Number(n)) if key == "durationSeconds" => Ok(Some(n.to_string())),
            Some(_) => Err(wrong(key, "a string")),
        };
        let mut cluster = None;
        for key in ["clusterName", "clusterId", "cluster"] {
            cluster = cluster.or(text(key)?);
        }
        let role_arns = match config.get("roleArn") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::String(s)) => vec![s.clone()],
            Some(Value::Array(items)) => items
                .iter()
                .map(|i| i.as_str().map(str::to_owned))
                .collect::<Option<_>>()
                .ok_or_else(|| wrong("roleArn", "a string or a list of strings"))?,
            Some(_) => return Err(wrong("roleArn", "a string or a list of strings")),
        };
        Ok(Some(ClusterConfig {
            cluster,
            region: text("region")?,
            role_arns,
            session_name: text("sessionName")?,
            external_id: text("externalId")?,
            duration_seconds: text("durationSeconds")?,
        }))
    }

    /// The extension of `request`'s cluster in `region`: what [`ClusterConfig::of`]
    /// reads back.
    pub(crate) fn json(request: &Request, region: &str) -> Value {
        let mut v = json!({"clusterName": request.cluster_id, "region": region});
        match request.role_arns.as_slice() {
            [] => {}
            [one] => v["roleArn"] = json!(one),
            chain => v["roleArn"] = json!(chain),
        }
        if let Some(s) = &request.session_name {
            v["sessionName"] = json!(s);
        }
        if let Some(x) = &request.external_id {
            v["externalId"] = json!(x);
        }
        if let Some(d) = request.duration_seconds {
            v["durationSeconds"] = json!(d);
        }
        v
    }
}

/// An ExecCredential, fields in the order kubectl and aws-cli write them.
#[derive(Serialize)]
pub(crate) struct ExecCredential<'a> {
    kind: &'static str,
    #[serde(rename = "apiVersion")]
    api_version: &'a str,
    spec: Spec,
    status: Status<'a>,
}

#[derive(Serialize)]
struct Spec {}

#[derive(Serialize)]
struct Status<'a> {
    #[serde(rename = "expirationTimestamp")]
    expiration_timestamp: String,
    token: &'a str,
}

impl<'a> ExecCredential<'a> {
    /// The ExecCredential of `token` in `api_version`.
    pub(crate) fn new(api_version: &'a str, token: &'a Token) -> Self {
        ExecCredential {
            kind: "ExecCredential",
            api_version,
            spec: Spec {},
            status: Status {
                expiration_timestamp: Token::rfc3339(token.expiration),
                token: &token.value,
            },
        }
    }
}

/// The ExecCredential JSON (one line, no trailing newline).
pub(crate) fn render(api_version: &str, token: &Token) -> String {
    // Sized once: the token and about 150 bytes around it.
    let mut out = Vec::with_capacity(token.value.len() + 256);
    serde_json::to_writer(&mut out, &ExecCredential::new(api_version, token))
        .expect("serialising plain strings cannot fail");
    String::from_utf8(out).expect("serde_json writes UTF-8")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions() {
        assert_eq!(api_version(None), (V1BETA1, None));
        let v1 = r#"{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","spec":{"interactive":false}}"#;
        assert_eq!(api_version(Some(v1)), (V1, None));
        let (v, w) = api_version(Some(
            r#"{"apiVersion":"client.authentication.k8s.io/v1alpha1"}"#,
        ));
        assert_eq!(v, V1ALPHA1);
        assert!(w.is_some());
        let (v, w) = api_version(Some("{not json"));
        assert_eq!(v, V1BETA1);
        assert!(w.unwrap().contains("not valid JSON"));
        let (v, w) = api_version(Some(r#"{"apiVersion":"client.authentication.k8s.io/v2"}"#));
        assert_eq!(v, V1BETA1);
        assert!(w.unwrap().contains("v2"));
    }

    #[test]
    fn renders_exec_credential() {
        let t = Token {
            value: "k8s-aws-v1.abc".into(),
            expiration: time::OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap(),
            signed_at: time::OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap(),
        };
        assert_eq!(
            render(V1, &t),
            r#"{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","spec":{},"status":{"expirationTimestamp":"2023-11-14T22:13:20Z","token":"k8s-aws-v1.abc"}}"#
        );
    }

    #[test]
    fn a_clusters_config_reads_back_as_written() {
        let request = Request {
            cluster_id: "qa".into(),
            role_arns: vec![
                "arn:aws:iam::111111111111:role/hub".into(),
                "arn:aws:iam::333333333333:role/qa".into(),
            ],
            session_name: Some("ci".into()),
            duration_seconds: Some(900),
            ..Request::default()
        };
        let config = ClusterConfig::json(&request, "eu-west-1");
        let info = json!({"spec": {"cluster": {"config": config}}}).to_string();
        let back = ClusterConfig::of(Some(&info)).unwrap().unwrap();
        assert_eq!(
            back,
            ClusterConfig {
                cluster: Some("qa".into()),
                region: Some("eu-west-1".into()),
                role_arns: request.role_arns.clone(),
                session_name: Some("ci".into()),
                external_id: None,
                duration_seconds: Some("900".into()),
            }
        );
        // One role is written as a string, none not at all.
        let one = Request {
            role_arns: vec!["arn:aws:iam::333333333333:role/qa".into()],
            ..request.clone()
        };
        assert!(ClusterConfig::json(&one, "r")["roleArn"].is_string());
        let none = Request {
            role_arns: Vec::new(),
            ..request
        };
        assert!(ClusterConfig::json(&none, "r").get("roleArn").is_none());
        // Without provideClusterInfo there is no config.
        assert_eq!(ClusterConfig::of(Some(r#"{"spec":{}}"#)), Ok(None));
        assert_eq!(ClusterConfig::of(Some("not json")), Ok(None));
    }
}
