"""Smoke program for the e2e engine.

* A dynamic resource (SmokeConfigMap, provider in the importable module smoke_dynamic)
  creates ConfigMap default/e2e-smoke-dynamic with the kubernetes Python client: proves
  CLI + language host + dynamic-provider plugin + local cluster.
* A ConfigMap default/e2e-smoke through an explicit pulumi_kubernetes.Provider(kubeconfig=...):
  proves the real pulumi-resource-kubernetes plugin is found in the plugin cache and works.
"""

import pulumi
import pulumi_kubernetes as k8s

from smoke_dynamic import SmokeConfigMap


def main() -> None:
    cfg = pulumi.Config()
    kubeconfig = cfg.require_secret("kubeconfig")
    dyn = SmokeConfigMap("smoke-dynamic", kubeconfig=kubeconfig, namespace="default",
                         configmap="e2e-smoke-dynamic", data={"hello": "dynamic"})
    pulumi.export("dynamic_configmap_uid", dyn.uid)
    provider = k8s.Provider("local", kubeconfig=kubeconfig)
    cm = k8s.core.v1.ConfigMap(
        "smoke",
        metadata={"name": "e2e-smoke", "namespace": "default"},
        data={"hello": "world"},
        opts=pulumi.ResourceOptions(provider=provider),
    )
    pulumi.export("configmap", cm.metadata.name)


main()
