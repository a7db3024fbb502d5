//! Drivers of the shared configuration vectors: each `*_case(i)` runs vector `i` of its
//! file against the library.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use eks_token::credentials::container;
use eks_token::credentials::imds;
use eks_token::credentials::profile::{resolve_chain, Base, ChainError};
use eks_token::env::Env;
use eks_token::profile::{self, ProfileSet};
use serde_json::{json, Value};

pub fn data_dir() -> PathBuf {
    std::env::var("AWS_CONFIG_TEST_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/aws-config-test-data")
        })
}

fn load(file: &str) -> Value {
    let p = data_dir().join(file);
    serde_json::from_slice(&std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display())))
        .unwrap()
}

fn env_of(v: &Value) -> Env {
    Env::from_pairs(
        v.as_object()
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default(),
    )
}

fn props_json(map: &BTreeMap<String, BTreeMap<String, String>>) -> Value {
    serde_json::to_value(map).unwrap()
}

pub fn parser_case(i: usize) {
    let v = &load("profile-parser-tests.json")["tests"][i];
    let name = v["name"].as_str().unwrap();
    let got = profile::parse(
        v["input"]["configFile"].as_str(),
        v["input"]["credentialsFile"].as_str(),
    );
    let out = &v["output"];
    if let Some(want) = out.get("errorContaining") {
        let err = got.expect_err(name);
        assert!(err.contains(want.as_str().unwrap()), "{name}: {err}");
        return;
    }
    let set = got.unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(
        props_json(&set.profiles),
        out["config"]["profiles"],
        "{name}"
    );
    if let Some(sessions) = out["config"].get("sso_sessions") {
        assert_eq!(&props_json(&set.sso_sessions), sessions, "{name}");
    }
}

pub fn location_case(i: usize) {
    let v = &load("file-location-tests.json")["tests"][i];
    assert_eq!(v["platform"], "linux");
    let env = env_of(&v["environment"]);
    let (config, credentials) = profile::locations(&env);
    assert_eq!(
        config.unwrap(),
        PathBuf::from(v["configLocation"].as_str().unwrap())
    );
    assert_eq!(
        credentials.unwrap(),
        PathBuf::from(v["credentialsLocation"].as_str().unwrap())
    );
    if let Some(p) = v["profile"].as_str() {
        assert_eq!(profile::selected(None, &env).0, p);
    }
}

fn chain_json(set: &ProfileSet, chain: &eks_token::credentials::profile::ProfileChain) -> Value {
    let mut out = Vec::new();
    let opt = |m: &mut serde_json::Map<String, Value>, k: &str, v: &Option<String>| {
        if let Some(v) = v {
            m.insert(k.into(), json!(v));
        }
    };
    match &chain.base {
        Base::AccessKey {
            profile,
            access_key_id,
            account_id,
        } => {
            let mut m = serde_json::Map::new();
            m.insert("access_key_id".into(), json!(access_key_id));
            m.insert(
                "secret_access_key".into(),
                json!(set.get(profile, "aws_secret_access_key")),
            );
            opt(&mut m, "account_id", account_id);
            out.push(json!({ "AccessKey": m }));
        }
        Base::NamedSource(s) => out.push(json!({ "NamedSource": s })),
        Base::WebIdentity {
            role_arn,
            token_file,
            session_name,
        } => {
            let mut m = serde_json::Map::new();
            m.insert("role_arn".into(), json!(role_arn));
            m.insert("web_identity_token_file".into(), json!(token_file));
            opt(&mut m, "role_session_name", session_name);
            out.push(json!({ "WebIdentityToken": m }));
        }
        Base::Sso(s) => {
            let mut m = serde_json::Map::new();
            for (k, v) in [
                ("sso_account_id", &s.account_id),
                ("sso_region", &s.region),
                ("sso_role_name", &s.role_name),
                ("sso_start_url", &s.start_url),
            ] {
                if !v.is_empty() {
                    m.insert(k.into(), json!(v));
                }
            }
            opt(&mut m, "sso_session", &s.session_name);
            out.push(json!({ "Sso": m }));
        }
        Base::Process { command, .. } => out.push(json!({ "CredentialProcess": command })),
    }
    for hop in &chain.hops {
        let mut m = serde_json::Map::new();
        m.insert("role_arn".into(), json!(hop.role_arn));
        opt(&mut m, "external_id", &hop.external_id);
        opt(&mut m, "role_session_name", &hop.session_name);
        out.push(json!({ "AssumeRole": m }));
    }
    Value::Array(out)
}

pub fn assume_role_case(i: usize) {
    let v = &load("assume-role-tests.json")[i];
    let docs = v["docs"].as_str().unwrap();
    let to_map = |x: &Value| -> BTreeMap<String, BTreeMap<String, String>> {
        serde_json::from_value(x.clone()).unwrap_or_default()
    };
    let set = ProfileSet {
        profiles: to_map(&v["input"]["profiles"]),
        sso_sessions: to_map(&v["input"]["sso_sessions"]),
        services: BTreeMap::new(),
    };
    let got = resolve_chain(&set, v["input"]["selected_profile"].as_str().unwrap());
    match v["output"].get("Error") {
        Some(want) => {
            let err = got.expect_err(docs);
            let msg = err.to_string();
            assert!(msg.contains(want.as_str().unwrap()), "{docs}: {msg}");
            // A profile holding only settings is "no credentials here", not an error.
            if want
                .as_str()
                .unwrap()
                .contains("did not contain credential information")
                && docs.contains("only contains configuration")
            {
                assert!(matches!(err, ChainError::NoCredentials(_)));
            }
        }
        None => {
            let chain = got.unwrap_or_else(|e| panic!("{docs}: {e}"));
            assert_eq!(
                chain_json(&set, &chain),
                v["output"]["ProfileChain"],
                "{docs}"
            );
        }
    }
}

pub fn ecs_case(i: usize) {
    let v = &load("ecs-tests.json")["tests"][i];
    let docs = v["docs"].as_str().unwrap();
    let got = container::uri(&env_of(&v["env"]));
    match (&v["result"].get("Ok"), &v["result"].get("ErrorContains")) {
        (Some(want), _) => assert_eq!(
            got.unwrap_or_else(|e| panic!("{docs}: {e}")),
            *want.as_str().unwrap(),
            "{docs}"
        ),
        (_, Some(want)) => {
            let e = got.expect_err(docs).to_string();
            assert!(e.contains(want.as_str().unwrap()), "{docs}: {e}");
        }
        _ => panic!("{docs}: no result"),
    }
}

pub fn imds_endpoint_case(i: usize) {
    let v = &load("imds-endpoint-tests.json")["tests"][i];
    let docs = v["docs"].as_str().unwrap();
    // Files are relative to the vector; write them to a scratch directory.
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("imds-vector-{i}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (name, text) in v["fs"].as_object().into_iter().flatten() {
        std::fs::write(dir.join(name), text.as_str().unwrap()).unwrap();
    }
    let mut env = env_of(&v["env"]);
    if let Some(cfg) = v["env"]["AWS_CONFIG_FILE"].as_str() {
        env.set("AWS_CONFIG_FILE", dir.join(cfg).to_str().unwrap());
    }
    env.set("HOME", dir.to_str().unwrap());
    let profiles = profile::load(&env).unwrap();
    let (name, _) = profile::selected(None, &env);
    let got = imds::endpoint(
        &env,
        &profiles,
        &name,
        v["endpoint_override"].as_str(),
        v["mode_override"].as_str(),
    )
    .map(|base| format!("{base}/latest/api/token"));
    std::fs::remove_dir_all(&dir).ok();
    match (v["result"].get("Ok"), v["result"].get("Err")) {
        (Some(want), _) => assert_eq!(
            got.unwrap_or_else(|e| panic!("{docs}: {e}")),
            want.as_str().unwrap(),
            "{docs}"
        ),
        (_, Some(want)) => {
            let e = got.expect_err(docs);
            assert!(e.contains(want.as_str().unwrap()), "{docs}: {e}");
        }
        _ => panic!("{docs}: no result"),
    }
}

/// How many vectors each file has, for the coverage check.
pub fn vector_counts() -> [(&'static str, usize); 5] {
    let linux = load("file-location-tests.json")["tests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["platform"] == "linux")
        .count();
    [
        (
            "parser_case(",
            load("profile-parser-tests.json")["tests"]
                .as_array()
                .unwrap()
                .len(),
        ),
        ("location_case(", linux),
        (
            "assume_role_case(",
            load("assume-role-tests.json").as_array().unwrap().len(),
        ),
        (
            "ecs_case(",
            load("ecs-tests.json")["tests"].as_array().unwrap().len(),
        ),
        (
            "imds_endpoint_case(",
            load("imds-endpoint-tests.json")["tests"]
                .as_array()
                .unwrap()
                .len(),
        ),
    ]
}
