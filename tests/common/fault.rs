//! A hand-written STS stand-in for faults no real server produces on demand:
//! throttling, 5xx, resets, hangs, malformed or huge answers. Replies are scripted per
//! request; every request is recorded.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One scripted answer.
#[derive(Clone, Debug)]
pub enum Reply {
    Http {
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    },
    /// Close the connection without answering.
    Reset,
    /// Accept, read the request, never answer.
    Hang,
    /// Send the answer one byte per `interval`.
    Trickle {
        reply: Box<Reply>,
        interval: Duration,
    },
    /// A server whose clock is `ahead_secs` ahead: a signed request whose X-Amz-Date is
    /// more than 5 minutes off its clock gets SignatureDoesNotMatch; others get `ok`.
    /// Every answer carries the server's `Date`.
    Skewed { ahead_secs: i64, ok: Box<Reply> },
    /// The answer made of the request (a server that echoes what it was sent).
    Computed(fn(&Recorded) -> Reply),
}

impl Reply {
    pub fn xml(status: u16, body: impl Into<String>) -> Reply {
        Reply::Http {
            status,
            headers: vec![
                ("Content-Type".into(), "text/xml".into()),
                ("x-amzn-RequestId".into(), "req-fault-1".into()),
            ],
            body: body.into().into_bytes(),
        }
    }

    pub fn sts_error(status: u16, code: &str, message: &str) -> Reply {
        Reply::xml(
            status,
            format!(
                "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error>\
                 <Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error>\
                 <RequestId>req-{code}</RequestId></ErrorResponse>"
            ),
        )
    }

    /// Throttling that asks for the next attempt after `ms` milliseconds
    /// (`x-amz-retry-after`), so that many attempts stay fast.
    pub fn throttled(ms: u64) -> Reply {
        let mut reply = Reply::sts_error(400, "Throttling", "Rate exceeded");
        if let Reply::Http { headers, .. } = &mut reply {
            headers.push(("x-amz-retry-after".into(), ms.to_string()));
        }
        reply
    }

    /// A JSON answer.
    pub fn json(status: u16, v: &serde_json::Value) -> Reply {
        Reply::Http {
            status,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: v.to_string().into_bytes(),
        }
    }

    /// EKS's DescribeCluster answer for a cluster of `arn` at `endpoint` (ACTIVE).
    pub fn cluster(arn: &str, endpoint: &str) -> Reply {
        let name = arn.rsplit('/').next().unwrap_or_default();
        Reply::json(
            200,
            &serde_json::json!({"cluster": {
                "name": name, "arn": arn, "endpoint": endpoint, "status": "ACTIVE",
                "certificateAuthority": {"data": "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCg=="},
            }}),
        )
    }

    /// A successful AssumeRole / AssumeRoleWithWebIdentity answer.
    pub fn assumed(op: &str, akid: &str, secret: &str, token: &str, expiration: &str) -> Reply {
        Reply::xml(
            200,
            format!(
                "<{op}Response xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><{op}Result>\
                 <Credentials><AccessKeyId>{akid}</AccessKeyId><SecretAccessKey>{secret}</SecretAccessKey>\
                 <SessionToken>{token}</SessionToken><Expiration>{expiration}</Expiration></Credentials>\
                 <AssumedRoleUser><AssumedRoleId>AROAFAULT:s</AssumedRoleId>\
                 <Arn>arn:aws:sts::222222222222:assumed-role/testrole/s</Arn></AssumedRoleUser>\
                 </{op}Result><ResponseMetadata><RequestId>req-ok</RequestId></ResponseMetadata></{op}Response>"
            ),
        )
    }
}

/// A recorded request.
#[derive(Clone, Debug)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    /// The form body's `Action`.
    pub fn action(&self) -> Option<String> {
        self.body
            .split('&')
            .find_map(|p| p.strip_prefix("Action="))
            .map(str::to_owned)
    }
}

struct State {
    script: VecDeque<Reply>,
    default: Reply,
    requests: Vec<Recorded>,
}

/// The fault server.
pub struct FaultServer {
    pub port: u16,
    pub url: String,
    state: Arc<Mutex<State>>,
}

impl FaultServer {
    /// Starts a server answering `script` in order, then `default` forever.
    pub fn start(script: Vec<Reply>, default: Reply) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(Mutex::new(State {
            script: script.into(),
            default,
            requests: Vec::new(),
        }));
        let st = Arc::clone(&state);
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { continue };
                let st = Arc::clone(&st);
                std::thread::spawn(move || serve(conn, st));
            }
        });
        FaultServer {
            port,
            url: format!("http://127.0.0.1:{port}"),
            state,
        }
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.state.lock().unwrap().requests.clone()
    }

    /// Replaces what is served from now on.
    pub fn set(&self, script: Vec<Reply>, default: Reply) {
        let mut s = self.state.lock().unwrap();
        s.script = script.into();
        s.default = default;
    }
}

pub fn read_request(reader: &mut BufReader<TcpStream>) -> Option<Recorded> {
    let mut line = String::new();
    if reader.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_owned();
    let path = parts.next()?.to_owned();
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        reader.read_line(&mut h).ok()?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        let (n, v) = h.split_once(':')?;
        headers.push((n.trim().to_owned(), v.trim().to_owned()));
    }
    let len: usize = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; len];
    reader.read_exact(&mut body).ok()?;
    Some(Recorded {
        method,
        path,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

fn render(status: u16, headers: &[(String, String)], body: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "HTTP/1.1 {status} Fault\r\nContent-Length: {}\r\n",
        body.len()
    );
    let date = httpdate(time::OffsetDateTime::now_utc());
    if !headers.iter().any(|(n, _)| n.eq_ignore_ascii_case("date")) {
        out.push_str(&format!("Date: {date}\r\n"));
    }
    for (n, v) in headers {
        out.push_str(&format!("{n}: {v}\r\n"));
    }
    out.push_str("\r\n");
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

pub fn httpdate(t: time::OffsetDateTime) -> String {
    const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    format!(
        "{}, {:02} {} {} {:02}:{:02}:{:02} GMT",
        DAYS[t.weekday().number_days_from_monday() as usize],
        t.day(),
        MONTHS[u8::from(t.month()) as usize - 1],
        t.year(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

fn serve(conn: TcpStream, state: Arc<Mutex<State>>) {
    let mut writer = conn.try_clone().unwrap();
    let mut reader = BufReader::new(conn);
    while let Some(req) = read_request(&mut reader) {
        // As an HTTP proxy: accept the tunnel, then answer what comes through it.
        if req.method == "CONNECT" {
            state.lock().unwrap().requests.push(req);
            if writer
                .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
                .is_err()
            {
                return;
            }
            continue;
        }
        let reply = {
            let mut s = state.lock().unwrap();
            s.requests.push(req);
            let d = s.default.clone();
            s.script.pop_front().unwrap_or(d)
        };
        let reply = match reply {
            Reply::Skewed { ahead_secs, ok } => {
                let server_now =
                    time::OffsetDateTime::now_utc() + time::Duration::seconds(ahead_secs);
                let req = state.lock().unwrap().requests.last().cloned().unwrap();
                let signed_at = req.header("x-amz-date").and_then(|d| {
                    time::PrimitiveDateTime::parse(
                        d,
                        time::macros::format_description!(
                            "[year][month][day]T[hour][minute][second]Z"
                        ),
                    )
                    .ok()
                    .map(|t| t.assume_utc())
                });
                let off =
                    signed_at.is_some_and(|t| (t - server_now).abs() > time::Duration::minutes(5));
                let mut r = if off {
                    Reply::sts_error(
                        403,
                        "SignatureDoesNotMatch",
                        "Signature expired: the request time is too skewed",
                    )
                } else {
                    *ok
                };
                if let Reply::Http { headers, .. } = &mut r {
                    headers.push(("Date".into(), httpdate(server_now)));
                }
                r
            }
            Reply::Computed(f) => f(&state.lock().unwrap().requests.last().cloned().unwrap()),
            other => other,
        };
        if !send(&mut writer, &reply) {
            return;
        }
    }
}

fn send(w: &mut TcpStream, reply: &Reply) -> bool {
    match reply {
        Reply::Http {
            status,
            headers,
            body,
        } => w.write_all(&render(*status, headers, body)).is_ok(),
        Reply::Reset => {
            let _ = w.shutdown(std::net::Shutdown::Both);
            false
        }
        Reply::Hang => {
            std::thread::sleep(Duration::from_secs(3600));
            false
        }
        Reply::Skewed { .. } | Reply::Computed(_) => false,
        Reply::Trickle { reply, interval } => {
            let bytes = match &**reply {
                Reply::Http {
                    status,
                    headers,
                    body,
                } => render(*status, headers, body),
                _ => return false,
            };
            for b in bytes {
                if w.write_all(&[b]).and_then(|()| w.flush()).is_err() {
                    return false;
                }
                std::thread::sleep(*interval);
            }
            true
        }
    }
}

/// A front for a server (moto) whose clock is `ahead_secs` ahead of this machine's (or
/// behind, when negative), as a real STS on another clock: a request signed more than
/// 5 minutes off its clock gets SignatureDoesNotMatch; everything else is passed to the
/// backend, and its answer's `Date` and every `<Expiration>` moved to the front's clock.
pub struct SkewedFront {
    pub url: String,
    pub port: u16,
}

impl SkewedFront {
    pub fn start(backend_port: u16, ahead_secs: i64) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { continue };
                std::thread::spawn(move || skewed(conn, backend_port, ahead_secs));
            }
        });
        SkewedFront {
            url: format!("http://127.0.0.1:{port}"),
            port,
        }
    }
}

/// One request through the skewed front (the connection is closed after it).
fn skewed(conn: TcpStream, backend: u16, ahead_secs: i64) {
    let ahead = time::Duration::seconds(ahead_secs);
    let mut writer = conn.try_clone().unwrap();
    let Some(req) = read_request(&mut BufReader::new(conn)) else {
        return;
    };
    let server_now = time::OffsetDateTime::now_utc() + ahead;
    let signed_at = req.header("x-amz-date").and_then(|d| {
        time::PrimitiveDateTime::parse(
            d,
            time::macros::format_description!("[year][month][day]T[hour][minute][second]Z"),
        )
        .ok()
        .map(|t| t.assume_utc())
    });
    if signed_at.is_some_and(|t| (t - server_now).abs() > time::Duration::minutes(5)) {
        let mut r = Reply::sts_error(
            403,
            "SignatureDoesNotMatch",
            "Signature expired: the request time is too skewed",
        );
        if let Reply::Http { headers, .. } = &mut r {
            headers.push(("Date".into(), httpdate(server_now)));
            headers.push(("Connection".into(), "close".into()));
        }
        send(&mut writer, &r);
        return;
    }
    let Ok(mut up) = TcpStream::connect(("127.0.0.1", backend)) else {
        return;
    };
    let mut head = format!("{} {} HTTP/1.1\r\n", req.method, req.path);
    for (n, v) in &req.headers {
        if !n.eq_ignore_ascii_case("connection") && !n.eq_ignore_ascii_case("content-length") {
            head.push_str(&format!("{n}: {v}\r\n"));
        }
    }
    head.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n",
        req.body.len()
    ));
    if up.write_all(head.as_bytes()).is_err() || up.write_all(req.body.as_bytes()).is_err() {
        return;
    }
    let mut answer = Vec::new();
    let _ = up.read_to_end(&mut answer);
    let text = String::from_utf8_lossy(&answer).into_owned();
    let Some((head, body)) = text.split_once("\r\n\r\n") else {
        return;
    };
    let mut lines = head.lines();
    let status: u16 = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|c| c.parse().ok())
        .unwrap_or(502);
    let mut headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
        .filter(|(n, _)| {
            !["date", "connection", "content-length", "transfer-encoding"]
                .iter()
                .any(|h| n.eq_ignore_ascii_case(h))
        })
        .collect();
    headers.push(("Date".into(), httpdate(server_now)));
    headers.push(("Connection".into(), "close".into()));
    let body = shift_expirations(body, ahead);
    send(
        &mut writer,
        &Reply::Http {
            status,
            headers,
            body: body.into_bytes(),
        },
    );
}

/// `xml` with every `<Expiration>` moved by `by`.
fn shift_expirations(xml: &str, by: time::Duration) -> String {
    use time::format_description::well_known::Rfc3339;
    let (open, close) = ("<Expiration>", "</Expiration>");
    let mut out = String::new();
    let mut rest = xml;
    while let Some(i) = rest.find(open) {
        let after = &rest[i + open.len()..];
        let Some(j) = after.find(close) else { break };
        out.push_str(&rest[..i + open.len()]);
        match time::OffsetDateTime::parse(&after[..j], &Rfc3339) {
            Ok(t) => out.push_str(&eks_token::Token::rfc3339(t + by)),
            Err(_) => out.push_str(&after[..j]),
        }
        rest = &after[j..];
    }
    out.push_str(rest);
    out
}
