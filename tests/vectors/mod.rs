//! Drivers of the shared configuration vectors: each `*_case(i)` runs vector `i` of its
//! file against the library.

use std::path::{Path, PathBuf};

use eks_token::testkit;
use eks_token::Env;
use serde_json::Value;

pub fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/aws-config-test-data")
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

pub fn parser_case(i: usize) {
    let v = &load("profile-parser-tests.json")["tests"][i];
    let name = v["name"].as_str().unwrap();
    let got = testkit::parse_profiles(
        v["input"]["configFile"].as_str(),
        v["input"]["credentialsFile"].as_str(),
    );
    let out = &v["output"];
    if let Some(want) = out.get("errorContaining") {
        let err = got.expect_err(name).to_string();
        assert!(err.contains(want.as_str().unwrap()), "{name}: {err}");
        return;
    }
    let set = got.unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(set["profiles"], out["config"]["profiles"], "{name}");
    if let Some(sessions) = out["config"].get("sso_sessions") {
        assert_eq!(&set["sso_sessions"], sessions, "{name}");
    }
}

pub fn location_case(i: usize) {
    let v = &load("file-location-tests.json")["tests"][i];
    assert_eq!(v["platform"], "linux");
    let env = env_of(&v["environment"]);
    let (config, credentials, selected) = testkit::file_locations(&env);
    assert_eq!(
        config.unwrap(),
        PathBuf::from(v["configLocation"].as_str().unwrap())
    );
    assert_eq!(
        credentials.unwrap(),
        PathBuf::from(v["credentialsLocation"].as_str().unwrap())
    );
    if let Some(p) = v["profile"].as_str() {
        assert_eq!(selected, p);
    }
}

pub fn assume_role_case(i: usize) {
    let v = &load("assume-role-tests.json")[i];
    let docs = v["docs"].as_str().unwrap();
    let got = testkit::profile_chain(
        &v["input"]["profiles"],
        &v["input"]["sso_sessions"],
        v["input"]["selected_profile"].as_str().unwrap(),
    );
    match v["output"].get("Error") {
        Some(want) => {
            let err = got.expect_err(docs);
            let msg = &err.message;
            assert!(msg.contains(want.as_str().unwrap()), "{docs}: {msg}");
            // A profile holding only settings is "no credentials here", not an error.
            if want
                .as_str()
                .unwrap()
                .contains("did not contain credential information")
                && docs.contains("only contains configuration")
            {
                assert!(err.no_credentials, "{docs}");
            }
        }
        None => {
            let chain = got.unwrap_or_else(|e| panic!("{docs}: {}", e.message));
            assert_eq!(chain, v["output"]["ProfileChain"], "{docs}");
        }
    }
}

pub fn ecs_case(i: usize) {
    let v = &load("ecs-tests.json")["tests"][i];
    let docs = v["docs"].as_str().unwrap();
    let got = testkit::container_uri(&env_of(&v["env"]));
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
    let got = testkit::imds_token_url(
        &env,
        v["endpoint_override"].as_str(),
        v["mode_override"].as_str(),
    );
    std::fs::remove_dir_all(&dir).ok();
    match (v["result"].get("Ok"), v["result"].get("Err")) {
        (Some(want), _) => assert_eq!(
            got.unwrap_or_else(|e| panic!("{docs}: {e}")),
            want.as_str().unwrap(),
            "{docs}"
        ),
        (_, Some(want)) => {
            let e = got.expect_err(docs).to_string();
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
