"""Runs the CrossGuard policies (the very functions the pack uses) on the offline plan's resources."""
from __future__ import annotations

from typing import Any, Mapping, Optional

from ..decide.settings import StackSettings
from ..policies.context import context_from_settings
from ..policies.evaluate import evaluate_plan
from .mocks import Evaluation


def plan_violations(
    evaluation: Evaluation, settings: StackSettings, policy_config: Optional[Mapping[str, Any]] = None
) -> list[dict[str, Any]]:
    violations = evaluate_plan(evaluation.resources, context_from_settings(settings), policy_config)
    return [v.to_dict() for v in violations]
