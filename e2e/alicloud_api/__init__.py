"""A loopback Alibaba Cloud RPC (POP) API for the e2e suite: a TEST DOUBLE of the VPC (2016-04-28) and
ECS (2014-05-26) actions that pulumi-resource-alicloud 3.105.0 (terraform-provider-alicloud v1.285.0)
sends for this stack. Everything else on the e2e path is real. See e2e/README.md.
"""
from .errors import API_ERRORS, ApiError
from .server import LoopbackAlibabaCloud, Request
from .state import Cloud, Eip, NatGateway, VSwitch, Vpc

__all__ = ["API_ERRORS", "ApiError", "Cloud", "Eip", "LoopbackAlibabaCloud", "NatGateway", "Request", "VSwitch", "Vpc"]
