"""A validating admission webhook on kube-system/eni-config, for tests that need another writer's edit
to land at an exact point of the stack's own write.

The API server calls the webhook while it processes a write to eni-config, after the write was
received and before it is stored. `on_write(request)` (the AdmissionReview request) runs there; an
edit it makes is stored first, so the write being processed then fails its resourceVersion
precondition. Always allowed; `failurePolicy: Ignore`, so tests assert that it was really called.

    with EniConfigWriteHook(cp, tmp_path, on_write) as hook:
        ...
    assert hook.calls
"""
from __future__ import annotations

import base64
import json
import ssl
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable

NAME = "terway-e2e-eni-config-hook"


def field_manager(request: dict) -> str:
    return (request.get("options") or {}).get("fieldManager") or ""


class EniConfigWriteHook:
    def __init__(self, cp: Any, workdir: Path, on_write: Callable[[dict], None], configmap: str = "eni-config"):
        self.cp, self.workdir, self.on_write, self.configmap = cp, workdir, on_write, configmap
        self.calls: list[str] = []  # field manager of each write the API server showed us

    def _certificates(self) -> tuple[Path, Path, bytes]:
        def openssl(*args: str) -> None:
            subprocess.run(["openssl", *args], cwd=self.workdir, check=True, capture_output=True)

        openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt",
                "-days", "1", "-subj", "/CN=terway-e2e-webhook-ca")
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "tls.key", "-out", "tls.csr", "-subj", "/CN=127.0.0.1")
        (self.workdir / "san.ext").write_text("subjectAltName=IP:127.0.0.1\n")
        openssl("x509", "-req", "-in", "tls.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
                "-out", "tls.crt", "-days", "1", "-extfile", "san.ext")
        return self.workdir / "tls.crt", self.workdir / "tls.key", (self.workdir / "ca.crt").read_bytes()

    def _review(self, review: dict) -> dict:
        request = review.get("request") or {}
        if not request.get("dryRun"):
            # No lock: an edit made by on_write comes back here on another thread, and must pass.
            self.calls.append(field_manager(request))
            self.on_write(request)
        return {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
                "response": {"uid": request.get("uid"), "allowed": True}}

    def __enter__(self) -> "EniConfigWriteHook":
        from kubernetes import client

        cert, key, ca = self._certificates()
        review = self._review

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's naming
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                reply = json.dumps(review(body)).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(str(cert), str(key))
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.api = client.AdmissionregistrationV1Api(self.cp.api_client())
        self.api.create_validating_webhook_configuration({
            "apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingWebhookConfiguration",
            "metadata": {"name": NAME},
            "webhooks": [{
                "name": "eni-config.terway-e2e.example.com",
                "clientConfig": {"url": f"https://127.0.0.1:{self.server.server_address[1]}/validate",
                                 "caBundle": base64.b64encode(ca).decode()},
                "rules": [{"apiGroups": [""], "apiVersions": ["v1"], "operations": ["UPDATE"],
                           "resources": ["configmaps"], "scope": "Namespaced"}],
                "matchConditions": [{"name": "eni-config", "expression": f'object.metadata.name == "{self.configmap}"'}],
                "sideEffects": "NoneOnDryRun", "admissionReviewVersions": ["v1"],
                # Ignore: a webhook gone before the API server noticed must not fail later tests.
                "failurePolicy": "Ignore", "timeoutSeconds": 10,
            }],
        })
        time.sleep(2)  # the API server picks up webhook configurations asynchronously
        return self

    def __exit__(self, *exc) -> None:
        self.api.delete_validating_webhook_configuration(NAME)
        time.sleep(2)
        self.server.shutdown()
