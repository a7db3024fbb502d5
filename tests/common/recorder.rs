//! Recording fronts for real servers: an STS stand-in made of moto's server behind a
//! front that records who signed each call (the access key id in the `Authorization`
//! header), and an HTTP CONNECT proxy that records where each tunnel goes. Both pass
//! the bytes through to the real server.

use std::io::{BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::fault::{read_request, Recorded};

/// One STS call as it reached the front.
#[derive(Clone, Debug)]
pub struct Call {
    /// The form body's `Action`.
    pub action: String,
    /// The access key id that signed it (None for unsigned calls).
    pub signer: Option<String>,
    /// The form body's `RoleArn`, decoded.
    pub role_arn: Option<String>,
    pub request: Recorded,
}

fn form_value(body: &str, key: &str) -> Option<String> {
    body.split('&').find_map(|p| {
        let (k, v) = p.split_once('=')?;
        (k == key).then(|| percent_decode(v))
    })
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(if b[i] == b'+' { b' ' } else { b[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// moto's STS behind a front that records every call, and that can deny AssumeRole
/// into chosen roles (AccessDenied, as STS answers when a trust policy refuses).
pub struct StsRecorder {
    pub url: String,
    calls: Arc<Mutex<Vec<Call>>>,
    denied: Arc<Mutex<Vec<String>>>,
}

impl StsRecorder {
    /// A front for the server at `backend` (`127.0.0.1:PORT`).
    pub fn start(backend_port: u16) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let calls: Arc<Mutex<Vec<Call>>> = Arc::default();
        let denied: Arc<Mutex<Vec<String>>> = Arc::default();
        let (log, deny) = (Arc::clone(&calls), Arc::clone(&denied));
        std::thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                let (log, deny) = (Arc::clone(&log), Arc::clone(&deny));
                std::thread::spawn(move || forward(conn, backend_port, &log, &deny));
            }
        });
        StsRecorder {
            url: format!("http://127.0.0.1:{port}"),
            calls,
            denied,
        }
    }

    /// From now on, AssumeRole into `role_arn` is answered AccessDenied (and recorded).
    pub fn deny(&self, role_arn: &str) {
        self.denied.lock().unwrap().push(role_arn.to_owned());
    }

    /// AssumeRole into `role_arn` goes to moto again.
    pub fn allow(&self, role_arn: &str) {
        self.denied.lock().unwrap().retain(|r| r != role_arn);
    }

    /// Every call so far.
    pub fn calls(&self) -> Vec<Call> {
        self.calls.lock().unwrap().clone()
    }

    /// The calls of `action` so far.
    pub fn of(&self, action: &str) -> Vec<Call> {
        self.calls()
            .into_iter()
            .filter(|c| c.action == action)
            .collect()
    }
}

fn forward(
    conn: TcpStream,
    backend_port: u16,
    log: &Mutex<Vec<Call>>,
    denied: &Mutex<Vec<String>>,
) {
    let mut writer = conn.try_clone().unwrap();
    let mut reader = BufReader::new(conn);
    // One request per connection: the answer is relayed with `Connection: close`.
    let Some(mut req) = read_request(&mut reader) else {
        return;
    };
    let signer = req.header("authorization").and_then(|a| {
        let cred = a.split("Credential=").nth(1)?;
        Some(cred.split('/').next()?.to_owned())
    });
    let query = req.path.split_once('?').map(|(_, q)| q.to_owned());
    let presigned = query
        .as_deref()
        .and_then(|q| Some((form_value(q, "Action")?, form_value(q, "X-Amz-Credential")?)));
    log.lock().unwrap().push(Call {
        action: req
            .action()
            .or_else(|| presigned.as_ref().map(|(a, _)| a.clone()))
            .unwrap_or_default(),
        signer: signer.or_else(|| {
            presigned
                .as_ref()
                .and_then(|(_, c)| c.split('/').next().map(str::to_owned))
        }),
        role_arn: form_value(&req.body, "RoleArn"),
        request: req.clone(),
    });
    let role = form_value(&req.body, "RoleArn").unwrap_or_default();
    if req.action().as_deref() == Some("AssumeRole") && denied.lock().unwrap().contains(&role) {
        let body = format!(
            "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error>\
             <Type>Sender</Type><Code>AccessDenied</Code><Message>not authorized to perform: \
             sts:AssumeRole on resource: {role}</Message></Error>\
             <RequestId>req-denied</RequestId></ErrorResponse>"
        );
        let _ = write!(
            writer,
            "HTTP/1.1 403 Forbidden\r\nContent-Type: text/xml\r\nContent-Length: {}\r\n\
             Connection: close\r\n\r\n{body}",
            body.len()
        );
        return;
    }
    // moto routes an unsigned GET to S3: a presigned GetCallerIdentity (the token, as
    // EKS replays it) is passed on as the signed POST moto recognises, which names the
    // same access key id (moto reads the identity from it; it checks no signature).
    if let Some((action, credential)) = presigned.filter(|_| req.method == "GET") {
        req.method = "POST".into();
        req.path = "/".into();
        req.body = format!("Action={action}&Version=2011-06-15");
        req.headers
            .retain(|(n, _)| !n.eq_ignore_ascii_case("authorization"));
        req.headers.push((
            "Authorization".into(),
            format!("AWS4-HMAC-SHA256 Credential={credential}, SignedHeaders=host, Signature=0"),
        ));
        req.headers.push((
            "Content-Type".into(),
            "application/x-www-form-urlencoded; charset=utf-8".into(),
        ));
    }
    let Ok(mut backend) = TcpStream::connect(("127.0.0.1", backend_port)) else {
        return;
    };
    let mut head = format!("{} {} HTTP/1.1\r\n", req.method, req.path);
    for (n, v) in &req.headers {
        if !n.eq_ignore_ascii_case("connection") && !n.eq_ignore_ascii_case("content-length") {
            head.push_str(&format!("{n}: {v}\r\n"));
        }
    }
    head.push_str(&format!(
        "Connection: close\r\nContent-Length: {}\r\n\r\n",
        req.body.len()
    ));
    if backend.write_all(head.as_bytes()).is_err()
        || backend.write_all(req.body.as_bytes()).is_err()
    {
        return;
    }
    let mut answer = Vec::new();
    let _ = backend.read_to_end(&mut answer);
    let _ = writer.write_all(&answer);
    let _ = writer.shutdown(Shutdown::Both);
}

/// An HTTP CONNECT proxy that records each tunnel's target and tunnels every one of
/// them to `backend_port` on loopback, whatever host it names: traffic never leaves
/// the machine.
pub struct ConnectProxy {
    pub url: String,
    targets: Arc<Mutex<Vec<String>>>,
}

impl ConnectProxy {
    pub fn start(backend_port: u16) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let targets: Arc<Mutex<Vec<String>>> = Arc::default();
        let log = Arc::clone(&targets);
        std::thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                let log = Arc::clone(&log);
                std::thread::spawn(move || tunnel(conn, backend_port, &log));
            }
        });
        ConnectProxy {
            url: format!("http://127.0.0.1:{port}"),
            targets,
        }
    }

    /// The `host:port` of every CONNECT so far.
    pub fn targets(&self) -> Vec<String> {
        self.targets.lock().unwrap().clone()
    }
}

fn tunnel(conn: TcpStream, backend_port: u16, log: &Mutex<Vec<String>>) {
    let mut client = conn.try_clone().unwrap();
    let mut reader = BufReader::new(conn);
    let Some(req) = read_request(&mut reader) else {
        return;
    };
    if req.method != "CONNECT" {
        let _ = client.write_all(b"HTTP/1.1 405 Only CONNECT\r\nContent-Length: 0\r\n\r\n");
        return;
    }
    log.lock().unwrap().push(req.path.clone());
    let Ok(backend) = TcpStream::connect(("127.0.0.1", backend_port)) else {
        return;
    };
    if client
        .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
        .is_err()
    {
        return;
    }
    let _ = backend.set_read_timeout(Some(Duration::from_secs(30)));
    let mut up = backend.try_clone().unwrap();
    let mut down = backend;
    // Bytes the client sent after the CONNECT head are already in `reader`'s buffer.
    let t = std::thread::spawn(move || {
        let _ = std::io::copy(&mut reader, &mut up);
        let _ = up.shutdown(Shutdown::Write);
    });
    let _ = std::io::copy(&mut down, &mut client);
    let _ = client.shutdown(Shutdown::Both);
    let _ = t.join();
}
