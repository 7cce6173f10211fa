"""Policies live in an importable module so tests can import them without starting a server."""

from pulumi_policy import ReportViolation, ResourceValidationArgs, ResourceValidationPolicy

OBSERVED = "smoke policy observed resource"


def _observe(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    # Advisory on purpose: proves the analyzer saw the program's resources, never fails the preview.
    if args.resource_type in ("pulumi-python:dynamic:Resource", "kubernetes:core/v1:ConfigMap"):
        report_violation(f"{OBSERVED} {args.resource_type} {args.name}")


POLICIES = [
    ResourceValidationPolicy(
        name="smoke-observe",
        description="Advisory: reports every ConfigMap and dynamic resource, to prove the pack is consulted.",
        validate=_observe,
    )
]
