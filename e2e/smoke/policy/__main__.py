"""Entry point only: PolicyPack(...) starts the analyzer server and never returns."""

from pulumi_policy import EnforcementLevel, PolicyPack

from smoke_policies import POLICIES

PolicyPack(name="terway-e2e-smoke", enforcement_level=EnforcementLevel.ADVISORY, policies=POLICIES)
