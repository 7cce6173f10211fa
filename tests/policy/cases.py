"""One table of violations, run through the pure rules, evaluate_plan and the CrossGuard pack alike."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from terway_stack.policies import PlanResource

from . import stacks as s


@dataclass(frozen=True)
class Case:
    id: str
    policy: str
    mutate: Callable[[s.Stack], s.Stack]
    fragment: str  # part of the message that must appear
    config: dict[str, Any] = field(default_factory=dict)  # that policy's config properties
    resource: str | None = None  # logical name the violation is about
    engine_visible: bool = True  # False: the engine does not send what the rule needs


def _command(script: str, type_: str = "command:local:Command") -> PlanResource:
    return PlanResource(type_, "restart-terway-by-hand", {"create": script, "triggers": ["x"]})


def _daemon_set_patch(strategy: str) -> PlanResource:
    props = {"metadata": {"name": "terway-eniip", "namespace": "kube-system"},
             "spec": {"updateStrategy": {"type": strategy}}}
    return PlanResource("kubernetes:apps/v1:DaemonSetPatch", "terway-eniip-strategy", props)


def _job(command: list[str]) -> PlanResource:
    container = {"name": "kubectl", "image": "bitnami/kubectl:1.30", "command": command}
    props = {"metadata": {"name": "bounce"}, "spec": {"template": {"spec": {"containers": [container]}}}}
    return PlanResource("kubernetes:batch/v1:Job", "bounce-terway", props)


_POLICY_DIRECT = s.setting(s.POLICY_PATCH, ("data",), {"disable_network_policy": "false"})
_POLICY_DISABLED = s.setting(s.POLICY_PATCH, ("data",), {"disable_network_policy": "true"})

CASES = [
    Case("cidr-/20", "pod-vswitch-cidr", s.setting(s.SWITCH_F, ("cidrBlock",), "10.0.32.0/20"), "is a /20",
         resource=s.SWITCH_F),
    Case("cidr-/15", "pod-vswitch-cidr", s.setting(s.SWITCH_F, ("cidrBlock",), "10.0.0.0/15"), "/16 to /29"),
    Case("cidr-outside-vpc", "pod-vswitch-cidr", s.setting(s.SWITCH_G, ("cidrBlock",), "192.168.0.0/19"),
         "not inside the VPC CIDR 10.0.0.0/8", resource=s.SWITCH_G),
    Case("cidr-outside-configured-vpc", "pod-vswitch-cidr", lambda st: st, "not inside the VPC CIDR 172.16.0.0/12",
         config={"vpcCidr": "172.16.0.0/12"}),
    Case("snat-missing", "pod-vswitch-snat", s.without("snat-cn-shanghai-g"), "pod-vsw-cn-shanghai-g has no SNAT entry",
         resource=s.SWITCH_G),
    Case("snat-twice", "pod-vswitch-snat",
         s.adding(s.snat_entry("snat-cn-shanghai-f-again", s.SWITCH_F, "vsw-plana")), "source of 2 SNAT entries",
         resource="snat-cn-shanghai-f-again"),
    Case("snat-adopted-twice", "pod-vswitch-snat",
         s.adding(s.snat_entry("snat-adopted-1", None, "vsw-adopted"), s.snat_entry("snat-adopted-2", None, "vsw-adopted")),
         "vsw-adopted is the source of 2 SNAT entries"),
    Case("replicas-below-minimum", "typha-replicas", s.replacing("calico-typha", s.typha_deployment(replicas=3),
         "kubernetes:apps/v1:Deployment"), "below the minimum 6 for 1200 nodes", resource="calico-typha"),
    # Held below nodeCount's minimum by the live node count (the program says so on the Deployment), but
    # still below what that count allows:
    Case("replicas-below-live-cap", "typha-replicas", s.replacing("calico-typha", s.typha_deployment(replicas=1, live_nodes="3"),
         "kubernetes:apps/v1:Deployment"), "below the minimum 2 with 3 live Linux nodes (one node kept free of Typha)"),
    # A cap that is not a node count is no cap: nodeCount's minimum holds.
    Case("replicas-live-cap-not-a-count", "typha-replicas", s.replacing("calico-typha", s.typha_deployment(replicas=2, live_nodes="3\u00b2"),
         "kubernetes:apps/v1:Deployment"), "below the minimum 6 for 1200 nodes"),
    Case("replicas-above-20", "typha-replicas", s.replacing("calico-typha", s.typha_deployment(replicas=21),
         "kubernetes:apps/v1:Deployment"), "above 20"),
    Case("replicas-vs-configured-nodes", "typha-replicas", lambda st: st, "below the minimum 10 for 2000 nodes",
         config={"nodeCount": 2000}),
    Case("pdb-missing", "typha-pdb", s.without("kubernetes:policy/v1:PodDisruptionBudget"), "no PodDisruptionBudget"),
    Case("pdb-max-unavailable-2", "typha-pdb", s.replacing("calico-typha", s.typha_pdb(max_unavailable=2),
         "kubernetes:policy/v1:PodDisruptionBudget"), "maxUnavailable 2"),
    Case("pdb-v1beta1-on-1.30", "typha-pdb", s.replacing("calico-typha", s.typha_pdb(api="v1beta1"),
         "kubernetes:policy/v1:PodDisruptionBudget"), "gone from Kubernetes 1.25"),
    Case("pdb-v1-on-1.20", "typha-pdb", lambda st: st, "does not serve", config={"kubernetesVersion": "v1.20.11-aliyun.1"}),
    Case("grace-below-timeout", "typha-shutdown-grace", s.replacing("calico-typha", s.typha_deployment(
         grace=30, timeout="300", image=s.TYPHA_V325_IMAGE), "kubernetes:apps/v1:Deployment"),
         "terminationGracePeriodSeconds 30 is below TYPHA_SHUTDOWNTIMEOUTSECS 300"),
    Case("grace-default", "typha-shutdown-grace", s.replacing("calico-typha", s.typha_deployment(
         grace=None, image=s.TYPHA_V325_IMAGE), "kubernetes:apps/v1:Deployment"), "terminationGracePeriodSeconds 30 is below"),
    Case("shutdown-env-before-v3.25", "typha-shutdown-grace", s.replacing("calico-typha", s.typha_deployment(
         grace=300, timeout="300"), "kubernetes:apps/v1:Deployment"),
         "TYPHA_SHUTDOWNTIMEOUTSECS is not a setting of Typha v3.24.5 (it exists from v3.25): that Typha exits at once"),
    Case("relay-without-service", "felix-relay-service", s.without("kubernetes:core/v1:Service"),
         "declares no Service 'calico-typha'", resource=s.POLICY_PATCH),
    Case("relay-with-disabled", "felix-relay-service",
         s.setting(s.POLICY_PATCH, ("data", "disable_network_policy"), "true"), "pick one network-policy mode"),
    Case("patch-foreign-key", "eni-config-managed-keys",
         s.setting(s.POLICY_PATCH, ("data", "in_cluster_loadbalance"), "true"), "in_cluster_loadbalance"),
    Case("patch-binary-data", "eni-config-managed-keys", s.setting(s.ENI_CONF_PATCH, ("binaryData",), {"x": "eA=="}),
         "binaryData"),
    Case("configmap-patch-foreign-key", "eni-config-managed-keys",
         s.adding(s.configmap_patch("hand-patch", {"10-terway.conf": "{}"}, retain=None)), "10-terway.conf",
         resource="hand-patch"),
    Case("configmap-patch-eni-conf-not-retained", "eni-conf-retained",
         s.adding(s.configmap_patch("hand-eni-conf", {"eni_conf": s.ENI_CONF}, retain=False)), "not retainOnDelete",
         resource="hand-eni-conf", engine_visible=False),
    Case("eni-conf-not-retained", "eni-conf-retained",
         s.replacing(s.ENI_CONF_PATCH, s.eni_config_patch(s.ENI_CONF_PATCH, {"eni_conf": s.ENI_CONF}, retain=False)),
         "not retainOnDelete", resource=s.ENI_CONF_PATCH, engine_visible=False),
    Case("kubectl-delete-pod", "terway-rolling-restart",
         s.adding(_command("kubectl -n kube-system delete pod -l app=terway-eniip")), "deletes pods",
         resource="restart-terway-by-hand"),
    Case("kubectl-delete-pods-remote", "terway-rolling-restart",
         s.adding(_command("ssh bastion; kubectl delete pods --all -n kube-system", "command:remote:Command")),
         "deletes pods"),
    Case("job-deletes-pods", "terway-rolling-restart",
         s.adding(_job(["kubectl", "delete", "po", "-n", "kube-system", "-l", "app=terway-eniip"])), "deletes pods"),
    Case("daemonset-on-delete", "terway-rolling-restart", s.adding(_daemon_set_patch("OnDelete")), "OnDelete"),
    Case("restart-method", "terway-rolling-restart", s.replacing(s.RESTART, s.restart(method="delete-pods")),
         "only 'rollout-restart' is safe"),
    Case("restart-missing", "terway-rolling-restart", s.without(s.RESTART), "no terway-rollout-restart resource"),
    Case("restart-wrong-daemonset", "terway-rolling-restart", s.replacing(s.RESTART, s.restart(daemon_set="terway-eni")),
         "terway-eniip is never restarted"),
    Case("direct-above-limit", "network-policy-direct-at-scale", _POLICY_DIRECT, "mode direct with 1200 nodes"),
    Case("direct-above-tuned-limit", "network-policy-direct-at-scale", _POLICY_DIRECT, "above 1000",
         config={"directModeNodeLimit": 1000}),
    Case("direct-from-config", "network-policy-direct-at-scale", s.without(s.POLICY_PATCH), "mode direct",
         config={"networkPolicyMode": "direct"}),
    Case("disabled", "network-policy-disabled", _POLICY_DISABLED, "NetworkPolicies stop being enforced"),
    Case("image-other-region", "typha-image-region",
         s.replacing("calico-typha", s.typha_deployment(image="registry-vpc.cn-hangzhou.aliyuncs.com/acs/typha:v3.20.2"),
                     "kubernetes:apps/v1:Deployment"), "cn-hangzhou registry but the stack is in cn-shanghai"),
    Case("image-vs-configured-region", "typha-image-region", lambda st: st, "stack is in cn-beijing",
         config={"region": "cn-beijing"}),
    Case("felix-version", "typha-felix-version", lambda st: st, "Typha v3.24.5 differs from Felix v3.26.1 in the cluster by more than a minor",
         config={"felixVersion": "v3.26.1"}),
]

# Compliant variations that must stay quiet (edge cases a naive rule would flag).
QUIET = [
    Case("direct-below-tuned-limit", "network-policy-direct-at-scale", _POLICY_DIRECT, "",
         config={"directModeNodeLimit": 2000}),
    Case("snat-not-configured", "pod-vswitch-snat", s.without("snat-cn-shanghai-g"), "",
         config={"snatConfigured": False}),
    Case("snat-vpc-wide-cidr", "pod-vswitch-snat",
         s.chain(s.without("snat-cn-shanghai-g"),
                 s.adding(PlanResource("alicloud:vpc/snatEntry:SnatEntry", "snat-vpc",
                                       {"snatTableId": "stb-uf6prod", "sourceCidr": "10.0.0.0/8", "snatIp": "47.100.1.2"}))),
         ""),
    Case("pdb-v1beta1-on-1.22", "typha-pdb", s.replacing("calico-typha", s.typha_pdb(api="v1beta1"),
         "kubernetes:policy/v1:PodDisruptionBudget"), "", config={"kubernetesVersion": "1.22"}),
    Case("replicas-held-by-live-nodes", "typha-replicas", s.replacing("calico-typha", s.typha_deployment(replicas=2, live_nodes="3"),
         "kubernetes:apps/v1:Deployment"), ""),
    Case("replicas-small-cluster", "typha-replicas", s.replacing("calico-typha", s.typha_deployment(replicas=2),
         "kubernetes:apps/v1:Deployment"), "", config={"nodeCount": 3}),
    Case("image-other-registry", "typha-image-region",
         s.replacing("calico-typha", s.typha_deployment(image="quay.io/calico/typha:v3.20.2"),
                     "kubernetes:apps/v1:Deployment"), ""),
    Case("felix-version-without-v", "typha-felix-version", lambda st: st, "", config={"felixVersion": "3.24.5"}),
    Case("felix-one-minor-apart", "typha-felix-version", lambda st: st, "", config={"felixVersion": "v3.25.1"}),
    Case("kubectl-delete-other-kind", "terway-rolling-restart",
         s.adding(_command("kubectl -n kube-system delete deployment old; kubectl get pods")), ""),
    Case("rolling-update-patch", "terway-rolling-restart", s.adding(_daemon_set_patch("RollingUpdate")), ""),
]
