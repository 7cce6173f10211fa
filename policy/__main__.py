"""Entry point the engine runs (`python -m pulumi.policy <engine> policy/`): it only builds the pack.

PolicyPack starts a gRPC server and never returns, so nothing else may import this file; tests and
the offline plan use terway_stack.policies instead.
"""
import sys
from pathlib import Path

# The pack runs from policy/; the rules live in the repository's terway_stack package.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pulumi_policy import EnforcementLevel, PolicyPack  # noqa: E402

from terway_stack.policies.pack import build_policies  # noqa: E402

PolicyPack(name="terway-stack", policies=build_policies(), enforcement_level=EnforcementLevel.MANDATORY)
