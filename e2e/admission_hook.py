"""Validating admission webhooks served by the test process, for tests that need the API server to
call back into the test while it processes a write.

`AdmissionWebhook` is the plumbing (a throw-away CA and serving certificate, an HTTPS server on
127.0.0.1, the ValidatingWebhookConfiguration and its removal); a subclass says which writes it
watches (`rules`, `match_conditions`) and answers each AdmissionReview request (`admit`).

`EniConfigWriteHook` watches kube-system/eni-config, for tests that need another writer's edit to
land at an exact point of the stack's own write. The API server calls the webhook while it processes
a write to eni-config, after the write was received and before it is stored. `on_write(request)` (the
AdmissionReview request) runs there; an edit it makes is stored first, so the write being processed
then fails its resourceVersion precondition. Always allowed; `failurePolicy: Ignore`, so tests assert
that it was really called.

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
from typing import Any, Callable, Optional

NAME = "terway-e2e-eni-config-hook"
# The API server picks up webhook configurations asynchronously.
SETTLE_SECONDS = 2


def field_manager(request: dict) -> str:
    return (request.get("options") or {}).get("fieldManager") or ""


def serving_certificates(workdir: Path) -> tuple[Path, Path, bytes]:
    """A throw-away CA and a certificate for 127.0.0.1 signed by it: (cert file, key file, CA PEM)."""
    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=workdir, check=True, capture_output=True)

    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt",
            "-days", "1", "-subj", "/CN=terway-e2e-webhook-ca")
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "tls.key", "-out", "tls.csr", "-subj", "/CN=127.0.0.1")
    (workdir / "san.ext").write_text("subjectAltName=IP:127.0.0.1\n")
    openssl("x509", "-req", "-in", "tls.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
            "-out", "tls.crt", "-days", "1", "-extfile", "san.ext")
    return workdir / "tls.crt", workdir / "tls.key", (workdir / "ca.crt").read_bytes()


class AdmissionWebhook:
    """One validating webhook, registered on enter and removed on exit. A subclass names the writes it
    watches (`rules`, `match_conditions`) and answers each (`admit`). `failurePolicy: Ignore`: a webhook
    gone before the API server noticed must not fail later tests."""

    configuration_name = NAME
    webhook_name = ""
    side_effects = "None"

    def __init__(self, cp: Any, workdir: Path):
        self.cp, self.workdir = cp, workdir

    def rules(self) -> list[dict]:
        raise NotImplementedError

    def match_conditions(self) -> list[dict]:
        raise NotImplementedError

    def admit(self, request: dict) -> Optional[str]:
        """None to allow the write, or the message the API server refuses it with."""
        raise NotImplementedError

    def _review(self, review: dict) -> dict:
        request = review.get("request") or {}
        refusal = self.admit(request)
        response: dict = {"uid": request.get("uid"), "allowed": refusal is None}
        if refusal is not None:
            response["status"] = {"code": 403, "message": refusal}
        return {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "response": response}

    def _serve(self, cert: Path, key: Path) -> int:
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
        return self.server.server_address[1]

    def __enter__(self):
        from kubernetes import client

        cert, key, ca = serving_certificates(self.workdir)
        port = self._serve(cert, key)
        self.api = client.AdmissionregistrationV1Api(self.cp.api_client())
        webhook = {
            "name": self.webhook_name,
            "clientConfig": {"url": f"https://127.0.0.1:{port}/validate", "caBundle": base64.b64encode(ca).decode()},
            "rules": self.rules(), "matchConditions": self.match_conditions(),
            "sideEffects": self.side_effects, "admissionReviewVersions": ["v1"],
            "failurePolicy": "Ignore", "timeoutSeconds": 10,
        }
        self.api.create_validating_webhook_configuration({
            "apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingWebhookConfiguration",
            "metadata": {"name": self.configuration_name}, "webhooks": [webhook],
        })
        time.sleep(SETTLE_SECONDS)
        return self

    def __exit__(self, *exc) -> None:
        self.api.delete_validating_webhook_configuration(self.configuration_name)
        time.sleep(SETTLE_SECONDS)
        self.server.shutdown()


class EniConfigWriteHook(AdmissionWebhook):
    webhook_name = "eni-config.terway-e2e.example.com"
    side_effects = "NoneOnDryRun"

    def __init__(self, cp: Any, workdir: Path, on_write: Callable[[dict], None], configmap: str = "eni-config"):
        super().__init__(cp, workdir)
        self.on_write, self.configmap = on_write, configmap
        self.calls: list[str] = []  # field manager of each write the API server showed us

    def rules(self) -> list[dict]:
        return [{"apiGroups": [""], "apiVersions": ["v1"], "operations": ["UPDATE"],
                 "resources": ["configmaps"], "scope": "Namespaced"}]

    def match_conditions(self) -> list[dict]:
        return [{"name": "eni-config", "expression": f'object.metadata.name == "{self.configmap}"'}]

    def admit(self, request: dict) -> Optional[str]:
        if not request.get("dryRun"):
            # No lock: an edit made by on_write comes back here on another thread, and must pass.
            self.calls.append(field_manager(request))
            self.on_write(request)
        return None
