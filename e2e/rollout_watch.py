"""Follow a DaemonSet's rollout through watches, so that no status or pod change is missed.

Polling missed the whole unavailability of a 6-node rollout on kwok (it lasts well under a second);
a watch from the resourceVersion listed before the restart sees every write.
"""
from __future__ import annotations

import json
import threading


class RolloutWatch:
    """Follows the DaemonSet status and its pods from a resourceVersion, in threads.

    Watching from the resourceVersion listed before the restart means no event is missed even if
    a watch connects late. Short server-side watch timeouts let the threads drain every event up
    to the moment of exit and then end. It records the worst moment of the rollout.
    """

    def __init__(self, cp, namespace: str, name: str):
        from kubernetes import client

        self.cp, self.namespace, self.name = cp, namespace, name
        self.max_status_unavailable = 0
        self.max_nodes_without_ready_pod = 0
        self.pods: dict[str, dict] = {}
        self._stop = threading.Event()
        apps, core = client.AppsV1Api(cp.api_client()), client.CoreV1Api(cp.api_client())
        ds_rv = apps.list_namespaced_daemon_set(namespace).metadata.resource_version
        pods = json.loads(core.list_namespaced_pod(namespace, label_selector=f"app={name}", _preload_content=False).data)
        for pod in pods["items"]:
            self.pods[pod["metadata"]["name"]] = pod
        self._threads = [
            threading.Thread(
                target=self._follow,
                args=(apps.list_namespaced_daemon_set, ds_rv, self._on_ds),
                kwargs={"field_selector": f"metadata.name={name}"},
                daemon=True,
            ),
            threading.Thread(
                target=self._follow,
                args=(core.list_namespaced_pod, pods["metadata"]["resourceVersion"], self._on_pod),
                kwargs={"label_selector": f"app={name}"},
                daemon=True,
            ),
        ]

    def __enter__(self):
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        for t in self._threads:
            t.join(timeout=15)
        assert not any(t.is_alive() for t in self._threads), "watch threads did not finish"

    def _follow(self, list_fn, rv, handle, **selector):
        from kubernetes import watch

        while not self._stop.is_set():
            for event in watch.Watch().stream(list_fn, self.namespace, resource_version=rv, timeout_seconds=2, **selector):
                rv = event["raw_object"]["metadata"]["resourceVersion"]
                handle(event)

    def _on_ds(self, event):
        status = event["raw_object"].get("status") or {}
        self.max_status_unavailable = max(self.max_status_unavailable, status.get("numberUnavailable") or 0)

    def _on_pod(self, event):
        pod = event["raw_object"]
        if event["type"] == "DELETED":
            self.pods.pop(pod["metadata"]["name"], None)
        else:
            self.pods[pod["metadata"]["name"]] = pod
        self.max_nodes_without_ready_pod = max(self.max_nodes_without_ready_pod, self._nodes_without_ready_pod())

    def _nodes_without_ready_pod(self) -> int:
        serving = set()
        for pod in self.pods.values():
            meta, status = pod.get("metadata") or {}, pod.get("status") or {}
            ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or [])
            if ready and not meta.get("deletionTimestamp"):
                serving.add((pod.get("spec") or {}).get("nodeName"))
        return self.cp.node_count - len(serving & set(self.cp.node_names))
