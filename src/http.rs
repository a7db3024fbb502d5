//! One HTTP agent per run (connections and TLS sessions are reused across the hops of a
//! chain), an overall deadline, a connect timeout, capped bodies, https only unless the
//! caller allows plain http, proxies from the environment, and bundled CA roots
//! (or `AWS_CA_BUNDLE`). Requests take a parsed [`Url`]: the host every rule looked at
//! is the host asked.

use std::cell::{Cell, OnceCell};
use std::time::{Duration, Instant};

use ureq::tls::{Certificate, PemItem, RootCerts, TlsConfig};
use ureq::Agent;

use crate::env::Env;
use crate::error::{Error, HttpFailure as Failure, Result};
use crate::url::{self, Scheme, Url};

/// Largest response body we read.
pub(crate) const MAX_BODY: u64 = 1 << 20;
/// Longest a TCP connect may take unless the caller says otherwise (also bounded by the
/// deadline).
pub(crate) const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// A request to send.
pub(crate) struct Request<'a> {
    /// `GET`, `POST` or `PUT`.
    pub(crate) method: &'static str,
    /// Scheme, host, port and path (a query, if any, is in `path_and_query`).
    pub(crate) url: &'a Url,
    /// Path (under the URL's base path) and query, starting with `/`; empty for the
    /// URL as it is.
    pub(crate) path_and_query: &'a str,
    /// Headers to send.
    pub(crate) headers: &'a [(String, String)],
    /// Body (empty for none).
    pub(crate) body: &'a [u8],
    /// Allow `http://` (only endpoint overrides and local metadata services).
    pub(crate) allow_http: bool,
    /// Cap on this request's time, below the run's deadline (e.g. IMDS's 1 s).
    pub(crate) timeout: Option<Duration>,
    /// A metadata service of this machine or pod (container credentials, IMDS): never
    /// through `HTTP(S)_PROXY`, as botocore's fetchers never use one.
    pub(crate) direct: bool,
}

impl Request<'_> {
    /// The absolute URL asked, made from the parsed parts.
    pub(crate) fn target(&self) -> String {
        if self.path_and_query.is_empty() {
            self.url.requested()
        } else {
            self.url.join(self.path_and_query)
        }
    }
}

/// A response with its whole (capped) body.
pub(crate) struct Response {
    /// HTTP status.
    pub(crate) status: u16,
    headers: Vec<(String, String)>,
    /// The body, at most [`MAX_BODY`] bytes.
    pub(crate) body: Vec<u8>,
}

impl Response {
    /// The first value of header `name` (case-insensitive).
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// The HTTP client of one run. The agent (and its TLS roots) is built on first use:
/// a token signed with environment credentials needs no network at all.
pub(crate) struct Client {
    agent: OnceCell<Agent>,
    ca_bundle: Option<String>,
    /// PEM certificates trusted instead of any other roots.
    ca_pem: Option<Vec<u8>>,
    connect_timeout: Duration,
    deadline: Cell<Instant>,
    proxies: Proxies,
}

impl Client {
    /// A client whose whole run may take `timeout`.
    pub(crate) fn new(env: &Env, timeout: Duration) -> Self {
        Client {
            agent: OnceCell::new(),
            ca_bundle: env.get("AWS_CA_BUNDLE").map(str::to_owned),
            ca_pem: None,
            connect_timeout: CONNECT_TIMEOUT,
            deadline: Cell::new(Instant::now() + timeout),
            proxies: Proxies::from_env(env),
        }
    }

    /// The same client trusting only the certificates of `pem` (a Kubernetes cluster's
    /// CA), not the bundled roots nor `AWS_CA_BUNDLE`.
    pub(crate) fn with_ca_pem(mut self, pem: Vec<u8>) -> Self {
        self.ca_pem = Some(pem);
        self
    }

    /// The same client with another connect timeout (still bounded by the deadline).
    pub(crate) fn with_connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    fn agent(&self) -> std::result::Result<&Agent, Failure> {
        if let Some(a) = self.agent.get() {
            return Ok(a);
        }
        let roots = match (&self.ca_pem, &self.ca_bundle) {
            (Some(pem), _) => RootCerts::new_with_certs(
                &parse_pem_certs(pem).map_err(|e| Failure::Tls(format!("the CA: {e}")))?,
            ),
            (None, Some(path)) => RootCerts::new_with_certs(
                &load_ca_bundle(path).map_err(|e| Failure::Tls(e.to_string()))?,
            ),
            (None, None) => RootCerts::WebPki,
        };
        let agent: Agent = Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .user_agent(concat!("eks-token/", env!("CARGO_PKG_VERSION")))
            .tls_config(
                TlsConfig::builder()
                    .root_certs(roots)
                    .unversioned_rustls_crypto_provider(crate::tls::provider())
                    .build(),
            )
            .timeout_connect(Some(self.connect_timeout))
            .proxy(None)
            .build()
            .into();
        Ok(self.agent.get_or_init(|| agent))
    }

    /// Time left before the run's deadline.
    pub(crate) fn remaining(&self) -> Duration {
        self.deadline
            .get()
            .saturating_duration_since(Instant::now())
    }

    /// Sets the deadline (a sidecar's next refresh gets its own `--timeout`).
    pub(crate) fn set_deadline(&self, deadline: Instant) {
        self.deadline.set(deadline);
    }

    /// Sends one request (no retries) and reads the whole body.
    pub(crate) fn send(&self, req: &Request<'_>) -> std::result::Result<Response, Failure> {
        let https = req.url.scheme == Scheme::Https;
        if !https && !req.allow_http {
            return Err(Failure::Refused(format!(
                "refusing to send credentials over plain http to {}",
                req.url.origin()
            )));
        }
        let mut budget = self.remaining();
        if budget.is_zero() {
            return Err(Failure::DeadlineExceeded);
        }
        if let Some(t) = req.timeout {
            budget = budget.min(t);
        }
        let mut builder = ureq::http::Request::builder()
            .method(req.method)
            .uri(req.target());
        for (n, v) in req.headers {
            builder = builder.header(n.as_str(), v.as_str());
        }
        let request = builder
            .body(req.body.to_vec())
            .map_err(|e| Failure::Refused(format!("cannot build the request: {e}")))?;
        let proxy = if req.direct || is_link_local(&req.url.host) {
            None
        } else {
            self.proxies.for_url(req.url)?
        };
        let (proxy, via) = proxy.map_or((None, None), |(p, via)| (Some(p), Some(via)));
        let agent = self.agent()?;
        let request = agent
            .configure_request(request)
            .timeout_global(Some(budget))
            .timeout_connect(Some(self.connect_timeout.min(budget)))
            .proxy(proxy)
            .build();
        let mut response = agent
            .run(request)
            .map_err(|e| self.classify_via(e, via.as_deref(), req.url))?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .filter_map(|(n, v)| Some((n.as_str().to_owned(), v.to_str().ok()?.to_owned())))
            .collect();
        let body = response
            .body_mut()
            .with_config()
            .limit(MAX_BODY)
            .read_to_vec()
            .map_err(|e| self.classify(e))?;
        Ok(Response {
            status,
            headers,
            body,
        })
    }

    /// Whether the proxy for `target` has credentials in its URL (never shown).
    fn proxy_has_credentials(&self, target: &Url) -> bool {
        let proxy = match target.scheme {
            Scheme::Https => &self.proxies.https,
            Scheme::Http => &self.proxies.http,
        };
        proxy.as_ref().is_some_and(|(_, text)| {
            let with_scheme = if text.contains("://") {
                text.clone()
            } else {
                format!("http://{text}")
            };
            url::parse_proxy(&with_scheme).is_ok_and(|p| p.userinfo.is_some())
        })
    }

    /// [`Self::classify`], naming the proxy a failure happened at (or behind).
    fn classify_via(&self, e: ureq::Error, via: Option<&str>, target: &Url) -> Failure {
        let Some(via) = via else {
            return self.classify(e);
        };
        let to_proxy = matches!(
            &e,
            ureq::Error::ConnectionFailed | ureq::Error::HostNotFound
        ) || matches!(&e, ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused);
        if let ureq::Error::ConnectProxyFailed(reason) = &e {
            if reason.contains(" 407") {
                // `via` says whether the URL carries credentials: then they were refused.
                return Failure::Refused(if self.proxy_has_credentials(target) {
                    format!(
                        "the proxy {via} refused the credentials in its URL (407 Proxy \
                         Authentication Required): check the user and password written there"
                    )
                } else {
                    format!(
                        "the proxy {via} asks for credentials (407 Proxy Authentication \
                         Required): write them into the proxy URL (http://USER:PASSWORD@HOST:PORT)"
                    )
                });
            }
            return Failure::Connection(format!(
                "the proxy {via} could not reach {}: {reason}",
                target.host_port()
            ));
        }
        match self.classify(e) {
            Failure::Connection(m) if to_proxy => {
                Failure::Connection(format!("cannot connect to the proxy {via}: {m}"))
            }
            Failure::Connection(m) => Failure::Connection(format!("{m} (through the proxy {via})")),
            Failure::Timeout(m) => Failure::Timeout(format!("{m}; through the proxy {via}")),
            Failure::Tls(m) => Failure::Tls(format!("{m} (through the proxy {via})")),
            Failure::BadAnswer(m) => Failure::BadAnswer(format!("{m} (through the proxy {via})")),
            Failure::Refused(m) => Failure::Refused(format!("{m} (through the proxy {via})")),
            // The deadline passed while waiting: on the proxy, or behind it.
            Failure::DeadlineExceeded => Failure::Timeout(format!(
                "the run's deadline passed waiting on the proxy {via} (or the endpoint behind \
                 it); raise --timeout if the network is slow"
            )),
        }
    }

    fn classify(&self, e: ureq::Error) -> Failure {
        use ureq::Error as E;
        match e {
            E::Timeout(_) if self.remaining().is_zero() => Failure::DeadlineExceeded,
            E::Timeout(t) => Failure::Timeout(t.to_string()),
            E::BodyExceedsLimit(_) => Failure::BadAnswer(format!(
                "the response body is larger than {} KiB",
                MAX_BODY / 1024
            )),
            E::HostNotFound => Failure::Connection("host not found (DNS)".into()),
            E::ConnectionFailed => Failure::Connection("connection failed".into()),
            E::Rustls(e) => Failure::Tls(self.tls_failure(&e.to_string(), incompatible(&e))),
            // rustls reports a failed handshake (bad certificate) as invalid data.
            E::Io(io) if io.kind() == std::io::ErrorKind::InvalidData => {
                let tls = io.get_ref().and_then(|e| e.downcast_ref::<rustls::Error>());
                Failure::Tls(self.tls_failure(&io.to_string(), tls.is_some_and(incompatible)))
            }
            E::Io(io) => {
                if self.remaining().is_zero() {
                    Failure::DeadlineExceeded
                } else if io.kind() == std::io::ErrorKind::TimedOut {
                    Failure::Timeout(io.to_string())
                } else {
                    Failure::Connection(io.to_string())
                }
            }
            E::Protocol(p) => Failure::Connection(format!("bad HTTP answer: {p}")),
            other => Failure::BadAnswer(other.to_string()),
        }
    }
}

impl Client {
    /// A TLS failure in words: with a CA given for the server (a cluster's), that CA is
    /// the one to look at, not AWS_CA_BUNDLE.
    fn tls_failure(&self, detail: &str, incompatible: bool) -> String {
        if incompatible {
            return format!(
                "TLS failed: {detail} (the server and eks-token share no TLS version or cipher \
                 suite: eks-token speaks TLS 1.2 and 1.3 with AES-GCM, as every AWS endpoint does)"
            );
        }
        if self.ca_pem.is_some() {
            return format!("TLS failed: {detail} (with the CA given for this server)");
        }
        format!(
            "TLS failed: {detail} (for an endpoint with a private CA, set AWS_CA_BUNDLE to its PEM file)"
        )
    }
}

/// Whether a handshake failed for want of common ground (a TLS version or a cipher
/// suite), refused by the server or found by rustls: no certificate was looked at yet.
fn incompatible(e: &rustls::Error) -> bool {
    use rustls::AlertDescription as A;
    matches!(
        e,
        rustls::Error::PeerIncompatible(_)
            | rustls::Error::AlertReceived(
                A::HandshakeFailure | A::ProtocolVersion | A::InsufficientSecurity
            )
    )
}

fn load_ca_bundle(path: &str) -> Result<Vec<Certificate<'static>>> {
    let what = || format!("the CA bundle {path} (AWS_CA_BUNDLE or --ca-bundle)");
    let err = |detail: String| Error::Io {
        what: what(),
        source: std::io::Error::new(std::io::ErrorKind::InvalidData, detail),
    };
    let pem = crate::fsutil::read_file(std::path::Path::new(path), crate::fsutil::cap::CA_BUNDLE)
        .map_err(|source| Error::Io {
        what: what(),
        source,
    })?;
    parse_pem_certs(&pem).map_err(err)
}

/// The certificates of a PEM text (at least one).
fn parse_pem_certs(pem: &[u8]) -> std::result::Result<Vec<Certificate<'static>>, String> {
    let mut certs = Vec::new();
    for item in ureq::tls::parse_pem(pem) {
        if let PemItem::Certificate(c) = item.map_err(|e| format!("not valid PEM: {e}"))? {
            certs.push(c);
        }
    }
    if certs.is_empty() {
        return Err("no PEM certificate in it".into());
    }
    Ok(certs)
}

/// Proxy settings: `HTTPS_PROXY` for https URLs, `HTTP_PROXY` for http URLs
/// (`ALL_PROXY` for both), except hosts matched by `NO_PROXY`. Lower-case names too.
/// Each is `(variable, value)`, parsed when a request first needs it.
#[derive(Default)]
struct Proxies {
    https: Option<(&'static str, String)>,
    http: Option<(&'static str, String)>,
    no_proxy: Vec<String>,
}

impl Proxies {
    fn from_env(env: &Env) -> Self {
        let get = |names: &[&'static str]| {
            names
                .iter()
                .find_map(|n| env.get(n).map(|v| (*n, v.to_owned())))
        };
        let all = get(&["ALL_PROXY", "all_proxy"]);
        Proxies {
            https: get(&["HTTPS_PROXY", "https_proxy"]).or_else(|| all.clone()),
            http: get(&["HTTP_PROXY", "http_proxy"]).or(all),
            no_proxy: get(&["NO_PROXY", "no_proxy"])
                .map(|(_, v)| {
                    v.split(',')
                        .map(|s| s.trim().to_ascii_lowercase())
                        .filter(|s| !s.is_empty())
                        .collect()
                })
                .unwrap_or_default(),
        }
    }

    /// The proxy for `target`, and how to name it in messages (`http://proxy:3128
    /// (HTTPS_PROXY)`, never its user part); `None` when none applies.
    fn for_url(&self, target: &Url) -> std::result::Result<Option<(ureq::Proxy, String)>, Failure> {
        let proxy = match target.scheme {
            Scheme::Https => &self.https,
            Scheme::Http => &self.http,
        };
        let Some((var, text)) = proxy else {
            return Ok(None);
        };
        if no_proxy_matches(&self.no_proxy, &target.host) {
            return Ok(None);
        }
        let bad = |why: String| {
            Failure::Refused(format!(
                "{var} {:?} is not a usable proxy URL: {why}",
                url::redacted(text)
            ))
        };
        // Proxies are often written without a scheme (`proxy:3128`): plain http.
        let with_scheme = if text.contains("://") {
            text.clone()
        } else {
            format!("http://{text}")
        };
        let p = url::parse_proxy(&with_scheme).map_err(|e| bad(e.to_string()))?;
        let mut uri = format!("{}://", p.scheme.as_str());
        if let Some(u) = &p.userinfo {
            uri.push_str(u);
            uri.push('@');
        }
        uri.push_str(&p.authority());
        if p.port.is_none() {
            // ureq's proxy default port is 80 for http: name it explicitly.
            uri.push_str(&format!(":{}", p.port_or_default()));
        }
        let via = format!("{}://{} ({var})", p.scheme.as_str(), p.host_port());
        ureq::Proxy::new(&uri)
            .map(|proxy| Some((proxy, via)))
            .map_err(|e| bad(e.to_string()))
    }
}

/// Whether `host` is link-local (169.254.0.0/16, fe80::/10): on this machine's link, never
/// reached through a proxy whoever asks. (The metadata services, IPv6 ones included,
/// `fd00:ec2::254` and `fd00:ec2::23`, are asked `direct`.)
fn is_link_local(host: &str) -> bool {
    match host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<std::net::IpAddr>()
    {
        Ok(std::net::IpAddr::V4(a)) => a.is_link_local(),
        Ok(std::net::IpAddr::V6(a)) => (a.segments()[0] & 0xffc0) == 0xfe80,
        Err(_) => false,
    }
}

/// curl's `NO_PROXY` rules: `*` matches all; `example.com` and `.example.com` match the
/// host and its subdomains; entries may carry a port, which is ignored.
fn no_proxy_matches(entries: &[String], host: &str) -> bool {
    entries.iter().any(|e| {
        if e == "*" {
            return true;
        }
        let e = e.trim_start_matches("*.").trim_start_matches('.');
        let e = if e.starts_with('[') {
            e.trim_start_matches('[').split(']').next().unwrap_or("")
        } else if e.matches(':').count() == 1 {
            e.split(':').next().unwrap_or("")
        } else {
            e
        };
        host == e || host.ends_with(&format!(".{e}"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_proxy_rules() {
        let entries: Vec<String> = ["example.com", ".internal", "10.0.0.1:8080", "[::1]"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert!(no_proxy_matches(&entries, "example.com"));
        assert!(no_proxy_matches(&entries, "sts.example.com"));
        assert!(!no_proxy_matches(&entries, "badexample.com"));
        assert!(no_proxy_matches(&entries, "a.internal"));
        assert!(no_proxy_matches(&entries, "10.0.0.1"));
        assert!(no_proxy_matches(&entries, "::1"));
        assert!(no_proxy_matches(&["*".to_string()], "anything"));
    }

    /// The container credentials' hosts (ECS 169.254.170.2, EKS Pod Identity
    /// 169.254.170.23 and fd00:ec2::23 — the last asked `direct`) and any other link-local
    /// address bypass every proxy; nothing else does.
    #[test]
    fn link_local_hosts_bypass_proxies() {
        for host in [
            "169.254.170.2",
            "169.254.170.23",
            "[fe80::1]",
            "fe80::a:b",
            "[febf::1]",
        ] {
            assert!(is_link_local(host), "{host}");
        }
        for host in [
            "169.255.0.1",
            "127.0.0.1",
            "[fd00:ec2::23]",
            "[fec0::1]",
            "sts.amazonaws.com",
            "169.254.170.2.example.com",
        ] {
            assert!(!is_link_local(host), "{host}");
        }
    }

    #[test]
    fn proxy_by_scheme() {
        let env = Env::from_pairs([
            ("HTTPS_PROXY", "http://proxy:3128"),
            ("NO_PROXY", "127.0.0.1,localhost"),
        ]);
        let p = Proxies::from_env(&env);
        let u = |s: &str| url::parse(s).unwrap();
        assert!(p
            .for_url(&u("https://sts.amazonaws.com/"))
            .unwrap()
            .is_some());
        assert!(p.for_url(&u("http://127.0.0.1:5000/")).unwrap().is_none());
        assert!(p.for_url(&u("https://localhost/")).unwrap().is_none());
        let bad = Proxies::from_env(&Env::from_pairs([("HTTPS_PROXY", "http://pro xy:1")]));
        let e = bad.for_url(&u("https://sts.amazonaws.com/")).unwrap_err();
        assert!(e.to_string().contains("HTTPS_PROXY"), "{e}");
    }
}
