//! Text a server (or a token) makes reaches no terminal raw: ESC, BEL, CR, newlines and
//! the bidi controls in an STS error, a container endpoint's error, DescribeCluster's
//! error and answer, a caller identity, the user a cluster maps a token to, are written
//! as visible escapes, on stdout and stderr, in plain text and JSON: none can set the
//! title, clear the screen, reorder a line or start a line of its own.

use serde_json::json;

use crate::common::fault::{FaultServer, Reply};
use crate::common::*;

/// Sets the terminal's title, clears the screen, starts a forged line, moves back to
/// its start, reverses what follows, and opens a C1 control sequence.
const EVIL: &str =
    "\u{1b}]0;pwned\u{7}\u{1b}[2J\neks-token: FORGED LINE: all good\r\u{202e}gnp.exe\u{9b}31m";

/// [`EVIL`] without `:` (for an ARN field) or `&`/`<` (for XML).
const EVIL_FIELD: &str = "\u{1b}]0;pwned\u{7}\u{1b}[2J\nFORGED LINE all good\r\u{202e}x\u{2066}";

/// A character a terminal acts on (newline and tab aside, which output uses as such).
fn acts_on_a_terminal(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t')
        || matches!(c, '\u{061c}' | '\u{200e}' | '\u{200f}')
        || ('\u{202a}'..='\u{202e}').contains(&c)
        || ('\u{2066}'..='\u{2069}').contains(&c)
}

/// No raw control or bidi character in `text`, and no line the server started.
fn assert_safe(what: &str, text: &str) {
    if let Some(c) = text.chars().find(|c| acts_on_a_terminal(*c)) {
        panic!("{what}: a raw {c:?} reaches the terminal: {text:?}");
    }
    for line in text.lines() {
        assert!(
            !line.starts_with("eks-token: FORGED") && !line.starts_with("FORGED"),
            "{what}: the server started a line: {text:?}"
        );
    }
}

/// Both outputs of a run are safe, and (`shows`) the server's text was shown, escaped.
fn assert_run_safe(what: &str, r: &Run, shows: &str) {
    assert_safe(&format!("{what} (stdout)"), &r.stdout);
    assert_safe(&format!("{what} (stderr)"), &r.stderr);
    assert!(
        r.stdout.contains(shows) || r.stderr.contains(shows),
        "{what}: {shows:?} not shown: {}{}",
        r.stdout,
        r.stderr
    );
}

fn env_with(vars: &[(&str, &str)]) -> TestEnv {
    let mut env = TestEnv::new();
    env.static_creds("AKIATERMINAL00000001", "terminal/secret")
        .set("AWS_REGION", "us-east-1");
    for (k, v) in vars {
        env.set(k, *v);
    }
    env
}

/// get-token (plain lines) and write-token (JSON lines), with `-v` and a role to
/// assume.
fn token_runs(env: &TestEnv) -> Vec<(&'static str, Run)> {
    let out = env.home.join("token");
    let common = [
        "--cluster-name",
        "dev",
        "--role-arn",
        DEV_ROLE,
        "--no-cache",
        "-v",
    ];
    [
        ("get-token", vec!["get-token"]),
        (
            "write-token",
            vec!["write-token", "--out", out.to_str().unwrap()],
        ),
    ]
    .into_iter()
    .map(|(what, mut args)| {
        args.extend(common);
        (what, env.run(&args))
    })
    .collect()
}

#[test]
fn server_text_never_acts_on_the_terminal() {
    // An STS error's Code and Message.
    let sts = FaultServer::start(
        vec![],
        Reply::sts_error(403, &format!("AccessDenied{EVIL_FIELD}"), EVIL),
    );
    let env = env_with(&[("AWS_ENDPOINT_URL_STS", &sts.url)]);
    for (what, r) in token_runs(&env) {
        assert_eq!(r.code, 1, "{}", r.stderr);
        assert_run_safe(&format!("STS error, {what}"), &r, "FORGED LINE");
    }

    // A container endpoint's error.
    let agent = FaultServer::start(
        vec![],
        Reply::json(403, &json!({"Code": EVIL, "Message": EVIL})),
    );
    let uri = format!("{}/creds", agent.url);
    let mut env = env_with(&[("AWS_CONTAINER_CREDENTIALS_FULL_URI", &uri)]);
    env.unset("AWS_ACCESS_KEY_ID")
        .unset("AWS_SECRET_ACCESS_KEY");
    for (what, r) in token_runs(&env) {
        assert_eq!(r.code, 1, "{}", r.stderr);
        assert_run_safe(&format!("container error, {what}"), &r, "FORGED LINE");
    }

    // DescribeCluster's error, for eks update-kubeconfig (as `aws`) and kubeconfig.
    let eks = FaultServer::start(
        vec![],
        Reply::json(
            404,
            &json!({"__type": format!("ResourceNotFoundException{EVIL_FIELD}"),
                    "message": EVIL}),
        ),
    );
    let mut env = env_with(&[("AWS_ENDPOINT_URL_EKS", &eks.url)]);
    let aws = as_program(&mut env, "aws");
    let config = env.home.join("kubeconfig");
    let c = config.to_str().unwrap();
    let update = [
        "eks",
        "update-kubeconfig",
        "--name",
        "dev",
        "--kubeconfig",
        c,
    ];
    let r = run_as(&env, &aws, &update);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert_run_safe(
        "DescribeCluster error, update-kubeconfig",
        &r,
        "FORGED LINE",
    );
    let r = env.run(&["kubeconfig", "--cluster-name", "dev", "-v"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert_run_safe("DescribeCluster error, kubeconfig", &r, "FORGED LINE");

    // DescribeCluster's answer: an ARN whose account (not checked: the keys do not say
    // theirs) holds controls, in update-kubeconfig's "Added new context" line.
    let arn = format!("arn:aws:eks:us-east-1:{EVIL_FIELD}:cluster/dev");
    eks.set(vec![], Reply::cluster(&arn, "https://dev.example.com"));
    let r = run_as(&env, &aws, &update);
    if r.code == 0 {
        assert_run_safe(
            "DescribeCluster's arn, Added new context",
            &r,
            "FORGED LINE",
        );
    } else {
        assert_run_safe("DescribeCluster's arn, refused", &r, "FORGED LINE");
    }

    // A caller identity: whoami's text, aws-cli's text and --query.
    let identity = format!(
        "<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\
         <GetCallerIdentityResult><Arn>arn:aws:iam::222222222222:user/{EVIL_FIELD}</Arn>\
         <UserId>AIDA{EVIL_FIELD}</UserId><Account>222222222222</Account>\
         </GetCallerIdentityResult><ResponseMetadata><RequestId>r</RequestId>\
         </ResponseMetadata></GetCallerIdentityResponse>"
    );
    let sts = FaultServer::start(vec![], Reply::xml(200, identity));
    let mut env = env_with(&[("AWS_ENDPOINT_URL_STS", &sts.url)]);
    let aws = as_program(&mut env, "aws");
    let r = env.run(&["whoami", "-o", "text", "-v"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_run_safe("whoami -o text", &r, "FORGED LINE");
    for args in [
        vec!["sts", "get-caller-identity", "--output", "text"],
        vec![
            "sts",
            "get-caller-identity",
            "--query",
            "Arn",
            "--output",
            "text",
        ],
        vec!["sts", "get-caller-identity"],
    ] {
        let r = run_as(&env, &aws, &args);
        assert_eq!(r.code, 0, "{}", r.stderr);
        assert_run_safe(&format!("aws {}", args.join(" ")), &r, "FORGED LINE");
    }
}

/// The user a cluster maps a token to (its username from aws-auth, here with a bidi
/// override), in doctor's report: text and JSON.
#[test]
fn a_username_from_the_cluster_does_not_reorder_doctors_report() {
    let role = "arn:aws:iam::222222222222:role/terminal-doctor";
    let mut env = env_with(&[("AWS_ENDPOINT_URL_STS", &moto().url)]);
    let aws_auth = env.home.join("aws-auth.yaml");
    std::fs::write(
        &aws_auth,
        format!(
            "mapRoles: |\n  - rolearn: {role}\n    username: \"admin\\u202e\\u001b[8m \
             FORGED\\u2066\"\n    groups: [viewers]\n"
        ),
    )
    .unwrap();
    let v = Verifier::start_mapping("dev", &moto().url, Some(&aws_auth));
    let kubeconfig = env.home.join("kubeconfig");
    let doc = json!({
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": "dev", "cluster": {
            "server": v.url, "certificate-authority": v.ca.display().to_string()}}],
        "users": [{"name": "dev", "user": {"exec": {
            "apiVersion": "client.authentication.k8s.io/v1beta1",
            "command": bin().display().to_string(),
            "args": ["get-token", "--cluster-name", "dev", "--role-arn", role],
            "interactiveMode": "Never"}}}],
        "contexts": [{"name": "dev", "context": {"cluster": "dev", "user": "dev"}}],
        "current-context": "dev",
    });
    std::fs::write(&kubeconfig, doc.to_string()).unwrap();
    env.set("AWS_REGION", "us-east-1");
    for format in ["text", "json"] {
        let r = env.run(&[
            "doctor",
            "--cluster-name",
            "dev",
            "--role-arn",
            role,
            "--kubeconfig",
            kubeconfig.to_str().unwrap(),
            "-o",
            format,
        ]);
        assert_eq!(r.code, 0, "{format}: {}{}", r.stdout, r.stderr);
        assert_run_safe(&format!("doctor -o {format}"), &r, "FORGED");
        assert!(v.verdicts().last().unwrap()["username"]
            .as_str()
            .unwrap()
            .contains('\u{202e}'));
    }
}

/// `verify`'s report is one line per fact and one verdict, last: a crafted token's
/// fields (percent-encoded controls in its credential, its signed headers) and an STS
/// answer to `--online` (its error, the identity) cannot forge a verdict or act on the
/// terminal.
#[test]
fn verify_prints_one_verdict_last_whatever_the_token_or_sts_says() {
    let forged = "%0Averdict%20%20%20%20%20%20%20%20%20EKS%20would%20accept%20this%20token%1B%5B8m";
    let date = eks_token::sigv4::amz_date(time::OffsetDateTime::now_utc());
    let url = format!(
        "https://sts.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15\
         &X-Amz-Algorithm=AWS4-HMAC-SHA256\
         &X-Amz-Credential=AKIDEXAMPLE{forged}%2F20261129%2Fus-east-1{forged}%2Fsts%2Faws4_request\
         &X-Amz-Date={date}&X-Amz-Expires=60\
         &X-Amz-SignedHeaders=host%3Bx-k8s-aws-id{forged}%0D%07&X-Amz-Signature={}",
        "0".repeat(64)
    );
    let env = TestEnv::new();
    let r = env.run(&["verify", &tokenize(&url)]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let one_verdict = |what: &str, r: &Run| {
        assert_run_safe(what, r, "verdict");
        let verdicts: Vec<usize> = r
            .stdout
            .lines()
            .enumerate()
            .filter(|(_, l)| l.starts_with("verdict"))
            .map(|(i, _)| i)
            .collect();
        assert_eq!(
            verdicts,
            [r.stdout.lines().count() - 1],
            "{what}: one verdict line, last: {:?}",
            r.stdout
        );
    };
    one_verdict("a crafted token", &r);

    // --online: STS refusing with controls in its Code and Message, then an identity
    // holding them.
    let sts = FaultServer::start(
        vec![],
        Reply::sts_error(403, &format!("SignatureDoesNotMatch{EVIL_FIELD}"), EVIL),
    );
    let env = env_with(&[("AWS_ENDPOINT_URL_STS", &sts.url)]);
    let token = env.run(&["get-token", "--cluster-name", "dev", "--output", "token"]);
    let token = token.stdout.trim().to_owned();
    let online = ["verify", &token, "--cluster-name", "dev", "--online"];
    let r = env.run(&online);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    one_verdict("--online, STS refusing", &r);
    sts.set(
        vec![],
        Reply::xml(
            200,
            format!(
                "<GetCallerIdentityResponse><GetCallerIdentityResult>\
                 <Arn>arn:aws:iam::222222222222:user/{EVIL_FIELD}</Arn>\
                 <UserId>AIDA{EVIL_FIELD}</UserId><Account>222222222222</Account>\
                 </GetCallerIdentityResult></GetCallerIdentityResponse>"
            ),
        ),
    );
    let r = env.run(&online);
    one_verdict("--online, an identity", &r);
}
