"""Asks the API server whether this identity may make each request of the run (SelfSubjectAccessReview).

A review is a create of `selfsubjectaccessreviews.authorization.k8s.io`: the API server answers it
and stores nothing, so the preflight may ask before any write. It answers for the identity of the
request itself, so the kubeconfig of the run is reviewed, not anyone else's. The accesses come from
decide/permissions.py; the caller turns each denial into one problem line.
"""
from __future__ import annotations

from typing import Any, Sequence

from ..decide.permissions import Access
from .kube import SELF_SUBJECT_ACCESS_REVIEWS, in_parallel, send

REVIEW = {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview"}


def _printable(text: str, most: int = 200) -> str:
    """The server's reason on one line (it names RBAC objects, never credentials)."""
    flat = "".join(c if c.isprintable() else " " for c in str(text or ""))
    return flat[:most]


def review(client: Any, access: Access) -> tuple[bool, str]:
    """(allowed, the server's reason) for one access."""
    body = {**REVIEW, "spec": {"resourceAttributes": access.attributes()}}
    answer = send(client, "POST", SELF_SUBJECT_ACCESS_REVIEWS, body=body, content_type="application/json",
                  what="reviewing the run's permissions (SelfSubjectAccessReview)")
    status = answer.get("status") or {}
    reason = status.get("reason") or status.get("evaluationError") or ""
    return bool(status.get("allowed")) and not status.get("denied"), _printable(reason)


def denied(client: Any, accesses: Sequence[Access]) -> list[tuple[Access, str]]:
    """The accesses this identity may not make, each with the server's reason (often empty), in the
    order given. The reviews are asked together (act/kube.in_parallel)."""
    answers = in_parallel([lambda access=access: review(client, access) for access in accesses])
    return [(access, reason) for access, (allowed, reason) in zip(accesses, answers) if not allowed]
