"""A fake Lambda Invoke API for the --lambda-endpoint test: it checks each request's SigV4
signature with botocore (an independent implementation) and answers with the verdict.

Usage: python fake_lambda.py SECRET_KEY [--tls CERT KEY]. With --tls it serves HTTPS with that
certificate chain and key. Prints "listening PORT", then serves until killed.
"""

import json
import ssl
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

SECRET = sys.argv[1]
TLS = sys.argv[3:5] if sys.argv[2:3] == ["--tls"] else None
SCHEME = "https" if TLS else "http"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        auth = self.headers.get("authorization", "")
        verdict = {"path": self.path, "authorization": auth, "verified": False}
        try:
            algo, rest = auth.split(" ", 1)
            fields = dict(p.strip().split("=", 1) for p in rest.split(","))
            access_key, date, region, service, _ = fields["Credential"].split("/")
            signed = fields["SignedHeaders"].split(";")
            headers = {h: self.headers[h] for h in signed}
            request = AWSRequest(
                method="POST",
                url=f"{SCHEME}://{self.headers['host']}{self.path}",
                data=body,
                headers=headers,
            )
            request.context["timestamp"] = self.headers["x-amz-date"]
            token = self.headers.get("x-amz-security-token")
            signer = SigV4Auth(Credentials(access_key, SECRET, token), service, region)
            canonical = signer.canonical_request(request)
            expected = signer.signature(signer.string_to_sign(request, canonical), request)
            verdict.update(
                algorithm=algo,
                accessKey=access_key,
                region=region,
                service=service,
                signedHeaders=signed,
                expected=expected,
                got=fields["Signature"],
                verified=expected == fields["Signature"],
                canonicalRequest=canonical,
                invocationType=self.headers.get("x-amz-invocation-type"),
                payload=body.decode(),
                scheme=SCHEME,
                host=self.headers["host"],
            )
        except Exception as e:  # the verdict says what went wrong
            verdict["error"] = repr(e)
        if "/functions/missing/" in self.path:
            out = json.dumps({"Type": "User", "message": "Function not found: arn:aws:lambda:us-east-1:123456789012:function:missing"}).encode()
            self.send_response(404)
            self.send_header("x-amzn-ErrorType", "ResourceNotFoundException")
        else:
            out = json.dumps(verdict).encode()
            self.send_response(200)
            self.send_header("X-Amz-Executed-Version", "$LATEST")
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)


# Threads: the gateway keeps connections alive and may open a second one before the first is
# back in its pool; a one-connection-at-a-time server would then hang it.
server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
if TLS:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(TLS[0], TLS[1])
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
print(f"listening {server.server_address[1]}", flush=True)
server.serve_forever()
