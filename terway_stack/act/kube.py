"""The act layer's Kubernetes toolkit: one kubeconfig parser, one client factory, one request wrapper.

Every dynamic provider talks to the cluster through these three, so that:
- a kubeconfig is parsed one way (declare/cluster.py uses the same parser at program time), and no
  message ever quotes its text (PyYAML's own errors quote the offending line, which may hold a token);
- a client is made per call from the kubeconfig text and closed after: providers are pickled by
  module path and hold no client;
- every request goes through `send`, the one place that applies a request timeout and turns a failed
  request into a KubeError naming the status and reason only (never headers or bodies).

The `kubernetes` client is imported inside the functions: the program imports this module at
`pulumi preview` time, and only a provider's step needs the client.
"""
from __future__ import annotations

import json
from contextlib import contextmanager
from typing import Any, Callable, Iterator, Optional

import yaml

# Seconds: (connect, read), passed to every request as `_request_timeout`. Without it the client hands
# urllib3 no timeout at all, and a frozen API server holds the call for ever. A caller may ask for its
# own (cluster_nodes.py does; the rollout gives each request at most the time left before its deadline).
CONNECT_TIMEOUT = 10.0
READ_TIMEOUT = 30.0
REQUEST_TIMEOUT: float | tuple[float, float] = (CONNECT_TIMEOUT, READ_TIMEOUT)
# Answers worth asking again (the caller decides whether and until when): busy, or a server error.
TRANSIENT_STATUSES = (429, 500, 502, 503, 504)
# urllib3 repeats a failed request this often: a dropped keep-alive connection, never a timeout.
CONNECTION_RETRIES = 2


class KubeError(Exception):
    """A Kubernetes request that could not be made or was refused. Messages never contain the kubeconfig."""


class KubeStatusError(KubeError):
    """The API server answered with an error status (`status`: 409, 422, 500 ...)."""

    def __init__(self, message: str, status: Optional[int]):
        super().__init__(message)
        self.status = status


class KubeconfigError(ValueError):
    """A kubeconfig that cannot be used; the message says why (`is not valid YAML at line 9, column 6`),
    never what it holds. It reads as a predicate of the kubeconfig: callers put their own subject first."""


# --------------------------------------------------------------------------- the kubeconfig


def parse_kubeconfig(text: Any) -> dict[str, Any]:
    """The kubeconfig document; KubeconfigError without a chained cause (the cause would quote the text)."""
    if not isinstance(text, str) or not text.strip():
        raise KubeconfigError("is empty")
    try:
        document = yaml.safe_load(text)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise KubeconfigError(f"is not valid YAML{where}") from None
    except (yaml.YAMLError, RecursionError, ValueError):
        raise KubeconfigError("is not valid YAML") from None
    if not isinstance(document, dict):
        raise KubeconfigError("must be a kubeconfig (a YAML mapping with contexts)")
    return document


# --------------------------------------------------------------------------- clients and requests


@contextmanager
def kube_client(kubeconfig: str, user_agent: str) -> Iterator[Any]:
    """An ApiClient for the kubeconfig text, sending `user_agent` (the audit log tells us apart by it),
    closed on exit."""
    from kubernetes import config as kconfig

    try:
        document = parse_kubeconfig(kubeconfig)
    except KubeconfigError as err:
        raise KubeError(f"kubeconfig {err}") from None
    try:
        client = kconfig.new_client_from_config_dict(document)
    except Exception as err:  # ConfigException and friends; type name only, values stay out
        raise KubeError(f"kubeconfig was rejected by the Kubernetes client ({type(err).__name__})") from None
    client.user_agent = user_agent
    # The pools are made on first use from these keyword arguments.
    client.rest_client.pool_manager.connection_pool_kw["retries"] = _retry_without_timeouts()
    try:
        yield client
    finally:
        client.close()


def _retry_without_timeouts() -> Any:
    """urllib3's Retry, except that a timeout is raised at once: retried, it would restart the whole
    timeout (3 times by default) and outlive any deadline."""
    from urllib3.exceptions import TimeoutError as UrllibTimeout
    from urllib3.util.retry import Retry

    class RetryNoTimeouts(Retry):
        def increment(self, *args: Any, **kwargs: Any) -> Retry:
            if isinstance(kwargs.get("error"), UrllibTimeout):
                raise kwargs["error"]
            return super().increment(*args, **kwargs)

    return RetryNoTimeouts(CONNECTION_RETRIES)


def is_transient(err: Exception) -> bool:
    """The API server could not be reached, did not answer in time, or was busy: worth asking again."""
    if isinstance(err, KubeStatusError):
        return err.status in TRANSIENT_STATUSES
    return isinstance(err, KubeError)


def send(call: Callable[..., Any], *args: Any, what: Optional[str] = None, **kwargs: Any) -> dict:
    """Call a generated API method; its JSON body as a dict.

    Raises KubeStatusError for an error status ("<what> failed: 404 Not Found"; `what` defaults to the
    method's name) and KubeError when the server cannot be reached.
    """
    from kubernetes.client.exceptions import ApiException
    from urllib3.exceptions import HTTPError

    kwargs.setdefault("_request_timeout", REQUEST_TIMEOUT)
    try:
        response = call(*args, _preload_content=False, **kwargs)
    except ApiException as err:
        what = what or f"{getattr(call, '__name__', 'request')}"
        reason = err.reason or type(err).__name__
        raise KubeStatusError(f"{what} failed: {err.status or ''} {reason}".replace("  ", " ").strip(), err.status) from None
    except (HTTPError, OSError) as err:
        # urllib3 names the server and the failure (e.g. connection refused); never headers or bodies.
        raise KubeError(
            f"cannot reach the Kubernetes API server: {getattr(err, 'reason', None) or type(err).__name__}"
        ) from None
    return json.loads(response.data)


def read(call: Callable[..., Any], *args: Any, **kwargs: Any) -> Optional[dict]:
    """`send` for a GET or LIST; None when the object does not exist (404)."""
    try:
        return send(call, *args, **kwargs)
    except KubeStatusError as err:
        if err.status == 404:
            return None
        raise


def list_items(call: Callable[..., Any], *args: Any, page_size: int = 500, **kwargs: Any) -> Iterator[dict]:
    """Every item of a LIST, page by page (`limit`/`continue`), so thousands of objects stay cheap."""
    token = None
    while True:
        page = read(call, *args, limit=page_size, **({"_continue": token} if token else {}), **kwargs) or {}
        yield from page.get("items") or []
        token = (page.get("metadata") or {}).get("continue")
        if not token:
            return
