"""Smoke program: one ConfigMap through an explicit kubernetes Provider + one dynamic resource."""

import pulumi
import pulumi_kubernetes as k8s

from smoke_dynamic import ConfigMapProbe


def main() -> None:
    cfg = pulumi.Config()
    kubeconfig = cfg.require_secret("kubeconfig")
    provider = k8s.Provider("local", kubeconfig=kubeconfig)
    cm = k8s.core.v1.ConfigMap(
        "smoke",
        metadata={"name": "e2e-smoke", "namespace": "default"},
        data={"hello": "world"},
        opts=pulumi.ResourceOptions(provider=provider),
    )
    probe = ConfigMapProbe(
        "smoke-probe",
        kubeconfig=kubeconfig,
        namespace="default",
        configmap=cm.metadata.name,
        opts=pulumi.ResourceOptions(depends_on=[cm]),
    )
    pulumi.export("configmap", cm.metadata.name)
    pulumi.export("probe_uid", probe.uid)


main()
