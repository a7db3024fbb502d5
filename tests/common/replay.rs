//! Replays a recorded SDK HTTP exchange (`http-traffic.json` of the shared default-chain
//! scenarios): each request is answered with the first unused recorded response whose
//! method and path (with query) match; the host is ignored (endpoint overrides point
//! every service here). Requests with no recorded match get 404 and are reported.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

use serde_json::Value;

#[derive(Clone, Debug)]
pub struct Exchange {
    pub method: String,
    pub path: String,
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub used: bool,
}

/// The exchanges of a recording, in the order they were made.
pub fn exchanges(traffic: &Value) -> Vec<Exchange> {
    let mut by_conn: Vec<(u64, Exchange)> = Vec::new();
    for ev in traffic["events"].as_array().unwrap() {
        let id = ev["connection_id"].as_u64().unwrap();
        let a = &ev["action"];
        if let Some(req) = a.get("Request") {
            let r = &req["request"];
            let uri = r["uri"].as_str().unwrap();
            let path = uri
                .split_once("://")
                .map(|(_, rest)| rest.find('/').map_or("/", |i| &rest[i..]))
                .unwrap_or(uri);
            by_conn.push((
                id,
                Exchange {
                    method: r["method"].as_str().unwrap().to_owned(),
                    path: path.to_owned(),
                    status: 0,
                    headers: Vec::new(),
                    body: Vec::new(),
                    used: false,
                },
            ));
        } else if let Some(resp) = a.get("Response") {
            let x = &mut by_conn.iter_mut().rev().find(|(c, _)| *c == id).unwrap().1;
            let ok = &resp["response"]["Ok"];
            x.status = ok["status"].as_u64().unwrap() as u16;
            for (k, vals) in ok["headers"].as_object().into_iter().flatten() {
                let lk = k.to_ascii_lowercase();
                if ["content-length", "connection", "transfer-encoding"].contains(&lk.as_str()) {
                    continue;
                }
                for v in vals.as_array().into_iter().flatten() {
                    x.headers
                        .push((k.clone(), v.as_str().unwrap_or("").to_owned()));
                }
            }
        } else if let Some(data) = a.get("Data") {
            if data["direction"] == "Response" {
                let x = &mut by_conn.iter_mut().rev().find(|(c, _)| *c == id).unwrap().1;
                x.body
                    .extend_from_slice(data["data"]["Utf8"].as_str().unwrap_or("").as_bytes());
            }
        }
    }
    by_conn.into_iter().map(|(_, x)| x).collect()
}

pub struct Replay {
    pub url: String,
    state: Arc<Mutex<(Vec<Exchange>, Vec<String>)>>,
}

impl Replay {
    pub fn start(exchanges: Vec<Exchange>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
        let state = Arc::new(Mutex::new((exchanges, Vec::new())));
        let st = Arc::clone(&state);
        std::thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                let st = Arc::clone(&st);
                std::thread::spawn(move || serve(conn, st));
            }
        });
        Replay { url, state }
    }

    /// Requests that had no recorded answer.
    pub fn unmatched(&self) -> Vec<String> {
        self.state.lock().unwrap().1.clone()
    }

    /// Recorded exchanges that were never asked for.
    pub fn unused(&self) -> Vec<String> {
        let s = self.state.lock().unwrap();
        s.0.iter()
            .filter(|x| !x.used)
            .map(|x| format!("{} {}", x.method, x.path))
            .collect()
    }
}

fn serve(conn: TcpStream, st: Arc<Mutex<(Vec<Exchange>, Vec<String>)>>) {
    let mut w = conn.try_clone().unwrap();
    let mut r = BufReader::new(conn);
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut parts = line.split_whitespace();
        let (method, path) = (
            parts.next().unwrap_or("").to_owned(),
            parts.next().unwrap_or("").to_owned(),
        );
        let mut len = 0usize;
        loop {
            let mut h = String::new();
            if r.read_line(&mut h).unwrap_or(0) == 0 {
                return;
            }
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((n, v)) = h.split_once(':') {
                if n.eq_ignore_ascii_case("content-length") {
                    len = v.trim().parse().unwrap_or(0);
                }
            }
        }
        let mut body = vec![0; len];
        if r.read_exact(&mut body).is_err() {
            return;
        }
        let answer = {
            let mut s = st.lock().unwrap();
            match s
                .0
                .iter_mut()
                .find(|x| !x.used && x.method == method && x.path == path)
            {
                Some(x) => {
                    x.used = true;
                    Some(x.clone())
                }
                None => {
                    s.1.push(format!("{method} {path}"));
                    None
                }
            }
        };
        let (status, headers, body) = match answer {
            Some(x) => (x.status, x.headers, x.body),
            None => (404, Vec::new(), b"no recorded exchange".to_vec()),
        };
        let mut out = format!(
            "HTTP/1.1 {status} Replayed\r\nContent-Length: {}\r\n",
            body.len()
        );
        for (k, v) in headers {
            out.push_str(&format!("{k}: {v}\r\n"));
        }
        out.push_str("\r\n");
        let mut bytes = out.into_bytes();
        bytes.extend_from_slice(&body);
        if w.write_all(&bytes).is_err() {
            return;
        }
    }
}
