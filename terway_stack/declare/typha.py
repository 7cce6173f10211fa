"""Calico Typha in kube-system, as one component, from the objects decide.typha_manifests renders.

Adoption of objects a team applied by hand (runbook YAML, `kubectl apply`): every object carries
`pulumi.com/patchForce: "true"`, so the server-side apply takes over the fields kubectl owns instead of
failing on a conflict. pulumi-kubernetes >= 4.29 creates with a plain create that fails AlreadyExists
unless the provider has `upsert_existing_objects=True`; the Kubernetes provider handed in through
`opts` must set it, or an existing `calico-typha` fails the run (see docs/typha.md).

Child logical names are fixed and independent of the component's name: with upsert, a renamed child
would be created (adopting the same object) and then the old one deleted, deleting the object.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Mapping, Optional

import pulumi
import pulumi_kubernetes as k8s

from ..decide.facts import TYPHA_SERVICE_NAME
from ..decide.settings import StackSettings
from ..decide.typha_live import (
    RECREATED_ANNOTATION,
    TyphaLive,
    bgppeer_crd_note,
    bgppeer_crd_plan,
    recreate_warning,
    recreation,
    relayed_but_missing,
)
from ..decide.typha_manifests import BGPPEER_CRD_NAME, NAMESPACE, TyphaManifests, render_typha
from .secrets import kept_component_outputs

TYPE_TOKEN = "terway:index:TyphaRelay"
# Looked up when a PDB is declared: pulumi_kubernetes imports a version's generated classes on first
# use, and policy/v1beta1's are needed only below Kubernetes 1.21 (13 ms of every program's start).
_PDB_CLASSES = {
    "policy/v1": lambda: k8s.policy.v1.PodDisruptionBudget,
    "policy/v1beta1": lambda: k8s.policy.v1beta1.PodDisruptionBudget,
}


def _body(manifest: Mapping[str, Any]) -> dict[str, Any]:
    # The typed classes set apiVersion and kind themselves.
    return {"metadata": manifest["metadata"], "spec": manifest["spec"]}


class TyphaRelay(pulumi.ComponentResource):
    """Service, Deployment, PodDisruptionBudget and, where it is missing, the BGPPeer CRD.

    `deployment` keeps the pulumi-kubernetes await (no skipAwait): whatever points Felix at Typha
    depends on it and so runs only once every replica is ready.
    """

    service: k8s.core.v1.Service
    deployment: k8s.apps.v1.Deployment
    pdb: pulumi.CustomResource
    crd: Optional[k8s.apiextensions.v1.CustomResourceDefinition]  # None: someone else's CRD, left alone
    service_name: str
    replicas: int

    def __init__(
        self,
        name: str,
        settings: StackSettings,
        opts: Optional[pulumi.ResourceOptions] = None,
        replicas: Optional[int] = None,
        live: TyphaLive = TyphaLive(),
        live_cap: Optional[int] = None,
    ):
        """`replicas`: from the live sizing (decide/sizing.TyphaSizing). `live`: what the cluster holds now
        (decide/typha_live.py); the default, nothing read, declares every object as before."""
        super().__init__(TYPE_TOKEN, name, None, opts)
        manifests = render_typha(settings, replicas, live_cap)
        self.service_name = TYPHA_SERVICE_NAME
        self.replicas = manifests.deployment["spec"]["replicas"]
        # Children inherit the provider from this component; a component's depends_on is not
        # inherited, so it is passed on to make every write wait for it too.
        self._depends_on = opts.depends_on if opts else None
        self._live = live
        self._now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        self._recreate = relayed_but_missing(live, TYPHA_SERVICE_NAME)
        if self._recreate:
            pulumi.log.warn(recreate_warning(self._recreate, TYPHA_SERVICE_NAME, NAMESPACE), resource=self)
        self.crd_plan = bgppeer_crd_plan(live)
        note = bgppeer_crd_note(self.crd_plan, BGPPEER_CRD_NAME)
        if note:
            pulumi.log.info(note, resource=self)
        self._declare(manifests)
        self.register_outputs(
            kept_component_outputs(settings, {"serviceName": self.service_name, "replicas": self.replicas}, "cluster", "typha")
        )

    def _child_opts(self, **extra: Any) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(parent=self, depends_on=self._depends_on, **extra)

    def _object(self, cls: type, name: str, manifest: Mapping[str, Any]) -> pulumi.CustomResource:
        """A Typha object, replaced delete-before-replace when it is missing live (decide/typha_live.py)."""
        how = recreation(self._live, manifest["kind"], self._now)
        body = _body(manifest)
        if how.annotation is not None:
            metadata = dict(body["metadata"])
            metadata["annotations"] = {**metadata.get("annotations", {}), RECREATED_ANNOTATION: how.annotation}
            body["metadata"] = metadata
        extra: dict[str, Any] = {}
        if how.replace:
            extra = {"replace_on_changes": [f'metadata.annotations["{RECREATED_ANNOTATION}"]'],
                     "delete_before_replace": True}
        return cls(name, **body, opts=self._child_opts(**extra))

    def _declare(self, manifests: TyphaManifests) -> None:
        self.crd = None
        if self.crd_plan != "leave":
            self.crd = k8s.apiextensions.v1.CustomResourceDefinition(
                "calico-bgppeers-crd",
                **_body(manifests.crd),
                # Deleting a CRD deletes every BGPPeer: destroy and replacement leave it in the cluster.
                opts=self._child_opts(retain_on_delete=True),
            )
        self.service = self._object(k8s.core.v1.Service, "calico-typha-service", manifests.service)
        self.deployment = self._object(k8s.apps.v1.Deployment, "calico-typha-deployment", manifests.deployment)
        self.pdb = self._object(_PDB_CLASSES[manifests.pdb["apiVersion"]](), "calico-typha-pdb", manifests.pdb)
