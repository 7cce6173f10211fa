"""Floor stack: one ConfigMap through an explicit Kubernetes provider, one dynamic resource; with
`floor:alicloud` (the cloud floor) also one VPC through the alicloud provider the stack's config sets up."""
import pulumi
import pulumi_kubernetes as k8s

from floor_dynamic import Noop

provider = k8s.Provider("cluster", kubeconfig=pulumi.Config("kubernetes").require_secret("kubeconfig"))
k8s.core.v1.ConfigMap(
    "floor", metadata={"namespace": "default"}, data={"k": "v"}, opts=pulumi.ResourceOptions(provider=provider)
)
Noop("floor")
if pulumi.Config("floor").get_bool("alicloud"):
    import pulumi_alicloud as alicloud

    alicloud.vpc.Network("floor", vpc_name="floor", cidr_block="192.168.0.0/16")
