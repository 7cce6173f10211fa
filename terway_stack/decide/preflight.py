"""Read-only checks that must pass before the stack writes anything, cloud or cluster.

Plain data in, plain data out: `LiveFacts` is what was read from the cluster (None for what could
not be read, e.g. offline), `PreflightSettings` the part of the configuration the checks need (it
travels as the props of the preflight dynamic resource, so it is JSON-shaped). `preflight` returns
blocking problems (one line each, naming the key), warnings, notes, and which checks were not run.

Facts about Terway used here, from its Helm chart (AliyunContainerService/terway,
charts/terway/templates/terwayd/daemonset.yaml; at tag v1.6.1 charts/terway/templates/daemonset.yaml):
the `policy` container reads the relay as env FELIX_TYPHAK8SSERVICENAME with
`valueFrom.configMapKeyRef {name: eni-config, key: felix_relay_service, optional: true}`, and its image is
Terway's own (`<repo>/terway:<Terway version>`), with Felix built in from the Calico branch named in
Terway's Dockerfile (see TERWAY_FELIX).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Optional, Sequence

from .eni_conf_codec import parse_eni_conf, per_node_config_gaps
from .facts import (
    DEFAULT_TYPHA_VERSION,
    DISABLE_POLICY_KEY,
    ENI_CONF_KEY,
    ENI_CONFIG,
    ENI_CONFIG_NAME,
    ENI_CONFIG_NAMESPACE,
    NODE_CONFIG_LABEL,
    PENDING_ID,
    POLICY_CONTAINER,
    RELAY_ENV,
    RELAY_KEY,
    TERWAY_NAMESPACE,
    TYPHA_SERVICE_NAME,
    VSWITCHES_KEY,
)
from .live_objects import container, data_key_owners, image_tag, max_unavailable, parse_version, update_strategy
from .permissions import Access, denial_problem
from .policy_keys import policy_enabled
from .problems import InputError, Problem, key_path  # noqa: F401 (Problem is part of the API)
from .rollout_budget import DEFAULT_MAX_UNAVAILABLE_SHARE, budget_problem
from .typha_compat import minor_gap
from .typha_preflight import datapath_problems, typha_needs

REPLACE_RELAY_KEY = "terway:typha.replaceExistingRelay"
CONFIRM_ENFORCEMENT_KEY = "terway:confirmNetworkPolicyEnforcement"

# Felix (Calico) version built into Terway's image, by Terway version (first version of each range),
# from the Calico branch in Terway's Dockerfile / deploy/images/policy/Dockerfile at each release tag:
# v1.0.10 v3.5.2; v1.1.0 .. v1.4.4 v3.20.2; v1.5.1 .. v1.17.5 v3.24.5. Newer Terway: not known here.
TERWAY_FELIX: tuple[tuple[tuple[int, int], str], ...] = (((1, 0), "v3.5.2"), ((1, 1), "v3.20.2"), ((1, 5), "v3.24.5"))
TERWAY_FELIX_KNOWN_UNTIL = (1, 17)


@dataclass(frozen=True)
class PreflightSettings:
    """What the checks need from the stack configuration."""

    mode: str
    daemon_sets: tuple[str, ...]
    typha_version: str = DEFAULT_TYPHA_VERSION
    typha_version_key: str = "terway:typha.version"  # terway:typha.image when its tag names the release
    wanted_vswitches: Mapping[str, Sequence[str]] = field(default_factory=dict)  # zone -> ids (PENDING_ID if new)
    manages_vswitches: bool = False
    replace_existing_relay: bool = False
    confirm_network_policy_enforcement: bool = False
    namespace: str = TERWAY_NAMESPACE
    max_unavailable_share: int = DEFAULT_MAX_UNAVAILABLE_SHARE
    confirm_max_unavailable: bool = False
    accesses: tuple[Access, ...] = ()  # the run's requests to review (decide/permissions.py)

    def as_props(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "daemonSets": list(self.daemon_sets),
            "typhaVersion": self.typha_version,
            "typhaVersionKey": self.typha_version_key,
            "wantedVSwitches": {zone: list(ids) for zone, ids in sorted(self.wanted_vswitches.items())},
            "managesVSwitches": self.manages_vswitches,
            "replaceExistingRelay": self.replace_existing_relay,
            "confirmNetworkPolicyEnforcement": self.confirm_network_policy_enforcement,
            "namespace": self.namespace,
            "maxUnavailableShare": self.max_unavailable_share,
            "confirmMaxUnavailable": self.confirm_max_unavailable,
            "accesses": [access.as_props() for access in self.accesses],
        }

    @classmethod
    def from_props(cls, props: Mapping[str, Any]) -> "PreflightSettings":
        return cls(
            mode=props["mode"],
            daemon_sets=tuple(props.get("daemonSets") or ()),
            typha_version=props.get("typhaVersion") or DEFAULT_TYPHA_VERSION,
            typha_version_key=props.get("typhaVersionKey") or "terway:typha.version",
            wanted_vswitches={z: list(ids) for z, ids in (props.get("wantedVSwitches") or {}).items()},
            manages_vswitches=bool(props.get("managesVSwitches")),
            replace_existing_relay=bool(props.get("replaceExistingRelay")),
            confirm_network_policy_enforcement=bool(props.get("confirmNetworkPolicyEnforcement")),
            namespace=props.get("namespace") or TERWAY_NAMESPACE,
            max_unavailable_share=int(props.get("maxUnavailableShare") or DEFAULT_MAX_UNAVAILABLE_SHARE),
            confirm_max_unavailable=bool(props.get("confirmMaxUnavailable")),
            accesses=tuple(Access.from_props(a) for a in props.get("accesses") or ()),
        )


@dataclass(frozen=True)
class LiveFacts:
    """What was read from the cluster; None means it was not read (offline, or not needed)."""

    eni_config: Optional[Mapping[str, Any]] = None  # the whole ConfigMap (metadata.managedFields, data)
    daemon_sets: Optional[Mapping[str, Optional[Mapping[str, Any]]]] = None  # name -> object, None if absent
    network_policy_count: Optional[int] = None
    node_configs: Optional[Mapping[str, Mapping[str, Any]]] = None  # per-node ConfigMap name -> data
    denied: Optional[Sequence[tuple[Access, str]]] = None  # reviewed requests refused, with the server's reason
    eni_config_present: Optional[bool] = None  # False: read, and not found
    # Mode typha: the API server's gitVersion, the Calico CRDs that exist, and the answers of
    # SubjectAccessReviews for the `terway` ServiceAccount (Typha's reads), (verb, group, resource) -> allowed.
    kubernetes_version: Optional[str] = None
    calico_crds: Optional[frozenset[str]] = None
    typha_access: Optional[Mapping[tuple[str, str, str], bool]] = None


@dataclass
class PreflightResult:
    problems: list[Problem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    not_run: list[str] = field(default_factory=list)

    def raise_if_problems(self) -> None:
        if self.problems:
            raise InputError(self.problems)


# --------------------------------------------------------------------------- eni-config


def relay_managers(configmap: Mapping[str, Any], key: str = RELAY_KEY) -> list[str]:
    """Field managers owning data.<key>, from metadata.managedFields, as `manager (operation)`."""
    return [
        f"{manager or '(unnamed)'} ({operation or '?'})"
        for manager, operation, keys in data_key_owners(configmap)
        if key in keys
    ]


def relay_problems(settings: PreflightSettings, configmap: Mapping[str, Any]) -> list[Problem]:
    """Someone else's relay is never replaced silently: mode typha writes calico-typha over it."""
    current = ((configmap or {}).get("data") or {}).get(RELAY_KEY)
    if settings.mode != "typha" or current in (None, "", TYPHA_SERVICE_NAME) or settings.replace_existing_relay:
        return []
    managers = relay_managers(configmap)
    if managers:
        owned = f"field manager(s) {', '.join(managers)}"
    elif (configmap.get("metadata") or {}).get("managedFields") is None:
        owned = "field managers not known (the saved ConfigMap has no metadata.managedFields)"
    else:
        owned = "no field manager recorded"
    return [
        Problem(
            key_path([RELAY_KEY], namespace=ENI_CONFIG),
            f"is {current!r} ({owned}), another relay than {TYPHA_SERVICE_NAME}; networkPolicy typha would point "
            f"Felix at {TYPHA_SERVICE_NAME} instead. Set {REPLACE_RELAY_KEY} true to take it over",
        )
    ]


def policy_turns_on(settings: PreflightSettings, data: Mapping[str, Any]) -> bool:
    """The live value switches NetworkPolicy off and the stack's mode would switch it on."""
    return settings.mode in ("typha", "direct") and not policy_enabled((data or {}).get(DISABLE_POLICY_KEY))


def enforcement_problems(
    settings: PreflightSettings, data: Mapping[str, Any], network_policy_count: Optional[int]
) -> list[Problem]:
    if not policy_turns_on(settings, data) or settings.confirm_network_policy_enforcement:
        return []
    if network_policy_count is None:
        objects = "Every NetworkPolicy object in the cluster (not counted: the cluster was not read)"
    else:
        objects = f"{network_policy_count} NetworkPolicy object{'' if network_policy_count == 1 else 's'} (all namespaces)"
    return [
        Problem(
            key_path([DISABLE_POLICY_KEY], namespace=ENI_CONFIG),
            f"is {data.get(DISABLE_POLICY_KEY)!r}: NetworkPolicy is off, and networkPolicy {settings.mode} turns it on. "
            f"{objects} will start being enforced when Terway restarts. Set {CONFIRM_ENFORCEMENT_KEY} true to go ahead",
        )
    ]


def eni_config_problems(settings: PreflightSettings, configmap: Mapping[str, Any]) -> list[Problem]:
    data = (configmap or {}).get("data") or {}
    problems: list[Problem] = []
    if settings.manages_vswitches:
        try:
            parse_eni_conf(data)
        except InputError as err:
            problems += err.problems
    return problems + relay_problems(settings, configmap)


# --------------------------------------------------------------------------- DaemonSets


def policy_container(ds: Mapping[str, Any]) -> Optional[Mapping[str, Any]]:
    return container(ds, POLICY_CONTAINER)


def reads_relay_key(container: Mapping[str, Any]) -> bool:
    """The chart's shape: env FELIX_TYPHAK8SSERVICENAME from configMapKeyRef eni-config/felix_relay_service."""
    for env in container.get("env") or []:
        ref = ((env or {}).get("valueFrom") or {}).get("configMapKeyRef") or {}
        if env.get("name") == RELAY_ENV and ref.get("name") == ENI_CONFIG_NAME and ref.get("key") == RELAY_KEY:
            return True
    return False


def felix_version(image: str) -> Optional[str]:
    """The Calico version of Felix in a policy container image; None when it cannot be told.

    A Calico image (`.../calico-felix:v3.24.5`, `calico/node:v3.26.1`) carries it in its tag; Terway's
    own image carries Terway's version, mapped through TERWAY_FELIX.
    """
    tag = image_tag(image)
    version = parse_version(tag or "")
    if version is None:
        return None
    path = (image or "").split("@", 1)[0].rsplit(":", 1)[0].lower()  # registry/namespace/name, no tag
    repository = path.rsplit("/", 1)[-1]
    if "calico" in path or "felix" in repository:
        return "v" + tag.lstrip("v").split("-", 1)[0]
    if "terway" in repository and version <= TERWAY_FELIX_KNOWN_UNTIL:
        known = [felix for first, felix in TERWAY_FELIX if version >= first]
        return known[-1] if known else None
    return None


def daemon_set_problems(settings: PreflightSettings, daemon_sets: Mapping[str, Optional[Mapping[str, Any]]]) -> list[Problem]:
    problems = []
    ns = settings.namespace
    for name in settings.daemon_sets:
        ds = daemon_sets.get(name)
        path = key_path(["terway", "daemonSets"])
        if ds is None:
            problems.append(Problem(path, f"DaemonSet {ns}/{name} not found (kubectl -n {ns} get daemonsets)"))
            continue
        if update_strategy(ds) != "RollingUpdate":
            problems.append(
                Problem(
                    path,
                    f"DaemonSet {ns}/{name} uses updateStrategy {update_strategy(ds)}: a rolling restart would not "
                    "replace its pods; switch it to RollingUpdate",
                )
            )
        else:
            desired = int((ds.get("status") or {}).get("desiredNumberScheduled") or 0)
            refused = budget_problem(max_unavailable(ds), desired, settings.max_unavailable_share,
                                     settings.confirm_max_unavailable)
            if refused:
                problems.append(Problem(f"DaemonSet {ns}/{name}", refused))
        if settings.mode == "typha":
            container = policy_container(ds)
            if container is not None and not reads_relay_key(container):
                problems.append(
                    Problem(
                        f"DaemonSet {ns}/{name}",
                        f"its {POLICY_CONTAINER} container does not take env {RELAY_ENV} from ConfigMap "
                        f"{ENI_CONFIG_NAME} key {RELAY_KEY} (configMapKeyRef), so Felix would ignore the relay: "
                        "upgrade Terway (its chart has it from v1.6.1), or use networkPolicy direct",
                    )
                )
    return problems


def daemon_set_warnings(settings: PreflightSettings, daemon_sets: Mapping[str, Optional[Mapping[str, Any]]]) -> list[str]:
    if settings.mode != "typha":
        return []
    warnings = []
    for name in settings.daemon_sets:
        ds = daemon_sets.get(name)
        container = policy_container(ds) if ds else None
        where = f"DaemonSet {settings.namespace}/{name}"
        if ds is not None and container is None:
            warnings.append(f"{where} has no {POLICY_CONTAINER} container: Felix does not run there, Typha has no effect on it")
            continue
        if container is None:
            continue
        image = container.get("image") or ""
        felix = felix_version(image)
        if felix is None:
            warnings.append(
                f"{where}: cannot tell the Felix (Calico) version from image {image!r}; Typha {settings.typha_version} "
                "and Felix should be the same Calico minor version"
            )
        elif (minor_gap(settings.typha_version, felix) or 0) > 1:
            warnings.append(
                f"{where}: Felix is Calico {felix} (image {image}) but Typha is {settings.typha_version}: more than one "
                f"minor version apart; set {settings.typha_version_key} to a {felix.rsplit('.', 1)[0]}.x release"
            )
    return warnings


def daemon_set_notes(settings: PreflightSettings, daemon_sets: Mapping[str, Optional[Mapping[str, Any]]]) -> list[str]:
    notes = []
    for name in settings.daemon_sets:
        ds = daemon_sets.get(name)
        if ds is not None and update_strategy(ds) == "RollingUpdate":
            notes.append(
                f"DaemonSet {settings.namespace}/{name}: RollingUpdate, maxUnavailable {max_unavailable(ds)}: a restart "
                "replaces at most that many Terway pods at a time"
            )
    return notes


# --------------------------------------------------------------------------- per-node configs


def node_config_problems(settings: PreflightSettings, node_configs: Mapping[str, Mapping[str, Any]]) -> list[Problem]:
    """Per-node configs that override a zone the stack adds a vSwitch to (RFC 7396 replaces lists whole)."""
    known = {z: [i for i in ids if i != PENDING_ID] for z, ids in settings.wanted_vswitches.items()}
    new_zones = sorted(z for z, ids in settings.wanted_vswitches.items() if PENDING_ID in ids)
    try:  # parses every per-node eni_conf: a malformed one is reported naming its ConfigMap
        problems = per_node_config_gaps(node_configs, {z: ids for z, ids in known.items() if ids}, new_zones)
        overridden = {
            name: parse_eni_conf(data, configmap=f"{ENI_CONFIG_NAMESPACE}/{name}").get(VSWITCHES_KEY) or {}
            for name, data in sorted(node_configs.items())
            if ENI_CONF_KEY in (data or {})
        }
    except InputError as err:
        return err.problems
    for name, overrides in overridden.items():
        for zone in new_zones:
            if zone in overrides:
                problems.append(
                    Problem(
                        key_path([ENI_CONF_KEY, VSWITCHES_KEY, zone], namespace=f"{ENI_CONFIG_NAMESPACE}/{name}"),
                        f"per-node config overrides zone {zone}, so nodes labelled {NODE_CONFIG_LABEL}={name} would "
                        f"never use the vSwitch this stack creates there (terway:podVSwitches.zones.{zone}.cidr). "
                        "Remove the zone from its vswitches, or create the vSwitch elsewhere, list it there, "
                        "and adopt it with vswitchId",
                    )
                )
    return problems


# --------------------------------------------------------------------------- the whole preflight


def needs_network_policy_count(settings: PreflightSettings, configmap: Optional[Mapping[str, Any]]) -> bool:
    return configmap is not None and policy_turns_on(settings, configmap.get("data") or {})


def needs_node_configs(settings: PreflightSettings) -> bool:
    return bool(settings.wanted_vswitches)


def preflight(settings: PreflightSettings, facts: LiveFacts) -> PreflightResult:
    """Every read-only check; what could not be checked is listed in `not_run`."""
    result = PreflightResult()
    if facts.eni_config_present is False:
        result.problems.append(
            Problem(ENI_CONFIG, "not found: this cluster has no Terway eni-config (kubectl -n kube-system get cm "
                    "eni-config); the stack writes nothing, Typha included, until it exists")
        )
    if facts.eni_config is None:
        result.not_run.append(f"{ENI_CONFIG}: shape of eni_conf, owner of {RELAY_KEY}, {DISABLE_POLICY_KEY} (not read)")
    else:
        result.problems += eni_config_problems(settings, facts.eni_config)
        data = facts.eni_config.get("data") or {}
        result.problems += enforcement_problems(settings, data, facts.network_policy_count)
        result.problems += datapath_problems(settings, data)
        if policy_turns_on(settings, data) and facts.network_policy_count is None:
            result.not_run.append("NetworkPolicy objects: not counted (needs the cluster)")
        metadata = facts.eni_config.get("metadata") or {}
        if settings.mode == "typha" and data.get(RELAY_KEY) and metadata.get("managedFields") is None:
            result.not_run.append(f"field managers of {RELAY_KEY}: not known (no metadata.managedFields)")
    if facts.daemon_sets is None:
        checks = "exist, RollingUpdate and maxUnavailable"
        if settings.mode == "typha":
            checks += f", {POLICY_CONTAINER} container reads {RELAY_KEY}, Felix version"
        result.not_run.append(f"Terway DaemonSets {', '.join(settings.daemon_sets)}: {checks} (needs the cluster)")
    else:
        result.problems += daemon_set_problems(settings, facts.daemon_sets)
        result.warnings += daemon_set_warnings(settings, facts.daemon_sets)
        result.notes += daemon_set_notes(settings, facts.daemon_sets)
    typha_needs(settings, facts, result)
    if settings.accesses:
        if facts.denied is None:
            result.not_run.append("permissions of the run's writes (SelfSubjectAccessReview; needs the cluster)")
        else:
            result.problems += [denial_problem(access, reason) for access, reason in facts.denied]
    if needs_node_configs(settings):
        if facts.node_configs is None:
            result.not_run.append(
                f"per-node configs (nodes labelled {NODE_CONFIG_LABEL}) overriding {', '.join(sorted(settings.wanted_vswitches))} "
                "(needs the cluster)"
            )
        else:
            result.problems += node_config_problems(settings, facts.node_configs)
    return result
