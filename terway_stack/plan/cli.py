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
from ..decide.preflight import LiveFacts, PreflightResult, preflight
from ..decide.settings import StackSettings
from ..declare.config_source import load_settings
from ..declare.preflight import preflight_settings
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
    plan.add_argument("--format", choices=("table", "json"), default="table")
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


def offline_preflight(settings: StackSettings, configmap: dict[str, Any]) -> PreflightResult:
    """The preflight checks the saved eni-config allows; the rest are listed as not run."""
    result = preflight(preflight_settings(settings), LiveFacts(eni_config=configmap))
    result.raise_if_problems()
    return result


def plan(args: argparse.Namespace, out=sys.stdout) -> int:
    stack_file = args.stack_config or args.project_dir / f"Pulumi.{args.stack}.yaml"
    stack = args.stack or stack_file.name.removeprefix("Pulumi.").removesuffix(".yaml")
    config = load_stack_config(stack_file, args.project_dir)
    settings = load_settings(config)  # fails fast, before the runtime starts
    live = _live_eni_config(args.eni_config)

    from ..program import run  # after validation: importing providers is the slow part

    evaluation = evaluate(lambda: run(config, environ={}), config, stack=stack, eni_config=live)
    live_configmap = live or load_configmap(SAMPLE_ENI_CONFIG)
    live_data = live_configmap.get("data") or {}
    offline = offline_preflight(settings, live_configmap)
    violations = plan_violations(evaluation, settings, _policy_config(args.policy_config))
    report = PlanReport(stack, settings, evaluation, live_data, violations, checks_not_run=offline.not_run)
    out.write(report.render_json() + "\n" if args.format == "json" else report.render_table())
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
