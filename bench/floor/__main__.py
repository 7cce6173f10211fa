"""Floor stack: one ConfigMap through an explicit Kubernetes provider, one dynamic resource."""
import pulumi
import pulumi_kubernetes as k8s

from floor_dynamic import Noop

provider = k8s.Provider("cluster", kubeconfig=pulumi.Config("kubernetes").require_secret("kubeconfig"))
k8s.core.v1.ConfigMap(
    "floor", metadata={"namespace": "default"}, data={"k": "v"}, opts=pulumi.ResourceOptions(provider=provider)
)
Noop("floor")
