//! Runs one recorded default-chain scenario against the library.

use std::path::{Path, PathBuf};
use std::time::Duration;

use eks_token::{Env, Request};
use serde_json::Value;

use super::replay::{exchanges, Exchange, Replay};
use super::TempDir;

pub fn scenarios_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/aws-config-test-data/default-credential-provider-chain")
}

fn read_json(p: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display())))
        .unwrap()
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_tree(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), &dest).unwrap();
        }
    }
}

/// Config files name absolute paths of the scenario's fs (`web_identity_token_file =
/// /token.jwt`): point them into the copy.
fn rewrite_paths(dir: &Path, root: &Path) {
    for e in std::fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            rewrite_paths(&e.path(), root);
            continue;
        }
        let text = std::fs::read_to_string(e.path()).unwrap_or_default();
        let new: Vec<String> = text
            .lines()
            .map(|l| match l.split_once('=') {
                Some((k, v))
                    if v.trim().starts_with('/')
                        && root.join(v.trim().trim_start_matches('/')).exists() =>
                {
                    format!(
                        "{k}= {}",
                        root.join(v.trim().trim_start_matches('/')).display()
                    )
                }
                _ => l.to_owned(),
            })
            .collect();
        std::fs::write(e.path(), new.join("\n") + "\n").unwrap();
    }
}

/// Where our message differs in wording from the SDK's expected substring, the
/// substring we check instead, and why.
fn expected_error(name: &str, want: &str, root: &Path) -> String {
    match name {
        // smithy-rs prints STS's code with an `Exception` suffix; STS's own code, which
        // eks-token prints, is InvalidIdentityToken.
        "web_identity_token_invalid_jwt" => {
            "InvalidIdentityToken: No OpenIDConnect provider found in your account".into()
        }
        // smithy-rs ends the chain with "the credential provider was not enabled";
        // eks-token says no credentials were found and why each source was skipped.
        "imds_disabled" => "no AWS credentials found; looked in: environment".into(),
        // Paths of the scenario's fs are inside the copy.
        _ => want.replace("`/home/", &format!("`{}/home/", root.display())),
    }
}

/// The recordings were made on a clock frozen in 2009-2021: every credential in them
/// has long expired. eks-token refuses expired credentials before they sign anything
/// (tested in `outside.rs`), so credentials that sign a later recorded call are served
/// with a future expiry; the last credentials of a recording (the result, whose expiry
/// the scenario asserts) keep theirs.
fn renew_signing_credentials(mut xs: Vec<Exchange>) -> Vec<Exchange> {
    let with_creds: Vec<usize> = (0..xs.len())
        .filter(|&i| String::from_utf8_lossy(&xs[i].body).contains("xpiration"))
        .collect();
    let future = time::OffsetDateTime::now_utc() + time::Duration::days(1);
    let rfc3339 = eks_token::Token::rfc3339(future);
    let epoch_ms = (future.unix_timestamp() * 1000).to_string();
    for &i in with_creds.iter().rev().skip(1) {
        let body = String::from_utf8_lossy(&xs[i].body).into_owned();
        let mut out = String::new();
        let mut rest = body.as_str();
        // Each timestamp after an `xpiration` key: RFC 3339, or epoch milliseconds.
        while let Some(at) = rest.find("xpiration") {
            let (head, tail) = rest.split_at(at + "xpiration".len());
            out.push_str(head);
            let start = tail
                .find(|c: char| c.is_ascii_digit())
                .unwrap_or(tail.len());
            // Only a value right after the key (`>`, `" : "`, `":`), not a closing tag.
            if start > 6 || !tail[..start].chars().all(|c| "\\\" :>".contains(c)) {
                rest = tail;
                continue;
            }
            let len = tail[start..]
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == ':'))
                .unwrap_or(tail.len() - start);
            let old = &tail[start..start + len];
            out.push_str(&tail[..start]);
            out.push_str(if old.contains('T') {
                &rfc3339
            } else {
                &epoch_ms
            });
            rest = &tail[start + len..];
        }
        out.push_str(rest);
        xs[i].body = out.into_bytes();
    }
    xs
}

pub fn run_scenario(name: &str) {
    let dir = scenarios_dir().join(name);
    let env_json = read_json(&dir.join("env.json"));
    let case = read_json(&dir.join("test-case.json"));
    let traffic = read_json(&dir.join("http-traffic.json"));
    let root = TempDir::new(&format!("scenario-{name}"));
    if dir.join("fs").is_dir() {
        copy_tree(&dir.join("fs"), root.path());
        rewrite_paths(root.path(), root.path());
    }
    let replay = Replay::start(renew_signing_credentials(exchanges(&traffic)));

    let mut env = Env::default();
    for (k, v) in env_json.as_object().unwrap() {
        let v = v.as_str().unwrap();
        let path_var = [
            "HOME",
            "AWS_WEB_IDENTITY_TOKEN_FILE",
            "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
            "AWS_CONFIG_FILE",
            "AWS_SHARED_CREDENTIALS_FILE",
        ]
        .contains(&k.as_str());
        if path_var && v.starts_with('/') {
            env.set(k, root.join(v.trim_start_matches('/')).to_str().unwrap());
        } else {
            env.set(k, v);
        }
    }
    // Reach every service through the replay server: endpoint overrides for STS, SSO
    // and IMDS; the container URIs rewritten to the same loopback host.
    env.set("AWS_ENDPOINT_URL_STS", &replay.url);
    env.set("AWS_ENDPOINT_URL_SSO", &replay.url);
    if env.get("AWS_EC2_METADATA_SERVICE_ENDPOINT").is_none() {
        env.set("AWS_EC2_METADATA_SERVICE_ENDPOINT", &replay.url);
    }
    if let Some(rel) = env
        .get("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")
        .map(str::to_owned)
    {
        env.set("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "");
        env.set(
            "AWS_CONTAINER_CREDENTIALS_FULL_URI",
            &format!("{}{rel}", replay.url),
        );
    } else if let Some(full) = env
        .get("AWS_CONTAINER_CREDENTIALS_FULL_URI")
        .map(str::to_owned)
    {
        let path = full.splitn(4, '/').nth(3).unwrap_or("");
        env.set(
            "AWS_CONTAINER_CREDENTIALS_FULL_URI",
            &format!("{}/{path}", replay.url),
        );
    }

    let request = Request {
        cluster_id: "scenario".into(),
        no_cache: true,
        timeout: Duration::from_secs(10),
        ..Request::default()
    };
    let result = eks_token::Issuer::new(&request, &env).and_then(|mut i| i.credentials());
    let want = &case["result"];
    if let Some(ok) = want.get("Ok") {
        let c = result.unwrap_or_else(|e| panic!("{name}: expected credentials, got: {e}"));
        assert_eq!(
            c.access_key_id,
            ok["access_key_id"].as_str().unwrap(),
            "{name}"
        );
        assert_eq!(
            c.secret_access_key.expose(),
            ok["secret_access_key"].as_str().unwrap(),
            "{name}"
        );
        assert_eq!(
            c.session_token.as_ref().map(|t| t.expose().to_owned()),
            ok["session_token"].as_str().map(str::to_owned),
            "{name}: session token"
        );
        assert_eq!(
            c.expiration.map(|e| e.unix_timestamp()),
            ok["expiry"].as_i64(),
            "{name}: expiry"
        );
        if let Some(account) = ok["account_id"].as_str() {
            assert_eq!(c.account_id.as_deref(), Some(account), "{name}: account id");
        }
    } else {
        let want = want["ErrorContains"].as_str().unwrap();
        let e = match result {
            Ok(c) => panic!("{name}: expected an error containing {want:?}, got credentials {c:?}"),
            Err(e) => e.to_string(),
        };
        let want = expected_error(name, want, root.path());
        assert!(e.contains(&want), "{name}: {e:?} does not contain {want:?}");
        if name == "imds_disabled" {
            assert!(e.contains("IMDS (AWS_EC2_METADATA_DISABLED is set)"), "{e}");
        }
    }
    assert!(
        replay.unmatched().is_empty(),
        "{name}: unrecorded requests {:?}",
        replay.unmatched()
    );
}
