"""The act layer's Kubernetes toolkit: one kubeconfig parser, one client factory, one request wrapper.

Every dynamic provider talks to the cluster through these three, so that:
- a kubeconfig is parsed one way (declare/cluster.py uses the same parser at program time), and no
  message ever quotes its text (PyYAML's own errors quote the offending line, which may hold a token);
- a client is made per call from the kubeconfig text and closed after: providers are pickled by
  module path and hold no client;
- every request goes through `send`, the one place that applies a request timeout and turns a failed
  request into a KubeError naming the status and reason only (never headers or bodies).

Requests name their REST path (`configmap_path`, `NODES`, ...) and go through the client's
`ApiClient`; the generated typed APIs (`CoreV1Api`, `AppsV1Api`) are not used: importing one loads
hundreds of pydantic models (about 0.9 s of CPU for `CoreV1Api`, in every provider process and in the
program's node read at preview), while every caller wants the JSON document anyway.

The `kubernetes` client is imported inside the functions: the program imports this module at
`pulumi preview` time, and only a provider's step needs the client.
"""
from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any, Callable, Iterator, Mapping, Optional, Sequence, TypeVar

from ..decide import strict_yaml
from ..decide.strict_json import JsonTextError

T = TypeVar("T")

# Seconds: (connect, read), passed to every request as `_request_timeout`. Without it the client hands
# urllib3 no timeout at all, and a frozen API server holds the call for ever. A caller may ask for its
# own (cluster_nodes.py does; the rollout gives each request at most the time left before its deadline).
CONNECT_TIMEOUT = 10.0
READ_TIMEOUT = 30.0
REQUEST_TIMEOUT: float | tuple[float, float] = (CONNECT_TIMEOUT, READ_TIMEOUT)
# The same bound for the requests the kubernetes provider plugin (pulumi-kubernetes 4.32.0) makes itself:
# its provider option kubeClientSettings.timeout becomes client-go's rest.Config.Timeout, the
# http.Client timeout of every request of its clients, awaits' watches included (pkg/provider/provider.go
# lines 906-912 and 971-974, pkg/provider/types.go line 41). Unset, it is 0: no timeout at all.
# Whole seconds (the option is an int), connect and read together.
PROVIDER_REQUEST_TIMEOUT_SECONDS = int(CONNECT_TIMEOUT + READ_TIMEOUT)
# Answers worth asking again (the caller decides whether and until when): busy, or a server error.
TRANSIENT_STATUSES = (429, 500, 502, 503, 504)
# urllib3 repeats a failed request this often: a dropped keep-alive connection, never a timeout.
CONNECTION_RETRIES = 2
PAGE = 500  # items per LIST request
# Requests of one batch in flight at once (in_parallel): the preflight's access reviews go out together
# instead of one after the other. At most the client's connection pool for one host (its default is
# 5 per CPU), so no request waits for a connection or opens one the pool then throws away.
PARALLEL_REQUESTS = 5

# The endpoints the providers use.
NODES = "/api/v1/nodes"
NETWORK_POLICIES = "/apis/networking.k8s.io/v1/networkpolicies"
SELF_SUBJECT_ACCESS_REVIEWS = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"


def configmap_path(namespace: str, name: str) -> str:
    return f"/api/v1/namespaces/{namespace}/configmaps/{name}"


def daemonset_path(namespace: str, name: str) -> str:
    return f"/apis/apps/v1/namespaces/{namespace}/daemonsets/{name}"


def deployment_path(namespace: str, name: str) -> str:
    return f"/apis/apps/v1/namespaces/{namespace}/deployments/{name}"


def pods_path(namespace: str) -> str:
    return f"/api/v1/namespaces/{namespace}/pods"


def controller_revisions_path(namespace: str) -> str:
    return f"/apis/apps/v1/namespaces/{namespace}/controllerrevisions"


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
    try:  # the stack's strict YAML rules (duplicate keys, depth, aliases), errors that never quote the text
        document = strict_yaml.load_secret(text)
    except JsonTextError as err:
        raise KubeconfigError(err.reason) from None
    except RecursionError:
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


def send(
    client: Any,
    method: str,
    path: str,
    *,
    what: str,
    query: Optional[Mapping[str, Any]] = None,
    body: Any = None,
    content_type: Optional[str] = None,
    timeout: Optional[float | tuple[float, float]] = None,
) -> dict:
    """One request to the API server; its JSON body as a dict. `query` entries that are None are left out.
    `timeout` is the caller's own request timeout; None: REQUEST_TIMEOUT (never none at all).

    Raises KubeStatusError for an error status ("<what> failed: 404 Not Found") and KubeError when the
    server cannot be reached or answers with a body that is not a JSON object.
    """
    from kubernetes.client.exceptions import ApiException
    from urllib3.exceptions import HTTPError

    headers = {"Accept": "application/json", **({"Content-Type": content_type} if content_type else {})}
    try:
        request = client.param_serialize(
            method=method, resource_path=path, header_params=headers, body=body, auth_settings=["BearerToken"],
            query_params=[(key, value) for key, value in (query or {}).items() if value is not None],
        )
        response = client.call_api(*request, _request_timeout=REQUEST_TIMEOUT if timeout is None else timeout)
        response.read()
        if not 200 <= response.status <= 299:
            raise ApiException.from_response(http_resp=response, body=None, data=None)
    except ApiException as err:
        reason = err.reason or type(err).__name__
        raise KubeStatusError(f"{what} failed: {err.status or ''} {reason}".replace("  ", " ").strip(), err.status) from None
    except (HTTPError, OSError) as err:
        # urllib3 names the server and the failure (e.g. connection refused); never headers or bodies.
        raise KubeError(
            f"cannot reach the Kubernetes API server: {getattr(err, 'reason', None) or type(err).__name__}"
        ) from None
    return _json_object(response.data, what)


def _json_object(data: bytes, what: str) -> dict:
    """The answer's JSON object; a body that is not one (an HTML error page from a proxy, a truncated or
    absurdly deep document) is a KubeError naming the request, never a decoder traceback or the body."""
    try:
        answer = json.loads(data)
    except (ValueError, RecursionError):
        answer = None
    if not isinstance(answer, dict):
        raise KubeError(f"{what} failed: the API server answered with a body that is not a JSON object")
    return answer


def read(
    client: Any, path: str, *, what: str, query: Optional[Mapping[str, Any]] = None,
    timeout: Optional[float | tuple[float, float]] = None,
) -> Optional[dict]:
    """A GET (or LIST); None when the object does not exist (404)."""
    try:
        return send(client, "GET", path, what=what, query=query, timeout=timeout)
    except KubeStatusError as err:
        if err.status == 404:
            return None
        raise


def list_items(
    client: Any, path: str, *, what: str, query: Optional[Mapping[str, Any]] = None,
    timeout: Optional[float | tuple[float, float]] = None, page_size: int = PAGE,
) -> Iterator[dict]:
    """Every item of a LIST, page by page (`limit`/`continue`), so thousands of objects stay cheap."""
    token = None
    while True:
        page = read(client, path, what=what, query={**(query or {}), "limit": page_size, "continue": token},
                    timeout=timeout) or {}
        yield from page.get("items") or []
        token = (page.get("metadata") or {}).get("continue")
        if not token:
            return


def in_parallel(calls: Sequence[Callable[[], T]]) -> list[T]:
    """Every call's result, in order, with at most PARALLEL_REQUESTS calls running at once (they share
    one client: its connection pool is thread-safe). Each request keeps its own timeout. When calls
    fail, the first failure in order is raised once every call has ended, as the same calls made one
    after the other would raise it (only the calls after it have been made too)."""
    if len(calls) <= 1:
        return [call() for call in calls]
    with ThreadPoolExecutor(max_workers=min(PARALLEL_REQUESTS, len(calls)), thread_name_prefix="kube") as pool:
        futures = [pool.submit(call) for call in calls]
    return [future.result() for future in futures]
