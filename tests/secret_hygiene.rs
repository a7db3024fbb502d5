//! Every command, with -v, in success: no secret access key, session token or web
//! identity token in stderr, nor in stdout outside the token itself. (The failure paths
//! are checked the same way in failures.rs, faults.rs and sources.rs.)

use crate::common::*;

const WIT: &str = "eyJhbGciOiJSUzI1NiJ9.hygiene-WEB-IDENTITY.c2ln";

#[test]
fn no_command_leaks_a_secret() {
    let m = moto();
    create_cluster("hygiene", DEV_ROLE);
    let mut env = TestEnv::new();
    env.irsa("arn:aws:iam::111111111111:role/hygiene-irsa", WIT);
    env.set("AWS_ENDPOINT_URL", &m.url)
        .set("AWS_REGION", "us-east-1");
    let out = env.home.join("token");
    let kubeconfig = env.home.join("kubeconfig");
    let mut runs = Vec::new();
    for args in [
        vec![
            "get-token",
            "--cluster-name",
            "hygiene",
            "--role-arn",
            DEV_ROLE,
            "-v",
        ],
        vec![
            "get-token",
            "--cluster-name",
            "hygiene",
            "--role-arn",
            DEV_ROLE,
            "-v",
            "--no-cache",
            "--output",
            "token",
        ],
        vec![
            "token",
            "-i",
            "hygiene",
            "-r",
            DEV_ROLE,
            "-v",
            "--token-only",
        ],
        vec![
            "write-token",
            "--cluster-name",
            "hygiene",
            "--role-arn",
            DEV_ROLE,
            "-v",
            "--out",
            out.to_str().unwrap(),
        ],
        vec!["whoami", "--role-arn", DEV_ROLE, "-v"],
        vec![
            "kubeconfig",
            "--cluster-name",
            "hygiene",
            "--role-arn",
            DEV_ROLE,
            "-v",
            "--out",
            kubeconfig.to_str().unwrap(),
        ],
    ] {
        let r = env.run(&args);
        assert_eq!(r.code, 0, "{args:?}: {}", r.stderr);
        runs.push((args, r));
    }
    let token = std::fs::read_to_string(&out).unwrap();
    let r = env.run(&["verify", &token, "-v"]);
    runs.push((vec!["verify"], r));
    // Every secret moto issued in this run, and the web identity token.
    let mut secrets: Vec<String> = vec![WIT.to_owned()];
    // (Other tests' sessions may be listed half-made, without their keys: skipped.)
    for s in m.sessions() {
        for field in ["secret_access_key", "session_token"] {
            secrets.extend(s[field].as_str().map(str::to_owned));
        }
    }
    assert!(secrets.len() > 2, "moto issued no secrets");
    for (args, r) in &runs {
        // stdout minus the token (which carries the URL-encoded session token).
        let mut stdout = r.stdout.clone();
        let printed_token = token_of(&r.stdout);
        if printed_token.starts_with("k8s-aws-v1.") {
            stdout = stdout.replace(&printed_token, "<token>");
        }
        for s in &secrets {
            assert!(
                !r.stderr.contains(s.as_str()),
                "{args:?}: a secret in stderr"
            );
            assert!(!stdout.contains(s.as_str()), "{args:?}: a secret in stdout");
        }
        // write-token logs JSON lines; the others, `eks-token: [ms] ...`.
        assert!(
            r.stderr.contains("eks-token: [") || r.stderr.contains("\"event\":\"verbose\""),
            "{args:?}: -v printed nothing"
        );
    }
    // The files hold the token, never the secret key or the web identity token.
    for f in [&out, &kubeconfig] {
        let text = std::fs::read_to_string(f).unwrap();
        assert!(!text.contains(WIT));
        for s in m.sessions() {
            assert!(!text.contains(s["secret_access_key"].as_str().unwrap()));
        }
    }
}

/// The secret key where the key id should be (the keys swapped, a common slip): refused
/// before anything is logged or signed, without showing either, in the environment and
/// in a profile alike.
#[test]
fn swapped_keys_are_refused_without_showing_the_secret() {
    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    let mut env = TestEnv::new();
    env.static_creds(SECRET, "AKIAHYGIENE000000001")
        .set("AWS_REGION", "us-east-1");
    let r = env.run(&["get-token", "--cluster-name", "dev", "-v"]);
    assert_failed(&r, 1, &[SECRET]);
    assert!(r.stderr.contains("AWS_ACCESS_KEY_ID"), "{}", r.stderr);
    assert!(r.stderr.contains("swapped"), "{}", r.stderr);
    let mut env = TestEnv::new();
    write_aws_files(
        &mut env,
        "",
        &format!(
            "[default]\naws_access_key_id = {SECRET}\naws_secret_access_key = AKIAHYGIENE000000001\n"
        ),
    );
    env.set("AWS_REGION", "us-east-1");
    let r = env.run(&["get-token", "--cluster-name", "dev", "-v"]);
    assert_failed(&r, 1, &[SECRET]);
    assert!(r.stderr.contains("profile default"), "{}", r.stderr);
    // A secret of letters and digits alone: the key id in the secret's place tells.
    const PLAIN: &str = "wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY12";
    let mut env = TestEnv::new();
    env.static_creds(PLAIN, "AKIAHYGIENE000000001")
        .set("AWS_REGION", "us-east-1");
    let r = env.run(&["get-token", "--cluster-name", "dev", "-v"]);
    assert_failed(&r, 1, &[PLAIN]);
    assert!(r.stderr.contains("swapped"), "{}", r.stderr);
}

/// A secret pasted into the wrong argument is not echoed back in the error: the
/// environment's secret key and session token, an EKS token, a web identity token.
/// And a reader of stderr gone (a closed pipe) ends no run in a panic.
#[test]
fn secrets_pasted_into_arguments_are_not_echoed() {
    const SECRET: &str = "echoed/SECRET/key0000000000000000000000";
    const SESSION: &str = "IQoJb3JpZ2luX2VjEXAMPLESESSIONTOKEN";
    let mut env = TestEnv::new();
    env.static_creds("AKIAHYGIENE000000002", SECRET)
        .set("AWS_SESSION_TOKEN", SESSION)
        .set("AWS_REGION", "us-east-1");
    let r = env.run(&["get-token", "--cluster-name", "dev", "--output", "token"]);
    let token = r.stdout.trim().to_owned();
    assert!(token.starts_with("k8s-aws-v1."), "{}", r.stderr);
    for pasted in [SECRET, SESSION, &token, WIT] {
        for args in [
            vec!["get-token", "--cluster-name", "dev", "--role-arn", pasted],
            vec!["get-token", "--cluster-name", "dev", "--region", pasted],
            vec!["get-token", "--cluster-name", "dev", pasted],
            vec![pasted],
        ] {
            let r = env.run(&args);
            assert_ne!(r.code, 0);
            assert_failed(&r, r.code, &[pasted]);
        }
    }
    let script = format!(
        "\"{}\" get-token --bogus 2>&1 | true; echo ${{PIPESTATUS[0]}}",
        bin().display()
    );
    let mut c = env.command(std::path::Path::new("/bin/bash"), &["-c", &script]);
    c.stdin(std::process::Stdio::null());
    let r = run_killed_after(c, RUN_LIMIT);
    assert_eq!(
        r.stdout.trim(),
        "2",
        "exit code with stderr closed: {}",
        r.stderr
    );
}

/// `s` percent-encoded as in a form body or a query (RFC 3986: unreserved kept).
fn pct(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// What a server says back when it reflects `secrets`: each as it is and
/// percent-encoded.
fn reflecting(secrets: &[&str]) -> String {
    let each: Vec<String> = secrets
        .iter()
        .map(|s| format!("{s} (as sent: {})", pct(s)))
        .collect();
    format!("the request carried {}", each.join(", "))
}

/// The server's reflection was shown, and none of `secrets`, as they are or
/// percent-encoded, on stdout or stderr.
fn assert_hidden(what: &str, r: &Run, secrets: &[&str]) {
    assert!(
        r.stderr.contains("the request carried"),
        "{what}: the server's message is not shown: {}",
        r.stderr
    );
    for s in secrets {
        for form in [s.to_string(), pct(s)] {
            assert!(
                !r.stdout.contains(&form) && !r.stderr.contains(&form),
                "{what}: {form:?} shown:\n{}\n{}",
                r.stdout,
                r.stderr
            );
        }
    }
}

/// The runs whose output is checked for a reflected secret: get-token's plain lines
/// and write-token's JSON lines, with `-v`; each fails at the reflecting server
/// (`reset` before each sets the servers' script).
fn reflected_runs(env: &TestEnv, reset: &dyn Fn()) -> Vec<(&'static str, Run)> {
    let out = env.home.join("token");
    let o = out.to_str().unwrap();
    let common = [
        "--cluster-name",
        "dev",
        "--role-arn",
        DEV_ROLE,
        "--no-cache",
        "-v",
    ];
    let mut runs = Vec::new();
    for (what, mut args) in [
        ("get-token", vec!["get-token"]),
        ("write-token", vec!["write-token", "--out", o]),
    ] {
        args.extend(common);
        reset();
        let r = env.run(&args);
        assert_eq!(r.code, 1, "{what}: {}", r.stderr);
        runs.push((what, r));
    }
    runs
}

/// A server that reflects what it was sent (an STS error message, a container
/// endpoint's error) shows no secret the run holds, whatever its source, in any form.
#[test]
fn secrets_a_server_reflects_are_never_shown() {
    use crate::common::fault::{FaultServer, Reply};
    let sts_echoing = |secrets: &[&str]| {
        FaultServer::start(
            vec![],
            Reply::sts_error(403, "AccessDenied", &reflecting(secrets)),
        )
    };
    let env_for = |sts: &FaultServer| {
        let mut env = TestEnv::new();
        env.set("AWS_ENDPOINT_URL_STS", &sts.url)
            .set("AWS_REGION", "us-east-1");
        env
    };

    // The environment's keys.
    let secrets = ["env/SECRET+key=0000000000", "IQoJenvSESSION/token+0000="];
    let sts = sts_echoing(&secrets);
    let mut env = env_for(&sts);
    env.static_creds("AKIAREFLECTENV000001", secrets[0])
        .set("AWS_SESSION_TOKEN", secrets[1]);
    for (what, r) in reflected_runs(&env, &|| {}) {
        assert_hidden(&format!("environment keys, {what}"), &r, &secrets);
    }

    // A profile's keys in ~/.aws/credentials, and another profile's too.
    let secrets = [
        "profile/SECRET+key=000000",
        "IQoJprofileSESSION/token+0=",
        "IQoJotherPROFILE/session+0=",
    ];
    let sts = sts_echoing(&secrets);
    let mut env = env_for(&sts);
    write_aws_files(
        &mut env,
        "",
        &format!(
            "[default]\naws_access_key_id = AKIAREFLECTPROFILE01\naws_secret_access_key = {}\n\
             aws_session_token = {}\n[other]\naws_access_key_id = AKIAREFLECTOTHER0001\n\
             aws_secret_access_key = other/secret\naws_session_token = {}\n",
            secrets[0], secrets[1], secrets[2]
        ),
    );
    for (what, r) in reflected_runs(&env, &|| {}) {
        assert_hidden(&format!("profile keys, {what}"), &r, &secrets);
    }

    // credential_process output.
    let secrets = ["process/SECRET+key=00000", "IQoJprocessSESSION/tok+0="];
    let sts = sts_echoing(&secrets);
    let mut env = env_for(&sts);
    let script = env.home.join("creds.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\necho '{}'\n",
            serde_json::json!({"Version": 1, "AccessKeyId": "ASIAREFLECTPROCESS01",
                "SecretAccessKey": secrets[0], "SessionToken": secrets[1],
                "Expiration": in_an_hour()})
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    write_aws_files(
        &mut env,
        &format!("[default]\ncredential_process = {}\n", script.display()),
        "",
    );
    for (what, r) in reflected_runs(&env, &|| {}) {
        assert_hidden(&format!("credential_process, {what}"), &r, &secrets);
    }

    // Container credentials: the authorization token, and the keys the endpoint gave.
    let secrets = [
        "container/AUTH+token=0000",
        "container/SECRET+key=0000",
        "IQoJcontainerSESSION/tok=",
    ];
    let agent = FaultServer::start(
        vec![],
        Reply::json(
            200,
            &serde_json::json!({"AccessKeyId": "ASIAREFLECTCONTAINER",
                "SecretAccessKey": secrets[1], "Token": secrets[2], "Expiration": in_an_hour()}),
        ),
    );
    let sts = sts_echoing(&secrets);
    let mut env = env_for(&sts);
    env.set(
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        format!("{}/creds", agent.url),
    )
    .set("AWS_CONTAINER_AUTHORIZATION_TOKEN", secrets[0]);
    for (what, r) in reflected_runs(&env, &|| {}) {
        assert_hidden(&format!("container credentials, {what}"), &r, &secrets);
    }
    // The endpoint itself refusing the token, echoing it; its URI's query string (a
    // presigned URI's signature) is not shown either.
    let agent = FaultServer::start(
        vec![],
        Reply::json(
            403,
            &serde_json::json!({"Code": "AccessDenied", "Message": reflecting(&secrets[..1])}),
        ),
    );
    let query = "X-Sig=container-URI-query-SECRET";
    env.set(
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        format!("{}/creds?{query}", agent.url),
    );
    for (what, r) in reflected_runs(&env, &|| {}) {
        assert_hidden(
            &format!("container endpoint, {what}"),
            &r,
            &[secrets[0], "container-URI-query-SECRET"],
        );
        assert!(!agent.requests().is_empty(), "the endpoint was not asked");
    }

    // A web identity token (not every issuer's is a JWT), and the credentials STS gave
    // for it, reflected by the next hop.
    let secrets = [
        "opaque/WEB+identity=token",
        "role/SECRET+key=000000000",
        "IQoJroleSESSION/token+000=",
    ];
    let sts = FaultServer::start(vec![], Reply::Reset);
    let mut env = env_for(&sts);
    env.irsa("arn:aws:iam::111111111111:role/reflect", secrets[0]);
    let mut runs = reflected_runs(&env, &|| {
        sts.set(
            vec![Reply::assumed(
                "AssumeRoleWithWebIdentity",
                "ASIAREFLECTIRSA00001",
                secrets[1],
                secrets[2],
                &in_an_hour(),
            )],
            Reply::sts_error(403, "AccessDenied", &reflecting(&secrets)),
        )
    });
    // ...and AssumeRoleWithWebIdentity itself reflecting the token.
    runs.extend(reflected_runs(&env, &|| {
        sts.set(
            vec![],
            Reply::sts_error(400, "InvalidIdentityToken", &reflecting(&secrets[..1])),
        )
    }));
    for (what, r) in runs {
        assert_hidden(&format!("web identity, {what}"), &r, &secrets);
    }
}

/// A cluster that answers 401 with a message reflecting the bearer token it was sent:
/// the token, its body without the prefix, and its decoded URL.
fn reflecting_cluster(req: &crate::common::fault::Recorded) -> crate::common::fault::Reply {
    let token = req
        .header("authorization")
        .and_then(|h| h.strip_prefix("Bearer "))
        .unwrap_or("none")
        .to_owned();
    let body = token.strip_prefix("k8s-aws-v1.").unwrap_or("").to_owned();
    let url = eks_token::verify::decode(&token).unwrap_or_default();
    crate::common::fault::Reply::json(
        401,
        &serde_json::json!({"kind": "Status", "apiVersion": "v1", "status": "Failure",
            "code": 401, "reason": "Unauthorized",
            "message": format!("token {token} (body {body}, url {url}) is not valid here")}),
    )
}

/// What a presigned URL's `key` holds, as it is in the URL and decoded.
fn query_value(url: &str, key: &str) -> Vec<String> {
    let raw = url
        .split(['?', '&'])
        .find_map(|p| p.strip_prefix(&format!("{key}=")))
        .unwrap_or_else(|| panic!("no {key} in {url}"))
        .to_owned();
    let mut decoded = Vec::new();
    let b = raw.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            decoded.push(u8::from_str_radix(&raw[i + 1..i + 3], 16).unwrap());
            i += 3;
        } else {
            decoded.push(b[i]);
            i += 1;
        }
    }
    vec![raw, String::from_utf8(decoded).unwrap()]
}

/// doctor sends the cluster the token its kubeconfig's user would make; a cluster
/// echoing it in its 401 message (the token, without its prefix, its decoded URL with
/// the signature and the session token: replayable for 15 minutes) gets none of it
/// shown, in the text report or the JSON one.
#[test]
fn a_bearer_token_the_cluster_reflects_is_never_shown() {
    use crate::common::fault::{FaultServer, Reply};
    let cluster = FaultServer::start(vec![], Reply::Computed(reflecting_cluster));
    let front = TlsFront::start(&cluster.url);
    let role = "arn:aws:iam::222222222222:role/reflected-bearer";
    let mut env = TestEnv::new();
    env.static_creds("AKIAREFLECTBEARER001", "bearer/secret")
        .set("AWS_ENDPOINT_URL_STS", &moto().url)
        .set("AWS_REGION", "us-east-1");
    let kubeconfig = env.home.join("kubeconfig");
    let doc = serde_json::json!({
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": "dev", "cluster": {
            "server": front.url, "certificate-authority": front.ca.display().to_string()}}],
        "users": [{"name": "dev", "user": {"exec": {
            "apiVersion": "client.authentication.k8s.io/v1beta1",
            "command": bin().display().to_string(),
            "args": ["get-token", "--cluster-name", "dev", "--role-arn", role],
            "interactiveMode": "Never"}}}],
        "contexts": [{"name": "dev", "context": {"cluster": "dev", "user": "dev"}}],
        "current-context": "dev",
    });
    std::fs::write(&kubeconfig, doc.to_string()).unwrap();
    let args = [
        "doctor",
        "--cluster-name",
        "dev",
        "--role-arn",
        role,
        "--kubeconfig",
        kubeconfig.to_str().unwrap(),
        "-v",
    ];
    let mut runs = Vec::new();
    for format in ["text", "json"] {
        let mut a = args.to_vec();
        a.extend(["-o", format]);
        let r = env.run(&a);
        assert_eq!(r.code, 1, "{format}: {}{}", r.stdout, r.stderr);
        assert!(
            r.stdout.contains("401") && r.stdout.contains("is not valid here"),
            "{format}: the cluster's answer is not reported: {}",
            r.stdout
        );
        runs.push((format, r));
    }
    let sent: Vec<String> = cluster
        .requests()
        .iter()
        .filter_map(|q| {
            q.header("authorization")?
                .strip_prefix("Bearer ")
                .map(str::to_owned)
        })
        .collect();
    assert_eq!(sent.len(), 2, "one token sent per run");
    for (format, r) in &runs {
        for token in &sent {
            let url = eks_token::verify::decode(token).unwrap();
            let mut forms = vec![
                token.clone(),
                token["k8s-aws-v1.".len()..].to_owned(),
                url.clone(),
            ];
            for key in [
                "X-Amz-Signature",
                "X-Amz-Security-Token",
                "X-Amz-Credential",
            ] {
                forms.extend(query_value(&url, key));
            }
            for form in forms {
                assert!(
                    !r.stdout.contains(&form) && !r.stderr.contains(&form),
                    "doctor -o {format}: {form:?} shown:\n{}\n{}",
                    r.stdout,
                    r.stderr
                );
            }
        }
    }
}

/// The proxy's password is never shown, whether its URL parses or not: six forms of
/// `HTTPS_PROXY` (a port out of range, no scheme, a password holding `/`, `?` or `#`,
/// a proxy that refuses), each with `-v`.
#[test]
fn a_proxys_password_is_never_shown() {
    let closed = closed_port();
    for proxy in [
        "http://proxyuser:S3cretPw@127.0.0.1:99999".to_owned(),
        "proxyuser:S3cretPw@127.0.0.1:99999".to_owned(),
        format!("http://proxyuser:S3c/retPw@127.0.0.1:{closed}"),
        format!("http://proxyuser:S3c?retPw@127.0.0.1:{closed}"),
        format!("http://proxyuser:S3c#retPw@127.0.0.1:{closed}"),
        format!("http://proxyuser:S3cretPw@127.0.0.1:{closed}"),
    ] {
        let mut env = TestEnv::new();
        // Every request through the proxy (all of it on loopback).
        env.static_creds("AKIAPROXYPASSWORD001", "proxy/secret")
            .set("HTTPS_PROXY", &proxy)
            .set("HTTP_PROXY", &proxy)
            .unset("NO_PROXY")
            .set("AWS_MAX_ATTEMPTS", "1")
            .set(
                "AWS_ENDPOINT_URL_STS",
                format!("https://127.0.0.1:{}", closed_port()),
            )
            .set("AWS_REGION", "us-east-1");
        let out = env.home.join("token");
        let common = [
            "--cluster-name",
            "dev",
            "--role-arn",
            DEV_ROLE,
            "--timeout",
            "3",
            "-v",
        ];
        for mut args in [
            vec!["get-token"],
            vec!["write-token", "--out", out.to_str().unwrap()],
        ] {
            args.extend(common);
            let r = env.run(&args);
            assert_failed(&r, 1, &["proxy/secret"]);
            for part in ["S3c", "retPw", "proxyuser"] {
                assert!(
                    !r.stderr.contains(part),
                    "HTTPS_PROXY={proxy}, {}: {part:?} shown: {}",
                    args[0],
                    r.stderr
                );
            }
        }
    }
}
