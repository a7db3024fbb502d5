//! The one parser for every URL that comes from outside: endpoint overrides, container
//! credential URIs, the IMDS endpoint, proxies and the URL inside a token. It refuses
//! what different parsers read differently (userinfo, backslashes, control characters,
//! percent signs in the host), so that every rule about a host runs on the host that is
//! then really asked: the request is made from the parsed parts, never from the text.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// `http` or `https`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scheme {
    Http,
    Https,
}

impl Scheme {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
        }
    }

    fn default_port(self) -> u16 {
        match self {
            Scheme::Http => 80,
            Scheme::Https => 443,
        }
    }
}

/// A parsed absolute URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Url {
    pub(crate) scheme: Scheme,
    /// Lower case; an IPv6 address without its brackets.
    pub(crate) host: String,
    /// Only when it is not the scheme's default.
    pub(crate) port: Option<u16>,
    /// Empty or starting with `/`.
    pub(crate) path: String,
    /// The raw query, without `?`.
    pub(crate) query: Option<String>,
    /// `user:password` (proxies only; see [`parse_proxy`]).
    pub(crate) userinfo: Option<String>,
}

/// Why a URL was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum UrlError {
    NoScheme,
    Scheme(String),
    UserInfo,
    NoHost,
    BadHost,
    BadPort,
    BadCharacter,
    Fragment,
    Query,
}

impl fmt::Display for UrlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UrlError::NoScheme => f.write_str("it has no scheme (http:// or https://)"),
            UrlError::Scheme(s) => write!(f, "the scheme {s:?} is not http or https"),
            UrlError::UserInfo => f.write_str(
                "it has a user part before '@', which would send the request to another host \
                 than it appears to name",
            ),
            UrlError::NoHost => f.write_str("it has no host"),
            UrlError::BadHost => f.write_str("its host is not a DNS name or an IP address"),
            UrlError::BadPort => f.write_str("its port is not a number from 1 to 65535"),
            UrlError::BadCharacter => f.write_str(
                "invalid uri character (a space, control character, backslash or non-ASCII byte)",
            ),
            UrlError::Fragment => f.write_str("it has a fragment ('#')"),
            UrlError::Query => f.write_str("it has a query ('?'), which is not allowed here"),
        }
    }
}

/// Parses `text`; userinfo is refused.
pub(crate) fn parse(text: &str) -> Result<Url, UrlError> {
    let url = parse_any(text)?;
    if url.userinfo.is_some() {
        return Err(UrlError::UserInfo);
    }
    Ok(url)
}

/// Parses a proxy URL, the one place where `user:password@` is meaningful (proxy
/// authentication); the host is still found by the same rules.
pub(crate) fn parse_proxy(text: &str) -> Result<Url, UrlError> {
    parse_any(text)
}

fn parse_any(text: &str) -> Result<Url, UrlError> {
    let text = text.trim();
    if text
        .bytes()
        .any(|b| b.is_ascii_control() || b == b' ' || b == b'\\' || b >= 0x80)
    {
        return Err(UrlError::BadCharacter);
    }
    let (scheme, rest) = text.split_once("://").ok_or(UrlError::NoScheme)?;
    let scheme = match scheme.to_ascii_lowercase().as_str() {
        "http" => Scheme::Http,
        "https" => Scheme::Https,
        other => return Err(UrlError::Scheme(other.to_owned())),
    };
    if rest.contains('#') {
        return Err(UrlError::Fragment);
    }
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let (userinfo, hostport) = match authority.rsplit_once('@') {
        Some((u, h)) => (Some(u.to_owned()), h),
        None => (None, authority),
    };
    let (host, port) = split_host_port(hostport)?;
    let (path, query) = match tail.split_once('?') {
        Some((p, q)) => (p, Some(q.to_owned())),
        None => (tail, None),
    };
    Ok(Url {
        scheme,
        port: port.filter(|p| *p != scheme.default_port()),
        host,
        path: path.to_owned(),
        query,
        userinfo,
    })
}

fn split_host_port(hostport: &str) -> Result<(String, Option<u16>), UrlError> {
    let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
        let (addr, after) = v6.split_once(']').ok_or(UrlError::BadHost)?;
        addr.parse::<Ipv6Addr>().map_err(|_| UrlError::BadHost)?;
        let port = match after {
            "" => None,
            p => Some(p.strip_prefix(':').ok_or(UrlError::BadHost)?),
        };
        (addr.to_ascii_lowercase(), port)
    } else {
        let (h, p) = match hostport.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (hostport, None),
        };
        (h.to_ascii_lowercase(), p)
    };
    if host.is_empty() {
        return Err(UrlError::NoHost);
    }
    let dns_ok = host
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b'_');
    if !host.contains(':') && !dns_ok {
        return Err(UrlError::BadHost);
    }
    let port = match port {
        None => None,
        Some(p) => {
            let n: u16 = p
                .parse()
                .ok()
                .filter(|_| p.bytes().all(|b| b.is_ascii_digit()))
                .ok_or(UrlError::BadPort)?;
            if n == 0 {
                return Err(UrlError::BadPort);
            }
            Some(n)
        }
    };
    Ok((host, port))
}

impl Url {
    /// The `Host` header: the host, `[v6]` bracketed, with `:port` when not the default.
    pub(crate) fn authority(&self) -> String {
        let mut out = String::with_capacity(self.host.len() + 8);
        self.push_authority(&mut out);
        out
    }

    /// The authority appended to `out` (one string built for a URL, not one a part).
    fn push_authority(&self, out: &mut String) {
        if self.host.contains(':') {
            out.push('[');
            out.push_str(&self.host);
            out.push(']');
        } else {
            out.push_str(&self.host);
        }
        if let Some(p) = self.port {
            out.push(':');
            out.push_str(&p.to_string());
        }
    }

    /// `host:port`, the port always written (the scheme's default when none is).
    pub(crate) fn host_port(&self) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        format!("{host}:{}", self.port_or_default())
    }

    /// `scheme://authority`.
    pub(crate) fn origin(&self) -> String {
        self.origin_and(&[])
    }

    /// `scheme://authority` followed by `rest`, in one string.
    fn origin_and(&self, rest: &[&str]) -> String {
        let len = rest.iter().map(|r| r.len()).sum::<usize>() + self.host.len() + 16;
        let mut out = String::with_capacity(len);
        out.push_str(self.scheme.as_str());
        out.push_str("://");
        self.push_authority(&mut out);
        rest.iter().for_each(|r| out.push_str(r));
        out
    }

    /// The port, the scheme's default when none is written.
    pub(crate) fn port_or_default(&self) -> u16 {
        self.port.unwrap_or(self.scheme.default_port())
    }

    /// The host as an IP address, when it is one.
    pub(crate) fn ip(&self) -> Option<IpAddr> {
        self.host.parse().ok()
    }

    /// `localhost` or a loopback address.
    pub(crate) fn is_loopback(&self) -> bool {
        self.host == "localhost" || self.ip().is_some_and(|ip| ip.is_loopback())
    }

    /// The host is one of `addrs`.
    pub(crate) fn host_is_one_of(&self, addrs: &[IpAddr]) -> bool {
        self.ip().is_some_and(|ip| addrs.contains(&ip))
    }

    /// The URL with its path (without a trailing `/`) as a base for `path_and_query`.
    pub(crate) fn join(&self, path_and_query: &str) -> String {
        self.origin_and(&[self.path.trim_end_matches('/'), path_and_query])
    }

    /// The URL as requested: origin, path and query (never for a message: see
    /// `Display`).
    pub(crate) fn requested(&self) -> String {
        match &self.query {
            Some(q) => self.origin_and(&[&self.path, "?", q]),
            None => self.origin_and(&[&self.path]),
        }
    }

    /// Refuses a query (endpoints and metadata services take none).
    pub(crate) fn without_query(self) -> Result<Url, UrlError> {
        match self.query {
            Some(_) => Err(UrlError::Query),
            None => Ok(self),
        }
    }
}

impl fmt::Display for Url {
    /// The URL for a message: a proxy's user part and a query (a container URI's may
    /// carry a credential) are never shown.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.userinfo.is_some() {
            write!(f, "{}://***@{}", self.scheme.as_str(), self.authority())?;
        } else {
            f.write_str(&self.origin())?;
        }
        f.write_str(&self.path)?;
        if self.query.is_some() {
            f.write_str("?***")?;
        }
        Ok(())
    }
}

/// `bytes` as lowercase hex (digests, signatures).
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    // Written in place: a two-byte append per byte costs a memcpy call each.
    let mut buf = vec![0; bytes.len() * 2];
    for (pair, &b) in buf.chunks_exact_mut(2).zip(bytes) {
        pair[0] = DIGITS[(b >> 4) as usize];
        pair[1] = DIGITS[(b & 15) as usize];
    }
    ascii(buf)
}

/// URI-encodes every byte but the unreserved `A-Za-z0-9-_.~` (and `/` when `keep_slash`).
pub(crate) fn uri_encode(s: &str, keep_slash: bool, out: &mut String) {
    const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
    let keep = |b: u8| {
        b.is_ascii_alphanumeric()
            || matches!(b, b'-' | b'_' | b'.' | b'~')
            || (keep_slash && b == b'/')
    };
    // Room for a few escapes (three bytes each): a session token has one in 30.
    out.reserve(s.len() + s.len() / 4 + 16);
    // Runs of kept bytes are copied whole: session tokens are long.
    let mut rest = s;
    while let Some(run) = rest.bytes().position(|b| !keep(b)) {
        out.push_str(&rest[..run]);
        // Every byte of the character that needs encoding, so that `rest` stays on a
        // character boundary.
        let len = rest[run..].chars().next().map_or(1, char::len_utf8);
        for &c in &rest.as_bytes()[run..run + len] {
            out.push('%');
            out.push(char::from(DIGITS[(c >> 4) as usize]));
            out.push(char::from(DIGITS[(c & 15) as usize]));
        }
        rest = &rest[run + len..];
    }
    out.push_str(rest);
}

/// Bytes that are ASCII by construction, as text.
fn ascii(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).unwrap_or_default()
}

/// The addresses of the EKS Pod Identity and ECS agents.
pub(crate) const AGENT_ADDRESSES: [IpAddr; 3] = [
    IpAddr::V4(Ipv4Addr::new(169, 254, 170, 2)),
    IpAddr::V4(Ipv4Addr::new(169, 254, 170, 23)),
    IpAddr::V6(Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x23)),
];

/// A URL as text for a message, parsed or not: a user part (anything up to the last
/// `@`, which may hide in a password holding `/`, `?` or `#`) replaced by `***`, a query
/// or fragment by `?***`, control characters dropped.
pub(crate) fn redacted(text: &str) -> String {
    let text = text.trim();
    let (scheme, rest) = match text.split_once("://") {
        Some((scheme, rest)) => (format!("{scheme}://"), rest),
        None => (String::new(), text),
    };
    let (user, rest) = match rest.rsplit_once('@') {
        Some((_, host)) => ("***@", host),
        None => ("", rest),
    };
    let rest = match rest.find(['?', '#']) {
        Some(i) => format!("{}?***", &rest[..i]),
        None => rest.to_owned(),
    };
    format!("{scheme}{user}{rest}")
        .chars()
        .filter(|c| !c.is_control())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_is_lowercase_two_digits_a_byte() {
        assert_eq!(hex(&[]), "");
        assert_eq!(hex(&[0, 0x0f, 0xa0, 0xff]), "000fa0ff");
    }

    #[test]
    fn parts() {
        let u = parse("HTTPS://STS.Example.com:443/base/?x=1").unwrap();
        assert_eq!(u.scheme, Scheme::Https);
        assert_eq!(u.host, "sts.example.com");
        assert_eq!(u.port, None);
        assert_eq!(u.path, "/base/");
        assert_eq!(u.query.as_deref(), Some("x=1"));
        assert_eq!(u.join("/?a=b"), "https://sts.example.com/base/?a=b");
        let u = parse("http://[FD00:EC2::23]:8080").unwrap();
        assert_eq!(u.host, "fd00:ec2::23");
        assert_eq!(u.authority(), "[fd00:ec2::23]:8080");
        assert!(u.host_is_one_of(&AGENT_ADDRESSES));
        assert!(parse("http://127.0.0.1:5000").unwrap().is_loopback());
        assert!(parse("http://localhost/x").unwrap().is_loopback());
        assert!(parse("http://[::1]/").unwrap().is_loopback());
        assert!(!parse("http://127.0.0.1.evil.com/").unwrap().is_loopback());
    }

    #[test]
    fn refuses_what_parsers_disagree_on() {
        for (bad, why) in [
            ("http://localhost:80@other-host/", UrlError::UserInfo),
            ("http://user@127.0.0.1/", UrlError::UserInfo),
            ("http://127.0.0.1\\@evil/", UrlError::BadCharacter),
            ("http://evil#@127.0.0.1/", UrlError::Fragment),
            ("http://127.0.0.1 /", UrlError::BadCharacter),
            ("http://127.0.0.1\n/", UrlError::BadCharacter),
            ("http://%31%32%37.0.0.1/", UrlError::BadHost),
            ("http://[::1/", UrlError::BadHost),
            ("http://h:abc/", UrlError::BadPort),
            ("http://h:0/", UrlError::BadPort),
            ("http://h:99999/", UrlError::BadPort),
            ("http://h:+80/", UrlError::BadPort),
            ("http:///path", UrlError::NoHost),
            ("ftp://h/", UrlError::Scheme("ftp".into())),
            ("127.0.0.1:5000", UrlError::NoScheme),
            ("http://exämple.com/", UrlError::BadCharacter),
        ] {
            assert_eq!(parse(bad), Err(why), "{bad}");
        }
        assert_eq!(
            parse("http://h/?q").unwrap().without_query(),
            Err(UrlError::Query)
        );
    }

    #[test]
    fn proxies_may_authenticate_but_never_show_it() {
        let p = parse_proxy("http://user:pa%40ss@proxy.corp:3128").unwrap();
        assert_eq!(p.host, "proxy.corp");
        assert_eq!(p.port, Some(3128));
        assert_eq!(p.to_string(), "http://***@proxy.corp:3128");
        assert_eq!(
            redacted("http://localhost:80@other-host/x"),
            "http://***@other-host/x"
        );
    }

    /// The forms that once showed a proxy's password (issue 25): no scheme, and a
    /// password holding `/`, `?` or `#`; a query is never shown either.
    #[test]
    fn no_user_part_is_ever_shown_parsed_or_not() {
        for (text, shown) in [
            ("proxyuser:S3cretPw@127.0.0.1:99999", "***@127.0.0.1:99999"),
            ("http://u:S3cret/Pw@proxy:3128", "http://***@proxy:3128"),
            ("http://u:S3cret?Pw@proxy:3128", "http://***@proxy:3128"),
            ("http://u:S3cret#Pw@proxy:3128", "http://***@proxy:3128"),
            ("http://u:S3cret@Pw@proxy:3128", "http://***@proxy:3128"),
            ("https://u:S3cretPw@proxy:99999", "https://***@proxy:99999"),
            (
                "http://127.0.0.1/creds?token=S3cretPw",
                "http://127.0.0.1/creds?***",
            ),
        ] {
            assert_eq!(redacted(text), shown, "{text}");
            assert!(!redacted(text).contains("S3cret"), "{text}");
        }
    }
}
