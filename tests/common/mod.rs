//! Shared test harness: the binary under test, a clean environment per run, moto's
//! server, the EKS verifier, and a fault server for what no real server does on demand.
#![allow(dead_code)]

pub mod eks_stand_in;
pub mod fault;
pub mod fixtures;
pub mod python;
pub mod recorder;
pub mod replay;
pub mod scenario;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use serde_json::Value;

pub use fixtures::*;

/// The binary under test: `EKS_TOKEN_BIN` (e.g. the static build, or a qemu wrapper),
/// else the one cargo built for these tests.
pub fn bin() -> PathBuf {
    match std::env::var_os("EKS_TOKEN_BIN") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => PathBuf::from(env!("CARGO_BIN_EXE_eks-token")),
    }
}

pub fn support(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/support")
        .join(file)
}

/// Where tests keep their files: inside cargo's target directory, so that a server's
/// log or a directory a static holds does not litter /tmp.
pub fn scratch_dir() -> PathBuf {
    let p = Path::new(env!("CARGO_TARGET_TMPDIR")).join("eks-token-tests");
    std::fs::create_dir_all(&p).unwrap();
    p
}

/// A fresh directory, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> Self {
        static N: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let p = scratch_dir().join(format!(
            "{tag}-{}-{}-{nanos}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
    pub fn path(&self) -> &Path {
        &self.0
    }
    pub fn join(&self, p: &str) -> PathBuf {
        self.0.join(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A free loopback port (bound, then released).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A port where nothing listens.
pub fn closed_port() -> u16 {
    free_port()
}

/// Sends `sig` (`TERM`, `INT`, `STOP`...) to `pid`.
pub fn signal(pid: u32, sig: &str) {
    let ok = Command::new("kill")
        .args([&format!("-{sig}"), &pid.to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill -{sig} {pid}");
}

/// The result of one run of the binary.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

/// A clean environment: its own HOME, IMDS disabled and pinned to loopback, nothing
/// from the machine's AWS configuration.
pub struct TestEnv {
    pub home: TempDir,
    vars: Vec<(String, String)>,
}

impl TestEnv {
    pub fn new() -> Self {
        let home = TempDir::new("home");
        let vars = vec![
            ("HOME".to_owned(), home.0.display().to_string()),
            ("PATH".to_owned(), std::env::var("PATH").unwrap_or_default()),
            ("AWS_EC2_METADATA_DISABLED".to_owned(), "true".to_owned()),
            (
                "AWS_EC2_METADATA_SERVICE_ENDPOINT".to_owned(),
                format!("http://127.0.0.1:{}", closed_port()),
            ),
            // Nothing leaves the machine, not even a DNS lookup: any host but loopback
            // goes to a proxy port that refuses (a test of proxies sets its own).
            (
                "HTTPS_PROXY".to_owned(),
                format!("http://127.0.0.1:{}", closed_port()),
            ),
            (
                "HTTP_PROXY".to_owned(),
                format!("http://127.0.0.1:{}", closed_port()),
            ),
            ("NO_PROXY".to_owned(), "127.0.0.1,localhost,::1".to_owned()),
            (
                "AWS_CONFIG_FILE".to_owned(),
                home.0.join("no-config").display().to_string(),
            ),
            (
                "AWS_SHARED_CREDENTIALS_FILE".to_owned(),
                home.0.join("no-credentials").display().to_string(),
            ),
        ];
        TestEnv { home, vars }
    }

    pub fn set(&mut self, k: &str, v: impl Into<String>) -> &mut Self {
        self.vars.retain(|(n, _)| n != k);
        self.vars.push((k.to_owned(), v.into()));
        self
    }

    pub fn unset(&mut self, k: &str) -> &mut Self {
        self.vars.retain(|(n, _)| n != k);
        self
    }

    pub fn vars(&self) -> &[(String, String)] {
        &self.vars
    }

    /// Static credentials in the environment.
    pub fn static_creds(&mut self, akid: &str, secret: &str) -> &mut Self {
        self.set("AWS_ACCESS_KEY_ID", akid)
            .set("AWS_SECRET_ACCESS_KEY", secret)
    }

    /// IRSA variables with a token file written in HOME.
    pub fn irsa(&mut self, role_arn: &str, token: &str) -> PathBuf {
        let file = self.home.join("web-identity-token");
        std::fs::write(&file, token).unwrap();
        self.set("AWS_WEB_IDENTITY_TOKEN_FILE", file.display().to_string())
            .set("AWS_ROLE_ARN", role_arn);
        file
    }

    pub fn command(&self, program: &Path, args: &[&str]) -> Command {
        let mut c = Command::new(program);
        c.args(args).env_clear().current_dir(self.home.path());
        for (k, v) in &self.vars {
            c.env(k, v);
        }
        c
    }

    /// Runs the binary under test with `args`.
    pub fn run(&self, args: &[&str]) -> Run {
        let mut c = self.command(&bin(), args);
        c.stdin(Stdio::null());
        run_killed_after(c, RUN_LIMIT)
    }
}

/// Waits until `ready()` holds (polled every 10 ms), or fails the test naming `what`
/// after `timeout`: the one way a test waits for a condition (never a bare sleep).
pub fn wait_until(what: &str, timeout: Duration, mut ready: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !ready() {
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The output of `child`'s stdout so far, read by a thread as it comes (for waiting on
/// what a program prints before answering it).
pub fn collect_stdout(child: &mut Child) -> std::sync::Arc<Mutex<Vec<u8>>> {
    let out = std::sync::Arc::new(Mutex::new(Vec::new()));
    let mut stdout = child.stdout.take().expect("stdout piped");
    let sink = out.clone();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = stdout.read(&mut buf) {
            if n == 0 {
                break;
            }
            sink.lock().unwrap().extend_from_slice(&buf[..n]);
        }
    });
    out
}

/// No run of the binary in a test takes this long: a run that would hang (a
/// regression) is killed and fails its test instead of holding CI.
pub const RUN_LIMIT: Duration = Duration::from_secs(120);

/// Runs `c` to its end, or kills it after `limit` (the run then fails with code -1 and
/// says so on stderr).
pub fn run_killed_after(mut c: Command, limit: Duration) -> Run {
    let started = Instant::now();
    let mut child = c
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {c:?}: {e}"));
    let read = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = r.read_to_end(&mut buf);
            String::from_utf8_lossy(&buf).into_owned()
        })
    };
    let out = read(Box::new(child.stdout.take().unwrap()));
    let err = read(Box::new(child.stderr.take().unwrap()));
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break Some(st);
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let elapsed = started.elapsed();
    let mut stderr = err.join().unwrap_or_default();
    if status.is_none() {
        stderr.push_str(&format!("\n[test harness: killed after {limit:?}]"));
    }
    Run {
        code: status.and_then(|s| s.code()).unwrap_or(-1),
        stdout: out.join().unwrap_or_default(),
        stderr,
        elapsed,
    }
}

/// A server started through `tests/support/guard.py`: it dies with the test process.
pub struct Guarded {
    _child: Mutex<Child>,
    _stdin: Mutex<ChildStdin>,
}

fn spawn_guarded(args: &[&str], stdout: Stdio, stderr: Stdio) -> (Child, ChildStdin) {
    let mut child = Command::new("python3")
        .arg(support("guard.py"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(stdout)
        .stderr(stderr)
        .spawn()
        .expect("python3");
    let stdin = child.stdin.take().unwrap();
    (child, stdin)
}

/// moto's server, one per test binary.
pub struct Moto {
    pub port: u16,
    pub url: String,
    pub log: PathBuf,
    _guard: Guarded,
}

pub fn moto() -> &'static Moto {
    static MOTO: OnceLock<Moto> = OnceLock::new();
    MOTO.get_or_init(|| {
        let port = free_port();
        let log = scratch_dir().join(format!("moto-{}-{port}.log", std::process::id()));
        let f = std::fs::File::create(&log).unwrap();
        let server = std::env::var("MOTO_SERVER").unwrap_or_else(|_| "moto_server".into());
        let (child, stdin) = spawn_guarded(
            &[&server, "-H", "127.0.0.1", "-p", &port.to_string()],
            Stdio::from(f.try_clone().unwrap()),
            Stdio::from(f),
        );
        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if http_get(port, "/moto-api/data.json").is_some() {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "moto_server did not start; log: {}",
                log.display()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Moto {
            port,
            url,
            log,
            _guard: Guarded {
                _child: Mutex::new(child),
                _stdin: Mutex::new(stdin),
            },
        }
    })
}

/// A minimal loopback HTTP GET (no client crate needed in tests).
pub fn http_get(port: u16, path: &str) -> Option<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\n\r\n").ok()?;
    let mut buf = String::new();
    s.read_to_string(&mut buf).ok()?;
    let (head, body) = buf.split_once("\r\n\r\n")?;
    head.starts_with("HTTP/1.").then(|| body.to_owned())
}

impl Moto {
    /// Every assumed-role session moto has issued.
    pub fn sessions(&self) -> Vec<Value> {
        let body = http_get(self.port, "/moto-api/data.json").expect("moto data.json");
        let v: Value = serde_json::from_str(&body).unwrap();
        v["sts"]["AssumedRole"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// The session moto issued for access key `akid`.
    pub fn session(&self, akid: &str) -> Option<Value> {
        self.sessions()
            .into_iter()
            .find(|s| s["access_key_id"] == akid)
    }

    /// `POST /` lines in moto's log so far (one per STS call).
    pub fn post_count(&self) -> usize {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .matches("\"POST / HTTP/1.1\"")
            .count()
    }
}

/// Verifies a token as EKS does (botocore recomputes the signature; moto says who
/// signed). `static_keys` maps access key ids to secrets moto does not know.
pub fn verify(
    token: &str,
    cluster: &str,
    sts_url: Option<&str>,
    static_keys: &[(&str, &str)],
) -> Value {
    verify_trusting(token, cluster, sts_url, static_keys, None)
}

/// [`verify`], with the verifier trusting `ca` (an STS behind a private CA).
pub fn verify_trusting(
    token: &str,
    cluster: &str,
    sts_url: Option<&str>,
    static_keys: &[(&str, &str)],
    ca: Option<&Path>,
) -> Value {
    let keys: serde_json::Map<String, Value> = static_keys
        .iter()
        .map(|(k, v)| (k.to_string(), Value::String(v.to_string())))
        .collect();
    checker().check(&serde_json::json!({
        "token": token,
        "cluster": cluster,
        "sts_url": sts_url,
        "no_identity": sts_url.is_none(),
        "static_keys": keys,
        "ca": ca.map(|c| c.display().to_string()),
    }))
}

/// One verifier process for the whole test run (`eks_verifier.py check-server`): a
/// check costs no Python start-up (botocore's import alone is most of a second of CPU).
pub struct Checker {
    io: Mutex<(ChildStdin, BufReader<std::process::ChildStdout>)>,
    _child: Mutex<Child>,
}

pub fn checker() -> &'static Checker {
    static CHECKER: OnceLock<Checker> = OnceLock::new();
    CHECKER.get_or_init(|| {
        // It ends when its stdin closes: with this process.
        let mut child = Command::new("python3")
            .arg(support("eks_verifier.py"))
            .arg("check-server")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("python3");
        let stdin = child.stdin.take().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        Checker {
            io: Mutex::new((stdin, stdout)),
            _child: Mutex::new(child),
        }
    })
}

impl Checker {
    fn check(&self, request: &Value) -> Value {
        let mut io = self.io.lock().unwrap_or_else(|e| e.into_inner());
        writeln!(io.0, "{request}").expect("the checker reads");
        io.0.flush().unwrap();
        let mut line = String::new();
        io.1.read_line(&mut line).expect("the checker answers");
        serde_json::from_str(&line)
            .unwrap_or_else(|_| panic!("verifier output: {line:?} for {request}"))
    }
}

/// Asserts a verdict is a pass, printing the rules that failed otherwise.
pub fn assert_verifies(v: &Value) {
    assert_eq!(v["ok"], true, "token rejected: {}", v["errors"]);
}

/// The token verifies against moto's STS at `sts_url` for `cluster`, as a session of
/// the dev role (`testrole` in 222222222222).
pub fn assert_verifies_as_dev_role(token: &str, cluster: &str, sts_url: &str) {
    let v = verify(token, cluster, Some(sts_url), &[]);
    assert_verifies(&v);
    assert!(v["arn"]
        .as_str()
        .unwrap()
        .starts_with("arn:aws:sts::222222222222:assumed-role/testrole/"));
}

/// The local HTTPS "EKS API server" that verifies bearer tokens.
pub struct Verifier {
    pub port: u16,
    pub url: String,
    pub ca: PathBuf,
    pub log: PathBuf,
    _dir: TempDir,
    _guard: Guarded,
}

/// Starts a support server that prints `ready <port> <ca.crt>`; returns those.
fn start_tls_server(args: &[&str]) -> (u16, PathBuf, Guarded) {
    let (mut child, stdin) = spawn_guarded(args, Stdio::piped(), Stdio::inherit());
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let mut parts = line.split_whitespace();
    assert_eq!(
        parts.next(),
        Some("ready"),
        "{args:?} did not start: {line:?}"
    );
    let port: u16 = parts.next().unwrap().parse().unwrap();
    let ca = PathBuf::from(parts.next().unwrap());
    let guard = Guarded {
        _child: Mutex::new(child),
        _stdin: Mutex::new(stdin),
    };
    (port, ca, guard)
}

/// moto behind HTTPS with a self-signed CA (`ca` is its PEM).
pub struct TlsFront {
    pub url: String,
    pub port: u16,
    pub ca: PathBuf,
    _dir: TempDir,
    _guard: Guarded,
}

impl TlsFront {
    pub fn start(backend: &str) -> Self {
        Self::start_as(backend, &[])
    }

    /// A front whose certificate also names `dns_names`.
    pub fn start_as(backend: &str, dns_names: &[&str]) -> Self {
        Self::start_with(backend, dns_names, None)
    }

    /// A front speaking TLS 1.2 only, with the OpenSSL cipher list `ciphers`.
    pub fn start_tls12(backend: &str, ciphers: &str) -> Self {
        Self::start_with(backend, &[], Some(ciphers))
    }

    fn start_with(backend: &str, dns_names: &[&str], tls12_ciphers: Option<&str>) -> Self {
        let dir = TempDir::new("tls-front");
        let certs = dir.join("certs");
        let mut args = vec![
            "python3".to_owned(),
            support("tls_front.py").display().to_string(),
            "--backend".into(),
            backend.into(),
            "--cert-dir".into(),
            certs.display().to_string(),
        ];
        for n in dns_names {
            args.extend(["--dns-name".into(), (*n).to_owned()]);
        }
        if let Some(c) = tls12_ciphers {
            args.extend(["--tls12-ciphers".into(), c.to_owned()]);
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (port, ca, guard) = start_tls_server(&args);
        TlsFront {
            url: format!("https://127.0.0.1:{port}"),
            port,
            ca,
            _dir: dir,
            _guard: guard,
        }
    }
}

impl Verifier {
    pub fn start(cluster: &str, sts_url: &str) -> Self {
        Self::start_mapping(cluster, sts_url, None)
    }

    /// The verifying server mapping identities with an aws-auth ConfigMap, as EKS does:
    /// an identity it does not map gets 401. (`Verifier::builder` has the other options.)
    pub fn start_mapping(cluster: &str, sts_url: &str, aws_auth: Option<&Path>) -> Self {
        let builder = Self::builder(cluster, sts_url);
        match aws_auth {
            Some(a) => builder.aws_auth(a),
            None => builder,
        }
        .start()
    }

    /// The token verdicts so far, one per request to the Kubernetes side (calls of EKS's
    /// API are in `control_plane_calls`).
    pub fn verdicts(&self) -> Vec<Value> {
        self.log_lines()
            .into_iter()
            .filter(|v| v.get("api").is_none())
            .collect()
    }
}

/// The token of an ExecCredential (or the bare token output).
pub fn token_of(stdout: &str) -> String {
    let s = stdout.trim();
    if s.starts_with('{') {
        let v: Value = serde_json::from_str(s).unwrap_or(Value::Null);
        v["status"]["token"].as_str().unwrap_or(s).to_owned()
    } else {
        s.to_owned()
    }
}

/// Asserts a failed run: exit code, nothing on stdout, none of `secrets` in stderr.
pub fn assert_failed(r: &Run, code: i32, secrets: &[&str]) {
    assert_eq!(r.code, code, "exit code; stderr: {}", r.stderr);
    assert!(
        r.stdout.is_empty(),
        "stdout must be empty, got {:?}",
        r.stdout
    );
    assert!(!r.stderr.trim().is_empty(), "an error message is expected");
    for s in secrets {
        assert!(
            !r.stderr.contains(s),
            "secret leaked to stderr: {}",
            r.stderr
        );
    }
}

/// Creates an EKS cluster in moto, in the dev account 222222222222 (moto keeps one
/// backend per account: the cluster is made with a session of `dev_role`).
pub fn create_cluster(name: &str, dev_role: &str) {
    let m = moto();
    let script = format!(
        r#"
import boto3
sts = boto3.client('sts', endpoint_url='{url}', region_name='us-east-1', aws_access_key_id='a', aws_secret_access_key='b')
c = sts.assume_role(RoleArn='{dev_role}', RoleSessionName='setup')['Credentials']
eks = boto3.client('eks', endpoint_url='{url}', region_name='us-east-1', aws_access_key_id=c['AccessKeyId'],
                   aws_secret_access_key=c['SecretAccessKey'], aws_session_token=c['SessionToken'])
eks.create_cluster(name='{name}', roleArn='arn:aws:iam::222222222222:role/eks', resourcesVpcConfig={{}})
"#,
        url = m.url
    );
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// An RFC 3339 expiration an hour from now, for recorded or stand-in STS answers.
pub fn in_an_hour() -> String {
    eks_token::Token::rfc3339(time::OffsetDateTime::now_utc() + time::Duration::hours(1))
}

/// Parses an RFC 3339 timestamp (an ExecCredential's `expirationTimestamp`).
pub fn parse_rfc3339(s: &str) -> Option<time::OffsetDateTime> {
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok()
}
