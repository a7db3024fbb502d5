//! Entry points for the fuzz targets in `fuzz/`: each takes arbitrary bytes, runs one
//! parser of untrusted input, and must never panic, hang or allocate without bound.

use crate::credentials::{process, profile as profile_source};
use crate::{cli, exec_credential, profile, sts, token, validate};

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
}

/// The config/credentials file parser and profile chain resolution.
pub fn fuzz_profile_file(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    for (config, credentials) in [
        (Some(&*text), None),
        (None, Some(&*text)),
        (Some(&*text), Some(&*text)),
    ] {
        if let Ok(set) = profile::parse(config, credentials) {
            for name in set.profiles.keys() {
                let _ = profile_source::resolve_chain(&set, name);
                let _ = set.service_setting(name, "sts", "endpoint_url");
            }
        }
    }
}

/// Role ARNs and the other validated values.
pub fn fuzz_arn(data: &[u8]) {
    let s = String::from_utf8_lossy(data);
    let _ = validate::role_arn(&s, "--role-arn");
    let _ = validate::session_name(&s, "--session-name");
    let _ = validate::external_id(&s);
    let _ = validate::cluster_id(&s);
    let _ = crate::endpoint::validate_region(&s);
    let _ = crate::endpoint::parse_endpoint_url(&s);
}

/// `KUBERNETES_EXEC_INFO`.
pub fn fuzz_exec_info(data: &[u8]) {
    let s = String::from_utf8_lossy(data);
    let _ = exec_credential::api_version(Some(&s));
    let _ = exec_credential::interactive(Some(&s));
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
    let s = String::from_utf8_lossy(data);
    let _ = token::decode(&s);
}

/// The command line (arguments separated by NUL bytes).
pub fn fuzz_cli(data: &[u8]) {
    let args: Vec<String> = String::from_utf8_lossy(data)
        .split('\0')
        .map(str::to_owned)
        .collect();
    let _ = cli::parse(&args);
    if let Some(first) = args.first() {
        let _ = cli::parse_duration(first);
        let _ = cli::parse_mode(first);
    }
}
