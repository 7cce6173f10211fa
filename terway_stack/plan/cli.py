"""`python -m terway_stack plan`: the real program under Pulumi's mock runtime, offline.

Exit codes: 0 ok, 1 a mandatory policy violation, 2 invalid configuration or input, 3 an internal error
(a bug: one line on stderr; TERWAY_STACK_TRACEBACK=1 adds the traceback).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import signal
import sys
import traceback
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator, Optional, Sequence

import pulumi
import yaml

from ..decide.config_values import data_problems
from ..decide.eni_config import ENI_CONFIG_NAME, ENI_CONFIG_NAMESPACE
from ..decide.problems import InputError, Problem, key_path
from ..decide.preflight import LiveFacts, PreflightResult, preflight
from ..decide.settings import StackSettings
from ..declare.config_source import load_settings
from ..declare.preflight import preflight_settings
from ..act.cluster_nodes import NodesUnreadable
from .mocks import SAMPLE_ENI_CONFIG, evaluate, instance_types_answer, load_configmap, switches_answer
from .policy_adapter import plan_violations
from .report import PlanReport
from .stack_files import load_stack_config

CONFIGMAP = f"{ENI_CONFIG_NAMESPACE}/{ENI_CONFIG_NAME}"
EXIT_OK, EXIT_VIOLATION, EXIT_INVALID, EXIT_INTERNAL = 0, 1, 2, 3
VSWITCH_ID = re.compile(r"vsw-[a-z0-9]+")
TRACEBACK_ENV = "TERWAY_STACK_TRACEBACK"
# A plan takes a few seconds; anything near this is a bug (a promise that never resolves), not slowness.
PLAN_TIMEOUT_SECONDS = 120


class PlanTimeout(Exception):
    pass


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
    try:
        configmap = load_configmap(path)
    except FileNotFoundError:
        raise InputError([Problem(str(path), "file not found")]) from None
    except Exception as err:  # yaml errors and shape errors alike: name the file, not the parser
        raise InputError([Problem(str(path), f"is not a saved ConfigMap ({err})".replace("\n", " "))]) from None
    if not isinstance(configmap.get("data"), dict):
        raise InputError([Problem(f"{path}: data", "missing: the ConfigMap has no data")])
    _check_data_values(path, configmap["data"])
    return configmap


def _check_data_values(path: Path, data: dict[Any, Any]) -> None:
    """A ConfigMap's data maps string keys to string values; anything else cannot be what kubectl saved."""
    problems = []
    for key, value in data.items():
        if not isinstance(key, str):
            problems.append(Problem(f"{path}: data", f"keys must be strings, not {key!r}"))
        elif not isinstance(value, str):
            problems.append(
                Problem(
                    key_path([key], namespace=CONFIGMAP),
                    f"must be a string (a ConfigMap's data values are strings), got a {type(value).__name__}",
                )
            )
        else:
            problems.extend(data_problems(value, [key], namespace=CONFIGMAP))
    if problems:
        raise InputError(problems)


def _read_document(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError([Problem(str(path), "file not found")]) from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as err:
        reason = type(err).__name__ if isinstance(err, yaml.YAMLError) else str(err)
        raise InputError([Problem(str(path), f"is not readable YAML or JSON ({reason})")]) from None


def _node_reader(path: Optional[Path]) -> Callable[[str], dict[str, Any]]:
    """The plan's stand-in for listing the cluster's nodes: the --nodes file, or a reason to show."""
    document = None
    if path is not None:
        document = _read_document(path)
        if not isinstance(document, dict) or not isinstance(document.get("items"), list):
            raise InputError([Problem(f"{path}: items", "missing: expected the output of `kubectl get nodes -o json`")])

    def reader(_kubeconfig: str) -> dict[str, Any]:
        if document is None:
            raise NodesUnreadable("offline plan without --nodes (kubectl get nodes -o json)")
        return document

    return reader


def _vswitch_facts(path: Optional[Path]) -> Optional[dict[str, Any]]:
    """Cloud answers for getSwitches from the --vswitches file (id -> zone, availableIps)."""
    if path is None:
        return None
    document = _read_document(path)
    if not isinstance(document, dict):
        raise InputError([Problem(str(path), "must map vSwitch ids to {zone, availableIps}")])
    problems, known = [], {}
    for vswitch_id, facts in document.items():
        where = f"{path}: {vswitch_id}"
        if not isinstance(vswitch_id, str) or not VSWITCH_ID.fullmatch(vswitch_id):
            problems.append(Problem(where, "is not a vSwitch id (vsw-...)"))
            continue
        if not isinstance(facts, dict) or set(facts) - {"zone", "availableIps"}:
            problems.append(Problem(where, "must be {zone: <zone>, availableIps: <count>}"))
            continue
        count, zone = facts.get("availableIps"), facts.get("zone")
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            problems.append(Problem(f"{where}.availableIps", f"must be a whole number >= 0, got {count!r}"))
        if not isinstance(zone, str) or not zone:
            problems.append(Problem(f"{where}.zone", "must name the vSwitch's zone"))
        known[vswitch_id] = {"zoneId": zone, "availableIpAddressCount": count}
    if problems:
        raise InputError(problems)
    return {"alicloud:vpc/getSwitches:getSwitches": switches_answer(known)}


def _instance_type_facts(path: Optional[Path]) -> Optional[dict[str, Any]]:
    """Cloud answers for getInstanceTypes from the --instance-types file (type -> ENI quota)."""
    if path is None:
        return None
    document = _read_document(path)
    if not isinstance(document, dict):
        raise InputError([Problem(str(path), "must map instance types to {eniQuantity, privateIpsPerEni}")])
    problems, known = [], {}
    for kind, facts in document.items():
        where = f"{path}: {kind}"
        if not isinstance(facts, dict) or set(facts) != {"eniQuantity", "privateIpsPerEni"}:
            problems.append(Problem(where, "must be {eniQuantity: <ENIs per instance>, privateIpsPerEni: <IPs per ENI>}"))
            continue
        for key, value in facts.items():
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                problems.append(Problem(f"{where}.{key}", f"must be a whole number >= 1, got {value!r}"))
        known[str(kind)] = {"eniQuantity": facts["eniQuantity"], "eniPrivateIpAddressQuantity": facts["privateIpsPerEni"]}
    if problems:
        raise InputError(problems)

    return {"alicloud:ecs/getInstanceTypes:getInstanceTypes": instance_types_answer(known)}


def _policy_config(path: Optional[Path]) -> Optional[dict[str, Any]]:
    if path is None:
        return None
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:  # ValueError: not JSON, not UTF-8, a number too long
        raise InputError([Problem(str(path), f"is not a readable JSON policy config ({err})")]) from None
    except RecursionError:
        raise InputError([Problem(str(path), "is nested too deeply to be a policy config")]) from None
    if not isinstance(document, dict):
        raise InputError([Problem(str(path), "must be a JSON object of policy name -> settings")])
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
    live = _live_eni_config(args.eni_config)

    from ..program import run  # after validation: importing providers is the slow part

    node_reader = _node_reader(args.nodes)
    cloud = {**(_vswitch_facts(args.vswitches) or {}), **(_instance_type_facts(args.instance_types) or {})}
    evaluation = evaluate(
        lambda: run(config, environ={}, node_reader=node_reader), config, stack=stack, eni_config=live, cloud_answers=cloud
    )
    live_configmap = live or load_configmap(SAMPLE_ENI_CONFIG)
    live_data = live_configmap.get("data") or {}
    offline = offline_preflight(settings, live_configmap)
    violations = plan_violations(evaluation, settings, _policy_config(args.policy_config))
    report = PlanReport(stack, settings, evaluation, live_data, violations, checks_not_run=offline.not_run)
    out.write(report.render(args.format))
    return EXIT_VIOLATION if any(v["enforcement"] == "mandatory" for v in violations) else EXIT_OK


@contextmanager
def _deadline(seconds: int) -> Iterator[None]:
    """Turn a stall into PlanTimeout, so that every input finishes or fails (main thread only)."""

    def expire(signum: int, frame: Any) -> None:
        raise PlanTimeout(f"the plan did not finish within {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def _one_line(text: str) -> str:
    return " ".join(text.split())[:500]


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = _parser().parse_args(argv)
    try:
        with _deadline(PLAN_TIMEOUT_SECONDS):
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
