"""`python -m terway_stack plan`: the real program under Pulumi's mock runtime, offline.

Exit codes: 0 ok, 1 a mandatory policy violation, 2 invalid configuration or input, 3 an internal error
(a bug: one line on stderr; TERWAY_STACK_TRACEBACK=1 adds the traceback).
"""
from __future__ import annotations

import argparse
import os
import re
import signal
import sys
import threading
import traceback
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator, Optional, Sequence

import pulumi

from ..decide import strict_json
from ..decide.config_values import data_problems
from ..decide.facts import ENI_CONFIG, EXIT_INTERNAL, EXIT_INVALID, EXIT_OK, EXIT_VIOLATION
from ..decide.problems import InputError, Problem, key_path
from ..decide.preflight import LiveFacts, PreflightResult, preflight
from ..decide.settings import StackSettings
from ..declare.config_source import load_settings
from ..declare.preflight import preflight_settings
from ..act.cluster_nodes import NodesUnreadable
from .mocks import SAMPLE_ENI_CONFIG, evaluate, load_configmap, switches_answer
from .policy_adapter import plan_violations, policy_config_problems
from .report import PlanReport
from .stack_files import load_stack_config

VSWITCH_ID = re.compile(r"vsw-[a-z0-9]+")
TRACEBACK_ENV = "TERWAY_STACK_TRACEBACK"
# A plan takes a few seconds; anything near this is a bug (a promise that never resolves), not slowness.
PLAN_TIMEOUT_SECONDS = 120
TIMEOUT_ENV = "TERWAY_STACK_PLAN_TIMEOUT"
DEADLINE_GRACE_SECONDS = 10


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m terway_stack", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    plan = commands.add_parser("plan", help="show what the stack would declare, without cloud or cluster access")
    source = plan.add_mutually_exclusive_group(required=True)
    source.add_argument("--stack", help="stack name: reads Pulumi.<NAME>.yaml next to Pulumi.yaml")
    source.add_argument("--stack-config", type=Path, help="path of a stack config file")
    plan.add_argument("--eni-config", type=Path, help="live ConfigMap from `kubectl get cm eni-config -n kube-system -o yaml`")
    plan.add_argument("--nodes", type=Path, help="live nodes from `kubectl get nodes -o json` (capacity per zone)")
    plan.add_argument(
        "--vswitches", type=Path, help="free IPs of vSwitches: YAML/JSON map of id -> {zone, availableIps} (capacity)"
    )
    plan.add_argument(
        "--instance-types",
        type=Path,
        help="ENI quotas: YAML/JSON map of instance type -> {eniQuantity, privateIpsPerEni} (max pods per node)",
    )
    plan.add_argument("--format", choices=("table", "json", "markdown"), default="table")
    plan.add_argument(
        "--policy-config", type=Path, help="policy pack config (JSON), as `pulumi preview --policy-pack-config` takes"
    )
    plan.add_argument("--project-dir", type=Path, default=Path.cwd(), help="folder holding Pulumi.yaml (default: .)")
    return parser


def _live_eni_config(path: Optional[Path]) -> Optional[dict[str, Any]]:
    if path is None:
        return None
    configmap = _read_document(path)
    if not isinstance(configmap, dict) or configmap.get("kind") not in (None, "ConfigMap"):
        raise InputError([Problem(str(path), "is not a saved ConfigMap (kubectl get cm eni-config -n kube-system -o yaml)")])
    _check_metadata(path, configmap.get("metadata"))
    if not isinstance(configmap.get("data"), dict):
        raise InputError([Problem(f"{path}: data", "missing: the ConfigMap has no data")])
    _check_data_values(path, configmap["data"])
    return configmap


def _check_metadata(path: Path, metadata: Any) -> None:
    """The shapes the offline checks read (metadata.managedFields[].fieldsV1.f:data, manager, operation),
    as the API server would have returned them; anything else is not what kubectl saved."""
    problems = []
    if metadata is None:
        return
    if not isinstance(metadata, dict):
        raise InputError([Problem(f"{path}: metadata", "must be a mapping")])
    managed = metadata.get("managedFields")
    if managed is not None and not isinstance(managed, list):
        raise InputError([Problem(f"{path}: metadata.managedFields", "must be a list")])
    for index, entry in enumerate(managed or []):
        where = f"{path}: metadata.managedFields[{index}]"
        if not isinstance(entry, dict):
            problems.append(Problem(where, "must be a mapping"))
            continue
        for key in ("manager", "operation"):
            if entry.get(key) is not None and not isinstance(entry[key], str):
                problems.append(Problem(f"{where}.{key}", "must be a string"))
        fields = entry.get("fieldsV1")
        if fields is not None and (not isinstance(fields, dict) or not isinstance(fields.get("f:data", {}), (dict, type(None)))):
            problems.append(Problem(f"{where}.fieldsV1", "must be a mapping whose f:data is a mapping"))
    if problems:
        raise InputError(problems)


def _check_data_values(path: Path, data: dict[Any, Any]) -> None:
    """A ConfigMap's data maps string keys to string values; anything else cannot be what kubectl saved."""
    problems = []
    for key, value in data.items():
        if not isinstance(key, str):
            problems.append(Problem(f"{path}: data", f"keys must be strings, not {key!r}"))
        elif not isinstance(value, str):
            problems.append(
                Problem(
                    key_path([key], namespace=ENI_CONFIG),
                    f"must be a string (a ConfigMap's data values are strings), got a {type(value).__name__}",
                )
            )
        else:
            problems.extend(data_problems(value, [key], namespace=ENI_CONFIG))
    if problems:
        raise InputError(problems)


def _read_document(path: Path, yaml_allowed: bool = True) -> Any:
    """Any input file, through the one strict reader (decide.strict_json.read_document); a problem names
    the file and the path inside it, and exits 2."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError([Problem(str(path), "file not found")]) from None
    except (OSError, UnicodeDecodeError) as err:
        reason = f"is not UTF-8 text ({err.reason})" if isinstance(err, UnicodeDecodeError) else f"cannot be read ({err.strerror})"
        raise InputError([Problem(str(path), reason)]) from None
    try:
        return strict_json.read_document(text, yaml_allowed)
    except strict_json.JsonTextError as err:
        raise InputError([Problem(f"{path}: {err.path}" if err.path else str(path), err.reason)]) from None


def _check_nodes(path: Path, items: list) -> None:
    """items[].metadata.{name, labels} as the API server returns them; the capacity figures read nothing else."""
    problems = []
    for index, item in enumerate(items):
        where = f"{path}: items[{index}]"
        metadata = item.get("metadata") if isinstance(item, dict) else None
        if not isinstance(item, dict) or not isinstance(metadata, (dict, type(None))):
            problems.append(Problem(where, "must be a Node: a mapping with a metadata mapping"))
            continue
        labels = (metadata or {}).get("labels")
        if labels is not None and not (isinstance(labels, dict) and all(isinstance(v, str) for v in labels.values())):
            problems.append(Problem(f"{where}.metadata.labels", "must map label names to strings"))
        name = (metadata or {}).get("name")
        if name is not None and not isinstance(name, str):
            problems.append(Problem(f"{where}.metadata.name", "must be a string"))
        if len(problems) >= 10:
            break
    if problems:
        raise InputError(problems)


def _node_reader(path: Optional[Path]) -> Callable[[str], dict[str, Any]]:
    """The plan's stand-in for listing the cluster's nodes: the --nodes file, or a reason to show."""
    document = None
    if path is not None:
        document = _read_document(path)
        if not isinstance(document, dict) or not isinstance(document.get("items"), list):
            raise InputError([Problem(f"{path}: items", "missing: expected the output of `kubectl get nodes -o json`")])
        _check_nodes(path, document["items"])

    def reader(_kubeconfig: str) -> dict[str, Any]:
        if document is None:
            raise NodesUnreadable("offline plan without --nodes (kubectl get nodes -o json)")
        return document

    return reader


# One entry of a facts file: (problems, the mock answer's value or None).
EntryCheck = Callable[[Any, Any, str], tuple[list[Problem], Optional[dict[str, Any]]]]


def _facts_file(path: Path, shape: str, check_entry: EntryCheck) -> dict[str, dict[str, Any]]:
    """key -> answer value of a YAML/JSON map file; InputError naming every bad entry at once."""
    document = _read_document(path)
    if not isinstance(document, dict):
        raise InputError([Problem(str(path), f"must map {shape}")])
    problems: list[Problem] = []
    known: dict[str, dict[str, Any]] = {}
    for key, facts in document.items():
        found, value = check_entry(key, facts, f"{path}: {key}")
        problems += found
        if value is not None:
            known[str(key)] = value
    if problems:
        raise InputError(problems)
    return known


def _vswitch_entry(vswitch_id: Any, facts: Any, where: str) -> tuple[list[Problem], Optional[dict[str, Any]]]:
    if not isinstance(vswitch_id, str) or not VSWITCH_ID.fullmatch(vswitch_id):
        return [Problem(where, "is not a vSwitch id (vsw-...)")], None
    if not isinstance(facts, dict) or set(facts) - {"zone", "availableIps"}:
        return [Problem(where, "must be {zone: <zone>, availableIps: <count>}")], None
    problems = []
    count, zone = facts.get("availableIps"), facts.get("zone")
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        problems.append(Problem(f"{where}.availableIps", f"must be a whole number >= 0, got {count!r}"))
    if not isinstance(zone, str) or not zone:
        problems.append(Problem(f"{where}.zone", "must name the vSwitch's zone"))
    return problems, {"zoneId": zone, "availableIpAddressCount": count}


def _instance_type_entry(_kind: Any, facts: Any, where: str) -> tuple[list[Problem], Optional[dict[str, Any]]]:
    if not isinstance(facts, dict) or set(facts) != {"eniQuantity", "privateIpsPerEni"}:
        return [Problem(where, "must be {eniQuantity: <ENIs per instance>, privateIpsPerEni: <IPs per ENI>}")], None
    problems = [
        Problem(f"{where}.{key}", f"must be a whole number >= 1, got {value!r}")
        for key, value in facts.items()
        if isinstance(value, bool) or not isinstance(value, int) or value < 1
    ]
    return problems, {"eniQuantity": facts["eniQuantity"], "eniPrivateIpAddressQuantity": facts["privateIpsPerEni"]}


def _vswitch_facts(path: Optional[Path]) -> Optional[dict[str, Any]]:
    """Cloud answers for getSwitches from the --vswitches file (id -> zone, availableIps)."""
    if path is None:
        return None
    known = _facts_file(path, "vSwitch ids to {zone, availableIps}", _vswitch_entry)
    return {"alicloud:vpc/getSwitches:getSwitches": switches_answer(known)}


def _instance_type_facts(path: Optional[Path]) -> Optional[dict[str, Any]]:
    """Cloud answers for getInstanceTypes from the --instance-types file (type -> ENI quota)."""
    if path is None:
        return None
    known = _facts_file(path, "instance types to {eniQuantity, privateIpsPerEni}", _instance_type_entry)

    def answer(args: dict[str, Any]) -> dict[str, Any]:
        kind = args.get("instanceType")
        found = [{"id": kind, **known[kind]}] if kind in known else []
        return {"ids": [f["id"] for f in found], "instanceTypes": found}

    return {"alicloud:ecs/getInstanceTypes:getInstanceTypes": answer}


def _policy_config(path: Optional[Path]) -> Optional[dict[str, Any]]:
    """The --policy-config document (JSON, as `pulumi preview --policy-pack-config` takes), checked against
    the pack's own schema: every problem names the file and the policy's key."""
    if path is None:
        return None
    document = _read_document(path, yaml_allowed=False)
    problems = policy_config_problems(document)
    if problems:
        raise InputError([Problem(f"{path}: {where}" if where else str(path), why) for where, why in problems])
    return document


def offline_preflight(settings: StackSettings, configmap: dict[str, Any]) -> PreflightResult:
    """The preflight checks the saved eni-config allows; the rest are listed as not run."""
    result = preflight(preflight_settings(settings), LiveFacts(eni_config=configmap))
    result.raise_if_problems()
    return result


def plan(args: argparse.Namespace, out=None) -> int:
    out = out or sys.stdout  # looked up per call, so a redirected stdout is honoured
    stack_file = args.stack_config or args.project_dir / f"Pulumi.{args.stack}.yaml"
    stack = args.stack or stack_file.name.removeprefix("Pulumi.").removesuffix(".yaml")
    config = load_stack_config(stack_file, args.project_dir)
    settings = load_settings(config)  # fails fast, before the runtime starts
    # Every input file is read and checked before the runtime starts: a malformed one exits 2 at once.
    live = _live_eni_config(args.eni_config)
    node_reader = _node_reader(args.nodes)
    cloud = {**(_vswitch_facts(args.vswitches) or {}), **(_instance_type_facts(args.instance_types) or {})}
    policy_config = _policy_config(args.policy_config)

    from ..program import run  # after validation: importing providers is the slow part

    evaluation = evaluate(
        lambda: run(config, environ={}, node_reader=node_reader), config, stack=stack, eni_config=live, cloud_answers=cloud
    )
    live_configmap = live or load_configmap(SAMPLE_ENI_CONFIG)
    live_data = live_configmap.get("data") or {}
    offline = offline_preflight(settings, live_configmap)
    violations = plan_violations(evaluation, settings, policy_config)
    report = PlanReport(stack, settings, evaluation, live_data, violations, checks_not_run=offline.not_run)
    out.write(report.render(args.format))
    return EXIT_VIOLATION if report.model.mandatory_violations else EXIT_OK


def _deadline_seconds() -> int:
    # TERWAY_STACK_PLAN_TIMEOUT: for tests of the deadline itself (a whole number of seconds >= 1).
    value = os.environ.get(TIMEOUT_ENV, "")
    return int(value) if value.isascii() and value.isdigit() and int(value) >= 1 else PLAN_TIMEOUT_SECONDS


@contextmanager
def _deadline(seconds: int) -> Iterator[None]:
    """End the process when the plan has not finished within `seconds`, wherever it is stuck.

    A watchdog thread, not an exception: an exception raised into a stalled event loop is caught by
    the loop (the old SIGALRM handler printed a traceback and the plan ran on). The thread writes one
    line and ends the process with exit code 3 (a stall is a bug). A stall inside C code that holds
    the interpreter lock keeps the thread from running, so the kernel's alarm, with its default
    action, ends the process a little later in any case.
    """
    finished = threading.Event()

    def watch() -> None:
        if not finished.wait(seconds):
            os.write(2, f"error: internal error (the plan did not finish within {seconds} s); please report it "
                        f"with the input\n".encode())
            os._exit(EXIT_INTERNAL)

    threading.Thread(target=watch, name="plan-deadline", daemon=True).start()
    backstop = threading.current_thread() is threading.main_thread()
    if backstop:
        previous = signal.signal(signal.SIGALRM, signal.SIG_DFL)
        signal.alarm(seconds + DEADLINE_GRACE_SECONDS)
    try:
        yield
    finally:
        finished.set()
        if backstop:
            signal.alarm(0)
            signal.signal(signal.SIGALRM, previous)


def _one_line(text: str) -> str:
    return " ".join(text.split())[:500]


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = _parser().parse_args(argv)
    try:
        with _deadline(_deadline_seconds()):
            return plan(args)
    except InputError as err:
        print(f"error: invalid input\n{err}", file=sys.stderr)
    except pulumi.RunError as err:
        print(f"error: invalid input\n{err}", file=sys.stderr)
    except Exception as err:  # a bug, not bad input: exit 3, so CI never reads a crash as a verdict (1) or bad input (2)
        if os.environ.get(TRACEBACK_ENV):
            traceback.print_exc(file=sys.stderr)
        print(
            f"error: internal error ({type(err).__name__}: {_one_line(str(err))}); please report it with the input "
            f"(set {TRACEBACK_ENV}=1 for the traceback)",
            file=sys.stderr,
        )
        return EXIT_INTERNAL
    return EXIT_INVALID
