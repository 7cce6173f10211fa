"""Readers of the API server's audit log: who wrote what, with which field manager.

The policy (``e2e/kwokctl.py``) logs every request at level Metadata as JSON lines: events carry
``verb``, ``user.username``, ``userAgent``, ``objectRef``, ``requestURI`` and ``responseStatus.code``,
not bodies. A server-side apply is ``verb: patch``; a server-side dry run (``?dryRun=All``, what
pulumi-kubernetes sends during preview) persists nothing, so it is not counted as a write unless asked.
"""
from __future__ import annotations

import json
import os
import urllib.parse
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Optional

WRITE_VERBS = frozenset({"create", "update", "patch", "delete", "deletecollection"})
# A review is a create the API server answers and stores nothing for (the preflight's
# SelfSubjectAccessReviews and SubjectAccessReviews): never a write.
REVIEW_RESOURCES = frozenset({
    "selfsubjectaccessreviews", "selfsubjectrulesreviews", "subjectaccessreviews", "localsubjectaccessreviews",
    "tokenreviews",
})


@dataclass
class AuditFilter:
    """Criteria for audit events; every given criterion must match."""

    verbs: Optional[Iterable[str]] = None
    user: Optional[str] = None
    user_agent: Optional[str] = None  # prefix match ("pulumi-kubernetes" matches "pulumi-kubernetes/4.34.2")
    field_manager: Optional[str] = None  # prefix match on ?fieldManager=, else on the user agent
    resource: Optional[str] = None  # plural resource, e.g. "configmaps"; "pods/eviction" matches a subresource
    namespace: Optional[str] = None
    name: Optional[str] = None
    ok_only: bool = True  # only requests that succeeded (HTTP < 400)
    include_dry_run: bool = False
    predicate: Optional[Callable[[dict], bool]] = field(default=None, repr=False)


def _query(event: dict) -> dict[str, list[str]]:
    return urllib.parse.parse_qs(urllib.parse.urlsplit(event.get("requestURI", "")).query)


def field_manager_of(event: dict) -> str:
    """The field manager of a write: ``?fieldManager=`` or, as the API server does, the user agent up to '/'."""
    managers = _query(event).get("fieldManager")
    if managers:
        return managers[0]
    return (event.get("userAgent") or "").split("/", 1)[0]


def by_daemonset_controller(event: dict) -> bool:
    """kube-controller-manager names the controller at the end of its user agent (one identity for all)."""
    return (event.get("userAgent") or "").endswith("/daemon-set-controller")


def is_dry_run(event: dict) -> bool:
    return "All" in _query(event).get("dryRun", [])


def resource_of(event: dict) -> str:
    """``resource`` or ``resource/subresource`` of the event's object."""
    ref = event.get("objectRef") or {}
    return ref.get("resource", "") + (f"/{ref['subresource']}" if ref.get("subresource") else "")


def event_matches(ev: dict, f: AuditFilter) -> bool:
    ref = ev.get("objectRef") or {}
    checks = (
        f.include_dry_run or not is_dry_run(ev),
        f.verbs is None or ev.get("verb") in set(f.verbs),
        f.user is None or (ev.get("user") or {}).get("username") == f.user,
        f.user_agent is None or (ev.get("userAgent") or "").startswith(f.user_agent),
        f.field_manager is None or field_manager_of(ev).startswith(f.field_manager),
        f.resource is None or resource_of(ev) == f.resource,
        f.namespace is None or ref.get("namespace") == f.namespace,
        f.name is None or ref.get("name") == f.name,
        not f.ok_only or (ev.get("responseStatus") or {}).get("code", 0) < 400,
    )
    return all(checks) and (f.predicate is None or f.predicate(ev))


def read_audit_log(path: os.PathLike | str, start: int = 0) -> list[dict]:
    """Completed audit events (JSON lines) from byte offset ``start``."""
    events = []
    with open(path, "rb") as fh:
        fh.seek(start)
        for raw in fh:
            if not raw.endswith(b"\n"):
                break  # a line still being written
            try:
                ev = json.loads(raw)
            except ValueError:
                continue
            if ev.get("stage", "ResponseComplete") in ("ResponseComplete", "Panic"):
                events.append(ev)
    return events


class AuditQueries:
    """Queries over ``self.audit_log`` (a path), for a class that has one (the ControlPlane)."""

    audit_log: str

    def audit_offset(self) -> int:
        """Current end of the audit log; pass to ``since=`` to look only at later requests."""
        try:
            return os.path.getsize(self.audit_log)
        except OSError:
            return 0

    def audit_events(self, since: int = 0) -> list[dict]:
        return read_audit_log(self.audit_log, since)

    def write_events(self, since: int = 0, **criteria: Any) -> list[dict]:
        """Write requests (create/update/patch/delete/deletecollection) matching ``AuditFilter`` criteria.

        Example: ``cp.write_events(field_manager="pulumi-kubernetes", resource="configmaps", namespace="kube-system")``
        """
        criteria.setdefault("verbs", WRITE_VERBS)
        f = AuditFilter(**criteria)
        if f.user is not None and f.user not in self.users_seen():
            # An empty answer for a user who never made a request proves nothing: fail instead.
            raise ValueError(f"no request by user {f.user!r} in the audit log (users seen: {sorted(self.users_seen())})")
        return [
            ev for ev in self.audit_events(since)
            if event_matches(ev, f) and (ev.get("objectRef") or {}).get("resource") not in REVIEW_RESOURCES
        ]

    def users_seen(self) -> set[str]:
        return {(ev.get("user") or {}).get("username", "") for ev in self.audit_events(0)}

    def count_writes(self, since: int = 0, **criteria: Any) -> int:
        return len(self.write_events(since, **criteria))

    def write_summary(self, since: int = 0, **criteria: Any) -> dict[tuple[str, str, str, str], int]:
        """Counts keyed by (field manager, verb, resource[/subresource], namespace/name), for assertion messages."""
        out: dict[tuple[str, str, str, str], int] = {}
        for ev in self.write_events(since, **criteria):
            ref = ev.get("objectRef") or {}
            key = (field_manager_of(ev), ev["verb"], resource_of(ev), f"{ref.get('namespace', '')}/{ref.get('name', '')}")
            out[key] = out.get(key, 0) + 1
        return out
