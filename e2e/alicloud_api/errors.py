"""The errors the double answers with: the real API's codes, HTTP statuses and messages.

Sources (read, not guessed):
- CreateVSwitch's error table in Alibaba's API reference (InvalidCidrBlock.Overlapped,
  QuotaExceeded.VSwitch, IncorrectVSwitchStatus, InvalidVpcId.NotFound, InvalidZoneId.NotFound, ...).
- terraform-provider-alicloud v1.285.0: `NeedRetry` (alicloud/errors.go) retries any code matching
  "Throttling" and ServiceUnavailable; resource_alicloud_vswitch.go retries OperationConflict and
  IncorrectVSwitchStatus on create and DependencyViolation on delete; resource_alicloud_snat_entry.go
  retries OperationConflict; the SNAT read treats InvalidSnatTableId.NotFound as gone.
The wire shape of an error is the POP one: {"RequestId", "HostId", "Code", "Message", "Recommend"}.
"""
from __future__ import annotations

from dataclasses import dataclass

# code -> (HTTP status, message)
API_ERRORS: dict[str, tuple[int, str]] = {
    "Throttling.User": (400, "Request was denied due to user flow control."),
    "Throttling": (400, "Request was denied due to request throttling."),
    "ServiceUnavailable": (503, "The request has failed due to a temporary failure of the server."),
    "OperationConflict": (400, "Request was denied due to conflict with a previous request."),
    "IncorrectVSwitchStatus": (400, "Some virtual switch is modifying within the same VPC."),
    "InvalidCidrBlock.Overlapped": (400, "Specified CIDR block overlapped with other subnets."),
    "InvalidCidrBlock.Malformed": (400, "Specified CIDR block is not valid."),
    "InvalidParameter": (400, "Specified CIDR block is not valid in VPC."),
    "QuotaExceeded.VSwitch": (400, "Virtual switch quota exceeded."),
    "InvalidVpcId.NotFound": (404, "Specified VPC does not exist."),
    "InvalidZoneId.NotFound": (404, "Specified zone does not exist."),
    "MissingParameter": (400, "Miss mandatory parameter."),
    "DependencyViolation": (400, "Specified object has dependent resources."),
    "DependencyViolation.SnatEntry": (400, "Specified vSwitch has SNAT entries."),
    "InvalidVSwitchId.NotFound": (404, "Specified virtual switch does not exist."),
    "InvalidSnatTableId.NotFound": (404, "Specified SNAT table does not exist."),
    "InvalidSnatEntryId.NotFound": (404, "Specified SNAT entry does not exist."),
    "EIP_NOT_IN_GATEWAY": (400, "The specified EIP is not bound to the NAT gateway."),
    "InvalidAction.NotFound": (404, "Specified api is not found, please check your url and method."),
}


@dataclass
class ApiError(Exception):
    code: str
    status: int = 0
    message: str = ""

    def __post_init__(self) -> None:
        status, message = API_ERRORS.get(self.code, (400, self.code))
        self.status = self.status or status
        self.message = self.message or message
        super().__init__(f"{self.status} {self.code}: {self.message}")

    def body(self, request_id: str) -> dict:
        return {
            "RequestId": request_id,
            "HostId": "127.0.0.1",
            "Code": self.code,
            "Message": self.message,
            "Recommend": f"https://api.aliyun.com/troubleshoot?q={self.code}",
        }
