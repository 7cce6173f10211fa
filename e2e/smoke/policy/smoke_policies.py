"""Policies live in an importable module so tests can import them without starting a server."""

from pulumi_policy import ReportViolation, ResourceValidationArgs, ResourceValidationPolicy


def _configmap_has_data(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    if args.resource_type == "kubernetes:core/v1:ConfigMap" and not args.props.get("data"):
        report_violation("ConfigMap has no data")


POLICIES = [
    ResourceValidationPolicy(
        name="smoke-configmap-has-data",
        description="Advisory: ConfigMaps created by the smoke program carry data.",
        validate=_configmap_has_data,
    )
]
