"""The loopback HTTP server: routes POP RPC requests by Version and Action, records each one, and
answers with the state in `Cloud` or with an injected error.

Both SDK generations the provider uses are served: the tea RPC client (POST, common parameters in the
query, request parameters form-encoded in the body) and the older alibaba-cloud-sdk-go client (every
parameter in the query). Signatures are not checked: the double has no accounts.
"""
from __future__ import annotations

import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable, Optional
from urllib.parse import parse_qsl, urlsplit

from . import ecs, vpc
from .errors import ApiError
from .state import Cloud

VPC_VERSION, ECS_VERSION = "2016-04-28", "2014-05-26"
ROUTES = {VPC_VERSION: vpc.ACTIONS, ECS_VERSION: ecs.ACTIONS}
COMMON = {"Action", "Version", "Format", "AccessKeyId", "SecurityToken", "Signature", "SignatureMethod",
          "SignatureVersion", "SignatureNonce", "SignatureType", "Timestamp"}
READ_PREFIXES = ("Describe", "List")


@dataclass
class Request:
    """One request as received: action, its own parameters (common ones apart), and what it got."""

    action: str
    version: str
    params: dict[str, str]
    common: dict[str, str]
    method: str
    time: float
    status: int = 0
    code: str = ""  # the error code answered, "" on success

    @property
    def is_write(self) -> bool:
        return not self.action.startswith(READ_PREFIXES)


@dataclass
class Injection:
    action: str
    code: str
    times: Optional[int]  # None = every time
    when: Callable[[dict[str, str]], bool]
    hits: int = 0


@dataclass
class LoopbackAlibabaCloud:
    """`with LoopbackAlibabaCloud(cloud) as api:` serves on 127.0.0.1; `api.endpoint` is host:port."""

    cloud: Cloud = field(default_factory=Cloud)
    requests: list[Request] = field(default_factory=list)
    injections: list[Injection] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._server: Optional[ThreadingHTTPServer] = None

    # lifecycle
    def start(self) -> "LoopbackAlibabaCloud":
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, name="loopback-alibaba-cloud", daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> "LoopbackAlibabaCloud":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def endpoint(self) -> str:
        host, port = self._server.server_address[:2]
        return f"{host}:{port}"

    # test controls
    def inject(self, action: str, code: str, times: Optional[int] = 1,
               when: Callable[[dict[str, str]], bool] = lambda params: True) -> Injection:
        """Answer the next `times` matching requests of `action` with the real API's error `code`."""
        injection = Injection(action, code, times, when)
        with self._lock:
            self.injections.append(injection)
        return injection

    def clear_injections(self) -> None:
        with self._lock:
            self.injections.clear()

    def mark(self) -> int:
        """A position in the request log, for `since=`."""
        with self._lock:
            return len(self.requests)

    def calls(self, action: Optional[str] = None, since: int = 0, ok_only: bool = False) -> list[Request]:
        with self._lock:
            found = self.requests[since:]
        return [r for r in found if (action is None or r.action == action) and (not ok_only or not r.code)]

    def writes(self, since: int = 0) -> list[Request]:
        return [r for r in self.calls(since=since) if r.is_write]

    # the request path
    def handle(self, method: str, query: dict[str, str], body: dict[str, str]) -> tuple[int, dict]:
        merged = {**query, **body}
        params = {k: v for k, v in merged.items() if k not in COMMON}
        common = {k: v for k, v in merged.items() if k in COMMON}
        action, version = merged.get("Action", ""), merged.get("Version", "")
        request = Request(action, version, params, common, method, time.time())
        request_id = str(uuid.uuid4()).upper()
        with self._lock:
            self.requests.append(request)
            try:
                self._injected(action, params)
                handler = ROUTES.get(version, {}).get(action)
                if handler is None:
                    raise ApiError("InvalidAction.NotFound")
                answer = {"RequestId": request_id, **handler(self.cloud, params)}
                request.status = 200
            except ApiError as err:
                request.status, request.code = err.status, err.code
                answer = err.body(request_id)
        return request.status, answer

    def _injected(self, action: str, params: dict[str, str]) -> None:
        for injection in self.injections:
            if injection.action == action and injection.when(params) and (injection.times is None or injection.hits < injection.times):
                injection.hits += 1
                raise ApiError(injection.code)


def _handler_for(api: LoopbackAlibabaCloud) -> type:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self) -> None:
            url = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length).decode() if length else ""
            body = dict(parse_qsl(raw, keep_blank_values=True)) if raw and "json" not in (self.headers.get("Content-Type") or "") else {}
            status, answer = api.handle(self.command, dict(parse_qsl(url.query, keep_blank_values=True)), body)
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json;charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = _serve

        def log_message(self, *args) -> None:  # the request log is api.requests
            pass

    return Handler
