//! The EKS stand-in beyond a token verifier (tests/support/eks_control_plane.py): the
//! cluster's control plane (authentication mode, access entries, EKS's API for them), its
//! aws-auth, a shifted clock; botocore's own `eks` client to call that API with
//! (tests/support/eks_api_client.py); a kubeconfig whose user is a static token.

use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use super::{start_tls_server, support, TempDir, TestEnv, Verifier};

/// The options of a stand-in: `Verifier::builder(cluster, sts_url)`, then
/// `.control_plane(json)`, `.aws_auth(path)`, `.clock_offset(secs)`, `.start()`.
pub struct VerifierBuilder {
    cluster: String,
    sts_url: String,
    aws_auth: Option<PathBuf>,
    control_plane: Option<Value>,
    clock_offset: Option<i64>,
    static_keys: Vec<(String, String)>,
}

impl VerifierBuilder {
    /// The cluster's aws-auth ConfigMap (a whole ConfigMap or its data, YAML or JSON),
    /// read again for every request.
    pub fn aws_auth(mut self, path: &Path) -> Self {
        self.aws_auth = Some(path.to_owned());
        self
    }

    /// The cluster as EKS holds it (the file format is eks_control_plane.py's): the
    /// stand-in then serves EKS's API and maps tokens by the authentication mode.
    pub fn control_plane(mut self, doc: Value) -> Self {
        self.control_plane = Some(doc);
        self
    }

    /// The stand-in's clock is this machine's plus `secs`: 1200 plays a machine whose
    /// clock is 20 minutes behind EKS's.
    pub fn clock_offset(mut self, secs: i64) -> Self {
        self.clock_offset = Some(secs);
        self
    }

    /// Long-term keys the stand-in knows the secret of (moto keeps only its sessions'):
    /// tokens and API calls signed with them verify.
    pub fn static_keys(mut self, keys: &[(&str, &str)]) -> Self {
        self.static_keys
            .extend(keys.iter().map(|(k, s)| ((*k).to_owned(), (*s).to_owned())));
        self
    }

    /// Starts the stand-in; it stops when the `Verifier` is dropped.
    pub fn start(self) -> Verifier {
        let dir = TempDir::new("verifier");
        let log = dir.join("verdicts.jsonl");
        let certs = dir.join("certs");
        let mut args: Vec<String> = vec![
            "python3".into(),
            support("eks_verifier.py").display().to_string(),
            "serve".into(),
            "--cluster".into(),
            self.cluster,
            "--sts-url".into(),
            self.sts_url,
            "--port".into(),
            "0".into(),
            "--cert-dir".into(),
            certs.display().to_string(),
            "--log".into(),
            log.display().to_string(),
        ];
        if let Some(a) = &self.aws_auth {
            args.extend(["--aws-auth".into(), a.display().to_string()]);
        }
        if let Some(doc) = &self.control_plane {
            let path = control_plane_file(&dir.0);
            std::fs::write(&path, serde_json::to_vec_pretty(doc).unwrap()).unwrap();
            args.extend(["--control-plane".into(), path.display().to_string()]);
        }
        if !self.static_keys.is_empty() {
            let path = dir.join("static-keys.json");
            let keys: serde_json::Map<String, Value> = self
                .static_keys
                .iter()
                .map(|(k, s)| (k.clone(), Value::String(s.clone())))
                .collect();
            std::fs::write(&path, serde_json::to_vec(&keys).unwrap()).unwrap();
            args.extend(["--static-keys".into(), path.display().to_string()]);
        }
        if let Some(secs) = self.clock_offset {
            args.extend(["--clock-offset".into(), secs.to_string()]);
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (port, ca, guard) = start_tls_server(&args);
        Verifier {
            port,
            url: format!("https://127.0.0.1:{port}"),
            ca,
            log,
            _dir: dir,
            _guard: guard,
        }
    }
}

fn control_plane_file(dir: &Path) -> PathBuf {
    dir.join("control-plane.json")
}

impl Verifier {
    /// A stand-in for `cluster` (the name tokens are signed for) checking identities with
    /// moto at `sts_url`; see [`VerifierBuilder`] for the rest.
    pub fn builder(cluster: &str, sts_url: &str) -> VerifierBuilder {
        VerifierBuilder {
            cluster: cluster.to_owned(),
            sts_url: sts_url.to_owned(),
            aws_auth: None,
            control_plane: None,
            clock_offset: None,
            static_keys: Vec::new(),
        }
    }

    /// Rewrites the control plane of a stand-in started with one (it reads the file for
    /// every request); the file is replaced at once, never seen half written.
    pub fn set_control_plane(&self, doc: &Value) {
        let path = control_plane_file(&self._dir.0);
        assert!(
            path.exists(),
            "this stand-in was started without a control plane"
        );
        let tmp = self._dir.join("control-plane.json.new");
        std::fs::write(&tmp, serde_json::to_vec_pretty(doc).unwrap()).unwrap();
        std::fs::rename(&tmp, &path).unwrap();
    }

    /// Every line of the log so far: token verdicts and control-plane calls (a line the
    /// server is still writing is left for the next read).
    pub fn log_lines(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .split_inclusive('\n')
            .filter(|l| l.ends_with('\n'))
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    /// The calls of EKS's API so far (`"api": "eks"`): action, cluster, caller, status,
    /// outcome ("ok" or the error code), message.
    pub fn control_plane_calls(&self) -> Vec<Value> {
        self.log_lines()
            .into_iter()
            .filter(|v| v["api"] == "eks")
            .collect()
    }

    /// `kubectl auth whoami -o json` with the static `token`: the user (`userInfo`), or
    /// kubectl's stderr.
    pub fn whoami(&self, token: &str) -> Result<Value, String> {
        let env = TestEnv::new();
        let cfg = self.token_kubeconfig(&env.home.join("kubeconfig"), token);
        let (code, out, err) = super::kubectl(&env, &cfg, &["auth", "whoami", "-o", "json"]);
        if code != 0 {
            return Err(err);
        }
        let doc: Value = serde_json::from_str(&out).unwrap();
        Ok(doc["status"]["userInfo"].clone())
    }

    /// Writes a kubeconfig at `path` for this stand-in whose user is the static `token`.
    pub fn token_kubeconfig(&self, path: &Path, token: &str) -> PathBuf {
        let doc = json!({
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "stand-in", "cluster": {
                "server": self.url,
                "certificate-authority": self.ca.display().to_string(),
            }}],
            "users": [{"name": "token", "user": {"token": token}}],
            "contexts": [{"name": "stand-in", "context": {"cluster": "stand-in", "user": "token"}}],
            "current-context": "stand-in",
        });
        std::fs::write(path, serde_json::to_vec_pretty(&doc).unwrap()).unwrap();
        path.to_owned()
    }
}

/// Who calls EKS's API through [`eks_api`]: a role moto's STS is asked to assume (the
/// usual case) or given keys, in a region, optionally signing with a wrong secret.
pub struct ApiCaller {
    role_arn: Option<String>,
    keys: Option<(String, String)>,
    session_name: String,
    region: String,
    tamper_secret: bool,
    drop_token: bool,
}

impl ApiCaller {
    /// A session of `role_arn` (AssumeRole against moto), named `eks-api-client`.
    pub fn role(role_arn: &str) -> Self {
        ApiCaller {
            role_arn: Some(role_arn.to_owned()),
            keys: None,
            session_name: "eks-api-client".into(),
            region: "us-east-1".into(),
            tamper_secret: false,
            drop_token: false,
        }
    }

    /// Long-term keys, as they are (nothing is asked of STS first).
    pub fn keys(akid: &str, secret: &str) -> Self {
        ApiCaller {
            role_arn: None,
            keys: Some((akid.to_owned(), secret.to_owned())),
            session_name: "eks-api-client".into(),
            region: "us-east-1".into(),
            tamper_secret: false,
            drop_token: false,
        }
    }

    pub fn session(mut self, name: &str) -> Self {
        self.session_name = name.to_owned();
        self
    }

    /// The region the client signs for (the stand-in's cluster is in its ARN's).
    pub fn region(mut self, region: &str) -> Self {
        self.region = region.to_owned();
        self
    }

    /// Signs with a secret one character off.
    pub fn tampered(mut self) -> Self {
        self.tamper_secret = true;
        self
    }

    /// Signs and sends without the session token of the role's session.
    pub fn without_token(mut self) -> Self {
        self.drop_token = true;
        self
    }
}

/// Runs `calls` (a JSON list, see eks_api_client.py: `{"op": "list_access_entries",
/// "args": {...}}` or `{"paginate": ..., "args": ...}`) with botocore's `eks` client
/// against the stand-in, as `caller`: `{"caller", "access_key_id", "results": [...]}`,
/// each result `{"status": 200, "response"}` / `{"status": 200, "pages"}` or `{"status",
/// "code", "message"}`.
pub fn eks_api(v: &Verifier, caller: &ApiCaller, calls: &Value) -> Value {
    let mut env = TestEnv::new();
    let ca = v.ca.display().to_string();
    let sts = super::moto().url.clone();
    let mut argv = vec![
        "--endpoint",
        &v.url,
        "--ca",
        &ca,
        "--sts-url",
        &sts,
        "--region",
        &caller.region,
        "--session-name",
        &caller.session_name,
    ];
    if let Some(role) = &caller.role_arn {
        argv.extend(["--role-arn", role]);
    }
    if let Some((akid, secret)) = &caller.keys {
        env.static_creds(akid, secret);
    }
    if caller.tamper_secret {
        argv.push("--tamper-secret");
    }
    if caller.drop_token {
        argv.push("--drop-token");
    }
    let vars: serde_json::Map<String, Value> = env
        .vars()
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    let request = json!({"argv": argv, "env": vars, "calls": calls});
    let answer = super::python::serve("eks_api_client.py", &["--serve"], &request)
        .expect("eks_api_client.py answered");
    assert!(
        answer.get("error").is_none(),
        "eks_api_client.py failed: {answer}"
    );
    answer
}
