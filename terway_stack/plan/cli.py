"""`python -m terway_stack plan`: the real program under Pulumi's mock runtime, offline.

Exit codes: 0 ok, 1 a mandatory policy violation, 2 invalid configuration or input.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, Optional, Sequence

import pulumi

from ..decide.problems import InputError, Problem
from ..declare.config_source import load_settings
from .mocks import SAMPLE_ENI_CONFIG, evaluate, load_configmap
from .policy_adapter import plan_violations
from .report import PlanReport
from .stack_files import load_stack_config

EXIT_OK, EXIT_VIOLATION, EXIT_INVALID = 0, 1, 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m terway_stack", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    plan = commands.add_parser("plan", help="show what the stack would declare, without cloud or cluster access")
    source = plan.add_mutually_exclusive_group(required=True)
    source.add_argument("--stack", help="stack name: reads Pulumi.<NAME>.yaml next to Pulumi.yaml")
    source.add_argument("--stack-config", type=Path, help="path of a stack config file")
    plan.add_argument("--eni-config", type=Path, help="live ConfigMap from `kubectl get cm eni-config -n kube-system -o yaml`")
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
    return configmap


def _policy_config(path: Optional[Path]) -> Optional[dict[str, Any]]:
    if path is None:
        return None
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        raise InputError([Problem(str(path), f"is not a readable JSON policy config ({err})")]) from None
    if not isinstance(document, dict):
        raise InputError([Problem(str(path), "must be a JSON object of policy name -> settings")])
    return document


def plan(args: argparse.Namespace, out=sys.stdout) -> int:
    stack_file = args.stack_config or args.project_dir / f"Pulumi.{args.stack}.yaml"
    stack = args.stack or stack_file.name.removeprefix("Pulumi.").removesuffix(".yaml")
    config = load_stack_config(stack_file, args.project_dir)
    settings = load_settings(config)  # fails fast, before the runtime starts
    live = _live_eni_config(args.eni_config)

    from ..program import run  # after validation: importing providers is the slow part

    evaluation = evaluate(lambda: run(config, environ={}), config, stack=stack, eni_config=live)
    live_data = (live or load_configmap(SAMPLE_ENI_CONFIG)).get("data") or {}
    violations = plan_violations(evaluation, settings, _policy_config(args.policy_config))
    report = PlanReport(stack, settings, evaluation, live_data, violations)
    out.write(report.render(args.format))
    return EXIT_VIOLATION if any(v["enforcement"] == "mandatory" for v in violations) else EXIT_OK


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return plan(args)
    except InputError as err:
        print(f"error: invalid input\n{err}", file=sys.stderr)
    except pulumi.RunError as err:
        print(f"error: invalid input\n{err}", file=sys.stderr)
    return EXIT_INVALID
