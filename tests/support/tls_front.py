#!/usr/bin/env python3
"""An HTTPS front for moto's server, with a self-signed CA, so tests can exercise the
real TLS path (rustls, AWS_CA_BUNDLE) against a real STS emulator.

  tls_front.py --backend http://127.0.0.1:PORT --cert-dir DIR [--dns-name NAME]...
prints "ready <port> <ca.crt>" once listening. --dns-name adds names to the server
certificate (e.g. a real STS host, reached through a test proxy that never leaves
loopback).
"""
import argparse
import os
import ssl
import sys
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from eks_verifier import make_cert  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--backend", required=True)
    ap.add_argument("--cert-dir", required=True)
    ap.add_argument("--dns-name", action="append", default=[])
    ap.add_argument("--tls12-ciphers", help="TLS 1.2 only, with these OpenSSL ciphers")
    args = ap.parse_args()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):
            pass

        def do_POST(self):
            self.forward(self.rfile.read(int(self.headers.get("Content-Length") or 0)))

        def do_GET(self):
            self.forward(None)

        def forward(self, body):
            headers = {k: v for k, v in self.headers.items()
                       if k.lower() not in ("host", "content-length", "connection")}
            req = urllib.request.Request(args.backend + self.path, data=body, headers=headers)
            try:
                with urllib.request.urlopen(req, timeout=30) as r:
                    status, rheaders, rbody = r.status, r.headers, r.read()
            except urllib.error.HTTPError as e:
                status, rheaders, rbody = e.code, e.headers, e.read()
            self.send_response(status)
            for k, v in rheaders.items():
                if k.lower() not in ("content-length", "connection", "transfer-encoding", "server", "date"):
                    self.send_header(k, v)
            self.send_header("Content-Length", str(len(rbody)))
            self.end_headers()
            self.wfile.write(rbody)

    ca, cert, key = make_cert(args.cert_dir, args.dns_name)
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    if args.tls12_ciphers:
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        ctx.set_ciphers(args.tls12_ciphers)
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    print(f"ready {server.server_address[1]} {ca}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
