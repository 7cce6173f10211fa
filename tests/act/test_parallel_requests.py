"""Requests made together (act/kube.in_parallel): answers in order, the first failure in order raised,
never more than PARALLEL_REQUESTS at once; the preflight's access reviews built on it.

The reviews against a real kube-apiserver, under the real engine, are in e2e/tests/test_preflight.py.
"""
from __future__ import annotations

import threading
import time

import pytest

from terway_stack.act import access_review, preflight
from terway_stack.act.kube import PARALLEL_REQUESTS, KubeError, KubeStatusError, in_parallel
from terway_stack.decide.permissions import Access
from terway_stack.decide.typha_compat import typha_access_checks


def slow(value, seconds, fail=False, ended=None):
    def call():
        time.sleep(seconds)
        if ended is not None:
            ended.append(value)
        if fail:
            raise KubeError(f"call {value} failed")
        return value

    return call


def test_answers_come_in_the_order_of_the_calls_whatever_order_they_end_in():
    assert in_parallel([slow(i, (6 - i) * 0.01) for i in range(6)]) == list(range(6))


def test_the_first_failure_in_order_is_raised_after_every_call_has_ended():
    ended: list[int] = []
    calls = [slow(0, 0.0, ended=ended), slow(1, 0.05, fail=True, ended=ended), slow(2, 0.0, fail=True, ended=ended),
             slow(3, 0.08, ended=ended)]
    with pytest.raises(KubeError, match="call 1 failed"):
        in_parallel(calls)
    assert sorted(ended) == [0, 1, 2, 3]


def test_no_more_than_parallel_requests_calls_run_at_once():
    running, most, lock = [0], [0], threading.Lock()

    def call():
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        time.sleep(0.02)
        with lock:
            running[0] -= 1

    in_parallel([call] * (3 * PARALLEL_REQUESTS))
    assert 1 < most[0] <= PARALLEL_REQUESTS


def review_answers(allowed, calls, lock=threading.Lock()):
    """A stand-in for act/kube.send answering SubjectAccessReviews (and SelfSubjectAccessReviews)."""

    def send(_client, method, path, *, body, what, **_kw):
        attributes = body["spec"]["resourceAttributes"]
        with lock:
            calls.append((method, path, attributes["verb"], attributes["resource"]))
        time.sleep(0.001 * (len(attributes["resource"]) % 5))  # answers end out of order
        answer = allowed(attributes)
        if isinstance(answer, Exception):
            raise answer
        return {"status": {"allowed": answer}}

    return send


def test_every_typha_access_gets_its_own_review_and_answer(monkeypatch):
    calls: list = []
    monkeypatch.setattr(preflight, "send", review_answers(lambda a: a["verb"] == "list", calls))
    answers = preflight.review_typha_service_account_access(object())
    assert answers == {check: check[0] == "list" for check in typha_access_checks()}
    assert sorted((c[2], c[3]) for c in calls) == sorted((verb, resource) for verb, _g, resource in typha_access_checks())


def test_an_identity_that_may_not_review_others_is_asked_once(monkeypatch):
    calls: list = []
    monkeypatch.setattr(preflight, "send", review_answers(lambda a: KubeStatusError("reviewing failed: 403 Forbidden", 403), calls))
    assert preflight.review_typha_service_account_access(object()) is None  # listed as a check not run
    assert len(calls) == 1


def test_a_review_the_server_fails_fails_the_preflight(monkeypatch):
    calls: list = []
    last = typha_access_checks()[-1]
    monkeypatch.setattr(preflight, "send", review_answers(
        lambda a: KubeStatusError("reviewing failed: 500 Internal Server Error", 500) if a["resource"] == last[2] else True, calls))
    with pytest.raises(KubeStatusError, match="500"):
        preflight.review_typha_service_account_access(object())


def test_refused_accesses_are_listed_in_the_order_they_were_asked(monkeypatch):
    accesses = [Access(verb, resource, namespace="kube-system") for verb in ("get", "patch") for resource in ("configmaps", "daemonsets", "pods")]
    calls: list = []
    monkeypatch.setattr(access_review, "send", review_answers(lambda a: a["verb"] == "get", calls))
    assert [access for access, _reason in access_review.denied(object(), accesses)] == [a for a in accesses if a.verb == "patch"]
    assert len(calls) == len(accesses)
