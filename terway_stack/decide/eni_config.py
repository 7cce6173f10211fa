"""The stack's change to kube-system/eni-config for one run, and the trigger of Terway's restart.

`plan_eni_config` combines the two halves the stack writes: the policy keys (policy_keys.py) and the
pod vSwitch ids merged into eni_conf (eni_conf_codec.py). `EniConfigChange.trigger` hashes what
Terway reads from them, so a reformatting changes nothing and a real change restarts Terway once.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any, Mapping, Optional, Sequence

from .eni_conf_codec import merge_eni_conf, parse_eni_conf
from .facts import DISABLE_POLICY_KEY, ENI_CONF_KEY, RELAY_KEY
from .policy_keys import policy_enabled, policy_keys


@dataclass(frozen=True)
class EniConfigChange:
    """What the stack writes into eni-config for one run, and what it reads back as effective."""

    policy: dict[str, str]
    eni_conf: Optional[str]  # None when the stack does not manage pod vSwitches

    def effective(self) -> dict[str, Any]:
        """The managed values as Terway interprets them, independent of JSON formatting."""
        values: dict[str, Any] = {
            RELAY_KEY: self.policy.get(RELAY_KEY) or None,  # Felix reads an empty env as no relay
            "network_policy_enabled": policy_enabled(self.policy.get(DISABLE_POLICY_KEY)),
        }
        if self.eni_conf is not None:
            values[ENI_CONF_KEY] = parse_eni_conf({ENI_CONF_KEY: self.eni_conf})
        return values

    def trigger(self) -> str:
        """A digest that changes exactly when what Terway reads from the managed keys changes."""
        canonical = json.dumps(self.effective(), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(canonical.encode()).hexdigest()


def plan_eni_config(
    live_data: Mapping[str, Any], mode: str, wanted_vswitches: Optional[Mapping[str, Sequence[str]]]
) -> EniConfigChange:
    """Decide the stack's eni-config keys from the live ConfigMap data. Raises InputError if malformed."""
    eni_conf = None
    if wanted_vswitches is not None:
        # The merge parses and checks eni_conf itself (strict JSON, shape), naming the key on any problem.
        eni_conf = merge_eni_conf(live_data.get(ENI_CONF_KEY), wanted_vswitches)
    return EniConfigChange(policy=policy_keys(mode, live_data), eni_conf=eni_conf)
