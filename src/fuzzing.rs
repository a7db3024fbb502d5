//! Entry points for the fuzz targets in `fuzz/`: each takes arbitrary bytes, runs one
//! parser or rule of untrusted input, and must never panic, hang or allocate without
//! bound. The command line's targets (`cli`, `exec_info`, `kubeconfig`) run the
//! binary's own modules, compiled into the library with this feature.

use time::OffsetDateTime;

use crate::credentials::Credentials;
use crate::endpoint::{self, Service};
use crate::secret::Secret;
use crate::sources::{process, web_identity};
use crate::{config_files, plan, sts, token, url, validate, verify, xml};

/// STS success and error answers.
pub fn fuzz_sts_response(data: &[u8]) {
    let _ = sts::decode_assumed_role("AssumeRole", data);
    let _ = sts::decode_assumed_role("AssumeRoleWithWebIdentity", data);
    let e = sts::decode_error(
        "AssumeRole",
        "arn:aws:iam::123456789012:role/x",
        400,
        data,
        "id",
        "text/xml",
    );
    let _ = e.to_string();
    if let Ok(leaves) = xml::parse(data) {
        let _ = leaves.get("GetCallerIdentityResult/Arn");
    }
}

/// The config/credentials file parser and profile chain resolution.
pub fn fuzz_profile_file(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    for (config, credentials) in [
        (Some(&*text), None),
        (None, Some(&*text)),
        (Some(&*text), Some(&*text)),
    ] {
        if let Ok(set) = config_files::parse(config, credentials) {
            for name in set.profiles.keys() {
                let _ = plan::profile_chain(&set, name, None);
                let _ = set.service_setting(name, "sts", "endpoint_url");
            }
        }
    }
}

/// Role ARNs, the other validated values, and URLs.
pub fn fuzz_arn(data: &[u8]) {
    let s = String::from_utf8_lossy(data);
    let _ = validate::role_arn(&s, "--role-arn");
    let _ = validate::session_name(&s, "--session-name");
    let _ = validate::external_id(&s, "--external-id");
    let _ = validate::cluster_id(&s);
    let _ = endpoint::validate_region(&s);
    if let Ok(u) = url::parse(&s) {
        let _ = (u.to_string(), u.is_loopback(), u.join("/x"));
    }
    let _ = url::parse_proxy(&s).map(|u| u.to_string());
    let _ = url::redacted(&s);
    let _ = web_identity::identity(&Secret::new(s.into_owned()));
}

/// Container-credentials, IMDS and `credential_process` JSON.
pub fn fuzz_credentials_json(data: &[u8]) {
    let _ = process::parse_output(data);
    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(data) {
        let _ = crate::credentials::from_json(&v, "Token");
    }
}

/// The token decoder.
pub fn fuzz_token(data: &[u8]) {
    let _ = verify::decode(&String::from_utf8_lossy(data));
}

/// A token through every offline rule of `verify`, as read from stdin or an argument.
pub fn fuzz_verify(data: &[u8]) {
    let s = String::from_utf8_lossy(data);
    let now = OffsetDateTime::now_utc();
    for allowed in [None, Some("http://127.0.0.1:5000")] {
        let r = verify::check(&s, now, allowed);
        let _ = (r.ok(), r.valid_until());
    }
}

/// Token generation and expiry with the first 16 bytes as the credentials' expiration
/// and the signing clock's skew (seconds, any value), the rest as the cluster name.
pub fn fuzz_token_times(data: &[u8]) {
    if data.len() < 16 {
        return;
    }
    let n = |b: &[u8]| i64::from_le_bytes(b.try_into().unwrap_or_default());
    let (exp, skew) = (n(&data[..8]), n(&data[8..16]));
    let cluster = String::from_utf8_lossy(&data[16..]);
    let now = OffsetDateTime::now_utc();
    let creds = Credentials {
        access_key_id: "AKIDFUZZ".into(),
        secret_access_key: Secret::new("secret"),
        session_token: Some(Secret::new("token")),
        expiration: OffsetDateTime::from_unix_timestamp(exp).ok(),
        account_id: None,
    };
    let settings = endpoint::Settings::default();
    let Ok(ep) = endpoint::resolve(Service::Sts, &settings, Some("us-east-1")) else {
        return;
    };
    let signing = now
        .checked_add(time::Duration::seconds(skew))
        .unwrap_or(now);
    if let Ok(t) = token::generate(
        &crate::log::Log::default(),
        &creds,
        &ep,
        &cluster,
        signing,
        now,
    ) {
        let _ = verify::check(&t.value, now, None);
    }
}

/// The command line in every dialect, arguments separated by NUL bytes (the first byte
/// picks the program name); and what an error would echo of them shows no token.
pub fn fuzz_cli(data: &[u8]) {
    use crate::cli::args;
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    let argv: Vec<String> = String::from_utf8_lossy(rest)
        .split('\0')
        .map(str::to_owned)
        .collect();
    let program = [
        "eks-token",
        "aws",
        "aws-iam-authenticator",
        "argocd-k8s-auth",
    ][which as usize % 4];
    let dialect = args::Dialect::of_program(program);
    let error = match args::parse(dialect, &argv, &crate::Env::default()) {
        Ok(args::Command::Help(topic)) => {
            let text = args::dialect::help_text(topic);
            assert!(text.lines().all(|l| l.chars().count() <= 80), "{text}");
            return;
        }
        Ok(_) => return,
        Err(e) => e.to_string(),
    };
    if let Some(first) = argv.first() {
        let _ = args::values::parse_duration(first);
        let _ = args::values::parse_mode(first);
    }
    // What an error line echoes of the arguments never shows a token: the line as the
    // run's log writes it.
    let shown = crate::log::Log::default().redact(&error);
    let mut at = 0;
    while let Some(i) = shown[at..].find(crate::secret::TOKEN_PREFIX) {
        at += i + crate::secret::TOKEN_PREFIX.len();
        assert!(shown[at..].starts_with("***"), "a token shown in {shown:?}");
    }
}

/// `KUBERNETES_EXEC_INFO` as kubectl passes it.
pub fn fuzz_exec_info(data: &[u8]) {
    let s = String::from_utf8_lossy(data);
    let _ = crate::cli::exec_credential::api_version(Some(&s));
    let _ = crate::cli::exec_credential::interactive(Some(&s));
    let _ = crate::cli::exec_credential::ClusterConfig::of(Some(&s));
}

/// A clusters file (a ConfigMap's, so anyone who may edit it): read within bounds or
/// refused, and each entry's request made and checked.
pub fn fuzz_clusters_file(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(entries) = crate::fleet::parse(text) {
        for e in entries {
            let _ = e.request(&crate::Request::default()).validate();
        }
    }
}

/// `eks update-kubeconfig`'s YAML: any text is read within bounds or refused; whatever
/// is accepted and merged is written back so that it reads back as exactly what was
/// merged.
pub fn fuzz_kubeconfig(data: &[u8]) {
    use crate::kubeconfig::{has_entry, insert, parse, write};
    use crate::yaml::{key, map, string};
    use yaml_rust2::Yaml;
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let Ok(mut content) = parse(text, deadline) else {
        return;
    };
    let arn = "arn:aws:eks:us-east-1:111111111111:cluster/fuzz";
    let entry = |field: &str, body: Yaml| map(vec![(field, body), ("name", string(arn))]);
    insert(
        &mut content,
        "clusters",
        entry("cluster", map(vec![("server", string("https://x"))])),
    );
    insert(
        &mut content,
        "users",
        entry("user", map(vec![("token", string("t"))])),
    );
    insert(
        &mut content,
        "contexts",
        entry(
            "context",
            map(vec![("cluster", string(arn)), ("user", string(arn))]),
        ),
    );
    content.insert(key("current-context"), string(arn));
    // `write` refuses what would not read back as `content`; what it returns must.
    let Ok(written) = write(&content, deadline) else {
        return;
    };
    let back = parse(&written, deadline).expect("what write returns reads back");
    assert!(
        back == content,
        "the written kubeconfig reads back differently:\n{written}"
    );
    assert!(has_entry(&back, "clusters", arn));
}

/// `doctor --aws-auth`: any text is read within bounds or refused; a mapping it gives
/// has a username, and an identity's canonical ARN maps case-insensitively.
pub fn fuzz_aws_auth(data: &[u8]) {
    use crate::mapping::aws_auth::{map, parse};
    use crate::mapping::Identity;
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let Ok(auth) = parse(text, deadline) else {
        return;
    };
    for arn in [
        "arn:aws:sts::111111111111:assumed-role/fuzz/session@x",
        "arn:aws:iam::111111111111:user/fuzz",
    ] {
        let user_id = if arn.contains("assumed-role") {
            "AROAFUZZ:session@x"
        } else {
            "AIDAFUZZ"
        };
        let id = Identity::new(arn, "111111111111", user_id, "ASIAFUZZ").expect("valid");
        if let Ok(u) = map(&auth, &id) {
            assert!(!u.from.is_empty());
        }
    }
}
