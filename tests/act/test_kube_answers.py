"""An API server answer that is not a JSON object (status 200) is a clear KubeError, never a decoder
traceback, and the message never quotes the body."""
from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from terway_stack.act import kube

from .stub_apiserver import StubApiServer

PATH = "/api/v1/namespaces/kube-system/configmaps/eni-config"


def _is_json_object(body: bytes) -> bool:
    try:
        return isinstance(json.loads(body), dict)
    except (ValueError, RecursionError):
        return False


def _read(stub: StubApiServer) -> dict:
    with kube.kube_client(stub.kubeconfig(), "terway-stack-test/1") as client:
        return kube.read(client, PATH, what="reading ConfigMap kube-system/eni-config")


def test_an_html_page_with_status_200_names_the_request():
    with StubApiServer({PATH: b"<html>proxy says hello SECRET-BODY</html>"}) as stub:
        with pytest.raises(kube.KubeError) as caught:
            _read(stub)
    assert str(caught.value) == (
        "reading ConfigMap kube-system/eni-config failed: the API server answered with a body that is not a JSON object"
    )
    assert "SECRET-BODY" not in str(caught.value)


def test_a_deeply_nested_answer_is_refused_without_recursion_error():
    with StubApiServer({PATH: b"[" * 100_000}) as stub:
        with pytest.raises(kube.KubeError):
            _read(stub)


bodies = st.one_of(
    st.binary(max_size=200),
    st.text(max_size=100).map(str.encode),
    st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=5),
                 lambda children: st.lists(children, max_size=3), max_leaves=10).map(lambda v: json.dumps(v).encode()),
    st.integers(min_value=1, max_value=5000).map(lambda depth: b"[" * depth + b"]" * depth),
).filter(lambda body: not _is_json_object(body))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=bodies)
def test_any_body_that_is_not_a_json_object_is_a_kube_error(body):
    with StubApiServer({PATH: body}) as stub:
        with pytest.raises(kube.KubeError) as caught:
            _read(stub)
    assert "not a JSON object" in str(caught.value)
