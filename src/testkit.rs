//! Entry points for the repository's own vector tests (`tests/aws_config_vectors.rs`,
//! `tests/tools.rs`): each runs one internal component on plain inputs and answers in
//! plain data (JSON, strings), so that the components themselves stay private. Not
//! part of the API; no stability promise.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::{json, Map, Value};
use time::OffsetDateTime;

use crate::config_files::{self, ProfileSet};
use crate::credentials::Credentials;
use crate::endpoint::Endpoint;
use crate::env::Env;
use crate::error::Error;
use crate::plan::{self, ChainError, SessionName};
use crate::sources::{container, imds};

/// The profile file parser: `{"profiles": ..., "sso_sessions": ...}`, or its error.
pub fn parse_profiles(config: Option<&str>, credentials: Option<&str>) -> Result<Value, Error> {
    let set =
        config_files::parse(config, credentials).map_err(|e| Error::InvalidInput(e.to_string()))?;
    Ok(json!({"profiles": set.profiles, "sso_sessions": set.sso_sessions}))
}

/// Where the config and credentials files are, and the selected profile.
pub fn file_locations(env: &Env) -> (Option<PathBuf>, Option<PathBuf>, String) {
    let (c, k) = config_files::locations(env);
    (c, k, config_files::selected(None, env).0)
}

/// Why a profile chain could not be made.
#[derive(Debug)]
pub struct ChainFailure {
    /// The message.
    pub message: String,
    /// The profile holds no credentials (the default chain would move on).
    pub no_credentials: bool,
}

/// The chain of `selected` among `profiles` and `sso_sessions` (JSON objects of
/// properties), in the shape of the SDKs' `assume-role-tests.json`.
pub fn profile_chain(
    profiles: &Value,
    sso_sessions: &Value,
    selected: &str,
) -> Result<Value, ChainFailure> {
    let to_map = |x: &Value| -> BTreeMap<String, BTreeMap<String, String>> {
        serde_json::from_value(x.clone()).unwrap_or_default()
    };
    let set = ProfileSet {
        profiles: to_map(profiles),
        sso_sessions: to_map(sso_sessions),
        services: BTreeMap::new(),
        keys_in_credentials_file: Default::default(),
    };
    let chain = plan::profile_chain(&set, selected, None).map_err(|e| ChainFailure {
        message: e.to_string(),
        no_credentials: matches!(e, ChainError::NoCredentials(_)),
    })?;
    let mut out = Vec::new();
    let put = |m: &mut Map<String, Value>, k: &str, v: Option<&str>| {
        if let Some(v) = v.filter(|v| !v.is_empty()) {
            m.insert(k.into(), json!(v));
        }
    };
    let base = chain.base.as_any();
    use crate::sources::{container, environment, imds, process, sso, web_identity};
    if let Some(k) = base.downcast_ref::<environment::StaticKeys>() {
        let creds = &k.creds;
        let mut m = Map::new();
        put(&mut m, "access_key_id", Some(&creds.access_key_id));
        put(
            &mut m,
            "secret_access_key",
            Some(creds.secret_access_key.expose()),
        );
        put(&mut m, "account_id", creds.account_id.as_deref());
        out.push(json!({ "AccessKey": m }));
    } else if base.is::<environment::Environment>() {
        out.push(json!({ "NamedSource": "Environment" }));
    } else if base.is::<imds::Instance>() {
        out.push(json!({ "NamedSource": "Ec2InstanceMetadata" }));
    } else if base.is::<container::Container>() {
        out.push(json!({ "NamedSource": "EcsContainer" }));
    } else if let Some(w) = base.downcast_ref::<web_identity::WebIdentity>() {
        let mut m = Map::new();
        put(&mut m, "role_arn", Some(&w.role_arn));
        put(&mut m, "web_identity_token_file", Some(&w.token_file));
        if w.session_name != web_identity::DEFAULT_SESSION_NAME {
            put(&mut m, "role_session_name", Some(&w.session_name));
        }
        out.push(json!({ "WebIdentityToken": m }));
    } else if let Some(s) = base.downcast_ref::<sso::SsoProfile>() {
        let mut m = Map::new();
        put(&mut m, "sso_account_id", Some(&s.account_id));
        put(&mut m, "sso_region", Some(&s.region));
        put(&mut m, "sso_role_name", Some(&s.role_name));
        put(&mut m, "sso_start_url", Some(&s.start_url));
        put(&mut m, "sso_session", s.session_name.as_deref());
        out.push(json!({ "Sso": m }));
    } else if let Some(p) = base.downcast_ref::<process::Process>() {
        out.push(json!({ "CredentialProcess": p.command }));
    }
    for hop in &chain.hops {
        let mut m = Map::new();
        put(&mut m, "role_arn", Some(&hop.role_arn));
        put(&mut m, "external_id", hop.external_id.as_deref());
        if let SessionName::Named(n) = &hop.session_name {
            if n != crate::sources::web_identity::DEFAULT_SESSION_NAME {
                put(&mut m, "role_session_name", Some(n));
            }
        }
        out.push(json!({ "AssumeRole": m }));
    }
    Ok(Value::Array(out))
}

/// The container-credentials URI of `env`, or why there is none.
pub fn container_uri(env: &Env) -> Result<String, Error> {
    container::uri(env)
        .map(|u| u.requested())
        .map_err(|e| Error::InvalidInput(e.to_string()))
}

/// The IMDS session-token URL for `env` (its config file read), or the error.
pub fn imds_token_url(
    env: &Env,
    endpoint_override: Option<&str>,
    mode_override: Option<&str>,
) -> Result<String, Error> {
    let profiles = config_files::load(env)?;
    let (name, _) = config_files::selected(None, env);
    imds::endpoint(env, &profiles, &name, endpoint_override, mode_override)
        .map(|base| base.join("/latest/api/token"))
        .map_err(|e| Error::InvalidInput(e.to_string()))
}

/// The token URL for `region` as a run in `env` would presign it (the same endpoint
/// resolution), signed at `now`.
pub fn presigned_url(
    env: &Env,
    region: &str,
    creds: &Credentials,
    cluster_id: &str,
    now: OffsetDateTime,
) -> Result<String, Error> {
    let settings = crate::endpoint::Settings::load(
        env,
        &ProfileSet::default(),
        "default",
        Some(region.to_owned()),
    )?;
    let endpoint = crate::endpoint::resolve(crate::endpoint::Service::Sts, &settings, None)?;
    Ok(crate::token::presigned_url(
        creds, &endpoint, cluster_id, now,
    ))
}

/// A token URL presigned for `base` (any host, e.g. a wrong one for `verify`'s tests)
/// and `region`.
pub fn presigned_url_at(
    creds: &Credentials,
    base: &str,
    region: &str,
    cluster_id: &str,
    now: OffsetDateTime,
) -> String {
    let endpoint = Endpoint {
        url: crate::url::parse(base).expect("a valid URL"),
        signing_region: region.to_owned(),
        overridden: false,
        reason: String::new(),
    };
    crate::token::presigned_url(creds, &endpoint, cluster_id, now)
}

/// How much longer parsing 1 MiB of nested elements takes than 256 KiB of them (the
/// fastest of several runs each, in one process): linear work gives about 4, quadratic
/// about 16.
pub fn xml_nesting_time_ratio() -> f64 {
    let nested = |bytes: usize| {
        let depth = bytes / 7;
        "<a>".repeat(depth) + &"</a>".repeat(depth)
    };
    let fastest = |doc: &str| {
        (0..20)
            .map(|_| {
                let t = std::time::Instant::now();
                let r = crate::xml::parse(doc.as_bytes());
                assert!(r.is_err(), "nesting this deep is refused");
                t.elapsed().as_secs_f64()
            })
            .fold(f64::MAX, f64::min)
    };
    let (small, large) = (nested(256 * 1024), nested(1024 * 1024));
    fastest(&large) / fastest(&small).max(1e-9)
}
