"""A stand-in for kube-apiserver on 127.0.0.1, for unit tests of the act layer that need HTTP.

It imitates only what the tests ask of it: GET of the objects given to it (by URL path), 404 for
anything else, PATCH and DELETE recorded and answered with the object (or, for a PATCH, with the one
given in `patched`: e.g. an object the apply created anew), and, when `frozen`, a server that
accepts connections and never answers (a frozen API server). The real API server is used in e2e/.
"""
from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Optional


class StubApiServer:
    def __init__(self, objects: Optional[dict[str, Any]] = None, frozen: bool = False,
                 patched: Optional[dict[str, Any]] = None):
        self.objects = dict(objects or {})
        self.patched = dict(patched or {})  # what a PATCH of a path answers, when not the stored object
        self.frozen = frozen
        self.requests: list[tuple[str, str]] = []
        self._release = threading.Event()

    def kubeconfig(self) -> str:
        return (
            "apiVersion: v1\nkind: Config\n"
            f"clusters: [{{name: c, cluster: {{server: 'http://127.0.0.1:{self.port}'}}}}]\n"
            "users: [{name: u, user: {token: stub-token}}]\n"
            "contexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n"
        )

    def __enter__(self) -> "StubApiServer":
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_args):
                pass

            def _answer(self) -> None:
                stub.requests.append((self.command, self.path.split("?")[0]))
                if stub.frozen:
                    stub._release.wait(600)  # never answers while the test runs
                    return
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                path = self.path.split("?")[0]
                obj = stub.patched.get(path) if self.command == "PATCH" and path in stub.patched else stub.objects.get(path)
                # bytes: a raw body, as a misbehaving server or proxy may send with status 200.
                body = obj if isinstance(obj, bytes) else json.dumps(obj if obj is not None else {"kind": "Status", "code": 404}).encode()
                self.send_response(200 if obj is not None else 404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_PATCH = do_POST = do_DELETE = _answer

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        # shutdown() waits for the serving loop to look at its flag, which it does once per poll
        # interval (0.5 s by default, paid by every test that uses a stub).
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True).start()
        return self

    def __exit__(self, *_exc) -> None:
        self._release.set()
        self.server.shutdown()
        self.server.server_close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
